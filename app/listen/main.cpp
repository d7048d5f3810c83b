// sluice-listen: serves TCP on a DPDK port.
//
//   sluice-listen [EAL options] -- [--config FILE] [--address A/P] [--gateway G] ...
//
// EAL options come first, as in every DPDK application; whatever the config implies (lcores,
// the virtual device, --no-huge) is added unless given there already.

#include <sluice/counters.hpp>
#include <sluice/version.hpp>

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "common/cli.hpp"
#include "dev/eal.hpp"
#include "engine/config.hpp"
#include "engine/stack.hpp"

namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void on_signal(int) {
    g_stop.store(true, std::memory_order_relaxed);
}

// One line a second (issue 8): new connections/s, established, TIME-WAIT, cookies sent and
// validated, drops. Read from the published counters, so the workers do nothing for it.
void print_status(const sluice::engine::Stack& s, const std::atomic<bool>& stop) {
    using namespace sluice;
    auto drops = [](const std::array<uint64_t, kCounterCount>& t) {
        uint64_t n = t[size_t(Counter::ListenDrops)];
        for (size_t i = 0; i < kCounterCount; ++i)
            if (kCounterNames[i].starts_with("Drop")) n += t[i];
        return n;
    };
    auto prev = s.totals();
    auto last = std::chrono::steady_clock::now();
    while (!stop.load(std::memory_order_relaxed)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::seconds(1)) continue;
        const auto t = s.totals();
        const double secs = std::chrono::duration<double>(now - last).count();
        auto at = [&](Counter c) { return t[size_t(c)]; };
        auto delta = [&](Counter c) { return double(t[size_t(c)] - prev[size_t(c)]) / secs; };
        std::printf(
            "conn/s %8.0f | estab %7llu | time-wait %7llu | cookies sent %9llu ok %8llu bad %6llu "
            "| drops %llu (+%.0f/s)\n",
            delta(Counter::PassiveOpens) + delta(Counter::ActiveOpens),
            (unsigned long long)at(Counter::CurrEstab), (unsigned long long)at(Counter::StateTimeWait),
            (unsigned long long)at(Counter::SyncookiesSent),
            (unsigned long long)at(Counter::SyncookiesRecv),
            (unsigned long long)at(Counter::SyncookiesFailed), (unsigned long long)drops(t),
            double(drops(t) - drops(prev)) / secs);
        std::fflush(stdout);
        prev = t;
        last = now;
    }
}

int fail(const std::string& msg) {
    std::fprintf(stderr, "sluice-listen: %s\n", msg.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace sluice;
    auto split = dev::split_args(argc, argv);

    CLI::App cli{
        "sluice-listen: a kernel-bypass TCP endpoint on DPDK.\n"
        "Run as: sluice-listen [EAL options] -- [options below]",
        "sluice-listen"};
    std::string config_path = SLUICE_DEFAULT_CONFIG;
    engine::Overrides ov;
    bool print_stats = true;
    std::string status = "auto";
    cli.add_option("-c,--config", config_path, "TOML config file")->capture_default_str();
    app::add_port_options(cli, ov);
    cli.add_option("--prefix", ov.prefix, "prefix length of the on-link network (0-32)");
    cli.add_flag("!--no-stats", print_stats, "do not print the counters on exit");
    cli.add_option("--status", status, "a status line every second: auto (on a terminal), on, off")
        ->check(CLI::IsMember({"auto", "on", "off"}))
        ->capture_default_str();
    cli.set_version_flag("--version", kVersionString);
    if (const int code = app::parse_app_args(cli, split.app); code >= 0) return code;

    auto cfg = engine::load_config(config_path);
    if (!cfg) {
        return fail(cfg.error().message +
                    " (pass --config FILE; config/listen.toml in the source tree documents "
                    "every key)");
    }
    if (auto r = engine::apply_overrides(*cfg, ov); !r) return fail(r.error().message);

    const auto eal_args = dev::merge_eal_args(split.eal, cfg->eal_defaults());
    if (auto r = dev::eal_init(eal_args); !r) return fail(r.error().message);

    int rc = 0;
    {
        auto stack = engine::Stack::create(*cfg);
        if (!stack) {
            dev::eal_cleanup();
            return fail(stack.error().message);
        }
        auto& s = **stack;
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);

        const auto& p = s.port();
        std::printf(
            "sluice-listen %s: ready on %s via %s (%s, mac "
            "%02x:%02x:%02x:%02x:%02x:%02x), %zu worker(s), steering %s (%s), tx checksum %s\n",
            kVersionString,
            (cfg->net.address.to_string() +
             (cfg->net.address6 ? " and " + cfg->net.address6->to_string() : ""))
                .c_str(),
            p.name.c_str(), p.driver.c_str(), p.mac[0], p.mac[1], p.mac[2], p.mac[3], p.mac[4],
            p.mac[5], s.worker_count(), dev::steering_name(p.steering), p.steering_why.c_str(),
            p.caps.tx_ip_csum && p.caps.tx_tcp_csum ? "offloaded" : "in software");
        std::fflush(stdout);

        std::thread status_thread;
        if (status == "on" || (status == "auto" && ::isatty(STDOUT_FILENO)))
            status_thread = std::thread(print_status, std::cref(s), std::cref(g_stop));
        s.run(g_stop);
        if (status_thread.joinable()) status_thread.join();

        if (print_stats) {
            const auto totals = s.totals();
            std::printf("sluice-listen: stopped. Counters:\n");
            for (size_t i = 0; i < kCounterCount; ++i) {
                if (totals[i] != 0) {
                    std::printf("  %-32s %llu\n", std::string(kCounterNames[i]).c_str(),
                                static_cast<unsigned long long>(totals[i]));
                }
            }
        }
    }
    dev::eal_cleanup();
    return rc;
}
