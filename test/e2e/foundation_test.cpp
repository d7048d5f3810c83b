// The Foundation end to end: the Linux kernel in the client namespace talks to sluice-listen
// on net_af_packet in the server namespace.

#include <gtest/gtest.h>

#include <memory>
#include <regex>

#include "testbed.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

class Foundation : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        netns_ = std::make_unique<Netns>();
        if (netns_->ok()) listen_ = std::make_unique<SluiceListen>();
    }
    static void TearDownTestSuite() {
        listen_.reset();
        netns_.reset();
    }
    void SetUp() override {
        ASSERT_TRUE(netns_->ok()) << "netns set-up failed:\n" << netns_->error();
        ASSERT_TRUE(listen_->ok()) << "sluice-listen did not start:\n" << listen_->output();
    }

    static std::string probe(const std::string& args) {
        return in_client(source_path("test/e2e/probe.py") + " " + args).output;
    }

    static inline std::unique_ptr<Netns> netns_;
    static inline std::unique_ptr<SluiceListen> listen_;
};

TEST_F(Foundation, PingFromKernelGetsEchoReplies) {
    const uint64_t before = listen_->counter("IcmpOutEchoReps");
    auto r = in_client(std::string("ping -c 3 -i 0.2 -W 2 ") + kSluiceAddr);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("3 received"), std::string::npos) << r.output;
    EXPECT_EQ(listen_->counter("IcmpOutEchoReps") - before, 3u);
}

TEST_F(Foundation, KernelResolvesSluiceMacByArp) {
    // Forget whatever the kernel knew, then make it ask.
    in_client(std::string("ip neigh flush dev sluice-t-cli"));
    const uint64_t before = listen_->counter("ArpOutReplies");
    ASSERT_EQ(in_client(std::string("ping -c 1 -W 2 ") + kSluiceAddr).exit_code, 0);

    auto info = listen_->telemetry("/sluice/info");
    ASSERT_TRUE(info.has_value());
    std::smatch m;
    ASSERT_TRUE(std::regex_search(*info, m, std::regex("\"mac\": *\"([0-9a-f:]{17})\""))) << *info;
    const std::string mac = m[1];

    auto neigh = in_client(std::string("ip neigh show ") + kSluiceAddr);
    EXPECT_NE(neigh.output.find("lladdr " + mac), std::string::npos)
        << "kernel neighbour entry: " << neigh.output << " expected MAC " << mac;
    EXPECT_GE(listen_->counter("ArpOutReplies") - before, 1u);
}

TEST_F(Foundation, SluiceResolvesItsGatewayByArp) {
    // At start each worker asks for the gateway (the client, 198.18.0.1); the kernel answers.
    auto c =
        listen_->wait_counters([](const Counters& v) { return get(v, "ArpInReplies") >= 1; }, 5s);
    EXPECT_GE(get(c, "ArpOutRequests"), 1u);
    EXPECT_GE(get(c, "ArpInReplies"), 1u);
}

TEST_F(Foundation, KernelConnectToPortWithoutListenerIsRefused) {
    const uint64_t before = listen_->counter("TcpOutRsts");
    // A 5 s connect timeout: "refused" proves sluice's RST arrived; a lost RST would be
    // "timed out".
    auto r = in_client(
        "/usr/bin/python3 -c \"import socket\n"
        "s = socket.socket(); s.settimeout(5)\n"
        "try:\n    s.connect(('198.18.0.2', 8080)); print('connected')\n"
        "except OSError as e: print(type(e).__name__, e.errno)\"");
    EXPECT_NE(r.output.find("ConnectionRefusedError 111"), std::string::npos) << r.output;
    EXPECT_EQ(listen_->counter("TcpOutRsts") - before, 1u);
}

TEST_F(Foundation, RstCarriesSequenceNumbersOfRfc9293Closed) {
    // RFC 9293 3.10.7.1: a SYN (no ACK) gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    const std::string out = probe(std::string("syn ") + kSluiceAddr + " 19");
    EXPECT_NE(out.find("answer RA ack 1001 seq 0"), std::string::npos) << out;
}

TEST_F(Foundation, TcpWithBadChecksumGetsNoAnswerAndIsCounted) {
    const Counters before = listen_->counters();
    const std::string out = probe(std::string("syn ") + kSluiceAddr + " 81 --bad-tcp-csum");
    EXPECT_NE(out.find("no answer"), std::string::npos) << out;
    const Counters after = listen_->wait_counters(
        [&](const Counters& v) {
            return get(v, "TcpInCsumErrors") > get(before, "TcpInCsumErrors");
        },
        2s);
    EXPECT_EQ(get(after, "TcpInCsumErrors") - get(before, "TcpInCsumErrors"), 1u);
    EXPECT_EQ(get(after, "DropTcpBadChecksum") - get(before, "DropTcpBadChecksum"), 1u);
    EXPECT_EQ(get(after, "TcpOutRsts"), get(before, "TcpOutRsts"));
}

TEST_F(Foundation, IpWithBadHeaderChecksumIsDroppedAndCounted) {
    const Counters before = listen_->counters();
    const std::string out = probe(std::string("syn ") + kSluiceAddr + " 82 --bad-ip-csum");
    EXPECT_NE(out.find("no answer"), std::string::npos) << out;
    const Counters after = listen_->wait_counters(
        [&](const Counters& v) {
            return get(v, "DropIpv4BadChecksum") > get(before, "DropIpv4BadChecksum");
        },
        2s);
    EXPECT_EQ(get(after, "DropIpv4BadChecksum") - get(before, "DropIpv4BadChecksum"), 1u);
    EXPECT_EQ(get(after, "IpInHdrErrors") - get(before, "IpInHdrErrors"), 1u);
}

TEST_F(Foundation, OtherProtocolsAreCountedAndDropped) {
    const Counters before = listen_->counters();
    EXPECT_NE(probe(std::string("udp ") + kSluiceAddr + " 53").find("sent"), std::string::npos);
    const Counters after = listen_->wait_counters(
        [&](const Counters& v) {
            return get(v, "IpInUnknownProtos") > get(before, "IpInUnknownProtos");
        },
        2s);
    EXPECT_EQ(get(after, "IpInUnknownProtos") - get(before, "IpInUnknownProtos"), 1u);
}

TEST_F(Foundation, StopsCleanlyOnSigtermAndReportsCounters) {
    // Last in the suite: stopping ends the shared instance.
    EXPECT_EQ(listen_->stop(), 0) << listen_->output();
    EXPECT_NE(listen_->output().find("sluice-listen: stopped."), std::string::npos)
        << listen_->output();
    EXPECT_NE(listen_->output().find("IcmpOutEchoReps"), std::string::npos);
}

}  // namespace
}  // namespace sluice::e2e
