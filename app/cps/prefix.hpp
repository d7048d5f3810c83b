#pragma once
// Which spoofed source prefixes --syn-flood may use: only ones inside the configured test
// range (default 198.18.0.0/15, RFC 2544's benchmarking block), unless --allow-any-prefix.
// A flood from somebody else's addresses makes their hosts the target of the SYN-ACKs.

#include <optional>
#include <string>
#include <string_view>

#include "wire/addr.hpp"

namespace sluice::cps {

inline constexpr std::string_view kDefaultTestRange = "198.18.0.0/15";

// "a.b.c.d/n", normalised to its network address; nullopt if malformed or not /1../32.
inline std::optional<wire::Ipv4Prefix> parse_prefix(std::string_view s) {
    if (s.find('/') == std::string_view::npos) return std::nullopt;
    auto p = wire::Ipv4Prefix::parse(s);
    if (!p || p->len == 0) return std::nullopt;
    p->addr = p->network();
    return p;
}

// inner lies wholly inside outer.
inline bool prefix_within(const wire::Ipv4Prefix& inner, const wire::Ipv4Prefix& outer) {
    return inner.len >= outer.len && outer.contains(inner.addr);
}

// Empty if `flood` may be used; otherwise why not.
inline std::string check_flood_prefix(std::string_view flood, std::string_view test_range,
                                      bool allow_any) {
    const auto f = parse_prefix(flood);
    if (!f) return "--flood-prefix: not an IPv4 prefix like 198.19.0.0/16: " + std::string(flood);
    if (allow_any) return {};
    const auto r = parse_prefix(test_range);
    if (!r) return "test range: not an IPv4 prefix: " + std::string(test_range);
    if (!prefix_within(*f, *r)) {
        return "--flood-prefix " + f->to_string() + " is outside the test range " +
               r->to_string() + " (spoofing other people's addresses sends them the SYN-ACKs; " +
               "pass --allow-any-prefix if you own it)";
    }
    return {};
}

}  // namespace sluice::cps
