#include "engine/worker.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include <cstring>

#include "wire/ipv6.hpp"
#include "wire/layout.hpp"

namespace sluice::engine {

namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoIcmp6 = 58;
constexpr uint16_t kArpRequest = 1;  // RFC 826
constexpr uint16_t kArpReply = 2;
constexpr uint16_t kEthHeaderLen = 14;
// A ring entry with this bit set is an ARP frame copied for learning only (mbufs are
// cache-line aligned, so the bit is free).
constexpr uintptr_t kLearnOnlyTag = 1;

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
        case D::Ipv6Truncated: return {C::DropIpv6Truncated, C::Ip6InHdrErrors};
        case D::Ipv6BadVersion: return {C::DropIpv6BadVersion, C::Ip6InHdrErrors};
        case D::Ipv6BadPayloadLength: return {C::DropIpv6BadPayloadLength, C::Ip6InHdrErrors};
        case D::Ipv6BadSource: return {C::DropIpv6BadSource, C::Ip6InAddrErrors};
        case D::Ipv6BadDestination: return {C::DropIpv6BadDestination, C::Ip6InAddrErrors};
        case D::Ipv6BadExtHeader: return {C::DropIpv6BadExtHeader, C::Ip6InHdrErrors};
        case D::Ipv6Fragment: return {C::DropIpv6Fragment, C::Ip6InHdrErrors};
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
    link_local_ = wire::link_local_of(mac_);
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
    if (net_.gateway6) solicit(*net_.gateway6, now());
    if (on_start_) on_start_(*this);
    flush();
    while (!stop.load(std::memory_order_relaxed)) poll();
    flush();
}

void Worker::set_steering(std::vector<rte_ring*> out, std::vector<rte_ring*> in, bool forward) {
    forward_ = forward;
    steer_out_ = std::move(out);
    steer_in_ = std::move(in);
    steer_stage_.assign(steer_out_.size(), {});
    steer_count_.assign(steer_out_.size(), 0);
}

// Inlined into both poll()s (same translation unit): the TSC path costs what it did.
inline void Worker::poll_at(uint64_t start, time::Instant t) noexcept {
    rte_mbuf* rx[kBurst];
    now_ = t;
    started_ = true;
    const uint16_t received = rte_eth_rx_burst(port_.id, queue_, rx, kBurst);
    counters_.add(Counter::LoopTurns);
    const uint16_t n = forward_ && received > 0 ? steer(rx, received) : received;
    for (uint16_t i = 0; i < n; ++i) {
        if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void*));
        handle(rx[i], t);
    }
    const uint16_t steered = steer_in_.empty() ? 0 : receive_steered(t);
    if (tcp_) tcp_->on_tick(t);
    if (on_tick_ != nullptr) on_tick_(*this, t, on_tick_ctx_);
    flush();
    if (received == 0 && steered == 0) {
        counters_.add(Counter::IdleCycles, rte_rdtsc() - start);
        return;
    }
    if (received != 0) counters_.add(Counter::RxBursts);
    counters_.add(Counter::BusyCycles, rte_rdtsc() - start);
}

