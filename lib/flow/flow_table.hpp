#pragma once
// One worker's flow table: 4-tuple -> entry, open addressing on the packed tuple.
//
// Threads: the owning worker is the only reader and writer (nothing in sluice reads a flow
// table from another thread: telemetry reads a ConnSnapshot the owner fills, see
// engine/conn_snapshot.hpp). size() alone may be read from any thread (a relaxed counter).
// So there is no lock, no RCU defer queue and no logging on any path (issue 17 item 2: rte_hash
// in lock-free mode spent ~900 instructions per delete in its defer queue and rte_log).
//
// Layout: each family has its own power-of-two array of slots, linear probing, load at most
// 3/4 of the capacity asked for. A slot holds the value, the hash and the packed key:
//   IPv4  value 8 | hash 4 | local 4, remote 4, local port 2, remote port 2   = 24 bytes
//   IPv6  value 8 | hash 4 | local 16, remote 16, ports 2 + 2                 = 48 bytes
// An empty slot has value nullptr (values are never null). The hash given to every call is
// the one the worker computed once per frame (hash()); the slot's stored hash is compared
// before the key, so a probe past another flow reads one cache line and no key bytes.
// Erase shifts the following run back (no tombstones), so a lookup never walks dead slots.
// Memory: slots = pow2(capacity * 4 / 3), from the DPDK heap on the given socket:
// slot_bytes(f) x slots (bench/flow prints it per flow).
//
// lookup_bulk prefetches every key's home slot before probing any (a burst's misses cost one
// memory latency, not n).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "dev/error.hpp"
#include "wire/addr.hpp"

namespace sluice::flow {

class FlowTable {
public:
    static constexpr unsigned kMaxBulk = 64;

    // `capacity4` IPv4 and `capacity6` IPv6 entries (0: no IPv6 table) on NUMA `socket`.
    // `name` is for messages. Errors: the DPDK heap cannot hold the slots.
    static dev::Result<FlowTable> create(const std::string& name, uint32_t capacity4,
                                         uint32_t capacity6, int socket);
    FlowTable(FlowTable&& o) noexcept;
    FlowTable& operator=(FlowTable&&) = delete;
    FlowTable(const FlowTable&) = delete;
    ~FlowTable();

    // The CRC of k's packed key: what insert, erase, replace and the lookups take as `hash`.
    static uint32_t hash(const wire::FlowKey& k) noexcept;

    static constexpr size_t kKey4Len = 12, kKey6Len = 36;
    // Bytes of one slot (value, hash, packed key) of the family's array.
    static constexpr size_t slot_bytes(wire::Family f) noexcept {
        return f == wire::Family::V4 ? 24 : 48;
    }
    // The old name (rte_hash's key slot); kept for callers.
    static constexpr size_t key_slot_bytes(wire::Family f) noexcept { return slot_bytes(f); }

    // Adds `value` (not nullptr) under k; if k is present its value is replaced. Returns false
    // when the family's table holds `capacity` entries or is absent: the caller counts that
    // and refuses the flow.
    bool insert(const wire::FlowKey& k, uint32_t hash, void* value) noexcept;
    // Replaces the value of a present key in place (TIME-WAIT taking over a connection's entry
    // without erase + insert). Returns false if k is absent.
    bool replace(const wire::FlowKey& k, uint32_t hash, void* value) noexcept;
    // Removes; returns false if absent.
    bool erase(const wire::FlowKey& k, uint32_t hash) noexcept;
    // nullptr if absent.
    void* lookup(const wire::FlowKey& k, uint32_t hash) const noexcept;
    // Looks up n <= kMaxBulk keys (more are ignored); values[i] is nullptr for a miss.
    // Returns the hit count.
    unsigned lookup_bulk(const wire::FlowKey* const* keys, const uint32_t* hashes, unsigned n,
                         void** values) const noexcept;

    // Calls fn(key, value) for every entry, IPv4 then IPv6. The owning lcore only; fn must
    // not change the table.
    template <typename F>
    void for_each(F&& fn) const {
        for (uint32_t i = 0; t4_.slots != nullptr && i <= t4_.mask; ++i)
            if (void* v = t4_.value_at(i)) fn(unpack(t4_.key_at(i), false), v);
        for (uint32_t i = 0; t6_.slots != nullptr && i <= t6_.mask; ++i)
            if (void* v = t6_.value_at(i)) fn(unpack(t6_.key_at(i), true), v);
    }

    // Live entries of both families; any thread.
    uint32_t size() const noexcept {
        return size4_.load(std::memory_order_relaxed) + size6_.load(std::memory_order_relaxed);
    }
    uint32_t capacity() const noexcept { return t4_.capacity; }
    uint32_t capacity6() const noexcept { return t6_.capacity; }
    // Bytes the slot arrays take (both families).
    size_t bytes() const noexcept {
        return t4_.slot_count() * slot_bytes(wire::Family::V4) +
               t6_.slot_count() * slot_bytes(wire::Family::V6);
    }

    // One family's array: `stride`-byte slots, value at 0, hash at 8, key from 12.
    struct Array {
        uint8_t* slots = nullptr;
        uint32_t mask = 0;  // slots - 1
        uint32_t capacity = 0;
        uint32_t stride = 0;
        uint32_t key_len = 0;
        size_t slot_count() const noexcept { return slots != nullptr ? size_t(mask) + 1 : 0; }
        uint8_t* at(uint32_t i) const noexcept { return slots + size_t(i) * stride; }
        void* value_at(uint32_t i) const noexcept;
        const uint8_t* key_at(uint32_t i) const noexcept { return at(i) + 12; }
    };

private:
    FlowTable(Array t4, Array t6) : t4_(t4), t6_(t6) {}
    static wire::FlowKey unpack(const void* packed, bool v6) noexcept;
    Array t4_;
    Array t6_;  // slots nullptr without IPv6
    std::atomic<uint32_t> size4_{0}, size6_{0};
};

}  // namespace sluice::flow
