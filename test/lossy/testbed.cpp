#include "testbed.hpp"

#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define SLUICE_CALLGRIND_TOGGLE() CALLGRIND_TOGGLE_COLLECT
#else
#define SLUICE_CALLGRIND_TOGGLE() (void)0
#endif

#include "wire/build.hpp"
#include "wire/ipv6.hpp"

namespace sluice::lossy {

namespace {

const wire::IpAddr kIpA = wire::IpAddr::v4(0xC6120001);  // 198.18.0.1
const wire::IpAddr kIpB = wire::IpAddr::v4(0xC6120002);  // 198.18.0.2
const wire::IpAddr kIp6A = *wire::IpAddr::parse("2001:2::1");  // RFC 5180 benchmarking prefix
const wire::IpAddr kIp6B = *wire::IpAddr::parse("2001:2::2");
constexpr uint16_t kEchoPort = 7;
constexpr unsigned kRingSize = 16384;
constexpr Duration kTick = std::chrono::milliseconds(1);  // the TCP host's wheel tick

uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

uint64_t splitmix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// Fills (or checks) `n` pattern bytes of connection `conn` from `offset`.
// Byte o is byte (o & 7) (little-endian) of splitmix(seed ^ conn << 40 ^ o >> 3). Whole
// words go at once: the benchmarks that use this bed count its cycles against sluice.
void fill(uint64_t seed, uint32_t conn, uint64_t offset, uint8_t* out, size_t n) {
    const uint64_t base = seed ^ (uint64_t(conn) << 40);
    while (n > 0) {
        const uint64_t h = splitmix(base ^ (offset >> 3));
        const size_t skip = offset & 7;
        const size_t take = std::min<size_t>(n, 8 - skip);
        if (take == 8) {
            const uint64_t le = std::endian::native == std::endian::little ? h : __builtin_bswap64(h);
            std::memcpy(out, &le, 8);
        } else {
            for (size_t i = 0; i < take; ++i) out[i] = uint8_t(h >> ((skip + i) * 8));
        }
        out += take;
        offset += take;
        n -= take;
    }
}

void drain_ring(rte_ring* r) {
    if (r == nullptr) return;
    void* obj = nullptr;
    while (rte_ring_dequeue(r, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
}

// IPv4, or TCP over IPv6: what the impairments apply to (not ARP or Neighbor Discovery).
bool is_subject(const rte_mbuf* m) {
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    if (m->data_len <= 14) return false;
    if (p[12] == 0x08 && p[13] == 0x00) return true;
    return p[12] == 0x86 && p[13] == 0xdd && m->data_len > 20 && p[14 + 6] == 6;
}

}  // namespace

uint8_t pattern_byte(uint64_t seed, uint32_t conn, uint64_t offset) {
    uint8_t b = 0;
    fill(seed, conn, offset, &b, 1);
    return b;
}

// --- the link -------------------------------------------------------------------------------

Link::Link(const LinkConfig& cfg, rte_mempool* dup_pool)
    : cfg_(cfg), dup_pool_(dup_pool), rng_(cfg.seed) {}

Link::~Link() {
    for (const InFlight& f : queue_) rte_pktmbuf_free(f.m);
}

double Link::uniform() {
    return double(rng_() >> 11) * 0x1.0p-53;  // exact in every implementation
}

void Link::push(rte_mbuf* m, Instant due) {
    queue_.push_back({due, order_++, m});
    std::push_heap(queue_.begin(), queue_.end(), std::greater<>{});
}

void Link::take(rte_ring* from, Instant now) {
    void* objs[64];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(from, objs, 64, nullptr)) > 0) {
        for (unsigned i = 0; i < n; ++i) {
            auto* m = static_cast<rte_mbuf*>(objs[i]);
            ++frames;
            // Serialisation: the frame leaves once the previous one has (bits / rate).
            const Instant start = std::max(now, busy_until_);
            busy_until_ =
                start + Duration(int64_t(uint64_t(m->pkt_len) * 8 * 1'000'000'000 / cfg_.rate_bps));
            Instant due = busy_until_ + cfg_.delay;
            if (!is_subject(m)) {  // ARP and NDP are not the subject
                push(m, due);
                continue;
            }
            if (cfg_.loss == 0 && cfg_.duplicate == 0 && cfg_.reorder == 0) {
                push(m, due);  // a perfect link draws nothing (the benchmarks' case)
                continue;
            }
            // Draw all three every time, so one probability's change does not shift the
            // others' sequence.
            const double l = uniform(), d = uniform(), r = uniform(), extra = uniform();
            if (l < cfg_.loss) {
                ++lost;
                rte_pktmbuf_free(m);
                continue;
            }
            if (r < cfg_.reorder) {
                ++reordered;
                due += Duration(int64_t(extra * double(cfg_.reorder_extra.count())));
            }
            if (d < cfg_.duplicate) {
                if (rte_mbuf* c = rte_pktmbuf_copy(m, dup_pool_, 0, UINT32_MAX)) {
                    ++duplicated;
                    push(c, due + std::chrono::microseconds(10));
                }
            }
            push(m, due);
        }
    }
}

uint32_t Link::deliver(rte_ring* to, Instant now) {
    uint32_t n = 0;
    while (!queue_.empty() && queue_.front().due <= now) {
        if (rte_ring_enqueue(to, queue_.front().m) != 0) break;  // full: next turn
        std::pop_heap(queue_.begin(), queue_.end(), std::greater<>{});
        queue_.pop_back();
        ++n;
    }
    return n;
}

Instant Link::next_due() const {
    return queue_.front().due;
}

// --- the bed --------------------------------------------------------------------------------

namespace {

struct Conn {
    engine::ConnId id;
    uint32_t index = 0;
    uint64_t sent = 0, received = 0;
    bool shut = false, closed = false, corrupt = false;
    tcp::CloseReason reason = tcp::CloseReason::Normal;
};

struct App {
    const BedConfig* cfg = nullptr;
    std::vector<Conn> conns;
    Instant now;
    Instant last_byte;
    uint64_t last_cycles = 0;
    uint64_t last_cpu_ns = 0;
    uint32_t data_done = 0;   // connections whose data is all through (echoed or Closed)
    uint32_t open = 0;
    std::vector<uint8_t> buf = std::vector<uint8_t>(64 * 1024);
    std::vector<uint8_t> want = std::vector<uint8_t>(64 * 1024);
};

// A connection's data is all through. The CPU time is read once per run, at the last one: a
// system call per connection would be counted against sluice (~1,600 cycles each).
void data_done(App& app) {
    app.last_byte = app.now;
    app.last_cycles = rte_rdtsc();
    if (++app.data_done == app.cfg->connections) app.last_cpu_ns = thread_cpu_ns();
}

void pump_send(engine::TcpHost& host, engine::ConnId id, Conn& c, App& app) {
    while (c.sent < app.cfg->bytes) {
        const auto st = host.status(id);
        if (!st) return;
        const size_t room = app.cfg->buffer - std::min<size_t>(st->send_queued, app.cfg->buffer);
        const size_t n = std::min<uint64_t>({room, app.buf.size(), app.cfg->bytes - c.sent});
        if (n == 0) return;  // SendSpace resumes
        fill(app.cfg->pattern_seed, c.index, c.sent, app.buf.data(), n);
        const tcp::IoResult r = host.send(id, {app.buf.data(), n}, app.now);
        c.sent += r.bytes;
        if (r.error != tcp::Error::None || r.bytes < n) return;
    }
    if (!c.shut) {
        c.shut = true;
        host.shutdown_send(id, app.now);
    }
}

void pump_receive(engine::TcpHost& host, engine::ConnId id, Conn& c, App& app) {
    for (;;) {
        const tcp::IoResult r = host.receive(id, app.buf, app.now);
        if (r.bytes == 0) return;
        fill(app.cfg->pattern_seed, c.index, c.received, app.want.data(), r.bytes);
        if (std::memcmp(app.buf.data(), app.want.data(), r.bytes) != 0) c.corrupt = true;
        c.received += r.bytes;
        if (c.received > app.cfg->bytes) c.corrupt = true;
        if (c.received == app.cfg->bytes) data_done(app);
    }
}

void on_event(engine::TcpHost& host, engine::ConnId id, const tcp::Event& e, void* ctx) {
    App& app = *static_cast<App*>(ctx);
    Conn& c = *static_cast<Conn*>(host.user(id));
    switch (e.kind) {
        case tcp::EventKind::Connected:
        case tcp::EventKind::SendSpace: pump_send(host, id, c, app); break;
        case tcp::EventKind::DataReadable:
        case tcp::EventKind::PeerClosed: pump_receive(host, id, c, app); break;
        case tcp::EventKind::Closed:
            c.closed = true;
            c.reason = e.reason;
            --app.open;
            if (!app.cfg->echo) data_done(app);
            break;
        default: break;
    }
}

struct Stack {
    rte_ring* rx = nullptr;
    rte_ring* tx = nullptr;
    dev::Port port;
    engine::NetConfig net;
    std::unique_ptr<Counters> counters = std::make_unique<Counters>();
    std::unique_ptr<engine::Worker> worker;

    std::string open(const std::string& name, wire::IpAddr ip, wire::IpAddr ip6, uint32_t mbufs,
                     uint32_t cache) {
        rx = rte_ring_create((name + "rx").c_str(), kRingSize, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        tx = rte_ring_create((name + "tx").c_str(), kRingSize, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (!rx || !tx) return "ring create failed";
        if (rte_eth_from_rings(name.c_str(), &rx, 1, &tx, 1, 0) < 0) return "eth_from_rings failed";
        dev::PortConfig pc{.device = "net_ring_" + name, .mbufs_per_queue = mbufs, .mbuf_cache = cache};
        auto p = dev::open_port(pc);
        if (!p) return p.error().message;
        port = std::move(*p);
        net.address = wire::Ipv4Prefix{ip, 24};
        net.address6 = wire::Ipv6Prefix{ip6, 64};
        worker = std::make_unique<engine::Worker>(net, port, 0, *counters);
        return {};
    }
    wire::MacAddr mac() const {
        wire::MacAddr m;
        std::memcpy(m.b.data(), port.mac, m.b.size());
        return m;
    }
    // An ARP request from `other` for our address, straight into our RX ring: we learn the
    // other's MAC and answer over the link, so the other learns ours. Without it the first
    // SYNs wait for ARP and go again after the 1 s initial RTO, which would dominate the grid.
    // With `ipv6`, a Neighbor Solicitation does the same (RFC 4861 7.2.3, 7.2.5).
    bool prime_arp(const Stack& other, bool ipv6) {
        rte_mbuf* m = rte_pktmbuf_alloc(port.pools[0]);
        if (m == nullptr) return false;
        const std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*),
                                     size_t(rte_pktmbuf_tailroom(m))};
        const size_t len =
            ipv6 ? wire::build_neighbor_solicit(buf, other.mac(), other.net.address6->addr,
                                                net.address6->addr)
                 : wire::build_arp(buf, 1, wire::MacAddr::broadcast(), other.mac(),
                                   other.net.address.addr, wire::MacAddr{}, net.address.addr);
        m->data_len = uint16_t(len);
        m->pkt_len = uint32_t(len);
        return len > 0 && rte_ring_enqueue(rx, m) == 0;
    }
    void poll(Instant now) {
        do {
            worker->poll(now);
        } while (rte_ring_count(rx) > 0);
    }
    void close() {
        worker.reset();
        drain_ring(rx);
        drain_ring(tx);
        if (!port.pools.empty()) dev::close_port(port);  // frees the rings too
    }
};

}  // namespace

BedResult run_bed(const BedConfig& cfg) {
    static int instance = 0;
    const std::string id = "lb" + std::to_string(instance++);
    BedResult res;
    Stack a, b;
    rte_mempool* dup_pool = nullptr;
    std::unique_ptr<Link> ab, ba;
    auto teardown = [&] {
        ab.reset();
        ba.reset();
        a.close();
        b.close();
        if (dup_pool) rte_mempool_free(dup_pool);
    };
    if (std::string e = a.open(id + "a", kIpA, kIp6A, cfg.mbufs, cfg.mbuf_cache); !e.empty()) {
        res.error = e;
        teardown();
        return res;
    }
    if (std::string e = b.open(id + "b", kIpB, kIp6B, cfg.mbufs, cfg.mbuf_cache); !e.empty()) {
        res.error = e;
        teardown();
        return res;
    }
    dup_pool =
        rte_pktmbuf_pool_create((id + "dup").c_str(), 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    if (dup_pool == nullptr) {
        res.error = "dup pool";
        teardown();
        return res;
    }
    LinkConfig back = cfg.link;
    back.seed = cfg.link.seed + 1;
    ab = std::make_unique<Link>(cfg.link, dup_pool);
    ba = std::make_unique<Link>(back, dup_pool);

    const Instant start = Instant::from_ns(1'000'000'000);  // virtual t = 1 s
    engine::TcpHostConfig hc;
    hc.tcp.send_buffer = hc.tcp.recv_buffer = cfg.buffer;
    hc.tcp.sack_permitted = cfg.sack;
    hc.tcp.msl = cfg.msl;
    hc.max_connections = cfg.concurrent + 8;
    hc.max_time_wait = cfg.connections + 8;
    hc.syn_backlog = cfg.concurrent + 8;
    engine::TcpHostConfig hb = hc;
    hb.max_connections = 2 * cfg.concurrent + 8;  // LAST-ACK lingers while A opens more
    hb.listeners.push_back(engine::ListenerConfig{
        .port = kEchoPort, .service = cfg.echo ? engine::Service::Echo : engine::Service::Discard});
    if (auto r = a.worker->enable_tcp(hc, start); !r) res.error = r.error().message;
    if (auto r = b.worker->enable_tcp(hb, start); !r) res.error = r.error().message;
    if (!res.error.empty()) {
        teardown();
        return res;
    }
    engine::TcpHost& ha = *a.worker->tcp();
    engine::TcpHost& hbh = *b.worker->tcp();

    App app;
    app.cfg = &cfg;
    app.conns.resize(cfg.connections);
    const engine::AppHandlers handlers{.on_event = on_event, .on_timer = nullptr, .ctx = &app};
    uint32_t next = 0;
    Instant now = start;
    app.last_byte = start;
    // ARP first (a->b request, b's reply over the link), then the clock the results use.
    if (!a.prime_arp(b, cfg.ipv6)) res.error = "ARP priming";
    for (int i = 0; i < 20 && res.error.empty(); ++i) {
        ab->deliver(b.rx, now);
        ba->deliver(a.rx, now);
        a.poll(now);
        b.poll(now);
        ab->take(a.tx, now);
        ba->take(b.tx, now);
        now += std::chrono::milliseconds(1);
    }
    if (!res.error.empty()) {
        teardown();
        return res;
    }
    const Instant t0 = now;
    app.last_byte = t0;
    // Under callgrind --collect-atstart=no (bench/conn/profile.sh), only the measured span
    // (first connect to every connection released) is counted.
    SLUICE_CALLGRIND_TOGGLE();
    uint64_t conn_frames = 0;
    const uint64_t start_cycles = rte_rdtsc();
    const uint64_t start_cpu_ns = thread_cpu_ns();
    for (;;) {
        app.now = now;
        while (app.open < cfg.concurrent && next < cfg.connections) {
            Conn& c = app.conns[next];
            c.index = next++;
            auto r = ha.connect(cfg.ipv6 ? kIp6B : kIpB, kEchoPort, handlers, now);
            if (!r) {
                c.closed = true;
                c.reason = tcp::CloseReason::Aborted;
                continue;
            }
            ha.user(*r) = &c;
            c.id = *r;
            ++app.open;
        }
        ab->deliver(b.rx, now);
        ba->deliver(a.rx, now);
        a.poll(now);
        b.poll(now);
        ab->take(a.tx, now);
        ba->take(b.tx, now);
        if (res.conn_cycles == 0) ++res.turns;
        const bool apps_done = next == cfg.connections && app.open == 0;
        if (apps_done && res.conn_cycles == 0 && ha.connections_in_use() == 0 &&
            hbh.connections_in_use() == 0) {
            res.conn_cycles = rte_rdtsc() - start_cycles;
            res.conn_cpu_ns = thread_cpu_ns() - start_cpu_ns;
            conn_frames = ab->frames + ba->frames;
            SLUICE_CALLGRIND_TOGGLE();
        }
        if (apps_done && ab->empty() && ba->empty() && ha.connections_in_use() == 0 &&
            hbh.connections_in_use() == 0 && ha.time_wait_entries() == 0 &&
            hbh.time_wait_entries() == 0) {
            res.all_closed = true;
            break;
        }
        if (now - t0 > cfg.max_virtual) {
            res.error = "virtual time limit reached";
            for (const Conn& c : app.conns) {
                const auto st = c.closed ? std::nullopt : ha.status(c.id);
                if (!st) continue;
                std::fprintf(stderr,
                             "conn %u: %s sent %llu received %llu una %u nxt %u rcv_nxt %u "
                             "snd_wnd %u rcv_wnd %u send_q %zu recv_q %zu cwnd %u sack %d/%u\n",
                             c.index, std::string(tcp::state_name(st->state)).c_str(),
                             (unsigned long long)c.sent, (unsigned long long)c.received,
                             st->snd_una.raw(), st->snd_nxt.raw(), st->rcv_nxt.raw(), st->snd_wnd,
                             st->rcv_wnd, st->send_queued, st->recv_queued, st->cwnd,
                             int(st->sack_recovery), unsigned(st->sacked_ranges));
            }
            break;
        }
        // Next event: a frame due, or the wheel's next tick.
        Instant t = now + kTick;
        if (!ab->empty()) t = std::min(t, ab->next_due());
        if (!ba->empty()) t = std::min(t, ba->next_due());
        now = t > now ? t : now + std::chrono::microseconds(1);  // an RX ring was full
    }
    res.total_time = now - t0;
    res.data_time = app.last_byte - t0;
    res.data_cycles = app.last_cycles > start_cycles ? app.last_cycles - start_cycles : 0;
    res.data_cpu_ns = app.last_cpu_ns > start_cpu_ns ? app.last_cpu_ns - start_cpu_ns : 0;
    for (const Conn& c : app.conns) {
        if (c.corrupt) ++res.corrupt;
        if (!c.closed || c.reason != tcp::CloseReason::Normal) ++res.failed;
        const uint64_t got = cfg.echo ? c.received : c.sent;
        if (!c.corrupt && c.closed && c.reason == tcp::CloseReason::Normal && got == cfg.bytes &&
            c.sent == cfg.bytes)
            ++res.completed;
        res.bytes_verified += c.corrupt ? 0 : got;
    }
    res.retrans_a = ha.stats().retrans_segs;
    res.retrans_b = hbh.stats().retrans_segs;
    res.sack_recoveries = ha.stats().sack_recovery + hbh.stats().sack_recovery;
    res.reno_recoveries = ha.stats().reno_recovery + hbh.stats().reno_recovery;
    res.frames = ab->frames + ba->frames;
    res.conn_frames = conn_frames;
    res.lost = ab->lost + ba->lost;
    res.duplicated = ab->duplicated + ba->duplicated;
    res.reordered = ab->reordered + ba->reordered;
    res.mbuf_exhausted =
        a.counters->get(Counter::DropMbufExhausted) + b.counters->get(Counter::DropMbufExhausted);
    teardown();
    return res;
}

}  // namespace sluice::lossy

namespace sluice::lossy {

// The bed without the stacks: the same links carry `frames` frames over `turns` loop turns
// (what a run_bed measured), a reflector in place of each stack turns a received frame into a
// sent one, and the client fills and checks its pattern as it does for every connection.
NullResult run_null_bed(const BedConfig& cfg, uint64_t frames, uint64_t turns) {
    static int instance = 0;
    const std::string id = "nb" + std::to_string(instance++);
    NullResult res;
    rte_mempool* pool = rte_pktmbuf_pool_create((id + "p").c_str(), 4095, cfg.mbuf_cache, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    rte_ring* r[4] = {};  // a tx, b rx, b tx, a rx
    for (int i = 0; i < 4; ++i)
        r[i] = rte_ring_create((id + std::to_string(i)).c_str(), kRingSize, 0,
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
    std::vector<rte_mbuf*> free_frames;
    if (pool == nullptr || !r[0] || !r[1] || !r[2] || !r[3] || turns == 0) {
        res.error = "null bed set-up";
    } else {
        LinkConfig back = cfg.link;
        back.seed = cfg.link.seed + 1;
        Link ab(cfg.link, pool), ba(back, pool);
        for (int i = 0; i < 1024; ++i) {  // IPv4 frames of a data segment's size
            rte_mbuf* m = rte_pktmbuf_alloc(pool);
            if (m == nullptr) break;
            uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
            std::memset(p, 0, 118);
            p[12] = 0x08;
            m->data_len = 118;
            m->pkt_len = 118;
            free_frames.push_back(m);
        }
        std::vector<uint8_t> buf(cfg.bytes), want(cfg.bytes);
        volatile int sink = 0;
        Instant now = Instant::from_ns(1'000'000'000);
        const uint64_t per_turn = frames / 2, start_cpu = thread_cpu_ns(), start = rte_rdtsc();
        uint64_t sent = 0;
        void* objs[64];
        for (uint64_t t = 0; t < turns; ++t) {
            // Frames a->b due this turn (evenly spread), each reflected b->a.
            const uint64_t want_sent = per_turn * (t + 1) / turns;
            while (sent < want_sent && !free_frames.empty()) {
                rte_ring_enqueue(r[0], free_frames.back());
                free_frames.pop_back();
                ++sent;
            }
            ab.deliver(r[1], now);
            ba.deliver(r[3], now);
            unsigned n = rte_ring_dequeue_burst(r[1], objs, 64, nullptr);  // b reflects
            rte_ring_enqueue_burst(r[2], objs, n, nullptr);
            while ((n = rte_ring_dequeue_burst(r[3], objs, 64, nullptr)) > 0)  // a consumes
                for (unsigned i = 0; i < n; ++i) free_frames.push_back(static_cast<rte_mbuf*>(objs[i]));
            ab.take(r[0], now);
            ba.take(r[2], now);
            now += cfg.link.delay;
        }
        for (uint32_t c = 0; c < cfg.connections; ++c) {  // the client's pattern work
            fill(cfg.pattern_seed, c, 0, buf.data(), buf.size());
            fill(cfg.pattern_seed, c, 0, want.data(), want.size());
            sink = sink + std::memcmp(buf.data(), want.data(), buf.size());
        }
        res.cycles = rte_rdtsc() - start;
        res.cpu_ns = thread_cpu_ns() - start_cpu;
        res.frames = ab.frames + ba.frames;
        now += std::chrono::seconds(1);
        ab.deliver(r[1], now);
        ba.deliver(r[3], now);
        for (rte_mbuf* m : free_frames) rte_pktmbuf_free(m);
    }
    for (rte_ring* ring : r) drain_ring(ring);
    for (rte_ring* ring : r)
        if (ring) rte_ring_free(ring);
    if (pool) rte_mempool_free(pool);
    return res;
}

}  // namespace sluice::lossy
