#pragma once
// The connection (TCB) and the user calls of RFC 9293 3.10.1-3.10.6.
//
// Pure core: no I/O, no clock reads, no heap allocation, no exceptions, no virtual calls.
// Every call takes `now` and writes its output to a caller-owned Effects. One lcore owns a
// connection; none of these functions is thread-safe.
//
// Segment arrival (on_segment) lives in input.cpp in RFC 9293 3.10.7 step order, segment
// building in output.cpp, timers in timers.cpp, user calls in connection.cpp.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "tcp/buffer.hpp"
#include "tcp/config.hpp"
#include "tcp/congestion.hpp"
#include "tcp/effects.hpp"
#include "tcp/isn.hpp"
#include "tcp/reassembly.hpp"
#include "tcp/retransmit.hpp"
#include "tcp/sack.hpp"
#include "tcp/segment.hpp"
#include "tcp/state.hpp"
#include "tcp/stats.hpp"
#include "tcp/time_wait.hpp"
#include "tcp/tuple.hpp"
#include "time/instant.hpp"
#include "wire/seq.hpp"

namespace sluice::tcp {

// The worker's pools the buffers draw on (must outlive the connection) and the two budgets
// in bytes. No pools: the connection can keep no data (a listener).
struct Buffers {
    BufferPools* pools = nullptr;
    std::size_t send = 0;
    std::size_t recv = 0;
};

// Errors of the user calls (RFC 9293 3.10 wording).
enum class Error : uint8_t {
    None,
    ConnectionExists,          // "connection already exists"
    ConnectionDoesNotExist,    // "connection does not exist"
    ConnectionClosing,         // "connection closing"
    ForeignSocketUnspecified,  // active open without a remote endpoint
    QuietTime,                 // RFC 9293 3.4.3: no segments yet after start-up
    Reset,                     // "connection reset"
    Refused,                   // "connection refused"
    TimedOut,                  // retransmissions or keepalives exhausted
    Aborted,                   // the user aborted
    EndOfStream,               // receive(): the peer's FIN was reached, nothing more will come
};

struct IoResult {
    std::size_t bytes = 0;
    Error error = Error::None;
};

// The protocol variables (RFC 9293 3.3.1 plus what RFC 7323 and the timers need): plain
// data, comparable field by field (the honest-fixture test does exactly that). Hot fields
// first; the Connection keeps its cold pointers and buffers after it.
struct Tcb {
    State state = State::Closed;
    // Send sequence variables (RFC 9293 3.3.1, Figure 4).
    wire::SeqNum snd_una, snd_nxt, snd_wl1, snd_wl2, iss;
    wire::SeqNum snd_max;      // highest SND.NXT ever (SND.NXT never moves back)
    wire::SeqNum snd_buf_seq;  // sequence number of the first byte in the send buffer
    wire::SeqNum fin_seq;      // our FIN's sequence number, once sent
    uint32_t snd_wnd = 0;      // bytes, scaled
    uint32_t max_snd_wnd = 0;  // RFC 5961 5.2 MAX.SND.WND
    // Receive sequence variables.
    wire::SeqNum rcv_nxt, irs;
    wire::SeqNum rcv_adv;                 // right edge of the window we last advertised
    wire::SeqNum last_ack_sent;           // RFC 7323 4.3 Last.ACK.sent
    uint32_t ts_recent = 0;               // RFC 7323 4.3 TS.Recent
    uint16_t send_mss = kDefaultPeerMss;  // payload bytes per segment we send
    uint16_t peer_mss = kDefaultPeerMss;  // as announced (RFC 9293 3.7.1)
    uint8_t snd_wscale = 0;               // applied to windows we receive (RFC 7323 2.3)
    uint8_t rcv_wscale = 0;               // applied to windows we send
    bool ws_ok = false;                   // both sides sent Window Scale (RFC 7323 2.2)
    bool sack_ok = false;                 // both sides sent SACK-permitted (RFC 2018 2)
    bool ts_ok = false;                   // both sides sent Timestamps (RFC 7323 3.2)
    bool fin_sent = false;
    bool passive = false;      // came from a passive open (RST in SYN-RECEIVED -> LISTEN)
    bool recv_closed = false;  // close() (not shutdown_send()): the application reads no more
    bool ack_pending = false;
    bool send_blocked = false;       // send() was short or filled the buffer: SendSpace later
    bool syn_retransmitted = false;  // RFC 6298 (5.7)
    bool keepalive = false;
    bool nodelay = false;  // Nagle off for this connection (TCP_NODELAY)
    bool pto_armed = false;  // the Retransmit timer is a loss probe (RFC 8985 7.2), not the RTO
    bool tlp_out = false;    // a loss probe is outstanding until SND.UNA reaches tlp_end
    uint8_t keepalive_probes = 0;
    uint8_t persist_probes = 0;   // zero-window probes since the last ACK: the give-up count
    uint8_t persist_backoff = 0;  // persist interval doublings this stall (RFC 9293 3.8.6.1)
    CloseReason close_reason = CloseReason::Normal;
    uint8_t delack_segs = 0;  // in-order segments received and not yet ACKed (RFC 5681 4.2)
    RetransmitState rtx;
    Congestion cc;
    wire::SeqNum rtx_next, rtx_end;  // to send again: [rtx_next, rtx_end) (RTO, fast rexmit)
    wire::SeqNum tlp_end;            // RFC 8985 7.3 TLP.end_seq: SND.MAX after the probe
    Reassembly ooo;                  // ranges of the out-of-order pieces held
    SackScoreboard sack;             // what the peer SACKed, HighRxt (RFC 6675)
    time::Instant last_send;         // last data segment sent (RFC 5681 4.1 idle restart)
    time::Instant last_rx;  // last segment from the peer (keepalive idle)
    uint8_t armed = 0;      // bit per TimerKind
    std::array<time::Instant, kTimerKindCount> deadline{};

