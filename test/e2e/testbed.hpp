#pragma once
// The end-to-end test bed: the netns pair of scripts/netns.sh (tag "t-"), a sluice-listen
// process in the server namespace, and helpers to run commands in the client namespace.
// Every wait is bounded; the destructors remove what the constructors made, and
// scripts/e2e-run.sh removes the namespaces again if the test binary dies.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sluice::e2e {

inline constexpr const char* kTag = "t-";
inline constexpr const char* kClientNs = "sluice-t-client";
inline constexpr const char* kServerNs = "sluice-t-server";
inline constexpr const char* kServerIface = "sluice-t-srv";
inline constexpr const char* kFilePrefix = "sluice-t";
inline constexpr const char* kSluiceAddr = "198.18.0.2";
inline constexpr const char* kClientAddr = "198.18.0.1";
// IPv6 (Netns(false, true)): the RFC 5180 benchmarking prefix.
inline constexpr const char* kSluiceAddr6 = "2001:2::2";
inline constexpr const char* kClientAddr6 = "2001:2::1";
// The relay bed (Netns(true)): a middle namespace whose two veth ends face the client's and
// the server's; test/e2e/impair forwards between them.
inline constexpr const char* kMidNs = "sluice-t-mid";
inline constexpr const char* kMidClientIface = "sluice-t-mc";
inline constexpr const char* kMidServerIface = "sluice-t-ms";

using Counters = std::map<std::string, uint64_t>;

// A counter's value. One that is not in `c` fails the test (issue 20 item 8: a dead telemetry
// socket gives an empty map, and EXPECT_EQ(get(c, "X"), 0u) must not pass on it) and reads 0.
uint64_t get(const Counters& c, const std::string& name);

// The counters a telemetry `command` of the sluice instance with EAL file prefix `prefix`
// returns, or nullopt when the socket cannot be reached or the reply is not counters.
std::optional<Counters> try_read_counters(const std::string& prefix, const std::string& command);
// The same, where a failed read fails the test (and returns an empty map).
Counters read_counters(const std::string& prefix, const std::string& command);
// Fails the test: `what` could not be read.
void fail_read(const std::string& what);

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr
};

// Runs `cmd` through /bin/sh; `timeout` bounds it (coreutils timeout).
CommandResult run(const std::string& cmd, std::chrono::seconds timeout = std::chrono::seconds(30));
// Runs `cmd` in the client namespace.
CommandResult in_client(const std::string& cmd,
                        std::chrono::seconds timeout = std::chrono::seconds(30));

std::string source_path(const std::string& rel);  // path inside the source tree
std::string build_path(const std::string& rel);   // path inside the build tree

// test/e2e/kstream with `args` (the kernel's end of a stream, kstream.cpp).
std::string kstream(const std::string& args);
// key=value pairs from kstream's output (the last value of each key wins, so take care
// with keys that repeat: "sha256" appears for what was sent and what was received).
std::map<std::string, std::string> fields(const std::string& out);
// The line of `out` that starts at the first occurrence of `prefix` (empty if none).
std::string line_with(const std::string& out, const std::string& prefix);

// Creates the namespaces (with `relay`, the middle one too: scripts/netns.sh up-relay; with
// `ipv6`, the client has 2001:2::1/64 too); removes them on destruction.
// Netns(kFleet): scripts/netns.sh up-fleet (two sluice hosts, fleet_test.cpp).
struct FleetBed {};
inline constexpr FleetBed kFleet{};

class Netns {
public:
    explicit Netns(bool relay = false, bool ipv6 = false);
    explicit Netns(FleetBed);
    ~Netns();
    Netns(const Netns&) = delete;
    Netns& operator=(const Netns&) = delete;
    bool ok() const { return ok_; }
    const std::string& error() const { return error_; }

private:
    bool ok_ = false;
    std::string error_;
};

