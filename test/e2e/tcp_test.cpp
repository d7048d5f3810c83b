// TCP end to end with the Linux kernel as the peer (issue: connection management). sluice
// serves echo, discard and HTTP; the kernel's curl and sockets talk to it; `ss` shows the
// kernel's side of each close and telemetry sluice's.

#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <thread>

#include "testbed.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

std::string peer(const std::string& args) {
    return in_client(source_path("test/e2e/tcp_peer.py") + " " + args, 60s).output;
}

class TcpWithKernel : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        netns_ = std::make_unique<Netns>();
        if (netns_->ok()) {
            listen_ = std::make_unique<SluiceListen>(std::vector<std::string>{},
                                                     source_path("test/e2e/listen-test.toml"));
        }
    }
    static void TearDownTestSuite() {
        listen_.reset();
        netns_.reset();
    }
    void SetUp() override {
        ASSERT_TRUE(netns_->ok()) << netns_->error();
        ASSERT_TRUE(listen_->ok()) << listen_->output();
    }
    static inline std::unique_ptr<Netns> netns_;
    static inline std::unique_ptr<SluiceListen> listen_;
};

TEST_F(TcpWithKernel, CurlGetsThePage) {
    auto r = in_client(std::string("curl -sS -m 5 http://") + kSluiceAddr + "/");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output, "Hello from sluice\n");
}

TEST_F(TcpWithKernel, CurlKeepAliveReusesOneConnectionForTwoRequests) {
    const uint64_t before = listen_->counter("PassiveOpens");
    auto r = in_client(std::string("curl -sS -m 5 -w '[%{num_connects}]' http://") + kSluiceAddr +
                       "/a http://" + kSluiceAddr + "/b");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output, "Hello from sluice\n[1]Hello from sluice\n[0]");
    auto c = listen_->wait_counters(
        [&](const Counters& v) { return get(v, "PassiveOpens") > before; }, 2s);
    EXPECT_EQ(get(c, "PassiveOpens") - before, 1u);
}

TEST_F(TcpWithKernel, EchoOneMegabyteBothWays) {
    const std::string out = peer(std::string("echo ") + kSluiceAddr + " 7 1048576");
    EXPECT_NE(out.find("sent 1048576 received 1048576"), std::string::npos) << out;
    EXPECT_NE(out.find("sha256 match"), std::string::npos) << out;
    EXPECT_NE(out.find("eof True"), std::string::npos) << out;
}

TEST_F(TcpWithKernel, KernelClosesFirst_KernelFinWait2WhileSluiceCloseWait_ThenKernelTimeWait) {
    // Port 7001 echoes and closes 1.5 s after the client's FIN.
    const std::string out = peer(std::string("halfclose ") + kSluiceAddr + " 7001");
    EXPECT_NE(out.find("echoed True"), std::string::npos) << out;
    EXPECT_NE(out.find("kernel: FIN-WAIT-2"), std::string::npos) << out;
    EXPECT_NE(out.find("sluice: CLOSE-WAIT 1"), std::string::npos) << out;
    EXPECT_NE(out.find("eof True"), std::string::npos) << out;
    // Whoever closes first holds TIME-WAIT: here the kernel.
    EXPECT_NE(out.find("kernel after close: TIME-WAIT"), std::string::npos) << out;
    EXPECT_NE(out.find("sluice: CLOSE-WAIT 0 LAST-ACK 0"), std::string::npos) << out;
}

TEST_F(TcpWithKernel, SluiceClosesFirst_KernelCloseWaitThenClosed_SluiceTimeWait) {
    const std::string out = peer(std::string("http_close ") + kSluiceAddr);
    EXPECT_NE(out.find("status HTTP/1.1 200 OK"), std::string::npos) << out;
    EXPECT_NE(out.find("body 'Hello from sluice\\n'"), std::string::npos) << out;
    EXPECT_NE(out.find("kernel after server FIN: CLOSE-WAIT"), std::string::npos) << out;
    EXPECT_NE(out.find("kernel after close: CLOSED"), std::string::npos) << out;
    EXPECT_NE(out.find("sluice: TIME-WAIT entries grew True"), std::string::npos) << out;
}

TEST_F(TcpWithKernel, TimeWaitEntriesExpireAfterTwoMsl) {
    // msl_ms = 1000 in listen-test.toml: every TIME-WAIT made above ends within 2 s.
    auto c = listen_->wait_counters(
        [](const Counters& v) {
            return get(v, "TimeWaitExpired") >= 1 && get(v, "TimeWaitEntries") == 0;
        },
        5s);
    EXPECT_GE(get(c, "TimeWaitExpired"), 1u);
    EXPECT_EQ(get(c, "TimeWaitEntries"), 0u);
    EXPECT_EQ(get(c, "StateTimeWait"), 0u);
}

TEST_F(TcpWithKernel, DiscardSwallowsDataAndClosesOnFin) {
    auto r = in_client(std::string("/usr/bin/python3 -c \"import socket\n"
                                   "s = socket.create_connection(('") +
                       kSluiceAddr +
                       "', 9), timeout=5)\n"
                       "s.sendall(b'x' * 100000); s.shutdown(socket.SHUT_WR)\n"
                       "print('eof', s.recv(10) == b'')\"");
    EXPECT_NE(r.output.find("eof True"), std::string::npos) << r.output;
}

