// Congestion control: RFC 6928 initial window, RFC 5681 slow start, congestion avoidance,
// fast retransmit and restart after idle, RFC 3465 byte counting, RFC 6582 NewReno, and
// what an RTO does to the window (RFC 5681 3.1, RFC 6298 5).

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

constexpr uint32_t kSmss = 1000;

class Cc : public TcpTest {
protected:
    Cc() : TcpTest(plain_config(), 65536, 65536) {}
    void SetUp() override {
        wire::TcpOptions o;
        o.has_mss = true;
        o.mss = uint16_t(kSmss);
        to_established_active(o, 65535);
        data.assign(60000, 'd');
        for (std::size_t i = 0; i < data.size(); ++i) data[i] = char('a' + i % 26);
    }
    // Queues the whole of `data`; returns the sequence numbers of the segments sent.
    std::vector<uint32_t> sent_seqs() {
        std::vector<uint32_t> v;
        for (const Sent& s : h.sent) v.push_back(s.seg.seq.raw());
        h.sent.clear();
        return v;
    }
    void ack(uint32_t a, uint16_t window = 65535) {
        inject({.seq = 301, .ack = a, .flags = Flags::Ack, .window = window});
    }
    uint32_t cwnd() const { return h.conn.status().cwnd; }
    uint32_t ssthresh() const { return h.conn.status().ssthresh; }
    std::string data;
};

TEST_F(Cc, Rfc6928_2_InitialWindowTenSegments) {
    EXPECT_EQ(cwnd(), 10 * kSmss);  // min(10 * 1000, max(2000, 14600))
    EXPECT_EQ(Congestion::initial_window(1460, 10), 14600u);
    EXPECT_EQ(Congestion::initial_window(536, 10), 5360u);
    EXPECT_EQ(Congestion::initial_window(9000, 10), 18000u);  // max(2 * 9000, 14600)
    send(data);
    auto seqs = sent_seqs();
    ASSERT_EQ(seqs.size(), 10u);
    EXPECT_EQ(seqs.back(), 101 + 9 * kSmss);
}

TEST_F(Cc, Rfc5681_3_1_SlowStartByteCountingL2) {
    send(data);
    sent_seqs();
    ack(101 + 2 * kSmss);  // two segments: cwnd += min(2000, 2 * SMSS)
    EXPECT_EQ(cwnd(), 12 * kSmss);
    EXPECT_EQ(sent_seqs().size(), 4u);  // 8 in flight, room for 4
    ack(101 + 6 * kSmss);  // four segments: but at most L * SMSS = 2000 per ACK (RFC 3465)
    EXPECT_EQ(cwnd(), 14 * kSmss);
    EXPECT_EQ(sent_seqs().size(), 6u);  // 8 in flight, room for 6
}

TEST_F(Cc, Rfc5681_3_2_FastRetransmitOnThirdDuplicateAck) {
    send(data);
    sent_seqs();
    ack(101);
    ack(101);
    expect_nothing_sent();
    ack(101);  // third: retransmit the segment at SND.UNA
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack,
                 .payload = std::string_view(data).substr(0, kSmss)});
    EXPECT_EQ(ssthresh(), 5 * kSmss);      // FlightSize / 2
    EXPECT_EQ(cwnd(), 5 * kSmss + 3 * kSmss);  // + 3 * SMSS
    EXPECT_EQ(h.stats.fast_retrans, 1u);
    EXPECT_EQ(h.stats.retrans_segs, 1u);
    ack(101);  // each further one inflates cwnd by SMSS (step 4)
    ack(101);
    expect_nothing_sent();  // cwnd 10000 = FlightSize
    ack(101);
    expect_sent({.seq = 101 + 10 * kSmss, .flags = Flags::Ack,
                 .payload = std::string_view(data).substr(10 * kSmss, kSmss)});
}

TEST_F(Cc, Rfc5681_2_NotDuplicateIfWindowChangesOrDataCarried) {
    send(data);
    sent_seqs();
    ack(101);
    ack(101, 60000);  // window update: not a duplicate
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 60000, .payload = "x"});
    expect_sent({.seq = 101 + 10 * kSmss, .ack = 302, .flags = Flags::Ack});
    expect_nothing_sent();
    EXPECT_EQ(h.stats.fast_retrans, 0u);
}

