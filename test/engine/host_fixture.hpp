#pragma once
// The fixture of the host tests: the TCP host inside a real Worker, on an in-memory port
// (DPDK's net_ring): frames go in through the RX ring, what sluice sends comes out of the TX
// ring. No namespaces, no NIC. With use_virtual_clock() before start(), the worker runs on a
// virtual clock that only advance() moves (timer tests without waiting).

#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dev/port.hpp"
#include "engine/worker.hpp"
#include "wire/build.hpp"
#include "wire/checksum.hpp"
#include "wire/headers.hpp"
#include "wire/ipv6.hpp"
#include "wire/parse.hpp"

namespace sluice::engine {
namespace {

const wire::IpAddr kUs = wire::IpAddr::v4(0xC6120002);    // 198.18.0.2
const wire::IpAddr kPeer = wire::IpAddr::v4(0xC6120001);  // 198.18.0.1
const wire::MacAddr kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
// IPv6 (RFC 5180 benchmarking prefix): every host here is dual-stack.
const wire::IpAddr kUs6 = *wire::IpAddr::parse("2001:2::2");
const wire::IpAddr kPeer6 = *wire::IpAddr::parse("2001:2::1");
namespace F = wire::tcp_flags;

struct Sent {
    wire::Frame frame;
    wire::TcpSegmentView tcp;
    std::string payload;
};

class HostOnRing : public ::testing::Test {
protected:
    void SetUp() override {
        TcpHostConfig c;
        c.max_connections = 64;
        c.max_time_wait = 64;
        start(c);
    }

    void start(TcpHostConfig tcp) {
        static int n = 0;
        const std::string id = std::to_string(n++);
        rx_ = rte_ring_create(("hrx" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        tx_ = rte_ring_create(("htx" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        ASSERT_TRUE(rx_ && tx_);
        const int pid = rte_eth_from_rings(("h" + id).c_str(), &rx_, 1, &tx_, 1, 0);
        ASSERT_GE(pid, 0);
        dev::PortConfig pc{.device = "net_ring_h" + id, .mbufs_per_queue = 4095, .mbuf_cache = 0};
        auto p = dev::open_port(pc);
        ASSERT_TRUE(p) << p.error().message;
        port_ = std::move(*p);
        if (single_seg_tx_) port_.caps.tx_multi_seg = false;  // as net_af_xdp
        std::memcpy(us_mac_.b.data(), port_.mac, 6);
        net_.address = wire::Ipv4Prefix{kUs, 24};
        if (!no_v6_) net_.address6 = wire::Ipv6Prefix{kUs6, 64};
        counters_ = std::make_unique<Counters>();
        worker_ = std::make_unique<Worker>(net_, port_, 0, *counters_);
        tcp.tcp.msl = std::chrono::seconds(30);
        if (tcp.listeners.empty()) {
            tcp.listeners.push_back(ListenerConfig{.port = 7, .service = Service::Echo});
            tcp.listeners.push_back(ListenerConfig{.port = 80, .service = Service::Http});
        }
        auto r = vnow_ ? worker_->enable_tcp(tcp, *vnow_) : worker_->enable_tcp(tcp);
        ASSERT_TRUE(r) << r.error().message;
    }

    void TearDown() override {
        worker_.reset();
        if (port_.pools.size() > 0) dev::close_port(port_);
        // The rings are freed with the port by the ring PMD's close.
    }

    // Sends a frame (Ethernet on) from the peer.
    void inject_frame(std::span<const uint8_t> frame) {
        rte_mbuf* m = rte_pktmbuf_alloc(port_.pools[0]);
        ASSERT_NE(m, nullptr);
        std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), frame.data(), frame.size());
        m->data_len = static_cast<uint16_t>(frame.size());
        m->pkt_len = static_cast<uint32_t>(frame.size());
        ASSERT_EQ(rte_ring_enqueue(rx_, m), 0);
    }

    // Sends a TCP segment from the peer to us (over IPv6 once use_ipv6() was called).
    void inject(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                std::string_view payload = {}, wire::TcpOptions opts = {}) {
        rte_mbuf* m = rte_pktmbuf_alloc(port_.pools[0]);
        ASSERT_NE(m, nullptr);
        std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*),
                               static_cast<size_t>(rte_pktmbuf_tailroom(m))};
        const wire::L3Header l3{.src_mac = kPeerMac, .dst_mac = us_mac_, .src = peer_, .dst = us_};
        const wire::TcpHeaderSpec spec{.src_port = sport,
                                       .dst_port = dport,
                                       .seq = wire::SeqNum(seq),
                                       .ack = wire::SeqNum(ack),
                                       .flags = flags,
                                       .window = 65535,
                                       .options = opts};
        const size_t len = wire::build_tcp(
            buf, l3, spec, {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()},
            wire::CsumMode::Software);
        ASSERT_GT(len, 0u);
        m->data_len = static_cast<uint16_t>(len);
        m->pkt_len = static_cast<uint32_t>(len);
        ASSERT_EQ(rte_ring_enqueue(rx_, m), 0);
    }

