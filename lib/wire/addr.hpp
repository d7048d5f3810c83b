#pragma once
// Link and network addresses, and the connection key. Addresses are family-tagged from the
// start so that IPv6 needs no redesign: nothing here assumes a 32-bit address.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace sluice::wire {

enum class Family : uint8_t { V4 = 4, V6 = 6 };

struct MacAddr {
    std::array<uint8_t, 6> b{};

    // Group bit = least significant bit of the first octet (IEEE 802-2014 8.2).
    bool is_multicast() const noexcept { return (b[0] & 0x01) != 0; }
    bool is_broadcast() const noexcept {
        for (uint8_t x : b)
            if (x != 0xff) return false;
        return true;
    }
    bool is_zero() const noexcept {
        for (uint8_t x : b)
            if (x != 0) return false;
        return true;
    }
    bool operator==(const MacAddr&) const = default;

    std::string to_string() const;  // "02:00:00:00:00:01", lower case
    // Accepts six hex octets separated by ':' or '-'; nullopt on anything else.
    static std::optional<MacAddr> parse(std::string_view s);
    static constexpr MacAddr broadcast() noexcept {
        return MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    }
};

// An IP address of either family, bytes in network order. A v4 address uses bytes[0..3] and
// leaves the rest zero, so that == and hashing over the raw bytes are exact.
struct IpAddr {
    Family family = Family::V4;
    std::array<uint8_t, 16> bytes{};

    static constexpr IpAddr v4(uint32_t host_order) noexcept {
        IpAddr a;
        a.bytes[0] = static_cast<uint8_t>(host_order >> 24);
        a.bytes[1] = static_cast<uint8_t>(host_order >> 16);
        a.bytes[2] = static_cast<uint8_t>(host_order >> 8);
        a.bytes[3] = static_cast<uint8_t>(host_order);
        return a;
    }
    static IpAddr v6(const uint8_t (&net_order)[16]) noexcept;

    // The v4 address as a host-order integer; 0 for a v6 address.
    constexpr uint32_t v4_host() const noexcept {
        if (family != Family::V4) return 0;
        return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
               uint32_t{bytes[3]};
    }
    constexpr bool is_v4() const noexcept { return family == Family::V4; }
    // Number of meaningful bytes: 4 or 16.
    constexpr size_t size() const noexcept { return family == Family::V4 ? 4 : 16; }

    bool operator==(const IpAddr&) const = default;

    std::string to_string() const;  // "198.18.0.2" or RFC 5952 text for v6
    // Dotted quad ("198.18.0.2") or IPv6 text ("2001:db8::1"); nullopt on anything else.
    static std::optional<IpAddr> parse(std::string_view s);
};
static_assert(sizeof(IpAddr) == 17 && alignof(IpAddr) == 1, "IpAddr must have no padding");

// A v4 interface address with its prefix length, as configured ("198.18.0.2/24"). The
// address keeps its host bits: it is our address, and the prefix is our subnet.
struct Ipv4Prefix {
    IpAddr addr;
    uint8_t len = 32;

    uint32_t mask_host() const noexcept {
        return len == 0 ? 0 : ~uint32_t{0} << (32 - (len > 32 ? 32 : len));
    }
    bool contains(const IpAddr& a) const noexcept {
        return a.family == Family::V4 && ((a.v4_host() ^ addr.v4_host()) & mask_host()) == 0;
    }
    IpAddr network() const noexcept { return IpAddr::v4(addr.v4_host() & mask_host()); }
    // The directed broadcast address of the subnet (all host bits set).
    IpAddr broadcast() const noexcept { return IpAddr::v4(addr.v4_host() | ~mask_host()); }

    std::string to_string() const;
    // "a.b.c.d/n" with n in 0..32, or "a.b.c.d" meaning /32; nullopt otherwise.
    static std::optional<Ipv4Prefix> parse(std::string_view s);
};

// A v6 interface address with its prefix length ("2001:2::2/64"), as Ipv4Prefix.
struct Ipv6Prefix {
    IpAddr addr{Family::V6, {}};
    uint8_t len = 128;

    bool contains(const IpAddr& a) const noexcept {
        if (a.family != Family::V6 || addr.family != Family::V6) return false;
        const unsigned full = len / 8, rest = len % 8;
        for (unsigned i = 0; i < full; ++i)
            if (a.bytes[i] != addr.bytes[i]) return false;
        if (rest == 0) return true;
        const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
        return ((a.bytes[full] ^ addr.bytes[full]) & mask) == 0;
    }

    std::string to_string() const;
    // "x::y/n" with n in 0..128, or "x::y" meaning /128; nullopt otherwise.
    static std::optional<Ipv6Prefix> parse(std::string_view s);
};

// A connection's 4-tuple seen from this host (local = us). It is hashed and compared as raw
// bytes (rte_hash memcmp's keys), so it has no padding: every byte belongs to a field, and a
// default-constructed key is all zero except the families.
struct FlowKey {
    IpAddr local;
    IpAddr remote;
    uint16_t local_port = 0;   // host order
    uint16_t remote_port = 0;  // host order

    bool operator==(const FlowKey&) const = default;
};
static_assert(sizeof(FlowKey) == 2 * sizeof(IpAddr) + 4, "FlowKey must have no padding");
static_assert(offsetof(FlowKey, local_port) == 2 * sizeof(IpAddr));
static_assert(std::is_trivially_copyable_v<FlowKey>);
static_assert(std::has_unique_object_representations_v<FlowKey>);

// CRC32-C over the key's bytes (SSE4.2 or ARMv8 CRC where present, table otherwise).
uint32_t flow_key_hash(const FlowKey& k, uint32_t seed = 0) noexcept;
// The same hash with the rte_hash_function signature, for rte_hash_parameters::hash_func.
// key_len must be sizeof(FlowKey).
uint32_t flow_key_rte_hash(const void* key, uint32_t key_len, uint32_t init_val) noexcept;

// For std::unordered_map in tests and control-plane code.
struct FlowKeyHasher {
    size_t operator()(const FlowKey& k) const noexcept { return flow_key_hash(k); }
};

}  // namespace sluice::wire
