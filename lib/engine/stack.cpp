#include "engine/stack.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_telemetry.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "wire/ipv6.hpp"

namespace sluice::engine {

namespace {

// Telemetry callbacks take no context pointer in DPDK 22.11, so the one Stack is found here.
std::atomic<Stack*> g_stack{nullptr};

int tel_stats(const char*, const char*, rte_tel_data* d) {
    const Stack* s = g_stack.load(std::memory_order_acquire);
    if (s == nullptr) return -1;
    const auto totals = s->totals();
    rte_tel_data_start_dict(d);
    for (size_t i = 0; i < kCounterCount; ++i) {
        rte_tel_data_add_dict_u64(d, std::string(kCounterNames[i]).c_str(), totals[i]);
    }
    return 0;
}

int tel_worker_stats(const char*, const char* params, rte_tel_data* d) {
    const Stack* s = g_stack.load(std::memory_order_acquire);
    if (s == nullptr || params == nullptr || *params == '\0') return -1;
    char* end = nullptr;
    const unsigned long w = std::strtoul(params, &end, 10);
    if (*end != '\0' || w >= s->worker_count()) return -1;
    const Counters& c = s->counters(w);
    rte_tel_data_start_dict(d);
    for (size_t i = 0; i < kCounterCount; ++i) {
        rte_tel_data_add_dict_u64(d, std::string(kCounterNames[i]).c_str(),
                                  c.get(static_cast<Counter>(i)));
    }
    return 0;
}

// DPDK telemetry accepts only [A-Za-z0-9_/] in keys, so states are spelled as identifiers.
constexpr std::array<const char*, tcp::kStateCount> kStateKeys = {
    "Closed",   "Listen",    "SynSent", "SynReceived", "Established", "FinWait1",
    "FinWait2", "CloseWait", "Closing", "LastAck",     "TimeWait"};

// Non-zero state transitions summed over workers: {"FinWait1_Closing": 3, ...}.
int tel_transitions(const char*, const char*, rte_tel_data* d) {
    const Stack* s = g_stack.load(std::memory_order_acquire);
    if (s == nullptr) return -1;
    rte_tel_data_start_dict(d);
    for (size_t from = 0; from < tcp::kStateCount; ++from) {
        for (size_t to = 0; to < tcp::kStateCount; ++to) {
            uint64_t n = 0;
            for (size_t w = 0; w < s->worker_count(); ++w) {
                if (const TcpHost* h = s->tcp(w)) {
                    n += h->transitions().get(static_cast<tcp::State>(from),
                                              static_cast<tcp::State>(to));
                }
            }
            if (n == 0) continue;
            const std::string key = std::string(kStateKeys[from]) + "_" + kStateKeys[to];
            rte_tel_data_add_dict_u64(d, key.c_str(), n);
        }
    }
    return 0;
}

// One page of a worker's connection list. Parameters "<worker>,<offset>": offset 0 takes a
// fresh snapshot (conn_snapshot.hpp), later offsets page through it. Rows are strings
// "STATE local:port remote:port send_queued recv_queued srtt_us cwnd" (sluice-stat parses
// them); at most kConnPage a reply, which keeps it under DPDK's 16 KiB output limit.
constexpr uint32_t kConnPage = 100;

int tel_conns(const char*, const char* params, rte_tel_data* d) {
    Stack* s = g_stack.load(std::memory_order_acquire);
    if (s == nullptr || params == nullptr) return -1;
    char* end = nullptr;
    const unsigned long w = std::strtoul(params, &end, 10);
    if (*end != ',' || w >= s->worker_count() || s->worker(w).tcp() == nullptr) return -1;
    const unsigned long offset = std::strtoul(end + 1, &end, 10);
    if (*end != '\0') return -1;
    ConnSnapshot& snap = s->worker(w).tcp()->snapshot();
    auto lock = snap.reader_lock();
    if (offset == 0 && !snap.request(std::chrono::milliseconds(500))) return -1;
    const auto rows = snap.rows();
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "total", rows.size());
    rte_tel_data_add_dict_u64(d, "truncated", snap.truncated());
    rte_tel_data* list = rte_tel_data_alloc();
    if (list == nullptr) return -1;
    rte_tel_data_start_array(list, RTE_TEL_STRING_VAL);
    for (size_t i = offset; i < rows.size() && i < offset + kConnPage; ++i) {
        const ConnRow& r = rows[i];
        char line[RTE_TEL_MAX_STRING_LEN];
        // IPv6 endpoints in brackets, as ss prints them ("[2001:2::2]:80"). Appended rather
        // than `"[" + s + "]"`: GCC 12 at -O3 reports a false -Wrestrict overlap in the
        // inlined string insert of operator+(const char*, string&&).
        const auto host = [](const wire::IpAddr& a) {
            if (a.is_v4()) return a.to_string();
            std::string bracketed = "[";
            bracketed += a.to_string();
            bracketed += ']';
            return bracketed;
        };
        std::snprintf(line, sizeof line, "%s %s:%u %s:%u %u %u %u %u",
                      std::string(tcp::state_name(r.state)).c_str(), host(r.local).c_str(),
                      r.local_port, r.remote_port == 0 ? "*" : host(r.remote).c_str(),
                      r.remote_port, r.send_queued, r.recv_queued, r.srtt_us, r.cwnd);
        rte_tel_data_add_array_string(list, line);
    }
    rte_tel_data_add_dict_container(d, "rows", list, 0);
    return 0;
}

int tel_info(const char*, const char*, rte_tel_data* d) {
    const Stack* s = g_stack.load(std::memory_order_acquire);
    if (s == nullptr) return -1;
    const auto& p = s->port();
    const auto& net = s->config().net;
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_string(d, "port", p.name.c_str());
    rte_tel_data_add_dict_string(d, "driver", p.driver.c_str());
    rte_tel_data_add_dict_string(
        d, "address",
        (net.address.addr.to_string() + "/" + std::to_string(net.address.len)).c_str());
    if (net.address6) {
        rte_tel_data_add_dict_string(d, "address6", net.address6->to_string().c_str());
        rte_tel_data_add_dict_string(d, "ipv6_multicast", s->ipv6_multicast().c_str());
    }
    char mac[32];
    std::snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", p.mac[0], p.mac[1], p.mac[2],
                  p.mac[3], p.mac[4], p.mac[5]);
    rte_tel_data_add_dict_string(d, "mac", mac);
    rte_tel_data_add_dict_int(d, "workers", static_cast<int>(s->worker_count()));
    rte_tel_data_add_dict_int(d, "rss", p.caps.rss);
    rte_tel_data_add_dict_string(d, "steering", dev::steering_name(p.steering));
    rte_tel_data_add_dict_int(d, "tx_csum_offload", p.caps.tx_ip_csum && p.caps.tx_tcp_csum);
    rte_tel_data_add_dict_int(d, "rx_csum_offload", p.caps.rx_ip_csum && p.caps.rx_l4_csum);
    return 0;
}

