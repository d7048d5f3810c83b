// SACK-based loss recovery (RFC 6675): the scoreboard's routines on their own, then two
// connections repairing losses with and without SACK.

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

constexpr uint32_t kSmss = 500;

SeqNum S(uint32_t v) {
    return SeqNum(v);
}

// --- the scoreboard -----------------------------------------------------------------------

TEST(SackScoreboard, MergesTouchingBlocksAndReportsNewInformation) {
    SackScoreboard sb;
    EXPECT_TRUE(sb.add(S(2000), S(2500), S(1000), S(9000)));
    EXPECT_FALSE(sb.add(S(2100), S(2400), S(1000), S(9000)));  // nothing new
    EXPECT_TRUE(sb.add(S(2500), S(3000), S(1000), S(9000)));   // touches: one range
    ASSERT_EQ(sb.count(), 1u);
    EXPECT_EQ(sb[0], (SeqRange{S(2000), S(3000)}));
    EXPECT_TRUE(sb.add(S(4000), S(4500), S(1000), S(9000)));
    EXPECT_TRUE(sb.add(S(1500), S(1800), S(1000), S(9000)));
    ASSERT_EQ(sb.count(), 3u);
    EXPECT_EQ(sb[0].start, S(1500));  // in sequence order
    EXPECT_EQ(sb[2].start, S(4000));
    EXPECT_EQ(sb.sacked_bytes(), 300u + 1000u + 500u);
    EXPECT_TRUE(sb.check(S(1000), S(9000)));
}

TEST(SackScoreboard, DsackBelowUnaAndBlocksBeyondSndMaxIgnored) {
    SackScoreboard sb;
    EXPECT_FALSE(sb.add(S(500), S(1000), S(1000), S(9000)));   // D-SACK (RFC 2883)
    EXPECT_FALSE(sb.add(S(8000), S(9500), S(1000), S(9000)));  // never sent
    EXPECT_TRUE(sb.add(S(800), S(1200), S(1000), S(9000)));    // clipped to SND.UNA
    ASSERT_EQ(sb.count(), 1u);
    EXPECT_EQ(sb[0], (SeqRange{S(1000), S(1200)}));
    sb.advance(S(1100));
    EXPECT_EQ(sb[0], (SeqRange{S(1100), S(1200)}));
    sb.advance(S(1200));
    EXPECT_TRUE(sb.empty());
}

TEST(SackScoreboard, BoundedAtFourRangesForgettingTheLowest) {
    SackScoreboard sb;
    for (uint32_t i = 0; i < 10; ++i) {
        sb.add(S(2000 + i * 1000), S(2500 + i * 1000), S(1000), S(20000));
        EXPECT_LE(sb.count(), SackScoreboard::kMaxRanges);
        EXPECT_TRUE(sb.check(S(1000), S(20000)));
    }
    ASSERT_EQ(sb.count(), 4u);
    EXPECT_EQ(sb[0].start, S(8000));  // the four highest remain
    EXPECT_EQ(sb[3].start, S(11000));
    // A new lowest range when full is itself the one forgotten.
    sb.add(S(1500), S(1600), S(1000), S(20000));
    EXPECT_EQ(sb[0].start, S(8000));
    // One block covering everything collapses them.
    EXPECT_TRUE(sb.add(S(1000), S(20000), S(1000), S(20000)));
    EXPECT_EQ(sb.count(), 1u);
    static_assert(sizeof(SackScoreboard) <= 40);
}

TEST(SackScoreboard, Rfc6675_4_IsLostByRangesOrBytes) {
    SackScoreboard sb;
    // SND.UNA 1000, SMSS 500: one segment SACKed above 1000 is not enough...
    sb.add(S(1500), S(2000), S(1000), S(9000));
    EXPECT_FALSE(sb.is_lost(S(1000), kSmss));
    sb.add(S(2000), S(2500), S(1000), S(9000));
    EXPECT_FALSE(sb.is_lost(S(1000), kSmss));  // 1000 bytes: not more than 2 * SMSS
    sb.add(S(2500), S(2501), S(1000), S(9000));
    EXPECT_TRUE(sb.is_lost(S(1000), kSmss));  // 1001 bytes above
    // ...or three discontiguous ranges however small.
    SackScoreboard small;
    small.add(S(1100), S(1101), S(1000), S(9000));
    small.add(S(1200), S(1201), S(1000), S(9000));
    EXPECT_FALSE(small.is_lost(S(1000), kSmss));
    small.add(S(1300), S(1301), S(1000), S(9000));
    EXPECT_TRUE(small.is_lost(S(1000), kSmss));
    EXPECT_FALSE(small.is_lost(S(1101), kSmss));  // only two ranges above
}

