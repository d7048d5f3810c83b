#pragma once
// Header writers shared by the builders (build.cpp, ipv6.cpp): each writes one header at `p`
// in full. Internal to lib/wire; callers have checked that the header fits.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "wire/addr.hpp"
#include "wire/build.hpp"
#include "wire/bytes.hpp"
#include "wire/layout.hpp"

namespace sluice::wire::detail {

inline uint8_t* write_eth(uint8_t* p, const MacAddr& dst, const MacAddr& src,
                          uint16_t type) noexcept {
    std::memcpy(p + kEthDstOff, dst.b.data(), 6);
    std::memcpy(p + kEthSrcOff, src.b.data(), 6);
    store_be16(p + kEthTypeOff, type);
    return p + kEthHdrLen;
}

// A 20-byte IPv4 header without options, checksum field zero.
inline void write_ipv4(uint8_t* ip, const L3Header& l3, uint8_t proto, size_t total_len) noexcept {
    ip[kIpv4VerIhlOff] = 0x45;
    ip[kIpv4TosOff] = 0;
    store_be16(ip + kIpv4TotalLenOff, static_cast<uint16_t>(total_len));
    store_be16(ip + kIpv4IdOff, l3.ip_id);
    store_be16(ip + kIpv4FragOff, kIpv4FlagDf);  // TCP does path MTU discovery (RFC 1191)
    ip[kIpv4TtlOff] = l3.ttl;
    ip[kIpv4ProtoOff] = proto;
    store_be16(ip + kIpv4CsumOff, 0);
    std::memcpy(ip + kIpv4SrcOff, l3.src.bytes.data(), 4);
    std::memcpy(ip + kIpv4DstOff, l3.dst.bytes.data(), 4);
}

// A 40-byte IPv6 header (RFC 8200 3): traffic class and flow label 0, no extension headers.
inline void write_ipv6(uint8_t* ip, const IpAddr& src, const IpAddr& dst, uint8_t next,
                       uint8_t hop_limit, size_t payload_len) noexcept {
    store_be32(ip + kIpv6VerTcFlowOff, uint32_t{6} << 28);
    store_be16(ip + kIpv6PayloadLenOff, static_cast<uint16_t>(payload_len));
    ip[kIpv6NextHdrOff] = next;
    ip[kIpv6HopLimitOff] = hop_limit;
    std::memcpy(ip + kIpv6SrcOff, src.bytes.data(), 16);
    std::memcpy(ip + kIpv6DstOff, dst.bytes.data(), 16);
}

}  // namespace sluice::wire::detail