// The owner of a frame: the worker whose queue the RETA gives for the Toeplitz hash of its
// TCP/IPv4 4-tuple (dev/rss.hpp), exactly what a NIC with our key and RETA would pick. Frames
// that are not whole TCP/IPv4 segments (ARP, ICMP, fragments, runts) stay with the worker that
// received them: nothing in them belongs to a connection, and the parser counts the bad ones.
uint16_t Worker::owner_of(const rte_mbuf* m) const noexcept {
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint32_t len = m->data_len;
    if (len < kEthHeaderLen + 20) return queue_;
    const uint16_t type = uint16_t(p[12] << 8 | p[13]);
    if (type == kEtherTypeIpv6) {
        // The hash over the addresses and ports, as a NIC computes RTE_ETH_RSS_IPV6_TCP. TCP
        // behind extension headers (rare) takes the full parser to find the ports; what is
        // not TCP stays here (the parser counts or serves it).
        const uint8_t* ip = p + kEthHeaderLen;
        uint32_t l4 = kEthHeaderLen + 40;
        if (ip[6] != kProtoTcp) [[unlikely]] {
            wire::Frame f;
            if (wire::parse_frame({p, len}, {}, f) != wire::Drop::None || f.ip_proto != kProtoTcp)
                return queue_;
            l4 = f.l4_off;
        }
        if (len < l4 + 4) return queue_;
        const uint8_t* tcp = p + l4;
        return port_.rss.queue_v6(ip + 8, ip + 24, uint16_t(tcp[0] << 8 | tcp[1]),
                                  uint16_t(tcp[2] << 8 | tcp[3]));
    }
    if (type != kEtherTypeIpv4) return queue_;
    const uint8_t* ip = p + kEthHeaderLen;
    const uint32_t ihl = (ip[0] & 0x0fu) * 4;
    const bool fragment = ((ip[6] << 8 | ip[7]) & 0x3fff) != 0;  // MF or an offset
    if (ip[9] != kProtoTcp || fragment || ihl < 20 || len < kEthHeaderLen + ihl + 4) return queue_;
    const uint8_t* tcp = ip + ihl;
    const auto be32 = [](const uint8_t* b) {
        return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
    };
    return port_.rss.queue_v4(be32(ip + 12), be32(ip + 16), uint16_t(tcp[0] << 8 | tcp[1]),
                              uint16_t(tcp[2] << 8 | tcp[3]));
}

uint16_t Worker::steer(rte_mbuf** rx, uint16_t n) noexcept {
    uint16_t ours = 0;
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = rx[i];
        const uint16_t owner = owner_of(m);
        if (owner == queue_) {
            rx[ours++] = m;
        } else {
            steer_stage_[owner][steer_count_[owner]++] = m;
        }
    }
    for (size_t q = 0; q < steer_out_.size(); ++q) {
        const uint16_t k = steer_count_[q];
        if (k == 0) continue;
        steer_count_[q] = 0;
        const unsigned sent = rte_ring_sp_enqueue_burst(
            steer_out_[q], reinterpret_cast<void* const*>(steer_stage_[q].data()), k, nullptr);
        counters_.add(Counter::SteerOut, sent);
        if (sent < k) [[unlikely]] {
            counters_.add(Counter::DropSteerRingFull, k - sent);
            rte_pktmbuf_free_bulk(steer_stage_[q].data() + sent, k - sent);
        }
    }
    return ours;
}

// Each worker keeps its own neighbour table, but the NIC (or the PMD) delivers an ARP or NDP
// frame to one queue only; the others get a copy of each valid one to learn from (rare
// frames, so a copy is cheap).
void Worker::share_neighbor_frame(rte_mbuf* m) noexcept {
    for (rte_ring* r : steer_out_) {
        if (r == nullptr) continue;
        rte_mbuf* c = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
        if (c == nullptr) [[unlikely]] {
            counters_.add(Counter::DropMbufExhausted);
            continue;
        }
        void* tagged = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(c) | kLearnOnlyTag);
        if (rte_ring_sp_enqueue(r, tagged) != 0) [[unlikely]] {
            counters_.add(Counter::DropSteerRingFull);
            rte_pktmbuf_free(c);
        }
    }
}

uint16_t Worker::receive_steered(time::Instant now) noexcept {
    uint16_t total = 0;
    for (rte_ring* r : steer_in_) {
        void* got[kBurst];
        const unsigned k = rte_ring_sc_dequeue_burst(r, got, kBurst, nullptr);
        counters_.add(Counter::SteerIn, k);
        for (unsigned i = 0; i < k; ++i) {
            const auto bits = reinterpret_cast<uintptr_t>(got[i]);
            handle(reinterpret_cast<rte_mbuf*>(bits & ~kLearnOnlyTag), now,
                   (bits & kLearnOnlyTag) != 0);
        }
        total = static_cast<uint16_t>(total + k);
    }
    return total;
}

void Worker::poll() noexcept {
    const uint64_t start = rte_rdtsc();
    poll_at(start, clock_.to_instant(start));
}

