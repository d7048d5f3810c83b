#include "engine/worker.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include <cstring>

namespace sluice::engine {

namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint16_t kArpRequest = 1;  // RFC 826
constexpr uint16_t kArpReply = 2;
constexpr uint16_t kEthHeaderLen = 14;

std::span<uint8_t> whole_buffer(rte_mbuf* m) {
    // The frame plus the tailroom behind it: replies may be longer than what came in.
    return {rte_pktmbuf_mtod(m, uint8_t*),
            static_cast<size_t>(m->data_len) + rte_pktmbuf_tailroom(m)};
}

}  // namespace

DropCounters counters_for(wire::Drop d) noexcept {
    using D = wire::Drop;
    using C = Counter;
    switch (d) {
        case D::None: break;
        case D::EthTruncated: return {C::DropEthTruncated, C::DropEthTruncated};
        case D::EthBadSource: return {C::DropEthBadSource, C::DropEthBadSource};
        case D::Ipv6Truncated: return {C::DropIpv6Truncated, C::DropIpv6Truncated};
        case D::Ipv6BadVersion: return {C::DropIpv6BadVersion, C::DropIpv6BadVersion};
        case D::Ipv6BadPayloadLength:
            return {C::DropIpv6BadPayloadLength, C::DropIpv6BadPayloadLength};
        case D::Ipv6BadSource: return {C::DropIpv6BadSource, C::DropIpv6BadSource};
        case D::Ipv6BadDestination: return {C::DropIpv6BadDestination, C::DropIpv6BadDestination};
        case D::Ipv6BadExtHeader: return {C::DropIpv6BadExtHeader, C::DropIpv6BadExtHeader};
        case D::Ipv6Fragment: return {C::DropIpv6Fragment, C::DropIpv6Fragment};
        case D::NdpMalformed: return {C::DropNdpMalformed, C::DropNdpMalformed};
        case D::EthUnsupportedType: return {C::DropEthUnsupportedType, C::DropEthUnsupportedType};
        case D::Ipv6Unsupported: return {C::DropIpv6Unsupported, C::DropIpv6Unsupported};
        case D::ArpMalformed: return {C::DropArpMalformed, C::DropArpMalformed};
        case D::ArpUnsupported: return {C::DropArpUnsupported, C::DropArpUnsupported};
        case D::Ipv4Truncated: return {C::DropIpv4Truncated, C::IpInHdrErrors};
        case D::Ipv4BadVersion: return {C::DropIpv4BadVersion, C::IpInHdrErrors};
        case D::Ipv4BadIhl: return {C::DropIpv4BadIhl, C::IpInHdrErrors};
        case D::Ipv4BadTotalLength: return {C::DropIpv4BadTotalLength, C::IpInHdrErrors};
        case D::Ipv4BadChecksum: return {C::DropIpv4BadChecksum, C::IpInHdrErrors};
        case D::Ipv4Fragment: return {C::DropIpv4Fragment, C::IpReasmFails};
        case D::Ipv4TtlZero: return {C::DropIpv4TtlZero, C::IpInHdrErrors};
        case D::Ipv4BadSource: return {C::DropIpv4BadSource, C::IpInAddrErrors};
        case D::Ipv4BadDestination: return {C::DropIpv4BadDestination, C::IpInAddrErrors};
        case D::IpUnsupportedProto: return {C::DropIpUnsupportedProto, C::IpInUnknownProtos};
        case D::IcmpTruncated: return {C::DropIcmpTruncated, C::IcmpInErrors};
        case D::IcmpBadChecksum: return {C::DropIcmpBadChecksum, C::IcmpInCsumErrors};
        case D::IcmpUnsupportedType: return {C::DropIcmpUnsupportedType, C::IcmpInErrors};
        case D::TcpTruncated: return {C::DropTcpTruncated, C::TcpInErrs};
        case D::TcpBadDataOffset: return {C::DropTcpBadDataOffset, C::TcpInErrs};
        case D::TcpBadOption: return {C::DropTcpBadOption, C::TcpInErrs};
        case D::TcpBadChecksum: return {C::DropTcpBadChecksum, C::TcpInCsumErrors};
        case D::TcpBadPort: return {C::DropTcpBadPort, C::TcpInErrs};
        case D::Count: break;
    }
    return {C::DropEthUnsupportedType, C::DropEthUnsupportedType};
}

