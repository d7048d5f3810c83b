#pragma once
// Congestion control, RFC 5681 with NewReno recovery (RFC 6582): the window arithmetic as
// a plain struct; connection glue (duplicate-ACK detection, which segment to send again)
// is in congestion.cpp.
//
//   IW        = min(N*SMSS, max(2*SMSS, N*1460))               RFC 6928 2 (N = 10)
//   slow start (cwnd < ssthresh):  cwnd += min(acked, L*SMSS)  RFC 5681 3.1, RFC 3465 L = 2
//   avoidance:  +SMSS per cwnd bytes acknowledged              RFC 5681 3.1 (byte counting)
//   3 dup ACKs: ssthresh = max(FlightSize/2, 2*SMSS)           RFC 5681 (4)
//               cwnd = ssthresh + 3*SMSS, +SMSS per dup ACK    RFC 5681 3.2 steps 4-5
//   partial ACK: cwnd -= acked (+SMSS if acked >= SMSS)        RFC 6582 3.2 step 5
//   full ACK:   cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS)  RFC 6582 3.2 step 3
//   with SACK:  cwnd = ssthresh on entry; sending while pipe < cwnd  RFC 6675 5 (4.2), (C)
//   RTO:        ssthresh as above (first timeout only), cwnd = 1*SMSS  RFC 5681 3.1 (4), LW
//   idle > RTO: cwnd = min(cwnd, IW)                          RFC 5681 4.1 (RW)

#include <algorithm>
#include <cstdint>
#include <limits>

#include "wire/seq.hpp"

namespace sluice::tcp {

enum class CcPhase : uint8_t {
    Open,      // slow start or congestion avoidance
    Recovery,  // NewReno fast recovery (RFC 6582)
    Loss,      // after an RTO: everything up to `recover` is sent again, in cwnd
};

struct Congestion {
    uint32_t cwnd = 0;
    // RFC 5681 3.1: "the initial value of ssthresh SHOULD be set arbitrarily high".
    uint32_t ssthresh = std::numeric_limits<uint32_t>::max();
    uint32_t bytes_acked = 0;  // RFC 3465 congestion-avoidance byte counter
    wire::SeqNum recover;      // RFC 6582 "recover": SND.MAX when recovery began
    uint8_t dupacks = 0;
    CcPhase phase = CcPhase::Open;
    bool sack_recovery = false;  // Recovery driven by the SACK scoreboard (RFC 6675)

    static constexpr uint32_t kDupThresh = 3;  // RFC 5681 2 DupThresh
    static constexpr uint32_t kAbcLimit = 2;   // RFC 3465 2.2 L

    static uint32_t initial_window(uint32_t smss, uint32_t n) noexcept {
        return std::min(n * smss, std::max(2 * smss, n * 1460u));
    }
    static uint32_t halve(uint32_t flight, uint32_t smss) noexcept {
        return std::max(flight / 2, 2 * smss);  // RFC 5681 (4)
    }

    void init(uint32_t smss, uint32_t n, wire::SeqNum snd_max, bool syn_lost) noexcept {
        // RFC 5681 3.1: one segment if the SYN or SYN-ACK was lost.
        cwnd = syn_lost ? smss : initial_window(smss, n);
        recover = snd_max;
    }
    // New data acknowledged in the Open phase.
    void on_ack(uint32_t acked, uint32_t smss) noexcept {
        if (cwnd < ssthresh) {
            cwnd += std::min(acked, kAbcLimit * smss);
        } else {
            bytes_acked += acked;
            if (bytes_acked >= cwnd) {
                bytes_acked -= cwnd;
                cwnd += smss;
            }
        }
    }
    // Third duplicate ACK: RFC 5681 3.2 steps 2-3 (the retransmission is the caller's).
    void enter_recovery(uint32_t flight, uint32_t smss, wire::SeqNum snd_max) noexcept {
        ssthresh = halve(flight, smss);
        cwnd = ssthresh + kDupThresh * smss;
        recover = snd_max;
        bytes_acked = 0;
        phase = CcPhase::Recovery;
    }
    // RFC 6582 3.2 step 5: partial ACK deflates by the amount acknowledged.
    void on_partial_ack(uint32_t acked, uint32_t smss) noexcept {
        cwnd = cwnd > acked ? cwnd - acked : 0;
        if (acked >= smss) cwnd += smss;
        cwnd = std::max(cwnd, smss);
    }
    // RFC 6582 3.2 step 3, option (2): leave recovery without a burst.
    void exit_recovery(uint32_t flight, uint32_t smss) noexcept {
        cwnd = std::min(ssthresh, std::max(flight, smss) + smss);
        phase = CcPhase::Open;
        dupacks = 0;
        sack_recovery = false;
    }
    // RFC 5681 (4) and LW; ssthresh only on the first timeout of a loss episode.
    void on_timeout(uint32_t flight, uint32_t smss, wire::SeqNum snd_max,
                    bool first) noexcept {
        if (first) ssthresh = halve(flight, smss);
        cwnd = smss;
        bytes_acked = 0;
        dupacks = 0;
        recover = snd_max;
        phase = CcPhase::Loss;
        sack_recovery = false;
    }

    friend bool operator==(const Congestion&, const Congestion&) = default;
};

}  // namespace sluice::tcp
