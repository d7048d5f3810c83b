// Two connections back to back: RFC 9293's figures replayed, simultaneous open and close
// seen from both ends, data both ways, loss and flow control.

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

std::span<const uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class BackToBack : public ::testing::Test {
protected:
    // a is 198.18.0.1:49152 (ISS 100), b is 198.18.0.2:80 (ISS 300), as in RFC 9293.
    void a_active() {
        call(p.a,
             [&](Effects& fx) { return p.a.conn.open_active(kTuple, SeqNum(100), p.a.now, fx); });
    }
    void b_active() {
        call(p.b, [&](Effects& fx) {
            return p.b.conn.open_active(kPeerTuple, SeqNum(300), p.b.now, fx);
        });
    }
    void b_listen() {
        ASSERT_EQ(p.b.conn.open_passive(FourTuple{kRemote, Endpoint{}}, SeqNum(300)), Error::None);
    }
    template <class F>
    void call(Host& host, F f) {
        p.sync_clocks();
        Effects fx;
        auto r = f(fx);
        if constexpr (std::is_same_v<decltype(r), Error>) {
            EXPECT_EQ(r, Error::None);
        }
        host.absorb(fx);
    }
    void close(Host& host) {
        call(host, [&](Effects& fx) { return host.conn.close(host.now, fx); });
    }
    void send(Host& host, std::string_view s) {
        call(host, [&](Effects& fx) { return host.conn.send(bytes(s), host.now, fx); });
    }
    std::string receive(Host& host) {
        std::string out;
        std::vector<uint8_t> buf(65536);
        call(host, [&](Effects& fx) {
            IoResult r = host.conn.receive(buf, host.now, fx);
            out.assign(buf.begin(), buf.begin() + std::ptrdiff_t(r.bytes));
            return r;
        });
        return out;
    }
    void connect() {
        b_listen();
        a_active();
        p.pump();
        ASSERT_EQ(p.a.conn.state(), State::Established);
        ASSERT_EQ(p.b.conn.state(), State::Established);
        p.trace.clear();
    }
    // The trace line i: who sent it and what.
    void expect_line(std::size_t i, char from, const Out& o) {
        ASSERT_LT(i, p.trace.size());
        const auto& [who, s] = p.trace[i];
        EXPECT_EQ(who, from) << "line " << i;
        EXPECT_EQ(s.seg.flags, o.flags) << "line " << i << ": " << describe(s.seg, s.payload);
        if (o.seq) {
            EXPECT_EQ(s.seg.seq.raw(), *o.seq) << "line " << i;
        }
        if (o.ack) {
            EXPECT_EQ(s.seg.ack.raw(), *o.ack) << "line " << i;
        }
        EXPECT_EQ(s.payload, o.payload) << "line " << i;
    }
    uint32_t transitions(Host& host, State from, State to) {
        return host.stats.transition_count(from, to);
    }

    Pair p;
};

// RFC 9293 Figure 6: basic three-way handshake for connection synchronization.
TEST_F(BackToBack, Rfc9293_Figure6_ThreeWayHandshake) {
    b_listen();
    a_active();
    EXPECT_EQ(p.a.conn.state(), State::SynSent);
    p.pump();
    send(p.a, "data");
    p.pump();
    expect_line(0, 'a', {.seq = 100, .flags = Flags::Syn});
    expect_line(1, 'b', {.seq = 300, .ack = 101, .flags = Flags::Syn | Flags::Ack});
    expect_line(2, 'a', {.seq = 101, .ack = 301, .flags = Flags::Ack});
    expect_line(3, 'a',
                {.seq = 101, .ack = 301, .flags = Flags::Ack | Flags::Psh, .payload = "data"});
    EXPECT_EQ(p.a.conn.state(), State::Established);
    EXPECT_EQ(p.b.conn.state(), State::Established);
    EXPECT_EQ(transitions(p.b, State::Listen, State::SynReceived), 1u);
    EXPECT_EQ(transitions(p.b, State::SynReceived, State::Established), 1u);
    EXPECT_EQ(receive(p.b), "data");
}

// RFC 9293 Figure 8: simultaneous connection synchronization, on both ends.
TEST_F(BackToBack, Rfc9293_Figure8_SimultaneousOpenBothEnds) {
    a_active();
    b_active();
    p.pump();
    expect_line(0, 'a', {.seq = 100, .flags = Flags::Syn});
    expect_line(1, 'b', {.seq = 300, .flags = Flags::Syn});
    expect_line(2, 'a', {.seq = 100, .ack = 301, .flags = Flags::Syn | Flags::Ack});
    expect_line(3, 'b', {.seq = 300, .ack = 101, .flags = Flags::Syn | Flags::Ack});
    EXPECT_EQ(p.trace.size(), 4u);
    for (Host* host : {&p.a, &p.b}) {
        EXPECT_EQ(host->conn.state(), State::Established);
        EXPECT_EQ(transitions(*host, State::SynSent, State::SynReceived), 1u);
        EXPECT_EQ(transitions(*host, State::SynReceived, State::Established), 1u);
    }
    // And the connection works both ways.
    send(p.a, "ping");
    send(p.b, "pong");
    p.pump();
    EXPECT_EQ(receive(p.b), "ping");
    EXPECT_EQ(receive(p.a), "pong");
}

