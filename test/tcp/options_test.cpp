// Option negotiation on the handshake: MSS (RFC 9293 3.7.1), window scale and timestamps
// (RFC 7323), SACK-permitted (RFC 2018); timestamp echo and PAWS on the data path.

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

Config options_config() {
    Config c = plain_config();
    c.window_scaling = true;
    c.window_scale = 7;
    c.sack_permitted = true;
    c.timestamps = true;
    return c;
}

wire::TcpOptions syn_options(uint16_t mss, std::optional<uint8_t> ws, bool sack,
                             std::optional<uint32_t> tsval, uint32_t tsecr = 0) {
    wire::TcpOptions o;
    o.has_mss = true;
    o.mss = mss;
    if (ws) {
        o.has_wscale = true;
        o.wscale = *ws;
    }
    o.sack_permitted = sack;
    if (tsval) {
        o.has_timestamps = true;
        o.ts_val = *tsval;
        o.ts_ecr = tsecr;
    }
    return o;
}

wire::TcpOptions ts(uint32_t val, uint32_t ecr) {
    wire::TcpOptions o;
    o.has_timestamps = true;
    o.ts_val = val;
    o.ts_ecr = ecr;
    return o;
}

// A receive buffer large enough to need scaling: 2^18 bytes fits the 16-bit field with a
// shift of 3 (RFC 7323 2.3; the smallest shift that fits is the one offered).
inline constexpr std::size_t kScaledBuf = std::size_t(1) << 18;
inline constexpr uint8_t kOurScale = 3;
inline constexpr uint16_t kSynWindow = 65535;  // a SYN's window is never scaled

class Options : public TcpTest {
protected:
    Options() : TcpTest(options_config(), kBuf, kScaledBuf) {}
    uint32_t our_ts() const { return ts_clock(h.now); }
};

TEST_F(Options, ActiveSyn_OffersEverything) {
    ASSERT_EQ(open_active(), Error::None);
    expect_sent({.seq = 100,
                 .flags = Flags::Syn,
                 .window = kSynWindow,
                 .options = syn_options(1460, kOurScale, true, our_ts(), 0)});
}

TEST_F(Options, SynAckWithAll_Negotiated) {
    ASSERT_EQ(open_active(), Error::None);
    h.sent.clear();
    inject({.seq = 300,
            .ack = 101,
            .flags = Flags::Syn | Flags::Ack,
            .window = 1000,
            .options = syn_options(1000, 3, true, 777, our_ts())});
    // ACK: scaled window 2^18 >> 3, timestamps echo 777.
    expect_sent({.seq = 101,
                 .ack = 301,
                 .flags = Flags::Ack,
                 .window = kScaledBuf >> kOurScale,
                 .options = ts(our_ts(), 777)});
    const ConnectionStatus s = h.conn.status();
    EXPECT_TRUE(s.ws_ok);
    EXPECT_TRUE(s.sack_ok);
    EXPECT_TRUE(s.ts_ok);
    EXPECT_EQ(s.snd_wscale, 3);
    EXPECT_EQ(s.rcv_wscale, kOurScale);
    EXPECT_EQ(s.send_mss, 1000 - 12);  // RFC 7323 3.2: room for the TSopt in each segment
    EXPECT_EQ(s.snd_wnd, 1000u);       // a SYN's window is never scaled (RFC 7323 2.2)
    // Later windows are scaled by 3.
    inject(
        {.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 100, .options = ts(778, our_ts())});
    EXPECT_EQ(h.conn.status().snd_wnd, 800u);
}

TEST_F(Options, MssIsTheMinimumOfBoth) {
    ASSERT_EQ(open_active(), Error::None);
    h.sent.clear();
    inject({.seq = 300,
            .ack = 101,
            .flags = Flags::Syn | Flags::Ack,
            .options = syn_options(9000, {}, false, {})});
    h.sent.clear();
    EXPECT_EQ(h.conn.status().send_mss, 1460);
}

