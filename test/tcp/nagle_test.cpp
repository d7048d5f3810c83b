// Nagle's algorithm, RFC 9293 3.7.4 (RFC 896, RFC 1122 4.2.3.4), and the no-delay option.

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

Config nagle_config() {
    Config c = plain_config();
    c.nagle = true;
    return c;
}

class Nagle : public TcpTest {
protected:
    Nagle() : TcpTest(nagle_config()) {}
    void SetUp() override { to_established_active(); }
    void set_nodelay(bool on) {
        Effects fx;
        h.conn.set_nodelay(on, h.now, fx);
        h.absorb(fx);
    }
};

TEST(NagleDefaults, OnByDefault) {
    EXPECT_TRUE(Config{}.nagle);
}

TEST_F(Nagle, Rfc9293_3_7_4_SmallSegmentWaitsForTheAck) {
    send("a");
    expect_sent({.seq = 101, .flags = Flags::Ack | Flags::Psh, .payload = "a"});  // nothing unacked
    send("b");
    send("c");
    expect_nothing_sent();
    inject({.seq = 301, .ack = 102, .flags = Flags::Ack});
    expect_sent({.seq = 102, .flags = Flags::Ack | Flags::Psh, .payload = "bc"});
}

TEST_F(Nagle, Rfc9293_3_7_4_FullSegmentsGoTheTailWaits) {
    send("a");
    expect_sent({.seq = 101, .flags = Flags::Ack | Flags::Psh, .payload = "a"});
    std::string big(1200, 'q');
    send(big);
    expect_sent({.seq = 102, .flags = Flags::Ack, .payload = std::string_view(big).substr(0, 536)});
    expect_sent(
        {.seq = 638, .flags = Flags::Ack, .payload = std::string_view(big).substr(536, 536)});
    expect_nothing_sent();  // 128 bytes wait
    inject({.seq = 301, .ack = 1174, .flags = Flags::Ack});
    expect_sent(
        {.seq = 1174, .flags = Flags::Ack | Flags::Psh, .payload = std::string_view(big).substr(1072)});
}

TEST_F(Nagle, NoDelay_SendsHeldDataAndStopsHolding) {
    send("a");
    expect_sent({.seq = 101, .flags = Flags::Ack | Flags::Psh, .payload = "a"});
    send("b");
    expect_nothing_sent();
    set_nodelay(true);
    expect_sent({.seq = 102, .flags = Flags::Ack | Flags::Psh, .payload = "b"});
    send("c");
    expect_sent({.seq = 103, .flags = Flags::Ack | Flags::Psh, .payload = "c"});
}

TEST_F(Nagle, CloseSendsTheHeldTailWithFin) {
    send("a");
    expect_sent({.seq = 101, .flags = Flags::Ack | Flags::Psh, .payload = "a"});
    send("b");
    expect_nothing_sent();
    ASSERT_EQ(close(), Error::None);
    expect_sent({.seq = 102, .flags = Flags::Ack | Flags::Psh | Flags::Fin, .payload = "b"});
}

}  // namespace
}  // namespace sluice::tcp::test
