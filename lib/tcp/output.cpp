// Building segments: headers, the advertised window (RFC 7323 2.3 scaling, never shrinking
// the right edge, RFC 9293 3.8.6.2.2), options (RFC 7323, RFC 2018, RFC 9293 3.7.1), data
// and FIN from the send buffer, in cwnd after any retransmissions.

#include <algorithm>

#include "tcp/connection.hpp"

namespace sluice::tcp {

using wire::SeqNum;

// RCV.WND: what the last advertised right edge leaves open.
uint32_t Connection::rcv_wnd() const noexcept {
    return tcb_.rcv_adv > tcb_.rcv_nxt ? uint32_t(tcb_.rcv_adv - tcb_.rcv_nxt) : 0u;
}

// RFC 9293 3.8.6.2.2 (MUST-39) receiver SWS avoidance: the right edge moves only by at
// least min(Fr * RCV.BUFF, Eff.snd.MSS), Fr = 1/2.
uint32_t Connection::rcv_sws_threshold() const noexcept {
    return std::min<uint32_t>(uint32_t(rcv_buf_.capacity() / 2), tcb_.send_mss);
}

// The header window field for a segment carrying ACK. A SYN's window is never scaled (RFC
// 7323 2.2). The right edge never moves left (RFC 9293 3.8.6.2.2, "shrinking the window"
// is strongly discouraged) and moves right only by the SWS threshold (MUST-39), in every
// segment, and RCV.ADV / Last.ACK.sent are recorded. RCV.ADV never passes the end of the
// ring (RCV.NXT + free): every byte promised has a place.
uint16_t Connection::advertise(bool syn) noexcept {
    Tcb& t = tcb_;
    const uint8_t shift = syn ? 0 : t.rcv_wscale;
    const uint32_t free = uint32_t(rcv_buf_.free());
    uint32_t field = std::min<uint32_t>(free >> shift, 65535u);
    SeqNum edge = t.rcv_nxt + (field << shift);
    const bool silly = !syn && edge > t.rcv_adv && uint32_t(edge - t.rcv_adv) < rcv_sws_threshold();
    if (edge < t.rcv_adv || silly) {
        // Holding the old edge means rounding up to the scale unit. Only while that still fits
        // the ring: rounding up again on every ACK from an edge already rounded up would creep
        // past the buffer (by up to 2^shift - 1 bytes per ACK, without bound). Otherwise the
        // edge the peer sees retracts by less than 2^shift, which RFC 7323 2.4 allows; RCV.ADV
        // stays, and data up to it still fits.
        const uint32_t up = std::min<uint32_t>((rcv_wnd() + (1u << shift) - 1) >> shift, 65535u);
        if ((up << shift) <= free) {
            field = up;
            edge = t.rcv_nxt + (field << shift);
        }
    }
    if (edge > t.rcv_adv) t.rcv_adv = edge;
    t.last_ack_sent = t.rcv_nxt;
    return uint16_t(field);
}

OutSegment Connection::make_segment(Flags f, SeqNum seq, time::Instant now) noexcept {
    OutSegment s;
    s.src_port = tuple_.local.port;
    s.dst_port = tuple_.remote.port;
    s.seq = seq;
    s.flags = f;
    if (f.has(Flags::Ack)) {
        s.ack = tcb_.rcv_nxt;
        s.window = advertise(f.has(Flags::Syn));
    } else if (!f.has(Flags::Rst)) {
        s.window = uint16_t(std::min<std::size_t>(rcv_buf_.free(), 65535u));  // our SYN
    }
    // RFC 7323 3.2: TSopt in every non-RST segment once negotiated.
    if (tcb_.ts_ok && !f.has(Flags::Rst)) {
        s.options.has_timestamps = true;
        s.options.ts_val = ts_clock(now);
        s.options.ts_ecr = tcb_.ts_recent;
    }
    if (f.has(Flags::Ack)) add_sack_blocks(s);
    return s;
}

bool Connection::emit(const OutSegment& s, Effects& fx) noexcept {
    // A pure ACK of ours still in the sink (the host made another call, e.g. close() from
    // the PeerClosed callback, before draining) rides on this segment instead: this is how
    // the passive side of a three-way close sends its ACK together with its FIN.
    // Only a segment that carries something merges: pure ACKs stay separate, so duplicate
    // ACKs still reach the peer one by one.
    const bool carries = !s.payload.empty() || s.flags.has(Flags::Fin);
    if (carries && s.flags.has(Flags::Ack) && fx.segment_count > 0) {
        OutSegment& last = fx.segments[fx.segment_count - 1];
        if (last.flags == Flags::Ack && last.payload.empty() && last.seq == s.seq &&
            last.src_port == s.src_port && last.dst_port == s.dst_port) {
            last = s;
            return true;
        }
    }
    if (!fx.push_segment(s)) return false;
    ++stats_->out_segs;
    if (s.flags.has(Flags::Ack) && s.ack == tcb_.rcv_nxt) {  // all received data is ACKed
        tcb_.delack_segs = 0;
        cancel(TimerKind::DelayedAck, fx);
    }
    if (s.flags.has(Flags::Rst)) ++stats_->out_rsts;
    return true;
}

// SYN in SYN-SENT (our options from Config), SYN-ACK otherwise (only what both offered).
void Connection::send_syn(time::Instant now, Effects& fx) noexcept {
    const bool active = tcb_.state == State::SynSent;
    OutSegment s = make_segment(active ? Flags::Syn : Flags::Syn | Flags::Ack, tcb_.iss, now);
    wire::TcpOptions& o = s.options;
    o.has_mss = true;
    o.mss = local_mss(*cfg_, tuple_.local.addr.family);
    if (active) {
        o.has_wscale = cfg_->window_scaling;
        o.wscale = offered_window_scale(*cfg_, rcv_buf_.capacity());
        o.sack_permitted = cfg_->sack_permitted;
        o.has_timestamps = cfg_->timestamps;
        o.ts_val = cfg_->timestamps ? ts_clock(now) : 0;
        o.ts_ecr = 0;
    } else {
        o.has_wscale = tcb_.ws_ok;
        o.wscale = tcb_.rcv_wscale;
        o.sack_permitted = tcb_.sack_ok;
    }
    emit(s, fx);
    tcb_.ack_pending = false;
}

// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
void Connection::send_ack(time::Instant now, Effects& fx) noexcept {
    emit(make_segment(Flags::Ack, tcb_.snd_nxt, now), fx);
    tcb_.ack_pending = false;
}

// <SEQ=seq><CTL=RST>
void Connection::send_rst(SeqNum seq, Effects& fx) noexcept {
    OutSegment s;
    s.src_port = tuple_.local.port;
    s.dst_port = tuple_.remote.port;
    s.seq = seq;
    s.flags = Flags::Rst;
    emit(s, fx);
}

// Retransmissions first (congestion.cpp), then new data and our FIN as far as the peer's
// window (RFC 9293 3.8.6.2.1) and cwnd (RFC 5681) allow, then a pure ACK if one is owed
// and nothing else carried it. One slot of the Effects is kept free for a control segment.
void Connection::output(time::Instant now, Effects& fx, bool probe) noexcept {
    Tcb& t = tcb_;
    bool sent = false;
    bool sent_new = false;
    if (states::kCanOutput.contains(t.state)) {
        if (!probe) sent = send_retransmissions(now, fx);
        const bool fin_wanted = states::kFinQueued.contains(t.state);
        bool cwnd_checked = false;
        uint32_t cwnd_left = 0;
        while (!t.fin_sent && !fx.more_output) {
            const uint32_t offset = uint32_t(t.snd_nxt - t.snd_buf_seq);
            const uint32_t unsent = uint32_t(snd_buf_.size()) - offset;
            if (unsent == 0 && !fin_wanted) break;
            if (!cwnd_checked) {
                cwnd_left = probe ? uint32_t(t.send_mss) : cwnd_room(now);
                cwnd_checked = true;
            }
            const SeqNum right = t.snd_una + t.snd_wnd;
            const uint32_t usable = right > t.snd_nxt ? uint32_t(right - t.snd_nxt) : 0u;
            const uint32_t room = payload_room();
            const auto chunk =
                snd_buf_.peek(offset, std::min<uint32_t>({room, unsent, usable, cwnd_left}));
            const uint32_t len = uint32_t(chunk.size());
            // The FIN takes a sequence number: it goes only where the window has room for it
            // (as Linux's tcp_snd_wnd_test); otherwise it waits, and a zero window is probed
            // (RFC 9293 3.8.6.1, MUST-36) instead of retransmitting a FIN the peer must drop.
            const bool fin = fin_wanted && len == unsent && usable > len;
            if (len == 0 && !fin) break;
            // RFC 9293 3.8.6.2.1 (MUST-38) sender SWS avoidance: a segment cut short by the
            // peer's window goes only if it is at least half the largest window the peer has
            // offered; otherwise wait for the window to open (or the override timeout, the
            // persist timer). All the queued data in one short segment is Nagle's call below.
            if (!probe && len == usable && len < room && len < unsent && len < t.max_snd_wnd / 2)
                break;
            // RFC 9293 3.7.4 (RFC 896) Nagle: a less-than-full segment waits while data is
            // unacknowledged, unless it carries our FIN (closing pushes, as Linux does).
            if (!probe && !t.nodelay && len < room && len == unsent && !fin &&
                t.snd_nxt != t.snd_una)
                break;
            if (fx.segment_room() <= 1) {
                fx.more_output = true;
                break;
            }
            Flags f = Flags::Ack;
            if (len > 0 && len == unsent) f |= Flags::Psh;
            if (fin) f |= Flags::Fin;
            OutSegment s = make_segment(f, t.snd_nxt, now);
            s.payload = chunk;
            emit(s, fx);
            sent = true;
            if (!t.rtx.timing && t.rtx_next >= t.rtx_end) {  // RFC 6298 (3): time this one
                t.rtx.timing = true;
                t.rtx.timed_seq = t.snd_nxt;
                t.rtx.timed_at = now;
            }
            t.last_send = now;
            cwnd_left -= std::min(cwnd_left, len);
            t.snd_nxt += len;
            if (fin) {
                t.fin_seq = t.snd_nxt;
                t.fin_sent = true;
                t.snd_nxt += 1;
            }
            t.snd_max = wire::seq_max(t.snd_max, t.snd_nxt);
            sent_new = true;
            if (probe) break;
        }
    }
    if (sent) t.ack_pending = false;
    if (t.ack_pending) send_ack(now, fx);
    // RFC 8985 7.2: new data (re)starts the probe timer; otherwise the timer runs on.
    if (t.snd_una != t.snd_max &&
        (!armed(TimerKind::Retransmit) || (sent_new && t.pto_armed)))
        arm_loss_timer(now, fx);
    // RFC 9293 3.8.6.1: data waits behind a zero window with nothing in flight to bring
    // an update: probe after RTO, backing off. The same timer is the override timeout for
    // a runt held back by SWS avoidance (3.8.6.2.1).
    if (zero_window_stall() || sws_stall()) {
        if (!armed(TimerKind::Persist))
            arm(TimerKind::Persist, now + t.rtx.current(cfg_->max_rto), fx);
    } else {
        cancel(TimerKind::Persist, fx);
        t.persist_backoff = 0;  // the window opened: the next stall starts from the RTO
    }
}

// Nothing in flight and the runt the window allows held back by SWS avoidance (the
// condition in output() with SND.NXT = SND.UNA): only the override timeout sends it.
bool Connection::sws_stall() const noexcept {
    const Tcb& t = tcb_;
    if (!states::kCanOutput.contains(t.state) || t.snd_una != t.snd_max || t.snd_wnd == 0)
        return false;
    const uint32_t unsent = uint32_t(snd_buf_.size()) - uint32_t(t.snd_nxt - t.snd_buf_seq);
    return t.snd_wnd < unsent && t.snd_wnd < payload_room() && t.snd_wnd < t.max_snd_wnd / 2;
}

bool Connection::zero_window_stall() const noexcept {
    const Tcb& t = tcb_;
    if (!states::kCanOutput.contains(t.state) || t.snd_wnd != 0 || t.snd_una != t.snd_max)
        return false;
    const uint32_t offset = uint32_t(t.snd_nxt - t.snd_buf_seq);
    const bool data_waiting = snd_buf_.size() > offset;
    const bool fin_waiting = states::kFinQueued.contains(t.state) && !t.fin_sent;
    return data_waiting || fin_waiting;
}

void Connection::poll_output(time::Instant now, Effects& fx) noexcept {
    if (states::kCanOutput.contains(tcb_.state)) output(now, fx);
    verify();
}

// RTO expiry before the handshake completed: our SYN (or SYN-ACK) again.
void Connection::retransmit_syn(time::Instant now, Effects& fx) noexcept {
    ++stats_->retrans_segs;
    tcb_.syn_retransmitted = true;
    send_syn(now, fx);
}

}  // namespace sluice::tcp
