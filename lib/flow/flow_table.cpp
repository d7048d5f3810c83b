#include "flow/flow_table.hpp"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <cstring>
#include <new>

namespace sluice::flow {

namespace {

constexpr uint32_t kMaxReaders = 8;  // telemetry and stats threads that may read the table

// A packed key: IPv4 local 4, remote 4, ports 2 + 2 (12 bytes); IPv6 local 16, remote 16,
// ports 2 + 2 (36). 8-byte aligned because rte_hash_crc reads 8 bytes at a time; the CRC,
// rte_hash's compare and its key store all take exactly `len` bytes, so the rest stays
// unwritten (no per-lookup clearing).
struct alignas(8) Packed {
    uint8_t bytes[40];
    uint32_t len;
    bool is_v6;

    explicit Packed(const wire::FlowKey& k) noexcept : is_v6(!k.local.is_v4()) {
        if (is_v6) [[unlikely]]
            fill<16>(k);
        else
            fill<4>(k);
    }
    // Constant sizes: the copies compile to a few moves.
    template <size_t A>
    void fill(const wire::FlowKey& k) noexcept {
        std::memcpy(bytes, k.local.bytes.data(), A);
        std::memcpy(bytes + A, k.remote.bytes.data(), A);
        std::memcpy(bytes + 2 * A, &k.local_port, 2);
        std::memcpy(bytes + 2 * A + 2, &k.remote_port, 2);
        len = uint32_t(2 * A + 4);
    }
    const void* data() const noexcept { return bytes; }
};

// rte_hash's own hash function (used only by rte_hash_hash, which sluice does not call):
// the same CRC, over an aligned copy.
uint32_t packed_crc(const void* key, uint32_t key_len, uint32_t init_val) noexcept {
    alignas(8) uint8_t buf[40];
    std::memcpy(buf, key, key_len);
    return rte_hash_crc(buf, key_len, init_val);
}

rte_hash* make_hash(const std::string& name, uint32_t capacity, uint32_t key_len, int socket) {
    rte_hash_parameters p{};
    p.name = name.c_str();
    // Headroom: cuckoo hashing can fail to place a key a little before every slot is used;
    // the exact capacity is enforced by insert().
    p.entries = capacity + capacity / 8 + 8;
    p.key_len = key_len;
    p.hash_func = packed_crc;
    p.hash_func_init_val = 0;
    p.socket_id = socket;
    // Single writer (the worker), lock-free readers; no per-lcore free-slot cache needed
    // because only one lcore ever adds.
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
    return rte_hash_create(&p);
}

}  // namespace

dev::Result<FlowTable> FlowTable::create(const std::string& name, uint32_t capacity4,
                                         uint32_t capacity6, int socket) {
    // Process-wide serial: "flow4_<n>" and "flow6_<n>" stay under 20 characters, so every
    // name DPDK derives from them (at most 28 characters) is whole and distinct.
    static std::atomic<uint32_t> serial{0};
    const std::string id = std::to_string(serial.fetch_add(1, std::memory_order_relaxed));
    rte_hash* h4 = make_hash("flow4_" + id, capacity4, kKey4Len, socket);
    if (h4 == nullptr) {
        return dev::Error{"cannot create flow table " + name + " for " + std::to_string(capacity4) +
                          " flows: " + rte_strerror(rte_errno)};
    }
    rte_hash* h6 = nullptr;
    if (capacity6 > 0) {
        h6 = make_hash("flow6_" + id, capacity6, kKey6Len, socket);
        if (h6 == nullptr) {
            rte_hash_free(h4);
            return dev::Error{"cannot create IPv6 flow table " + name + " for " +
                              std::to_string(capacity6) + " flows: " + rte_strerror(rte_errno)};
        }
    }
    // One QSBR variable for both: a reader reports one quiescent state for the whole table.
    const size_t sz = rte_rcu_qsbr_get_memsize(kMaxReaders);
    auto* rcu =
        static_cast<rte_rcu_qsbr*>(rte_zmalloc_socket(nullptr, sz, RTE_CACHE_LINE_SIZE, socket));
    rte_hash_rcu_config rc{};
    rc.v = rcu;
    rc.mode = RTE_HASH_QSBR_MODE_DQ;
    if (rcu == nullptr || rte_rcu_qsbr_init(rcu, kMaxReaders) != 0 ||
        rte_hash_rcu_qsbr_add(h4, &rc) != 0 ||
        (h6 != nullptr && rte_hash_rcu_qsbr_add(h6, &rc) != 0)) {
        rte_free(rcu);
        rte_hash_free(h4);
        if (h6 != nullptr) rte_hash_free(h6);
        return dev::Error{"cannot attach RCU reclamation to flow table " + name};
    }
    return FlowTable(h4, h6, rcu, capacity4, capacity6);
}

FlowTable::~FlowTable() {
    if (h4_ != nullptr) rte_hash_free(h4_);
    if (h6_ != nullptr) rte_hash_free(h6_);
    rte_free(rcu_);
}

uint32_t FlowTable::hash(const wire::FlowKey& k) noexcept {
    const Packed p(k);
    return rte_hash_crc(p.data(), p.len, 0);
}

wire::FlowKey FlowTable::unpack(const void* packed, bool v6) noexcept {
    wire::FlowKey k{};
    const auto* p = static_cast<const uint8_t*>(packed);
    const size_t a = v6 ? 16 : 4;
    k.local.family = k.remote.family = v6 ? wire::Family::V6 : wire::Family::V4;
    std::memcpy(k.local.bytes.data(), p, a);
    std::memcpy(k.remote.bytes.data(), p + a, a);
    std::memcpy(&k.local_port, p + 2 * a, 2);
    std::memcpy(&k.remote_port, p + 2 * a + 2, 2);
    return k;
}

bool FlowTable::insert(const wire::FlowKey& k, uint32_t hash, void* value) noexcept {
    const Packed p(k);
    rte_hash* h = p.is_v6 ? h6_ : h4_;
    std::atomic<uint32_t>& size = p.is_v6 ? size6_ : size4_;
    // The capacity is a promise to the configuration (memory sized from it), so it is
    // enforced exactly; rte_hash itself may hold a few more.
    if (h == nullptr || size.load(std::memory_order_relaxed) >= (p.is_v6 ? capacity6_ : capacity4_))
        [[unlikely]]
        return false;
    if (rte_hash_add_key_with_hash_data(h, p.data(), hash, value) != 0) return false;
    size.store(size.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return true;
}

bool FlowTable::erase(const wire::FlowKey& k, uint32_t hash) noexcept {
    const Packed p(k);
    rte_hash* h = p.is_v6 ? h6_ : h4_;
    if (h == nullptr || rte_hash_del_key_with_hash(h, p.data(), hash) < 0) return false;
    std::atomic<uint32_t>& size = p.is_v6 ? size6_ : size4_;
    size.store(size.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    return true;
}

void* FlowTable::lookup(const wire::FlowKey& k, uint32_t hash) const noexcept {
    const Packed p(k);
    rte_hash* h = p.is_v6 ? h6_ : h4_;
    void* v = nullptr;
    return h != nullptr && rte_hash_lookup_with_hash_data(h, p.data(), hash, &v) >= 0 ? v : nullptr;
}

namespace {

// One family's share of a burst: packed keys, their hashes, and where each came from.
struct Share {
    const void* ptrs[FlowTable::kMaxBulk];
    uint32_t hashes[FlowTable::kMaxBulk];
    uint8_t at[FlowTable::kMaxBulk];
    void* values[FlowTable::kMaxBulk];
    unsigned n = 0;

    void add(const void* key, uint32_t hash, unsigned i) noexcept {
        ptrs[n] = key;
        hashes[n] = hash;
        at[n++] = uint8_t(i);
    }
    unsigned run(rte_hash* h, void** out) noexcept {
        if (n == 0) return 0;
        uint64_t hits = 0;
        if (h == nullptr ||
            rte_hash_lookup_with_hash_bulk_data(h, ptrs, hashes, n, &hits, values) < 0)
            hits = 0;
        for (unsigned i = 0; i < n; ++i) out[at[i]] = (hits >> i & 1) != 0 ? values[i] : nullptr;
        return unsigned(__builtin_popcountll(hits));
    }
};

}  // namespace

unsigned FlowTable::lookup_bulk(const wire::FlowKey* const* keys, const uint32_t* hashes,
                                unsigned n, void** values) const noexcept {
    n = n < kMaxBulk ? n : kMaxBulk;
    bool mixed = false;
    for (unsigned i = 0; i < n; ++i) mixed |= !keys[i]->local.is_v4();
    if (!mixed) [[likely]] {
        // All IPv4 (the common burst): one bulk lookup straight into `values`, in order.
        alignas(8) uint8_t k4[kMaxBulk][16];
        const void* ptrs[kMaxBulk];
        for (unsigned i = 0; i < n; ++i) {
            const wire::FlowKey& k = *keys[i];
            std::memcpy(k4[i], k.local.bytes.data(), 4);
            std::memcpy(k4[i] + 4, k.remote.bytes.data(), 4);
            std::memcpy(k4[i] + 8, &k.local_port, 2);
            std::memcpy(k4[i] + 10, &k.remote_port, 2);
            ptrs[i] = k4[i];
        }
        uint64_t hits = 0;
        if (n == 0 || rte_hash_lookup_with_hash_bulk_data(h4_, ptrs, const_cast<uint32_t*>(hashes),
                                                          n, &hits, values) < 0)
            hits = 0;
        for (unsigned i = 0; i < n; ++i)
            if ((hits >> i & 1) == 0) values[i] = nullptr;
        return unsigned(__builtin_popcountll(hits));
    }
    // Mixed: split by family, two bulk lookups, results back in the caller's order. Packed
    // keys on the stack (kMaxBulk x 48 bytes): no allocation on the data path.
    alignas(Packed) uint8_t storage[kMaxBulk * sizeof(Packed)];
    auto* packed = reinterpret_cast<Packed*>(storage);
    Share s4, s6;
    for (unsigned i = 0; i < n; ++i) {
        const Packed* p = new (&packed[i]) Packed(*keys[i]);
        (p->is_v6 ? s6 : s4).add(p->data(), hashes[i], i);
    }
    return s4.run(h4_, values) + s6.run(h6_, values);
}

}  // namespace sluice::flow
