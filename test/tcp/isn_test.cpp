// RFC 6528 initial sequence numbers.

#include <gtest/gtest.h>

#include "harness.hpp"
#include "tcp/isn.hpp"

namespace sluice::tcp::test {
namespace {

IsnGenerator::Key key(uint8_t seed) {
    IsnGenerator::Key k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = uint8_t(seed + i);
    return k;
}

const Instant t0 = Instant::from_ns(123'456'788'000);  // a multiple of 4 us

// RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey). Two
// generators with the same key agree (no hidden per-instance state), and the value is the
// 4 us clock plus the keyed hash of the tuple.
TEST(Isn, Rfc6528_SameTupleSameTime_SameIsn) {
    const IsnGenerator g(key(1)), h(key(1));
    EXPECT_EQ(g.isn(kTuple, t0), h.isn(kTuple, t0));
    const auto m = static_cast<uint32_t>(t0.ns() / 4000);
    EXPECT_EQ(g.isn(kTuple, t0).raw(), uint32_t(m + g.keyed_hash(kTuple)));
}

TEST(Isn, Rfc6528_ClockTicksEvery4Microseconds) {
    IsnGenerator g(key(1));
    EXPECT_EQ(g.isn(kTuple, t0 + 4us) - g.isn(kTuple, t0), 1);
    EXPECT_EQ(g.isn(kTuple, t0 + 3us) - g.isn(kTuple, t0 + 0us), 0);
    EXPECT_EQ(g.isn(kTuple, t0 + 4ms) - g.isn(kTuple, t0), 1000);
}

TEST(Isn, Rfc6528_EachTupleHasItsOwnOffset) {
    IsnGenerator g(key(1));
    FourTuple other = kTuple;
    other.local.port = uint16_t(kTuple.local.port + 1);
    EXPECT_NE(g.keyed_hash(kTuple), g.keyed_hash(other));
    FourTuple swapped{kTuple.remote, kTuple.local};
    EXPECT_NE(g.keyed_hash(kTuple), g.keyed_hash(swapped));
}

TEST(Isn, Rfc6528_SecretChangesTheOffset) {
    EXPECT_NE(IsnGenerator(key(1)).keyed_hash(kTuple), IsnGenerator(key(2)).keyed_hash(kTuple));
    // Fresh secrets from the CSPRNG differ (a collision has probability 2^-32).
    EXPECT_NE(IsnGenerator().keyed_hash(kTuple), IsnGenerator().keyed_hash(kTuple));
}

TEST(Isn, FamilyTagged_Ipv6NeedsNoRedesign) {
    IsnGenerator g(key(3));
    FourTuple v6 = kTuple;
    v6.local.addr.family = Family::Ipv6;
    v6.remote.addr.family = Family::Ipv6;
    EXPECT_NE(g.keyed_hash(kTuple), g.keyed_hash(v6));  // same bytes, other family
    v6.local.addr.bytes[15] = 1;
    FourTuple v6b = v6;
    v6b.local.addr.bytes[15] = 2;
    EXPECT_NE(g.keyed_hash(v6), g.keyed_hash(v6b));  // the last of 16 bytes counts
}

// Issue 11: every byte of both 128-bit addresses moves the offset (RFC 6528 3).
TEST(Isn, Ipv6_EveryAddressByteCounts) {
    IsnGenerator g(key(5));
    FourTuple t;
    t.local = {{Family::Ipv6, {0x20, 0x01, 0x00, 0x02}}, 80};
    t.remote = {{Family::Ipv6, {0x20, 0x01, 0x00, 0x02}}, 40000};
    t.local.addr.bytes[15] = 2;
    t.remote.addr.bytes[15] = 1;
    const uint32_t base = g.keyed_hash(t);
    for (size_t i = 0; i < 16; ++i) {
        FourTuple u = t;
        u.local.addr.bytes[i] ^= 0x40;
        EXPECT_NE(g.keyed_hash(u), base) << "local byte " << i;
        u = t;
        u.remote.addr.bytes[i] ^= 0x40;
        EXPECT_NE(g.keyed_hash(u), base) << "remote byte " << i;
    }
}

TEST(Isn, ListenerUsesGeneratorPerSyn) {
    IsnGenerator g(key(4));
    Host l;
    ASSERT_EQ(l.conn.open_passive(kTuple, g), Error::None);
    l.inject({.seq = 300, .flags = Flags::Syn});
    ASSERT_EQ(l.sent.size(), 1u);
    EXPECT_EQ(l.sent[0].seg.seq, g.isn(kTuple, l.now));
}

}  // namespace
}  // namespace sluice::tcp::test
