// parse_tcp and the option parser (RFC 9293 3.1-3.2, RFC 7323, RFC 2018).
#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

#include "wire/checksum.hpp"
#include "wire/parse.hpp"
#include "wire/tcp.hpp"
#include "wire_test_util.hpp"

namespace sluice::wire {
namespace {

using namespace testing;

Drop parse_opts(std::initializer_list<uint8_t> bytes, TcpOptions& o) {
    const std::vector<uint8_t> v(bytes);
    return parse_tcp_options(v, o);
}

TEST(ParseTcp, SynWithAllOptions) {
    const auto f = tcp_frame(syn_spec());
    TcpSegmentView s;
    ASSERT_EQ(parse_tcp_frame(f, s), Drop::None);
    EXPECT_EQ(s.src_port, 40000);
    EXPECT_EQ(s.dst_port, 80);
    EXPECT_EQ(s.seq, SeqNum(1000));
    EXPECT_EQ(s.flags, tcp_flags::Syn);
    EXPECT_EQ(s.window, 64240);
    EXPECT_EQ(s.urgent, 0);
    EXPECT_TRUE(s.options.has_mss);
    EXPECT_EQ(s.options.mss, 1460);
    EXPECT_TRUE(s.options.sack_permitted);
    EXPECT_TRUE(s.options.has_timestamps);
    EXPECT_EQ(s.options.ts_val, 0x11223344u);
    EXPECT_EQ(s.options.ts_ecr, 0u);
    EXPECT_TRUE(s.options.has_wscale);
    EXPECT_EQ(s.options.wscale, 7);
    EXPECT_EQ(s.payload_off, f.size());
    EXPECT_EQ(s.payload_len, 0);
    EXPECT_EQ(tcp_segment_len(s), 1) << "SYN occupies one sequence number";
}

TEST(ParseTcp, PayloadAndSegmentLength) {
    TcpHeaderSpec spec = syn_spec();
    spec.flags = tcp_flags::Ack | tcp_flags::Psh | tcp_flags::Fin;
    spec.options = {};
    const std::vector<uint8_t> data(100, 0x5a);
    const auto f = tcp_frame(spec, data);
    TcpSegmentView s;
    ASSERT_EQ(parse_tcp_frame(f, s), Drop::None);
    EXPECT_EQ(s.payload_off, kL4Off + kTcpMinHdrLen);
    EXPECT_EQ(s.payload_len, 100);
    EXPECT_EQ(tcp_segment_len(s), 101);
    EXPECT_EQ(f[s.payload_off], 0x5a);
}

TEST(ParseTcp, EthernetPaddingNotInPayload) {
    TcpHeaderSpec spec = syn_spec();
    spec.flags = tcp_flags::Ack;
    spec.options = {};
    const uint8_t one[] = {'x'};
    auto f = tcp_frame(spec, one);  // 55 bytes
    f.resize(60, 0);                // padded by the sender's NIC
    TcpSegmentView s;
    ASSERT_EQ(parse_tcp_frame(f, s), Drop::None) << "padding must not enter the checksum";
    EXPECT_EQ(s.payload_len, 1);
}

TEST(ParseTcp, Truncated) {
    auto f = tcp_frame(syn_spec());
    // An IP datagram whose TCP part is shorter than 20 bytes.
    const uint16_t total = kIpv4MinHdrLen + kTcpMinHdrLen - 1;
    store_be16(f.data() + kL3Off + kIpv4TotalLenOff, total);
    fix_ipv4_csum(f);
    TcpSegmentView s;
    EXPECT_EQ(parse_tcp_frame(f, s), Drop::TcpTruncated);
}

TEST(ParseTcp, DataOffsetBelow5) {
    auto f = tcp_frame_with_raw_options({});
    f[kL4Off + kTcpDataOffOff] = 4 << 4;
    fix_tcp_csum(f);
    TcpSegmentView s;
    EXPECT_EQ(parse_tcp_frame(f, s), Drop::TcpBadDataOffset);
}

TEST(ParseTcp, DataOffsetPastSegment) {
    auto f = tcp_frame_with_raw_options({1, 1, 1, 1});  // 24-byte segment
    f[kL4Off + kTcpDataOffOff] = 7 << 4;                // claims 28
    fix_tcp_csum(f);
    TcpSegmentView s;
    EXPECT_EQ(parse_tcp_frame(f, s), Drop::TcpBadDataOffset);
}

TEST(ParseTcp, BadChecksumAndHardwareVerdicts) {
    auto f = tcp_frame(syn_spec());
    f[kL4Off + kTcpWindowOff] ^= 0x80;
    TcpSegmentView s;
    EXPECT_EQ(parse_tcp_frame(f, s), Drop::TcpBadChecksum);
    EXPECT_EQ(parse_tcp_frame(f, s, {.l4 = HwCsum::Good}), Drop::None) << "NIC verified";
    f[kL4Off + kTcpWindowOff] ^= 0x80;
    EXPECT_EQ(parse_tcp_frame(f, s), Drop::None);
    EXPECT_EQ(parse_tcp_frame(f, s, {.l4 = HwCsum::Bad}), Drop::TcpBadChecksum);
}

TEST(ParseTcp, ChecksumCoversPseudoHeader) {
    // Change the source address but re-seal only the IP header: TCP must notice.
    auto f = tcp_frame(syn_spec());
    store_be32(f.data() + kL3Off + kIpv4SrcOff, 0xc6120009);
    fix_ipv4_csum(f);
    TcpSegmentView s;
    EXPECT_EQ(parse_tcp_frame(f, s), Drop::TcpBadChecksum);
}

TEST(ParseTcp, PortZero) {
    for (size_t off : {kTcpSrcPortOff, kTcpDstPortOff}) {
        auto f = tcp_frame(syn_spec());
        store_be16(f.data() + kL4Off + off, 0);
        fix_tcp_csum(f);
        TcpSegmentView s;
        EXPECT_EQ(parse_tcp_frame(f, s), Drop::TcpBadPort) << off;
    }
}

TEST(ParseTcp, BadOptionInFrame) {
    const auto f = tcp_frame_with_raw_options({2, 3, 5, 0xb4});  // MSS with length 3
    TcpSegmentView s;
    EXPECT_EQ(parse_tcp_frame(f, s), Drop::TcpBadOption);
}

TEST(ParseTcp, RefusesForeignOrInconsistentFrame) {
    const auto f = tcp_frame(syn_spec());
    Frame fr;
    ASSERT_EQ(parse_frame(f, {}, fr), Drop::None);
    TcpSegmentView s;
    Frame bad = fr;
    bad.ip_proto = kIpProtoIcmp;
    EXPECT_EQ(parse_tcp(f, bad, {}, s), Drop::IpUnsupportedProto);
    bad = fr;
    bad.l4_len = static_cast<uint16_t>(fr.l4_len + 1);
    EXPECT_EQ(parse_tcp(f, bad, {}, s), Drop::TcpTruncated);
    bad = fr;
    bad.l4_off = 0xffff;
    EXPECT_EQ(parse_tcp(f, bad, {}, s), Drop::TcpTruncated);
}

TEST(TcpOptions, EolStopsParsing) {
    TcpOptions o;
    // MSS, then EOL, then garbage that would be a bad option if read.
    EXPECT_EQ(parse_opts({2, 4, 0x05, 0xb4, 0, 2, 0, 9}, o), Drop::None);
    EXPECT_TRUE(o.has_mss);
    EXPECT_EQ(o.mss, 1460);
    EXPECT_FALSE(o.has_wscale);
}

TEST(TcpOptions, NopsAndUnknownKindsAreSkipped) {
    TcpOptions o;
    // NOP, unknown kind 30 (MPTCP) len 6, NOP, WS 3.
    EXPECT_EQ(parse_opts({1, 30, 6, 0xaa, 0xbb, 0xcc, 0xdd, 1, 3, 3, 9, 0}, o), Drop::None);
    EXPECT_TRUE(o.has_wscale);
    EXPECT_EQ(o.wscale, 9);
    EXPECT_FALSE(o.has_mss);
    // An unknown kind whose length reaches the end exactly.
    EXPECT_EQ(parse_opts({99, 4, 0, 0}, o), Drop::None);
}

TEST(TcpOptions, UnknownOptionSkippedInFrame) {
    const auto f = tcp_frame_with_raw_options({253, 6, 1, 2, 3, 4, 2, 4, 0x02, 0x18, 1, 0});
    TcpSegmentView s;
    ASSERT_EQ(parse_tcp_frame(f, s), Drop::None);
    EXPECT_TRUE(s.options.has_mss);
    EXPECT_EQ(s.options.mss, 536);
}

TEST(TcpOptions, LengthZeroOrOne) {
    TcpOptions o;
    EXPECT_EQ(parse_opts({99, 0, 0, 0}, o), Drop::TcpBadOption);
    EXPECT_EQ(parse_opts({99, 1, 0, 0}, o), Drop::TcpBadOption);
    EXPECT_EQ(parse_opts({2, 0, 0, 0}, o), Drop::TcpBadOption);
}

TEST(TcpOptions, LengthPastTheEnd) {
    TcpOptions o;
    EXPECT_EQ(parse_opts({1, 1, 99, 3}, o), Drop::TcpBadOption);
    EXPECT_EQ(parse_opts({1, 1, 8, 10}, o), Drop::TcpBadOption);  // TS cut short
    EXPECT_EQ(parse_opts({1, 1, 1, 2}, o), Drop::TcpBadOption);   // no length byte
}

TEST(TcpOptions, KnownKindsWithWrongLength) {
    TcpOptions o;
    EXPECT_EQ(parse_opts({2, 3, 5, 1}, o), Drop::TcpBadOption);                 // MSS len 3
    EXPECT_EQ(parse_opts({2, 6, 5, 0xb4, 0, 0, 1, 1}, o), Drop::TcpBadOption);  // MSS len 6
    EXPECT_EQ(parse_opts({3, 4, 7, 0}, o), Drop::TcpBadOption);                 // WS len 4
    EXPECT_EQ(parse_opts({4, 3, 0, 1}, o), Drop::TcpBadOption);                 // SACK-perm len 3
    EXPECT_EQ(parse_opts({8, 8, 0, 0, 0, 1, 0, 0}, o), Drop::TcpBadOption);     // TS len 8
}

TEST(TcpOptions, SackBlocks) {
    TcpOptions o;
    ASSERT_EQ(
        parse_opts({1, 1, 5, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 5}, o),
        Drop::None);
    ASSERT_EQ(o.sack_count, 2);
    EXPECT_EQ(o.sack[0].left, SeqNum(10));
    EXPECT_EQ(o.sack[0].right, SeqNum(20));
    EXPECT_EQ(o.sack[1].left, SeqNum(0xfffffff0u));
    EXPECT_EQ(o.sack[1].right, SeqNum(5));
}

TEST(TcpOptions, SackBadLengths) {
    TcpOptions o;
    EXPECT_EQ(parse_opts({5, 2, 1, 1}, o), Drop::TcpBadOption) << "no block";
    EXPECT_EQ(parse_opts({5, 9, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1}, o), Drop::TcpBadOption)
        << "not 2 + 8n";
    std::vector<uint8_t> five(2 + 40, 0);  // five blocks: more than 40 option bytes allow
    five[0] = 5;
    five[1] = 42;
    EXPECT_EQ(parse_tcp_options(five, o), Drop::TcpBadOption);
}

TEST(TcpOptions, FourSackBlocksFit) {
    std::vector<uint8_t> v(2 + 32);
    v[0] = 5;
    v[1] = 34;
    for (size_t i = 0; i < 32; ++i) v[2 + i] = static_cast<uint8_t>(i);
    TcpOptions o;
    ASSERT_EQ(parse_tcp_options(v, o), Drop::None);
    EXPECT_EQ(o.sack_count, 4);
    EXPECT_EQ(o.sack[3].right, SeqNum(0x1c1d1e1f));
}

TEST(TcpOptions, OutputIsResetEachTime) {
    TcpOptions o;
    ASSERT_EQ(parse_opts({2, 4, 5, 0xb4}, o), Drop::None);
    ASSERT_EQ(parse_opts({1, 1, 1, 1}, o), Drop::None);
    EXPECT_FALSE(o.has_mss);
}

}  // namespace
}  // namespace sluice::wire