TEST_F(Cc, Rfc6582_3_2_PartialAckRetransmitsNextHoleThenFullAckExits) {
    send(data);
    sent_seqs();
    for (int i = 0; i < 3; ++i) ack(101);
    sent_seqs();  // the fast retransmission
    ack(101 + kSmss);  // partial: recover is 10101
    expect_sent({.seq = 101 + kSmss, .flags = Flags::Ack,
                 .payload = std::string_view(data).substr(kSmss, kSmss)});
    EXPECT_EQ(cwnd(), 8 * kSmss);  // - 1000 acknowledged + SMSS
    EXPECT_EQ(h.stats.retrans_segs, 2u);
    ack(101 + 10 * kSmss);  // full ACK: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS)
    EXPECT_EQ(cwnd(), 2 * kSmss);
    EXPECT_EQ(sent_seqs().size(), 2u);
    EXPECT_EQ(h.stats.reno_recovery, 1u);
}

TEST_F(Cc, Rfc6582_3_2_NewRecoveryAfterFullAck) {
    send(data);
    sent_seqs();
    for (int i = 0; i < 3; ++i) ack(101);
    sent_seqs();
    ack(101 + 10 * kSmss);  // full ACK: out of recovery; new data goes out
    sent_seqs();
    // Three duplicate ACKs at the new SND.UNA (which covers `recover`): a new recovery.
    for (int i = 0; i < 3; ++i) ack(101 + 10 * kSmss);
    EXPECT_EQ(h.stats.fast_retrans, 2u);
    sent_seqs();
}

TEST_F(Cc, Rfc5681_3_1_CongestionAvoidanceOneSmssPerWindow) {
    send(data);
    sent_seqs();
    for (int i = 0; i < 3; ++i) ack(101);
    ack(101 + 10 * kSmss);  // cwnd 2000, ssthresh 5000
    sent_seqs();
    ack(101 + 11 * kSmss);  // slow start: 3000
    ack(101 + 12 * kSmss);  // 5000? min(1000, 2000): 4000
    ack(101 + 13 * kSmss);  // 5000 = ssthresh: avoidance from here
    EXPECT_EQ(cwnd(), 5 * kSmss);
    uint32_t a = 101 + 13 * kSmss;
    for (int i = 0; i < 4; ++i) ack(a += kSmss);
    EXPECT_EQ(cwnd(), 5 * kSmss);  // 4000 bytes acknowledged < cwnd
    ack(a += kSmss);
    EXPECT_EQ(cwnd(), 6 * kSmss);  // 5000 acknowledged: + SMSS
    sent_seqs();
}

TEST_F(Cc, Rfc5681_3_1_RtoCollapsesCwndAndGoesBackN) {
    send(data);
    sent_seqs();
    advance(1s);
    expect_sent({.seq = 101, .flags = Flags::Ack,
                 .payload = std::string_view(data).substr(0, kSmss)});
    expect_nothing_sent();  // loss window: one segment
    EXPECT_EQ(cwnd(), kSmss);
    EXPECT_EQ(ssthresh(), 5 * kSmss);
    ack(101 + kSmss);  // slow start: cwnd 2000, the next two segments are sent again
    EXPECT_EQ(sent_seqs(), (std::vector<uint32_t>{101 + kSmss, 101 + 2 * kSmss}));
    EXPECT_EQ(h.stats.retrans_segs, 3u);
    advance(h.timer_at(TimerKind::Retransmit) - h.now);  // a second timeout: ssthresh kept
    EXPECT_EQ(ssthresh(), 5 * kSmss);
    EXPECT_EQ(cwnd(), kSmss);
    sent_seqs();
}

