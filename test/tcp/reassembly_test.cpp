// Out-of-order text held and reassembled (RFC 9293 3.10.7.4 seventh step), duplicate ACKs
// with SACK blocks (RFC 2018 4), immediate ACKs for gaps (RFC 5681 4.2).

#include "harness.hpp"
#include "wire/tcp.hpp"

namespace sluice::tcp::test {
namespace {

class Reassemble : public TcpTest {
protected:
    void SetUp() override { to_established_active(); }
};

TEST_F(Reassemble, Rfc9293_3_10_7_4_HoleFilled_DeliveredInOrder) {
    inject({.seq = 304, .ack = 101, .flags = Flags::Ack, .payload = "def"});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack, .window = 4096});
    expect_no_event(EventKind::DataReadable);
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "abc"});
    expect_sent({.seq = 101, .ack = 307, .flags = Flags::Ack, .window = 4090});
    expect_event(EventKind::DataReadable);
    EXPECT_EQ(h.conn.status().ooo_ranges, 0u);
    EXPECT_EQ(receive(), "abcdef");
}

TEST_F(Reassemble, Rfc9293_3_10_7_4_RangesMergeAndPartialFill) {
    inject({.seq = 310, .ack = 101, .flags = Flags::Ack, .payload = "jk"});
    inject({.seq = 306, .ack = 101, .flags = Flags::Ack, .payload = "fg"});
    inject({.seq = 308, .ack = 101, .flags = Flags::Ack, .payload = "hi"});  // joins both
    for (int i = 0; i < 3; ++i) expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    EXPECT_EQ(h.conn.status().ooo_ranges, 1u);
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "ab"});  // hole 303-306 left
    expect_sent({.seq = 101, .ack = 303, .flags = Flags::Ack});
    inject({.seq = 302, .ack = 101, .flags = Flags::Ack, .payload = "bcde"});  // overlaps
    expect_sent({.seq = 101, .ack = 312, .flags = Flags::Ack});
    EXPECT_EQ(receive(), "abcdefghijk");
}

TEST_F(Reassemble, FifthHoleNotKept) {
    for (uint32_t s : {310u, 320u, 330u, 340u, 350u}) {
        inject({.seq = s, .ack = 101, .flags = Flags::Ack, .payload = "x"});
        expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    }
    EXPECT_EQ(h.conn.status().ooo_ranges, Reassembly::kMaxRanges);
    EXPECT_EQ(h.stats.ofo_queue, 4u);
    EXPECT_EQ(h.stats.ofo_drop, 1u);
    EXPECT_EQ(h.stats.drop_count(DropReason::OutOfOrder), 1u);
    inject({.seq = 350, .ack = 101, .flags = Flags::Ack, .payload = "x"});  // extends nothing
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    inject({.seq = 311, .ack = 101, .flags = Flags::Ack, .payload = "y"});  // merges: kept
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    EXPECT_EQ(h.stats.ofo_queue, 5u);
}

TEST_F(Reassemble, OutOfOrderFinNotKept_PeerSendsItAgain) {
    inject({.seq = 304, .ack = 101, .flags = Flags::Ack | Flags::Fin, .payload = "def"});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "abc"});
    expect_sent({.seq = 101, .ack = 307, .flags = Flags::Ack});
    expect_state(State::Established);
    inject({.seq = 307, .ack = 101, .flags = Flags::Ack | Flags::Fin});
    expect_sent({.seq = 101, .ack = 308, .flags = Flags::Ack});
    expect_state(State::CloseWait);
    EXPECT_EQ(receive(), "abcdef");
}

TEST_F(Reassemble, WindowCountsHeldBytesFromRcvNxt) {
    // The right edge stays RCV.NXT + free space: held bytes are inside the window.
    std::string a(1000, 'a');
    inject({.seq = 1301, .ack = 101, .flags = Flags::Ack, .payload = a});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack, .window = 4096});
    std::string b(1000, 'b');
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = b});
    expect_sent({.seq = 101, .ack = 2301, .flags = Flags::Ack, .window = 2096});
}

// --- SACK -----------------------------------------------------------------------------------

Config sack_config() {
    Config c = plain_config();
    c.sack_permitted = true;
    return c;
}

