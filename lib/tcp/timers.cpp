// Timers: the deadlines live in the TCB; every change is reported through Effects so the
// host can mirror it in its timer wheel. Expiry handlers for retransmission (RFC 6298),
// keepalive (RFC 1122 4.2.3.6), FIN-WAIT-2 and TIME-WAIT.

#include <algorithm>
#include <bit>
#include <optional>

#include "tcp/connection.hpp"

namespace sluice::tcp {

namespace {
// Doublings past this cannot matter: 1 ms << 30 is beyond any max_rto.
constexpr uint8_t kMaxPersistBackoff = 30;

constexpr uint8_t bit(TimerKind k) noexcept {
    return Effects::timer_bit(k);
}
constexpr std::size_t idx(TimerKind k) noexcept {
    return static_cast<std::size_t>(k);
}
}  // namespace

// The TCB side of arm(): for establish_directly(), whose timers the host starts itself.
void Connection::set_deadline(TimerKind k, time::Instant at) noexcept {
    tcb_.armed = uint8_t(tcb_.armed | bit(k));
    tcb_.deadline[idx(k)] = at;
}

void Connection::arm(TimerKind k, time::Instant at, Effects& fx) noexcept {
    set_deadline(k, at);
    fx.arm(k, at);
}

// pto_armed is only ever set with the Retransmit timer running (check_invariants), so a
// cancel of a timer that is not running has nothing to reset.
void Connection::cancel_armed(TimerKind k, Effects& fx) noexcept {
    if (k == TimerKind::Retransmit) tcb_.pto_armed = false;
    tcb_.armed = uint8_t(tcb_.armed & ~bit(k));
    tcb_.deadline[idx(k)] = {};
    fx.cancel(k);
}

void Connection::cancel_all(Effects& fx) noexcept {
    for (uint8_t a = tcb_.armed; a != 0; a = uint8_t(a & (a - 1)))
        cancel_armed(static_cast<TimerKind>(std::countr_zero(a)), fx);
}

// RFC 6298 (5.1) / (5.3): (re)start the timer to expire after RTO (backed off).
void Connection::arm_retransmit(time::Instant now, Effects& fx) noexcept {
    tcb_.pto_armed = false;
    arm(TimerKind::Retransmit, now + tcb_.rtx.current(cfg_->max_rto), fx);
}

// RFC 8985 7.2: a tail loss probe instead of the RTO while the flight is in the Open phase,
// an RTT sample exists and no probe is outstanding. SACK only (as Linux): the probe's loss
// detection is the scoreboard's.
bool Connection::pto_allowed() const noexcept {
    const Tcb& t = tcb_;
    return cfg_->tail_loss_probe && t.sack_ok && t.rtx.rtt.has_sample && !t.tlp_out && t.cc.cwnd != 0 &&
           t.cc.phase == CcPhase::Open && t.rtx.backoff == 0 && t.snd_una != t.iss &&
           t.snd_una != t.snd_max && t.rtx_next >= t.rtx_end &&
           states::kCanOutput.contains(t.state);
}

// The Retransmit slot holds either the PTO or the RTO (one timer, as Linux's
// ICSK_TIME_LOSS_PROBE): PTO = 2*SRTT, + the delayed-ACK allowance with one segment in
// flight (WCDelAckT), never later than the RTO would fire (RFC 8985 7.2). The RTO bound
// is taken from now (not from the head's transmission): at most one PTO delays it.
void Connection::arm_loss_timer(time::Instant now, Effects& fx) noexcept {
    Tcb& t = tcb_;
    if (!pto_allowed()) {
        arm_retransmit(now, fx);
        return;
    }
    const time::Duration pto = pto_value();
    if (pto >= t.rtx.current(cfg_->max_rto)) {  // the RTO would come first: no probe
        arm_retransmit(now, fx);
        return;
    }
    arm(TimerKind::Retransmit, now + pto, fx);
    t.pto_armed = true;
}

time::Duration Connection::pto_value() const noexcept {
    const Tcb& t = tcb_;
    time::Duration pto = 2 * t.rtx.rtt.srtt;
    if (uint32_t(t.snd_max - t.snd_una) <= t.send_mss) pto += cfg_->delayed_ack_timeout;
    return std::max(pto, kClockGranularity);
}

// RFC 8985 7.3: send one new segment if the peer's window and the data allow, else the
// highest-sequence segment again; then the RTO takes over the timer.
void Connection::on_pto_timer(time::Instant now, Effects& fx) noexcept {
    Tcb& t = tcb_;
    // The RTO keeps the deadline it had when the PTO was armed (as Linux's RTO from the
    // head's transmission): the probe does not postpone it.
    const time::Duration rto_left =
        std::max(t.rtx.current(cfg_->max_rto) - pto_value(), kClockGranularity);
    if (!pto_allowed() || fx.segment_room() <= 1) {
        if (t.snd_una != t.snd_max) arm_retransmit(now, fx);
        return;
    }
    const wire::SeqNum old_max = t.snd_max;
    if (new_data_ready()) output(now, fx, /*probe=*/true);
    wire::SeqNum start = old_max;
    if (t.snd_max == old_max) {  // nothing new went out: the last segment again
        const wire::SeqNum data_end = t.fin_sent ? t.fin_seq : t.snd_max;
        start = wire::seq_max(t.snd_una, data_end - t.send_mss);
        if (send_at(start, uint32_t(t.snd_max - start), now, fx) == 0) {
            arm_retransmit(now, fx);
            return;
        }
        t.rtx.timing = false;  // Karn (RFC 6298 (3))
        ++stats_->retrans_segs;
    }
    t.tlp_out = true;
    t.tlp_end = t.snd_max;
    ++stats_->loss_probes;
    tcb_.pto_armed = false;  // RFC 8985 7.3: the RTO now (output() may have armed a PTO)
    arm(TimerKind::Retransmit, now + rto_left, fx);
}

// RFC 1122 4.2.3.6: the idle time counts from the last segment received.
std::optional<time::Instant> Connection::keepalive_deadline() const noexcept {
    if (!tcb_.keepalive || !states::kKeepalive.contains(tcb_.state)) return std::nullopt;
    return tcb_.last_rx + cfg_->keepalive_idle;
}

void Connection::arm_keepalive(time::Instant now, Effects& fx) noexcept {
    (void)now;
    if (const auto at = keepalive_deadline()) arm(TimerKind::Keepalive, *at, fx);
}

void Connection::set_keepalive(bool on, time::Instant now, Effects& fx) noexcept {
    tcb_.keepalive = on;
    if (on)
        arm_keepalive(now, fx);
    else
        cancel(TimerKind::Keepalive, fx);
    verify();
}

void Connection::set_nodelay(bool on, time::Instant now, Effects& fx) noexcept {
    tcb_.nodelay = on;
    if (on && states::kCanOutput.contains(tcb_.state)) output(now, fx);  // as Linux: flush
    verify();
}

void Connection::on_timer(TimerKind kind, time::Instant now, Effects& fx) noexcept {
    if (!armed(kind) || now < tcb_.deadline[idx(kind)]) return;  // stale or early
    tcb_.armed = uint8_t(tcb_.armed & ~bit(kind));
    tcb_.deadline[idx(kind)] = {};
    const bool pto = kind == TimerKind::Retransmit && tcb_.pto_armed;
    if (kind == TimerKind::Retransmit) tcb_.pto_armed = false;
    switch (kind) {
        case TimerKind::Retransmit:
            if (pto)
                on_pto_timer(now, fx);
            else
                on_retransmit_timer(now, fx);
            break;
        case TimerKind::Keepalive: on_keepalive_timer(now, fx); break;
        case TimerKind::FinWait2:
            // The application closed and the peer never sent its FIN (Linux tcp_fin_timeout).
            // All our data was acknowledged, so the close is still a normal one.
            if (tcb_.state == State::FinWait2) enter_closed(CloseReason::Normal, fx);
            break;
        case TimerKind::TimeWait:
            if (tcb_.state == State::TimeWait) enter_closed(CloseReason::Normal, fx);  // 2MSL over
            break;
        case TimerKind::Persist: on_persist_timer(now, fx); break;
        case TimerKind::DelayedAck:  // RFC 9293 3.8.6.3: the delay is over
            if (tcb_.delack_segs > 0 && states::kSynchronized.contains(tcb_.state)) {
                ++stats_->delayed_acks;
                send_ack(now, fx);
            }
            break;
    }
    verify();
}

void Connection::on_retransmit_timer(time::Instant now, Effects& fx) noexcept {
    Tcb& t = tcb_;
    if (t.snd_una == t.snd_max) return;  // nothing outstanding
    const bool syn = t.snd_una == t.iss;
    const uint8_t limit = syn ? cfg_->syn_retries : cfg_->max_retries;
    // RFC 1122 4.2.2.17: the peer shrank its window to zero under data in flight, so these
    // retransmissions are zero-window probes; one the peer answered (a segment from it
    // since this timer was armed) does not count toward the limit (Linux
    // tcp_retransmit_timer, "receiver dastardly shrinks window"). The backoff still grows.
    const bool probe_answered =
        !syn && t.snd_wnd == 0 && t.last_rx + t.rtx.current(cfg_->max_rto) >= now;
    if (t.rtx.retries >= limit && !probe_answered) {
        // Give up: RFC 1122 4.2.3.5 R2 (and 4.2.3.5 for SYNs); Linux sends no RST here.
        ++stats_->timeouts;
        if (t.state == State::SynReceived && t.passive)
            return_to_listen(fx);
        else
            enter_closed(CloseReason::Timeout, fx);
        return;
    }
    const bool first = t.rtx.retries == 0;
    t.tlp_out = false;  // the RTO's go-back-N covers the probe too
    t.rtx.on_timeout();  // RFC 6298 (5.5): back off
    if (probe_answered) --t.rtx.retries;  // not counted (Linux skips icsk_retransmits++)
    if (syn) {
        retransmit_syn(now, fx);  // RFC 6298 (5.4)
    } else {
        cc_on_timeout(first);  // RFC 5681 (4): ssthresh, cwnd = LW; queue from SND.UNA
        output(now, fx);       // RFC 6298 (5.4): sends the earliest unacknowledged segment
    }
    arm_retransmit(now, fx);  // RFC 6298 (5.6)
}

// RFC 1122 4.2.3.6: after keepalive_idle without a segment from the peer, probe with
// <SEQ=SND.UNA-1><ACK=RCV.NXT><CTL=ACK> every interval; give up after `count` probes.
void Connection::on_keepalive_timer(time::Instant now, Effects& fx) noexcept {
    Tcb& t = tcb_;
    if (!t.keepalive || !states::kKeepalive.contains(t.state)) return;
    if (t.snd_una != t.snd_max || !snd_buf_.empty()) {
        // Data outstanding: the retransmission timer watches the peer. Look again later.
        arm(TimerKind::Keepalive, now + cfg_->keepalive_idle, fx);
        return;
    }
    if (t.keepalive_probes == 0 && now < t.last_rx + cfg_->keepalive_idle) {
        arm(TimerKind::Keepalive, t.last_rx + cfg_->keepalive_idle, fx);  // heard from it since
        return;
    }
    if (t.keepalive_probes >= cfg_->keepalive_count) {
        ++stats_->timeouts;
        send_rst(t.snd_nxt, fx);  // as Linux tcp_keepalive_timer
        enter_closed(CloseReason::Timeout, fx);
        return;
    }
    ++t.keepalive_probes;
    ++stats_->keepalive_probes;
    emit(make_segment(Flags::Ack, t.snd_una - 1, now), fx);
    arm(TimerKind::Keepalive, now + cfg_->keepalive_interval, fx);
}

// RFC 9293 3.8.6.1 zero-window probe: <SEQ=SND.UNA-1><ACK=RCV.NXT><CTL=ACK> (as Linux
// tcp_xmit_probe_skb) makes the receiver answer with its current window. The interval
// backs off exponentially up to max_rto (SHLD-30) for as long as the window stays shut,
// answered or not (Linux tcp_probe_timer keeps icsk_backoff the same way). The connection
// is not closed while the peer answers (each ACK resets persist_probes: answered probes do
// not count toward the limit, RFC 1122 4.2.2.17), only after max_retries unanswered ones.
void Connection::on_persist_timer(time::Instant now, Effects& fx) noexcept {
    Tcb& t = tcb_;
    if (!zero_window_stall()) {
        // RFC 9293 3.8.6.2.1 override timeout: send the runt the small window allows.
        if (sws_stall()) output(now, fx, /*probe=*/true);
        return;
    }
    if (t.persist_probes >= cfg_->max_retries) {
        ++stats_->timeouts;
        enter_closed(CloseReason::Timeout, fx);
        return;
    }
    ++t.persist_probes;
    if (t.persist_backoff < kMaxPersistBackoff) ++t.persist_backoff;
    emit(make_segment(Flags::Ack, t.snd_una - 1, now), fx);
    time::Duration d = t.rtx.current(cfg_->max_rto);  // the first interval (output())
    for (uint8_t i = 0; i < t.persist_backoff && d < cfg_->max_rto; ++i) d *= 2;
    arm(TimerKind::Persist, now + std::min(d, cfg_->max_rto), fx);
}

}  // namespace sluice::tcp
