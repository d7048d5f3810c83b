// Issue 18, host level: the corner cases of listening, TIME-WAIT and closing that the TCP
// host (not the Connection) decides, each on a virtual clock so that timers are exact.

#include "host_fixture.hpp"

namespace sluice::engine {
namespace {

using namespace std::chrono_literals;

class Corner : public HostOnRing {
protected:
    void SetUp() override {}  // each test starts its own host (begin)

    // Echo with cookies always on :7, echo in auto mode on :8 (cookies above 4 SYN/s, calm
    // again after 1 s), echo without cookies on :9, HTTP on :80 (auto).
    static TcpHostConfig host() {
        TcpHostConfig c;
        c.max_connections = 64;
        c.max_time_wait = 64;
        c.listeners = {
            ListenerConfig{.port = 7,
                           .service = Service::Echo,
                           .syn = {.mode = tcp::SynCookieMode::Always}},
            ListenerConfig{
                .port = 8,
                .service = Service::Echo,
                .syn = {.mode = tcp::SynCookieMode::Auto, .rate_limit = 4, .calm_time = 1s}},
            ListenerConfig{
                .port = 9, .service = Service::Echo, .syn = {.mode = tcp::SynCookieMode::Off}},
            ListenerConfig{.port = 80, .service = Service::Http},
        };
        return c;
    }
    void begin(const TcpHostConfig& c) {
        use_virtual_clock();
        start(c);
    }
    TcpHost& h() { return *worker_->tcp(); }

    // SYNs to the auto listener :8 from ports not used otherwise, past its rate limit.
    void flood(uint16_t first_port, int n) {
        for (int i = 0; i < n; ++i) inject(uint16_t(first_port + i), 8, 1, 0, F::Syn);
        poll();
    }

    // An HTTP request with "Connection: close": sluice answers, closes first, and the
    // peer's FIN (with the ACK of ours) puts the 4-tuple in TIME-WAIT. Returns RCV.NXT.
    uint32_t http_to_time_wait(uint16_t sport, uint32_t peer_iss) {
        constexpr std::string_view kClose = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        const uint32_t iss = handshake(sport, 80, peer_iss);
        inject(sport, 80, peer_iss + 1, iss + 1, F::Ack | F::Psh, kClose);
        uint32_t our_fin = 0;
        for (const auto& s : poll()) our_fin = s.tcp.seq.raw() + s.tcp.payload_len;
        const uint32_t fin = peer_iss + 1 + uint32_t(kClose.size());
        inject(sport, 80, fin, our_fin + 1, F::Ack | F::Fin);
        poll();
        return fin + 1;
    }

    // An application connection we half-closed (shutdown_send); the peer ACKs our FIN and
    // sends 10 KB and its FIN, which the application has not read: TIME-WAIT with text.
    ConnId half_closed_with_unread_text(std::string& sent) {
        auto id = h().connect(kPeer, 9000, {}, now());
        EXPECT_TRUE(id);
        if (!id) return {};
        poll();  // the ARP request; the SYN waits for the peer's MAC, which the SYN-ACK brings
        const auto st = h().status(*id);
        const uint16_t port = st->tuple.local.port;
        const uint32_t iss = st->snd_una.raw();
        wire::TcpOptions mss{};
        mss.has_mss = true;
        mss.mss = 1460;
        inject(9000, port, 7000, iss + 1, F::Syn | F::Ack, {}, mss);
        poll();
        EXPECT_EQ(h().status(*id)->state, tcp::State::Established);
        EXPECT_EQ(h().shutdown_send(*id, now()), tcp::Error::None);
        poll();  // our FIN
        for (int i = 0; i < 10; ++i) {
            const std::string piece(1024, char('a' + i));
            inject(9000, port, 7001 + uint32_t(sent.size()), iss + 2, F::Ack, piece);
            sent += piece;
        }
        inject(9000, port, 7001 + uint32_t(sent.size()), iss + 2, F::Ack | F::Fin);
        poll();
        return *id;
    }
    std::string sent_;

