#pragma once
// The neighbour table of one worker: IP address -> MAC, learned from ARP (RFC 826) and
// Neighbor Discovery (RFC 4861), with expiry. Fixed capacity and open addressing, so a lookup
// never allocates; per-lcore, so it needs no lock. While a next hop is unresolved, one request
// per retry interval goes out and up to kHeldFrames frames for it wait in its entry (RFC 1122
// 2.3.2.2: SHOULD save at least one; Linux keeps a queue too): the first SYN to a new
// neighbour leaves with the answer instead of a full RTO later. Beyond that the oldest is
// dropped, counted by the caller (NeighUnresolved).

#include <array>
#include <chrono>
#include <cstdint>

#include "time/instant.hpp"
#include "wire/addr.hpp"

struct rte_mbuf;

namespace sluice::engine {

class NeighborTable {
public:
    static constexpr size_t kCapacity = 256;  // power of two
    static constexpr size_t kProbe = 8;       // slots tried per address before "full"
    static constexpr size_t kHeldFrames = 8;  // frames waiting per unresolved neighbour

    struct Config {
        time::Duration reachable = std::chrono::seconds(60);  // entry lifetime after learning
        time::Duration retry = std::chrono::seconds(1);       // between ARP requests
    };

    NeighborTable() = default;
    explicit NeighborTable(const Config& cfg) : cfg_(cfg) {}
    ~NeighborTable();  // frees frames still held
    NeighborTable(const NeighborTable&) = delete;
    NeighborTable& operator=(const NeighborTable&) = delete;

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

    // Keeps `m`, a frame for `ip` whose destination MAC is still to be written, until `ip`
    // is learned. Returns what the caller must free and count: the oldest frame when the
    // entry already holds kHeldFrames, `m` itself when `ip` is not being resolved (no entry,
    // or resolved meanwhile), else nullptr.
    rte_mbuf* hold(const wire::IpAddr& ip, rte_mbuf* m, time::Instant now) noexcept;
    // After learn(): the frames held for `ip`, oldest first, moved to `out`; their count.
    size_t take_held(const wire::IpAddr& ip, std::array<rte_mbuf*, kHeldFrames>& out,
                     time::Instant now) noexcept;

private:
    enum class State : uint8_t { Free, Incomplete, Reachable };
    struct Entry {
        wire::IpAddr ip;
        wire::MacAddr mac;
        State state = State::Free;
        uint8_t held_count = 0;  // frames in held[0..held_count), oldest first (Incomplete)
        time::Instant expires;   // Reachable: end of life; Incomplete: when to ask again
        std::array<rte_mbuf*, kHeldFrames> held{};
    };

    static size_t slot_of(const wire::IpAddr& ip) noexcept;
    Entry* find(const wire::IpAddr& ip, time::Instant now) noexcept;
    Entry* claim(const wire::IpAddr& ip, time::Instant now) noexcept;

    Config cfg_;
    std::array<Entry, kCapacity> entries_{};
};

}  // namespace sluice::engine
