#pragma once
// Validating parsers for received frames: Ethernet, ARP, IPv4, IPv6, ICMP echo and TCP
// (ICMPv6 and Neighbor Discovery: ipv6.hpp).
//
// Each parser reads only inside the span it is given, even when the frame or a Frame passed
// in is garbage, and returns Drop::None or the reason for rejecting the frame; on rejection
// the output is partially filled and must not be used. All are noexcept, allocate nothing,
// and may be called from any thread on frames that thread owns.

#include <cstdint>
#include <span>

#include "wire/addr.hpp"
#include "wire/checksum.hpp"
#include "wire/drop.hpp"
#include "wire/seq.hpp"
#include "wire/tcp.hpp"
#include "wire/tcp_options.hpp"

namespace sluice::wire {

struct Frame {
    MacAddr dst_mac, src_mac;
    uint16_t ether_type = 0;  // host order
    uint16_t l3_off = 0;      // offset of the L3 header in the frame
    // Valid when ether_type is IPv4 or IPv6:
    IpAddr src, dst;
    uint8_t ip_proto = 0;  // IPv6: the last next-header value (extension headers skipped)
    uint8_t ttl = 0;       // IPv6: the hop limit
    uint16_t l4_off = 0;   // after the IP header and its options or extension headers
    uint16_t l4_len = 0;  // from the IP total length: Ethernet padding is not included
};

// Ethernet, then IPv4 or IPv6 if the ethertype says so. For ARP it fills the Ethernet part
// and l3_off and returns None: parse_arp() does the rest. An IPv4 datagram is accepted only
// if it is whole (no fragment), carries TCP or ICMP, and passes RFC 791/1122 sanity checks.
// `hw` is the NIC's verdict: hw.ip == Good skips the header checksum, Bad rejects it.
// An IPv6 packet (RFC 8200) is accepted if it carries TCP or ICMPv6 behind at most eight
// extension headers: Hop-by-Hop (first only) and Destination Options whose options are all
// padding or "skip if unknown", Routing headers with no segments left, and atomic fragments
// (RFC 6946); the source must not be multicast, loopback or v4-mapped, nor unspecified for
// TCP; the destination must not be unspecified, loopback or v4-mapped, nor multicast for TCP.
// Returns:
//   None; EthTruncated; EthBadSource (group source MAC); EthUnsupportedType;
//   Ipv4Truncated; Ipv4BadVersion; Ipv4BadIhl (IHL < 5 or past the frame);
//   Ipv4BadTotalLength; Ipv4BadChecksum; Ipv4Fragment; Ipv4TtlZero; Ipv4BadSource;
//   Ipv4BadDestination; Ipv6Truncated; Ipv6BadVersion; Ipv6BadPayloadLength;
//   Ipv6BadSource; Ipv6BadDestination; Ipv6BadExtHeader; Ipv6Fragment; IpUnsupportedProto.
Drop parse_frame(std::span<const uint8_t> frame, RxCsum hw, Frame& out) noexcept;

struct ArpPacket {
    uint16_t op = 0;  // kArpOpRequest or kArpOpReply
    MacAddr sha, tha;
    IpAddr spa, tpa;
};

// ARP for Ethernet/IPv4 (RFC 826) at f.l3_off. Returns None; ArpMalformed (truncated, hlen
// != 6 or plen != 4, group sender MAC, or `f` is not ARP); ArpUnsupported (htype != 1, ptype
// != IPv4, op not request/reply).
Drop parse_arp(std::span<const uint8_t> frame, const Frame& f, ArpPacket& out) noexcept;

struct TcpSegmentView {
    uint16_t src_port = 0, dst_port = 0;  // host order
    SeqNum seq, ack;
    uint8_t flags = 0;    // tcp_flags::*
    uint16_t window = 0;  // as received, unscaled
    uint16_t urgent = 0;
    TcpOptions options;
    uint16_t payload_off = 0;  // relative to the frame start
    uint16_t payload_len = 0;
};

// The TCP segment of a frame that parse_frame() accepted with ip_proto TCP (either family).
// Verifies the checksum over the pseudo-header unless hw.l4 == Good; Bad rejects at once.
// Returns None; IpUnsupportedProto (`f` is not TCP); TcpTruncated (fewer than 20 bytes, or
// `f` points outside the frame); TcpBadDataOffset (< 5 or past l4_len); TcpBadChecksum;
// TcpBadPort (either port 0); TcpBadOption (see parse_tcp_options()).
Drop parse_tcp(std::span<const uint8_t> frame, const Frame& f, RxCsum hw,
               TcpSegmentView& out) noexcept;

// SEG.LEN (RFC 9293 3.3.1): payload octets plus one for SYN and one for FIN.
// Fits: a TCP payload is at most 65535 - 20 octets (IPv6 payload length is 16 bits).
constexpr uint16_t tcp_segment_len(const TcpSegmentView& s) noexcept {
    return static_cast<uint16_t>(s.payload_len + ((s.flags & tcp_flags::Syn) ? 1 : 0) +
                                 ((s.flags & tcp_flags::Fin) ? 1 : 0));
}

// The connection key of a received segment: local is its destination.
inline FlowKey flow_key_of(const Frame& f, const TcpSegmentView& s) noexcept {
    FlowKey k;
    k.local = f.dst;
    k.remote = f.src;
    k.local_port = s.dst_port;
    k.remote_port = s.src_port;
    return k;
}

struct IcmpEcho {
    uint16_t id = 0, seq = 0;  // host order
    uint16_t data_off = 0;     // relative to the frame start
    uint16_t data_len = 0;
};

// An ICMP echo request (RFC 792) of a frame that parse_frame() accepted with ip_proto ICMP.
// Returns None; IpUnsupportedProto (`f` is not ICMP); IcmpTruncated (fewer than 8 bytes or
// `f` points outside the frame); IcmpBadChecksum (unless hw.l4 == Good);
// IcmpUnsupportedType (anything but type 8 code 0).
Drop parse_icmp_echo(std::span<const uint8_t> frame, const Frame& f, RxCsum hw,
                     IcmpEcho& out) noexcept;

}  // namespace sluice::wire