void Worker::poll(time::Instant now) noexcept {
    poll_at(rte_rdtsc(), now);
}

void Worker::handle(rte_mbuf* m, time::Instant now, bool learn_only) noexcept {
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
        if (f.ether_type == kEtherTypeIpv6) counters_.add(Counter::Ip6InReceives);
        drop(m, d);
        return;
    }
    if (f.ether_type == kEtherTypeIpv6) {
        handle_ipv6(m, buf, f, hw, now, learn_only);
        return;
    }
    if (f.dst_mac != mac_ && !f.dst_mac.is_broadcast()) {
        discard(m, Counter::EthInNotForUs);
        return;
    }
    if (f.ether_type == kEtherTypeArp) {
        handle_arp(m, buf, f, now, learn_only);
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

bool Worker::is_local(const wire::IpAddr& a) const noexcept {
    return net_.is_local(a) || (net_.address6 && a == link_local_);
}

bool Worker::on_link(const wire::IpAddr& a) const noexcept {
    if (a.is_v4()) return net_.address.contains(a);
    return net_.address6 && (net_.address6->contains(a) || wire::is_v6_link_local(a));
}

// RFC 8200 and RFC 4861 7.2.1: unicast to one of our addresses, or ICMPv6 to a group we are
// in (all-nodes and the solicited-node groups of our addresses); the parser already refused
// TCP to a multicast destination.
void Worker::handle_ipv6(rte_mbuf* m, std::span<uint8_t> buf, const wire::Frame& f,
                         wire::RxCsum hw, time::Instant now, bool learn_only) noexcept {
    counters_.add(Counter::Ip6InReceives);
    if (!net_.address6) {
        drop(m, wire::Drop::Ipv6Unsupported);
        return;
    }
    if (wire::is_v6_multicast(f.dst)) {
        const bool member = f.dst == wire::all_nodes() ||
                            f.dst == wire::solicited_node(net_.address6->addr) ||
                            f.dst == wire::solicited_node(link_local_);
        if (!member) {
            discard(m, Counter::DropIpv6NotForUs);  // MLD reports, router solicitations
            return;
        }
        if (f.dst_mac != wire::multicast_mac(f.dst)) {
            discard(m, Counter::EthInNotForUs);
            return;
        }
    } else {
        if (f.dst_mac != mac_) {
            discard(m, Counter::EthInNotForUs);
            return;
        }
        if (!is_local(f.dst)) {
            discard(m, Counter::DropIpv6NotForUs);
            counters_.add(Counter::Ip6InAddrErrors);
            return;
        }
    }
    // Our own address as the source: a LAND packet, or our own NS looped back.
    if (is_local(f.src)) {
        drop(m, wire::Drop::Ipv6BadSource);
        return;
    }
    switch (f.ip_proto) {
        case kProtoTcp: handle_tcp(m, buf, f, hw); return;
        case kProtoIcmp6: handle_icmp6(m, buf, f, hw, now, learn_only); return;
        default: drop(m, wire::Drop::IpUnsupportedProto); return;
    }
}

void Worker::handle_icmp6(rte_mbuf* m, std::span<uint8_t> buf, const wire::Frame& f,
                          wire::RxCsum hw, time::Instant now, bool learn_only) noexcept {
    if (!learn_only) counters_.add(Counter::Icmp6InMsgs);
    wire::Icmp6Message msg;
    if (const wire::Drop d = wire::parse_icmp6(buf.first(m->data_len), f, hw, msg);
        d != wire::Drop::None) {
        counters_.add(counters_for(d).drop);  // the ICMPv4 totals are not ours to count
        counters_.add(Counter::Icmp6InErrors);
        rte_pktmbuf_free(m);
        return;
    }
    if (!learn_only) counters_.add(Counter::Ip6InDelivers);
    switch (msg.type) {
        case wire::kIcmp6EchoRequest: {
            counters_.add(Counter::Icmp6InEchos);
            // RFC 4443 4.2: a reply to a group request comes from a unicast address of ours.
            const wire::IpAddr& from = wire::is_v6_multicast(f.dst) ? net_.address6->addr : f.dst;
            const size_t len =
                wire::make_echo6_reply_in_place(buf.first(m->data_len), f, mac_, from);
            counters_.add(Counter::Icmp6OutEchoReplies);
            transmit(m, len, false);
            return;
        }
        case wire::kIcmp6NeighborSolicit: {
            if (!is_local(msg.target)) {
                if (!learn_only) counters_.add(Counter::NdpInOther);
                rte_pktmbuf_free(m);
                return;
            }
            // RFC 4861 7.2.3: the solicitor's link-layer address goes into the cache.
            const bool from_host = !wire::is_v6_unspecified(f.src);
            if (from_host && msg.has_lladdr) {
                if (neighbors_.learn(f.src, msg.lladdr, now, true) == NeighborTable::Update::Full)
                    counters_.add(Counter::NeighTableFull);
                release_held(f.src, msg.lladdr, now);
                if (!learn_only && !steer_out_.empty()) share_neighbor_frame(m);
            }
            if (learn_only) {
                rte_pktmbuf_free(m);
                return;
            }
            counters_.add(Counter::Icmp6InNeighborSolicits);
            // RFC 4861 7.2.4: solicited and to the solicitor; to all-nodes for a DAD probe.
            const wire::NeighborAdvert na{
                .src_mac = mac_,
                .dst_mac = from_host ? f.src_mac : wire::multicast_mac(wire::all_nodes()),
                .src = msg.target,
                .dst = from_host ? f.src : wire::all_nodes(),
                .target = msg.target,
                .router = false,
                .solicited = from_host,
                .override_flag = true,
            };
            const size_t len = wire::build_neighbor_advert(buf, na);
            counters_.add(Counter::Icmp6OutNeighborAdvertisements);
            transmit(m, len, false);
            return;
        }
        case wire::kIcmp6NeighborAdvert: {
            if (!learn_only) counters_.add(Counter::Icmp6InNeighborAdvertisements);
            // RFC 4861 7.2.5: update an entry we have (or asked for); without a target
            // link-layer address there is nothing to learn on Ethernet.
            if (msg.has_lladdr && !is_local(msg.target)) {
                const auto r = neighbors_.learn(msg.target, msg.lladdr, now, msg.solicited);
                if (r == NeighborTable::Update::Full) counters_.add(Counter::NeighTableFull);
                release_held(msg.target, msg.lladdr, now);
                if (!learn_only && !steer_out_.empty()) share_neighbor_frame(m);
            } else if (!learn_only) {
                counters_.add(Counter::NdpInOther);
            }
            rte_pktmbuf_free(m);
            return;
        }
        default: rte_pktmbuf_free(m); return;  // parse_icmp6 refuses every other type
    }
}

// RFC 826: merge the sender into the table, answer requests for our address.
void Worker::handle_arp(rte_mbuf* m, std::span<uint8_t> buf, const wire::Frame& f,
                        time::Instant now, bool learn_only) noexcept {
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
        release_held(arp.spa, arp.sha, now);
    }
    if (learn_only) {  // a copy from the worker that answers it (share_arp), counted there
        rte_pktmbuf_free(m);
        return;
    }
    if (sender_ok && !steer_out_.empty()) share_neighbor_frame(m);
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
    counters_.add(f.src.is_v4() ? Counter::IpInDelivers : Counter::Ip6InDelivers);
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
    // A PMD that sends only the first segment (net_af_xdp) gets the frame in one mbuf: the
    // payload is copied behind the headers. A header mbuf has room for a frame of the MTU.
    if (chained != 0 && !port_.caps.tx_multi_seg && rte_pktmbuf_linearize(m) != 0) [[unlikely]] {
        discard(m, Counter::DropTxFull);
        return;
    }
    m->ol_flags = 0;
    const uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
    const uint16_t type = len > kEthHeaderLen + 1 ? uint16_t(p[12] << 8 | p[13]) : 0;
    if (type == kEtherTypeIpv4) {
        counters_.add(Counter::IpOutRequests);
        if (l4_offload) {
            m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
            m->l2_len = kEthHeaderLen;
            m->l3_len = static_cast<uint16_t>((p[14] & 0x0f) * 4);
        }
    } else if (type == kEtherTypeIpv6) {
        counters_.add(Counter::Ip6OutRequests);
        if (l4_offload) {  // our frames have no extension headers
            m->ol_flags = RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;
            m->l2_len = kEthHeaderLen;
            m->l3_len = 40;
        }
    }
    // Built by the TCP host for a next hop that is being resolved: no destination MAC yet.
    if (hold_next_) [[unlikely]] {
        hold_next_ = false;
        hold(m, type);
        return;
    }
    tx_[tx_count_++] = m;
    if (tx_count_ == std::size(tx_)) flush();
}

