#pragma once
// The TCP side of one worker: the flow table, the connections (TCB slots with their buffers
// and timer nodes), compact TIME-WAIT entries, listeners, and the glue that turns a
// Connection's Effects into frames, timer-wheel operations and application events.
//
// A segment for a known 4-tuple goes to its Connection (or TIME-WAIT entry). A SYN for a
// listening port without a flow gets a fresh connection cloned from the listener (the SYN
// cookie path arrives with its own issue). Anything else is answered as in CLOSED
// (RFC 9293 3.10.7.1).
//
// Threads: everything runs on the owning worker's lcore, application callbacks included.
// Memory: every slot and entry is reserved at set-up; the data path never allocates from the
// heap. Connection buffers are mbufs (tcp/buffer.hpp) from a per-worker data pool; frames
// carry their payload as indirect mbufs (clones) attached to the send buffer's, from a
// per-worker clone pool: no payload copy on transmit or retransmit. Both pools are sized
// at set-up; when one runs dry, the send is short or the segment waits for the
// retransmission timer, counted (DropMbufExhausted), never a crash.

#include <sluice/counters.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct rte_mbuf;
struct rte_mempool;

#include "dev/error.hpp"
#include "engine/conn_snapshot.hpp"
#include "engine/port_alloc.hpp"
#include "engine/services.hpp"
#include "flow/flow_table.hpp"
#include "flow/pool.hpp"
#include "tcp/connection.hpp"
#include "tcp/isn.hpp"
#include "tcp/stats.hpp"
#include "tcp/syn_cache.hpp"
#include "tcp/syncookie.hpp"
#include "time/wheel.hpp"
#include "wire/addr.hpp"
#include "wire/parse.hpp"

namespace sluice::engine {

class Worker;

struct TcpHostConfig {
    tcp::Config tcp;
    uint32_t max_connections = 4096;  // TCBs per worker (each with its buffers)
    uint32_t max_time_wait = 65536;   // compact TIME-WAIT entries per worker
    uint32_t syn_backlog = 1024;      // half-open (SYN-RECEIVED) connections per worker
    uint32_t flow_table_entries = 0;  // 0: max_connections + max_time_wait (never full)
    std::vector<ListenerConfig> listeners;
    uint32_t syn_cache_entries = 4096;  // compact half-open entries per worker (auto mode)
    std::string cookie_key_file;        // empty: a fresh random secret at every start
    // RSTs to failed-cookie ACKs in LISTEN (RFC 9293 3.10.7.2) per second per worker, drawn
    // around this like the challenge-ACK budget (tcp/challenge_ack.hpp); 0: no limit.
    uint32_t bad_cookie_rst_limit = 1000;
    uint16_t ephemeral_low = 32768;     // active-open local ports, as Linux ip_local_port_range
    uint16_t ephemeral_high = 60999;
    // Data mbufs (2 KiB each) per worker for send() copies and copied received text; 0:
    // max_connections x (send_buffer + recv_buffer) / 2 KiB, at most 4095 (EAL memory:
    // --no-huge gives 64 MB unless -m says more). Received frames are kept by reference
    // and count against half the RX pool instead.
    uint32_t data_mbufs = 0;
    // Indirect mbufs per worker for payload in flight (one or two per data segment until
    // the NIC has sent it).
    uint32_t clone_mbufs = 4095;
    // Active opens may take over a 4-tuple of ours in TIME-WAIT when its entry holds the
    // peer's timestamps (RFC 6191 4, as Linux net.ipv4.tcp_tw_reuse): the new SYN's ISS is
    // above the old snd_nxt and its TSval, from a millisecond clock, above any the old
    // connection sent once time_wait_reuse_after has passed since we last sent on it.
    bool time_wait_reuse = true;
    time::Duration time_wait_reuse_after = std::chrono::seconds(1);  // Linux: 1 s
};

// A handle on a connection for applications: stale handles (the slot was reused) are refused.
struct ConnId {
    uint32_t slot = UINT32_MAX;
    uint32_t generation = 0;
    bool valid() const { return slot != UINT32_MAX; }
    friend bool operator==(ConnId, ConnId) = default;
};

class TcpHost;

// Application callbacks, run on the worker inside the loop. `event` is what the connection
// reported (Connected, DataReadable, SendSpace, PeerClosed, Closed); after Closed the handle
// is dead.
struct AppHandlers {
    void (*on_event)(TcpHost& host, ConnId id, const tcp::Event& event, void* ctx) = nullptr;
    // The connection's application timer (arm_app_timer) expired.
    void (*on_timer)(TcpHost& host, ConnId id, void* ctx) = nullptr;
    void* ctx = nullptr;
};

// What an application chooses for a connection before its SYN (include/sluice/sluice.hpp):
// byte-ring sizes up to the configured per-slot sizes (0: the configured size).
struct ConnSetup {
    uint32_t send_buffer = 0;
    uint32_t recv_buffer = 0;
};

// Per-connection counters kept by the host beside the TCB (status for applications).
struct ConnStats {
    uint64_t bytes_sent = 0;      // accepted by send()
    uint64_t bytes_received = 0;  // returned by receive()
    uint64_t segments_in = 0;
    uint64_t segments_out = 0;
    uint64_t retransmits = 0;  // segments carrying sequence space sent before (SYN, data, FIN)
    uint32_t send_buffer = 0, recv_buffer = 0;  // this connection's ring sizes
};

enum class OptionError : uint8_t { None, NoConnection, TooManyProfiles };

// State transitions of one worker's connections, published for other threads (a snapshot
// of tcp::Stats::transitions, refreshed every publish interval).
struct TransitionSnapshot {
    std::array<std::atomic<uint32_t>, tcp::kStateCount * tcp::kStateCount> count{};
    uint32_t get(tcp::State from, tcp::State to) const noexcept {
        return count[static_cast<size_t>(from) * tcp::kStateCount + static_cast<size_t>(to)].load(
            std::memory_order_relaxed);
    }
};

class TcpHost {
public:
    static dev::Result<std::unique_ptr<TcpHost>> create(const TcpHostConfig& cfg, Worker& worker,
                                                        const wire::IpAddr& local,
                                                        time::Instant now);
    ~TcpHost();
    TcpHost(const TcpHost&) = delete;
    TcpHost& operator=(const TcpHost&) = delete;

