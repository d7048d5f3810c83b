#include "flow/flow_table.hpp"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

namespace sluice::flow {

namespace {
constexpr uint32_t kMaxReaders = 8;  // telemetry and stats threads that may read the table
}

dev::Result<FlowTable> FlowTable::create(const std::string& name, uint32_t capacity, int socket) {
    rte_hash_parameters p{};
    p.name = name.c_str();
    // Headroom: cuckoo hashing can fail to place a key a little before every slot is used;
    // the exact capacity is enforced by insert().
    p.entries = capacity + capacity / 8 + 8;
    p.key_len = sizeof(wire::FlowKey);
    p.hash_func = wire::flow_key_rte_hash;
    p.hash_func_init_val = 0;
    p.socket_id = socket;
    // Single writer (the worker), lock-free readers; no per-lcore free-slot cache needed
    // because only one lcore ever adds.
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
    rte_hash* h = rte_hash_create(&p);
    if (h == nullptr) {
        return dev::Error{"cannot create flow table " + name + " for " + std::to_string(capacity) +
                          " flows: " + rte_strerror(rte_errno)};
    }
    const size_t sz = rte_rcu_qsbr_get_memsize(kMaxReaders);
    auto* rcu =
        static_cast<rte_rcu_qsbr*>(rte_zmalloc_socket(nullptr, sz, RTE_CACHE_LINE_SIZE, socket));
    rte_hash_rcu_config rc{};
    rc.v = rcu;
    rc.mode = RTE_HASH_QSBR_MODE_DQ;
    if (rcu == nullptr || rte_rcu_qsbr_init(rcu, kMaxReaders) != 0 ||
        rte_hash_rcu_qsbr_add(h, &rc) != 0) {
        rte_free(rcu);
        rte_hash_free(h);
        return dev::Error{"cannot attach RCU reclamation to flow table " + name};
    }
    return FlowTable(h, rcu, capacity);
}

FlowTable::~FlowTable() {
    if (h_ != nullptr) rte_hash_free(h_);
    rte_free(rcu_);
}

uint32_t FlowTable::hash(const wire::FlowKey& k) const noexcept {
    return rte_hash_hash(h_, &k);
}

bool FlowTable::insert(const wire::FlowKey& k, uint32_t hash, void* value) noexcept {
    // The capacity is a promise to the configuration (memory sized from it), so it is
    // enforced exactly; rte_hash itself may hold a few more.
    if (size_.load(std::memory_order_relaxed) >= capacity_) [[unlikely]]
        return false;
    if (rte_hash_add_key_with_hash_data(h_, &k, hash, value) != 0) return false;
    size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return true;
}

bool FlowTable::erase(const wire::FlowKey& k, uint32_t hash) noexcept {
    if (rte_hash_del_key_with_hash(h_, &k, hash) < 0) return false;
    size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    return true;
}

void* FlowTable::lookup(const wire::FlowKey& k, uint32_t hash) const noexcept {
    void* v = nullptr;
    return rte_hash_lookup_with_hash_data(h_, &k, hash, &v) >= 0 ? v : nullptr;
}

unsigned FlowTable::lookup_bulk(const wire::FlowKey* const* keys, const uint32_t* hashes,
                                unsigned n, void** values) const noexcept {
    uint64_t hits = 0;
    const int rc = rte_hash_lookup_with_hash_bulk_data(
        h_, reinterpret_cast<const void**>(const_cast<const wire::FlowKey**>(keys)),
        const_cast<uint32_t*>(hashes), n, &hits, values);
    if (rc < 0) return 0;
    for (unsigned i = 0; i < n; ++i) {
        if ((hits & (1ull << i)) == 0) values[i] = nullptr;
    }
    return static_cast<unsigned>(__builtin_popcountll(hits));
}

}  // namespace sluice::flow
