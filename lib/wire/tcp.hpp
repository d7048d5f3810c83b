#pragma once
// TCP control bits and the option codec (RFC 9293 3.1-3.2, RFC 7323, RFC 2018).

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/drop.hpp"
#include "wire/tcp_options.hpp"

namespace sluice::wire {

namespace tcp_flags {
constexpr uint8_t Fin = 0x01, Syn = 0x02, Rst = 0x04, Psh = 0x08, Ack = 0x10, Urg = 0x20,
                  Ece = 0x40, Cwr = 0x80;
}  // namespace tcp_flags

// Parses the option bytes of a TCP header (everything after the fixed 20 bytes) into `out`,
// which is reset first. Rules (RFC 9293 3.2):
//   - EOL ends the list; NOP is skipped;
//   - every other kind has a length byte counting kind and length: a length of 0 or 1, a
//     missing length byte, or a length running past the header is TcpBadOption;
//   - MSS (4), window scale (3), SACK-permitted (2) and timestamps (10) with any other length
//     are TcpBadOption; SACK needs 2 + 8n bytes with 1 <= n <= 4 (RFC 2018 3);
//   - unknown kinds are skipped by their length (RFC 9293 3.2, MUST-6/7 of RFC 1122 4.2.2.5).
// A repeated option overwrites the earlier one. Returns Drop::None or Drop::TcpBadOption;
// never reads outside `opts`.
Drop parse_tcp_options(std::span<const uint8_t> opts, TcpOptions& out) noexcept;

// The same result as parse_tcp_options() for every input, with the layouts nearly every
// segment of an established connection carries read without the general loop: no options,
// or NOP NOP TS (the aligned timestamps of RFC 7323 Appendix A). Anything else goes to
// parse_tcp_options().
inline Drop parse_tcp_options_fast(std::span<const uint8_t> opts, TcpOptions& out) noexcept {
    constexpr size_t kAlignedTsLen = 12;
    constexpr uint32_t kNopNopTs = 0x0101080a;  // NOP, NOP, kind 8, length 10
    const uint8_t* p = opts.data();
    if (opts.empty()) {
        out = TcpOptions{};
        return Drop::None;
    }
    if (opts.size() == kAlignedTsLen &&
        (uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]) == kNopNopTs) {
        out = TcpOptions{};
        out.has_timestamps = true;
        out.ts_val = uint32_t{p[4]} << 24 | uint32_t{p[5]} << 16 | uint32_t{p[6]} << 8 | p[7];
        out.ts_ecr = uint32_t{p[8]} << 24 | uint32_t{p[9]} << 16 | uint32_t{p[10]} << 8 | p[11];
        return Drop::None;
    }
    return parse_tcp_options(opts, out);
}

// Number of option bytes write_tcp_options() emits for `o`: a multiple of 4, at most 40.
size_t tcp_options_size(const TcpOptions& o) noexcept;

// Writes the options of `o` in Linux's order and alignment, each item padded with NOPs to a
// 32-bit boundary so the header needs no trailing padding:
//   MSS | SACK-perm+TS or NOP NOP TS | NOP NOP SACK-perm (without TS) | NOP WS | NOP NOP SACK
// SACK blocks that do not fit in the 40 option bytes are left out, last ones first (the
// first block is the most recent one, RFC 2018 4). Returns the bytes written, equal to
// tcp_options_size(o); 0 if there is nothing to write or `out` is too small.
size_t write_tcp_options(std::span<uint8_t> out, const TcpOptions& o) noexcept;

}  // namespace sluice::wire