    // A parsed TCP segment addressed to us. `frame` is the received frame (payload is read
    // from it before this returns). Returns false if nothing here wants it: the caller
    // answers as CLOSED.
    // `m` is the received mbuf holding `frame` (one segment): the connection may keep a
    // reference to it for the payload, so the caller frees it with rte_pktmbuf_free_seg()
    // and reads nothing from it after the call.
    bool on_segment(const wire::Frame& f, const wire::TcpSegmentView& v,
                    std::span<const uint8_t> frame, time::Instant now,
                    rte_mbuf* m = nullptr) noexcept;

    // Runs due timers (bounded per turn) and publishes the counters snapshot when due.
    void on_tick(time::Instant now) noexcept;

    // --- application calls (worker lcore only) ---------------------------------------------
    // Active open to remote:port. Errors: NeighUnresolved is not an error (the SYN is
    // retransmitted once ARP answers); pool, flow table or port exhaustion are (no local port
    // whose replies come home to this worker is free: Error::code EADDRNOTAVAIL, counted as
    // PortsExhausted).
    dev::Result<ConnId> connect(const wire::IpAddr& remote, uint16_t port, AppHandlers app,
                                time::Instant now);
    // The same with a setup (buffer sizes already checked by the caller against the config).
    dev::Result<ConnId> connect(const wire::IpAddr& remote, uint16_t port, AppHandlers app,
                                const ConnSetup& setup, time::Instant now);
    // A listener whose accepted connections go to `app` (set-up: allocates). Accepted
    // connections get setup.send_buffer; the receive ring stays at the configured size (the
    // SYN-ACK's window scale is chosen before any TCB exists). Error: port already listened.
    dev::Result<dev::Ok> listen(uint16_t port, AppHandlers app, const ConnSetup& setup,
                                time::Instant now);
    tcp::IoResult send(ConnId id, std::span<const uint8_t> data, time::Instant now) noexcept;
    // Zero-copy send: appends the application's mbuf chain to the send buffer, taking
    // ownership, if all of it fits (bytes = its length). bytes == 0 with Error::None: it
    // did not fit, the caller keeps the chain and gets SendSpace later; on any error the
    // caller keeps it too. The mbufs must stay unchanged until freed (they are sent by
    // reference); any pool, any segment sizes.
    tcp::IoResult send_mbuf(ConnId id, rte_mbuf* chain, time::Instant now) noexcept;
    tcp::IoResult receive(ConnId id, std::span<uint8_t> out, time::Instant now) noexcept;
    // Zero-copy receive: the next mbuf of in-order payload (its data is the payload; the
    // caller frees it), or nullptr with `r` as receive() would report when nothing is there.
    rte_mbuf* receive_mbuf(ConnId id, tcp::IoResult& r, time::Instant now) noexcept;
    tcp::Error close(ConnId id, time::Instant now) noexcept;
    tcp::Error shutdown_send(ConnId id, time::Instant now) noexcept;
    tcp::Error abort(ConnId id, time::Instant now) noexcept;
    std::optional<tcp::ConnectionStatus> status(ConnId id) const noexcept;
    const ConnStats* conn_stats(ConnId id) const noexcept;
    // For the library layer: whether the application has had the connection's Closed event
    // (true for stale handles too), and one byte of its own per connection (nullptr if stale).
    bool app_closed(ConnId id) const noexcept;
    uint8_t* app_flags(ConnId id) noexcept;
    bool nodelay(ConnId id) const noexcept;
    // Per-connection options. Keepalive times other than the configured ones use one of
    // kMaxProfiles copies of the TCP config (shared by connections with equal times).
    tcp::Error set_nodelay(ConnId id, bool on, time::Instant now) noexcept;
    OptionError set_keepalive(ConnId id, bool on, time::Duration idle, time::Duration interval,
                              uint8_t count, time::Instant now) noexcept;
    static constexpr size_t kMaxProfiles = 8;
    // Per-connection storage for the application (nullptr at first).
    void*& user(ConnId id) noexcept;
    // One timer per connection for the application; re-arming moves it. Fires as the
    // service's close delay (built-in services) or is ignored for applications for now.
    void arm_app_timer(ConnId id, time::Instant at) noexcept;

