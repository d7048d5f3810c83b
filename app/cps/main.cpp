// sluice-cps: a connections-per-second benchmark on the sluice engine, and a SYN flooder.
//
//   sluice-cps [EAL options] -- [--config FILE] [--target A:PORT] [--rate N | --concurrency N]
//              [--duration S] [--count N] [--close client|server|rst] [--json] ...
//   sluice-cps [EAL options] -- --syn-flood --flood-prefix P [--flood-rate N] [--flood-count N]
//
// EAL options come first, as in every DPDK application; whatever the config implies (lcores,
// the virtual device, --no-huge) is added unless given there already. config/cps.toml
// documents every key; the options below override it.

#include <sluice/counters.hpp>
#include <sluice/version.hpp>

#include <CLI/CLI.hpp>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/cli.hpp"
#include "cps_config.hpp"
#include "dev/eal.hpp"
#include "driver.hpp"
#include "engine/config.hpp"
#include "engine/stack.hpp"
#include "flood.hpp"
#include "limits.hpp"
#include "prefix.hpp"
#include "report.hpp"

namespace {

using namespace sluice;
using namespace sluice::cps;

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void on_signal(int) {
    g_stop.store(true, std::memory_order_relaxed);
}

int fail(const std::string& msg) {
    std::fprintf(stderr, "sluice-cps: %s\n", msg.c_str());
    return 1;
}

// Command-line values; each one given replaces the config's.
struct Cli {
    std::optional<std::string> target, mode, path, host, close, flood_prefix, test_range;
    std::optional<uint32_t> request_bytes, response_bytes, concurrency, timeout_ms;
    std::optional<uint64_t> rate, count, flood_rate, flood_count;
    std::optional<double> duration_s, flood_duration_s;
    std::optional<std::string> tw_reuse, ephemeral_ports;
    bool no_warmup = false, syn_flood = false, allow_any_prefix = false;
};

template <typename T>
void take(const std::optional<T>& v, T& out) {
    if (v) out = *v;
}

std::optional<std::string> apply_cli(const Cli& c, CpsConfig& cfg, engine::StackConfig& sc) {
    take(c.target, cfg.target);
    take(c.path, cfg.path);
    take(c.host, cfg.host);
    take(c.request_bytes, cfg.request_bytes);
    take(c.response_bytes, cfg.response_bytes);
    take(c.concurrency, cfg.concurrency);
    take(c.timeout_ms, cfg.timeout_ms);
    take(c.rate, cfg.rate);
    take(c.count, cfg.count);
    take(c.duration_s, cfg.duration_s);
    take(c.flood_prefix, cfg.flood_prefix);
    take(c.test_range, cfg.test_range);
    take(c.flood_rate, cfg.flood_rate);
    take(c.flood_count, cfg.flood_count);
    take(c.flood_duration_s, cfg.flood_duration_s);
    if (c.no_warmup) cfg.warmup = false;
    if (c.syn_flood) cfg.syn_flood = true;
    if (c.allow_any_prefix) cfg.allow_any_prefix = true;
    if (c.mode) cfg.mode = *c.mode == "raw" ? Mode::Raw : Mode::Http;
    if (c.close) {
        cfg.close = *c.close == "server" ? CloseMode::Server
                    : *c.close == "rst"  ? CloseMode::Rst
                                         : CloseMode::Client;
    }
    if (c.tw_reuse) sc.tcp.time_wait_reuse = *c.tw_reuse == "on";
    if (c.ephemeral_ports) {
        auto r = engine::parse_port_range(*c.ephemeral_ports);
        if (!r) return "--ephemeral-ports: not a port range like 32768-60999";
        sc.tcp.ephemeral_low = r->first;
        sc.tcp.ephemeral_high = r->second;
    }
    if (cfg.concurrency > sc.tcp.max_connections) {
        return "concurrency " + std::to_string(cfg.concurrency) +
               " is above tcp.max_connections " + std::to_string(sc.tcp.max_connections);
    }
    return std::nullopt;
}

// "198.18.0.1:80" or "[2001:2::1]:80" (RFC 3986 3.2.2 brackets around an IPv6 literal).
std::optional<std::pair<wire::IpAddr, uint16_t>> parse_target(const std::string& t) {
    const size_t colon = t.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    std::string_view host = std::string_view(t).substr(0, colon);
    const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
    if (bracketed) host = host.substr(1, host.size() - 2);
    auto a = wire::IpAddr::parse(host);
    if (a && a->is_v4() == bracketed) return std::nullopt;  // brackets for IPv6 only
    unsigned port = 0;
    try {
        size_t used = 0;
        port = std::stoul(t.substr(colon + 1), &used);
        if (used != t.size() - colon - 1) return std::nullopt;
    } catch (...) {
        return std::nullopt;
    }
    if (!a || port == 0 || port > 65535) return std::nullopt;
    return std::pair{*a, static_cast<uint16_t>(port)};
}

std::string build_request(const CpsConfig& c, const std::string& target_addr) {
    if (c.mode == Mode::Raw) {
        std::string r(c.request_bytes, 'x');
        for (size_t i = 0; i < r.size(); ++i) r[i] = static_cast<char>('a' + i % 26);
        return r;
    }
    // RFC 9112 3.2: Host is required; "Connection: close" asks the server to close first.
    std::string r = "GET " + c.path + " HTTP/1.1\r\nHost: " + (c.host.empty() ? target_addr : c.host) +
                    "\r\nUser-Agent: sluice-cps/" + kVersionString + "\r\n";
    if (c.close == CloseMode::Server) r += "Connection: close\r\n";
    return r + "\r\n";
}

struct LoopArg {
    engine::Worker* worker = nullptr;
    Driver* driver = nullptr;
};

int worker_loop(void* p) {
    auto* a = static_cast<LoopArg*>(p);
    while (!a->driver->finished()) {
        const time::Instant now = a->worker->now();
        if (g_stop.load(std::memory_order_relaxed)) a->driver->stop(now);
        a->driver->turn(now);
        a->worker->poll();
    }
    return 0;
}

void progress(const std::vector<std::unique_ptr<Driver>>& drivers, const std::atomic<bool>& done) {
    auto sum = [&](auto field) {
        uint64_t n = 0;
        for (const auto& d : drivers) n += (d->live().*field).load(std::memory_order_relaxed);
        return n;
    };
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    uint64_t prev = 0;
    while (!done.load(std::memory_order_relaxed)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::seconds(1)) continue;
        const uint64_t completed = sum(&Driver::Live::completed);
        const double secs = std::chrono::duration<double>(now - last).count();
        std::printf("%5.0fs | conn/s %8.0f | completed %9llu | in flight %6llu | errors %llu\n",
                    std::chrono::duration<double>(now - start).count(),
                    double(completed - prev) / secs, (unsigned long long)completed,
                    (unsigned long long)sum(&Driver::Live::in_flight),
                    (unsigned long long)sum(&Driver::Live::errors));
        std::fflush(stdout);
        prev = completed;
        last = now;
    }
}

