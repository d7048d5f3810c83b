// Closing a connection: RFC 9293 3.6 and 3.10.4, Figures 12 and 13; RST in synchronized
// states (3.10.7.4 second step); abort (3.10.5); half-close.

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

class Established : public StateTest {
protected:
    void SetUp() override { to_established_active(); }
};
class FinWait1 : public StateTest {
protected:
    void SetUp() override { to_fin_wait_1(); }
};
class FinWait2 : public StateTest {
protected:
    void SetUp() override { to_fin_wait_2(); }
};
class CloseWait : public StateTest {
protected:
    void SetUp() override { to_close_wait(); }
};
class LastAck : public StateTest {
protected:
    void SetUp() override { to_last_ack(); }
};
class Closing : public StateTest {
protected:
    void SetUp() override {
        to_fin_wait_1();
        inject({.seq = 301, .ack = 101, .flags = Flags::Fin | Flags::Ack});  // crosses our FIN
        expect_sent({.seq = 102, .ack = 302, .flags = Flags::Ack});
        expect_state(State::Closing);
        expect_event(EventKind::PeerClosed);
    }
};

// --- four-way close, active side ------------------------------------------------------------

TEST_P(Established, Close_SendsFinEntersFinWait1) {
    EXPECT_EQ(close(), Error::None);
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Fin | Flags::Ack});
    expect_state(State::FinWait1);
    EXPECT_TRUE(h.has_timer(TimerKind::Retransmit));
}

TEST_P(Established, CloseWithQueuedData_FinFollowsData) {
    send("abc");
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack | Flags::Psh, .payload = "abc"});
    EXPECT_EQ(close(), Error::None);
    expect_sent({.seq = 104, .ack = 301, .flags = Flags::Fin | Flags::Ack});
    expect_state(State::FinWait1);
    EXPECT_EQ(send("more").error, Error::ConnectionClosing);
}

TEST_P(FinWait1, AckOfFin_EntersFinWait2) {
    inject({.seq = 301, .ack = 102, .flags = Flags::Ack});
    expect_nothing_sent();
    expect_state(State::FinWait2);
    EXPECT_FALSE(h.has_timer(TimerKind::Retransmit));
    EXPECT_TRUE(h.has_timer(TimerKind::FinWait2));  // fully closed: orphan timeout armed
}

TEST_P(FinWait1, FinLost_RetransmittedAfterRto) {
    advance(1s);
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Fin | Flags::Ack});
    advance(2s);
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Fin | Flags::Ack});
    inject({.seq = 301, .ack = 102, .flags = Flags::Ack});
    expect_state(State::FinWait2);
}

TEST_P(FinWait2, Fin_EntersTimeWaitAndAcks) {
    inject({.seq = 301, .ack = 102, .flags = Flags::Fin | Flags::Ack});
    expect_sent({.seq = 102, .ack = 302, .flags = Flags::Ack});
    expect_state(State::TimeWait);
    expect_event(EventKind::TimeWait);
    expect_event(EventKind::PeerClosed);
    EXPECT_EQ(h.timer_at(TimerKind::TimeWait), h.now + 2 * h.cfg.msl);
    EXPECT_FALSE(h.has_timer(TimerKind::FinWait2));
}

// RFC 1122 4.2.2.13: a host that called CLOSE and then receives new data SHOULD send RST to
// show that the data was lost (Linux and FreeBSD do, and close: TCPAbortOnData). close()
// closed our receive side, so nobody would ever read it.
TEST_P(FinWait2, Rfc1122_4_2_2_13_DataAfterCloseGetsRst) {
    inject({.seq = 301, .ack = 102, .flags = Flags::Ack, .payload = "late"});
    expect_sent({.seq = 102, .flags = Flags::Rst});
    expect_state(State::Closed);
    expect_closed(CloseReason::Aborted);
    EXPECT_EQ(h.stats.drop_count(DropReason::AfterClose), 1u);
    EXPECT_FALSE(h.next_timer().has_value());
}

TEST_P(FinWait1, Rfc1122_4_2_2_13_DataAfterCloseGetsRst) {
    // <SEQ=SEG.ACK><CTL=RST>, as Linux: the peer's RCV.NXT when it sent this (our FIN may
    // not have reached it), so its RFC 5961 3.2 check takes the RST at once.
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "late"});
    expect_sent({.seq = 101, .flags = Flags::Rst});
    expect_state(State::Closed);
    expect_closed(CloseReason::Aborted);
}

