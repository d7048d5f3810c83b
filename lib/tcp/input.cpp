// Segment arrival, RFC 9293 3.10.7, in the RFC's order: one function per state group
// (3.10.7.1 CLOSED, 3.10.7.2 LISTEN, 3.10.7.3 SYN-SENT, 3.10.7.4 the others) and, for the
// others, one function per step. TIME-WAIT shares its rules with the compact entry
// (time_wait.cpp).

#include <algorithm>

#include "tcp/connection.hpp"

namespace sluice::tcp {

using wire::SeqNum;

// The arriving segment as the steps see it once the first step trimmed it to the window.
struct Connection::Incoming {
    const Segment& seg;
    SeqNum seq;                        // first sequence number still in the segment
    Flags flags;                       // SYN / FIN removed when trimmed away
    std::span<const uint8_t> payload;  // text inside the receive window
};

void Connection::on_segment(const Segment& seg, time::Instant now, Effects& fx) noexcept {
    ++stats_->in_segs;
    switch (tcb_.state) {
        case State::Closed: on_closed(seg, fx); break;            // 3.10.7.1
        case State::Listen: on_listen(seg, now, fx); break;       // 3.10.7.2
        case State::SynSent: on_syn_sent(seg, now, fx); break;    // 3.10.7.3
        case State::TimeWait: on_time_wait(seg, now, fx); break;  // 3.10.7.4, via TimeWaitEntry
        case State::SynReceived:
        case State::Established:
        case State::FinWait1:
        case State::FinWait2:
        case State::CloseWait:
        case State::Closing:
        case State::LastAck: on_synchronized(seg, now, fx); break;  // 3.10.7.4
    }
    verify();
}

// RFC 9293 3.10.7.1: CLOSED. An RST is dropped; anything else is answered with an RST.
bool reset_for_closed(const Segment& seg, OutSegment& reply) noexcept {
    if (seg.flags.has(Flags::Rst)) return false;
    reply = OutSegment{};
    reply.src_port = seg.dst_port;
    reply.dst_port = seg.src_port;
    if (seg.flags.has(Flags::Ack)) {
        reply.seq = seg.ack;  // <SEQ=SEG.ACK><CTL=RST>
        reply.flags = Flags::Rst;
    } else {
        reply.seq = SeqNum(0);  // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
        reply.ack = seg.seq + seg.seg_len();
        reply.flags = Flags::Rst | Flags::Ack;
    }
    return true;
}

void Connection::on_closed(const Segment& seg, Effects& fx) noexcept {
    drop(DropReason::Closed);
    OutSegment reply;
    if (reset_for_closed(seg, reply)) emit(reply, fx);
}

// RFC 9293 3.10.7.2: LISTEN.
void Connection::on_listen(const Segment& seg, time::Instant now, Effects& fx) noexcept {
    // First: an RST is ignored.
    if (seg.flags.has(Flags::Rst)) return drop(DropReason::ListenNoSyn);
    // Second: any ACK is bad in LISTEN: <SEQ=SEG.ACK><CTL=RST>.
    if (seg.flags.has(Flags::Ack)) {
        drop(DropReason::ListenNoSyn);
        OutSegment reply;
        if (reset_for_closed(seg, reply)) emit(reply, fx);
        return;
    }
    // Third: SYN (the security check does not apply: no IP security options).
    if (seg.flags.has(Flags::Syn)) {
        if (isn_gen_ && isn_gen_->in_quiet_time(now)) return drop(DropReason::QuietTime);  // 3.4.3
        if (tuple_.remote.port == 0) tuple_.remote.port = seg.src_port;
        Tcb& t = tcb_;
        t.irs = seg.seq;
        t.rcv_nxt = seg.seq + 1;
        t.rcv_adv = t.rcv_nxt;
        t.iss = isn_gen_ ? isn_gen_->isn(tuple_, now) : listen_iss_;
        t.snd_una = t.iss;
        t.snd_nxt = t.snd_max = t.snd_buf_seq = t.iss + 1;
        negotiate_options(seg.options);
        t.snd_wnd = seg.window;  // a SYN's window is never scaled (RFC 7323 2.2)
        t.max_snd_wnd = t.snd_wnd;
        t.snd_wl1 = seg.seq;
        t.last_rx = now;
        set_state(State::SynReceived);
        ++stats_->passive_opens;
        // Text or FIN on the SYN is not queued: the peer sends it again once synchronized.
        send_syn(now, fx);  // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
        arm_retransmit(now, fx);
        return;
    }
    // Fourth: other text or control: drop.
    drop(DropReason::ListenNoSyn);
}

// RFC 9293 3.10.7.3: SYN-SENT.
void Connection::on_syn_sent(const Segment& seg, time::Instant now, Effects& fx) noexcept {
    Tcb& t = tcb_;
    const Flags f = seg.flags;
    // First: the ACK bit. Unacceptable unless ISS < SEG.ACK =< SND.NXT.
    bool ack_ok = false;
    if (f.has(Flags::Ack)) {
        if (seg.ack <= t.iss || seg.ack > t.snd_nxt) {
            drop(DropReason::SynSentBadAck);
            if (!f.has(Flags::Rst)) send_rst(seg.ack, fx);  // <SEQ=SEG.ACK><CTL=RST>
            return;
        }
        ack_ok = seg.ack > t.snd_una;
    }
    // Second: RST. With an acceptable ACK: "connection refused"; otherwise drop.
    if (f.has(Flags::Rst)) {
        if (ack_ok) return enter_closed(CloseReason::Refused, fx);
        return drop(DropReason::SynSentBadAck);
    }
    // Third: security (not applicable).
    // Fourth: SYN.
    if (f.has(Flags::Syn)) {
        t.irs = seg.seq;
        t.rcv_nxt = seg.seq + 1;
        // Our SYN announced min(free, 65535) unscaled: that is the window until we ACK.
        t.rcv_adv = t.rcv_nxt + std::min<uint32_t>(uint32_t(rcv_buf_.free()), 65535u);
        negotiate_options(seg.options);
        t.snd_wnd = seg.window;  // never scaled in a SYN (RFC 7323 2.2)
        t.max_snd_wnd = t.snd_wnd;
        t.snd_wl1 = seg.seq;
        t.snd_wl2 = seg.ack;
        if (ack_ok) ack_sent_data(seg.ack, nullptr, now, fx);
        if (t.snd_una > t.iss) {
            // Our SYN is acknowledged: ESTABLISHED, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
            enter_established(now, fx);
            t.ack_pending = true;
            // Text or FIN on the SYN-ACK: continue at the sixth step of 3.10.7.4.
            if (!seg.payload.empty() || f.has(Flags::Fin)) {
                Incoming in{seg, seg.seq + 1, f.without(Flags::Syn), seg.payload};
                uint32_t wnd = rcv_wnd();
                if (in.payload.size() > wnd) {
                    in.payload = in.payload.first(wnd);
                    in.flags = in.flags.without(Flags::Fin);
                }
                process_text(in, now, fx);
                check_fin(in, now, fx);
            }
            output(now, fx);
        } else {
            // Simultaneous open: SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
            set_state(State::SynReceived);
            send_syn(now, fx);
        }
        return;
    }
    // Fifth: neither SYN nor RST: drop.
    drop(DropReason::SynSentBadAck);
}

void Connection::on_time_wait(const Segment& seg, time::Instant now, Effects& fx) noexcept {
    TimeWaitEntry tw = time_wait_entry();
    OutSegment reply;
    const TimeWaitResult r = time_wait_on_segment(tw, seg, now, *cfg_, reply);
    tcb_.ts_recent = tw.ts_recent;
    if (r.restarted) arm(TimerKind::TimeWait, tw.deadline, fx);
    switch (r.action) {
        case TimeWaitAction::Drop: break;
        case TimeWaitAction::Ack:
            if (!r.challenge || take_challenge_ack(*stats_, now)) emit(reply, fx);
            break;
        case TimeWaitAction::Reopen:
            fx.push_event({EventKind::Reopen, CloseReason::Normal, r.iss_after});
            enter_closed(CloseReason::Normal, fx);
            break;
        case TimeWaitAction::Close: enter_closed(CloseReason::Reset, fx); break;
    }
}

// RFC 9293 3.10.7.4: SYN-RECEIVED and the synchronized states.
void Connection::on_synchronized(const Segment& seg, time::Instant now, Effects& fx) noexcept {
    Incoming in{seg, seg.seq, seg.flags, seg.payload};
    if (!check_sequence(in, now, fx)) return;  // first: sequence number (and PAWS)
    if (!check_rst(in, now, fx)) return;       // second: RST bit
    // third: security and compartment: no IP security options are supported.
    if (!check_syn(in, now, fx)) return;  // fourth: SYN bit
    if (!check_ack(in, now, fx)) return;  // fifth: ACK field
    // sixth: URG is ignored; urgent data is delivered inline as normal text (RFC 6093).
    if (!process_text(in, now, fx)) return;  // seventh: segment text
    check_fin(in, now, fx);                  // eighth: FIN bit
    output(now, fx);
}

// First step: is the segment in the receive window? (plus RFC 7323 3.2 / 5.3 checks)
bool Connection::check_sequence(Incoming& in, time::Instant now, Effects& fx) noexcept {
    Tcb& t = tcb_;
    const Segment& seg = in.seg;
    const bool rst = seg.flags.has(Flags::Rst);
    if (t.state == State::SynReceived && seg.flags.has(Flags::Syn) && seg.seq == t.irs) {
        if (!seg.flags.has(Flags::Ack)) {
            // The peer's SYN again: our SYN-ACK was lost. Send it again.
            send_syn(now, fx);
            return false;
        }
        // Simultaneous open, RFC 9293 Figure 8 line 6: the peer's SYN-ACK repeats the SYN
        // we hold; its ACK completes the handshake (Linux tcp_validate_incoming agrees).
        in.seq = seg.seq + 1;
        in.flags = in.flags.without(Flags::Syn);
    }
    // RFC 7323 3.2: once timestamps are in use, a non-RST segment without one is dropped.
    if (t.ts_ok && !seg.options.has_timestamps && !rst) {
        drop(DropReason::MissingTimestamp);
        return false;
    }
    // RFC 7323 5.5: after 24 days without a segment from the peer TS.Recent is invalid
    // (its 1 ms clock may have moved half the 32-bit space): skip PAWS and take the next
    // TSval. (Linux: TCP_PAWS_24DAYS, from when TS.Recent was last set.)
    const bool ts_recent_valid = now - t.last_rx <= kPawsIdleLimit;
    // RFC 7323 5.3 R1 (PAWS): a TSval older than TS.Recent marks an old duplicate.
    if (t.ts_ok && !rst && ts_recent_valid &&
        static_cast<int32_t>(seg.options.ts_val - t.ts_recent) < 0) {
        ++stats_->paws_rejected;
        drop(DropReason::Paws);
        send_ack(now, fx);
        return false;
    }
    // The four cases of RFC 9293 3.10.7.4 first step.
    const uint32_t wnd = rcv_wnd();
    const uint32_t len = uint32_t(in.payload.size()) + (in.flags.has(Flags::Syn) ? 1u : 0u) +
                         (in.flags.has(Flags::Fin) ? 1u : 0u);
    const SeqNum lo = t.rcv_nxt;
    const SeqNum hi = t.rcv_nxt + wnd;
    bool ok;
    bool control_only = false;  // RCV.WND = 0: accept the ACK/RST, not the text
    if (len == 0)
        ok = wnd == 0 ? in.seq == lo : wire::seq_in_window(in.seq, lo, hi);
    else if (wnd == 0)
        ok = control_only = in.seq == lo;  // "special allowance ... valid ACKs, URGs and RSTs"
    else
        ok = wire::seq_in_window(in.seq, lo, hi) || wire::seq_in_window(in.seq + (len - 1), lo, hi);
    if (!ok) {
        if (rst) {
            drop(DropReason::RstOutOfWindow);  // RFC 5961 3.2: silently
        } else {
            drop(DropReason::Unacceptable);
            send_ack(now, fx);  // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
        }
        return false;
    }
    // Trim to the window: what lies before RCV.NXT, then what lies beyond it.
    if (in.seq < lo) {
        uint32_t skip = uint32_t(lo - in.seq);
        if (in.flags.has(Flags::Syn)) {
            in.flags = in.flags.without(Flags::Syn);
            --skip;
        }
        std::size_t cut = std::min<std::size_t>(skip, in.payload.size());
        in.payload = in.payload.subspan(cut);
        in.seq = lo;
    }
    if (control_only || uint32_t(in.payload.size()) > uint32_t(hi - in.seq)) {
        in.payload = control_only ? in.payload.first(0) : in.payload.first(uint32_t(hi - in.seq));
        in.flags = in.flags.without(Flags::Fin);
        t.ack_pending = true;  // tell the peer where the window ends
    }
    // RFC 7323 4.3: TS.Recent follows the peer's clock for segments up to Last.ACK.sent.
    if (t.ts_ok && seg.options.has_timestamps && seg.seq <= t.last_ack_sent &&
        (!ts_recent_valid || static_cast<int32_t>(seg.options.ts_val - t.ts_recent) >= 0))
        t.ts_recent = seg.options.ts_val;
    // An acceptable segment proves the peer alive (RFC 1122 4.2.3.6).
    t.last_rx = now;
    t.keepalive_probes = 0;
    return true;
}

// Second step: the RST bit (RFC 5961 3.2 as RFC 9293 recommends).
bool Connection::check_rst(Incoming& in, time::Instant now, Effects& fx) noexcept {
    if (!in.seg.flags.has(Flags::Rst)) return true;
    if (in.seg.seq != tcb_.rcv_nxt) {
        send_challenge_ack(now, fx);  // in the window but not exactly RCV.NXT
        return false;
    }
    switch (tcb_.state) {
        case State::SynReceived:
            // Passive OPEN: back to LISTEN. Active OPEN: "connection refused".
            if (tcb_.passive)
                return_to_listen(fx);
            else
                enter_closed(CloseReason::Refused, fx);
            break;
        case State::Established:
        case State::FinWait1:
        case State::FinWait2:
        case State::CloseWait:
            // Outstanding SENDs and RECEIVEs get "reset", queues are flushed, CLOSED.
            enter_closed(CloseReason::Reset, fx);
            break;
        case State::Closing:
        case State::LastAck:
        default:
            enter_closed(CloseReason::Reset, fx);  // CLOSED, delete the TCB
            break;
    }
    return false;
}

// Fourth step: the SYN bit.
bool Connection::check_syn(Incoming& in, time::Instant now, Effects& fx) noexcept {
    if (!in.flags.has(Flags::Syn)) return true;
    if (tcb_.state == State::SynReceived && tcb_.passive) {
        return_to_listen(fx);  // passive OPEN: back to LISTEN
        return false;
    }
    send_challenge_ack(now, fx);  // synchronized: RFC 5961 4, whatever the sequence number
    return false;
}

// RFC 5961 3.2 / 4: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, within the lcore's budget (7).
void Connection::send_challenge_ack(time::Instant now, Effects& fx) noexcept {
    if (take_challenge_ack(*stats_, now)) send_ack(now, fx);
}

void Connection::update_send_window(const Segment& seg) noexcept {
    // RFC 9293 3.10.7.4 fifth step: only a newer segment (SND.WL1, SND.WL2) moves the window.
    Tcb& t = tcb_;
    if (t.snd_wl1 < seg.seq || (t.snd_wl1 == seg.seq && t.snd_wl2 <= seg.ack)) {
        // RFC 7323 2.2: a SYN's window is never scaled (a simultaneous open's SYN-ACK).
        t.snd_wnd = uint32_t(seg.window) << (seg.flags.has(Flags::Syn) ? 0 : t.snd_wscale);
        t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
        t.snd_wl1 = seg.seq;
        t.snd_wl2 = seg.ack;
    }
}

// SND.UNA moves to `ack`: free acknowledged bytes, restart or stop the RTO (RFC 6298 5.2-5.3).
void Connection::ack_sent_data(SeqNum ack, const Segment* seg, time::Instant now,
                               Effects& fx) noexcept {
    Tcb& t = tcb_;
    if (ack <= t.snd_una) return;
    const SeqNum old_una = t.snd_una;
    std::size_t acked = 0;
    if (ack > t.snd_buf_seq)
        acked = std::min<std::size_t>(uint32_t(ack - t.snd_buf_seq), snd_buf_.size());
    snd_buf_.consume(acked);
    t.snd_buf_seq += uint32_t(acked);
    t.snd_una = ack;
    if (seg) take_rtt_sample(*seg, old_una, now);  // before the timer restarts (5.3)
    t.rtx.on_progress();
    if (seg && old_una != t.iss) cc_on_new_ack(uint32_t(ack - old_una));  // not the SYN
    t.rtx_next = wire::seq_max(t.rtx_next, t.snd_una);  // acknowledged: not sent again
    t.rtx_end = wire::seq_max(t.rtx_end, t.rtx_next);
    if (t.tlp_out && t.snd_una >= t.tlp_end) t.tlp_out = false;  // RFC 8985 7.4: episode over
    if (t.snd_una == t.snd_max)
        cancel(TimerKind::Retransmit, fx);
    else
        arm_loss_timer(now, fx);
    if (acked > 0 && t.send_blocked && snd_buf_.free() > 0) {
        t.send_blocked = false;
        fx.push_event({EventKind::SendSpace, CloseReason::Normal, {}});
    }
}

// Fifth step: the ACK field.
bool Connection::check_ack(Incoming& in, time::Instant now, Effects& fx) noexcept {
    Tcb& t = tcb_;
    const Segment& seg = in.seg;
    if (!seg.flags.has(Flags::Ack)) {
        drop(DropReason::NoAck);  // "if the ACK bit is off, drop the segment and return"
        return false;
    }
    if (t.state == State::SynReceived) {
        // SND.UNA < SEG.ACK =< SND.NXT: ESTABLISHED with SND.WND, SND.WL1, SND.WL2 from it.
        if (!(t.snd_una < seg.ack && seg.ack <= t.snd_nxt)) {
            drop(DropReason::AckUnacceptable);
            send_rst(seg.ack, fx);  // <SEQ=SEG.ACK><CTL=RST>
            return false;
        }
        enter_established(now, fx);
        // A simultaneous open's SYN-ACK completes it here: its window is never scaled
        // (RFC 7323 2.2), even though scaling was negotiated from the SYN before it.
        t.snd_wnd = uint32_t(seg.window) << (seg.flags.has(Flags::Syn) ? 0 : t.snd_wscale);
        t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
        t.snd_wl1 = seg.seq;
        t.snd_wl2 = seg.ack;
    }
    // RFC 5961 5.2: acceptable iff SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT.
    if (seg.ack > t.snd_nxt || seg.ack < t.snd_una - t.max_snd_wnd) {
        drop(DropReason::AckUnacceptable);
        send_ack(now, fx);
        return false;
    }
    t.persist_probes = 0;  // the peer answers: zero-window probing may go on
    const bool fin_was_acked = t.fin_sent && t.snd_una > t.fin_seq;
    const bool dupack = is_duplicate_ack(seg);  // before the window update (RFC 5681 2)
    const bool fresh_sack = sack_update(seg);   // RFC 6675 5: the scoreboard first
    if (seg.ack > t.snd_una)
        ack_sent_data(seg.ack, &seg, now, fx);
    else if (dupack)
        cc_on_duplicate_ack();
    if (fresh_sack) cc_on_sack();
    if (seg.ack >= t.snd_una) update_send_window(seg);
    const bool fin_acked = t.fin_sent && t.snd_una > t.fin_seq;
    switch (t.state) {
        case State::FinWait1:
            // Our FIN acknowledged: FIN-WAIT-2, unless this segment also brings the peer's FIN
            // in order, in which case the eighth step goes straight to TIME-WAIT.
            if (fin_acked && !(in.flags.has(Flags::Fin) && in.seq == t.rcv_nxt)) {
                set_state(State::FinWait2);
                if (t.recv_closed) arm(TimerKind::FinWait2, now + cfg_->fin_wait_2_timeout, fx);
            }
            return true;
        case State::Closing:
            if (fin_acked) {  // our FIN acknowledged: TIME-WAIT
                enter_time_wait(now, fx);
                return false;
            }
            return true;
        case State::LastAck:
            if (fin_acked && !fin_was_acked) {  // our FIN acknowledged: CLOSED
                enter_closed(CloseReason::Normal, fx);
                return false;
            }
            return true;
        default: return true;  // ESTABLISHED, FIN-WAIT-2, CLOSE-WAIT
    }
}

// Seventh step: the segment text. Returns false if the connection ended here.
bool Connection::process_text(Incoming& in, time::Instant now, Effects& fx) noexcept {
    if (in.payload.empty()) return true;
    Tcb& t = tcb_;
    if (!states::kReceivesText.contains(t.state)) return true;  // FIN already received: ignore
    if (t.recv_closed) {
        // close() was called: nobody will read this. RFC 1122 4.2.2.13: send RST to show the
        // data was lost (Linux TCPAbortOnData, FreeBSD alike), <SEQ=SEG.ACK><CTL=RST> as
        // Linux: the peer's RCV.NXT when it sent this, so RFC 5961 3.2 takes it at once.
        // Only new data gets here: the first step already ACKed what lies before RCV.NXT.
        // shutdown_send() leaves recv_closed false: a half-closed connection keeps reading.
        drop(DropReason::AfterClose);
        send_rst(in.seg.ack, fx);
        enter_closed(CloseReason::Aborted, fx);
        return false;
    }
    if (in.seq != t.rcv_nxt) {
        // Beyond RCV.NXT: held for later (reassembly.cpp) and a duplicate ACK at once (RFC
        // 5681 4.2), with SACK blocks when negotiated. A FIN on it is not kept: the peer
        // sends it again.
        in.flags = in.flags.without(Flags::Fin);
        t.ack_pending = true;
        if (!queue_out_of_order(in.seq, in.payload, in.seg.mbuf)) {
            ++stats_->ofo_drop;
            drop(DropReason::OutOfOrder);
        }
        return true;
    }
    const bool filled_hole = !t.ooo.empty();
    std::size_t n = rcv_buf_.push(in.payload, in.seg.mbuf);
    t.rcv_nxt += uint32_t(n);
    if (n < in.payload.size()) {
        in.flags = in.flags.without(Flags::Fin);
        // Room in the window but no mbuf for it (the per-connection cap or the pool): the
        // peer retransmits (Linux TCPRcvQDrop).
        if (n < std::min<std::size_t>(in.payload.size(), rcv_buf_.free() + n))
            ++stats_->rcvq_drop;
    }
    deliver_reassembled();
    // A segment that fills (part of) a hole is ACKed at once (RFC 5681 4.2); in-order data
    // otherwise may wait (RFC 9293 3.8.6.3).
    if (filled_hole || n < in.payload.size())
        t.ack_pending = true;
    else
        schedule_ack(now, fx);
    if (n > 0) fx.push_event({EventKind::DataReadable, CloseReason::Normal, {}});
    return true;
}

// RFC 9293 3.8.6.3 (RFC 1122 4.2.3.2) delayed ACK: at least every second segment (RFC 5681
// 4.2 "every second full-sized segment"), never later than the delayed-ACK timeout.
void Connection::schedule_ack(time::Instant now, Effects& fx) noexcept {
    Tcb& t = tcb_;
    if (!cfg_->delayed_ack || ++t.delack_segs >= 2) {
        t.ack_pending = true;
        return;
    }
    if (!armed(TimerKind::DelayedAck)) arm(TimerKind::DelayedAck, now + cfg_->delayed_ack_timeout, fx);
}

// Eighth step: the FIN bit.
void Connection::check_fin(Incoming& in, time::Instant now, Effects& fx) noexcept {
    Tcb& t = tcb_;
    if (!in.flags.has(Flags::Fin)) return;
    // Beyond RCV.NXT (a bare FIN after a hole; text out of order lost its FIN already):
    // not kept, but ACKed at once like any out-of-order segment (RFC 5681 4.2), so the
    // peer learns of the hole from the duplicate ACK.
    if (in.seq + uint32_t(in.payload.size()) != t.rcv_nxt) {
        t.ack_pending = true;
        return;
    }
    if (!states::kReceivesText.contains(t.state) && t.state != State::SynReceived) return;
    t.rcv_nxt += 1;  // advance RCV.NXT over the FIN and acknowledge it
    t.ack_pending = true;
    // The stream ends here: anything held beyond a hole before the FIN lies past the end of
    // the stream, which no correct peer sends; drop it rather than keep it behind RCV.NXT.
    if (!t.ooo.empty()) {
        stats_->ofo_drop += t.ooo.count();
        t.ooo.clear();
        rcv_buf_.clear_ooo();
    }
    fx.push_event({EventKind::PeerClosed, CloseReason::Normal, {}});
    switch (t.state) {
        case State::SynReceived:
        case State::Established: set_state(State::CloseWait); break;
        case State::FinWait1:
            // Our FIN acknowledged (perhaps in this segment): TIME-WAIT; otherwise CLOSING.
            if (t.fin_sent && t.snd_una > t.fin_seq)
                enter_time_wait(now, fx);
            else
                set_state(State::Closing);
            break;
        case State::FinWait2: enter_time_wait(now, fx); break;
        default: break;  // CLOSE-WAIT, CLOSING, LAST-ACK: remain
    }
}

}  // namespace sluice::tcp