    friend bool operator==(const Tcb&, const Tcb&) = default;
};

struct ConnectionStatus {
    State state = State::Closed;
    FourTuple tuple;
    wire::SeqNum snd_una, snd_nxt, rcv_nxt;
    uint32_t snd_wnd = 0;
    uint32_t rcv_wnd = 0;
    std::size_t send_queued = 0;  // bytes not yet acknowledged or not yet sent
    std::size_t recv_queued = 0;  // bytes the application can read
    uint16_t send_mss = 0;
    bool ws_ok = false, sack_ok = false, ts_ok = false;
    uint8_t snd_wscale = 0, rcv_wscale = 0;
    bool peer_closed = false;
    bool keepalive = false;
    CloseReason close_reason = CloseReason::Normal;  // meaningful in CLOSED after a connection
    uint32_t cwnd = 0, ssthresh = 0;  // RFC 5681 (0 before ESTABLISHED)
    time::Duration srtt{}, rttvar{}, rto{};  // RFC 6298 (srtt, rttvar zero before a sample)
    uint8_t ooo_ranges = 0;                   // out-of-order ranges held
    uint8_t sacked_ranges = 0;                // scoreboard ranges (RFC 6675)
    bool sack_recovery = false;               // in RFC 6675 loss recovery
};

class Connection {
public:
    // cfg (and stats, isn generators passed later) must outlive the connection.
    Connection(const Config& cfg, Buffers buffers, Stats* stats = nullptr) noexcept;
    // Not copyable: a copy would share the buffers. Cloning a listener: clone_listener().
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // --- OPEN (RFC 9293 3.10.1) ----------------------------------------------------------
    // Active open: sends SYN, enters SYN-SENT. Errors: ConnectionExists (not CLOSED),
    // ForeignSocketUnspecified (remote port 0), QuietTime (generator overload only).
    Error open_active(const FourTuple& t, wire::SeqNum iss, time::Instant now,
                      Effects& fx) noexcept;
    Error open_active(const FourTuple& t, const IsnGenerator& gen, time::Instant now,
                      Effects& fx) noexcept;
    // Passive open: enters LISTEN. t.remote may be unspecified (port 0 = any). The ISS for a
    // SYN is `iss` or, with the generator, RFC 6528 at the SYN's arrival. Error:
    // ConnectionExists.
    Error open_passive(const FourTuple& t, wire::SeqNum iss) noexcept;
    Error open_passive(const FourTuple& t, const IsnGenerator& gen) noexcept;
    // Cookies-off listener: make this (CLOSED) connection a LISTEN clone of `listener` for
    // the full tuple t; the host then gives it the SYN. Error: ConnectionExists.
    Error clone_listener(const Connection& listener, const FourTuple& t) noexcept;

