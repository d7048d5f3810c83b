// IPv6, ICMPv6 and Neighbor Discovery on the wire (issue 11 item 1). The reference frames
// were made with scapy 2.5 (python3-scapy, Debian 12), an independent implementation: our
// parsers must accept them and our builders must reproduce them byte for byte, checksums
// included. The malformed cases change one thing in a frame and re-seal the checksums, so
// that only the intended fault remains.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "wire/build.hpp"
#include "wire/bytes.hpp"
#include "wire/checksum.hpp"
#include "wire/ipv6.hpp"
#include "wire/layout.hpp"
#include "wire/parse.hpp"

namespace sluice::wire {
namespace {

std::vector<uint8_t> hex(const std::string& s) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < s.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
    return out;
}

IpAddr ip6(const char* text) {
    return *IpAddr::parse(text);
}

const MacAddr kMacA{{0x02, 0, 0, 0, 0, 0x01}};
const MacAddr kMacB{{0x02, 0, 0, 0, 0, 0x02}};
const IpAddr kA = ip6("2001:2::1");
const IpAddr kB = ip6("2001:2::2");

// scapy: Ether(src=A,dst=B)/IPv6(src=a,dst=b,hlim=64)/TCP(sport=40000,dport=80,
//        seq=0x01020304,flags="S",window=65535,options=[('MSS',1440)])
const char* kSyn =
    "02000000000202000000000186dd600000000018064020010002000000000000000000000001200100020000"
    "000000000000000000029c40005001020304000000006002ffffb79b0000020405a0";
// scapy: .../TCP(sport=80,dport=40000,seq=0x11111111,ack=0x01020305,flags="PA",window=501)
//        /Raw(b"hello, v6\n")
const char* kData =
    "02000000000102000000000286dd60000000001e064020010002000000000000000000000002200100020000"
    "0000000000000000000100509c401111111101020305501801f5108d000068656c6c6f2c2076360a";
// scapy: .../ICMPv6EchoRequest(id=0x1234,seq=7,data=b"abcdefgh"), and the reply b -> a.
const char* kEcho =
    "02000000000202000000000186dd6000000000103a4020010002000000000000000000000001200100020000"
    "0000000000000000000280009bdb123400076162636465666768";
const char* kEchoReply =
    "02000000000102000000000286dd6000000000103a4020010002000000000000000000000002200100020000"
    "0000000000000000000181009adb123400076162636465666768";
// scapy: Ether(dst="33:33:ff:00:00:02")/IPv6(src=a,dst="ff02::1:ff00:2",hlim=255)
//        /ICMPv6ND_NS(tgt=b)/ICMPv6NDOptSrcLLAddr(lladdr=A)
const char* kNs =
    "3333ff00000202000000000186dd6000000000203aff20010002000000000000000000000001ff0200000000"
    "000000000001ff0000028700379300000000200100020000000000000000000000020101020000000001";
// scapy: Ether(src=B,dst=A)/IPv6(src=b,dst=a,hlim=255)/ICMPv6ND_NA(tgt=b,R=0,S=1,O=1)
//        /ICMPv6NDOptDstLLAddr(lladdr=B)
const char* kNa =
    "02000000000102000000000286dd6000000000203aff20010002000000000000000000000002200100020000"
    "000000000000000000018800b39360000000200100020000000000000000000000020201020000000002";
// scapy: Duplicate Address Detection, IPv6(src="::",dst="ff02::1:ff00:2")/ICMPv6ND_NS(tgt=b)
const char* kDad =
    "3333ff00000202000000000186dd6000000000183aff00000000000000000000000000000000ff0200000000"
    "000000000001ff00000287005aa10000000020010002000000000000000000000002";
// scapy: .../IPv6ExtHdrHopByHop(PadN)/IPv6ExtHdrDestOpt(PadN)/IPv6ExtHdrFragment(offset=0,
//        m=0,id=5)/TCP(sport=40000,dport=80,seq=5,flags="S",window=1000)
const char* kExt =
    "02000000000202000000000186dd60000000002c004020010002000000000000000000000001200100020000"
    "000000000000000000023c000104000000002c0001040000000006000000000000059c400050000000050000"
    "0000500203e8cf5c0000";

Drop parse(const std::vector<uint8_t>& f, Frame& out) {
    return parse_frame(f, RxCsum{}, out);
}

// An IPv6 packet put together field by field for the malformed cases: `ext` is the raw
// extension header chain (its first next-header goes in the IPv6 header as `first`), `l4`
// the upper-layer message of protocol `proto`, whose checksum (at `csum_off`) is sealed.
struct V6 {
    IpAddr src = kA, dst = kB;
    uint8_t hop_limit = 64;
    uint8_t first = kIpProtoTcp;
    std::vector<uint8_t> ext;
    uint8_t proto = kIpProtoTcp;
    std::vector<uint8_t> l4;
    size_t csum_off = kTcpCsumOff;
    MacAddr dst_mac = kMacB;

