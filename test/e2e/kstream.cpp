// The kernel's end of the bulk-transfer tests and benchmark (run in a test namespace):
//
//   kstream echo DST PORT BYTES SEED SECONDS   send the pattern, read it back, compare
//   kstream send DST PORT BYTES SEED SECONDS   send the pattern, shut down, wait for EOF
//   kstream sink ADDR PORT SEED SECONDS        accept one connection, read until EOF
//   kstream serve ADDR PORT SECONDS            accept one connection, echo until EOF
//                                              (the kernel's echo, for the benchmark)
//
// The sink also gives up when no connection comes within 30 s or no byte for 30 s, so a peer
// that died does not keep a test waiting for the whole bound.
// The pattern and hashes are those of stream_pattern.hpp; nothing is stored. Each mode prints
// key=value lines the tests assert on and exits non-zero on any failure, including running
// past SECONDS (a bound, not a benchmark target). Addresses must be in 198.18.0.0/15 or 2001:2::/48.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "stream_pattern.hpp"

namespace {

using namespace sluice::e2e;
using Clock = std::chrono::steady_clock;

constexpr size_t kChunk = 64 * 1024;

[[noreturn]] void die(const char* what) {
    std::printf("error=%s errno=%s\n", what, std::strerror(errno));
    std::exit(1);
}

// An IPv4 or IPv6 socket address; the length goes with it.
struct Addr {
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family() const { return ss.ss_family; }
    const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
};

Addr parse_addr(const char* a, const char* port) {
    Addr r;
    const auto p = htons(static_cast<uint16_t>(std::atoi(port)));
    auto* v4 = reinterpret_cast<sockaddr_in*>(&r.ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&r.ss);
    if (inet_pton(AF_INET, a, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = p;
        r.len = sizeof *v4;
        // Only the RFC 2544 benchmarking range, 198.18.0.0/15.
        if ((ntohl(v4->sin_addr.s_addr) & 0xfffe0000u) != 0xc6120000u) {
            std::printf("error=address outside 198.18.0.0/15\n");
            std::exit(2);
        }
        return r;
    }
    if (inet_pton(AF_INET6, a, &v6->sin6_addr) != 1) die("bad address");
    v6->sin6_family = AF_INET6;
    v6->sin6_port = p;
    r.len = sizeof *v6;
    // Only the RFC 5180 benchmarking prefix, 2001:2::/48.
    const uint8_t* b = v6->sin6_addr.s6_addr;
    if (!(b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x02 && b[4] == 0 && b[5] == 0)) {
        std::printf("error=address outside 2001:2::/48\n");
        std::exit(2);
    }
    return r;
}

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

int remaining_ms(Clock::time_point deadline) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return ms < 0 ? 0 : static_cast<int>(ms);
}

void print_retrans(int fd) {
    tcp_info ti{};
    socklen_t len = sizeof ti;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) {
        std::printf("kernel_retrans=%u\n", ti.tcpi_total_retrans);
    }
}

int connect_to(const Addr& sa, Clock::time_point deadline) {
    const int fd = ::socket(sa.family(), SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket");
    if (::connect(fd, sa.sa(), sa.len) != 0 &&
        errno != EINPROGRESS) {
        die("connect");
    }
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) != 1) die("connect timeout");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        errno = err;
        die("connect");
    }
    return fd;
}

// Sends `total` pattern bytes and (if `echo`) reads them back; then shuts down the sending
// side and waits for the peer's FIN.
int run_client(bool echo, int argc, char** argv) {
    if (argc != 7) return std::fprintf(stderr, "usage: see kstream.cpp\n"), 2;
    const Addr sa = parse_addr(argv[2], argv[3]);
    const uint64_t total = std::strtoull(argv[4], nullptr, 10);
    const Pattern pattern(std::strtoull(argv[5], nullptr, 10));
    const auto t0 = Clock::now();
    const auto deadline = t0 + std::chrono::seconds(std::atoi(argv[6]));

    const int fd = connect_to(sa, deadline);
    Sha256 sent_hash, recv_hash;
    uint64_t sent = 0, received = 0;
    int64_t mismatch = -1;
    bool shut = false, eof = false;
    static uint8_t out[kChunk], in[kChunk];
    size_t out_len = 0, out_off = 0;  // out[out_off, out_len) is generated but unsent
    while (!eof) {
        if (Clock::now() >= deadline) {
            std::printf("error=timeout sent=%llu received=%llu\n",
                        static_cast<unsigned long long>(sent),
                        static_cast<unsigned long long>(received));
            print_retrans(fd);
            return 1;
        }
        if (sent == total && !shut && (!echo || received == total)) {
            ::shutdown(fd, SHUT_WR);
            shut = true;
        }
        pollfd p{fd, static_cast<short>(POLLIN | (sent < total ? POLLOUT : 0)), 0};
        if (::poll(&p, 1, std::min(remaining_ms(deadline), 100)) < 0) die("poll");
        if ((p.revents & POLLOUT) != 0 && sent < total) {
            if (out_off == out_len) {
                out_len = static_cast<size_t>(std::min<uint64_t>(kChunk, total - sent));
                pattern.fill(sent, out, out_len);
                out_off = 0;
            }
            const ssize_t n = ::send(fd, out + out_off, out_len - out_off, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN) die("send");
            if (n > 0) {
                sent_hash.update(out + out_off, static_cast<size_t>(n));
                out_off += static_cast<size_t>(n);
                sent += static_cast<uint64_t>(n);
            }
        }
        if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            const ssize_t n = ::recv(fd, in, sizeof in, 0);
            if (n < 0 && errno != EAGAIN) die("recv");
            if (n == 0) eof = true;
            if (n > 0) {
                const auto k = static_cast<size_t>(n);
                recv_hash.update(in, k);
                if (mismatch < 0) mismatch = pattern.first_mismatch(received, in, k);
                received += k;
            }
        }
    }
    const double secs = seconds_since(t0);
    const std::string sh = sent_hash.hex(), rh = recv_hash.hex();
    std::printf("sent=%llu sha256=%s\n", static_cast<unsigned long long>(sent), sh.c_str());
    if (echo) {
        std::printf("received=%llu sha256=%s\n", static_cast<unsigned long long>(received),
                    rh.c_str());
        std::printf("first_mismatch=%lld\n", static_cast<long long>(mismatch));
    }
    std::printf("eof=1 seconds=%.3f goodput_MBps=%.1f\n", secs,
                static_cast<double>(sent) / secs / 1e6);
    print_retrans(fd);
    ::close(fd);
    const bool ok = sent == total && (!echo || (received == total && sh == rh && mismatch < 0));
    return ok ? 0 : 1;
}

