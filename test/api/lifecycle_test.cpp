// A connection's life as an embedder sees it (issue 21 a-e): per-connection state freed in
// on_close, exactly one on_close for every connection (shutdown included), nothing but
// on_close after the application's own close(), handler sets that are not a scarce resource,
// and Stack calls from the wrong thread refused at the call.

#include "api_fixture.hpp"

#include <thread>

namespace sluice {
namespace {

using namespace test;
namespace F = wire::tcp_flags;

class Lifecycle : public Api {};

// Application state per connection, as an embedder keeps it: allocated in on_accept or
// after connect(), freed in on_close through user().
struct Owned {
    int live = 0;
    int freed = 0;
    int closes = 0;
    int status_ok = 0;
};

Handlers owning_handlers(Owned& owned) {
    Handlers h;
    h.ctx = &owned;
    h.on_accept = [](Conn c, void* ctx) {
        ++static_cast<Owned*>(ctx)->live;
        EXPECT_EQ(c.set_user(new std::string("state")), Errc::Ok);
    };
    h.on_close = [](Conn c, void* ctx) {
        auto& o = *static_cast<Owned*>(ctx);
        ++o.closes;
        ConnStatus st;
        if (c.status(st) == Errc::Ok) ++o.status_ok;
        if (auto* p = static_cast<std::string*>(c.user())) {
            EXPECT_EQ(*p, "state");
            delete p;
            ++o.freed;
            EXPECT_EQ(c.set_user(nullptr), Errc::Ok);
        }
        // Still nothing that changes the connection.
        EXPECT_EQ(c.send(std::string_view("x")).error, Errc::NoConnection);
        EXPECT_EQ(c.close(), Errc::NoConnection);
    };
    return h;
}

TEST_F(Lifecycle, UserStateAndStatusAreReadableInOnClose) {
    Owned o;
    ASSERT_EQ(stack_->listen(6000, owning_handlers(o)), Errc::Ok);
    const uint32_t iss = handshake(41000, 6000, 1000);
    inject(41000, 6000, 1001, iss + 1, F::Rst);
    poll();
    EXPECT_EQ(o.live, 1);
    EXPECT_EQ(o.closes, 1);
    EXPECT_EQ(o.freed, 1) << "user() worked inside on_close";
    EXPECT_EQ(o.status_ok, 1) << "status() worked inside on_close";
}

TEST_F(Lifecycle, EveryOpenConnectionGetsOnCloseAtShutdown) {
    Owned o;
    ASSERT_EQ(stack_->listen(6001, owning_handlers(o)), Errc::Ok);
    handshake(41001, 6001, 1000);
    handshake(41002, 6001, 2000);
    Log active;
    Conn c;
    ASSERT_EQ(w0().connect(Ipv4{0xC6120001}, 9000, recording_handlers(active), {}, &c), Errc::Ok);
    ASSERT_EQ(poll().size(), 1u);  // the SYN
    ASSERT_EQ(rte_ring_count(tx_), 0u);
    stack_.reset();
    EXPECT_EQ(o.closes, 2);
    EXPECT_EQ(o.freed, 2);
    EXPECT_EQ(active.joined(), "close") << "shutdown aborts: on_close, no on_error";
    // The peers hear of it: a RST for each established connection, none for SYN-SENT
    // (RFC 9293 3.10.5 ABORT). The port's pools are gone with the stack, so the frames are
    // only counted, not read.
    EXPECT_EQ(rte_ring_count(tx_), 2u);
    EXPECT_EQ(rte_ring_count(rx_), 0u);
    tx_ = nullptr;  // its mbufs belonged to the freed pools
}

TEST_F(Lifecycle, NothingButOnCloseAfterTheApplicationsClose) {
    Log log;
    ASSERT_EQ(stack_->listen(6002, recording_handlers(log)), Errc::Ok);
    const uint32_t iss = handshake(41003, 6002, 1000);
    Conn c = log.last;
    ASSERT_EQ(c.close(), Errc::Ok);
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].tcp.flags & F::Fin);
    std::byte buf[16];
    EXPECT_EQ(c.receive(buf).error, Errc::Closing) << "documented: receive() after close()";
    // The peer ACKs our FIN and closes: no on_peer_closed, only on_close.
    inject(41003, 6002, 1001, iss + 2, F::Ack | F::Fin);
    poll();
    EXPECT_EQ(log.joined(), "accept,close");
}

// Data that arrives after the application's close() has no reader: RFC 1122 4.2.2.13 says
// reset (Linux does too), and the application hears only on_close.
TEST_F(Lifecycle, DataAfterTheApplicationsCloseIsResetAndOnlyOnCloseFollows) {
    Log log;
    ASSERT_EQ(stack_->listen(6003, recording_handlers(log)), Errc::Ok);
    const uint32_t iss = handshake(41004, 6003, 1000);
    Conn c = log.last;
    ASSERT_EQ(c.close(), Errc::Ok);
    ASSERT_EQ(poll().size(), 1u);  // our FIN
    inject(41004, 6003, 1001, iss + 1, F::Ack | F::Psh, "late");
    auto out = poll();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].tcp.flags & F::Rst);
    EXPECT_EQ(log.joined(), "accept,close");
}

