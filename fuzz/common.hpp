#pragma once
// Shared pieces of the libFuzzer harnesses: an input reader that never runs dry, a check
// that stops the run with a message, and the entry-point macro.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "wire/tcp_options.hpp"

namespace sluice::fuzz {

// Reads the input front to back (so seeds can be written by hand, unlike
// FuzzedDataProvider, which takes integers from the back). Past the end it yields zeros:
// every input is a complete program, and a short one just ends sooner.
class Reader {
public:
    Reader(const uint8_t* data, size_t size) noexcept : p_(data), end_(data + size) {}
    bool empty() const noexcept { return p_ == end_; }
    size_t remaining() const noexcept { return static_cast<size_t>(end_ - p_); }
    uint8_t u8() noexcept { return p_ == end_ ? 0 : *p_++; }
    uint16_t u16() noexcept { return static_cast<uint16_t>((u8() << 8) | u8()); }
    uint32_t u32() noexcept { return (uint32_t{u16()} << 16) | u16(); }

private:
    const uint8_t* p_;
    const uint8_t* end_;
};

// A failed check is a finding: print why and abort, so libFuzzer saves the input.
[[noreturn]] inline void fail(const char* file, int line, const char* what) noexcept {
    std::fprintf(stderr, "\n==fuzz check failed== %s:%d: %s\n", file, line, what);
    std::abort();
}

// The option fields that carry meaning (parse_tcp_options resets `out`, but a builder may
// leave stale values behind a false has_* flag).
inline bool same_options(const wire::TcpOptions& a, const wire::TcpOptions& b) noexcept {
    if (a.has_mss != b.has_mss || (a.has_mss && a.mss != b.mss)) return false;
    if (a.has_wscale != b.has_wscale || (a.has_wscale && a.wscale != b.wscale)) return false;
    if (a.sack_permitted != b.sack_permitted) return false;
    if (a.has_timestamps != b.has_timestamps) return false;
    if (a.has_timestamps && (a.ts_val != b.ts_val || a.ts_ecr != b.ts_ecr)) return false;
    if (a.sack_count != b.sack_count) return false;
    for (size_t i = 0; i < a.sack_count && i < a.sack.size(); ++i)
        if (a.sack[i].left != b.sack[i].left || a.sack[i].right != b.sack[i].right) return false;
    return true;
}

// What write_tcp_options() keeps of `o` (tcp.hpp): SACK blocks that do not fit in the 40
// option bytes are dropped, last ones first. Layout: MSS 4, TS 12 (SACK-permitted rides in
// its padding), SACK-permitted alone 4, WS 4, SACK 4 + 8n.
inline wire::TcpOptions expected_after_write(wire::TcpOptions o) noexcept {
    size_t base = (o.has_mss ? 4 : 0) + (o.has_timestamps ? 12 : (o.sack_permitted ? 4 : 0)) +
                  (o.has_wscale ? 4 : 0);
    size_t n = o.sack_count;
    while (n > 0 && base + 4 + 8 * n > 40) --n;
    o.sack_count = static_cast<uint8_t>(n);
    return o;
}

}  // namespace sluice::fuzz

#define SLUICE_FUZZ_CHECK(cond)                                       \
    do {                                                              \
        if (!(cond)) ::sluice::fuzz::fail(__FILE__, __LINE__, #cond); \
    } while (0)

// Each harness defines `int NAME(const uint8_t*, size_t)`; this makes it the libFuzzer
// entry point, except in the regression-test build, which links all harnesses together.
#if defined(SLUICE_FUZZ_REPLAY)
#define SLUICE_FUZZ_ENTRY(fn)
#else
#define SLUICE_FUZZ_ENTRY(fn)                                                 \
    extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
        return fn(data, size);                                                \
    }
#endif