TEST(SackScoreboard, Rfc6675_4_PipeAndNextSeg) {
    // Sent [1000, 5000) in 8 segments of 500; 1500 and 3000 lost, the rest SACKed except
    // the first (still unacknowledged: also lost by then).
    SackScoreboard sb;
    sb.high_rxt = S(1000);
    sb.add(S(2000), S(3000), S(1000), S(5000));
    sb.add(S(3500), S(5000), S(1000), S(5000));
    // Holes: [1000, 2000) lost (2500 bytes SACKed above), [3000, 3500) lost (1500 above).
    EXPECT_EQ(sb.pipe(S(1000), S(5000), kSmss), 0u);
    auto h = sb.next_lost(S(1000), kSmss);
    ASSERT_TRUE(h);
    EXPECT_EQ(*h, (SeqRange{S(1000), S(2000)}));
    sb.high_rxt = S(1500);  // first segment sent again: it counts once in pipe
    EXPECT_EQ(sb.pipe(S(1000), S(5000), kSmss), 500u);
    h = sb.next_lost(S(1000), kSmss);
    EXPECT_EQ(*h, (SeqRange{S(1500), S(2000)}));
    sb.high_rxt = S(2000);
    h = sb.next_lost(S(1000), kSmss);
    EXPECT_EQ(*h, (SeqRange{S(3000), S(3500)}));
    sb.high_rxt = S(3500);
    EXPECT_FALSE(sb.next_lost(S(1000), kSmss));
    EXPECT_EQ(sb.pipe(S(1000), S(5000), kSmss), 1500u);
    // Rule (3): an un-SACKed byte above HighRxt but below the highest SACKed byte, lost or
    // not; never the unSACKed top beyond every SACK block (RFC 6675 4 (1.b)).
    EXPECT_FALSE(sb.next_unsacked(S(1000)));
    sb.high_rxt = S(1000);
    EXPECT_EQ(*sb.next_unsacked(S(1000)), (SeqRange{S(1000), S(2000)}));
    sb.high_rxt = S(3500);
    sb.add(S(6000), S(6500), S(1000), S(7000));  // [5000, 6000) now a hole, not lost
    EXPECT_FALSE(sb.next_lost(S(1000), kSmss));
    EXPECT_EQ(*sb.next_unsacked(S(1000)), (SeqRange{S(5000), S(6000)}));
    sb.clear();
    sb.add(S(3500), S(5000), S(1000), S(5500));
    sb.add(S(2000), S(3000), S(1000), S(5500));
    // The unSACKed top [5000, 5500) is not lost but counts in pipe.
    EXPECT_EQ(sb.pipe(S(1000), S(5500), kSmss), 2000u);  // + the top hole, not lost
}

// --- two connections ----------------------------------------------------------------------

Config pair_config(bool sack) {
    Config c = plain_config();
    c.mss = kSmss;
    c.sack_permitted = sack;
    return c;
}

struct Transfer {
    uint64_t fast_retrans, reno, sack, retrans;
    bool rto;  // the clock moved: only a timer could have repaired the losses
    std::string got;
};

