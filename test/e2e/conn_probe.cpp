// conn_probe: the legitimate client of the SYN-flood test (issue 6 item 7). Opens kernel TCP
// connections at a steady rate, each an HTTP/1.0 GET, and reports how many completed and how
// long the connects took. Test tool only.
//
//   conn_probe --dst ADDR --port P --rate R --seconds S [--timeout-ms T]
//
// Every 1/R s a non-blocking connect() starts; a connection succeeds when the handshake
// completes and an "HTTP/1.x 200" response arrives followed by the server's close, all within
// T ms (default 5000; the kernel resends a lost SYN 1, 3 and 7 s after the first). The connect
// time is from connect() to the socket turning writable (the SYN-ACK arrived). At the end (all
// attempts finished or timed out) it prints one line:
//   "probe attempts=N ok=M failed=K connect_p50_ms=A connect_p99_ms=B connect_max_ms=C
//    no_connect=F no_response=G refused=H reset=I bad_response=J"
// where the failures are, in turn: the handshake did not complete within T ms, it did but the
// response and close did not, connect() was refused or failed, the connection was reset after
// it completed, and the response was not a 200 (or closed early).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "conn_probe: %s\n", msg.c_str());
    std::exit(2);
}

struct Conn {
    Clock::time_point started;
    bool connected = false;
    std::string got;
};

double ms(Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
    return v[i];
}

}  // namespace

int main(int argc, char** argv) {
    std::string dst_s;
    unsigned port = 0;
    double rate = 0, seconds = 0;
    int timeout_ms = 5000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--dst")
            dst_s = v;
        else if (a == "--port")
            port = static_cast<unsigned>(std::stoul(v));
        else if (a == "--rate")
            rate = std::stod(v);
        else if (a == "--seconds")
            seconds = std::stod(v);
        else if (a == "--timeout-ms")
            timeout_ms = std::stoi(v);
        else
            die("unknown option " + a);
    }
    if (dst_s.empty() || port == 0 || rate <= 0 || rate > 1000 || seconds <= 0 || seconds > 120)
        die("need --dst, --port, --rate (0, 1000] and --seconds (0, 120]");
    // IPv4 or IPv6 (then the Host header takes brackets, RFC 3986 3.2.2).
    sockaddr_storage to_ss{};
    socklen_t to_len = 0;
    std::string host = dst_s;
    {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&to_ss);
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&to_ss);
        if (inet_pton(AF_INET, dst_s.c_str(), &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons(static_cast<uint16_t>(port));
            to_len = sizeof *v4;
        } else if (inet_pton(AF_INET6, dst_s.c_str(), &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons(static_cast<uint16_t>(port));
            to_len = sizeof *v6;
            host = "[" + dst_s + "]";
        } else {
            die("bad --dst");
        }
    }
    const auto* to = reinterpret_cast<const sockaddr*>(&to_ss);

    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    const std::string request = "GET / HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
    const auto timeout = std::chrono::milliseconds(timeout_ms);
    const auto interval =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
    const auto start = Clock::now();
    const auto stop_starting =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    auto next_start = start;

    std::map<int, Conn> conns;
    std::vector<double> connect_ms;
    uint64_t attempts = 0, ok = 0, failed = 0;
    uint64_t no_connect = 0, no_response = 0, refused = 0, reset = 0, bad_response = 0;
    auto finish = [&](int fd, bool success, uint64_t* why = nullptr) {
        ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        conns.erase(fd);
        ++(success ? ok : failed);
        if (why != nullptr) ++*why;
    };

    while (Clock::now() < stop_starting || !conns.empty()) {
        auto now = Clock::now();
        while (now >= next_start && next_start < stop_starting) {
            next_start += interval;
            ++attempts;
            const int fd = ::socket(to_ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                ++failed;
                ++refused;
                continue;
            }
            const int r = ::connect(fd, to, to_len);
            if (r != 0 && errno != EINPROGRESS) {
                ::close(fd);
                ++failed;
                ++refused;
                continue;
            }
            conns[fd] = Conn{now};
            epoll_event ev{};
            ev.events = EPOLLOUT | EPOLLIN;
            ev.data.fd = fd;
            ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        // Time out what is overdue.
        for (auto it = conns.begin(); it != conns.end();) {
            const int fd = it->first;
            ++it;
            if (now - conns[fd].started > timeout)
                finish(fd, false, conns[fd].connected ? &no_response : &no_connect);
        }
        const auto wait =
            next_start < stop_starting ? next_start - now : std::chrono::milliseconds(10);
        const int wait_ms = std::max(
            0, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
        epoll_event evs[64];
        const int n = ::epoll_wait(ep, evs, 64, std::min(wait_ms, 10));
        now = Clock::now();
        for (int i = 0; i < n; ++i) {
            const int fd = evs[i].data.fd;
            auto it = conns.find(fd);
            if (it == conns.end()) continue;
            Conn& c = it->second;
            if (!c.connected) {
                int err = 0;
                socklen_t len = sizeof err;
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0 || !(evs[i].events & EPOLLOUT)) {
                    finish(fd, false, &refused);
                    continue;
                }
                c.connected = true;
                connect_ms.push_back(ms(now - c.started));
                if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
                    static_cast<ssize_t>(request.size())) {
                    finish(fd, false, &reset);
                    continue;
                }
                epoll_event ev{};
                ev.events = EPOLLIN;
                ev.data.fd = fd;
                ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
                continue;
            }
            char buf[4096];
            const ssize_t k = ::recv(fd, buf, sizeof buf, 0);
            if (k > 0) {
                if (c.got.size() < 64) c.got.append(buf, static_cast<size_t>(k));
            } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
                const bool good = k == 0 && c.got.rfind("HTTP/1.", 0) == 0 && c.got.size() >= 12 &&
                                  c.got.compare(9, 3, "200") == 0;
                finish(fd, good, good ? nullptr : k == 0 ? &bad_response : &reset);
            }
        }
    }
    std::printf(
        "probe attempts=%llu ok=%llu failed=%llu connect_p50_ms=%.2f connect_p99_ms=%.2f "
        "connect_max_ms=%.2f no_connect=%llu no_response=%llu refused=%llu reset=%llu "
        "bad_response=%llu\n",
        static_cast<unsigned long long>(attempts), static_cast<unsigned long long>(ok),
        static_cast<unsigned long long>(failed), percentile(connect_ms, 0.50),
        percentile(connect_ms, 0.99),
        connect_ms.empty() ? 0.0 : *std::max_element(connect_ms.begin(), connect_ms.end()),
        static_cast<unsigned long long>(no_connect), static_cast<unsigned long long>(no_response),
        static_cast<unsigned long long>(refused), static_cast<unsigned long long>(reset),
        static_cast<unsigned long long>(bad_response));
    return 0;
}