TEST_F(Lifecycle, HandlerSetsPerConnectionAreReleasedWithTheConnection) {
    // A per-call ctx makes every Handlers distinct; the pool holds 4 connections, so only
    // a release of the sets makes room for 100.
    std::vector<Log> logs(100);
    for (size_t i = 0; i < logs.size(); ++i) {
        Conn c;
        ASSERT_EQ(w0().connect(Ipv4{0xC6120001}, 9000, recording_handlers(logs[i]), {}, &c),
                  Errc::Ok)
            << "connect " << i;
        ASSERT_EQ(c.abort(), Errc::Ok);
        EXPECT_EQ(logs[i].joined(), "close");
    }
    poll();
}

TEST_F(Lifecycle, StackCallsFromAForeignThreadFailAtTheCall) {
    Log log;
    std::atomic<bool> stop{true};
    Errc listen = Errc::Ok, hooks = Errc::Ok, run = Errc::Ok;
    std::thread t([&] {
        listen = stack_->listen(6003, recording_handlers(log));
        hooks = stack_->set_hooks({});
        run = stack_->run(stop);
    });
    t.join();
    EXPECT_EQ(listen, Errc::WrongLcore);
    EXPECT_EQ(hooks, Errc::WrongLcore);
    EXPECT_EQ(run, Errc::WrongLcore);
    // Nothing changed: the stack is not running and the port is free.
    EXPECT_EQ(stack_->listen(6003, recording_handlers(log)), Errc::Ok);
    inject(41004, 6003, 1000, 0, F::Syn);
    ASSERT_EQ(poll().size(), 1u);
}

// Issue 21 h: the first active open to a neighbour whose MAC is not known yet. Its SYN waits
// for the ARP answer and leaves with it (RFC 1122 2.3.2.2: SHOULD save at least one packet),
// instead of being dropped and sent again only when the 1 s RTO fires.
TEST_F(Lifecycle, FirstSynToAnUnresolvedNeighbourLeavesWhenArpAnswers) {
    const wire::IpAddr other = wire::IpAddr::v4(0xC6120063);  // 198.18.0.99: never heard from
    const wire::MacAddr other_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x63}};
    Log& log = keep_log();
    Conn c;
    ASSERT_EQ(w0().connect(Ipv4{0xC6120063}, 80, recording_handlers(log), {}, &c), Errc::Ok);
    EXPECT_TRUE(poll().empty()) << "no SYN without the MAC (an ARP request went out)";
    EXPECT_EQ(stack_->counter(Counter::ArpOutRequests), 1u);
    // The answer, a moment later (well inside the RTO).
    now_ = now_ + std::chrono::milliseconds(5);
    uint8_t buf[64];
    const size_t len = wire::build_arp(buf, 2, us_mac_, other_mac, other, us_mac_, kUs);
    inject_frame({buf, len});
    const auto out = poll();
    ASSERT_EQ(out.size(), 1u) << "the held SYN leaves as soon as ARP answers";
    EXPECT_EQ(out[0].tcp.flags, F::Syn);
    EXPECT_EQ(out[0].tcp.dst_port, 80);
    EXPECT_EQ(stack_->counter(Counter::NeighUnresolved), 0u) << "nothing was dropped";
    ConnStatus st;
    ASSERT_EQ(c.status(st), Errc::Ok);
    EXPECT_EQ(st.retransmits, 0u);
}

// A neighbour that never answers: a bounded number of frames wait (the oldest go first,
// counted as NeighUnresolved), the SYNs are retransmitted into the queue as before.
TEST_F(Lifecycle, FramesForASilentNeighbourAreBoundedAndCounted) {
    Log& log = keep_log();
    std::vector<Conn> conns(4);
    for (auto& c : conns)
        ASSERT_EQ(w0().connect(Ipv4{0xC6120064}, 80, recording_handlers(log), {}, &c), Errc::Ok);
    EXPECT_TRUE(poll().empty());
    EXPECT_EQ(stack_->counter(Counter::NeighUnresolved), 0u) << "four SYNs wait";
    // Retransmissions at 1 s and 3 s: 12 SYNs for one neighbour, more than it holds.
    EXPECT_TRUE(advance(std::chrono::milliseconds(3500)).empty());
    const uint64_t dropped = stack_->counter(Counter::NeighUnresolved);
    EXPECT_EQ(dropped, 12u - engine::NeighborTable::kHeldFrames);
    EXPECT_GE(stack_->counter(Counter::ArpOutRequests), 3u) << "asked again every second";
}

}  // namespace
}  // namespace sluice
