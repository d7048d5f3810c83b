// The TSC clock: conversions are checked with given rates (deterministic); reading the real
// counter is checked only for monotonicity and a sane calibration, never for timing.

#include "time/tsc_clock.hpp"

#include <gtest/gtest.h>

#include <cstdint>
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

TEST(TscClock, CalibrationGivesAPlausibleRate) {
    uint64_t hz = TscClock::measure_hz(10ms);
    EXPECT_GT(hz, 10'000'000u);       // > 10 MHz
    EXPECT_LT(hz, 100'000'000'000u);  // < 100 GHz
    TscClock c = TscClock::calibrate(10ms);
    EXPECT_GT(c.hz(), 10'000'000u);
}

}  // namespace
}  // namespace sluice::time
