// The public library (include/sluice/sluice.hpp) on an in-memory port (net_ring) and a
// virtual clock: the test is the peer, injecting frames into the RX ring and reading what the
// stack sends from the TX ring. Covers the callbacks' order, misuse (wrong lcore, after close,
// stale handles, oversized buffers), options that must change what goes on the wire
// (no-delay, keepalive times) and the status fields.

#include "api_fixture.hpp"

#include <algorithm>
#include <thread>

namespace sluice {
namespace {

using namespace test;
using namespace std::chrono_literals;
namespace F = wire::tcp_flags;

// --- callbacks and their order ------------------------------------------------------------------

TEST_F(Api, PassiveConnectionReportsAcceptDataPeerClosedCloseInOrder) {
    Log& log = keep_log();
    log.close_on_peer_close = true;
    ASSERT_EQ(stack_->listen(5000, recording_handlers(log)), Errc::Ok);
    const uint32_t iss = handshake(40000, 5000, 1000);
    EXPECT_EQ(log.joined(), "accept");
    inject(40000, 5000, 1001, iss + 1, F::Ack | F::Psh, "hello");
    poll();
    inject(40000, 5000, 1006, iss + 1, F::Ack | F::Fin);
    auto out = poll();
    ASSERT_FALSE(out.empty());
    EXPECT_TRUE(out.back().tcp.flags & F::Fin) << "on_peer_closed closed our side";
    EXPECT_EQ(log.joined(), "accept,data:hello,peer_closed");
    inject(40000, 5000, 1007, iss + 2, F::Ack);  // ACK of our FIN: LAST-ACK -> CLOSED
    poll();
    EXPECT_EQ(log.joined(), "accept,data:hello,peer_closed,close");
}

// Issue 18 item 1, RFC 9293 3.10.7.4 eighth step (the FIN pushes the text to the user):
// half-closed by us, the peer sends 10 KB and its FIN; the application reads 1 KB per loop
// turn, after the connection has reached TIME-WAIT: all of it, then EndOfStream, and only
// then on_close.
TEST_F(Api, TextUnreadWhenTimeWaitBeginsIsReadToTheEndBeforeOnClose) {
    Log log;
    log.read_on_data = false;
    Conn a;
    ASSERT_EQ(w0().connect(Ipv4{0xC6120001}, 9000, recording_handlers(log), {}, &a), Errc::Ok);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    const uint16_t port = out[0].tcp.src_port;
    const uint32_t iss = out[0].tcp.seq.raw();
    inject(9000, port, 500, iss + 1, F::Syn | F::Ack);
    poll();
    ASSERT_EQ(a.shutdown_send(), Errc::Ok);
    poll();  // our FIN
    std::string sent;
    for (int i = 0; i < 10; ++i) {
        const std::string piece(1024, char('a' + i));
        inject(9000, port, 501 + uint32_t(sent.size()), iss + 2, F::Ack, piece);
        sent += piece;
    }
    inject(9000, port, 501 + uint32_t(sent.size()), iss + 2, F::Ack | F::Fin);
    poll();
    ConnStatus st;
    ASSERT_EQ(a.status(st), Errc::Ok);
    EXPECT_EQ(st.state, State::TimeWait);
    std::string got;
    Errc end = Errc::Ok;
    for (int turn = 0; turn < 100 && end == Errc::Ok; ++turn) {
        std::byte buf[1024];
        const IoResult r = a.receive(buf);
        got.append(reinterpret_cast<const char*>(buf), r.bytes);
        if (r.bytes == 0) end = r.error;
        if (end == Errc::Ok) {
            EXPECT_EQ(log.events.back(), "peer_closed") << "no on_close yet";
        }
        poll();
    }
    EXPECT_EQ(got.size(), sent.size());
    EXPECT_TRUE(got == sent) << "the bytes, in order";
    EXPECT_EQ(end, Errc::EndOfStream);
    EXPECT_EQ(log.events.back(), "close");
}

TEST_F(Api, ActiveOpenReportsConnectedOrRefusedThenClose) {
    Log& ok = keep_log();
    Log& refused = keep_log();
    Conn a, b;
    ASSERT_EQ(w0().connect(Ipv4{0xC6120001}, 9000, recording_handlers(ok), {}, &a), Errc::Ok);
    ASSERT_EQ(w0().connect(Ipv4{0xC6120001}, 9001, recording_handlers(refused), {}, &b), Errc::Ok);
    auto out = poll();
    ASSERT_EQ(out.size(), 2u);
    for (const Sent& s : out) {
        ASSERT_EQ(s.tcp.flags, F::Syn);
        if (s.tcp.dst_port == 9000) {
            inject(9000, s.tcp.src_port, 500, s.tcp.seq.raw() + 1, F::Syn | F::Ack);
        } else {
            inject(9001, s.tcp.src_port, 0, s.tcp.seq.raw() + 1, F::Rst | F::Ack);
        }
    }
    poll();
    EXPECT_EQ(ok.joined(), "connected");
    EXPECT_EQ(ok.last, a);
    EXPECT_EQ(refused.joined(), "error:connection refused,close");
    EXPECT_EQ(b.send(std::string_view("x")).error, Errc::NoConnection);
    ConnStatus st;
    ASSERT_EQ(a.status(st), Errc::Ok);
    EXPECT_EQ(st.state, State::Established);
}

TEST_F(Api, ResetByPeerReportsErrorThenClose) {
    Log& log = keep_log();
    ASSERT_EQ(stack_->listen(5001, recording_handlers(log)), Errc::Ok);
    const uint32_t iss = handshake(40001, 5001, 1000);
    inject(40001, 5001, 1001, iss + 1, F::Rst);
    poll();
    EXPECT_EQ(log.joined(), "accept,error:connection reset,close");
}

TEST_F(Api, HooksRunOnTheWorkerAndMayConnect) {
    struct Ctx {
        int starts = 0, ticks = 0;
        Log& log;
        Conn c;
    } ctx{.log = keep_log()};
    ASSERT_EQ(stack_->set_hooks({.on_start =
                                     [](Worker& w, void* p) {
                                         auto& x = *static_cast<Ctx*>(p);
                                         ++x.starts;
                                         EXPECT_EQ(w.connect(Ipv4{0xC6120001}, 7000,
                                                             recording_handlers(x.log), {}, &x.c),
                                                   Errc::Ok);
                                     },
                                 .on_tick = [](Worker&, void* p) { ++static_cast<Ctx*>(p)->ticks; },
                                 .ctx = &ctx}),
              Errc::Ok);
    detail::start_hooks(*stack_);
    EXPECT_EQ(ctx.starts, 1);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.dst_port, 7000);
    EXPECT_GE(ctx.ticks, 1);
    const int before = ctx.ticks;
    poll();
    EXPECT_EQ(ctx.ticks, before + 1) << "one tick per loop turn";
}

// --- misuse
// ----------------------------------------------------------------------------------------

TEST_F(Api, CallsFromAnotherThreadAreRefusedAndChangeNothing) {
    Log& log = keep_log();
    ASSERT_EQ(stack_->listen(5002, recording_handlers(log)), Errc::Ok);
    handshake(40002, 5002, 1000);
    const Conn c = log.last;
    ASSERT_FALSE(c.empty());
    Errc send = Errc::Ok, close = Errc::Ok, abort = Errc::Ok, connect = Errc::Ok, status = Errc::Ok;
    std::thread t([&] {
        send = Conn(c).send(std::string_view("from the wrong thread")).error;
        close = Conn(c).close();
        abort = Conn(c).abort();
        ConnStatus st;
        status = c.status(st);
        Conn out;
        connect = w0().connect(Ipv4{0xC6120001}, 80, {}, {}, &out);
    });
    t.join();
    EXPECT_EQ(send, Errc::WrongLcore);
    EXPECT_EQ(close, Errc::WrongLcore);
    EXPECT_EQ(abort, Errc::WrongLcore);
    EXPECT_EQ(status, Errc::WrongLcore);
    EXPECT_EQ(connect, Errc::WrongLcore);
    EXPECT_TRUE(poll().empty()) << "nothing was sent";
    ConnStatus st;
    ASSERT_EQ(c.status(st), Errc::Ok);
    EXPECT_EQ(st.state, State::Established);
    EXPECT_EQ(st.bytes_sent, 0u);
    EXPECT_EQ(log.joined(), "accept");
}

TEST_F(Api, CallsAfterCloseAndOnStaleHandlesAreRefused) {
    Log& log = keep_log();
    ASSERT_EQ(stack_->listen(5003, recording_handlers(log)), Errc::Ok);
    EXPECT_EQ(Conn().send(std::string_view("x")).error, Errc::NoConnection) << "empty handle";
    const uint32_t iss = handshake(40003, 5003, 1000);
    Conn c = log.last;
    ASSERT_EQ(c.close(), Errc::Ok);
    EXPECT_EQ(c.send(std::string_view("late")).error, Errc::Closing);
    EXPECT_EQ(c.shutdown_send(), Errc::Closing);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].tcp.flags & F::Fin);
    // The peer ACKs our FIN and sends its own: TIME-WAIT, which ends the connection for us.
    inject(40003, 5003, 1001, iss + 2, F::Ack | F::Fin);
    poll();
    EXPECT_EQ(log.joined(), "accept,close");
    EXPECT_EQ(c.send(std::string_view("x")).error, Errc::NoConnection);
    EXPECT_EQ(c.close(), Errc::NoConnection);
    EXPECT_EQ(c.abort(), Errc::NoConnection);
    ConnStatus st;
    EXPECT_EQ(c.status(st), Errc::NoConnection);
    EXPECT_EQ(c.set_no_delay(true), Errc::NoConnection);
    EXPECT_EQ(c.user(), nullptr);
    // The slot goes to the next connection: the old handle stays dead, the new one works.
    Log& log2 = keep_log();
    Conn fresh;
    ASSERT_EQ(w0().connect(Ipv4{0xC6120001}, 9100, recording_handlers(log2), {}, &fresh), Errc::Ok);
    EXPECT_NE(fresh, c);
    EXPECT_EQ(c.abort(), Errc::NoConnection);
    ASSERT_EQ(fresh.status(st), Errc::Ok);
    EXPECT_EQ(st.state, State::SynSent);
    EXPECT_EQ(log2.joined(), "") << "the abort on the stale handle did not reach it";
}

