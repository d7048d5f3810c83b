#pragma once
// Which defence answers a SYN, per listener (issue 6 item 3; RFC 4987 3.3 caches, 3.6
// cookies, 3.7 hybrids):
//
//   always  every SYN gets a cookie (SYN-ACK, no state); every ACK without a flow is
//           checked as a cookie.
//   auto    ordinary load: the per-lcore SYN cache (all options kept, SYN-ACKs
//           retransmitted). Under a flood: cookies. Switches back once calm.
//   off     classic SYN-RECEIVED connections, bounded by the host's backlog; no cookies are
//           sent or accepted.
//
// Auto's switch. Cookies begin when, at a SYN, any of these holds:
//   - the SYN rate estimate exceeds rate_limit (SYN/s for this listener on this lcore),
//   - the cache holds high_water_pct % of its capacity,
//   - the cache refused or evicted an entry (note_cache_full).
// Cookies end when the rate has stayed at or below rate_limit / 2 and the cache at or below
// half full for calm_time (15 s, FreeBSD's SYNCOOKIE_LIFETIME: after a bucket overflow it
// answers with cookies only for that long). The factor 2 between the two thresholds keeps a
// rate near the limit from flapping between modes.
//
// Rate estimate: the sliding-window approximation over two fixed 1 s windows (as used by
// rate limiters such as Cloudflare's): rate = prev * (1 - elapsed / 1 s) + cur, where cur
// counts this window's SYNs and prev the previous window's. O(1), integers only, no decay
// constants; exact for a steady rate, and a burst is seen at once (it counts in cur).
//
// Accepting cookies in auto mode only while cookies may be out (sent within
// CookieSecrets::lifetime(), 2 periods + skew) closes the forgery window in calm times:
// Linux (tcp_synq_no_recent_overflow) and FreeBSD (SYNCOOKIE_LIFETIME) do the same.
//
// One SynPolicy per listener per lcore, on that lcore. Pure: `now` is passed in.

#include <cstdint>
#include <optional>

#include "tcp/config.hpp"
#include "time/instant.hpp"

namespace sluice::tcp {

enum class SynCookieMode : uint8_t { Always, Auto, Off };
const char* to_string(SynCookieMode m) noexcept;  // "always", "auto", "off"

enum class SynAction : uint8_t {
    Cache,    // SynCache::insert (if it returns nullptr: note_cache_full, then Cookie)
    Cookie,   // make_syn_ack (syncookie.hpp)
    Backlog,  // off: the classic SYN-RECEIVED connection, bounded by the backlog
};

struct SynPolicyConfig {
    SynCookieMode mode = SynCookieMode::Auto;
    // A busy web server sees hundreds to a few thousand SYN/s per core; an attack on a
    // 10 GbE link brings up to 14.88 M/s. 10k/s per lcore sits between the two.
    uint32_t rate_limit = 10'000;
    uint8_t high_water_pct = 90;     // of the cache's capacity
    time::Duration calm_time = 15s;  // FreeBSD tcp_syncache.c SYNCOOKIE_LIFETIME
    // An ACK whose cookie is invalid or stale: true = RST, as RFC 9293 3.10.7.2 says for any
    // ACK in LISTEN (Linux and FreeBSD do), within the host's per-worker limit
    // (TcpHostConfig::bad_cookie_rst_limit); false = drop silently (counted), which gives a
    // scanner nothing but leaves a confused peer to time out.
    bool rst_on_bad_cookie = true;
};

// nstat-named counters of a listener (or of a worker, summed). The host maps them onto
// sluice::Counter. Gauges (half-open, cache occupancy) come from SynCache::size()/capacity()
// and, off mode, from the host's SYN-RECEIVED count.
struct ListenStats {
    uint64_t syncookies_sent = 0;      // SyncookiesSent: SYN-ACKs carrying a cookie
    uint64_t syncookies_recv = 0;      // SyncookiesRecv: valid cookies, connection created
    uint64_t syncookies_failed = 0;    // SyncookiesFailed: ACKs whose cookie did not validate
    uint64_t listen_overflows = 0;     // ListenOverflows: backlog (off) or accept queue full
    uint64_t listen_drops = 0;         // ListenDrops: every SYN or ACK a listener dropped
    uint64_t cookie_mode_entered = 0;  // sluice: auto switched to cookies
    uint64_t cookie_mode_left = 0;     // sluice: auto switched back to the cache
};

class SynPolicy {
public:
    // cookie_lifetime: CookieSecrets::lifetime().
    SynPolicy(const SynPolicyConfig& cfg, time::Duration cookie_lifetime) noexcept;

    // A SYN for this listener arrived (counted in the rate); the action to take.
    // occupancy/capacity: the lcore's SYN cache (SynCache::size(), capacity()).
    SynAction on_syn(time::Instant now, uint32_t occupancy, uint32_t capacity) noexcept;

    // The cache refused (insert returned nullptr) or evicted an entry: cookies from now on,
    // until calm. After a refusal, answer this SYN with a cookie.
    void note_cache_full(time::Instant now) noexcept;

    // May an ACK without flow or cache entry be checked as a cookie?
    bool cookies_accepted(time::Instant now) const noexcept;

    bool using_cookies() const noexcept { return cookies_; }
    SynCookieMode mode() const noexcept { return cfg_.mode; }
    const SynPolicyConfig& config() const noexcept { return cfg_; }
    // The estimate at now (SYN/s), without counting a SYN.
    uint32_t rate(time::Instant now) const noexcept;
    const ListenStats& stats() const noexcept { return stats_; }
    ListenStats& stats() noexcept { return stats_; }

private:
    void roll(time::Instant now) noexcept;
    void enter_cookies(time::Instant now) noexcept;

    static constexpr time::Duration kWindow = 1s;

    SynPolicyConfig cfg_;
    time::Duration cookie_lifetime_;
    bool cookies_ = false;                      // auto: currently answering with cookies
    time::Instant last_busy_;                   // auto: last time a SYN found the load above calm
    std::optional<time::Instant> last_cookie_;  // last SYN answered with a cookie
    std::optional<time::Instant> window_start_;
    uint32_t cur_ = 0, prev_ = 0;
    ListenStats stats_;
};

}  // namespace sluice::tcp