    static size_t count(const std::vector<Sent>& out, uint8_t flags) {
        return size_t(std::count_if(out.begin(), out.end(),
                                    [&](const Sent& s) { return s.tcp.flags == flags; }));
    }
};

// --- item 6: RST to a failed cookie, rate limited ---------------------------------------------

// RFC 9293 3.10.7.2: in LISTEN "any acknowledgment is bad ... <SEQ=SEG.ACK><CTL=RST>". An ACK
// whose cookie fails is one; Linux (cookie_v4_check fails, tcp_v4_send_reset) and FreeBSD
// (syncache_expand fails) answer it with RST too.
TEST_F(Corner, Rfc9293_3_10_7_2_FailedCookieAckInListenGetsRst) {
    begin(host());
    inject(42001, 7, 7000, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    const uint32_t bad = out[0].tcp.seq.raw() + 12345;
    inject(42001, 7, 7001, bad, F::Ack);
    out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Rst);
    EXPECT_EQ(out[0].tcp.seq.raw(), bad);
    EXPECT_EQ(counter(Counter::SyncookiesFailed), 1u);
    EXPECT_EQ(h().connections_in_use(), 0u);
}

// RFC 5961 7 limits challenge ACKs so that a blind attacker cannot use us as a reflector; a
// flood of forged cookie ACKs must not turn sluice into a RST cannon either: the same budget
// per second per worker, drawn in [limit/2, 3 limit/2), the skipped RSTs counted.
TEST_F(Corner, BadCookieRstsAreLimitedPerWorkerAndTheSkippedOnesCounted) {
    TcpHostConfig c = host();
    c.bad_cookie_rst_limit = 10;
    begin(c);
    for (uint16_t i = 0; i < 100; ++i) inject(uint16_t(20000 + i), 7, 5000, 777u + i, F::Ack);
    const size_t rsts = count(poll(), F::Rst);
    EXPECT_GE(rsts, 5u);
    EXPECT_LT(rsts, 15u);
    EXPECT_EQ(counter(Counter::SyncookiesFailed), 100u);
    EXPECT_EQ(counter(Counter::TCPRstSkippedBadCookie), 100u - rsts);
    // A second later there is a new budget.
    advance(1s);
    inject(21000, 7, 5000, 777, F::Ack);
    EXPECT_EQ(count(poll(), F::Rst), 1u);
}

// --- item 7: quiet time on every path that picks an ISS ---------------------------------------

// RFC 9293 3.4.3: after a start, "wait a quiet time of MSL before assigning any sequence
// numbers". The SYN cache and the cookie pick an ISS too. (Linux has no quiet time.)
TEST_F(Corner, Rfc9293_3_4_3_QuietTimeHoldsOnTheSynCacheCookieAndBacklogPaths) {
    TcpHostConfig c = host();
    c.tcp.quiet_time = 60s;
    begin(c);
    inject(43000, 8, 100, 0, F::Syn);  // auto: the SYN cache
    inject(43001, 7, 100, 0, F::Syn);  // always: a cookie
    inject(43002, 9, 100, 0, F::Syn);  // off: a SYN-RECEIVED connection
    EXPECT_TRUE(poll().empty());
    EXPECT_EQ(counter(Counter::TcpQuietTimeSynDrops), 3u);
    EXPECT_EQ(h().syn_cache_entries(), 0u);
    EXPECT_EQ(h().connections_in_use(), 0u);
    advance(60s);
    inject(43000, 8, 100, 0, F::Syn);  // the clients' retransmissions
    inject(43001, 7, 100, 0, F::Syn);
    inject(43002, 9, 100, 0, F::Syn);
    EXPECT_EQ(count(poll(), F::Syn | F::Ack), 3u);
}

// --- item 5: a SYN-cache entry answers its own retransmitted SYN, even under a flood -----------

// RFC 4987 3.3: the cache holds the half-open connection; FreeBSD syncache_add looks the
// tuple up before anything else and answers a retransmitted SYN from the entry (Linux from
// its request socket). A cookie instead would make the client's ACK look bad to the entry.
TEST_F(Corner, RetransmittedSynDuringAFloodIsAnsweredFromItsSynCacheEntry) {
    begin(host());
    inject(44000, 8, 1000, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    const uint32_t iss = out[0].tcp.seq.raw();  // this SYN-ACK is lost
    flood(45000, 10);
    ASSERT_GT(counter(Counter::SyncookiesSent), 0u) << "the listener answers with cookies now";
    const uint64_t cookies = counter(Counter::SyncookiesSent);
    inject(44000, 8, 1000, 0, F::Syn);  // the client retransmits its SYN
    out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.seq.raw(), iss) << "answered from the entry";
    EXPECT_EQ(counter(Counter::SyncookiesSent), cookies);
    inject(44000, 8, 1001, out[0].tcp.seq.raw() + 1, F::Ack);
    out = poll();
    EXPECT_EQ(count(out, F::Rst), 0u);
    EXPECT_EQ(in_state(tcp::State::Established), 1u);
}

// The other order: the SYN got a cookie during the flood, its retransmission (once calm) an
// entry; the client's ACK of the cookie, late, carries a valid cookie and must complete.
TEST_F(Corner, ValidCookieAckCompletesEvenWhenTheTupleHasASynCacheEntry) {
    begin(host());
    flood(45000, 10);
    const uint64_t cookies = counter(Counter::SyncookiesSent);
    inject(44100, 8, 2000, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(counter(Counter::SyncookiesSent), cookies + 1);
    const uint32_t cookie = out[0].tcp.seq.raw();
    advance(2s);  // calm again
    inject(44100, 8, 2000, 0, F::Syn);
    out = poll();
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(counter(Counter::SyncookiesSent), cookies + 1) << "this one from the cache";
    ASSERT_NE(out[0].tcp.seq.raw(), cookie);
    inject(44100, 8, 2001, cookie + 1, F::Ack);
    out = poll();
    EXPECT_EQ(count(out, F::Rst), 0u);
    EXPECT_EQ(in_state(tcp::State::Established), 1u);
    EXPECT_EQ(counter(Counter::SyncookiesRecv), 1u);
}

// --- item 8: TIME-WAIT reopen ----------------------------------------------------------------

// RFC 1122 4.2.2.13: a SYN above the old sequence space may reopen a 4-tuple in TIME-WAIT.
// With the compact pool full, the oldest entry is recycled early (TCPTimeWaitOverflow; Linux
// skips TIME-WAIT for the new connection instead) rather than keeping a TCB that lost the
// reopen.
TEST_F(Corner, FullTimeWaitPoolRecyclesTheOldestEntryAndTheNewSynReopens) {
    TcpHostConfig c = host();
    c.max_time_wait = 1;
    begin(c);
    const uint32_t a = http_to_time_wait(46000, 9000);
    const uint32_t b = http_to_time_wait(46001, 9000);
    EXPECT_EQ(counter(Counter::TCPTimeWaitOverflow), 1u);
    EXPECT_EQ(h().time_wait_entries(), 1u);
    EXPECT_EQ(h().connections_in_use(), 0u) << "no TCB kept in TIME-WAIT";
    EXPECT_EQ(in_state(tcp::State::TimeWait), 1u);
    inject(46001, 80, b + 100000, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Syn | F::Ack);
    EXPECT_EQ(counter(Counter::TimeWaitReopens), 1u);
    // The recycled 4-tuple is free: any SYN opens it.
    inject(46000, 80, a - 5000, 0, F::Syn);
    out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Syn | F::Ack);
}

// RFC 1337 F1 ignores RSTs in TIME-WAIT. A client without timestamps that reuses its port
// with an ISN below RCV.NXT gets a challenge ACK (RFC 9293 3.10.7.4 fourth step, RFC 5961 4),
// answers it with <SEQ=SEG.ACK><CTL=RST> (RFC 9293 3.10.7.3) and retries its SYN: that RST,
// exactly at RCV.NXT after our challenge ACK to a SYN, ends TIME-WAIT, or the client stalls
// for 2 MSL. (Linux with tcp_rfc1337 = 0 accepts any RST at RCV.NXT in TIME-WAIT.)
TEST_F(Corner, RstAnsweringTheChallengeAckToASynEndsTimeWaitDespiteRfc1337) {
    begin(host());
    const uint32_t rcv_nxt = http_to_time_wait(47000, 9000);
    inject(47000, 80, 5000, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Ack);
    EXPECT_EQ(out[0].tcp.ack.raw(), rcv_nxt);
    inject(47000, 80, rcv_nxt, 0, F::Rst);
    EXPECT_TRUE(poll().empty());
    EXPECT_EQ(h().time_wait_entries(), 0u);
    advance(1s);
    inject(47000, 80, 5000, 0, F::Syn);  // the client's retry
    out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, F::Syn | F::Ack);
}

// --- item 10: RTO and initial window after a retransmitted SYN-ACK ----------------------------

struct Accepted {
    ConnId id;
    int connected = 0;
};

void on_accept(TcpHost&, ConnId id, const tcp::Event& e, void* ctx) {
    auto& a = *static_cast<Accepted*>(ctx);
    if (e.kind == tcp::EventKind::Connected) {
        a.id = id;
        ++a.connected;
    }
}

// RFC 6298 (5.7): after the SYN or SYN-ACK was retransmitted, RTO = 3 s once ESTABLISHED;
// RFC 5681 3.1: initial window one segment. A SYN-cache connection must know as a TCB would.
// (Linux: TCP_TIMEOUT_FALLBACK and cwnd 1 after a retransmitted handshake.)
TEST_F(Corner, Rfc6298_5_7_SynCacheHandshakeWithRetransmittedSynAckStartsWithRto3sAndIw1) {
    begin(host());
    Accepted acc;
    ASSERT_TRUE(h().listen(9100, {.on_event = on_accept, .ctx = &acc}, {}, now()));
    inject(48000, 9100, 300, 0, F::Syn);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    out = advance(1s);  // our SYN-ACK was lost: the entry retransmits it
    ASSERT_EQ(count(out, F::Syn | F::Ack), 1u);
    inject(48000, 9100, 301, out[0].tcp.seq.raw() + 1, F::Ack);
    poll();
    ASSERT_EQ(acc.connected, 1);
    const auto st = h().status(acc.id);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->rto, 3s);
    EXPECT_EQ(st->cwnd, uint32_t(st->send_mss));
}

