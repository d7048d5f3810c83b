// Memory per connection and per TIME-WAIT entry in sluice (issue 9 item 6), from what a
// worker's TCP host allocates when it starts: sluice preallocates a connection's slot (TCB,
// timer nodes), its flow-table entry and a compact TIME-WAIT entry (pool slot, flow-table
// entry), so the cost of N of them is what enable_tcp() allocates with room for N, less what
// it allocates with room for one. The send and receive buffers' share is measured by doubling
// their configured sizes (per_connection_buffers), not assumed.
//
//   mem_sluice [N] [SEND_BUFFER] [RECV_BUFFER]      (defaults: 100000, 32768, 32768 as
//                                                    config/listen.toml)
//
// Heap (glibc mallinfo2: arena in use + mmapped blocks) and DPDK heap (rte_malloc, where the
// rte_hash flow table lives) are both counted, and the resident set growth (VmRSS) beside
// them: the buffers are reserved, not touched, until a connection uses them. Prints one JSON
// object. Runs the EAL with --no-huge on an in-memory net_ring port: no NIC, no worker loop.
#include <malloc.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "dev/port.hpp"
#include "engine/worker.hpp"

namespace {

using namespace sluice;

struct Usage {
    double heap = 0, dpdk = 0, rss = 0;  // bytes
};

Usage usage() {
    Usage u;
    const struct mallinfo2 mi = ::mallinfo2();
    u.heap = double(mi.uordblks + mi.hblkhd);
    rte_malloc_socket_stats st{};
    for (int s = 0; s < RTE_MAX_NUMA_NODES; ++s) {
        if (rte_malloc_get_socket_stats(s, &st) == 0) u.dpdk += double(st.heap_allocsz_bytes);
    }
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) u.rss = 1024.0 * std::strtod(line.c_str() + 6, nullptr);
    }
    return u;
}

// One worker with TCP on a fresh net_ring port; returns what enable_tcp() allocated.
bool measure(uint32_t conns, uint32_t time_wait, uint32_t sndbuf, uint32_t rcvbuf, Usage& out,
             std::string& err) {
    static int n = 0;
    const std::string id = std::to_string(n++);
    rte_ring* rx = rte_ring_create(("mrx" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* tx = rte_ring_create(("mtx" + id).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!rx || !tx || rte_eth_from_rings(("m" + id).c_str(), &rx, 1, &tx, 1, 0) < 0) {
        err = "cannot create the ring port";
        return false;
    }
    auto p = dev::open_port({.device = "net_ring_m" + id, .mbufs_per_queue = 4095});
    if (!p) {
        err = p.error().message;
        return false;
    }
    dev::Port port = std::move(*p);
    engine::NetConfig net;
    net.address = wire::Ipv4Prefix{wire::IpAddr::v4(0xC6120002), 24};
    auto counters = std::make_unique<sluice::Counters>();
    bool ok = true;
    {
        auto worker = std::make_unique<engine::Worker>(net, port, 0, *counters);
        engine::TcpHostConfig c;
        c.tcp.send_buffer = sndbuf;
        c.tcp.recv_buffer = rcvbuf;
        c.max_connections = conns;
        c.max_time_wait = time_wait;
        c.listeners = {engine::ListenerConfig{.port = 80, .service = engine::Service::Http}};
        const Usage before = usage();
        if (auto r = worker->enable_tcp(c); !r) {
            err = r.error().message;
            ok = false;
        } else {
            const Usage after = usage();
            out = {after.heap - before.heap, after.dpdk - before.dpdk, after.rss - before.rss};
        }
    }
    dev::close_port(port);
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    const uint32_t n = argc > 1 ? uint32_t(std::strtoul(argv[1], nullptr, 10)) : 100000;
    const uint32_t snd = argc > 2 ? uint32_t(std::strtoul(argv[2], nullptr, 10)) : 32768;
    const uint32_t rcv = argc > 3 ? uint32_t(std::strtoul(argv[3], nullptr, 10)) : 32768;
    if (n < 2 || n > 4'000'000) {
        std::fprintf(stderr, "mem_sluice: N must be in [2, 4000000]\n");
        return 2;
    }
    const char* eal_argv[] = {"mem_sluice",     "--no-huge",          "-m",
                              "1024",           "--no-shconf",        "--no-pci",
                              "--no-telemetry", "--log-level=*:error"};
    if (rte_eal_init(int(std::size(eal_argv)), const_cast<char**>(eal_argv)) < 0) {
        std::fprintf(stderr, "mem_sluice: EAL init failed\n");
        return 1;
    }
    // The buffers' share is measured, not assumed: the same N with the buffer sizes doubled.
    // Reserved per connection, the difference is one more send + receive buffer each; drawn
    // from the worker's shared (capped) TCP data pool, it is what the pool grew by.
    Usage base, base2, conn, conn2, tw;
    std::string err;
    if (!measure(1, 1, snd, rcv, base, err) || !measure(n + 1, 1, snd, rcv, conn, err) ||
        !measure(1, 1, 2 * snd, 2 * rcv, base2, err) ||
        !measure(n + 1, 1, 2 * snd, 2 * rcv, conn2, err) ||
        !measure(1, n + 1, snd, rcv, tw, err)) {
        std::fprintf(stderr, "mem_sluice: %s\n", err.c_str());
        rte_eal_cleanup();
        return 1;
    }
    auto per = [n](double with, double without) { return (with - without) / double(n); };
    const double conn_heap = per(conn.heap, base.heap), conn_dpdk = per(conn.dpdk, base.dpdk);
    const double tw_heap = per(tw.heap, base.heap), tw_dpdk = per(tw.dpdk, base.dpdk);
    const double conn2_bytes = per(conn2.heap, base2.heap) + per(conn2.dpdk, base2.dpdk);
    const double buffers = conn2_bytes - (conn_heap + conn_dpdk);  // per connection
    std::printf(
        "{\"n\": %u, \"send_buffer\": %u, \"recv_buffer\": %u,\n"
        " \"fixed_bytes\": %.0f,\n"
        " \"per_connection_bytes\": %.1f, \"per_connection_heap\": %.1f, "
        "\"per_connection_dpdk_heap\": %.1f,\n"
        " \"per_connection_buffers\": %.1f,"
        " \"per_connection_without_buffers\": %.1f, \"per_connection_rss_at_start\": %.1f,\n"
        " \"per_time_wait_bytes\": %.1f, \"per_time_wait_heap\": %.1f, "
        "\"per_time_wait_dpdk_heap\": %.1f, \"per_time_wait_rss_at_start\": %.1f}\n",
        n, snd, rcv, base.heap + base.dpdk, conn_heap + conn_dpdk, conn_heap, conn_dpdk, buffers,
        conn_heap + conn_dpdk - buffers, per(conn.rss, base.rss),
        tw_heap + tw_dpdk, tw_heap, tw_dpdk, per(tw.rss, base.rss));
    rte_eal_cleanup();
    return 0;
}