namespace sluice::wire {
namespace {

// Every field, so the fast and the general parser can be compared whole.
bool same(const TcpOptions& a, const TcpOptions& b) {
    if (a.has_mss != b.has_mss || a.has_wscale != b.has_wscale ||
        a.sack_permitted != b.sack_permitted || a.has_timestamps != b.has_timestamps ||
        a.mss != b.mss || a.wscale != b.wscale || a.sack_count != b.sack_count ||
        a.ts_val != b.ts_val || a.ts_ecr != b.ts_ecr)
        return false;
    for (int i = 0; i < TcpOptions::kMaxSackBlocks; ++i)
        if (a.sack[size_t(i)].left != b.sack[size_t(i)].left ||
            a.sack[size_t(i)].right != b.sack[size_t(i)].right)
            return false;
    return true;
}

void expect_agree(const std::vector<uint8_t>& opts, const char* what, int i) {
    TcpOptions fast, full;
    // Garbage in both outputs first: each parser must reset what it does not set.
    fast.has_timestamps = full.has_mss = fast.sack_permitted = true;
    fast.ts_val = full.ts_ecr = 0xa5a5a5a5;
    fast.sack_count = full.sack_count = 3;
    const Drop df = parse_tcp_options_fast(opts, fast);
    const Drop dg = parse_tcp_options(opts, full);
    ASSERT_EQ(df, dg) << what << " " << i;
    if (df == Drop::None) {
        ASSERT_TRUE(same(fast, full)) << what << " " << i;
    }
}

TEST(TcpOptionsFast, TheCommonLayoutsParseAsTheGeneralParserDoes) {
    TcpOptions o;
    ASSERT_EQ(parse_tcp_options_fast({}, o), Drop::None);
    EXPECT_FALSE(o.has_timestamps);
    const std::vector<uint8_t> ts{1, 1, 8, 10, 0x11, 0x22, 0x33, 0x44, 0xde, 0xad, 0xbe, 0xef};
    ASSERT_EQ(parse_tcp_options_fast(ts, o), Drop::None);
    EXPECT_TRUE(o.has_timestamps);
    EXPECT_EQ(o.ts_val, 0x11223344u);
    EXPECT_EQ(o.ts_ecr, 0xdeadbeefu);
    expect_agree(ts, "aligned timestamps", 0);
    expect_agree({}, "none", 0);
}

// Random option bytes of every length, and mutations of the aligned-timestamp layout (one to
// three bytes changed: near misses must fall back and agree), against the general parser.
TEST(TcpOptionsFast, AgreesWithTheGeneralParserOnRandomAndMutatedOptions) {
    std::mt19937 rng(17);
    const std::vector<uint8_t> ts{1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8};
    const std::vector<uint8_t> kinds{0, 1, 2, 3, 4, 5, 8, 10, 30, 254};
    for (int i = 0; i < 200000; ++i) {
        std::vector<uint8_t> v;
        if (i % 2 == 0) {
            v = ts;
            for (int k = 0, n = 1 + int(rng() % 3); k < n; ++k) {
                const size_t at = rng() % v.size();
                v[at] = rng() % 2 ? kinds[rng() % kinds.size()] : uint8_t(rng());
            }
            if (rng() % 8 == 0) v.resize(rng() % 13);
        } else {
            v.resize(rng() % 41);
            for (auto& b : v) b = rng() % 2 ? kinds[rng() % kinds.size()] : uint8_t(rng());
        }
        expect_agree(v, "random", i);
    }
}

TEST(Checksum, TwentyByteHeaderSumMatchesTheGeneralOne) {
    std::mt19937 rng(20);
    for (int i = 0; i < 10000; ++i) {
        std::array<uint8_t, 20> h{};
        for (auto& b : h) b = uint8_t(rng());
        ASSERT_EQ(ipv4_header_checksum20(h.data()), ipv4_header_checksum(h)) << i;
        // With its checksum stored, a header verifies to 0 either way.
        const uint16_t c = ipv4_header_checksum(h);
        h[10] = 0;
        h[11] = 0;
        const uint16_t z = ipv4_header_checksum(h);
        h[10] = uint8_t(z >> 8);
        h[11] = uint8_t(z);
        ASSERT_EQ(ipv4_header_checksum20(h.data()), 0) << i << " " << c;
    }
}

}  // namespace
}  // namespace sluice::wire
