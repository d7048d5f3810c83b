// parse_tcp and the option parser (RFC 9293 3.1-3.2, RFC 7323, RFC 2018).
#include <gtest/gtest.h>

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
