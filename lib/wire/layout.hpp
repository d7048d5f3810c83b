#pragma once
// Header layouts: lengths, field offsets and code points of the protocols sluice speaks.
// Offsets are relative to the start of their own header. Parsers and builders read and write
// fields through bytes.hpp at these offsets, so no header struct is ever cast over a frame.

#include <cstddef>
#include <cstdint>

namespace sluice::wire {

// Ethernet II (IEEE 802.3 3.1.1), without the FCS, which the NIC strips and appends.
inline constexpr size_t kEthHdrLen = 14;
inline constexpr size_t kEthDstOff = 0;
inline constexpr size_t kEthSrcOff = 6;
inline constexpr size_t kEthTypeOff = 12;
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;

// ARP for Ethernet and IPv4 (RFC 826).
inline constexpr size_t kArpLen = 28;
inline constexpr size_t kArpHtypeOff = 0;
inline constexpr size_t kArpPtypeOff = 2;
inline constexpr size_t kArpHlenOff = 4;
inline constexpr size_t kArpPlenOff = 5;
inline constexpr size_t kArpOpOff = 6;
inline constexpr size_t kArpShaOff = 8;
inline constexpr size_t kArpSpaOff = 14;
inline constexpr size_t kArpThaOff = 18;
inline constexpr size_t kArpTpaOff = 24;
inline constexpr uint16_t kArpHtypeEthernet = 1;
inline constexpr uint16_t kArpOpRequest = 1;
inline constexpr uint16_t kArpOpReply = 2;

// IPv4 (RFC 791 3.1).
inline constexpr size_t kIpv4MinHdrLen = 20;
inline constexpr size_t kIpv4MaxHdrLen = 60;
inline constexpr size_t kIpv4VerIhlOff = 0;
inline constexpr size_t kIpv4TosOff = 1;
inline constexpr size_t kIpv4TotalLenOff = 2;
inline constexpr size_t kIpv4IdOff = 4;
inline constexpr size_t kIpv4FragOff = 6;
inline constexpr size_t kIpv4TtlOff = 8;
inline constexpr size_t kIpv4ProtoOff = 9;
inline constexpr size_t kIpv4CsumOff = 10;
inline constexpr size_t kIpv4SrcOff = 12;
inline constexpr size_t kIpv4DstOff = 16;
inline constexpr uint16_t kIpv4FlagDf = 0x4000;
inline constexpr uint16_t kIpv4FlagMf = 0x2000;
inline constexpr uint16_t kIpv4FragOffsetMask = 0x1fff;
inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;

// IPv6 (RFC 8200 3) and its extension headers (RFC 8200 4).
inline constexpr size_t kIpv6HdrLen = 40;
inline constexpr size_t kIpv6VerTcFlowOff = 0;  // version (4 bits), traffic class, flow label
inline constexpr size_t kIpv6PayloadLenOff = 4;
inline constexpr size_t kIpv6NextHdrOff = 6;
inline constexpr size_t kIpv6HopLimitOff = 7;
inline constexpr size_t kIpv6SrcOff = 8;
inline constexpr size_t kIpv6DstOff = 24;
inline constexpr size_t kIpv6MaxPayload = 65535;  // without a jumbo option (RFC 2675: refused)
inline constexpr uint8_t kIpv6ExtHopByHop = 0;
inline constexpr uint8_t kIpv6ExtRouting = 43;
inline constexpr uint8_t kIpv6ExtFragment = 44;
inline constexpr uint8_t kIpv6ExtNoNext = 59;
inline constexpr uint8_t kIpv6ExtDestOpts = 60;
inline constexpr size_t kIpv6FragHdrLen = 8;
inline constexpr uint8_t kIpv6OptPad1 = 0;
// Option types whose two high bits are 00 are skipped when unknown; all others ask for the
// packet to be discarded (RFC 8200 4.2).
inline constexpr uint8_t kIpv6OptActionMask = 0xc0;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;

// ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861 4.3, 4.4, 4.6.1).
inline constexpr size_t kIcmp6MinLen = 4;  // type, code, checksum
inline constexpr uint8_t kIcmp6EchoRequest = 128;
inline constexpr uint8_t kIcmp6EchoReply = 129;
inline constexpr uint8_t kIcmp6NeighborSolicit = 135;
inline constexpr uint8_t kIcmp6NeighborAdvert = 136;
inline constexpr size_t kNdpNsNaLen = 24;     // type .. reserved/flags, then the target
inline constexpr size_t kNdpFlagsOff = 4;     // NA: R, S, O in the top bits
inline constexpr size_t kNdpTargetOff = 8;
inline constexpr uint8_t kNdpFlagRouter = 0x80;
inline constexpr uint8_t kNdpFlagSolicited = 0x40;
inline constexpr uint8_t kNdpFlagOverride = 0x20;
inline constexpr uint8_t kNdpOptSourceLla = 1;
inline constexpr uint8_t kNdpOptTargetLla = 2;
inline constexpr size_t kNdpOptLlaLen = 8;    // type, length 1 (x 8 octets), a 6-byte MAC
inline constexpr uint8_t kNdpHopLimit = 255;  // RFC 4861 7.1: proves the sender is on-link

// ICMP echo (RFC 792).
inline constexpr size_t kIcmpEchoHdrLen = 8;
inline constexpr size_t kIcmpTypeOff = 0;
inline constexpr size_t kIcmpCodeOff = 1;
inline constexpr size_t kIcmpCsumOff = 2;
inline constexpr size_t kIcmpIdOff = 4;
inline constexpr size_t kIcmpSeqOff = 6;
inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpEchoRequest = 8;

// TCP (RFC 9293 3.1).
inline constexpr size_t kTcpMinHdrLen = 20;
inline constexpr size_t kTcpMaxHdrLen = 60;
inline constexpr size_t kTcpMaxOptionsLen = kTcpMaxHdrLen - kTcpMinHdrLen;
inline constexpr size_t kTcpSrcPortOff = 0;
inline constexpr size_t kTcpDstPortOff = 2;
inline constexpr size_t kTcpSeqOff = 4;
inline constexpr size_t kTcpAckOff = 8;
inline constexpr size_t kTcpDataOffOff = 12;  // high nibble: header length in 32-bit words
inline constexpr size_t kTcpFlagsOff = 13;
inline constexpr size_t kTcpWindowOff = 14;
inline constexpr size_t kTcpCsumOff = 16;
inline constexpr size_t kTcpUrgentOff = 18;

// TCP option kinds and lengths (RFC 9293 3.2, RFC 7323 2.2 and 3.2, RFC 2018 2 and 3).
inline constexpr uint8_t kTcpOptEol = 0;
inline constexpr uint8_t kTcpOptNop = 1;
inline constexpr uint8_t kTcpOptMss = 2;
inline constexpr uint8_t kTcpOptWscale = 3;
inline constexpr uint8_t kTcpOptSackPermitted = 4;
inline constexpr uint8_t kTcpOptSack = 5;
inline constexpr uint8_t kTcpOptTimestamp = 8;
inline constexpr uint8_t kTcpOptLenMss = 4;
inline constexpr uint8_t kTcpOptLenWscale = 3;
inline constexpr uint8_t kTcpOptLenSackPermitted = 2;
inline constexpr uint8_t kTcpOptLenTimestamp = 10;
inline constexpr uint8_t kTcpOptLenSackBlock = 8;

}  // namespace sluice::wire
