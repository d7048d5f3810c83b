#include "flow/flow_table.hpp"

#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace sluice::flow {

namespace {

// A packed key: IPv4 local 4, remote 4, ports 2 + 2 (12 bytes); IPv6 local 16, remote 16,
// ports 2 + 2 (36). 8-byte aligned because rte_hash_crc reads 8 bytes at a time.
struct alignas(8) Packed {
    uint8_t bytes[40];
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
    }
    uint32_t len() const noexcept {
        return is_v6 ? uint32_t(FlowTable::kKey6Len) : uint32_t(FlowTable::kKey4Len);
    }
};

using Array = FlowTable::Array;

uint32_t slot_hash(const uint8_t* slot) noexcept {
    uint32_t h;
    std::memcpy(&h, slot + 8, 4);
    return h;
}

void* slot_value(const uint8_t* slot) noexcept {
    void* v;
    std::memcpy(&v, slot, sizeof v);
    return v;
}

void set_value(uint8_t* slot, void* v) noexcept {
    std::memcpy(slot, &v, sizeof v);
}

// The slot index holding `key`, or the empty slot that ends its probe run (`found` false).
// `Len` is the family's key length: the compare is a few fixed-size loads.
template <size_t Len>
uint32_t probe(const Array& a, const uint8_t* key, uint32_t hash, bool& found) noexcept {
    uint32_t i = hash & a.mask;
    for (;;) {
        const uint8_t* s = a.at(i);
        if (slot_value(s) == nullptr) {
            found = false;
            return i;
        }
        if (slot_hash(s) == hash && std::memcmp(s + 12, key, Len) == 0) {
            found = true;
            return i;
        }
        i = (i + 1) & a.mask;
    }
}

uint32_t probe_any(const Array& a, const Packed& p, uint32_t hash, bool& found) noexcept {
    return p.is_v6 ? probe<FlowTable::kKey6Len>(a, p.bytes, hash, found)
                   : probe<FlowTable::kKey4Len>(a, p.bytes, hash, found);
}

// Backward-shift deletion (linear probing without tombstones): empty slot i, then move back
// every later entry of the run whose home slot is not cyclically within (i, j].
void remove_at(const Array& a, uint32_t i) noexcept {
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & a.mask;
        uint8_t* s = a.at(j);
        if (slot_value(s) == nullptr) break;
        const uint32_t home = slot_hash(s) & a.mask;
        const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays) continue;
        std::memcpy(a.at(i), s, a.stride);
        i = j;
    }
    set_value(a.at(i), nullptr);
}

Array make_array(uint32_t capacity, size_t stride, size_t key_len, int socket) {
    Array a;
    if (capacity == 0) return a;
    // Load at most 3/4: linear probing's expected probe length stays short (Knuth 6.4).
    const uint64_t want = std::max<uint64_t>(16, uint64_t(capacity) * 4 / 3 + 1);
    const uint64_t slots = std::bit_ceil(want);
    a.slots = static_cast<uint8_t*>(
        rte_zmalloc_socket("flow_slots", slots * stride, RTE_CACHE_LINE_SIZE, socket));
    if (a.slots == nullptr) return a;
    a.mask = uint32_t(slots - 1);
    a.capacity = capacity;
    a.stride = uint32_t(stride);
    a.key_len = uint32_t(key_len);
    return a;
}

}  // namespace

void* FlowTable::Array::value_at(uint32_t i) const noexcept {
    return slot_value(at(i));
}

dev::Result<FlowTable> FlowTable::create(const std::string& name, uint32_t capacity4,
                                         uint32_t capacity6, int socket) {
    const Array t4 = make_array(capacity4, slot_bytes(wire::Family::V4), kKey4Len, socket);
    if (capacity4 > 0 && t4.slots == nullptr)
        return dev::Error{"cannot create flow table " + name + " for " +
                          std::to_string(capacity4) + " flows: out of DPDK heap memory"};
    const Array t6 = make_array(capacity6, slot_bytes(wire::Family::V6), kKey6Len, socket);
    if (capacity6 > 0 && t6.slots == nullptr) {
        rte_free(t4.slots);
        return dev::Error{"cannot create IPv6 flow table " + name + " for " +
                          std::to_string(capacity6) + " flows: out of DPDK heap memory"};
    }
    return FlowTable(t4, t6);
}

