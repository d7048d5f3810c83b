// RFC 5961 7: the per-lcore challenge-ACK limit, alone and on a connection under a blind
// RST/SYN storm.

#include <set>

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

// How many challenge ACKs the limiter lets through in one second starting at t.
uint32_t budget_at(ChallengeAckLimiter& l, Instant t) {
    uint32_t n = 0;
    while (l.allow(t) && n < 100000) ++n;
    return n;
}

TEST(ChallengeAckLimiter, ZeroLimitMeansNoLimit) {
    ChallengeAckLimiter l;
    l.configure(0, 42);
    for (int i = 0; i < 100000; ++i) ASSERT_TRUE(l.allow(Instant::from_ns(1)));
}

TEST(ChallengeAckLimiter, EachSecondsBudgetIsRandomWithinHalfToOneAndAHalfTimesTheLimit) {
    ChallengeAckLimiter l;
    l.configure(1000, 0x1234567);
    std::set<uint32_t> seen;
    Instant t = Instant::from_ns(5'000'000'000);
    for (int s = 0; s < 50; ++s, t = t + std::chrono::seconds(1)) {
        const uint32_t b = budget_at(l, t);
        EXPECT_GE(b, 500u);
        EXPECT_LT(b, 1500u);
        // Within the same second nothing more, whatever the sub-second time.
        EXPECT_FALSE(l.allow(t + std::chrono::milliseconds(999)));
        seen.insert(b);
    }
    EXPECT_GT(seen.size(), 40u) << "budgets repeat: predictable (CVE-2016-5696)";
}

TEST(ChallengeAckLimiter, DifferentSeedsGiveDifferentBudgets) {
    ChallengeAckLimiter a, b;
    a.configure(1000, 1);
    b.configure(1000, 2);
    const Instant t = Instant::from_ns(1);
    EXPECT_NE(budget_at(a, t), budget_at(b, t));
}

class ChallengeStorm : public TcpTest {
protected:
    void SetUp() override {
        h.stats.challenge_limiter.configure(10, 99);
        to_established_active();
    }
};

// A blind attacker's in-window RSTs and SYNs: the connection survives all of them, and no
// more challenge ACKs leave per second than the budget allows; the rest are counted.
TEST_F(ChallengeStorm, Rfc5961_Sec7_ChallengeAcksAreLimitedPerSecondAndCounted) {
    for (int i = 0; i < 100; ++i)
        inject({.seq = 302 + uint32_t(i), .flags = (i % 2) ? Flags::Syn : Flags::Rst});
    expect_state(State::Established);
    const uint64_t sent = h.stats.challenge_acks;
    EXPECT_GE(sent, 5u);
    EXPECT_LT(sent, 15u);
    EXPECT_EQ(h.sent.size(), sent);
    EXPECT_EQ(h.stats.challenge_acks_skipped, 100 - sent);
    for (const Sent& s : h.sent) EXPECT_EQ(s.seg.flags, Flags::Ack);
    // The next second brings a fresh budget.
    h.sent.clear();
    advance(std::chrono::seconds(1));
    inject({.seq = 350, .flags = Flags::Rst});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    EXPECT_EQ(h.stats.challenge_acks, sent + 1);
}

// Ordinary ACKs (unacceptable segments, RFC 9293 3.10.7.4 first step) are not challenge
// ACKs and are never limited.
TEST_F(ChallengeStorm, DuplicateAcksForOldSegmentsAreNotLimited) {
    for (int i = 0; i < 50; ++i) inject({.seq = 200, .ack = 101, .flags = Flags::Ack, .payload = "x"});
    EXPECT_EQ(h.sent.size(), 50u);
    EXPECT_EQ(h.stats.challenge_acks_skipped, 0u);
    h.sent.clear();
}

// RFC 5961 5.2: an ACK is acceptable only in [SND.UNA - MAX.SND.WND, SND.NXT]. A blind
// injection with a guessed-wrong ACK is dropped, data and all, and answered with an ACK.
TEST_F(ChallengeStorm, Rfc5961_Sec5_AckBelowTheAcceptableRangeIsDroppedWithItsData) {
    const uint32_t max_wnd = h.conn.tcb().max_snd_wnd;  // SND.UNA is 101
    ASSERT_GT(max_wnd, 100u);
    inject({.seq = 301, .ack = 101u - max_wnd - 1u, .flags = Flags::Ack, .payload = "forged"});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    EXPECT_EQ(h.conn.status().recv_queued, 0u);
    EXPECT_EQ(h.stats.drop_count(DropReason::AckUnacceptable), 1u);
    // Just inside the range (an old but plausible ACK): the data is taken.
    inject({.seq = 301, .ack = 101u - 100u, .flags = Flags::Ack, .payload = "real"});
    EXPECT_EQ(h.conn.status().recv_queued, 4u);
    h.sent.clear();
}

TEST_F(ChallengeStorm, Rfc5961_Sec5_AckForDataNeverSentIsDroppedAndAnswered) {
    inject({.seq = 301, .ack = 101 + 1000, .flags = Flags::Ack, .payload = "forged"});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    EXPECT_EQ(h.conn.status().recv_queued, 0u);
    EXPECT_EQ(h.stats.drop_count(DropReason::AckUnacceptable), 1u);
}

}  // namespace
}  // namespace sluice::tcp::test
