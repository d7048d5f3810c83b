// The compact TIME-WAIT entry and its pure segment handler: RFC 9293 3.10.7.4 for
// TIME-WAIT, RFC 1122 4.2.2.13 and RFC 6191 early reuse, RFC 1337.

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

class TimeWaitEntryTest : public ::testing::Test {
protected:
    TimeWaitEntry entry(bool timestamps) {
        TimeWaitEntry tw;
        tw.snd_nxt = SeqNum(102);
        tw.rcv_nxt = SeqNum(302);
        tw.ts_recent = timestamps ? 5000 : 0;
        tw.deadline = now + 60s;
        tw.local_port = kLocal.port;
        tw.remote_port = kRemote.port;
        tw.window = 4096;
        tw.timestamps = timestamps;
        return tw;
    }
    Segment seg(uint32_t seq, uint32_t ack, Flags f, std::optional<uint32_t> tsval = std::nullopt) {
        Segment s;
        s.src_port = kRemote.port;
        s.dst_port = kLocal.port;
        s.seq = SeqNum(seq);
        s.ack = SeqNum(ack);
        s.flags = f;
        s.window = 8192;
        if (tsval) {
            s.options.has_timestamps = true;
            s.options.ts_val = *tsval;
            s.options.ts_ecr = 1;
        }
        return s;
    }
    Config cfg = plain_config();
    Instant now = Instant::from_ns(1'000'000'000'000);
    OutSegment reply;
};

TEST_F(TimeWaitEntryTest, SizeWithinBudget) {
    EXPECT_LE(sizeof(TimeWaitEntry), 32u);
}

// RFC 5961 7: only the challenge ACKs (in-window RST with RFC 1337 off, an old SYN) are
// marked for the host's rate limit; re-ACKs of a retransmitted FIN are not.
TEST_F(TimeWaitEntryTest, ChallengeAcksAreMarkedForTheRateLimit) {
    cfg.time_wait_ignores_rst = false;
    TimeWaitEntry tw = entry(false);
    auto r = time_wait_on_segment(tw, seg(400, 0, Flags::Rst), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Ack);
    EXPECT_TRUE(r.challenge);
    r = time_wait_on_segment(tw, seg(200, 0, Flags::Syn), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Ack);
    EXPECT_TRUE(r.challenge);
    r = time_wait_on_segment(tw, seg(301, 102, Flags::Fin | Flags::Ack), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Ack);
    EXPECT_FALSE(r.challenge);
}

TEST_F(TimeWaitEntryTest, RetransmittedFin_ReAckedAndRestarted) {
    TimeWaitEntry tw = entry(false);
    now += 10s;
    auto r = time_wait_on_segment(tw, seg(301, 102, Flags::Fin | Flags::Ack), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Ack);
    EXPECT_TRUE(r.restarted);
    EXPECT_EQ(tw.deadline, now + 2 * cfg.msl);
    EXPECT_EQ(reply.seq, SeqNum(102));
    EXPECT_EQ(reply.ack, SeqNum(302));
    EXPECT_EQ(reply.flags, Flags::Ack);
    EXPECT_EQ(reply.window, 4096);
    EXPECT_EQ(reply.src_port, kLocal.port);
    EXPECT_EQ(reply.dst_port, kRemote.port);
}

TEST_F(TimeWaitEntryTest, ReAckCarriesTimestamps) {
    TimeWaitEntry tw = entry(true);
    auto r =
        time_wait_on_segment(tw, seg(301, 102, Flags::Fin | Flags::Ack, 5001), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Ack);
    EXPECT_TRUE(reply.options.has_timestamps);
    EXPECT_EQ(reply.options.ts_ecr, 5001u);
    EXPECT_EQ(reply.options.ts_val, ts_clock(now));
}

TEST_F(TimeWaitEntryTest, BareAck_Dropped) {
    TimeWaitEntry tw = entry(false);
    auto r = time_wait_on_segment(tw, seg(302, 102, Flags::Ack), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Drop);
    EXPECT_FALSE(r.restarted);
}

TEST_F(TimeWaitEntryTest, Rfc9293_3_10_7_4_UnacceptableSegment_Acked) {
    TimeWaitEntry tw = entry(false);
    auto r = time_wait_on_segment(tw, seg(9000, 102, Flags::Ack | Flags::Psh), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Ack);
    EXPECT_FALSE(r.restarted);
}

TEST_F(TimeWaitEntryTest, Rfc1337_RstIgnored) {
    TimeWaitEntry tw = entry(false);
    auto r = time_wait_on_segment(tw, seg(302, 0, Flags::Rst), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Drop);
}