TEST_F(Options, NoMssOption_Default536) {
    ASSERT_EQ(open_active(), Error::None);
    h.sent.clear();
    inject({.seq = 300, .ack = 101, .flags = Flags::Syn | Flags::Ack});
    h.sent.clear();
    EXPECT_EQ(h.conn.status().send_mss, kDefaultPeerMss);
}

TEST_F(Options, WindowScaleOnlyIfBothSentIt) {
    ASSERT_EQ(open_active(), Error::None);
    h.sent.clear();
    inject({.seq = 300,
            .ack = 101,
            .flags = Flags::Syn | Flags::Ack,
            .window = 1000,
            .options = syn_options(1460, {}, false, {})});
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack, .window = kSynWindow});  // unscaled
    EXPECT_FALSE(h.conn.status().ws_ok);
    EXPECT_EQ(h.conn.status().rcv_wscale, 0);
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .window = 100});
    EXPECT_EQ(h.conn.status().snd_wnd, 100u);
}

TEST_F(Options, Rfc7323_2_3_ShiftAbove14UsedAs14) {
    ASSERT_EQ(open_active(), Error::None);
    h.sent.clear();
    inject({.seq = 300,
            .ack = 101,
            .flags = Flags::Syn | Flags::Ack,
            .options = syn_options(1460, 15, false, {})});
    h.sent.clear();
    EXPECT_EQ(h.conn.status().snd_wscale, 14);
}

TEST_F(Options, Listen_SynAckAnswersOnlyWhatWasOffered) {
    ASSERT_EQ(open_passive(), Error::None);
    inject({.seq = 300, .flags = Flags::Syn, .options = syn_options(1200, {}, true, {})});
    // No WS, no TS from the peer: SYN-ACK has MSS and SACK-permitted only.
    expect_sent({.seq = 100,
                 .ack = 301,
                 .flags = Flags::Syn | Flags::Ack,
                 .window = kSynWindow,
                 .options = syn_options(1460, {}, true, {})});
    EXPECT_EQ(h.conn.status().send_mss, 1200);
}

TEST_F(Options, Listen_SynAckWithAllOptions) {
    ASSERT_EQ(open_passive(), Error::None);
    inject({.seq = 300, .flags = Flags::Syn, .options = syn_options(1460, 2, true, 4242)});
    expect_sent({.seq = 100,
                 .ack = 301,
                 .flags = Flags::Syn | Flags::Ack,
                 .window = kSynWindow,
                 .options = syn_options(1460, kOurScale, true, our_ts(), 4242)});
}

TEST(OptionsOff, ConfigOff_NotOfferedNotAccepted) {
    Host host;  // plain: no WS, SACK, TS
    ASSERT_EQ(host.conn.open_passive(FourTuple{kLocal, Endpoint{}}, SeqNum(kIss)), Error::None);
    host.inject({.seq = 300, .flags = Flags::Syn, .options = syn_options(1460, 2, true, 4242)});
    ASSERT_EQ(host.sent.size(), 1u);
    const wire::TcpOptions& o = host.sent[0].seg.options;
    EXPECT_TRUE(o.has_mss);
    EXPECT_FALSE(o.has_wscale);
    EXPECT_FALSE(o.sack_permitted);
    EXPECT_FALSE(o.has_timestamps);
}

class Timestamps : public Options {
protected:
    void SetUp() override {
        ASSERT_EQ(open_active(), Error::None);
        h.sent.clear();
        inject({.seq = 300,
                .ack = 101,
                .flags = Flags::Syn | Flags::Ack,
                .window = 1000,
                .options = syn_options(1460, 0, false, 1000, our_ts())});
        h.sent.clear();
    }
};

TEST_F(Timestamps, DataSegment_EchoesTsVal) {
    advance(5ms);
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .options = ts(1005, 0), .payload = "a"});
    expect_sent({.seq = 101, .ack = 302, .flags = Flags::Ack, .options = ts(our_ts(), 1005)});
}

