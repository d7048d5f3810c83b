// The TCB's life cycle: construction, the one door for state changes, the user calls of
// RFC 9293 3.10.1-3.10.6, option negotiation and the invariant checks.

#include "tcp/connection.hpp"

#include <rte_mbuf.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace sluice::tcp {

namespace {
thread_local Stats t_unused_stats;  // for connections created without a Stats

// RFC 7323 3.2: the Timestamps option takes 10 bytes, 12 with padding, in every segment.
constexpr uint16_t kTimestampOptionSpace = 12;
// Linux TCP_MIN_MSS: smaller announced MSS values are raised to this.
constexpr uint16_t kMinPeerMss = 88;
}  // namespace

std::string to_string(Flags f) {
    static constexpr const char* kNames[] = {"FIN", "SYN", "RST", "PSH",
                                             "ACK", "URG", "ECE", "CWR"};
    std::string s;
    for (int i = 0; i < 8; ++i) {
        if (f.bits & (1u << i)) {
            if (!s.empty()) s += '|';
            s += kNames[i];
        }
    }
    return s.empty() ? "-" : s;
}

Connection::Connection(const Config& cfg, Buffers buffers, Stats* stats) noexcept
    : cfg_(&cfg), stats_(stats ? stats : &t_unused_stats) {
    snd_buf_.init(buffers.pools, uint32_t(buffers.send));
    rcv_buf_.init(buffers.pools, uint32_t(buffers.recv));
    tcb_.rtx.rto = cfg.initial_rto;
    tcb_.nodelay = !cfg.nagle;
}

// The one door for state changes: counts old -> new in Stats.
void Connection::set_state(State s) noexcept {
    ++stats_->transitions[static_cast<std::size_t>(tcb_.state)][static_cast<std::size_t>(s)];
    tcb_.state = s;
}

void Connection::drop(DropReason r) noexcept {
    ++stats_->drops[static_cast<std::size_t>(r)];
}

void Connection::enter_closed(CloseReason r, Effects& fx) noexcept {
    const State old = tcb_.state;
    // MIB-II tcpEstabResets: any direct transition to CLOSED from these two states.
    if (old == State::Established || old == State::CloseWait) ++stats_->estab_resets;
    if (old == State::SynSent || old == State::SynReceived) ++stats_->attempt_fails;
    cancel_all(fx);
    fx.drop_payloads();  // they point into the send buffer, which goes now
    snd_buf_.clear();    // RFC 9293 3.10.7.4 second step: queues are flushed
    rcv_buf_.clear();
    tcb_.close_reason = r;
    tcb_.ack_pending = false;
    tcb_.ooo.clear();
    set_state(State::Closed);
    fx.push_event({EventKind::Closed, r, {}});
    fx.push_event({EventKind::Release, r, {}});
}

void Connection::enter_time_wait(time::Instant now, Effects& fx) noexcept {
    cancel_all(fx);  // "turn off the other timers"
    set_state(State::TimeWait);
    arm(TimerKind::TimeWait, now + 2 * cfg_->msl, fx);  // RFC 9293 3.10.7.4 eighth step
    fx.push_event({EventKind::TimeWait, CloseReason::Normal, {}});
}

void Connection::enter_established(time::Instant now, Effects& fx) noexcept {
    set_state(State::Established);
    if (tcb_.syn_retransmitted)
        tcb_.rtx.rto = std::max(tcb_.rtx.rto, kRtoAfterSynLoss);  // RFC 6298 (5.7)
    tcb_.rtx.on_established();
    init_congestion(now);
    tcb_.last_rx = now;
    fx.push_event({EventKind::Connected, CloseReason::Normal, {}});
    arm_keepalive(now, fx);
}

// RFC 9293 3.10.7.4 second step, SYN-RECEIVED from a passive OPEN: back to LISTEN.
void Connection::return_to_listen(Effects& fx) noexcept {
    ++stats_->attempt_fails;  // MIB-II tcpAttemptFails counts SYN-RECEIVED -> LISTEN too
    cancel_all(fx);
    fx.drop_payloads();
    snd_buf_.clear();
    rcv_buf_.clear();
    Tcb fresh;
    fresh.state = tcb_.state;
    fresh.passive = true;
    fresh.keepalive = tcb_.keepalive;
    fresh.nodelay = tcb_.nodelay;
    fresh.rtx.rto = cfg_->initial_rto;
    tcb_ = fresh;
    tuple_.remote = listen_remote_;
    set_state(State::Listen);
    fx.push_event({EventKind::ReturnedToListen, CloseReason::Normal, {}});
}