class Sack : public TcpTest {
protected:
    Sack() : TcpTest(sack_config()) {}
    void SetUp() override {
        wire::TcpOptions o;
        o.sack_permitted = true;
        to_established_active(o);
    }
    void expect_blocks(std::initializer_list<std::pair<uint32_t, uint32_t>> blocks) {
        ASSERT_FALSE(h.sent.empty());
        const wire::TcpOptions& o = h.sent.front().seg.options;
        ASSERT_EQ(o.sack_count, blocks.size());
        int i = 0;
        for (auto [l, r] : blocks) {
            EXPECT_EQ(o.sack[i].left.raw(), l) << "block " << i;
            EXPECT_EQ(o.sack[i].right.raw(), r) << "block " << i;
            ++i;
        }
    }
};

TEST_F(Sack, Rfc2018_4_FirstBlockIsTheMostRecent) {
    inject({.seq = 310, .ack = 101, .flags = Flags::Ack, .payload = "abcde"});
    expect_blocks({{310, 315}});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    inject({.seq = 320, .ack = 101, .flags = Flags::Ack, .payload = "vwxyz"});
    expect_blocks({{320, 325}, {310, 315}});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    inject({.seq = 315, .ack = 101, .flags = Flags::Ack, .payload = "f"});  // extends the first
    expect_blocks({{310, 316}, {320, 325}});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    std::string front(9, 'p');
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = front});
    expect_blocks({{320, 325}});  // the rest still held
    expect_sent({.seq = 101, .ack = 316, .flags = Flags::Ack});
}

TEST_F(Sack, Rfc2018_NoBlocksWithoutHoles) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "abc"});
    expect_blocks({});
    expect_sent({.seq = 101, .ack = 304, .flags = Flags::Ack});
}

// RFC 6691 2 / RFC 9293 3.7.1: the MSS bounds payload plus TCP options. A data segment that
// carries SACK blocks holds that much less data; once the holes close, full segments again.
// (Found on the veth test bed: 1448-byte segments with SACK blocks made 1526-byte frames,
// which af_packet dropped silently, and any real link would too.)
class SackData : public TcpTest {
protected:
    static Config config() {
        Config c = sack_config();
        c.timestamps = true;
        return c;
    }
    SackData() : TcpTest(config()) {}
    void SetUp() override {
        wire::TcpOptions o;
        o.sack_permitted = true;
        o.has_mss = true;
        o.mss = 1000;
        o.has_timestamps = true;
        o.ts_val = 1;
        to_established_active(o);
    }
    // Every data segment sent so far fits the peer's MSS with its options; returns how many
    // carried SACK blocks, and drops them from the queue.
    int check_sent_fit() {
        int with_blocks = 0;
        for (const Sent& s : h.sent) {
            if (s.payload.empty()) continue;
            EXPECT_LE(s.payload.size() + wire::tcp_options_size(s.seg.options), 1000u)
                << describe(s.seg, s.payload);
            with_blocks += s.seg.options.sack_count != 0;
        }
        h.sent.clear();
        return with_blocks;
    }
};

TEST_F(SackData, Rfc6691_DataPlusSackBlocksFitTheMss) {
    wire::TcpOptions ts;
    ts.has_timestamps = true;
    ts.ts_val = 2;
    // Three holes in what the peer sends us: three SACK blocks on everything we send.
    for (uint32_t seq : {310u, 320u, 330u})
        inject({.seq = seq, .ack = 101, .flags = Flags::Ack, .options = ts, .payload = "abcde"});
    h.sent.clear();
    ASSERT_EQ(send(std::string(3000, 'x')).bytes, 3000u);
    EXPECT_EQ(check_sent_fit(), 4) << "988 - 12 - 28 = 960 bytes a segment: 3000 takes four";
    // The holes fill: full segments again, without blocks.
    std::string fill(29, 'f');
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .options = ts, .payload = fill});
    inject({.seq = 301 + 29 + 5, .ack = 3101, .flags = Flags::Ack, .options = ts});
    h.sent.clear();
    ASSERT_EQ(send(std::string(988, 'y')).bytes, 988u);
    ASSERT_EQ(h.sent.size(), 1u);
    EXPECT_EQ(h.sent.front().payload.size(), 988u) << "SEND.MSS = 1000 - 12 (timestamps)";
    EXPECT_EQ(check_sent_fit(), 0);
}

TEST_F(Reassemble, Rfc2018_NoBlocksWhenNotNegotiated) {
    inject({.seq = 310, .ack = 101, .flags = Flags::Ack, .payload = "abcde"});
    EXPECT_EQ(h.sent.front().seg.options.sack_count, 0);
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
}

}  // namespace
}  // namespace sluice::tcp::test
