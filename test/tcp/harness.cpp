#include "harness.hpp"

#include <rte_mbuf.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

namespace sluice::tcp::test {

std::string to_string(std::span<const uint8_t> b) {
    return std::string(b.begin(), b.end());
}

std::string to_string(const PayloadRef& p) {
    std::string s(p.size(), '\0');
    s.resize(p.copy_to({reinterpret_cast<uint8_t*>(s.data()), s.size()}));
    return s;
}

BufferPools& test_pools() {
    static BufferPools pools = [] {
        BufferPools p;
        p.data = rte_pktmbuf_pool_create("tcp_test_data", 8191, 0, 0,
                                         RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
        p.rx_pin_limit = UINT32_MAX;
        return p;
    }();
    return pools;
}

rte_mempool* test_rx_pool() {
    static rte_mempool* pool = rte_pktmbuf_pool_create("tcp_test_rx", 4095, 0, 0,
                                                       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    return pool;
}

unsigned mbufs_in_use() {
    return rte_mempool_in_use_count(test_pools().data) +
           rte_mempool_in_use_count(test_rx_pool());
}

bool frames_by_default() {
    static const bool on = [] {
        const char* v = std::getenv("SLUICE_TEST_FRAMES");
        return v != nullptr && v[0] == '1';
    }();
    return on;
}

namespace {
int g_live_hosts = 0;
}  // namespace

namespace {
std::string describe_options(const wire::TcpOptions& o) {
    std::ostringstream s;
    if (o.has_mss) s << " MSS=" << o.mss;
    if (o.has_wscale) s << " WS=" << int(o.wscale);
    if (o.sack_permitted) s << " SACKOK";
    if (o.has_timestamps) s << " TS=" << o.ts_val << "/" << o.ts_ecr;
    return s.str();
}
}  // namespace

std::string describe(const OutSegment& s, std::string_view payload) {
    std::ostringstream o;
    o << "<SEQ=" << s.seq.raw();
    if (s.flags.has(Flags::Ack)) o << "><ACK=" << s.ack.raw();
    o << "><CTL=" << tcp::to_string(s.flags) << "><WND=" << s.window << ">"
      << describe_options(s.options);
    if (!payload.empty()) o << " DATA(" << payload.size() << ")=\"" << payload << "\"";
    return o.str();
}

std::string describe(const Out& e) {
    std::ostringstream o;
    o << "<SEQ=" << (e.seq ? std::to_string(*e.seq) : "*");
    if (e.ack) o << "><ACK=" << *e.ack;
    o << "><CTL=" << tcp::to_string(e.flags)
      << "><WND=" << (e.window ? std::to_string(*e.window) : "*") << ">";
    if (e.options) o << describe_options(*e.options);
    if (!e.payload.empty()) o << " DATA(" << e.payload.size() << ")=\"" << e.payload << "\"";
    return o.str();
}

Segment to_segment(const Sent& s) {
    Segment g;
    g.src_port = s.seg.src_port;
    g.dst_port = s.seg.dst_port;
    g.seq = s.seg.seq;
    g.ack = s.seg.ack;
    g.flags = s.seg.flags;
    g.window = s.seg.window;
    g.options = s.seg.options;
    g.payload = {reinterpret_cast<const uint8_t*>(s.payload.data()), s.payload.size()};
    return g;
}

Config profile_config(Profile p) {
    Config c = plain_config();
    if (p == Profile::Full) {
        c.window_scaling = true;
        c.sack_permitted = true;
        c.timestamps = true;
        c.delayed_ack = true;
    }
    return c;
}

std::string profile_name(const ::testing::TestParamInfo<Profile>& info) {
    return info.param == Profile::Full ? "Full" : "Plain";
}

// --- Host ---------------------------------------------------------------------------------

Host::Host(const Config& c, std::size_t sndbuf, std::size_t rcvbuf, BufferPools* pools)
    : cfg(c), conn(cfg, Buffers{pools ? pools : &test_pools(), sndbuf, rcvbuf}, &stats) {
    ++g_live_hosts;
}

Host::~Host() {
    // Every mbuf back once the last host is gone: the connection frees what it holds.
    if (--g_live_hosts == 0) {
        conn.~Connection();
        new (&conn) Connection(cfg, Buffers{}, &stats);
        EXPECT_EQ(rte_mempool_in_use_count(test_pools().data), 0u) << "data mbufs leaked";
        EXPECT_EQ(rte_mempool_in_use_count(test_rx_pool()), 0u) << "RX mbufs leaked";
        EXPECT_EQ(test_pools().rx_pinned, 0u) << "pinned RX mbufs miscounted";
    }
}

void Host::absorb(Effects& fx) {
    for (;;) {
        for (const OutSegment& s : fx.sent()) {
            sent.push_back({s, to_string(s.payload)});
            if (s.options.has_timestamps) last_ts_sent = s.options.ts_val;
        }
        for (const Event& e : fx.app_events()) events.push_back(e);
        for (std::size_t i = 0; i < kTimerKindCount; ++i) {
            const TimerOp op = fx.timer(static_cast<TimerKind>(i));
            if (op.action == TimerAction::Arm) timers[i] = op.at;
            if (op.action == TimerAction::Cancel) timers[i].reset();
        }
        const char* why = "";
        EXPECT_TRUE(conn.check_invariants(&why)) << why << " in " << state_name(conn.state());
        // The host's view of the timers matches the TCB's.
        for (std::size_t i = 0; i < kTimerKindCount; ++i) {
            const bool armed = (conn.tcb().armed >> i) & 1u;
            EXPECT_EQ(armed, timers[i].has_value()) << "timer " << i;
            if (armed && timers[i]) {
                EXPECT_EQ(conn.tcb().deadline[i], *timers[i]) << "timer " << i;
            }
        }
        if (!fx.more_output) break;
        fx.clear();
        conn.poll_output(now, fx);
    }
    fx.clear();
}

void Host::inject(const Segment& seg) {
    Effects fx;
    constexpr uint16_t kHeaders = 54;
    // Payloads larger than a frame (some tests use them) go in as plain spans.
    if (frames && !seg.payload.empty() && seg.mbuf == nullptr &&
        seg.payload.size() + kHeaders <= RTE_MBUF_DEFAULT_DATAROOM) {
        // As the worker does: the payload inside a received frame behind some header bytes,
        // our reference dropped with rte_pktmbuf_free_seg() after the call.
        rte_mbuf* m = rte_pktmbuf_alloc(test_rx_pool());
        ASSERT_NE(m, nullptr);
        uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
        std::memset(p, 0xee, kHeaders);
        std::memcpy(p + kHeaders, seg.payload.data(), seg.payload.size());
        m->data_len = uint16_t(kHeaders + seg.payload.size());
        m->pkt_len = m->data_len;
        Segment g = seg;
        g.payload = {p + kHeaders, seg.payload.size()};
        g.mbuf = m;
        conn.on_segment(g, now, fx);
        rte_pktmbuf_free_seg(m);
    } else {
        conn.on_segment(seg, now, fx);
    }
    absorb(fx);
}

void Host::inject(const In& in, uint16_t src_port, uint16_t dst_port) {
    Segment s;
    s.src_port = src_port;
    s.dst_port = dst_port;
    s.seq = SeqNum(in.seq);
    s.ack = SeqNum(in.ack);
    s.flags = in.flags;
    s.window = in.window;
    s.options = in.options;
    s.payload = {reinterpret_cast<const uint8_t*>(in.payload.data()), in.payload.size()};
    if (auto_peer_options) fill_peer_options(s);
    inject(s);
}

void Host::fill_peer_options(Segment& s) {
    wire::TcpOptions& o = s.options;
    const bool written = o.has_mss || o.has_wscale || o.sack_permitted || o.has_timestamps;
    if (written || s.flags.has(Flags::Rst)) return;  // RFC 7323 3.2: RST may go without
    const bool syn = s.flags.has(Flags::Syn);
    if (!syn && !conn.tcb().ts_ok) return;
    if (syn) {
        o.has_wscale = true;
        o.wscale = kPeerWindowScale;
        o.sack_permitted = true;
    }
    o.has_timestamps = true;
    o.ts_val = ++peer_ts;
    o.ts_ecr = s.flags.has(Flags::Ack) ? last_ts_sent : 0;
}

std::optional<std::pair<Instant, TimerKind>> Host::next_timer() const {
    std::optional<std::pair<Instant, TimerKind>> best;
    for (std::size_t i = 0; i < kTimerKindCount; ++i)
        if (timers[i] && (!best || *timers[i] < best->first))
            best = {{*timers[i], static_cast<TimerKind>(i)}};
    return best;
}

void Host::fire(TimerKind k, Instant at) {
    now = at;
    timers[static_cast<std::size_t>(k)].reset();
    Effects fx;
    conn.on_timer(k, now, fx);
    absorb(fx);
}

void Host::advance(Duration d) {
    const Instant target = now + d;
    while (auto t = next_timer()) {
        if (t->first > target) break;
        fire(t->second, t->first);
    }
    now = target;
}

// --- TcpTest ------------------------------------------------------------------------------

void TcpTest::TearDown() {
    // Every segment a test provokes is accounted for.
    for (const Sent& s : h.sent)
        ADD_FAILURE() << "unexpected segment left: " << describe(s.seg, s.payload);
}

void TcpTest::expect_sent(const Out& e, const char* file, int line) {
    // Full profile: an ACK may be delayed (RFC 9293 3.8.6.3); let its timer run out.
    if (h.sent.empty() && h.auto_peer_options && h.has_timer(TimerKind::DelayedAck))
        h.advance(h.timer_at(TimerKind::DelayedAck) - h.now);
    if (h.sent.empty()) {
        ADD_FAILURE_AT(file, line) << "expected " << describe(e) << ", nothing sent";
        return;
    }
    const Sent got = h.sent.front();
    h.sent.pop_front();
    const OutSegment& s = got.seg;
    bool ok = s.flags == e.flags && got.payload == e.payload;
    if (e.seq) ok = ok && s.seq.raw() == *e.seq;
    if (e.ack) ok = ok && s.ack.raw() == *e.ack;
    if (e.window) ok = ok && s.window == *e.window;
    if (e.options) {
        const wire::TcpOptions& a = s.options;
        const wire::TcpOptions& b = *e.options;
        ok = ok && a.has_mss == b.has_mss && a.mss == b.mss && a.has_wscale == b.has_wscale &&
             a.wscale == b.wscale && a.sack_permitted == b.sack_permitted &&
             a.has_timestamps == b.has_timestamps && a.ts_val == b.ts_val && a.ts_ecr == b.ts_ecr;
    }
    EXPECT_EQ(s.src_port, kLocal.port);
    EXPECT_EQ(s.dst_port, kRemote.port);
    if (!ok) {
        ADD_FAILURE_AT(file, line)
            << "expected " << describe(e) << "\n     got " << describe(s, got.payload);
    }
}

void TcpTest::expect_nothing_sent(const char* file, int line) {
    if (!h.sent.empty()) {
        ADD_FAILURE_AT(file, line)
            << "expected nothing, got " << describe(h.sent.front().seg, h.sent.front().payload);
        h.sent.clear();
    }
}

void TcpTest::expect_state(State s, const char* file, int line) {
    if (h.conn.state() != s) {
        ADD_FAILURE_AT(file, line)
            << "state " << state_name(h.conn.state()) << ", expected " << state_name(s);
    }
}

void TcpTest::expect_event(EventKind k, const char* file, int line) {
    for (auto it = h.events.begin(); it != h.events.end(); ++it) {
        if (it->kind == k) {
            h.events.erase(it);
            return;
        }
    }
    ADD_FAILURE_AT(file, line) << "expected event " << int(k) << " not reported";
}

void TcpTest::expect_closed(CloseReason r, const char* file, int line) {
    for (auto it = h.events.begin(); it != h.events.end(); ++it) {
        if (it->kind == EventKind::Closed) {
            if (it->reason != r) {
                ADD_FAILURE_AT(file, line)
                    << "closed with reason " << int(it->reason) << ", expected " << int(r);
            }
            h.events.erase(it);
            expect_event(EventKind::Release, file, line);
            return;
        }
    }
    ADD_FAILURE_AT(file, line) << "expected Closed event not reported";
}

void TcpTest::expect_no_event(EventKind k, const char* file, int line) {
    for (const Event& e : h.events)
        if (e.kind == k) {
            ADD_FAILURE_AT(file, line) << "unexpected event " << int(k);
        }
}

Error TcpTest::open_active(uint32_t iss) {
    Effects fx;
    Error e = h.conn.open_active(kTuple, SeqNum(iss), h.now, fx);
    h.absorb(fx);
    return e;
}

Error TcpTest::open_passive(uint32_t iss) {
    return h.conn.open_passive(FourTuple{kLocal, Endpoint{}}, SeqNum(iss));
}

IoResult TcpTest::send(std::string_view data) {
    Effects fx;
    IoResult r =
        h.conn.send({reinterpret_cast<const uint8_t*>(data.data()), data.size()}, h.now, fx);
    h.absorb(fx);
    return r;
}

std::string TcpTest::receive(std::size_t max) {
    std::vector<uint8_t> out(max);
    Effects fx;
    IoResult r = h.conn.receive(out, h.now, fx);
    h.absorb(fx);
    return std::string(out.begin(), out.begin() + std::ptrdiff_t(r.bytes));
}

Error TcpTest::close() {
    Effects fx;
    Error e = h.conn.close(h.now, fx);
    h.absorb(fx);
    return e;
}

Error TcpTest::shutdown_send() {
    Effects fx;
    Error e = h.conn.shutdown_send(h.now, fx);
    h.absorb(fx);
    return e;
}

Error TcpTest::abort() {
    Effects fx;
    Error e = h.conn.abort(h.now, fx);
    h.absorb(fx);
    return e;
}

void TcpTest::to_established_active(const wire::TcpOptions& peer_opts, uint16_t peer_window) {
    ASSERT_EQ(open_active(), Error::None);
    h.sent.clear();
    inject({.seq = kIrs,
            .ack = kIss + 1,
            .flags = Flags::Syn | Flags::Ack,
            .window = peer_window,
            .options = peer_opts});
    expect_sent({.seq = kIss + 1, .ack = kIrs + 1, .flags = Flags::Ack});
    expect_state(State::Established);
    expect_event(EventKind::Connected);
    expect_profile_negotiated();
}

// The Full profile's run really has the options on.
void TcpTest::expect_profile_negotiated() {
    if (!h.auto_peer_options) return;
    const ConnectionStatus st = h.conn.status();
    EXPECT_TRUE(st.ws_ok && st.sack_ok && st.ts_ok) << "Full profile without its options";
    EXPECT_EQ(st.snd_wscale, kPeerWindowScale);
}

void TcpTest::to_established_passive(const wire::TcpOptions& peer_opts, uint16_t peer_window) {
    ASSERT_EQ(open_passive(), Error::None);
    inject({.seq = kIrs, .flags = Flags::Syn, .window = peer_window, .options = peer_opts});
    h.sent.clear();  // the SYN-ACK
    wire::TcpOptions ack_opts;
    ack_opts.has_timestamps = peer_opts.has_timestamps;
    ack_opts.ts_val = peer_opts.ts_val;
    inject({.seq = kIrs + 1,
            .ack = kIss + 1,
            .flags = Flags::Ack,
            .window = peer_window,
            .options = ack_opts});
    expect_nothing_sent();
    expect_state(State::Established);
    expect_event(EventKind::Connected);
    expect_profile_negotiated();
}

void TcpTest::to_fin_wait_1() {
    to_established_active();
    ASSERT_EQ(close(), Error::None);
    expect_sent({.seq = 101, .ack = 301, .flags = Flags::Fin | Flags::Ack});
    expect_state(State::FinWait1);
}

void TcpTest::to_fin_wait_2() {
    to_fin_wait_1();
    inject({.seq = 301, .ack = 102, .flags = Flags::Ack});
    expect_nothing_sent();
    expect_state(State::FinWait2);
}

void TcpTest::to_close_wait() {
    to_established_active();
    inject({.seq = 301, .ack = 101, .flags = Flags::Fin | Flags::Ack});
    expect_sent({.seq = 101, .ack = 302, .flags = Flags::Ack});
    expect_state(State::CloseWait);
    expect_event(EventKind::PeerClosed);
}

void TcpTest::to_last_ack() {
    to_close_wait();
    ASSERT_EQ(close(), Error::None);
    expect_sent({.seq = 101, .ack = 302, .flags = Flags::Fin | Flags::Ack});
    expect_state(State::LastAck);
}

void TcpTest::to_time_wait() {
    to_fin_wait_2();
    inject({.seq = 301, .ack = 102, .flags = Flags::Fin | Flags::Ack});
    expect_sent({.seq = 102, .ack = 302, .flags = Flags::Ack});
    expect_state(State::TimeWait);
    expect_event(EventKind::TimeWait);
}

// --- Pair ---------------------------------------------------------------------------------

Pair::Pair(const Config& ca, const Config& cb) : a(ca), b(cb) {}

void Pair::sync_clocks() {
    Instant t = a.now > b.now ? a.now : b.now;
    a.now = b.now = t;
}

int Pair::pump(int max_rounds) {
    int delivered = 0;
    for (int round = 0; round < max_rounds; ++round) {
        if (a.sent.empty() && b.sent.empty()) break;
        // Deliver in rounds: everything a sent, then everything b sent.
        std::deque<Sent> from_a, from_b;
        from_a.swap(a.sent);
        from_b.swap(b.sent);
        for (const Sent& s : from_a) {
            trace.push_back({'a', s});
            if (lose && lose('a', s)) continue;
            b.inject(to_segment(s));
            ++delivered;
        }
        for (const Sent& s : from_b) {
            trace.push_back({'b', s});
            if (lose && lose('b', s)) continue;
            a.inject(to_segment(s));
            ++delivered;
        }
    }
    return delivered;
}

void Pair::advance(Duration d) {
    sync_clocks();
    const Instant target = a.now + d;
    for (;;) {
        auto ta = a.next_timer();
        auto tb = b.next_timer();
        if ((!ta || ta->first > target) && (!tb || tb->first > target)) break;
        if (ta && ta->first <= target && (!tb || tb->first > target || ta->first <= tb->first)) {
            b.now = ta->first;
            a.fire(ta->second, ta->first);
        } else {
            a.now = tb->first;
            b.fire(tb->second, tb->first);
        }
        pump();
    }
    a.now = b.now = target;
}

}  // namespace sluice::tcp::test
