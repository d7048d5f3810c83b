// Connection glue for RTT sampling (RFC 6298 (2)-(3), RFC 7323 4.1), congestion control
// (RFC 5681, RFC 6582 NewReno, RFC 6675 SACK-based recovery) and the retransmission queue
// the RTO and fast retransmit fill: [rtx_next, rtx_end) is sent again from the send buffer
// before any new data. With SACK, recovery then sends what NextSeg() picks while pipe
// leaves room in cwnd (sack.hpp holds the scoreboard and RFC 6675 4's routines).

#include <algorithm>
#include <chrono>
#include <optional>

#include "tcp/connection.hpp"

namespace sluice::tcp {

using wire::SeqNum;

void Connection::init_congestion(time::Instant now) noexcept {
    Tcb& t = tcb_;
    t.cc = Congestion{};
    t.cc.init(t.send_mss, std::max<uint8_t>(cfg_->initial_window, 1), t.snd_max,
              t.syn_retransmitted);
    t.rtx_next = t.rtx_end = t.snd_max;
    t.last_send = now;
}

// One RTT sample per ACK of new data; never for the SYN (the handshake's RTO stays the
// RFC 6298 (2.1) initial value and (5.7) applies after its loss).
void Connection::take_rtt_sample(const Segment& seg, SeqNum old_una, time::Instant now) noexcept {
    Tcb& t = tcb_;
    RetransmitState& r = t.rtx;
    const bool timed_acked = r.timing && seg.ack > r.timed_seq;
    if (timed_acked) r.timing = false;
    if (old_una == t.iss) return;
    if (t.ts_ok && seg.options.has_timestamps && seg.options.ts_ecr != 0) {
        // RFC 7323 4.1: RTT = now - TSecr (TSval ticks are milliseconds).
        const int32_t ms = static_cast<int32_t>(ts_clock(now) - seg.options.ts_ecr);
        if (ms >= 0) r.on_sample(std::chrono::milliseconds(ms), *cfg_);
    } else if (!t.ts_ok && timed_acked) {
        r.on_sample(now - r.timed_at, *cfg_);  // Karn: timing stops on any retransmission
    }
}

// New data acknowledged (SND.UNA already advanced by `acked`).
void Connection::cc_on_new_ack(uint32_t acked) noexcept {
    Tcb& t = tcb_;
    Congestion& c = t.cc;
    if (c.cwnd == 0) return;  // not synchronized yet
    const uint32_t smss = t.send_mss;
    switch (c.phase) {
        case CcPhase::Open:
            c.dupacks = 0;
            c.on_ack(acked, smss);
            break;
        case CcPhase::Recovery:
            if (t.snd_una >= c.recover) {  // RFC 6582 3.2 step 3: full acknowledgment
                c.exit_recovery(uint32_t(t.snd_max - t.snd_una), smss);
            } else if (c.sack_recovery) {
                // RFC 6675 5: a partial ACK changes no window; the scoreboard (already
                // updated) and pipe decide what goes next.
            } else {  // step 5: partial ACK, send the first unacknowledged segment again
                c.on_partial_ack(acked, smss);
                queue_retransmit(t.snd_una, t.snd_una + smss);
            }
            break;
        case CcPhase::Loss:
            c.on_ack(acked, smss);  // slow start back up to ssthresh
            if (t.snd_una >= c.recover) {
                c.phase = CcPhase::Open;
                c.dupacks = 0;
            }
            break;
    }
}

// RFC 5681 2 DUPLICATE ACKNOWLEDGMENT (checked before the window update).
bool Connection::is_duplicate_ack(const Segment& seg) const noexcept {
    const Tcb& t = tcb_;
    return seg.ack == t.snd_una && t.snd_una != t.snd_max && seg.payload.empty() &&
           !seg.flags.has(Flags::Syn) && !seg.flags.has(Flags::Fin) &&
           (uint32_t(seg.window) << t.snd_wscale) == t.snd_wnd;
}

void Connection::cc_on_duplicate_ack() noexcept {
    Tcb& t = tcb_;
    Congestion& c = t.cc;
    if (c.cwnd == 0 || t.snd_una == t.iss) return;
    if (c.dupacks < 255) ++c.dupacks;
    const uint32_t smss = t.send_mss;
    if (c.phase == CcPhase::Recovery) {
        // RFC 5681 3.2 step 4: inflate; output() may send new data. With SACK, pipe
        // already counts what left the network.
        if (!c.sack_recovery) c.cwnd += smss;
        return;
    }
    // RFC 6582 3.2 step 2: only if the ACK covers more than `recover` (no second fast
    // retransmit for losses of the same window).
    if (c.phase != CcPhase::Open || t.snd_una < c.recover) return;
    if (t.sack_ok) {
        // RFC 6675 5 (3): DupThresh duplicates, or IsLost(HighACK + 1) with fewer.
        if (c.dupacks >= Congestion::kDupThresh || t.sack.is_lost(t.snd_una, smss))
            enter_sack_recovery();
        return;
    }
    if (c.dupacks != Congestion::kDupThresh) return;
    c.enter_recovery(uint32_t(t.snd_max - t.snd_una), smss, t.snd_max);
    queue_retransmit(t.snd_una, t.snd_una + smss);  // RFC 5681 3.2 step 3
    ++stats_->fast_retrans;
    ++stats_->reno_recovery;
}

// RTO expiry for data or FIN: RFC 5681 (4) and LW, then everything outstanding is sent
// again in cwnd as ACKs return (go-back-N from SND.UNA, as Linux's loss state).
void Connection::cc_on_timeout(bool first) noexcept {
    Tcb& t = tcb_;
    // RFC 2018 8 / RFC 6675 5.1: after a timeout the receiver may have reneged; the SACK
    // information is not trusted (go-back-N resends SACKed bytes too).
    t.sack.clear();
    if (t.cc.cwnd != 0)
        t.cc.on_timeout(uint32_t(t.snd_max - t.snd_una), t.send_mss, t.snd_max,
                        first && t.cc.phase != CcPhase::Loss);
    queue_retransmit(t.snd_una, t.snd_max);
}

// RFC 6675 5: every ACK updates the scoreboard (before the cumulative ACK is processed, so
// the congestion code sees both). Returns true if a block SACKed bytes not SACKed before.
bool Connection::sack_update(const Segment& seg) noexcept {
    Tcb& t = tcb_;
    if (!t.sack_ok) return false;
    const SeqNum una = wire::seq_max(t.snd_una, seg.ack);  // check_ack made ack <= SND.NXT
    t.sack.advance(una);
    bool fresh = false;
    for (uint8_t i = 0; i < seg.options.sack_count && i < wire::TcpOptions::kMaxSackBlocks; ++i)
        fresh |= t.sack.add(seg.options.sack[i].left, seg.options.sack[i].right, una, t.snd_max);
    return fresh;
}

// New SACK information on an ACK that is not a duplicate by RFC 5681 2's definition (it
// carries data, moves the window or SND.UNA): when data flows both ways nearly every ACK
// carries data, and RFC 6675's DupAcks would never count. Like Linux (tcp_time_to_recover),
// let the scoreboard alone start recovery: IsLost(HighACK + 1), RFC 6675 5 (3)(b).
void Connection::cc_on_sack() noexcept {
    Tcb& t = tcb_;
    const Congestion& c = t.cc;
    if (c.cwnd == 0 || c.phase != CcPhase::Open || t.snd_una == t.snd_max ||
        t.snd_una < c.recover || t.snd_una == t.iss)
        return;
    if (t.sack.is_lost(t.snd_una, t.send_mss)) {
        enter_sack_recovery();
    } else if (probe_sacked()) {
        enter_sack_recovery();
        ++stats_->loss_probe_recovery;
    }
}

// The loss probe (the last segment sent, PTO = 2*SRTT after the rest of the flight) was
// SACKed above a hole: what is missing below it was sent long enough before it to be
// judged lost, as RACK would (RFC 8985 6.2, 7.4), even with fewer than DupThresh
// duplicates.
bool Connection::probe_sacked() const noexcept {
    const Tcb& t = tcb_;
    if (!t.tlp_out || t.sack.empty()) return false;
    const SeqNum last = t.tlp_end - 1;
    for (uint8_t i = 0; i < t.sack.count(); ++i)
        if (t.sack[i].start <= last && last < t.sack[i].end) return true;
    return false;
}

// RFC 6675 5 (4): RecoveryPoint = HighData, ssthresh = cwnd = FlightSize / 2 (RFC 5681
// (4)), retransmit HighACK + 1 at once (up to the first SACKed byte) and set HighRxt.
void Connection::enter_sack_recovery() noexcept {
    Tcb& t = tcb_;
    Congestion& c = t.cc;
    const uint32_t smss = t.send_mss;
    c.enter_recovery(uint32_t(t.snd_max - t.snd_una), smss, t.snd_max);
    c.cwnd = c.ssthresh;
    c.sack_recovery = true;
    SeqNum end = t.snd_una + smss;
    if (!t.sack.empty()) end = wire::seq_min(end, t.sack[0].start);
    queue_retransmit(t.snd_una, end);
    t.sack.high_rxt = t.rtx_end;
    ++stats_->fast_retrans;
    ++stats_->sack_recovery;
}

// Whether output() could send new data or our FIN now (NextSeg rule (2) comes before (3)).
bool Connection::new_data_ready() const noexcept {
    const Tcb& t = tcb_;
    if (t.fin_sent) return false;
    const uint32_t unsent = uint32_t(snd_buf_.size()) - uint32_t(t.snd_nxt - t.snd_buf_seq);
    if (unsent == 0) return states::kFinQueued.contains(t.state);
    return t.snd_una + t.snd_wnd > t.snd_nxt;
}

// RFC 6675 5 (C): while cwnd - pipe >= 1 SMSS, send what NextSeg() picks; new data (rule
// (2)) is output()'s, after this returns.
bool Connection::send_sack_retransmissions(time::Instant now, Effects& fx) noexcept {
    Tcb& t = tcb_;
    const uint32_t smss = t.send_mss;
    bool sent = false;
    for (;;) {
        const uint32_t pipe = t.sack.pipe(t.snd_una, t.snd_max, smss);
        if (pipe + smss > t.cc.cwnd) break;
        std::optional<SeqRange> h = t.sack.next_lost(t.snd_una, smss);  // rule (1)
        if (!h) {
            if (new_data_ready()) break;                        // rule (2)
            h = t.sack.next_unsacked(t.snd_una);             // rule (3)
            if (!h) break;
        }
        if (fx.segment_room() <= 1) {
            fx.more_output = true;
            break;
        }
        const uint32_t n = send_at(h->start, uint32_t(h->end - h->start), now, fx);
        if (n == 0) break;
        t.sack.high_rxt = h->start + n;
        t.rtx.timing = false;  // Karn (RFC 6298 (3))
        ++stats_->retrans_segs;
        sent = true;
    }
    return sent;
}

void Connection::queue_retransmit(SeqNum from, SeqNum to) noexcept {
    Tcb& t = tcb_;
    t.rtx_next = from;
    t.rtx_end = wire::seq_min(to, t.snd_max);
    t.rtx.timing = false;  // Karn (RFC 6298 (3)): no sample from a retransmitted segment
}

// Sends the retransmission queue; in the Loss phase only as far as cwnd allows (what was
// sent again and is not yet acknowledged counts against it).
bool Connection::send_retransmissions(time::Instant now, Effects& fx) noexcept {
    Tcb& t = tcb_;
    bool sent = false;
    if (t.snd_una == t.iss) return false;  // the SYN has its own path
    if (t.rtx_next < t.snd_una) t.rtx_next = t.snd_una;
    if (t.rtx_end > t.snd_max) t.rtx_end = t.snd_max;
    while (t.rtx_next < t.rtx_end) {
        // After an RTO, SACK blocks that arrive during the go-back-N (the scoreboard was
        // cleared at the timeout) spare what they cover: RFC 6675 5.1 "SHOULD utilize all
        // SACK information made available during the loss recovery following an RTO".
        SeqRange run{t.rtx_next, t.rtx_end};
        if (t.cc.phase == CcPhase::Loss && !t.sack.empty()) {
            run = t.sack.unsacked_from(t.rtx_next, t.rtx_end);
            t.rtx_next = run.start;
            if (!(run.start < run.end)) break;
        }
        if (t.cc.phase == CcPhase::Loss && t.cc.cwnd != 0 &&
            uint32_t(t.rtx_next - t.snd_una) - t.sack.sacked_below(t.rtx_next) >= t.cc.cwnd)
            break;
        if (fx.segment_room() <= 1) {
            fx.more_output = true;
            break;
        }
        const uint32_t n = send_at(t.rtx_next, uint32_t(run.end - t.rtx_next), now, fx);
        if (n == 0) break;
        t.rtx_next += n;
        ++stats_->retrans_segs;
        sent = true;
    }
    if (t.cc.sack_recovery && t.rtx_next >= t.rtx_end && !fx.more_output)
        sent |= send_sack_retransmissions(now, fx);
    return sent;
}

// Sends the sent-before bytes from `seq`, at most one SMSS and `max` sequence numbers
// (our FIN counts one). Returns the sequence space the segment covers.
uint32_t Connection::send_at(SeqNum seq, uint32_t max, time::Instant now, Effects& fx) noexcept {
    Tcb& t = tcb_;
    const SeqNum data_end = t.fin_sent ? t.fin_seq : t.snd_max;
    const uint32_t avail = data_end > seq ? uint32_t(data_end - seq) : 0u;
    const uint32_t offset = uint32_t(seq - t.snd_buf_seq);
    const auto chunk = snd_buf_.peek(offset, std::min<uint32_t>({payload_room(), max, avail}));
    const uint32_t len = uint32_t(chunk.size());
    const bool fin = t.fin_sent && seq + len == t.fin_seq && len < max;
    if (len == 0 && !fin) return 0;
    Flags f = Flags::Ack;
    if (len > 0 && offset + len == snd_buf_.size()) f |= Flags::Psh;
    if (fin) f |= Flags::Fin;
    OutSegment s = make_segment(f, seq, now);
    s.payload = chunk;
    emit(s, fx);
    t.last_send = now;
    return len + (fin ? 1u : 0u);
}

// How many more new bytes cwnd allows (RFC 5681 3.1: FlightSize < cwnd). Nothing new
// while an RTO's retransmissions are still queued. Restart after idle: RFC 5681 4.1.
uint32_t Connection::cwnd_room(time::Instant now) noexcept {
    Tcb& t = tcb_;
    Congestion& c = t.cc;
    if (c.cwnd == 0) return UINT32_MAX;
    if (t.snd_una == t.snd_max && now - t.last_send > t.rtx.rto) {
        c.cwnd = std::min(
            c.cwnd, Congestion::initial_window(t.send_mss, std::max<uint8_t>(cfg_->initial_window, 1)));
        t.last_send = now;
    }
    if (c.phase == CcPhase::Loss && t.rtx_next < t.rtx_end) return 0;
    if (c.sack_recovery) {  // RFC 6675 5 (C): pipe, not FlightSize, against cwnd
        const uint32_t pipe = t.sack.pipe(t.snd_una, t.snd_max, t.send_mss);
        return pipe < c.cwnd ? c.cwnd - pipe : 0u;
    }
    const uint32_t flight = uint32_t(t.snd_nxt - t.snd_una);
    return flight < c.cwnd ? c.cwnd - flight : 0u;
}

}  // namespace sluice::tcp
