// The timer wheel against DPDK's rte_timer (a skiplist per lcore), side by side in one run.
//
//   StartStop/N    N live timers; start one more timer and stop it again. Deadlines of the
//                  N and of the extra one: log-uniform from 1 ms to 2 h 15 min (the keepalive
//                  range: most live timers are long, as in a stack full of idle connections).
//                  The wheel has its default 1 ms tick and a virtual clock.
//   StartExpire/N  N live timers in a steady state, each re-arming itself on expiry with a
//                  delay from the same distribution (time-compressed, see below): the cost of
//                  one expiry plus one start.
//
// ns_per_op is CPU time of this thread per operation (the machine may be shared: StartStop
// reads the thread's CPU clock, StartExpire scales TSC time by the thread's share of a CPU).
// At the end a table prints ns per operation for each side and the ratio rte_ns / wheel_ns.
// Run: bench_timer [--benchmark_filter=...]; EAL arguments are built in (--no-huge, no PCI;
// the timer arrays of both sides are on transparent huge pages instead).

#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_timer.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "time/tsc_clock.hpp"
#include "time/wheel.hpp"

namespace {

using namespace std::chrono_literals;
using sluice::time::Instant;
using sluice::time::Timer;
using sluice::time::TimerWheel;
using sluice::time::TscClock;

constexpr int64_t kMinDelayNs = 1'000'000;                                       // 1 ms
constexpr int64_t kMaxDelayNs = std::chrono::nanoseconds(2h + 9 * 75s).count();  // keepalive
constexpr size_t kProbeCount = 4096;                                             // power of two

std::vector<int64_t> log_uniform_ns(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(std::log(double(kMinDelayNs)),
                                             std::log(double(kMaxDelayNs)));
    std::vector<int64_t> out(n);
    for (auto& v : out) v = static_cast<int64_t>(std::exp(u(rng)));
    return out;
}

// The timers of both sides live in one array on transparent huge pages, as connections do in
// a DPDK mempool on hugepages: at 1M timers, 4 KiB pages would add a TLB miss to every
// cache miss, on both sides alike.
template <class T>
class HugeArray {
public:
    explicit HugeArray(size_t n) : n_(n) {
        constexpr size_t kHuge = size_t{2} << 20;
        bytes_ = std::max<size_t>((n * sizeof(T) + kHuge - 1) / kHuge * kHuge, kHuge);
        p_ = static_cast<T*>(std::aligned_alloc(kHuge, bytes_));
        if (p_ == nullptr) std::abort();
        madvise(p_, bytes_, MADV_HUGEPAGE);
        for (size_t i = 0; i < n_; ++i) new (&p_[i]) T();
    }
    ~HugeArray() {
        for (size_t i = 0; i < n_; ++i) p_[i].~T();
        std::free(p_);
    }
    HugeArray(const HugeArray&) = delete;
    HugeArray& operator=(const HugeArray&) = delete;
    T& operator[](size_t i) { return p_[i]; }
    T* get() { return p_; }

private:
    T* p_ = nullptr;
    size_t n_;
    size_t bytes_ = 0;
};

uint64_t ns_to_cycles(int64_t ns) {
    return static_cast<uint64_t>(static_cast<unsigned __int128>(ns) * rte_get_timer_hz() /
                                 1'000'000'000);
}

// CPU time of this thread: the VM's two cores are shared, so wall time would also count
// other people's builds.
double cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

// ---- start + stop ----

void noop_wheel(Timer&, Instant) {}
void noop_rte(rte_timer*, void*) {}

void BM_Wheel_StartStop(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    auto live = log_uniform_ns(n, 1);
    auto probe = log_uniform_ns(kProbeCount, 2);
    TimerWheel wheel;  // a virtual clock standing at 0
    HugeArray<Timer> timers(n);
    for (size_t i = 0; i < n; ++i) {
        timers[i].set_callback(noop_wheel);
        wheel.start(timers[i], Instant::from_ns(live[i]));
    }
    Timer extra(noop_wheel);
    size_t i = 0;
    double t0 = cpu_ns();
    for (auto _ : state) {
        wheel.start(extra, Instant::from_ns(probe[i++ & (kProbeCount - 1)]));
        benchmark::DoNotOptimize(wheel.stop(extra));
    }
    state.counters["ns_per_op"] = (cpu_ns() - t0) / double(state.iterations());
}

// Stops timers in deadline order: each stop then finds its node near the skiplist's head.
void rte_stop_all(rte_timer* timers, size_t n) {
    std::vector<rte_timer*> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = &timers[i];
    std::sort(order.begin(), order.end(),
              [](rte_timer* a, rte_timer* b) { return a->expire < b->expire; });
    for (auto* t : order) rte_timer_stop(t);
}

void BM_Rte_StartStop(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    auto live = log_uniform_ns(n, 1);
    auto probe_ns = log_uniform_ns(kProbeCount, 2);
    std::vector<uint64_t> probe(kProbeCount);
    for (size_t i = 0; i < kProbeCount; ++i) probe[i] = ns_to_cycles(probe_ns[i]);
    const unsigned lcore = rte_lcore_id();
    HugeArray<rte_timer> timers(n);
    for (size_t i = 0; i < n; ++i) {
        rte_timer_init(&timers[i]);
        rte_timer_reset(&timers[i], ns_to_cycles(live[i]), SINGLE, lcore, noop_rte, nullptr);
    }
    rte_timer extra;
    rte_timer_init(&extra);
    size_t i = 0;
    double t0 = cpu_ns();
    for (auto _ : state) {
        rte_timer_reset(&extra, probe[i++ & (kProbeCount - 1)], SINGLE, lcore, noop_rte, nullptr);
        benchmark::DoNotOptimize(rte_timer_stop(&extra));
    }
    state.counters["ns_per_op"] = (cpu_ns() - t0) / double(state.iterations());
    rte_stop_all(timers.get(), n);
}

// ---- start + expire, steady state on the real clock ----
//
// rte_timer only runs on the real TSC, so both sides run in real time. Every live timer
// re-arms itself on expiry with a delay from the StartStop distribution, so N timers expire
// at N / (mean delay, 496 s) per second: far too few to measure. Time is therefore compressed
// by a factor that depends on N, chosen so that both sides see kRate expiries per second, a
// load well below what either can do (neither falls behind): delays and the wheel's tick
// (1 ms) shrink together, which leaves which level a timer lands in and how often it
// cascades, and the skiplist's order, exactly as at full scale. Only loop turns with work
// are timed (see run_steady): a turn runs when the structure says something is due (wheel:
// next_deadline_hint() <= now; rte_timer: rte_timer_next_ticks() == 0); the check itself is
// not timed, on either side.

constexpr double kRate = 200'000;  // expiries per second, both sides
constexpr double kWarmupS = 0.3;
constexpr double kMeasureS = 1.0;

struct Compressed {
    double scale;
    int64_t min_ns, max_ns;
    sluice::time::Duration tick;
};

Compressed compress(size_t n) {
    const double mean_ns =
        double(kMaxDelayNs - kMinDelayNs) / std::log(double(kMaxDelayNs) / double(kMinDelayNs));
    const double scale = std::min(1.0, double(n) * 1e9 / (kRate * mean_ns));
    auto ns = [&](double v) { return std::max<int64_t>(1, std::llround(v * scale)); };
    return {scale, ns(kMinDelayNs), ns(kMaxDelayNs), sluice::time::Duration(ns(1e6))};
}

// First deadlines from the steady state: a stationary renewal process's time to the next
// expiry is U x D*, with D* length-biased; for a log-uniform delay D* is uniform.
std::vector<int64_t> steady_residual_ns(size_t n, uint64_t seed, const Compressed& c) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> len(double(c.min_ns), double(c.max_ns));
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<int64_t> out(n);
    for (auto& v : out) v = std::max<int64_t>(1, static_cast<int64_t>(len(rng) * u(rng)));
    return out;
}

std::vector<int64_t> log_uniform_ns(size_t n, uint64_t seed, const Compressed& c) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(std::log(double(c.min_ns)),
                                             std::log(double(c.max_ns)));
    std::vector<int64_t> out(n);
    for (auto& v : out) v = static_cast<int64_t>(std::exp(u(rng)));
    return out;
}

