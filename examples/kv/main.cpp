// sluice-kv: a small key-value server on libsluice, as an embedder writes one: state per
// connection hung on the handle (set_user) and freed in on_close, one shared Handlers.
// Built against the installed package with -Wall -Wextra -Werror (test/e2e/library_test.cpp
// also builds it with AddressSanitizer and checks for leaks). See docs/library.md.
//
//   sluice-kv [EAL options] -- (--config FILE | --address A/P --device D) [--iface IF]
//                              [--port P]
//
// Line protocol: "SET key value\n" -> "OK\n", "GET key\n" -> "value\n" or "NIL\n",
// anything else -> "ERR\n". Keys live per worker (workers share nothing). SIGTERM or
// Ctrl-C stops it; connections still open are aborted and get their on_close.

#include <sluice/sluice.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) {
    g_stop.store(true, std::memory_order_relaxed);
}

// One per connection: the bytes of an unfinished line.
struct Session {
    std::string line;
};

struct App {
    std::vector<std::map<std::string, std::string>> store;  // per worker
    std::atomic<long> opened{0}, closed{0}, live{0};
};

std::string execute(std::map<std::string, std::string>& kv, const std::string& line) {
    const auto sp1 = line.find(' ');
    const std::string cmd = line.substr(0, sp1);
    if (cmd == "GET" && sp1 != std::string::npos) {
        const auto it = kv.find(line.substr(sp1 + 1));
        return it == kv.end() ? "NIL\n" : it->second + "\n";
    }
    const auto sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
    if (cmd == "SET" && sp2 != std::string::npos) {
        kv[line.substr(sp1 + 1, sp2 - sp1 - 1)] = line.substr(sp2 + 1);
        return "OK\n";
    }
    return "ERR\n";
}

void serve(sluice::Conn c, void* ctx) {
    auto& app = *static_cast<App*>(ctx);
    auto* s = static_cast<Session*>(c.user());
    if (s == nullptr) return;
    char buf[1024];
    for (;;) {
        const sluice::IoResult r = c.receive(std::as_writable_bytes(std::span(buf)));
        if (r.error == sluice::Errc::EndOfStream) {
            c.close();
            return;
        }
        if (r.bytes == 0) return;
        for (size_t i = 0; i < r.bytes; ++i) {
            if (buf[i] != '\n') {
                s->line += buf[i];
                continue;
            }
            const std::string reply = execute(app.store[c.worker()], s->line);
            s->line.clear();
            c.send(reply);  // replies are small; the send buffer takes them
        }
    }
}

const sluice::Handlers kHandlers{
    .on_accept =
        [](sluice::Conn c, void* ctx) {
            auto& app = *static_cast<App*>(ctx);
            c.set_user(new Session);
            c.set_no_delay(true);
            ++app.opened;
            ++app.live;
        },
    .on_data = serve,
    .on_peer_closed = serve,
    .on_close =
        [](sluice::Conn c, void* ctx) {
            auto& app = *static_cast<App*>(ctx);
            delete static_cast<Session*>(c.user());  // user() works in on_close
            ++app.closed;
            --app.live;
        },
};

int usage() {
    std::fprintf(stderr,
                 "usage: sluice-kv [EAL options] -- (--config FILE | --address A/P --device D) "
                 "[--iface IF] [--port P]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    sluice::Config cfg;
    int i = 0;
    for (; i < argc && std::string(argv[i]) != "--"; ++i) cfg.eal_args.push_back(argv[i]);
    uint16_t port = 7000;
    for (++i; i < argc; i += 2) {
        if (i + 1 >= argc) return usage();
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--config") cfg.file = v;
        else if (a == "--address") cfg.address = v;
        else if (a == "--device") cfg.device = v;
        else if (a == "--iface") cfg.iface = v;
        else if (a == "--port") port = static_cast<uint16_t>(std::atoi(v.c_str()));
        else return usage();
    }
    App app;
    {
        std::string error;
        auto stack = sluice::Stack::create(cfg, error);
        if (!stack) {
            std::fprintf(stderr, "sluice-kv: %s\n", error.c_str());
            return 1;
        }
        app.store.resize(stack->worker_count());
        sluice::Handlers h = kHandlers;
        h.ctx = &app;
        if (auto e = stack->listen(port, h); e != sluice::Errc::Ok) {
            std::fprintf(stderr, "sluice-kv: listen: %s\n", std::string(to_string(e)).c_str());
            return 1;
        }
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        std::printf("sluice-kv: ready on %s, port %u\n", stack->describe().c_str(), port);
        std::fflush(stdout);
        if (auto e = stack->run(g_stop); e != sluice::Errc::Ok) {
            std::fprintf(stderr, "sluice-kv: run: %s\n", std::string(to_string(e)).c_str());
            return 1;
        }
        std::printf("sluice-kv: stopped\n");
    }  // the Stack goes before `app`, which its handlers point at
    std::printf("sluice-kv: sessions opened %ld closed %ld live %ld\n", app.opened.load(),
                app.closed.load(), app.live.load());
    return app.live.load() == 0 ? 0 : 3;
}
