// Ethernet, IPv4, IPv6, ARP and ICMP echo parsing. TCP lives in parse_tcp.cpp, ICMPv6 in
// ipv6.cpp.
#include "wire/parse.hpp"

#include <cstring>

#include "wire/bytes.hpp"
#include "wire/ipv6.hpp"
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
    if (hw.ip != HwCsum::Good) {
        // The usual 20-byte header summed in place (five 32-bit words), longer ones in a loop.
        const uint16_t c = hdr_len == kIpv4MinHdrLen ? ipv4_header_checksum20(ip)
                                                    : ipv4_header_checksum(std::span(ip, hdr_len));
        if (c != 0) return Drop::Ipv4BadChecksum;
    }

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

// The options of a Hop-by-Hop or Destination Options header (RFC 8200 4.2), `p` past its
// first two bytes. Pad1 and PadN, and any option whose type says "skip if unknown", are
// skipped; sluice knows no other option, so every other type is a discard.
bool ipv6_options_ok(const uint8_t* p, size_t n) noexcept {
    size_t i = 0;
    while (i < n) {
        const uint8_t type = p[i];
        if (type == kIpv6OptPad1) {
            ++i;
            continue;
        }
        if (n - i < 2) return false;
        const size_t len = size_t{2} + p[i + 1];
        if (len > n - i) return false;
        if ((type & kIpv6OptActionMask) != 0) return false;
        i += len;
    }
    return true;
}

// The extension headers sluice walks past before giving up: real traffic carries one or two.
constexpr unsigned kMaxIpv6ExtHeaders = 8;

Drop parse_ipv6(std::span<const uint8_t> frame, Frame& out) noexcept {
    const size_t avail = frame.size() - out.l3_off;
    if (avail < kIpv6HdrLen) return Drop::Ipv6Truncated;
    const uint8_t* ip = frame.data() + out.l3_off;
    if ((ip[kIpv6VerTcFlowOff] >> 4) != 6) return Drop::Ipv6BadVersion;
    // Bytes past the payload length are Ethernet padding. A payload length of 0 with a
    // Hop-by-Hop header is a jumbogram (RFC 2675): its header fails the bounds check below.
    const size_t payload_len = load_be16(ip + kIpv6PayloadLenOff);
    if (payload_len > avail - kIpv6HdrLen) return Drop::Ipv6BadPayloadLength;
    out.ttl = ip[kIpv6HopLimitOff];
    uint8_t src[16], dst[16];
    std::memcpy(src, ip + kIpv6SrcOff, 16);
    std::memcpy(dst, ip + kIpv6DstOff, 16);
    out.src = IpAddr::v6(src);
    out.dst = IpAddr::v6(dst);
    // RFC 4291 2.7: a multicast address is never a source; loopback never leaves a node
    // (2.5.3); v4-mapped addresses are not used on the wire (RFC 4291 2.5.5.2, RFC 6890).
    if (is_v6_multicast(out.src) || is_v6_loopback(out.src) || is_v6_v4_mapped(out.src))
        return Drop::Ipv6BadSource;
    if (is_v6_unspecified(out.dst) || is_v6_loopback(out.dst) || is_v6_v4_mapped(out.dst))
        return Drop::Ipv6BadDestination;

    // The extension header chain (RFC 8200 4.1 order; each is 8-octet aligned).
    size_t off = out.l3_off + kIpv6HdrLen;
    const size_t end = off + payload_len;
    uint8_t next = ip[kIpv6NextHdrOff];
    for (unsigned count = 0;; ++count) {
        if (next == kIpProtoTcp || next == kIpProtoIcmpv6) break;
        if (count == kMaxIpv6ExtHeaders) return Drop::Ipv6BadExtHeader;
        if (next != kIpv6ExtHopByHop && next != kIpv6ExtDestOpts && next != kIpv6ExtRouting &&
            next != kIpv6ExtFragment)
            return Drop::IpUnsupportedProto;  // ESP, AH, No Next Header, UDP, ...
        if (end - off < 8) return Drop::Ipv6BadExtHeader;
        const uint8_t* h = frame.data() + off;
        size_t len = (size_t{h[1]} + 1) * 8;
        switch (next) {
            case kIpv6ExtHopByHop:
                // Only immediately after the IPv6 header (RFC 8200 4.3).
                if (count != 0) return Drop::Ipv6BadExtHeader;
                [[fallthrough]];
            case kIpv6ExtDestOpts:
                if (len > end - off || !ipv6_options_ok(h + 2, len - 2))
                    return Drop::Ipv6BadExtHeader;
                break;
            case kIpv6ExtRouting:
                // Segments left > 0 would make us a router (RFC 8200 4.4): not our job.
                if (len > end - off || h[3] != 0) return Drop::Ipv6BadExtHeader;
                break;
            case kIpv6ExtFragment: {
                len = kIpv6FragHdrLen;  // its length field is reserved
                // An atomic fragment (offset 0, M clear) is a whole packet (RFC 6946 4).
                if ((load_be16(h + 2) & 0xfff9) != 0) return Drop::Ipv6Fragment;
                break;
            }
        }
        next = h[0];
        off += len;
    }
    out.ip_proto = next;
    // The unspecified source only for Duplicate Address Detection (RFC 4861 7.1.1), and
    // multicast only for ICMPv6 (NDP, ping to a group): TCP is unicast.
    if (next == kIpProtoTcp) {
        if (is_v6_unspecified(out.src)) return Drop::Ipv6BadSource;
        if (is_v6_multicast(out.dst)) return Drop::Ipv6BadDestination;
    }
    out.l4_off = static_cast<uint16_t>(off);
    out.l4_len = static_cast<uint16_t>(end - off);
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
        case kEtherTypeIpv6: return parse_ipv6(frame, out);
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