// a sends 4000 bytes (8 segments in one window) to b; the first transmissions of the
// segments at `lost` offsets are dropped. The clock never moves: no RTO can fire.
Transfer transfer_with_losses(bool sack, std::vector<uint32_t> lost) {
    Config c = pair_config(sack);
    Pair p(c, c);
    Effects fx;
    EXPECT_EQ(p.b.conn.open_passive(FourTuple{kRemote, Endpoint{}}, SeqNum(300)), Error::None);
    EXPECT_EQ(p.a.conn.open_active(kTuple, SeqNum(100), p.a.now, fx), Error::None);
    p.a.absorb(fx);
    p.pump();
    EXPECT_EQ(p.a.conn.state(), State::Established);
    EXPECT_EQ(p.a.conn.status().sack_ok, sack);
    std::string data(4000, 'x');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = char('a' + (i * 7) % 26);
    std::vector<uint32_t> dropped;
    p.lose = [&](char from, const Sent& s) {
        if (from != 'a' || s.payload.empty()) return false;
        const uint32_t off = s.seg.seq.raw() - 101;
        for (uint32_t l : lost) {
            if (off == l && std::find(dropped.begin(), dropped.end(), l) == dropped.end()) {
                dropped.push_back(l);
                return true;
            }
        }
        return false;
    };
    const Instant start = p.a.now;
    IoResult r =
        p.a.conn.send({reinterpret_cast<const uint8_t*>(data.data()), data.size()}, p.a.now, fx);
    EXPECT_EQ(r.bytes, data.size());
    p.a.absorb(fx);
    p.pump();
    EXPECT_EQ(dropped.size(), lost.size());
    std::vector<uint8_t> buf(8192);
    IoResult got = p.b.conn.receive(buf, p.b.now, fx);
    p.b.absorb(fx);
    EXPECT_EQ(p.a.conn.status().snd_una, p.a.conn.status().snd_nxt);
    EXPECT_FALSE(p.a.conn.status().sack_recovery);
    EXPECT_EQ(p.a.conn.status().sacked_ranges, 0u);
    Transfer t{
        p.a.stats.fast_retrans,  p.a.stats.reno_recovery,
        p.a.stats.sack_recovery, p.a.stats.retrans_segs,
        p.a.now != start,        std::string(buf.begin(), buf.begin() + std::ptrdiff_t(got.bytes))};
    EXPECT_EQ(t.got, data);
    return t;
}

TEST(SackPair, Rfc6675_TwoLossesInOneWindowRepairedInOneRecoveryWithoutRto) {
    const Transfer t = transfer_with_losses(true, {500, 2000});
    EXPECT_EQ(t.sack, 1u);
    EXPECT_EQ(t.reno, 0u);
    EXPECT_EQ(t.fast_retrans, 1u);
    EXPECT_FALSE(t.rto);
    EXPECT_EQ(t.retrans, 2u);  // exactly the two holes, nothing SACKed sent again
}

TEST(SackPair, Rfc6675_ThreeLossesInOneWindow) {
    const Transfer t = transfer_with_losses(true, {0, 1500, 2500});
    EXPECT_EQ(t.sack, 1u);
    EXPECT_FALSE(t.rto);
    EXPECT_EQ(t.retrans, 3u);
}

TEST(SackPair, WithoutSackNewRenoRepairsBothLosses) {
    const Transfer t = transfer_with_losses(false, {500, 2000});
    EXPECT_EQ(t.sack, 0u);
    EXPECT_EQ(t.reno, 1u);  // one recovery: the partial ACK repairs the second hole
    EXPECT_FALSE(t.rto);
    EXPECT_GE(t.retrans, 2u);
}

// The last segment lost: too few SACKed bytes above it for IsLost and too few duplicates
// for fast retransmit; without the tail loss probe (tlp_test.cpp) the RTO repairs it and
// clears the scoreboard (RFC 6675 5.1).
TEST(SackPair, TailLossNeedsTheRto) {
    Config c = pair_config(true);
    c.tail_loss_probe = false;
    Pair p(c, c);
    Effects fx;
    ASSERT_EQ(p.b.conn.open_passive(FourTuple{kRemote, Endpoint{}}, SeqNum(300)), Error::None);
    ASSERT_EQ(p.a.conn.open_active(kTuple, SeqNum(100), p.a.now, fx), Error::None);
    p.a.absorb(fx);
    p.pump();
    std::string data(1000, 'q');
    bool once = false;
    p.lose = [&](char from, const Sent& s) {
        if (from != 'a' || s.seg.seq.raw() != 601 || once) return false;
        return once = true;
    };
    p.a.conn.send({reinterpret_cast<const uint8_t*>(data.data()), data.size()}, p.a.now, fx);
    p.a.absorb(fx);
    p.pump();
    EXPECT_EQ(p.a.stats.sack_recovery, 0u);
    const Instant start = p.a.now;
    for (int i = 0; i < 30 && p.a.conn.status().snd_una != p.a.conn.status().snd_nxt; ++i) {
        p.advance(100ms);
        p.pump();
    }
    EXPECT_GE(p.a.now - start, c.min_rto);  // repaired by the RTO
    EXPECT_EQ(p.a.stats.retrans_segs, 1u);
    EXPECT_EQ(p.a.conn.status().snd_una, p.a.conn.status().snd_nxt);
    EXPECT_EQ(p.b.conn.status().recv_queued, 1000u);
}

}  // namespace
}  // namespace sluice::tcp::test