void register_telemetry() {
    static bool done = false;
    if (done) return;
    done = true;
    rte_telemetry_register_cmd("/sluice/stats", tel_stats,
                               "Counters summed over all workers (nstat names). No parameters");
    rte_telemetry_register_cmd("/sluice/stats/worker", tel_worker_stats,
                               "One worker's counters. Parameter: worker index");
    rte_telemetry_register_cmd("/sluice/tcp/transitions", tel_transitions,
                               "TCP state transitions so far, summed over workers");
    rte_telemetry_register_cmd("/sluice/tcp/conns", tel_conns,
                               "One page of a worker's connections. Parameters: worker,offset");
    rte_telemetry_register_cmd("/sluice/info", tel_info,
                               "Port, driver, address, MAC, worker count, offloads");
}

struct LaunchArg {
    Worker* worker;
    const std::atomic<bool>* stop;
};

int worker_main(void* p) {
    auto* a = static_cast<LaunchArg*>(p);
    a->worker->run(*a->stop);
    return 0;
}

}  // namespace

dev::Result<std::unique_ptr<Stack>> Stack::create(const StackConfig& cfg) {
    std::unique_ptr<Stack> s(new Stack(cfg));
    const unsigned lcores = rte_lcore_count();
    s->cfg_.port.queues = static_cast<uint16_t>(lcores);
    auto port = dev::open_port(s->cfg_.port);
    if (!port) return port.error();
    s->port_ = std::move(*port);
    s->port_open_ = true;
    if (s->cfg_.net.address6) s->join_ipv6_groups();
    for (uint16_t q = 0; q < lcores; ++q) {
        s->counters_.push_back(std::make_unique<Counters>());
        s->workers_.push_back(
            std::make_unique<Worker>(s->cfg_.net, s->port_, q, *s->counters_.back()));
        if (auto r = s->workers_.back()->enable_tcp(s->cfg_.tcp); !r) return r.error();
    }
    if (auto r = s->connect_workers(); !r) return r.error();
    register_telemetry();
    g_stack.store(s.get(), std::memory_order_release);
    return s;
}

