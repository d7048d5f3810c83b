// The cost of a whole short connection, sluice against the Linux kernel, on one core
// (issue 9 item 2). The work, both sides: three-way handshake, a 64-byte request, the same
// 64 bytes back, the client closes first, the server closes after the client's FIN (the
// client ends in TIME-WAIT, which is left to expire outside the measurement).
//
// - Sluice: two stacks back to back in memory (test/lossy/testbed.hpp: net_ring ports, a
//   loss-free link shim, a virtual clock), client and echo server polled by this thread.
//   Measured from the first connect until every connection is released on both stacks.
// - Kernel: client and server sockets on loopback in this one thread (blocking calls in an
//   order that never waits: on loopback the handshake and each segment are processed in the
//   sending system call's softirq), so the kernel pays no context switch and no scheduler
//   wake-up: its best case on one core.
//
// The figure is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID, which on this kernel
// includes softirq work done in the thread's context) converted to TSC cycles, divided by
// the connections: cycles per connection. It does not count time the thread was preempted,
// so it holds up on a shared machine better than wall time (reported too, as *_wall).
// The sluice run's total includes the test bed: the in-memory link shim and the test client's
// pattern fill and check. After each run the bed runs alone (lossy::run_null_bed: the same
// frames through the same links in the same number of loop turns, a reflector for each
// stack, the client's pattern work), timed the same way: bed_cycles_per_conn.
// sluice_cycles_per_conn is the total less that, and the ratio to the kernel uses it. The bed's mempools have a per-lcore cache, as a real port's have, and
// the bed makes no system call per connection (the CPU clock is read at the span's two ends).
// bench/conn/profile.sh counts the same span's instructions under callgrind, by bucket.
//
//   flock /tmp/sluice-e2e.lock taskset -c 1 build/bench/conn/bench_conn
//
// The last lines printed are the ratio kernel / sluice in cycles per connection, for IPv4
// and for IPv6 (sluice 2001:2::1 -> 2001:2::2, the kernel on ::1).

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>
#include <string>
#include <string_view>

#include "eal.hpp"
#include "engine/stack.hpp"
#include "testbed.hpp"

