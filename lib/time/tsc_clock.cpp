#include "time/tsc_clock.hpp"

#include <algorithm>
#include <cassert>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define SLUICE_HAVE_RDTSC 1
#endif

namespace sluice::time {

namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000;

// mult = ceil(num * 2^s / den) with the largest s that keeps mult below 2^64. Rounding up
// makes exact multiples convert exactly (1 s of cycles is 1e9 ns, not 1e9 - 1); the error of
// (x * mult) >> s is then below result / 2^63, i.e. under one unit for any 63-bit result.
void mult_shift(uint64_t num, uint64_t den, uint64_t& mult, unsigned& shift) noexcept {
    using u128 = unsigned __int128;
    constexpr u128 kLimit = static_cast<u128>(1) << 64;
    shift = 0;
    mult = static_cast<uint64_t>((static_cast<u128>(num) + den - 1) / den);  // num/den < 2^64
    for (unsigned s = 1; s <= 90; ++s) {  // num < 2^37, so num << 90 fits in 128 bits
        u128 m = ((static_cast<u128>(num) << s) + den - 1) / den;
        if (m >= kLimit) break;
        mult = static_cast<uint64_t>(m);
        shift = s;
    }
}

}  // namespace

uint64_t TscClock::read_cycles() noexcept {
#ifdef SLUICE_HAVE_RDTSC
    return __rdtsc();
#else
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
#endif
}

TscClock::TscClock(uint64_t hz, uint64_t epoch) noexcept : hz_(hz == 0 ? 1 : hz), epoch_(epoch) {
    assert(hz > 0);
    mult_shift(kNsPerSec, hz_, ns_mult_, ns_shift_);
    mult_shift(hz_, kNsPerSec, cyc_mult_, cyc_shift_);
}

uint64_t TscClock::measure_hz(Duration window) {
#ifdef SLUICE_HAVE_RDTSC
    using clock = std::chrono::steady_clock;
    // Each end point is the tightest of a few (steady, tsc, steady) brackets, so a preemption
    // between the two reads cannot skew it.
    auto sample = [](clock::time_point& at, uint64_t& tsc) {
        auto best = clock::duration::max();
        for (int i = 0; i < 5; ++i) {
            auto t0 = clock::now();
            uint64_t c = read_cycles();
            auto t1 = clock::now();
            if (t1 - t0 < best) {
                best = t1 - t0;
                at = t0 + (t1 - t0) / 2;
                tsc = c;
            }
        }
    };
    clock::time_point t0, t1;
    uint64_t c0 = 0, c1 = 0;
    sample(t0, c0);
    std::this_thread::sleep_for(std::max(window, Duration(std::chrono::milliseconds(1))));
    sample(t1, c1);
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
    auto hz = static_cast<unsigned __int128>(c1 - c0) * kNsPerSec / static_cast<uint64_t>(ns);
    return std::max<uint64_t>(static_cast<uint64_t>(hz), 1);
#else
    (void)window;
    return kNsPerSec;  // read_cycles() counts ns
#endif
}

}  // namespace sluice::time
