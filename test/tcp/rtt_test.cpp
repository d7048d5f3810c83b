// RTT estimation and the RTO, RFC 6298 (2)-(3) and (5), with samples from timed segments
// (Karn's algorithm) or from timestamps (RFC 7323 4.1).

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

class Rtt : public TcpTest {
protected:
    void SetUp() override { to_established_active(); }
    // Sends one byte, waits r, and has it acknowledged.
    void exchange(Duration r) {
        const uint32_t seq = h.conn.tcb().snd_nxt.raw();
        send("x");
        expect_sent({.seq = seq, .flags = Flags::Ack | Flags::Psh, .payload = "x"});
        advance(r);
        inject({.seq = 301, .ack = seq + 1, .flags = Flags::Ack});
        expect_nothing_sent();
    }
};

TEST_F(Rtt, Rfc6298_2_1_InitialRtoIsOneSecond) {
    EXPECT_EQ(h.conn.status().rto, 1s);
    EXPECT_EQ(h.conn.status().srtt, 0s);
    EXPECT_EQ(Config{}.min_rto, 200ms);
    EXPECT_EQ(Config{}.max_rto, 120s);
}

TEST_F(Rtt, Rfc6298_2_2_FirstSampleSetsSrttAndRttvar) {
    exchange(100ms);
    EXPECT_EQ(h.conn.status().srtt, 100ms);
    EXPECT_EQ(h.conn.status().rttvar, 50ms);
    EXPECT_EQ(h.conn.status().rto, 300ms);  // 100 + 4 * 50
}

TEST_F(Rtt, Rfc6298_2_3_SubsequentRttUpdatesSrttAndRttvar) {
    exchange(100ms);
    exchange(200ms);
    // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5.
    EXPECT_EQ(h.conn.status().rttvar, 62500us);
    EXPECT_EQ(h.conn.status().srtt, 112500us);
    EXPECT_EQ(h.conn.status().rto, 362500us);
}

TEST_F(Rtt, Rfc6298_2_4_RtoNotBelowMinimum) {
    exchange(10ms);
    EXPECT_EQ(h.conn.status().rto, h.cfg.min_rto);  // 10 + 4 * 5 = 30 ms < 200 ms
    send("y");
    expect_sent({.seq = 102, .flags = Flags::Ack | Flags::Psh, .payload = "y"});
    EXPECT_EQ(h.timer_at(TimerKind::Retransmit), h.now + 200ms);
}

TEST_F(Rtt, Rfc6298_2_3_ClockGranularityFloor) {
    Config c = plain_config();
    c.min_rto = 0s;
    RttEstimator e;
    EXPECT_EQ(e.sample(5ms, c.min_rto, c.max_rto), 15ms);  // 5 + 4 * 2.5
    for (int i = 0; i < 200; ++i) e.sample(5ms, c.min_rto, c.max_rto);
    // RTTVAR decays toward zero; G = 1 ms keeps RTO above SRTT (2.3).
    EXPECT_EQ(e.rto(c.min_rto, c.max_rto), 5ms + kClockGranularity);
}

TEST_F(Rtt, Rfc6298_3_Karn_NoSampleFromRetransmittedSegment) {
    send("x");
    expect_sent({.seq = 101, .flags = Flags::Ack | Flags::Psh, .payload = "x"});
    advance(1s);
    expect_sent({.seq = 101, .flags = Flags::Ack | Flags::Psh, .payload = "x"});
    advance(100ms);
    inject({.seq = 301, .ack = 102, .flags = Flags::Ack});
    EXPECT_EQ(h.conn.status().srtt, 0s);  // ambiguous: which transmission was acknowledged?
    EXPECT_EQ(h.conn.status().rto, 1s);
    EXPECT_EQ(h.conn.tcb().rtx.backoff, 1);  // kept until a valid sample (RFC 6298 (5.5))
    exchange(100ms);                        // the next segment is timed again
    EXPECT_EQ(h.conn.status().srtt, 100ms);
    EXPECT_EQ(h.conn.tcb().rtx.backoff, 0);
}

// RFC 6298 (5.5) with Karn's algorithm (RFC 6298 (3), RFC 1122 4.2.3.1): the backed-off
// RTO is kept for the next segment until a valid RTT sample; the ACK of a retransmitted
// segment is no sample and does not undo the backoff. (Linux agrees: icsk_backoff is
// cleared by tcp_ack_update_rtt only.) No timestamps: the path RTT rises above the RTO.
TEST_F(Rtt, Rfc6298_5_5_Karn_BackedOffRtoKeptUntilValidSample) {
    exchange(100ms);  // RTO 300 ms
    send("y");
    expect_sent({.seq = 102, .flags = Flags::Ack | Flags::Psh, .payload = "y"});
    advance(300ms);  // the path's RTT is now 400 ms: the first timeout
    expect_sent({.seq = 102, .flags = Flags::Ack | Flags::Psh, .payload = "y"});
    EXPECT_EQ(h.timer_at(TimerKind::Retransmit) - h.now, Duration(600ms));  // (5.5)
    advance(100ms);
    inject({.seq = 301, .ack = 103, .flags = Flags::Ack});  // ambiguous: no sample
    EXPECT_EQ(h.conn.status().srtt, 100ms);
    send("z");
    expect_sent({.seq = 103, .flags = Flags::Ack | Flags::Psh, .payload = "z"});
    EXPECT_EQ(h.timer_at(TimerKind::Retransmit) - h.now, Duration(600ms));  // still doubled
    advance(400ms);
    inject({.seq = 301, .ack = 104, .flags = Flags::Ack});  // z was timed: a valid sample
    // RTTVAR = 3/4 * 50 + 1/4 * 300 = 112.5; SRTT = 7/8 * 100 + 1/8 * 400 = 137.5.
    EXPECT_EQ(h.conn.status().rto, 137500us + 4 * 112500us);
    send("w");
    expect_sent({.seq = 104, .flags = Flags::Ack | Flags::Psh, .payload = "w"});
    EXPECT_EQ(h.timer_at(TimerKind::Retransmit) - h.now, Duration(587500us));  // backoff over
}

