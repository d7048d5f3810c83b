// The inline SipHash-2-4 (lib/tcp/siphash.hpp) against the SipHash paper's test vectors and
// against libsodium's crypto_shorthash, which the cookies and ISNs used before.
#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "tcp/siphash.hpp"

namespace sluice::tcp {
namespace {

std::array<uint8_t, 16> paper_key() {
    std::array<uint8_t, 16> k{};
    for (int i = 0; i < 16; ++i) k[size_t(i)] = uint8_t(i);  // 00 01 ... 0f
    return k;
}

// Aumasson & Bernstein, "SipHash: a fast short-input PRF", Appendix A: key 00..0f, the
// 15-byte message 00..0e.
TEST(SipHash, PaperAppendixAVector) {
    std::array<uint8_t, 15> m{};
    for (int i = 0; i < 15; ++i) m[size_t(i)] = uint8_t(i);
    EXPECT_EQ(siphash24(SipKey::from_bytes(paper_key()), m.data(), m.size()), 0xa129ca6149be45e5ull);
}

// The reference implementation's vectors (key 00..0f, message 00 01 .. of length n) for
// n = 0 and 1.
TEST(SipHash, ReferenceVectorsForEmptyAndOneByteMessages) {
    const SipKey k = SipKey::from_bytes(paper_key());
    const uint8_t zero = 0;
    EXPECT_EQ(siphash24(k, &zero, 0), 0x726fdb47dd0e0e31ull);
    EXPECT_EQ(siphash24(k, &zero, 1), 0x74f839c593dc67fdull);
}

// Every length the cookies and ISNs use (12-49) and more, random keys and messages: the same
// 64 bits as libsodium, read little-endian.
TEST(SipHash, AgreesWithLibsodiumOnEveryLengthTo64) {
    ASSERT_GE(sodium_init(), 0);
    std::mt19937_64 rng(64);
    for (int round = 0; round < 50; ++round) {
        std::array<uint8_t, 16> key{};
        for (auto& b : key) b = uint8_t(rng());
        for (size_t n = 0; n <= 64; ++n) {
            std::vector<uint8_t> m(n + 1);
            for (auto& b : m) b = uint8_t(rng());
            uint8_t out[crypto_shorthash_BYTES];
            crypto_shorthash(out, m.data(), n, key.data());
            uint64_t want = 0;
            for (int i = 7; i >= 0; --i) want = want << 8 | out[i];
            ASSERT_EQ(siphash24(SipKey::from_bytes(key), m.data(), n), want) << round << " " << n;
        }
    }
}

}  // namespace
}  // namespace sluice::tcp
