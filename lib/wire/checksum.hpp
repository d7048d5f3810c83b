#pragma once
// The Internet checksum (RFC 1071) over byte spans, its incremental update (RFC 1624), the
// TCP/UDP pseudo-header of both families (RFC 9293 3.1, RFC 8200 8.1), and the results of
// hardware RX checksum offload as the engine reads them from an mbuf.
//
// Convention: a "sum" is a ones-complement accumulation of 16-bit big-endian words, held as
// a host-order integer. checksum_fold() turns a sum into the value to store in a header with
// store_be16(); verifying a received header sums it checksum field included and expects 0.

#include <bit>
#include <cstdint>
#include <span>

#include "wire/addr.hpp"

namespace sluice::wire {

// Adds the bytes of `data` to `sum` and returns the new sum, reduced to at most 16 bits.
// An odd trailing byte counts as the high byte of a word padded with zero, so only the last
// span of a chained computation may have an odd length.
uint32_t checksum_partial(std::span<const uint8_t> data, uint32_t sum = 0) noexcept;

// Folds the carries of `sum` into 16 bits without complementing: the partial value that a
// NIC doing TX checksum offload expects to find in the checksum field.
constexpr uint16_t checksum_reduce(uint32_t sum) noexcept {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// Folds and complements: the checksum to store. Over data that includes a correct checksum,
// the result is 0.
constexpr uint16_t checksum_fold(uint32_t sum) noexcept {
    return static_cast<uint16_t>(~checksum_reduce(sum));
}

// Checksum of an IPv4 header exactly as given (IHL*4 bytes). With the checksum field zeroed
// this is the value to store; over a received header it is 0 when the header is intact.
uint16_t ipv4_header_checksum(std::span<const uint8_t> hdr) noexcept;

// The same for a 20-byte header (no options) at `hdr`, inline: five 32-bit words in native
// order (the sum commutes with byte swapping, RFC 1071 2(B)), folded. 0 when it verifies.
inline uint16_t ipv4_header_checksum20(const uint8_t* hdr) noexcept {
    uint64_t acc = 0;
    for (int i = 0; i < 5; ++i) {
        uint32_t w;
        __builtin_memcpy(&w, hdr + 4 * i, 4);
        acc += w;
    }
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffffffu) + (acc >> 32);
    const uint16_t native = checksum_fold(static_cast<uint32_t>(acc));
    return std::endian::native == std::endian::little ? __builtin_bswap16(native) : native;
}

// Sum of the pseudo-header: for v4 source, destination, zero+protocol and the 16-bit L4
// length (RFC 9293 3.1); for v6 source, destination, 32-bit length and next header (RFC 8200
// 8.1). The family of `src` decides; both addresses must be of that family.
uint32_t pseudo_header_sum(const IpAddr& src, const IpAddr& dst, uint8_t proto,
                           uint32_t l4_len) noexcept;

// RFC 1624 eqn. 3: the checksum `hc` after one 16-bit word of the covered data changes from
// `old_word` to `new_word`: HC' = ~(~HC + ~m + m'). Never yields the -0 of eqn. 2.
constexpr uint16_t checksum_adjust(uint16_t hc, uint16_t old_word, uint16_t new_word) noexcept {
    const uint32_t sum = uint32_t{static_cast<uint16_t>(~hc)} +
                         uint32_t{static_cast<uint16_t>(~old_word)} + uint32_t{new_word};
    return checksum_fold(sum);
}

// What the NIC said about a received frame's checksums.
enum class HwCsum : uint8_t { Unknown, Good, Bad };
struct RxCsum {
    HwCsum ip = HwCsum::Unknown;
    HwCsum l4 = HwCsum::Unknown;
};

// Maps mbuf ol_flags (RTE_MBUF_F_RX_{IP,L4}_CKSUM_*) to RxCsum. The NONE state (e.g. virtio
// or TAP carrying a locally generated packet whose checksum was never filled in) means the
// data is intact but the field is not a checksum, so it maps to Good: verifying it in
// software would reject a sound packet.
RxCsum rx_csum_from_ol_flags(uint64_t ol_flags) noexcept;

}  // namespace sluice::wire
