// Per-listener SYN defence policy (syn_policy.hpp): modes, the rate estimate, switching to
// cookies under a simulated flood and back with hysteresis, and when cookies are accepted.

#include "tcp/syn_policy.hpp"

#include <gtest/gtest.h>

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

const Instant t0 = Instant::from_ns(0) + 1000s;
constexpr Duration kLifetime = 129s;  // CookieSecrets::lifetime() with the defaults
constexpr uint32_t kCap = 4096;

// Drives `rate` SYN/s evenly for `d`; returns the actions seen.
struct Drive {
    uint32_t cache = 0, cookie = 0;
};
Drive drive(SynPolicy& p, Instant& now, uint32_t rate, Duration d, uint32_t occupancy = 0) {
    Drive r;
    const Duration gap = std::chrono::nanoseconds(1'000'000'000 / rate);
    for (const Instant end = now + d; now < end; now += gap)
        (p.on_syn(now, occupancy, kCap) == SynAction::Cache ? r.cache : r.cookie)++;
    return r;
}

TEST(SynPolicy, OffAndAlways) {
    SynPolicy off({.mode = SynCookieMode::Off}, kLifetime);
    EXPECT_EQ(off.on_syn(t0, 0, kCap), SynAction::Backlog);
    EXPECT_FALSE(off.cookies_accepted(t0));
    SynPolicy always({.mode = SynCookieMode::Always}, kLifetime);
    EXPECT_EQ(always.on_syn(t0, 0, kCap), SynAction::Cookie);
    EXPECT_TRUE(always.cookies_accepted(t0 + 1000s));
    EXPECT_STREQ(to_string(SynCookieMode::Auto), "auto");
}

TEST(SynPolicy, RateEstimate_SteadyRateIsExact) {
    SynPolicy p({.rate_limit = 1'000'000}, kLifetime);
    Instant now = t0;
    drive(p, now, 2000, 3s);
    EXPECT_NEAR(p.rate(now), 2000, 20);
    drive(p, now, 500, 3s);
    EXPECT_NEAR(p.rate(now), 500, 10);
    EXPECT_EQ(p.rate(now + 2s), 0u);  // quiet for two windows: nothing left
}

TEST(SynPolicy, Auto_OrdinaryLoadUsesCache) {
    SynPolicy p({}, kLifetime);
    Instant now = t0;
    const Drive d = drive(p, now, 5000, 5s);
    EXPECT_EQ(d.cookie, 0u);
    EXPECT_FALSE(p.using_cookies());
    EXPECT_FALSE(p.cookies_accepted(now));  // no cookie out: none is accepted
}

TEST(SynPolicy, Auto_FloodSwitchesToCookies_CalmSwitchesBackAfterHysteresis) {
    SynPolicy p({.rate_limit = 10'000, .calm_time = 15s}, kLifetime);
    Instant now = t0;
    drive(p, now, 2000, 2s);
    EXPECT_FALSE(p.using_cookies());
    // Flood: 50k SYN/s. Cookies within the first 10k SYNs of the window.
    const Drive flood = drive(p, now, 50'000, 3s);
    EXPECT_TRUE(p.using_cookies());
    EXPECT_LT(flood.cache, 12'000u);
    EXPECT_TRUE(p.cookies_accepted(now));
    EXPECT_EQ(p.stats().cookie_mode_entered, 1u);
    // Between limit/2 and limit: not calm, so still cookies (no flapping near the limit).
    const Drive mid = drive(p, now, 8000, 20s);
    EXPECT_EQ(mid.cache, 0u);
    // Calm (below limit/2): cookies for calm_time more, then the cache again.
    const Instant calm_start = now;
    const Drive calm = drive(p, now, 1000, 30s);
    EXPECT_FALSE(p.using_cookies());
    EXPECT_EQ(p.stats().cookie_mode_left, 1u);
    EXPECT_NEAR(double(calm.cookie), 1000.0 * 16, 1000.0 * 1.1);  // ~1 s to calm + 15 s
    EXPECT_GT(calm.cache, 0u);
    (void)calm_start;
    // Cookies already sent stay acceptable for their lifetime, then no more.
    EXPECT_TRUE(p.cookies_accepted(now));
    EXPECT_FALSE(p.cookies_accepted(now + kLifetime));
}

TEST(SynPolicy, Auto_FullCacheSwitchesToCookies) {
    SynPolicy p({.high_water_pct = 90}, kLifetime);
    EXPECT_EQ(p.on_syn(t0, kCap * 89 / 100, kCap), SynAction::Cache);
    EXPECT_EQ(p.on_syn(t0 + 1ms, kCap * 9 / 10 + 1, kCap), SynAction::Cookie);  // >= 90 %
    // Occupancy above half keeps it in cookies, however low the rate.
    EXPECT_EQ(p.on_syn(t0 + 100s, kCap * 60 / 100, kCap), SynAction::Cookie);
    EXPECT_EQ(p.on_syn(t0 + 101s, kCap / 4, kCap), SynAction::Cookie);  // calm begins
    EXPECT_EQ(p.on_syn(t0 + 117s, kCap / 4, kCap), SynAction::Cache);
}

TEST(SynPolicy, Auto_RefusedInsertSwitchesToCookies) {
    SynPolicy p({}, kLifetime);
    EXPECT_EQ(p.on_syn(t0, 10, kCap), SynAction::Cache);
    p.note_cache_full(t0);
    EXPECT_TRUE(p.cookies_accepted(t0));  // the caller answers that SYN with a cookie
    EXPECT_EQ(p.on_syn(t0 + 1s, 10, kCap), SynAction::Cookie);
    // Long quiet: the next SYN finds it calm for more than calm_time.
    EXPECT_EQ(p.on_syn(t0 + 60s, 10, kCap), SynAction::Cache);
}

}  // namespace
}  // namespace sluice::tcp::test
