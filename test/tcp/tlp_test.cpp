// Tail loss probe (RFC 8985 7): two connections with SACK, a 10 ms round trip on the
// virtual clock, and the last segments of a flight lost.

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

constexpr uint32_t kSmss = 500;
constexpr Duration kRtt = 10ms;

Config tlp_config() {
    Config c = plain_config();
    c.mss = kSmss;
    c.sack_permitted = true;
    return c;
}

class TlpPair {
public:
    explicit TlpPair(const Config& c = tlp_config()) : p(c, c) {
        Effects fx;
        EXPECT_EQ(p.b.conn.open_passive(FourTuple{kRemote, Endpoint{}}, SeqNum(300)), Error::None);
        EXPECT_EQ(p.a.conn.open_active(kTuple, SeqNum(100), p.a.now, fx), Error::None);
        p.a.absorb(fx);
        p.pump();
        EXPECT_EQ(p.a.conn.state(), State::Established);
    }
    // a sends n bytes; they arrive (and are ACKed at once) one round trip later.
    void send(std::size_t n) {
        Effects fx;
        const std::string data(n, 'x');
        const IoResult r =
            p.a.conn.send({reinterpret_cast<const uint8_t*>(data.data()), n}, p.a.now, fx);
        EXPECT_EQ(r.bytes, n);
        p.a.absorb(fx);
        p.a.now += kRtt;
        p.b.now += kRtt;
        p.pump();
    }
    bool all_acked() const { return p.a.conn.status().snd_una == p.a.conn.status().snd_nxt; }
    // Advance in 1 ms steps until everything is acknowledged; the time it took.
    Duration repair() {
        const Instant start = p.a.now;
        for (int i = 0; i < 5000 && !all_acked(); ++i) p.advance(1ms);
        EXPECT_TRUE(all_acked());
        return p.a.now - start;
    }
    // Drop the first `times` transmissions of the segment starting at `seq`.
    void lose(uint32_t seq, int times = 1) {
        losses.push_back({seq, times});
        p.lose = [this](char from, const Sent& s) {
            if (from != 'a' || s.payload.empty()) return false;
            for (auto& [q, left] : losses)
                if (s.seg.seq.raw() == q && left > 0) return --left, true;
            return false;
        };
    }

    Pair p;
    std::vector<std::pair<uint32_t, int>> losses;
};

// A first flight gives the RTT sample: 101..1101, then the flight under test from 1101.
TEST(TailLossProbe, LostLastSegmentRepairedByProbeAfterTwoSrtt) {
    TlpPair t;
    t.send(1000);
    ASSERT_TRUE(t.all_acked());
    EXPECT_EQ(t.p.a.conn.status().srtt, kRtt);
    t.lose(2601);  // the last of 1101, 1601, 2101, 2601
    t.send(2000);
    ASSERT_FALSE(t.all_acked());
    // RFC 8985 7.2: PTO = 2 * SRTT from the ACK that left only the tail outstanding.
    ASSERT_TRUE(t.p.a.has_timer(TimerKind::Retransmit));
    EXPECT_EQ(t.p.a.timer_at(TimerKind::Retransmit) - t.p.a.now,
              2 * kRtt + t.p.a.cfg.delayed_ack_timeout);  // one segment in flight
    const Duration took = t.repair();
    EXPECT_EQ(took, 2 * kRtt + t.p.a.cfg.delayed_ack_timeout);
    EXPECT_LT(took, t.p.a.cfg.min_rto);
    EXPECT_EQ(t.p.a.stats.loss_probes, 1u);
    EXPECT_EQ(t.p.a.stats.retrans_segs, 1u);  // the probe was the repair
    EXPECT_EQ(t.p.b.conn.status().recv_queued, 3000u);
}

