// The fixed-capacity byte ring behind the send and receive buffers.

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "tcp/buffer.hpp"

namespace sluice::tcp::test {
namespace {

std::span<const uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string str(std::span<const uint8_t> b) {
    return std::string(b.begin(), b.end());
}

TEST(ByteRing, WriteReadWithinCapacity) {
    std::array<uint8_t, 8> store{};
    ByteRing r(store);
    EXPECT_EQ(r.write(bytes("abcdefghij")), 8u);  // only what fits
    EXPECT_EQ(r.free(), 0u);
    std::array<uint8_t, 3> out{};
    EXPECT_EQ(r.read(out), 3u);
    EXPECT_EQ(str(out), "abc");
    EXPECT_EQ(r.size(), 5u);
}

TEST(ByteRing, WrapsAroundAndPeekStopsAtTheEdge) {
    std::array<uint8_t, 8> store{};
    ByteRing r(store);
    r.write(bytes("abcdef"));
    r.consume(5);                            // head at 5, "f" left
    EXPECT_EQ(r.write(bytes("ghijk")), 5u);  // "f" "gh" | "ijk" wraps
    EXPECT_EQ(str(r.peek(0, 100)), "fgh");   // contiguous run up to the end of storage
    EXPECT_EQ(str(r.peek(3, 100)), "ijk");
    EXPECT_EQ(str(r.peek(1, 1)), "g");
    EXPECT_TRUE(r.peek(6, 1).empty());
    std::array<uint8_t, 6> out{};
    EXPECT_EQ(r.read(out), 6u);
    EXPECT_EQ(str(out), "fghijk");
    EXPECT_TRUE(r.empty());
    EXPECT_TRUE(r.check());
}

TEST(ByteRing, ZeroCapacityIsHarmless) {
    ByteRing r;
    EXPECT_EQ(r.write(bytes("x")), 0u);
    EXPECT_TRUE(r.peek(0, 1).empty());
    r.consume(1);
    EXPECT_TRUE(r.check());
}

}  // namespace
}  // namespace sluice::tcp::test
