// Opening a connection: RFC 9293 3.5 and 3.10.7.2 / 3.10.7.3, Figures 6 and 7.

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

class SynSent : public StateTest {
protected:
    void SetUp() override {
        ASSERT_EQ(open_active(), Error::None);
        expect_sent({.seq = 100, .flags = Flags::Syn, .window = 4096});
        expect_state(State::SynSent);
    }
};

class Listen : public StateTest {
protected:
    void SetUp() override {
        ASSERT_EQ(open_passive(), Error::None);
        expect_state(State::Listen);
    }
};

class SynReceived : public StateTest {
protected:
    void SetUp() override {
        ASSERT_EQ(open_passive(), Error::None);
        inject({.seq = 300, .flags = Flags::Syn});
        expect_sent({.seq = 100, .ack = 301, .flags = Flags::Syn | Flags::Ack, .window = 4096});
        expect_state(State::SynReceived);
    }
};

// --- three-way handshake -------------------------------------------------------------------

TEST_P(SynSent, Closed_OpenActive_SendsSynEntersSynSent) {
    EXPECT_TRUE(h.has_timer(TimerKind::Retransmit));
    EXPECT_EQ(h.timer_at(TimerKind::Retransmit), h.now + 1s);  // RFC 6298 (2.1)
    EXPECT_EQ(h.stats.transition_count(State::Closed, State::SynSent), 1u);
    EXPECT_EQ(h.stats.active_opens, 1u);
}

TEST_P(SynSent, SynAck_EntersEstablishedAndAcks) {
    inject({.seq = 300, .ack = 101, .flags = Flags::Syn | Flags::Ack});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack, .window = 4096});
    expect_state(State::Established);
    expect_event(EventKind::Connected);
    EXPECT_FALSE(h.has_timer(TimerKind::Retransmit));
    EXPECT_EQ(h.stats.transition_count(State::SynSent, State::Established), 1u);
}

TEST_P(Listen, Syn_EntersSynReceivedAndSendsSynAck) {
    inject({.seq = 300, .flags = Flags::Syn});
    expect_sent({.seq = 100, .ack = 301, .flags = Flags::Syn | Flags::Ack, .window = 4096});
    expect_state(State::SynReceived);
    EXPECT_TRUE(h.has_timer(TimerKind::Retransmit));
    EXPECT_EQ(h.conn.tuple().remote.port, kRemote.port);
    EXPECT_EQ(h.stats.passive_opens, 1u);
}

TEST_P(SynReceived, Ack_EntersEstablished) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack});
    expect_nothing_sent();
    expect_state(State::Established);
    expect_event(EventKind::Connected);
    EXPECT_FALSE(h.has_timer(TimerKind::Retransmit));
    // The first window without SYN is scaled (RFC 7323 2.2): the Full peer offered WS 2.
    EXPECT_EQ(h.conn.tcb().snd_wnd, 8192u << (full() ? kPeerWindowScale : 0));
    EXPECT_EQ(h.conn.status().ws_ok, full());
    EXPECT_EQ(h.conn.status().sack_ok, full());
    EXPECT_EQ(h.conn.status().ts_ok, full());
}

TEST_P(SynReceived, AckWithData_EntersEstablishedAndDelivers) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack | Flags::Psh, .payload = "hello"});
    expect_sent({.seq = 101, .ack = 306, .flags = Flags::Ack, .window = 4096 - 5});
    expect_state(State::Established);
    expect_event(EventKind::DataReadable);
    EXPECT_EQ(receive(), "hello");
}

TEST_P(SynReceived, UnacceptableAck_SendsReset) {
    // RFC 9293 3.10.7.4 fifth step, SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>.
    inject({.seq = 301, .ack = 555, .flags = Flags::Ack});
    expect_sent({.seq = 555, .flags = Flags::Rst});
    expect_state(State::SynReceived);
}

TEST_P(SynReceived, RetransmittedSyn_ResendsSynAck) {
    inject({.seq = 300, .flags = Flags::Syn});
    expect_sent({.seq = 100, .ack = 301, .flags = Flags::Syn | Flags::Ack});
    expect_state(State::SynReceived);
}

