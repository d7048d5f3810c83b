// Keepalive (RFC 1122 4.2.3.6), retransmission timeout and backoff (RFC 6298 5), and the
// timer bookkeeping the host mirrors.

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

class Keepalive : public TcpTest {
protected:
    void SetUp() override {
        to_established_active();
        Effects fx;
        h.conn.set_keepalive(true, h.now, fx);
        h.absorb(fx);
        start = h.now;
    }
    Instant start;
};

// RFC 1122 4.2.3.6: idle at least two hours; 75 s between probes and 10 probes as in the
// BSD design this project follows (Linux's tcp_keepalive_probes is 9).
TEST(KeepaliveDefaults, TwoHoursIdle_75sInterval_TenProbes) {
    Config c;
    EXPECT_EQ(c.keepalive_idle, 7200s);
    EXPECT_EQ(c.keepalive_interval, 75s);
    EXPECT_EQ(c.keepalive_count, 10);
}

// The sink the host reuses: clear() forgets timer changes through the bitmask alone, and a
// slot written before the clear does not come back.
TEST(EffectsSink, ClearForgetsTimerChanges_OnlyChangedKindsReported) {
    Effects fx;
    fx.arm(TimerKind::Retransmit, Instant::from_ns(5));
    fx.cancel(TimerKind::Persist);
    EXPECT_EQ(fx.timer_changed, Effects::timer_bit(TimerKind::Retransmit) |
                                    Effects::timer_bit(TimerKind::Persist));
    EXPECT_EQ(fx.timer(TimerKind::Retransmit).action, TimerAction::Arm);
    EXPECT_EQ(fx.timer(TimerKind::Retransmit).at, Instant::from_ns(5));
    EXPECT_EQ(fx.timer(TimerKind::Persist).action, TimerAction::Cancel);
    EXPECT_EQ(fx.timer(TimerKind::DelayedAck).action, TimerAction::None);
    EXPECT_FALSE(fx.empty());
    fx.clear();
    EXPECT_TRUE(fx.empty());
    for (std::size_t i = 0; i < kTimerKindCount; ++i)
        EXPECT_EQ(fx.timer(static_cast<TimerKind>(i)).action, TimerAction::None) << i;
    fx.cancel(TimerKind::Keepalive);
    EXPECT_EQ(fx.timer_changed, Effects::timer_bit(TimerKind::Keepalive));
    EXPECT_EQ(fx.timer(TimerKind::Retransmit).action, TimerAction::None);
}

class KeepaliveOff : public TcpTest {
protected:
    void SetUp() override { to_established_active(); }
};

TEST_F(KeepaliveOff, OffByDefault_NoProbes) {
    EXPECT_FALSE(h.has_timer(TimerKind::Keepalive));
    advance(3 * 7200s);
    expect_nothing_sent();
    expect_state(State::Established);
}

// Turning keepalive off when it is not running changes no timer: nothing reaches the sink.
TEST_F(KeepaliveOff, OffWhenNotRunning_ReportsNoTimerChange) {
    Effects fx;
    h.conn.set_keepalive(false, h.now, fx);
    EXPECT_EQ(fx.timer_changed, 0);
    EXPECT_TRUE(fx.empty());
    h.absorb(fx);
}

TEST_F(Keepalive, IdleTime_FirstProbe) {
    EXPECT_EQ(h.timer_at(TimerKind::Keepalive), start + 7200s);
    advance(7200s - 1ms);
    expect_nothing_sent();
    advance(1ms);
    expect_sent({.seq = 100, .ack = 301, .flags = Flags::Ack});  // <SEQ=SND.UNA-1>
    EXPECT_EQ(h.timer_at(TimerKind::Keepalive), h.now + 75s);
}

TEST_F(Keepalive, NoAnswer_ProbesEveryIntervalThenGivesUpTimeout) {
    const int count = h.cfg.keepalive_count;  // the default: 10
    advance(7200s);
    for (int i = 1; i < count; ++i) {
        expect_sent({.seq = 100, .ack = 301, .flags = Flags::Ack});
        advance(75s);
    }
    expect_sent({.seq = 100, .ack = 301, .flags = Flags::Ack});  // the last
    EXPECT_EQ(h.stats.keepalive_probes, uint64_t(count));
    advance(75s);
    expect_sent({.seq = 101, .flags = Flags::Rst});
    expect_state(State::Closed);
    expect_closed(CloseReason::Timeout);
    EXPECT_EQ(h.now - start, 7200s + count * 75s);
}