// RFC 9293 Figure 9: recovery from an old duplicate SYN.
TEST_F(BackToBack, Rfc9293_Figure9_OldDuplicateSyn) {
    b_listen();
    a_active();
    std::deque<Sent> a_syn;
    a_syn.swap(p.a.sent);  // line 2: our SYN is still on its way
    Segment old_syn;
    old_syn.src_port = kLocal.port;
    old_syn.dst_port = kRemote.port;
    old_syn.seq = SeqNum(90);
    old_syn.flags = Flags::Syn;
    old_syn.window = 8192;
    p.b.inject(old_syn);  // line 3
    EXPECT_EQ(p.b.conn.state(), State::SynReceived);
    p.pump();  // lines 4-5: SYN-ACK 91, RST 91
    expect_line(0, 'b', {.seq = 300, .ack = 91, .flags = Flags::Syn | Flags::Ack});
    expect_line(1, 'a', {.seq = 91, .flags = Flags::Rst});
    EXPECT_EQ(p.b.conn.state(), State::Listen);
    EXPECT_EQ(p.a.conn.state(), State::SynSent);
    p.a.sent.swap(a_syn);  // line 6: the real SYN arrives
    p.pump();
    expect_line(2, 'a', {.seq = 100, .flags = Flags::Syn});
    expect_line(3, 'b', {.seq = 300, .ack = 101, .flags = Flags::Syn | Flags::Ack});
    expect_line(4, 'a', {.seq = 101, .ack = 301, .flags = Flags::Ack});
    EXPECT_EQ(p.a.conn.state(), State::Established);
    EXPECT_EQ(p.b.conn.state(), State::Established);
}

// RFC 9293 Figure 12: normal close sequence (our numbers are one higher: the SYNs count).
TEST_F(BackToBack, Rfc9293_Figure12_NormalClose) {
    connect();
    close(p.a);
    p.pump();
    expect_line(0, 'a', {.seq = 101, .ack = 301, .flags = Flags::Fin | Flags::Ack});
    expect_line(1, 'b', {.seq = 301, .ack = 102, .flags = Flags::Ack});
    EXPECT_EQ(p.a.conn.state(), State::FinWait2);
    EXPECT_EQ(p.b.conn.state(), State::CloseWait);
    close(p.b);
    p.pump();
    expect_line(2, 'b', {.seq = 301, .ack = 102, .flags = Flags::Fin | Flags::Ack});
    expect_line(3, 'a', {.seq = 102, .ack = 302, .flags = Flags::Ack});
    EXPECT_EQ(p.a.conn.state(), State::TimeWait);
    EXPECT_EQ(p.b.conn.state(), State::Closed);
    p.advance(2 * p.a.cfg.msl);
    EXPECT_EQ(p.a.conn.state(), State::Closed);
}

// RFC 9293 Figure 13: simultaneous close sequence, on both ends.
TEST_F(BackToBack, Rfc9293_Figure13_SimultaneousCloseBothEnds) {
    connect();
    close(p.a);
    close(p.b);
    p.pump();
    expect_line(0, 'a', {.seq = 101, .ack = 301, .flags = Flags::Fin | Flags::Ack});
    expect_line(1, 'b', {.seq = 301, .ack = 101, .flags = Flags::Fin | Flags::Ack});
    expect_line(2, 'a', {.seq = 102, .ack = 302, .flags = Flags::Ack});
    expect_line(3, 'b', {.seq = 302, .ack = 102, .flags = Flags::Ack});
    for (Host* host : {&p.a, &p.b}) {
        EXPECT_EQ(host->conn.state(), State::TimeWait);
        EXPECT_EQ(transitions(*host, State::FinWait1, State::Closing), 1u);
        EXPECT_EQ(transitions(*host, State::Closing, State::TimeWait), 1u);
    }
    p.advance(2 * p.a.cfg.msl);
    EXPECT_EQ(p.a.conn.state(), State::Closed);
    EXPECT_EQ(p.b.conn.state(), State::Closed);
}

