#pragma once
// The fixture of the library's tests (api_test.cpp, lifecycle_test.cpp): a Stack on an
// in-memory port (net_ring) on a virtual clock; the test is the peer, injecting frames into
// the RX ring and reading what the stack sends from the TX ring.

#include <sluice/sluice.hpp>

#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "api/internal.hpp"
#include "wire/build.hpp"
#include "wire/ipv6.hpp"
#include "wire/parse.hpp"

namespace sluice::test {


using namespace std::chrono_literals;
namespace F = wire::tcp_flags;

inline const wire::IpAddr kUs = wire::IpAddr::v4(0xC6120002);    // 198.18.0.2
inline const wire::IpAddr kPeer = wire::IpAddr::v4(0xC6120001);  // 198.18.0.1
inline const wire::MacAddr kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
// The stack is dual-stack: IPv6 from the RFC 5180 benchmarking prefix.
inline const wire::IpAddr kUs6 = *wire::IpAddr::parse("2001:2::2");
inline const wire::IpAddr kPeer6 = *wire::IpAddr::parse("2001:2::1");
constexpr uint32_t kSlotBuffer = 16384;  // the configured per-connection size

struct Sent {
    wire::TcpSegmentView tcp;
    std::string payload;
};

// What the callbacks saw, in order: "accept", "data:<bytes>", "sent", "peer_closed",
// "error:<errc>", "close".
struct Log {
    std::vector<std::string> events;
    Conn last;
    bool close_on_peer_close = false;
    bool read_on_data = true;
    std::string joined() const {
        std::string s;
        for (const auto& e : events) s += (s.empty() ? "" : ",") + e;
        return s;
    }
};

inline Log* as_log(void* p) {
    return static_cast<Log*>(p);
}

inline Handlers recording_handlers(Log& log) {
    Handlers h;
    h.ctx = &log;
    h.on_accept = [](Conn c, void* ctx) {
        as_log(ctx)->events.push_back("accept");
        as_log(ctx)->last = c;
    };
    h.on_connected = [](Conn c, void* ctx) {
        as_log(ctx)->events.push_back("connected");
        as_log(ctx)->last = c;
    };
    h.on_data = [](Conn c, void* ctx) {
        if (!as_log(ctx)->read_on_data) {
            as_log(ctx)->events.push_back("data");
            return;
        }
        std::byte buf[256];
        const IoResult r = c.receive(buf);
        as_log(ctx)->events.push_back("data:" +
                                      std::string(reinterpret_cast<const char*>(buf), r.bytes));
    };
    h.on_sent = [](Conn, void* ctx) { as_log(ctx)->events.push_back("sent"); };
    h.on_peer_closed = [](Conn c, void* ctx) {
        as_log(ctx)->events.push_back("peer_closed");
        if (as_log(ctx)->close_on_peer_close) {
            EXPECT_EQ(c.close(), Errc::Ok);
        }
    };
    h.on_error = [](Conn, Errc why, void* ctx) {
        as_log(ctx)->events.push_back("error:" + std::string(to_string(why)));
    };
    h.on_close = [](Conn c, void* ctx) {
        as_log(ctx)->events.push_back("close");
        // Inside on_close the handle is already dead for calls.
        EXPECT_EQ(c.send(std::string_view("x")).error, Errc::NoConnection);
    };
    return h;
}

class Api : public ::testing::Test {
protected:
    void SetUp() override {
        static int n = 0;
        const std::string id = std::to_string(n++);
        rx_ = rte_ring_create(("arx" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        tx_ = rte_ring_create(("atx" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        ASSERT_TRUE(rx_ && tx_);
        ASSERT_GE(rte_eth_from_rings(("a" + id).c_str(), &rx_, 1, &tx_, 1, 0), 0);
        Config cfg{.address = "198.18.0.2/24",
                   .address6 = "2001:2::2/64",
                   .device = "net_ring_a" + id,
                   .max_connections = 4,
                   .send_buffer = kSlotBuffer,
                   .recv_buffer = kSlotBuffer,
                   .init_eal = false};
        std::string err;
        stack_ = Stack::create(cfg, err);
        ASSERT_TRUE(stack_) << err;
        auto& es = detail::engine_of(*stack_);
        std::memcpy(us_mac_.b.data(), es.port().mac, 6);
        pool_ = es.port().pools[0];
        now_ = es.worker(0).now();
        // The peer asks for our MAC: we learn its own from the request (RFC 826).
        inject_arp_request();
        poll();
    }

    void TearDown() override { stack_.reset(); }

    void inject_frame(std::span<const uint8_t> bytes) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool_);
        ASSERT_NE(m, nullptr);
        std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), bytes.data(), bytes.size());
        m->data_len = static_cast<uint16_t>(bytes.size());
        m->pkt_len = static_cast<uint32_t>(bytes.size());
        ASSERT_EQ(rte_ring_enqueue(rx_, m), 0);
    }

