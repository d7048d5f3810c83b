#pragma once
// Family-tagged addresses and the connection 4-tuple. Addresses are 16 bytes wide from the
// start so that IPv6 needs no redesign (DESIGN.md "Both address families").

#include <array>
#include <cstdint>

namespace sluice::tcp {

enum class Family : uint8_t { Unspecified = 0, Ipv4 = 4, Ipv6 = 6 };

struct Address {
    Family family = Family::Unspecified;
    // IPv4: bytes[0..3] in network order, the rest zero. IPv6: all 16 bytes.
    std::array<uint8_t, 16> bytes{};

    static constexpr Address ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) noexcept {
        Address r{Family::Ipv4, {}};
        r.bytes[0] = a;
        r.bytes[1] = b;
        r.bytes[2] = c;
        r.bytes[3] = d;
        return r;
    }
    friend constexpr bool operator==(const Address&, const Address&) = default;
};

struct Endpoint {
    Address addr;
    uint16_t port = 0;  // 0 = unspecified (a passive open's remote side)
    friend constexpr bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct FourTuple {
    Endpoint local;
    Endpoint remote;
    friend constexpr bool operator==(const FourTuple&, const FourTuple&) = default;
};

}  // namespace sluice::tcp