TEST_F(Api, BufferOptionsAboveTheSlotSizeAreRefused) {
    Log& log = keep_log();
    Conn c;
    EXPECT_EQ(w0().connect(Ipv4{0xC6120001}, 9000, recording_handlers(log),
                           {.recv_buffer = kSlotBuffer + 1}, &c),
              Errc::BufferTooLarge);
    EXPECT_TRUE(c.empty());
    EXPECT_EQ(
        w0().connect(Ipv4{0xC6120001}, 9000, recording_handlers(log), {.send_buffer = 100}, &c),
        Errc::InvalidArgument);
    EXPECT_EQ(stack_->listen(5004, recording_handlers(log), {.send_buffer = kSlotBuffer * 2}),
              Errc::BufferTooLarge);
    EXPECT_EQ(stack_->listen(5004, recording_handlers(log), {.recv_buffer = 4096}),
              Errc::Unsupported);
    EXPECT_EQ(stack_->listen(0, recording_handlers(log)), Errc::InvalidArgument);
    EXPECT_TRUE(poll().empty()) << "nothing opened";
    ASSERT_EQ(stack_->listen(5004, recording_handlers(log)), Errc::Ok);
    EXPECT_EQ(stack_->listen(5004, recording_handlers(log)), Errc::AddressInUse);
}