    std::vector<uint8_t> frame() const {
        // Sized once and filled in place: GCC 12 at -O3 reports false -Warray-bounds in
        // vector::insert at the end of a vector (release builds use -Werror).
        std::vector<uint8_t> f(kEthHdrLen + kIpv6HdrLen + ext.size() + l4.size());
        std::memcpy(f.data(), dst_mac.b.data(), 6);
        std::memcpy(f.data() + 6, kMacA.b.data(), 6);
        store_be16(f.data() + kEthTypeOff, kEtherTypeIpv6);
        uint8_t* ip = f.data() + kEthHdrLen;
        store_be32(ip, uint32_t{6} << 28);
        store_be16(ip + kIpv6PayloadLenOff, static_cast<uint16_t>(ext.size() + l4.size()));
        ip[kIpv6NextHdrOff] = first;
        ip[kIpv6HopLimitOff] = hop_limit;
        std::memcpy(ip + kIpv6SrcOff, src.bytes.data(), 16);
        std::memcpy(ip + kIpv6DstOff, dst.bytes.data(), 16);
        std::copy(ext.begin(), ext.end(), ip + kIpv6HdrLen);
        std::vector<uint8_t> m = l4;
        if (m.size() >= csum_off + 2) {
            store_be16(m.data() + csum_off, 0);
            const uint32_t ph = pseudo_header_sum(src, dst, proto, uint32_t(m.size()));
            store_be16(m.data() + csum_off, checksum_fold(checksum_partial(m, ph)));
        }
        std::copy(m.begin(), m.end(), ip + kIpv6HdrLen + ext.size());
        return f;
    }
};

// The upper-layer bytes of a reference frame without extension headers.
std::vector<uint8_t> l4_of(const char* ref) {
    const auto f = hex(ref);
    return {f.begin() + kEthHdrLen + kIpv6HdrLen, f.end()};
}

V6 tcp_packet() {
    V6 p;
    p.l4 = l4_of(kSyn);
    return p;
}

// An extension header of type-specific content `body` (2 bytes of next/len are added);
// body.size() + 2 must be a multiple of 8.
std::vector<uint8_t> ext_header(uint8_t next, std::vector<uint8_t> body) {
    std::vector<uint8_t> h(body.size() + 2);  // sized once: see V6::frame()
    h[0] = next;
    h[1] = static_cast<uint8_t>((body.size() + 2) / 8 - 1);
    std::copy(body.begin(), body.end(), h.begin() + 2);
    return h;
}
std::vector<uint8_t> padn6() {  // a PadN option filling 6 bytes
    return {0x01, 0x04, 0, 0, 0, 0};
}

// --- the IPv6 header --------------------------------------------------------------------------

TEST(Ipv6Parse, ScapySynAndData) {
    Frame f;
    auto syn = hex(kSyn);
    ASSERT_EQ(parse(syn, f), Drop::None);
    EXPECT_EQ(f.ether_type, kEtherTypeIpv6);
    EXPECT_EQ(f.src, kA);
    EXPECT_EQ(f.dst, kB);
    EXPECT_EQ(f.ttl, 64);
    EXPECT_EQ(f.ip_proto, kIpProtoTcp);
    EXPECT_EQ(f.l4_off, kEthHdrLen + kIpv6HdrLen);
    EXPECT_EQ(f.l4_len, 24);
    TcpSegmentView v;
    ASSERT_EQ(parse_tcp(syn, f, RxCsum{}, v), Drop::None);
    EXPECT_EQ(v.src_port, 40000);
    EXPECT_EQ(v.seq, SeqNum(0x01020304));
    EXPECT_TRUE(v.options.has_mss);
    EXPECT_EQ(v.options.mss, 1440);

    auto data = hex(kData);
    ASSERT_EQ(parse(data, f), Drop::None);
    ASSERT_EQ(parse_tcp(data, f, RxCsum{}, v), Drop::None);
    EXPECT_EQ(std::string(data.begin() + v.payload_off, data.begin() + v.payload_off + v.payload_len),
              "hello, v6\n");
    EXPECT_EQ(flow_key_of(f, v).local, kA);
}

TEST(Ipv6Parse, EthernetPaddingIsNotPayload) {
    auto syn = hex(kSyn);
    syn.resize(syn.size() + 20, 0xee);
    Frame f;
    ASSERT_EQ(parse(syn, f), Drop::None);
    EXPECT_EQ(f.l4_len, 24);
    TcpSegmentView v;
    EXPECT_EQ(parse_tcp(syn, f, RxCsum{}, v), Drop::None);
}

TEST(Ipv6Parse, HeaderFaults) {
    Frame f;
    auto syn = hex(kSyn);
    std::vector<uint8_t> cut(syn.begin(), syn.begin() + kEthHdrLen + kIpv6HdrLen - 1);
    EXPECT_EQ(parse(cut, f), Drop::Ipv6Truncated);
    auto bad = syn;
    bad[kEthHdrLen] = 0x40;
    EXPECT_EQ(parse(bad, f), Drop::Ipv6BadVersion);
    bad = syn;
    store_be16(bad.data() + kEthHdrLen + kIpv6PayloadLenOff, 25);
    EXPECT_EQ(parse(bad, f), Drop::Ipv6BadPayloadLength);
    bad = syn;
    bad[kEthHdrLen + kIpv6SrcOff + 15] ^= 1;  // checksum no longer matches
    ASSERT_EQ(parse(bad, f), Drop::None);
    TcpSegmentView v;
    EXPECT_EQ(parse_tcp(bad, f, RxCsum{}, v), Drop::TcpBadChecksum);
    EXPECT_EQ(parse_tcp(bad, f, RxCsum{.ip = HwCsum::Unknown, .l4 = HwCsum::Good}, v), Drop::None);
}

TEST(Ipv6Parse, SourceAndDestinationRules) {
    Frame f;
    auto expect = [&](V6 p, Drop d, const char* what) {
        EXPECT_EQ(parse(p.frame(), f), d) << what;
    };
    V6 p = tcp_packet();
    p.src = ip6("ff02::1");
    expect(p, Drop::Ipv6BadSource, "multicast source");
    p.src = ip6("::1");
    expect(p, Drop::Ipv6BadSource, "loopback source");
    p.src = ip6("::ffff:198.18.0.1");
    expect(p, Drop::Ipv6BadSource, "v4-mapped source");
    p.src = ip6("::");
    expect(p, Drop::Ipv6BadSource, "unspecified source with TCP");
    p = tcp_packet();
    p.dst = ip6("::");
    expect(p, Drop::Ipv6BadDestination, "unspecified destination");
    p.dst = ip6("::1");
    expect(p, Drop::Ipv6BadDestination, "loopback destination");
    p.dst = ip6("ff02::1");
    expect(p, Drop::Ipv6BadDestination, "TCP to a group");
    // ICMPv6 may come from :: (DAD) and go to a group.
    V6 e;
    e.proto = e.first = kIpProtoIcmpv6;
    e.l4 = l4_of(kEcho);
    e.csum_off = 2;
    e.dst = ip6("ff02::1");
    expect(e, Drop::None, "echo to all-nodes");
    e.src = ip6("::");
    expect(e, Drop::None, "ICMPv6 from the unspecified address");
}

// --- extension headers -----------------------------------------------------------------------

TEST(Ipv6Ext, ScapyChainIsWalked) {
    Frame f;
    auto ext = hex(kExt);
    ASSERT_EQ(parse(ext, f), Drop::None);
    EXPECT_EQ(f.ip_proto, kIpProtoTcp);
    EXPECT_EQ(f.l4_off, kEthHdrLen + kIpv6HdrLen + 8 + 8 + 8);
    EXPECT_EQ(f.l4_len, 20);
    TcpSegmentView v;
    ASSERT_EQ(parse_tcp(ext, f, RxCsum{}, v), Drop::None);
    EXPECT_EQ(v.seq, SeqNum(5));
}

TEST(Ipv6Ext, Rules) {
    Frame f;
    auto with = [&](std::vector<std::vector<uint8_t>> chain, uint8_t first) {
        V6 p = tcp_packet();
        p.first = first;
        for (auto& h : chain) p.ext.insert(p.ext.end(), h.begin(), h.end());
        return parse(p.frame(), f);
    };
    constexpr uint8_t kTcp = kIpProtoTcp, kHbh = kIpv6ExtHopByHop, kDst = kIpv6ExtDestOpts,
                      kRt = kIpv6ExtRouting, kFrag = kIpv6ExtFragment;
    EXPECT_EQ(with({ext_header(kTcp, padn6())}, kHbh), Drop::None);
    EXPECT_EQ(with({ext_header(kHbh, padn6()), ext_header(kTcp, padn6())}, kDst),
              Drop::Ipv6BadExtHeader)
        << "Hop-by-Hop only first";
    // Unknown options: "skip" (00) is skipped; 01, 10 and 11 ask for a discard.
    EXPECT_EQ(with({ext_header(kTcp, {0x3e, 0x04, 0, 0, 0, 0})}, kDst), Drop::None);
    for (uint8_t type : {0x7e, 0xbe, 0xfe})
        EXPECT_EQ(with({ext_header(kTcp, {type, 0x04, 0, 0, 0, 0})}, kDst), Drop::Ipv6BadExtHeader)
            << int(type);
    EXPECT_EQ(with({ext_header(kTcp, {0x00, 0x00, 0x00, 0x01, 0x09, 0})}, kDst),
              Drop::Ipv6BadExtHeader)
        << "an option running past its header";
    // Routing: segments left 0 is ours to skip; anything else would make us forward.
    EXPECT_EQ(with({ext_header(kTcp, {0x00, 0x00, 0, 0, 0, 0})}, kRt), Drop::None);
    EXPECT_EQ(with({ext_header(kTcp, {0x00, 0x01, 0, 0, 0, 0})}, kRt), Drop::Ipv6BadExtHeader);
    // Fragments: atomic passes (RFC 6946); a real one is not reassembled.
    EXPECT_EQ(with({{kTcp, 0, 0x00, 0x00, 0, 0, 0, 9}}, kFrag), Drop::None);
    EXPECT_EQ(with({{kTcp, 0, 0x00, 0x01, 0, 0, 0, 9}}, kFrag), Drop::Ipv6Fragment) << "M set";
    EXPECT_EQ(with({{kTcp, 0, 0x00, 0x08, 0, 0, 0, 9}}, kFrag), Drop::Ipv6Fragment) << "offset 1";
    // Eight headers are walked, a ninth is too many.
    std::vector<std::vector<uint8_t>> eight(7, ext_header(kDst, padn6()));
    eight.push_back(ext_header(kTcp, padn6()));
    EXPECT_EQ(with(eight, kDst), Drop::None);
    auto nine = eight;
    nine.insert(nine.begin(), ext_header(kDst, padn6()));
    EXPECT_EQ(with(nine, kDst), Drop::Ipv6BadExtHeader);
    // A length past the payload; ESP, No Next Header and UDP are not served.
    EXPECT_EQ(with({{kTcp, 3, 0x01, 0x04, 0, 0, 0, 0}}, kDst), Drop::Ipv6BadExtHeader);
    EXPECT_EQ(with({}, kIpv6ExtNoNext), Drop::IpUnsupportedProto);
    EXPECT_EQ(with({}, 50), Drop::IpUnsupportedProto);
    EXPECT_EQ(with({}, 17), Drop::IpUnsupportedProto);
}

TEST(Ipv6Ext, JumbogramIsRefused) {
    // Payload length 0 and a Hop-by-Hop jumbo option (RFC 2675): the header does not fit.
    V6 p = tcp_packet();
    p.first = kIpv6ExtHopByHop;
    p.ext = ext_header(kIpProtoTcp, {0xc2, 0x04, 0, 1, 0, 0});
    auto fr = p.frame();
    store_be16(fr.data() + kEthHdrLen + kIpv6PayloadLenOff, 0);
    Frame f;
    EXPECT_EQ(parse(fr, f), Drop::Ipv6BadExtHeader);
}

// --- building ---------------------------------------------------------------------------------

TEST(Ipv6Build, TcpMatchesScapy) {
    L3Header l3;
    l3.src_mac = kMacA;
    l3.dst_mac = kMacB;
    l3.src = kA;
    l3.dst = kB;
    TcpHeaderSpec s;
    s.src_port = 40000;
    s.dst_port = 80;
    s.seq = SeqNum(0x01020304);
    s.flags = tcp_flags::Syn;
    s.window = 65535;
    s.options.has_mss = true;
    s.options.mss = 1440;
    std::vector<uint8_t> out(256);
    const size_t n = build_tcp(out, l3, s, {}, CsumMode::Software);
    out.resize(n);
    EXPECT_EQ(out, hex(kSyn));
    EXPECT_EQ(n, tcp_frame_size(s.options, 0, Family::V6));

    std::swap(l3.src, l3.dst);
    std::swap(l3.src_mac, l3.dst_mac);
    TcpHeaderSpec d;
    d.src_port = 80;
    d.dst_port = 40000;
    d.seq = SeqNum(0x11111111);
    d.ack = SeqNum(0x01020305);
    d.flags = tcp_flags::Psh | tcp_flags::Ack;
    d.window = 501;
    const std::string payload = "hello, v6\n";
    std::vector<uint8_t> out2(256);
    out2.resize(build_tcp(out2, l3, d,
                          std::span(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()),
                          CsumMode::Software));
    EXPECT_EQ(out2, hex(kData));

    // Offload: the checksum field holds the pseudo-header sum, uncomplemented.
    std::vector<uint8_t> out3(256);
    out3.resize(build_tcp(out3, l3, d,
                          std::span(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()),
                          CsumMode::Offload));
    const uint32_t ph = pseudo_header_sum(l3.src, l3.dst, kIpProtoTcp, 20 + payload.size());
    EXPECT_EQ(load_be16(out3.data() + kEthHdrLen + kIpv6HdrLen + kTcpCsumOff), checksum_reduce(ph));
}

TEST(Ipv6Build, MixedFamiliesAndOversizeAreRefused) {
    L3Header l3;
    l3.src = kA;
    l3.dst = IpAddr::v4(0xc6120002);
    std::vector<uint8_t> out(256);
    EXPECT_EQ(build_tcp(out, l3, TcpHeaderSpec{}, {}, CsumMode::Software), 0u);
    l3.dst = kB;
    std::vector<uint8_t> big(70000), payload(65535 - 19);
    EXPECT_EQ(build_tcp(big, l3, TcpHeaderSpec{}, payload, CsumMode::Software), 0u)
        << "an IPv6 payload over 65535 bytes needs a jumbogram";
    payload.resize(65535 - 20);
    EXPECT_NE(build_tcp(big, l3, TcpHeaderSpec{}, payload, CsumMode::Software), 0u);
}

// --- ICMPv6 echo ------------------------------------------------------------------------------

TEST(Icmp6, EchoRequestAndReplyMatchScapy) {
    auto echo = hex(kEcho);
    Frame f;
    ASSERT_EQ(parse(echo, f), Drop::None);
    Icmp6Message m;
    ASSERT_EQ(parse_icmp6(echo, f, RxCsum{}, m), Drop::None);
    EXPECT_EQ(m.type, kIcmp6EchoRequest);
    EXPECT_EQ(m.id, 0x1234);
    EXPECT_EQ(m.seq, 7);
    EXPECT_EQ(m.data_len, 8);
    const size_t n = make_echo6_reply_in_place(echo, f, kMacB, kB);
    echo.resize(n);
    EXPECT_EQ(echo, hex(kEchoReply));
}

TEST(Icmp6, EchoReplyDropsExtensionHeadersAndAnswersFromOurAddress) {
    V6 p;
    p.first = kIpv6ExtDestOpts;
    p.ext = ext_header(kIpProtoIcmpv6, padn6());
    p.proto = kIpProtoIcmpv6;
    p.l4 = l4_of(kEcho);
    p.csum_off = 2;
    p.dst = ip6("ff02::1");  // a ping to all nodes: we answer from our own address
    auto fr = p.frame();
    Frame f;
    ASSERT_EQ(parse(fr, f), Drop::None);
    Icmp6Message m;
    ASSERT_EQ(parse_icmp6(fr, f, RxCsum{}, m), Drop::None);
    fr.resize(make_echo6_reply_in_place(fr, f, kMacB, kB));
    EXPECT_EQ(fr, hex(kEchoReply));
}

TEST(Icmp6, Faults) {
    Frame f;
    Icmp6Message m;
    auto icmp = [&](V6 p) {
        p.proto = p.first = kIpProtoIcmpv6;
        p.csum_off = 2;
        auto fr = p.frame();
        EXPECT_EQ(parse(fr, f), Drop::None);
        return parse_icmp6(fr, f, RxCsum{}, m);
    };
    V6 p;
    p.l4 = l4_of(kEcho);
    EXPECT_EQ(icmp(p), Drop::None);
    p.l4[1] = 1;
    EXPECT_EQ(icmp(p), Drop::IcmpUnsupportedType) << "echo request with code 1";
    p.l4 = l4_of(kEchoReply);
    EXPECT_EQ(icmp(p), Drop::IcmpUnsupportedType) << "echo replies are not asked for";
    p.l4 = {1, 4, 0, 0, 0, 0, 0, 0};  // destination unreachable
    EXPECT_EQ(icmp(p), Drop::IcmpUnsupportedType);
    p.l4 = {kIcmp6EchoRequest, 0, 0, 0, 0, 1};
    EXPECT_EQ(icmp(p), Drop::IcmpTruncated) << "an echo request needs id and sequence";
    p.l4 = {kIcmp6EchoRequest, 0};
    p.csum_off = 99;  // too short to carry a checksum
    auto fr = p.frame();
    fr[kEthHdrLen + kIpv6NextHdrOff] = kIpProtoIcmpv6;
    ASSERT_EQ(parse(fr, f), Drop::None);
    EXPECT_EQ(parse_icmp6(fr, f, RxCsum{}, m), Drop::IcmpTruncated);
    auto echo = hex(kEcho);
    echo.back() ^= 0x40;
    ASSERT_EQ(parse(echo, f), Drop::None);
    EXPECT_EQ(parse_icmp6(echo, f, RxCsum{}, m), Drop::IcmpBadChecksum);
    EXPECT_EQ(parse_icmp6(echo, f, RxCsum{.ip = HwCsum::Unknown, .l4 = HwCsum::Bad}, m),
              Drop::IcmpBadChecksum);
    auto syn = hex(kSyn);
    ASSERT_EQ(parse(syn, f), Drop::None);
    EXPECT_EQ(parse_icmp6(syn, f, RxCsum{}, m), Drop::IpUnsupportedProto);
}

// --- Neighbor Discovery -----------------------------------------------------------------------

TEST(Ndp, AddressesOfGroups) {
    EXPECT_EQ(solicited_node(ip6("2001:2::1234:5678")), ip6("ff02::1:ff34:5678"));
    EXPECT_EQ(multicast_mac(ip6("ff02::1:ff34:5678")),
              (MacAddr{{0x33, 0x33, 0xff, 0x34, 0x56, 0x78}}));
    EXPECT_TRUE(is_v6_link_local(ip6("fe80::1")));
    EXPECT_FALSE(is_v6_link_local(ip6("fec0::1")));
}

TEST(Ndp, SolicitationMatchesScapy) {
    auto ns = hex(kNs);
    Frame f;
    ASSERT_EQ(parse(ns, f), Drop::None);
    Icmp6Message m;
    ASSERT_EQ(parse_icmp6(ns, f, RxCsum{}, m), Drop::None);
    EXPECT_EQ(m.type, kIcmp6NeighborSolicit);
    EXPECT_EQ(m.target, kB);
    EXPECT_TRUE(m.has_lladdr);
    EXPECT_EQ(m.lladdr, kMacA);
    std::vector<uint8_t> out(128);
    out.resize(build_neighbor_solicit(out, kMacA, kA, kB));
    EXPECT_EQ(out, ns);
}

TEST(Ndp, AdvertisementMatchesScapy) {
    auto na = hex(kNa);
    Frame f;
    ASSERT_EQ(parse(na, f), Drop::None);
    Icmp6Message m;
    ASSERT_EQ(parse_icmp6(na, f, RxCsum{}, m), Drop::None);
    EXPECT_EQ(m.type, kIcmp6NeighborAdvert);
    EXPECT_EQ(m.target, kB);
    EXPECT_TRUE(m.solicited);
    EXPECT_TRUE(m.override_flag);
    EXPECT_FALSE(m.router);
    EXPECT_EQ(m.lladdr, kMacB);
    std::vector<uint8_t> out(128);
    out.resize(build_neighbor_advert(
        out, {.src_mac = kMacB, .dst_mac = kMacA, .src = kB, .dst = kA, .target = kB}));
    EXPECT_EQ(out, na);
}

TEST(Ndp, DuplicateAddressDetection) {
    auto dad = hex(kDad);
    Frame f;
    ASSERT_EQ(parse(dad, f), Drop::None);
    Icmp6Message m;
    ASSERT_EQ(parse_icmp6(dad, f, RxCsum{}, m), Drop::None);
    EXPECT_FALSE(m.has_lladdr);
    // From ::, it must go to a solicited-node group and carry no source address (7.1.1).
    V6 p;
    p.src = ip6("::");
    p.dst = kB;
    p.hop_limit = 255;
    p.proto = p.first = kIpProtoIcmpv6;
    p.csum_off = 2;
    p.l4 = l4_of(kDad);
    auto fr = p.frame();
    ASSERT_EQ(parse(fr, f), Drop::None);
    EXPECT_EQ(parse_icmp6(fr, f, RxCsum{}, m), Drop::NdpMalformed);
    p.dst = ip6("ff02::1:ff00:2");
    p.l4 = l4_of(kNs);  // with a source link-layer address option
    fr = p.frame();
    ASSERT_EQ(parse(fr, f), Drop::None);
    EXPECT_EQ(parse_icmp6(fr, f, RxCsum{}, m), Drop::NdpMalformed);
}

TEST(Ndp, ValidityChecks) {
    Frame f;
    Icmp6Message m;
    auto ndp = [&](const char* ref, auto&& change) {
        V6 p;
        p.hop_limit = 255;
        p.proto = p.first = kIpProtoIcmpv6;
        p.csum_off = 2;
        p.l4 = l4_of(ref);
        p.dst = ref == kNs ? ip6("ff02::1:ff00:2") : kA;
        change(p);
        auto fr = p.frame();
        EXPECT_EQ(parse(fr, f), Drop::None);
        return parse_icmp6(fr, f, RxCsum{}, m);
    };
    EXPECT_EQ(ndp(kNs, [](V6&) {}), Drop::None);
    EXPECT_EQ(ndp(kNa, [](V6&) {}), Drop::None);
    for (const char* ref : {kNs, kNa}) {
        EXPECT_EQ(ndp(ref, [](V6& p) { p.hop_limit = 254; }), Drop::NdpMalformed) << "routed";
        EXPECT_EQ(ndp(ref, [](V6& p) { p.l4[1] = 1; }), Drop::NdpMalformed) << "code";
        EXPECT_EQ(ndp(ref, [](V6& p) { p.l4[kNdpTargetOff] = 0xff; }), Drop::NdpMalformed)
            << "multicast target";
        EXPECT_EQ(ndp(ref, [](V6& p) { p.l4[kNdpNsNaLen + 1] = 0; }), Drop::NdpMalformed)
            << "option length 0";
        EXPECT_EQ(ndp(ref, [](V6& p) { p.l4[kNdpNsNaLen + 1] = 2; }), Drop::NdpMalformed)
            << "option past the message";
        EXPECT_EQ(ndp(ref, [](V6& p) { p.l4[kNdpNsNaLen + 2] |= 0x01; }), Drop::NdpMalformed)
            << "group link-layer address";
        EXPECT_EQ(ndp(ref, [](V6& p) { p.l4.resize(kNdpNsNaLen - 4); }), Drop::NdpMalformed)
            << "shorter than the fixed part";
        EXPECT_EQ(ndp(ref, [](V6& p) { p.l4.resize(kNdpNsNaLen); }), Drop::None)
            << "no options at all";
    }
    // An unknown option is skipped; the first link-layer address option counts.
    EXPECT_EQ(ndp(kNs,
                  [](V6& p) {
                      const std::vector<uint8_t> nonce{14, 1, 1, 2, 3, 4, 5, 6};
                      p.l4.insert(p.l4.begin() + kNdpNsNaLen, nonce.begin(), nonce.end());
                  }),
              Drop::None);
    EXPECT_EQ(m.lladdr, kMacA);
    // Solicited advertisements go to the solicitor, never to a group.
    EXPECT_EQ(ndp(kNa, [](V6& p) { p.dst = ip6("ff02::1"); }), Drop::NdpMalformed);
    EXPECT_EQ(ndp(kNa,
                  [](V6& p) {
                      p.dst = ip6("ff02::1");
                      p.l4[kNdpFlagsOff] &= uint8_t(~kNdpFlagSolicited);
                  }),
              Drop::None);
}

// --- robustness -------------------------------------------------------------------------------

// Every prefix of every reference frame, and seeded random corruptions of them, go through
// the parsers: no crash, no read outside the span (the ASan build checks), and never a
// result other than None or a Drop value.
TEST(Ipv6Robustness, TruncationsAndCorruptions) {
    std::mt19937 rng(6);
    for (const char* ref : {kSyn, kData, kEcho, kNs, kNa, kDad, kExt}) {
        const auto whole = hex(ref);
        for (size_t n = 0; n <= whole.size(); ++n) {
            std::vector<uint8_t> fr(whole.begin(), whole.begin() + long(n));
            Frame f;
            if (parse(fr, f) != Drop::None) continue;
            TcpSegmentView v;
            Icmp6Message m;
            (void)parse_tcp(fr, f, RxCsum{}, v);
            (void)parse_icmp6(fr, f, RxCsum{}, m);
            EXPECT_LE(size_t(f.l4_off) + f.l4_len, n);
        }
        for (int i = 0; i < 2000; ++i) {
            auto fr = whole;
            for (int k = 0; k < 3; ++k) fr[rng() % fr.size()] ^= uint8_t(1u << (rng() % 8));
            Frame f;
            const Drop d = parse(fr, f);
            EXPECT_LT(size_t(d), kDropCount);
            if (d != Drop::None) continue;
            EXPECT_LE(size_t(f.l4_off) + f.l4_len, fr.size());
            TcpSegmentView v;
            Icmp6Message m;
            EXPECT_LT(size_t(parse_tcp(fr, f, RxCsum{.ip = HwCsum::Unknown, .l4 = HwCsum::Good}, v)),
                      kDropCount);
            EXPECT_LT(size_t(parse_icmp6(fr, f, RxCsum{.ip = HwCsum::Unknown, .l4 = HwCsum::Good},
                                         m)),
                      kDropCount);
        }
    }
}

}  // namespace
}  // namespace sluice::wire
