// Fixtures stay honest: a connection put straight into ESTABLISHED by
// Connection::establish_directly() must equal, field by field, one that got there through
// a real handshake.

#include "harness.hpp"

namespace sluice::tcp::test {
namespace {

#define EXPECT_FIELD(f) EXPECT_EQ(real.f, direct.f) << "TCB field " #f " differs"

void expect_same_tcb(const Tcb& real, const Tcb& direct) {
    EXPECT_FIELD(state);
    EXPECT_FIELD(snd_una);
    EXPECT_FIELD(snd_nxt);
    EXPECT_FIELD(snd_wl1);
    EXPECT_FIELD(snd_wl2);
    EXPECT_FIELD(iss);
    EXPECT_FIELD(snd_max);
    EXPECT_FIELD(snd_buf_seq);
    EXPECT_FIELD(fin_seq);
    EXPECT_FIELD(snd_wnd);
    EXPECT_FIELD(max_snd_wnd);
    EXPECT_FIELD(rcv_nxt);
    EXPECT_FIELD(irs);
    EXPECT_FIELD(rcv_adv);
    EXPECT_FIELD(last_ack_sent);
    EXPECT_FIELD(ts_recent);
    EXPECT_FIELD(send_mss);
    EXPECT_FIELD(peer_mss);
    EXPECT_FIELD(snd_wscale);
    EXPECT_FIELD(rcv_wscale);
    EXPECT_FIELD(ws_ok);
    EXPECT_FIELD(sack_ok);
    EXPECT_FIELD(ts_ok);
    EXPECT_FIELD(fin_sent);
    EXPECT_FIELD(passive);
    EXPECT_FIELD(recv_closed);
    EXPECT_FIELD(ack_pending);
    EXPECT_FIELD(send_blocked);
    EXPECT_FIELD(syn_retransmitted);
    EXPECT_FIELD(keepalive);
    EXPECT_FIELD(keepalive_probes);
    EXPECT_FIELD(close_reason);
    EXPECT_FIELD(rtx.rto);
    EXPECT_FIELD(rtx.backoff);
    EXPECT_FIELD(rtx.retries);
    EXPECT_FIELD(rtx.rtt);
    EXPECT_FIELD(rtx.timing);
    EXPECT_FIELD(delack_segs);
    EXPECT_FIELD(cc);
    EXPECT_FIELD(rtx_next);
    EXPECT_FIELD(rtx_end);
    EXPECT_FIELD(ooo);
    EXPECT_FIELD(last_send);
    EXPECT_FIELD(last_rx);
    EXPECT_FIELD(armed);
    EXPECT_FIELD(deadline);
    // And nothing was forgotten in the list above.
    EXPECT_TRUE(real == direct);
}

void expect_same_status(const ConnectionStatus& real, const ConnectionStatus& direct) {
    EXPECT_FIELD(state);
    EXPECT_FIELD(tuple);
    EXPECT_FIELD(rcv_wnd);
    EXPECT_FIELD(send_queued);
    EXPECT_FIELD(recv_queued);
}

Config with_options() {
    Config c = plain_config();
    c.window_scaling = true;
    c.sack_permitted = true;
    c.timestamps = true;
    return c;
}

wire::TcpOptions peer_options(bool all) {
    wire::TcpOptions o;
    o.has_mss = true;
    o.mss = 1400;
    if (all) {
        o.has_wscale = true;
        o.wscale = 5;
        o.sack_permitted = true;
        o.has_timestamps = true;
        o.ts_val = 5555;
    }
    return o;
}

struct Case {
    const char* name;
    bool options;
    bool keepalive;
};

class HonestFixture : public ::testing::TestWithParam<Case> {};

TEST_P(HonestFixture, ActiveOpen_DirectEqualsHandshake) {
    const Case c = GetParam();
    const Config cfg = c.options ? with_options() : plain_config();
    Host real(cfg), direct(cfg);
    Effects fx;
    real.conn.set_keepalive(c.keepalive, real.now, fx);
    direct.conn.set_keepalive(c.keepalive, direct.now, fx);
    fx.clear();
    ASSERT_EQ(real.conn.open_active(kTuple, SeqNum(kIss), real.now, fx), Error::None);
    real.absorb(fx);
    real.now += 20ms;
    wire::TcpOptions peer = peer_options(c.options);
    peer.ts_ecr = ts_clock(real.now - 20ms);
    real.inject({.seq = kIrs,
                 .ack = kIss + 1,
                 .flags = Flags::Syn | Flags::Ack,
                 .window = 2000,
                 .options = peer});
    ASSERT_EQ(real.conn.state(), State::Established);

    direct.now = real.now;
    direct.conn.establish_directly({.tuple = kTuple,
                                    .iss = SeqNum(kIss),
                                    .irs = SeqNum(kIrs),
                                    .peer_syn_options = peer,
                                    .peer_syn_window = 2000,
                                    .peer_ack_window = 0,
                                    .peer_last_tsval = peer.ts_val,
                                    .passive = false},
                                   direct.now);
    expect_same_tcb(real.conn.tcb(), direct.conn.tcb());
    expect_same_status(real.conn.status(), direct.conn.status());
    const char* why = "";
    EXPECT_TRUE(direct.conn.check_invariants(&why)) << why;
}

TEST_P(HonestFixture, PassiveOpen_DirectEqualsHandshake) {
    const Case c = GetParam();
    const Config cfg = c.options ? with_options() : plain_config();
    Host real(cfg), direct(cfg);
    Effects fx;
    real.conn.set_keepalive(c.keepalive, real.now, fx);
    direct.conn.set_keepalive(c.keepalive, direct.now, fx);
    fx.clear();
    ASSERT_EQ(real.conn.open_passive(FourTuple{kLocal, Endpoint{}}, SeqNum(kIss)), Error::None);
    wire::TcpOptions peer = peer_options(c.options);
    real.inject({.seq = kIrs, .flags = Flags::Syn, .window = 3000, .options = peer});
    real.now += 20ms;
    wire::TcpOptions ack_ts;
    ack_ts.has_timestamps = c.options;
    ack_ts.ts_val = peer.ts_val + 20;
    real.inject(
        {.seq = kIrs + 1, .ack = kIss + 1, .flags = Flags::Ack, .window = 700, .options = ack_ts});
    ASSERT_EQ(real.conn.state(), State::Established);

    direct.now = real.now;
    direct.conn.establish_directly({.tuple = FourTuple{kLocal, Endpoint{{}, kRemote.port}},
                                    .iss = SeqNum(kIss),
                                    .irs = SeqNum(kIrs),
                                    .peer_syn_options = peer,
                                    .peer_syn_window = 3000,
                                    .peer_ack_window = 700,
                                    .peer_last_tsval = ack_ts.ts_val,
                                    .passive = true},
                                   direct.now);
    expect_same_tcb(real.conn.tcb(), direct.conn.tcb());
    expect_same_status(real.conn.status(), direct.conn.status());
}

INSTANTIATE_TEST_SUITE_P(
    Variants, HonestFixture,
    ::testing::Values(Case{"Plain", false, false}, Case{"AllOptions", true, false},
                      Case{"Keepalive", false, true}, Case{"AllOptionsKeepalive", true, true}),
    [](const ::testing::TestParamInfo<Case>& p) { return std::string(p.param.name); });

// The fixtures in harness.cpp (to_fin_wait_2, to_time_wait, ...) are real exchanges; this
// checks the chain of states they record.
class FixtureChain : public TcpTest {};

TEST_F(FixtureChain, TimeWaitFixture_WentThroughEveryState) {
    to_time_wait();
    EXPECT_EQ(h.stats.transition_count(State::Closed, State::SynSent), 1u);
    EXPECT_EQ(h.stats.transition_count(State::SynSent, State::Established), 1u);
    EXPECT_EQ(h.stats.transition_count(State::Established, State::FinWait1), 1u);
    EXPECT_EQ(h.stats.transition_count(State::FinWait1, State::FinWait2), 1u);
    EXPECT_EQ(h.stats.transition_count(State::FinWait2, State::TimeWait), 1u);
    h.events.clear();
}

}  // namespace
}  // namespace sluice::tcp::test
