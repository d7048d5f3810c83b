#include <gtest/gtest.h>

#include "engine/neighbor.hpp"

namespace sluice::engine {
namespace {

using namespace std::chrono_literals;
using Lookup = NeighborTable::Lookup;
using Update = NeighborTable::Update;

const wire::IpAddr kGw = wire::IpAddr::v4(0xC6120001);  // 198.18.0.1
const wire::MacAddr kMac{{0x02, 0, 0, 0, 0, 0x01}};
time::Instant at(std::chrono::milliseconds ms) {
    return time::Instant{} + ms;
}

TEST(Neighbor, UnknownAddressAsksOnceThenWaitsForRetryInterval) {
    NeighborTable t(NeighborTable::Config{.reachable = 60s, .retry = 1s});
    wire::MacAddr mac;
    EXPECT_EQ(t.resolve(kGw, at(0ms), mac), Lookup::SendRequest);
    EXPECT_EQ(t.resolve(kGw, at(500ms), mac), Lookup::Pending);
    EXPECT_EQ(t.resolve(kGw, at(1000ms), mac), Lookup::SendRequest);
    EXPECT_EQ(t.resolve(kGw, at(1999ms), mac), Lookup::Pending);
}

TEST(Neighbor, ReplyResolvesPendingEntry) {
    NeighborTable t;
    wire::MacAddr mac;
    ASSERT_EQ(t.resolve(kGw, at(0ms), mac), Lookup::SendRequest);
    // A reply is "for us" and refreshes the pending entry (RFC 826 merge).
    EXPECT_EQ(t.learn(kGw, kMac, at(10ms), false), Update::Updated);
    EXPECT_EQ(t.resolve(kGw, at(20ms), mac), Lookup::Hit);
    EXPECT_EQ(mac, kMac);
    EXPECT_EQ(t.size(at(20ms)), 1u);
}

TEST(Neighbor, EntriesExpireAfterReachableTime) {
    NeighborTable t(NeighborTable::Config{.reachable = 60s, .retry = 1s});
    ASSERT_EQ(t.learn(kGw, kMac, at(0ms), true), Update::Created);
    wire::MacAddr mac;
    EXPECT_EQ(t.resolve(kGw, at(59'999ms), mac), Lookup::Hit);
    EXPECT_EQ(t.resolve(kGw, at(60'000ms), mac), Lookup::SendRequest);
    EXPECT_EQ(t.size(at(60'000ms)), 0u);
}

// IPv6 neighbours share the table (RFC 4861 7.3: the same reachable time), and a v6 entry
// never answers for the v4 address with the same leading bytes.
TEST(Neighbor, Ipv6EntriesExpireAndStayApartFromIpv4) {
    NeighborTable t(NeighborTable::Config{.reachable = 30s, .retry = 1s});
    const wire::IpAddr v6 = *wire::IpAddr::parse("c612:1::");  // first bytes 198.18.0.1
    const wire::MacAddr other{{0x02, 0, 0, 0, 0, 0x06}};
    wire::MacAddr mac;
    EXPECT_EQ(t.resolve(v6, at(0ms), mac), Lookup::SendRequest);
    EXPECT_EQ(t.learn(v6, other, at(5ms), false), Update::Updated);
    EXPECT_EQ(t.resolve(kGw, at(6ms), mac), Lookup::SendRequest) << "the v4 twin is unknown";
    EXPECT_EQ(t.learn(kGw, kMac, at(7ms), false), Update::Updated);
    ASSERT_EQ(t.resolve(v6, at(10ms), mac), Lookup::Hit);
    EXPECT_EQ(mac, other);
    ASSERT_EQ(t.resolve(kGw, at(10ms), mac), Lookup::Hit);
    EXPECT_EQ(mac, kMac);
    EXPECT_EQ(t.resolve(v6, at(30'005ms), mac), Lookup::SendRequest) << "expired";
}

TEST(Neighbor, GossipAboutStrangersIsNotStored) {
    // RFC 826: only create an entry when the packet was for us.
    NeighborTable t;
    EXPECT_EQ(t.learn(kGw, kMac, at(0ms), false), Update::Ignored);
    EXPECT_EQ(t.size(at(0ms)), 0u);
}

TEST(Neighbor, FullTableRefusesNewEntriesWithoutEvictingLiveOnes) {
    NeighborTable t;
    size_t created = 0, full = 0;
    for (uint32_t i = 0; i < 4 * NeighborTable::kCapacity; ++i) {
        const auto r = t.learn(wire::IpAddr::v4(0xC6120000 + i), kMac, at(0ms), true);
        created += r == Update::Created;
        full += r == Update::Full;
    }
    EXPECT_LE(created, NeighborTable::kCapacity);
    EXPECT_GT(full, 0u);
    EXPECT_EQ(t.size(at(0ms)), created);
    // Once they expire, slots are reused.
    EXPECT_EQ(t.learn(wire::IpAddr::v4(0xC6130001), kMac, at(61'000ms), true), Update::Created);
}

}  // namespace
}  // namespace sluice::engine