    void http_close_to_time_wait_and_reopen();

    // Call before start(): the worker's clock is `vnow_`, moved only by advance().
    void use_virtual_clock() { vnow_ = time::Instant{} + std::chrono::hours(1); }
    // Moves the virtual clock on and returns what was sent meanwhile (timers fired).
    std::vector<Sent> advance(time::Duration d) {
        *vnow_ += d;
        return poll();
    }
    time::Instant now() const { return vnow_ ? *vnow_ : worker_->now(); }
    void poll_once() {
        if (vnow_) {
            worker_->poll(*vnow_);
        } else {
            worker_->poll();
        }
    }

    void use_ipv6() {
        us_ = kUs6;
        peer_ = kPeer6;
    }

    // Runs the worker until the RX ring is drained, then returns every frame it sent.
    std::vector<std::vector<uint8_t>> poll_frames() {
        while (rte_ring_count(rx_) > 0) poll_once();
        for (int i = 0; i < 4; ++i) poll_once();
        std::vector<std::vector<uint8_t>> out;
        void* obj = nullptr;
        while (rte_ring_dequeue(tx_, &obj) == 0) {
            auto* m = static_cast<rte_mbuf*>(obj);
            tx_segs_.push_back(m->nb_segs);
            // Data segments are chains (headers, then the payload by reference).
            EXPECT_EQ(rte_pktmbuf_linearize(m), 0);
            const uint8_t* d = rte_pktmbuf_mtod(m, uint8_t*);
            out.emplace_back(d, d + m->data_len);
            rte_pktmbuf_free(m);
        }
        return out;
    }

    // The same, keeping the TCP segments.
    std::vector<Sent> poll() {
        std::vector<Sent> out;
        for (const auto& bytes : poll_frames()) {
            const std::span<const uint8_t> f(bytes);
            Sent s;
            if (wire::parse_frame(f, {}, s.frame) == wire::Drop::None && s.frame.ip_proto == 6 &&
                wire::parse_tcp(f, s.frame, {}, s.tcp) == wire::Drop::None) {
                s.payload.assign(reinterpret_cast<const char*>(f.data()) + s.tcp.payload_off,
                                 s.tcp.payload_len);
                out.push_back(s);
            }
        }
        return out;
    }

    uint64_t counter(Counter c) { return counters_->get(c); }
    uint32_t in_state(tcp::State s) { return worker_->tcp()->states()[static_cast<size_t>(s)]; }

    // A handshake from the peer; returns our ISS.
    uint32_t handshake(uint16_t sport, uint16_t dport, uint32_t peer_iss) {
        inject(sport, dport, peer_iss, 0, F::Syn);
        auto out = poll();
        EXPECT_EQ(out.size(), 1u);
        if (out.empty()) return 0;
        EXPECT_EQ(out[0].tcp.flags, F::Syn | F::Ack);
        EXPECT_EQ(out[0].tcp.ack.raw(), peer_iss + 1);
        const uint32_t iss = out[0].tcp.seq.raw();
        inject(sport, dport, peer_iss + 1, iss + 1, F::Ack);
        EXPECT_TRUE(poll().empty());
        return iss;
    }

    rte_ring* rx_ = nullptr;
    rte_ring* tx_ = nullptr;
    dev::Port port_;
    wire::MacAddr us_mac_;
    wire::IpAddr us_ = kUs, peer_ = kPeer;
    bool no_v6_ = false;
    bool single_seg_tx_ = false;   // the port cannot send chains
    std::vector<uint16_t> tx_segs_;  // nb_segs of every frame sent, in order
    std::optional<time::Instant> vnow_;  // the virtual clock, if any
    NetConfig net_;
    std::unique_ptr<Counters> counters_;
    std::unique_ptr<Worker> worker_;
};

}  // namespace
}  // namespace sluice::engine
