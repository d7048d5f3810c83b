// The per-lcore SYN cache (syn_cache.hpp): insert/find/erase, bucket eviction, a full cache,
// the final ACK, RST and bad ACKs, and SYN-ACK retransmission on a real timer wheel.

#include "tcp/syn_cache.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

const CookieSecrets::Key kHashKey{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
const MacBytes kMac{0x02, 0, 0, 0, 0, 0x42};

Config full_config() {
    Config c;
    c.send_buffer = kBuf;
    c.recv_buffer = kBuf;
    return c;
}

FourTuple tuple_n(uint32_t n) {
    FourTuple t = kTuple;
    t.remote.addr.bytes[2] = uint8_t(n >> 8);
    t.remote.addr.bytes[3] = uint8_t(n);
    t.remote.port = uint16_t(1024 + (n >> 16));
    return t;
}

Segment syn(uint32_t isn, bool all_options = true) {
    Segment s;
    s.src_port = kRemote.port;
    s.dst_port = kLocal.port;
    s.seq = SeqNum(isn);
    s.flags = Flags::Syn;
    s.window = 29200;
    if (all_options) {
        s.options.has_mss = true;
        s.options.mss = 1387;  // not in the cookie table: the cache keeps it exactly
        s.options.has_wscale = true;
        s.options.wscale = 9;
        s.options.sack_permitted = true;
        s.options.has_timestamps = true;
        s.options.ts_val = 5555;
    }
    return s;
}

Segment ack_of(const Segment& sy, const OutSegment& sa) {
    Segment a;
    a.src_port = kRemote.port;
    a.dst_port = kLocal.port;
    a.seq = sy.seq + 1;
    a.ack = sa.seq + 1;
    a.flags = Flags::Ack;
    a.window = 700;
    a.options.has_timestamps = sa.options.has_timestamps;
    a.options.ts_val = 5600;
    a.options.ts_ecr = sa.options.ts_val;
    return a;
}

struct Retransmitted {
    FourTuple tuple;
    OutSegment seg;
    Instant at;
};

class SynCacheTest : public ::testing::Test {
protected:
    explicit SynCacheTest(SynCacheConfig sc = {.capacity = 64, .bucket_limit = 4})
        : wheel({.tick = 1ms, .origin = t0}), cache(sc, cfg, wheel, kHashKey) {
        cache.set_sink(
            [](void* ctx, const SynCacheEntry& e, const OutSegment& s, Instant at) {
                static_cast<SynCacheTest*>(ctx)->rtx.push_back({e.tuple, s, at});
            },
            this);
    }
    void TearDown() override { EXPECT_TRUE(cache.check_invariants()); }

    void advance_to(Instant t) {
        now = t;
        wheel.advance(now);
        EXPECT_TRUE(cache.check_invariants());
    }

    SynCacheEntry* add(uint32_t n, uint32_t isn = 1000, uint32_t iss = 9000) {
        OutSegment sa;
        return cache.insert(tuple_n(n), syn(isn), SeqNum(iss), kMac, now, sa);
    }

    static inline const Instant t0 = Instant::from_ns(5'000'000'000);
    Config cfg = full_config();
    time::TimerWheel wheel;
    SynCache cache;
    Instant now = t0;
    std::vector<Retransmitted> rtx;
};

TEST_F(SynCacheTest, Insert_SendsSynAckWithAllOptions_FindErase) {
    OutSegment sa;
    SynCacheEntry* e = cache.insert(kTuple, syn(300), SeqNum(100), kMac, now, sa);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(cache.size(), 1u);
    EXPECT_EQ(cache.find(kTuple), e);
    EXPECT_EQ(cache.find(tuple_n(77)), nullptr);
    EXPECT_EQ(e->peer_mac, kMac);
    EXPECT_EQ(sa.flags, Flags::Syn | Flags::Ack);
    EXPECT_EQ(sa.seq, SeqNum(100));
    EXPECT_EQ(sa.ack, SeqNum(301));
    EXPECT_TRUE(sa.options.has_wscale);
    EXPECT_TRUE(sa.options.sack_permitted);
    EXPECT_TRUE(sa.options.has_timestamps);
    EXPECT_EQ(sa.options.ts_val, ts_clock(now));  // the plain clock: nothing encoded
    EXPECT_EQ(sa.options.ts_ecr, 5555u);
    EXPECT_TRUE(e->timer.armed());
    cache.erase(*e);
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(cache.find(kTuple), nullptr);
    EXPECT_EQ(wheel.size(), 0u);
}

TEST_F(SynCacheTest, FinalAck_EstablishedWithEveryOption) {
    OutSegment sa;
    const Segment sy = syn(300);
    SynCacheEntry* e = cache.insert(kTuple, sy, SeqNum(100), kMac, now, sa);
    ASSERT_NE(e, nullptr);
    PassiveAccept acc;
    OutSegment reply;
    EXPECT_EQ(cache.on_segment(*e, ack_of(sy, sa), now, acc, reply), SynCacheVerdict::Established);
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(acc.tuple, kTuple);
    EXPECT_EQ(acc.iss, SeqNum(100));
    EXPECT_EQ(acc.irs, SeqNum(300));
    EXPECT_EQ(acc.peer_syn_options.mss, 1387);  // exact, unlike a cookie
    EXPECT_EQ(acc.peer_syn_options.wscale, 9);
    EXPECT_TRUE(acc.peer_syn_options.sack_permitted);
    EXPECT_TRUE(acc.peer_syn_options.has_timestamps);
    EXPECT_EQ(acc.peer_syn_window, 29200);
    EXPECT_EQ(acc.peer_ack_window, 700);
    EXPECT_EQ(acc.peer_last_tsval, 5600u);
    EXPECT_EQ(cache.stats().completed, 1u);

    // And the connection it makes.
    Host h(cfg);
    h.conn.establish_directly(handshake_params(acc), now);
    EXPECT_EQ(h.conn.state(), State::Established);
    EXPECT_TRUE(h.conn.tcb().ws_ok);
    EXPECT_EQ(h.conn.tcb().snd_wscale, 9);
    EXPECT_EQ(h.conn.tcb().peer_mss, 1387);
}

TEST_F(SynCacheTest, Rfc9293_BadAck_RstAndEntryKept) {
    OutSegment sa;
    const Segment sy = syn(300);
    SynCacheEntry* e = cache.insert(kTuple, sy, SeqNum(100), kMac, now, sa);
    Segment a = ack_of(sy, sa);
    a.ack = SeqNum(5555);
    PassiveAccept acc;
    OutSegment reply;
    EXPECT_EQ(cache.on_segment(*e, a, now, acc, reply), SynCacheVerdict::Reset);
    EXPECT_EQ(reply.flags, Flags::Rst);
    EXPECT_EQ(reply.seq, SeqNum(5555));  // <SEQ=SEG.ACK><CTL=RST>
    EXPECT_EQ(cache.size(), 1u);
    // Timestamps agreed but the ACK has none: RFC 7323 3.2 drop.
    a = ack_of(sy, sa);
    a.options.has_timestamps = false;
    EXPECT_EQ(cache.on_segment(*e, a, now, acc, reply), SynCacheVerdict::Drop);
    // Outside the window we offered: drop.
    a = ack_of(sy, sa);
    a.seq = SeqNum(300 + 1 + kBuf);
    EXPECT_EQ(cache.on_segment(*e, a, now, acc, reply), SynCacheVerdict::Drop);
    EXPECT_EQ(cache.size(), 1u);
}

TEST_F(SynCacheTest, Rfc5961_OnlyExactRstAborts) {
    OutSegment sa;
    SynCacheEntry* e = cache.insert(kTuple, syn(300), SeqNum(100), kMac, now, sa);
    Segment r;
    r.flags = Flags::Rst;
    r.seq = SeqNum(305);
    PassiveAccept acc;
    OutSegment reply;
    EXPECT_EQ(cache.on_segment(*e, r, now, acc, reply), SynCacheVerdict::Drop);
    r.seq = SeqNum(301);
    EXPECT_EQ(cache.on_segment(*e, r, now, acc, reply), SynCacheVerdict::Aborted);
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(cache.stats().reset, 1u);
}

TEST_F(SynCacheTest, RetransmittedSyn_SynAckAgain_NewIsn_StartsOver) {
    OutSegment sa1, sa2, sa3;
    SynCacheEntry* e = cache.insert(kTuple, syn(300), SeqNum(100), kMac, now, sa1);
    advance_to(now + 300ms);
    EXPECT_EQ(cache.insert(kTuple, syn(300), SeqNum(999), kMac, now, sa2), e);
    EXPECT_EQ(sa2.seq, SeqNum(100));  // same ISS: the same half-open connection
    EXPECT_EQ(cache.size(), 1u);
    EXPECT_EQ(cache.stats().resent, 1u);
    EXPECT_EQ(cache.insert(kTuple, syn(7000), SeqNum(999), kMac, now, sa3), e);
    EXPECT_EQ(sa3.seq, SeqNum(999));
    EXPECT_EQ(sa3.ack, SeqNum(7001));
    EXPECT_EQ(cache.size(), 1u);
}

TEST_F(SynCacheTest, FullBucket_EvictsOldest) {
    // Find 5 tuples of one bucket (limit 4).
    std::vector<uint32_t> same;
    const uint32_t b = cache.bucket_of(tuple_n(0));
    for (uint32_t n = 0; same.size() < 5; ++n)
        if (cache.bucket_of(tuple_n(n)) == b) same.push_back(n);
    for (int i = 0; i < 4; ++i) {
        ASSERT_NE(add(same[i]), nullptr);
        advance_to(now + 1ms);
    }
    bool evicted = false;
    OutSegment sa;
    ASSERT_NE(cache.insert(tuple_n(same[4]), syn(1), SeqNum(2), kMac, now, sa, &evicted), nullptr);
    EXPECT_TRUE(evicted);
    EXPECT_EQ(cache.stats().evicted, 1u);
    EXPECT_EQ(cache.find(tuple_n(same[0])), nullptr);  // the oldest went
    for (int i = 1; i < 5; ++i) EXPECT_NE(cache.find(tuple_n(same[i])), nullptr);
    EXPECT_EQ(cache.size(), 4u);
}

TEST_F(SynCacheTest, Full_InsertRefused_ThenRoomAgain) {
    uint32_t n = 0;
    while (cache.size() < cache.capacity()) add(n++);
    EXPECT_EQ(cache.size(), 64u);
    // A tuple whose bucket is not full: refused for lack of entries (a cookie answers).
    uint32_t m = n;
    while (true) {
        uint32_t in_bucket = 0;
        for (uint32_t k = 0; k < n; ++k)
            in_bucket += cache.find(tuple_n(k)) &&
                         cache.bucket_of(tuple_n(k)) == cache.bucket_of(tuple_n(m));
        if (in_bucket < 4) break;
        ++m;
    }
    EXPECT_EQ(add(m), nullptr);
    EXPECT_EQ(cache.stats().refused, 1u);
    cache.erase(*cache.find(tuple_n(0)));
    EXPECT_NE(add(m), nullptr);
}

TEST_F(SynCacheTest, SynAckRetransmittedWithBackoff_ThenExpires) {
    OutSegment sa;
    ASSERT_NE(cache.insert(kTuple, syn(300), SeqNum(100), kMac, now, sa), nullptr);
    // Linux tcp_synack_retries = 5: at 1, 3, 7, 15, 31 s; dropped at 63 s.
    const std::vector<Duration> expected{1s, 3s, 7s, 15s, 31s};
    for (Instant t = t0; t <= t0 + 70s; t += 100ms) advance_to(t);
    ASSERT_EQ(rtx.size(), expected.size());
    for (std::size_t i = 0; i < rtx.size(); ++i) {
        EXPECT_EQ(rtx[i].at - t0, expected[i]) << i;
        EXPECT_EQ(rtx[i].tuple, kTuple);
        EXPECT_EQ(rtx[i].seg.seq, SeqNum(100));
        EXPECT_EQ(rtx[i].seg.flags, Flags::Syn | Flags::Ack);
        EXPECT_EQ(rtx[i].seg.options.ts_val, ts_clock(rtx[i].at));  // fresh TSval
    }
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(cache.stats().expired, 1u);
    EXPECT_EQ(cache.stats().retransmits, 5u);
    EXPECT_EQ(wheel.size(), 0u);
}

TEST_F(SynCacheTest, ExpiryTime_IsSumOfBackoffs) {
    OutSegment sa;
    cache.insert(kTuple, syn(300), SeqNum(100), kMac, now, sa);
    for (Instant t = t0; t <= t0 + 62900ms; t += 100ms) advance_to(t);
    EXPECT_EQ(cache.size(), 1u);
    EXPECT_EQ(rtx.size(), 5u);
    advance_to(t0 + 63s);
    EXPECT_EQ(cache.size(), 0u);
}

class SynCacheSmall : public SynCacheTest {
protected:
    SynCacheSmall()
        : SynCacheTest({.capacity = 8,
                        .bucket_limit = 8,
                        .synack_retries = 2,
                        .initial_rto = 1s,
                        .max_rto = 1500ms}) {}
};

TEST_F(SynCacheSmall, RetriesAndCapFromConfig) {
    OutSegment sa;
    cache.insert(kTuple, syn(300), SeqNum(100), kMac, now, sa);
    for (Instant t = t0; t <= t0 + 10s; t += 50ms) advance_to(t);
    ASSERT_EQ(rtx.size(), 2u);
    EXPECT_EQ(rtx[0].at - t0, 1s);
    EXPECT_EQ(rtx[1].at - t0, 2500ms);  // 1 s, then 2 s capped to 1.5 s
    EXPECT_EQ(cache.size(), 0u);        // after one more 1.5 s: 4 s
    EXPECT_EQ(cache.stats().expired, 1u);
}

TEST_F(SynCacheTest, AcceptedEntryStopsRetransmitting) {
    OutSegment sa;
    const Segment sy = syn(300);
    SynCacheEntry* e = cache.insert(kTuple, sy, SeqNum(100), kMac, now, sa);
    advance_to(t0 + 1500ms);
    ASSERT_EQ(rtx.size(), 1u);
    PassiveAccept acc;
    OutSegment reply;
    ASSERT_EQ(cache.on_segment(*e, ack_of(sy, sa), now, acc, reply), SynCacheVerdict::Established);
    advance_to(t0 + 100s);
    EXPECT_EQ(rtx.size(), 1u);
    EXPECT_EQ(wheel.size(), 0u);
}

// RFC 6298 (5.7) and RFC 5681 3.1: a connection whose SYN or SYN-ACK was lost starts with
// RTO 3 s and one segment; the accept says whether the SYN-ACK went out again (timer, or
// answer to a retransmitted SYN), and the connection made from it applies it.
TEST_F(SynCacheTest, Rfc6298_5_7_AcceptSaysWhetherTheSynAckWentOutAgain) {
    PassiveAccept acc;
    OutSegment sa, reply;
    const Segment sy = syn(300);
    SynCacheEntry* e = cache.insert(tuple_n(1), sy, SeqNum(100), kMac, now, sa);
    ASSERT_EQ(cache.on_segment(*e, ack_of(sy, sa), now, acc, reply), SynCacheVerdict::Established);
    EXPECT_FALSE(acc.retransmitted);

    e = cache.insert(tuple_n(2), sy, SeqNum(100), kMac, now, sa);
    advance_to(t0 + 1500ms);  // the timer sends it again
    ASSERT_EQ(rtx.size(), 1u);
    Segment a = ack_of(sy, sa);
    ASSERT_EQ(cache.on_segment(*e, a, now, acc, reply), SynCacheVerdict::Established);
    EXPECT_TRUE(acc.retransmitted);
    Host h(cfg);
    Connection::HandshakeParams p = handshake_params(acc);
    p.syn_retransmitted = acc.retransmitted;
    h.conn.establish_directly(p, now);
    EXPECT_EQ(h.conn.tcb().rtx.rto, kRtoAfterSynLoss);
    EXPECT_EQ(h.conn.status().cwnd, uint32_t(h.conn.tcb().send_mss));

    e = cache.insert(tuple_n(3), sy, SeqNum(100), kMac, now, sa);
    cache.insert(tuple_n(3), sy, SeqNum(100), kMac, now, sa);  // the client's SYN again
    ASSERT_EQ(cache.on_segment(*e, a, now, acc, reply), SynCacheVerdict::Established);
    EXPECT_TRUE(acc.retransmitted);
}

TEST(SynCacheLayout, EntryIsTwoCacheLines) {
    EXPECT_LE(sizeof(SynCacheEntry), 128u);
}

}  // namespace
}  // namespace sluice::tcp::test