// The cost of reading the TSC twice, subtracted from each timed turn.
double tsc_overhead_cycles() {
    std::vector<uint64_t> d(1001);
    for (auto& v : d) {
        uint64_t a = rte_rdtsc();
        v = rte_rdtsc() - a;
    }
    std::nth_element(d.begin(), d.begin() + 500, d.end());
    return double(d[500]);
}

// Polls through a warm-up, then through the measurement. Turns with work are timed with the
// TSC (cheap enough to read around every turn); on a shared machine part of that is time the
// thread spent descheduled, so the sum is scaled by the share of the run the thread was on
// a CPU (thread CPU time / wall time), assuming preemption falls evenly over the run.
struct Steady {
    uint64_t busy_cycles = 0;
    uint64_t turns = 0;
    uint64_t ops = 0;
    double on_cpu = 1;
    double busy_ns(uint64_t hz, double overhead) const {
        return (double(busy_cycles) - double(turns) * overhead) * 1e9 / double(hz) * on_cpu;
    }
};

template <class Poll, class Expired>
Steady run_steady(const TscClock& clock, Poll poll, Expired expired) {
    auto until = [&](double s) { return clock.now() + sluice::time::Duration(int64_t(s * 1e9)); };
    Steady st;
    // Warm up for kWarmupS and until caught up with what fell due while the timers were being
    // started (a million rte_timer starts take seconds).
    bool worked = true;
    for (Instant end = until(kWarmupS); clock.now() < end || worked;) worked = poll(nullptr);
    const uint64_t e0 = expired();
    const double cpu0 = cpu_ns();
    const Instant wall0 = clock.now();
    for (Instant end = until(kMeasureS); clock.now() < end;) poll(&st);
    st.on_cpu = std::min(1.0, (cpu_ns() - cpu0) / double((clock.now() - wall0).count()));
    st.ops = expired() - e0;
    return st;
}

