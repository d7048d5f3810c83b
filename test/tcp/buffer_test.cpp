// The mbuf send and receive buffers (tcp/buffer.hpp), alone.

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstring>
#include <string>

#include "harness.hpp"
#include "tcp/buffer.hpp"

namespace sluice::tcp::test {
namespace {

std::span<const uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = char('a' + i % 26);
    return s;
}

std::string read_all(RecvBuffer& r) {
    std::string s(r.size(), '\0');
    s.resize(r.read({reinterpret_cast<uint8_t*>(s.data()), s.size()}));
    return s;
}

// An mbuf of `pool` with `text` in it.
rte_mbuf* mbuf_with(rte_mempool* pool, std::string_view text) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) return nullptr;
    std::memcpy(rte_pktmbuf_mtod(m, char*), text.data(), text.size());
    m->data_len = uint16_t(text.size());
    m->pkt_len = m->data_len;
    return m;
}

class MbufBuffers : public ::testing::Test {
protected:
    void TearDown() override { EXPECT_EQ(mbufs_in_use(), 0u); }
};

TEST_F(MbufBuffers, SendWriteFillsMbufsToTheirRoomWithinTheBudget) {
    SendBuffer b;
    b.init(&test_pools(), 5000);
    const std::string data = pattern(6000);
    EXPECT_EQ(b.write(bytes(data)), 5000u);  // only what the budget allows
    EXPECT_EQ(b.free(), 0u);
    EXPECT_EQ(b.mbufs(), 3u);  // 2048 + 2048 + 904
    // A segment across the first mbuf boundary is a reference into two mbufs.
    const PayloadRef p = b.peek(2000, 100);
    EXPECT_EQ(p.size(), 100u);
    EXPECT_EQ(to_string(p), data.substr(2000, 100));
    EXPECT_EQ(to_string(b.peek(4990, 100)), data.substr(4990, 10));
    EXPECT_TRUE(b.peek(5000, 1).empty());
    // A partial ACK trims the front mbuf; whole mbufs go back to the pool.
    b.consume(2100);
    EXPECT_EQ(b.size(), 2900u);
    EXPECT_EQ(b.mbufs(), 2u);
    EXPECT_EQ(to_string(b.peek(0, 10)), data.substr(2100, 10));
    EXPECT_TRUE(b.check());
    // Small writes fill the tail's room before taking a new mbuf.
    EXPECT_EQ(b.write(bytes("xyz")), 3u);
    EXPECT_EQ(b.mbufs(), 2u);
    b.clear();
    EXPECT_EQ(mbufs_in_use(), 0u);
}

TEST_F(MbufBuffers, SendCursorFollowsForwardProgressAndSurvivesAcks) {
    SendBuffer b;
    b.init(&test_pools(), 65536);
    const std::string data = pattern(20000);
    ASSERT_EQ(b.write(bytes(data)), data.size());
    for (uint32_t off = 0, acked = 0; off < data.size(); off += 1448) {
        EXPECT_EQ(to_string(b.peek(off - acked, 1448)), data.substr(off, 1448)) << off;
        if (off % 4 == 0 && off > acked) {  // ACK part of what was sent
            b.consume(off - acked - 100);
            acked = off - 100;
        }
        EXPECT_TRUE(b.check());
    }
}

TEST_F(MbufBuffers, SendAppendTakesAChainAndLimitsPiecesPerSegment) {
    SendBuffer b;
    b.init(&test_pools(), 4096);
    // Ten 10-byte mbufs chained, as an application would hand them over.
    rte_mbuf* head = nullptr;
    std::string all;
    for (int i = 0; i < 10; ++i) {
        const std::string part = pattern(10).substr(0, 9) + char('0' + i);
        rte_mbuf* m = mbuf_with(test_rx_pool(), part);
        ASSERT_NE(m, nullptr);
        all += part;
        if (head == nullptr)
            head = m;
        else
            ASSERT_EQ(rte_pktmbuf_chain(head, m), 0);
    }
    EXPECT_TRUE(b.append(head));
    EXPECT_EQ(b.size(), 100u);
    const PayloadRef p = b.peek(5, 1000);
    EXPECT_EQ(p.size(), 5u + 10u * (SendBuffer::kMaxPieces - 1));  // at most kMaxPieces mbufs
    EXPECT_EQ(to_string(p), all.substr(5, p.size()));
    // A chain larger than the free space is refused and stays the caller's.
    const std::string big = pattern(2000);
    rte_mbuf* a = mbuf_with(test_rx_pool(), big);
    rte_mbuf* c = mbuf_with(test_rx_pool(), big);
    ASSERT_EQ(rte_pktmbuf_chain(a, c), 0);
    EXPECT_FALSE(b.append(a));
    rte_pktmbuf_free(a);
    // Writes never go into the tail of an application's mbuf.
    EXPECT_EQ(b.write(bytes("x")), 1u);
    EXPECT_EQ(b.mbufs(), 11u);
}

