// TCP builders: option writer layout, build_tcp round trips in both checksum modes, rst_for.
#include <gtest/gtest.h>

#include <numeric>

#include "wire/build.hpp"
#include "wire/parse.hpp"
#include "wire/tcp.hpp"
#include "wire_test_util.hpp"

namespace sluice::wire {
namespace {

using namespace testing;

std::vector<uint8_t> written(const TcpOptions& o) {
    std::vector<uint8_t> v(64, 0xcc);
    const size_t n = write_tcp_options(v, o);
    EXPECT_EQ(n, tcp_options_size(o));
    v.resize(n);
    return v;
}

TEST(WriteTcpOptions, LinuxSynLayout) {
    // What Linux puts in a SYN: MSS, SACK-perm folded into the TS word, NOP WS.
    const std::vector<uint8_t> expect = {2,    4,    0x05, 0xb4, 4, 2, 8, 10, 0x11, 0x22,
                                         0x33, 0x44, 0,    0,    0, 0, 1, 3,  3,    7};
    EXPECT_EQ(written(syn_spec().options), expect);
}

TEST(WriteTcpOptions, TimestampsWithoutSackPermitted) {
    TcpOptions o;
    o.has_timestamps = true;
    o.ts_val = 1;
    o.ts_ecr = 2;
    EXPECT_EQ(written(o), (std::vector<uint8_t>{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}));
}

TEST(WriteTcpOptions, SackPermittedWithoutTimestamps) {
    TcpOptions o;
    o.sack_permitted = true;
    o.has_mss = true;
    o.mss = 536;
    EXPECT_EQ(written(o), (std::vector<uint8_t>{2, 4, 0x02, 0x18, 1, 1, 4, 2}));
}

TEST(WriteTcpOptions, NothingToWrite) {
    uint8_t buf[8];
    EXPECT_EQ(write_tcp_options(buf, TcpOptions{}), 0u);
    EXPECT_EQ(tcp_options_size(TcpOptions{}), 0u);
}

TEST(WriteTcpOptions, TooSmallBuffer) {
    uint8_t buf[19];
    EXPECT_EQ(write_tcp_options(buf, syn_spec().options), 0u);
}

TEST(WriteTcpOptions, SackBlocksRoundTrip) {
    TcpOptions o;
    o.has_timestamps = true;
    o.ts_val = 7;
    o.sack_count = 3;
    o.sack[0] = {SeqNum(100), SeqNum(200)};
    o.sack[1] = {SeqNum(300), SeqNum(400)};
    o.sack[2] = {SeqNum(0xfffffff0u), SeqNum(16)};
    const auto v = written(o);
    EXPECT_EQ(v.size(), 12u + 4 + 24);
    EXPECT_EQ(v.size() % 4, 0u);
    TcpOptions back;
    ASSERT_EQ(parse_tcp_options(v, back), Drop::None);
    EXPECT_TRUE(back.has_timestamps);
    ASSERT_EQ(back.sack_count, 3);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(back.sack[i].left, o.sack[i].left);
        EXPECT_EQ(back.sack[i].right, o.sack[i].right);
    }
}

TEST(WriteTcpOptions, SackBlocksThatDoNotFitAreDropped) {
    TcpOptions o;
    o.has_timestamps = true;  // 12 bytes: 28 left, room for 3 blocks
    o.sack_count = 4;
    for (int i = 0; i < 4; ++i) o.sack[i] = {SeqNum(10u * i), SeqNum(10u * i + 5)};
    EXPECT_EQ(tcp_options_size(o), 40u);
    TcpOptions back;
    ASSERT_EQ(parse_tcp_options(written(o), back), Drop::None);
    EXPECT_EQ(back.sack_count, 3);
    EXPECT_EQ(back.sack[0].left, SeqNum(0)) << "most recent block kept";
    o.has_timestamps = false;
    EXPECT_EQ(tcp_options_size(o), 36u);
    o = syn_spec().options;  // 20 bytes: two blocks fit
    o.sack_count = 4;
    EXPECT_EQ(tcp_options_size(o), 40u);
    o.has_timestamps = false;  // MSS, NOP NOP SACK-perm, NOP WS: 12 bytes, three blocks
    EXPECT_EQ(tcp_options_size(o), 40u);
    o.sack_count = 200;  // garbage count: clamped, never past the array
    EXPECT_LE(tcp_options_size(o), 40u);
}

class BuildTcp : public ::testing::TestWithParam<CsumMode> {};

TEST_P(BuildTcp, RoundTripThroughParser) {
    TcpHeaderSpec spec = syn_spec();
    spec.flags = tcp_flags::Syn | tcp_flags::Ack;
    spec.ack = SeqNum(0xfffffffe);
    std::vector<uint8_t> payload(333);
    std::iota(payload.begin(), payload.end(), uint8_t{0});
    std::vector<uint8_t> f(1514);
    const size_t n = build_tcp(f, client_to_server(), spec, payload, GetParam());
    ASSERT_EQ(n, tcp_frame_size(spec.options, payload.size()));
    f.resize(n);
    // Offloaded checksums are filled in by the NIC: pretend it did.
    const bool offload = GetParam() == CsumMode::Offload;
    const RxCsum hw = offload ? RxCsum{HwCsum::Good, HwCsum::Good} : RxCsum{};
    Frame fr;
    ASSERT_EQ(parse_frame(f, hw, fr), Drop::None);
    EXPECT_EQ(fr.ttl, kDefaultTtl);
    EXPECT_EQ(load_be16(f.data() + kL3Off + kIpv4IdOff), 0x1234);
    EXPECT_EQ(load_be16(f.data() + kL3Off + kIpv4FragOff), kIpv4FlagDf);
    TcpSegmentView s;
    ASSERT_EQ(parse_tcp(f, fr, hw, s), Drop::None);
    EXPECT_EQ(s.src_port, spec.src_port);
    EXPECT_EQ(s.dst_port, spec.dst_port);
    EXPECT_EQ(s.seq, spec.seq);
    EXPECT_EQ(s.ack, spec.ack);
    EXPECT_EQ(s.flags, spec.flags);
    EXPECT_EQ(s.window, spec.window);
    EXPECT_EQ(s.options.mss, 1460);
    EXPECT_EQ(s.options.wscale, 7);
    EXPECT_EQ(s.options.ts_val, 0x11223344u);
    ASSERT_EQ(s.payload_len, payload.size());
    EXPECT_TRUE(std::equal(payload.begin(), payload.end(), f.begin() + s.payload_off));
}

INSTANTIATE_TEST_SUITE_P(BothModes, BuildTcp,
                         ::testing::Values(CsumMode::Software, CsumMode::Offload));

TEST(BuildTcpOffload, WritesPseudoHeaderSumAndZeroIpChecksum) {
    const TcpHeaderSpec spec = syn_spec();
    std::vector<uint8_t> f(256);
    f.resize(build_tcp(f, client_to_server(), spec, {}, CsumMode::Offload));
    ASSERT_FALSE(f.empty());
    EXPECT_EQ(load_be16(f.data() + kL3Off + kIpv4CsumOff), 0);
    const size_t l4_len = f.size() - kL4Off;
    // rte_ipv4_phdr_cksum(): the folded, uncomplemented pseudo-header sum. Spelled out:
    uint32_t expect = 0xc612 + 0x0001 + 0xc612 + 0x0002 + kIpProtoTcp + l4_len;
    while (expect >> 16) expect = (expect & 0xffff) + (expect >> 16);
    EXPECT_EQ(load_be16(f.data() + kL4Off + kTcpCsumOff), expect);
    // What the NIC then does: complement the sum over the segment with that seed in place.
    const uint16_t hw = checksum_fold(checksum_partial(std::span(f.data() + kL4Off, l4_len)));
    store_be16(f.data() + kL4Off + kTcpCsumOff, hw);
    fix_ipv4_csum(f);
    TcpSegmentView s;
    EXPECT_EQ(parse_tcp_frame(f, s), Drop::None) << "software check accepts the NIC's result";
}

TEST(BuildTcp, RefusesWhatDoesNotFit) {
    const TcpHeaderSpec spec = syn_spec();
    const size_t need = tcp_frame_size(spec.options, 10);
    std::vector<uint8_t> f(need - 1);
    const std::vector<uint8_t> payload(10);
    EXPECT_EQ(build_tcp(f, client_to_server(), spec, payload, CsumMode::Software), 0u);
    f.resize(need);
    EXPECT_EQ(build_tcp(f, client_to_server(), spec, payload, CsumMode::Software), need);
    // More than an IPv4 datagram can carry.
    const size_t max_payload = 65535 - kIpv4MinHdrLen - kTcpMinHdrLen - 20;  // 20 option bytes
    ASSERT_EQ(tcp_options_size(spec.options), 20u);
    std::vector<uint8_t> huge(70000), big_payload(max_payload + 1);
    EXPECT_EQ(build_tcp(huge, client_to_server(), spec, big_payload, CsumMode::Software), 0u);
    big_payload.pop_back();
    EXPECT_EQ(build_tcp(huge, client_to_server(), spec, big_payload, CsumMode::Software),
              kEthHdrLen + 65535u);
}

TEST(BuildTcp, RefusesV6ForNow) {
    L3Header l3 = client_to_server();
    l3.dst = *IpAddr::parse("2001:db8::1");
    std::vector<uint8_t> f(256);
    EXPECT_EQ(build_tcp(f, l3, syn_spec(), {}, CsumMode::Software), 0u);
}

TEST(BuildTcp, PayloadMayAlreadySitInTheBuffer) {
    // The engine may build headers in front of data already in the mbuf.
    TcpHeaderSpec spec = syn_spec();
    spec.flags = tcp_flags::Ack;
    spec.options = {};
    std::vector<uint8_t> f(200);
    const size_t hdrs = kL4Off + kTcpMinHdrLen;
    for (size_t i = 0; i < 50; ++i) f[10 + i] = static_cast<uint8_t>(i + 1);  // overlaps
    const std::span<const uint8_t> payload(f.data() + 10, 50);
    const size_t n = build_tcp(f, client_to_server(), spec, payload, CsumMode::Software);
    ASSERT_EQ(n, hdrs + 50);
    f.resize(n);
    for (size_t i = 0; i < 50; ++i) ASSERT_EQ(f[hdrs + i], i + 1) << i;
    TcpSegmentView s;
    EXPECT_EQ(parse_tcp_frame(f, s), Drop::None);
}

TEST(RstFor, SegmentWithAckGetsSeqEqualAck) {
    TcpSegmentView seg;
    seg.src_port = 40000;
    seg.dst_port = 81;
    seg.seq = SeqNum(5000);
    seg.ack = SeqNum(777);
    seg.flags = tcp_flags::Ack | tcp_flags::Psh;
    seg.payload_len = 10;
    const TcpHeaderSpec r = rst_for(seg);
    EXPECT_EQ(r.src_port, 81);
    EXPECT_EQ(r.dst_port, 40000);
    EXPECT_EQ(r.seq, SeqNum(777));
    EXPECT_EQ(r.flags, tcp_flags::Rst);
    EXPECT_EQ(r.window, 0);
    EXPECT_EQ(tcp_options_size(r.options), 0u);
}

TEST(RstFor, SynWithoutAckGetsAckOfSeqPlusLen) {
    TcpSegmentView seg;
    seg.src_port = 40000;
    seg.dst_port = 81;
    seg.seq = SeqNum(0xffffffffu);
    seg.flags = tcp_flags::Syn;
    TcpHeaderSpec r = rst_for(seg);
    EXPECT_EQ(r.seq, SeqNum(0));
    EXPECT_EQ(r.ack, SeqNum(0)) << "SYN counts one, wrapping";
    EXPECT_EQ(r.flags, tcp_flags::Rst | tcp_flags::Ack);
    seg.flags = tcp_flags::Fin;
    seg.seq = SeqNum(100);
    seg.payload_len = 20;
    r = rst_for(seg);
    EXPECT_EQ(r.ack, SeqNum(121)) << "data plus FIN";
}

TEST(RstFor, BuildsAndParses) {
    TcpSegmentView syn;
    ASSERT_EQ(parse_tcp_frame(tcp_frame(syn_spec()), syn), Drop::None);
    L3Header back;
    back.src_mac = kMacServer;
    back.dst_mac = kMacClient;
    back.src = kIpServer;
    back.dst = kIpClient;
    std::vector<uint8_t> f(128);
    f.resize(build_tcp(f, back, rst_for(syn), {}, CsumMode::Software));
    ASSERT_EQ(f.size(), kL4Off + kTcpMinHdrLen);
    TcpSegmentView r;
    ASSERT_EQ(parse_tcp_frame(f, r), Drop::None);
    EXPECT_EQ(r.flags, tcp_flags::Rst | tcp_flags::Ack);
    EXPECT_EQ(r.ack, SeqNum(1001));
    EXPECT_EQ(r.dst_port, 40000);
}

}  // namespace
}  // namespace sluice::wire
