// Data transfer: RFC 9293 3.8 (windows, segmentation by MSS), 3.10.7.4 first step (the
// acceptability test and trimming), seventh step (in-order text only, for now).

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

class Data : public TcpTest {
protected:
    void SetUp() override { to_established_active(); }
    // The peer fills our 4096-byte window in three segments: RCV.NXT 4397, window 0.
    void fill_receive_window() {
        const std::string a(1460, 'a'), b(1460, 'b'), c(1176, 'c');
        inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = a});
        expect_sent({.seq = 101, .ack = 1761, .flags = Flags::Ack, .window = 2636});
        inject({.seq = 1761, .ack = 101, .flags = Flags::Ack, .payload = b});
        expect_sent({.seq = 101, .ack = 3221, .flags = Flags::Ack, .window = 1176});
        inject({.seq = 3221, .ack = 101, .flags = Flags::Ack, .payload = c});
        expect_sent({.seq = 101, .ack = 4397, .flags = Flags::Ack, .window = 0});
    }
};

TEST_F(Data, SendSmall_AckedTimerStopped) {
    EXPECT_EQ(send("hello").bytes, 5u);
    expect_sent({.seq = 101,
                 .ack = 301,
                 .flags = Flags::Ack | Flags::Psh,
                 .window = 4096,
                 .payload = "hello"});
    EXPECT_TRUE(h.has_timer(TimerKind::Retransmit));
    inject({.seq = 301, .ack = 106, .flags = Flags::Ack});
    expect_nothing_sent();
    EXPECT_FALSE(h.has_timer(TimerKind::Retransmit));
    EXPECT_EQ(h.conn.status().send_queued, 0u);
}

TEST_F(Data, ReceiveSmall_AckedAndReadable) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack | Flags::Psh, .payload = "abc"});
    expect_sent({.seq = 101, .ack = 304, .flags = Flags::Ack, .window = 4093});
    expect_event(EventKind::DataReadable);
    EXPECT_EQ(receive(), "abc");
    expect_nothing_sent();  // a 3-byte window increase is no update (RFC 9293 3.8.6.2.2)
}

TEST_F(Data, SegmentedByPeerMss) {
    // No MSS option from the peer: 536 (RFC 9293 3.7.1).
    std::string big(1200, 'x');
    send(big);
    expect_sent({.seq = 101, .flags = Flags::Ack, .payload = std::string_view(big).substr(0, 536)});
    expect_sent(
        {.seq = 637, .flags = Flags::Ack, .payload = std::string_view(big).substr(536, 536)});
    expect_sent({.seq = 1173,
                 .flags = Flags::Ack | Flags::Psh,
                 .payload = std::string_view(big).substr(1072)});
}

// The window cuts the second segment to 64 bytes: RFC 9293 3.8.6.2.1 (MUST-38) holds that
// runt (less than half the largest window offered, 8192) until the ACK opens the window.
// (Linux holds it too with Nagle on; with TCP_NODELAY it would send it.)
TEST_F(Data, PeerWindowLimitsSending) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 600});
    std::string big(1000, 'y');
    send(big);
    expect_sent({.seq = 101, .flags = Flags::Ack, .payload = std::string_view(big).substr(0, 536)});
    expect_nothing_sent();
    inject({.seq = 301, .ack = 637, .flags = Flags::Ack, .window = 600});
    expect_sent({.seq = 637,
                 .flags = Flags::Ack | Flags::Psh,
                 .payload = std::string_view(big).substr(536)});
}

