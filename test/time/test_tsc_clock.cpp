// The TSC clock: conversions are checked with given rates (deterministic); reading the real
// counter is checked for monotonicity and a calibration that agrees with CLOCK_MONOTONIC over
// an interval measured around it, never for timing.

#include "time/tsc_clock.hpp"

#include <gtest/gtest.h>

#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace sluice::time {
namespace {

using namespace std::chrono_literals;

TEST(TscClock, OneSecondOfCyclesIsOneSecondAtCommonRates) {
    for (uint64_t hz : {1'000'000'000ull, 2'100'000'000ull, 2'500'000'000ull, 2'994'373'000ull,
                        3'000'000'000ull, 25'000'000ull, 4'700'123'457ull}) {
        TscClock c(hz, 0);
        EXPECT_EQ(c.cycles_to_ns(hz), 1'000'000'000) << hz;
        EXPECT_EQ(c.ns_to_cycles(1'000'000'000), hz) << hz;
        EXPECT_EQ(c.to_cycles(Duration(1s)), hz) << hz;
    }
}

// |got - floor(exact)| <= 1, for values across the whole 62-bit range.
void expect_within_one(unsigned __int128 exact, uint64_t got, uint64_t at) {
    auto g = static_cast<unsigned __int128>(got);
    EXPECT_LE(g > exact ? g - exact : exact - g, 1u) << at;
}

TEST(TscClock, ConversionsAreWithinOneUnitOfExact) {
    for (uint64_t hz : {2'994'373'000ull, 1'000'000'000ull, 33'333'333ull, 5'123'456'789ull}) {
        TscClock c(hz, 0);
        for (uint64_t cyc = 1; cyc < (uint64_t{1} << 62); cyc = cyc * 3 + 7) {
            auto exact = static_cast<unsigned __int128>(cyc) * 1'000'000'000 / hz;
            if (exact > INT64_MAX) break;
            expect_within_one(exact, static_cast<uint64_t>(c.cycles_to_ns(cyc)), cyc);
        }
        for (uint64_t ns = 1; ns < (uint64_t{1} << 61); ns = ns * 3 + 5)
            expect_within_one(static_cast<unsigned __int128>(ns) * hz / 1'000'000'000,
                              c.ns_to_cycles(ns), ns);
    }
}

TEST(TscClock, RoundTripLosesLessThanOneCycleWorthOfNs) {
    TscClock c(2'500'000'000, 0);
    for (int64_t ns : {0ll, 1ll, 999ll, 123'456'789ll, 86'400'000'000'000ll}) {
        uint64_t cyc = c.ns_to_cycles(static_cast<uint64_t>(ns));
        EXPECT_LE(std::abs(ns - c.cycles_to_ns(cyc)), 1) << ns;
    }
}

TEST(TscClock, TenYearsOfCyclesDoNotOverflow) {
    const uint64_t hz = 3'000'000'000;
    TscClock c(hz, 0);
    const uint64_t ten_years_s = 10ull * 365 * 86'400;
    EXPECT_EQ(c.cycles_to_ns(ten_years_s * hz), static_cast<int64_t>(ten_years_s * 1'000'000'000));
    auto exact = static_cast<unsigned __int128>(UINT64_MAX) * 1'000'000'000 / hz;  // ~195 years
    expect_within_one(exact, static_cast<uint64_t>(c.cycles_to_ns(UINT64_MAX)), UINT64_MAX);
}

TEST(TscClock, InstantsCountFromTheEpochBothWays) {
    TscClock c(1'000'000'000, 5'000);
    EXPECT_EQ(c.to_instant(5'000), Instant::from_ns(0));
    EXPECT_EQ(c.to_instant(6'500), Instant::from_ns(1'500));
    EXPECT_EQ(c.to_instant(4'000), Instant::from_ns(-1'000));
    EXPECT_EQ(c.to_cycles(Instant::from_ns(1'500)), 6'500u);
    EXPECT_EQ(c.to_cycles(Instant::from_ns(-1'000)), 4'000u);
    EXPECT_EQ(c.to_cycles(Instant::from_ns(-9'000)), 0u);  // clamped
    EXPECT_EQ(c.to_cycles(Duration(-5)), 0u);
}

TEST(TscClock, NowNeverGoesBackwards) {
    TscClock c(2'000'000'000);
    Instant prev = c.now();
    EXPECT_GE(prev, Instant::from_ns(0));
    for (int i = 0; i < 100'000; ++i) {
        Instant t = c.now();
        ASSERT_GE(t, prev);
        prev = t;
    }
}

// A CLOCK_MONOTONIC reading and the cycle counter between the two ends of a bracket: the
// counter was read somewhere inside [lo, hi] (ns).
struct Bracket {
    int64_t lo = 0, hi = 0;
    uint64_t cycles = 0;
};

int64_t monotonic_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Bracket bracket() {
    Bracket b;
    b.lo = monotonic_ns();
    b.cycles = TscClock::read_cycles();
    b.hi = monotonic_ns();
    return b;
}

// The rate measure_hz() reports lies within what the counter did against CLOCK_MONOTONIC
// over an interval around it: between cycles / (longest interval the brackets allow) and
// cycles / (shortest). Preemption inside a bracket only widens the bounds, it cannot fail the
// test; 1% is left for measure_hz's own end points over its 50 ms.
TEST(TscClock, CalibrationAgreesWithClockMonotonic) {
    const Bracket a = bracket();
    const uint64_t hz = TscClock::measure_hz(50ms);
    const TscClock c = TscClock::calibrate(50ms);
    const Bracket b = bracket();
    ASSERT_GT(b.cycles, a.cycles);
    const double cycles = double(b.cycles - a.cycles);
    const double lo = cycles / double(b.hi - a.lo) * 1e9;
    const double hi = cycles / double(b.lo - a.hi) * 1e9;
    std::printf("measure_hz %llu; the counter against CLOCK_MONOTONIC: %.0f - %.0f Hz\n",
                static_cast<unsigned long long>(hz), lo, hi);
    EXPECT_GE(double(hz), lo * 0.99);
    EXPECT_LE(double(hz), hi * 1.01);
    EXPECT_GE(double(c.hz()), lo * 0.99);
    EXPECT_LE(double(c.hz()), hi * 1.01);
}

}  // namespace
}  // namespace sluice::time
