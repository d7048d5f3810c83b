// Replays the committed seed corpora and every saved crash (fuzz/regressions/<harness>/)
// through the harnesses, without libFuzzer. Each harness's regressions folder holds at least
// a frozen copy of its seeds (seed_*), so each replay runs something. A crash found by a campaign is minimized
// (-minimize_crash=1), saved under fuzz/regressions/<harness>/, and from then on fails here
// until the bug is fixed. A failed harness check aborts with its message.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace sluice::fuzz {
int fuzz_wire_one(const uint8_t* data, size_t size);
int fuzz_tcp_options_one(const uint8_t* data, size_t size);
int fuzz_tcp_connection_one(const uint8_t* data, size_t size);
int fuzz_tcp_listener_one(const uint8_t* data, size_t size);
}  // namespace sluice::fuzz

namespace {

namespace fs = std::filesystem;
using Harness = int (*)(const uint8_t*, size_t);

// Runs every file under fuzz/<sub>/<harness>/ (sorted, so failures are reproducible);
// returns how many. A missing folder fails the test: replaying nothing proves nothing.
size_t replay(const std::string& sub, const std::string& harness, Harness fn) {
    const fs::path dir = fs::path(SLUICE_FUZZ_DIR) / sub / harness;
    if (!fs::is_directory(dir)) {
        ADD_FAILURE() << dir << " is missing";
        return 0;
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.')
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& p : files) {
        SCOPED_TRACE(p.string());
        std::ifstream in(p, std::ios::binary);
        const std::vector<uint8_t> data{std::istreambuf_iterator<char>(in), {}};
        // In a child: a harness check or a lib/tcp invariant aborts, and the other files
        // must still run.
        EXPECT_EXIT(std::exit(fn(data.data(), data.size())), ::testing::ExitedWithCode(0), "");
    }
    return files.size();
}

TEST(FuzzCorpus, Wire) {
    EXPECT_GT(replay("corpus", "fuzz_wire", sluice::fuzz::fuzz_wire_one), 0u);
}
TEST(FuzzCorpus, TcpOptions) {
    EXPECT_GT(replay("corpus", "fuzz_tcp_options", sluice::fuzz::fuzz_tcp_options_one), 0u);
}
TEST(FuzzCorpus, TcpConnection) {
    EXPECT_GT(replay("corpus", "fuzz_tcp_connection", sluice::fuzz::fuzz_tcp_connection_one), 0u);
}

TEST(FuzzCorpus, TcpListener) {
    EXPECT_GT(replay("corpus", "fuzz_tcp_listener", sluice::fuzz::fuzz_tcp_listener_one), 0u);
}

TEST(FuzzRegressions, Wire) {
    EXPECT_GT(replay("regressions", "fuzz_wire", sluice::fuzz::fuzz_wire_one), 0u);
}
TEST(FuzzRegressions, TcpOptions) {
    EXPECT_GT(replay("regressions", "fuzz_tcp_options", sluice::fuzz::fuzz_tcp_options_one), 0u);
}
TEST(FuzzRegressions, TcpConnection) {
    EXPECT_GT(replay("regressions", "fuzz_tcp_connection", sluice::fuzz::fuzz_tcp_connection_one), 0u);
}
TEST(FuzzRegressions, TcpListener) {
    EXPECT_GT(replay("regressions", "fuzz_tcp_listener", sluice::fuzz::fuzz_tcp_listener_one), 0u);
}

}  // namespace

// --- the crashes of fuzz/regressions/fuzz_tcp_connection/, as scripted exchanges ----------

#include "mbuf_env.hpp"
#include "tcp/connection.hpp"