    // --- SEND / RECEIVE (3.10.2, 3.10.3) --------------------------------------------------
    // Queues as much of data as fits and sends what the window allows. bytes < size means
    // the buffer is full: SendSpace follows when an ACK frees room. (Short with room left
    // means the worker's data pool is empty: SendSpace follows only if data is in flight;
    // otherwise retry later.) Errors: ConnectionDoesNotExist (CLOSED,
    // LISTEN), ConnectionClosing (our FIN is queued), Reset/Refused/TimedOut/Aborted after
    // such an end.
    IoResult send(std::span<const uint8_t> data, time::Instant now, Effects& fx) noexcept;
    // Zero-copy send: appends the mbuf chain (taking ownership) if all of it fits the send
    // buffer; bytes == 0 with Error::None means it did not fit (the caller keeps the chain,
    // SendSpace follows). Errors as send() (the caller keeps the chain).
    IoResult send_mbuf(rte_mbuf* chain, time::Instant now, Effects& fx) noexcept;
    // Copies in-order bytes out; may send a window update. bytes == 0 with EndOfStream once
    // the peer's FIN is reached; with None if nothing is there yet.
    IoResult receive(std::span<uint8_t> out, time::Instant now, Effects& fx) noexcept;
    // Zero-copy receive: the next mbuf of in-order payload (the caller owns and frees it), or
    // nullptr with the IoResult receive() would give when nothing is there.
    rte_mbuf* receive_mbuf(IoResult& r, time::Instant now, Effects& fx) noexcept;

    // --- CLOSE / shutdown / ABORT (3.10.4, 3.10.5) -----------------------------------------
    // Graceful close of both directions: FIN after queued data; new data received after
    // this gets RST and CLOSED (RFC 1122 4.2.2.13); FIN-WAIT-2 ends after
    // Config::fin_wait_2_timeout.
    Error close(time::Instant now, Effects& fx) noexcept;
    // Half-close: FIN after queued data; receive() keeps working until the peer's FIN.
    Error shutdown_send(time::Instant now, Effects& fx) noexcept;
    // RST (when synchronized or SYN-RECEIVED), drop all queues, CLOSED (like SO_LINGER 0).
    Error abort(time::Instant now, Effects& fx) noexcept;

    // --- STATUS (3.10.6) ------------------------------------------------------------------
    ConnectionStatus status() const noexcept;
    State state() const noexcept { return tcb_.state; }
    const Tcb& tcb() const noexcept { return tcb_; }
    const FourTuple& tuple() const noexcept { return tuple_; }

    // Keepalive (RFC 1122 4.2.3.6), off by default.
    void set_keepalive(bool on, time::Instant now, Effects& fx) noexcept;
    // No-delay (TCP_NODELAY): on turns Nagle's algorithm (RFC 9293 3.7.4) off for this
    // connection and sends what it held back; the default is !Config::nagle. Any state.
    void set_nodelay(bool on, time::Instant now, Effects& fx) noexcept;
    // Per-connection settings (the library's keepalive times): from now on read `cfg`, which
    // must outlive the connection and should differ from the old one only in what may change
    // mid-connection (keepalive times). Any state.
    void use_config(const Config& cfg) noexcept { cfg_ = &cfg; }

    // --- driven by the host ----------------------------------------------------------------
    void on_segment(const Segment& seg, time::Instant now, Effects& fx) noexcept;
    // A timer of this kind reached its deadline. Stale or early calls are ignored.
    void on_timer(TimerKind kind, time::Instant now, Effects& fx) noexcept;
    // Sends what a previous call could not fit into its Effects (Effects::more_output).
    void poll_output(time::Instant now, Effects& fx) noexcept;

    // The compact TIME-WAIT entry (valid in TIME-WAIT).
    TimeWaitEntry time_wait_entry() const noexcept;

