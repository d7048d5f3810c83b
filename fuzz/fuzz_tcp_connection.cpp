// fuzz_tcp_connection: the input is a program (tcp_program.hpp) run against one connection,
// opened actively or cloned from a listener. Steps inject segments, move a virtual clock
// (firing due timers as a host would), and make user calls. After every step the harness
// checks what a host relies on:
//   - check_invariants(), a valid state, and only RFC 9293 transitions (Stats matrix);
//   - the Effects sink within bounds, one event per kind, the host's timers = the TCB's;
//   - emitted payload inside the send buffer, no larger than the MSS, with the bytes the
//     application queued at those sequence numbers, and no hole in what was sent;
//   - after every input, every mbuf back in its pool (payload arrives as a plain span or,
//     for odd sequence numbers, inside an RX mbuf the connection may keep by reference);
//   - receive() returns the peer's bytes in order;
//   - CLOSED is always announced by Release (or the host would leak the TCB), and a TCB
//     in TIME-WAIT answers exactly like its TimeWaitEntry would.
// Connections and their buffers are freed on Release and reopened, so ASan's leak check
// covers the host's life cycle.

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "common.hpp"
#include "mbuf_env.hpp"
#include "tcp/connection.hpp"
#include "tcp_program.hpp"

namespace sluice::fuzz {
namespace {

using namespace std::chrono_literals;
using tcp::Connection;
using tcp::Effects;
using tcp::EventKind;
using tcp::Flags;
using tcp::State;
using tcp::TimerAction;
using tcp::TimerKind;
using time::Duration;
using time::Instant;
using wire::SeqNum;

#define CHECK SLUICE_FUZZ_CHECK

const tcp::Endpoint kLocal{tcp::Address::ipv4(198, 18, 0, 1), 49152};
const tcp::Endpoint kRemote{tcp::Address::ipv4(198, 18, 0, 2), 80};
const tcp::FourTuple kTuple{kLocal, kRemote};

// Stream contents as a function of the sequence number, so retransmitted or overlapping
// bytes agree and receive()/emitted payloads can be checked byte by byte.
uint8_t out_byte(uint32_t seq) {
    return uint8_t(seq + (seq >> 8) * 7 + (seq >> 16) * 13);
}
uint8_t in_byte(uint32_t seq) {
    return uint8_t(seq * 3 + (seq >> 8) * 11 + (seq >> 16) * 5);
}

constexpr Duration kAdvanceTable[] = {
    0ns, 1ms, 10ms, 200ms, 500ms, 999ms, 1s,   2s,   3s,    7s,
    15s, 31s, 59s,  60s,   61s,   75s,   120s, 127s, 7200s, 7275s,
};

// RFC 9293 3.3.2 (Figure 5) plus the documented extras: any state -> CLOSED on abort, RST
// or timeout; SYN-RECEIVED -> LISTEN for a passive open; CLOSE in SYN-RECEIVED ->
// FIN-WAIT-1; a FIN in SYN-RECEIVED -> CLOSE-WAIT.
bool legal_transition(State from, State to) {
    using S = State;
    if (to == S::Closed) return from != S::Closed;
    switch (from) {
        case S::Closed: return to == S::Listen || to == S::SynSent;
        case S::Listen: return to == S::SynReceived;
        case S::SynSent: return to == S::SynReceived || to == S::Established;
        case S::SynReceived:
            return to == S::Established || to == S::Listen || to == S::FinWait1 ||
                   to == S::CloseWait;
        case S::Established: return to == S::FinWait1 || to == S::CloseWait;
        case S::FinWait1: return to == S::FinWait2 || to == S::Closing || to == S::TimeWait;
        case S::FinWait2: return to == S::TimeWait;
        case S::CloseWait: return to == S::LastAck;
        case S::Closing: return to == S::TimeWait;
        case S::LastAck: return false;
        case S::TimeWait: return false;
    }
    return false;
}

// One connection with the storage a host gives it.
struct Slot {
    Slot(const tcp::Config& cfg, tcp::Stats* stats, size_t snd, size_t rcv)
        : sbuf(snd), rbuf(rcv), conn(cfg, tcp::Buffers{&pools(), snd, rcv}, stats) {}
    size_t sbuf, rbuf;  // the buffer budgets
    Connection conn;
    // Oracles for this connection's streams.
    bool high_valid = false;
    SeqNum high;  // one past the highest sequence number emitted
    bool read_valid = false;
    SeqNum read_seq;  // sequence number of the next byte receive() returns
};

class Driver {
public:
    Driver(const uint8_t* data, size_t size) : r_(data, size) {
        const uint8_t setup = r_.u8();
        const uint8_t sizes = r_.u8();
        passive_ = setup & prog::kPassive;
        swap_tw_ = setup & prog::kSwapTimeWait;
        keepalive_ = setup & prog::kKeepalive;
        cfg_.timestamps = setup & prog::kTimestamps;
        cfg_.window_scaling = setup & prog::kWindowScale;
        cfg_.sack_permitted = setup & prog::kSack;
        cfg_.time_wait_ignores_rst = !(setup & prog::kRfc1337Off);
        if (setup & prog::kSmallMss) cfg_.mss = 100;
        cfg_.window_scale = uint8_t((sizes & 0x0f) % 15);
        cfg_.recv_buffer = prog::kBufferSizes[(sizes >> 4) & 3];
        cfg_.send_buffer = prog::kBufferSizes[(sizes >> 6) & 3];
        iss_ = SeqNum(r_.u32());
        peer_iss_ = SeqNum(r_.u32());
        if (passive_) {
            listener_ = make_slot();
            CHECK(listener_->conn.open_passive({kLocal, {}}, iss_) == tcp::Error::None);
        }
        open();
    }

