#pragma once
// Two sluice stacks in one process, back to back through a lossy link, on a virtual clock.
//
//   Worker A (client) --net_ring-- tx ring --> Link a->b --> rx ring --net_ring-- Worker B
//                     <-- rx ring <-- Link b->a <-- tx ring                      (echo :7)
//
// Each Worker is polled with Worker::poll(now) at the virtual time; nothing reads a real
// clock, so a run is a function of its seeds: the same seeds give the same bytes on the
// wire, the same retransmissions and the same virtual duration.
//
// The link, per direction: a serialisation rate (one frame after the other), a base delay,
// and seeded loss, duplication and reordering (a reordered frame waits an extra random
// delay, so frames sent after it overtake it). ARP passes untouched (loss applies to IPv4).
//
// The application on A opens connections to B's echo service and sends a seeded pattern
// per connection, checks every echoed byte, half-closes when all is sent and counts the
// connection done at Closed (A ends in TIME-WAIT, B in LAST-ACK -> CLOSED).
//
// Needs the EAL (test/eal_main.cpp). Test-only code: it allocates freely.

#include <sluice/counters.hpp>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dev/port.hpp"
#include "engine/worker.hpp"
#include "time/instant.hpp"

struct rte_ring;
struct rte_mbuf;
struct rte_mempool;

namespace sluice::lossy {

using time::Duration;
using time::Instant;

struct LinkConfig {
    double loss = 0;       // probability a frame is dropped
    double duplicate = 0;  // probability a frame is delivered twice
    double reorder = 0;    // probability a frame is held back an extra delay
    Duration delay = std::chrono::milliseconds(1);          // one way
    Duration reorder_extra = std::chrono::milliseconds(2);  // held back up to this much more
    uint64_t rate_bps = 1'000'000'000;                      // serialisation rate
    uint64_t seed = 1;
};

// One direction of the link.
class Link {
public:
    Link(const LinkConfig& cfg, rte_mempool* dup_pool);
    ~Link();
    // Takes every frame from `from` (a port's TX ring) sent at `now`.
    void take(rte_ring* from, Instant now);
    // Puts every frame due by `now` into `to` (a port's RX ring); returns how many.
    uint32_t deliver(rte_ring* to, Instant now);
    bool empty() const { return queue_.empty(); }
    Instant next_due() const;

    uint64_t frames = 0, lost = 0, duplicated = 0, reordered = 0;

private:
    struct InFlight {
        Instant due;
        uint64_t order;  // FIFO among equal due times
        rte_mbuf* m;
        bool operator>(const InFlight& o) const {
            return due != o.due ? due > o.due : order > o.order;
        }
    };
    double uniform();  // [0, 1) from the seeded generator
    void push(rte_mbuf* m, Instant due);

    LinkConfig cfg_;
    rte_mempool* dup_pool_;
    std::mt19937_64 rng_;
    Instant busy_until_;
    uint64_t order_ = 0;
    std::vector<InFlight> queue_;  // a min-heap on (due, order)
};

struct BedConfig {
    LinkConfig link;              // a->b; b->a uses the same with seed + 1
    uint32_t connections = 1000;  // in total
    uint32_t concurrent = 64;     // open at once
    uint64_t bytes = 1 << 20;     // each way per connection
    uint32_t buffer = 64 * 1024;  // send and receive buffers on both sides
    uint64_t pattern_seed = 42;
    bool sack = true;                         // SACK-permitted offered by both stacks
    bool echo = true;                         // false: B discards (one-way bulk, for the benchmark)
    bool ipv6 = false;                        // connections over IPv6 (2001:2::1 -> 2001:2::2)
    Duration msl = std::chrono::seconds(30);  // TIME-WAIT lasts 2 x msl (virtual)
    uint32_t mbufs = 16383;                   // per port
    uint32_t mbuf_cache = 0;                  // per-lcore mempool cache (a real port has 256)
    Duration max_virtual = std::chrono::hours(1);  // a stuck run fails, it does not hang
};

struct BedResult {
    uint32_t completed = 0;       // connections that got every byte back and Closed
    uint32_t corrupt = 0;         // connections that saw a wrong byte
    uint32_t failed = 0;          // Closed with a reason other than Normal, or connect failed
    uint64_t bytes_verified = 0;  // echoed bytes checked (discard: bytes sent), all connections
    Duration data_time{};         // virtual time from the first connect to the last byte back
    Duration total_time{};        // ... to every TCB and TIME-WAIT entry gone
    uint64_t retrans_a = 0, retrans_b = 0;  // RetransSegs
    uint64_t sack_recoveries = 0, reno_recoveries = 0;
    uint64_t frames = 0, lost = 0, duplicated = 0, reordered = 0;
    uint64_t mbuf_exhausted = 0;  // DropMbufExhausted on either side (should stay 0)
    bool all_closed = false;      // both hosts ended with no connections and no TIME-WAIT
    uint64_t data_cycles = 0;     // TSC cycles (real) from the first connect to the last byte
                                  // back (echo) or the last connection Closed (discard)
    uint64_t data_cpu_ns = 0;     // this thread's CPU time over the same span (shared hosts;
                                  // read once, when the last connection's data is done)
    uint64_t conn_cycles = 0;     // TSC cycles from the first connect until every connection
                                  // is released on both hosts (TIME-WAIT entries may remain)
    uint64_t conn_cpu_ns = 0;     // this thread's CPU time over the same span
    uint64_t turns = 0;           // loop turns (both links, both stacks) over the same span
    uint64_t conn_frames = 0;     // frames the links carried over the same span
    std::string error;            // set-up failure
    double goodput() const {      // echoed bytes per virtual second
        const double s = std::chrono::duration<double>(data_time).count();
        return s > 0 ? double(bytes_verified) / s : 0;
    }
};

// Runs one experiment; stacks are created and torn down inside.
BedResult run_bed(const BedConfig& cfg);

// What the bed alone costs (benchmarks subtract it): run_null_bed moves `frames` frames
// through the same links in `turns` loop turns with a reflector instead of each stack, and
// does the client's pattern fill and check for every connection.
struct NullResult {
    uint64_t cycles = 0;  // TSC
    uint64_t cpu_ns = 0;  // this thread's CPU time
    uint64_t frames = 0;  // carried
    std::string error;
};
NullResult run_null_bed(const BedConfig& cfg, uint64_t frames, uint64_t turns);

// The byte at `offset` of connection `conn`'s stream.
uint8_t pattern_byte(uint64_t seed, uint32_t conn, uint64_t offset);

}  // namespace sluice::lossy
