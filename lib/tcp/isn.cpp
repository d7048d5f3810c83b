#include "tcp/isn.hpp"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

#include "tcp/packed_tuple.hpp"
#include "tcp/siphash.hpp"

namespace sluice::tcp {

IsnGenerator::IsnGenerator(time::Instant started, time::Duration quiet_time)
    : started_(started), quiet_(quiet_time) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
    randombytes_buf(key_.data(), key_.size());
}

IsnGenerator::IsnGenerator(const Key& key, time::Instant started,
                           time::Duration quiet_time) noexcept
    : key_(key), started_(started), quiet_(quiet_time) {}

namespace {

// F over the packed tuple (tcp/packed_tuple.hpp): 12 or 36 bytes.
template <size_t A>
uint32_t packed_hash(const SipKey& key, const FourTuple& t) noexcept {
    uint8_t in[2 * A + 4];
    return uint32_t(siphash24(key, in, pack_tuple<A>(in, t)));
}

}  // namespace

uint32_t IsnGenerator::keyed_hash(const FourTuple& t) const noexcept {
    const SipKey key = SipKey::from_bytes(key_);
    return t.local.addr.family == Family::Ipv4 ? packed_hash<4>(key, t) : packed_hash<16>(key, t);
}

wire::SeqNum IsnGenerator::isn(const FourTuple& t, time::Instant now) const noexcept {
    // M: RFC 6528 3, "a timer that ticks every 4 microseconds".
    auto m = static_cast<uint32_t>(static_cast<uint64_t>(now.ns()) / 4000u);
    return wire::SeqNum(m + keyed_hash(t));
}

}  // namespace sluice::tcp