// Out of order is new data too (Linux checks only that it ends beyond RCV.NXT).
TEST_P(FinWait2, Rfc1122_4_2_2_13_OutOfOrderDataAfterCloseGetsRst) {
    inject({.seq = 310, .ack = 102, .flags = Flags::Ack, .payload = "late"});
    expect_sent({.seq = 102, .flags = Flags::Rst});
    expect_state(State::Closed);
}

// Nothing new (a retransmission of what was ACKed before close()): the usual ACK, no RST.
TEST_P(FinWait2, OldDataAfterClose_JustAcked) {
    inject({.seq = 297, .ack = 102, .flags = Flags::Ack, .payload = "old"});
    expect_sent({.seq = 102, .ack = 301, .flags = Flags::Ack});
    expect_state(State::FinWait2);
}

TEST_P(FinWait2, Timeout_ClosesOrphanedConnection) {
    advance(h.cfg.fin_wait_2_timeout - 1ms);
    expect_state(State::FinWait2);
    advance(1ms);
    expect_nothing_sent();
    expect_state(State::Closed);
    expect_closed(CloseReason::Normal);
}

TEST(FinWait2Config, TimeoutIsConfigurable) {
    Config c = plain_config();
    c.fin_wait_2_timeout = 5s;
    EXPECT_EQ(kDefaultFinWait2Timeout, 60s);
    Pair p(c, c);
    Effects fx;
    ASSERT_EQ(p.b.conn.open_passive(FourTuple{kRemote, Endpoint{}}, SeqNum(kIrs)), Error::None);
    ASSERT_EQ(p.a.conn.open_active(kTuple, SeqNum(kIss), p.a.now, fx), Error::None);
    p.a.absorb(fx);
    p.pump();
    ASSERT_EQ(p.a.conn.close(p.a.now, fx), Error::None);
    p.a.absorb(fx);
    p.pump();
    ASSERT_EQ(p.a.conn.state(), State::FinWait2);
    p.advance(5s);
    EXPECT_EQ(p.a.conn.state(), State::Closed);
}

class HalfClosed : public StateTest {
protected:
    void SetUp() override {
        to_established_active();
        ASSERT_EQ(shutdown_send(), Error::None);
        expect_sent({.seq = 101, .ack = 301, .flags = Flags::Fin | Flags::Ack});
        inject({.seq = 301, .ack = 102, .flags = Flags::Ack});
        expect_state(State::FinWait2);
    }
};

TEST_P(HalfClosed, FinWait2WaitsForThePeersFin) {
    EXPECT_FALSE(h.has_timer(TimerKind::FinWait2));
    advance(10 * h.cfg.fin_wait_2_timeout);
    expect_state(State::FinWait2);
    // The receive side still works.
    inject({.seq = 301, .ack = 102, .flags = Flags::Ack | Flags::Psh, .payload = "reply"});
    expect_sent({.seq = 102, .ack = 306, .flags = Flags::Ack});
    EXPECT_EQ(receive(), "reply");
    inject({.seq = 306, .ack = 102, .flags = Flags::Fin | Flags::Ack});
    expect_sent({.seq = 102, .ack = 307, .flags = Flags::Ack});
    expect_state(State::TimeWait);
    std::vector<uint8_t> buf(16);
    Effects fx;
    EXPECT_EQ(h.conn.receive(buf, h.now, fx).error, Error::EndOfStream);
}

TEST_P(HalfClosed, CloseLater_ArmsFinWait2Timeout) {
    EXPECT_EQ(close(), Error::None);
    EXPECT_TRUE(h.has_timer(TimerKind::FinWait2));
    advance(h.cfg.fin_wait_2_timeout);
    expect_state(State::Closed);
}

// --- TIME-WAIT ----------------------------------------------------------------------------

class TimeWait : public StateTest {
protected:
    void SetUp() override { to_time_wait(); }
};

