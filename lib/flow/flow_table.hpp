#pragma once
// One worker's flow table: 4-tuple -> entry, on DPDK's cuckoo hash (rte_hash).
//
// Threads: the owning worker is the only writer. Other threads (telemetry, stats) may call
// lookup()/size() concurrently: the table is created with
// RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF, DPDK's lock-free reader/writer mode, so readers
// never block the writer and the data path takes no lock. A reader that dereferences an entry
// must know it is still alive; sluice's readers only copy counters or keys.
// Deleted slots go to an RCU QSBR defer queue and are reused once every registered reader
// has passed a quiescent state (rcu() is the variable readers register with); with no
// registered reader they are reused at once.
//
// The data path looks up a whole burst at once (lookup_bulk) with hashes computed while
// parsing, as rte_hash's bulk API does best: signatures first, full keys only on a match.
//
// Both families, no waste: the interface takes wire::FlowKey (38 bytes, room for IPv6), but
// each family has its own rte_hash keyed by the packed tuple: 12 bytes for IPv4 (addresses
// 4 + 4, ports 2 + 2), 36 for IPv6. rte_hash (DPDK 22.11 rte_cuckoo_hash.c) keeps a key in a
// slot of RTE_ALIGN(8-byte data pointer + key_len, 16): 32 bytes for IPv4, 48 for IPv6 and
// for the old 38-byte key, so an IPv4 flow saves 16 bytes per key slot and its CRC runs over
// 12 bytes instead of 38. The rest does not depend on the key: buckets of 64 bytes for 8
// entries, pow2(entries) / 8 of them (8 to 16 bytes per flow, 16.8 at 1M), and per pow2 slot a
// 4-byte free-slot ring entry and a 16-byte RCU defer-queue entry. Measured
// (rte_malloc_get_socket_stats around create, 1M flows): IPv4 94.7 B/flow, IPv6 112.7, a 38-byte
// key 112.7 -- 36 of the 94.7 are key slots (entries carry 1/8 headroom). The IPv6 table exists
// only when it is given a capacity (the host has an IPv6 address): an IPv4-only host spends nothing
// on IPv6. key_slot_bytes() gives the slot sizes; bench/flow prints what the tables take.

#include <rte_hash.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "dev/error.hpp"
#include "wire/addr.hpp"

struct rte_hash;
struct rte_rcu_qsbr;

namespace sluice::flow {

class FlowTable {
public:
    static constexpr unsigned kMaxBulk = 64;  // RTE_HASH_LOOKUP_BULK_MAX

    // `capacity4` IPv4 and `capacity6` IPv6 entries (0: no IPv6 table) on NUMA `socket`.
    // `name` is for messages; the rte_hash names are made unique here, short enough that
    // DPDK's 28-character ring names (rte_hash's "HASH_RCU_<name>" defer queue) never cut
    // them into each other.
    static dev::Result<FlowTable> create(const std::string& name, uint32_t capacity4,
                                         uint32_t capacity6, int socket);
    FlowTable(FlowTable&& o) noexcept
        : h4_(o.h4_),
          h6_(o.h6_),
          rcu_(o.rcu_),
          capacity4_(o.capacity4_),
          capacity6_(o.capacity6_),
          size4_(o.size4_.load()),
          size6_(o.size6_.load()) {
        o.h4_ = o.h6_ = nullptr;
        o.rcu_ = nullptr;
    }
    FlowTable& operator=(FlowTable&&) = delete;
    FlowTable(const FlowTable&) = delete;
    ~FlowTable();

    // The CRC of k's packed key: what insert, erase and the lookups take as `hash`.
    static uint32_t hash(const wire::FlowKey& k) noexcept;

    // Bytes of one key slot in the family's rte_hash (DPDK 22.11: 8-byte data pointer plus
    // the key, rounded up to 16).
    static constexpr size_t key_slot_bytes(wire::Family f) noexcept {
        const size_t key = f == wire::Family::V4 ? kKey4Len : kKey6Len;
        return (8 + key + 15) / 16 * 16;
    }
    static constexpr size_t kKey4Len = 12, kKey6Len = 36;

    // Adds a key that is not in the table (the worker inserts only after a miss). Returns
    // false when the family's table is full or absent: the caller counts that and refuses
    // the flow.
    bool insert(const wire::FlowKey& k, uint32_t hash, void* value) noexcept;
    // Removes; returns false if absent.
    bool erase(const wire::FlowKey& k, uint32_t hash) noexcept;
    // nullptr if absent.
    void* lookup(const wire::FlowKey& k, uint32_t hash) const noexcept;
    // Looks up n <= kMaxBulk keys; values[i] is nullptr for a miss. Returns the hit count.
    unsigned lookup_bulk(const wire::FlowKey* const* keys, const uint32_t* hashes, unsigned n,
                         void** values) const noexcept;

    // Calls fn(key, value) for every entry, IPv4 then IPv6. The owning lcore only (it is
    // the writer).
    template <typename F>
    void for_each(F&& fn) const {
        for (rte_hash* h : {h4_, h6_}) {
            if (h == nullptr) continue;
            const void* key = nullptr;
            void* value = nullptr;
            uint32_t next = 0;
            while (rte_hash_iterate(h, &key, &value, &next) >= 0) fn(unpack(key, h == h6_), value);
        }
    }

    // Live entries of both families; any thread.
    uint32_t size() const noexcept {
        return size4_.load(std::memory_order_relaxed) + size6_.load(std::memory_order_relaxed);
    }
    uint32_t capacity() const noexcept { return capacity4_; }
    uint32_t capacity6() const noexcept { return capacity6_; }
    rte_rcu_qsbr* rcu() const noexcept { return rcu_; }

private:
    FlowTable(rte_hash* h4, rte_hash* h6, rte_rcu_qsbr* rcu, uint32_t capacity4, uint32_t capacity6)
        : h4_(h4), h6_(h6), rcu_(rcu), capacity4_(capacity4), capacity6_(capacity6) {}
    static wire::FlowKey unpack(const void* packed, bool v6) noexcept;
    rte_hash* h4_;
    rte_hash* h6_;  // nullptr without IPv6
    rte_rcu_qsbr* rcu_;
    uint32_t capacity4_, capacity6_;
    std::atomic<uint32_t> size4_{0}, size6_{0};  // single writer
};

}  // namespace sluice::flow
