// sluice-hello: a small application on libsluice, built against the installed package
// (pkg-config sluice), not the source tree. See docs/library.md.
//
//   sluice-hello [EAL options] -- --config FILE [--iface IF] [--port P]
//                                 [--connect ADDR:PORT --message TEXT]
//
// It answers every connection on --port with the bytes it receives in upper case, and closes
// when the peer has closed. With --connect, worker 0 also opens a connection at start-up,
// sends TEXT, half-closes, and prints what comes back ("reply: ..."). Ctrl-C stops it.

#include <sluice/sluice.hpp>

#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) {
    g_stop.store(true, std::memory_order_relaxed);
}

// --- the server side: upper-case echo ---------------------------------------------------------

// Reads what is there, sends it back upper-cased. A short send would need the rest kept for
// on_sent; this example keeps it simple by reading no more than the send buffer has room for.
void pump(sluice::Conn c) {
    std::byte buf[2048];
    for (;;) {
        sluice::ConnStatus st;
        if (c.status(st) != sluice::Errc::Ok) return;
        const size_t room = st.send_buffer - st.send_queued;
        if (room == 0) return;  // on_sent brings us back
        const size_t want = room < sizeof buf ? room : sizeof buf;
        const sluice::IoResult r = c.receive({buf, want});
        if (r.error == sluice::Errc::EndOfStream) {
            c.close();
            return;
        }
        if (r.bytes == 0) return;
        for (size_t i = 0; i < r.bytes; ++i)
            buf[i] = std::byte(std::toupper(static_cast<unsigned char>(buf[i])));
        c.send(std::span<const std::byte>(buf, r.bytes));
    }
}

const sluice::Handlers kUpper{
    .on_accept = [](sluice::Conn c, void*) { c.set_no_delay(true); },
    .on_data = [](sluice::Conn c, void*) { pump(c); },
    .on_sent = [](sluice::Conn c, void*) { pump(c); },
    .on_peer_closed = [](sluice::Conn c, void*) { pump(c); },
};

// --- the client side: one request at start-up -------------------------------------------------

struct Client {
    sluice::IpAddress addr;
    uint16_t port = 0;
    std::string message;
    std::string reply;
};

const sluice::Handlers kClient{
    .on_connected =
        [](sluice::Conn c, void* ctx) {
            auto& cl = *static_cast<Client*>(ctx);
            c.send(cl.message);  // fits: far below the send buffer
            c.shutdown_send();
        },
    .on_data =
        [](sluice::Conn c, void* ctx) {
            auto& cl = *static_cast<Client*>(ctx);
            char buf[2048];
            for (;;) {
                const auto r = c.receive(std::as_writable_bytes(std::span(buf)));
                cl.reply.append(buf, r.bytes);
                if (r.error == sluice::Errc::EndOfStream) {
                    std::printf("reply: %s\n", cl.reply.c_str());
                    std::fflush(stdout);
                    c.close();
                    return;
                }
                if (r.bytes == 0) return;
            }
        },
    .on_error =
        [](sluice::Conn, sluice::Errc why, void*) {
            std::printf("connect failed: %s\n", std::string(sluice::to_string(why)).c_str());
            std::fflush(stdout);
        },
};

int usage() {
    std::fprintf(stderr,
                 "usage: sluice-hello [EAL options] -- --config FILE [--iface IF] [--port P] "
                 "[--connect ADDR:PORT --message TEXT]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    sluice::Config cfg;
    uint16_t port = 5555;
    Client client;
    int i = 1;
    for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) cfg.eal_args.push_back(argv[i]);
    cfg.eal_args.insert(cfg.eal_args.begin(), argv[0]);
    for (++i; i < argc; ++i) {
        const std::string a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (v == nullptr) return usage();
        ++i;
        if (a == "--config") {
            cfg.file = v;
        } else if (a == "--iface") {
            cfg.iface = v;
        } else if (a == "--port") {
            port = static_cast<uint16_t>(std::atoi(v));
        } else if (a == "--connect") {
            // "198.18.0.1:7" or "[2001:2::1]:7"
            const std::string s = v;
            const auto colon = s.rfind(':');
            if (colon == std::string::npos) return usage();
            std::string host = s.substr(0, colon);
            if (host.size() > 2 && host.front() == '[' && host.back() == ']')
                host = host.substr(1, host.size() - 2);
            const auto addr = sluice::IpAddress::parse(host);
            if (!addr) return usage();
            client.addr = *addr;
            client.port = static_cast<uint16_t>(std::atoi(s.c_str() + colon + 1));
        } else if (a == "--message") {
            client.message = v;
        } else {
            return usage();
        }
    }

    std::string error;
    auto stack = sluice::Stack::create(cfg, error);
    if (!stack) {
        std::fprintf(stderr, "sluice-hello: %s\n", error.c_str());
        return 1;
    }
    if (auto e = stack->listen(port, kUpper); e != sluice::Errc::Ok) {
        std::fprintf(stderr, "sluice-hello: listen: %s\n", std::string(to_string(e)).c_str());
        return 1;
    }
    // Connections are opened on the worker's own lcore: from its on_start hook.
    sluice::Handlers client_handlers = kClient;
    client_handlers.ctx = &client;
    if (client.port != 0) {
        stack->set_hooks({.on_start =
                              [](sluice::Worker& w, void* ctx) {
                                  if (w.index() != 0) return;
                                  const auto& h = *static_cast<sluice::Handlers*>(ctx);
                                  const auto& cl = *static_cast<Client*>(h.ctx);
                                  sluice::Conn c;
                                  const auto e = w.connect(cl.addr, cl.port, h, {}, &c);
                                  if (e != sluice::Errc::Ok)
                                      std::printf("connect: %s\n",
                                                  std::string(to_string(e)).c_str());
                              },
                          .ctx = &client_handlers});
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::printf("sluice-hello %s: ready on %s, port %u\n", sluice::kVersionString,
                stack->describe().c_str(), port);
    std::fflush(stdout);
    stack->run(g_stop);
    std::printf("sluice-hello: stopped after %llu passive and %llu active opens\n",
                static_cast<unsigned long long>(stack->counter(sluice::Counter::PassiveOpens)),
                static_cast<unsigned long long>(stack->counter(sluice::Counter::ActiveOpens)));
    return 0;
}
