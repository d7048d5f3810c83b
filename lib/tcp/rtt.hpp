#pragma once
// RTT estimation, RFC 6298 (2): SRTT and RTTVAR from measured samples, and the RTO they
// give. Samples come from the Timestamps option (RFC 7323 4.1, TSecr of an ACK that
// acknowledges new data) or, without timestamps, from one timed segment at a time that was
// never retransmitted (Karn's algorithm, RFC 6298 (3)).
//
//   first sample R:   SRTT = R, RTTVAR = R/2                              (2.2)
//   later samples R': RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|              (2.3)
//                     SRTT   = 7/8 SRTT   + 1/8 R'
//   RTO = SRTT + max(G, 4 RTTVAR), at least min_rto (2.4), at most max_rto (2.5)

#include <algorithm>
#include <chrono>

#include "time/instant.hpp"

namespace sluice::tcp {

// RFC 6298 (2): G, the clock granularity. TSvals tick in milliseconds and the host's timer
// wheel has a 1 ms tick.
inline constexpr time::Duration kClockGranularity = std::chrono::milliseconds(1);

struct RttEstimator {
    time::Duration srtt{};
    time::Duration rttvar{};
    bool has_sample = false;

    // Takes one sample r and returns the new RTO.
    time::Duration sample(time::Duration r, time::Duration min_rto,
                          time::Duration max_rto) noexcept {
        if (r < time::Duration::zero()) r = time::Duration::zero();
        if (!has_sample) {  // (2.2)
            srtt = r;
            rttvar = r / 2;
            has_sample = true;
        } else {  // (2.3): RTTVAR first, with the old SRTT
            const time::Duration err = srtt > r ? srtt - r : r - srtt;
            rttvar = (3 * rttvar + err) / 4;
            srtt = (7 * srtt + r) / 8;
        }
        return rto(min_rto, max_rto);
    }

    time::Duration rto(time::Duration min_rto, time::Duration max_rto) const noexcept {
        const time::Duration d = srtt + std::max(kClockGranularity, 4 * rttvar);
        return std::clamp(d, min_rto, std::max(min_rto, max_rto));  // (2.4), (2.5)
    }

    friend bool operator==(const RttEstimator&, const RttEstimator&) = default;
};

}  // namespace sluice::tcp
