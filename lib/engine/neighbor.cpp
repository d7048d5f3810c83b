#include "engine/neighbor.hpp"

#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

namespace sluice::engine {

size_t NeighborTable::slot_of(const wire::IpAddr& ip) noexcept {
    // Fibonacci hashing of the address words; the table is private to one host, so an
    // attacker who fills it only costs us ARP requests (counted as NeighTableFull).
    uint64_t h = static_cast<uint8_t>(ip.family);
    for (size_t i = 0; i < ip.bytes.size(); i += 4) {
        uint32_t w;
        std::memcpy(&w, ip.bytes.data() + i, 4);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    }
    return static_cast<size_t>(h >> 56) & (kCapacity - 1);
}

NeighborTable::Entry* NeighborTable::find(const wire::IpAddr& ip, time::Instant now) noexcept {
    const size_t base = slot_of(ip);
    for (size_t i = 0; i < kProbe; ++i) {
        Entry& e = entries_[(base + i) & (kCapacity - 1)];
        if (e.state != State::Free && e.ip == ip) {
            if (e.state == State::Reachable && e.expires <= now) {
                e.state = State::Free;  // expired: forget the MAC, ask again
                return nullptr;
            }
            return &e;
        }
    }
    return nullptr;
}

NeighborTable::Entry* NeighborTable::claim(const wire::IpAddr& ip, time::Instant now) noexcept {
    const size_t base = slot_of(ip);
    for (size_t i = 0; i < kProbe; ++i) {
        Entry& e = entries_[(base + i) & (kCapacity - 1)];
        const bool stale = e.state == State::Reachable && e.expires <= now;
        if (e.state == State::Free || stale) {
            e = Entry{.ip = ip};
            return &e;
        }
    }
    return nullptr;
}

NeighborTable::Update NeighborTable::learn(const wire::IpAddr& ip, const wire::MacAddr& mac,
                                           time::Instant now, bool create) noexcept {
    Entry* e = find(ip, now);
    Update result = Update::Updated;
    if (e == nullptr) {
        if (!create) return Update::Ignored;
        e = claim(ip, now);
        if (e == nullptr) return Update::Full;
        result = Update::Created;
    }
    e->mac = mac;
    e->state = State::Reachable;
    e->expires = now + cfg_.reachable;
    return result;
}

NeighborTable::Lookup NeighborTable::resolve(const wire::IpAddr& ip, time::Instant now,
                                             wire::MacAddr& mac) noexcept {
    Entry* e = find(ip, now);
    if (e == nullptr) {
        e = claim(ip, now);
        if (e == nullptr) return Lookup::Full;
        e->state = State::Incomplete;
        e->expires = now + cfg_.retry;
        return Lookup::SendRequest;
    }
    if (e->state == State::Reachable) {
        mac = e->mac;
        return Lookup::Hit;
    }
    if (now >= e->expires) {
        e->expires = now + cfg_.retry;
        return Lookup::SendRequest;
    }
    return Lookup::Pending;
}

NeighborTable::~NeighborTable() {
    for (Entry& e : entries_) {
        for (size_t i = 0; i < e.held_count; ++i) rte_pktmbuf_free(e.held[i]);
    }
}

rte_mbuf* NeighborTable::hold(const wire::IpAddr& ip, rte_mbuf* m, time::Instant now) noexcept {
    Entry* e = find(ip, now);
    if (e == nullptr || e->state != State::Incomplete) return m;
    rte_mbuf* out = nullptr;
    if (e->held_count == kHeldFrames) {  // the oldest goes, as Linux's unres queue
        out = e->held[0];
        std::copy(e->held.begin() + 1, e->held.end(), e->held.begin());
        --e->held_count;
    }
    e->held[e->held_count++] = m;
    return out;
}

size_t NeighborTable::take_held(const wire::IpAddr& ip, std::array<rte_mbuf*, kHeldFrames>& out,
                                time::Instant now) noexcept {
    Entry* e = find(ip, now);
    if (e == nullptr) return 0;
    const size_t n = e->held_count;
    std::copy_n(e->held.begin(), n, out.begin());
    e->held_count = 0;
    return n;
}

size_t NeighborTable::size(time::Instant now) const noexcept {
    size_t n = 0;
    for (const Entry& e : entries_) n += e.state == State::Reachable && e.expires > now;
    return n;
}

}  // namespace sluice::engine