TEST_F(BackToBack, DataBothWays) {
    connect();
    send(p.a, "request");
    p.pump();
    EXPECT_EQ(receive(p.b), "request");
    send(p.b, "response");
    p.pump();
    EXPECT_EQ(receive(p.a), "response");
    EXPECT_EQ(p.a.conn.status().snd_una, SeqNum(108));
    EXPECT_EQ(p.b.conn.status().snd_una, SeqNum(309));
}

TEST_F(BackToBack, LostSegment_RetransmittedAfterRto) {
    connect();
    int dropped = 0;
    p.lose = [&](char from, const Sent& s) {
        return from == 'a' && !s.payload.empty() && dropped++ == 0;
    };
    send(p.a, "lost once");
    p.pump();
    EXPECT_EQ(p.b.conn.status().recv_queued, 0u);
    p.advance(1s);
    EXPECT_EQ(receive(p.b), "lost once");
    EXPECT_FALSE(p.a.has_timer(TimerKind::Retransmit));
    EXPECT_EQ(p.a.stats.retrans_segs, 1u);
}

TEST_F(BackToBack, LostFinalAck_TimeWaitReAcks) {
    connect();
    close(p.a);
    p.pump();
    close(p.b);
    int dropped = 0;
    p.lose = [&](char from, const Sent& s) {
        return from == 'a' && s.seg.flags == Flags::Ack && dropped++ == 0;
    };
    p.pump();
    EXPECT_EQ(p.a.conn.state(), State::TimeWait);
    EXPECT_EQ(p.b.conn.state(), State::LastAck);
    p.advance(1s);  // b retransmits its FIN, a re-ACKs it from TIME-WAIT
    EXPECT_EQ(p.b.conn.state(), State::Closed);
    EXPECT_EQ(p.a.conn.state(), State::TimeWait);
}

TEST_F(BackToBack, BulkTransfer_FlowControlledByReceiver) {
    connect();
    std::string data;
    for (int i = 0; i < 20000; ++i) data.push_back(char('a' + i % 26));
    std::size_t queued = 0;
    std::string got;
    for (int round = 0; round < 100 && got.size() < data.size(); ++round) {
        if (queued < data.size()) {
            p.sync_clocks();
            Effects fx;
            IoResult r = p.a.conn.send(bytes(std::string_view(data).substr(queued)), p.a.now, fx);
            queued += r.bytes;
            p.a.absorb(fx);
        }
        p.pump();
        got += receive(p.b);
        p.pump();
    }
    EXPECT_EQ(got, data);
    EXPECT_EQ(p.a.conn.status().send_queued, 0u);
}

TEST_F(BackToBack, HalfCloseThenReply) {
    connect();
    send(p.a, "question");
    call(p.a, [&](Effects& fx) { return p.a.conn.shutdown_send(p.a.now, fx); });
    p.pump();
    EXPECT_EQ(p.b.conn.state(), State::CloseWait);
    EXPECT_EQ(receive(p.b), "question");
    send(p.b, "answer");
    close(p.b);
    p.pump();
    EXPECT_EQ(receive(p.a), "answer");
    EXPECT_EQ(p.a.conn.state(), State::TimeWait);
    EXPECT_EQ(p.b.conn.state(), State::Closed);
}

// RFC 9293 3.8.6.1 (MUST-36) and RFC 1122 4.2.2.17: a receiver that keeps answering with a
// zero window keeps the connection alive for as long as it answers. The sender holds its
// FIN back while the window is zero (the FIN takes a sequence number the window has no room
// for) and probes; answered probes do not count toward the retransmission limit. Before,
// the FIN went out into the zero window as a retransmittable segment, the answers ACKed
// nothing new, and after max_retries timeouts the connection ended in Timeout.
// (Linux holds the FIN in tcp_write_xmit's tcp_snd_wnd_test and probes with tcp_probe_timer
// the same way.)
TEST_F(BackToBack, Rfc1122_4_2_2_17_ZeroWindowHoldsFinWhileProbesAreAnswered) {
    connect();
    const uint32_t wnd = p.a.conn.status().snd_wnd;  // all of b's receive buffer
    ASSERT_GT(wnd, 0u);
    std::string data(wnd, 'd');
    send(p.a, data);  // b does not read: its window closes
    p.pump();
    ASSERT_EQ(p.a.conn.status().snd_wnd, 0u);
    ASSERT_EQ(p.a.conn.status().send_queued, 0u);  // all of it acknowledged
    close(p.a);                                    // the last data is out: now the FIN
    p.pump();
    for (int minute = 0; minute < 20; ++minute) {
        p.advance(60s);
        EXPECT_EQ(p.a.conn.state(), State::FinWait1) << "minute " << minute;
    }
    EXPECT_EQ(p.a.stats.timeouts, 0u);
    EXPECT_GT(p.b.stats.drop_count(DropReason::Unacceptable), 5u);  // the probes, answered
    EXPECT_EQ(p.b.conn.state(), State::Established);                // no FIN has reached b
    EXPECT_EQ(receive(p.b), data);  // the window opens: the FIN follows
    p.pump();
    EXPECT_EQ(p.b.conn.state(), State::CloseWait);
    EXPECT_EQ(p.a.conn.state(), State::FinWait2);
    close(p.b);
    p.pump();
    EXPECT_EQ(p.a.conn.state(), State::TimeWait);
    EXPECT_EQ(p.b.conn.state(), State::Closed);
}

