#include "wire/checksum.hpp"

#include <rte_mbuf_core.h>

#include <bit>
#include <cstring>

#include "wire/bytes.hpp"

namespace sluice::wire {

namespace {

// Adds the two 32-bit halves of an 8-byte chunk. The chunk is read in native byte order: the
// ones-complement sum commutes with byte swapping (RFC 1071 2(B)), so the total is swapped
// once at the end instead of every word on the way.
inline uint64_t add_chunk(uint64_t acc, const uint8_t* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return acc + (v & 0xffffffffu) + (v >> 32);
}

}  // namespace

uint32_t checksum_partial(std::span<const uint8_t> data, uint32_t sum) noexcept {
    const uint8_t* p = data.data();
    size_t n = data.size();
    // Each add is < 2^33, so the accumulator cannot overflow below 2^30 chunks.
    uint64_t acc = 0;
    while (n >= 32) {
        acc = add_chunk(acc, p);
        acc = add_chunk(acc, p + 8);
        acc = add_chunk(acc, p + 16);
        acc = add_chunk(acc, p + 24);
        p += 32;
        n -= 32;
    }
    while (n >= 8) {
        acc = add_chunk(acc, p);
        p += 8;
        n -= 8;
    }
    // Tail: fixed-size loads (no memcpy call). Each keeps its bytes' positions within their
    // 16-bit words, since 2^16 == 1 modulo 0xffff.
    if (n >= 4) {
        uint32_t v;
        std::memcpy(&v, p, 4);
        acc += v;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t v;
        std::memcpy(&v, p, 2);
        acc += v;
        p += 2;
        n -= 2;
    }
    if (n != 0) {  // the odd byte is the high half of a zero-padded big-endian word
        acc += std::endian::native == std::endian::little ? uint64_t{*p} : uint64_t{*p} << 8;
    }
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffffffu) + (acc >> 32);
    uint16_t native = checksum_reduce(static_cast<uint32_t>(acc));
    if constexpr (std::endian::native == std::endian::little) native = __builtin_bswap16(native);
    return checksum_reduce(uint32_t{checksum_reduce(sum)} + native);
}

uint16_t ipv4_header_checksum(std::span<const uint8_t> hdr) noexcept {
    return checksum_fold(checksum_partial(hdr));
}

uint32_t pseudo_header_sum(const IpAddr& src, const IpAddr& dst, uint8_t proto,
                           uint32_t l4_len) noexcept {
    // Big-endian words of both addresses, 2 words each for v4 and 8 for v6.
    uint32_t sum = 0;
    const size_t alen = src.size();
    for (size_t i = 0; i < alen; i += 2)
        sum += load_be16(src.bytes.data() + i) + load_be16(dst.bytes.data() + i);
    sum += proto;
    sum += l4_len >> 16;  // zero for v4: an IPv4 L4 length fits in 16 bits
    sum += l4_len & 0xffff;
    return checksum_reduce(sum);
}

RxCsum rx_csum_from_ol_flags(uint64_t ol_flags) noexcept {
    RxCsum r;
    switch (ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
        case RTE_MBUF_F_RX_IP_CKSUM_GOOD:
        case RTE_MBUF_F_RX_IP_CKSUM_NONE: r.ip = HwCsum::Good; break;
        case RTE_MBUF_F_RX_IP_CKSUM_BAD: r.ip = HwCsum::Bad; break;
        default: r.ip = HwCsum::Unknown; break;
    }
    switch (ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
        case RTE_MBUF_F_RX_L4_CKSUM_GOOD:
        case RTE_MBUF_F_RX_L4_CKSUM_NONE: r.l4 = HwCsum::Good; break;
        case RTE_MBUF_F_RX_L4_CKSUM_BAD: r.l4 = HwCsum::Bad; break;
        default: r.l4 = HwCsum::Unknown; break;
    }
    return r;
}

}  // namespace sluice::wire