TEST_P(SynReceived, SynAckLost_RetransmittedAfterRto) {
    advance(1s);
    expect_sent({.seq = 100, .ack = 301, .flags = Flags::Syn | Flags::Ack});
    EXPECT_EQ(h.stats.retrans_segs, 1u);
    advance(2s);
    expect_sent({.seq = 100, .ack = 301, .flags = Flags::Syn | Flags::Ack});
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack});
    expect_state(State::Established);
    // RFC 6298 (5.7): the SYN-ACK was retransmitted, so RTO is 3 s once established.
    EXPECT_EQ(h.conn.tcb().rtx.rto, 3s);
}

TEST_P(SynReceived, RetransmissionsExhausted_ReturnsToListen) {
    for (int i = 0; i < h.cfg.syn_retries; ++i) {
        advance(h.timer_at(TimerKind::Retransmit) - h.now);
        expect_sent({.seq = 100, .ack = 301, .flags = Flags::Syn | Flags::Ack});
    }
    advance(h.timer_at(TimerKind::Retransmit) - h.now);
    expect_nothing_sent();
    expect_state(State::Listen);
    expect_event(EventKind::ReturnedToListen);
}

// --- LISTEN (RFC 9293 3.10.7.2) -----------------------------------------------------------

TEST_P(Listen, Rfc9293_3_10_7_2_RstIgnored) {
    inject({.seq = 300, .flags = Flags::Rst});
    expect_nothing_sent();
    expect_state(State::Listen);
}

TEST_P(Listen, Rfc9293_3_10_7_2_AckGetsReset) {
    inject({.seq = 300, .ack = 777, .flags = Flags::Ack});
    expect_sent({.seq = 777, .flags = Flags::Rst});
    expect_state(State::Listen);
}

TEST_P(Listen, Rfc9293_3_10_7_2_OtherDropped) {
    inject({.seq = 300, .flags = Flags::Fin, .payload = "x"});
    expect_nothing_sent();
    expect_state(State::Listen);
}

TEST_P(Listen, Close_EntersClosed) {
    EXPECT_EQ(close(), Error::None);
    expect_state(State::Closed);
    expect_closed(CloseReason::Normal);
}

TEST_P(Listen, QuietTime_SynDroppedUntilOver) {
    IsnGenerator gen(IsnGenerator::Key{}, h.now, 30s);
    Host l;
    ASSERT_EQ(l.conn.open_passive(FourTuple{kLocal, Endpoint{}}, gen), Error::None);
    l.inject({.seq = 300, .flags = Flags::Syn});
    EXPECT_TRUE(l.sent.empty());
    EXPECT_EQ(l.conn.state(), State::Listen);
    EXPECT_EQ(l.stats.drop_count(DropReason::QuietTime), 1u);
    l.now = h.now + 30s;
    l.inject({.seq = 300, .flags = Flags::Syn});
    ASSERT_EQ(l.sent.size(), 1u);
    EXPECT_EQ(l.conn.state(), State::SynReceived);
    EXPECT_EQ(l.sent[0].seg.seq, gen.isn(FourTuple{kLocal, Endpoint{{}, kRemote.port}}, l.now));
}

TEST(QuietTime, ActiveOpenRefusedDuringQuietTime) {
    Host c;
    IsnGenerator gen(IsnGenerator::Key{}, c.now, 10s);
    Effects fx;
    EXPECT_EQ(c.conn.open_active(kTuple, gen, c.now, fx), Error::QuietTime);
    EXPECT_EQ(fx.segment_count, 0u);
    EXPECT_EQ(c.conn.open_active(kTuple, gen, c.now + 10s, fx), Error::None);
    EXPECT_EQ(fx.segments[0].seq, gen.isn(kTuple, c.now + 10s));
}

TEST(ListenerClone, CloneTakesTheSynListenerStaysListening) {
    Host listener;
    ASSERT_EQ(listener.conn.open_passive(FourTuple{kLocal, Endpoint{}}, SeqNum(kIss)), Error::None);
    Host child;
    ASSERT_EQ(child.conn.clone_listener(listener.conn, kTuple), Error::None);
    EXPECT_EQ(child.conn.state(), State::Listen);
    child.inject({.seq = 300, .flags = Flags::Syn});
    EXPECT_EQ(child.conn.state(), State::SynReceived);
    EXPECT_EQ(listener.conn.state(), State::Listen);
    // RST in SYN-RECEIVED: the clone goes back to LISTEN and says so (the host frees it).
    child.sent.clear();
    child.inject({.seq = 301, .flags = Flags::Rst});
    EXPECT_EQ(child.conn.state(), State::Listen);
    ASSERT_FALSE(child.events.empty());
    EXPECT_EQ(child.events.back().kind, EventKind::ReturnedToListen);
}

