#pragma once
// Initial sequence numbers per RFC 6528 section 3:
//
//     ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//
//   M  a 4-microsecond timer: now / 4 us, taken from the Instant the host passes in;
//   F  SipHash-2-4 (libsodium crypto_shorthash) keyed with a 128-bit secret, over the
//      family-tagged tuple below, low 32 bits of the 64-bit result.
//
// Hashed input (37 bytes, fixed layout, so IPv6 needs no change):
//
//   0      1           17          33      35      37
//   +------+-----------+-----------+-------+-------+
//   |family| local addr|remote addr| lport | rport |
//   +------+-----------+-----------+-------+-------+   ports big-endian
//
// The secret comes from randombytes_buf() at construction (a CSPRNG, RFC 6528 3 "SHOULD
// be ... random"), or is given for deterministic tests. The generator also holds the
// stack's start instant for the RFC 9293 3.4.3 quiet time.

#include <array>
#include <cstdint>

#include "tcp/tuple.hpp"
#include "time/instant.hpp"
#include "wire/seq.hpp"

namespace sluice::tcp {

class IsnGenerator {
public:
    using Key = std::array<uint8_t, 16>;

    // Draws a fresh secret (sodium_init() + randombytes_buf). Set-up code: throws
    // std::runtime_error if libsodium cannot initialise.
    explicit IsnGenerator(time::Instant started = {}, time::Duration quiet_time = {});
    // A given secret, for tests.
    IsnGenerator(const Key& key, time::Instant started = {},
                 time::Duration quiet_time = {}) noexcept;

    // RFC 6528 ISN for this 4-tuple at time now.
    wire::SeqNum isn(const FourTuple& t, time::Instant now) const noexcept;
    // F alone (no clock part): exposed for tests.
    uint32_t keyed_hash(const FourTuple& t) const noexcept;

    // RFC 9293 3.4.3: true while no segment may be sent after start-up.
    bool in_quiet_time(time::Instant now) const noexcept { return now < started_ + quiet_; }

private:
    Key key_{};
    time::Instant started_;
    time::Duration quiet_{};
};

}  // namespace sluice::tcp