TEST_F(Api, SmallerBuffersTakeEffect) {
    Log& log = keep_log();
    Conn c;
    ASSERT_EQ(w0().connect(Ipv4{0xC6120001}, 9000, recording_handlers(log),
                           {.send_buffer = 4096, .recv_buffer = 4096}, &c),
              Errc::Ok);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.window, 4096) << "the SYN advertises the smaller receive buffer";
    inject(9000, out[0].tcp.src_port, 500, out[0].tcp.seq.raw() + 1, F::Syn | F::Ack, {}, 0);
    poll();
    ConnStatus st;
    ASSERT_EQ(c.status(st), Errc::Ok);
    EXPECT_EQ(st.send_buffer, 4096u);
    EXPECT_EQ(st.receive_buffer, 4096u);
    const std::string big(10000, 'z');
    EXPECT_EQ(c.send(big).bytes, 4096u) << "the peer's window is zero: the buffer fills";
}

TEST_F(Api, ThreadCheckHappensBeforeAnythingElseOnEmptyOrValidHandles) {
    EXPECT_EQ(to_string(Errc::WrongLcore), "wrong lcore");
    EXPECT_EQ(to_string(Errc::BufferTooLarge).substr(0, 6), "buffer");
    EXPECT_EQ(to_string(State::SynReceived), "SYN-RECEIVED");
    EXPECT_EQ(Ipv4::parse("198.18.0.1")->value, 0xC6120001u);
    EXPECT_FALSE(Ipv4::parse("198.18.0"));
    EXPECT_EQ(Ipv4{0xC6120001}.to_string(), "198.18.0.1");
    const auto v6 = IpAddress::parse("2001:2:0:0::1");
    ASSERT_TRUE(v6);
    EXPECT_FALSE(v6->is_v4());
    EXPECT_EQ(v6->to_string(), "2001:2::1");
    EXPECT_FALSE(v6->v4());
    EXPECT_EQ(IpAddress(Ipv4{0xC6120001}), *IpAddress::parse("198.18.0.1"));
    EXPECT_EQ(IpAddress::parse("198.18.0.1")->v4()->value, 0xC6120001u);
    EXPECT_FALSE(IpAddress::parse("2001:2::1::1"));
}