TEST_P(TimeWait, TwoMslLater_Closed) {
    advance(2 * h.cfg.msl - 1ms);
    expect_state(State::TimeWait);
    advance(1ms);
    expect_state(State::Closed);
    expect_closed(CloseReason::Normal);
    EXPECT_EQ(h.stats.transition_count(State::TimeWait, State::Closed), 1u);
}

TEST_P(TimeWait, RetransmittedFin_ReAckedAndTwoMslRestarted) {
    advance(40s);
    inject({.seq = 301, .ack = 102, .flags = Flags::Fin | Flags::Ack});
    expect_sent({.seq = 102, .ack = 302, .flags = Flags::Ack});
    expect_state(State::TimeWait);
    EXPECT_EQ(h.timer_at(TimerKind::TimeWait), h.now + 60s);
    advance(59s);
    expect_state(State::TimeWait);
    advance(1s);
    expect_state(State::Closed);
}

TEST_P(TimeWait, MslIsConfigurable) {
    EXPECT_EQ(kDefaultMsl, 30s);
    EXPECT_EQ(h.timer_at(TimerKind::TimeWait) - h.now, 60s);
}

TEST_P(TimeWait, RstIgnoredPerRfc1337) {
    inject({.seq = 302, .flags = Flags::Rst});
    expect_nothing_sent();
    expect_state(State::TimeWait);
}

TEST_P(TimeWait, CompactEntryMatchesTheTcb) {
    TimeWaitEntry tw = h.conn.time_wait_entry();
    EXPECT_EQ(tw.snd_nxt, SeqNum(102));
    EXPECT_EQ(tw.rcv_nxt, SeqNum(302));
    EXPECT_EQ(tw.deadline, h.timer_at(TimerKind::TimeWait));
    EXPECT_EQ(tw.local_port, kLocal.port);
    EXPECT_EQ(tw.remote_port, kRemote.port);
    // The peer's FIN took one sequence number of the 4096 offered; moving the right edge by
    // that one byte would be a silly window update (RFC 9293 3.8.6.2.2).
    EXPECT_EQ(tw.window, 4095);
}

// --- four-way close, passive side ---------------------------------------------------------

// RFC 5681 4.2 / RFC 9293 3.10.7.4: an out-of-order segment is ACKed at once, a bare FIN
// beyond RCV.NXT (the data before it lost) included: the duplicate ACK tells the peer.
TEST_P(Established, Rfc5681_4_2_OutOfOrderBareFinGetsDuplicateAck) {
    inject({.seq = 305, .ack = 101, .flags = Flags::Fin | Flags::Ack});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    expect_state(State::Established);
    expect_no_event(EventKind::PeerClosed);
}

TEST_P(Established, Fin_EntersCloseWaitAndAcks) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Fin | Flags::Ack});
    expect_sent({.seq = 101, .ack = 302, .flags = Flags::Ack});
    expect_state(State::CloseWait);
    expect_event(EventKind::PeerClosed);
}

TEST_P(CloseWait, Close_SendsFinEntersLastAck) {
    EXPECT_EQ(close(), Error::None);
    expect_sent({.seq = 101, .ack = 302, .flags = Flags::Fin | Flags::Ack});
    expect_state(State::LastAck);
}

TEST_P(CloseWait, SendStillWorks) {
    send("bye");
    expect_sent({.seq = 101, .ack = 302, .flags = Flags::Ack | Flags::Psh, .payload = "bye"});
    std::vector<uint8_t> buf(8);
    Effects fx;
    EXPECT_EQ(h.conn.receive(buf, h.now, fx).error, Error::EndOfStream);
}

TEST_P(LastAck, AckOfFin_Closed) {
    inject({.seq = 302, .ack = 102, .flags = Flags::Ack});
    expect_nothing_sent();
    expect_state(State::Closed);
    expect_closed(CloseReason::Normal);
    EXPECT_EQ(h.stats.transition_count(State::LastAck, State::Closed), 1u);
}

TEST_P(LastAck, FinLost_Retransmitted) {
    advance(1s);
    expect_sent({.seq = 101, .ack = 302, .flags = Flags::Fin | Flags::Ack});
    inject({.seq = 302, .ack = 102, .flags = Flags::Ack});
    expect_state(State::Closed);
}

// --- three-way close ----------------------------------------------------------------------