TEST_F(TcpWithKernel, NoConnectionsLeakAfterAllTheAbove) {
    auto c = listen_->wait_counters(
        [](const Counters& v) { return get(v, "ConnectionsInUse") == 0; }, 5s);
    EXPECT_EQ(get(c, "ConnectionsInUse"), 0u);
    EXPECT_EQ(get(c, "CurrEstab"), 0u);
}

// sluice as the client: an active open to a kernel echo server, 256 KiB each way, and
// sluice closes first, so TIME-WAIT is sluice's.
class SluiceClient : public ::testing::Test {
protected:
    void SetUp() override {
        netns_ = std::make_unique<Netns>();
        ASSERT_TRUE(netns_->ok()) << netns_->error();
    }
    void TearDown() override { netns_.reset(); }
    std::unique_ptr<Netns> netns_;
};

TEST_F(SluiceClient, ActiveOpenExchangesDataWithKernelServerAndKeepsTimeWait) {
    // The kernel server, in the background, bounded by its own timeouts.
    KernelProcess server(source_path("test/e2e/tcp_peer.py") + " serve " + kClientAddr + " 7000",
                         30s);
    ASSERT_EQ(server.line(), "listening\n");

    SluiceListen client({"--connect", std::string(kClientAddr) + ":7000", "--bytes", "262144"},
                        source_path("test/e2e/listen-test.toml"),
                        build_path("test/e2e/sluice_client"), "client: ready");
    ASSERT_TRUE(client.ok()) << client.output();
    ASSERT_TRUE(client.wait_output("result:", 20s)) << client.output();
    EXPECT_NE(client.output().find("connected"), std::string::npos);
    EXPECT_NE(client.output().find("result: sent=262144 received=262144 match=1 closed=Normal"),
              std::string::npos)
        << client.output();
    auto c =
        client.wait_counters([](const Counters& v) { return get(v, "StateTimeWait") == 1; }, 3s);
    EXPECT_EQ(get(c, "StateTimeWait"), 1u) << "sluice closed first, so it holds TIME-WAIT";
    EXPECT_EQ(get(c, "ActiveOpens"), 1u);

    const std::string rest = server.rest();
    EXPECT_NE(rest.find("served 262144"), std::string::npos) << rest;
    EXPECT_NE(rest.find("kernel server after close: CLOSED"), std::string::npos) << rest;
    EXPECT_EQ(client.stop(), 0) << client.output();
}

// Simultaneous close (RFC 9293 Figure 13) against the kernel. A token bucket of 8 kbit/s on
// the kernel's way out holds its FIN for seconds behind 4 KB of data: the kernel closes
// 300 ms after accept (FIN-WAIT-1, FIN still queued), sluice 1 s after connecting, so
// sluice's FIN reaches a kernel in FIN-WAIT-1 (-> CLOSING) and the kernel's FIN later reaches
// a sluice in FIN-WAIT-1 whose FIN is not yet acknowledged (-> CLOSING). Then both TIME-WAIT.
TEST_F(SluiceClient, SimultaneousCloseWithKernel_BothPassThroughClosingToTimeWait) {
    auto tc = in_client("tc qdisc add dev sluice-t-cli root tbf rate 8kbit burst 1540 latency 10s");
    ASSERT_EQ(tc.exit_code, 0) << tc.output;
    KernelProcess server(
        source_path("test/e2e/tcp_peer.py") + " serve_close " + kClientAddr + " 7002 300", 30s);
    ASSERT_EQ(server.line(), "listening\n");

    SluiceListen client({"--connect", std::string(kClientAddr) + ":7002", "--bytes", "0",
                         "--close-after-ms", "1000"},
                        source_path("test/e2e/listen-test.toml"),
                        build_path("test/e2e/sluice_client"), "client: ready");
    ASSERT_TRUE(client.ok()) << client.output();
    ASSERT_TRUE(client.wait_output("result:", 15s)) << client.output();
    EXPECT_NE(client.output().find("closed=Normal"), std::string::npos) << client.output();

    const std::string rest = server.rest();
    EXPECT_NE(rest.find("CLOSING"), std::string::npos) << rest;
    EXPECT_NE(rest.find("TIME-WAIT"), std::string::npos) << rest;

    // Transitions are published once a millisecond: poll (bounded) until both show up.
    const std::regex both("\"FinWait1_Closing\": ?1[,}].*\"Closing_TimeWait\": ?1[,}]");
    std::optional<std::string> t;
    for (int i = 0; i < 100; ++i) {
        t = client.telemetry("/sluice/tcp/transitions");
        if (t && std::regex_search(*t, both)) break;
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(t.has_value());
    EXPECT_TRUE(std::regex_search(*t, std::regex("\"FinWait1_Closing\": ?1[,}]"))) << *t;
    EXPECT_TRUE(std::regex_search(*t, std::regex("\"Closing_TimeWait\": ?1[,}]"))) << *t;
    EXPECT_EQ(client.stop(), 0) << client.output();
}

}  // namespace
}  // namespace sluice::e2e
