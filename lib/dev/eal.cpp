#include "dev/eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace sluice::dev {

SplitArgs split_args(int argc, char** argv) {
    SplitArgs out;
    int i = 0;
    for (; i < argc; ++i) {
        if (i > 0 && std::strcmp(argv[i], "--") == 0) break;
        out.eal.emplace_back(argv[i]);
    }
    out.app.emplace_back(argc > 0 ? argv[0] : "sluice");
    for (++i; i < argc; ++i) out.app.emplace_back(argv[i]);
    return out;
}

namespace {

bool has_option(const std::vector<std::string>& args, std::initializer_list<const char*> names) {
    return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
        return std::any_of(names.begin(), names.end(), [&](const char* n) {
            const size_t len = std::strlen(n);
            // "-l", "-l1", "--lcores", "--lcores=..."
            return a.compare(0, len, n) == 0 && (a.size() == len || n[1] != '-' || a[len] == '=');
        });
    });
}

}  // namespace

std::vector<std::string> merge_eal_args(std::vector<std::string> eal, const EalDefaults& d) {
    if (eal.empty()) eal.emplace_back("sluice");
    if (!d.lcores.empty() && !has_option(eal, {"-l", "--lcores", "-c"})) {
        eal.emplace_back("-l");
        eal.push_back(d.lcores);
    }
    if (!d.vdev.empty() && !has_option(eal, {"--vdev", "-a", "--allow"})) {
        eal.push_back("--vdev=" + d.vdev);
        // A virtual device is all we want: don't grab PCI devices that happen to be bound.
        if (!has_option(eal, {"--no-pci"})) eal.emplace_back("--no-pci");
    }
    if (!d.file_prefix.empty() && !has_option(eal, {"--file-prefix", "--in-memory"})) {
        eal.push_back("--file-prefix=" + d.file_prefix);
    }
    if (!d.hugepages && !has_option(eal, {"--no-huge"})) eal.emplace_back("--no-huge");
    if (d.memory_mb != 0 && !has_option(eal, {"-m", "--socket-mem"})) {
        eal.emplace_back("-m");
        eal.push_back(std::to_string(d.memory_mb));
    }
    return eal;
}

uint64_t free_hugepages() {
    uint64_t total = 0;
    std::error_code ec;
    for (const auto& d : std::filesystem::directory_iterator("/sys/kernel/mm/hugepages", ec)) {
        std::ifstream f(d.path() / "free_hugepages");
        uint64_t n = 0;
        if (f >> n) total += n;
    }
    return total;
}

namespace {
constexpr const char* kHugepageHint =
    "Reserve hugepages (echo 512 > /proc/sys/vm/nr_hugepages) or run from ordinary memory: "
    "add --no-huge before `--`, or set memory.hugepages = false in the config.";
}

Result<Ok> eal_init(const std::vector<std::string>& args) {
    const bool wants_huge = !has_option(args, {"--no-huge"});
    // Say it plainly before the EAL says "Cannot get hugepage information".
    if (wants_huge && free_hugepages() == 0) {
        return Error{std::string("no free hugepages. ") + kHugepageHint};
    }
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(args.size()), argv.data()) >= 0) return Ok{};

    const int err = rte_errno;
    std::string msg = "EAL initialisation failed: ";
    msg += rte_strerror(err);
    switch (err) {
        case EACCES:
            msg += geteuid() == 0 ? std::string(". Hugepages unusable? ") + kHugepageHint
                                  : ". Run as root (DPDK needs it for hugepages and raw sockets).";
            break;
        case ENOMEM: msg += std::string(". Out of memory for the EAL. ") + kHugepageHint; break;
        case EALREADY: msg += ". The EAL was already initialised in this process."; break;
        case EBUSY:
        case EEXIST:
            msg +=
                ". Another DPDK process uses this runtime directory: give this one its own "
                "--file-prefix (or --in-memory).";
            break;
        default: msg += ". Check the EAL arguments before `--` (see the log above)."; break;
    }
    return Error{std::move(msg)};
}

void eal_cleanup() {
    rte_eal_cleanup();
}

}  // namespace sluice::dev