// Options of the peer's SYN (or SYN-ACK) against ours: RFC 7323 2.2 and 3.2, RFC 2018 2,
// RFC 9293 3.7.1.
void Connection::negotiate_options(const wire::TcpOptions& peer) noexcept {
    Tcb& t = tcb_;
    t.ws_ok = cfg_->window_scaling && peer.has_wscale;
    t.snd_wscale = t.ws_ok ? std::min(peer.wscale, kMaxWindowScale) : uint8_t(0);
    t.rcv_wscale = t.ws_ok ? offered_window_scale(*cfg_, rcv_buf_.capacity()) : uint8_t(0);
    t.sack_ok = cfg_->sack_permitted && peer.sack_permitted;
    t.ts_ok = cfg_->timestamps && peer.has_timestamps;
    if (t.ts_ok) t.ts_recent = peer.ts_val;
    const Family fam = tuple_.local.addr.family;
    t.peer_mss = peer.has_mss ? std::max(peer.mss, kMinPeerMss) : default_peer_mss(fam);
    t.send_mss = uint16_t(std::min(t.peer_mss, local_mss(*cfg_, fam)) -
                          (t.ts_ok ? kTimestampOptionSpace : 0));
}

// --- OPEN ---------------------------------------------------------------------------------

Error Connection::open_active(const FourTuple& t, wire::SeqNum iss, time::Instant now,
                              Effects& fx) noexcept {
    if (tcb_.state != State::Closed) return Error::ConnectionExists;
    if (t.remote.port == 0) return Error::ForeignSocketUnspecified;
    Tcb fresh;
    fresh.state = tcb_.state;
    fresh.keepalive = tcb_.keepalive;
    fresh.nodelay = tcb_.nodelay;
    fresh.rtx.rto = cfg_->initial_rto;
    tcb_ = fresh;
    snd_buf_.clear();
    rcv_buf_.clear();
    tuple_ = t;
    tcb_.iss = iss;
    tcb_.snd_una = iss;
    tcb_.snd_nxt = tcb_.snd_max = tcb_.snd_buf_seq = iss + 1;
    set_state(State::SynSent);
    ++stats_->active_opens;
    send_syn(now, fx);
    arm_retransmit(now, fx);
    verify();
    return Error::None;
}

Error Connection::open_active(const FourTuple& t, const IsnGenerator& gen, time::Instant now,
                              Effects& fx) noexcept {
    if (gen.in_quiet_time(now)) return Error::QuietTime;  // RFC 9293 3.4.3
    return open_active(t, gen.isn(t, now), now, fx);
}

Error Connection::open_passive(const FourTuple& t, wire::SeqNum iss) noexcept {
    if (tcb_.state != State::Closed) return Error::ConnectionExists;
    Tcb fresh;
    fresh.state = tcb_.state;
    fresh.keepalive = tcb_.keepalive;
    fresh.nodelay = tcb_.nodelay;
    fresh.passive = true;
    fresh.rtx.rto = cfg_->initial_rto;
    tcb_ = fresh;
    tuple_ = t;
    listen_remote_ = t.remote;
    listen_iss_ = iss;
    isn_gen_ = nullptr;
    set_state(State::Listen);
    return Error::None;
}

Error Connection::open_passive(const FourTuple& t, const IsnGenerator& gen) noexcept {
    Error e = open_passive(t, wire::SeqNum(0));
    if (e == Error::None) isn_gen_ = &gen;
    return e;
}

Error Connection::clone_listener(const Connection& listener, const FourTuple& t) noexcept {
    if (tcb_.state != State::Closed || listener.tcb_.state != State::Listen)
        return Error::ConnectionExists;
    cfg_ = listener.cfg_;
    tcb_.keepalive = listener.tcb_.keepalive;
    tcb_.nodelay = listener.tcb_.nodelay;
    Error e = open_passive(t, listener.listen_iss_);
    isn_gen_ = listener.isn_gen_;
    return e;
}

// --- SEND / RECEIVE -----------------------------------------------------------------------

Error Connection::ended_error() const noexcept {
    if (tcb_.state != State::Closed) return Error::None;
    switch (tcb_.close_reason) {
        case CloseReason::Reset: return Error::Reset;
        case CloseReason::Refused: return Error::Refused;
        case CloseReason::Timeout: return Error::TimedOut;
        case CloseReason::Aborted: return Error::Aborted;
        case CloseReason::Normal: break;
    }
    return Error::ConnectionDoesNotExist;
}