TEST_F(Cc, Rfc5681_3_1_AfterRtoAllOutstandingResentThenNewData) {
    send(std::string_view(data).substr(0, 3 * kSmss));
    sent_seqs();
    advance(1s);
    EXPECT_EQ(sent_seqs(), (std::vector<uint32_t>{101}));
    ack(101 + kSmss);
    EXPECT_EQ(sent_seqs(), (std::vector<uint32_t>{101 + kSmss, 101 + 2 * kSmss}));
    ack(101 + 3 * kSmss);
    send(std::string_view(data).substr(3 * kSmss, kSmss));
    EXPECT_EQ(sent_seqs(), (std::vector<uint32_t>{101 + 3 * kSmss}));
    EXPECT_EQ(h.stats.retrans_segs, 3u);
}

TEST_F(Cc, RtoInFinWait1_AckOfAllEmptiesTheQueue) {
    send(std::string_view(data).substr(0, 3 * kSmss));
    ASSERT_EQ(close(), Error::None);
    EXPECT_EQ(sent_seqs(), (std::vector<uint32_t>{101, 1101, 2101, 3101}));  // FIN last
    advance(1s);
    EXPECT_EQ(sent_seqs(), (std::vector<uint32_t>{101}));  // loss window: one segment
    ack(3102);  // everything, FIN included: nothing is left to send again
    expect_nothing_sent();
    expect_state(State::FinWait2);
    EXPECT_FALSE(h.has_timer(TimerKind::Retransmit));
}

TEST_F(Cc, Rfc5681_4_1_RestartAfterIdle) {
    send(std::string_view(data).substr(0, 10 * kSmss));
    sent_seqs();
    for (uint32_t i = 1; i <= 10; ++i) ack(101 + i * kSmss);
    EXPECT_EQ(cwnd(), 20 * kSmss);
    advance(2s);  // idle for more than an RTO
    send(std::string_view(data).substr(10 * kSmss, 20 * kSmss));
    EXPECT_EQ(cwnd(), 10 * kSmss);  // min(cwnd, RW = IW)
    EXPECT_EQ(sent_seqs().size(), 10u);
}

TEST(CcSynLoss, Rfc5681_3_1_OneSegmentAfterLostSyn) {
    Host host(plain_config(), 65536, 65536);
    Effects fx;
    ASSERT_EQ(host.conn.open_active(kTuple, SeqNum(kIss), host.now, fx), Error::None);
    host.absorb(fx);
    host.advance(1s);  // SYN retransmitted
    wire::TcpOptions o;
    o.has_mss = true;
    o.mss = 1000;
    host.inject({.seq = kIrs, .ack = kIss + 1, .flags = Flags::Syn | Flags::Ack, .options = o});
    EXPECT_EQ(host.conn.status().cwnd, 1000u);
}

// Two stacks, one lost segment in a bulk transfer: fast retransmit repairs it, no RTO.
TEST(CcPair, LostSegmentRepairedByFastRetransmit) {
    Config c = plain_config();
    c.mss = 536;  // 3000 bytes in six segments: four arrive after the lost one
    Pair p(c, c);
    Effects fx;
    ASSERT_EQ(p.b.conn.open_passive(FourTuple{kRemote, Endpoint{}}, SeqNum(300)), Error::None);
    ASSERT_EQ(p.a.conn.open_active(kTuple, SeqNum(100), p.a.now, fx), Error::None);
    p.a.absorb(fx);
    p.pump();
    ASSERT_EQ(p.a.conn.state(), State::Established);
    std::string data(3000, 'z');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = char('A' + i % 26);
    int n = 0;
    p.lose = [&](char from, const Sent& s) { return from == 'a' && !s.payload.empty() && n++ == 1; };
    IoResult r = p.a.conn.send({reinterpret_cast<const uint8_t*>(data.data()), data.size()},
                               p.a.now, fx);
    ASSERT_EQ(r.bytes, data.size());
    p.a.absorb(fx);
    p.pump();
    std::vector<uint8_t> buf(8192);
    IoResult got = p.b.conn.receive(buf, p.b.now, fx);
    p.b.absorb(fx);
    EXPECT_EQ(std::string(buf.begin(), buf.begin() + std::ptrdiff_t(got.bytes)), data);
    EXPECT_EQ(p.a.stats.fast_retrans, 1u);
    EXPECT_EQ(p.a.stats.timeouts, 0u);
    EXPECT_EQ(p.b.stats.ofo_queue, 4u);
}

}  // namespace
}  // namespace sluice::tcp::test
