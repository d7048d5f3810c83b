// fuzz_wire: the input is one Ethernet frame. It goes through parse_frame and then
// parse_arp / parse_tcp / parse_icmp_echo / parse_icmp6 under every RxCsum verdict. Whatever
// parses is rebuilt with the wire builders and must parse back to the same fields.

#include <array>
#include <cstring>
#include <vector>

#include "common.hpp"
#include "wire/build.hpp"
#include "wire/ipv6.hpp"
#include "wire/layout.hpp"
#include "wire/parse.hpp"

namespace sluice::fuzz {
namespace {

using wire::Drop;
using wire::HwCsum;
using wire::RxCsum;

constexpr std::array<HwCsum, 3> kVerdicts{HwCsum::Unknown, HwCsum::Good, HwCsum::Bad};

// Rebuilding an accepted ARP packet gives the same fields back.
void check_arp(const wire::Frame& f, const wire::ArpPacket& a) {
    std::array<uint8_t, 64> out{};
    const size_t n = wire::build_arp(out, a.op, f.dst_mac, a.sha, a.spa, a.tha, a.tpa);
    SLUICE_FUZZ_CHECK(n == 42);
    wire::Frame f2;
    wire::ArpPacket a2;
    SLUICE_FUZZ_CHECK(wire::parse_frame(std::span(out.data(), n), RxCsum{}, f2) == Drop::None);
    SLUICE_FUZZ_CHECK(wire::parse_arp(std::span(out.data(), n), f2, a2) == Drop::None);
    SLUICE_FUZZ_CHECK(a2.op == a.op && a2.sha == a.sha && a2.tha == a.tha && a2.spa == a.spa &&
                      a2.tpa == a.tpa);
}

// A TCP segment rebuilt with build_tcp (software and offload checksums) parses to the same
// header fields, options (as write_tcp_options keeps them) and payload.
void check_tcp_round_trip(std::span<const uint8_t> frame, const wire::Frame& f,
                          const wire::TcpSegmentView& s) {
    SLUICE_FUZZ_CHECK(size_t{s.payload_off} + s.payload_len <= frame.size());
    SLUICE_FUZZ_CHECK(size_t{s.payload_off} + s.payload_len == size_t{f.l4_off} + f.l4_len);
    wire::L3Header l3;
    l3.src_mac = f.src_mac;
    l3.dst_mac = f.dst_mac;
    l3.src = f.src;
    l3.dst = f.dst;
    l3.ttl = f.ttl;
    wire::TcpHeaderSpec spec;
    spec.src_port = s.src_port;
    spec.dst_port = s.dst_port;
    spec.seq = s.seq;
    spec.ack = s.ack;
    spec.flags = s.flags;
    spec.window = s.window;
    spec.options = s.options;
    const auto payload = frame.subspan(s.payload_off, s.payload_len);

    static std::vector<uint8_t> out(70 * 1024);
    for (const auto mode : {wire::CsumMode::Software, wire::CsumMode::Offload}) {
        const size_t n = wire::build_tcp(out, l3, spec, payload, mode);
        const size_t want = wire::tcp_frame_size(spec.options, payload.size(), f.src.family);
        if (n == 0) {
            // Only an IP datagram over 65535 bytes (IPv4 total, IPv6 payload) may be refused
            // (the options can grow by a few NOPs when written aligned).
            SLUICE_FUZZ_CHECK(want - wire::kEthHdrLen - (f.src.is_v4() ? 0 : wire::kIpv6HdrLen) >
                              65535);
            continue;
        }
        SLUICE_FUZZ_CHECK(n == want);
        // Offload leaves the checksums to the NIC: the receiver trusts it.
        const RxCsum hw =
            mode == wire::CsumMode::Software ? RxCsum{} : RxCsum{HwCsum::Good, HwCsum::Good};
        const auto rebuilt = std::span<const uint8_t>(out.data(), n);
        wire::Frame f2;
        wire::TcpSegmentView s2;
        SLUICE_FUZZ_CHECK(wire::parse_frame(rebuilt, hw, f2) == Drop::None);
        SLUICE_FUZZ_CHECK(wire::parse_tcp(rebuilt, f2, hw, s2) == Drop::None);
        SLUICE_FUZZ_CHECK(f2.src == f.src && f2.dst == f.dst && f2.ttl == f.ttl &&
                          f2.src_mac == f.src_mac && f2.dst_mac == f.dst_mac);
        SLUICE_FUZZ_CHECK(s2.src_port == s.src_port && s2.dst_port == s.dst_port);
        SLUICE_FUZZ_CHECK(s2.seq == s.seq && s2.ack == s.ack);
        SLUICE_FUZZ_CHECK(s2.flags == s.flags && s2.window == s.window);
        SLUICE_FUZZ_CHECK(same_options(s2.options, expected_after_write(s.options)));
        SLUICE_FUZZ_CHECK(s2.payload_len == s.payload_len);
        SLUICE_FUZZ_CHECK(
            std::memcmp(out.data() + s2.payload_off, payload.data(), payload.size()) == 0);
    }
}

// The echo reply made in place parses as IPv4 from the request's destination, carries the
// same ICMP body after the type, and (when the request's checksum was verified) a valid
// ICMP checksum.
void check_echo_reply(std::span<const uint8_t> frame, const wire::Frame& f, const wire::IcmpEcho& e,
                      bool verified) {
    std::vector<uint8_t> buf(frame.begin(), frame.end());
    const size_t n = wire::make_echo_reply_in_place(buf, f);
    SLUICE_FUZZ_CHECK(n == size_t{f.l3_off} + 20 + f.l4_len && n <= buf.size());
    const auto reply = std::span<const uint8_t>(buf.data(), n);
    wire::Frame r;
    const Drop d = wire::parse_frame(reply, RxCsum{}, r);
    // The request may have been sent to an address that is no valid source (the host
    // checks "addressed to us" before replying); anything else must parse.
    if (d == Drop::EthBadSource || d == Drop::Ipv4BadSource) return;
    SLUICE_FUZZ_CHECK(d == Drop::None);
    SLUICE_FUZZ_CHECK(r.src == f.dst && r.dst == f.src && r.ip_proto == f.ip_proto);
    SLUICE_FUZZ_CHECK(r.l4_len == f.l4_len && r.l4_off == f.l3_off + 20);
    const uint8_t* icmp = buf.data() + r.l4_off;
    SLUICE_FUZZ_CHECK(icmp[0] == 0 && icmp[1] == 0);
    SLUICE_FUZZ_CHECK(std::memcmp(icmp + 4, frame.data() + f.l4_off + 4, f.l4_len - 4) == 0);
    SLUICE_FUZZ_CHECK(e.data_len + 8u == f.l4_len);
    if (verified) {
        SLUICE_FUZZ_CHECK(wire::checksum_fold(wire::checksum_partial(
                              std::span<const uint8_t>(icmp, r.l4_len))) == 0);
    }
}

// ICMPv6: an echo reply made in place comes from our address (the request's destination,
// or a fixed unicast one if that was a group), carries the same body and a valid checksum;
// a solicitation or advertisement rebuilt with the NDP builders parses to the same fields.
void check_icmp6(std::span<const uint8_t> frame, const wire::Frame& f, const wire::Icmp6Message& m) {
    const auto ours = wire::is_v6_multicast(f.dst) ? *wire::IpAddr::parse("2001:2::2") : f.dst;
    std::vector<uint8_t> buf(frame.begin(), frame.end());
    buf.resize(std::max<size_t>(buf.size(), 128));
    wire::Frame r;
    wire::Icmp6Message m2;
    if (m.type == wire::kIcmp6EchoRequest) {
        const wire::MacAddr our_mac{{0x02, 0, 0, 0, 0, 0x02}};  // the request's may be a group
        const size_t n = wire::make_echo6_reply_in_place(buf, f, our_mac, ours);
        SLUICE_FUZZ_CHECK(n == size_t{f.l3_off} + wire::kIpv6HdrLen + f.l4_len);
        const auto reply = std::span<const uint8_t>(buf.data(), n);
        // A request from :: cannot be answered (the host does not try).
        if (wire::parse_frame(reply, RxCsum{}, r) == Drop::Ipv6BadDestination) return;
        SLUICE_FUZZ_CHECK(wire::parse_frame(reply, RxCsum{}, r) == Drop::None);
        SLUICE_FUZZ_CHECK(r.src == ours && r.dst == f.src && r.l4_len == f.l4_len);
        // Type 129 is not one we accept: the checksum is checked by hand.
        const uint32_t ph = wire::pseudo_header_sum(r.src, r.dst, wire::kIpProtoIcmpv6, r.l4_len);
        SLUICE_FUZZ_CHECK(wire::checksum_fold(wire::checksum_partial(
                              std::span<const uint8_t>(buf.data() + r.l4_off, r.l4_len), ph)) == 0);
        SLUICE_FUZZ_CHECK(buf[r.l4_off] == wire::kIcmp6EchoReply);
        SLUICE_FUZZ_CHECK(std::memcmp(buf.data() + r.l4_off + 4, frame.data() + f.l4_off + 4,
                                      f.l4_len - 4) == 0);
        return;
    }
    if (!m.has_lladdr || wire::is_v6_unspecified(f.src)) return;
    size_t n = 0;
    if (m.type == wire::kIcmp6NeighborSolicit) {
        n = wire::build_neighbor_solicit(buf, m.lladdr, f.src, m.target);
    } else {
        n = wire::build_neighbor_advert(buf, {.src_mac = m.lladdr,
                                              .dst_mac = f.src_mac,
                                              .src = f.src,
                                              .dst = f.dst,
                                              .target = m.target,
                                              .router = m.router,
                                              .solicited = m.solicited,
                                              .override_flag = m.override_flag});
    }
    SLUICE_FUZZ_CHECK(n == 86);
    const auto rebuilt = std::span<const uint8_t>(buf.data(), n);
    SLUICE_FUZZ_CHECK(wire::parse_frame(rebuilt, RxCsum{}, r) == Drop::None);
    SLUICE_FUZZ_CHECK(wire::parse_icmp6(rebuilt, r, RxCsum{}, m2) == Drop::None);
    SLUICE_FUZZ_CHECK(m2.type == m.type && m2.target == m.target && m2.has_lladdr &&
                      m2.lladdr == m.lladdr && m2.router == m.router &&
                      m2.solicited == m.solicited && m2.override_flag == m.override_flag);
}

}  // namespace

int fuzz_wire_one(const uint8_t* data, size_t size) {
    // An exact-size copy: ASan flags any read past the frame.
    const std::vector<uint8_t> copy(data, data + size);
    const std::span<const uint8_t> frame(copy);

    Drop l3_result[3][3];  // [ip verdict][l4 verdict]
    Drop l4_result[3][3];
    for (size_t i = 0; i < kVerdicts.size(); ++i) {
        for (size_t j = 0; j < kVerdicts.size(); ++j) {
            const RxCsum hw{kVerdicts[i], kVerdicts[j]};
            wire::Frame f;
            const Drop d = wire::parse_frame(frame, hw, f);
            l3_result[i][j] = d;
            l4_result[i][j] = Drop::IpUnsupportedProto;
            if (d != Drop::None) continue;
            SLUICE_FUZZ_CHECK(f.l3_off <= frame.size());
            if (f.ether_type == wire::kEtherTypeArp) {
                wire::ArpPacket a;
                if (wire::parse_arp(frame, f, a) == Drop::None && j == 0 && i == 0) check_arp(f, a);
                continue;
            }
            const bool v4 = f.ether_type == wire::kEtherTypeIpv4;
            SLUICE_FUZZ_CHECK(v4 || f.ether_type == wire::kEtherTypeIpv6);
            SLUICE_FUZZ_CHECK(size_t{f.l4_off} + f.l4_len <= frame.size());
            if (v4) SLUICE_FUZZ_CHECK(f.ttl != 0);
            if (f.ip_proto == wire::kIpProtoTcp) {
                wire::TcpSegmentView s;
                l4_result[i][j] = wire::parse_tcp(frame, f, hw, s);
                if (l4_result[i][j] == Drop::None) check_tcp_round_trip(frame, f, s);
            } else if (!v4) {
                SLUICE_FUZZ_CHECK(f.ip_proto == wire::kIpProtoIcmpv6);
                wire::Icmp6Message m;
                l4_result[i][j] = wire::parse_icmp6(frame, f, hw, m);
                if (l4_result[i][j] == Drop::None && j == 0) check_icmp6(frame, f, m);
            } else {
                SLUICE_FUZZ_CHECK(f.ip_proto == wire::kIpProtoIcmp);
                wire::IcmpEcho e;
                l4_result[i][j] = wire::parse_icmp_echo(frame, f, hw, e);
                if (l4_result[i][j] == Drop::None) {
                    SLUICE_FUZZ_CHECK(size_t{e.data_off} + e.data_len <= frame.size());
                    check_echo_reply(frame, f, e, kVerdicts[j] == HwCsum::Unknown);
                }
            }
        }
    }
    // Verdicts only ever skip or force a failed check: what software verification accepts,
    // Good accepts too, and Bad never accepts.
    const bool ipv4 = size >= 14 && data[12] == 0x08 && data[13] == 0x00;
    for (size_t j = 0; j < 3; ++j) {
        if (l3_result[0][j] == Drop::None) SLUICE_FUZZ_CHECK(l3_result[1][j] == Drop::None);
        if (ipv4) SLUICE_FUZZ_CHECK(l3_result[2][j] != Drop::None);
        if (ipv4 && l3_result[0][j] == Drop::None)
            SLUICE_FUZZ_CHECK(l3_result[2][j] == Drop::Ipv4BadChecksum);
    }
    for (size_t i = 0; i < 2; ++i) {
        if (l4_result[i][0] == Drop::None) SLUICE_FUZZ_CHECK(l4_result[i][1] == Drop::None);
        SLUICE_FUZZ_CHECK(l4_result[i][2] != Drop::None);
    }
    return 0;
}

}  // namespace sluice::fuzz

SLUICE_FUZZ_ENTRY(sluice::fuzz::fuzz_wire_one)