TEST_F(TimeWaitEntryTest, Rfc1337Off_RstAtRcvNxtCloses) {
    cfg.time_wait_ignores_rst = false;
    TimeWaitEntry tw = entry(false);
    EXPECT_EQ(time_wait_on_segment(tw, seg(302, 0, Flags::Rst), now, cfg, reply).action,
              TimeWaitAction::Close);
    EXPECT_EQ(time_wait_on_segment(tw, seg(400, 0, Flags::Rst), now, cfg, reply).action,
              TimeWaitAction::Ack);
    EXPECT_EQ(time_wait_on_segment(tw, seg(302 + 100000, 0, Flags::Rst), now, cfg, reply).action,
              TimeWaitAction::Drop);
}

TEST_F(TimeWaitEntryTest, Rfc1122_4_2_2_13_SynAboveRcvNxt_Reopens) {
    TimeWaitEntry tw = entry(false);
    auto r = time_wait_on_segment(tw, seg(5000, 0, Flags::Syn), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Reopen);
    EXPECT_EQ(r.iss_after, SeqNum(102));
    // The new ISS lies above the old connection's sequence space.
    EXPECT_EQ(reopen_iss(SeqNum(50), r.iss_after), SeqNum(102 + 65537));
    EXPECT_EQ(reopen_iss(SeqNum(1'000'000), r.iss_after), SeqNum(1'000'000));
}

TEST_F(TimeWaitEntryTest, Rfc1122_4_2_2_13_SynBelowRcvNxt_ChallengeAck) {
    TimeWaitEntry tw = entry(false);
    auto r = time_wait_on_segment(tw, seg(200, 0, Flags::Syn), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Ack);
    EXPECT_EQ(reply.ack, SeqNum(302));
}

TEST_F(TimeWaitEntryTest, Rfc6191_SynWithNewerTimestamp_ReopensEvenBelowRcvNxt) {
    cfg.timestamps = true;
    TimeWaitEntry tw = entry(true);
    auto r = time_wait_on_segment(tw, seg(200, 0, Flags::Syn, 5001), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Reopen);
}

TEST_F(TimeWaitEntryTest, Rfc6191_SynWithOlderTimestamp_SilentlyDropped) {
    cfg.timestamps = true;
    TimeWaitEntry tw = entry(true);
    auto r = time_wait_on_segment(tw, seg(9000, 0, Flags::Syn, 4999), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Drop);
}

TEST_F(TimeWaitEntryTest, Rfc6191_EqualTimestampHigherSeq_Reopens) {
    cfg.timestamps = true;
    TimeWaitEntry tw = entry(true);
    EXPECT_EQ(time_wait_on_segment(tw, seg(9000, 0, Flags::Syn, 5000), now, cfg, reply).action,
              TimeWaitAction::Reopen);
    EXPECT_EQ(time_wait_on_segment(tw, seg(200, 0, Flags::Syn, 5000), now, cfg, reply).action,
              TimeWaitAction::Drop);
}

TEST_F(TimeWaitEntryTest, Rfc6191_NoTimestampOnNewSyn_FallsBackToSequence) {
    cfg.timestamps = true;
    TimeWaitEntry tw = entry(true);
    EXPECT_EQ(time_wait_on_segment(tw, seg(9000, 0, Flags::Syn), now, cfg, reply).action,
              TimeWaitAction::Reopen);
    EXPECT_EQ(time_wait_on_segment(tw, seg(200, 0, Flags::Syn), now, cfg, reply).action,
              TimeWaitAction::Drop);
}

// RFC 6191 2: the old incarnation did not use timestamps and the new SYN has them (we use
// them too): "honor the incoming connection request", whatever its sequence number; PAWS
// will keep old duplicates out. (Linux accepts it as well: the old connection's TS.Recent
// of 0 is older than the SYN's TSval.)
TEST_F(TimeWaitEntryTest, Rfc6191_2_OldWithoutTimestampsNewSynWithThem_ReopensBelowRcvNxt) {
    cfg.timestamps = true;
    TimeWaitEntry tw = entry(false);
    auto r = time_wait_on_segment(tw, seg(200, 0, Flags::Syn, 42), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Reopen);
    EXPECT_EQ(r.iss_after, SeqNum(102));
}

// RFC 6191 2: the new incarnation would not use timestamps (we do not), so only the sequence
// number counts: below RCV.NXT is RFC 793 processing, the challenge ACK.
TEST_F(TimeWaitEntryTest, Rfc6191_2_SynTimestampsWeDoNotUse_FallBackToSequence) {
    cfg.timestamps = false;
    TimeWaitEntry tw = entry(false);
    auto r = time_wait_on_segment(tw, seg(200, 0, Flags::Syn, 42), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Ack);
    EXPECT_TRUE(r.challenge);
}