    void run() {
        // SLUICE_FUZZ_TRACE=1: one line per step, for diagnosing a saved input.
        static const bool trace = std::getenv("SLUICE_FUZZ_TRACE") != nullptr;
        for (int steps = 0; steps < 512 && !r_.empty(); ++steps) {
            before_ = stats_.transitions;
            // The flow's next connection opens at the next step, so one long Advance does
            // not churn through dozens of SYN time-outs and reopens.
            if (!conn_ && !tw_) reopen();
            const auto op = static_cast<prog::Op>(r_.u8() % prog::kOpCount);
            if (trace) trace_step(steps, op, "before");
            step(op);
            if (trace) trace_step(steps, op, "after");
            after_step();
        }
        // Tear down as a host would: everything it holds is freed (ASan checks the rest).
        conn_.reset();
        listener_.reset();
    }

private:
    void trace_step(int n, prog::Op op, const char* when) const {
        std::fprintf(stderr, "step %d op %d %s: t=%lld ", n, int(op), when,
                     static_cast<long long>(now_.ns() / 1'000'000));
        if (tw_) {
            std::fprintf(stderr, "TW-entry snd_nxt=%u rcv_nxt=%u\n", tw_->snd_nxt.raw(),
                         tw_->rcv_nxt.raw());
        } else if (conn_) {
            const tcp::Tcb& t = conn_->conn.tcb();
            std::fprintf(
                stderr, "%s iss=%u una=%u nxt=%u max=%u rcv_nxt=%u snd_wnd=%u high=%u armed=%x\n",
                tcp::state_name(t.state).data(), t.iss.raw(), t.snd_una.raw(), t.snd_nxt.raw(),
                t.snd_max.raw(), t.rcv_nxt.raw(), t.snd_wnd, conn_->high.raw(), t.armed);
        }
    }

    std::unique_ptr<Slot> make_slot() {
        return std::make_unique<Slot>(cfg_, &stats_, cfg_.send_buffer, cfg_.recv_buffer);
    }

    // A fresh connection: active open or a clone of the listener. The host's timers start
    // empty, like a freshly allocated wheel node per kind.
    void open() {
        conn_ = make_slot();
        timers_ = {};
        Effects fx;
        if (passive_) {
            CHECK(conn_->conn.clone_listener(listener_->conn, kTuple) == tcp::Error::None);
            CHECK(conn_->conn.state() == State::Listen);
        } else {
            CHECK(conn_->conn.open_active(kTuple, iss_, now_, fx) == tcp::Error::None);
            CHECK(conn_->conn.state() == State::SynSent);
            drain(fx);
        }
        if (keepalive_ && conn_) {
            fx.clear();
            conn_->conn.set_keepalive(true, now_, fx);
            drain(fx);
        }
    }

    // After Release or the end of a TIME-WAIT entry: the next connection of this flow.
    void reopen() {
        iss_ = iss_ + 0x01000193u;
        open();
    }