Worker::Worker(const NetConfig& net, const dev::Port& port, uint16_t queue, Counters& counters)
    : net_(net),
      port_(port),
      queue_(queue),
      pool_(port.pools.at(queue)),
      counters_(counters),
      tx_csum_(port.caps.tx_ip_csum && port.caps.tx_tcp_csum ? wire::CsumMode::Offload
                                                             : wire::CsumMode::Software),
      neighbors_(net.neighbors),
      clock_(rte_get_tsc_hz()) {
    std::memcpy(mac_.b.data(), port.mac, mac_.b.size());
}

Worker::~Worker() = default;

dev::Result<dev::Ok> Worker::enable_tcp(const TcpHostConfig& cfg) {
    return enable_tcp(cfg, now());
}

dev::Result<dev::Ok> Worker::enable_tcp(const TcpHostConfig& cfg, time::Instant now) {
    auto h = TcpHost::create(cfg, *this, net_.address.addr, now);
    if (!h) return h.error();
    tcp_ = std::move(*h);
    return dev::Ok{};
}

time::Instant Worker::now() const noexcept {
    return clock_.now();
}

void Worker::run(const std::atomic<bool>& stop) noexcept {
    // Learn the gateway's MAC up front, so the first packet that needs it doesn't wait.
    if (net_.gateway) solicit(*net_.gateway, now());
    if (on_start_) on_start_(*this);
    flush();
    while (!stop.load(std::memory_order_relaxed)) poll();
    flush();
}

// Inlined into both poll()s (same translation unit): the TSC path costs what it did.
inline void Worker::poll_at(uint64_t start, time::Instant t) noexcept {
    rte_mbuf* rx[kBurst];
    now_ = t;
    started_ = true;
    const uint16_t n = rte_eth_rx_burst(port_.id, queue_, rx, kBurst);
    counters_.add(Counter::LoopTurns);
    if (n == 0) {
        if (tcp_) tcp_->on_tick(t);
        if (on_tick_ != nullptr) on_tick_(*this, t, on_tick_ctx_);
        flush();
        counters_.add(Counter::IdleCycles, rte_rdtsc() - start);
        return;
    }
    counters_.add(Counter::RxBursts);
    for (uint16_t i = 0; i < n; ++i) {
        if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void*));
        handle(rx[i], t);
    }
    now_ = t;
    if (tcp_) tcp_->on_tick(t);
    if (on_tick_ != nullptr) on_tick_(*this, t, on_tick_ctx_);
    flush();
    counters_.add(Counter::BusyCycles, rte_rdtsc() - start);
}

void Worker::poll() noexcept {
    const uint64_t start = rte_rdtsc();
    poll_at(start, clock_.to_instant(start));
}

void Worker::poll(time::Instant now) noexcept {
    poll_at(rte_rdtsc(), now);
}

void Worker::handle(rte_mbuf* m, time::Instant now) noexcept {
    now_ = now;
    // A chained frame (our own TX chains over an in-memory port, or scattered RX) is made
    // one segment when it fits the first mbuf's room.
    if (m->nb_segs != 1 && rte_pktmbuf_linearize(m) != 0) [[unlikely]] {
        discard(m, Counter::DropRxMultiSegment);
        return;
    }
    std::span<uint8_t> buf = whole_buffer(m);
    const std::span<const uint8_t> frame(buf.data(), m->data_len);
    const wire::RxCsum hw = wire::rx_csum_from_ol_flags(m->ol_flags);

    wire::Frame f;
    if (const wire::Drop d = wire::parse_frame(frame, hw, f); d != wire::Drop::None) {
        if (f.ether_type == kEtherTypeIpv4) counters_.add(Counter::IpInReceives);
        drop(m, d);
        return;
    }
    if (f.ether_type == kEtherTypeIpv6) [[unlikely]] {
        drop(m, wire::Drop::Ipv6Unsupported);  // parsed and valid; the engine's part is to come
        return;
    }
    if (f.dst_mac != mac_ && !f.dst_mac.is_broadcast()) {
        discard(m, Counter::EthInNotForUs);
        return;
    }
    if (f.ether_type == kEtherTypeArp) {
        handle_arp(m, buf, f, now);
        return;
    }
    counters_.add(Counter::IpInReceives);
    // RFC 1122 3.2.1.3: a source that is our own address (a LAND packet) or the directed
    // broadcast of our prefix is not a host we can answer.
    if (net_.is_local(f.src) || f.src == net_.address.broadcast()) {
        drop(m, wire::Drop::Ipv4BadSource);
        return;
    }
    if (!net_.is_local(f.dst)) {
        discard(m, Counter::DropIpv4NotForUs);
        counters_.add(Counter::IpInAddrErrors);
        return;
    }
    switch (f.ip_proto) {
        case kProtoTcp: handle_tcp(m, buf, f, hw); return;
        case kProtoIcmp: handle_icmp(m, buf, f, hw); return;
        default: drop(m, wire::Drop::IpUnsupportedProto); return;
    }
}