TEST_P(FinWait1, FinAck_StraightToTimeWait) {
    inject({.seq = 301, .ack = 102, .flags = Flags::Fin | Flags::Ack});
    expect_sent({.seq = 102, .ack = 302, .flags = Flags::Ack});
    expect_state(State::TimeWait);
    EXPECT_EQ(h.stats.transition_count(State::FinWait1, State::TimeWait), 1u);
    EXPECT_EQ(h.stats.transition_count(State::FinWait1, State::FinWait2), 0u);
}

TEST_P(Established, PassiveClose_AckTogetherWithFin) {
    // The application closes from its PeerClosed callback, before the host drains the
    // sink: the pending ACK of the peer's FIN rides on our FIN (a three-way close).
    Effects fx;
    Segment fin;
    fin.src_port = kRemote.port;
    fin.dst_port = kLocal.port;
    fin.seq = SeqNum(301);
    fin.ack = SeqNum(101);
    fin.flags = Flags::Fin | Flags::Ack;
    fin.window = 8192;
    if (full()) h.fill_peer_options(fin);
    h.conn.on_segment(fin, h.now, fx);
    ASSERT_EQ(fx.app_events().back().kind, EventKind::PeerClosed);
    ASSERT_EQ(h.conn.close(h.now, fx), Error::None);
    h.absorb(fx);
    expect_sent({.seq = 101, .ack = 302, .flags = Flags::Fin | Flags::Ack});
    expect_nothing_sent();
    expect_state(State::LastAck);
    inject({.seq = 302, .ack = 102, .flags = Flags::Ack});
    expect_state(State::Closed);
    expect_closed(CloseReason::Normal);
}

// --- simultaneous close (RFC 9293 Figure 13) ------------------------------------------------

TEST_P(FinWait1, Fin_EntersClosing) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Fin | Flags::Ack});
    expect_sent({.seq = 102, .ack = 302, .flags = Flags::Ack});
    expect_state(State::Closing);
}

TEST_P(Closing, AckOfFin_EntersTimeWait) {
    inject({.seq = 302, .ack = 102, .flags = Flags::Ack});
    expect_nothing_sent();
    expect_state(State::TimeWait);
    advance(2 * h.cfg.msl);
    expect_state(State::Closed);
}

TEST_P(Closing, FinLost_Retransmitted) {
    advance(1s);
    expect_sent({.seq = 101, .ack = 302, .flags = Flags::Fin | Flags::Ack});
    inject({.seq = 302, .ack = 102, .flags = Flags::Ack});
    expect_state(State::TimeWait);
}

// --- RST in synchronized states (RFC 9293 3.10.7.4 second step, RFC 5961 3.2) --------------

TEST_P(Established, Rst_ClosedResetQueuedDataDropped) {
    send("unacked");
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack | Flags::Psh, .payload = "unacked"});
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "unread"});
    expect_sent({.seq = 108, .ack = 307, .flags = Flags::Ack});
    inject({.seq = 307, .flags = Flags::Rst});
    expect_nothing_sent();
    expect_state(State::Closed);
    expect_closed(CloseReason::Reset);
    EXPECT_EQ(h.conn.status().send_queued, 0u);
    EXPECT_EQ(h.conn.status().recv_queued, 0u);
    EXPECT_EQ(send("x").error, Error::Reset);
    std::vector<uint8_t> buf(8);
    Effects fx;
    EXPECT_EQ(h.conn.receive(buf, h.now, fx).error, Error::Reset);
    EXPECT_EQ(h.stats.estab_resets, 1u);
    EXPECT_FALSE(h.next_timer().has_value());
}

TEST_P(Established, Rfc5961_Sec3_InWindowRstGetsChallengeAck) {
    inject({.seq = 350, .flags = Flags::Rst});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    expect_state(State::Established);
    EXPECT_EQ(h.stats.challenge_acks, 1u);
}

TEST_P(Established, Rfc5961_Sec3_OutOfWindowRstDropped) {
    inject({.seq = 300 + 100000, .flags = Flags::Rst});
    expect_nothing_sent();
    expect_state(State::Established);
    EXPECT_EQ(h.stats.drop_count(DropReason::RstOutOfWindow), 1u);
}

