#include "wire/addr.hpp"

#include <arpa/inet.h>
#include <rte_hash_crc.h>

#include <charconv>
#include <cstring>

namespace sluice::wire {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// inet_pton needs a NUL-terminated string; the longest textual address is 45 characters.
constexpr size_t kMaxAddrText = INET6_ADDRSTRLEN;

}  // namespace

std::string MacAddr::to_string() const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    s.reserve(17);
    for (size_t i = 0; i < b.size(); ++i) {
        if (i != 0) s.push_back(':');
        s.push_back(kHex[b[i] >> 4]);
        s.push_back(kHex[b[i] & 0xf]);
    }
    return s;
}

std::optional<MacAddr> MacAddr::parse(std::string_view s) {
    if (s.size() != 17) return std::nullopt;
    MacAddr m;
    for (size_t i = 0; i < 6; ++i) {
        const int hi = hex_digit(s[3 * i]);
        const int lo = hex_digit(s[3 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        if (i != 5 && s[3 * i + 2] != ':' && s[3 * i + 2] != '-') return std::nullopt;
        m.b[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return m;
}

IpAddr IpAddr::v6(const uint8_t (&net_order)[16]) noexcept {
    IpAddr a;
    a.family = Family::V6;
    std::memcpy(a.bytes.data(), net_order, 16);
    return a;
}

std::string IpAddr::to_string() const {
    char buf[kMaxAddrText];
    const int af = family == Family::V4 ? AF_INET : AF_INET6;
    if (inet_ntop(af, bytes.data(), buf, sizeof buf) == nullptr) return "?";
    return buf;
}

std::optional<IpAddr> IpAddr::parse(std::string_view s) {
    char buf[kMaxAddrText];
    if (s.empty() || s.size() >= sizeof buf) return std::nullopt;
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    IpAddr a;
    if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) return a;  // strict dotted quad
    a.family = Family::V6;
    if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) return a;
    return std::nullopt;
}

std::string Ipv4Prefix::to_string() const {
    return addr.to_string() + "/" + std::to_string(len);
}

namespace {

// "address/len" of family `f` with len <= max, or "address" meaning /max.
template <typename Prefix>
std::optional<Prefix> parse_prefix(std::string_view s, Family f, unsigned max) {
    const size_t slash = s.find('/');
    const auto a = IpAddr::parse(s.substr(0, slash));
    if (!a || a->family != f) return std::nullopt;
    if (slash == std::string_view::npos) return Prefix{*a, static_cast<uint8_t>(max)};
    const std::string_view n = s.substr(slash + 1);
    unsigned len = 0;
    const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), len);
    if (n.empty() || ec != std::errc{} || end != n.data() + n.size() || len > max)
        return std::nullopt;
    return Prefix{*a, static_cast<uint8_t>(len)};
}

}  // namespace

std::optional<Ipv4Prefix> Ipv4Prefix::parse(std::string_view s) {
    return parse_prefix<Ipv4Prefix>(s, Family::V4, 32);
}

std::string Ipv6Prefix::to_string() const {
    return addr.to_string() + "/" + std::to_string(len);
}

std::optional<Ipv6Prefix> Ipv6Prefix::parse(std::string_view s) {
    return parse_prefix<Ipv6Prefix>(s, Family::V6, 128);
}

// rte_hash_crc reads the key 8 bytes at a time through a uint64_t pointer; a FlowKey has
// alignment 1 (38 bytes, no padding), so hash an aligned copy (UBSan: misaligned load).
uint32_t flow_key_hash(const FlowKey& k, uint32_t seed) noexcept {
    alignas(8) uint8_t buf[sizeof(FlowKey)];
    std::memcpy(buf, &k, sizeof k);
    return rte_hash_crc(buf, sizeof buf, seed);
}

uint32_t flow_key_rte_hash(const void* key, uint32_t key_len, uint32_t init_val) noexcept {
    alignas(8) uint8_t buf[sizeof(FlowKey)];
    if (key_len > sizeof buf) return rte_hash_crc(key, key_len, init_val);  // not a FlowKey
    std::memcpy(buf, key, key_len);
    return rte_hash_crc(buf, key_len, init_val);
}

}  // namespace sluice::wire