    void step(prog::Op op) {
        switch (op) {
            case prog::Inject:
            case prog::Inject2:
            case prog::Inject3:
            case prog::Inject4: inject(); break;
            case prog::Advance: {
                const uint8_t sel = r_.u8();
                const Duration d = sel >= 0xc0 ? Duration(std::chrono::microseconds(r_.u32()))
                                               : kAdvanceTable[sel % std::size(kAdvanceTable)];
                advance_to(now_ + d);
                break;
            }
            case prog::FireNext:
                if (auto t = next_deadline()) advance_to(*t);
                break;
            case prog::Send: send(payload_len(r_.u8())); break;
            case prog::Receive: {
                const uint8_t sel = r_.u8();
                receive(sel < 200 ? sel : size_t(sel - 200) * 512);
                break;
            }
            case prog::Close:
                user_call([](Connection& c, Instant n, Effects& fx) { c.close(n, fx); });
                break;
            case prog::ShutdownSend:
                user_call([](Connection& c, Instant n, Effects& fx) { c.shutdown_send(n, fx); });
                break;
            case prog::Abort:
                user_call([](Connection& c, Instant n, Effects& fx) { c.abort(n, fx); });
                break;
            case prog::Keepalive: {
                const bool on = r_.u8() & 1;
                user_call(
                    [on](Connection& c, Instant n, Effects& fx) { c.set_keepalive(on, n, fx); });
                break;
            }
            case prog::StaleTimer: stale_timer(static_cast<TimerKind>(r_.u8() % 6)); break;
            case prog::Status: status(); break;
            case prog::PollOutput:
                user_call([](Connection& c, Instant n, Effects& fx) { c.poll_output(n, fx); });
                break;
            case prog::kOpCount: break;
        }
    }

    template <typename F>
    void user_call(F f) {
        if (!conn_) return;  // only a TIME-WAIT entry is left
        Effects fx;
        f(conn_->conn, now_, fx);
        drain(fx);
    }

    // --- segments ---------------------------------------------------------------------------

    static int32_t delta(uint8_t sel) { return (sel & 31) < 16 ? (sel & 31) : (sel & 31) - 32; }

    SeqNum pick_seq() {
        const uint8_t sel = r_.u8();
        SeqNum rcv_nxt = peer_iss_, irs = peer_iss_, rcv_adv = peer_iss_;
        constexpr tcp::StateSet kNoIrs{State::Closed, State::Listen, State::SynSent};
        if (conn_ && !kNoIrs.contains(conn_->conn.state())) {
            rcv_nxt = conn_->conn.tcb().rcv_nxt;
            rcv_adv = conn_->conn.tcb().rcv_adv;
            irs = conn_->conn.tcb().irs;
        } else if (tw_) {
            rcv_nxt = rcv_adv = tw_->rcv_nxt;
            irs = tw_->rcv_nxt - 1;
        }
        SeqNum base;
        switch (static_cast<prog::SeqBase>(sel >> 5)) {
            case prog::SeqRcvNxt:
            case prog::SeqRcvNxt2: base = rcv_nxt; break;
            case prog::SeqPeerIss: base = peer_iss_; break;
            case prog::SeqRcvAdv: base = rcv_adv; break;
            case prog::SeqPeerIssNext: base = peer_iss_ + 1; break;
            case prog::SeqIrs: base = irs; break;
            case prog::SeqFar: base = rcv_nxt + uint32_t{r_.u16()} * 256; break;
            case prog::SeqRaw: return SeqNum(r_.u32());
        }
        return base + uint32_t(delta(sel));
    }

    SeqNum pick_ack() {
        const uint8_t sel = r_.u8();
        tcp::Tcb t;
        if (conn_) {
            t = conn_->conn.tcb();
        } else if (tw_) {
            t.snd_una = t.snd_nxt = t.snd_max = tw_->snd_nxt;
            t.iss = tw_->snd_nxt - 1;
        }
        SeqNum base;
        switch (static_cast<prog::AckBase>(sel >> 5)) {
            case prog::AckSndNxt: base = t.snd_nxt; break;
            case prog::AckSndUna: base = t.snd_una; break;
            case prog::AckSndMax: base = t.snd_max; break;
            case prog::AckIssNext: base = t.iss + 1; break;
            case prog::AckBelowWindow: base = t.snd_una - t.max_snd_wnd; break;
            case prog::AckFar: base = t.snd_nxt + uint32_t{r_.u16()} * 256; break;
            case prog::AckIss: base = t.iss; break;
            case prog::AckRaw: return SeqNum(r_.u32());
        }
        return base + uint32_t(delta(sel));
    }