    // Test fixtures: put a CLOSED connection straight into ESTABLISHED as if a handshake
    // with these parameters had completed at `now` (the peer's SYN options and window, who
    // opened). Must equal the TCB a real handshake produces (see the honest-fixture test).
    struct HandshakeParams {
        FourTuple tuple;
        wire::SeqNum iss, irs;
        wire::TcpOptions peer_syn_options;  // options in the peer's SYN or SYN-ACK
        uint16_t peer_syn_window = 0;       // window field of that SYN (never scaled)
        uint16_t peer_ack_window = 0;       // window field of the segment that completed it
        uint32_t peer_last_tsval = 0;       // TSval of that segment
        bool passive = false;
        bool syn_retransmitted = false;  // RFC 6298 (5.7): RTO 3 s, RFC 5681 3.1: IW 1
    };
    void establish_directly(const HandshakeParams& p, time::Instant now) noexcept;

    // Checks snd_una <= snd_nxt <= snd_max, buffers in bounds, timers consistent with the
    // state. Returns false and sets *why on the first violation. Always compiled; called
    // after every step when SLUICE_INVARIANTS is defined, and by the tests.
    bool check_invariants(const char** why = nullptr) const noexcept;

private:
    // connection.cpp
    void set_state(State s) noexcept;
    void enter_closed(CloseReason r, Effects& fx) noexcept;
    void enter_time_wait(time::Instant now, Effects& fx) noexcept;
    void enter_established(time::Instant now, Effects& fx) noexcept;
    void return_to_listen(Effects& fx) noexcept;
    Error queue_fin(State next, time::Instant now, Effects& fx) noexcept;
    void negotiate_options(const wire::TcpOptions& peer) noexcept;
    void drop(DropReason r) noexcept;
    void verify() const noexcept;
    Error ended_error() const noexcept;
    Error send_allowed() const noexcept;
    void after_read(time::Instant now, Effects& fx) noexcept;

    // input.cpp: RFC 9293 3.10.7
    void on_closed(const Segment& seg, Effects& fx) noexcept;
    void on_listen(const Segment& seg, time::Instant now, Effects& fx) noexcept;
    void on_syn_sent(const Segment& seg, time::Instant now, Effects& fx) noexcept;
    void on_time_wait(const Segment& seg, time::Instant now, Effects& fx) noexcept;
    void on_synchronized(const Segment& seg, time::Instant now, Effects& fx) noexcept;
    struct Incoming;
    bool check_sequence(Incoming& in, time::Instant now, Effects& fx) noexcept;
    bool check_rst(Incoming& in, time::Instant now, Effects& fx) noexcept;
    void send_challenge_ack(time::Instant now, Effects& fx) noexcept;
    bool check_syn(Incoming& in, time::Instant now, Effects& fx) noexcept;
    bool check_ack(Incoming& in, time::Instant now, Effects& fx) noexcept;
    bool process_text(Incoming& in, time::Instant now, Effects& fx) noexcept;
    void check_fin(Incoming& in, time::Instant now, Effects& fx) noexcept;
    void update_send_window(const Segment& seg) noexcept;
    void ack_sent_data(wire::SeqNum ack, const Segment* seg, time::Instant now,
                       Effects& fx) noexcept;
    void schedule_ack(time::Instant now, Effects& fx) noexcept;

    // reassembly.cpp
    bool queue_out_of_order(wire::SeqNum seq, std::span<const uint8_t> text,
                            rte_mbuf* frame) noexcept;
    void deliver_reassembled() noexcept;
    void add_sack_blocks(OutSegment& s) const noexcept;
    uint8_t sack_blocks_to_send() const noexcept;
    // The payload a data segment sent now may carry: SEND.MSS less its SACK blocks.
    uint32_t payload_room() const noexcept;

    // congestion.cpp
    void init_congestion(time::Instant now) noexcept;
    void take_rtt_sample(const Segment& seg, wire::SeqNum old_una, time::Instant now) noexcept;
    void cc_on_new_ack(uint32_t acked) noexcept;
    bool is_duplicate_ack(const Segment& seg) const noexcept;
    void cc_on_duplicate_ack() noexcept;
    void cc_on_timeout(bool first) noexcept;
    bool sack_update(const Segment& seg) noexcept;
    void cc_on_sack() noexcept;
    void enter_sack_recovery() noexcept;
    bool probe_sacked() const noexcept;
    bool send_sack_retransmissions(time::Instant now, Effects& fx) noexcept;
    bool new_data_ready() const noexcept;
    void queue_retransmit(wire::SeqNum from, wire::SeqNum to) noexcept;
    bool send_retransmissions(time::Instant now, Effects& fx) noexcept;
    uint32_t send_at(wire::SeqNum seq, uint32_t max, time::Instant now, Effects& fx) noexcept;
    uint32_t cwnd_room(time::Instant now) noexcept;