Error Connection::send_allowed() const noexcept {
    switch (tcb_.state) {
        case State::Closed: return ended_error();
        case State::Listen: return Error::ConnectionDoesNotExist;  // no LISTEN -> active switch
        case State::SynSent:
        case State::SynReceived:
        case State::Established:
        case State::CloseWait: return Error::None;  // RFC 9293 3.10.2: queue (send when synced)
        case State::FinWait1:
        case State::FinWait2:
        case State::Closing:
        case State::LastAck:
        case State::TimeWait: return Error::ConnectionClosing;
    }
    return Error::ConnectionDoesNotExist;
}

IoResult Connection::send_mbuf(rte_mbuf* chain, time::Instant now, Effects& fx) noexcept {
    if (Error e = send_allowed(); e != Error::None) return {0, e};
    std::size_t n = 0;
    for (const rte_mbuf* p = chain; p != nullptr; p = p->next) n += p->data_len;
    if (!snd_buf_.append(chain)) {
        tcb_.send_blocked = true;
        return {0, Error::None};
    }
    if (snd_buf_.free() == 0) tcb_.send_blocked = true;
    if (states::kCanOutput.contains(tcb_.state)) output(now, fx);
    verify();
    return {n, Error::None};
}

IoResult Connection::send(std::span<const uint8_t> data, time::Instant now, Effects& fx) noexcept {
    switch (tcb_.state) {
        case State::Closed: return {0, ended_error()};
        case State::Listen:
            return {0, Error::ConnectionDoesNotExist};  // no LISTEN -> active switch
        case State::SynSent:
        case State::SynReceived:
        case State::Established:
        case State::CloseWait: break;  // RFC 9293 3.10.2: queue (and send when synchronized)
        case State::FinWait1:
        case State::FinWait2:
        case State::Closing:
        case State::LastAck:
        case State::TimeWait: return {0, Error::ConnectionClosing};
    }
    std::size_t n = snd_buf_.write(data);
    // Short, or the buffer is now full: either way the application waits for SendSpace.
    if (n < data.size() || snd_buf_.free() == 0) tcb_.send_blocked = true;
    if (states::kCanOutput.contains(tcb_.state)) output(now, fx);
    verify();
    return {n, Error::None};
}

IoResult Connection::receive(std::span<uint8_t> out, time::Instant now, Effects& fx) noexcept {
    switch (tcb_.state) {
        case State::Closed: return {0, ended_error()};
        case State::Listen:
        case State::SynSent:
        case State::SynReceived: return {0, Error::None};  // RFC 9293 3.10.3: nothing yet
        default: break;
    }
    if (tcb_.recv_closed) return {0, Error::ConnectionClosing};
    std::size_t n = rcv_buf_.read(out);
    if (n == 0) {
        if (states::kPeerFinReceived.contains(tcb_.state)) return {0, Error::EndOfStream};
        return {0, Error::None};
    }
    after_read(now, fx);
    return {n, Error::None};
}

rte_mbuf* Connection::receive_mbuf(IoResult& r, time::Instant now, Effects& fx) noexcept {
    r = {};
    switch (tcb_.state) {
        case State::Closed: r.error = ended_error(); return nullptr;
        case State::Listen:
        case State::SynSent:
        case State::SynReceived: return nullptr;
        default: break;
    }
    if (tcb_.recv_closed) {
        r.error = Error::ConnectionClosing;
        return nullptr;
    }
    rte_mbuf* m = rcv_buf_.pop_front();
    if (m == nullptr) {
        if (states::kPeerFinReceived.contains(tcb_.state)) r.error = Error::EndOfStream;
        return nullptr;
    }
    r.bytes = m->data_len;
    after_read(now, fx);
    return m;
}

// RFC 9293 3.8.6.2.2 receiver SWS avoidance: announce a window update once the right edge
// can move by min(RCV.BUFF / 2, Eff.snd.MSS).
void Connection::after_read(time::Instant now, Effects& fx) noexcept {
    if (states::kReceivesText.contains(tcb_.state)) {
        uint32_t can = std::min<uint32_t>(uint32_t(rcv_buf_.free()) >> tcb_.rcv_wscale, 65535u)
                       << tcb_.rcv_wscale;
        wire::SeqNum edge = tcb_.rcv_nxt + can;
        if (edge > tcb_.rcv_adv && uint32_t(edge - tcb_.rcv_adv) >= rcv_sws_threshold()) {
            tcb_.ack_pending = true;
            output(now, fx);
        }
    }
    verify();
}

