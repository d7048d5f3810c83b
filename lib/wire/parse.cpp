// Ethernet, IPv4, ARP and ICMP echo parsing. TCP lives in parse_tcp.cpp.
#include "wire/parse.hpp"

#include <cstring>

#include "wire/bytes.hpp"
#include "wire/layout.hpp"

namespace sluice::wire {

namespace {

MacAddr load_mac(const uint8_t* p) noexcept {
    MacAddr m;
    std::memcpy(m.b.data(), p, m.b.size());
    return m;
}

IpAddr load_ipv4(const uint8_t* p) noexcept {
    return IpAddr::v4(load_be32(p));
}

// Addresses that are never a host's own on the wire (RFC 1122 3.2.1.3, RFC 6890):
// 0/8 "this network", 127/8 loopback, 224/4 multicast, 240/4 reserved including the limited
// broadcast 255.255.255.255. sluice speaks only unicast TCP and ICMP echo, so the same set
// is illegal as a source and as a destination. (A subnet's directed broadcast depends on the
// interface configuration; the engine filters it with Ipv4Prefix::broadcast().)
bool is_martian_v4(uint32_t host_order) noexcept {
    const uint32_t top8 = host_order >> 24;
    return top8 == 0 || top8 == 127 || top8 >= 224;
}

Drop parse_ipv4(std::span<const uint8_t> frame, RxCsum hw, Frame& out) noexcept {
    const size_t avail = frame.size() - out.l3_off;
    if (avail < kIpv4MinHdrLen) return Drop::Ipv4Truncated;
    const uint8_t* ip = frame.data() + out.l3_off;

    if ((ip[kIpv4VerIhlOff] >> 4) != 4) return Drop::Ipv4BadVersion;
    const size_t hdr_len = size_t{ip[kIpv4VerIhlOff] & 0x0fu} * 4;
    if (hdr_len < kIpv4MinHdrLen || hdr_len > avail) return Drop::Ipv4BadIhl;
    // Bytes past the total length are Ethernet padding (frames have a 60-byte minimum).
    const size_t total_len = load_be16(ip + kIpv4TotalLenOff);
    if (total_len < hdr_len || total_len > avail) return Drop::Ipv4BadTotalLength;

    if (hw.ip == HwCsum::Bad) return Drop::Ipv4BadChecksum;
    if (hw.ip != HwCsum::Good && ipv4_header_checksum(std::span(ip, hdr_len)) != 0)
        return Drop::Ipv4BadChecksum;

    // No reassembly: a fragment is dropped whether it is the first (MF) or a later one.
    if ((load_be16(ip + kIpv4FragOff) & (kIpv4FlagMf | kIpv4FragOffsetMask)) != 0)
        return Drop::Ipv4Fragment;
    out.ttl = ip[kIpv4TtlOff];
    if (out.ttl == 0) return Drop::Ipv4TtlZero;  // RFC 1122 3.2.1.7: never sent with TTL 0

    const uint32_t src = load_be32(ip + kIpv4SrcOff);
    const uint32_t dst = load_be32(ip + kIpv4DstOff);
    out.src = IpAddr::v4(src);
    out.dst = IpAddr::v4(dst);
    if (is_martian_v4(src)) return Drop::Ipv4BadSource;
    if (is_martian_v4(dst)) return Drop::Ipv4BadDestination;

    out.ip_proto = ip[kIpv4ProtoOff];
    if (out.ip_proto != kIpProtoTcp && out.ip_proto != kIpProtoIcmp)
        return Drop::IpUnsupportedProto;
    // Options (IHL > 5) are skipped: sluice honours none of them (RFC 1122 3.2.1.8 lets a
    // host ignore the ones it does not implement).
    out.l4_off = static_cast<uint16_t>(out.l3_off + hdr_len);
    out.l4_len = static_cast<uint16_t>(total_len - hdr_len);
    return Drop::None;
}

}  // namespace

Drop parse_frame(std::span<const uint8_t> frame, RxCsum hw, Frame& out) noexcept {
    out = Frame{};  // nothing from a previous frame may survive into this one
    if (frame.size() < kEthHdrLen) return Drop::EthTruncated;
    const uint8_t* eth = frame.data();
    out.dst_mac = load_mac(eth + kEthDstOff);
    out.src_mac = load_mac(eth + kEthSrcOff);
    out.ether_type = load_be16(eth + kEthTypeOff);
    out.l3_off = kEthHdrLen;
    // A group address as source is never legal (IEEE 802.3 3.2.3).
    if (out.src_mac.is_multicast()) return Drop::EthBadSource;
    switch (out.ether_type) {
        case kEtherTypeIpv4: return parse_ipv4(frame, hw, out);
        case kEtherTypeArp: return Drop::None;
        case kEtherTypeIpv6: return Drop::Ipv6Unsupported;
        default: return Drop::EthUnsupportedType;  // VLAN tags included: strip them in the NIC
    }
}

Drop parse_arp(std::span<const uint8_t> frame, const Frame& f, ArpPacket& out) noexcept {
    if (f.ether_type != kEtherTypeArp || f.l3_off > frame.size()) return Drop::ArpMalformed;
    if (frame.size() - f.l3_off < kArpLen) return Drop::ArpMalformed;
    const uint8_t* a = frame.data() + f.l3_off;
    // RFC 826: a station answers only for the hardware and protocol types it speaks.
    if (load_be16(a + kArpHtypeOff) != kArpHtypeEthernet ||
        load_be16(a + kArpPtypeOff) != kEtherTypeIpv4)
        return Drop::ArpUnsupported;
    // Lengths that contradict Ethernet/IPv4 make the address fields unreadable.
    if (a[kArpHlenOff] != 6 || a[kArpPlenOff] != 4) return Drop::ArpMalformed;
    out.op = load_be16(a + kArpOpOff);
    if (out.op != kArpOpRequest && out.op != kArpOpReply) return Drop::ArpUnsupported;
    out.sha = load_mac(a + kArpShaOff);
    out.tha = load_mac(a + kArpThaOff);
    out.spa = load_ipv4(a + kArpSpaOff);
    out.tpa = load_ipv4(a + kArpTpaOff);
    // Learning a group sender address would send our unicast replies to a group.
    if (out.sha.is_multicast()) return Drop::ArpMalformed;
    return Drop::None;
}

Drop parse_icmp_echo(std::span<const uint8_t> frame, const Frame& f, RxCsum hw,
                     IcmpEcho& out) noexcept {
    if (f.ether_type != kEtherTypeIpv4 || f.ip_proto != kIpProtoIcmp)
        return Drop::IpUnsupportedProto;
    if (f.l4_off > frame.size() || frame.size() - f.l4_off < f.l4_len || f.l4_len < kIcmpEchoHdrLen)
        return Drop::IcmpTruncated;
    const uint8_t* icmp = frame.data() + f.l4_off;
    if (hw.l4 == HwCsum::Bad) return Drop::IcmpBadChecksum;
    // RFC 792: the checksum covers the whole ICMP message.
    if (hw.l4 != HwCsum::Good && checksum_fold(checksum_partial(std::span(icmp, f.l4_len))) != 0)
        return Drop::IcmpBadChecksum;
    if (icmp[kIcmpTypeOff] != kIcmpEchoRequest || icmp[kIcmpCodeOff] != 0)
        return Drop::IcmpUnsupportedType;
    out.id = load_be16(icmp + kIcmpIdOff);
    out.seq = load_be16(icmp + kIcmpSeqOff);
    out.data_off = static_cast<uint16_t>(f.l4_off + kIcmpEchoHdrLen);
    out.data_len = static_cast<uint16_t>(f.l4_len - kIcmpEchoHdrLen);
    return Drop::None;
}

}  // namespace sluice::wire