    static size_t payload_len(uint8_t sel) { return sel < 128 ? sel : size_t(sel - 128) * 80; }

    void inject() {
        tcp::Segment seg;
        seg.src_port = kRemote.port;
        seg.dst_port = kLocal.port;
        const uint8_t fsel = r_.u8();
        seg.flags = Flags{(fsel & 0x80) ? r_.u8() : prog::kFlagTable[fsel % 16]};
        seg.seq = pick_seq();
        seg.ack = pick_ack();
        const uint8_t wsel = r_.u8();
        seg.window = wsel == 0xff ? r_.u16() : uint16_t(wsel << 8);
        const uint8_t osel = r_.u8();
        wire::TcpOptions& o = seg.options;
        if (osel & prog::kOptMss) {
            o.has_mss = true;
            o.mss = r_.u16();
        }
        if (osel & prog::kOptWs) {
            o.has_wscale = true;
            o.wscale = r_.u8();
        }
        o.sack_permitted = osel & prog::kOptSackOk;
        if (osel & prog::kOptTs) {
            o.has_timestamps = true;
            const uint8_t tsel = r_.u8();
            peer_ts_ = tsel < 0xf0 ? peer_ts_ + tsel : r_.u32();
            o.ts_val = peer_ts_;
            o.ts_ecr = (osel & prog::kOptEcrRaw) ? r_.u32() : our_ts_;
        }
        if (osel & prog::kOptSack) {
            const SeqNum una = conn_ ? conn_->conn.tcb().snd_una : SeqNum();
            o.sack_count = uint8_t(r_.u8() % wire::TcpOptions::kMaxSackBlocks + 1);
            for (uint8_t i = 0; i < o.sack_count; ++i) {
                o.sack[i].left = una + r_.u16();
                o.sack[i].right = o.sack[i].left + r_.u16();
            }
        }
        payload_.resize(payload_len(r_.u8()));
        // A SYN occupies SEG.SEQ: its data starts one later.
        const SeqNum first = seg.seq + (seg.flags.has(Flags::Syn) ? 1u : 0u);
        for (size_t i = 0; i < payload_.size(); ++i)
            payload_[i] = in_byte(first.raw() + uint32_t(i));
        seg.payload = payload_;
        deliver(seg);
    }