// Where a sluice program runs: its namespace, the veth end it drives, its DPDK file prefix
// (the telemetry socket's directory). Two at once need two of each.
struct Place {
    std::string ns = kServerNs;
    std::string iface = kServerIface;
    std::string file_prefix = kFilePrefix;
};
// The PMD the bed's sluice drives the server veth end with: SLUICE_PMD=af_xdp selects
// net_af_xdp, anything else (the default) net_af_packet.
bool use_af_xdp();
// With af_xdp, a copy of the config at `path` whose [port] device and vdev_args name
// net_af_xdp on the same interface (qpairs= becomes queue_count=); written to a temporary
// file whose name is returned (the caller removes it). Otherwise `path` itself.
std::string pmd_config(const std::string& path);
// `meson install --destdir` of this build into a fresh temporary directory, removed with the
// object. `tags` limits what is installed ("devel": library, headers, sluice.pc; empty: all).
class StagedInstall {
public:
    explicit StagedInstall(const std::string& tags = {});
    ~StagedInstall();
    StagedInstall(const StagedInstall&) = delete;
    StagedInstall& operator=(const StagedInstall&) = delete;
    bool ok() const { return !pc_.empty(); }
    const std::string& output() const { return output_; }  // meson's, when it failed
    const std::string& dest() const { return dest_; }
    const std::string& pc() const { return pc_; }  // the installed sluice.pc

private:
    std::string dest_, pc_, output_;
};

// A sluice program in the server namespace; the constructor returns once it printed
// `ready_marker` (bounded wait). By default: sluice-listen with config/listen.toml.
class SluiceListen {
public:
    explicit SluiceListen(std::vector<std::string> extra_app_args = {}, std::string config = {},
                          std::string binary = {}, std::string ready_marker = ": ready on ");
    // sluice-listen with `config`, at `where`.
    SluiceListen(std::string config, const Place& where);
    ~SluiceListen();
    SluiceListen(const SluiceListen&) = delete;
    SluiceListen& operator=(const SluiceListen&) = delete;

    bool ok() const { return ok_; }
    const std::string& output() const { return output_; }  // what it printed so far

    // Sends SIGTERM and waits (bounded); returns its exit status, or -1.
    int stop();

    // Counters from /sluice/stats; a failed read fails the test and returns an empty map.
    Counters counters() const;
    // The same, nullopt on failure (for polling loops that retry).
    std::optional<Counters> try_counters() const;
    // One counter; a failed read or a missing counter fails the test.
    uint64_t counter(const std::string& name) const;
    // Raw JSON of a telemetry command.
    std::optional<std::string> telemetry(const std::string& command) const;

    // Reads more output (bounded by `wait`) and returns everything printed so far.
    const std::string& read_output(std::chrono::milliseconds wait);
    // Waits (bounded) until the output contains `text`.
    bool wait_output(const std::string& text, std::chrono::milliseconds limit);

    // Polls the counters until pred holds or `limit` passes; returns the last values read.
    // A read that fails is retried; if none succeeded the test fails.
    template <typename Pred>
    Counters wait_counters(Pred pred, std::chrono::milliseconds limit) const {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        std::optional<Counters> c = try_counters();
        while (!(c && pred(*c)) && std::chrono::steady_clock::now() < deadline) {
            poll_pause();
            if (auto next = try_counters()) c = std::move(next);
        }
        if (!c) fail_read("/sluice/stats (every read failed)");
        return c ? *c : Counters{};
    }

private:
    static void poll_pause();
    void drain(std::chrono::milliseconds wait);

    void start(const Place& where, std::vector<std::string> extra, std::string config,
               std::string binary, const std::string& ready_marker);

    std::string file_prefix_ = kFilePrefix;
    pid_t pid_ = -1;
    int out_fd_ = -1;
    bool ok_ = false;
    std::string output_;
    std::string tmp_config_;  // pmd_config's copy, removed on destruction
};

// A kernel-side program started in the client namespace in the background (bounded by
// `timeout`), read line by line.
class KernelProcess {
public:
    KernelProcess(const std::string& cmd, std::chrono::seconds timeout);
    ~KernelProcess();
    KernelProcess(const KernelProcess&) = delete;
    KernelProcess& operator=(const KernelProcess&) = delete;
    // The next line of output ("" at the end).
    std::string line();
    // Everything up to the end (the process exits by itself).
    std::string rest();

private:
    FILE* f_ = nullptr;
};

}  // namespace sluice::e2e