void Worker::hold(rte_mbuf* m, uint16_t type) noexcept {
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    wire::IpAddr dst;
    if (type == kEtherTypeIpv4 && m->data_len >= kEthHeaderLen + 20) {
        dst = wire::IpAddr::v4(uint32_t(p[30]) << 24 | uint32_t(p[31]) << 16 |
                               uint32_t(p[32]) << 8 | p[33]);
    } else if (type == kEtherTypeIpv6 && m->data_len >= kEthHeaderLen + 40) {
        dst.family = wire::Family::V6;
        std::memcpy(dst.bytes.data(), p + kEthHeaderLen + 24, 16);
    } else {
        discard(m, Counter::NeighUnresolved);
        return;
    }
    wire::IpAddr hop = dst;
    if (!on_link(dst)) {
        const auto& gw = dst.is_v4() ? net_.gateway : net_.gateway6;
        if (!gw) {
            discard(m, Counter::NeighUnresolved);
            return;
        }
        hop = *gw;
    }
    if (rte_mbuf* out = neighbors_.hold(hop, m, now_)) discard(out, Counter::NeighUnresolved);
}

void Worker::release_held(const wire::IpAddr& ip, const wire::MacAddr& mac,
                          time::Instant now) noexcept {
    std::array<rte_mbuf*, NeighborTable::kHeldFrames> held;
    const size_t n = neighbors_.take_held(ip, held, now);
    for (size_t i = 0; i < n; ++i) {
        std::memcpy(rte_pktmbuf_mtod(held[i], uint8_t*), mac.b.data(), mac.b.size());
        tx_[tx_count_++] = held[i];
        if (tx_count_ == std::size(tx_)) flush();
    }
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
    if (!on_link(dst)) {
        const auto& gw = dst.is_v4() ? net_.gateway : net_.gateway6;
        if (!gw) return false;
        hop = *gw;
    }
    switch (neighbors_.resolve(hop, now, mac)) {
        case NeighborTable::Lookup::Hit: return true;
        case NeighborTable::Lookup::SendRequest: send_request(hop); return false;
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
        case NeighborTable::Lookup::SendRequest: send_request(target); return;
    }
}

// An ARP request (RFC 826) or a Neighbor Solicitation to the solicited-node group
// (RFC 4861 7.2.2), from the address of ours that the target can answer on-link.
void Worker::send_request(const wire::IpAddr& target) noexcept {
    if (!target.is_v4() && !net_.address6) return;
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) [[unlikely]] {
        counters_.add(Counter::DropMbufExhausted);
        return;
    }
    std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*),
                           static_cast<size_t>(rte_pktmbuf_tailroom(m))};
    size_t len = 0;
    if (target.is_v4()) {
        len = wire::build_arp(buf, kArpRequest, wire::MacAddr::broadcast(), mac_,
                              net_.address.addr, wire::MacAddr{}, target);
        counters_.add(Counter::ArpOutRequests);
    } else {
        const wire::IpAddr& src =
            wire::is_v6_link_local(target) ? link_local_ : net_.address6->addr;
        len = wire::build_neighbor_solicit(buf, mac_, src, target);
        counters_.add(Counter::Icmp6OutNeighborSolicits);
    }
    transmit(m, len, false);
}

}  // namespace sluice::engine
