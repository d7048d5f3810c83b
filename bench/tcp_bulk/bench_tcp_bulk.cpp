// Single-connection bulk throughput over the in-memory link (issue 5 item 6, first half):
// two sluice stacks in one process (test/lossy/testbed.hpp), no loss, one connection sends
// `bytes` to the other's discard service (OneWay) or echo service (Echo, the same bytes
// back). The figure is payload bytes per TSC cycle (rte_rdtsc) of this thread, from the
// connect to the last byte: both stacks, the link shim and the application run on it, so
// it is the whole cost of moving a byte through sluice twice (send side and receive side).
//
// Run it under the e2e lock (it polls DPDK workers):
//   flock /tmp/sluice-e2e.lock build/bench/tcp_bulk/bench_tcp_bulk
// Counters: bytes_per_cycle (TSC, wall), bytes_per_cpu_cycle (this thread's CPU time at the
// TSC rate: the figure to quote on a shared machine), Gbit_s at that CPU rate, and the
// virtual goodput of the link model.

#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_eal.h>

#include <cstdio>
#include <iterator>
#include <string>

#include "eal.hpp"
#include "testbed.hpp"

namespace {

using namespace sluice::lossy;

void run(benchmark::State& state, bool echo) {
    BedConfig c;
    c.connections = 1;
    c.concurrent = 1;
    c.bytes = uint64_t(state.range(0)) << 20;
    c.buffer = uint32_t(state.range(1)) * 1024;
    c.echo = echo;
    c.msl = std::chrono::milliseconds(10);  // TIME-WAIT is not what is measured
    c.link.delay = std::chrono::microseconds(10);
    c.link.rate_bps = 100'000'000'000;
    uint64_t bytes = 0, cycles = 0, cpu_ns = 0;
    double virt = 0;
    for (auto _ : state) {
        const BedResult r = run_bed(c);
        if (!r.error.empty() || r.completed != 1) {
            state.SkipWithError(r.error.empty() ? "transfer incomplete" : r.error.c_str());
            return;
        }
        bytes += r.bytes_verified * (echo ? 2 : 1);
        cycles += r.data_cycles;
        cpu_ns += r.data_cpu_ns;
        virt += r.goodput();
        state.SetIterationTime(double(r.data_cycles) / double(rte_get_tsc_hz()));
    }
    state.SetBytesProcessed(int64_t(bytes));
    const double bpc = cycles ? double(bytes) / double(cycles) : 0;
    state.counters["bytes_per_cycle"] = bpc;
    const double cpu_cycles = double(cpu_ns) * double(rte_get_tsc_hz()) / 1e9;
    const double bpcc = cpu_cycles > 0 ? double(bytes) / cpu_cycles : 0;
    state.counters["bytes_per_cpu_cycle"] = bpcc;
    state.counters["Gbit_s"] = bpcc * double(rte_get_tsc_hz()) * 8 / 1e9;
    state.counters["virtual_goodput_MB_s"] = virt / double(state.iterations()) / 1e6;
}

void OneWay(benchmark::State& state) {
    run(state, false);
}
void Echo(benchmark::State& state) {
    run(state, true);
}

// Args: MiB to send, buffer KiB.
BENCHMARK(OneWay)
    ->Args({64, 256})
    ->Args({64, 1024})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(Echo)->Args({64, 256})->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    if (!sluice::bench::init_eal("bench_tcp_bulk")) return 1;
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    rte_eal_cleanup();
    return 0;
}