std::array<uint64_t, kCounterCount> minus(const std::array<uint64_t, kCounterCount>& a,
                                          const std::array<uint64_t, kCounterCount>& b) {
    std::array<uint64_t, kCounterCount> r{};
    for (size_t i = 0; i < kCounterCount; ++i)
        r[i] = is_gauge(Counter(i)) ? a[i] : a[i] - b[i];
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    auto split = dev::split_args(argc, argv);

    CLI::App cli{
        "sluice-cps: connections per second against a TCP server, on the sluice engine.\n"
        "Run as: sluice-cps [EAL options] -- [options below]. config/cps.toml documents "
        "every setting; options given here override it.",
        "sluice-cps"};
    std::string config_path = SLUICE_DEFAULT_CONFIG;
    engine::Overrides ov;
    Cli c;
    bool json = false;
    std::string progress_mode = "auto";
    cli.add_option("-c,--config", config_path, "TOML config file")->capture_default_str();
    cli.add_option("-t,--target", c.target, "server address:port, e.g. 198.18.0.1:80");
    cli.add_option("--mode", c.mode, "http (GET, response by Content-Length) or raw")
        ->check(CLI::IsMember({"http", "raw"}));
    cli.add_option("--path", c.path, "HTTP request target (default /)");
    cli.add_option("--host", c.host, "HTTP Host header (default: the target address)");
    cli.add_option("--request-bytes", c.request_bytes, "raw: bytes sent per connection");
    cli.add_option("--response-bytes", c.response_bytes,
                   "raw: bytes expected back (0: until the server's FIN)");
    cli.add_option("-r,--rate", c.rate, "new connections per second (0: as fast as allowed)");
    cli.add_option("-n,--concurrency", c.concurrency, "connections in flight at most")
        ->check(CLI::Range(1u, 1u << 24));
    cli.add_option("-d,--duration", c.duration_s, "seconds of load (0: no limit)");
    cli.add_option("--count", c.count, "connections in all (0: no limit)");
    cli.add_option("--close", c.close,
                   "who closes: client (our FIN first), server (wait for its FIN), rst (abort)")
        ->check(CLI::IsMember({"client", "server", "rst"}));
    cli.add_option("--timeout-ms", c.timeout_ms, "per connection, connect to response");
    cli.add_flag("--no-warmup", c.no_warmup, "no untimed first connection");
    cli.add_option("--source", ov.source_addresses,
                   "our source addresses, a range like 198.18.0.10-198.18.0.40 (answered in ARP)");
    cli.add_option("--ephemeral-ports", c.ephemeral_ports, "local port range, e.g. 32768-60999");
    cli.add_option("--tw-reuse", c.tw_reuse, "reuse our TIME-WAIT 4-tuples per RFC 6191")
        ->check(CLI::IsMember({"on", "off"}));
    cli.add_flag("--syn-flood", c.syn_flood, "send spoofed SYNs instead of connecting");
    cli.add_option("--flood-prefix", c.flood_prefix, "spoofed source prefix (default 198.19.0.0/16)");
    cli.add_option("--test-range", c.test_range, "flood prefixes must lie inside (198.18.0.0/15)");
    cli.add_flag("--allow-any-prefix", c.allow_any_prefix, "let the flood prefix be anything");
    cli.add_option("--flood-rate", c.flood_rate, "SYNs per second (0: as fast as possible)");
    cli.add_option("--flood-count", c.flood_count, "SYNs in all (0: until --flood-duration)");
    cli.add_option("--flood-duration", c.flood_duration_s, "flood for at most this many seconds");
    app::add_port_options(cli, ov);
    cli.add_flag("--json", json, "print the report as one JSON object");
    cli.add_option("--progress", progress_mode, "a line every second: auto (on a terminal), on, off")
        ->check(CLI::IsMember({"auto", "on", "off"}))
        ->capture_default_str();
    cli.set_version_flag("--version", kVersionString);
    if (const int code = app::parse_app_args(cli, split.app); code >= 0) return code;

    CpsConfig cfg;
    auto sc = load_cps_config(config_path, cfg);
    if (!sc) {
        return fail(sc.error().message +
                    " (pass --config FILE; config/cps.toml in the source tree documents every key)");
    }
    if (auto r = engine::apply_overrides(*sc, ov); !r) return fail(r.error().message);
    if (auto e = apply_cli(c, cfg, *sc)) return fail(*e);
    const auto target = parse_target(cfg.target);
    if (!target)
        return fail("target must be IPv4-address:port or [IPv6-address]:port, not \"" +
                    cfg.target + "\"");
    if (!target->first.is_v4() && !sc->net.address6)
        return fail("target " + cfg.target + " is IPv6: give sluice an IPv6 address "
                    "(ip.address6 or --address6)");
    if (cfg.syn_flood && !target->first.is_v4())
        return fail("--syn-flood sends IPv4 SYNs only; give an IPv4 target");
    if (cfg.syn_flood) {
        // Refused before anything starts: no EAL, no port.
        if (auto why = check_flood_prefix(cfg.flood_prefix, cfg.test_range, cfg.allow_any_prefix);
            !why.empty())
            return fail(why);
    }

    const auto eal_args = dev::merge_eal_args(split.eal, sc->eal_defaults());
    if (auto r = dev::eal_init(eal_args); !r) return fail(r.error().message);

    int rc = 0;
    {
        auto stack = engine::Stack::create(*sc);
        if (!stack) {
            dev::eal_cleanup();
            return fail(stack.error().message);
        }
        auto& s = **stack;
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        const auto& p = s.port();
        RunInfo info;
        info.cfg = &cfg;
        info.target = cfg.target;
        info.workers = s.worker_count();
        info.source_addresses = target->first.is_v4() ? std::max<uint32_t>(sc->net.extra_count, 1) : 1;
        info.ports_per_address = uint32_t(sc->tcp.ephemeral_high) - sc->tcp.ephemeral_low + 1;
        std::fprintf(stderr,
                     "sluice-cps %s: ready on %s via %s (%s), %zu worker(s), %u source "
                     "address(es) x %u ports, target %s\n",
                     kVersionString,
                     (sc->net.address.to_string() +
                      (sc->net.address6 ? " and " + sc->net.address6->to_string() : ""))
                         .c_str(),
                     p.name.c_str(), p.driver.c_str(), s.worker_count(),
                     info.source_addresses, info.ports_per_address, cfg.target.c_str());
        const RateBounds bounds = rate_bounds(
            cfg, std::chrono::duration<double>(sc->tcp.tcp.msl).count(), sc->tcp.time_wait_reuse,
            std::chrono::duration<double>(sc->tcp.time_wait_reuse_after).count(),
            info.source_addresses, info.ports_per_address, sc->tcp.max_connections,
            sc->tcp.max_time_wait, info.workers);
        if (!cfg.syn_flood) std::fputs(bounds_text(bounds).c_str(), stderr);
        const bool show_progress =
            progress_mode == "on" || (progress_mode == "auto" && ::isatty(STDOUT_FILENO) && !json);
        const auto before = s.totals();

        if (cfg.syn_flood) {
            FloodPlan fp;
            fp.prefix = *parse_prefix(cfg.flood_prefix);
            fp.target = target->first;
            fp.port = target->second;
            fp.rate = cfg.flood_rate;
            fp.count = cfg.flood_count;
            fp.duration = std::chrono::duration_cast<time::Duration>(
                std::chrono::duration<double>(cfg.flood_duration_s));
            FloodLive live;
            const FloodResult fr = run_flood(s.worker(0), p, fp, g_stop, live);
            info.counters = minus(s.totals(), before);
            std::fputs((json ? flood_report_json(info, fp, fr) : flood_report_text(info, fp, fr)).c_str(),
                       stdout);
            rc = fr.target_unresolved ? 3 : 0;
        } else {
            const size_t n = s.worker_count();
            std::vector<std::unique_ptr<Driver>> drivers;
            for (size_t w = 0; w < n; ++w) {
                Plan plan;
                plan.server = target->first;
                plan.port = target->second;
                plan.mode = cfg.mode;
                const std::string host = target->first.is_v4()
                                             ? target->first.to_string()
                                             : "[" + target->first.to_string() + "]";
                plan.request = build_request(cfg, host);
                plan.response_bytes = cfg.response_bytes;
                plan.close = cfg.close;
                // Worker w's share; worker 0 takes the remainders.
                plan.rate = cfg.rate / n + (w == 0 ? cfg.rate % n : 0);
                plan.count = cfg.count / n + (w == 0 ? cfg.count % n : 0);
                plan.concurrency = std::max<uint32_t>(1, cfg.concurrency / uint32_t(n));
                plan.duration = std::chrono::duration_cast<time::Duration>(
                    std::chrono::duration<double>(cfg.duration_s));
                plan.timeout = std::chrono::milliseconds(cfg.timeout_ms);
                plan.warmup = cfg.warmup;
                drivers.push_back(std::make_unique<Driver>(plan, s.worker(w)));
            }
            std::atomic<bool> done{false};
            std::thread progress_thread;
            if (show_progress) progress_thread = std::thread(progress, std::cref(drivers), std::cref(done));
            std::vector<LoopArg> args(n);
            for (size_t w = 0; w < n; ++w) args[w] = {&s.worker(w), drivers[w].get()};
            size_t w = 1;
            unsigned lcore = 0;
            RTE_LCORE_FOREACH_WORKER(lcore) {
                if (w < n) rte_eal_remote_launch(worker_loop, &args[w++], lcore);
            }
            worker_loop(&args[0]);
            rte_eal_mp_wait_lcore();
            done.store(true);
            if (progress_thread.joinable()) progress_thread.join();

            Results total;
            for (const auto& d : drivers) total.merge(d->results());
            info.counters = minus(s.totals(), before);
            std::fputs((json ? report_json(info, total) : report_text(info, total)).c_str(), stdout);
            // The local waits and the bound: after the text report, or to stderr beside JSON.
            const double run_s =
                total.end_ns > total.start_ns ? double(total.end_ns - total.start_ns) / 1e9 : 0.0;
            std::fputs(stalls_text(bounds, total.stalls, total.stall_ns, run_s, n).c_str(),
                       json ? stderr : stdout);
            if (total.completed == 0) rc = 3;
        }
        std::fflush(stdout);
    }
    dev::eal_cleanup();
    return rc;
}