// RFC 9293 3.8.6.2.1: a runt held back with nothing in flight would wait forever for an ACK
// that never comes; the override timeout (the persist timer, RTO) sends what fits.
TEST_F(Data, Rfc9293_3_8_6_2_1_OverrideTimeoutSendsTheHeldRunt) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 100});
    std::string big(1000, 'v');
    send(big);
    expect_nothing_sent();  // 100 bytes: less than a segment and than half of 8192
    EXPECT_EQ(h.timer_at(TimerKind::Persist) - h.now, 1s);
    advance(1s);
    expect_sent({.seq = 101, .flags = Flags::Ack, .payload = std::string_view(big).substr(0, 100)});
    EXPECT_FALSE(h.has_timer(TimerKind::Persist));
    EXPECT_TRUE(h.has_timer(TimerKind::Retransmit));
    inject({.seq = 301, .ack = 201, .flags = Flags::Ack, .window = 4000});
    expect_sent(
        {.seq = 201, .flags = Flags::Ack, .payload = std::string_view(big).substr(100, 536)});
    expect_sent({.seq = 737,
                 .flags = Flags::Ack | Flags::Psh,
                 .payload = std::string_view(big).substr(636)});
}

TEST_F(Data, ReceiveWindowClosesAndReopens) {
    fill_receive_window();
    // Zero window: text is not accepted, the ACK says so again.
    inject({.seq = 4397, .ack = 101, .flags = Flags::Ack, .payload = "z"});
    expect_sent({.seq = 101, .ack = 4397, .flags = Flags::Ack, .window = 0});
    EXPECT_EQ(receive(2000).size(), 2000u);  // window update: 2000 >= min(2048, MSS 536)
    expect_sent({.seq = 101, .ack = 4397, .flags = Flags::Ack, .window = 2000});
    EXPECT_EQ(receive().size(), 2096u);
    expect_sent({.seq = 101, .ack = 4397, .flags = Flags::Ack, .window = 4096});
}

// RFC 9293 3.8.6.2.2 (MUST-39) receiver SWS avoidance: the right edge moves only once it can
// move by min(RCV.BUFF / 2, Eff.snd.MSS) = min(2048, 536), in every segment we send, not
// only in the update after a read. Before, the ACK to a zero-window probe offered the 100
// bytes just read, and the peer would fill it with a 100-byte segment.
TEST_F(Data, Rfc9293_3_8_6_2_2_ReceiverSws_NoSmallWindowInAnyAck) {
    fill_receive_window();
    EXPECT_EQ(receive(100).size(), 100u);
    expect_nothing_sent();                                   // no update for 100 bytes
    inject({.seq = 4396, .ack = 101, .flags = Flags::Ack});  // the peer's zero-window probe
    expect_sent({.seq = 101, .ack = 4397, .flags = Flags::Ack, .window = 0});
    EXPECT_EQ(receive(436).size(), 436u);  // 536 free: now the edge moves
    expect_sent({.seq = 101, .ack = 4397, .flags = Flags::Ack, .window = 536});
    EXPECT_EQ(receive(100).size(), 100u);
    inject({.seq = 4396, .ack = 101, .flags = Flags::Ack});                      // a probe again
    expect_sent({.seq = 101, .ack = 4397, .flags = Flags::Ack, .window = 536});  // not 636
}

TEST_F(Data, Rfc9293_3_10_7_4_OutOfOrder_HeldAndDuplicateAck) {
    inject({.seq = 310, .ack = 101, .flags = Flags::Ack, .payload = "later"});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    EXPECT_EQ(h.conn.status().recv_queued, 0u);  // held, not readable
    EXPECT_EQ(h.conn.status().ooo_ranges, 1u);
    EXPECT_EQ(h.stats.drop_count(DropReason::OutOfOrder), 0u);
    EXPECT_EQ(h.stats.ofo_queue, 1u);
}

TEST_F(Data, DuplicateAcksNotMergedInOneSink) {
    // Several segments handled before the host drains: each out-of-order one still gets
    // its own duplicate ACK (the peer's fast retransmit counts them).
    Effects fx;
    for (uint32_t seq : {310u, 320u, 330u}) {
        Segment s;
        s.src_port = kRemote.port;
        s.dst_port = kLocal.port;
        s.seq = SeqNum(seq);
        s.ack = SeqNum(101);
        s.flags = Flags::Ack;
        s.window = 8192;
        s.payload = {reinterpret_cast<const uint8_t*>("0123456789"), 10};
        h.conn.on_segment(s, h.now, fx);
    }
    h.absorb(fx);
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
}

