#pragma once
// Send and receive buffers made of mbufs (issue 5): no per-connection byte storage, no copy
// of payload on transmit or retransmit.
//
// Send: the application's bytes in a queue of single-segment mbufs (send() copies into mbufs
// of the worker's data pool, filling each to its data room; send_mbuf() appends the
// application's own chain). A segment's payload is a PayloadRef into that queue; the host
// attaches indirect mbufs to it (reference counts), so an ACK frees what it acknowledges
// while the NIC may still hold clones.
//
// Receive: the received frames themselves, narrowed to their payload (a reference on the RX
// mbuf), or a copy into the tail mbuf's room for small segments (as Linux coalesces) and
// when no frame mbuf is given (tests, fuzzing). Out-of-order segments are pieces in a
// sorted, non-overlapping list (their sequence number in mbuf->hash.usr), moved in order
// when the hole fills. Every held mbuf counts against a per-connection cap and every pinned
// RX mbuf against a per-worker limit: a peer sending tiny segments cannot pin the pools.
//
// One lcore owns a buffer; nothing here allocates from the heap, locks or throws.

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/seq.hpp"

struct rte_mbuf;
struct rte_mempool;

namespace sluice::tcp {

// The per-worker pools and limits the buffers of its connections share.
struct BufferPools {
    rte_mempool* data = nullptr;  // send() copies and received copies come from here
    uint32_t rx_pinned = 0;       // foreign (RX) mbufs held by receive buffers now
    uint32_t rx_pin_limit = 0;    // beyond this, received payload is copied instead
    uint64_t alloc_failed = 0;    // data-pool allocations that failed (counted, not fatal)
};

// `len` payload bytes starting `off` bytes into the data of mbuf `m` and continuing through
// m->next (the send queue's links). Valid until the next call on the connection.
struct PayloadRef {
    rte_mbuf* m = nullptr;
    uint32_t off = 0;
    uint32_t len = 0;

    std::size_t size() const noexcept { return len; }
    bool empty() const noexcept { return len == 0; }
    // Copies min(len, dst.size()) bytes out; returns the count.
    std::size_t copy_to(std::span<uint8_t> dst) const noexcept;
};

// Single-segment mbufs linked through m->next, with their byte and mbuf counts.
class MbufQueue {
public:
    MbufQueue() = default;
    MbufQueue(const MbufQueue&) = delete;
    MbufQueue& operator=(const MbufQueue&) = delete;
    ~MbufQueue() { clear(); }

    uint32_t bytes() const noexcept { return bytes_; }
    uint32_t count() const noexcept { return count_; }
    bool empty() const noexcept { return head_ == nullptr; }
    rte_mbuf* front() const noexcept { return head_; }
    rte_mbuf* back() const noexcept { return tail_; }

    // Takes the reference on m (one segment, data_len bytes).
    void push_back(rte_mbuf* m) noexcept;
    // Detaches the front mbuf (the caller owns it), or nullptr.
    rte_mbuf* pop_front() noexcept;
    // The tail grew by n bytes written into its room.
    void grew(uint32_t n) noexcept { bytes_ += n; }
    // Copies up to dst.size() bytes from the front and drops them; returns the count.
    std::size_t read(std::span<uint8_t> dst) noexcept;
    // Drops n bytes (n <= bytes()) from the front: whole mbufs freed, a partial one trimmed.
    // `freed_foreign` counts freed mbufs not from `own` (pinned RX mbufs).
    void consume(uint32_t n, const rte_mempool* own = nullptr,
                 uint32_t* freed_foreign = nullptr) noexcept;
    void clear(const rte_mempool* own = nullptr, uint32_t* freed_foreign = nullptr) noexcept;

private:
    rte_mbuf* head_ = nullptr;
    rte_mbuf* tail_ = nullptr;
    uint32_t bytes_ = 0;
    uint32_t count_ = 0;
};

class SendBuffer {
public:
    // A segment's payload spans at most this many mbufs (NICs limit TX segments; an
    // application chain of tiny mbufs then makes shorter segments, not longer chains).
    static constexpr uint32_t kMaxPieces = 8;

    SendBuffer() = default;
    ~SendBuffer() { clear(); }
    SendBuffer(const SendBuffer&) = delete;
    SendBuffer& operator=(const SendBuffer&) = delete;