constexpr size_t kDelayTable = 1 << 16;

struct WheelLoop {
    TimerWheel* wheel;
    const int64_t* delays;
    size_t next = 0;
    uint64_t expired = 0;
};

void rearm_wheel(Timer& t, Instant now) {
    auto* loop = static_cast<WheelLoop*>(t.context());
    ++loop->expired;
    auto d = loop->delays[loop->next++ & (kDelayTable - 1)];
    loop->wheel->start(t, now + sluice::time::Duration(d));
}

void BM_Wheel_StartExpire(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    const Compressed c = compress(n);
    const auto delays = log_uniform_ns(kDelayTable, 3, c);
    const auto first = steady_residual_ns(n, 4, c);
    const TscClock clock(rte_get_tsc_hz());
    TimerWheel wheel(sluice::time::WheelConfig{.tick = c.tick, .origin = clock.now()});
    WheelLoop loop{&wheel, delays.data()};
    HugeArray<Timer> timers(n);
    const Instant start = clock.now();
    for (size_t i = 0; i < n; ++i) {
        timers[i].set_callback(rearm_wheel, &loop);
        wheel.start(timers[i], start + sluice::time::Duration(first[i]));
    }
    for (auto _ : state) {
        auto st = run_steady(
            clock,
            [&](Steady* s) {
                Instant now = clock.now();
                auto hint = wheel.next_deadline_hint();
                if (!hint || *hint > now) return false;
                uint64_t t0 = rte_rdtsc();
                wheel.advance(now);
                if (s != nullptr) {
                    s->busy_cycles += rte_rdtsc() - t0;
                    ++s->turns;
                }
                return true;
            },
            [&] { return loop.expired; });
        double ns = st.busy_ns(rte_get_tsc_hz(), tsc_overhead_cycles());
        state.counters["ns_per_op"] = ns / double(std::max<uint64_t>(st.ops, 1));
        state.counters["on_cpu"] = st.on_cpu;
        state.counters["scale"] = c.scale;
        state.counters["expiries"] = double(st.ops);
    }
}

struct RteLoop {
    unsigned lcore;
    std::vector<uint64_t> delays;
    size_t next = 0;
    uint64_t expired = 0;
};

void rearm_rte(rte_timer* t, void* arg) {
    auto* loop = static_cast<RteLoop*>(arg);
    ++loop->expired;
    rte_timer_reset(t, loop->delays[loop->next++ & (kDelayTable - 1)], SINGLE, loop->lcore,
                    rearm_rte, loop);
}

void BM_Rte_StartExpire(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    const Compressed c = compress(n);
    const auto delays = log_uniform_ns(kDelayTable, 3, c);
    const auto first = steady_residual_ns(n, 4, c);
    const TscClock clock(rte_get_tsc_hz());
    RteLoop loop{rte_lcore_id(), std::vector<uint64_t>(kDelayTable)};
    for (size_t i = 0; i < kDelayTable; ++i) loop.delays[i] = ns_to_cycles(delays[i]);
    HugeArray<rte_timer> timers(n);
    for (size_t i = 0; i < n; ++i) {
        rte_timer_init(&timers[i]);
        rte_timer_reset(&timers[i], ns_to_cycles(first[i]), SINGLE, loop.lcore, rearm_rte, &loop);
    }
    for (auto _ : state) {
        auto st = run_steady(
            clock,
            [&](Steady* s) {
                if (rte_timer_next_ticks() != 0) return false;  // > 0: not yet; -ENOENT: none
                uint64_t t0 = rte_rdtsc();
                rte_timer_manage();
                if (s != nullptr) {
                    s->busy_cycles += rte_rdtsc() - t0;
                    ++s->turns;
                }
                return true;
            },
            [&] { return loop.expired; });
        double ns = st.busy_ns(rte_get_tsc_hz(), tsc_overhead_cycles());
        state.counters["ns_per_op"] = ns / double(std::max<uint64_t>(st.ops, 1));
        state.counters["on_cpu"] = st.on_cpu;
        state.counters["scale"] = c.scale;
        state.counters["expiries"] = double(st.ops);
    }
    rte_stop_all(timers.get(), n);
}

