#pragma once
// The 4-tuple as the keyed hashes read it (ISNs, SYN cookies): local addr | remote addr |
// lport | rport, ports big-endian, the addresses packed to 4 bytes each for IPv4 and 16 for
// IPv6 -- 12 or 36 bytes, so the lengths tell the families apart.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tcp/tuple.hpp"

namespace sluice::tcp {

// Writes the packed tuple with `A`-byte addresses (4 or 16) to `out`; returns its length.
template <std::size_t A>
std::size_t pack_tuple(uint8_t* out, const FourTuple& t) noexcept {
    static_assert(A == 4 || A == 16);
    std::memcpy(out, t.local.addr.bytes.data(), A);  // an IPv4 address is its first 4 bytes
    std::memcpy(out + A, t.remote.addr.bytes.data(), A);
    out[2 * A] = uint8_t(t.local.port >> 8);
    out[2 * A + 1] = uint8_t(t.local.port);
    out[2 * A + 2] = uint8_t(t.remote.port >> 8);
    out[2 * A + 3] = uint8_t(t.remote.port);
    return 2 * A + 4;
}

}  // namespace sluice::tcp