    void init(BufferPools* pools, uint32_t budget) noexcept {
        pools_ = pools;
        budget_ = budget;
    }
    uint32_t capacity() const noexcept { return budget_; }
    uint32_t size() const noexcept { return q_.bytes(); }
    uint32_t free() const noexcept { return budget_ > q_.bytes() ? budget_ - q_.bytes() : 0; }
    bool empty() const noexcept { return q_.empty(); }
    uint32_t mbufs() const noexcept { return q_.count(); }

    // Copies as much of src as the budget and the data pool allow; returns the count.
    std::size_t write(std::span<const uint8_t> src) noexcept;
    // Appends an mbuf chain, taking ownership, if all of it fits the budget; false (the
    // caller keeps it) otherwise.
    bool append(rte_mbuf* chain) noexcept;
    // Acknowledged: drops n bytes from the front (clones in flight keep their data).
    void consume(uint32_t n) noexcept;
    void clear() noexcept;
    // Up to max bytes from `offset`, within kMaxPieces mbufs. A cursor makes the walk O(1)
    // for the usual forward progress.
    PayloadRef peek(uint32_t offset, uint32_t max) noexcept;
    bool check() const noexcept;

private:
    MbufQueue q_;
    rte_mbuf* cur_ = nullptr;  // peek cursor: an mbuf of q_ and the offset of its first byte
    uint32_t cur_off_ = 0;
    uint32_t budget_ = 0;
    BufferPools* pools_ = nullptr;
};

class RecvBuffer {
public:
    RecvBuffer() = default;
    ~RecvBuffer() { clear(); }
    RecvBuffer(const RecvBuffer&) = delete;
    RecvBuffer& operator=(const RecvBuffer&) = delete;

    void init(BufferPools* pools, uint32_t budget) noexcept;
    uint32_t capacity() const noexcept { return budget_; }
    // In-order bytes the application can read.
    uint32_t size() const noexcept { return q_.bytes(); }
    // Real free space: what the window may offer (out-of-order pieces lie inside it).
    uint32_t free() const noexcept { return budget_ > q_.bytes() ? budget_ - q_.bytes() : 0; }
    bool empty() const noexcept { return q_.empty(); }
    uint32_t mbufs() const noexcept { return q_.count() + ooo_count_; }
    uint32_t max_mbufs() const noexcept { return max_mbufs_; }
    uint32_t ooo_mbufs() const noexcept { return ooo_count_; }

    // In-order text (`frame`, if not null, is the single-segment mbuf it lies in). Keeps as
    // much as fits the free space; returns the count, 0 when the mbuf cap or the pool says
    // no (the peer retransmits).
    uint32_t push(std::span<const uint8_t> text, rte_mbuf* frame) noexcept;
    // Out-of-order text of `len` bytes at seq, beyond RCV.NXT = nxt, trimmed to the free
    // space: [seq, s) is held already, [s, e) is new and touches no piece (e stops at the
    // next piece held). s == e: nothing new to keep.
    struct Plan {
        wire::SeqNum s, e;
    };
    Plan plan(wire::SeqNum seq, wire::SeqNum nxt, uint32_t len) const noexcept;
    // Holds [s, e) of a plan; `text` starts at s. False (nothing changed) when the mbuf cap
    // or the pool says no.
    bool insert(wire::SeqNum s, wire::SeqNum e, std::span<const uint8_t> text,
                rte_mbuf* frame) noexcept;
    // RCV.NXT moved from `from` to `to` over held pieces: they join the in-order bytes.
    void deliver(wire::SeqNum from, wire::SeqNum to) noexcept;
    void clear_ooo() noexcept;

    std::size_t read(std::span<uint8_t> dst) noexcept;
    // Zero-copy receive: the front mbuf (its data is in-order payload), owned by the caller.
    rte_mbuf* pop_front() noexcept;
    void clear() noexcept;
    // Pieces sorted, apart, inside (lo, hi]; counts agree.
    bool check(wire::SeqNum lo, wire::SeqNum hi) const noexcept;

private:
    rte_mbuf* take(std::span<const uint8_t> text, rte_mbuf* frame) noexcept;
    void release(rte_mbuf* m) noexcept;

    MbufQueue q_;
    rte_mbuf* ooo_ = nullptr;  // pieces in sequence order, linked through next
    uint16_t ooo_count_ = 0;
    uint16_t max_mbufs_ = 0;
    uint32_t budget_ = 0;
    BufferPools* pools_ = nullptr;
};

}  // namespace sluice::tcp
