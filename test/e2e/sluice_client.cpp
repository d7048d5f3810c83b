// A test client on the sluice library: opens one connection to a kernel server, sends a
// pattern, checks that the same bytes come back (the server echoes), then closes first.
//
//   sluice_client [EAL options] -- --config FILE --iface IF --connect A:PORT --bytes N
//                                   [--seed S] [--mode echo|send]
//
// Prints "result: sent=N received=N match=1 closed=Normal sha256=HEX" (the hash of what it
// sent) when the connection ends and keeps running (so a test can look at sluice's TIME-WAIT)
// until SIGTERM. With --close-after-ms it half-closes (sends its FIN) on a timer instead (the
// simultaneous-close test). --mode send sends N bytes and closes without expecting anything back (a kernel sink
// hashes them). The bytes are stream_pattern.hpp's seeded pattern.

#include <sluice/counters.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <vector>

#include "dev/eal.hpp"
#include "engine/config.hpp"
#include "engine/stack.hpp"
#include "stream_pattern.hpp"

namespace {

using namespace sluice;

std::atomic<bool> g_stop{false};
void on_signal(int) {
    g_stop.store(true);
}

struct Session {
    e2e::Pattern pattern{1};
    bool send_only = false;  // --mode send: close once everything is queued
    e2e::Sha256* sent_hash = nullptr;
    uint64_t total = 0;
    uint64_t sent = 0;
    uint64_t received = 0;
    bool match = true;
    bool closing = false;
    time::Duration close_after{0};  // > 0: close this long after connecting, whatever arrived
    engine::Worker* worker = nullptr;
};

const char* reason_name(tcp::CloseReason r) {
    switch (r) {
        case tcp::CloseReason::Normal: return "Normal";
        case tcp::CloseReason::Reset: return "Reset";
        case tcp::CloseReason::Refused: return "Refused";
        case tcp::CloseReason::Timeout: return "Timeout";
        case tcp::CloseReason::Aborted: return "Aborted";
    }
    return "?";
}

void on_event(engine::TcpHost& host, engine::ConnId id, const tcp::Event& e, void* ctx) {
    auto& s = *static_cast<Session*>(ctx);
    const time::Instant now = s.worker->now();
    switch (e.kind) {
        case tcp::EventKind::Connected:
            std::printf("connected\n");
            std::fflush(stdout);
            if (s.close_after.count() > 0) host.arm_app_timer(id, now + s.close_after);
            [[fallthrough]];
        case tcp::EventKind::SendSpace: {
            uint8_t buf[4096];
            while (s.sent < s.total) {
                const size_t n = std::min<uint64_t>(sizeof buf, s.total - s.sent);
                s.pattern.fill(s.sent, buf, n);
                const auto r = host.send(id, {buf, n}, now);
                s.sent_hash->update(buf, r.bytes);
                s.sent += r.bytes;
                if (r.bytes < n) break;
            }
            if (s.send_only && s.sent == s.total && !s.closing) {
                s.closing = true;  // FIN after the last byte; TIME-WAIT stays with us
                host.close(id, now);
            }
            break;
        }
        case tcp::EventKind::DataReadable: {
            uint8_t buf[4096];
            for (;;) {
                const auto r = host.receive(id, buf, now);
                if (r.bytes == 0) break;
                if (s.pattern.first_mismatch(s.received, buf, r.bytes) >= 0) s.match = false;
                s.received += r.bytes;
            }
            if (s.received >= s.total && !s.closing && s.close_after.count() == 0) {
                s.closing = true;  // we close first: TIME-WAIT stays with us
                host.close(id, now);
            }
            break;
        }
        case tcp::EventKind::Closed:
            std::printf("result: sent=%llu received=%llu match=%d closed=%s sha256=%s\n",
                        static_cast<unsigned long long>(s.sent),
                        static_cast<unsigned long long>(s.received), s.match ? 1 : 0,
                        reason_name(e.reason), s.sent_hash->hex().c_str());
            std::fflush(stdout);
            break;
        default: break;
    }
}

void on_timer(engine::TcpHost& host, engine::ConnId id, void* ctx) {
    auto& s = *static_cast<Session*>(ctx);
    s.closing = true;
    std::printf("closing\n");
    std::fflush(stdout);
    // A half-close: the kernel's data is still on its way, and after a full close arriving
    // data is answered with RST (RFC 1122 4.2.2.13). Our FIN goes out all the same.
    host.shutdown_send(id, s.worker->now());
}

}  // namespace

int main(int argc, char** argv) {
    auto split = dev::split_args(argc, argv);
    CLI::App cli{"sluice test client"};
    std::string config, target;
    engine::Overrides ov;
    uint64_t bytes = 1 << 20;
    uint32_t close_after_ms = 0;
    uint64_t seed = 1;
    std::string mode = "echo";
    cli.add_option("--config", config)->required();
    cli.add_option("--iface", ov.iface);
    cli.add_option("--address6", ov.address6);
    cli.add_option("--connect", target)->required();
    cli.add_option("--bytes", bytes);
    cli.add_option("--close-after-ms", close_after_ms, "close this long after connecting");
    cli.add_option("--seed", seed, "seed of the byte pattern");
    cli.add_option("--mode", mode, "echo: expect the bytes back; send: only send them")
        ->check(CLI::IsMember({"echo", "send"}));
    std::vector<const char*> av;
    for (auto& a : split.app) av.push_back(a.c_str());
    try {
        cli.parse(static_cast<int>(av.size()), av.data());
    } catch (const CLI::ParseError& e) {
        return cli.exit(e);
    }
    // "198.18.0.1:9000", "[2001:2::1]:9000" or "2001:2::1:9000"
    const auto colon = target.rfind(':');
    std::string host = target.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    auto addr = wire::IpAddr::parse(host);
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
    int rc = 0;
    {
        auto stack = engine::Stack::create(*cfg);
        if (!stack) return std::fprintf(stderr, "%s\n", stack.error().message.c_str()), 1;
        e2e::Sha256 sent_hash;
        Session session{.pattern = e2e::Pattern(seed),
                        .send_only = mode == "send",
                        .sent_hash = &sent_hash,
                        .total = bytes,
                        .close_after = std::chrono::milliseconds(close_after_ms)};
        auto& w = (*stack)->worker(0);
        session.worker = &w;
        w.set_on_start([&](engine::Worker& worker) {
            const engine::AppHandlers app{
                .on_event = on_event, .on_timer = on_timer, .ctx = &session};
            auto id = worker.tcp()->connect(*addr, port, app, worker.now());
            if (!id) std::printf("connect failed: %s\n", id.error().message.c_str());
            std::fflush(stdout);
        });
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        std::printf("client: ready\n");
        std::fflush(stdout);
        (*stack)->run(g_stop);
    }
    dev::eal_cleanup();
    return rc;
}