// --- CLOSE / shutdown / ABORT -------------------------------------------------------------

// Queue our FIN after the data already queued (RFC 9293 3.10.4) and move to `next`.
Error Connection::queue_fin(State next, time::Instant now, Effects& fx) noexcept {
    if (tcb_.cc.cwnd == 0) init_congestion(now);  // closed in SYN-RECEIVED: the FIN goes now
    set_state(next);
    output(now, fx);
    verify();
    return Error::None;
}

Error Connection::close(time::Instant now, Effects& fx) noexcept {
    // RFC 2525 2.17 (and Linux tcp_close): closing with unread data resets the connection.
    if (!rcv_buf_.empty() && states::kSynchronized.contains(tcb_.state)) return abort(now, fx);
    switch (tcb_.state) {
        case State::Closed: return ended_error();
        case State::Listen:
        case State::SynSent:  // RFC 9293 3.10.4: delete the TCB
            enter_closed(CloseReason::Normal, fx);
            return Error::None;
        case State::SynReceived:  // RFC 9293 3.10.4: FIN (after queued data), FIN-WAIT-1
        case State::Established:
            tcb_.recv_closed = true;
            return queue_fin(State::FinWait1, now, fx);
        case State::CloseWait:  // RFC 9293 3.10.4: FIN, LAST-ACK
            tcb_.recv_closed = true;
            return queue_fin(State::LastAck, now, fx);
        case State::FinWait1:
        case State::FinWait2:
        case State::Closing:
        case State::LastAck:
        case State::TimeWait:
            // Already half-closed by shutdown_send(): now the receive side closes too.
            if (tcb_.recv_closed) return Error::ConnectionClosing;
            tcb_.recv_closed = true;
            if (tcb_.state == State::FinWait2)
                arm(TimerKind::FinWait2, now + cfg_->fin_wait_2_timeout, fx);
            return Error::None;
    }
    return Error::None;
}

Error Connection::shutdown_send(time::Instant now, Effects& fx) noexcept {
    switch (tcb_.state) {
        case State::Closed: return Error::ConnectionDoesNotExist;
        case State::Listen:
        case State::SynSent:  // as Linux tcp_shutdown: nothing was exchanged yet, so close
            enter_closed(CloseReason::Normal, fx);
            return Error::None;
        case State::SynReceived:
        case State::Established: return queue_fin(State::FinWait1, now, fx);
        case State::CloseWait: return queue_fin(State::LastAck, now, fx);
        default: return Error::ConnectionClosing;
    }
}

Error Connection::abort(time::Instant now, Effects& fx) noexcept {
    (void)now;
    switch (tcb_.state) {
        case State::Closed: return Error::ConnectionDoesNotExist;
        case State::Listen:
        case State::SynSent:  // RFC 9293 3.10.5: no reset, delete the TCB
        case State::Closing:
        case State::LastAck:
        case State::TimeWait: break;
        case State::SynReceived:
        case State::Established:
        case State::FinWait1:
        case State::FinWait2:
        case State::CloseWait:  // RFC 9293 3.10.5: <SEQ=SND.NXT><CTL=RST>
            send_rst(tcb_.snd_nxt, fx);
            break;
    }
    enter_closed(CloseReason::Aborted, fx);
    return Error::None;
}

// --- STATUS -------------------------------------------------------------------------------

ConnectionStatus Connection::status() const noexcept {
    ConnectionStatus s;
    s.state = tcb_.state;
    s.tuple = tuple_;
    s.snd_una = tcb_.snd_una;
    s.snd_nxt = tcb_.snd_nxt;
    s.rcv_nxt = tcb_.rcv_nxt;
    s.snd_wnd = tcb_.snd_wnd;
    s.rcv_wnd = rcv_wnd();
    s.send_queued = snd_buf_.size();
    s.recv_queued = rcv_buf_.size();
    s.send_mss = tcb_.send_mss;
    s.ws_ok = tcb_.ws_ok;
    s.sack_ok = tcb_.sack_ok;
    s.ts_ok = tcb_.ts_ok;
    s.snd_wscale = tcb_.snd_wscale;
    s.rcv_wscale = tcb_.rcv_wscale;
    s.peer_closed = states::kPeerFinReceived.contains(tcb_.state);
    s.keepalive = tcb_.keepalive;
    s.close_reason = tcb_.close_reason;
    s.cwnd = tcb_.cc.cwnd;
    s.ssthresh = tcb_.cc.ssthresh;
    s.srtt = tcb_.rtx.rtt.srtt;
    s.rttvar = tcb_.rtx.rtt.rttvar;
    s.rto = tcb_.rtx.rto;
    s.ooo_ranges = tcb_.ooo.count();
    s.sacked_ranges = tcb_.sack.count();
    s.sack_recovery = tcb_.cc.sack_recovery;
    return s;
}

