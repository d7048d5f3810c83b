#pragma once
// The per-lcore SYN cache (RFC 4987 3.3; model: FreeBSD tcp_syncache.c): half-open
// connections as compact entries instead of TCBs, used by `auto` listeners while the SYN
// rate is ordinary. Unlike a cookie, an entry keeps every option of the SYN (MSS exactly,
// window scale, SACK-permitted, timestamps, ECN) and retransmits its SYN-ACK.
//
// Memory: `capacity` entries of 128 bytes and a bucket array, allocated once at
// construction; nothing is allocated afterwards. Entries hang off 2^k buckets (k such that
// a full cache averages at most 2 entries a bucket) in singly-linked chains, newest first.
// The bucket is picked by SipHash-2-4 of the tuple under a random key (like FreeBSD's
// hashed secret), so a flood cannot aim at one bucket. A bucket holds at most bucket_limit
// entries: inserting into a full one evicts its oldest (counted, as FreeBSD
// tcps_sc_bucketoverflow). With no free entry at all, insert() refuses: the caller answers
// with a cookie (RFC 4987 3.7, hybrid approaches). Every operation is O(bucket_limit).
//
// Timers: each entry embeds a time::Timer on the lcore's wheel. The SYN-ACK is retransmitted
// after initial_rto, then with the interval doubling (RFC 6298 (5.5), capped at max_rto),
// synack_retries times (Linux tcp_synack_retries = 5: 1, 2, 4, 8, 16 s); one more interval
// without an answer and the entry expires (63 s with the defaults, as Linux). Retransmitted
// SYN-ACKs go to a sink function the host sets (no virtual call, no outbox to overflow).
// FreeBSD keeps one timer per bucket to save memory; a timer per entry costs 56 bytes and
// buys O(1) firing without scanning.
//
// Threads: one cache per lcore, with that lcore's wheel; nothing here is thread-safe. The
// wheel must outlive the cache.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "tcp/config.hpp"
#include "tcp/segment.hpp"
#include "tcp/syncookie.hpp"
#include "tcp/tuple.hpp"
#include "time/instant.hpp"
#include "time/wheel.hpp"
#include "wire/seq.hpp"

namespace sluice::tcp {

// Linux net.ipv4.tcp_synack_retries.
inline constexpr uint8_t kDefaultSynAckRetries = 5;

struct SynCacheConfig {
    uint32_t capacity = 4096;   // entries per lcore (Linux tcp_max_syn_backlog is 128-4096)
    uint32_t bucket_limit = 8;  // FreeBSD: 30 with 512 buckets; ours average <= 2 when full
    uint8_t synack_retries = kDefaultSynAckRetries;
    time::Duration initial_rto = kInitialRto;  // RFC 6298 (2.1)
    time::Duration max_rto = kMaxRto;
    bool ecn = false;  // answer ECN-setup SYNs (RFC 3168); the core has no ECN yet
};

using MacBytes = std::array<uint8_t, 6>;  // the peer's Ethernet address, opaque here

// One half-open connection, 128 bytes (the timer node alone is 56).
struct SynCacheEntry {
    static constexpr uint32_t kNone = UINT32_MAX;
    // Bits of `flags`.
    // kResent: a SYN-ACK went out again (timer or retransmitted SYN), RFC 6298 (5.7).
    static constexpr uint8_t kInUse = 1, kHasMss = 2, kWsOk = 4, kSackOk = 8, kTsOk = 16,
                             kEcnOk = 32, kResent = 64;

    time::Timer timer;         // SYN-ACK retransmission, then expiry
    FourTuple tuple;           // local = us
    wire::SeqNum iss, irs;     // our ISS (RFC 6528), the SYN's SEQ
    uint32_t peer_tsval = 0;   // the SYN's TSval: TSecr of our SYN-ACKs
    uint32_t next = kNone;     // bucket chain (or free list)
    uint16_t peer_mss = 0;     // as announced (with kHasMss)
    uint16_t peer_window = 0;  // the SYN's window field
    uint8_t peer_wscale = 0;   // with kWsOk
    uint8_t flags = 0;
    uint8_t retransmits = 0;
    MacBytes peer_mac{};  // for the host's retransmissions

    SynNegotiation negotiation() const noexcept;
};
static_assert(sizeof(SynCacheEntry) <= 128, "SynCacheEntry budget: two cache lines");

struct SynCacheStats {
    uint64_t added = 0;        // entries created (SYN-ACK sent)
    uint64_t completed = 0;    // final ACK accepted: a connection was made
    uint64_t resent = 0;       // SYN-ACK resent for a retransmitted SYN
    uint64_t retransmits = 0;  // SYN-ACK retransmitted by the timer
    uint64_t expired = 0;      // retries exhausted, entry dropped
    uint64_t evicted = 0;      // oldest entry of a full bucket dropped (bucket overflow)
    uint64_t refused = 0;      // insert() found no free entry
    uint64_t reset = 0;        // the peer's RST ended an entry
    uint64_t bad_ack = 0;      // unacceptable ACK answered with RST
};

enum class SynCacheVerdict : uint8_t {
    Established,  // `accept` filled and the entry erased: create the connection
    Reset,        // unacceptable ACK (RFC 9293 3.10.7.4 fifth step): send `reply` (RST)
    Aborted,      // acceptable RST (RFC 9293 3.10.7.4 second step): entry erased
    Drop,         // nothing to do
};

class SynCache {
public:
    // Called by the timer for each retransmitted SYN-ACK: frame it to e.peer_mac.
    using Sink = void (*)(void* ctx, const SynCacheEntry& e, const OutSegment& syn_ack,
                          time::Instant now);