    void inject_arp_request() {
        uint8_t buf[64];
        const size_t len = wire::build_arp(buf, 1, wire::MacAddr::broadcast(), kPeerMac, kPeer,
                                           wire::MacAddr{}, kUs);
        ASSERT_GT(len, 0u);
        inject_frame({buf, len});
    }

    void inject(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                std::string_view payload = {}, uint16_t window = 65535) {
        uint8_t buf[2048];
        const wire::L3Header l3{.src_mac = kPeerMac, .dst_mac = us_mac_, .src = peer_, .dst = us_};
        const wire::TcpHeaderSpec spec{.src_port = sport,
                                       .dst_port = dport,
                                       .seq = wire::SeqNum(seq),
                                       .ack = wire::SeqNum(ack),
                                       .flags = flags,
                                       .window = window};
        const size_t len = wire::build_tcp(
            buf, l3, spec, {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()},
            wire::CsumMode::Software);
        ASSERT_GT(len, 0u);
        inject_frame({buf, len});
    }

    // Runs worker 0 at the virtual time until the RX ring is drained; returns the TCP
    // segments it sent.
    std::vector<Sent> poll() {
        while (rte_ring_count(rx_) > 0) detail::poll(*stack_, 0, now_);
        detail::poll(*stack_, 0, now_);
        return sent();
    }

    // The TCP segments waiting in the TX ring (what the stack sent), oldest first.
    std::vector<Sent> sent() {
        std::vector<Sent> out;
        void* obj = nullptr;
        while (rte_ring_dequeue(tx_, &obj) == 0) {
            auto* m = static_cast<rte_mbuf*>(obj);
            // Data segments leave as a header mbuf chained to the send buffer's (no copy).
            EXPECT_EQ(rte_pktmbuf_linearize(m), 0);
            const std::span<const uint8_t> f{rte_pktmbuf_mtod(m, uint8_t*), m->data_len};
            wire::Frame frame;
            Sent s;
            if (wire::parse_frame(f, {}, frame) == wire::Drop::None) last_dst_ = frame.dst;
            if (wire::parse_frame(f, {}, frame) == wire::Drop::None && frame.ip_proto == 6 &&
                wire::parse_tcp(f, frame, {}, s.tcp) == wire::Drop::None) {
                s.payload.assign(reinterpret_cast<const char*>(f.data()) + s.tcp.payload_off,
                                 s.tcp.payload_len);
                out.push_back(s);
            }
            rte_pktmbuf_free(m);
        }
        return out;
    }

    // Moves the virtual clock in 1 ms steps (the wheel's tick) up to now + d; returns what
    // was sent, each with the time it left.
    std::vector<std::pair<time::Duration, Sent>> advance(time::Duration d) {
        std::vector<std::pair<time::Duration, Sent>> out;
        const time::Instant start = now_, end = now_ + d;
        while (now_ < end) {
            now_ = now_ + std::chrono::milliseconds(1);
            for (auto& s : poll()) out.emplace_back(now_ - start, s);
        }
        return out;
    }

    // A handshake from the peer to `port`; returns our ISS.
    uint32_t handshake(uint16_t sport, uint16_t port, uint32_t peer_iss) {
        inject(sport, port, peer_iss, 0, F::Syn);
        auto out = poll();
        EXPECT_EQ(out.size(), 1u);
        if (out.size() != 1) return 0;
        EXPECT_EQ(out[0].tcp.flags, F::Syn | F::Ack);
        const uint32_t iss = out[0].tcp.seq.raw();
        inject(sport, port, peer_iss + 1, iss + 1, F::Ack);
        EXPECT_TRUE(poll().empty());
        return iss;
    }

    Worker& w0() { return stack_->worker(0); }
    // A Log that outlives the stack: connections still open get on_close when it goes.
    Log& keep_log() { return logs_.emplace_back(); }

    rte_ring* rx_ = nullptr;
    rte_ring* tx_ = nullptr;
    rte_mempool* pool_ = nullptr;
    wire::MacAddr us_mac_;
    wire::IpAddr us_ = kUs, peer_ = kPeer;
    wire::IpAddr last_dst_;  // of the last frame sent, any kind
    std::deque<Log> logs_;  // before stack_: destroyed after it
    std::unique_ptr<Stack> stack_;
    time::Instant now_;
};

}  // namespace sluice::test
