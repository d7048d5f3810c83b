#pragma once
// Retransmission timer state: the RTO and its exponential backoff (RFC 6298 5.5). This is
// the seam a later issue grows into full RTT estimation (RFC 6298 2-3) and congestion
// control; for now RTO stays at its initial value until backed off.

#include <algorithm>
#include <cstdint>

#include "tcp/config.hpp"
#include "time/instant.hpp"

namespace sluice::tcp {

struct RetransmitState {
    time::Duration rto = kInitialRto;  // RFC 6298 (2.1)
    uint8_t backoff = 0;               // RTO doublings since the last forward progress
    uint8_t retries = 0;               // retransmissions of the current head

    // The timeout to arm now: RTO << backoff, at most max (RFC 6298 (5.5), (2.5)).
    time::Duration current(time::Duration max) const noexcept {
        time::Duration d = rto;
        for (uint8_t i = 0; i < backoff && d < max; ++i) d *= 2;
        return std::min(d, max);
    }
    // New data was acknowledged: forget the backoff (RFC 6298 5, after (5.7)).
    void on_progress() noexcept {
        backoff = 0;
        retries = 0;
    }
    // The timer expired: RFC 6298 (5.5) back off.
    void on_timeout() noexcept {
        ++backoff;
        ++retries;
    }

    friend bool operator==(const RetransmitState&, const RetransmitState&) = default;
};

}  // namespace sluice::tcp
