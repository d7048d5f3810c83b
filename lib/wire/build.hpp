#pragma once
// Frame builders. Each writes a whole Ethernet frame into a caller-owned buffer and returns
// its length, or 0 if it does not fit (nothing useful is left in the buffer then). No
// padding to the 60-byte Ethernet minimum: NICs pad short frames themselves.

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/addr.hpp"
#include "wire/parse.hpp"
#include "wire/seq.hpp"
#include "wire/tcp.hpp"
#include "wire/tcp_options.hpp"

namespace sluice::wire {

inline constexpr uint8_t kDefaultTtl = 64;  // RFC 1700 / Linux ip_default_ttl

// Software: every checksum is computed here. Offload: the IPv4 header checksum is 0 and the
// TCP checksum holds the pseudo-header sum, uncomplemented, as DPDK's
// RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM expect (cf. rte_ipv4_phdr_cksum()).
enum class CsumMode : uint8_t { Software, Offload };

struct L3Header {
    MacAddr src_mac, dst_mac;
    IpAddr src, dst;  // both of one family
    uint8_t ttl = kDefaultTtl;  // IPv6: the hop limit
    uint16_t ip_id = 0;         // IPv4 only
};

// ARP (RFC 826) for Ethernet/IPv4: Ethernet source is `sha`, destination `eth_dst`
// (broadcast for a request). Returns 42, or 0 if `out` is shorter or spa/tpa are not v4.
size_t build_arp(std::span<uint8_t> out, uint16_t op, const MacAddr& eth_dst, const MacAddr& sha,
                 const IpAddr& spa, const MacAddr& tha, const IpAddr& tpa) noexcept;

// Turns an echo request accepted by parse_frame() and parse_icmp_echo() into its reply in
// place (RFC 792, RFC 1122 3.2.2.6): MACs and addresses swapped, TTL kDefaultTtl, IP options
// removed (the payload moves up), type 0 with the ICMP checksum adjusted incrementally
// (RFC 1624) and the IP header checksum recomputed. Returns the reply's length (Ethernet
// padding dropped), or 0 if `f` does not describe an ICMP message inside `frame`.
// The caller has checked that the request was addressed to us (unicast MAC and IP).
size_t make_echo_reply_in_place(std::span<uint8_t> frame, const Frame& f) noexcept;
// Same, with `our_mac` as the reply's source instead of the request's destination MAC.
size_t make_echo_reply_in_place(std::span<uint8_t> frame, const Frame& f,
                                const MacAddr& our_mac) noexcept;

struct TcpHeaderSpec {
    uint16_t src_port = 0, dst_port = 0;  // host order
    SeqNum seq, ack;
    uint8_t flags = 0;    // tcp_flags::*
    uint16_t window = 0;  // already scaled down
    TcpOptions options;
};

// Bytes a TCP frame with these options and `payload_len` bytes of payload takes.
size_t tcp_frame_size(const TcpOptions& o, size_t payload_len,
                      Family family = Family::V4) noexcept;

// Ethernet + IPv4 (DF set, no options) or IPv6 (no extension headers, flow label 0) + TCP
// with options and payload; the family of l3.src decides. `payload` may overlap `out` (it is
// moved, not copied). Offload mode for IPv6 means RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM.
// Returns the frame length, or 0 if it does not fit in `out`, exceeds an IP datagram, or
// the two addresses are of different families.
size_t build_tcp(std::span<uint8_t> out, const L3Header& l3, const TcpHeaderSpec& tcp,
                 std::span<const uint8_t> payload, CsumMode mode) noexcept;

// The headers alone, for a payload of `payload_len` bytes that follows in other buffers (an
// mbuf chain): `payload_sum` is checksum_partial() over those bytes as one run (ignored for
// Offload). Returns the header length (the frame length less the payload), or 0 as above.
size_t build_tcp_headers(std::span<uint8_t> out, const L3Header& l3, const TcpHeaderSpec& tcp,
                         size_t payload_len, uint32_t payload_sum, CsumMode mode) noexcept;

// The reset answering `seg` when no connection exists (RFC 9293 3.10.7.1, CLOSED):
//   ACK set:   <SEQ=SEG.ACK><CTL=RST>
//   otherwise: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
// Ports are swapped; window 0; no options. The caller must not answer a RST with a RST.
TcpHeaderSpec rst_for(const TcpSegmentView& seg) noexcept;

}  // namespace sluice::wire
