// ARP (RFC 826) and ICMP echo (RFC 792): builders round-tripped through the parsers, and
// every rejection reason.
#include <gtest/gtest.h>

#include "wire/build.hpp"
#include "wire/parse.hpp"
#include "wire_test_util.hpp"

namespace sluice::wire {
namespace {

using namespace testing;

class Arp : public ::testing::Test {
protected:
    std::vector<uint8_t> f = make(kArpOpRequest);
    Frame fr;
    ArpPacket arp;

    static std::vector<uint8_t> make(uint16_t op) {
        std::vector<uint8_t> v(64);
        v.resize(
            build_arp(v, op, MacAddr::broadcast(), kMacClient, kIpClient, MacAddr{}, kIpServer));
        return v;
    }
    uint8_t* a() { return f.data() + kL3Off; }
    Drop parse() {
        const Drop d = parse_frame(f, {}, fr);
        return d != Drop::None ? d : parse_arp(f, fr, arp);
    }
};

TEST_F(Arp, RequestRoundTrip) {
    ASSERT_EQ(f.size(), kEthHdrLen + kArpLen);
    ASSERT_EQ(parse(), Drop::None);
    EXPECT_EQ(fr.dst_mac, MacAddr::broadcast());
    EXPECT_EQ(fr.src_mac, kMacClient);
    EXPECT_EQ(arp.op, kArpOpRequest);
    EXPECT_EQ(arp.sha, kMacClient);
    EXPECT_EQ(arp.spa, kIpClient);
    EXPECT_EQ(arp.tha, MacAddr{});
    EXPECT_EQ(arp.tpa, kIpServer);
}

TEST_F(Arp, ReplyRoundTripPaddedTo60) {
    f = make(kArpOpReply);
    f.resize(60, 0);  // what a switch delivers after padding
    ASSERT_EQ(parse(), Drop::None);
    EXPECT_EQ(arp.op, kArpOpReply);
}

TEST_F(Arp, Truncated) {
    for (size_t n = kL3Off; n < kL3Off + kArpLen; ++n) {
        f.resize(n);
        EXPECT_EQ(parse(), Drop::ArpMalformed) << n;
    }
}

TEST_F(Arp, WrongHardwareOrProtocolType) {
    store_be16(a() + kArpHtypeOff, 6);  // IEEE 802
    EXPECT_EQ(parse(), Drop::ArpUnsupported);
    store_be16(a() + kArpHtypeOff, kArpHtypeEthernet);
    store_be16(a() + kArpPtypeOff, kEtherTypeIpv6);
    EXPECT_EQ(parse(), Drop::ArpUnsupported);
}

TEST_F(Arp, WrongAddressLengths) {
    a()[kArpHlenOff] = 8;
    EXPECT_EQ(parse(), Drop::ArpMalformed);
    a()[kArpHlenOff] = 6;
    a()[kArpPlenOff] = 16;
    EXPECT_EQ(parse(), Drop::ArpMalformed);
}

TEST_F(Arp, UnknownOpcodeAndGroupSender) {
    store_be16(a() + kArpOpOff, 3);  // RARP request
    EXPECT_EQ(parse(), Drop::ArpUnsupported);
    store_be16(a() + kArpOpOff, kArpOpRequest);
    a()[kArpShaOff] = 0x01;  // multicast sender hardware address
    EXPECT_EQ(parse(), Drop::ArpMalformed);
}

TEST_F(Arp, NotAnArpFrame) {
    auto t = tcp_frame(syn_spec());
    ASSERT_EQ(parse_frame(t, {}, fr), Drop::None);
    EXPECT_EQ(parse_arp(t, fr, arp), Drop::ArpMalformed);
}

TEST(BuildArp, RejectsSmallBufferAndV6) {
    uint8_t buf[64];
    EXPECT_EQ(build_arp(std::span(buf, 41), kArpOpRequest, MacAddr::broadcast(), kMacClient,
                        kIpClient, MacAddr{}, kIpServer),
              0u);
    EXPECT_EQ(build_arp(buf, kArpOpRequest, MacAddr::broadcast(), kMacClient,
                        *IpAddr::parse("2001:db8::1"), MacAddr{}, kIpServer),
              0u);
}

class Icmp : public ::testing::Test {
protected:
    const std::vector<uint8_t> data{'s', 'l', 'u', 'i', 'c', 'e', '!'};  // odd length
    std::vector<uint8_t> f = icmp_echo_request(0xbeef, 7, data);
    Frame fr;
    IcmpEcho echo;