FlowTable::FlowTable(FlowTable&& o) noexcept
    : t4_(o.t4_),
      t6_(o.t6_),
      size4_(o.size4_.load(std::memory_order_relaxed)),
      size6_(o.size6_.load(std::memory_order_relaxed)) {
    o.t4_ = Array{};
    o.t6_ = Array{};
}

FlowTable::~FlowTable() {
    rte_free(t4_.slots);
    rte_free(t6_.slots);
}

uint32_t FlowTable::hash(const wire::FlowKey& k) noexcept {
    const Packed p(k);
    return rte_hash_crc(p.bytes, p.len(), 0);
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
    const Array& a = p.is_v6 ? t6_ : t4_;
    std::atomic<uint32_t>& size = p.is_v6 ? size6_ : size4_;
    if (a.slots == nullptr || value == nullptr) [[unlikely]]
        return false;
    bool found = false;
    const uint32_t i = probe_any(a, p, hash, found);
    uint8_t* s = a.at(i);
    if (found) {
        set_value(s, value);
        return true;
    }
    // The capacity is a promise to the configuration (memory sized from it): exact.
    const uint32_t n = size.load(std::memory_order_relaxed);
    if (n >= a.capacity) [[unlikely]]
        return false;
    std::memcpy(s + 8, &hash, 4);
    std::memcpy(s + 12, p.bytes, a.key_len);
    set_value(s, value);
    size.store(n + 1, std::memory_order_relaxed);
    return true;
}

bool FlowTable::replace(const wire::FlowKey& k, uint32_t hash, void* value) noexcept {
    const Packed p(k);
    const Array& a = p.is_v6 ? t6_ : t4_;
    if (a.slots == nullptr || value == nullptr) [[unlikely]]
        return false;
    bool found = false;
    const uint32_t i = probe_any(a, p, hash, found);
    if (!found) return false;
    set_value(a.at(i), value);
    return true;
}

bool FlowTable::erase(const wire::FlowKey& k, uint32_t hash) noexcept {
    const Packed p(k);
    const Array& a = p.is_v6 ? t6_ : t4_;
    if (a.slots == nullptr) [[unlikely]]
        return false;
    bool found = false;
    const uint32_t i = probe_any(a, p, hash, found);
    if (!found) return false;
    remove_at(a, i);
    std::atomic<uint32_t>& size = p.is_v6 ? size6_ : size4_;
    size.store(size.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    return true;
}

void* FlowTable::lookup(const wire::FlowKey& k, uint32_t hash) const noexcept {
    const Packed p(k);
    const Array& a = p.is_v6 ? t6_ : t4_;
    if (a.slots == nullptr) [[unlikely]]
        return nullptr;
    bool found = false;
    const uint32_t i = probe_any(a, p, hash, found);
    return found ? slot_value(a.at(i)) : nullptr;
}

unsigned FlowTable::lookup_bulk(const wire::FlowKey* const* keys, const uint32_t* hashes,
                                unsigned n, void** values) const noexcept {
    n = n < kMaxBulk ? n : kMaxBulk;
    // Every home slot's line on its way before the first probe.
    for (unsigned i = 0; i < n; ++i) {
        const Array& a = keys[i]->local.is_v4() ? t4_ : t6_;
        if (a.slots != nullptr) rte_prefetch0(a.at(hashes[i] & a.mask));
    }
    unsigned hits = 0;
    for (unsigned i = 0; i < n; ++i) {
        values[i] = lookup(*keys[i], hashes[i]);
        hits += values[i] != nullptr;
    }
    return hits;
}

}  // namespace sluice::flow
