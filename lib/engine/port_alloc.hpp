#pragma once
// Local ports for active opens, one allocator per worker.
//
// A connection we open must come home: the peer's replies have to reach the worker that
// opened it, or that worker never sees its SYN-ACK. The receive side puts a flow on the queue
// RETA[Toeplitz(tuple) & mask] (dev/rss.hpp), the same function whether the NIC computes it
// or the software steering stage does, so the allocator walks the ephemeral range from where
// it left off and takes the first port whose reply tuple maps to this worker's queue and
// whose 4-tuple the flow table does not hold (a live connection or a TIME-WAIT entry: RFC
// 9293 3.4.2 forbids reusing it while it may still have segments in flight). With W workers
// about one port in W qualifies, so a pick costs W hashes on average.
//
// Threads: the owning worker only.

#include <cstdint>

#include "dev/rss.hpp"
#include "flow/flow_table.hpp"
#include "wire/addr.hpp"

namespace sluice::engine {

class PortAllocator {
public:
    // Ports low..high (inclusive) for a worker on `queue` of a port steered by `rss` (held by
    // reference: it must outlive the allocator).
    PortAllocator(uint16_t low, uint16_t high, const dev::RssMap& rss, uint16_t queue) noexcept;

    // Fills key.local_port and `table_hash` (the flow table's hash of the finished key).
    // False when no port of the range qualifies for this remote address and port: the
    // caller fails the open with EADDRNOTAVAIL and counts PortsExhausted.
    bool pick(wire::FlowKey& key, uint32_t& table_hash, const flow::FlowTable& table) noexcept;

    // Whether a reply from key.remote:key.remote_port to key.local:key.local_port lands on
    // this worker's queue.
    bool comes_home(const wire::FlowKey& key) const noexcept;

    uint16_t queue() const noexcept { return queue_; }

private:
    uint16_t low_, high_;
    const dev::RssMap& rss_;
    uint16_t queue_;
    uint16_t next_;
};

}  // namespace sluice::engine