TEST_F(Api, Ipv6ActiveOpenThroughTheLibrary) {
    // The peer's Neighbor Solicitation teaches the worker its MAC (RFC 4861 7.2.3).
    uint8_t ns[128];
    inject_frame({ns, wire::build_neighbor_solicit(ns, kPeerMac, kPeer6, kUs6)});
    poll();
    Log& log = keep_log();
    Conn c;
    ASSERT_EQ(w0().connect(*IpAddress::parse("2001:2::1"), 9000, recording_handlers(log), {}, &c),
              Errc::Ok);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Syn);
    EXPECT_EQ(last_dst_, kPeer6);
    us_ = kUs6;
    peer_ = kPeer6;
    inject(9000, out[0].tcp.src_port, 7000, out[0].tcp.seq.raw() + 1, F::Syn | F::Ack);
    out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Ack);
    ConnStatus st;
    ASSERT_EQ(c.status(st), Errc::Ok);
    EXPECT_EQ(st.state, State::Established);
    EXPECT_EQ(st.remote, (Endpoint{*IpAddress::parse("2001:2::1"), 9000}));
    EXPECT_EQ(st.local.addr.to_string(), "2001:2::2");
    EXPECT_FALSE(st.local.addr.v4());
}

// --- options take effect
// ---------------------------------------------------------------------------

TEST_F(Api, NoDelaySendsSmallSegmentsThatNagleHolds) {
    Log& log = keep_log();
    ASSERT_EQ(stack_->listen(5005, recording_handlers(log), {.no_delay = false}), Errc::Ok);
    handshake(40005, 5005, 1000);
    Conn c = log.last;
    const std::string small(100, 'a');
    ASSERT_EQ(c.send(small).bytes, 100u);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u) << "nothing in flight: the first small segment goes";
    ASSERT_EQ(c.send(small).bytes, 100u);
    EXPECT_TRUE(poll().empty()) << "Nagle holds a small segment while data is unacknowledged";
    ASSERT_EQ(c.set_no_delay(true), Errc::Ok);
    out = poll();
    ASSERT_EQ(out.size(), 1u) << "turning no-delay on flushes what Nagle held";
    EXPECT_EQ(out[0].payload.size(), 100u);
    ASSERT_EQ(c.send(small).bytes, 100u);
    out = poll();
    ASSERT_EQ(out.size(), 1u) << "with no-delay a small segment leaves at once";
    ConnStatus st;
    ASSERT_EQ(c.status(st), Errc::Ok);
    EXPECT_TRUE(st.no_delay);
}