    const tcp::Stats& stats() const noexcept { return stats_; }
    // Any thread.
    const TransitionSnapshot& transitions() const noexcept { return transitions_; }
    // Connections per state, TIME-WAIT entries included.
    const std::array<uint32_t, tcp::kStateCount>& states() const noexcept { return gauge_; }
    uint32_t connections_in_use() const noexcept { return used_; }
    // The connection list for other threads (conn_snapshot.hpp); filled by on_tick.
    ConnSnapshot& snapshot() noexcept { return snapshot_; }
    uint32_t time_wait_entries() const noexcept { return tw_pool_.in_use(); }
    // Flow-table entries (connections and TIME-WAIT entries) and timers armed on the wheel
    // (connections, TIME-WAIT, SYN cache): what a SYN to a cookie listener must not change.
    // Worker lcore only (tests, diagnostics).
    uint32_t flow_entries() const noexcept { return flows_->size(); }
    size_t timers_pending() const noexcept { return wheel_.size(); }
    uint32_t syn_cache_entries() const noexcept { return syn_cache_->size(); }
    // Mbufs of the data and clone pools in use, and RX mbufs held by receive buffers
    // (tests: all return to zero when the connections are gone).
    uint32_t data_mbufs_in_use() const noexcept;
    uint32_t clone_mbufs_in_use() const noexcept;
    uint32_t rx_mbufs_pinned() const noexcept { return pools_.rx_pinned; }
    // Data-pool allocations that failed (short send(), received text not kept).
    uint64_t data_alloc_failed() const noexcept { return pools_.alloc_failed; }

private:
    struct Slot;
    struct TwSlot;
    struct Listener;

    TcpHost(const TcpHostConfig& cfg, Worker& worker, const wire::IpAddr& local, time::Instant now);
    dev::Result<dev::Ok> create_pools();

    Slot* alloc_slot(const ConnSetup& setup = {}) noexcept;
    void free_slot(Slot& s) noexcept;
    Slot* slot_of(ConnId id) const noexcept;
    // The listener taking connections to local:port.
    Listener* listener_for(uint16_t port, const wire::IpAddr& local) noexcept;

    // The stateless paths (issue 6): a SYN answered from the cache or with a cookie, and
    // the ACK that completes one. Returns false when the segment should be answered as in
    // CLOSED (a RST).
    void on_listen_syn(Listener& l, const wire::FlowKey& key, uint32_t hash, const wire::Frame& f,
                       const tcp::Segment& seg, time::Instant now) noexcept;
    bool on_listen_ack(Listener& l, const wire::FlowKey& key, uint32_t hash, const wire::Frame& f,
                       const tcp::Segment& seg, time::Instant now) noexcept;
    Slot* passive_slot(Listener& l, const wire::FlowKey& key, uint32_t hash,
                       const wire::MacAddr& mac) noexcept;
    void establish_accepted(Listener& l, const wire::FlowKey& key, uint32_t hash,
                            const wire::MacAddr& mac, const tcp::PassiveAccept& acc,
                            const tcp::Segment& seg, time::Instant now) noexcept;
    static void on_cache_syn_ack(void* ctx, const tcp::SynCacheEntry& e,
                                 const tcp::OutSegment& syn_ack, time::Instant now);

    bool accept_syn(Listener& l, const wire::FlowKey& key, uint32_t hash, const wire::Frame& f,
                    const tcp::Segment& seg, time::Instant now,
                    std::optional<wire::SeqNum> iss) noexcept;
    void on_time_wait_segment(TwSlot& tw, const wire::Frame& f, const tcp::Segment& seg,
                              time::Instant now) noexcept;
    void to_time_wait(Slot& s) noexcept;
    void end_time_wait_hold(Slot& s, time::Instant now) noexcept;
    void free_time_wait(TwSlot& tw) noexcept;