TEST_F(Corner, SynCacheHandshakeWithoutLossStartsWithRto1sAndIw10) {
    begin(host());
    Accepted acc;
    ASSERT_TRUE(h().listen(9100, {.on_event = on_accept, .ctx = &acc}, {}, now()));
    handshake(48001, 9100, 300);
    ASSERT_EQ(acc.connected, 1);
    const auto st = h().status(acc.id);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->rto, 1s);
    EXPECT_EQ(st->cwnd, 10u * st->send_mss);
}

// --- item 1: unread data on the way to TIME-WAIT ----------------------------------------------

// RFC 9293 3.10.7.4 eighth step: the FIN "implies PUSH for any segment text not yet delivered
// to the user": the text must reach the application, which reads it when it likes (Linux
// keeps the receive queue with the socket until close). Half-closed by us, the peer sends
// 10 KB and FIN; the application reads 1 KB per loop turn: all of it, then end of stream,
// then the 4-tuple is a compact TIME-WAIT entry.
TEST_F(Corner, UnreadDataSurvivesTheWayToTimeWaitAndIsReadToTheEnd) {
    begin(host());
    const ConnId id = half_closed_with_unread_text(sent_);
    std::string got;
    tcp::Error end = tcp::Error::None;
    for (int turn = 0; turn < 100 && end == tcp::Error::None; ++turn) {
        std::array<uint8_t, 1024> buf;
        const tcp::IoResult r = h().receive(id, buf, now());
        got.append(reinterpret_cast<const char*>(buf.data()), r.bytes);
        if (r.bytes == 0) end = r.error;
        advance(1ms);
    }
    EXPECT_EQ(got.size(), sent_.size());
    EXPECT_TRUE(got == sent_) << "the bytes, in order";
    EXPECT_EQ(end, tcp::Error::EndOfStream);
    poll();
    EXPECT_EQ(h().time_wait_entries(), 1u);
    EXPECT_EQ(h().connections_in_use(), 0u);
}

// Closing instead of reading: the text goes, without the RFC 2525 2.17 RST (the peer has
// closed too; Linux's socket is already CLOSE then), and the 4-tuple is a compact entry.
TEST_F(Corner, CloseOfAConnectionHeldInTimeWaitDiscardsTheTextWithoutRst) {
    begin(host());
    const ConnId id = half_closed_with_unread_text(sent_);
    advance(1s);
    ASSERT_EQ(h().status(id)->state, tcp::State::TimeWait) << "held for its text";
    EXPECT_EQ(h().close(id, now()), tcp::Error::None);
    EXPECT_TRUE(poll().empty());
    EXPECT_FALSE(h().status(id)) << "the handle is gone";
    EXPECT_EQ(h().time_wait_entries(), 1u);
    EXPECT_EQ(h().connections_in_use(), 0u);
    EXPECT_EQ(h().data_mbufs_in_use(), 0u);
    EXPECT_EQ(h().rx_mbufs_pinned(), 0u);
}

}  // namespace
}  // namespace sluice::engine
