#pragma once
// libsluice: kernel-bypass TCP on DPDK for applications. The guide is docs/library.md.
//
//   Stack      owns the port and one worker per EAL lcore; built from a TOML file or code.
//   Worker     one poll-mode loop on one lcore; owns its connections.
//   Conn       a copyable handle on one connection (16 bytes); calls on it are checked.
//   Handlers   the callbacks a connection reports to, run on its worker's lcore.
//
// Threads (the rules every call below refers to):
//   - Stack::create, listen, set_hooks, run and the destructor: the main lcore (the thread
//     that initialised the EAL); listen and set_hooks only before run(). listen, set_hooks
//     and run called from any other thread return Errc::WrongLcore and change nothing.
//   - Conn calls and Worker::connect: only on the lcore of the worker that owns the
//     connection, i.e. from a callback, an on_start/on_tick hook of that worker, or (before
//     run(), or with the one-worker poll model) the main lcore for worker 0. Any other thread
//     gets Errc::WrongLcore and nothing changes. To act on another worker's connection, post
//     a message to that worker (an rte_ring) and act from its on_tick hook.
//   - Stack::counter may be called from any thread at any time.
// Lifetimes:
//   - A Conn is valid from the moment connect() returns it (or on_accept hands it over) until
//     on_close has run for it; afterwards every call on it returns Errc::NoConnection, even
//     when the slot has been reused by another connection (handles carry a generation).
//     Inside on_error and on_close the reads still work (user(), set_user(), status()), so
//     per-connection state is freed there; send/receive/close/... return NoConnection.
//   - Every connection the application was told about (on_accept, or connect() returning Ok)
//     gets exactly one on_close. At shutdown (when run() returns, or in ~Stack for a stack
//     that never ran) the connections still open are aborted: a RST to the peer (none from
//     SYN-SENT, RFC 9293 3.10.5), then on_close on the worker's lcore, without on_error.
//     An application that wants a graceful end calls close() and keeps running until its
//     on_close calls have come.
//   - After the application's own close() a connection reports nothing but on_error (if it
//     then ends abnormally) and on_close: received data is discarded (receive() returns
//     Errc::Closing), the peer's FIN is not reported.
//   - Handles, Workers and Handlers contexts must not be used after the Stack is destroyed.
// Data path: Conn calls never allocate, lock or throw; errors are Errc values. Callbacks are
// plain function pointers (one indirect call per event).
//
// Zero-copy: send() copies into the connection's send buffer, which is made of mbufs;
// send(rte_mbuf*) appends the application's own mbuf chain instead, and the segments carry
// it by reference (retransmissions too). receive_mbuf() hands over received payload in the
// mbuf it arrived in (segments under 256 bytes are copied together on arrival).

#include <sluice/counters.hpp>
#include <sluice/error.hpp>
#include <sluice/version.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct rte_mbuf;

namespace sluice {

namespace detail {
struct StackImpl;
struct WorkerCtx;
}  // namespace detail

class Stack;
class Worker;

// An IPv4 address, host byte order.
struct Ipv4 {
    uint32_t value = 0;
    // "198.18.0.1"; nullopt if malformed.
    static std::optional<Ipv4> parse(std::string_view text) noexcept;
    std::string to_string() const;
    friend bool operator==(Ipv4, Ipv4) = default;
};

// An IPv4 or IPv6 address, bytes in network order (IPv4 in bytes[0..3], the rest zero).
struct IpAddress {
    enum class Family : uint8_t { V4 = 4, V6 = 6 };
    Family family = Family::V4;
    std::array<uint8_t, 16> bytes{};

