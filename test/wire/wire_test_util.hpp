#pragma once
// Frame factories for the wire tests: valid frames from the builders, and helpers that break
// them one field at a time and re-seal the checksums so that only the intended fault remains.

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <vector>

#include "wire/addr.hpp"
#include "wire/build.hpp"
#include "wire/bytes.hpp"
#include "wire/checksum.hpp"
#include "wire/layout.hpp"
#include "wire/parse.hpp"

namespace sluice::wire::testing {

inline constexpr MacAddr kMacClient{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
inline constexpr MacAddr kMacServer{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
inline constexpr IpAddr kIpClient = IpAddr::v4(0xc6120001);  // 198.18.0.1
inline constexpr IpAddr kIpServer = IpAddr::v4(0xc6120002);  // 198.18.0.2
inline constexpr size_t kL3Off = kEthHdrLen;
inline constexpr size_t kL4Off = kEthHdrLen + kIpv4MinHdrLen;  // without IP options

inline L3Header client_to_server() {
    L3Header l3;
    l3.src_mac = kMacClient;
    l3.dst_mac = kMacServer;
    l3.src = kIpClient;
    l3.dst = kIpServer;
    l3.ip_id = 0x1234;
    return l3;
}

inline TcpHeaderSpec syn_spec() {
    TcpHeaderSpec s;
    s.src_port = 40000;
    s.dst_port = 80;
    s.seq = SeqNum(1000);
    s.flags = tcp_flags::Syn;
    s.window = 64240;
    s.options.has_mss = true;
    s.options.mss = 1460;
    s.options.sack_permitted = true;
    s.options.has_timestamps = true;
    s.options.ts_val = 0x11223344;
    s.options.has_wscale = true;
    s.options.wscale = 7;
    return s;
}

inline std::vector<uint8_t> tcp_frame(const TcpHeaderSpec& spec,
                                      std::span<const uint8_t> payload = {},
                                      const L3Header& l3 = client_to_server()) {
    std::vector<uint8_t> f(2048);
    const size_t n = build_tcp(f, l3, spec, payload, CsumMode::Software);
    f.resize(n);
    return f;
}

inline size_t ip_hdr_len(const std::vector<uint8_t>& f) {
    return (f[kL3Off] & 0x0fu) * 4u;
}
inline size_t l4_off(const std::vector<uint8_t>& f) {
    return kL3Off + ip_hdr_len(f);
}

inline void fix_ipv4_csum(std::vector<uint8_t>& f) {
    uint8_t* ip = f.data() + kL3Off;
    store_be16(ip + kIpv4CsumOff, 0);
    store_be16(ip + kIpv4CsumOff, ipv4_header_checksum(std::span(ip, ip_hdr_len(f))));
}

// Recomputes the TCP checksum from what the IP header says (addresses, total length).
inline void fix_tcp_csum(std::vector<uint8_t>& f) {
    const uint8_t* ip = f.data() + kL3Off;
    const size_t l4_len = load_be16(ip + kIpv4TotalLenOff) - ip_hdr_len(f);
    uint8_t* th = f.data() + l4_off(f);
    store_be16(th + kTcpCsumOff, 0);
    IpAddr src, dst;
    std::memcpy(src.bytes.data(), ip + kIpv4SrcOff, 4);
    std::memcpy(dst.bytes.data(), ip + kIpv4DstOff, 4);
    const uint32_t ph = pseudo_header_sum(src, dst, kIpProtoTcp, static_cast<uint32_t>(l4_len));
    store_be16(th + kTcpCsumOff, checksum_fold(checksum_partial(std::span(th, l4_len), ph)));
}

// A TCP frame whose option area is exactly `opts` (a multiple of 4 bytes, at most 40).
inline std::vector<uint8_t> tcp_frame_with_raw_options(std::initializer_list<uint8_t> opts,
                                                       std::span<const uint8_t> payload = {}) {
    TcpHeaderSpec s = syn_spec();
    s.options = TcpOptions{};
    std::vector<uint8_t> body(opts);
    body.insert(body.end(), payload.begin(), payload.end());
    auto f = tcp_frame(s, body);
    f[kL4Off + kTcpDataOffOff] = static_cast<uint8_t>(((kTcpMinHdrLen + opts.size()) / 4) << 4);
    fix_tcp_csum(f);
    return f;
}

// Inserts `n` bytes of IPv4 options (NOPs, n a multiple of 4) after the fixed IP header.
inline void add_ip_options(std::vector<uint8_t>& f, size_t n) {
    f.insert(f.begin() + kL4Off, n, uint8_t{1});
    uint8_t* ip = f.data() + kL3Off;
    ip[kIpv4VerIhlOff] = static_cast<uint8_t>(0x40 | (kIpv4MinHdrLen + n) / 4);
    store_be16(ip + kIpv4TotalLenOff, static_cast<uint16_t>(load_be16(ip + kIpv4TotalLenOff) + n));
    fix_ipv4_csum(f);
}

inline std::vector<uint8_t> icmp_echo_request(uint16_t id, uint16_t seq,
                                              std::span<const uint8_t> data) {
    const L3Header l3 = client_to_server();
    std::vector<uint8_t> f(kL4Off + kIcmpEchoHdrLen + data.size());
    std::memcpy(f.data() + kEthDstOff, l3.dst_mac.b.data(), 6);
    std::memcpy(f.data() + kEthSrcOff, l3.src_mac.b.data(), 6);
    store_be16(f.data() + kEthTypeOff, kEtherTypeIpv4);
    uint8_t* ip = f.data() + kL3Off;
    ip[kIpv4VerIhlOff] = 0x45;
    store_be16(ip + kIpv4TotalLenOff, static_cast<uint16_t>(f.size() - kL3Off));
    store_be16(ip + kIpv4IdOff, 0x4242);
    ip[kIpv4TtlOff] = 63;
    ip[kIpv4ProtoOff] = kIpProtoIcmp;
    std::memcpy(ip + kIpv4SrcOff, l3.src.bytes.data(), 4);
    std::memcpy(ip + kIpv4DstOff, l3.dst.bytes.data(), 4);
    fix_ipv4_csum(f);
    uint8_t* icmp = f.data() + kL4Off;
    icmp[kIcmpTypeOff] = kIcmpEchoRequest;
    store_be16(icmp + kIcmpIdOff, id);
    store_be16(icmp + kIcmpSeqOff, seq);
    std::memcpy(icmp + kIcmpEchoHdrLen, data.data(), data.size());
    store_be16(icmp + kIcmpCsumOff,
               checksum_fold(checksum_partial(std::span(icmp, kIcmpEchoHdrLen + data.size()))));
    return f;
}

inline void fix_icmp_csum(std::vector<uint8_t>& f) {
    uint8_t* icmp = f.data() + l4_off(f);
    const size_t len = f.size() - l4_off(f);
    store_be16(icmp + kIcmpCsumOff, 0);
    store_be16(icmp + kIcmpCsumOff, checksum_fold(checksum_partial(std::span(icmp, len))));
}

// parse_frame + parse_tcp in one step, as the engine runs them.
inline Drop parse_tcp_frame(std::span<const uint8_t> frame, TcpSegmentView& seg, RxCsum hw = {}) {
    Frame f;
    const Drop d = parse_frame(frame, hw, f);
    if (d != Drop::None) return d;
    return parse_tcp(frame, f, hw, seg);
}

}  // namespace sluice::wire::testing
