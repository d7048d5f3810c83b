// TcpHost's segment emission: an OutSegment becomes a frame (header mbuf, payload as indirect
// mbufs on the send buffer's), its checksum in software or left to the NIC, counted per
// connection. The per-segment cost of sending lives here, apart from the TCP logic.

#include <rte_mbuf.h>

#include <algorithm>

#include "engine/tcp_host_internal.hpp"
#include "engine/worker.hpp"
#include "wire/build.hpp"
#include "wire/checksum.hpp"

namespace sluice::engine {

// Per-connection segment and retransmission counts: a segment whose sequence space starts
// below what was sent before repeats it (keepalive and window probes carry none).
void TcpHost::count_out(Slot& s, const tcp::OutSegment& o) noexcept {
    ++s.stats.segments_out;
    const uint32_t len = uint32_t(o.payload.size()) + (o.flags.has(tcp::Flags::Syn) ? 1u : 0u) +
                         (o.flags.has(tcp::Flags::Fin) ? 1u : 0u);
    if (len == 0) return;
    if (s.sent_any && o.seq < s.sent_high) ++s.stats.retransmits;
    if (!s.sent_any || o.seq + len > s.sent_high) s.sent_high = o.seq + len;
    s.sent_any = true;
}

namespace {

// checksum_partial() over `len` payload bytes that continue through d->next, as one run.
// A piece that starts at an odd offset of the run contributes its sum byte-swapped.
uint32_t payload_sum(const rte_mbuf* d, uint32_t off, uint32_t len) noexcept {
    uint32_t sum = 0;
    uint32_t at = 0;
    for (; len > 0; d = d->next) {
        const uint32_t k = std::min<uint32_t>(len, d->data_len - off);
        uint32_t s = wire::checksum_reduce(
            wire::checksum_partial({rte_pktmbuf_mtod_offset(d, const uint8_t*, off), k}));
        if (at & 1) s = ((s & 0xff) << 8) | (s >> 8);
        sum += s;
        at += k;
        len -= k;
        off = 0;
    }
    return sum;
}

}  // namespace

void TcpHost::emit(const tcp::OutSegment& o, const wire::MacAddr& dst_mac,
                   const wire::IpAddr& src, const wire::IpAddr& dst) noexcept {
    rte_mbuf* m = rte_pktmbuf_alloc(worker_.pool_);
    if (m == nullptr) [[unlikely]] {
        worker_.counters_.add(Counter::DropMbufExhausted);
        return;  // the retransmission timer covers it
    }
    // The payload: indirect mbufs attached to the send buffer's (reference counts), chained
    // behind the header mbuf. An ACK may free the send buffer's mbufs while these are still
    // in the NIC's ring: the data stays until the last reference goes.
    rte_mbuf* tail = m;
    uint16_t segs = 1;
    const uint32_t payload_len = o.payload.len;
    uint32_t left = payload_len, off = o.payload.off;
    for (rte_mbuf* d = o.payload.m; left > 0; d = d->next) {
        rte_mbuf* c = rte_pktmbuf_alloc(clone_pool_);
        if (c == nullptr) [[unlikely]] {
            rte_pktmbuf_free(m);  // and the clones chained so far
            worker_.counters_.add(Counter::DropMbufExhausted);
            return;
        }
        rte_pktmbuf_attach(c, d);
        const uint32_t k = std::min<uint32_t>(left, d->data_len - off);
        c->data_off = uint16_t(c->data_off + off);
        c->data_len = uint16_t(k);
        c->pkt_len = k;
        tail->next = c;
        tail = c;
        ++segs;
        left -= k;
        off = 0;
    }
    const bool offload = worker_.tx_csum_ == wire::CsumMode::Offload;
    const uint32_t sum =
        payload_len > 0 && !offload ? payload_sum(o.payload.m, o.payload.off, payload_len) : 0;
    const std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*),
                                 static_cast<size_t>(rte_pktmbuf_tailroom(m))};
    const wire::L3Header l3{.src_mac = worker_.mac_,
                            .dst_mac = dst_mac,
                            .src = src,
                            .dst = dst,
                            .ttl = worker_.net_.ttl};
    const wire::TcpHeaderSpec spec{.src_port = o.src_port,
                                   .dst_port = o.dst_port,
                                   .seq = o.seq,
                                   .ack = o.ack,
                                   .flags = o.flags.bits,
                                   .window = o.window,
                                   .options = o.options};
    const size_t len =
        wire::build_tcp_headers(buf, l3, spec, payload_len, sum, worker_.tx_csum_);
    m->nb_segs = segs;
    worker_.counters_.add(Counter::TcpOutSegs);
    if (o.flags.has(tcp::Flags::Rst)) worker_.counters_.add(Counter::TcpOutRsts);
    worker_.transmit(m, len, offload, payload_len);
}

}  // namespace sluice::engine