// --- timestamps -----------------------------------------------------------------------------

Config ts_config() {
    Config c = plain_config();
    c.timestamps = true;
    return c;
}

class RttTimestamps : public TcpTest {
protected:
    RttTimestamps() : TcpTest(ts_config()) {}
    void SetUp() override {
        wire::TcpOptions o;
        o.has_timestamps = true;
        o.ts_val = 500;
        o.ts_ecr = ts_clock(h.now);
        to_established_active(o);
    }
    wire::TcpOptions ts(uint32_t val, uint32_t ecr) {
        wire::TcpOptions o;
        o.has_timestamps = true;
        o.ts_val = val;
        o.ts_ecr = ecr;
        return o;
    }
};

TEST_F(RttTimestamps, Rfc7323_4_1_SampleFromTsEcr) {
    send("x");
    const uint32_t tsval = h.sent.front().seg.options.ts_val;
    h.sent.clear();
    advance(80ms);
    inject({.seq = 301, .ack = 102, .flags = Flags::Ack, .options = ts(501, tsval)});
    EXPECT_EQ(h.conn.status().srtt, 80ms);
    EXPECT_EQ(h.conn.status().rto, 240ms);
}

TEST_F(RttTimestamps, Rfc7323_4_1_RetransmissionSampledWithoutAmbiguity) {
    send("x");
    h.sent.clear();
    advance(1s);
    ASSERT_EQ(h.sent.size(), 1u);
    const uint32_t tsval = h.sent.front().seg.options.ts_val;  // the retransmission's TSval
    h.sent.clear();
    advance(50ms);
    inject({.seq = 301, .ack = 102, .flags = Flags::Ack, .options = ts(501, tsval)});
    EXPECT_EQ(h.conn.status().srtt, 50ms);
    EXPECT_EQ(h.conn.status().rto, h.cfg.min_rto);  // 50 + 100 < 200
}

TEST_F(RttTimestamps, Rfc7323_4_1_AckOfNothingNewGivesNoSample) {
    send("x");
    const uint32_t tsval = h.sent.front().seg.options.ts_val;
    h.sent.clear();
    advance(80ms);
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .options = ts(501, tsval)});
    EXPECT_EQ(h.conn.status().srtt, 0s);
}

// RFC 7323 5.5: after more than 24 days without a segment, TS.Recent is invalid (the
// peer's 1 ms clock may have run half its 32-bit space): the PAWS test is skipped for the
// next segment and TS.Recent taken from it. Without this an idle connection froze forever
// (every segment "older" than TS.Recent). Linux: TCP_PAWS_24DAYS in tcp_paws_check.
TEST_F(RttTimestamps, Rfc7323_5_5_PawsSkippedAfter24DaysIdle) {
    constexpr uint32_t kDay = 86'400'000;  // the peer's TSval ticks, 1 ms
    advance(std::chrono::hours(25 * 24));
    const uint32_t later = 500 + 25 * kDay;  // "older" than 500 in 32-bit serial arithmetic
    ASSERT_LT(static_cast<int32_t>(later - 500), 0);
    inject({.seq = 301,
            .ack = 101,
            .flags = Flags::Ack | Flags::Psh,
            .options = ts(later, ts_clock(h.now)),
            .payload = "hi"});
    expect_sent({.seq = 101, .ack = 303, .flags = Flags::Ack});
    EXPECT_EQ(receive(), "hi");
    EXPECT_EQ(h.conn.tcb().ts_recent, later);
    EXPECT_EQ(h.stats.paws_rejected, 0u);
}

// Within 24 days PAWS holds: an old TSval is rejected (and ACKed, RFC 7323 5.3 R1).
TEST_F(RttTimestamps, Rfc7323_5_3_PawsHoldsWithin24Days) {
    advance(std::chrono::hours(23 * 24));
    inject({.seq = 301,
            .ack = 101,
            .flags = Flags::Ack | Flags::Psh,
            .options = ts(499, ts_clock(h.now)),
            .payload = "hi"});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    EXPECT_EQ(h.stats.paws_rejected, 1u);
}

}  // namespace
}  // namespace sluice::tcp::test