// RFC 826: merge the sender into the table, answer requests for our address.
void Worker::handle_arp(rte_mbuf* m, std::span<uint8_t> buf, const wire::Frame& f,
                        time::Instant now) noexcept {
    wire::ArpPacket arp;
    if (const wire::Drop d = wire::parse_arp(buf.first(m->data_len), f, arp);
        d != wire::Drop::None) {
        drop(m, d);
        return;
    }
    const bool for_us = net_.is_local(arp.tpa);  // our address or one of the extra ones
    const bool sender_ok =
        net_.address.contains(arp.spa) && !net_.is_local(arp.spa) && !arp.sha.is_multicast();
    if (sender_ok) {
        const auto r = neighbors_.learn(arp.spa, arp.sha, now, for_us);
        if (r == NeighborTable::Update::Full) counters_.add(Counter::NeighTableFull);
    }
    if (!for_us || !sender_ok) {
        discard(m, Counter::ArpInOther);
        return;
    }
    if (arp.op == kArpReply) {
        discard(m, Counter::ArpInReplies);
        return;
    }
    if (arp.op != kArpRequest) {
        drop(m, wire::Drop::ArpUnsupported);
        return;
    }
    counters_.add(Counter::ArpInRequests);
    const size_t len =
        wire::build_arp(buf, kArpReply, arp.sha, mac_, arp.tpa, arp.sha, arp.spa);
    counters_.add(Counter::ArpOutReplies);
    transmit(m, len, false);
}

void Worker::handle_icmp(rte_mbuf* m, std::span<uint8_t> buf, const wire::Frame& f,
                         wire::RxCsum hw) noexcept {
    counters_.add(Counter::IcmpInMsgs);
    wire::IcmpEcho echo;
    if (const wire::Drop d = wire::parse_icmp_echo(buf.first(m->data_len), f, hw, echo);
        d != wire::Drop::None) {
        drop(m, d);
        return;
    }
    counters_.add(Counter::IpInDelivers);
    counters_.add(Counter::IcmpInEchos);
    const size_t len = wire::make_echo_reply_in_place(buf.first(m->data_len), f, mac_);
    counters_.add(Counter::IcmpOutEchoReps);
    transmit(m, len, false);
}

void Worker::handle_tcp(rte_mbuf* m, std::span<uint8_t> buf, const wire::Frame& f,
                        wire::RxCsum hw) noexcept {
    wire::TcpSegmentView seg;
    if (const wire::Drop d = wire::parse_tcp(buf.first(m->data_len), f, hw, seg);
        d != wire::Drop::None) {
        drop(m, d);
        return;
    }
    counters_.add(Counter::IpInDelivers);
    counters_.add(Counter::TcpInSegs);
    // The host may keep a reference to m for the payload (and link it into its buffers
    // through m->next): drop only our own reference, the one segment.
    if (tcp_ && tcp_->on_segment(f, seg, buf.first(m->data_len), now_, m)) {
        rte_pktmbuf_free_seg(m);
        return;
    }
    // RFC 9293 3.10.7.1: no connection and no listener is the CLOSED state. An incoming RST
    // is discarded; anything else gets a RST, and no state is kept.
    if (seg.flags & wire::tcp_flags::Rst) {
        discard(m, Counter::TcpInRstNoConn);
        return;
    }
    send_tcp_reply(m, buf, f, wire::rst_for(seg));
    counters_.add(Counter::TcpOutRsts);
}