    // output.cpp
    // probe: one new segment regardless of cwnd and Nagle (RFC 8985 7.3), nothing else.
    void output(time::Instant now, Effects& fx, bool probe = false) noexcept;
    void send_syn(time::Instant now, Effects& fx) noexcept;
    void send_ack(time::Instant now, Effects& fx) noexcept;
    void send_rst(wire::SeqNum seq, Effects& fx) noexcept;
    void retransmit_syn(time::Instant now, Effects& fx) noexcept;
    OutSegment make_segment(Flags f, wire::SeqNum seq, time::Instant now) noexcept;
    uint16_t advertise(bool syn) noexcept;
    uint32_t rcv_wnd() const noexcept;
    uint32_t rcv_sws_threshold() const noexcept;
    bool emit(const OutSegment& s, Effects& fx) noexcept;

    // timers.cpp
    void arm(TimerKind k, time::Instant at, Effects& fx) noexcept;
    // Inline: cancels of timers that are not running (DelayedAck on every ACK, Persist on
    // every output()) are most calls, and they touch nothing.
    void cancel(TimerKind k, Effects& fx) noexcept {
        if (armed(k)) cancel_armed(k, fx);
    }
    void cancel_armed(TimerKind k, Effects& fx) noexcept;
    void cancel_all(Effects& fx) noexcept;
    bool armed(TimerKind k) const noexcept { return (tcb_.armed & Effects::timer_bit(k)) != 0; }
    void set_deadline(TimerKind k, time::Instant at) noexcept;
    void arm_retransmit(time::Instant now, Effects& fx) noexcept;
    void arm_loss_timer(time::Instant now, Effects& fx) noexcept;
    bool pto_allowed() const noexcept;
    time::Duration pto_value() const noexcept;
    void on_pto_timer(time::Instant now, Effects& fx) noexcept;
    std::optional<time::Instant> keepalive_deadline() const noexcept;
    void arm_keepalive(time::Instant now, Effects& fx) noexcept;
    void on_retransmit_timer(time::Instant now, Effects& fx) noexcept;
    void on_keepalive_timer(time::Instant now, Effects& fx) noexcept;
    void on_persist_timer(time::Instant now, Effects& fx) noexcept;
    bool zero_window_stall() const noexcept;
    bool sws_stall() const noexcept;

    // Hot.
    Tcb tcb_;
    SendBuffer snd_buf_;
    RecvBuffer rcv_buf_;
    // Cold.
    const Config* cfg_;
    Stats* stats_;
    const IsnGenerator* isn_gen_ = nullptr;  // LISTEN: RFC 6528 ISS per SYN
    wire::SeqNum listen_iss_;                // LISTEN without a generator
    FourTuple tuple_;
    Endpoint listen_remote_;  // the passive open's remote (maybe unspecified)
};

// The TCB budget: the protocol variables in five cache lines (RTT estimator, congestion
// state, four reassembly ranges and the four-range SACK scoreboard took the fourth and
// fifth), the whole connection (with its two mbuf buffer heads, 48 bytes each, tuple and
// cold pointers) in eight: 504 bytes. Only the Tcb and the buffer heads are hot per
// segment; the eighth line holds cold fields (listen_remote_, tuple tail).
static_assert(sizeof(Tcb) <= 5 * 64, "Tcb budget");
static_assert(sizeof(Connection) <= 8 * 64, "Connection (TCB) budget");

// RFC 9293 3.10.7.1: the reply to a segment for which no connection exists (also used by
// the host when no TCB matches). Returns false if nothing is to be sent (an RST arrived).
bool reset_for_closed(const Segment& seg, OutSegment& reply) noexcept;

}  // namespace sluice::tcp