TimeWaitEntry Connection::time_wait_entry() const noexcept {
    TimeWaitEntry tw;
    tw.snd_nxt = tcb_.snd_nxt;
    tw.rcv_nxt = tcb_.rcv_nxt;
    tw.ts_recent = tcb_.ts_recent;
    tw.deadline = tcb_.deadline[static_cast<std::size_t>(TimerKind::TimeWait)];
    tw.local_port = tuple_.local.port;
    tw.remote_port = tuple_.remote.port;
    uint32_t adv = tcb_.rcv_adv > tcb_.rcv_nxt ? uint32_t(tcb_.rcv_adv - tcb_.rcv_nxt) : 0u;
    tw.window = uint16_t(std::min<uint32_t>(adv >> tcb_.rcv_wscale, 65535u));
    tw.timestamps = tcb_.ts_ok;
    return tw;
}

// --- fixtures -----------------------------------------------------------------------------

void Connection::establish_directly(const HandshakeParams& p, time::Instant now) noexcept {
    tuple_ = p.tuple;
    listen_remote_ = p.tuple.remote;
    Tcb fresh;
    fresh.state = tcb_.state;
    fresh.keepalive = tcb_.keepalive;
    fresh.nodelay = tcb_.nodelay;
    fresh.rtx.rto = cfg_->initial_rto;
    tcb_ = fresh;
    Tcb& t = tcb_;
    t.passive = p.passive;
    t.syn_retransmitted = p.syn_retransmitted;  // init_congestion: IW 1
    if (p.syn_retransmitted) t.rtx.rto = std::max(t.rtx.rto, kRtoAfterSynLoss);  // (5.7)
    t.iss = p.iss;
    t.irs = p.irs;
    t.snd_una = t.snd_nxt = t.snd_max = t.snd_buf_seq = p.iss + 1;
    t.rcv_nxt = p.irs + 1;
    negotiate_options(p.peer_syn_options);
    if (p.passive) {
        // SYN-RECEIVED -> ESTABLISHED on the peer's ACK (RFC 9293 3.10.7.4 fifth step).
        t.snd_wnd = uint32_t(p.peer_ack_window) << t.snd_wscale;
        t.snd_wl1 = p.irs + 1;
        t.snd_wl2 = p.iss + 1;
        t.max_snd_wnd = std::max<uint32_t>(p.peer_syn_window, t.snd_wnd);
        if (t.ts_ok) t.ts_recent = p.peer_last_tsval;
        t.rcv_adv = t.rcv_nxt + std::min<uint32_t>(uint32_t(rcv_buf_.free()), 65535u);
        t.last_ack_sent = t.rcv_nxt;
    } else {
        // SYN-SENT -> ESTABLISHED on the SYN-ACK (RFC 9293 3.10.7.3 fourth step); we ACK it.
        t.snd_wnd = p.peer_syn_window;
        t.max_snd_wnd = t.snd_wnd;
        t.snd_wl1 = p.irs;
        t.snd_wl2 = p.iss + 1;
        t.rcv_adv = t.rcv_nxt + std::min<uint32_t>(uint32_t(rcv_buf_.free()), 65535u);
        (void)make_segment(Flags::Ack, t.snd_nxt, now);  // what our ACK advertises
    }
    set_state(State::Established);
    init_congestion(now);
    t.last_rx = now;
    // Only the TCB side: the timer and event effects of a real handshake are not wanted here.
    if (const auto at = keepalive_deadline()) set_deadline(TimerKind::Keepalive, *at);
}

// --- invariants ---------------------------------------------------------------------------

