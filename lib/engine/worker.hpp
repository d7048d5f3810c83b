#pragma once
// One worker: owns RX/TX queue `queue` of the port, its neighbour table and its counters, and
// runs the poll loop on one lcore: rx burst, classify, answer, tx burst. Both families: ARP
// and IPv4, Neighbor Discovery and IPv6 (when the config gives an address6), TCP over each.
//
// Threads: every member function runs on the worker's own lcore, except that other threads
// may read counters() at any time (see sluice/counters.hpp).

#include <sluice/counters.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "dev/port.hpp"
#include "engine/config.hpp"
#include "engine/neighbor.hpp"
#include "engine/tcp_host.hpp"
#include "time/instant.hpp"
#include "time/tsc_clock.hpp"
#include "wire/build.hpp"
#include "wire/drop.hpp"
#include "wire/parse.hpp"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

namespace sluice::engine {

class Worker {
public:
    static constexpr uint16_t kBurst = 32;  // as DPDK's l3fwd: amortises the PMD call

    Worker(const NetConfig& net, const dev::Port& port, uint16_t queue, Counters& counters);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Set-up: gives this worker its TCP side (flows, listeners, timers). Without one, every
    // TCP segment is answered as in CLOSED.
    dev::Result<dev::Ok> enable_tcp(const TcpHostConfig& cfg);
    // The same, with the TCP host's clock origin given: for a worker driven by poll(now).
    dev::Result<dev::Ok> enable_tcp(const TcpHostConfig& cfg, time::Instant now);
    TcpHost* tcp() noexcept { return tcp_.get(); }
    const TcpHost* tcp() const noexcept { return tcp_.get(); }

    // Set-up, with more than one worker: the rings to every other worker (`out[q]` feeds the
    // worker on queue q; nullptr at our own index) and from them. With `forward` (software
    // steering) a TCP frame (IPv4, or IPv6 without extension headers) this worker does not own
    // goes to its owner; in any case ARP and Neighbor Discovery frames are copied to every
    // other worker so that each neighbour table learns.
    void set_steering(std::vector<rte_ring*> out, std::vector<rte_ring*> in, bool forward);

    // Runs once on the worker's lcore before the loop starts (an application opening
    // connections, say). Set-up only.
    void set_on_start(std::function<void(Worker&)> fn) { on_start_ = std::move(fn); }
    // Runs at the end of every loop turn on the worker's lcore, after the timers (the
    // library's per-worker tick). A plain function pointer: no allocation, one indirect call
    // per turn. Set-up only.
    using TickFn = void (*)(Worker& w, time::Instant now, void* ctx);
    void set_on_tick(TickFn fn, void* ctx) noexcept {
        on_tick_ = fn;
        on_tick_ctx_ = ctx;
    }
    // The time of the loop turn being run (the last poll(now) on a virtual clock); before the
    // first turn, the clock's.
    time::Instant loop_time() const noexcept { return started_ ? now_ : now(); }

    // Polls until `stop` becomes true (checked once per loop turn), then drains the TX batch.
    void run(const std::atomic<bool>& stop) noexcept;

    // Sends the frames batched since the last turn (the library's shutdown, after aborting
    // what is still open). Worker lcore only.
    void flush() noexcept;

    // One loop turn: receive a burst, handle it, send what it produced.
    void poll() noexcept;
    // The same turn at a given time instead of the TSC's: tests drive workers on a virtual
    // clock (test/lossy). Instants must not go backwards from one call to the next. The
    // cycle counters still count real cycles.
    void poll(time::Instant now) noexcept;