    constexpr IpAddress() = default;
    constexpr IpAddress(Ipv4 a) noexcept  // NOLINT: implicit, an IPv4 address is one
        : bytes{uint8_t(a.value >> 24), uint8_t(a.value >> 16), uint8_t(a.value >> 8),
                uint8_t(a.value)} {}
    // "198.18.0.1" or "2001:2::1" (RFC 4291 2.2 text); nullopt if malformed.
    static std::optional<IpAddress> parse(std::string_view text) noexcept;
    std::string to_string() const;  // RFC 5952 for IPv6
    constexpr bool is_v4() const noexcept { return family == Family::V4; }
    // The IPv4 address; nullopt for IPv6.
    constexpr std::optional<Ipv4> v4() const noexcept {
        if (!is_v4()) return std::nullopt;
        return Ipv4{uint32_t(bytes[0]) << 24 | uint32_t(bytes[1]) << 16 |
                    uint32_t(bytes[2]) << 8 | bytes[3]};
    }
    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

struct Endpoint {
    IpAddress addr{};
    uint16_t port = 0;
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// RFC 9293 3.3.2 connection states; to_string gives the RFC spelling ("SYN-RECEIVED").
enum class State : uint8_t {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
};
std::string_view to_string(State s) noexcept;

// RFC 1122 4.2.3.6 keepalive for one connection. Zero durations / count take the stack's
// configured values (tcp.keepalive_idle_s, keepalive_interval_s, keepalive_probes).
struct Keepalive {
    bool enabled = true;
    std::chrono::milliseconds idle{0};      // quiet time before the first probe
    std::chrono::milliseconds interval{0};  // between unanswered probes
    uint8_t probes = 0;                     // unanswered probes before the connection ends
};

// Per-connection options, given to connect() and listen() (then applied to each accepted
// connection before on_accept). no_delay and keepalive can also be changed later on the Conn.
struct ConnOptions {
    std::optional<bool> no_delay{};        // TCP_NODELAY; unset: the stack's tcp.nagle decides
    std::optional<Keepalive> keepalive{};  // unset: no keepalive
    // Byte-buffer sizes; 0 takes the configured size (tcp.send_buffer / tcp.recv_buffer),
    // which is also the maximum (larger: Errc::BufferTooLarge); below kMinBuffer:
    // Errc::InvalidArgument. recv_buffer applies to connect() only: for listen() it must be 0
    // (Errc::Unsupported), because the SYN-ACK's window scale is chosen before a connection
    // exists (SYN cookies), from the configured size.
    uint32_t send_buffer = 0;
    uint32_t recv_buffer = 0;
    static constexpr uint32_t kMinBuffer = 2048;
};

// A connection's status (RFC 9293 3.10.6), from Conn::status.
struct ConnStatus {
    State state = State::Closed;
    Endpoint local{}, remote{};
    std::chrono::microseconds srtt{0}, rttvar{0}, rto{0};  // RFC 6298; 0 before a sample
    uint32_t cwnd = 0, ssthresh = 0;                       // RFC 5681 (bytes)
    uint32_t send_mss = 0;
    uint32_t send_window = 0;                      // the peer's window (bytes)
    uint32_t receive_window = 0;                   // what we advertise (bytes)
    size_t send_queued = 0;                        // bytes not yet acknowledged (or not yet sent)
    size_t receive_queued = 0;                     // bytes ready for receive()
    uint32_t send_buffer = 0, receive_buffer = 0;  // this connection's buffer sizes
    uint64_t bytes_sent = 0;                       // accepted by send()
    uint64_t bytes_received = 0;                   // returned by receive()
    uint64_t segments_in = 0, segments_out = 0;
    uint64_t retransmits = 0;  // segments sent again (SYN, data or FIN)
    bool no_delay = false;
    bool keepalive = false;
    bool peer_closed = false;  // the peer's FIN arrived
};

class Conn;

// Callbacks for a connection, on its worker's lcore, inside the loop. All are optional.
// Handlers are cheap: each connect() and listen() copies its own (a few pointers), given back
// when the connection's on_close has run; a distinct ctx per call is fine. For state per
// connection, share one Handlers (ctx = the application) and hang the connection's own state
// on the handle with set_user(), freed in on_close. `ctx` must stay valid until the last
// on_close it can receive, the ones at shutdown included (destroy the Stack first).
// Order for one connection: on_accept (passive) or on_connected (active) first; then any of
// on_data, on_sent, on_peer_closed; on_error (if the end was abnormal) right before on_close,
// which is always the last. A connection that was never established (refused, timed out)
// gets on_error and on_close without on_connected; a passive one that never completed its
// handshake is never reported. Calls made on the Conn inside a callback are allowed
// (send, receive, close, ...); their own effects are reported after the callback returns.
struct Handlers {
    void (*on_accept)(Conn c, void* ctx) = nullptr;     // a listener's connection is open
    void (*on_connected)(Conn c, void* ctx) = nullptr;  // connect() reached ESTABLISHED
    void (*on_data)(Conn c, void* ctx) = nullptr;       // new bytes for receive()
    void (*on_sent)(Conn c, void* ctx) = nullptr;       // room again after a short send()
    // The peer closed its side: receive() drains what is left, then reports EndOfStream.
    // Unset: on_data is called instead.
    void (*on_peer_closed)(Conn c, void* ctx) = nullptr;
    void (*on_error)(Conn c, Errc why, void* ctx) = nullptr;  // Reset, Refused or TimedOut
    void (*on_close)(Conn c, void* ctx) = nullptr;  // last call; the handle is dead after it
    void* ctx = nullptr;
    friend bool operator==(const Handlers&, const Handlers&) = default;
};

// A handle on one connection. Copyable, 16 bytes, default-constructed empty. See the thread
// and lifetime rules at the top of this file; every call checks them first.
class Conn {
public:
    Conn() = default;

