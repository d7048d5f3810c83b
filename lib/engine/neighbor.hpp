#pragma once
// The neighbour table of one worker: IPv4 address -> MAC, learned from ARP (RFC 826), with
// expiry. Fixed capacity and open addressing, so a lookup never allocates; per-lcore, so it
// needs no lock. Packets whose next hop is unresolved are dropped (and counted) while one ARP
// request per retry interval goes out: TCP retransmits, so holding packets buys little.

#include <array>
#include <chrono>
#include <cstdint>

#include "time/instant.hpp"
#include "wire/addr.hpp"

namespace sluice::engine {

class NeighborTable {
public:
    static constexpr size_t kCapacity = 256;  // power of two
    static constexpr size_t kProbe = 8;       // slots tried per address before "full"

    struct Config {
        time::Duration reachable = std::chrono::seconds(60);  // entry lifetime after learning
        time::Duration retry = std::chrono::seconds(1);       // between ARP requests
    };

    NeighborTable() = default;
    explicit NeighborTable(const Config& cfg) : cfg_(cfg) {}

    enum class Update : uint8_t { Updated, Created, Ignored, Full };
    // RFC 826 "merge": refresh an existing entry; create one only if `create` (the packet was
    // addressed to us, or we asked).
    Update learn(const wire::IpAddr& ip, const wire::MacAddr& mac, time::Instant now,
                 bool create) noexcept;

    enum class Lookup : uint8_t {
        Hit,          // `mac` is filled
        SendRequest,  // unresolved: the caller should send an ARP request now
        Pending,      // unresolved, a request went out less than `retry` ago
        Full,         // unresolved and no slot to track it
    };
    Lookup resolve(const wire::IpAddr& ip, time::Instant now, wire::MacAddr& mac) noexcept;

    size_t size(time::Instant now) const noexcept;  // live (unexpired, resolved) entries

private:
    enum class State : uint8_t { Free, Incomplete, Reachable };
    struct Entry {
        wire::IpAddr ip;
        wire::MacAddr mac;
        State state = State::Free;
        time::Instant expires;  // Reachable: end of life; Incomplete: when to ask again
    };

    static size_t slot_of(const wire::IpAddr& ip) noexcept;
    Entry* find(const wire::IpAddr& ip, time::Instant now) noexcept;
    Entry* claim(const wire::IpAddr& ip, time::Instant now) noexcept;

    Config cfg_;
    std::array<Entry, kCapacity> entries_{};
};

}  // namespace sluice::engine
