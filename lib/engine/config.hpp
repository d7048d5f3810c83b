#pragma once
// The configuration of a Stack: what the TOML file says (config/listen.toml documents each key),
// after command-line overrides. Loading never throws: bad input comes back as an Error that
// names the key.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dev/eal.hpp"
#include "dev/error.hpp"
#include "dev/port.hpp"
#include "engine/neighbor.hpp"
#include "engine/tcp_host.hpp"
#include "wire/addr.hpp"

namespace sluice::engine {

struct NetConfig {
    wire::Ipv4Prefix address;             // our address and the on-link prefix
    std::optional<wire::IpAddr> gateway;  // next hop for everything outside the prefix
    NeighborTable::Config neighbors;
    uint8_t ttl = 64;  // RFC 1700 default, as Linux
    // Further addresses of ours (ip.source_addresses, a range inside the prefix): answered in
    // ARP and accepted like `address`, and the source addresses of active opens (several of
    // them multiply the 4-tuples a client has toward one server port).
    uint32_t extra_first = 0;  // host order
    uint32_t extra_count = 0;

    // IPv6 (ip.address6, ip.gateway6): optional; without an address6 the host has no IPv6
    // at all (frames counted and dropped). The link-local address comes from the port's MAC
    // (Worker::link_local()).
    std::optional<wire::Ipv6Prefix> address6;
    std::optional<wire::IpAddr> gateway6;

    // Our configured addresses of either family (not the link-local one: the worker adds it).
    bool is_local(const wire::IpAddr& a) const noexcept {
        if (!a.is_v4()) return address6 && a == address6->addr;
        return a == address.addr || a.v4_host() - extra_first < extra_count;
    }
    bool has_ipv6() const noexcept { return address6.has_value(); }
};

struct StackConfig {
    dev::PortConfig port;
    std::string vdev_args;  // for a virtual device: "iface=...,qpairs=..."
    std::string lcores = "0";
    bool hugepages = false;  // memory.hugepages; false as the shipped configs (--no-huge)
    uint32_t memory_mb = 0;  // memory.size_mb: EAL "-m" (0: DPDK's default)
    NetConfig net;
    TcpHostConfig tcp;

    // EAL defaults derived from this config (lcores, vdev, hugepages).
    dev::EalDefaults eal_defaults() const;
};

// Parses TOML text; `origin` names the file in error messages.
dev::Result<StackConfig> parse_config(std::string_view toml_text, std::string_view origin);
dev::Result<StackConfig> load_config(const std::string& path);

// Command-line overrides; each empty field leaves the config as it is.
struct Overrides {
    std::string address;  // "198.18.0.2/24" or "198.18.0.2" (then prefix keeps its length)
    int prefix = -1;      // 0..32
    std::string gateway;  // "198.18.0.1", or "none"
    std::string device;
    std::string vdev_args;
    std::string iface;  // replaces iface= in vdev_args
    std::string lcores;
    std::string source_addresses;  // "198.18.0.10-198.18.0.40", or "none"
    std::string address6;          // "2001:2::2/64", or "none"
};
dev::Result<dev::Ok> apply_overrides(StackConfig& cfg, const Overrides& o);

// Checks cross-field rules (gateway inside the prefix, address not the network or broadcast).
dev::Result<dev::Ok> validate(const StackConfig& cfg);

// Parses "A" or "A-B" (IPv4, A <= B) into a first address and a count; nullopt otherwise.
std::optional<std::pair<uint32_t, uint32_t>> parse_address_range(std::string_view s);
// Parses "LOW-HIGH" port numbers (1..65535, LOW <= HIGH); nullopt otherwise.
std::optional<std::pair<uint16_t, uint16_t>> parse_port_range(std::string_view s);

// Counts the lcores in an EAL list like "0-2,4" (0 if malformed).
unsigned count_lcores(std::string_view list);

}  // namespace sluice::engine
