#pragma once
// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012), inline: the
// cookie and ISN inputs are 16-49 bytes and their lengths are compile-time constants at every
// call, so the compiler unrolls the block loop. Same function as libsodium's
// crypto_shorthash (test/tcp/siphash_test.cpp checks the paper's vectors and agreement with
// libsodium): 128-bit key k0 || k1 read little-endian, 64-bit output little-endian.
//
//   v0 = k0 ^ "somepseu"  v1 = k1 ^ "dorandom"  v2 = k0 ^ "lygenera"  v3 = k1 ^ "tedbytes"
//   each 8-byte block m (LE): v3 ^= m, 2 x SipRound, v0 ^= m
//   last block: the 0-7 remaining bytes, then (len mod 256) in the top byte
//   v2 ^= 0xff, 4 x SipRound, return v0 ^ v1 ^ v2 ^ v3

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sluice::tcp {

struct SipKey {
    uint64_t k0 = 0, k1 = 0;
    static SipKey from_bytes(const std::array<uint8_t, 16>& k) noexcept {
        SipKey s;
        std::memcpy(&s.k0, k.data(), 8);
        std::memcpy(&s.k1, k.data() + 8, 8);
        if constexpr (std::endian::native == std::endian::big) {
            s.k0 = __builtin_bswap64(s.k0);
            s.k1 = __builtin_bswap64(s.k1);
        }
        return s;
    }
};

namespace detail {

inline uint64_t load_le64(const uint8_t* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return std::endian::native == std::endian::little ? v : __builtin_bswap64(v);
}

struct SipState {
    uint64_t v0, v1, v2, v3;
    [[gnu::always_inline]] void round() noexcept {
        v0 += v1;
        v1 = std::rotl(v1, 13);
        v1 ^= v0;
        v0 = std::rotl(v0, 32);
        v2 += v3;
        v3 = std::rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = std::rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = std::rotl(v1, 17);
        v1 ^= v2;
        v2 = std::rotl(v2, 32);
    }
    [[gnu::always_inline]] void compress(uint64_t m) noexcept {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

}  // namespace detail

// SipHash-2-4 of n bytes at `in` under `key`.
[[gnu::always_inline]] inline uint64_t siphash24(const SipKey& key, const uint8_t* in,
                                                 size_t n) noexcept {
    detail::SipState s{key.k0 ^ 0x736f6d6570736575ull, key.k1 ^ 0x646f72616e646f6dull,
                       key.k0 ^ 0x6c7967656e657261ull, key.k1 ^ 0x7465646279746573ull};
    const size_t full = n & ~size_t{7};
    for (size_t i = 0; i < full; i += 8) s.compress(detail::load_le64(in + i));
    uint64_t last = uint64_t{n & 0xff} << 56;
    for (size_t i = 0; i < (n & 7); ++i) last |= uint64_t{in[full + i]} << (8 * i);
    s.compress(last);
    s.v2 ^= 0xff;
    s.round();
    s.round();
    s.round();
    s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace sluice::tcp
