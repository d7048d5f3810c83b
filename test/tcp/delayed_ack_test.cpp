// Delayed ACKs: RFC 9293 3.8.6.3 (RFC 1122 4.2.3.2) and RFC 5681 4.2.

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

Config delack_config() {
    Config c = plain_config();
    c.delayed_ack = true;
    return c;
}

class DelayedAck : public TcpTest {
protected:
    DelayedAck() : TcpTest(delack_config()) {}
    void SetUp() override { to_established_active(); }
};

TEST(DelayedAckDefaults, OnWith40Ms) {
    Config c;
    EXPECT_TRUE(c.delayed_ack);
    EXPECT_EQ(c.delayed_ack_timeout, 40ms);  // Linux TCP_DELACK_MIN; RFC: under 500 ms
}

TEST_F(DelayedAck, Rfc9293_3_8_6_3_OneSegmentAckedWhenTheTimerExpires) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "abc"});
    expect_nothing_sent();
    EXPECT_EQ(h.timer_at(TimerKind::DelayedAck), h.now + 40ms);
    advance(39ms);
    expect_nothing_sent();
    advance(1ms);
    expect_sent({.seq = 101, .ack = 304, .flags = Flags::Ack});
    EXPECT_EQ(h.stats.delayed_acks, 1u);
    EXPECT_FALSE(h.has_timer(TimerKind::DelayedAck));
}

TEST_F(DelayedAck, Rfc5681_4_2_EverySecondSegmentAckedAtOnce) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "abc"});
    expect_nothing_sent();
    inject({.seq = 304, .ack = 101, .flags = Flags::Ack, .payload = "def"});
    expect_sent({.seq = 101, .ack = 307, .flags = Flags::Ack});
    EXPECT_FALSE(h.has_timer(TimerKind::DelayedAck));
    inject({.seq = 307, .ack = 101, .flags = Flags::Ack, .payload = "g"});
    expect_nothing_sent();  // counting starts again
    advance(40ms);
    expect_sent({.seq = 101, .ack = 308, .flags = Flags::Ack});
}

TEST_F(DelayedAck, Rfc5681_4_2_OutOfOrderAndGapFillAckedAtOnce) {
    inject({.seq = 304, .ack = 101, .flags = Flags::Ack, .payload = "def"});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "abc"});
    expect_sent({.seq = 101, .ack = 307, .flags = Flags::Ack});
}

TEST_F(DelayedAck, FinAckedAtOnce) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "abc"});
    expect_nothing_sent();
    inject({.seq = 304, .ack = 101, .flags = Flags::Ack | Flags::Fin});
    expect_sent({.seq = 101, .ack = 305, .flags = Flags::Ack});
    EXPECT_FALSE(h.has_timer(TimerKind::DelayedAck));
    expect_state(State::CloseWait);
}

TEST_F(DelayedAck, Rfc9293_3_8_6_3_AckRidesOnData) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "ping"});
    expect_nothing_sent();
    send("pong");
    expect_sent({.seq = 101, .ack = 305, .flags = Flags::Ack | Flags::Psh, .payload = "pong"});
    EXPECT_FALSE(h.has_timer(TimerKind::DelayedAck));
    advance(40ms);
    expect_nothing_sent();
}

TEST_F(DelayedAck, Rfc9293_3_8_6_2_2_WindowUpdateSentAtOnce) {
    std::string a(2000, 'a');
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = a});
    expect_nothing_sent();
    EXPECT_EQ(receive().size(), 2000u);  // the right edge moves by >= min(2048, MSS)
    expect_sent({.seq = 101, .ack = 2301, .flags = Flags::Ack, .window = 4096});
    EXPECT_FALSE(h.has_timer(TimerKind::DelayedAck));
}

TEST_F(DelayedAck, Rfc1122_4_2_3_2_DelayConfigurable) {
    Config c = delack_config();
    c.delayed_ack_timeout = 200ms;
    Host host(c);
    Effects fx;
    ASSERT_EQ(host.conn.open_active(kTuple, SeqNum(kIss), host.now, fx), Error::None);
    host.absorb(fx);
    host.inject({.seq = kIrs, .ack = kIss + 1, .flags = Flags::Syn | Flags::Ack});
    host.sent.clear();
    host.inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "abc"});
    EXPECT_TRUE(host.sent.empty());
    EXPECT_EQ(host.timer_at(TimerKind::DelayedAck), host.now + 200ms);
}

}  // namespace
}  // namespace sluice::tcp::test
