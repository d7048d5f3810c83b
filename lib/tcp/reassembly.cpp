// Out-of-order text (RFC 9293 3.10.7.4 seventh step) and the SACK blocks that report it
// (RFC 2018 4). The bytes are mbufs held by the receive buffer (buffer.hpp), sorted by
// sequence number; the Reassembly list keeps their ranges for the SACK blocks.

#include <algorithm>

#include "tcp/connection.hpp"
#include "wire/layout.hpp"

namespace sluice::tcp {

using wire::SeqNum;

// Keeps text that starts at seq beyond RCV.NXT (and lies in the window) for later: the part
// not held yet becomes a piece of the receive buffer (the frame's mbuf itself when it may be
// pinned). Returns false if it was not kept (no room in the list, the mbuf cap or the pool).
bool Connection::queue_out_of_order(SeqNum seq, std::span<const uint8_t> text,
                                    rte_mbuf* frame) noexcept {
    Tcb& t = tcb_;
    const RecvBuffer::Plan p = rcv_buf_.plan(seq, t.rcv_nxt, uint32_t(text.size()));
    if (p.e == seq) return false;  // beyond the free space
    Reassembly ranges = t.ooo;
    if (!ranges.add(seq, p.e)) return false;
    if (p.s != p.e && !rcv_buf_.insert(p.s, p.e, text.subspan(uint32_t(p.s - seq)), frame))
        return false;
    t.ooo = ranges;
    ++stats_->ofo_queue;
    return true;
}

// RCV.NXT moved: take in the ranges it reached (RFC 9293 3.10.7.4: "as much as possible
// of the data ... is delivered").
void Connection::deliver_reassembled() noexcept {
    Tcb& t = tcb_;
    if (t.ooo.empty()) return;
    const SeqNum to = t.ooo.advance(t.rcv_nxt);
    rcv_buf_.deliver(t.rcv_nxt, to);
    t.rcv_nxt = to;
}

// RFC 2018 4: the blocks held, most recent first, as many as the option space allows
// (three next to timestamps, RFC 2018 3).
uint8_t Connection::sack_blocks_to_send() const noexcept {
    const Tcb& t = tcb_;
    if (!t.sack_ok || t.ooo.empty()) return 0;
    const uint8_t max = t.ts_ok ? 3 : uint8_t(wire::TcpOptions::kMaxSackBlocks);
    return std::min(t.ooo.count(), max);
}

// SEND.MSS already leaves room for the timestamps; SACK blocks come and go with the receive
// queue, so a data segment that carries them holds that much less payload (RFC 6691 2,
// RFC 9293 3.7.1: the MSS bounds data plus options; as Linux's tcp_current_mss()).
uint32_t Connection::payload_room() const noexcept {
    const uint8_t n = sack_blocks_to_send();
    const uint32_t sack = n != 0 ? 4u + wire::kTcpOptLenSackBlock * n : 0u;  // NOP NOP kind len
    return tcb_.send_mss > sack ? tcb_.send_mss - sack : 1u;
}

void Connection::add_sack_blocks(OutSegment& s) const noexcept {
    const Tcb& t = tcb_;
    if (s.flags.has(Flags::Syn)) return;
    const uint8_t n = sack_blocks_to_send();
    for (uint8_t i = 0; i < n; ++i) s.options.sack[i] = {t.ooo[i].start, t.ooo[i].end};
    s.options.sack_count = n;
}

}  // namespace sluice::tcp
