#pragma once
// packetdrill's --so_flags string for libsluice_packetdrill.so: comma-separated key=value
// pairs that choose sluice's configuration for one run ("wscale=8,iw=10,rto_min=200"), so a
// script written for Linux's defaults can run with matching settings. Keys are listed in
// kSoFlags (so_flags.cpp) and docs/packetdrill.md; an unknown key or a bad value is an error
// naming it.

#include <string>
#include <string_view>

#include "engine/tcp_host.hpp"
#include "wire/addr.hpp"

namespace sluice::packetdrill {

struct AdapterConfig {
    engine::TcpHostConfig host;
    wire::Ipv4Prefix local{wire::IpAddr::v4(0xC6120001), 0};  // 198.18.0.1, every v4 on-link
    wire::Ipv6Prefix local6{*wire::IpAddr::parse("2001:2::1"), 0};
};

// The adapter's defaults: sluice's own TCP settings, room for a script's connections.
AdapterConfig default_config();

// Applies `flags` (may be empty or null) to cfg. Returns an empty string, or the error.
std::string parse_so_flags(std::string_view flags, AdapterConfig& cfg);

// One line per key with its unit, for error messages and docs.
std::string so_flags_help();

}  // namespace sluice::packetdrill
