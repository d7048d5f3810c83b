#include "tcp/isn.hpp"

#include <sodium.h>

#include <stdexcept>

namespace sluice::tcp {

static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8);

IsnGenerator::IsnGenerator(time::Instant started, time::Duration quiet_time)
    : started_(started), quiet_(quiet_time) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
    randombytes_buf(key_.data(), key_.size());
}

IsnGenerator::IsnGenerator(const Key& key, time::Instant started,
                           time::Duration quiet_time) noexcept
    : key_(key), started_(started), quiet_(quiet_time) {}

uint32_t IsnGenerator::keyed_hash(const FourTuple& t) const noexcept {
    std::array<uint8_t, 37> in{};
    in[0] = static_cast<uint8_t>(t.local.addr.family);
    for (int i = 0; i < 16; ++i) {
        in[1 + i] = t.local.addr.bytes[i];
        in[17 + i] = t.remote.addr.bytes[i];
    }
    in[33] = uint8_t(t.local.port >> 8);
    in[34] = uint8_t(t.local.port);
    in[35] = uint8_t(t.remote.port >> 8);
    in[36] = uint8_t(t.remote.port);
    std::array<uint8_t, crypto_shorthash_BYTES> out{};
    crypto_shorthash(out.data(), in.data(), in.size(), key_.data());
    return uint32_t(out[0]) | uint32_t(out[1]) << 8 | uint32_t(out[2]) << 16 |
           uint32_t(out[3]) << 24;
}

wire::SeqNum IsnGenerator::isn(const FourTuple& t, time::Instant now) const noexcept {
    // M: RFC 6528 3, "a timer that ticks every 4 microseconds".
    auto m = static_cast<uint32_t>(static_cast<uint64_t>(now.ns()) / 4000u);
    return wire::SeqNum(m + keyed_hash(t));
}

}  // namespace sluice::tcp