    // Drains fx for slot s: frames out, timers to the wheel, events to the application.
    void run_effects(Slot& s, time::Instant now) noexcept;
    void emit(const tcp::OutSegment& o, const wire::MacAddr& dst_mac, const wire::IpAddr& src,
              const wire::IpAddr& dst) noexcept;
    void apply_timers(Slot& s) noexcept;
    void count_out(Slot& s, const tcp::OutSegment& o) noexcept;
    void note_state(Slot& s) noexcept;
    template <typename F>
    auto with_conn(Slot& s, time::Instant now, F&& call) noexcept;
    template <typename F>
    auto drain_into(Slot& s, time::Instant now, tcp::Effects& fx, F& call) noexcept;

    // services.cpp: the built-in services, as applications of the calls above.
    void service_event(Slot& s, const tcp::Event& e, time::Instant now) noexcept;
    void service_timer(Slot& s, time::Instant now) noexcept;
    void echo_pump(Slot& s, time::Instant now) noexcept;
    void http_pump(Slot& s, time::Instant now) noexcept;
    void finish_if_done(Slot& s, time::Instant now) noexcept;

    // connect(): the local end of a new 4-tuple toward key.remote:key.remote_port. Fills
    // key.local, key.local_port and hash; sets *reuse_after when it takes over a TIME-WAIT
    // entry (the new ISS must be above it). False: every tuple is busy.
    bool pick_local_end(wire::FlowKey& key, uint32_t& hash, time::Instant now,
                        std::optional<wire::SeqNum>& reuse_after) noexcept;
    // A TIME-WAIT entry of ours that an active open may reuse (RFC 6191 4).
    bool time_wait_reusable(const TwSlot& tw, time::Instant now) const noexcept;

    static void on_conn_timer(time::Timer& t, time::Instant now);
    static void on_tw_timer(time::Timer& t, time::Instant now);
    void publish_counters() noexcept;
    void fill_snapshot() noexcept;

    // Bounds the timer callbacks per loop turn; the rest run next turn (time/wheel.hpp).
    static constexpr size_t kTimerBudget = 256;
    // Rows of a connection-list snapshot (48 bytes each); more are reported as truncated.
    static constexpr uint32_t kSnapshotRows = 65536;
    // How often the TCP counters are copied into the worker's published Counters.
    static constexpr time::Duration kPublishInterval = std::chrono::milliseconds(1);

    TcpHostConfig cfg_;
    std::array<tcp::Config, kMaxProfiles> profiles_;  // keepalive variants of cfg_.tcp
    size_t profile_count_ = 0;
    Worker& worker_;
    wire::IpAddr local_;
    tcp::IsnGenerator isn_;
    std::optional<tcp::CookieSecrets> secrets_;  // set by create()
    tcp::Stats stats_;
    tcp::ChallengeAckLimiter bad_cookie_rsts_;  // RSTs to failed cookies (on_listen_ack)
    time::TimerWheel wheel_;
    std::optional<flow::FlowTable> flows_;  // set by create()
    tcp::BufferPools pools_;
    rte_mempool* clone_pool_ = nullptr;
    std::unique_ptr<Slot[]> slots_;
    std::vector<uint32_t> free_slots_;
    uint32_t used_ = 0;
    flow::Pool<TwSlot> tw_pool_;
    TwSlot* tw_oldest_ = nullptr;  // the TIME-WAIT entries in creation order
    TwSlot* tw_newest_ = nullptr;
    std::unique_ptr<tcp::SynCache> syn_cache_;
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::array<uint32_t, tcp::kStateCount> gauge_{};
    TransitionSnapshot transitions_;
    ConnSnapshot snapshot_{kSnapshotRows};
    // The connection whose Effects are being drained, and that sink: calls on it from its own
    // callbacks write there; calls on other connections get a sink of their own.
    Slot* active_slot_ = nullptr;
    tcp::Effects* active_fx_ = nullptr;
    // with_conn's sinks, one per nesting level (a callback calling into another connection);
    // deeper levels get a local one.
    static constexpr size_t kSinkDepth = 4;
    std::array<tcp::Effects, kSinkDepth> sinks_;
    size_t sink_depth_ = 0;
    uint16_t next_port_;
    uint32_t next_source_ = 0;  // index into the source addresses (NetConfig::extra_*)
    PortAllocator ports_;  // active-open local ports that come home to this worker
    void* dead_user_ = nullptr;  // what user() returns for a stale handle
    time::Instant next_publish_;
};

}  // namespace sluice::engine