TEST_F(Data, OldDuplicate_Acked) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "abc"});
    expect_sent({.seq = 101, .ack = 304, .flags = Flags::Ack});
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "abc"});
    expect_sent({.seq = 101, .ack = 304, .flags = Flags::Ack});
    EXPECT_EQ(receive(), "abc");
}

TEST_F(Data, OverlappingSegment_TrimmedToNewBytes) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "abc"});
    expect_sent({.seq = 101, .ack = 304, .flags = Flags::Ack});
    inject({.seq = 302, .ack = 101, .flags = Flags::Ack, .payload = "bcde"});
    expect_sent({.seq = 101, .ack = 306, .flags = Flags::Ack});
    EXPECT_EQ(receive(), "abcde");
}

TEST_F(Data, BeyondWindow_TrimmedFinDropped) {
    std::string big(4100, 'q');
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack | Flags::Fin, .payload = big});
    expect_sent({.seq = 101, .ack = 301 + 4096, .flags = Flags::Ack, .window = 0});
    expect_state(State::Established);  // the FIN lay beyond the window
}

TEST_F(Data, AckOfUnsentData_AckedAndDropped) {
    inject({.seq = 301, .ack = 5000, .flags = Flags::Ack, .payload = "x"});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    EXPECT_EQ(h.conn.status().recv_queued, 0u);
}

TEST_F(Data, SegmentWithoutAck_Dropped) {
    inject({.seq = 301, .flags = Flags::Psh, .payload = "x"});
    expect_nothing_sent();
    EXPECT_EQ(h.stats.drop_count(DropReason::NoAck), 1u);
}

TEST_F(Data, SendBufferFull_ShortSendThenSendSpace) {
    std::string big(5000, 'w');
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 0});
    IoResult r = send(big);
    EXPECT_EQ(r.bytes, 4096u);
    expect_nothing_sent();  // zero window
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 1000});
    expect_sent({.seq = 101, .flags = Flags::Ack, .payload = std::string_view(big).substr(0, 536)});
    expect_nothing_sent();  // the 464-byte rest of the window is a runt (RFC 9293 3.8.6.2.1)
    inject({.seq = 301, .ack = 637, .flags = Flags::Ack, .window = 1000});
    expect_event(EventKind::SendSpace);
    expect_sent(
        {.seq = 637, .flags = Flags::Ack, .payload = std::string_view(big).substr(536, 536)});
    expect_nothing_sent();
}

TEST_F(Data, Rfc9293_3_8_6_1_ZeroWindow_PersistProbes) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 0});
    send("stalled");
    expect_nothing_sent();
    EXPECT_EQ(h.timer_at(TimerKind::Persist), h.now + 1s);
    advance(1s);
    expect_sent({.seq = 100, .ack = 301, .flags = Flags::Ack});  // probe: SND.UNA - 1
    EXPECT_EQ(h.timer_at(TimerKind::Persist), h.now + 2s);       // backed off
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 0});
    expect_nothing_sent();
    advance(2s);
    expect_sent({.seq = 100, .ack = 301, .flags = Flags::Ack});
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 1000});  // window opens
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack | Flags::Psh, .payload = "stalled"});
    EXPECT_FALSE(h.has_timer(TimerKind::Persist));
    EXPECT_EQ(h.conn.tcb().persist_probes, 0);
}