// A NIC filters multicast: Neighbor Solicitations reach us only if it passes the groups we
// are in (RFC 4861 7.2.1: all-nodes and our solicited-node groups; RFC 2464 7 maps them to
// 33:33:xx). Exact filters where the PMD has them, else all multicast; a virtual device that
// has neither (net_af_packet) passes everything anyway, and the worker checks the group.
void Stack::join_ipv6_groups() {
    wire::MacAddr mac;
    std::memcpy(mac.b.data(), port_.mac, 6);
    const wire::MacAddr groups[] = {
        wire::multicast_mac(wire::all_nodes()),
        wire::multicast_mac(wire::solicited_node(cfg_.net.address6->addr)),
        wire::multicast_mac(wire::solicited_node(wire::link_local_of(mac))),
    };
    rte_ether_addr list[std::size(groups)];
    for (size_t i = 0; i < std::size(groups); ++i)
        std::memcpy(list[i].addr_bytes, groups[i].b.data(), 6);
    if (rte_eth_dev_set_mc_addr_list(port_.id, list, uint32_t(std::size(list))) == 0) {
        multicast_ = "filtered";
    } else if (rte_eth_allmulticast_enable(port_.id) == 0) {
        multicast_ = "all";
    } else {
        multicast_ = "as the device passes it";
    }
}

// One single-producer single-consumer ring per ordered pair of workers: a hand-off costs
// the producer a store-release of the ring's tail and the consumer one of its head, and no
// worker ever waits for another (a full ring is a counted drop, DropSteerRingFull).
dev::Result<dev::Ok> Stack::connect_workers() {
    const size_t n = workers_.size();
    if (n < 2) return dev::Ok{};
    rings_.assign(n * n, nullptr);
    const int socket = int(rte_socket_id()) == SOCKET_ID_ANY ? 0 : int(rte_socket_id());
    for (size_t from = 0; from < n; ++from) {
        for (size_t to = 0; to < n; ++to) {
            if (from == to) continue;
            const std::string name =
                "sluice_steer" + std::to_string(from) + "_" + std::to_string(to);
            rte_ring* r = rte_ring_create(name.c_str(), kSteerRingSize, socket,
                                          RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (r == nullptr) {
                return dev::Error{"cannot create steering ring " + name + ": " +
                                  rte_strerror(rte_errno)};
            }
            rings_[from * n + to] = r;
        }
    }
    const bool forward = port_.steering == dev::Steering::Software;
    for (size_t w = 0; w < n; ++w) {
        std::vector<rte_ring*> out(n, nullptr), in;
        for (size_t o = 0; o < n; ++o) {
            if (o == w) continue;
            out[o] = rings_[w * n + o];
            in.push_back(rings_[o * n + w]);
        }
        workers_[w]->set_steering(std::move(out), std::move(in), forward);
    }
    return dev::Ok{};
}

Stack::~Stack() {
    Stack* self = this;
    g_stack.compare_exchange_strong(self, nullptr);
    workers_.clear();
    for (rte_ring* r : rings_) {
        if (r == nullptr) continue;
        void* m = nullptr;
        while (rte_ring_dequeue(r, &m) == 0) {
            rte_pktmbuf_free(
                reinterpret_cast<rte_mbuf*>(reinterpret_cast<uintptr_t>(m) & ~uintptr_t{1}));
        }
        rte_ring_free(r);
    }
    if (port_open_) dev::close_port(port_);
}

void Stack::run(const std::atomic<bool>& stop) {
    // Worker 0 runs on the main lcore; the others on the EAL's worker lcores, in order.
    std::vector<LaunchArg> args(workers_.size());
    size_t w = 1;
    unsigned lcore = 0;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        args[w] = {workers_[w].get(), &stop};
        rte_eal_remote_launch(worker_main, &args[w], lcore);
        ++w;
    }
    workers_[0]->run(stop);
    rte_eal_mp_wait_lcore();
}

std::array<uint64_t, kCounterCount> Stack::totals() const {
    std::array<uint64_t, kCounterCount> t{};
    for (const auto& c : counters_) {
        for (size_t i = 0; i < kCounterCount; ++i) t[i] += c->get(static_cast<Counter>(i));
    }
    return t;
}

}  // namespace sluice::engine