// RFC 9293 3.8.6.2 silly window syndrome avoidance, both ends: a bulk sender against a reader
// that takes 100 bytes at a time. The receiver (MUST-39) moves its right edge only by at
// least min(RCV.BUFF / 2, MSS); the sender (MUST-38) sends less than a full segment only
// when that is all it has (with Nagle, nothing in flight: PSH) or half the peer's largest
// window.
// Before, every ACK advertised whatever the reader had freed and the sender filled it:
// segments of a few hundred bytes.
TEST(SillyWindow, Rfc9293_3_8_6_2_SlowReader_NoSegmentsBelowMss) {
    Config c = plain_config();
    c.nagle = true;
    Pair p(c, c);
    ASSERT_EQ(p.b.conn.open_passive(FourTuple{kRemote, Endpoint{}}, SeqNum(300)), Error::None);
    Effects fx;
    ASSERT_EQ(p.a.conn.open_active(kTuple, SeqNum(100), p.a.now, fx), Error::None);
    p.a.absorb(fx);
    p.pump();
    ASSERT_EQ(p.a.conn.state(), State::Established);
    p.trace.clear();
    const uint32_t mss = p.a.conn.status().send_mss;
    std::string data;
    for (int i = 0; i < 30000; ++i) data.push_back(char('a' + i % 26));
    std::size_t queued = 0;
    std::string got;
    std::vector<uint8_t> buf(100);
    for (int round = 0; round < 5000 && got.size() < data.size(); ++round) {
        p.sync_clocks();
        if (queued < data.size()) {
            const auto rest = std::string_view(data).substr(queued);
            queued +=
                p.a.conn
                    .send({reinterpret_cast<const uint8_t*>(rest.data()), rest.size()}, p.a.now, fx)
                    .bytes;
            p.a.absorb(fx);
        }
        p.pump();
        const IoResult r = p.b.conn.receive(buf, p.b.now, fx);
        got.append(buf.begin(), buf.begin() + std::ptrdiff_t(r.bytes));
        p.b.absorb(fx);
        p.pump();
        p.advance(10ms);
    }
    ASSERT_EQ(got, data);
    const SeqNum end = SeqNum(101) + uint32_t(data.size());
    int small = 0, data_segments = 0;
    int small_updates = 0;
    std::optional<SeqNum> edge;  // b's advertised right edge
    const uint32_t threshold = std::min<uint32_t>(kBuf / 2, mss);
    for (const auto& [who, s] : p.trace) {
        if (who == 'a' && !s.payload.empty()) {
            ++data_segments;
            // PSH marks a segment that took all the data queued (RFC 9293 3.8.6.2.1 (2),
            // and Nagle let it go): the sender had nothing more at that moment.
            if (s.payload.size() < mss && !s.seg.flags.has(Flags::Psh) &&
                s.seg.seq + uint32_t(s.payload.size()) != end) {
                ++small;
                ADD_FAILURE() << "small segment " << describe(s.seg, s.payload.substr(0, 0))
                              << " len " << s.payload.size();
            }
        }
        if (who == 'b' && s.seg.flags.has(Flags::Ack)) {
            const SeqNum e = s.seg.ack + uint32_t(s.seg.window);
            if (edge && e > *edge && uint32_t(e - *edge) < threshold) ++small_updates;
            if (!edge || e > *edge) edge = e;
        }
    }
    EXPECT_EQ(small, 0) << "of " << data_segments << " data segments";
    EXPECT_EQ(small_updates, 0);
}

// RFC 9293 Figure 11 (with RFC 5961): the active side discovers a half-open connection.
class HalfOpen : public TcpTest {};

TEST_F(HalfOpen, Rfc9293_Figure11_RebootedPeerResetsUs) {
    to_established_active();
    inject({.seq = 400, .flags = Flags::Syn});                   // line 3: the rebooted peer's SYN
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});  // line 4 (challenge ACK)
    inject({.seq = 301, .flags = Flags::Rst});                   // line 5: its RST from our ACK
    expect_state(State::Closed);                                 // line 6
    expect_closed(CloseReason::Reset);
}

}  // namespace
}  // namespace sluice::tcp::test