// RFC 9293 3.8.6.1 (SHLD-30): the persist interval backs off exponentially (capped, here at
// max_rto as Linux's TCP_RTO_MAX) also while every probe is answered with window 0: an
// answer proves the peer alive, it does not shorten the interval (Linux tcp_probe_timer
// keeps icsk_backoff across answered probes).
TEST_F(Data, Rfc9293_3_8_6_1_PersistIntervalBacksOffWhileAnswered) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 0});
    send("stalled");
    Duration expected = 1s;  // the RTO
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(h.timer_at(TimerKind::Persist) - h.now, expected) << "interval " << i;
        advance(h.timer_at(TimerKind::Persist) - h.now);
        expect_sent({.seq = 100, .ack = 301, .flags = Flags::Ack});
        inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 0});
        expect_nothing_sent();
        expected = std::min<Duration>(2 * expected, h.cfg.max_rto);
    }
    EXPECT_EQ(h.timer_at(TimerKind::Persist) - h.now, h.cfg.max_rto);       // 1 s << 10 > 120 s
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 1000});  // window opens
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack | Flags::Psh, .payload = "stalled"});
    EXPECT_FALSE(h.has_timer(TimerKind::Persist));
}

TEST_F(Data, ZeroWindow_AnsweredProbesNeverTimeOut) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 0});
    send("x");
    for (int i = 0; i < 3 * h.cfg.max_retries; ++i) {
        advance(h.timer_at(TimerKind::Persist) - h.now);
        expect_sent({.seq = 100, .ack = 301, .flags = Flags::Ack});
        inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 0});
    }
    expect_state(State::Established);
}

// RFC 1122 4.2.2.17: the peer shrank its window to zero under data already in flight (RFC
// 9293 3.8.6.2.2 discourages it, it happens). Our retransmissions are now zero-window
// probes; while the peer answers them they do not count toward max_retries (Linux
// tcp_retransmit_timer: "receiver dastardly shrinks window").
TEST_F(Data, Rfc1122_4_2_2_17_ShrunkWindow_AnsweredRetransmissionsNeverTimeOut) {
    send("data");
    expect_sent({.seq = 101, .flags = Flags::Ack | Flags::Psh, .payload = "data"});
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 0});  // nothing ACKed, wnd 0
    for (int i = 0; i < 2 * h.cfg.max_retries; ++i) {
        ASSERT_TRUE(h.next_timer().has_value());
        advance(h.next_timer()->first - h.now);
        ASSERT_FALSE(h.sent.empty()) << "round " << i;
        h.sent.clear();  // the retransmission or probe
        inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 0});
        expect_nothing_sent();
    }
    expect_state(State::Established);
    EXPECT_EQ(h.stats.timeouts, 0u);
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 1000});  // opens
    expect_nothing_sent();  // the data is in flight: the next (backed-off) RTO resends it
    advance(h.timer_at(TimerKind::Retransmit) - h.now);
    expect_sent({.seq = 101, .flags = Flags::Ack | Flags::Psh, .payload = "data"});
    inject({.seq = 301, .ack = 105, .flags = Flags::Ack, .window = 1000});
    EXPECT_EQ(h.conn.status().send_queued, 0u);
}

// Unanswered, the same retransmissions do end the connection after max_retries.
TEST_F(Data, ShrunkWindow_UnansweredRetransmissionsTimeOut) {
    send("data");
    expect_sent({.seq = 101, .flags = Flags::Ack | Flags::Psh, .payload = "data"});
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 0});
    advance(3600s);
    h.sent.clear();
    expect_state(State::Closed);
    expect_closed(CloseReason::Timeout);
}