void Worker::send_tcp_reply(rte_mbuf* m, std::span<uint8_t> buf, const wire::Frame& f,
                            const wire::TcpHeaderSpec& spec) noexcept {
    const wire::L3Header l3{
        .src_mac = mac_, .dst_mac = f.src_mac, .src = f.dst, .dst = f.src, .ttl = net_.ttl};
    const size_t len = wire::build_tcp(buf, l3, spec, {}, tx_csum_);
    counters_.add(Counter::TcpOutSegs);
    transmit(m, len, tx_csum_ == wire::CsumMode::Offload);
}

void Worker::transmit(rte_mbuf* m, size_t len, bool l4_offload, uint32_t chained) noexcept {
    if (len == 0) [[unlikely]] {  // a builder found no room: cannot happen for our replies
        discard(m, Counter::DropMbufExhausted);
        return;
    }
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = static_cast<uint32_t>(len) + chained;
    m->ol_flags = 0;
    const bool is_ip =
        len > kEthHeaderLen + 1 && (rte_pktmbuf_mtod(m, uint8_t*)[12] << 8 |
                                    rte_pktmbuf_mtod(m, uint8_t*)[13]) == kEtherTypeIpv4;
    if (is_ip) {
        counters_.add(Counter::IpOutRequests);
        if (l4_offload) {
            m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
            m->l2_len = kEthHeaderLen;
            m->l3_len = static_cast<uint16_t>((rte_pktmbuf_mtod(m, uint8_t*)[14] & 0x0f) * 4);
        }
    }
    tx_[tx_count_++] = m;
    if (tx_count_ == std::size(tx_)) flush();
}

void Worker::flush() noexcept {
    if (tx_count_ == 0) return;
    const uint16_t sent = rte_eth_tx_burst(port_.id, queue_, tx_, tx_count_);
    if (sent < tx_count_) [[unlikely]] {
        counters_.add(Counter::DropTxFull, tx_count_ - sent);
        rte_pktmbuf_free_bulk(tx_ + sent, tx_count_ - sent);
    }
    tx_count_ = 0;
}

void Worker::drop(rte_mbuf* m, wire::Drop why) noexcept {
    const DropCounters c = counters_for(why);
    counters_.add(c.drop);
    if (c.total != c.drop) counters_.add(c.total);
    rte_pktmbuf_free(m);
}

void Worker::discard(rte_mbuf* m, Counter why) noexcept {
    counters_.add(why);
    rte_pktmbuf_free(m);
}

bool Worker::resolve(const wire::IpAddr& dst, time::Instant now, wire::MacAddr& mac) noexcept {
    wire::IpAddr hop = dst;
    if (!net_.address.contains(dst)) {
        if (!net_.gateway) return false;
        hop = *net_.gateway;
    }
    switch (neighbors_.resolve(hop, now, mac)) {
        case NeighborTable::Lookup::Hit: return true;
        case NeighborTable::Lookup::SendRequest: send_arp_request(hop); return false;
        case NeighborTable::Lookup::Pending: return false;
        case NeighborTable::Lookup::Full: counters_.add(Counter::NeighTableFull); return false;
    }
    return false;
}

void Worker::solicit(const wire::IpAddr& target, time::Instant now) noexcept {
    wire::MacAddr mac;
    switch (neighbors_.resolve(target, now, mac)) {
        case NeighborTable::Lookup::Hit:
        case NeighborTable::Lookup::Pending: return;
        case NeighborTable::Lookup::Full: counters_.add(Counter::NeighTableFull); return;
        case NeighborTable::Lookup::SendRequest: send_arp_request(target); return;
    }
}

void Worker::send_arp_request(const wire::IpAddr& target) noexcept {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) [[unlikely]] {
        counters_.add(Counter::DropMbufExhausted);
        return;
    }
    std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*),
                           static_cast<size_t>(rte_pktmbuf_tailroom(m))};
    const size_t len = wire::build_arp(buf, kArpRequest, wire::MacAddr::broadcast(), mac_,
                                       net_.address.addr, wire::MacAddr{}, target);
    counters_.add(Counter::ArpOutRequests);
    transmit(m, len, false);
}

}  // namespace sluice::engine
