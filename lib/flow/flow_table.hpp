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

    // `capacity` entries on NUMA `socket`; `name` must be unique in the process.
    static dev::Result<FlowTable> create(const std::string& name, uint32_t capacity, int socket);
    FlowTable(FlowTable&& o) noexcept
        : h_(o.h_), rcu_(o.rcu_), capacity_(o.capacity_), size_(o.size_.load()) {
        o.h_ = nullptr;
        o.rcu_ = nullptr;
    }
    FlowTable& operator=(FlowTable&&) = delete;
    FlowTable(const FlowTable&) = delete;
    ~FlowTable();

    uint32_t hash(const wire::FlowKey& k) const noexcept;

    // Adds a key that is not in the table (the worker inserts only after a miss). Returns
    // false when the table is full: the caller counts that and refuses the flow.
    bool insert(const wire::FlowKey& k, uint32_t hash, void* value) noexcept;
    // Removes; returns false if absent.
    bool erase(const wire::FlowKey& k, uint32_t hash) noexcept;
    // nullptr if absent.
    void* lookup(const wire::FlowKey& k, uint32_t hash) const noexcept;
    // Looks up n <= kMaxBulk keys; values[i] is nullptr for a miss. Returns the hit count.
    unsigned lookup_bulk(const wire::FlowKey* const* keys, const uint32_t* hashes, unsigned n,
                         void** values) const noexcept;

    // Calls fn(key, value) for every entry. The owning lcore only (it is the writer).
    template <typename F>
    void for_each(F&& fn) const {
        const void* key = nullptr;
        void* value = nullptr;
        uint32_t next = 0;
        while (rte_hash_iterate(h_, &key, &value, &next) >= 0)
            fn(*static_cast<const wire::FlowKey*>(key), value);
    }

    // Live entries; any thread.
    uint32_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
    uint32_t capacity() const noexcept { return capacity_; }
    rte_rcu_qsbr* rcu() const noexcept { return rcu_; }

private:
    FlowTable(rte_hash* h, rte_rcu_qsbr* rcu, uint32_t capacity)
        : h_(h), rcu_(rcu), capacity_(capacity) {}
    rte_hash* h_;
    rte_rcu_qsbr* rcu_;
    uint32_t capacity_;
    std::atomic<uint32_t> size_{0};  // single writer
};

}  // namespace sluice::flow
