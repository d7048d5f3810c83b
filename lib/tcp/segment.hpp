#pragma once
// A TCP segment as the core sees it: arriving (Segment, filled by the engine from the parsed
// frame) and leaving (OutSegment, turned into a frame by the engine).

#include <cstdint>
#include <span>

#include "tcp/buffer.hpp"
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
    // The single-segment mbuf `payload` lies in, or nullptr (then what is kept is copied).
    // The core may take a reference on it (rte_mbuf_refcnt_update) and narrow its data to
    // the payload: the caller frees its own reference with rte_pktmbuf_free_seg() and reads
    // nothing from it after the call.
    rte_mbuf* mbuf = nullptr;

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
    // Bytes of the connection's send buffer (mbufs): valid until the next call on that
    // connection. The engine attaches indirect mbufs to them at once (no copy).
    PayloadRef payload;
};

}  // namespace sluice::tcp
