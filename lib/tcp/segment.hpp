#pragma once
// A TCP segment as the core sees it: arriving (Segment, filled by the engine from the parsed
// frame) and leaving (OutSegment, turned into a frame by the engine).

#include <cstdint>
#include <span>

#include "tcp/flags.hpp"
#include "wire/seq.hpp"
#include "wire/tcp_options.hpp"

namespace sluice::tcp {

struct Segment {
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    wire::SeqNum seq;
    wire::SeqNum ack;
    Flags flags;
    uint16_t window = 0;  // raw from the header, not yet scaled
    wire::TcpOptions options;
    std::span<const uint8_t> payload;

    // SEG.LEN (RFC 9293 3.4): payload plus one for each of SYN and FIN.
    uint32_t seg_len() const noexcept {
        return uint32_t(payload.size()) + (flags.has(Flags::Syn) ? 1u : 0u) +
               (flags.has(Flags::Fin) ? 1u : 0u);
    }
};

struct OutSegment {
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    wire::SeqNum seq;
    wire::SeqNum ack;  // meaningful when flags has ACK; zero otherwise
    Flags flags;
    uint16_t window = 0;       // already scaled down for the header
    wire::TcpOptions options;  // options to emit (has_* / sack_permitted / sack_count)
    // Points into the connection's send buffer: valid until the next call on that
    // connection. The engine copies it into an mbuf at once.
    std::span<const uint8_t> payload;
};

}  // namespace sluice::tcp
