#pragma once
// TCP control bits (RFC 9293 3.1; ECE/CWR from RFC 3168 6.1). Same bit values as the wire,
// so the engine copies the header's flag byte straight in and out.

#include <cstdint>
#include <string>

namespace sluice::tcp {

struct Flags {
    uint8_t bits = 0;

    static const Flags Fin;
    static const Flags Syn;
    static const Flags Rst;
    static const Flags Psh;
    static const Flags Ack;
    static const Flags Urg;
    static const Flags Ece;
    static const Flags Cwr;

    // True if every bit of f is set.
    constexpr bool has(Flags f) const noexcept { return (bits & f.bits) == f.bits; }
    constexpr bool any(Flags f) const noexcept { return (bits & f.bits) != 0; }
    constexpr Flags without(Flags f) const noexcept { return Flags{uint8_t(bits & ~f.bits)}; }

    friend constexpr bool operator==(Flags, Flags) = default;
    friend constexpr Flags operator|(Flags a, Flags b) noexcept {
        return Flags{uint8_t(a.bits | b.bits)};
    }
    constexpr Flags& operator|=(Flags f) noexcept {
        bits = uint8_t(bits | f.bits);
        return *this;
    }
};

inline constexpr Flags Flags::Fin{0x01};
inline constexpr Flags Flags::Syn{0x02};
inline constexpr Flags Flags::Rst{0x04};
inline constexpr Flags Flags::Psh{0x08};
inline constexpr Flags Flags::Ack{0x10};
inline constexpr Flags Flags::Urg{0x20};
inline constexpr Flags Flags::Ece{0x40};
inline constexpr Flags Flags::Cwr{0x80};

// "SYN|ACK", "-" for none. Cold: diagnostics and tests only.
std::string to_string(Flags f);

}  // namespace sluice::tcp
