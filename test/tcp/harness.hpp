#pragma once
// Scripted-exchange harness for the TCP core: a test host around one Connection with a
// virtual clock, the timers it reported, and the segments and events it produced; and a
// back-to-back pair of two hosts wired together.
//
// Tests read like a packet trace:
//     inject({.seq = 300, .ack = 101, .flags = Flags::Syn | Flags::Ack});
//     expect_sent({.seq = 101, .ack = 301, .flags = Flags::Ack});
//     expect_state(State::Established);
//     advance(2 * cfg.msl);

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "tcp/connection.hpp"

namespace sluice::tcp::test {

using namespace std::chrono_literals;
using time::Duration;
using time::Instant;
using wire::SeqNum;

inline const Endpoint kLocal{Address::ipv4(198, 18, 0, 1), 49152};
inline const Endpoint kRemote{Address::ipv4(198, 18, 0, 2), 80};
inline const FourTuple kTuple{kLocal, kRemote};
inline const FourTuple kPeerTuple{kRemote, kLocal};

// The numbers of RFC 9293's figures: we start at 100, the peer at 300.
inline constexpr uint32_t kIss = 100;
inline constexpr uint32_t kIrs = 300;
inline constexpr std::size_t kBuf = 4096;

// A plain configuration: no options, so traces only show what a test is about; an ACK for
// every segment at once and no Nagle (delayed_ack_test.cpp and nagle_test.cpp turn them on).
inline Config plain_config() {
    Config c;
    c.window_scaling = false;
    c.sack_permitted = false;
    c.timestamps = false;
    c.delayed_ack = false;
    c.nagle = false;
    c.send_buffer = kBuf;
    c.recv_buffer = kBuf;
    return c;
}

// The state-machine suite runs every transition test twice (issue 18): Plain as above, and
// Full with window scaling, SACK, timestamps and delayed ACK on. In Full the test host
// plays a peer that uses them too (Host::auto_peer_options): its SYNs offer WS 2, SACK and
// TSopt, and every later segment carries TSopt echoing our last TSval; expect_sent() lets a
// delayed ACK's timer run out before it looks.
enum class Profile : uint8_t { Plain, Full };
Config profile_config(Profile p);
std::string profile_name(const ::testing::TestParamInfo<Profile>& info);
inline void PrintTo(Profile p, std::ostream* os) {
    *os << (p == Profile::Full ? "Full" : "Plain");
}
// The window scale the Full peer offers: a shift it applies nowhere else, so a window that
// is (or is not) scaled where RFC 7323 2.2 says shows.
inline constexpr uint8_t kPeerWindowScale = 2;

// A segment from the peer, as written in a test.
struct In {
    uint32_t seq = 0;
    uint32_t ack = 0;
    Flags flags;
    uint16_t window = 8192;
    wire::TcpOptions options{};
    std::string_view payload{};
};

// What the connection should send. Unset optionals are not checked; flags and payload are.
struct Out {
    std::optional<uint32_t> seq;
    std::optional<uint32_t> ack;
    Flags flags;
    std::optional<uint16_t> window;
    std::string_view payload{};
    std::optional<wire::TcpOptions> options;  // compared on the fields a SYN/TS carries
};

// A sent segment with its payload copied out of the connection's buffer.
struct Sent {
    OutSegment seg;
    std::string payload;
};

std::string describe(const OutSegment& s, std::string_view payload);

// The data pool all test connections share (created on first use) and its in-use count;
// every Host checks, when the last one goes, that every mbuf came back.
BufferPools& test_pools();
// A pool standing in for a NIC's RX pool (frames injected with Host::frames set).
rte_mempool* test_rx_pool();
unsigned mbufs_in_use();
bool frames_by_default();
std::string describe(const Out& o);

class Host {
public:
    explicit Host(const Config& cfg = plain_config(), std::size_t sndbuf = kBuf,
                  std::size_t rcvbuf = kBuf, BufferPools* pools = nullptr);
    ~Host();
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;

    // Take the output of one call: segments, events, timer changes; check the invariants.
    void absorb(Effects& fx);
    void inject(const Segment& seg);
    void inject(const In& in, uint16_t src_port = kRemote.port, uint16_t dst_port = kLocal.port);
    // Full profile: the options the peer adds to a segment written without any (see Profile).
    void fill_peer_options(Segment& s);
    // Move the clock to now + d, firing due timers in deadline order.
    void advance(Duration d);
    // The earliest armed timer, if any.
    std::optional<std::pair<Instant, TimerKind>> next_timer() const;
    void fire(TimerKind k, Instant at);

