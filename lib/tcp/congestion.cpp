// Connection glue for RTT sampling (RFC 6298 (2)-(3), RFC 7323 4.1), congestion control
// (RFC 5681, RFC 6582 NewReno) and the retransmission queue the RTO and fast retransmit
// fill: [rtx_next, rtx_end) is sent again from the send buffer before any new data.

#include <algorithm>
#include <chrono>

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
        c.cwnd += smss;  // RFC 5681 3.2 step 4: inflate; output() may send new data
        return;
    }
    // RFC 6582 3.2 step 2: only if the ACK covers more than `recover` (no second fast
    // retransmit for losses of the same window).
    if (c.phase != CcPhase::Open || c.dupacks != Congestion::kDupThresh || t.snd_una < c.recover)
        return;
    c.enter_recovery(uint32_t(t.snd_max - t.snd_una), smss, t.snd_max);
    queue_retransmit(t.snd_una, t.snd_una + smss);  // RFC 5681 3.2 step 3
    ++stats_->fast_retrans;
    ++stats_->reno_recovery;
}

// RTO expiry for data or FIN: RFC 5681 (4) and LW, then everything outstanding is sent
// again in cwnd as ACKs return (go-back-N from SND.UNA, as Linux's loss state).
void Connection::cc_on_timeout(bool first) noexcept {
    Tcb& t = tcb_;
    if (t.cc.cwnd != 0)
        t.cc.on_timeout(uint32_t(t.snd_max - t.snd_una), t.send_mss, t.snd_max,
                        first && t.cc.phase != CcPhase::Loss);
    queue_retransmit(t.snd_una, t.snd_max);
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
        if (t.cc.phase == CcPhase::Loss && t.cc.cwnd != 0 &&
            uint32_t(t.rtx_next - t.snd_una) >= t.cc.cwnd)
            break;
        if (fx.segment_room() <= 1) {
            fx.more_output = true;
            break;
        }
        const uint32_t n = send_at(t.rtx_next, uint32_t(t.rtx_end - t.rtx_next), now, fx);
        if (n == 0) break;
        t.rtx_next += n;
        ++stats_->retrans_segs;
        sent = true;
    }
    return sent;
}

// Sends the sent-before bytes from `seq`, at most one SMSS and `max` sequence numbers
// (our FIN counts one). Returns the sequence space the segment covers.
uint32_t Connection::send_at(SeqNum seq, uint32_t max, time::Instant now, Effects& fx) noexcept {
    Tcb& t = tcb_;
    const SeqNum data_end = t.fin_sent ? t.fin_seq : t.snd_max;
    const uint32_t avail = data_end > seq ? uint32_t(data_end - seq) : 0u;
    const uint32_t offset = uint32_t(seq - t.snd_buf_seq);
    const auto chunk = snd_buf_.peek(offset, std::min<uint32_t>({t.send_mss, max, avail}));
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
    const uint32_t flight = uint32_t(t.snd_nxt - t.snd_una);
    return flight < c.cwnd ? c.cwnd - flight : 0u;
}

}  // namespace sluice::tcp
