#include <gtest/gtest.h>
#include <rte_lcore.h>

#include <random>
#include <vector>

#include "flow/flow_table.hpp"
#include "flow/pool.hpp"

namespace sluice::flow {
namespace {

wire::FlowKey key(uint32_t remote, uint16_t rport, uint16_t lport = 80) {
    wire::FlowKey k{};
    k.local = wire::IpAddr::v4(0xC6120002);
    k.remote = wire::IpAddr::v4(remote);
    k.local_port = lport;
    k.remote_port = rport;
    return k;
}

TEST(FlowTable, InsertLookupErase) {
    auto t = FlowTable::create("ft_basic", 1024, 0);
    ASSERT_TRUE(t) << t.error().message;
    int a = 1, b = 2;
    const auto k1 = key(0xC6120001, 40000), k2 = key(0xC6120001, 40001);
    EXPECT_TRUE(t->insert(k1, t->hash(k1), &a));
    EXPECT_TRUE(t->insert(k2, t->hash(k2), &b));
    EXPECT_EQ(t->lookup(k1, t->hash(k1)), &a);
    EXPECT_EQ(t->lookup(k2, t->hash(k2)), &b);
    EXPECT_EQ(t->size(), 2u);
    EXPECT_TRUE(t->erase(k1, t->hash(k1)));
    EXPECT_FALSE(t->erase(k1, t->hash(k1)));
    EXPECT_EQ(t->lookup(k1, t->hash(k1)), nullptr);
    EXPECT_EQ(t->size(), 1u);
}

TEST(FlowTable, KeysDifferingOnlyInOneFieldAreDistinct) {
    auto t = FlowTable::create("ft_fields", 64, 0);
    ASSERT_TRUE(t);
    int v[4];
    const wire::FlowKey ks[4] = {key(1, 2, 3), key(1, 2, 4), key(1, 3, 3), key(2, 2, 3)};
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(t->insert(ks[i], t->hash(ks[i]), &v[i]));
    for (int i = 0; i < 4; ++i) EXPECT_EQ(t->lookup(ks[i], t->hash(ks[i])), &v[i]);
}

TEST(FlowTable, BulkLookupReportsHitsAndMisses) {
    auto t = FlowTable::create("ft_bulk", 4096, 0);
    ASSERT_TRUE(t);
    std::vector<wire::FlowKey> keys;
    std::vector<int> vals(FlowTable::kMaxBulk);
    for (unsigned i = 0; i < FlowTable::kMaxBulk; ++i) keys.push_back(key(0xC6120100 + i, 1000));
    for (unsigned i = 0; i < FlowTable::kMaxBulk; i += 2) {
        ASSERT_TRUE(t->insert(keys[i], t->hash(keys[i]), &vals[i]));
    }
    const wire::FlowKey* kp[FlowTable::kMaxBulk];
    uint32_t hashes[FlowTable::kMaxBulk];
    void* out[FlowTable::kMaxBulk];
    for (unsigned i = 0; i < FlowTable::kMaxBulk; ++i) {
        kp[i] = &keys[i];
        hashes[i] = t->hash(keys[i]);
    }
    EXPECT_EQ(t->lookup_bulk(kp, hashes, FlowTable::kMaxBulk, out), FlowTable::kMaxBulk / 2);
    for (unsigned i = 0; i < FlowTable::kMaxBulk; ++i) {
        EXPECT_EQ(out[i], i % 2 == 0 ? &vals[i] : nullptr) << i;
    }
}

TEST(FlowTable, FullTableRefusesInsertAndRecoversAfterErase) {
    auto t = FlowTable::create("ft_full", 256, 0);
    ASSERT_TRUE(t);
    int v = 0;
    uint32_t added = 0;
    for (uint32_t i = 0; i < 2048; ++i) {
        const auto k = key(i, 7);
        if (!t->insert(k, t->hash(k), &v)) break;
        ++added;
    }
    EXPECT_EQ(added, 256u);  // exactly the capacity asked for
    const auto extra = key(999999, 7);
    EXPECT_FALSE(t->insert(extra, t->hash(extra), &v));
    const auto first = key(0, 7);
    ASSERT_TRUE(t->erase(first, t->hash(first)));
    EXPECT_TRUE(t->insert(extra, t->hash(extra), &v));
}

struct Obj {
    explicit Obj(int v) : value(v) { ++live; }
    ~Obj() { --live; }
    int value;
    static inline int live = 0;
};

TEST(Pool, AllocatesUpToCapacityThenRefuses) {
    Pool<Obj> p(3);
    Obj* a = p.alloc(1);
    Obj* b = p.alloc(2);
    Obj* c = p.alloc(3);
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(p.alloc(4), nullptr);
    EXPECT_EQ(p.in_use(), 3u);
    EXPECT_EQ(Obj::live, 3);
    p.free(b);
    EXPECT_EQ(Obj::live, 2);
    Obj* d = p.alloc(5);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->value, 5);
    EXPECT_EQ(a->value, 1);
    EXPECT_EQ(c->value, 3);
    p.free(a);
    p.free(c);
    p.free(d);
    EXPECT_EQ(p.in_use(), 0u);
    EXPECT_EQ(Obj::live, 0);
}

TEST(Pool, DestructorDestroysExactlyTheLiveObjects) {
    {
        Pool<Obj> p(64);  // fresh storage must not look live
        p.alloc(1);
        p.alloc(2);
        EXPECT_EQ(Obj::live, 2);
    }
    EXPECT_EQ(Obj::live, 0);
}

TEST(Pool, RandomAllocFreeKeepsObjectsIntact) {
    Pool<Obj> p(100);
    std::vector<Obj*> held;
    std::mt19937 rng(7);
    for (int step = 0; step < 10000; ++step) {
        if (!held.empty() && (rng() % 2 == 0 || held.size() == 100)) {
            const size_t i = rng() % held.size();
            EXPECT_EQ(held[i]->value,
                      static_cast<int>(reinterpret_cast<uintptr_t>(held[i]) % 1000));
            p.free(held[i]);
            held.erase(held.begin() + static_cast<long>(i));
        } else {
            Obj* o = p.alloc(0);
            ASSERT_NE(o, nullptr);
            o->value = static_cast<int>(reinterpret_cast<uintptr_t>(o) % 1000);
            held.push_back(o);
        }
        ASSERT_EQ(p.in_use(), held.size());
    }
    for (Obj* o : held) p.free(o);
    EXPECT_EQ(Obj::live, 0);
}

}  // namespace
}  // namespace sluice::flow