bool Connection::check_invariants(const char** why) const noexcept {
    auto fail = [why](const char* w) {
        if (why) *why = w;
        return false;
    };
    const Tcb& t = tcb_;
    if (static_cast<std::size_t>(t.state) >= kStateCount) return fail("state out of range");
    if (!snd_buf_.check()) return fail("send buffer inconsistent");
    const auto bit = [](TimerKind k) { return uint8_t(1u << static_cast<unsigned>(k)); };
    if (t.state == State::Closed || t.state == State::Listen) {
        if (t.armed != 0) return fail("timer armed in CLOSED or LISTEN");
        if (rcv_buf_.mbufs() != 0 || !snd_buf_.empty())
            return fail("data held in CLOSED or LISTEN");
        return true;
    }
    if (t.snd_una > t.snd_nxt) return fail("SND.UNA > SND.NXT");
    if (t.snd_nxt > t.snd_max) return fail("SND.NXT > SND.MAX");
    // The send buffer starts at SND.UNA, or just past our SYN while it is unacknowledged,
    // or at our FIN once that is acknowledged (the buffer is then empty).
    const bool syn_unacked = t.snd_una == t.iss;
    const bool fin_acked = t.fin_sent && t.snd_una == t.fin_seq + 1;
    if (syn_unacked ? t.snd_buf_seq != t.iss + 1
        : fin_acked ? (t.snd_buf_seq != t.fin_seq || !snd_buf_.empty())
                    : t.snd_buf_seq != t.snd_una)
        return fail("send buffer start not at SND.UNA");
    if (t.snd_nxt >= t.snd_buf_seq) {
        uint32_t in_flight = uint32_t(t.snd_nxt - t.snd_buf_seq) - (t.fin_sent ? 1u : 0u);
        if (in_flight > snd_buf_.size()) return fail("sent beyond the send buffer");
    }
    if (t.fin_sent && t.fin_seq + 1 != t.snd_nxt) return fail("data after FIN");
    if (((t.armed & bit(TimerKind::TimeWait)) != 0) != (t.state == State::TimeWait))
        return fail("2MSL timer armed outside TIME-WAIT (or not armed in it)");
    if (t.state != State::TimeWait && t.snd_una != t.snd_max &&
        (t.armed & bit(TimerKind::Retransmit)) == 0)
        return fail("data in flight without a retransmission timer");
    if (t.pto_armed && (t.armed & bit(TimerKind::Retransmit)) == 0)
        return fail("loss probe flagged without the Retransmit timer");
    if (t.rcv_nxt > t.rcv_adv && states::kReceivesText.contains(t.state))
        return fail("RCV.NXT beyond the advertised window");
    if (rcv_buf_.size() > rcv_buf_.capacity()) return fail("receive buffer overflow");
    // Out-of-order ranges: apart, beyond RCV.NXT, inside the ring's free space.
    if (!t.ooo.check(t.rcv_nxt, t.rcv_nxt + uint32_t(rcv_buf_.free())))
        return fail("reassembly range outside the receive window or overlapping");
    if (!rcv_buf_.check(t.rcv_nxt, t.rcv_nxt + uint32_t(rcv_buf_.free())))
        return fail("receive buffer inconsistent (pieces out of order or outside the window)");
    if (t.ooo.empty() != (rcv_buf_.ooo_mbufs() == 0))
        return fail("reassembly ranges and held pieces disagree");
    if (states::kSynchronized.contains(t.state) && t.state != State::TimeWait) {
        if (t.cc.cwnd < t.send_mss) return fail("cwnd below one MSS");
        if (!t.sack.check(t.snd_una, t.snd_max)) return fail("SACK scoreboard out of order");
        if (t.cc.sack_recovery && !t.sack_ok) return fail("SACK recovery without SACK");
        if (t.rtx_next < t.rtx_end && (t.rtx_next < t.snd_una || t.rtx_end > t.snd_max))
            return fail("retransmission queue outside [SND.UNA, SND.MAX]");
    }
    if (t.delack_segs > 0 && (t.armed & bit(TimerKind::DelayedAck)) == 0 && !t.ack_pending)
        return fail("ACK owed without the delayed-ACK timer");
    return true;
}

void Connection::verify() const noexcept {
#if defined(SLUICE_INVARIANTS)
    const char* why = "";
    if (!check_invariants(&why)) {
        std::fprintf(stderr, "sluice tcp invariant violated in %s: %s\n",
                     state_name(tcb_.state).data(), why);
        std::abort();
    }
#endif
}

}  // namespace sluice::tcp