    // The flow layer's dispatch: to the TIME-WAIT entry if the TCB was swapped for one,
    // else to the connection.
    void deliver(const tcp::Segment& seg) {
        static const bool trace = std::getenv("SLUICE_FUZZ_TRACE") != nullptr;
        if (trace)
            std::fprintf(stderr, "  in <SEQ=%u><ACK=%u><CTL=%s><WND=%u> len %zu sack=%u ts=%d\n",
                         seg.seq.raw(), seg.ack.raw(), tcp::to_string(seg.flags).c_str(),
                         seg.window, seg.payload.size(), seg.options.sack_count,
                         int(seg.options.has_timestamps));
        if (tw_) {
            deliver_to_entry(seg);
            return;
        }
        if (!conn_) return;
        Connection& c = conn_->conn;
        // A TCB in TIME-WAIT must answer exactly like its compact entry.
        std::optional<tcp::TimeWaitResult> shadow;
        tcp::TimeWaitEntry entry;
        tcp::OutSegment shadow_reply;
        if (c.state() == State::TimeWait) {
            entry = c.time_wait_entry();
            shadow = tcp::time_wait_on_segment(entry, seg, now_, cfg_, shadow_reply);
        }
        Effects fx;
        // Odd sequence numbers: the payload inside an RX mbuf behind header bytes, as the
        // worker passes it (our reference dropped with rte_pktmbuf_free_seg afterwards).
        constexpr size_t kHeaders = 54;
        rte_mbuf* frame = nullptr;
        if ((seg.seq.raw() & 1) && !seg.payload.empty() &&
            seg.payload.size() + kHeaders <= RTE_MBUF_DEFAULT_DATAROOM)
            frame = rte_pktmbuf_alloc(rx_pool());
        if (frame != nullptr) {
            uint8_t* p = rte_pktmbuf_mtod(frame, uint8_t*);
            std::memset(p, 0xee, kHeaders);
            std::memcpy(p + kHeaders, seg.payload.data(), seg.payload.size());
            frame->data_len = uint16_t(kHeaders + seg.payload.size());
            frame->pkt_len = frame->data_len;
            tcp::Segment g = seg;
            g.payload = {p + kHeaders, seg.payload.size()};
            g.mbuf = frame;
            c.on_segment(g, now_, fx);
            rte_pktmbuf_free_seg(frame);
        } else {
            c.on_segment(seg, now_, fx);
        }
        if (shadow) {
            CHECK(shadow->action != tcp::TimeWaitAction::Ack || fx.segment_count == 1);
            CHECK(shadow->action == tcp::TimeWaitAction::Ack || fx.segment_count == 0);
            if (fx.segment_count == 1) {
                const tcp::OutSegment& s = fx.segments[0];
                CHECK(s.seq == shadow_reply.seq && s.ack == shadow_reply.ack &&
                      s.flags == shadow_reply.flags && s.window == shadow_reply.window);
            }
            const bool release = has_event(fx, EventKind::Release);
            CHECK(release == (shadow->action == tcp::TimeWaitAction::Close ||
                              shadow->action == tcp::TimeWaitAction::Reopen));
            CHECK(has_event(fx, EventKind::Reopen) ==
                  (shadow->action == tcp::TimeWaitAction::Reopen));
            if (shadow->restarted) {
                const tcp::TimerOp& op = fx.timer(TimerKind::TimeWait);
                CHECK(op.action == TimerAction::Arm && op.at == entry.deadline);
            }
        }
        drain(fx, &seg);
    }

    void deliver_to_entry(const tcp::Segment& seg) {
        tcp::OutSegment reply;
        const tcp::TimeWaitEntry before = *tw_;
        const tcp::TimeWaitResult res = tcp::time_wait_on_segment(*tw_, seg, now_, cfg_, reply);
        CHECK(res.action <= tcp::TimeWaitAction::Close);
        CHECK(tw_->snd_nxt == before.snd_nxt && tw_->rcv_nxt == before.rcv_nxt);
        CHECK(tw_->local_port == before.local_port && tw_->remote_port == before.remote_port);
        if (res.restarted)
            CHECK(tw_->deadline == now_ + 2 * cfg_.msl);
        else
            CHECK(tw_->deadline == before.deadline);
        switch (res.action) {
            case tcp::TimeWaitAction::Drop: break;
            case tcp::TimeWaitAction::Ack:
                CHECK(reply.src_port == kLocal.port && reply.dst_port == kRemote.port);
                CHECK(reply.flags.has(Flags::Ack) && !reply.flags.any(Flags::Rst | Flags::Syn));
                CHECK(reply.payload.empty());
                CHECK(reply.seq == tw_->snd_nxt && reply.ack == tw_->rcv_nxt);
                break;
            case tcp::TimeWaitAction::Reopen:
                CHECK(seg.flags.has(Flags::Syn));
                CHECK(res.iss_after == tw_->snd_nxt);
                tw_.reset();
                reopen_for_syn(seg, res.iss_after);
                break;
            case tcp::TimeWaitAction::Close:
                CHECK(seg.flags.has(Flags::Rst));
                tw_.reset();
                break;
        }
    }

    // TIME-WAIT accepted a new SYN (RFC 6191): a passive connection for this tuple takes
    // it, with an ISS above the old connection's.
    void reopen_for_syn(const tcp::Segment& syn, SeqNum iss_after) {
        conn_ = make_slot();
        timers_ = {};
        const SeqNum iss = tcp::reopen_iss(iss_ + 0x01000193u, iss_after);
        CHECK(iss > iss_after);
        iss_ = iss;
        CHECK(conn_->conn.open_passive(kTuple, iss) == tcp::Error::None);
        Effects fx;
        conn_->conn.on_segment(syn, now_, fx);
        drain(fx, &syn);
    }

    // --- timers -----------------------------------------------------------------------------

