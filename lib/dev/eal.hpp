#pragma once
// EAL start-up. DPDK applications take EAL arguments first, then `--`, then their own.

#include <cstdint>
#include <string>
#include <vector>

#include "dev/error.hpp"

namespace sluice::dev {

// What the application wants the EAL to have, filled from its config; each is added to the
// EAL arguments only where the user did not already say it on the command line.
struct EalDefaults {
    std::string lcores;       // "-l" list, e.g. "1" or "0-1"
    std::string vdev;         // "--vdev" value, e.g. "net_af_packet0,iface=sluice-srv"
    std::string file_prefix;  // "--file-prefix"
    bool hugepages = true;    // false adds --no-huge
    uint32_t memory_mb = 0;   // "-m": EAL memory in MB (0: DPDK's default, 64 MB without
                              // hugepages)
};

// Splits argv at the first "--": returns {eal args (argv[0] first), app args (argv[0] first)}.
struct SplitArgs {
    std::vector<std::string> eal;
    std::vector<std::string> app;
};
SplitArgs split_args(int argc, char** argv);

// Merges `defaults` into `eal` (user-given options win) and returns the final list.
std::vector<std::string> merge_eal_args(std::vector<std::string> eal, const EalDefaults& defaults);

// Initialises the EAL. On failure the message explains the likely cause (no hugepages:
// mention --no-huge; no permission: run as root; a second instance: --file-prefix).
Result<Ok> eal_init(const std::vector<std::string>& args);

// Free hugepages of all sizes, from sysfs (0 if none or unreadable).
uint64_t free_hugepages();

// Releases the EAL (rte_eal_cleanup). Safe to call once after a successful eal_init.
void eal_cleanup();

}  // namespace sluice::dev
