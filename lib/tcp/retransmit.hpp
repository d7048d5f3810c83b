#pragma once
// Retransmission timer state: RTT estimation (rtt.hpp, RFC 6298 (2)-(3)), Karn's rule for
// timed segments, and exponential backoff of the RTO (RFC 6298 (5.5)-(5.7)).

#include <algorithm>
#include <cstdint>

#include "tcp/config.hpp"
#include "tcp/rtt.hpp"
#include "time/instant.hpp"
#include "wire/seq.hpp"

namespace sluice::tcp {

struct RetransmitState {
    time::Duration rto = kInitialRto;  // RFC 6298 (2.1) until the first sample
    RttEstimator rtt;
    // Without timestamps: one segment at a time is timed (RFC 6298 (3), Karn).
    time::Instant timed_at;
    wire::SeqNum timed_seq;  // its first sequence number
    bool timing = false;
    uint8_t backoff = 0;  // RTO doublings since the last valid RTT sample (Karn)
    uint8_t retries = 0;  // retransmission timeouts of the current head

    // The timeout to arm now: RTO << backoff, at most max (RFC 6298 (5.5), (2.5)).
    time::Duration current(time::Duration max) const noexcept {
        time::Duration d = rto;
        for (uint8_t i = 0; i < backoff && d < max; ++i) d *= 2;
        return std::min(d, max);
    }
    // A valid RTT sample: RFC 6298 (2.2)/(2.3); the backed-off RTO is recomputed from it,
    // which ends the backoff (Karn's algorithm, RFC 1122 4.2.3.1).
    void on_sample(time::Duration r, const Config& cfg) noexcept {
        rto = rtt.sample(r, cfg.min_rto, cfg.max_rto);
        backoff = 0;
    }
    // New data was acknowledged: the head is no longer the one that timed out. The backoff
    // stays until a valid sample (RFC 6298 (5.5) and Karn: the ACK of a retransmitted
    // segment is ambiguous and says nothing about the path's RTT).
    void on_progress() noexcept { retries = 0; }
    // The handshake completed: RFC 6298 (5.7) sets the RTO afresh (3 s after a lost SYN).
    void on_established() noexcept {
        backoff = 0;
        retries = 0;
    }
    // The timer expired: RFC 6298 (5.5) back off; Karn: the timed segment is now ambiguous.
    void on_timeout() noexcept {
        ++backoff;
        ++retries;
        timing = false;
    }

    friend bool operator==(const RetransmitState&, const RetransmitState&) = default;
};

}  // namespace sluice::tcp
