// rss_opener: active opens from every worker of a sluice Stack (issue 7's e2e test). Each
// worker opens --per-worker connections to a server, at most --in-flight at a time; each
// connection closes as soon as it is established. When every worker is done it prints
//   "opener worker=W ok=N failed=F" for each worker, then "opener: done",
// and keeps running (so the test can read the telemetry) until SIGTERM. Test tool only.
//
//   rss_opener [EAL options] -- --config FILE --iface IF --connect A:PORT --per-worker N

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "dev/eal.hpp"
#include "engine/config.hpp"
#include "engine/stack.hpp"

namespace {

using namespace sluice;

std::atomic<bool> g_stop{false};
void on_signal(int) {
    g_stop.store(true);
}

// One worker's opener; touched only by that worker, except the published totals.
struct Opener {
    engine::Worker* worker = nullptr;
    wire::IpAddr addr;
    uint16_t port = 0;
    uint32_t total = 0, in_flight_max = 0;
    uint32_t started = 0, in_flight = 0, ok = 0, failed = 0;
    std::atomic<uint32_t> done{0}, ok_pub{0};
    std::vector<uint8_t> connected;  // by ConnId slot: reached ESTABLISHED

    void fill();
};

void on_event(engine::TcpHost& host, engine::ConnId id, const tcp::Event& e, void* ctx) {
    auto& o = *static_cast<Opener*>(ctx);
    switch (e.kind) {
        case tcp::EventKind::Connected:
            if (id.slot < o.connected.size()) o.connected[id.slot] = 1;
            host.close(id, o.worker->now());
            break;
        case tcp::EventKind::Closed: {
            const bool was_up = id.slot < o.connected.size() && o.connected[id.slot];
            if (id.slot < o.connected.size()) o.connected[id.slot] = 0;
            if (was_up && e.reason == tcp::CloseReason::Normal)
                ++o.ok;
            else
                ++o.failed;
            --o.in_flight;
            o.ok_pub.store(o.ok, std::memory_order_relaxed);
            o.done.store(o.ok + o.failed, std::memory_order_relaxed);
            o.fill();
            break;
        }
        default: break;
    }
}

void Opener::fill() {
    while (started < total && in_flight < in_flight_max) {
        ++started;
        const engine::AppHandlers app{.on_event = on_event, .ctx = this};
        auto id = worker->tcp()->connect(addr, port, app, worker->now());
        if (!id) {
            std::printf("connect failed on worker %u: %s\n", worker->queue(),
                        id.error().message.c_str());
            ++failed;
            done.store(ok + failed, std::memory_order_relaxed);
            continue;
        }
        ++in_flight;
    }
}

}  // namespace

int main(int argc, char** argv) {
    auto split = dev::split_args(argc, argv);
    CLI::App cli{"sluice test opener"};
    std::string config, target;
    engine::Overrides ov;
    uint32_t per_worker = 100, in_flight = 16;
    cli.add_option("--config", config)->required();
    cli.add_option("--iface", ov.iface);
    cli.add_option("--connect", target)->required();
    cli.add_option("--per-worker", per_worker);
    cli.add_option("--in-flight", in_flight);
    std::vector<const char*> av;
    for (auto& a : split.app) av.push_back(a.c_str());
    try {
        cli.parse(static_cast<int>(av.size()), av.data());
    } catch (const CLI::ParseError& e) {
        return cli.exit(e);
    }
    const auto colon = target.rfind(':');
    auto addr = wire::IpAddr::parse(target.substr(0, colon));
    if (colon == std::string::npos || !addr) {
        std::fprintf(stderr, "--connect wants ADDRESS:PORT\n");
        return 2;
    }
    const auto port = static_cast<uint16_t>(std::stoi(target.substr(colon + 1)));

    auto cfg = engine::load_config(config);
    if (!cfg) return std::fprintf(stderr, "%s\n", cfg.error().message.c_str()), 1;
    if (auto r = engine::apply_overrides(*cfg, ov); !r) {
        return std::fprintf(stderr, "%s\n", r.error().message.c_str()), 1;
    }
    if (auto r = dev::eal_init(dev::merge_eal_args(split.eal, cfg->eal_defaults())); !r) {
        return std::fprintf(stderr, "%s\n", r.error().message.c_str()), 1;
    }
    {
        auto stack = engine::Stack::create(*cfg);
        if (!stack) return std::fprintf(stderr, "%s\n", stack.error().message.c_str()), 1;
        engine::Stack& s = **stack;
        std::vector<std::unique_ptr<Opener>> openers;
        for (size_t w = 0; w < s.worker_count(); ++w) {
            auto o = std::make_unique<Opener>();
            o->worker = &s.worker(w);
            o->addr = *addr;
            o->port = port;
            o->total = per_worker;
            o->in_flight_max = in_flight;
            o->connected.assign(cfg->tcp.max_connections, 0);
            Opener* op = o.get();
            s.worker(w).set_on_start([op](engine::Worker&) { op->fill(); });
            openers.push_back(std::move(o));
        }
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        std::printf("opener: ready, %zu workers, steering %s\n", s.worker_count(),
                    dev::steering_name(s.port().steering));
        std::fflush(stdout);
        std::thread reporter([&] {
            while (!g_stop.load()) {
                bool all = true;
                for (auto& o : openers) all = all && o->done.load() >= per_worker;
                if (all) {
                    for (size_t w = 0; w < openers.size(); ++w) {
                        const uint32_t ok = openers[w]->ok_pub.load();
                        std::printf("opener worker=%zu ok=%u failed=%u\n", w, ok,
                                    openers[w]->done.load() - ok);
                    }
                    std::printf("opener: done\n");
                    std::fflush(stdout);
                    return;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        });
        s.run(g_stop);
        reporter.join();
    }
    dev::eal_cleanup();
    return 0;
}