TEST_P(Established, Rfc5961_Sec4_SynGetsChallengeAck) {
    inject({.seq = 1234, .flags = Flags::Syn});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    expect_state(State::Established);
}

TEST_P(Established, Rfc5961_Sec4_InWindowSynGetsChallengeAck) {
    inject({.seq = 301, .flags = Flags::Syn});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    expect_state(State::Established);
    EXPECT_EQ(h.stats.challenge_acks, 1u);
}

TEST_P(FinWait1, Rst_Closed) {
    inject({.seq = 301, .flags = Flags::Rst});
    expect_state(State::Closed);
    expect_closed(CloseReason::Reset);
}

TEST_P(FinWait2, Rst_Closed) {
    inject({.seq = 301, .flags = Flags::Rst});
    expect_state(State::Closed);
    expect_closed(CloseReason::Reset);
}

TEST_P(CloseWait, Rst_Closed) {
    inject({.seq = 302, .flags = Flags::Rst});
    expect_state(State::Closed);
    expect_closed(CloseReason::Reset);
}

TEST_P(Closing, Rst_Closed) {
    inject({.seq = 302, .flags = Flags::Rst});
    expect_state(State::Closed);
    expect_closed(CloseReason::Reset);
}

TEST_P(LastAck, Rst_Closed) {
    inject({.seq = 302, .flags = Flags::Rst});
    expect_state(State::Closed);
    expect_closed(CloseReason::Reset);
}

// --- abort (RFC 9293 3.10.5) ----------------------------------------------------------------

TEST_P(Established, Abort_SendsRstClosedAborted) {
    send("pending");
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack | Flags::Psh, .payload = "pending"});
    EXPECT_EQ(abort(), Error::None);
    expect_sent({.seq = 108, .flags = Flags::Rst});
    expect_state(State::Closed);
    expect_closed(CloseReason::Aborted);
    EXPECT_EQ(h.stats.out_rsts, 1u);
}

TEST_P(Established, CloseWithUnreadData_Resets) {
    // RFC 2525 2.17: closing with unread received data sends RST, not FIN.
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "unread"});
    expect_sent({.seq = 101, .ack = 307, .flags = Flags::Ack});
    EXPECT_EQ(close(), Error::None);
    expect_sent({.seq = 101, .flags = Flags::Rst});
    expect_closed(CloseReason::Aborted);
}

TEST_P(TimeWait, Abort_ClosedWithoutRst) {
    EXPECT_EQ(abort(), Error::None);
    expect_nothing_sent();
    expect_state(State::Closed);
}

// --- user-call errors (RFC 9293 3.10) -------------------------------------------------------

TEST_P(FinWait1, CloseAgain_ConnectionClosing) {
    EXPECT_EQ(close(), Error::ConnectionClosing);
}

TEST(UserCalls, ClosedConnection_DoesNotExist) {
    Host c;
    Effects fx;
    EXPECT_EQ(c.conn.close(c.now, fx), Error::ConnectionDoesNotExist);
    EXPECT_EQ(c.conn.abort(c.now, fx), Error::ConnectionDoesNotExist);
    EXPECT_EQ(c.conn.send({}, c.now, fx).error, Error::ConnectionDoesNotExist);
    EXPECT_EQ(c.conn.open_active(FourTuple{kLocal, Endpoint{}}, SeqNum(1), c.now, fx),
              Error::ForeignSocketUnspecified);
    EXPECT_EQ(c.conn.open_active(kTuple, SeqNum(1), c.now, fx), Error::None);
    EXPECT_EQ(c.conn.open_active(kTuple, SeqNum(1), c.now, fx), Error::ConnectionExists);
}

// Every transition test above, plain and with WS, SACK, TS and delayed ACK (issue 18).
SLUICE_BOTH_PROFILES(Established);
SLUICE_BOTH_PROFILES(FinWait1);
SLUICE_BOTH_PROFILES(FinWait2);
SLUICE_BOTH_PROFILES(CloseWait);
SLUICE_BOTH_PROFILES(LastAck);
SLUICE_BOTH_PROFILES(Closing);
SLUICE_BOTH_PROFILES(HalfClosed);
SLUICE_BOTH_PROFILES(TimeWait);

}  // namespace
}  // namespace sluice::tcp::test