TEST(DataBulk, ManySegments_SinkNeverOverflows) {
    // 60 segments from one send(): the core stops one short of the sink's capacity, sets
    // more_output, and the host drains and calls poll_output() (Host::absorb does). An
    // initial window of 60 segments lets them all go at once.
    Config c = plain_config();
    c.initial_window = 60;
    Host host(c, 65536, 65536);
    Effects fx;
    ASSERT_EQ(host.conn.open_active(kTuple, SeqNum(kIss), host.now, fx), Error::None);
    host.absorb(fx);
    host.inject({.seq = kIrs, .ack = kIss + 1, .flags = Flags::Syn | Flags::Ack, .window = 65535});
    host.sent.clear();
    std::string big(60 * 536, 'm');
    IoResult r =
        host.conn.send({reinterpret_cast<const uint8_t*>(big.data()), big.size()}, host.now, fx);
    EXPECT_EQ(r.bytes, big.size());
    EXPECT_TRUE(fx.more_output);
    EXPECT_EQ(fx.segment_count, Effects::kMaxSegments - 1);
    host.absorb(fx);
    ASSERT_EQ(host.sent.size(), 60u);
    for (std::size_t i = 0; i < 60; ++i)
        EXPECT_EQ(host.sent[i].seg.seq, SeqNum(uint32_t(101 + 536 * i)));
}

// Found by the 100 MB e2e transfers (test/e2e/transfer_test.cpp) and by test/lossy: the echo
// service writes exactly the free space, so its send() is never short, and it stalled for
// good once the send buffer was full. A send() that fills the buffer must be followed by
// SendSpace too.
TEST_F(Data, SendFillsBufferExactly_SendSpaceWhenAcked) {
    const std::string all(kBuf, 'f');
    EXPECT_EQ(send(all).bytes, kBuf);
    h.sent.clear();
    expect_no_event(EventKind::SendSpace);
    inject({.seq = 301, .ack = 637, .flags = Flags::Ack});
    expect_event(EventKind::SendSpace);
}

// 256 KiB of receive ring: the smallest scale that advertises it whole is 3 (8-byte units).
constexpr std::size_t kBigRing = 256 * 1024;

Config scaled_config() {
    Config c = plain_config();
    c.window_scaling = true;
    c.recv_buffer = kBigRing;
    return c;
}

class ScaledWindow : public TcpTest {
protected:
    ScaledWindow() : TcpTest(scaled_config(), kBuf, kBigRing) {}
};

// Found by the lossy e2e transfer: with the application not reading, every ACK re-rounded
// the held right edge up to the scale unit, so the edge crept past the ring (824 bytes after
// some 15 ACKs at shift 7) and the peer's in-window data was then cut short. The edge may
// retract by less than 2^shift instead (RFC 7323 2.4); it must never pass RCV.NXT + free.
TEST_F(ScaledWindow, Rfc7323_2_4_AppNotReading_AdvertisedEdgeNeverPassesTheRing) {
    wire::TcpOptions peer;
    peer.has_wscale = true;
    peer.wscale = 0;
    to_established_active(peer);
    const uint8_t shift = h.conn.tcb().rcv_wscale;
    ASSERT_GT(shift, 0);
    const uint32_t ring_end = 301 + uint32_t(kBigRing);  // nothing is read: the edge is fixed
    const std::string chunk(1001, 'd');                  // not a multiple of the scale unit
    uint32_t seq = 301;
    for (int i = 0; seq < ring_end; ++i) {
        h.sent.clear();
        const uint32_t n = std::min<uint32_t>(uint32_t(chunk.size()), ring_end - seq);
        inject({.seq = seq,
                .ack = 101,
                .flags = Flags::Ack,
                .payload = std::string_view(chunk).substr(0, n)});
        ASSERT_FALSE(h.sent.empty()) << i;
        const OutSegment& ack = h.sent.back().seg;
        ASSERT_EQ(ack.ack, SeqNum(seq + n)) << "segment " << i << " not wholly accepted";
        ASSERT_LE(ack.ack.raw() + (uint32_t(ack.window) << shift), ring_end) << "segment " << i;
        seq += n;
    }
    EXPECT_EQ(h.conn.status().recv_queued, kBigRing);
    EXPECT_EQ(h.stats.drop_count(DropReason::Unacceptable), 0u);
    h.sent.clear();
}

}  // namespace
}  // namespace sluice::tcp::test
