#pragma once
// TIME-WAIT as a compact entry (no TCB, no buffers) and the pure function that handles a
// segment arriving for it. The flow layer keeps these after EventKind::TimeWait; a
// Connection still in TIME-WAIT delegates to the same function, so both behave alike.
//
// Rules, in the order applied:
//   SYN (no ACK, no RST)   reopen early if RFC 6191 2 (timestamps newer, or equal with a
//                          higher sequence number; old connection without timestamps and
//                          the new one with them) or, without timestamps on either, RFC
//                          1122 4.2.2.13 (SEG.SEQ > RCV.NXT); otherwise RFC 6191 drops it
//                          silently when timestamps were in use and RFC 9293 3.10.7.4
//                          (fourth step, RFC 5961 4) sends a challenge ACK.
//   RST                    RFC 1337 F1 (Config::time_wait_ignores_rst, default): ignored,
//                          except exactly at RCV.NXT right after a challenge ACK to a SYN
//                          (the client's answer to it: close). Otherwise RFC 5961 3.2:
//                          exact RCV.NXT -> close, in window -> challenge ACK, outside ->
//                          drop.
//   PAWS (RFC 7323 5.3)    an older TSval: ACK and drop.
//   retransmitted FIN      ends at RCV.NXT: ACK it and restart 2MSL (RFC 9293 3.10.7.4
//                          eighth step; Linux tcp_timewait_state_process does the same).
//   anything else          bare in-window ACK: drop; otherwise ACK (first step).

#include <cstdint>

#include "tcp/config.hpp"
#include "tcp/segment.hpp"
#include "time/instant.hpp"
#include "wire/seq.hpp"

namespace sluice::tcp {

struct TimeWaitEntry {
    wire::SeqNum snd_nxt;    // just past our FIN
    wire::SeqNum rcv_nxt;    // just past the peer's FIN
    uint32_t ts_recent = 0;  // last TSval seen from the peer (RFC 6191)
    time::Instant deadline;  // end of 2 x MSL
    uint16_t local_port = 0;
    uint16_t remote_port = 0;
    uint16_t window = 0;      // header window field for re-ACKs (already scaled)
    bool timestamps = false;  // the connection used RFC 7323 timestamps
    bool syn_challenged = false;  // the last segment was a SYN we sent a challenge ACK for
};
// The budget promised to the flow layer (a million TIME-WAITs ~ 32 MB).
static_assert(sizeof(TimeWaitEntry) <= 32, "TimeWaitEntry budget");

enum class TimeWaitAction : uint8_t {
    Drop,    // nothing to send
    Ack,     // send `reply`
    Reopen,  // accept the SYN as a new connection: hand it to the listener, ISS after iss_after
    Close,   // leave TIME-WAIT now (RST accepted, RFC 1337 off); free the entry
};

struct TimeWaitResult {
    TimeWaitAction action = TimeWaitAction::Drop;
    bool restarted = false;  // deadline moved to now + 2MSL: re-arm the timer
    wire::SeqNum iss_after;  // for Reopen: the new ISS must be above this (RFC 1122 4.2.2.13)
    bool challenge = false;  // Ack is an RFC 5961 challenge ACK: subject to the lcore's limit
};

TimeWaitResult time_wait_on_segment(TimeWaitEntry& tw, const Segment& seg, time::Instant now,
                                    const Config& cfg, OutSegment& reply) noexcept;

// The ISS for a reopened connection: the candidate (e.g. from IsnGenerator) if it is above
// iss_after, else iss_after + 65537 (RFC 1122 4.2.2.13 (a); the margin is Linux's
// tw_snd_nxt + 65535 + 2).
constexpr wire::SeqNum reopen_iss(wire::SeqNum candidate, wire::SeqNum iss_after) noexcept {
    return candidate > iss_after ? candidate : iss_after + 65537u;
}

// Milliseconds clock for RFC 7323 TSval (1 ms per tick, RFC 7323 5.4).
constexpr uint32_t ts_clock(time::Instant now) noexcept {
    return static_cast<uint32_t>(static_cast<uint64_t>(now.ns()) / 1'000'000u);
}

}  // namespace sluice::tcp