namespace {

using namespace sluice::lossy;

constexpr size_t kMessage = 64;

uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

double cpu_ns_to_cycles(double ns) {
    return ns * double(rte_get_tsc_hz()) / 1e9;
}

// Cycles per connection of the last run of each benchmark, for the ratio printed at the end.
std::map<std::string, double>& results() {
    static std::map<std::string, double> r;
    return r;
}

// `bed_cycles`: the test bed's share of the sluice run (0 for the kernel).
void report(benchmark::State& state, const std::string& name, uint64_t conns, uint64_t cpu_ns,
            uint64_t wall_cycles, uint64_t bed_cycles = 0) {
    const double per = cpu_ns_to_cycles(double(cpu_ns)) / double(conns);
    const double bed = double(bed_cycles) / double(conns);
    state.counters["cycles_per_conn"] = per;
    state.counters["conn_per_cpu_s"] = double(conns) / (double(cpu_ns) / 1e9);
    state.counters["cycles_per_conn_wall"] = double(wall_cycles) / double(conns);
    if (bed_cycles != 0) {
        state.counters["bed_cycles_per_conn"] = bed;
        state.counters["sluice_cycles_per_conn"] = per - bed;
    }
    results()[name] = per - bed;
}

std::string family_name(int64_t v6) {
    return v6 != 0 ? "IPv6" : "IPv4";
}

// Args: connections per run, connections open at once, IPv6 (0 or 1).
void Sluice(benchmark::State& state) {
    BedConfig c;
    c.ipv6 = state.range(2) != 0;
    c.connections = uint32_t(state.range(0));
    c.concurrent = uint32_t(state.range(1));
    c.bytes = kMessage;
    c.buffer = 16 * 1024;
    c.echo = true;
    c.sack = true;
    c.msl = std::chrono::milliseconds(10);
    c.link.delay = std::chrono::microseconds(5);
    c.link.rate_bps = 100'000'000'000;
    c.mbuf_cache = 256;  // as dev::PortConfig gives a real port
    uint64_t conns = 0, cpu_ns = 0, wall = 0, bed = 0, frames = 0, turns = 0;
    for (auto _ : state) {
        const BedResult r = run_bed(c);
        if (!r.error.empty() || r.completed != c.connections || r.conn_cycles == 0) {
            state.SkipWithError(r.error.empty() ? "connections incomplete" : r.error.c_str());
            return;
        }
        conns += r.completed;
        cpu_ns += r.conn_cpu_ns;
        wall += r.conn_cycles;
        const NullResult null = run_null_bed(c, r.conn_frames, r.turns);
        if (!null.error.empty()) {
            state.SkipWithError(null.error.c_str());
            return;
        }
        bed += uint64_t(cpu_ns_to_cycles(double(null.cpu_ns)));
        state.SetIterationTime(double(r.conn_cycles) / double(rte_get_tsc_hz()));
        frames += r.conn_frames;
        turns += r.turns;
    }
    state.counters["frames_per_conn"] = double(frames) / double(conns);
    state.counters["turns_per_conn"] = double(turns) / double(conns);
    report(state,
           family_name(state.range(2)) + " sluice, " + std::to_string(c.concurrent) +
               " open at once",
           conns, cpu_ns, wall, bed);
}

struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

bool full_io(int fd, uint8_t* p, size_t n, bool write) {
    while (n > 0) {
        const ssize_t r = write ? ::write(fd, p, n) : ::read(fd, p, n);
        if (r <= 0) return false;
        p += r;
        n -= size_t(r);
    }
    return true;
}

// One connection through the kernel on loopback; false on any failure.
bool kernel_connection(int listener, const sockaddr_storage& to, socklen_t to_len) {
    Fd c(::socket(to.ss_family, SOCK_STREAM, 0));
    if (c.fd < 0 || ::connect(c.fd, reinterpret_cast<const sockaddr*>(&to), to_len) != 0)
        return false;
    Fd s(::accept(listener, nullptr, nullptr));
    if (s.fd < 0) return false;
    std::array<uint8_t, kMessage> req{}, buf{};
    for (size_t i = 0; i < req.size(); ++i) req[i] = uint8_t(i * 7);
    if (!full_io(c.fd, req.data(), req.size(), true)) return false;
    if (!full_io(s.fd, buf.data(), buf.size(), false)) return false;
    if (!full_io(s.fd, buf.data(), buf.size(), true)) return false;
    buf.fill(0);
    if (!full_io(c.fd, buf.data(), buf.size(), false) || buf != req) return false;
    ::close(c.fd);  // the client's FIN first, as in the sluice run
    c.fd = -1;
    uint8_t eof = 0;
    if (::read(s.fd, &eof, 1) != 0) return false;
    return true;  // ~Fd closes the server side: FIN, the client's TIME-WAIT ACKs it
}

// Args: connections per run, IPv6 (0 or 1).
void Kernel(benchmark::State& state) {
    const bool v6 = state.range(1) != 0;
    Fd l(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0));
    sockaddr_storage a{};
    if (v6) {
        auto& a6 = reinterpret_cast<sockaddr_in6&>(a);
        a6.sin6_family = AF_INET6;
        a6.sin6_addr = in6addr_loopback;
    } else {
        auto& a4 = reinterpret_cast<sockaddr_in&>(a);
        a4.sin_family = AF_INET;
        a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    socklen_t len = v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    const int one = 1;
    ::setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(l.fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(l.fd, 1024) != 0 ||
        ::getsockname(l.fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        state.SkipWithError(std::strerror(errno));
        return;
    }
    const uint64_t n = uint64_t(state.range(0));
    uint64_t conns = 0, cpu_ns = 0, wall = 0;
    for (auto _ : state) {
        const uint64_t t0 = rte_rdtsc(), c0 = thread_cpu_ns();
        for (uint64_t i = 0; i < n; ++i) {
            if (!kernel_connection(l.fd, a, len)) {
                state.SkipWithError(("loopback connection failed: " +
                                     std::string(std::strerror(errno)))
                                        .c_str());
                return;
            }
        }
        const uint64_t c1 = thread_cpu_ns(), t1 = rte_rdtsc();
        conns += n;
        cpu_ns += c1 - c0;
        wall += t1 - t0;
        state.SetIterationTime(double(t1 - t0) / double(rte_get_tsc_hz()));
    }
    report(state, family_name(state.range(1)) + " kernel", conns, cpu_ns, wall);
}

// Sluice's client keeps a number of connections open at once (1: strictly one after the
// other, as the kernel run; 64: what a loaded server sees, with batching across connections).
BENCHMARK(Sluice)
    ->Args({20000, 1, 0})
    ->Args({20000, 64, 0})
    ->Args({20000, 1, 1})
    ->Args({20000, 64, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
// 20,000 sequential connections leave 20,000 client TIME-WAIT sockets (net.ipv4.tcp_tw_reuse
// = 2, Linux's default, reuses them on loopback if a run needs more ports).
BENCHMARK(Kernel)
    ->Args({20000, 0})
    ->Args({20000, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

// --pdump: the EAL with shared config (the multi-process channel dpdk-dumpcap uses) and
// rte_pdump_init() called as sluice's Stack does, no capture running: the cost of being
// capturable, compared with a run without the flag (README "Capturing packets").
bool init_eal_for_capture(const char* program) {
    const std::string prefix = "--file-prefix=sluice-bench-pdump-" + std::to_string(::getpid());
    const char* argv[] = {program,    "--no-huge",      "-m",     "512", prefix.c_str(),
                          "--no-pci", "--no-telemetry", "--log-level=*:error"};
    if (rte_eal_init(int(std::size(argv)), const_cast<char**>(argv)) < 0) return false;
    if (!sluice::engine::enable_capture()) {
        std::fprintf(stderr, "%s: rte_pdump_init failed\n", program);
        return false;
    }
    std::printf("bench_conn: rte_pdump_init done (capturable, no capture running)\n");
    return true;
}

int main(int argc, char** argv) {
    bool pdump = false;
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) != "--pdump") continue;
        pdump = true;
        for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
        --argc;
        break;
    }
    if (pdump ? !init_eal_for_capture("bench_conn") : !sluice::bench::init_eal("bench_conn"))
        return 1;
    sluice::bench::print_build();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    // The ratio asked for: how many times fewer cycles sluice needs per connection.
    for (const std::string family : {"IPv4", "IPv6"}) {
        const auto k = results().find(family + " kernel");
        if (k == results().end() || k->second == 0) continue;
        for (const auto& [name, per] : results()) {
            if (name.rfind(family + " sluice", 0) != 0) continue;
            std::printf("short connection, cycles per connection: %s kernel %.0f / %s (bed "
                        "excluded) %.0f = %.1fx\n",
                        family.c_str(), k->second, name.c_str(), per, k->second / per);
        }
    }
    rte_eal_cleanup();
    return 0;
}
