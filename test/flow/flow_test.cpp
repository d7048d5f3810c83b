#include <gtest/gtest.h>
#include <rte_lcore.h>

#include <algorithm>
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
    auto t = FlowTable::create("ft_basic", 1024, 0, 0);
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
    auto t = FlowTable::create("ft_fields", 64, 0, 0);
    ASSERT_TRUE(t);
    int v[4];
    const wire::FlowKey ks[4] = {key(1, 2, 3), key(1, 2, 4), key(1, 3, 3), key(2, 2, 3)};
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(t->insert(ks[i], t->hash(ks[i]), &v[i]));
    for (int i = 0; i < 4; ++i) EXPECT_EQ(t->lookup(ks[i], t->hash(ks[i])), &v[i]);
}

TEST(FlowTable, BulkLookupReportsHitsAndMisses) {
    auto t = FlowTable::create("ft_bulk", 4096, 0, 0);
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
    auto t = FlowTable::create("ft_full", 256, 0, 0);
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

// --- both families (issue 11) ---------------------------------------------------------------

wire::FlowKey key6(uint8_t remote_last, uint16_t rport, uint16_t lport = 80) {
    wire::FlowKey k{};
    k.local = *wire::IpAddr::parse("2001:2::2");
    k.remote = *wire::IpAddr::parse("2001:2::1");
    k.remote.bytes[15] = remote_last;
    k.local_port = lport;
    k.remote_port = rport;
    return k;
}

// The IPv4 key whose address bytes are the first four of the v6 key's.
wire::FlowKey v4_twin(const wire::FlowKey& k6) {
    wire::FlowKey k = k6;
    k.local.family = k.remote.family = wire::Family::V4;
    std::fill(k.local.bytes.begin() + 4, k.local.bytes.end(), uint8_t{0});
    std::fill(k.remote.bytes.begin() + 4, k.remote.bytes.end(), uint8_t{0});
    return k;
}

TEST(FlowTable, BothFamiliesLiveSideBySideWithoutColliding) {
    auto t = FlowTable::create("ft_dual", 64, 64, 0);
    ASSERT_TRUE(t) << t.error().message;
    int a = 1, b = 2;
    const auto k6 = key6(1, 40000), k4 = v4_twin(k6);
    ASSERT_TRUE(t->insert(k6, t->hash(k6), &a));
    EXPECT_EQ(t->lookup(k4, t->hash(k4)), nullptr) << "the v4 twin is another flow";
    ASSERT_TRUE(t->insert(k4, t->hash(k4), &b));
    EXPECT_EQ(t->lookup(k6, t->hash(k6)), &a);
    EXPECT_EQ(t->lookup(k4, t->hash(k4)), &b);
    EXPECT_EQ(t->size(), 2u);
    // Every byte of a v6 address is part of the key.
    for (size_t i = 0; i < 16; ++i) {
        wire::FlowKey x = k6;
        x.remote.bytes[i] ^= 0x10;
        EXPECT_EQ(t->lookup(x, t->hash(x)), nullptr) << "remote byte " << i;
        x = k6;
        x.local.bytes[i] ^= 0x10;
        EXPECT_EQ(t->lookup(x, t->hash(x)), nullptr) << "local byte " << i;
    }
    EXPECT_TRUE(t->erase(k6, t->hash(k6)));
    EXPECT_EQ(t->lookup(k6, t->hash(k6)), nullptr);
    EXPECT_EQ(t->lookup(k4, t->hash(k4)), &b);
    EXPECT_EQ(t->size(), 1u);
}

TEST(FlowTable, WithoutIpv6CapacityIpv6KeysMissAndAreRefused) {
    auto t = FlowTable::create("ft_v4only", 64, 0, 0);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->capacity6(), 0u);
    int v = 0;
    const auto k6 = key6(1, 1);
    EXPECT_FALSE(t->insert(k6, t->hash(k6), &v));
    EXPECT_EQ(t->lookup(k6, t->hash(k6)), nullptr);
    EXPECT_FALSE(t->erase(k6, t->hash(k6)));
    EXPECT_EQ(t->size(), 0u);
}

TEST(FlowTable, EachFamilyIsFullAtItsOwnCapacity) {
    auto t = FlowTable::create("ft_dualfull", 32, 16, 0);
    ASSERT_TRUE(t);
    int v = 0;
    uint32_t v4 = 0, v6 = 0;
    for (uint32_t i = 0; i < 200; ++i) {
        const auto k = key(i, 9);
        v4 += t->insert(k, t->hash(k), &v);
        const auto k6 = key6(uint8_t(i), 9);
        v6 += t->insert(k6, t->hash(k6), &v);
    }
    EXPECT_EQ(v4, 32u);
    EXPECT_EQ(v6, 16u);
    EXPECT_EQ(t->size(), 48u);
}

