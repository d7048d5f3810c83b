#pragma once
// The byte stream of the bulk-transfer tests: a seeded pseudo-random pattern that either side
// can generate at any offset (so nothing is stored and a mismatch can be located), and a
// SHA-256 over what was sent or received (OpenSSL's libcrypto).

#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace sluice::e2e {

// Byte i is byte (i mod 8) of splitmix64(seed + i / 8): position-addressable, cheap, and not
// periodic on any scale a TCP bug could line up with (segment, window, buffer size).
class Pattern {
public:
    explicit Pattern(uint64_t seed) : seed_(seed) {}

    void fill(uint64_t offset, uint8_t* out, size_t n) const {
        size_t i = 0;
        while (i < n) {
            const uint64_t pos = offset + i;
            const uint64_t word = mix(seed_ + pos / 8);
            for (uint64_t b = pos % 8; b < 8 && i < n; ++b, ++i) {
                out[i] = static_cast<uint8_t>(word >> (8 * b));
            }
        }
    }

    // The first offset in [offset, offset + n) where data differs from the pattern, or -1.
    int64_t first_mismatch(uint64_t offset, const uint8_t* data, size_t n) const {
        uint8_t expect[4096];
        for (size_t done = 0; done < n;) {
            const size_t k = std::min(sizeof expect, n - done);
            fill(offset + done, expect, k);
            for (size_t j = 0; j < k; ++j) {
                if (expect[j] != data[done + j]) return static_cast<int64_t>(offset + done + j);
            }
            done += k;
        }
        return -1;
    }

private:
    static uint64_t mix(uint64_t z) {
        z += 0x9e3779b97f4a7c15ULL;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    uint64_t seed_;
};

class Sha256 {
public:
    Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
    ~Sha256() { EVP_MD_CTX_free(ctx_); }
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(const uint8_t* data, size_t n) { EVP_DigestUpdate(ctx_, data, n); }

    // Hex digest; the hash is finished after this.
    std::string hex() {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_DigestFinal_ex(ctx_, md, &len);
        std::string s;
        char two[3];
        for (unsigned int i = 0; i < len; ++i) {
            std::snprintf(two, sizeof two, "%02x", md[i]);
            s += two;
        }
        return s;
    }

private:
    EVP_MD_CTX* ctx_;
};

}  // namespace sluice::e2e
