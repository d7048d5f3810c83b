// parse_frame: Ethernet and IPv4 acceptance and every rejection reason (RFC 791, RFC 1122).
#include <gtest/gtest.h>

#include "wire/parse.hpp"
#include "wire_test_util.hpp"

namespace sluice::wire {
namespace {

using namespace testing;

class ParseFrame : public ::testing::Test {
protected:
    std::vector<uint8_t> f = tcp_frame(syn_spec());
    Frame out;

    Drop parse(RxCsum hw = {}) { return parse_frame(f, hw, out); }
    uint8_t* ip() { return f.data() + kL3Off; }
    void set_src(uint32_t host) {
        store_be32(ip() + kIpv4SrcOff, host);
        fix_ipv4_csum(f);
    }
    void set_dst(uint32_t host) {
        store_be32(ip() + kIpv4DstOff, host);
        fix_ipv4_csum(f);
    }
};

TEST_F(ParseFrame, ValidTcpFrame) {
    ASSERT_EQ(parse(), Drop::None);
    EXPECT_EQ(out.dst_mac, kMacServer);
    EXPECT_EQ(out.src_mac, kMacClient);
    EXPECT_EQ(out.ether_type, kEtherTypeIpv4);
    EXPECT_EQ(out.l3_off, kL3Off);
    EXPECT_EQ(out.src, kIpClient);
    EXPECT_EQ(out.dst, kIpServer);
    EXPECT_EQ(out.ip_proto, kIpProtoTcp);
    EXPECT_EQ(out.ttl, kDefaultTtl);
    EXPECT_EQ(out.l4_off, kL4Off);
    EXPECT_EQ(out.l4_len, f.size() - kL4Off);
}

TEST_F(ParseFrame, TruncatedEthernet) {
    f.resize(13);
    EXPECT_EQ(parse(), Drop::EthTruncated);
    f.clear();
    EXPECT_EQ(parse(), Drop::EthTruncated);
}

TEST_F(ParseFrame, GroupSourceMac) {
    f[kEthSrcOff] |= 0x01;
    EXPECT_EQ(parse(), Drop::EthBadSource);
}

TEST_F(ParseFrame, UnsupportedEthertypes) {
    store_be16(f.data() + kEthTypeOff, 0x88cc);  // LLDP
    EXPECT_EQ(parse(), Drop::EthUnsupportedType);
    EXPECT_EQ(out.ether_type, 0x88cc);
    store_be16(f.data() + kEthTypeOff, kEtherTypeVlan);
    EXPECT_EQ(parse(), Drop::EthUnsupportedType);
    store_be16(f.data() + kEthTypeOff, kEtherTypeIpv6);
    EXPECT_EQ(parse(), Drop::Ipv6BadVersion) << "an IPv4 packet under the IPv6 EtherType";
}

TEST_F(ParseFrame, ArpStopsAtL3) {
    store_be16(f.data() + kEthTypeOff, kEtherTypeArp);
    EXPECT_EQ(parse(), Drop::None);
    EXPECT_EQ(out.ether_type, kEtherTypeArp);
    EXPECT_EQ(out.l3_off, kL3Off);
    EXPECT_EQ(out.ip_proto, 0) << "no IP fields from this or an earlier frame";
}

TEST_F(ParseFrame, TruncatedIpv4) {
    f.resize(kL3Off + kIpv4MinHdrLen - 1);
    EXPECT_EQ(parse(), Drop::Ipv4Truncated);
    f.resize(kL3Off);
    EXPECT_EQ(parse(), Drop::Ipv4Truncated);
}

TEST_F(ParseFrame, VersionNot4) {
    ip()[0] = 0x65;
    fix_ipv4_csum(f);
    EXPECT_EQ(parse(), Drop::Ipv4BadVersion);
}

TEST_F(ParseFrame, IhlBelow5) {
    for (uint8_t ihl : {0, 1, 4}) {
        ip()[0] = static_cast<uint8_t>(0x40 | ihl);
        EXPECT_EQ(parse(), Drop::Ipv4BadIhl) << int{ihl};
    }
}

TEST_F(ParseFrame, IhlPastTheFrame) {
    f.resize(kL3Off + 40);
    ip()[0] = 0x4f;  // 60-byte header in 40 bytes
    EXPECT_EQ(parse(), Drop::Ipv4BadIhl);
}

TEST_F(ParseFrame, TotalLengthBelowHeader) {
    store_be16(ip() + kIpv4TotalLenOff, 19);
    fix_ipv4_csum(f);
    EXPECT_EQ(parse(), Drop::Ipv4BadTotalLength);
}

TEST_F(ParseFrame, TotalLengthPastTheFrame) {
    f.pop_back();  // one byte of TCP missing
    EXPECT_EQ(parse(), Drop::Ipv4BadTotalLength);
}

TEST_F(ParseFrame, BadHeaderChecksum) {
    ip()[kIpv4CsumOff] ^= 0x01;
    EXPECT_EQ(parse(), Drop::Ipv4BadChecksum);
    // The NIC's "good" overrides software; its "bad" rejects even a good header.
    EXPECT_EQ(parse({.ip = HwCsum::Good}), Drop::None);
    ip()[kIpv4CsumOff] ^= 0x01;
    EXPECT_EQ(parse(), Drop::None);
    EXPECT_EQ(parse({.ip = HwCsum::Bad}), Drop::Ipv4BadChecksum);
}

TEST_F(ParseFrame, Fragments) {
    store_be16(ip() + kIpv4FragOff, kIpv4FlagMf);  // first fragment
    fix_ipv4_csum(f);
    EXPECT_EQ(parse(), Drop::Ipv4Fragment);
    store_be16(ip() + kIpv4FragOff, 185);  // last fragment, offset 1480
    fix_ipv4_csum(f);
    EXPECT_EQ(parse(), Drop::Ipv4Fragment);
    store_be16(ip() + kIpv4FragOff, kIpv4FlagDf);  // whole datagram, DF
    fix_ipv4_csum(f);
    EXPECT_EQ(parse(), Drop::None);
    store_be16(ip() + kIpv4FragOff, 0);
    fix_ipv4_csum(f);
    EXPECT_EQ(parse(), Drop::None);
}

TEST_F(ParseFrame, TtlZero) {
    ip()[kIpv4TtlOff] = 0;
    fix_ipv4_csum(f);
    EXPECT_EQ(parse(), Drop::Ipv4TtlZero);
    ip()[kIpv4TtlOff] = 1;  // RFC 1122 3.2.1.7: a host must accept TTL 1
    fix_ipv4_csum(f);
    EXPECT_EQ(parse(), Drop::None);
}

TEST_F(ParseFrame, BadSources) {
    for (uint32_t src :
         {0xffffffffu /*255.255.255.255*/, 0xe0000001u /*224.0.0.1*/, 0x00000000u /*0.0.0.0*/,
          0x7f000001u /*127.0.0.1*/, 0xf0000001u /*240.0.0.1*/, 0xefffffffu /*239.255.255.255*/}) {
        set_src(src);
        EXPECT_EQ(parse(), Drop::Ipv4BadSource) << IpAddr::v4(src).to_string();
    }
    set_src(0xc6130001);  // 198.19.0.1
    EXPECT_EQ(parse(), Drop::None);
}

TEST_F(ParseFrame, BadDestinations) {
    for (uint32_t dst : {0xe0000001u, 0xffffffffu, 0xf0000001u, 0x7f000001u, 0x00000000u}) {
        set_dst(dst);
        EXPECT_EQ(parse(), Drop::Ipv4BadDestination) << IpAddr::v4(dst).to_string();
    }
}

TEST_F(ParseFrame, UnsupportedProtocol) {
    ip()[kIpv4ProtoOff] = 17;  // UDP
    fix_ipv4_csum(f);
    EXPECT_EQ(parse(), Drop::IpUnsupportedProto);
    EXPECT_EQ(out.ip_proto, 17);
}

TEST_F(ParseFrame, Ipv4OptionsAreSkipped) {
    const size_t l4_len = f.size() - kL4Off;
    for (size_t n : {4u, 8u, 40u}) {
        auto g = tcp_frame(syn_spec());
        add_ip_options(g, n);
        ASSERT_EQ(parse_frame(g, {}, out), Drop::None) << n;
        EXPECT_EQ(out.l4_off, kL4Off + n);
        EXPECT_EQ(out.l4_len, l4_len);
        TcpSegmentView seg;
        ASSERT_EQ(parse_tcp(g, out, {}, seg), Drop::None) << n;
        EXPECT_EQ(seg.src_port, 40000);
        EXPECT_TRUE(seg.options.has_mss);
    }
}

TEST_F(ParseFrame, EthernetPaddingIsNotL4) {
    const size_t l4_len = f.size() - kL4Off;
    f.resize(f.size() + 6, 0xee);
    ASSERT_EQ(parse(), Drop::None);
    EXPECT_EQ(out.l4_len, l4_len);
}

TEST_F(ParseFrame, ReusedOutputIsReset) {
    ASSERT_EQ(parse(), Drop::None);
    f.resize(13);
    EXPECT_EQ(parse(), Drop::EthTruncated);
    EXPECT_EQ(out.l4_len, 0);
    EXPECT_EQ(out.ip_proto, 0);
}

}  // namespace
}  // namespace sluice::wire