    bool has_timer(TimerKind k) const { return timers[static_cast<std::size_t>(k)].has_value(); }
    Instant timer_at(TimerKind k) const { return *timers[static_cast<std::size_t>(k)]; }

    Config cfg;
    Stats stats;
    // Injected payload arrives in an mbuf of test_rx_pool() (as from a NIC, which the
    // connection may keep by reference) instead of a plain span (which it copies).
    // Default: the environment variable SLUICE_TEST_FRAMES=1 (the 'tcp-frames' test runs
    // every scripted exchange that way).
    bool frames = frames_by_default();
    bool auto_peer_options = false;  // Profile::Full
    uint32_t peer_ts = 1000;         // the Full peer's TSval clock: one tick per segment
    uint32_t last_ts_sent = 0;       // our last TSval, which the Full peer echoes
    Connection conn;
    Instant now = Instant::from_ns(1'000'000'000);  // t = 1 s: a non-zero epoch
    std::deque<Sent> sent;
    std::deque<Event> events;
    std::array<std::optional<Instant>, kTimerKindCount> timers{};
};

// The base fixture: one host, the connection under test.
class TcpTest : public ::testing::Test {
protected:
    explicit TcpTest(const Config& cfg = plain_config(), std::size_t sndbuf = kBuf,
                     std::size_t rcvbuf = kBuf)
        : h(cfg, sndbuf, rcvbuf) {}
    explicit TcpTest(Profile p) : h(profile_config(p)) { h.auto_peer_options = p == Profile::Full; }
    bool full() const { return h.auto_peer_options; }
    void TearDown() override;

    void inject(const In& in) { h.inject(in); }
    void advance(Duration d) { h.advance(d); }
    void expect_sent(const Out& o, const char* file = __builtin_FILE(),
                     int line = __builtin_LINE());
    void expect_nothing_sent(const char* file = __builtin_FILE(), int line = __builtin_LINE());
    void expect_state(State s, const char* file = __builtin_FILE(), int line = __builtin_LINE());
    void expect_event(EventKind k, const char* file = __builtin_FILE(),
                      int line = __builtin_LINE());
    void expect_closed(CloseReason r, const char* file = __builtin_FILE(),
                       int line = __builtin_LINE());
    void expect_no_event(EventKind k, const char* file = __builtin_FILE(),
                         int line = __builtin_LINE());
    void clear_events() { h.events.clear(); }

    // User calls with the host's clock and sink.
    Error open_active(uint32_t iss = kIss);
    Error open_passive(uint32_t iss = kIss);
    IoResult send(std::string_view data);
    std::string receive(std::size_t max = 65536);
    Error close();
    Error shutdown_send();
    Error abort();

    // Fixtures reached through real exchanges (and checked along the way).
    void to_established_active(const wire::TcpOptions& peer_opts = {}, uint16_t peer_window = 8192);
    void expect_profile_negotiated();
    void to_established_passive(const wire::TcpOptions& peer_opts = {},
                                uint16_t peer_window = 8192);
    void to_fin_wait_1();  // active close with nothing outstanding: FIN 101 sent
    void to_fin_wait_2();
    void to_close_wait();  // the peer's FIN 301 acknowledged
    void to_last_ack();
    void to_time_wait();  // FIN-WAIT-2 + the peer's FIN

    Host h;
};

// A state-machine fixture run once per Profile (TEST_P; instantiate with kProfiles).
class StateTest : public TcpTest, public ::testing::WithParamInterface<Profile> {
protected:
    StateTest() : TcpTest(GetParam()) {}
};
#define SLUICE_BOTH_PROFILES(Fixture)                                                     \
    INSTANTIATE_TEST_SUITE_P(, Fixture, ::testing::Values(Profile::Plain, Profile::Full), \
                             profile_name)

// Two connections wired back to back; `a` and `b` share one virtual clock.
class Pair {
public:
    explicit Pair(const Config& ca = plain_config(), const Config& cb = plain_config());
    // Deliver everything in flight in both directions until both are quiet. Returns the
    // number of segments delivered. `lose` may drop segments (returns true to drop).
    int pump(int max_rounds = 100);
    void advance(Duration d);
    void sync_clocks();

    Host a, b;
    std::vector<std::pair<char, Sent>> trace;  // 'a' = a -> b, 'b' = b -> a
    std::function<bool(char from, const Sent&)> lose;
};

Segment to_segment(const Sent& s);
std::string to_string(std::span<const uint8_t> b);
std::string to_string(const PayloadRef& p);

}  // namespace sluice::tcp::test
