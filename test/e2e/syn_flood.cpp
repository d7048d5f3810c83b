// syn_flood: sends spoofed TCP SYNs as fast as one core can, for the SYN-flood test
// (issue 6 item 7, test/e2e/flood_test.cpp, scripts/flood-compare.sh). Test tool only.
//
//   syn_flood --iface IF --dst-mac MAC --dst ADDR --port P --seconds S --max-packets N
//             [--src-prefix 198.18.0.0/15] [--exclude ADDR,...] [--src-mac MAC]
//
// Frames go out of an AF_PACKET socket on IF (the test bed's client veth), 64 at a time with
// sendmmsg and PACKET_QDISC_BYPASS. Each SYN has a random source address inside --src-prefix
// (never one of --exclude), a random source port and ISN, an MSS option, and the source MAC
// --src-mac (default 02:00:00:00:f1:00, a locally administered address nobody owns: the
// server's SYN-ACKs go to it, and the client kernel drops them at once as not for it).
//
// Bounded: it stops after --seconds or --max-packets, whichever comes first, and refuses a
// source prefix or destination outside 198.18.0.0/15 (RFC 2544 benchmarking range). At the
// end it prints one line: "flood sent=N seconds=T pps=R errors=E".
//
// IPv6: an IPv6 --dst floods over IPv6 (40-byte header, hop limit 64, the TCP checksum over
// the IPv6 pseudo-header); --src-prefix is then required and, like --dst, must lie inside
// 2001:2::/48 (RFC 5180 benchmarking prefix). --exclude then takes IPv6 addresses.
//
// Needs CAP_NET_RAW (root). Linux only.

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr uint32_t kBenchNet = 0xC6120000u;  // 198.18.0.0/15
constexpr uint32_t kBenchMask = 0xFFFE0000u;
constexpr size_t kFrameLen = 60;  // 14 Ethernet + 20 IPv4 + 24 TCP (MSS), padded to 60
constexpr unsigned kBatch = 64;

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "syn_flood: %s\n", msg.c_str());
    std::exit(2);
}

uint32_t parse_ip(const std::string& s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) die("bad IPv4 address '" + s + "'");
    return ntohl(a.s_addr);
}

bool in_bench_range(uint32_t a) {
    return (a & kBenchMask) == kBenchNet;
}

void parse_mac(const std::string& s, uint8_t out[6]) {
    unsigned b[6];
    if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
        die("bad MAC address '" + s + "'");
    for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(b[i]);
}

// RFC 1071 one's complement sum, folded.
uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
    for (size_t i = 0; i + 1 < n; i += 2) acc += uint32_t(p[i]) << 8 | p[i + 1];
    if (n & 1) acc += uint32_t(p[n - 1]) << 8;
    return acc;
}
uint16_t fold(uint32_t acc) {
    while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
    return static_cast<uint16_t>(~acc);
}

void put16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}
void put32(uint8_t* p, uint32_t v) {
    put16(p, uint16_t(v >> 16));
    put16(p + 2, uint16_t(v));
}

using V6 = std::array<uint8_t, 16>;

bool parse_v6(const std::string& s, V6& out) {
    in6_addr a{};
    if (inet_pton(AF_INET6, s.c_str(), &a) != 1) return false;
    std::memcpy(out.data(), a.s6_addr, 16);
    return true;
}

// 2001:2::/48
bool in_bench_range6(const V6& a) {
    return a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x00 && a[3] == 0x02 && a[4] == 0 && a[5] == 0;
}

struct Rng {  // xorshift64: fast, and the flood needs no better
    uint64_t s;
    uint32_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return static_cast<uint32_t>(s >> 16);
    }
};

}  // namespace

// A packet socket that sends on `iface` (protocol 0: it receives nothing).
int open_socket(const std::string& iface, const uint8_t dst_mac[6]) {
    const int fd = ::socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) die(std::string("socket(AF_PACKET): ") + std::strerror(errno));
    const int one = 1;
    ::setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);  // best effort
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    ll.sll_halen = 6;
    std::memcpy(ll.sll_addr, dst_mac, 6);
    if (ll.sll_ifindex == 0) die("no interface " + iface);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ll), sizeof ll) != 0)
        die(std::string("bind: ") + std::strerror(errno));
    return fd;
}

// A 24-byte TCP SYN to `port` with an MSS option of 1460 (RFC 9293 3.2); source port, ISN
// and checksum are filled per frame.
void write_syn(uint8_t* tcp, unsigned port) {
    put16(tcp + 2, static_cast<uint16_t>(port));
    tcp[12] = 6 << 4;  // data offset: 24 bytes
    tcp[13] = 0x02;    // SYN
    put16(tcp + 14, 64240);
    tcp[20] = 2;
    tcp[21] = 4;
    put16(tcp + 22, 1460);
}

