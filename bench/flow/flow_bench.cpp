// bench/flow: the per-worker flow table (lib/flow/flow_table.hpp) at 1k, 100k and 1M flows.
// ns per lookup for one key at a time (what the worker's RX path does per frame) and for a
// burst of 32 through lookup_bulk (every home slot prefetched first), hits on keys drawn at
// random from the table, plus a burst of misses (a SYN flood's shape), and an erase + insert
// pair (a connection's table traffic). Each for IPv4 and IPv6 flows (the second argument: 0
// or 1; one slot array per family with packed keys). Before the benchmarks it prints what a
// table of 1M flows takes from the DPDK heap, IPv4 only and with the IPv6 half.
// Needs the EAL: ordinary memory, no devices.
//
//   build/bench/flow/bench_flow [--benchmark_filter=...]

#include <benchmark/benchmark.h>
#include <rte_eal.h>
#include <rte_malloc.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "flow/flow_table.hpp"
#include "wire/addr.hpp"

namespace sluice {
namespace {

constexpr unsigned kBurst = 32;  // as the worker's RX burst

wire::FlowKey key_of(uint32_t i, bool v6 = false) {
    wire::FlowKey k{};
    k.local = wire::IpAddr::v4(0xC6120002);
    k.remote = wire::IpAddr::v4(0xC6120000u + (i >> 14));  // 16k ports per address
    if (v6) {  // 2001:2::2 and 2001:2::<i >> 14> (RFC 5180 prefix)
        k.local = *wire::IpAddr::parse("2001:2::2");
        k.remote = *wire::IpAddr::parse("2001:2::");
        k.remote.bytes[14] = uint8_t(i >> 22);
        k.remote.bytes[15] = uint8_t(i >> 14);
    }
    k.local_port = 80;
    k.remote_port = static_cast<uint16_t>(1024 + (i & 0x3fff));
    return k;
}

// One table per size, filled once and kept for every benchmark of that size.
struct Filled {
    std::optional<flow::FlowTable> table;
    std::vector<wire::FlowKey> keys;
    std::vector<uint32_t> hashes;
};

// Freed before rte_eal_cleanup() (main): a static destructor after it would free the tables
// into a torn-down EAL (a segfault at exit, which fails the report's micro phase).
std::vector<std::pair<uint64_t, std::unique_ptr<Filled>>>& table_cache() {
    static std::vector<std::pair<uint64_t, std::unique_ptr<Filled>>> cache;
    return cache;
}

Filled& table_of(uint32_t flows, bool v6) {
    auto& cache = table_cache();
    const uint64_t id = uint64_t(flows) << 1 | (v6 ? 1 : 0);
    for (auto& [n, f] : cache)
        if (n == id) return *f;
    auto f = std::make_unique<Filled>();
    auto t = flow::FlowTable::create("bench_flows_" + std::to_string(id), flows, v6 ? flows : 0, 0);
    if (!t) {
        std::fprintf(stderr, "%s\n", t.error().message.c_str());
        std::abort();
    }
    f->table.emplace(std::move(*t));
    for (uint32_t i = 0; i < flows; ++i) {
        f->keys.push_back(key_of(i, v6));
        f->hashes.push_back(f->table->hash(f->keys.back()));
        if (!f->table->insert(f->keys.back(), f->hashes.back(),
                              reinterpret_cast<void*>(uintptr_t(i + 1) << 4))) {
            std::fprintf(stderr, "insert %u of %u failed\n", i, flows);
            std::abort();
        }
    }
    cache.emplace_back(id, std::move(f));
    return *cache.back().second;
}

// Random probe order, fixed per size, so each burst touches unrelated buckets.
std::vector<uint32_t> probe_order(uint32_t flows) {
    std::vector<uint32_t> order(1u << 16);
    std::mt19937 rng(flows);
    for (auto& o : order) o = rng() % flows;
    return order;
}

void BM_LookupOne(benchmark::State& state) {
    const auto flows = static_cast<uint32_t>(state.range(0));
    const bool v6 = state.range(1) != 0;
    Filled& f = table_of(flows, v6);
    const auto order = probe_order(flows);
    size_t at = 0;
    uint64_t hits = 0;
    for (auto _ : state) {
        for (unsigned i = 0; i < kBurst; ++i) {
            const uint32_t k = order[at++ & 0xffff];
            // The hash as the worker has it: computed once per frame.
            hits += f.table->lookup(f.keys[k], f.hashes[k]) != nullptr;
        }
    }
    benchmark::DoNotOptimize(hits);
    state.SetItemsProcessed(int64_t(state.iterations()) * kBurst);
    state.counters["ns_per_lookup"] =
        benchmark::Counter(double(state.iterations()) * kBurst,
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_LookupBulk(benchmark::State& state) {
    const auto flows = static_cast<uint32_t>(state.range(0));
    const bool v6 = state.range(1) != 0;
    Filled& f = table_of(flows, v6);
    const auto order = probe_order(flows);
    size_t at = 0;
    uint64_t hits = 0;
    const wire::FlowKey* keys[kBurst];
    uint32_t hashes[kBurst];
    void* values[kBurst];
    for (auto _ : state) {
        for (unsigned i = 0; i < kBurst; ++i) {
            const uint32_t k = order[at++ & 0xffff];
            keys[i] = &f.keys[k];
            hashes[i] = f.hashes[k];
        }
        hits += f.table->lookup_bulk(keys, hashes, kBurst, values);
    }
    benchmark::DoNotOptimize(hits);
    state.SetItemsProcessed(int64_t(state.iterations()) * kBurst);
    state.counters["ns_per_lookup"] =
        benchmark::Counter(double(state.iterations()) * kBurst,
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_LookupBulkMiss(benchmark::State& state) {
    const auto flows = static_cast<uint32_t>(state.range(0));
    const bool v6 = state.range(1) != 0;
    Filled& f = table_of(flows, v6);
    std::vector<wire::FlowKey> misses;
    std::vector<uint32_t> mh;
    for (uint32_t i = 0; i < 4096; ++i) {
        wire::FlowKey k = key_of(i, v6);
        k.local_port = 81;  // nobody listens there: never in the table
        misses.push_back(k);
        mh.push_back(f.table->hash(k));
    }
    size_t at = 0;
    uint64_t hits = 0;
    const wire::FlowKey* keys[kBurst];
    uint32_t hashes[kBurst];
    void* values[kBurst];
    for (auto _ : state) {
        for (unsigned i = 0; i < kBurst; ++i) {
            keys[i] = &misses[at & 4095];
            hashes[i] = mh[at++ & 4095];
        }
        hits += f.table->lookup_bulk(keys, hashes, kBurst, values);
    }
    benchmark::DoNotOptimize(hits);
    state.counters["ns_per_lookup"] =
        benchmark::Counter(double(state.iterations()) * kBurst,
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// A connection's table traffic: erase a flow and insert it back (what a connection's end and
// the next one's start cost the owner), keys at random. Cycles per erase + insert pair.
void BM_EraseInsert(benchmark::State& state) {
    const auto flows = static_cast<uint32_t>(state.range(0));
    const bool v6 = state.range(1) != 0;
    Filled& f = table_of(flows, v6);
    const auto order = probe_order(flows);
    size_t at = 0;
    uint64_t ok = 0;
    for (auto _ : state) {
        const uint32_t k = order[at++ & 0xffff];
        ok += f.table->erase(f.keys[k], f.hashes[k]);
        ok += f.table->insert(f.keys[k], f.hashes[k], reinterpret_cast<void*>(uintptr_t(k + 1) << 4));
    }
    if (ok != 2 * uint64_t(state.iterations())) state.SkipWithError("erase/insert failed");
    state.counters["ns_per_pair"] = benchmark::Counter(
        double(state.iterations()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK(BM_EraseInsert)->ArgsProduct({{1000, 1000000}, {0, 1}});
BENCHMARK(BM_LookupOne)->ArgsProduct({{1000, 100000, 1000000}, {0, 1}});
BENCHMARK(BM_LookupBulk)->ArgsProduct({{1000, 100000, 1000000}, {0, 1}});
BENCHMARK(BM_LookupBulkMiss)->ArgsProduct({{1000, 100000, 1000000}, {0, 1}});

}  // namespace

// DPDK heap bytes a table of `flows` takes (IPv4 table, plus an IPv6 one of the same size).
size_t heap_bytes_of(uint32_t flows, bool v6) {
    rte_malloc_socket_stats before{}, after{};
    rte_malloc_get_socket_stats(0, &before);
    auto t = flow::FlowTable::create("bench_mem_" + std::to_string(v6), flows, v6 ? flows : 0, 0);
    rte_malloc_get_socket_stats(0, &after);
    return t ? after.heap_allocsz_bytes - before.heap_allocsz_bytes : 0;
}

void print_memory() {
    constexpr uint32_t kFlows = 1'000'000;
    const size_t v4 = heap_bytes_of(kFlows, false), both = heap_bytes_of(kFlows, true);
    std::printf("flow table, %u flows per family: IPv4 only %.1f MB (%.1f B/flow); with the "
                "IPv6 table %.1f MB (IPv6 %.1f B/flow). Slots: IPv4 %zu B, IPv6 %zu B\n",
                kFlows, double(v4) / 1e6, double(v4) / kFlows, double(both) / 1e6,
                double(both - v4) / kFlows, flow::FlowTable::slot_bytes(wire::Family::V4),
                flow::FlowTable::slot_bytes(wire::Family::V6));
}

}  // namespace sluice

int main(int argc, char** argv) {
    const char* eal_argv[] = {"bench_flow",     "--no-huge",          "-m",
                              "1024",           "--no-shconf",        "--no-pci",
                              "--no-telemetry", "--log-level=*:error"};
    if (rte_eal_init(int(std::size(eal_argv)), const_cast<char**>(eal_argv)) < 0) {
        std::fprintf(stderr, "bench_flow: EAL init failed\n");
        return 1;
    }
    benchmark::Initialize(&argc, argv);
    if (std::getenv("BENCH_FLOW_NO_MEMORY") == nullptr) sluice::print_memory();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    sluice::table_cache().clear();
    rte_eal_cleanup();
    return 0;
}