    std::optional<Instant> next_deadline() const {
        std::optional<Instant> best;
        if (tw_) return tw_->deadline;
        for (const auto& t : timers_)
            if (t && (!best || *t < *best)) best = *t;
        return best;
    }

    // Moves the clock to `target`, firing due timers in deadline order like the wheel.
    void advance_to(Instant target) {
        for (int fired = 0;; ++fired) {
            // A host loop that never ends is a finding too (a timer re-armed in the past).
            CHECK(fired < 100000);
            if (tw_) {
                if (tw_->deadline > target) break;
                now_ = std::max(now_, tw_->deadline);
                tw_.reset();  // 2MSL over: free the entry
                break;
            }
            if (!conn_) break;
            std::optional<std::pair<Instant, size_t>> best;
            for (size_t i = 0; i < timers_.size(); ++i)
                if (timers_[i] && (!best || *timers_[i] < best->first)) best = {{*timers_[i], i}};
            if (!best || best->first > target) break;
            now_ = std::max(now_, best->first);
            timers_[best->second].reset();
            // Reused: constructing an Effects (16 zeroed segments) per fire dominated the
            // profile. drain() leaves it cleared.
            Effects& fx = timer_fx_;
            fx.clear();
            conn_->conn.on_timer(static_cast<TimerKind>(best->second), now_, fx);
            drain(fx);
        }
        now_ = std::max(now_, target);
    }

    // on_timer for a kind that is not armed or not yet due is ignored: no output, no change.
    void stale_timer(TimerKind k) {
        if (!conn_) return;
        const Connection& c = conn_->conn;
        const size_t i = static_cast<size_t>(k);
        const bool armed = (c.tcb().armed >> i) & 1u;
        if (armed && c.tcb().deadline[i] <= now_) return;  // due: the host fires it itself
        const tcp::Tcb before = c.tcb();
        Effects fx;
        conn_->conn.on_timer(k, now_, fx);
        CHECK(fx.segment_count == 0 && fx.event_count == 0 && !fx.more_output);
        CHECK(fx.timer_changed == 0);
        CHECK(c.tcb() == before);
    }

    // --- user calls -------------------------------------------------------------------------

    void send(size_t len) {
        if (!conn_) return;
        Connection& c = conn_->conn;
        const size_t queued = c.status().send_queued;
        const SeqNum next = c.tcb().snd_buf_seq + uint32_t(queued);
        std::vector<uint8_t> data(len);
        for (size_t i = 0; i < len; ++i) data[i] = out_byte(next.raw() + uint32_t(i));
        Effects fx;
        const tcp::IoResult res = c.send(data, now_, fx);
        CHECK(res.bytes <= len && res.bytes <= conn_->sbuf - queued);
        CHECK(res.error <= tcp::Error::EndOfStream);
        CHECK(res.error == tcp::Error::None || res.bytes == 0);
        drain(fx);
    }

    void receive(size_t max) {
        if (!conn_) return;
        Connection& c = conn_->conn;
        const size_t queued = c.status().recv_queued;
        std::vector<uint8_t> out(max);
        Effects fx;
        const tcp::IoResult res = c.receive(out, now_, fx);
        CHECK(res.bytes <= max && res.bytes <= queued);
        CHECK(res.error <= tcp::Error::EndOfStream);
        CHECK(res.error == tcp::Error::None || res.bytes == 0);
        if (res.bytes > 0) {
            if (!conn_->read_valid) {
                conn_->read_valid = true;
                conn_->read_seq = c.tcb().irs + 1;
            }
            for (size_t i = 0; i < res.bytes; ++i)
                CHECK(out[i] == in_byte(conn_->read_seq.raw() + uint32_t(i)));
            conn_->read_seq += uint32_t(res.bytes);
        }
        drain(fx);
    }

    void status() {
        if (!conn_) return;
        const Connection& c = conn_->conn;
        const tcp::ConnectionStatus s = c.status();
        CHECK(s.state == c.state());
        CHECK(s.send_queued <= conn_->sbuf && s.recv_queued <= conn_->rbuf);
        CHECK(s.rcv_wnd <= conn_->rbuf);
        if (c.state() != State::Closed && c.state() != State::Listen) {
            CHECK(s.snd_una == c.tcb().snd_una && s.snd_nxt == c.tcb().snd_nxt &&
                  s.rcv_nxt == c.tcb().rcv_nxt);
        }
    }

