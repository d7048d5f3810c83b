// fuzz_tcp_options: wire::parse_tcp_options on arbitrary option bytes; whatever it accepts
// must survive write_tcp_options() and parse back to the same values (tcp.hpp).

#include <array>
#include <cstring>

#include "common.hpp"
#include "wire/tcp.hpp"

namespace sluice::fuzz {

int fuzz_tcp_options_one(const uint8_t* data, size_t size) {
    wire::TcpOptions parsed;
    if (wire::parse_tcp_options(std::span(data, size), parsed) != wire::Drop::None) return 0;
    SLUICE_FUZZ_CHECK(parsed.sack_count <= wire::TcpOptions::kMaxSackBlocks);

    // Written into a larger buffer with a canary: the writer must stop at its own count.
    constexpr uint8_t kCanary = 0xa5;
    std::array<uint8_t, 64> buf;
    buf.fill(kCanary);
    const size_t n = wire::write_tcp_options(std::span(buf.data(), 40), parsed);
    SLUICE_FUZZ_CHECK(n == wire::tcp_options_size(parsed));
    SLUICE_FUZZ_CHECK(n % 4 == 0 && n <= 40);
    for (size_t i = n; i < buf.size(); ++i) SLUICE_FUZZ_CHECK(buf[i] == kCanary);

    const wire::TcpOptions want = expected_after_write(parsed);
    wire::TcpOptions reparsed;
    SLUICE_FUZZ_CHECK(wire::parse_tcp_options(std::span(buf.data(), n), reparsed) ==
                      wire::Drop::None);
    SLUICE_FUZZ_CHECK(same_options(reparsed, want));

    // Too small a buffer: nothing written, 0 returned.
    if (n > 0) {
        std::array<uint8_t, 40> small;
        small.fill(kCanary);
        SLUICE_FUZZ_CHECK(wire::write_tcp_options(std::span(small.data(), n - 1), parsed) == 0);
        for (uint8_t b : small) SLUICE_FUZZ_CHECK(b == kCanary);
    }
    return 0;
}

}  // namespace sluice::fuzz

SLUICE_FUZZ_ENTRY(sluice::fuzz::fuzz_tcp_options_one)
