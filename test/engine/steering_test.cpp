// Issue 7: flows spread over workers and stay there. The Toeplitz hash against DPDK's own
// software implementation, the symmetric key, the RETA, the port allocator that makes active
// opens come home, and two real Workers on a two-queue in-memory port (net_ring, which
// cannot steer) handing frames to each other over the software steering rings.

#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_thash.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "dev/port.hpp"
#include "dev/rss.hpp"
#include "engine/port_alloc.hpp"
#include "engine/worker.hpp"
#include "flow/flow_table.hpp"
#include "wire/build.hpp"
#include "wire/ipv6.hpp"
#include "wire/parse.hpp"

namespace sluice::engine {
namespace {

const wire::IpAddr kUs = wire::IpAddr::v4(0xC6120002);    // 198.18.0.2
const wire::IpAddr kPeer = wire::IpAddr::v4(0xC6120001);  // 198.18.0.1
const wire::MacAddr kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
const wire::IpAddr kUs6 = *wire::IpAddr::parse("2001:2::2");
const wire::IpAddr kPeer6 = *wire::IpAddr::parse("2001:2::1");
namespace F = wire::tcp_flags;

// rte_softrss over the key as it is given to the NIC (no conversion): the reference.
uint32_t reference_v4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
    uint32_t tuple[RTE_THASH_V4_L4_LEN] = {src, dst, uint32_t{sport} << 16 | dport};
    return rte_softrss(tuple, RTE_THASH_V4_L4_LEN, dev::symmetric_rss_key().data());
}

TEST(Rss, HashIsDpdksSoftwareToeplitzOverTheConfiguredKey) {
    std::mt19937 rng(7);
    for (int i = 0; i < 10000; ++i) {
        const uint32_t a = rng(), b = rng();
        const uint16_t pa = uint16_t(rng()), pb = uint16_t(rng());
        ASSERT_EQ(dev::RssMap::hash_v4(a, b, pa, pb), reference_v4(a, b, pa, pb));
    }
}

TEST(Rss, KeyIsSymmetric) {
    std::mt19937 rng(8);
    for (int i = 0; i < 100000; ++i) {
        const uint32_t a = rng(), b = rng();
        const uint16_t pa = uint16_t(rng()), pb = uint16_t(rng());
        ASSERT_EQ(dev::RssMap::hash_v4(a, b, pa, pb), dev::RssMap::hash_v4(b, a, pb, pa));
    }
    std::array<uint8_t, 16> x{}, y{};
    for (int i = 0; i < 1000; ++i) {
        for (auto& v : x) v = uint8_t(rng());
        for (auto& v : y) v = uint8_t(rng());
        ASSERT_EQ(dev::RssMap::hash_v6(x.data(), y.data(), 80, uint16_t(i)),
                  dev::RssMap::hash_v6(y.data(), x.data(), uint16_t(i), 80));
    }
}

// Many flows over W workers: each flow has exactly one owner, both directions the same one,
// and every worker gets a fair share (the RETA is round-robin).
TEST(Rss, EveryFlowHasOneOwnerForBothDirectionsAndTheWorkersShare) {
    for (uint16_t workers : {2, 3, 4, 8}) {
        const dev::RssMap map = dev::RssMap::round_robin(workers);
        std::vector<uint32_t> share(workers);
        std::mt19937 rng(workers);
        constexpr int kFlows = 20000;
        for (int i = 0; i < kFlows; ++i) {
            const uint32_t client = 0xC6120000u | (rng() & 0xffff), server = kUs.v4_host();
            const uint16_t cport = uint16_t(1024 + rng() % 60000), sport = 80;
            const uint16_t in = map.queue_v4(client, server, cport, sport);
            const uint16_t out = map.queue_v4(server, client, sport, cport);
            ASSERT_EQ(in, out);
            int owners = 0;
            for (uint16_t w = 0; w < workers; ++w)
                owners += map.queue_v4(client, server, cport, sport) == w;
            ASSERT_EQ(owners, 1);
            ++share[in];
        }
        for (uint16_t w = 0; w < workers; ++w) {
            EXPECT_GT(share[w], kFlows / workers * 8 / 10) << workers << " workers, worker " << w;
            EXPECT_LT(share[w], kFlows / workers * 12 / 10) << workers << " workers, worker " << w;
        }
    }
}

TEST(Rss, RetaEntriesOutOfRangeAreFoldedAndOddSizesFallBackToRoundRobin) {
    const dev::RssMap m(2, {0, 1, 5, 1});
    EXPECT_EQ(m.reta().size(), 4u);
    EXPECT_EQ(m.reta()[2], 1u);
    const dev::RssMap odd(3, {0, 1, 2});
    EXPECT_EQ(odd.reta().size(), size_t{dev::RssMap::kDefaultRetaSize});
}

// --- the port allocator ---------------------------------------------------------------------

class PortAlloc : public ::testing::Test {
protected:
    void SetUp() override {
        static int n = 0;
        auto t = flow::FlowTable::create("pa_test" + std::to_string(n++), 4096, 0, 0);
        ASSERT_TRUE(t) << t.error().message;
        table_.emplace(std::move(*t));
    }
    wire::FlowKey toward(uint16_t port) {
        wire::FlowKey k{};
        k.local = kUs;
        k.remote = kPeer;
        k.remote_port = port;
        return k;
    }
    std::optional<flow::FlowTable> table_;
};

TEST_F(PortAlloc, PicksOnlyPortsWhoseRepliesComeHomeAndSkipsTuplesInUse) {
    const dev::RssMap map = dev::RssMap::round_robin(2);
    PortAllocator w0(40000, 40999, map, 0), w1(40000, 40999, map, 1);
    std::set<uint16_t> used;
    int slot = 0;
    for (int i = 0; i < 200; ++i) {
        for (PortAllocator* a : {&w0, &w1}) {
            wire::FlowKey k = toward(80);
            uint32_t h = 0;
            ASSERT_TRUE(a->pick(k, h, *table_));
            EXPECT_EQ(h, table_->hash(k));
            // The reply, as the receive side computes it, reaches the opener's queue.
            EXPECT_EQ(map.queue_v4(kPeer.v4_host(), kUs.v4_host(), 80, k.local_port), a->queue());
            EXPECT_TRUE(used.insert(k.local_port).second) << "port " << k.local_port << " twice";
            ASSERT_TRUE(table_->insert(k, h, &slot));  // in use (or in TIME-WAIT) from now on
        }
    }
}

TEST_F(PortAlloc, RunsOutCleanlyAndRecoversWhenATupleIsFreed) {
    const dev::RssMap map = dev::RssMap::round_robin(2);
    PortAllocator a(50000, 50031, map, 1);
    int slot = 0;
    std::vector<std::pair<wire::FlowKey, uint32_t>> taken;
    for (;;) {
        wire::FlowKey k = toward(9000);
        uint32_t h = 0;
        if (!a.pick(k, h, *table_)) {
            EXPECT_EQ(k.local_port, 0u);
            break;
        }
        ASSERT_TRUE(table_->insert(k, h, &slot));
        taken.emplace_back(k, h);
        ASSERT_LE(taken.size(), 32u);
    }
    // About half of 32 ports hash home to queue 1; exactly those were handed out.
    int home = 0;
    for (uint32_t p = 50000; p <= 50031; ++p) {
        home += map.queue_v4(kPeer.v4_host(), kUs.v4_host(), 9000, uint16_t(p)) == 1;
    }
    EXPECT_EQ(int(taken.size()), home);
    EXPECT_GT(home, 4);
    // Another remote port is another 4-tuple.
    wire::FlowKey other = toward(9001);
    uint32_t h = 0;
    EXPECT_TRUE(a.pick(other, h, *table_));
    // Freeing one (its TIME-WAIT ended) makes it available again.
    ASSERT_TRUE(table_->erase(taken[3].first, taken[3].second));
    wire::FlowKey again = toward(9000);
    ASSERT_TRUE(a.pick(again, h, *table_));
    EXPECT_EQ(again.local_port, taken[3].first.local_port);
}

TEST_F(PortAlloc, OneQueueTakesEveryPort) {
    const dev::RssMap one;
    PortAllocator a(60000, 60009, one, 0);
    int slot = 0;
    for (int i = 0; i < 10; ++i) {
        wire::FlowKey k = toward(80);
        uint32_t h = 0;
        ASSERT_TRUE(a.pick(k, h, *table_));
        EXPECT_EQ(k.local_port, 60000 + i);
        ASSERT_TRUE(table_->insert(k, h, &slot));
    }
    wire::FlowKey k = toward(80);
    uint32_t h = 0;
    EXPECT_FALSE(a.pick(k, h, *table_));
}

// --- two workers, software steering -----------------------------------------------------------

struct Sent {
    wire::Frame frame;
    wire::TcpSegmentView tcp;
};

// Two Workers on a two-queue net_ring port, polled in turn from this thread. The ring PMD
// cannot steer, so the port comes up with software steering and every frame can be injected
// on either queue, as PACKET_FANOUT or a tap device would spread them.
class TwoWorkers : public ::testing::Test {
protected:
    void SetUp() override {
        static int n = 0;
        const std::string id = std::to_string(n++);
        for (int q = 0; q < 2; ++q) {
            rx_[q] = rte_ring_create(("srx" + id + "_" + std::to_string(q)).c_str(), 1024, 0,
                                     RING_F_SP_ENQ | RING_F_SC_DEQ);
            tx_[q] = rte_ring_create(("stx" + id + "_" + std::to_string(q)).c_str(), 1024, 0,
                                     RING_F_SP_ENQ | RING_F_SC_DEQ);
            ASSERT_TRUE(rx_[q] && tx_[q]);
        }
        ASSERT_GE(rte_eth_from_rings(("s" + id).c_str(), rx_, 2, tx_, 2, 0), 0);
        dev::PortConfig pc{
            .device = "net_ring_s" + id, .queues = 2, .mbufs_per_queue = 4095, .mbuf_cache = 0};
        auto p = dev::open_port(pc);
        ASSERT_TRUE(p) << p.error().message;
        port_ = std::move(*p);
        ASSERT_EQ(port_.steering, dev::Steering::Software) << port_.steering_why;
        std::memcpy(us_mac_.b.data(), port_.mac, 6);
        net_.address = wire::Ipv4Prefix{kUs, 16};
        net_.address6 = wire::Ipv6Prefix{kUs6, 64};
        TcpHostConfig tc;
        tc.max_connections = 256;
        tc.max_time_wait = 256;
        tc.listeners.push_back(ListenerConfig{.port = 80, .service = Service::Http});
        for (uint16_t q = 0; q < 2; ++q) {
            counters_[q] = std::make_unique<Counters>();
            workers_[q] = std::make_unique<Worker>(net_, port_, q, *counters_[q]);
            auto r = workers_[q]->enable_tcp(tc);
            ASSERT_TRUE(r) << r.error().message;
        }
        steer_[0] = rte_ring_create(("st01_" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        steer_[1] = rte_ring_create(("st10_" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        ASSERT_TRUE(steer_[0] && steer_[1]);
        workers_[0]->set_steering({nullptr, steer_[0]}, {steer_[1]}, true);
        workers_[1]->set_steering({steer_[1], nullptr}, {steer_[0]}, true);
    }

    void TearDown() override {
        for (auto& w : workers_) w.reset();
        for (rte_ring* r : steer_) {
            void* m = nullptr;
            while (r && rte_ring_dequeue(r, &m) == 0)
                rte_pktmbuf_free(
                    reinterpret_cast<rte_mbuf*>(reinterpret_cast<uintptr_t>(m) & ~1ull));
            rte_ring_free(r);
        }
        if (!port_.pools.empty()) dev::close_port(port_);
    }

    void inject(int queue, rte_mbuf* m) { ASSERT_EQ(rte_ring_enqueue(rx_[queue], m), 0); }

    rte_mbuf* tcp_frame(const wire::IpAddr& src, uint16_t sport, uint16_t dport, uint32_t seq,
                        uint32_t ack, uint8_t flags) {
        return tcp_frame(src, src.is_v4() ? kUs : kUs6, sport, dport, seq, ack, flags);
    }
    rte_mbuf* tcp_frame(const wire::IpAddr& src, const wire::IpAddr& dst, uint16_t sport,
                        uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags) {
        rte_mbuf* m = rte_pktmbuf_alloc(port_.pools[0]);
        EXPECT_NE(m, nullptr);
        std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*),
                               static_cast<size_t>(rte_pktmbuf_tailroom(m))};
        const wire::L3Header l3{.src_mac = kPeerMac, .dst_mac = us_mac_, .src = src, .dst = dst};
        const wire::TcpHeaderSpec spec{.src_port = sport,
                                       .dst_port = dport,
                                       .seq = wire::SeqNum(seq),
                                       .ack = wire::SeqNum(ack),
                                       .flags = flags,
                                       .window = 65535};
        const size_t len = wire::build_tcp(buf, l3, spec, {}, wire::CsumMode::Software);
        m->data_len = static_cast<uint16_t>(len);
        m->pkt_len = static_cast<uint32_t>(len);
        return m;
    }

    rte_mbuf* arp_request_from_peer() {
        rte_mbuf* m = rte_pktmbuf_alloc(port_.pools[0]);
        std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*),
                               static_cast<size_t>(rte_pktmbuf_tailroom(m))};
        const size_t len = wire::build_arp(buf, 1, wire::MacAddr::broadcast(), kPeerMac, kPeer,
                                           wire::MacAddr{}, kUs);
        m->data_len = static_cast<uint16_t>(len);
        m->pkt_len = static_cast<uint32_t>(len);
        return m;
    }