// Accepts one connection and reads it to EOF, hashing and checking against the pattern; or
// (`echo`) sends back what it reads, as fast as the peer takes it.
int run_sink(bool echo, int argc, char** argv) {
    if (argc != (echo ? 5 : 6)) return std::fprintf(stderr, "usage: see kstream.cpp\n"), 2;
    const Addr sa = parse_addr(argv[2], argv[3]);
    const Pattern pattern(echo ? 0 : std::strtoull(argv[4], nullptr, 10));
    const auto deadline = Clock::now() + std::chrono::seconds(std::atoi(argv[echo ? 4 : 5]));
    const int ls = ::socket(sa.family(), SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(ls, sa.sa(), sa.len) != 0) die("bind");
    if (::listen(ls, 1) != 0) die("listen");
    std::printf("listening\n");
    std::fflush(stdout);
    constexpr int kIdleMs = 30000;
    pollfd p{ls, POLLIN, 0};
    if (::poll(&p, 1, std::min(remaining_ms(deadline), kIdleMs)) != 1) die("accept timeout");
    const int fd = ::accept4(ls, nullptr, nullptr, SOCK_NONBLOCK);
    if (fd < 0) die("accept");
    const auto t0 = Clock::now();
    Sha256 hash;
    uint64_t received = 0;
    int64_t mismatch = -1;
    static uint8_t in[kChunk];
    auto last_data = Clock::now();
    for (;;) {
        if (Clock::now() >= deadline ||
            Clock::now() - last_data > std::chrono::milliseconds(kIdleMs)) {
            std::printf("error=timeout received=%llu\n", static_cast<unsigned long long>(received));
            return 1;
        }
        pollfd q{fd, POLLIN, 0};
        if (::poll(&q, 1, std::min(remaining_ms(deadline), 100)) < 0) die("poll");
        if (q.revents == 0) continue;
        const ssize_t n = ::recv(fd, in, sizeof in, 0);
        if (n < 0 && errno == EAGAIN) continue;
        if (n < 0) die("recv");
        if (n == 0) break;
        last_data = Clock::now();
        const auto k = static_cast<size_t>(n);
        received += k;
        if (echo) {
            for (size_t off = 0; off < k;) {  // blocking-style: wait for room, bounded
                pollfd w{fd, POLLOUT, 0};
                if (::poll(&w, 1, std::min(remaining_ms(deadline), kIdleMs)) != 1) die("stuck");
                const ssize_t m = ::send(fd, in + off, k - off, MSG_NOSIGNAL);
                if (m < 0 && errno != EAGAIN) die("send");
                if (m > 0) off += static_cast<size_t>(m);
            }
            continue;
        }
        hash.update(in, k);
        if (mismatch < 0) mismatch = pattern.first_mismatch(received - k, in, k);
    }
    if (echo) {
        std::printf("served=%llu seconds=%.3f\n", static_cast<unsigned long long>(received),
                    seconds_since(t0));
        ::close(fd);
        ::close(ls);
        return 0;
    }
    const double secs = seconds_since(t0);
    std::printf("received=%llu sha256=%s\n", static_cast<unsigned long long>(received),
                hash.hex().c_str());
    std::printf("first_mismatch=%lld\n", static_cast<long long>(mismatch));
    std::printf("eof=1 seconds=%.3f goodput_MBps=%.1f\n", secs,
                static_cast<double>(received) / secs / 1e6);
    ::close(fd);
    ::close(ls);
    return mismatch < 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "echo") return run_client(true, argc, argv);
    if (mode == "send") return run_client(false, argc, argv);
    if (mode == "sink") return run_sink(false, argc, argv);
    if (mode == "serve") return run_sink(true, argc, argv);
    std::fprintf(stderr, "usage: kstream echo|send|sink ... (see kstream.cpp)\n");
    return 2;
}