TEST_F(MbufBuffers, SendWriteStopsWhenThePoolIsEmpty) {
    BufferPools small;
    small.data = rte_pktmbuf_pool_create("tcp_test_small", 3, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                         SOCKET_ID_ANY);
    ASSERT_NE(small.data, nullptr);
    {
        SendBuffer b;
        b.init(&small, 1 << 20);
        const std::string data = pattern(10000);
        EXPECT_EQ(b.write(bytes(data)), 3u * 2048u);  // short, not a crash
        EXPECT_EQ(small.alloc_failed, 1u);
    }
    EXPECT_EQ(rte_mempool_in_use_count(small.data), 0u);
    rte_mempool_free(small.data);
}

TEST_F(MbufBuffers, RecvCoalescesSmallTextAndPinsLargeFrames) {
    RecvBuffer r;
    r.init(&test_pools(), 8192);
    EXPECT_EQ(r.push(bytes("abc"), nullptr), 3u);
    EXPECT_EQ(r.push(bytes("def"), nullptr), 3u);
    EXPECT_EQ(r.mbufs(), 1u);  // the second went behind the first
    // A frame whose payload does not fit the tail's room is kept by reference.
    const std::string big = pattern(1448);
    rte_mbuf* f = mbuf_with(test_rx_pool(), "HDR" + big);
    ASSERT_NE(f, nullptr);
    const auto text = std::span<const uint8_t>(rte_pktmbuf_mtod(f, uint8_t*) + 3, big.size());
    // The tail has ~2042 bytes of room: fill it so the frame cannot be coalesced.
    const std::string filler = pattern(2040);
    EXPECT_EQ(r.push(bytes(filler), nullptr), 2040u);
    EXPECT_EQ(r.push(text, f), 1448u);
    rte_pktmbuf_free_seg(f);  // the worker's reference
    EXPECT_EQ(rte_mempool_in_use_count(test_rx_pool()), 1u);
    EXPECT_EQ(test_pools().rx_pinned, 1u);
    EXPECT_EQ(read_all(r), "abcdef" + filler + big);
    EXPECT_EQ(test_pools().rx_pinned, 0u);
    EXPECT_EQ(rte_mempool_in_use_count(test_rx_pool()), 0u);
}

TEST_F(MbufBuffers, RecvHoldsOutOfOrderPiecesTrimmedAndDeliversThem) {
    RecvBuffer r;
    r.init(&test_pools(), 4096);
    const SeqNum nxt(1000);
    const std::string data = pattern(400);
    auto hold = [&](uint32_t from, uint32_t len) {
        const auto p = r.plan(nxt + from, nxt, len);
        if (p.s != p.e) {
            EXPECT_TRUE(r.insert(p.s, p.e, bytes(data).subspan(uint32_t(p.s - nxt)), nullptr));
        }
        return p;
    };
    hold(100, 50);                         // [100, 150)
    hold(200, 50);                         // [200, 250)
    auto p = hold(120, 100);               // [150, 200) is new: stops at the next piece
    EXPECT_EQ(uint32_t(p.s - nxt), 150u);
    EXPECT_EQ(uint32_t(p.e - nxt), 200u);
    p = r.plan(nxt + 100, nxt, 150);       // all held already
    EXPECT_EQ(p.s, p.e);
    EXPECT_EQ(uint32_t(p.e - nxt), 250u);
    EXPECT_TRUE(r.check(nxt, nxt + r.free()));
    EXPECT_EQ(r.ooo_mbufs(), 3u);
    // In-order text overlapping the first piece: the overlap is trimmed on delivery.
    EXPECT_EQ(r.push(bytes(data).first(130), nullptr), 130u);
    r.deliver(nxt + 130, nxt + 250);
    EXPECT_EQ(r.ooo_mbufs(), 0u);
    EXPECT_EQ(read_all(r), data.substr(0, 250));
    // Beyond the free space nothing is held.
    EXPECT_EQ(r.plan(nxt + 5000, nxt, 10).e, nxt + 5000);
}

TEST_F(MbufBuffers, RecvCapsHeldMbufs) {
    RecvBuffer r;
    r.init(&test_pools(), 2048);  // 2048 / 256 + 8 = 16 mbufs
    EXPECT_EQ(r.max_mbufs(), 16u);
    const SeqNum nxt(0);
    const std::string one = "x";
    uint32_t held = 0;
    for (uint32_t i = 0; i < 40; ++i) {  // single bytes with holes between them
        const auto p = r.plan(nxt + 2 + 2 * i, nxt, 1);
        if (p.s != p.e && r.insert(p.s, p.e, bytes(one), nullptr)) ++held;
    }
    EXPECT_EQ(held, 16u);
    EXPECT_EQ(r.mbufs(), 16u);
    r.clear();
    EXPECT_EQ(r.mbufs(), 0u);
}

}  // namespace
}  // namespace sluice::tcp::test