// --- SYN-SENT (RFC 9293 3.10.7.3) ---------------------------------------------------------

TEST_P(SynSent, RstWithAcceptableAck_ClosesRefused) {
    inject({.seq = 0, .ack = 101, .flags = Flags::Rst | Flags::Ack});
    expect_nothing_sent();
    expect_state(State::Closed);
    expect_closed(CloseReason::Refused);
    EXPECT_EQ(send("x").error, Error::Refused);
    EXPECT_EQ(h.stats.attempt_fails, 1u);
}

TEST_P(SynSent, RstWithoutAck_Dropped) {
    inject({.seq = 0, .flags = Flags::Rst});
    expect_nothing_sent();
    expect_state(State::SynSent);
}

TEST_P(SynSent, Rfc9293_3_10_7_3_BadAckGetsReset) {
    inject({.seq = 300, .ack = 5000, .flags = Flags::Syn | Flags::Ack});
    expect_sent({.seq = 5000, .flags = Flags::Rst});
    expect_state(State::SynSent);
}

TEST_P(SynSent, Rfc9293_3_10_7_3_RstWithBadAckDropped) {
    inject({.seq = 0, .ack = 100, .flags = Flags::Rst | Flags::Ack});  // acks ISS, not ISS+1
    expect_nothing_sent();
    expect_state(State::SynSent);
}

TEST_P(SynSent, SynRetransmittedWithBackoff_GivesUpClosedTimeout) {
    // RFC 6298 (2.1) 1 s, doubling (5.5); 6 retries as Linux: at 1, 3, 7, 15, 31, 63 s.
    const Instant start = h.now;
    const Duration at[] = {1s, 3s, 7s, 15s, 31s, 63s};
    for (Duration t : at) {
        advance(start + t - h.now - 1ms);
        expect_nothing_sent();
        advance(1ms);
        expect_sent({.seq = 100, .flags = Flags::Syn});
        expect_state(State::SynSent);
    }
    EXPECT_EQ(h.timer_at(TimerKind::Retransmit), start + 127s);
    advance(start + 127s - h.now);
    expect_nothing_sent();
    expect_state(State::Closed);
    expect_closed(CloseReason::Timeout);
    EXPECT_EQ(h.stats.retrans_segs, 6u);
}

TEST_P(SynSent, SynAckAfterSynRetransmission_RtoIsThreeSeconds) {
    advance(1s);
    expect_sent({.seq = 100, .flags = Flags::Syn});
    inject({.seq = 300, .ack = 101, .flags = Flags::Syn | Flags::Ack});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    EXPECT_EQ(h.conn.tcb().rtx.rto, 3s);  // RFC 6298 (5.7)
}

TEST_P(SynSent, Close_EntersClosed) {
    EXPECT_EQ(close(), Error::None);
    expect_nothing_sent();
    expect_state(State::Closed);
    expect_closed(CloseReason::Normal);
    EXPECT_FALSE(h.has_timer(TimerKind::Retransmit));
}

TEST_P(SynSent, Abort_EntersClosedWithoutReset) {
    EXPECT_EQ(abort(), Error::None);
    expect_nothing_sent();
    expect_closed(CloseReason::Aborted);
}

TEST_P(SynSent, DataQueuedBeforeEstablished_SentWithTheAck) {
    EXPECT_EQ(send("early").bytes, 5u);
    expect_nothing_sent();
    inject({.seq = 300, .ack = 101, .flags = Flags::Syn | Flags::Ack});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack | Flags::Psh, .payload = "early"});
    expect_state(State::Established);
}

TEST_P(SynSent, SynAckWithData_Delivered) {
    inject({.seq = 300, .ack = 101, .flags = Flags::Syn | Flags::Ack, .payload = "hi"});
    expect_sent({.seq = 101, .ack = 303, .flags = Flags::Ack});
    EXPECT_EQ(receive(), "hi");
}

// --- simultaneous open (RFC 9293 Figure 8) ------------------------------------------------

