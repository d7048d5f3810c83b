// SYN in, SYN-ACK out on one core, in memory without a NIC (issue 6 item 6).
//
//   BM_CookieSynAck      tcp::make_syn_ack: the cookie (two SipHash-2-4) and the SYN-ACK
//                        segment, for SYNs from 4096 different sources.
//   BM_CookieCheckAck    tcp::check_ack: validating the final ACK's cookie.
//   BM_WorkerSynToSynAck the whole worker path: a burst of 32 pre-built SYN frames on an
//                        in-memory port (DPDK's net_ring), Worker::poll() (parse, flow-table
//                        miss, listener, cookie, SYN-ACK frame with software checksums, TX),
//                        the SYN-ACKs taken off the TX ring and freed.
//
// Counters: cycles/op (TSC cycles per SYN or per ACK, rte_rdtsc over the timed loop), and
// Mpps (operations per second / 10^6). The TSC counts wall time, preemption included: run it
// alone on a quiet core (compare Time with CPU in the output to see whether it was):
//   flock /tmp/sluice-e2e.lock taskset -c 1 build/bench/syn/bench_syn
#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "dev/port.hpp"
#include "eal.hpp"
#include "engine/worker.hpp"
#include "tcp/syncookie.hpp"
#include "wire/build.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;

constexpr size_t kSources = 4096;

tcp::CookieSecrets::Key bench_key() {
    tcp::CookieSecrets::Key k{};
    for (size_t i = 0; i < k.size(); ++i) k[i] = uint8_t(i * 7 + 1);
    return k;
}

tcp::FourTuple tuple(size_t i) {
    const uint32_t a = 0xC6130000u + uint32_t(i);  // 198.19.x.y
    return {{tcp::Address::ipv4(198, 18, 0, 2), 80},
            {tcp::Address::ipv4(uint8_t(a >> 24), uint8_t(a >> 16), uint8_t(a >> 8), uint8_t(a)),
             uint16_t(1024 + i)}};
}

// A Linux-like SYN: MSS, SACK-permitted, timestamps, window scale.
tcp::Segment syn(size_t i) {
    tcp::Segment s;
    s.src_port = uint16_t(1024 + i);
    s.dst_port = 80;
    s.seq = wire::SeqNum(uint32_t(i * 2654435761u));
    s.flags = tcp::Flags::Syn;
    s.window = 64240;
    s.options.has_mss = true;
    s.options.mss = 1460;
    s.options.sack_permitted = true;
    s.options.has_timestamps = true;
    s.options.ts_val = 1000 + uint32_t(i);
    s.options.has_wscale = true;
    s.options.wscale = 7;
    return s;
}

void report(benchmark::State& state, uint64_t cycles, uint64_t ops) {
    state.counters["cycles/op"] = benchmark::Counter(double(cycles) / double(ops ? ops : 1));
    // From the TSC too: the loop's own wall time, harness excluded.
    const double secs = double(cycles) / double(rte_get_tsc_hz());
    state.counters["Mpps"] = benchmark::Counter(secs > 0 ? double(ops) / secs / 1e6 : 0.0);
}

const time::Instant kNow = time::Instant::from_ns(0) + 20 * tcp::kDefaultCookiePeriod + 10s;

void BM_CookieSynAck(benchmark::State& state) {
    tcp::Config cfg;
    tcp::CookieSecrets secrets(bench_key());
    secrets.rotate_if_due(kNow);
    std::vector<tcp::FourTuple> tuples;
    std::vector<tcp::Segment> syns;
    for (size_t i = 0; i < kSources; ++i) {
        tuples.push_back(tuple(i));
        syns.push_back(syn(i));
    }
    size_t i = 0;
    uint64_t ops = 0;
    const uint64_t start = rte_rdtsc();
    for (auto _ : state) {
        tcp::OutSegment o = tcp::make_syn_ack(cfg, secrets, tuples[i], syns[i], kNow);
        benchmark::DoNotOptimize(o);
        i = (i + 1) & (kSources - 1);
        ++ops;
    }
    report(state, rte_rdtsc() - start, ops);
}
BENCHMARK(BM_CookieSynAck);

void BM_CookieCheckAck(benchmark::State& state) {
    tcp::Config cfg;
    tcp::CookieSecrets secrets(bench_key());
    secrets.rotate_if_due(kNow);
    std::vector<tcp::FourTuple> tuples;
    std::vector<tcp::Segment> acks;
    for (size_t i = 0; i < kSources; ++i) {
        tuples.push_back(tuple(i));
        const tcp::Segment s = syn(i);
        const tcp::OutSegment sa = tcp::make_syn_ack(cfg, secrets, tuples[i], s, kNow);
        tcp::Segment a;
        a.src_port = s.src_port;
        a.dst_port = s.dst_port;
        a.seq = s.seq + 1;
        a.ack = sa.seq + 1;
        a.flags = tcp::Flags::Ack;
        a.window = 502;
        a.options.has_timestamps = true;
        a.options.ts_val = s.options.ts_val + 1;
        a.options.ts_ecr = sa.options.ts_val;
        acks.push_back(a);
    }
    const time::Instant later = kNow + 50ms;
    if (!tcp::check_ack(cfg, secrets, tuples[0], acks[0], later)) {
        state.SkipWithError("the cookie does not validate");  // would time the error path
        return;
    }
    size_t i = 0;
    uint64_t ops = 0;
    const uint64_t start = rte_rdtsc();
    for (auto _ : state) {
        auto r = tcp::check_ack(cfg, secrets, tuples[i], acks[i], later);
        benchmark::DoNotOptimize(r);
        i = (i + 1) & (kSources - 1);
        ++ops;
    }
    report(state, rte_rdtsc() - start, ops);
}
BENCHMARK(BM_CookieCheckAck);