    rte_mbuf* neighbor_solicit_from_peer() {
        rte_mbuf* m = rte_pktmbuf_alloc(port_.pools[0]);
        std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*),
                               static_cast<size_t>(rte_pktmbuf_tailroom(m))};
        const size_t len = wire::build_neighbor_solicit(buf, kPeerMac, kPeer6, kUs6);
        m->data_len = static_cast<uint16_t>(len);
        m->pkt_len = static_cast<uint32_t>(len);
        return m;
    }

    // Polls both workers until nothing is left in flight; returns the TCP frames each sent.
    std::array<std::vector<Sent>, 2> run() {
        for (int turn = 0; turn < 64; ++turn) {
            workers_[0]->poll();
            workers_[1]->poll();
        }
        std::array<std::vector<Sent>, 2> out;
        for (int q = 0; q < 2; ++q) {
            void* obj = nullptr;
            while (rte_ring_dequeue(tx_[q], &obj) == 0) {
                auto* m = static_cast<rte_mbuf*>(obj);
                const std::span<const uint8_t> f{rte_pktmbuf_mtod(m, uint8_t*), m->data_len};
                Sent s;
                if (wire::parse_frame(f, {}, s.frame) == wire::Drop::None &&
                    s.frame.ip_proto == 6 &&
                    wire::parse_tcp(f, s.frame, {}, s.tcp) == wire::Drop::None) {
                    out[q].push_back(s);
                }
                rte_pktmbuf_free(m);
            }
        }
        return out;
    }

    uint64_t counter(int w, Counter c) { return counters_[w]->get(c); }

    rte_ring* rx_[2] = {};
    rte_ring* tx_[2] = {};
    rte_ring* steer_[2] = {};
    dev::Port port_;
    wire::MacAddr us_mac_;
    NetConfig net_;
    std::array<std::unique_ptr<Counters>, 2> counters_;
    std::array<std::unique_ptr<Worker>, 2> workers_;
};

