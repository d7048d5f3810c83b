// SeqNum: modulo 2^32 arithmetic and circular comparison (RFC 9293 3.4, RFC 1982).
#include "wire/seq.hpp"

#include <gtest/gtest.h>

#include <type_traits>

namespace sluice::wire {
namespace {

// Strong type: a bare integer is not a sequence number.
static_assert(!std::is_convertible_v<uint32_t, SeqNum>);
static_assert(std::is_trivially_copyable_v<SeqNum>);

TEST(SeqNum, AdditionWrapsModulo2To32) {
    EXPECT_EQ((SeqNum(0xfffffff0u) + 0x20).raw(), 0x10u);
    EXPECT_EQ((SeqNum(5) - 10).raw(), 0xfffffffbu);
    SeqNum s(0xffffffffu);
    s += 1;
    EXPECT_EQ(s.raw(), 0u);
    s -= 1;
    EXPECT_EQ(s.raw(), 0xffffffffu);
}

TEST(SeqNum, DistanceIsSignedAcrossTheWrap) {
    EXPECT_EQ(SeqNum(0x10) - SeqNum(0xfffffff0u), 0x20);
    EXPECT_EQ(SeqNum(0xfffffff0u) - SeqNum(0x10), -0x20);
    EXPECT_EQ(SeqNum(7) - SeqNum(7), 0);
}

TEST(SeqNum, ComparisonIsCircular) {
    const SeqNum before(0xfffffff0u), after(0x10);
    EXPECT_TRUE(before < after);
    EXPECT_TRUE(after > before);
    EXPECT_FALSE(after < before);
    EXPECT_TRUE(before <= after);
    EXPECT_TRUE(after >= before);
    EXPECT_TRUE(after <= after);
    EXPECT_TRUE(after >= after);
    EXPECT_FALSE(after < after);
    // Without wraparound it agrees with integer order.
    EXPECT_TRUE(SeqNum(100) < SeqNum(200));
    EXPECT_FALSE(SeqNum(200) < SeqNum(100));
}

TEST(SeqNum, HalfSpaceBoundary) {
    // Distances up to 2^31 - 1 order as expected; exactly 2^31 apart is undefined in serial
    // arithmetic (RFC 1982 3.2), and the distance is INT32_MIN.
    const SeqNum a(0);
    EXPECT_TRUE(a < a + 0x7fffffffu);
    EXPECT_TRUE(a + 0x80000001u < a);  // more than half ahead means behind
    EXPECT_EQ((a + 0x80000000u) - a, INT32_MIN);
}

TEST(SeqNum, InWindowIsHalfOpen) {
    const SeqNum lo(0xfffffffeu), hi = lo + 4;  // window crosses zero: fffffffe..00000001
    EXPECT_TRUE(seq_in_window(lo, lo, hi));
    EXPECT_TRUE(seq_in_window(SeqNum(0), lo, hi));
    EXPECT_TRUE(seq_in_window(SeqNum(1), lo, hi));
    EXPECT_FALSE(seq_in_window(hi, lo, hi));
    EXPECT_FALSE(seq_in_window(lo - 1, lo, hi));
    // An empty window contains nothing.
    EXPECT_FALSE(seq_in_window(lo, lo, lo));
}

TEST(SeqNum, BetweenIsClosed) {
    const SeqNum lo(0xffffff00u), hi(0x100);
    EXPECT_TRUE(seq_between(lo, lo, hi));
    EXPECT_TRUE(seq_between(hi, lo, hi));
    EXPECT_TRUE(seq_between(SeqNum(0), lo, hi));
    EXPECT_FALSE(seq_between(hi + 1, lo, hi));
    EXPECT_FALSE(seq_between(lo - 1, lo, hi));
}

TEST(SeqNum, MinMaxAcrossTheWrap) {
    const SeqNum a(0xfffffff0u), b(0x10);
    EXPECT_EQ(seq_max(a, b), b);
    EXPECT_EQ(seq_min(a, b), a);
    EXPECT_EQ(seq_max(b, a), b);
    EXPECT_EQ(seq_min(b, a), a);
}

TEST(SeqNum, ConstexprUsable) {
    constexpr SeqNum s = SeqNum(0xffffffffu) + 2;
    static_assert(s.raw() == 1);
    static_assert(SeqNum(0xffffffffu) < s);
    static_assert(seq_in_window(SeqNum(0), SeqNum(0xffffffffu), s));
    SUCCEED();
}

}  // namespace
}  // namespace sluice::wire