// A Worker with one `always` cookie listener on a net_ring port.
struct RingWorker {
    rte_ring* rx = nullptr;
    rte_ring* tx = nullptr;
    dev::Port port;
    engine::NetConfig net;
    std::unique_ptr<sluice::Counters> counters;
    std::unique_ptr<engine::Worker> worker;
    wire::MacAddr mac;
    std::string error;

    RingWorker() {
        static int n = 0;
        const std::string id = std::to_string(n++);
        rx = rte_ring_create(("brx" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        tx = rte_ring_create(("btx" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (!rx || !tx || rte_eth_from_rings(("b" + id).c_str(), &rx, 1, &tx, 1, 0) < 0) {
            error = "cannot create the ring port";
            return;
        }
        auto p = dev::open_port({.device = "net_ring_b" + id, .mbufs_per_queue = 8191});
        if (!p) {
            error = p.error().message;
            return;
        }
        port = std::move(*p);
        std::memcpy(mac.b.data(), port.mac, 6);
        net.address = wire::Ipv4Prefix{wire::IpAddr::v4(0xC6120002), 24};
        counters = std::make_unique<sluice::Counters>();
        worker = std::make_unique<engine::Worker>(net, port, 0, *counters);
        engine::TcpHostConfig c;
        c.max_connections = 64;
        c.max_time_wait = 64;
        c.listeners = {engine::ListenerConfig{.port = 80,
                                              .service = engine::Service::Http,
                                              .syn = {.mode = tcp::SynCookieMode::Always}}};
        if (auto r = worker->enable_tcp(c); !r) error = r.error().message;
    }
    ~RingWorker() {
        worker.reset();
        if (!port.pools.empty()) dev::close_port(port);
    }
};

void BM_WorkerSynToSynAck(benchmark::State& state) {
    RingWorker w;
    if (!w.error.empty()) {
        state.SkipWithError(w.error.c_str());
        return;
    }
    // Pre-built SYN frames; an extra reference keeps each alive across the worker's free.
    std::vector<rte_mbuf*> syns(kSources);
    for (size_t i = 0; i < kSources; ++i) {
        rte_mbuf* m = rte_pktmbuf_alloc(w.port.pools[0]);
        if (m == nullptr) {
            state.SkipWithError("mempool empty");
            return;
        }
        const tcp::FourTuple t = tuple(i);
        wire::IpAddr src = wire::IpAddr::v4(0);
        src.bytes = t.remote.addr.bytes;
        const wire::L3Header l3{.src_mac = wire::MacAddr{{0x02, 0, 0, 0, 0xf1, 0}},
                                .dst_mac = w.mac,
                                .src = src,
                                .dst = w.net.address.addr};
        const tcp::Segment s = syn(i);
        const wire::TcpHeaderSpec spec{.src_port = s.src_port,
                                       .dst_port = 80,
                                       .seq = s.seq,
                                       .flags = wire::tcp_flags::Syn,
                                       .window = s.window,
                                       .options = s.options};
        std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*),
                               static_cast<size_t>(rte_pktmbuf_tailroom(m))};
        const size_t len = wire::build_tcp(buf, l3, spec, {}, wire::CsumMode::Software);
        m->data_len = uint16_t(len);
        m->pkt_len = uint32_t(len);
        syns[i] = m;
    }
    constexpr unsigned kBurst = engine::Worker::kBurst;
    size_t next = 0;
    uint64_t ops = 0, out = 0;
    void* done[kBurst * 2];
    const uint64_t start = rte_rdtsc();
    for (auto _ : state) {
        for (unsigned k = 0; k < kBurst; ++k) rte_mbuf_refcnt_update(syns[next + k], 1);
        rte_ring_enqueue_bulk(w.rx, reinterpret_cast<void**>(&syns[next]), kBurst, nullptr);
        next = (next + kBurst) & (kSources - 1);
        w.worker->poll();
        const unsigned got = rte_ring_dequeue_burst(w.tx, done, kBurst * 2, nullptr);
        rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(done), got);
        ops += kBurst;
        out += got;
    }
    const uint64_t cycles = rte_rdtsc() - start;
    if (out != ops) state.SkipWithError("not one SYN-ACK per SYN");
    report(state, cycles, ops);
    state.counters["SynAcksSent"] = benchmark::Counter(double(out));
    for (rte_mbuf* m : syns) rte_pktmbuf_free(m);
}
BENCHMARK(BM_WorkerSynToSynAck);

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) {
    if (!sluice::bench::init_eal("bench_syn")) return 1;
    sluice::bench::print_build();
    std::printf("TSC: %.3f GHz\n", double(rte_get_tsc_hz()) / 1e9);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    rte_eal_cleanup();
    return 0;
}