namespace {

using namespace sluice;
using namespace std::chrono_literals;
using tcp::Flags;
using tcp::State;
using wire::SeqNum;

const tcp::Endpoint kLocal{tcp::Address::ipv4(198, 18, 0, 1), 49152};
const tcp::Endpoint kRemote{tcp::Address::ipv4(198, 18, 0, 2), 80};

// Just enough host: one connection, a clock, and the Retransmit deadline.
struct MiniHost {
    explicit MiniHost(const tcp::Config& c)
        : cfg(c), conn(cfg, {&sluice::fuzz::pools(), c.send_buffer, c.recv_buffer}) {}
    void take(tcp::Effects& fx) {
        const tcp::TimerOp& rto = fx.timer(tcp::TimerKind::Retransmit);
        if (rto.action == tcp::TimerAction::Arm) rto_at = rto.at;
        fx.clear();
    }
    void inject(uint32_t seq, uint32_t ack, Flags f, size_t len = 0, uint16_t window = 8192,
                wire::TcpOptions o = {}) {
        const std::vector<uint8_t> payload(len, 'x');
        tcp::Segment s;
        s.src_port = kRemote.port;
        s.dst_port = kLocal.port;
        s.seq = SeqNum(seq);
        s.ack = SeqNum(ack);
        s.flags = f;
        s.window = window;
        s.options = o;
        s.payload = payload;
        tcp::Effects fx;
        conn.on_segment(s, now, fx);
        take(fx);
    }
    bool ok() const {
        const char* why = "";
        if (conn.check_invariants(&why)) return true;
        std::fprintf(stderr, "invariant: %s\n", why);
        return false;
    }
    tcp::Config cfg;
    tcp::Connection conn;
    time::Instant now = time::Instant::from_ns(1'000'000'000);
    time::Instant rto_at;
};

tcp::Config plain() {
    tcp::Config c;
    c.window_scaling = c.sack_permitted = c.timestamps = false;
    c.send_buffer = c.recv_buffer = 4096;
    return c;
}

// Each scenario runs in a child: with -Dinvariants=true lib/tcp aborts inside the call.
#define EXPECT_SURVIVES(body) \
    EXPECT_EXIT(              \
        {                     \
            body;             \
            std::exit(0);     \
        },                    \
        ::testing::ExitedWithCode(0), "")

// close_in_syn_received_cwnd_zero: simultaneous open, then close() in SYN-RECEIVED goes to
// FIN-WAIT-1 without passing ESTABLISHED, where congestion control is initialised: cwnd
// stays 0 in a synchronized state ("cwnd below one MSS").
TEST(FuzzRegression, CloseInSynReceivedInitialisesCongestionControl) {
    EXPECT_SURVIVES({
        MiniHost h(plain());
        tcp::Effects fx;
        h.conn.open_active({kLocal, kRemote}, SeqNum(100), h.now, fx);
        h.take(fx);
        h.inject(300, 0, Flags::Syn);  // their SYN crosses ours
        if (h.conn.state() != State::SynReceived) std::exit(2);
        h.conn.close(h.now, fx);
        h.take(fx);
        if (!h.ok()) std::exit(1);
    });
}

// wscale14_window_beyond_buffer: with window_scale 14 and a 4 KiB receive buffer, the SYN
// advertises 4096 unscaled; the next ACK cannot express 4096 in units of 16 KiB and, not
// to shrink the window, rounds up to 16384: the peer may send 4x what fits.
TEST(FuzzRegression, ScaledWindowNeverExceedsTheReceiveBuffer) {
    EXPECT_SURVIVES({
        tcp::Config c = plain();
        c.window_scaling = true;
        c.window_scale = 14;
        MiniHost h(c);
        h.conn.open_passive({kLocal, kRemote}, SeqNum(100));
        wire::TcpOptions ws;
        ws.has_wscale = true;
        ws.wscale = 0;
        h.inject(300, 0, Flags::Syn, 0, 8192, ws);
        h.inject(301, 101, Flags::Ack);
        if (h.conn.state() != State::Established) std::exit(2);
        h.inject(301 + 100000, 101, Flags::Ack);  // unacceptable: answered by an ACK
        const auto st = h.conn.status();
        std::fprintf(stderr, "rcv_wnd %u, buffer %zu\n", st.rcv_wnd, size_t(h.cfg.recv_buffer));
        if (st.rcv_wnd > size_t(h.cfg.recv_buffer) || !h.ok()) std::exit(1);
    });
}

// close_then_data_leaves_ooo_range: out-of-order data is queued, the application closes,
// then the in-order data arrives and is acknowledged and discarded (RCV.NXT += len) while
// the queued range stays: it now starts at RCV.NXT ("reassembly range outside the receive
// window or overlapping").
TEST(FuzzRegression, DataAfterCloseDropsQueuedOutOfOrderRanges) {
    EXPECT_SURVIVES({
        MiniHost h(plain());
        h.conn.open_passive({kLocal, kRemote}, SeqNum(100));
        h.inject(300, 0, Flags::Syn);
        h.inject(301, 101, Flags::Ack);
        h.inject(314, 101, Flags::Ack, 13);  // a hole of 13 bytes at 301
        tcp::Effects fx;
        h.conn.close(h.now, fx);  // FIN 101
        h.take(fx);
        if (h.conn.state() != State::FinWait1) std::exit(2);
        h.inject(301, 102, Flags::Ack, 13);  // fills the hole, ACKs our FIN
        if (!h.ok()) std::exit(1);
    });
}

// fin_with_ooo_data_beyond_it: data past a hole is queued, then the peer's FIN arrives at
// RCV.NXT: RCV.NXT += 1 for the FIN, but the queued range (past the end of the stream) is
// kept and now starts at RCV.NXT ("reassembly range outside the receive window or
// overlapping" in CLOSE-WAIT; later FIN-WAIT-2 / TIME-WAIT on the active side).
TEST(FuzzRegression, FinAtRcvNxtDropsOutOfOrderDataBeyondIt) {
    EXPECT_SURVIVES({
        MiniHost h(plain());
        h.conn.open_passive({kLocal, kRemote}, SeqNum(100));
        h.inject(300, 0, Flags::Syn);
        h.inject(301, 101, Flags::Ack);
        h.inject(302, 101, Flags::Ack, 19);  // a hole of 1 byte at 301
        h.inject(301, 101, Flags::Fin | Flags::Ack);
        if (h.conn.state() != State::CloseWait) std::exit(2);
        if (!h.ok()) std::exit(1);
    });
}

// ack_of_fin_leaves_rtx_queue: an RTO queues [SND.UNA, SND.MAX) for retransmission, the
// application closes, and one ACK covers all data and the FIN: SND.UNA jumps past the
// queue, which is not trimmed ("retransmission queue outside [SND.UNA, SND.MAX]").
TEST(FuzzRegression, AckPastTheRetransmissionQueueEmptiesIt) {
    EXPECT_SURVIVES({
        tcp::Config c = plain();
        c.nagle = false;  // both segments go out before the RTO
        MiniHost h(c);
        tcp::Effects fx;
        h.conn.open_active({kLocal, kRemote}, SeqNum(100), h.now, fx);
        h.take(fx);
        h.inject(300, 101, Flags::Syn | Flags::Ack);
        const std::vector<uint8_t> data(1000, 'y');
        h.conn.send(data, h.now, fx);  // two segments of the default 536-byte MSS
        h.take(fx);
        h.now = h.rto_at;
        h.conn.on_timer(tcp::TimerKind::Retransmit, h.now, fx);
        h.take(fx);
        h.conn.close(h.now, fx);  // the FIN waits: after the RTO cwnd is one segment
        h.take(fx);
        h.inject(301, 1101, Flags::Ack);  // all the data at once: SND.UNA jumps past the queue
        if (!h.ok()) std::exit(1);
        h.inject(301, 1102, Flags::Ack);  // and the FIN, sent once the window opened
        if (h.conn.state() != State::FinWait2) std::exit(2);
        if (!h.ok()) std::exit(1);
    });
}

}  // namespace