    // Copies as much of `data` as the send buffer takes and sends what the windows allow.
    // bytes < data.size() means the buffer is full: on_sent follows when there is room.
    // Errors: NoConnection, WrongLcore, Closing (after close/shutdown_send), Reset, Refused,
    // TimedOut, Aborted (the connection ended that way and on_close is pending).
    IoResult send(std::span<const std::byte> data) noexcept;
    IoResult send(std::string_view data) noexcept {
        return send(std::as_bytes(std::span<const char>(data.data(), data.size())));
    }
    // Zero-copy send: takes ownership of the whole chain if it fits in the send buffer
    // (bytes = its pkt_len), else bytes == 0 with Ok and the caller keeps it (on_sent
    // follows when there is room); on an error the caller keeps it too. The data must not
    // change until the stack frees the mbufs: segments refer to it until acknowledged.
    // Any pool; chains of any segment sizes.
    IoResult send(rte_mbuf* chain) noexcept;
    // Copies received bytes out. bytes == 0 and Ok: nothing there yet; EndOfStream: the
    // peer's FIN was reached. Errors: NoConnection, WrongLcore, Closing (after close()),
    // Reset, Refused, TimedOut, Aborted.
    IoResult receive(std::span<std::byte> out) noexcept;
    // Zero-copy receive: the next mbuf of in-order payload (data_len bytes; the caller frees
    // it), or nullptr with `r` saying why as receive() would (Ok: nothing yet, EndOfStream).
    rte_mbuf* receive_mbuf(IoResult& r) noexcept;

    // FIN after the queued data; receive() keeps working (half-close). Errors: NoConnection,
    // WrongLcore, Closing (already), Reset/...: ended.
    Errc shutdown_send() noexcept;
    // Graceful close of both directions: FIN after queued data; new data from the peer after
    // this is answered with RST, which ends the connection (RFC 1122 4.2.2.13);
    // on_close follows once the connection is done. Errors: NoConnection, WrongLcore, Closing.
    Errc close() noexcept;
    // RST, drop the queues, on_close at once (inside this call when made outside a callback).
    // Errors: NoConnection, WrongLcore.
    Errc abort() noexcept;

    // TCP_NODELAY: true sends small segments at once (Nagle off) and flushes what was held.
    Errc set_no_delay(bool on) noexcept;
    // Keepalive on or off, with this connection's times. Errors: NoConnection, WrongLcore,
    // InvalidArgument (negative times), TooManyHandlers (more than 8 distinct settings on
    // one worker).
    Errc set_keepalive(const Keepalive& k) noexcept;

    // Fills `out`. Errors: NoConnection, WrongLcore. Works inside on_error and on_close.
    Errc status(ConnStatus& out) const noexcept;

    // One pointer of application state per connection (nullptr at first). set_user errors:
    // NoConnection, WrongLcore; user() returns nullptr for those. Both work inside on_error
    // and on_close, the place to free the state.
    Errc set_user(void* p) noexcept;
    void* user() const noexcept;