    Drop parse(RxCsum hw = {}) {
        const Drop d = parse_frame(f, hw, fr);
        return d != Drop::None ? d : parse_icmp_echo(f, fr, hw, echo);
    }
    uint8_t* icmp() { return f.data() + l4_off(f); }
};

TEST_F(Icmp, EchoRequestParses) {
    ASSERT_EQ(parse(), Drop::None);
    EXPECT_EQ(fr.ip_proto, kIpProtoIcmp);
    EXPECT_EQ(echo.id, 0xbeef);
    EXPECT_EQ(echo.seq, 7);
    EXPECT_EQ(echo.data_off, kL4Off + kIcmpEchoHdrLen);
    EXPECT_EQ(echo.data_len, data.size());
}

TEST_F(Icmp, Truncated) {
    store_be16(f.data() + kL3Off + kIpv4TotalLenOff, kIpv4MinHdrLen + 7);
    fix_ipv4_csum(f);
    EXPECT_EQ(parse(), Drop::IcmpTruncated);
}

TEST_F(Icmp, BadChecksum) {
    icmp()[kIcmpEchoHdrLen + 2] ^= 0x40;  // payload bit flip
    EXPECT_EQ(parse(), Drop::IcmpBadChecksum);
    EXPECT_EQ(parse({.l4 = HwCsum::Good}), Drop::None);
    icmp()[kIcmpEchoHdrLen + 2] ^= 0x40;
    EXPECT_EQ(parse({.l4 = HwCsum::Bad}), Drop::IcmpBadChecksum);
}

TEST_F(Icmp, NonEchoTypes) {
    for (uint8_t type : {kIcmpEchoReply, uint8_t{3}, uint8_t{5}, uint8_t{13}}) {
        icmp()[kIcmpTypeOff] = type;
        fix_icmp_csum(f);
        EXPECT_EQ(parse(), Drop::IcmpUnsupportedType) << int{type};
    }
    icmp()[kIcmpTypeOff] = kIcmpEchoRequest;
    icmp()[kIcmpCodeOff] = 1;
    fix_icmp_csum(f);
    EXPECT_EQ(parse(), Drop::IcmpUnsupportedType);
}

TEST_F(Icmp, NotIcmp) {
    auto t = tcp_frame(syn_spec());
    ASSERT_EQ(parse_frame(t, {}, fr), Drop::None);
    EXPECT_EQ(parse_icmp_echo(t, fr, {}, echo), Drop::IpUnsupportedProto);
}

TEST_F(Icmp, EchoReplyInPlace) {
    ASSERT_EQ(parse(), Drop::None);
    f.resize(f.size() + 5, 0);  // Ethernet padding must not come back
    const size_t n = make_echo_reply_in_place(f, fr);
    ASSERT_EQ(n, kL4Off + kIcmpEchoHdrLen + data.size());
    f.resize(n);
    Frame r;
    ASSERT_EQ(parse_frame(f, {}, r), Drop::None) << "IP checksum valid";
    EXPECT_EQ(r.src_mac, kMacServer);
    EXPECT_EQ(r.dst_mac, kMacClient);
    EXPECT_EQ(r.src, kIpServer);
    EXPECT_EQ(r.dst, kIpClient);
    EXPECT_EQ(r.ttl, kDefaultTtl);
    EXPECT_EQ(icmp()[kIcmpTypeOff], kIcmpEchoReply);
    EXPECT_EQ(checksum_fold(checksum_partial(std::span(icmp(), r.l4_len))), 0) << "ICMP csum";
    EXPECT_EQ(load_be16(icmp() + kIcmpIdOff), 0xbeef);
    EXPECT_EQ(load_be16(icmp() + kIcmpSeqOff), 7);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), icmp() + kIcmpEchoHdrLen));
}

TEST_F(Icmp, EchoReplyDropsIpOptionsAndUsesOurMac) {
    add_ip_options(f, 8);
    ASSERT_EQ(parse(), Drop::None);
    ASSERT_EQ(fr.l4_off, kL4Off + 8);
    const MacAddr ours{{0x02, 0, 0, 0, 0, 0x99}};
    const size_t n = make_echo_reply_in_place(f, fr, ours);
    ASSERT_EQ(n, kL4Off + kIcmpEchoHdrLen + data.size());
    f.resize(n);
    Frame r;
    ASSERT_EQ(parse_frame(f, {}, r), Drop::None);
    EXPECT_EQ(r.l4_off, kL4Off);
    EXPECT_EQ(r.src_mac, ours);
    IcmpEcho e;
    ASSERT_EQ(icmp()[kIcmpTypeOff], kIcmpEchoReply);
    icmp()[kIcmpTypeOff] = kIcmpEchoRequest;  // flip back to reuse the request parser...
    fix_icmp_csum(f);
    ASSERT_EQ(parse_icmp_echo(f, r, {}, e), Drop::None);
    EXPECT_EQ(e.id, 0xbeef);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), f.begin() + e.data_off));
}

TEST_F(Icmp, EchoReplyRefusesInconsistentFrame) {
    ASSERT_EQ(parse(), Drop::None);
    Frame bad = fr;
    bad.l4_len = static_cast<uint16_t>(f.size());  // runs past the buffer
    EXPECT_EQ(make_echo_reply_in_place(f, bad), 0u);
    bad = fr;
    bad.ip_proto = kIpProtoTcp;
    EXPECT_EQ(make_echo_reply_in_place(f, bad), 0u);
}

}  // namespace
}  // namespace sluice::wire