// advance() on every loop turn when nothing is due (the worker's common case): 1,000 timers
// a day away, the clock moving by `step` ns per call (range(0): 100 stays inside a 1 ms tick
// for 10,000 calls, 10,000 crosses a tick every 100 calls).
void BM_Wheel_AdvanceNothingDue(benchmark::State& state) {
    const int64_t step = state.range(0);
    TimerWheel wheel;
    std::vector<Timer> timers(1000);
    for (size_t i = 0; i < timers.size(); ++i) {
        timers[i].set_callback(noop_wheel);
        wheel.start(timers[i], Instant::from_ns(int64_t(86'400'000'000'000) + int64_t(i) * 1'000'000));
    }
    int64_t now = 0;
    size_t ran = 0;
    double t0 = cpu_ns();
    for (auto _ : state) {
        now += step;
        ran += wheel.advance(Instant::from_ns(now));
    }
    state.counters["ns_per_op"] = (cpu_ns() - t0) / double(state.iterations());
    if (ran != 0) state.SkipWithError("a timer fired");
}
BENCHMARK(BM_Wheel_AdvanceNothingDue)->Arg(100)->Arg(10'000)->Iterations(1 << 22);

constexpr int64_t kSizes[] = {1'000, 100'000, 1'000'000};

void sizes_start_stop(benchmark::internal::Benchmark* b) {
    for (auto n : kSizes) b->Arg(n);
    b->Iterations(1 << 19)->Unit(benchmark::kNanosecond);
}
void sizes_expire(benchmark::internal::Benchmark* b) {
    for (auto n : kSizes) b->Arg(n);
    b->Iterations(1)->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_Wheel_StartStop)->Apply(sizes_start_stop);
BENCHMARK(BM_Rte_StartStop)->Apply(sizes_start_stop);
BENCHMARK(BM_Wheel_StartExpire)->Apply(sizes_expire);
BENCHMARK(BM_Rte_StartExpire)->Apply(sizes_expire);

// Prints as usual and keeps ns_per_op of every run for the side-by-side table.
class RatioReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const auto& r : runs) {
            auto it = r.counters.find("ns_per_op");
            if (it == r.counters.end()) continue;
            std::string name = r.benchmark_name();  // BM_<Impl>_<Op>/<N>
            auto slash = name.find('/');
            auto impl_end = name.find('_', 3);
            if (slash == std::string::npos || impl_end == std::string::npos) continue;
            std::string impl = name.substr(3, impl_end - 3);
            std::string op = name.substr(impl_end + 1, slash - impl_end - 1);
            long n = std::stol(name.substr(slash + 1));
            (impl == "Wheel" ? table_[{op, n}].wheel : table_[{op, n}].rte) = it->second.value;
        }
    }
    void print_ratios() const {
        std::printf("\n%-12s %10s %14s %14s %12s\n", "operation", "live", "wheel ns/op",
                    "rte_timer ns/op", "rte / wheel");
        for (const auto& [key, row] : table_) {
            std::printf("%-12s %10ld %14.1f %14.1f", key.first.c_str(), key.second, row.wheel,
                        row.rte);
            if (row.wheel > 0 && row.rte > 0)
                std::printf(" %11.1fx\n", row.rte / row.wheel);
            else
                std::printf(" %12s\n", "-");
        }
    }

private:
    struct Row {
        double wheel = 0, rte = 0;
    };
    std::map<std::pair<std::string, long>, Row> table_;
};

}  // namespace

int main(int argc, char** argv) {
    std::string prefix = "--file-prefix=sluice_bench_timer_" + std::to_string(getpid());
    const char* eal[] = {"bench_timer", "--no-huge", "--no-shconf",       "--no-pci",    "-l", "0",
                         "-m",          "64",        "--log-level=error", prefix.c_str()};
    int eal_argc = static_cast<int>(std::size(eal));
    if (rte_eal_init(eal_argc, const_cast<char**>(eal)) < 0) {
        std::fprintf(stderr, "bench_timer: rte_eal_init failed\n");
        return 1;
    }
    if (rte_timer_subsystem_init() < 0) {
        std::fprintf(stderr, "bench_timer: rte_timer_subsystem_init failed\n");
        return 1;
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    reporter.print_ratios();
    benchmark::Shutdown();
    rte_timer_subsystem_finalize();
    rte_eal_cleanup();
    return 0;
}
