#pragma once
// Counters a host (one per lcore) hands to its connections. Names follow Linux nstat where
// one exists, so operators can compare sluice and the kernel.

#include <array>
#include <cstdint>

#include "tcp/challenge_ack.hpp"
#include "tcp/state.hpp"
#include "time/instant.hpp"

namespace sluice::tcp {

// Why an arriving segment was dropped without effect on the connection.
enum class DropReason : uint8_t {
    Unacceptable,      // RFC 9293 3.10.7.4 first step (an ACK was sent back)
    Paws,              // RFC 7323 5.3 R1
    MissingTimestamp,  // RFC 7323 3.2: non-RST segment without TSopt on a TS connection
    RstOutOfWindow,    // RFC 5961 3.2
    NoAck,             // RFC 9293 3.10.7.4 fifth step: ACK bit off
    AckUnacceptable,   // RFC 5961 5.2 / RFC 9293 3.10.7.4 fifth step
    OutOfOrder,        // in-window beyond RCV.NXT and not kept (reassembly ranges full)
    SynSentBadAck,     // RFC 9293 3.10.7.3 first step
    ListenNoSyn,       // RFC 9293 3.10.7.2 (RST, ACK, other)
    QuietTime,         // RFC 9293 3.4.3
    AfterClose,        // new text after the application closed: RST (RFC 1122 4.2.2.13)
    Closed,            // arrived in CLOSED (RFC 9293 3.10.7.1)
};
inline constexpr std::size_t kDropReasonCount = 12;

struct Stats {
    // transitions[from][to]: every state change made through Connection::set_state().
    std::array<std::array<uint32_t, kStateCount>, kStateCount> transitions{};
    std::array<uint64_t, kDropReasonCount> drops{};

    uint64_t active_opens = 0;    // ActiveOpens
    uint64_t passive_opens = 0;   // PassiveOpens
    uint64_t attempt_fails = 0;   // AttemptFails
    uint64_t estab_resets = 0;    // EstabResets
    uint64_t in_segs = 0;         // InSegs
    uint64_t out_segs = 0;        // OutSegs
    uint64_t retrans_segs = 0;    // RetransSegs
    uint64_t out_rsts = 0;        // OutRsts
    uint64_t challenge_acks = 0;  // TCPChallengeACK: sent
    uint64_t challenge_acks_skipped = 0;  // TCPACKSkippedChallenge: over the RFC 5961 7 limit
    uint64_t timeouts = 0;        // TCPTimeouts
    uint64_t keepalive_probes = 0;
    uint64_t paws_rejected = 0;  // PAWSEstabRejected
    uint64_t fast_retrans = 0;   // TCPFastRetrans: fast retransmissions (RFC 5681 3.2)
    uint64_t reno_recovery = 0;  // TCPRenoRecovery: NewReno recoveries entered (RFC 6582)
    uint64_t sack_recovery = 0;  // TCPSackRecovery: SACK recoveries entered (RFC 6675)
    uint64_t loss_probes = 0;    // TCPLossProbes: tail loss probes sent (RFC 8985 7.3)
    // TCPLossProbeRecovery: SACK recoveries started because a probe was SACKed above a
    // hole (Linux counts probes that repaired a loss; close enough to compare).
    uint64_t loss_probe_recovery = 0;
    uint64_t delayed_acks = 0;   // DelayedACKs: ACKs sent by the delayed-ACK timer
    uint64_t ofo_queue = 0;      // TCPOFOQueue: out-of-order segments kept
    uint64_t ofo_drop = 0;       // TCPOFODrop: out-of-order segments not kept
    // TCPRcvQDrop: in-order text inside the window not kept for want of an mbuf (the
    // per-connection cap or an empty data pool); the peer retransmits it.
    uint64_t rcvq_drop = 0;

    // Not a counter: the per-lcore budget of challenge ACKs (RFC 5961 7) lives beside the
    // counters because every connection of the lcore already holds a pointer to them.
    ChallengeAckLimiter challenge_limiter;

    uint32_t transition_count(State from, State to) const noexcept {
        return transitions[static_cast<std::size_t>(from)][static_cast<std::size_t>(to)];
    }
    uint64_t drop_count(DropReason r) const noexcept { return drops[static_cast<std::size_t>(r)]; }
};

// RFC 5961 7: whether a challenge ACK may go out now, counted either way.
inline bool take_challenge_ack(Stats& s, time::Instant now) noexcept {
    if (!s.challenge_limiter.allow(now)) {
        ++s.challenge_acks_skipped;
        return false;
    }
    ++s.challenge_acks;
    return true;
}

}  // namespace sluice::tcp
