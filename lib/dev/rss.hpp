#pragma once
// Receive-side scaling: which worker owns a flow.
//
// sluice spreads flows over its workers by the Toeplitz hash of the TCP/IP 4-tuple (Microsoft
// RSS specification) with a symmetric key, and a redirection table (RETA) from the hash's low
// bits to a queue. The same computation runs in three places, and must agree in all of them:
//   - the NIC, when the PMD can steer (Steering::Hardware, configured in port.cpp);
//   - the software steering stage, when it cannot (Steering::Software: the receiving worker
//     hashes the frame and hands it to the owner over an rte_ring, engine/worker.cpp);
//   - the local-port allocator, so that the reply to a connection we open hashes back to the
//     worker that opened it (engine/port_alloc.hpp).
//
// Threads: an RssMap is built at set-up and only read afterwards (any thread).

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace sluice::dev {

// How a port's received frames reach the worker that owns their flow.
enum class Steering : uint8_t {
    Single,    // one worker: it owns everything
    Hardware,  // the NIC's RSS with our key and RETA puts each flow on its owner's queue
    Software,  // the PMD spreads frames its own way (or not at all); the receiving worker
               // computes the hash and forwards frames it does not own over an rte_ring
};
const char* steering_name(Steering s) noexcept;

// What the configuration asks for (cpu.steering).
enum class SteeringMode : uint8_t { Auto, Hardware, Software };

// The longest key a PMD asks for (i40e, ice: 52 bytes; most others: 40).
inline constexpr size_t kRssKeyLen = 52;

// The symmetric Toeplitz key: 0x6d5a repeated. Its period (16 bits) divides the offset
// between the source and destination fields (32 bits for addresses, 16 for ports), so the
// hash of (a, b, pa, pb) equals that of (b, a, pb, pa) and both directions of a flow land on
// the same queue ("Scalable TCP Session Monitoring with Symmetric Receive-side Scaling",
// Woo & Park, 2012).
const std::array<uint8_t, kRssKeyLen>& symmetric_rss_key() noexcept;

// The flow -> worker map of one port.
class RssMap {
public:
    // RETA entries for software steering and for PMDs whose table we fill ourselves (a power
    // of two; 128 is what ixgbe and i40e VFs have, large enough to spread 2..16 workers
    // within 1/128 of even).
    static constexpr uint16_t kDefaultRetaSize = 128;

    // One queue: everything is queue 0.
    RssMap() : reta_{0} {}
    // `reta` entries must be < queues; its size a power of two.
    RssMap(uint16_t queues, std::vector<uint16_t> reta);
    // Entry i -> queue i % queues, as DPDK's default RETA.
    static RssMap round_robin(uint16_t queues, uint16_t reta_size = kDefaultRetaSize);

    // The Toeplitz hash with the symmetric key of an IPv4 TCP segment from src:sport to
    // dst:dport (all host order), as a NIC computes it for RTE_ETH_RSS_NONFRAG_IPV4_TCP.
    static uint32_t hash_v4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) noexcept;
    // The same for IPv6 (addresses in network byte order, 16 bytes each).
    static uint32_t hash_v6(const uint8_t* src, const uint8_t* dst, uint16_t sport,
                            uint16_t dport) noexcept;

    uint16_t queue_of_hash(uint32_t h) const noexcept { return reta_[h & mask_]; }
    uint16_t queue_v4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) const noexcept {
        return queue_of_hash(hash_v4(src, dst, sport, dport));
    }
    uint16_t queue_v6(const uint8_t* src, const uint8_t* dst, uint16_t sport,
                      uint16_t dport) const noexcept {
        return queue_of_hash(hash_v6(src, dst, sport, dport));
    }

    uint16_t queues() const noexcept { return queues_; }
    std::span<const uint16_t> reta() const noexcept { return reta_; }

private:
    uint16_t queues_ = 1;
    std::vector<uint16_t> reta_;
    uint32_t mask_ = 0;
};

}  // namespace sluice::dev