// RFC 1337 F1 ignores RSTs in TIME-WAIT, against old duplicates that kill it (the peer resets
// our ACK of an old segment). A SYN below RCV.NXT from a client without timestamps gets a
// challenge ACK (RFC 9293 3.10.7.4 fourth step); the client, in SYN-SENT, answers
// <SEQ=SEG.ACK><CTL=RST> (RFC 9293 3.10.7.3) and retries. That RST, exactly at RCV.NXT, must
// end TIME-WAIT or the client stalls for 2 MSL. (Linux, tcp_rfc1337 = 0: any RST at RCV.NXT.)
TEST_F(TimeWaitEntryTest, Rfc1337_RstAnsweringOurChallengeAckToASyn_Closes) {
    ASSERT_TRUE(cfg.time_wait_ignores_rst);
    TimeWaitEntry tw = entry(false);
    auto r = time_wait_on_segment(tw, seg(200, 0, Flags::Syn), now, cfg, reply);
    ASSERT_EQ(r.action, TimeWaitAction::Ack);
    EXPECT_EQ(time_wait_on_segment(tw, seg(303, 0, Flags::Rst), now, cfg, reply).action,
              TimeWaitAction::Drop)
        << "not at RCV.NXT";
    r = time_wait_on_segment(tw, seg(200, 0, Flags::Syn), now, cfg, reply);  // the retry
    ASSERT_EQ(r.action, TimeWaitAction::Ack);
    EXPECT_EQ(time_wait_on_segment(tw, seg(302, 0, Flags::Rst), now, cfg, reply).action,
              TimeWaitAction::Close);
}

// The RFC 1337 hazard itself: our ACK of an old duplicate draws the peer's RST. Ignored.
TEST_F(TimeWaitEntryTest, Rfc1337_RstAnsweringOurAckOfAnOldSegment_StillIgnored) {
    TimeWaitEntry tw = entry(false);
    ASSERT_EQ(time_wait_on_segment(tw, seg(250, 102, Flags::Ack | Flags::Psh), now, cfg, reply).action,
              TimeWaitAction::Ack);
    EXPECT_EQ(time_wait_on_segment(tw, seg(302, 0, Flags::Rst), now, cfg, reply).action,
              TimeWaitAction::Drop);
}

TEST_F(TimeWaitEntryTest, Rfc7323_Paws_OldSegmentAcked) {
    TimeWaitEntry tw = entry(true);
    auto r = time_wait_on_segment(tw, seg(301, 102, Flags::Fin | Flags::Ack, 10), now, cfg, reply);
    EXPECT_EQ(r.action, TimeWaitAction::Ack);
    EXPECT_FALSE(r.restarted);
}

// The full TCB in TIME-WAIT follows the same rules.
class TimeWaitTcb : public TcpTest {
protected:
    void SetUp() override { to_time_wait(); }
};

TEST_F(TimeWaitTcb, SynAboveRcvNxt_ReopenReportedAndReleased) {
    clear_events();
    inject({.seq = 10000, .flags = Flags::Syn});
    expect_nothing_sent();
    expect_state(State::Closed);
    ASSERT_FALSE(h.events.empty());
    EXPECT_EQ(h.events.front().kind, EventKind::Reopen);
    EXPECT_EQ(h.events.front().seq, SeqNum(102));
    expect_event(EventKind::Reopen);
    expect_closed(CloseReason::Normal);
}

TEST_F(TimeWaitTcb, CompactEntryAnswersLikeTheTcb) {
    // The same retransmitted FIN, given to the TCB and to its compact entry.
    TimeWaitEntry tw = h.conn.time_wait_entry();
    advance(10s);
    Segment fin;
    fin.src_port = kRemote.port;
    fin.dst_port = kLocal.port;
    fin.seq = SeqNum(301);
    fin.ack = SeqNum(102);
    fin.flags = Flags::Fin | Flags::Ack;
    fin.window = 8192;
    OutSegment reply;
    const TimeWaitResult r = time_wait_on_segment(tw, fin, h.now, h.cfg, reply);
    h.inject(fin);
    ASSERT_EQ(h.sent.size(), 1u);
    const OutSegment& s = h.sent.front().seg;
    EXPECT_EQ(r.action, TimeWaitAction::Ack);
    EXPECT_EQ(s.seq, reply.seq);
    EXPECT_EQ(s.ack, reply.ack);
    EXPECT_EQ(s.flags, reply.flags);
    EXPECT_EQ(s.window, reply.window);
    EXPECT_EQ(h.timer_at(TimerKind::TimeWait), tw.deadline);
    h.sent.clear();
}

TEST_F(TimeWaitTcb, OldSyn_ChallengeAck) {
    inject({.seq = 250, .flags = Flags::Syn});
    expect_sent({.seq = 102, .ack = 302, .flags = Flags::Ack});
    expect_state(State::TimeWait);
}

}  // namespace
}  // namespace sluice::tcp::test
