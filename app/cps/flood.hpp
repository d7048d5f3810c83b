#pragma once
// --syn-flood: SYNs from spoofed sources in a prefix, at a paced rate, for a bounded count and
// duration, sent through the worker's own TX queue between its poll()s (so ARP for the
// target is answered and nothing else shares the queue). Frames are built by lib/wire like
// every other frame sluice sends; options are those of a Linux SYN (MSS, SACK-permitted,
// timestamps, window scale) so a defence cannot tell them apart by shape.

#include <atomic>
#include <cstdint>

#include "dev/port.hpp"
#include "engine/worker.hpp"
#include "time/instant.hpp"
#include "wire/addr.hpp"

namespace sluice::cps {

struct FloodPlan {
    wire::Ipv4Prefix prefix;  // spoofed sources (checked by check_flood_prefix)
    wire::IpAddr target;
    uint16_t port = 80;
    uint64_t rate = 10000;  // 0: as fast as the queue takes them
    uint64_t count = 0;     // 0: until duration
    time::Duration duration = std::chrono::seconds(10);
};

struct FloodResult {
    uint64_t sent = 0;          // accepted by the TX queue
    uint64_t tx_full = 0;       // refused by a full TX queue (not retried)
    uint64_t no_mbuf = 0;       // mbuf pool empty
    uint64_t missed_slots = 0;  // paced slots given up (the loop fell behind)
    double seconds = 0;
    bool target_unresolved = false;  // no ARP answer for the target (or its gateway)
};

// Runs on the worker's lcore until done or `stop`. The progress counters are for other
// threads.
struct FloodLive {
    std::atomic<uint64_t> sent{0};
};
FloodResult run_flood(engine::Worker& w, const dev::Port& port, const FloodPlan& plan,
                      const std::atomic<bool>& stop, FloodLive& live);

}  // namespace sluice::cps