    uint16_t queue() const { return queue_; }
    const wire::MacAddr& mac() const { return mac_; }
    // The MAC to send to `dst` (via the gateway when off-link); false while ARP is pending (a
    // request goes out, rate-limited). For applications that send their own frames on this
    // worker's queue between poll()s (sluice-cps --syn-flood). Worker lcore only.
    bool neighbor_mac(const wire::IpAddr& dst, time::Instant now, wire::MacAddr& mac) noexcept {
        return resolve(dst, now, mac);
    }
    const Counters& counters() const { return counters_; }
    // fe80::/64 from our MAC (RFC 4291 2.5.1): ours when the stack has IPv6.
    const wire::IpAddr& link_local() const noexcept { return link_local_; }
    bool has_ipv6() const noexcept { return net_.has_ipv6(); }
    // One of our addresses (configured, source range, or the link-local one with IPv6).
    bool is_local(const wire::IpAddr& a) const noexcept;
    // Reachable without a router: inside our v4 prefix, our v6 prefix, or link-local.
    bool on_link(const wire::IpAddr& a) const noexcept;
    time::Instant now() const noexcept;

private:
    friend class TcpHost;
    void poll_at(uint64_t start, time::Instant t) noexcept;
    // Software steering: forwards the frames of `rx` that another worker owns, shares ARP,
    // and compacts the rest (ours) to the front; returns how many are ours.
    uint16_t steer(rte_mbuf** rx, uint16_t n) noexcept;
    uint16_t owner_of(const rte_mbuf* m) const noexcept;
    void share_neighbor_frame(rte_mbuf* m) noexcept;
    // Handles what other workers handed us; returns how many.
    uint16_t receive_steered(time::Instant now) noexcept;
    void handle(rte_mbuf* m, time::Instant now, bool learn_only = false) noexcept;
    void handle_arp(rte_mbuf* m, std::span<uint8_t> buf, const wire::Frame& f, time::Instant now,
                    bool learn_only) noexcept;
    void handle_icmp(rte_mbuf* m, std::span<uint8_t> buf, const wire::Frame& f,
                     wire::RxCsum hw) noexcept;
    void handle_ipv6(rte_mbuf* m, std::span<uint8_t> buf, const wire::Frame& f, wire::RxCsum hw,
                     time::Instant now, bool learn_only) noexcept;
    // Echo requests and Neighbor Discovery (RFC 4443, RFC 4861).
    void handle_icmp6(rte_mbuf* m, std::span<uint8_t> buf, const wire::Frame& f, wire::RxCsum hw,
                      time::Instant now, bool learn_only) noexcept;
    void handle_tcp(rte_mbuf* m, std::span<uint8_t> buf, const wire::Frame& f,
                    wire::RxCsum hw) noexcept;

    // Replies reuse the received mbuf: no allocation on the answer path.
    void send_tcp_reply(rte_mbuf* m, std::span<uint8_t> buf, const wire::Frame& f,
                        const wire::TcpHeaderSpec& spec) noexcept;
    // m holds `len` bytes of headers (or the whole frame); `chained` more follow in
    // m->next (m->nb_segs set by the caller).
    // With hold_next_ set (by the TCP host, around one emit), the frame is held for its next
    // hop instead (hold()).
    void transmit(rte_mbuf* m, size_t len, bool l4_offload, uint32_t chained = 0) noexcept;
    // Keeps a frame until its next hop answers ARP/ND (neighbor.hpp); drops what does not
    // fit, counted as NeighUnresolved.
    void hold(rte_mbuf* m, uint16_t ether_type) noexcept;
    // After learning `ip`: sends the frames held for it, with `mac` written in.
    void release_held(const wire::IpAddr& ip, const wire::MacAddr& mac,
                      time::Instant now) noexcept;
    void drop(rte_mbuf* m, wire::Drop why) noexcept;
    void discard(rte_mbuf* m, Counter why) noexcept;

    // Asks for `target`'s MAC if the table says to. Allocates one mbuf from our pool.
    void solicit(const wire::IpAddr& target, time::Instant now) noexcept;
    void send_request(const wire::IpAddr& target) noexcept;
    // The MAC to send to `dst` (itself if on-link, else via the gateway); false (and an ARP
    // request on its way) if not known yet.
    bool resolve(const wire::IpAddr& dst, time::Instant now, wire::MacAddr& mac) noexcept;

    const NetConfig& net_;
    const dev::Port& port_;
    const uint16_t queue_;
    rte_mempool* pool_;
    Counters& counters_;
    wire::MacAddr mac_;
    wire::IpAddr link_local_;
    wire::CsumMode tx_csum_;
    NeighborTable neighbors_;
    time::TscClock clock_;
    std::unique_ptr<TcpHost> tcp_;
    time::Instant now_;  // of the burst being handled
    std::function<void(Worker&)> on_start_;
    TickFn on_tick_ = nullptr;
    void* on_tick_ctx_ = nullptr;
    bool started_ = false;  // now_ holds a loop turn's time

    // Steering (set_steering): rings by owner queue, staging per owner for one burst.
    bool forward_ = false;
    std::vector<rte_ring*> steer_out_, steer_in_;
    std::vector<std::array<rte_mbuf*, kBurst>> steer_stage_;
    std::vector<uint16_t> steer_count_;

    bool hold_next_ = false;  // the next transmit() has no destination MAC yet: hold it
    uint16_t tx_count_ = 0;
    rte_mbuf* tx_[kBurst * 2];  // replies of one burst plus ARP requests it caused
};

// Maps a parse failure to its Drop* counter and, where Linux has one, its nstat total.
struct DropCounters {
    Counter drop;
    Counter total;  // == drop when there is no kernel twin
};
DropCounters counters_for(wire::Drop d) noexcept;

}  // namespace sluice::engine