// Every SYN arrives on queue 0; each is answered by its owner, from the owner's TX queue.
TEST_F(TwoWorkers, SynsOnOneQueueAreAnsweredByTheirOwners) {
    constexpr int kFlows = 300;
    std::array<int, 2> owned{}, answered{};
    auto count = [&](const std::array<std::vector<Sent>, 2>& out) {
        for (int q = 0; q < 2; ++q) {
            for (const Sent& s : out[q]) {
                // The TX queue a SYN-ACK left on is the worker that answered: the owner.
                EXPECT_EQ(s.tcp.flags, F::Syn | F::Ack);
                EXPECT_EQ(
                    port_.rss.queue_v4(s.frame.dst.v4_host(), kUs.v4_host(), s.tcp.dst_port, 80),
                    q);
                ++answered[q];
            }
        }
    };
    for (int i = 0; i < kFlows; ++i) {
        const wire::IpAddr src = wire::IpAddr::v4(0xC6120100u + uint32_t(i % 200));
        const uint16_t sport = uint16_t(20000 + i);
        ++owned[port_.rss.queue_v4(src.v4_host(), kUs.v4_host(), sport, 80)];
        inject(0, tcp_frame(src, sport, 80, 1000, 0, F::Syn));
        if (i % 100 == 99) count(run());  // within the rings' room
    }
    count(run());
    EXPECT_EQ(answered, owned);
    EXPECT_GT(owned[0], kFlows / 4);
    EXPECT_GT(owned[1], kFlows / 4);
    EXPECT_EQ(counter(0, Counter::SteerOut), uint64_t(owned[1]));
    EXPECT_EQ(counter(1, Counter::SteerIn), uint64_t(owned[1]));
    EXPECT_EQ(counter(0, Counter::DropSteerRingFull), 0u);
    EXPECT_EQ(counter(0, Counter::TcpInSegs), uint64_t(owned[0]));
    EXPECT_EQ(counter(1, Counter::TcpInSegs), uint64_t(owned[1]));
}