TEST(FlowTable, MixedBulkLookupKeepsTheBurstOrderAndForEachSeesBothFamilies) {
    auto t = FlowTable::create("ft_dualbulk", 256, 256, 0);
    ASSERT_TRUE(t);
    std::vector<wire::FlowKey> keys;
    std::vector<int> vals(FlowTable::kMaxBulk);
    for (unsigned i = 0; i < FlowTable::kMaxBulk; ++i)
        keys.push_back(i % 3 == 0 ? key6(uint8_t(i), 2000) : key(0xC6120100 + i, 2000));
    for (unsigned i = 0; i < FlowTable::kMaxBulk; ++i) {
        if (i % 4 == 1) continue;
        ASSERT_TRUE(t->insert(keys[i], t->hash(keys[i]), &vals[i]));
    }
    const wire::FlowKey* kp[FlowTable::kMaxBulk];
    uint32_t hashes[FlowTable::kMaxBulk];
    void* out[FlowTable::kMaxBulk];
    unsigned expect_hits = 0, expect_v6 = 0;
    for (unsigned i = 0; i < FlowTable::kMaxBulk; ++i) {
        kp[i] = &keys[i];
        hashes[i] = t->hash(keys[i]);
        expect_hits += i % 4 != 1;
        expect_v6 += i % 4 != 1 && i % 3 == 0;
    }
    EXPECT_EQ(t->lookup_bulk(kp, hashes, FlowTable::kMaxBulk, out), expect_hits);
    for (unsigned i = 0; i < FlowTable::kMaxBulk; ++i)
        EXPECT_EQ(out[i], i % 4 != 1 ? &vals[i] : nullptr) << i;

    unsigned seen = 0, seen6 = 0;
    t->for_each([&](const wire::FlowKey& k, void* value) {
        const auto i = unsigned(static_cast<int*>(value) - vals.data());
        ASSERT_LT(i, FlowTable::kMaxBulk);
        EXPECT_TRUE(k == keys[i]) << i;
        ++seen;
        seen6 += !k.local.is_v4();
    });
    EXPECT_EQ(seen, expect_hits);
    EXPECT_EQ(seen6, expect_v6);
}

// Two tables with long, similar names are separate tables.
TEST(FlowTable, LongNamesDoNotCollideInsideDpdk) {
    auto a = FlowTable::create("sluice_flows_q0_100", 64, 64, 0);
    ASSERT_TRUE(a) << a.error().message;
    auto b = FlowTable::create("sluice_flows_q0_1000", 64, 64, 0);
    ASSERT_TRUE(b) << b.error().message;
    int v = 0;
    const auto k6 = key6(1, 1);
    EXPECT_TRUE(a->insert(k6, a->hash(k6), &v));
    EXPECT_EQ(b->lookup(k6, b->hash(k6)), nullptr);
}

TEST(FlowTable, SlotsAreSmallerForIpv4) {
    EXPECT_EQ(FlowTable::slot_bytes(wire::Family::V4), 24u);  // value 8, hash 4, key 12
    EXPECT_EQ(FlowTable::slot_bytes(wire::Family::V6), 48u);  // value 8, hash 4, key 36
}

// Slots are a power of two at load <= 3/4 of the capacity; an IPv4-only table has no IPv6 slots.
TEST(FlowTable, BytesFollowTheCapacity) {
    auto t = FlowTable::create("ft_bytes", 3000, 0, 0);
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->bytes(), 4096u * 24);
    auto u = FlowTable::create("ft_bytes6", 3000, 3000, 0);
    ASSERT_TRUE(u) << u.error().message;
    EXPECT_EQ(u->bytes(), 4096u * 24 + 4096u * 48);
}

TEST(FlowTable, ReplaceSwapsTheValueInPlaceAndOnlyForPresentKeys) {
    auto t = FlowTable::create("ft_replace", 16, 16, 0);
    ASSERT_TRUE(t) << t.error().message;
    int a = 1, b = 2;
    const auto k = key(0xC6120001, 40000), absent = key(0xC6120001, 40001);
    const auto k6 = key6(7, 7);
    EXPECT_FALSE(t->replace(k, t->hash(k), &b));
    ASSERT_TRUE(t->insert(k, t->hash(k), &a));
    ASSERT_TRUE(t->insert(k6, t->hash(k6), &a));
    EXPECT_TRUE(t->replace(k, t->hash(k), &b));
    EXPECT_TRUE(t->replace(k6, t->hash(k6), &b));
    EXPECT_EQ(t->lookup(k, t->hash(k)), &b);
    EXPECT_EQ(t->lookup(k6, t->hash(k6)), &b);
    EXPECT_FALSE(t->replace(absent, t->hash(absent), &b));
    EXPECT_EQ(t->lookup(absent, t->hash(absent)), nullptr);
    EXPECT_EQ(t->size(), 2u);
}

// Many keys on few home slots (a forced hash): every erase must keep the rest of each probe
// run reachable. Checked against a reference map after every step.
TEST(FlowTable, RandomInsertEraseOnCollidingHashesMatchesAReference) {
    auto t = FlowTable::create("ft_collide", 200, 0, 0);
    ASSERT_TRUE(t) << t.error().message;
    std::mt19937 rng(7);
    std::vector<int> vals(400);
    std::vector<bool> in(400, false);
    uint32_t live = 0;
    const auto forced = [](uint32_t i) { return (i % 5) * 64 + (i % 3); };  // runs that wrap
    for (int step = 0; step < 20000; ++step) {
        const uint32_t i = rng() % 400;
        const auto k = key(0xC6120100 + i, uint16_t(1000 + i));
        if (in[i]) {
            ASSERT_TRUE(t->erase(k, forced(i))) << step;
            in[i] = false;
            --live;
        } else if (live < 200) {
            ASSERT_TRUE(t->insert(k, forced(i), &vals[i])) << step;
            in[i] = true;
            ++live;
        }
        if (step % 97 != 0) continue;
        for (uint32_t j = 0; j < 400; ++j) {
            const auto kj = key(0xC6120100 + j, uint16_t(1000 + j));
            ASSERT_EQ(t->lookup(kj, forced(j)), in[j] ? &vals[j] : nullptr) << step << " " << j;
        }
        ASSERT_EQ(t->size(), live);
    }
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