TEST_F(Api, KeepaliveProbesLeaveAtTheConnectionsTimesThenTheConnectionTimesOut) {
    Log& log = keep_log();
    const Keepalive ka{.idle = 2s, .interval = 500ms, .probes = 3};
    ASSERT_EQ(stack_->listen(5006, recording_handlers(log), {.keepalive = ka}), Errc::Ok);
    const uint32_t iss = handshake(40006, 5006, 1000);
    const auto sent = advance(4s);
    // Probes at idle, idle + interval, idle + 2 x interval; then the RST when the third one
    // went unanswered for an interval (as Linux).
    std::vector<time::Duration> probes;
    bool rst = false;
    time::Duration rst_at{};
    for (const auto& [at, s] : sent) {
        if (s.tcp.flags & F::Rst) {
            rst = true;
            rst_at = at;
        } else {
            EXPECT_EQ(s.tcp.seq.raw(), iss) << "probe: SEG.SEQ = SND.NXT - 1";
            EXPECT_TRUE(s.payload.empty());
            probes.push_back(at);
        }
    }
    ASSERT_EQ(probes.size(), 3u);
    EXPECT_EQ(probes[0], 2s);
    EXPECT_EQ(probes[1], 2500ms);
    EXPECT_EQ(probes[2], 3000ms);
    EXPECT_TRUE(rst);
    EXPECT_EQ(rst_at, 3500ms);
    EXPECT_EQ(log.joined(), "accept,error:connection timed out,close");
}

TEST_F(Api, KeepaliveSetLaterUsesNewTimesAndAnsweredProbesKeepTheConnection) {
    Log& log = keep_log();
    ASSERT_EQ(stack_->listen(5007, recording_handlers(log)), Errc::Ok);
    const uint32_t iss = handshake(40007, 5007, 1000);
    Conn c = log.last;
    EXPECT_TRUE(advance(3s).empty()) << "no keepalive by default";
    ASSERT_EQ(c.set_keepalive({.idle = 1s, .interval = 1s, .probes = 1}), Errc::Ok);
    // The idle time counts from the last segment heard (3 s ago): the probe goes at once.
    auto sent = advance(10ms);
    ASSERT_EQ(sent.size(), 1u);
    inject(40007, 5007, 1001, iss + 1, F::Ack);  // the peer answers
    poll();
    sent = advance(999ms);
    EXPECT_TRUE(sent.empty());
    sent = advance(2ms);
    ASSERT_EQ(sent.size(), 1u) << "next probe one idle time after the answer";
    ConnStatus st;
    ASSERT_EQ(c.status(st), Errc::Ok);
    EXPECT_TRUE(st.keepalive);
    EXPECT_EQ(st.state, State::Established);
    EXPECT_EQ(c.set_keepalive({.enabled = false}), Errc::Ok);
    EXPECT_TRUE(advance(5s).empty());
    EXPECT_EQ(log.joined(), "accept");
}

// --- status --------------------------------------------------------------------------------------

TEST_F(Api, StatusReportsTupleRttBytesAndRetransmissions) {
    Log& log = keep_log();
    log.read_on_data = false;
    ASSERT_EQ(stack_->listen(5008, recording_handlers(log), {.no_delay = true}), Errc::Ok);
    const uint32_t iss = handshake(40008, 5008, 1000);
    Conn c = log.last;
    ConnStatus st;
    ASSERT_EQ(c.status(st), Errc::Ok);
    EXPECT_EQ(st.state, State::Established);
    EXPECT_EQ(st.local, (Endpoint{Ipv4{0xC6120002}, 5008}));
    EXPECT_EQ(st.remote, (Endpoint{Ipv4{0xC6120001}, 40008}));
    EXPECT_EQ(st.send_buffer, kSlotBuffer);
    EXPECT_TRUE(st.no_delay);

    ASSERT_EQ(c.send(std::string_view("0123456789")).bytes, 10u);
    ASSERT_EQ(poll().size(), 1u);
    // No ACK: the RTO (1 s before any sample, RFC 6298 2.1) sends the data again.
    auto again = advance(1001ms);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].second.payload, "0123456789");
    now_ = now_ + 20ms;
    inject(40008, 5008, 1001, iss + 11, F::Ack | F::Psh, "abc");
    poll();
    std::byte buf[16];
    ASSERT_EQ(c.receive(buf).bytes, 3u);
    ASSERT_EQ(c.status(st), Errc::Ok);
    EXPECT_EQ(st.bytes_sent, 10u);
    EXPECT_EQ(st.bytes_received, 3u);
    EXPECT_EQ(st.retransmits, 1u);
    // The SYN-ACK came from the SYN cache, before the connection existed.
    EXPECT_EQ(st.segments_out, 2u) << "data and its retransmission";
    EXPECT_EQ(st.segments_in, 2u) << "the handshake's last ACK and the data";
    EXPECT_EQ(st.send_queued, 0u);
    // Karn: the retransmitted segment gave no sample; the RTO stays backed off or fresh.
    EXPECT_GT(st.rto.count(), 0);
    EXPECT_EQ(log.joined(), "accept,data");
}

