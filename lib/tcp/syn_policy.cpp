// SYN defence policy per listener (syn_policy.hpp has the rules and their sources).

#include "tcp/syn_policy.hpp"

#include <algorithm>

namespace sluice::tcp {

const char* to_string(SynCookieMode m) noexcept {
    switch (m) {
        case SynCookieMode::Always: return "always";
        case SynCookieMode::Auto: return "auto";
        case SynCookieMode::Off: return "off";
    }
    return "?";
}

SynPolicy::SynPolicy(const SynPolicyConfig& cfg, time::Duration cookie_lifetime) noexcept
    : cfg_(cfg), cookie_lifetime_(cookie_lifetime) {
    cfg_.rate_limit = std::max<uint32_t>(cfg_.rate_limit, 1);
    cfg_.high_water_pct = std::clamp<uint8_t>(cfg_.high_water_pct, 1, 100);
}

// Moves the two windows forward so that now falls in the current one.
void SynPolicy::roll(time::Instant now) noexcept {
    if (!window_start_) {
        window_start_ = now;
        return;
    }
    if (now < *window_start_ + kWindow) return;
    const int64_t windows = (now - *window_start_) / kWindow;
    prev_ = windows == 1 ? cur_ : 0;
    cur_ = 0;
    *window_start_ += windows * kWindow;
}

uint32_t SynPolicy::rate(time::Instant now) const noexcept {
    if (!window_start_) return 0;
    const time::Duration elapsed = now - *window_start_;
    if (elapsed < time::Duration{0}) return cur_;
    if (elapsed >= 2 * kWindow) return 0;
    if (elapsed >= kWindow) {
        // Not rolled yet: cur is the previous window now.
        const uint64_t left = uint64_t((2 * kWindow - elapsed).count());
        return uint32_t(uint64_t(cur_) * left / uint64_t(kWindow.count()));
    }
    const uint64_t left = uint64_t((kWindow - elapsed).count());
    return uint32_t(uint64_t(prev_) * left / uint64_t(kWindow.count()) + cur_);
}

void SynPolicy::enter_cookies(time::Instant now) noexcept {
    last_busy_ = now;
    if (cookies_) return;
    cookies_ = true;
    ++stats_.cookie_mode_entered;
}

void SynPolicy::note_cache_full(time::Instant now) noexcept {
    if (cfg_.mode != SynCookieMode::Auto) return;
    enter_cookies(now);
    last_cookie_ = now;  // the caller answers this SYN with a cookie
}

SynAction SynPolicy::on_syn(time::Instant now, uint32_t occupancy, uint32_t capacity) noexcept {
    switch (cfg_.mode) {
        case SynCookieMode::Off: return SynAction::Backlog;
        case SynCookieMode::Always: last_cookie_ = now; return SynAction::Cookie;
        case SynCookieMode::Auto: break;
    }
    roll(now);
    if (cur_ < UINT32_MAX) ++cur_;
    const uint32_t r = rate(now);
    const uint64_t occ100 = uint64_t(occupancy) * 100;
    const bool busy = r > cfg_.rate_limit || occ100 >= uint64_t(capacity) * cfg_.high_water_pct;
    if (busy) {
        enter_cookies(now);
    } else if (cookies_) {
        const bool calm = r <= cfg_.rate_limit / 2 && uint64_t(occupancy) * 2 <= capacity;
        if (!calm) {
            last_busy_ = now;
        } else if (now - last_busy_ >= cfg_.calm_time) {
            cookies_ = false;
            ++stats_.cookie_mode_left;
        }
    }
    if (!cookies_) return SynAction::Cache;
    last_cookie_ = now;
    return SynAction::Cookie;
}

bool SynPolicy::cookies_accepted(time::Instant now) const noexcept {
    switch (cfg_.mode) {
        case SynCookieMode::Off: return false;
        case SynCookieMode::Always: return true;
        case SynCookieMode::Auto: break;
    }
    return last_cookie_ && now - *last_cookie_ <= cookie_lifetime_;
}

}  // namespace sluice::tcp