// Worker 1 opens a connection; the SYN-ACK arrives on worker 0's queue and is handed home.
// The ARP exchange before it lands on worker 0 too, and worker 1 learns from the copy.
TEST_F(TwoWorkers, ActiveOpenFromTheSecondWorkerComesHome) {
    inject(0, arp_request_from_peer());
    run();
    EXPECT_EQ(counter(0, Counter::ArpInRequests), 1u);
    EXPECT_EQ(counter(1, Counter::SteerIn), 1u) << "the ARP copy";

    TcpHost& h = *workers_[1]->tcp();
    auto id = h.connect(kPeer, 8080, {}, workers_[1]->now());
    ASSERT_TRUE(id) << id.error().message;
    auto out = run();
    ASSERT_EQ(out[1].size(), 1u) << "the SYN, sent at once: worker 1 knows the peer's MAC";
    ASSERT_TRUE(out[0].empty());
    const Sent syn = out[1][0];
    EXPECT_EQ(syn.tcp.flags, F::Syn);
    EXPECT_EQ(port_.rss.queue_v4(kPeer.v4_host(), kUs.v4_host(), 8080, syn.tcp.src_port), 1);

    inject(0,
           tcp_frame(kPeer, 8080, syn.tcp.src_port, 5000, syn.tcp.seq.raw() + 1, F::Syn | F::Ack));
    out = run();
    ASSERT_EQ(out[1].size(), 1u);
    EXPECT_EQ(out[1][0].tcp.flags, F::Ack);
    EXPECT_EQ(out[1][0].tcp.ack.raw(), 5001u);
    EXPECT_EQ(h.status(*id)->state, tcp::State::Established);
    EXPECT_EQ(counter(0, Counter::SteerOut), 1u);
    EXPECT_EQ(counter(0, Counter::TcpInSegs), 0u);
}