// Zero-copy both ways: the application's chain goes out by reference and returns to its
// pool on the ACK; received payload comes back in the mbuf it arrived in.
TEST_F(Api, ZeroCopySendAndReceiveMbufs) {
    Log& log = keep_log();
    log.read_on_data = false;
    ASSERT_EQ(stack_->listen(5010, recording_handlers(log), {.no_delay = true}), Errc::Ok);
    const uint32_t iss = handshake(40010, 5010, 1000);
    Conn c = log.last;
    rte_mempool* pool = rte_pktmbuf_pool_create("api_zero_copy", 63, 0, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool, nullptr);
    rte_mbuf* head = rte_pktmbuf_alloc(pool);
    rte_mbuf* tail = rte_pktmbuf_alloc(pool);
    ASSERT_TRUE(head != nullptr && tail != nullptr);
    std::memcpy(rte_pktmbuf_append(head, 5), "hello", 5);
    std::memcpy(rte_pktmbuf_append(tail, 6), " world", 6);
    ASSERT_EQ(rte_pktmbuf_chain(head, tail), 0);
    EXPECT_EQ(c.send(static_cast<rte_mbuf*>(nullptr)).error, Errc::InvalidArgument);
    ASSERT_EQ(c.send(head).bytes, 11u);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, "hello world");
    EXPECT_EQ(rte_mempool_in_use_count(pool), 2u) << "held by the send buffer until acknowledged";
    EXPECT_EQ(std::string(rte_pktmbuf_mtod(head, const char*), 5), "hello") << "sent, not moved";
    inject(40010, 5010, 1001, iss + 12, F::Ack, "");
    poll();
    EXPECT_EQ(rte_mempool_in_use_count(pool), 0u) << "back in the pool once acknowledged";

    const std::string data(300, 'r');  // 256 bytes or more stay in their RX mbuf
    inject(40010, 5010, 1001, iss + 12, F::Ack | F::Psh, data);
    poll();
    IoResult r;
    rte_mbuf* m = c.receive_mbuf(r);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(r.error, Errc::Ok);
    EXPECT_EQ(r.bytes, 300u);
    EXPECT_EQ(std::string(rte_pktmbuf_mtod(m, const char*), m->data_len), data);
    rte_pktmbuf_free(m);
    EXPECT_EQ(c.receive_mbuf(r), nullptr);
    EXPECT_EQ(r.bytes, 0u);
    EXPECT_EQ(r.error, Errc::Ok) << "nothing more yet";
    rte_mempool_free(pool);
}