    bool empty() const noexcept { return w_ == nullptr; }
    // The owning worker's index (0 for an empty handle).
    unsigned worker() const noexcept;
    friend bool operator==(const Conn&, const Conn&) = default;

private:
    friend struct detail::WorkerCtx;
    friend struct detail::StackImpl;
    Conn(detail::WorkerCtx* w, uint32_t slot, uint32_t generation) noexcept
        : w_(w), slot_(slot), generation_(generation) {}
    detail::WorkerCtx* w_ = nullptr;
    uint32_t slot_ = 0;
    uint32_t generation_ = 0;
};

// One worker: a loop on one lcore with its own connections (and NIC queue).
class Worker {
public:
    unsigned index() const noexcept;
    unsigned lcore() const noexcept;
    // Active open to addr:port, on this worker's lcore (from its hooks or callbacks). `out`
    // gets the handle; events go to `h` (copied, released after on_close).
    // Errors: WrongLcore, InvalidArgument (port 0), BufferTooLarge, NoMemory, NoPorts,
    // TooManyHandlers (keepalive: more than 8 distinct settings); AddressFamily (an IPv6 address, and the stack has no ip.address6). An
    // unresolved next hop is not an error: the SYN waits for ARP or Neighbor Discovery.
    Errc connect(IpAddress addr, uint16_t port, const Handlers& h, const ConnOptions& opts,
                 Conn* out) noexcept;
    // The time of the loop turn being run, on the worker's clock (monotonic).
    std::chrono::nanoseconds now() const noexcept;
    Stack& stack() noexcept;

private:
    friend struct detail::WorkerCtx;
    explicit Worker(detail::WorkerCtx* c) noexcept : ctx_(c) {}
    detail::WorkerCtx* ctx_;
};

// Code the application runs on each worker's lcore: on_start once before the worker's loop,
// on_tick at the end of every loop turn (keep it short: it is on the data path).
struct WorkerHooks {
    void (*on_start)(Worker& w, void* ctx) = nullptr;
    void (*on_tick)(Worker& w, void* ctx) = nullptr;
    void* ctx = nullptr;
};

// How to build a Stack. With `file`, the TOML file (config/listen.toml documents every key;
// its [[listener]] entries start sluice's built-in services) and the non-empty fields below
// override it; without, `address` and `device` are required and the rest has the documented
// defaults. Errors about a field name it as Config::<field>. Every member has a default, so
// designated initialisers compile cleanly under -Wextra.
struct Config {
    std::string file{};
    std::string address{};    // ours with the on-link prefix, "198.18.0.2/24"
    std::string gateway{};    // next hop outside the prefix, or empty
    std::string address6{};   // IPv6, ours with the prefix ("2001:2::2/64"), or empty for none
    // ethdev: a vdev name ("net_af_packet0", "net_memif0") or a PCI address. Required without
    // a file: with none the EAL would probe (and take) whatever PCI NIC the host has bound.
    std::string device{};
    std::string vdev_args{};  // for a vdev: "iface=...,qpairs=1"
    std::string iface{};      // shortcut: sets iface= in vdev_args
    std::string lcores{};     // EAL lcore list, one worker per lcore ("1", "0-1"); default "0"
    // Hugepages for DPDK memory; unset: the file's memory.hugepages (default false, as the
    // shipped configs: --no-huge, which virtual devices and tests want).
    std::optional<bool> hugepages{};
    // EAL memory in MB ("-m"; 0: the file's memory.size_mb, else DPDK's default, 64 MB
    // without hugepages) and mbufs per RX queue (0: the file's memory.mbufs_per_queue).
    uint32_t memory_mb = 0;
    uint32_t mbufs_per_queue = 0;
    // TCP sizes (0: the file's or the default): connection slots per worker, and each
    // connection's buffer sizes, which are also the per-connection maxima.
    uint32_t max_connections = 0;
    uint32_t send_buffer = 0;
    uint32_t recv_buffer = 0;
    // EAL --file-prefix (empty: "sluice"): names the process's runtime directory, where
    // sluice-stat --prefix and dpdk-dumpcap --file-prefix find it.
    std::string file_prefix{};
    // EAL arguments, argv[0] first (e.g. everything before "--" of main's argv); what the
    // config implies (-l, --vdev, --no-pci, --no-huge, -m, --file-prefix) is added unless
    // given. Ignored when init_eal is false (the application called rte_eal_init itself).
    std::vector<std::string> eal_args{};
    bool init_eal = true;
};

class Stack {
public:
    // Initialises the EAL (unless cfg.init_eal is false), opens the port and builds the
    // workers. nullptr on failure, with `error` saying what went wrong and what to do. One
    // Stack per process. Main lcore.
    static std::unique_ptr<Stack> create(const Config& cfg, std::string& error);
    ~Stack();
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;

    // Accepts connections on `port` on every worker; each goes to `h` (copied) with `opts`.
    // Main lcore, before run(). Errors: WrongLcore (another thread), NotRunning (after run()
    // started), InvalidArgument (port 0), AddressInUse, BufferTooLarge, Unsupported
    // (opts.recv_buffer), TooManyHandlers (more than 64 listeners).
    Errc listen(uint16_t port, const Handlers& h, const ConnOptions& opts = {});
    // Per-worker hooks. Main lcore, before run(). Errors: WrongLcore, NotRunning.
    Errc set_hooks(const WorkerHooks& hooks);

    // Runs every worker (worker 0 on the calling main lcore) until `stop` is true, e.g. set
    // from a signal handler; then aborts the connections still open (each gets on_close,
    // see Lifetimes above) and returns Ok once all workers have stopped. Errors, returned at
    // once with nothing run: WrongLcore (not the main lcore), NotRunning (run() already ran).
    Errc run(const std::atomic<bool>& stop);

    size_t worker_count() const noexcept;
    Worker& worker(size_t i) noexcept;
    // A counter (sluice/counters.hpp) summed over workers. Any thread.
    uint64_t counter(Counter c) const noexcept;
    // Our address and the port's name and driver, for logs.
    std::string describe() const;

private:
    friend struct detail::StackImpl;
    explicit Stack(std::unique_ptr<detail::StackImpl> impl);
    std::unique_ptr<detail::StackImpl> impl_;
};

}  // namespace sluice