    // --- after every call -------------------------------------------------------------------

    static bool has_event(const Effects& fx, EventKind k) {
        for (const tcp::Event& e : fx.app_events())
            if (e.kind == k) return true;
        return false;
    }

    // Takes one call's output as the host would: segments, timers, then (after more_output
    // rounds) the events, which may free or replace the connection.
    void drain(Effects& fx, const tcp::Segment* arrived = nullptr) {
        std::array<bool, tcp::kEventKindCount> events{};
        SeqNum iss_after;  // of a Reopen event
        for (int rounds = 0;; ++rounds) {
            CHECK(rounds < 10000);
            CHECK(fx.segment_count <= Effects::kMaxSegments);
            CHECK(fx.event_count <= Effects::kMaxEvents);
            for (const tcp::OutSegment& s : fx.sent()) check_sent(s);
            for (const tcp::Event& e : fx.app_events()) {
                CHECK(static_cast<size_t>(e.kind) < tcp::kEventKindCount);
                events[static_cast<size_t>(e.kind)] = true;
                if (e.kind == EventKind::Reopen) iss_after = e.seq;
            }
            for (size_t i = 0; i < tcp::kTimerKindCount; ++i) {
                const tcp::TimerOp op = fx.timer(static_cast<tcp::TimerKind>(i));
                CHECK(op.action <= TimerAction::Cancel);
                if (op.action == TimerAction::Arm) timers_[i] = op.at;
                if (op.action == TimerAction::Cancel) timers_[i].reset();
            }
            check_connection();
            if (!fx.more_output) break;
            // A full sink: the contract says more_output is set only then.
            CHECK(fx.segment_count >= 1);
            fx.clear();
            conn_->conn.poll_output(now_, fx);
        }
        const auto ev = [&](EventKind k) { return events[static_cast<size_t>(k)]; };
        const State st = conn_->conn.state();
        CHECK(!ev(EventKind::Release) || st == State::Closed);
        CHECK(ev(EventKind::Release) || st != State::Closed);  // else the TCB would leak
        CHECK(!ev(EventKind::Release) || ev(EventKind::Closed));
        CHECK(!ev(EventKind::ReturnedToListen) ||
              (st == State::Listen && conn_->conn.tcb().passive));
        CHECK(!ev(EventKind::TimeWait) || st == State::TimeWait || ev(EventKind::Release));
        CHECK(!ev(EventKind::Reopen) || ev(EventKind::Release));
        fx.clear();

        if (ev(EventKind::Reopen)) {
            CHECK(arrived != nullptr && arrived->flags.has(Flags::Syn));
            CHECK(iss_after == conn_->conn.tcb().snd_nxt);
            conn_.reset();
            reopen_for_syn(*arrived, iss_after);
        } else if (ev(EventKind::Release)) {
            conn_.reset();  // the host frees the TCB and its buffers
        } else if (ev(EventKind::ReturnedToListen)) {
            conn_.reset();  // a clone back in LISTEN is freed; the listener stays
            open();
        } else if (st == State::TimeWait && swap_tw_) {
            const tcp::Tcb& t = conn_->conn.tcb();
            tcp::TimeWaitEntry e = conn_->conn.time_wait_entry();
            CHECK(e.snd_nxt == t.snd_nxt && e.rcv_nxt == t.rcv_nxt);
            CHECK(timers_[static_cast<size_t>(TimerKind::TimeWait)] &&
                  e.deadline == *timers_[static_cast<size_t>(TimerKind::TimeWait)]);
            CHECK(e.local_port == kLocal.port && e.remote_port == kRemote.port);
            CHECK(e.timestamps == t.ts_ok);
            tw_ = e;
            conn_.reset();
            timers_ = {};
        }
    }

