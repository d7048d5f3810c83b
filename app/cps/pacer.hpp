#pragma once
// Open-loop pacing of connection starts: start i (from 0) is due at start + i / rate, whatever
// happened to the earlier ones, so a slow server shows up as latency and not as a lower
// offered rate. A stalled loop catches up at most `max_burst` starts at once; older slots
// are given up and counted (missed), so a pause does not turn into a burst.
//
// Pure: the caller passes the time (nanoseconds from any origin, never going back).

#include <algorithm>
#include <cstdint>

namespace sluice::cps {

class Pacer {
public:
    // rate: starts per second; 0 means no pacing (every call says "as many as you like").
    Pacer(uint64_t rate, uint64_t start_ns, uint32_t max_burst = 64) noexcept
        : rate_(rate), start_ns_(start_ns), max_burst_(std::max<uint32_t>(max_burst, 1)) {}

    // Starts due at now_ns and not yet taken (capped at max_burst; the excess is missed).
    uint64_t due(uint64_t now_ns) noexcept {
        if (rate_ == 0) return UINT64_MAX;
        const uint64_t target = slots_until(now_ns);
        if (target <= issued_) return 0;
        uint64_t d = target - issued_;
        if (d > max_burst_) {
            missed_ += d - max_burst_;
            issued_ += d - max_burst_;
            d = max_burst_;
        }
        return d;
    }
    // The caller started n (<= due()) connections.
    void take(uint64_t n) noexcept { issued_ += n; }
    // The caller could not use a due slot (a concurrency cap): it is given up.
    void skip(uint64_t n) noexcept {
        issued_ += n;
        missed_ += n;
    }
    // When the next start falls due (for sleeping); now_ns if one is due already.
    uint64_t next_due_ns() const noexcept {
        if (rate_ == 0) return start_ns_;
        // slot k is due at start + ceil(k * 1e9 / rate)
        const unsigned __int128 k = issued_;
        return start_ns_ + static_cast<uint64_t>((k * 1'000'000'000u + rate_ - 1) / rate_);
    }

    uint64_t issued() const noexcept { return issued_; }
    uint64_t missed() const noexcept { return missed_; }
    uint64_t rate() const noexcept { return rate_; }

private:
    // Slots whose due time is <= now: floor((now - start) * rate / 1e9) + 1 (128-bit: no
    // overflow).
    uint64_t slots_until(uint64_t now_ns) const noexcept {
        if (now_ns < start_ns_) return 0;
        const unsigned __int128 x = static_cast<unsigned __int128>(now_ns - start_ns_) * rate_;
        return static_cast<uint64_t>(x / 1'000'000'000u) + 1;
    }

    uint64_t rate_;
    uint64_t start_ns_;
    uint32_t max_burst_;
    uint64_t issued_ = 0;
    uint64_t missed_ = 0;
};

}  // namespace sluice::cps
