#include "wire/build.hpp"

#include <cstring>

#include "wire/bytes.hpp"
#include "wire/checksum.hpp"
#include "wire/headers.hpp"
#include "wire/layout.hpp"

namespace sluice::wire {

using detail::write_eth;
using detail::write_ipv4;
using detail::write_ipv6;

namespace {

constexpr size_t kMaxIpv4Total = 65535;  // RFC 791: 16-bit total length

size_t l3_header_len(Family f) noexcept {
    return f == Family::V4 ? kIpv4MinHdrLen : kIpv6HdrLen;
}

}  // namespace

size_t build_arp(std::span<uint8_t> out, uint16_t op, const MacAddr& eth_dst, const MacAddr& sha,
                 const IpAddr& spa, const MacAddr& tha, const IpAddr& tpa) noexcept {
    constexpr size_t kLen = kEthHdrLen + kArpLen;
    if (out.size() < kLen || !spa.is_v4() || !tpa.is_v4()) return 0;
    uint8_t* a = write_eth(out.data(), eth_dst, sha, kEtherTypeArp);
    store_be16(a + kArpHtypeOff, kArpHtypeEthernet);
    store_be16(a + kArpPtypeOff, kEtherTypeIpv4);
    a[kArpHlenOff] = 6;
    a[kArpPlenOff] = 4;
    store_be16(a + kArpOpOff, op);
    std::memcpy(a + kArpShaOff, sha.b.data(), 6);
    std::memcpy(a + kArpSpaOff, spa.bytes.data(), 4);
    std::memcpy(a + kArpThaOff, tha.b.data(), 6);
    std::memcpy(a + kArpTpaOff, tpa.bytes.data(), 4);
    return kLen;
}

size_t make_echo_reply_in_place(std::span<uint8_t> frame, const Frame& f,
                                const MacAddr& our_mac) noexcept {
    if (f.ether_type != kEtherTypeIpv4 || f.ip_proto != kIpProtoIcmp) return 0;
    if (f.l3_off + kIpv4MinHdrLen > f.l4_off || f.l4_off > frame.size() ||
        frame.size() - f.l4_off < f.l4_len || f.l4_len < kIcmpEchoHdrLen)
        return 0;
    uint8_t* base = frame.data();

    // Ethernet: back to where it came from.
    const MacAddr peer = f.src_mac;
    write_eth(base, peer, our_mac, kEtherTypeIpv4);

    // ICMP: drop the IP options by moving the message up behind a 20-byte header.
    const size_t icmp_off = f.l3_off + kIpv4MinHdrLen;
    uint8_t* icmp = base + icmp_off;
    if (icmp_off != f.l4_off) std::memmove(icmp, base + f.l4_off, f.l4_len);
    // Type 8 -> 0 changes the first word only: adjust instead of summing the payload again.
    const uint16_t old_word = load_be16(icmp + kIcmpTypeOff);
    icmp[kIcmpTypeOff] = kIcmpEchoReply;
    const uint16_t new_word = load_be16(icmp + kIcmpTypeOff);
    store_be16(icmp + kIcmpCsumOff,
               checksum_adjust(load_be16(icmp + kIcmpCsumOff), old_word, new_word));

    // IPv4: a fresh header keeping the request's TOS and ID (the header is 20 bytes, so a
    // full checksum is as cheap as an incremental one).
    uint8_t* ip = base + f.l3_off;
    L3Header l3;
    l3.src = f.dst;
    l3.dst = f.src;
    l3.ip_id = load_be16(ip + kIpv4IdOff);
    const uint8_t tos = ip[kIpv4TosOff];
    const size_t total = kIpv4MinHdrLen + f.l4_len;
    write_ipv4(ip, l3, kIpProtoIcmp, total);
    ip[kIpv4TosOff] = tos;
    store_be16(ip + kIpv4FragOff, 0);
    store_be16(ip + kIpv4CsumOff, ipv4_header_checksum(std::span(ip, kIpv4MinHdrLen)));
    return f.l3_off + total;
}

size_t make_echo_reply_in_place(std::span<uint8_t> frame, const Frame& f) noexcept {
    return make_echo_reply_in_place(frame, f, f.dst_mac);
}

size_t tcp_frame_size(const TcpOptions& o, size_t payload_len, Family family) noexcept {
    return kEthHdrLen + l3_header_len(family) + kTcpMinHdrLen + tcp_options_size(o) + payload_len;
}

size_t build_tcp(std::span<uint8_t> out, const L3Header& l3, const TcpHeaderSpec& tcp,
                 std::span<const uint8_t> payload, CsumMode mode) noexcept {
    if (l3.src.family != l3.dst.family) return 0;
    const size_t hdr_len = tcp_frame_size(tcp.options, 0, l3.src.family);
    if (hdr_len + payload.size() > out.size()) return 0;
    // Payload first: it may live in `out` where the headers are about to go.
    uint8_t* data = out.data() + hdr_len;
    if (!payload.empty()) std::memmove(data, payload.data(), payload.size());
    const uint32_t sum =
        mode == CsumMode::Software ? checksum_partial(std::span(data, payload.size())) : 0;
    const size_t n = build_tcp_headers(out, l3, tcp, payload.size(), sum, mode);
    return n == 0 ? 0 : n + payload.size();
}

size_t build_tcp_headers(std::span<uint8_t> out, const L3Header& l3, const TcpHeaderSpec& tcp,
                         size_t payload_len, uint32_t payload_sum, CsumMode mode) noexcept {
    if (l3.src.family != l3.dst.family) return 0;
    const bool v4 = l3.src.is_v4();
    const size_t ip_hdr_len = l3_header_len(l3.src.family);
    const size_t opt_len = tcp_options_size(tcp.options);
    const size_t tcp_hdr_len = kTcpMinHdrLen + opt_len;
    const size_t l4_len = tcp_hdr_len + payload_len;
    const size_t hdr_len = kEthHdrLen + ip_hdr_len + tcp_hdr_len;
    if ((v4 ? ip_hdr_len + l4_len > kMaxIpv4Total : l4_len > kIpv6MaxPayload) ||
        hdr_len > out.size())
        return 0;

    uint8_t* ip = out.data() + kEthHdrLen;
    uint8_t* th = ip + ip_hdr_len;
    if (v4) {
        write_eth(out.data(), l3.dst_mac, l3.src_mac, kEtherTypeIpv4);
        write_ipv4(ip, l3, kIpProtoTcp, ip_hdr_len + l4_len);
    } else {
        write_eth(out.data(), l3.dst_mac, l3.src_mac, kEtherTypeIpv6);
        write_ipv6(ip, l3.src, l3.dst, kIpProtoTcp, l3.ttl, l4_len);
    }
    store_be16(th + kTcpSrcPortOff, tcp.src_port);
    store_be16(th + kTcpDstPortOff, tcp.dst_port);
    store_be32(th + kTcpSeqOff, tcp.seq.raw());
    store_be32(th + kTcpAckOff, tcp.ack.raw());
    th[kTcpDataOffOff] = static_cast<uint8_t>((tcp_hdr_len / 4) << 4);
    th[kTcpFlagsOff] = tcp.flags;
    store_be16(th + kTcpWindowOff, tcp.window);
    store_be16(th + kTcpCsumOff, 0);
    store_be16(th + kTcpUrgentOff, 0);
    if (opt_len != 0) write_tcp_options(std::span(th + kTcpMinHdrLen, opt_len), tcp.options);

    const uint32_t phdr =
        pseudo_header_sum(l3.src, l3.dst, kIpProtoTcp, static_cast<uint32_t>(l4_len));
    if (mode == CsumMode::Offload) {
        store_be16(th + kTcpCsumOff, checksum_reduce(phdr));
    } else {
        // IPv6 has no header checksum (RFC 8200 3).
        if (v4) store_be16(ip + kIpv4CsumOff, ipv4_header_checksum(std::span(ip, kIpv4MinHdrLen)));
        // The TCP header is a multiple of 4 bytes: the payload's words line up with it.
        const uint32_t sum = checksum_partial(std::span(th, tcp_hdr_len), phdr) +
                             checksum_reduce(payload_sum);
        store_be16(th + kTcpCsumOff, checksum_fold(sum));
    }
    return hdr_len;
}

TcpHeaderSpec rst_for(const TcpSegmentView& seg) noexcept {
    TcpHeaderSpec r;
    r.src_port = seg.dst_port;
    r.dst_port = seg.src_port;
    if (seg.flags & tcp_flags::Ack) {
        r.seq = seg.ack;
        r.flags = tcp_flags::Rst;
    } else {
        r.seq = SeqNum(0);
        r.ack = seg.seq + tcp_segment_len(seg);
        r.flags = tcp_flags::Rst | tcp_flags::Ack;
    }
    return r;
}

}  // namespace sluice::wire