// Two tail segments lost: the probe (the last one again) is SACKed above the hole, which
// starts SACK recovery for the other without the RTO.
TEST(TailLossProbe, ProbeSackedAboveAHoleStartsRecovery) {
    TlpPair t;
    t.send(1000);
    t.lose(2101);
    t.lose(2601);
    t.send(2000);
    const Duration took = t.repair();
    EXPECT_EQ(took, 2 * kRtt);  // two segments in flight: no delayed-ACK allowance
    EXPECT_EQ(t.p.a.stats.loss_probes, 1u);
    EXPECT_EQ(t.p.a.stats.loss_probe_recovery, 1u);
    EXPECT_EQ(t.p.a.stats.sack_recovery, 1u);
    EXPECT_EQ(t.p.a.stats.retrans_segs, 2u);
    EXPECT_EQ(t.p.b.conn.status().recv_queued, 3000u);
}

// RFC 8985 7.3: unsent data (here held by Nagle) goes out as the probe, one segment even
// if Nagle would wait; SACKed above the lost tail, it starts recovery for it.
TEST(TailLossProbe, ProbeSendsNewDataWhenThereIsSome) {
    Config c = tlp_config();
    c.nagle = true;
    TlpPair t(c);
    t.send(1000);
    t.lose(2601);
    t.send(2200);  // 1101..3101 in four full segments; 200 bytes wait for Nagle
    ASSERT_FALSE(t.all_acked());
    ASSERT_EQ(t.p.a.conn.status().snd_nxt, SeqNum(3101));
    const Duration took = t.repair();
    EXPECT_EQ(took, 2 * kRtt + c.delayed_ack_timeout);  // the probe, its SACK, recovery
    EXPECT_EQ(t.p.a.stats.loss_probes, 1u);
    EXPECT_EQ(t.p.a.stats.loss_probe_recovery, 1u);
    EXPECT_EQ(t.p.a.stats.retrans_segs, 1u);  // only the lost segment was sent twice
    EXPECT_EQ(t.p.b.conn.status().recv_queued, 3200u);
}

// RFC 8985 7.2: no SRTT, no probe; the RTO (the RFC 6298 (2.1) initial one) repairs.
TEST(TailLossProbe, NoProbeWithoutAnRttSample) {
    TlpPair t;
    t.lose(101);
    t.send(400);
    ASSERT_FALSE(t.all_acked());
    EXPECT_EQ(t.p.a.conn.status().srtt, Duration{});
    EXPECT_EQ(t.p.a.timer_at(TimerKind::Retransmit) - (t.p.a.now - kRtt), kInitialRto);
    const Duration took = t.repair();
    EXPECT_GE(took, kInitialRto - kRtt);
    EXPECT_EQ(t.p.a.stats.loss_probes, 0u);
    EXPECT_EQ(t.p.a.stats.retrans_segs, 1u);
}

// The probe lost too: no second probe for the flight; the RTO repairs, at the deadline it
// had before the probe (the probe does not postpone it).
TEST(TailLossProbe, OneProbePerFlightAndTheRtoStillFires) {
    TlpPair t;
    t.send(1000);
    t.lose(2601, 2);  // the original and the probe
    t.send(2000);
    const Duration rto = t.p.a.conn.status().rto;
    const Duration took = t.repair();
    EXPECT_EQ(t.p.a.stats.loss_probes, 1u);
    EXPECT_EQ(t.p.a.stats.retrans_segs, 2u);  // the probe, then the RTO's retransmission
    EXPECT_GE(took, t.p.a.cfg.min_rto);
    EXPECT_EQ(took, rto);
    EXPECT_EQ(t.p.b.conn.status().recv_queued, 3000u);
}

// Off by configuration: the tail waits for the RTO as before.
TEST(TailLossProbe, DisabledWaitsForTheRto) {
    Config c = tlp_config();
    c.tail_loss_probe = false;
    TlpPair t(c);
    t.send(1000);
    t.lose(2601);
    t.send(2000);
    EXPECT_GE(t.repair(), c.min_rto);
    EXPECT_EQ(t.p.a.stats.loss_probes, 0u);
}

}  // namespace
}  // namespace sluice::tcp::test
