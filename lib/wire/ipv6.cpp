// ICMPv6 echo and Neighbor Discovery: parsing and building. See ipv6.hpp.
#include "wire/ipv6.hpp"

#include <cstring>

#include "wire/bytes.hpp"
#include "wire/headers.hpp"
#include "wire/layout.hpp"

namespace sluice::wire {

namespace {

// A solicitation or advertisement with its Ethernet and IPv6 headers: 14 + 40 + 24 + 8.
constexpr size_t kNdpFrameLen = kEthHdrLen + kIpv6HdrLen + kNdpNsNaLen + kNdpOptLlaLen;

// The options after a solicitation's or advertisement's fixed part (RFC 4861 4.6): every
// length non-zero and inside the message. Takes the first link-layer address option of
// `want` (6 bytes for Ethernet, RFC 4861 4.6.1 with RFC 2464 8); a group MAC is refused,
// since unicast replies would go to a group.
bool ndp_options(const uint8_t* p, size_t n, uint8_t want, Icmp6Message& out) noexcept {
    size_t i = 0;
    while (i < n) {
        if (n - i < 2) return false;
        const size_t len = size_t{p[i + 1]} * 8;
        if (len == 0 || len > n - i) return false;
        if (p[i] == want && !out.has_lladdr) {
            if (len != kNdpOptLlaLen) return false;
            std::memcpy(out.lladdr.b.data(), p + i + 2, 6);
            if (out.lladdr.is_multicast()) return false;
            out.has_lladdr = true;
        }
        i += len;
    }
    return true;
}

Drop parse_ndp(const uint8_t* m, size_t len, const Frame& f, Icmp6Message& out) noexcept {
    // RFC 4861 7.1.1 and 7.1.2: a router would have decremented the hop limit, so 255 proves
    // the sender is on our link.
    if (f.ttl != kNdpHopLimit || m[1] != 0 || len < kNdpNsNaLen) return Drop::NdpMalformed;
    uint8_t target[16];
    std::memcpy(target, m + kNdpTargetOff, 16);
    out.target = IpAddr::v6(target);
    if (is_v6_multicast(out.target)) return Drop::NdpMalformed;
    const bool ns = out.type == kIcmp6NeighborSolicit;
    if (!ndp_options(m + kNdpNsNaLen, len - kNdpNsNaLen, ns ? kNdpOptSourceLla : kNdpOptTargetLla,
                     out))
        return Drop::NdpMalformed;
    if (ns) {
        // Duplicate Address Detection: from ::, to a solicited-node group, no source address.
        if (is_v6_unspecified(f.src) && (!is_solicited_node(f.dst) || out.has_lladdr))
            return Drop::NdpMalformed;
    } else {
        const uint8_t flags = m[kNdpFlagsOff];
        out.router = (flags & kNdpFlagRouter) != 0;
        out.solicited = (flags & kNdpFlagSolicited) != 0;
        out.override_flag = (flags & kNdpFlagOverride) != 0;
        if (is_v6_multicast(f.dst) && out.solicited) return Drop::NdpMalformed;
    }
    return Drop::None;
}

// The ICMPv6 checksum field for the message `m` of `len` bytes (field zeroed first).
void set_icmp6_checksum(uint8_t* m, size_t len, const IpAddr& src, const IpAddr& dst) noexcept {
    store_be16(m + 2, 0);
    const uint32_t phdr = pseudo_header_sum(src, dst, kIpProtoIcmpv6, static_cast<uint32_t>(len));
    store_be16(m + 2, checksum_fold(checksum_partial(std::span<const uint8_t>(m, len), phdr)));
}

// Ethernet + IPv6 + a solicitation or advertisement with one link-layer address option.
size_t build_ndp(std::span<uint8_t> out, const MacAddr& src_mac, const MacAddr& dst_mac,
                 const IpAddr& src, const IpAddr& dst, uint8_t type, uint8_t flags,
                 const IpAddr& target, uint8_t opt) noexcept {
    if (out.size() < kNdpFrameLen || src.is_v4() || dst.is_v4() || target.is_v4()) return 0;
    uint8_t* ip = detail::write_eth(out.data(), dst_mac, src_mac, kEtherTypeIpv6);
    detail::write_ipv6(ip, src, dst, kIpProtoIcmpv6, kNdpHopLimit, kNdpNsNaLen + kNdpOptLlaLen);
    uint8_t* m = ip + kIpv6HdrLen;
    std::memset(m, 0, kNdpNsNaLen);
    m[0] = type;
    m[kNdpFlagsOff] = flags;
    std::memcpy(m + kNdpTargetOff, target.bytes.data(), 16);
    uint8_t* o = m + kNdpNsNaLen;
    o[0] = opt;
    o[1] = 1;  // in units of 8 octets
    std::memcpy(o + 2, src_mac.b.data(), 6);
    set_icmp6_checksum(m, kNdpNsNaLen + kNdpOptLlaLen, src, dst);
    return kNdpFrameLen;
}

}  // namespace

IpAddr solicited_node(const IpAddr& a) noexcept {
    uint8_t b[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0, 0, 0};
    if (a.family == Family::V6) std::memcpy(b + 13, a.bytes.data() + 13, 3);
    return IpAddr::v6(b);
}

bool is_solicited_node(const IpAddr& a) noexcept {
    const IpAddr prefix = solicited_node(IpAddr{});
    return a.family == Family::V6 && std::memcmp(a.bytes.data(), prefix.bytes.data(), 13) == 0;
}

IpAddr all_nodes() noexcept {
    const uint8_t b[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
    return IpAddr::v6(b);
}

IpAddr link_local_of(const MacAddr& mac) noexcept {
    uint8_t b[16] = {0xfe, 0x80};
    b[8] = mac.b[0] ^ 0x02;  // the universal/local bit inverted
    b[9] = mac.b[1];
    b[10] = mac.b[2];
    b[11] = 0xff;
    b[12] = 0xfe;
    b[13] = mac.b[3];
    b[14] = mac.b[4];
    b[15] = mac.b[5];
    return IpAddr::v6(b);
}

MacAddr multicast_mac(const IpAddr& group) noexcept {
    MacAddr m{{0x33, 0x33, 0, 0, 0, 0}};
    std::memcpy(m.b.data() + 2, group.bytes.data() + 12, 4);
    return m;
}

Drop parse_icmp6(std::span<const uint8_t> frame, const Frame& f, RxCsum hw,
                 Icmp6Message& out) noexcept {
    out = Icmp6Message{};
    if (f.ether_type != kEtherTypeIpv6 || f.ip_proto != kIpProtoIcmpv6)
        return Drop::IpUnsupportedProto;
    if (f.l4_off > frame.size() || frame.size() - f.l4_off < f.l4_len || f.l4_len < kIcmp6MinLen)
        return Drop::IcmpTruncated;
    const uint8_t* m = frame.data() + f.l4_off;
    if (hw.l4 == HwCsum::Bad) return Drop::IcmpBadChecksum;
    // RFC 4443 2.3: the checksum covers the pseudo-header and the whole message.
    if (hw.l4 != HwCsum::Good) {
        const uint32_t phdr = pseudo_header_sum(f.src, f.dst, kIpProtoIcmpv6, f.l4_len);
        if (checksum_fold(checksum_partial(std::span(m, f.l4_len), phdr)) != 0)
            return Drop::IcmpBadChecksum;
    }
    out.type = m[0];
    switch (out.type) {
        case kIcmp6EchoRequest:
            if (m[1] != 0) return Drop::IcmpUnsupportedType;
            if (f.l4_len < kIcmpEchoHdrLen) return Drop::IcmpTruncated;
            out.id = load_be16(m + kIcmpIdOff);
            out.seq = load_be16(m + kIcmpSeqOff);
            out.data_off = static_cast<uint16_t>(f.l4_off + kIcmpEchoHdrLen);
            out.data_len = static_cast<uint16_t>(f.l4_len - kIcmpEchoHdrLen);
            return Drop::None;
        case kIcmp6NeighborSolicit:
        case kIcmp6NeighborAdvert: return parse_ndp(m, f.l4_len, f, out);
        default: return Drop::IcmpUnsupportedType;
    }
}

size_t make_echo6_reply_in_place(std::span<uint8_t> frame, const Frame& f, const MacAddr& our_mac,
                                 const IpAddr& our_addr) noexcept {
    if (f.ether_type != kEtherTypeIpv6 || f.ip_proto != kIpProtoIcmpv6 || our_addr.is_v4())
        return 0;
    if (f.l3_off + kIpv6HdrLen > f.l4_off || f.l4_off > frame.size() ||
        frame.size() - f.l4_off < f.l4_len || f.l4_len < kIcmpEchoHdrLen)
        return 0;
    uint8_t* base = frame.data();
    const MacAddr peer = f.src_mac;
    const IpAddr to = f.src;
    detail::write_eth(base, peer, our_mac, kEtherTypeIpv6);
    // Extension headers stay behind: move the message up behind a bare 40-byte header.
    uint8_t* m = base + f.l3_off + kIpv6HdrLen;
    if (m != base + f.l4_off) std::memmove(m, base + f.l4_off, f.l4_len);
    detail::write_ipv6(base + f.l3_off, our_addr, to, kIpProtoIcmpv6, kDefaultTtl, f.l4_len);
    m[0] = kIcmp6EchoReply;
    // The source may differ from the request's destination (a group): sum it all again.
    set_icmp6_checksum(m, f.l4_len, our_addr, to);
    return f.l3_off + kIpv6HdrLen + f.l4_len;
}

size_t build_neighbor_solicit(std::span<uint8_t> out, const MacAddr& src_mac, const IpAddr& src,
                              const IpAddr& target) noexcept {
    const IpAddr group = solicited_node(target);
    return build_ndp(out, src_mac, multicast_mac(group), src, group, kIcmp6NeighborSolicit, 0,
                     target, kNdpOptSourceLla);
}

size_t build_neighbor_advert(std::span<uint8_t> out, const NeighborAdvert& na) noexcept {
    const uint8_t flags = uint8_t((na.router ? kNdpFlagRouter : 0) |
                                  (na.solicited ? kNdpFlagSolicited : 0) |
                                  (na.override_flag ? kNdpFlagOverride : 0));
    return build_ndp(out, na.src_mac, na.dst_mac, na.src, na.dst, kIcmp6NeighborAdvert, flags,
                     na.target, kNdpOptTargetLla);
}

}  // namespace sluice::wire