TEST_F(Timestamps, Rfc7323_5_3_Paws_OldTsValAckedAndDropped) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .options = ts(1005, 0), .payload = "a"});
    expect_sent({.seq = 101, .ack = 302, .flags = Flags::Ack, .options = ts(our_ts(), 1005)});
    inject({.seq = 302, .ack = 101, .flags = Flags::Ack, .options = ts(900, 0), .payload = "b"});
    expect_sent({.seq = 101, .ack = 302, .flags = Flags::Ack, .options = ts(our_ts(), 1005)});
    EXPECT_EQ(receive(), "a");
    EXPECT_EQ(h.stats.paws_rejected, 1u);
}

TEST_F(Timestamps, Rfc7323_3_2_MissingTsOption_Dropped) {
    inject({.seq = 301, .ack = 101, .flags = Flags::Ack, .payload = "a"});
    expect_nothing_sent();
    EXPECT_EQ(h.conn.status().recv_queued, 0u);
    // RST needs no timestamp.
    inject({.seq = 301, .flags = Flags::Rst});
    expect_state(State::Closed);
}

TEST_F(Timestamps, SynRetransmissionKeepsOptions) {
    Host c(options_config());
    Effects fx;
    ASSERT_EQ(c.conn.open_active(kTuple, SeqNum(kIss), c.now, fx), Error::None);
    c.absorb(fx);
    c.advance(1s);
    ASSERT_EQ(c.sent.size(), 2u);
    const wire::TcpOptions& a = c.sent[0].seg.options;
    const wire::TcpOptions& b = c.sent[1].seg.options;
    EXPECT_EQ(a.has_mss, b.has_mss);
    EXPECT_EQ(a.wscale, b.wscale);
    EXPECT_EQ(a.sack_permitted, b.sack_permitted);
    EXPECT_EQ(b.ts_val, a.ts_val + 1000);  // 1 ms per tick
}

TEST(WindowScale, OfferedShiftIsTheSmallestThatFitsTheBuffer) {
    Config c = options_config();
    EXPECT_EQ(offered_window_scale(c, 4096), 0);
    EXPECT_EQ(offered_window_scale(c, 65535), 0);
    EXPECT_EQ(offered_window_scale(c, 65536), 1);
    EXPECT_EQ(offered_window_scale(c, std::size_t(1) << 18), 3);
    EXPECT_EQ(offered_window_scale(c, std::size_t(1) << 30), 7);  // capped by Config
    c.window_scale = 20;
    EXPECT_EQ(offered_window_scale(c, std::size_t(1) << 32), kMaxWindowScale);  // RFC 7323 2.3
    c.window_scaling = false;
    EXPECT_EQ(offered_window_scale(c, std::size_t(1) << 20), 0);
}

// Fuzz finding: window_scale 14 with a 4 KiB buffer announced a window of 0 (or, rounded up
// to keep the right edge, 16 KiB past a 4 KiB buffer).
TEST(WindowScale, LargeConfiguredShiftWithSmallBufferStillAdvertisesTheBuffer) {
    Config c = options_config();
    c.window_scale = 14;
    Host h(c, kBuf, kBuf);
    ASSERT_EQ(h.conn.open_passive({kLocal, kRemote}, SeqNum(100)), Error::None);
    h.inject({.seq = 300, .flags = Flags::Syn, .options = syn_options(1460, 0, true, {})});
    ASSERT_FALSE(h.sent.empty());
    EXPECT_EQ(h.sent.back().seg.options.wscale, 0);
    h.inject({.seq = 301, .ack = 101, .flags = Flags::Ack});
    ASSERT_EQ(h.conn.state(), State::Established);
    h.inject({.seq = 301 + 100000, .ack = 101, .flags = Flags::Ack});  // answered by an ACK
    EXPECT_EQ(h.conn.status().rcv_wnd, kBuf);
    EXPECT_EQ(h.sent.back().seg.window, kBuf);
}

}  // namespace
}  // namespace sluice::tcp::test