// The per-frame part of a SYN: a source port from the high half of `r`, the ISN, and the
// checksum over the header and the pseudo-header's `addr_sum` (both families add the
// protocol, 6, and the TCP length, 24).
void finish_syn(uint8_t* tcp, uint32_t r, uint32_t isn, uint32_t addr_sum) {
    put16(tcp, static_cast<uint16_t>(1024 + (r >> 16) % 64000));
    put32(tcp + 4, isn);
    put16(tcp + 16, 0);
    put16(tcp + 16, fold(sum16(tcp, 24, addr_sum + 6 + 24)));
}

// Sends copies of `tmpl`, each given its spoofed fields by spoof(frame, rng), in batches.
template <typename Spoof>
int flood(int fd, const uint8_t* tmpl, size_t frame_len, uint64_t max_packets, double seconds,
          const Spoof& spoof, Rng& rng) {
    std::vector<uint8_t> frames(kBatch * frame_len);
    std::vector<iovec> iov(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    for (unsigned i = 0; i < kBatch; ++i) {
        iov[i] = {frames.data() + i * frame_len, frame_len};
        msgs[i].msg_hdr = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::duration<double>(seconds);
    uint64_t sent = 0, errors = 0;
    while (sent < max_packets) {
        if (std::chrono::steady_clock::now() >= deadline) break;
        const unsigned n = static_cast<unsigned>(std::min<uint64_t>(kBatch, max_packets - sent));
        for (unsigned i = 0; i < n; ++i) {
            uint8_t* f = frames.data() + i * frame_len;
            std::memcpy(f, tmpl, frame_len);
            spoof(f, rng);
        }
        const int k = ::sendmmsg(fd, msgs.data(), n, 0);
        if (k < 0) {
            ++errors;  // ENOBUFS and the like: the link is saturated, try again
            continue;
        }
        sent += static_cast<unsigned>(k);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("flood sent=%llu seconds=%.2f pps=%.0f errors=%llu\n",
                static_cast<unsigned long long>(sent), secs, secs > 0 ? sent / secs : 0.0,
                static_cast<unsigned long long>(errors));
    ::close(fd);
    return 0;
}

int main(int argc, char** argv) {
    std::string iface, dst_mac_s, dst_s, prefix_s = "198.18.0.0/15",
                                         src_mac_s = "02:00:00:00:f1:00";
    std::vector<std::string> exclude_s;
    unsigned port = 0;
    double seconds = 0;
    uint64_t max_packets = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) die("missing value for " + a);
        const std::string v = argv[++i];
        if (a == "--iface")
            iface = v;
        else if (a == "--dst-mac")
            dst_mac_s = v;
        else if (a == "--src-mac")
            src_mac_s = v;
        else if (a == "--dst")
            dst_s = v;
        else if (a == "--port")
            port = static_cast<unsigned>(std::stoul(v));
        else if (a == "--seconds")
            seconds = std::stod(v);
        else if (a == "--max-packets")
            max_packets = std::stoull(v);
        else if (a == "--src-prefix")
            prefix_s = v;
        else if (a == "--exclude") {
            size_t pos = 0;
            while (pos <= v.size()) {
                const size_t comma = v.find(',', pos);
                const std::string one =
                    v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
                if (!one.empty()) exclude_s.push_back(one);
                if (comma == std::string::npos) break;
                pos = comma + 1;
            }
        } else
            die("unknown option " + a);
    }
    if (iface.empty() || dst_mac_s.empty() || dst_s.empty() || port == 0 || port > 65535)
        die("need --iface, --dst-mac, --dst and --port");
    if (seconds <= 0 || seconds > 120) die("--seconds must be in (0, 120]");
    if (max_packets == 0) die("--max-packets must be given (a bound on the flood)");
    V6 dst6{};
    const bool v6 = parse_v6(dst_s, dst6);
    if (v6 && prefix_s.find(':') == std::string::npos)
        die("an IPv6 --dst needs an IPv6 --src-prefix inside 2001:2::/48");

    const size_t slash = prefix_s.find('/');
    if (slash == std::string::npos) die("--src-prefix needs a length, e.g. 198.18.0.0/15");
    uint8_t dst_mac[6], src_mac[6];
    parse_mac(dst_mac_s, dst_mac);
    parse_mac(src_mac_s, src_mac);
    if (src_mac[0] & 1) die("--src-mac must be unicast");

    if (v6) {
        // Everything inside 2001:2::/48, or nothing is sent.
        V6 pbase6{};
        if (!parse_v6(prefix_s.substr(0, slash), pbase6)) die("bad IPv6 --src-prefix");
        const int plen6 = std::stoi(prefix_s.substr(slash + 1));
        if (plen6 < 48 || plen6 > 128 || !in_bench_range6(pbase6))
            die("--src-prefix must lie inside 2001:2::/48");
        if (plen6 > 120) die("--src-prefix too small to spoof from");
        if (!in_bench_range6(dst6)) die("--dst must lie inside 2001:2::/48");
        std::vector<V6> exclude6{dst6};
        for (const std::string& e : exclude_s) {
            V6 x{};
            if (!parse_v6(e, x)) die("bad IPv6 address '" + e + "' in --exclude");
            exclude6.push_back(x);
        }
        const int fd = open_socket(iface, dst_mac);
        constexpr size_t kLen6 = 14 + 40 + 24;
        uint8_t tmpl[kLen6] = {};
        std::memcpy(tmpl, dst_mac, 6);
        std::memcpy(tmpl + 6, src_mac, 6);
        put16(tmpl + 12, 0x86dd);
        uint8_t* ip = tmpl + 14;
        ip[0] = 0x60;
        put16(ip + 4, 24);  // payload length
        ip[6] = 6;          // TCP
        ip[7] = 64;         // hop limit
        std::memcpy(ip + 24, dst6.data(), 16);
        write_syn(ip + 40, port);
        Rng rng{
            static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) |
            1};
        const auto spoof = [&](uint8_t* f, Rng& r) {
            uint8_t* fip = f + 14;
            uint8_t* ftcp = fip + 40;
            V6 src;
            bool excluded;
            do {
                src = pbase6;
                for (int byte = plen6 / 8; byte < 16; ++byte) {
                    const int prefix_bits = byte == plen6 / 8 ? plen6 % 8 : 0;
                    const auto keep = uint8_t(prefix_bits != 0 ? 0xff << (8 - prefix_bits) : 0);
                    src[byte] = uint8_t((pbase6[byte] & keep) | (r.next() & uint8_t(~keep)));
                }
                excluded = false;
                for (const V6& e : exclude6) excluded |= e == src;
            } while (excluded);
            std::memcpy(fip + 8, src.data(), 16);
            // Pseudo-header (RFC 8200 8.1): addresses, upper-layer length, next header.
            finish_syn(ftcp, r.next(), r.next(), sum16(fip + 8, 32));
        };
        return flood(fd, tmpl, kLen6, max_packets, seconds, spoof, rng);
    }

    std::vector<uint32_t> exclude;
    for (const std::string& e : exclude_s) exclude.push_back(parse_ip(e));
    const uint32_t pbase = parse_ip(prefix_s.substr(0, slash));
    const int plen = std::stoi(prefix_s.substr(slash + 1));
    if (plen < 15 || plen > 32) die("--src-prefix must lie inside 198.18.0.0/15");
    const uint32_t pmask = plen == 32 ? 0xFFFFFFFFu : ~(0xFFFFFFFFu >> plen);
    if (!in_bench_range(pbase)) die("--src-prefix must lie inside 198.18.0.0/15");
    const uint32_t dst = parse_ip(dst_s);
    if (!in_bench_range(dst)) die("--dst must lie inside 198.18.0.0/15");
    exclude.push_back(dst);
    if (plen >= 31) die("--src-prefix too small to spoof from");

    const int fd = open_socket(iface, dst_mac);

    // The template: Ethernet, IPv4 (DF, TTL 64), TCP SYN with MSS 1460, zero padding.
    uint8_t tmpl[kFrameLen] = {};
    std::memcpy(tmpl, dst_mac, 6);
    std::memcpy(tmpl + 6, src_mac, 6);
    put16(tmpl + 12, 0x0800);
    uint8_t* ip = tmpl + 14;
    ip[0] = 0x45;
    put16(ip + 2, 20 + 24);
    put16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = 6;
    put32(ip + 16, dst);
    write_syn(ip + 20, port);

    Rng rng{static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) | 1};
    const uint32_t host_bits = ~pmask;
    const auto spoof = [&](uint8_t* f, Rng& r) {
        uint32_t src;
        bool excluded;
        do {
            src = (pbase & pmask) | (r.next() & host_bits);
            excluded = false;
            for (uint32_t e : exclude) excluded |= e == src;
        } while (excluded);
        const uint32_t x = r.next();
        uint8_t* fip = f + 14;
        uint8_t* ftcp = fip + 20;
        put16(fip + 4, static_cast<uint16_t>(x));  // IP ID
        put32(fip + 12, src);
        put16(fip + 10, fold(sum16(fip, 20)));
        // Pseudo-header (RFC 9293 3.1): addresses, protocol, TCP length.
        finish_syn(ftcp, x, r.next(), sum16(fip + 12, 8));
    };
    return flood(fd, tmpl, kFrameLen, max_packets, seconds, spoof, rng);
}
