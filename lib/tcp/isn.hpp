#pragma once
// Initial sequence numbers per RFC 6528 section 3:
//
//     ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//
//   M  a 4-microsecond timer: now / 4 us, taken from the Instant the host passes in;
//   F  SipHash-2-4 (tcp/siphash.hpp, inline) keyed with a 128-bit secret, over the packed
//      tuple below, low 32 bits of the 64-bit result.
//
// Hashed input: local addr | remote addr | lport | rport, ports big-endian, the addresses 4
// bytes each for IPv4 (12 bytes in all) and 16 for IPv6 (36): the lengths tell the
// families apart.
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
