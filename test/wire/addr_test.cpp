// Addresses, prefixes, the flow key and drop reason names.
#include "wire/addr.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <unordered_set>

#include "wire/drop.hpp"

namespace sluice::wire {
namespace {

TEST(MacAddr, ParseAndPrint) {
    const auto m = MacAddr::parse("02:AB:cd:00:10:ff");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->b, (std::array<uint8_t, 6>{0x02, 0xab, 0xcd, 0x00, 0x10, 0xff}));
    EXPECT_EQ(m->to_string(), "02:ab:cd:00:10:ff");
    EXPECT_EQ(MacAddr::parse("02-ab-cd-00-10-ff"), m);
    for (const char* bad : {"", "02:ab:cd:00:10", "02:ab:cd:00:10:ff:", "02:ab:cd:00:10:fg",
                            "02:ab:cd:00:10.ff", "2:ab:cd:00:10:ff0"})
        EXPECT_FALSE(MacAddr::parse(bad)) << bad;
}

TEST(MacAddr, GroupBits) {
    EXPECT_TRUE(MacAddr::broadcast().is_broadcast());
    EXPECT_TRUE(MacAddr::broadcast().is_multicast());
    EXPECT_TRUE(MacAddr::parse("01:00:5e:00:00:01")->is_multicast());
    EXPECT_FALSE(MacAddr::parse("01:00:5e:00:00:01")->is_broadcast());
    EXPECT_FALSE(MacAddr::parse("02:00:00:00:00:01")->is_multicast());
    EXPECT_TRUE(MacAddr{}.is_zero());
}

TEST(IpAddr, V4RoundTrip) {
    const IpAddr a = IpAddr::v4(0xc6120002);
    EXPECT_EQ(a.family, Family::V4);
    EXPECT_EQ(a.bytes[0], 198);
    EXPECT_EQ(a.bytes[3], 2);
    for (size_t i = 4; i < 16; ++i) EXPECT_EQ(a.bytes[i], 0);
    EXPECT_EQ(a.v4_host(), 0xc6120002u);
    EXPECT_EQ(a.to_string(), "198.18.0.2");
    EXPECT_EQ(IpAddr::parse("198.18.0.2"), a);
}

TEST(IpAddr, ParseRejectsGarbage) {
    for (const char* bad :
         {"", "198.18.0", "198.18.0.256", "198.18.0.2 ", "a.b.c.d", "198.18.0.2/24", "::g"})
        EXPECT_FALSE(IpAddr::parse(bad)) << bad;
    EXPECT_FALSE(IpAddr::parse(std::string(100, '1')));
}

TEST(IpAddr, V6IsADifferentFamily) {
    const auto a = IpAddr::parse("2001:db8::1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->family, Family::V6);
    EXPECT_EQ(a->to_string(), "2001:db8::1");
    EXPECT_EQ(a->v4_host(), 0u);
    // Same leading bytes, different family: not equal.
    IpAddr v4 = IpAddr::v4(0x20010db8);
    EXPECT_NE(v4, *a);
    EXPECT_EQ(a->size(), 16u);
    EXPECT_EQ(v4.size(), 4u);
}

TEST(Ipv4Prefix, ContainsAndBroadcast) {
    const auto p = Ipv4Prefix::parse("198.18.0.2/24");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->addr, IpAddr::v4(0xc6120002));
    EXPECT_EQ(p->len, 24);
    EXPECT_TRUE(p->contains(IpAddr::v4(0xc6120063)));
    EXPECT_FALSE(p->contains(IpAddr::v4(0xc6120163)));
    EXPECT_FALSE(p->contains(*IpAddr::parse("2001:db8::1")));
    EXPECT_EQ(p->broadcast(), IpAddr::v4(0xc61200ff));
    EXPECT_EQ(p->network(), IpAddr::v4(0xc6120000));
    EXPECT_EQ(p->to_string(), "198.18.0.2/24");
}

TEST(Ipv4Prefix, EdgeLengths) {
    const auto all = Ipv4Prefix::parse("198.18.0.2/0");
    ASSERT_TRUE(all);
    EXPECT_TRUE(all->contains(IpAddr::v4(0x01020304)));
    EXPECT_EQ(all->broadcast(), IpAddr::v4(0xffffffff));
    const auto host = Ipv4Prefix::parse("198.18.0.2");
    ASSERT_TRUE(host);
    EXPECT_EQ(host->len, 32);
    EXPECT_TRUE(host->contains(IpAddr::v4(0xc6120002)));
    EXPECT_FALSE(host->contains(IpAddr::v4(0xc6120003)));
    EXPECT_EQ(host->broadcast(), host->addr);
    const auto p15 = Ipv4Prefix::parse("198.18.0.1/15");
    ASSERT_TRUE(p15);
    EXPECT_TRUE(p15->contains(IpAddr::v4(0xc613ffff)));  // 198.19.255.255
    EXPECT_FALSE(p15->contains(IpAddr::v4(0xc6140000)));
    for (const char* bad : {"198.18.0.2/33", "198.18.0.2/", "198.18.0.2/-1", "198.18.0.2/2x", "/24",
                            "2001:db8::1/64"})
        EXPECT_FALSE(Ipv4Prefix::parse(bad)) << bad;
}

TEST(FlowKey, DefaultIsAllZeroBytesButFamilies) {
    FlowKey k;
    uint8_t raw[sizeof k];
    std::memcpy(raw, &k, sizeof k);
    for (size_t i = 0; i < sizeof k; ++i) {
        const bool family_byte = i == 0 || i == sizeof(IpAddr);
        EXPECT_EQ(raw[i], family_byte ? 4 : 0) << "byte " << i;
    }
}

TEST(FlowKey, HashFollowsEquality) {
    FlowKey a;
    a.local = IpAddr::v4(0xc6120002);
    a.remote = IpAddr::v4(0xc6120001);
    a.local_port = 80;
    a.remote_port = 40000;
    FlowKey b = a;
    EXPECT_EQ(a, b);
    EXPECT_EQ(flow_key_hash(a), flow_key_hash(b));
    EXPECT_EQ(flow_key_rte_hash(&a, sizeof a, 7), flow_key_hash(a, 7));
    b.remote_port = 40001;
    EXPECT_NE(a, b);
    EXPECT_NE(flow_key_hash(a), flow_key_hash(b));
    // Swapping local and remote is a different key.
    FlowKey swapped{a.remote, a.local, a.remote_port, a.local_port};
    EXPECT_NE(flow_key_hash(a), flow_key_hash(swapped));
    EXPECT_NE(flow_key_hash(a, 1), flow_key_hash(a, 2)) << "the seed matters";
}

TEST(FlowKey, HashSpreadsSequentialPorts) {
    std::unordered_set<FlowKey, FlowKeyHasher> keys;
    std::set<uint32_t> low_bits;
    FlowKey k;
    k.local = IpAddr::v4(0xc6120002);
    k.remote = IpAddr::v4(0xc6120001);
    k.local_port = 80;
    for (uint16_t p = 1024; p < 1024 + 4096; ++p) {
        k.remote_port = p;
        keys.insert(k);
        low_bits.insert(flow_key_hash(k) & 0xfff);
    }
    EXPECT_EQ(keys.size(), 4096u);
    EXPECT_GT(low_bits.size(), 2000u) << "4096 keys into 4096 buckets should fill most";
}

TEST(Drop, EveryValueHasItsPascalCaseName) {
    EXPECT_STREQ(drop_name(Drop::None), "None");
    EXPECT_STREQ(drop_name(Drop::Ipv4BadChecksum), "Ipv4BadChecksum");
    EXPECT_STREQ(drop_name(Drop::TcpBadPort), "TcpBadPort");
    EXPECT_STREQ(drop_name(Drop::Count), "?");
    std::set<std::string> names;
    for (size_t i = 0; i < kDropCount; ++i) {
        const std::string n = drop_name(static_cast<Drop>(i));
        EXPECT_FALSE(n.empty());
        EXPECT_NE(n, "?");
        EXPECT_TRUE(n[0] >= 'A' && n[0] <= 'Z') << n;
        names.insert(n);
    }
    EXPECT_EQ(names.size(), kDropCount) << "names are unique";
}

}  // namespace
}  // namespace sluice::wire
