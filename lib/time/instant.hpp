#pragma once
// Points in time and durations shared by every layer. An Instant is nanoseconds since an
// arbitrary per-process epoch: the engine derives it from the TSC, tests from a virtual clock.

#include <chrono>
#include <compare>
#include <cstdint>

namespace sluice::time {

using Duration = std::chrono::nanoseconds;

class Instant {
public:
    constexpr Instant() = default;
    static constexpr Instant from_ns(int64_t ns) { return Instant(ns); }

    constexpr int64_t ns() const { return ns_; }

    constexpr Instant operator+(Duration d) const { return Instant(ns_ + d.count()); }
    constexpr Instant operator-(Duration d) const { return Instant(ns_ - d.count()); }
    constexpr Instant& operator+=(Duration d) { ns_ += d.count(); return *this; }
    constexpr Duration operator-(Instant o) const { return Duration(ns_ - o.ns_); }

    friend constexpr auto operator<=>(Instant, Instant) = default;

private:
    constexpr explicit Instant(int64_t ns) : ns_(ns) {}
    int64_t ns_ = 0;
};

}  // namespace sluice::time
