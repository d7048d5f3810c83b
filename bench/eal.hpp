#pragma once
// The EAL for benchmarks that need DPDK memory (mempools, rings, net_ring ports): no
// hugepages, no PCI, no shared configuration or telemetry, so a benchmark runs beside a
// running sluice. No lcore list either: the EAL takes the CPU affinity it is started with,
// so `taskset -c 1 bench_x` runs the benchmark on core 1.

#include <rte_eal.h>

#include <cstdio>
#include <iterator>

namespace sluice::bench {

// Which build produced the figures (meson options: buildtype, b_lto, native), on stdout
// before the results; the report and docs/performance.md cite it.
inline void print_build() {
#ifdef SLUICE_BUILD_INFO
    std::printf("build: %s\n", SLUICE_BUILD_INFO);
#else
    std::printf("build: unknown\n");
#endif
}

inline bool init_eal(const char* program) {
    const char* argv[] = {program,    "--no-huge",      "-m", "512", "--no-shconf",
                          "--no-pci", "--no-telemetry", "--log-level=*:error"};
    if (rte_eal_init(int(std::size(argv)), const_cast<char**>(argv)) < 0) {
        std::fprintf(stderr, "%s: EAL init failed\n", program);
        return false;
    }
    return true;
}

}  // namespace sluice::bench
