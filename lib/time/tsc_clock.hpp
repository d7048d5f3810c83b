#pragma once
// The engine's clock: the CPU's time-stamp counter, converted to Instants.
//
// Reading is one rdtsc (on x86; elsewhere steady_clock in ns, at 1 GHz "cycles"). Cycles and
// ns convert by a 64-bit multiply and a shift through a 128-bit product, never a division:
//
//   ns     = (cycles * ns_mult)  >> ns_shift,   ns_mult  = floor(1e9 * 2^ns_shift / hz)
//   cycles = (ns     * cyc_mult) >> cyc_shift,  cyc_mult = floor(hz * 2^cyc_shift / 1e9)
//
// with each shift the largest that keeps its multiplier below 2^64, so the relative error is
// below 2^-63 (well under 1 ns a year) and the product cannot overflow.
//
// The rate comes from the caller (the engine passes rte_get_tsc_hz()) or from calibrate(),
// which counts cycles across a short steady_clock interval. It assumes an invariant TSC
// (constant_tsc and nonstop_tsc), as DPDK does.
//
// Instants count ns from the clock's epoch (by default, the cycle count at construction);
// clocks that share an epoch and rate give comparable Instants on every lcore. A TscClock is
// immutable, so one instance may be read from any thread.

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "time/instant.hpp"

namespace sluice::time {

class TscClock {
public:
    // The raw counter.
    static uint64_t read_cycles() noexcept;

    // A clock running at `hz` cycles per second (> 0) whose Instant 0 is cycle `epoch`.
    explicit TscClock(uint64_t hz, uint64_t epoch) noexcept;
    explicit TscClock(uint64_t hz) noexcept : TscClock(hz, read_cycles()) {}

    // Measures the counter's rate against steady_clock over about `window` (10-50 ms is
    // plenty: the result is within a few ppm). Set-up only: it sleeps.
    static uint64_t measure_hz(Duration window = std::chrono::milliseconds(20));
    static TscClock calibrate(Duration window = std::chrono::milliseconds(20)) {
        return TscClock(measure_hz(window));
    }

    uint64_t hz() const noexcept { return hz_; }
    uint64_t epoch_cycles() const noexcept { return epoch_; }

    Instant now() const noexcept { return to_instant(read_cycles()); }
    uint64_t cycles() const noexcept { return read_cycles(); }

    // The Instant of a counter value; before the epoch gives a negative Instant.
    Instant to_instant(uint64_t cycles) const noexcept {
        return cycles >= epoch_ ? Instant::from_ns(cycles_to_ns(cycles - epoch_))
                                : Instant::from_ns(-cycles_to_ns(epoch_ - cycles));
    }
    // The counter value at an Instant (clamped at 0).
    uint64_t to_cycles(Instant t) const noexcept {
        return t.ns() >= 0
                   ? epoch_ + ns_to_cycles(static_cast<uint64_t>(t.ns()))
                   : epoch_ - std::min(epoch_, ns_to_cycles(-static_cast<uint64_t>(t.ns())));
    }

    // A number of cycles as ns (saturating at INT64_MAX), and back. Negative durations give 0.
    int64_t cycles_to_ns(uint64_t cycles) const noexcept {
        unsigned __int128 p = static_cast<unsigned __int128>(cycles) * ns_mult_;
        unsigned __int128 ns = p >> ns_shift_;
        constexpr auto kMax = static_cast<unsigned __int128>(INT64_MAX);
        return static_cast<int64_t>(ns > kMax ? kMax : ns);
    }
    uint64_t ns_to_cycles(uint64_t ns) const noexcept {
        unsigned __int128 c = (static_cast<unsigned __int128>(ns) * cyc_mult_) >> cyc_shift_;
        return c > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(c);
    }
    Duration to_duration(uint64_t cycles) const noexcept { return Duration(cycles_to_ns(cycles)); }
    uint64_t to_cycles(Duration d) const noexcept {
        return d.count() <= 0 ? 0 : ns_to_cycles(static_cast<uint64_t>(d.count()));
    }

private:
    uint64_t hz_;
    uint64_t epoch_;
    uint64_t ns_mult_;
    unsigned ns_shift_;
    uint64_t cyc_mult_;
    unsigned cyc_shift_;
};

}  // namespace sluice::time