TEST_F(Keepalive, ProbeAnswered_BackToIdle) {
    advance(7200s);
    expect_sent({.seq = 100, .ack = 301, .flags = Flags::Ack});
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack});
    expect_nothing_sent();
    const Instant answered = h.now;
    advance(75s);  // the interval timer finds the peer alive: re-armed for a full idle time
    expect_nothing_sent();
    EXPECT_EQ(h.timer_at(TimerKind::Keepalive), answered + 7200s);
    advance(answered + 7200s - h.now);
    expect_sent({.seq = 100, .ack = 301, .flags = Flags::Ack});
}

TEST_F(Keepalive, AnySegmentResetsIdle) {
    advance(7000s);
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack | Flags::Psh, .payload = "x"});
    expect_sent({.seq = 101, .ack = 302, .flags = Flags::Ack});
    const Instant heard = h.now;
    advance(200s);
    expect_nothing_sent();
    advance(heard + 7200s - h.now);
    expect_sent({.seq = 100, .ack = 302, .flags = Flags::Ack});
}

TEST_F(Keepalive, TurnedOff_TimerCancelled) {
    Effects fx;
    h.conn.set_keepalive(false, h.now, fx);
    h.absorb(fx);
    EXPECT_FALSE(h.has_timer(TimerKind::Keepalive));
    advance(8000s);
    expect_nothing_sent();
}

// --- retransmission -------------------------------------------------------------------------

class Retransmit : public TcpTest {
protected:
    void SetUp() override {
        to_established_active();
        send("data");
        expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack | Flags::Psh, .payload = "data"});
        sent_at = h.now;
    }
    Instant sent_at;
};

TEST_F(Retransmit, Rfc6298_RtoExpires_RetransmitsWithBackoff) {
    EXPECT_EQ(h.timer_at(TimerKind::Retransmit), sent_at + 1s);  // (2.1)
    advance(1s);
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack | Flags::Psh, .payload = "data"});
    EXPECT_EQ(h.timer_at(TimerKind::Retransmit), h.now + 2s);  // (5.5) doubled
    advance(2s);
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack | Flags::Psh, .payload = "data"});
    EXPECT_EQ(h.timer_at(TimerKind::Retransmit), h.now + 4s);
    inject({.seq = 301, .ack = 105, .flags = Flags::Ack});
    EXPECT_FALSE(h.has_timer(TimerKind::Retransmit));  // (5.2) all acknowledged
    EXPECT_EQ(h.conn.tcb().rtx.backoff, 2);            // Karn: kept until a valid RTT sample
    EXPECT_EQ(h.stats.retrans_segs, 2u);
}

TEST_F(Retransmit, Rfc6298_5_3_PartialAckRestartsTimer) {
    send("more");
    expect_sent({.seq = 105, .ack = 301, .flags = Flags::Ack | Flags::Psh, .payload = "more"});
    advance(500ms);
    inject({.seq = 301, .ack = 105, .flags = Flags::Ack});
    // The ACK of the timed segment is the first sample, R = 500 ms (2.2): SRTT = 500 ms,
    // RTTVAR = 250 ms, RTO = 500 ms + 4 * 250 ms; the timer restarts with it (5.3).
    EXPECT_EQ(h.timer_at(TimerKind::Retransmit), h.now + 1500ms);
    advance(1500ms);
    expect_sent({.seq = 105, .ack = 301, .flags = Flags::Ack | Flags::Psh, .payload = "more"});
}

TEST_F(Retransmit, RetriesExhausted_ClosedTimeout) {
    Duration total{};
    for (int i = 0; i < h.cfg.max_retries; ++i) {
        const Duration step = h.timer_at(TimerKind::Retransmit) - h.now;
        total += step;
        advance(step);
        expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack | Flags::Psh, .payload = "data"});
    }
    advance(h.timer_at(TimerKind::Retransmit) - h.now);
    expect_nothing_sent();
    expect_state(State::Closed);
    expect_closed(CloseReason::Timeout);
    EXPECT_EQ(send("x").error, Error::TimedOut);
    // Linux tcp_retries2 = 15 with RTO capped at 120 s: 1+2+...+64 + 8 x 120 = 1087 s.
    EXPECT_EQ(total, 1087s);
}

TEST_F(Retransmit, StaleTimerCallIgnored) {
    Effects fx;
    h.conn.on_timer(TimerKind::Retransmit, h.now + 500ms, fx);  // early
    h.conn.on_timer(TimerKind::TimeWait, h.now + 1000s, fx);    // not armed
    h.absorb(fx);
    expect_nothing_sent();
    expect_state(State::Established);
}

}  // namespace
}  // namespace sluice::tcp::test