TEST_P(SynSent, Syn_SimultaneousOpenEntersSynReceived) {
    inject({.seq = 300, .flags = Flags::Syn});
    expect_sent({.seq = 100, .ack = 301, .flags = Flags::Syn | Flags::Ack});
    expect_state(State::SynReceived);
    inject({.seq = 300, .ack = 101, .flags = Flags::Syn | Flags::Ack});
    expect_nothing_sent();
    expect_state(State::Established);
    expect_event(EventKind::Connected);
    EXPECT_EQ(h.conn.status().snd_wnd, 8192u);  // a SYN-ACK's window: never scaled (RFC 7323 2.2)
}

// RFC 7323 2.2: "The window field in a segment where the SYN bit is set (i.e., a <SYN> or
// <SYN,ACK>) MUST NOT be scaled." In a simultaneous open the peer's SYN-ACK reaches us in
// SYN-RECEIVED with scaling already negotiated (from its SYN): its window is still the
// plain 16-bit figure.
class SynSentScaled : public TcpTest {
protected:
    static Config ws_config() {
        Config c = plain_config();
        c.window_scaling = true;
        return c;
    }
    SynSentScaled() : TcpTest(ws_config()) {}
    void SetUp() override {
        ASSERT_EQ(open_active(), Error::None);
        h.sent.clear();
    }
};

TEST_F(SynSentScaled, Rfc7323_2_2_SimultaneousOpenSynAckWindowNotScaled) {
    wire::TcpOptions ws;
    ws.has_wscale = true;
    ws.wscale = 7;
    inject({.seq = 300, .flags = Flags::Syn, .window = 8192, .options = ws});
    expect_sent({.seq = 100, .ack = 301, .flags = Flags::Syn | Flags::Ack});
    expect_state(State::SynReceived);
    inject(
        {.seq = 300, .ack = 101, .flags = Flags::Syn | Flags::Ack, .window = 8000, .options = ws});
    expect_nothing_sent();
    expect_state(State::Established);
    expect_event(EventKind::Connected);
    EXPECT_EQ(h.conn.status().snd_wnd, 8000u);  // not 8000 << 7
    // The first segment without SYN is scaled.
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 100});
    EXPECT_EQ(h.conn.status().snd_wnd, 100u << 7);
}

TEST_P(SynSent, SimultaneousOpen_RstInSynReceivedClosesRefused) {
    inject({.seq = 300, .flags = Flags::Syn});
    expect_sent({.seq = 100, .ack = 301, .flags = Flags::Syn | Flags::Ack});
    inject({.seq = 301, .flags = Flags::Rst});
    expect_state(State::Closed);
    expect_closed(CloseReason::Refused);
}

TEST_P(SynReceived, Rst_ReturnsToListen) {
    inject({.seq = 301, .flags = Flags::Rst});
    expect_nothing_sent();
    expect_state(State::Listen);
    expect_event(EventKind::ReturnedToListen);
    EXPECT_FALSE(h.has_timer(TimerKind::Retransmit));
    // And serves the next SYN.
    inject({.seq = 900, .flags = Flags::Syn});
    expect_sent({.seq = 100, .ack = 901, .flags = Flags::Syn | Flags::Ack});
    expect_state(State::SynReceived);
}

TEST_P(SynReceived, RstNotAtRcvNxt_ChallengeAck) {
    inject({.seq = 400, .flags = Flags::Rst});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    expect_state(State::SynReceived);
}

TEST_P(SynReceived, Close_SendsFinEntersFinWait1) {
    EXPECT_EQ(close(), Error::None);
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Fin | Flags::Ack});
    expect_state(State::FinWait1);
    // The peer's ACK for SYN and FIN completes the close from FIN-WAIT-1.
    inject({.seq = 301, .ack = 102, .flags = Flags::Ack});
    expect_state(State::FinWait2);
}

TEST_P(SynReceived, NewSyn_PassiveReturnsToListen) {
    // RFC 9293 3.10.7.4 fourth step, SYN-RECEIVED from a passive OPEN.
    inject({.seq = 302, .flags = Flags::Syn});
    expect_state(State::Listen);
    expect_event(EventKind::ReturnedToListen);
}

// Every transition test above, plain and with WS, SACK, TS and delayed ACK (issue 18).
SLUICE_BOTH_PROFILES(SynSent);
SLUICE_BOTH_PROFILES(Listen);
SLUICE_BOTH_PROFILES(SynReceived);

}  // namespace
}  // namespace sluice::tcp::test