// The same over IPv6: the owner is the RETA entry of the Toeplitz hash over the v6 tuple,
// and the peer's Neighbor Solicitation teaches both workers its MAC.
TEST_F(TwoWorkers, Ipv6_SynsGoToTheirOwnersAndActiveOpensComeHome) {
    constexpr int kFlows = 200;
    std::array<int, 2> owned{}, answered{};
    for (int i = 0; i < kFlows; ++i) {
        wire::IpAddr src = kPeer6;
        src.bytes[14] = uint8_t(i);
        const uint16_t sport = uint16_t(30000 + i);
        ++owned[port_.rss.queue_v6(src.bytes.data(), kUs6.bytes.data(), sport, 80)];
        inject(0, tcp_frame(src, sport, 80, 1000, 0, F::Syn));
    }
    const auto out = run();
    for (int q = 0; q < 2; ++q) {
        for (const Sent& s : out[q]) {
            EXPECT_EQ(s.tcp.flags, F::Syn | F::Ack);
            EXPECT_EQ(port_.rss.queue_v6(s.frame.dst.bytes.data(), kUs6.bytes.data(),
                                         s.tcp.dst_port, 80),
                      q);
            ++answered[q];
        }
    }
    EXPECT_EQ(answered, owned);
    EXPECT_GT(owned[0], kFlows / 4);
    EXPECT_GT(owned[1], kFlows / 4);

    inject(0, neighbor_solicit_from_peer());
    run();
    EXPECT_EQ(counter(0, Counter::Icmp6InNeighborSolicits), 1u);
    TcpHost& h = *workers_[1]->tcp();
    auto id = h.connect(kPeer6, 8080, {}, workers_[1]->now());
    ASSERT_TRUE(id) << id.error().message;
    auto syn_out = run();
    ASSERT_EQ(syn_out[1].size(), 1u) << "worker 1 learnt the peer's MAC from the NS copy";
    const Sent syn = syn_out[1][0];
    EXPECT_EQ(syn.frame.src, kUs6);
    inject(0, tcp_frame(kPeer6, 8080, syn.tcp.src_port, 5000, syn.tcp.seq.raw() + 1,
                        F::Syn | F::Ack));
    syn_out = run();
    ASSERT_EQ(syn_out[1].size(), 1u);
    EXPECT_EQ(syn_out[1][0].tcp.flags, F::Ack);
    EXPECT_EQ(h.status(*id)->state, tcp::State::Established);
}