    void check_sent(const tcp::OutSegment& s) {
        Slot& slot = *conn_;
        const tcp::Tcb& t = slot.conn.tcb();
        static const bool trace = std::getenv("SLUICE_FUZZ_TRACE") != nullptr;
        if (trace) {
            std::fprintf(stderr, "  sent <SEQ=%u><ACK=%u><CTL=%s><WND=%u> len %zu\n", s.seq.raw(),
                         s.ack.raw(), tcp::to_string(s.flags).c_str(), s.window, s.payload.size());
        }
        CHECK(s.src_port == kLocal.port && s.dst_port == kRemote.port);
        CHECK(!(s.flags.has(Flags::Syn) && s.flags.has(Flags::Rst)));
        if (s.options.has_timestamps) our_ts_ = s.options.ts_val;
        if (s.flags.has(Flags::Rst)) {
            CHECK(s.payload.empty());
            return;
        }
        // Payload comes straight from the send buffer and fits one segment.
        std::vector<uint8_t> bytes(s.payload.size());
        if (!s.payload.empty()) {
            CHECK(s.seq >= t.snd_buf_seq &&
                  uint32_t(s.seq - t.snd_buf_seq) + s.payload.size() <=
                      slot.conn.status().send_queued);
            CHECK(s.payload.size() <= t.send_mss);
            CHECK(s.payload.copy_to(bytes) == bytes.size());
        }
        const bool keepalive_probe = s.seq + 1 == t.snd_una && s.payload.size() <= 1;
        if (!keepalive_probe) {
            for (size_t i = 0; i < bytes.size(); ++i)
                CHECK(bytes[i] == out_byte(s.seq.raw() + uint32_t(i)));
        }
        const uint32_t len = uint32_t(s.payload.size()) + (s.flags.has(Flags::Syn) ? 1u : 0u) +
                             (s.flags.has(Flags::Fin) ? 1u : 0u);
        if (s.flags.has(Flags::Syn)) {
            CHECK(s.seq == t.iss && s.payload.empty());
            if (!slot.high_valid) {
                slot.high_valid = true;
                slot.high = s.seq + len;
            }
            return;
        }
        if (!slot.high_valid || len == 0 || keepalive_probe) return;
        // No hole: each segment starts at or before the highest byte sent so far.
        CHECK(s.seq <= slot.high);
        slot.high = seq_max(slot.high, s.seq + len);
    }

    void check_connection() {
        if (!conn_) return;
        const Connection& c = conn_->conn;
        const char* why = "";
        if (!c.check_invariants(&why)) fail(__FILE__, __LINE__, why);
        CHECK(static_cast<size_t>(c.state()) < tcp::kStateCount);
        // The host's timers are the TCB's timers.
        for (size_t i = 0; i < tcp::kTimerKindCount; ++i) {
            const bool armed = (c.tcb().armed >> i) & 1u;
            CHECK(armed == timers_[i].has_value());
            if (armed) CHECK(c.tcb().deadline[i] == *timers_[i]);
        }
        const bool has_tcb = c.state() != State::Listen && c.state() != State::Closed;
        if (conn_->high_valid && has_tcb) CHECK(conn_->high <= c.tcb().snd_max);
    }

    void after_step() {
        for (size_t from = 0; from < tcp::kStateCount; ++from)
            for (size_t to = 0; to < tcp::kStateCount; ++to)
                if (stats_.transitions[from][to] != before_[from][to])
                    CHECK(legal_transition(static_cast<State>(from), static_cast<State>(to)));
        if (conn_) check_connection();
        if (listener_) {
            CHECK(listener_->conn.state() == State::Listen);
            CHECK(listener_->conn.check_invariants());
        }
    }

    Reader r_;
    tcp::Config cfg_;
    tcp::Stats stats_;
    bool passive_ = false, swap_tw_ = false, keepalive_ = false;
    SeqNum iss_, peer_iss_;
    uint32_t peer_ts_ = 1, our_ts_ = 0;
    Instant now_ = Instant::from_ns(1'000'000'000);
    std::unique_ptr<Slot> listener_, conn_;
    std::optional<tcp::TimeWaitEntry> tw_;
    std::array<std::optional<Instant>, tcp::kTimerKindCount> timers_{};
    decltype(tcp::Stats::transitions) before_{};
    std::vector<uint8_t> payload_;
    Effects timer_fx_;
};

}  // namespace

int fuzz_tcp_connection_one(const uint8_t* data, size_t size) {
    pools();
    Driver(data, size).run();
    SLUICE_FUZZ_CHECK(all_mbufs_returned());
    return 0;
}

}  // namespace sluice::fuzz

SLUICE_FUZZ_ENTRY(sluice::fuzz::fuzz_tcp_connection_one)
#if !defined(SLUICE_FUZZ_REPLAY)
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    sluice::fuzz::pools();
    sluice::fuzz::rx_pool();
    return 0;
}
#endif
