// Fuzz-ish robustness: every truncation and many random mutations of valid frames. Each
// candidate sits in a heap buffer of exactly its length, so under ASan any read past the end
// is caught. Every call must return a defined Drop and, on success, offsets inside the frame.
#include <gtest/gtest.h>

#include <random>

#include "wire/parse.hpp"
#include "wire_test_util.hpp"

namespace sluice::wire {
namespace {

using namespace testing;

// Runs the whole receive path on `bytes` and checks what it reports.
Drop run_all_parsers(const std::vector<uint8_t>& bytes, RxCsum hw = {}) {
    Frame f;
    const Drop d = parse_frame(bytes, hw, f);
    EXPECT_LT(static_cast<size_t>(d), kDropCount);
    if (d != Drop::None) return d;
    EXPECT_LE(f.l3_off, bytes.size());
    if (f.ether_type == kEtherTypeArp) {
        ArpPacket a;
        return parse_arp(bytes, f, a);
    }
    EXPECT_LE(size_t{f.l4_off} + f.l4_len, bytes.size());
    if (f.ip_proto == kIpProtoIcmp) {
        IcmpEcho e;
        const Drop di = parse_icmp_echo(bytes, f, hw, e);
        if (di == Drop::None) {
            EXPECT_LE(size_t{e.data_off} + e.data_len, bytes.size());
            std::vector<uint8_t> copy = bytes;
            EXPECT_LE(make_echo_reply_in_place(copy, f), bytes.size());
        }
        return di;
    }
    TcpSegmentView s;
    const Drop dt = parse_tcp(bytes, f, hw, s);
    EXPECT_LT(static_cast<size_t>(dt), kDropCount);
    if (dt == Drop::None) {
        EXPECT_LE(size_t{s.payload_off} + s.payload_len, bytes.size());
        EXPECT_LE(s.options.sack_count, TcpOptions::kMaxSackBlocks);
    }
    return dt;
}

std::vector<uint8_t> valid_tcp_frame() {
    TcpHeaderSpec spec = syn_spec();
    spec.flags = tcp_flags::Ack;
    spec.options.sack_count = 1;
    spec.options.sack[0] = {SeqNum(1), SeqNum(2)};
    const std::vector<uint8_t> payload(64, 0x33);
    return tcp_frame(spec, payload);
}

TEST(Robustness, EveryTruncationOfATcpFrame) {
    const auto full = valid_tcp_frame();
    ASSERT_EQ(run_all_parsers(full), Drop::None);
    for (size_t len = 0; len < full.size(); ++len) {
        const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(len));
        const Drop d = run_all_parsers(cut);
        const Drop expect = len < kEthHdrLen                ? Drop::EthTruncated
                            : len < kL3Off + kIpv4MinHdrLen ? Drop::Ipv4Truncated
                                                            : Drop::Ipv4BadTotalLength;
        ASSERT_EQ(d, expect) << "length " << len;
    }
}

TEST(Robustness, EveryTruncationWithHardwareSayingGood) {
    // With the checksum checks skipped, malformed lengths still must not read out of bounds.
    const auto full = valid_tcp_frame();
    for (size_t len = 0; len <= full.size(); ++len) {
        const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(len));
        const Drop d = run_all_parsers(cut, {HwCsum::Good, HwCsum::Good});
        ASSERT_EQ(d == Drop::None, len == full.size()) << "length " << len;
    }
}

// Flips 1-4 random bytes (biased towards the headers) and parses. With the NIC claiming
// good checksums the mutated headers reach the TCP option parser instead of dying at the
// checksum, which is where the interesting bounds are.
void mutate_and_parse(const std::vector<uint8_t>& base, uint32_t seed, RxCsum hw,
                      size_t& accepted) {
    std::mt19937 rng(seed);
    for (int iter = 0; iter < 10000; ++iter) {
        std::vector<uint8_t> m = base;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < flips; ++k) {
            const size_t span = (rng() % 4 == 0) ? m.size() : std::min<size_t>(m.size(), 80);
            m[rng() % span] = static_cast<uint8_t>(rng());
        }
        if (rng() % 8 == 0) m.resize(rng() % (m.size() + 1));
        if (run_all_parsers(m, hw) == Drop::None) ++accepted;
        if (::testing::Test::HasFailure()) {
            ADD_FAILURE() << "seed " << seed << " iteration " << iter;
            return;
        }
    }
}

TEST(Robustness, RandomMutationsOfTcpFrame) {
    size_t accepted_sw = 0, accepted_hw = 0;
    mutate_and_parse(valid_tcp_frame(), 42, {}, accepted_sw);
    mutate_and_parse(valid_tcp_frame(), 43, {HwCsum::Good, HwCsum::Good}, accepted_hw);
    // The software checksum must reject most header corruption that changes anything.
    EXPECT_LT(accepted_sw, accepted_hw);
}

TEST(Robustness, RandomMutationsOfIcmpAndArp) {
    size_t accepted = 0;
    const std::vector<uint8_t> data(40, 0x61);
    mutate_and_parse(icmp_echo_request(1, 2, data), 7, {HwCsum::Good, HwCsum::Good}, accepted);
    std::vector<uint8_t> arp(64);
    arp.resize(build_arp(arp, kArpOpRequest, MacAddr::broadcast(), kMacClient, kIpClient, MacAddr{},
                         kIpServer));
    mutate_and_parse(arp, 8, {}, accepted);
    EXPECT_GT(accepted, 0u);
}

TEST(Robustness, RandomOptionBytes) {
    std::mt19937 rng(2018);
    std::vector<uint8_t> opts;
    for (int iter = 0; iter < 20000; ++iter) {
        opts.resize(rng() % 41);
        for (auto& b : opts) b = static_cast<uint8_t>(rng() % 12);  // mostly known kinds
        TcpOptions o;
        const Drop d = parse_tcp_options(opts, o);
        ASSERT_TRUE(d == Drop::None || d == Drop::TcpBadOption);
        ASSERT_LE(o.sack_count, TcpOptions::kMaxSackBlocks);
    }
}

}  // namespace
}  // namespace sluice::wire
