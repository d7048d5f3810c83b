#pragma once
// IPv6 addresses by kind (RFC 4291), ICMPv6 echo (RFC 4443) and Neighbor Discovery's
// solicitation and advertisement (RFC 4861): parsers that validate exactly as the RFCs ask
// and builders for what sluice sends. The IPv6 header itself is parsed by parse_frame().
//
// Same rules as parse.hpp: parsers read only inside the span they are given, return
// Drop::None or why the message is refused, allocate nothing and never throw.

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/addr.hpp"
#include "wire/build.hpp"
#include "wire/checksum.hpp"
#include "wire/drop.hpp"
#include "wire/parse.hpp"

namespace sluice::wire {

// --- addresses (RFC 4291 2.4) -----------------------------------------------------------------

constexpr bool is_v6_multicast(const IpAddr& a) noexcept {
    return a.family == Family::V6 && a.bytes[0] == 0xff;
}
constexpr bool is_v6_unspecified(const IpAddr& a) noexcept {
    if (a.family != Family::V6) return false;
    for (uint8_t b : a.bytes)
        if (b != 0) return false;
    return true;
}
constexpr bool is_v6_loopback(const IpAddr& a) noexcept {
    if (a.family != Family::V6) return false;
    for (size_t i = 0; i < 15; ++i)
        if (a.bytes[i] != 0) return false;
    return a.bytes[15] == 1;
}
// ::ffff:0:0/96 (RFC 4291 2.5.5.2): an IPv4 host's address inside an API, never on the wire.
constexpr bool is_v6_v4_mapped(const IpAddr& a) noexcept {
    if (a.family != Family::V6) return false;
    for (size_t i = 0; i < 10; ++i)
        if (a.bytes[i] != 0) return false;
    return a.bytes[10] == 0xff && a.bytes[11] == 0xff;
}
// fe80::/10
constexpr bool is_v6_link_local(const IpAddr& a) noexcept {
    return a.family == Family::V6 && a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0x80;
}

// The solicited-node multicast address of `a`: ff02::1:ff00:0/104 with a's low 24 bits
// (RFC 4291 2.7.1). Neighbor Solicitations for `a` go there.
IpAddr solicited_node(const IpAddr& a) noexcept;
// ff02::1, every node on the link (RFC 4291 2.7.1).
IpAddr all_nodes() noexcept;
// Whether `a` is a solicited-node group (ff02::1:ff00:0/104).
bool is_solicited_node(const IpAddr& a) noexcept;
// The link-local address fe80::/64 with the modified EUI-64 interface identifier of `mac`
// (RFC 4291 2.5.1 and appendix A, RFC 2464 4): the address a host on Ethernet has.
IpAddr link_local_of(const MacAddr& mac) noexcept;
// The Ethernet group address of an IPv6 multicast address: 33:33 and its low 32 bits
// (RFC 2464 7).
MacAddr multicast_mac(const IpAddr& group) noexcept;

// --- ICMPv6 -----------------------------------------------------------------------------------

struct Icmp6Message {
    uint8_t type = 0;  // kIcmp6EchoRequest, kIcmp6NeighborSolicit or kIcmp6NeighborAdvert
    // Echo request.
    uint16_t id = 0, seq = 0;  // host order
    uint16_t data_off = 0;     // relative to the frame start
    uint16_t data_len = 0;
    // Neighbor Solicitation / Advertisement.
    IpAddr target;
    bool router = false, solicited = false, override_flag = false;  // NA flags
    bool has_lladdr = false;  // a Source (NS) or Target (NA) Link-Layer Address option
    MacAddr lladdr;
};

// An ICMPv6 message of a frame that parse_frame() accepted with ip_proto 58. The checksum
// (always present in ICMPv6, over the pseudo-header) is verified unless hw.l4 == Good.
// Accepts echo requests, Neighbor Solicitations and Neighbor Advertisements; for the last two
// it applies RFC 4861 7.1.1 / 7.1.2: hop limit 255, code 0, at least 24 bytes, a target that
// is not multicast, options with a non-zero length inside the message; a solicitation from
// the unspecified address must go to a solicited-node address and carry no source link-layer
// address; an advertisement to a multicast address must not have S set.
// Returns None; IpUnsupportedProto (`f` is not ICMPv6); IcmpTruncated; IcmpBadChecksum;
// IcmpUnsupportedType (any other type, or an echo request with a code other than 0);
// NdpMalformed.
Drop parse_icmp6(std::span<const uint8_t> frame, const Frame& f, RxCsum hw,
                 Icmp6Message& out) noexcept;

// Turns an echo request accepted by parse_frame() and parse_icmp6() into its reply in place
// (RFC 4443 4.2): Ethernet back to the sender from `our_mac`, a fresh 40-byte IPv6 header
// from `our_addr` (extension headers are dropped, the message moves up behind it), type 129,
// the checksum computed again. `our_addr` is the request's destination, or our unicast
// address if the request went to a multicast group. Returns the reply's length, or 0 if `f`
// does not describe an ICMPv6 message inside `frame`.
size_t make_echo6_reply_in_place(std::span<uint8_t> frame, const Frame& f, const MacAddr& our_mac,
                                 const IpAddr& our_addr) noexcept;

// A Neighbor Solicitation for `target` from `src` (ours) to target's solicited-node group,
// hop limit 255, with our link-layer address (RFC 4861 4.3, 7.2.2). Returns 86, or 0 if
// `out` is too short or an address is not v6.
size_t build_neighbor_solicit(std::span<uint8_t> out, const MacAddr& src_mac, const IpAddr& src,
                              const IpAddr& target) noexcept;

struct NeighborAdvert {
    MacAddr src_mac, dst_mac;
    IpAddr src, dst;  // src: ours; dst: the solicitor, or ff02::1 if it was unspecified
    IpAddr target;    // the address advertised (ours)
    bool router = false, solicited = true, override_flag = true;
};
// A Neighbor Advertisement with a Target Link-Layer Address option (our MAC), hop limit 255
// (RFC 4861 4.4, 7.2.4). Returns 86, or 0 if `out` is too short or an address is not v6.
size_t build_neighbor_advert(std::span<uint8_t> out, const NeighborAdvert& na) noexcept;

}  // namespace sluice::wire