TEST_F(Api, StatusRttComesFromAnAcknowledgedSegment) {
    Log& log = keep_log();
    ASSERT_EQ(stack_->listen(5009, recording_handlers(log)), Errc::Ok);
    const uint32_t iss = handshake(40009, 5009, 1000);
    Conn c = log.last;
    ASSERT_EQ(c.send(std::string_view("ping")).bytes, 4u);
    ASSERT_EQ(poll().size(), 1u);
    now_ = now_ + 30ms;
    inject(40009, 5009, 1001, iss + 5, F::Ack);
    poll();
    ConnStatus st;
    ASSERT_EQ(c.status(st), Errc::Ok);
    EXPECT_EQ(st.srtt, 30ms);  // RFC 6298 (2.2): SRTT = R on the first sample
    EXPECT_EQ(st.rttvar, 15ms);
    EXPECT_EQ(st.retransmits, 0u);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST_F(Api, ConnectBeyondThePoolIsNoMemoryAndChangesNothing) {
    Log& log = keep_log();
    std::vector<Conn> conns(4);
    for (size_t i = 0; i < conns.size(); ++i)
        ASSERT_EQ(w0().connect(Ipv4{0xC6120001}, 9000, recording_handlers(log), {}, &conns[i]),
                  Errc::Ok);
    Conn extra;
    EXPECT_EQ(w0().connect(Ipv4{0xC6120001}, 9000, recording_handlers(log), {}, &extra),
              Errc::NoMemory);
    EXPECT_TRUE(extra.empty());
    EXPECT_EQ(poll().size(), 4u) << "four SYNs, nothing for the refused open";
    ASSERT_EQ(conns[0].abort(), Errc::Ok);
    EXPECT_EQ(log.joined(), "close") << "abort: on_close at once, no on_error";
    EXPECT_EQ(w0().connect(Ipv4{0xC6120001}, 9000, recording_handlers(log), {}, &extra), Errc::Ok);
}

TEST(ApiConfig, CreateExplainsWhatIsMissingOrWrong) {
    std::string err;
    EXPECT_EQ(Stack::create({.init_eal = false}, err), nullptr);
    EXPECT_NE(err.find("address"), std::string::npos) << err;
    EXPECT_EQ(Stack::create({.address = "198.18.0.2", .device = "net_ring0", .init_eal = false},
                            err),
              nullptr);
    EXPECT_NE(err.find("prefix"), std::string::npos) << err;
    EXPECT_EQ(Stack::create({.address = "198.18.0.2/24",
                             .device = "net_ring0",
                             .send_buffer = 1u << 25,
                             .init_eal = false},
                            err),
              nullptr);
    EXPECT_NE(err.find("buffer"), std::string::npos) << err;
    EXPECT_EQ(Stack::create({.file = "/nonexistent/sluice.toml", .init_eal = false}, err), nullptr);
    EXPECT_NE(err.find("/nonexistent/sluice.toml"), std::string::npos) << err;
}

// Issue 21 f: a Config from code is complete without a file, names its own fields in
// errors, never lets the EAL probe the host's NIC, and agrees with sluice-stat on the
// runtime directory (telemetry socket).
TEST(ApiConfig, FromCodeNamesConfigFieldsAndSetsTheEalUp) {
    std::string err;
    EXPECT_FALSE(detail::prepare({.address = "198.18.0.2/24"}, err));
    EXPECT_NE(err.find("device"), std::string::npos) << err;
    EXPECT_FALSE(detail::prepare({.address = "198.18.0.300/24", .device = "net_ring0"}, err));
    EXPECT_NE(err.find("Config::address"), std::string::npos) << err;
    EXPECT_EQ(err.find("ip.address"), std::string::npos) << err;
    EXPECT_FALSE(detail::prepare(
        {.address = "198.18.0.2/24", .gateway = "10.0.0.1", .device = "net_ring0"}, err));
    EXPECT_NE(err.find("Config::gateway"), std::string::npos) << err;

    const auto p = detail::prepare({.address = "198.18.0.2/24",
                                    .device = "net_af_packet0",
                                    .iface = "veth0",
                                    .memory_mb = 256,
                                    .mbufs_per_queue = 2047},
                                   err);
    ASSERT_TRUE(p) << err;
    const auto has = [&](std::string_view a) {
        return std::find(p->eal.begin(), p->eal.end(), a) != p->eal.end();
    };
    EXPECT_TRUE(has("--no-huge")) << "hugepages default false, as config/listen.toml";
    EXPECT_TRUE(has("--no-pci"));
    EXPECT_TRUE(has("--file-prefix=sluice")) << "sluice-stat's default --prefix";
    EXPECT_TRUE(has("256"));
    EXPECT_EQ(p->cfg.port.mbufs_per_queue, 2047u);
    const auto q = detail::prepare({.address = "198.18.0.2/24",
                                    .device = "net_ring0",
                                    .hugepages = true,
                                    .file_prefix = "mine"},
                                   err);
    ASSERT_TRUE(q) << err;
    EXPECT_EQ(std::count(q->eal.begin(), q->eal.end(), "--no-huge"), 0);
    EXPECT_EQ(std::count(q->eal.begin(), q->eal.end(), "--file-prefix=mine"), 1);
}

}  // namespace
}  // namespace sluice
