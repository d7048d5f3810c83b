#include "wire/drop.hpp"

#include <array>

namespace sluice::wire {

namespace {

constexpr std::array<const char*, kDropCount> kDropNames = {
    "None",
    "EthTruncated",
    "EthUnsupportedType",
    "Ipv6Unsupported",
    "ArpMalformed",
    "ArpUnsupported",
    "Ipv4Truncated",
    "Ipv4BadVersion",
    "Ipv4BadIhl",
    "Ipv4BadTotalLength",
    "Ipv4BadChecksum",
    "Ipv4Fragment",
    "Ipv4TtlZero",
    "Ipv4BadSource",
    "Ipv4BadDestination",
    "IpUnsupportedProto",
    "IcmpTruncated",
    "IcmpBadChecksum",
    "IcmpUnsupportedType",
    "TcpTruncated",
    "TcpBadDataOffset",
    "TcpBadOption",
    "TcpBadChecksum",
    "TcpBadPort",
    "EthBadSource",
    "Ipv6Truncated",
    "Ipv6BadVersion",
    "Ipv6BadPayloadLength",
    "Ipv6BadSource",
    "Ipv6BadDestination",
    "Ipv6BadExtHeader",
    "Ipv6Fragment",
    "NdpMalformed",
};

// A name missing from the table would leave a null pointer behind: catch it at compile time.
constexpr bool all_named() {
    for (const char* n : kDropNames)
        if (n == nullptr) return false;
    return true;
}
static_assert(all_named(), "every Drop value needs a name");

}  // namespace

const char* drop_name(Drop d) noexcept {
    const auto i = static_cast<size_t>(d);
    return i < kDropNames.size() ? kDropNames[i] : "?";
}

}  // namespace sluice::wire