// TCP behind a Destination Options header still reaches the flow's owner.
TEST_F(TwoWorkers, Ipv6_TcpBehindAnExtensionHeaderGoesToItsOwner) {
    std::array<int, 2> owned{}, answered{};
    for (int i = 0; i < 64; ++i) {
        wire::IpAddr src = kPeer6;
        src.bytes[13] = uint8_t(i);
        const uint16_t sport = uint16_t(31000 + i);
        ++owned[port_.rss.queue_v6(src.bytes.data(), kUs6.bytes.data(), sport, 80)];
        rte_mbuf* m = tcp_frame(src, sport, 80, 1000, 0, F::Syn);
        // Insert 8 bytes after the IPv6 header: next header TCP, a PadN option of 4.
        uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
        const size_t tcp_len = m->data_len - 54;
        std::memmove(p + 62, p + 54, tcp_len);
        const uint8_t opts[8] = {6, 0, 1, 4, 0, 0, 0, 0};
        std::memcpy(p + 54, opts, 8);
        p[14 + 6] = 60;  // Destination Options
        const uint16_t plen = uint16_t(tcp_len + 8);
        p[14 + 4] = uint8_t(plen >> 8);
        p[14 + 5] = uint8_t(plen);
        m->data_len = uint16_t(m->data_len + 8);
        m->pkt_len = m->data_len;
        inject(i % 2, m);
    }
    const auto out = run();
    for (int q = 0; q < 2; ++q) {
        for (const Sent& s : out[q]) {
            EXPECT_EQ(s.tcp.flags, F::Syn | F::Ack);
            ++answered[q];
        }
    }
    EXPECT_EQ(answered, owned) << "no SYN answered by a worker that does not own it";
    EXPECT_GT(owned[0], 0);
    EXPECT_GT(owned[1], 0);
}

TEST_F(TwoWorkers, ActiveOpensFailWithEaddrnotavailWhenNoPortComesHome) {
    TcpHostConfig tc;
    tc.max_connections = 64;
    tc.ephemeral_low = 61000;
    tc.ephemeral_high = 61003;
    ASSERT_TRUE(workers_[1]->enable_tcp(tc));
    TcpHost& h = *workers_[1]->tcp();
    int home = 0;
    for (uint32_t p = 61000; p <= 61003; ++p)
        home += port_.rss.queue_v4(kPeer.v4_host(), kUs.v4_host(), 9, uint16_t(p)) == 1;
    for (int i = 0; i < home; ++i) ASSERT_TRUE(h.connect(kPeer, 9, {}, workers_[1]->now()));
    auto r = h.connect(kPeer, 9, {}, workers_[1]->now());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EADDRNOTAVAIL);
    EXPECT_EQ(counter(1, Counter::PortsExhausted), 1u);
    run();
}

}  // namespace
}  // namespace sluice::engine
