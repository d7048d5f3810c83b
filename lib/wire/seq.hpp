#pragma once
// 32-bit TCP sequence numbers with wraparound (RFC 9293 3.4, RFC 1982 serial arithmetic).

#include <compare>
#include <cstdint>

namespace sluice::wire {

// A sequence number. There is no implicit conversion from uint32_t, so a length can't be
// passed where a sequence number is meant; arithmetic is modulo 2^32.
class SeqNum {
public:
    constexpr SeqNum() = default;
    constexpr explicit SeqNum(uint32_t raw) : v_(raw) {}

    constexpr uint32_t raw() const { return v_; }

    constexpr SeqNum operator+(uint32_t n) const { return SeqNum(v_ + n); }
    constexpr SeqNum operator-(uint32_t n) const { return SeqNum(v_ - n); }
    constexpr SeqNum& operator+=(uint32_t n) { v_ += n; return *this; }
    constexpr SeqNum& operator-=(uint32_t n) { v_ -= n; return *this; }

    // Distance a - b as a signed 32-bit value; meaningful while |a - b| < 2^31.
    friend constexpr int32_t operator-(SeqNum a, SeqNum b) {
        return static_cast<int32_t>(a.v_ - b.v_);
    }

    friend constexpr bool operator==(SeqNum, SeqNum) = default;
    // Ordering is circular: a < b iff (b - a) interpreted as signed is positive.
    friend constexpr bool operator<(SeqNum a, SeqNum b) { return (a - b) < 0; }
    friend constexpr bool operator>(SeqNum a, SeqNum b) { return (a - b) > 0; }
    friend constexpr bool operator<=(SeqNum a, SeqNum b) { return (a - b) <= 0; }
    friend constexpr bool operator>=(SeqNum a, SeqNum b) { return (a - b) >= 0; }

private:
    uint32_t v_ = 0;
};

// lo <= s < hi, circularly (the RFC 9293 window tests).
constexpr bool seq_in_window(SeqNum s, SeqNum lo, SeqNum hi) { return s >= lo && s < hi; }
// lo <= s <= hi.
constexpr bool seq_between(SeqNum s, SeqNum lo, SeqNum hi) { return s >= lo && s <= hi; }

constexpr SeqNum seq_max(SeqNum a, SeqNum b) { return a > b ? a : b; }
constexpr SeqNum seq_min(SeqNum a, SeqNum b) { return a < b ? a : b; }

}  // namespace sluice::wire