    // Set-up: allocates. cfg (the listener's TCP Config) must outlive the cache. Draws the
    // bucket-hash key from the CSPRNG (throws std::runtime_error if libsodium cannot
    // initialise), or takes `hash_key` (tests).
    SynCache(const SynCacheConfig& sc, const Config& cfg, time::TimerWheel& wheel);
    SynCache(const SynCacheConfig& sc, const Config& cfg, time::TimerWheel& wheel,
             const CookieSecrets::Key& hash_key);
    ~SynCache();
    SynCache(const SynCache&) = delete;
    SynCache& operator=(const SynCache&) = delete;

    void set_sink(Sink fn, void* ctx) noexcept {
        sink_ = fn;
        sink_ctx_ = ctx;
    }

    // A SYN (ACK and RST clear) for a listener, no flow for t. Returns the entry and writes
    // the SYN-ACK to send into `syn_ack`:
    //   - new tuple: a new entry with ISS `iss` (the caller's RFC 6528 ISN); if its bucket
    //     was full, the bucket's oldest entry was evicted (*evicted = true);
    //   - cached tuple, same SEG.SEQ: a retransmitted SYN; the SYN-ACK is sent again
    //     (`iss` unused, the timer untouched);
    //   - cached tuple, new SEG.SEQ: the peer started over: the entry is rebuilt for this
    //     SYN (RFC 9293 3.10.7.4 fourth step returns a passive SYN-RECEIVED to LISTEN).
    // Returns nullptr (nothing written) when no entry is free: answer with a cookie.
    SynCacheEntry* insert(const FourTuple& t, const Segment& syn, wire::SeqNum iss,
                          const MacBytes& peer_mac, time::Instant now, OutSegment& syn_ack,
                          bool* evicted = nullptr) noexcept;

    // The entry for t, or nullptr.
    SynCacheEntry* find(const FourTuple& t) noexcept;

    // A non-SYN segment for entry e (SYNs go to insert()):
    //   ACK of our SYN-ACK (SEG.ACK = ISS + 1, SEG.SEQ in [IRS + 1, IRS + 1 + window)):
    //       Established, `accept` filled (all options), entry erased;
    //   other ACK: Reset, `reply` = <SEQ=SEG.ACK><CTL=RST>, entry kept;
    //   RST at exactly IRS + 1 (RFC 5961 3.2): Aborted, entry erased; other RST: Drop;
    //   no ACK: Drop.
    // The host then calls establish_directly(handshake_params(accept)) and on_segment(seg).
    SynCacheVerdict on_segment(SynCacheEntry& e, const Segment& seg, time::Instant now,
                               PassiveAccept& accept, OutSegment& reply) noexcept;

    // The SYN-ACK of entry e, with a fresh TSval.
    OutSegment syn_ack(const SynCacheEntry& e, time::Instant now) const noexcept;

    // Frees e and stops its timer. O(bucket_limit).
    void erase(SynCacheEntry& e) noexcept;

    uint32_t size() const noexcept { return size_; }  // half-open entries
    uint32_t capacity() const noexcept { return capacity_; }
    uint32_t bucket_count() const noexcept { return bucket_mask_ + 1; }
    uint32_t bucket_of(const FourTuple& t) const noexcept;
    const SynCacheStats& stats() const noexcept { return stats_; }

    // Chains, free list and counts agree; every live entry has an armed timer. O(capacity).
    bool check_invariants() const noexcept;

private:
    static void on_timer(time::Timer& t, time::Instant now);
    void fire(SynCacheEntry& e, time::Instant now) noexcept;
    void fill(SynCacheEntry& e, const FourTuple& t, const Segment& syn, wire::SeqNum iss,
              const MacBytes& mac) const noexcept;
    void unlink(SynCacheEntry& e) noexcept;
    time::Duration rto(uint8_t retransmits) const noexcept;
    uint32_t index_of(const SynCacheEntry& e) const noexcept {
        return uint32_t(&e - entries_.get());
    }

    SynCacheConfig scfg_;
    const Config* cfg_;
    time::TimerWheel* wheel_;
    CookieSecrets::Key hash_key_{};
    uint32_t capacity_;
    uint32_t bucket_mask_;
    uint32_t size_ = 0;
    uint32_t free_head_ = SynCacheEntry::kNone;
    std::unique_ptr<SynCacheEntry[]> entries_;
    std::unique_ptr<uint32_t[]> buckets_;  // head entry index per bucket
    Sink sink_ = nullptr;
    void* sink_ctx_ = nullptr;
    SynCacheStats stats_;
};

}  // namespace sluice::tcp
