#pragma once
// Why a received frame was rejected. The engine keeps one counter per value; every reason
// the network can cause is a value here, never an assert or an exception.

#include <cstddef>
#include <cstdint>

namespace sluice::wire {

enum class Drop : uint8_t {
    None = 0,
    EthTruncated,        // shorter than the 14-byte Ethernet header
    EthUnsupportedType,  // not IPv4, ARP or IPv6 (VLAN tags included)
    Ipv6Unsupported,     // a valid IPv6 packet, but the host has no IPv6 address
    ArpMalformed,        // truncated, or hlen/plen inconsistent with Ethernet/IPv4, or group sender
    ArpUnsupported,      // another hardware or protocol type, or an opcode other than request/reply
    Ipv4Truncated,       // fewer than 20 bytes after the Ethernet header
    Ipv4BadVersion,
    Ipv4BadIhl,          // IHL < 5, or the header runs past the frame
    Ipv4BadTotalLength,  // total length < header length, or > bytes received
    Ipv4BadChecksum,
    Ipv4Fragment,  // MF set or offset != 0: sluice does no reassembly
    Ipv4TtlZero,
    Ipv4BadSource,       // broadcast, multicast, 0/8, loopback, class E (RFC 1122 3.2.1.3)
    Ipv4BadDestination,  // multicast, 0/8, loopback, class E and limited broadcast
    IpUnsupportedProto,  // neither TCP nor ICMP
    IcmpTruncated,
    IcmpBadChecksum,
    IcmpUnsupportedType,  // anything but an echo request with code 0
    TcpTruncated,
    TcpBadDataOffset,  // data offset < 5, or the header runs past the segment
    TcpBadOption,
    TcpBadChecksum,
    TcpBadPort,    // source or destination port 0
    EthBadSource,  // group (multicast/broadcast) source MAC: never legal (IEEE 802.3 3.2.3)
    Ipv6Truncated,         // fewer than 40 bytes after the Ethernet header
    Ipv6BadVersion,        // version field not 6 under the IPv6 EtherType
    Ipv6BadPayloadLength,  // payload length past the frame
    Ipv6BadSource,         // multicast, loopback, v4-mapped; unspecified except for NDP
    Ipv6BadDestination,    // unspecified, loopback, v4-mapped; multicast except for ICMPv6
    Ipv6BadExtHeader,      // malformed, misplaced or too many extension headers, a routing
                           // header with segments left, or an option that asks for a discard
    Ipv6Fragment,          // a real fragment: sluice does no reassembly
    NdpMalformed,          // RFC 4861 7.1 validity: hop limit 255, code 0, lengths, options
    Count
};

inline constexpr size_t kDropCount = static_cast<size_t>(Drop::Count);

// PascalCase name of the value ("Ipv4BadChecksum"); "None" for None, "?" for out of range.
const char* drop_name(Drop d) noexcept;

}  // namespace sluice::wire
