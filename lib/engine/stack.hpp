#pragma once
// The Stack owns a port and one Worker per lcore, and publishes their counters through DPDK
// telemetry (/sluice/stats, /sluice/stats/worker,<n>, /sluice/info).
//
// Threads: create() and the destructor run on the main lcore, after rte_eal_init. run()
// blocks the main lcore (it is worker 0) until `stop` is set, e.g. from a signal handler.
// totals() and the telemetry commands may be called from any thread at any time.

#include <sluice/counters.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <vector>

#include "dev/error.hpp"
#include "dev/port.hpp"
#include "engine/config.hpp"
#include "engine/worker.hpp"

struct rte_ring;

namespace sluice::engine {

// Lets dpdk-dumpcap (a secondary process) capture this primary's ports: rte_pdump_init(),
// once per process; Stack::create calls it. False when unavailable (no shared config, or a
// secondary process). Main lcore, after rte_eal_init.
bool enable_capture();

class Stack {
public:
    // Opens the port (one queue pair per EAL lcore) and builds the workers. Only one Stack may
    // exist per process (telemetry names are process-wide).
    static dev::Result<std::unique_ptr<Stack>> create(const StackConfig& cfg);
    ~Stack();
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;

    // Runs every worker until `stop` is true; returns once all have stopped.
    void run(const std::atomic<bool>& stop);

    const dev::Port& port() const { return port_; }
    const StackConfig& config() const { return cfg_; }
    // How IPv6 multicast (Neighbor Discovery) reaches the workers: "filtered" (the NIC's
    // multicast list), "all" (all-multicast mode), "as the device passes it", "not needed".
    const std::string& ipv6_multicast() const { return multicast_; }
    size_t worker_count() const { return workers_.size(); }
    const Counters& counters(size_t worker) const { return *counters_[worker]; }
    Worker& worker(size_t i) { return *workers_[i]; }
    const TcpHost* tcp(size_t i) const { return workers_[i]->tcp(); }
    std::array<uint64_t, kCounterCount> totals() const;

private:
    explicit Stack(const StackConfig& cfg) : cfg_(cfg) {}
    // Rings between every pair of workers (worker.hpp set_steering).
    dev::Result<dev::Ok> connect_workers();
    void join_ipv6_groups();

    // Entries per steering ring: a few bursts of slack for an owner that is busy.
    static constexpr unsigned kSteerRingSize = 1024;

    StackConfig cfg_;
    dev::Port port_;
    bool port_open_ = false;
    std::string multicast_ = "not needed";  // how IPv6 groups reach us (join_ipv6_groups)
    std::vector<std::unique_ptr<Counters>> counters_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<rte_ring*> rings_;  // [from * workers + to], nullptr on the diagonal
};

}  // namespace sluice::engine
