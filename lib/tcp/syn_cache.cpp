// The per-lcore SYN cache (syn_cache.hpp has the design).

#include "tcp/syn_cache.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

#include "tcp/time_wait.hpp"  // ts_clock

namespace sluice::tcp {

namespace {

CookieSecrets::Key random_key() {
    if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
    CookieSecrets::Key k{};
    randombytes_buf(k.data(), k.size());
    return k;
}

uint32_t round_up_pow2(uint32_t v) noexcept {
    uint32_t p = 1;
    while (p < v && p < (1u << 31)) p <<= 1;
    return p;
}

}  // namespace

SynNegotiation SynCacheEntry::negotiation() const noexcept {
    SynNegotiation n;
    n.has_mss = (flags & kHasMss) != 0;
    n.peer_mss = n.has_mss ? peer_mss : default_peer_mss(tuple.local.addr.family);
    n.ws_ok = (flags & kWsOk) != 0;
    n.peer_wscale = peer_wscale;
    n.sack_ok = (flags & kSackOk) != 0;
    n.ts_ok = (flags & kTsOk) != 0;
    n.ecn_ok = (flags & kEcnOk) != 0;
    n.peer_tsval = peer_tsval;
    return n;
}

SynCache::SynCache(const SynCacheConfig& sc, const Config& cfg, time::TimerWheel& wheel)
    : SynCache(sc, cfg, wheel, random_key()) {}

SynCache::SynCache(const SynCacheConfig& sc, const Config& cfg, time::TimerWheel& wheel,
                   const CookieSecrets::Key& hash_key)
    : scfg_(sc),
      cfg_(&cfg),
      wheel_(&wheel),
      hash_key_(hash_key),
      capacity_(std::max<uint32_t>(sc.capacity, 1)),
      bucket_mask_(round_up_pow2(std::max<uint32_t>(capacity_ / 2, 1)) - 1),
      entries_(new SynCacheEntry[capacity_]),
      buckets_(new uint32_t[bucket_mask_ + 1]) {
    scfg_.bucket_limit = std::max<uint32_t>(scfg_.bucket_limit, 1);
    std::fill_n(buckets_.get(), bucket_mask_ + 1, SynCacheEntry::kNone);
    for (uint32_t i = capacity_; i-- > 0;) {
        entries_[i].timer.set_callback(on_timer, this);
        entries_[i].next = free_head_;
        free_head_ = i;
    }
}

SynCache::~SynCache() {
    for (uint32_t i = 0; i < capacity_; ++i) wheel_->stop(entries_[i].timer);
}

uint32_t SynCache::bucket_of(const FourTuple& t) const noexcept {
    uint8_t in[37];
    in[0] = static_cast<uint8_t>(t.local.addr.family);
    std::copy_n(t.local.addr.bytes.begin(), 16, in + 1);
    std::copy_n(t.remote.addr.bytes.begin(), 16, in + 17);
    in[33] = uint8_t(t.local.port >> 8);
    in[34] = uint8_t(t.local.port);
    in[35] = uint8_t(t.remote.port >> 8);
    in[36] = uint8_t(t.remote.port);
    uint8_t out[crypto_shorthash_BYTES];
    crypto_shorthash(out, in, sizeof in, hash_key_.data());
    const uint32_t h =
        uint32_t(out[0]) | uint32_t(out[1]) << 8 | uint32_t(out[2]) << 16 | uint32_t(out[3]) << 24;
    return h & bucket_mask_;
}

time::Duration SynCache::rto(uint8_t retransmits) const noexcept {
    time::Duration d = scfg_.initial_rto;
    for (uint8_t i = 0; i < retransmits && d < scfg_.max_rto; ++i) d *= 2;  // RFC 6298 (5.5)
    return std::min(d, scfg_.max_rto);
}

void SynCache::fill(SynCacheEntry& e, const FourTuple& t, const Segment& syn, wire::SeqNum iss,
                    const MacBytes& mac) const noexcept {
    const SynNegotiation n = negotiate_syn(*cfg_, syn, t.local.addr.family, scfg_.ecn);
    e.tuple = t;
    e.iss = iss;
    e.irs = syn.seq;
    e.peer_tsval = n.peer_tsval;
    e.peer_mss = n.has_mss ? n.peer_mss : 0;
    e.peer_window = syn.window;
    e.peer_wscale = n.peer_wscale;
    e.flags = SynCacheEntry::kInUse;
    if (n.has_mss) e.flags |= SynCacheEntry::kHasMss;
    if (n.ws_ok) e.flags |= SynCacheEntry::kWsOk;
    if (n.sack_ok) e.flags |= SynCacheEntry::kSackOk;
    if (n.ts_ok) e.flags |= SynCacheEntry::kTsOk;
    if (n.ecn_ok) e.flags |= SynCacheEntry::kEcnOk;
    e.retransmits = 0;
    e.peer_mac = mac;
}

OutSegment SynCache::syn_ack(const SynCacheEntry& e, time::Instant now) const noexcept {
    return build_syn_ack(*cfg_, e.tuple, e.iss, e.irs, e.negotiation(), ts_clock(now));
}

SynCacheEntry* SynCache::find(const FourTuple& t) noexcept {
    for (uint32_t i = buckets_[bucket_of(t)]; i != SynCacheEntry::kNone; i = entries_[i].next)
        if (entries_[i].tuple == t) return &entries_[i];
    return nullptr;
}

SynCacheEntry* SynCache::insert(const FourTuple& t, const Segment& syn, wire::SeqNum iss,
                                const MacBytes& peer_mac, time::Instant now,
                                OutSegment& syn_ack_out, bool* evicted) noexcept {
    if (evicted) *evicted = false;
    const uint32_t b = bucket_of(t);
    uint32_t length = 0;
    uint32_t oldest = SynCacheEntry::kNone;
    for (uint32_t i = buckets_[b]; i != SynCacheEntry::kNone; i = entries_[i].next) {
        SynCacheEntry& e = entries_[i];
        if (e.tuple == t) {
            e.peer_mac = peer_mac;
            if (e.irs == syn.seq) {
                // A retransmitted SYN: our SYN-ACK was lost (or is late). Answer again.
                ++stats_.resent;
                e.flags |= SynCacheEntry::kResent;
            } else {
                // The peer forgot the old attempt and started over: this SYN is new.
                fill(e, t, syn, iss, peer_mac);
                wheel_->start(e.timer, now + rto(0));
            }
            syn_ack_out = syn_ack(e, now);
            return &e;
        }
        ++length;
        oldest = i;
    }
    if (length >= scfg_.bucket_limit && oldest != SynCacheEntry::kNone) {
        erase(entries_[oldest]);  // FreeBSD syncache_insert: drop the bucket's oldest
        ++stats_.evicted;
        if (evicted) *evicted = true;
    }
    if (free_head_ == SynCacheEntry::kNone) {
        ++stats_.refused;
        return nullptr;
    }
    const uint32_t i = free_head_;
    SynCacheEntry& e = entries_[i];
    free_head_ = e.next;
    fill(e, t, syn, iss, peer_mac);
    e.next = buckets_[b];
    buckets_[b] = i;
    ++size_;
    ++stats_.added;
    wheel_->start(e.timer, now + rto(0));
    syn_ack_out = syn_ack(e, now);
    return &e;
}

void SynCache::unlink(SynCacheEntry& e) noexcept {
    const uint32_t idx = index_of(e);
    uint32_t* link = &buckets_[bucket_of(e.tuple)];
    while (*link != SynCacheEntry::kNone && *link != idx) link = &entries_[*link].next;
    if (*link == idx) *link = e.next;
}

void SynCache::erase(SynCacheEntry& e) noexcept {
    if (!(e.flags & SynCacheEntry::kInUse)) return;
    wheel_->stop(e.timer);
    unlink(e);
    e.flags = 0;
    e.next = free_head_;
    free_head_ = index_of(e);
    --size_;
}

SynCacheVerdict SynCache::on_segment(SynCacheEntry& e, const Segment& seg, time::Instant now,
                                     PassiveAccept& accept, OutSegment& reply) noexcept {
    (void)now;
    const wire::SeqNum rcv_nxt = e.irs + 1;
    if (seg.flags.has(Flags::Rst)) {
        // RFC 9293 3.10.7.4 second step with RFC 5961 3.2: only an exact RST ends it.
        if (seg.seq != rcv_nxt) return SynCacheVerdict::Drop;
        erase(e);
        ++stats_.reset;
        return SynCacheVerdict::Aborted;
    }
    if (!seg.flags.has(Flags::Ack) || seg.flags.has(Flags::Syn)) return SynCacheVerdict::Drop;
    if (seg.ack != e.iss + 1) {
        // RFC 9293 3.10.7.4 fifth step, SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>.
        reply = OutSegment{};
        reply.src_port = e.tuple.local.port;
        reply.dst_port = e.tuple.remote.port;
        reply.seq = seg.ack;
        reply.flags = Flags::Rst;
        ++stats_.bad_ack;
        return SynCacheVerdict::Reset;
    }
    // First step: the segment must start inside the window our SYN-ACK offered.
    const uint32_t wnd = std::min<uint32_t>(cfg_->recv_buffer, 65535u);
    if (!wire::seq_in_window(seg.seq, rcv_nxt, rcv_nxt + std::max<uint32_t>(wnd, 1)))
        return SynCacheVerdict::Drop;
    const SynNegotiation n = e.negotiation();
    // RFC 7323 3.2: once timestamps are agreed, a non-RST segment without TSopt is dropped.
    if (n.ts_ok && !seg.options.has_timestamps) return SynCacheVerdict::Drop;
    accept = PassiveAccept{};
    accept.tuple = e.tuple;
    accept.iss = e.iss;
    accept.irs = e.irs;
    wire::TcpOptions& o = accept.peer_syn_options;
    o.has_mss = n.has_mss;
    o.mss = n.has_mss ? n.peer_mss : 0;
    o.has_wscale = n.ws_ok;
    o.wscale = n.peer_wscale;
    o.sack_permitted = n.sack_ok;
    o.has_timestamps = n.ts_ok;
    o.ts_val = n.peer_tsval;
    accept.peer_syn_window = e.peer_window;
    accept.peer_ack_window = seg.window;
    accept.peer_last_tsval = n.ts_ok ? seg.options.ts_val : 0;
    accept.ecn_ok = n.ecn_ok;
    accept.retransmitted = (e.flags & SynCacheEntry::kResent) != 0;
    erase(e);
    ++stats_.completed;
    return SynCacheVerdict::Established;
}

void SynCache::on_timer(time::Timer& t, time::Instant now) {
    auto* self = static_cast<SynCache*>(t.context());
    // The timer is the entry's first member: its index follows from the address.
    const auto off =
        reinterpret_cast<uintptr_t>(&t) - reinterpret_cast<uintptr_t>(&self->entries_[0].timer);
    self->fire(self->entries_[off / sizeof(SynCacheEntry)], now);
}

void SynCache::fire(SynCacheEntry& e, time::Instant now) noexcept {
    if (e.retransmits >= scfg_.synack_retries) {
        erase(e);  // Linux inet_csk_reqsk_queue_drop after tcp_synack_retries
        ++stats_.expired;
        return;
    }
    ++e.retransmits;
    ++stats_.retransmits;
    e.flags |= SynCacheEntry::kResent;
    wheel_->start(e.timer, now + rto(e.retransmits));
    if (sink_ != nullptr) sink_(sink_ctx_, e, syn_ack(e, now), now);
}

bool SynCache::check_invariants() const noexcept {
    uint32_t live = 0;
    for (uint32_t b = 0; b <= bucket_mask_; ++b) {
        uint32_t length = 0;
        for (uint32_t i = buckets_[b]; i != SynCacheEntry::kNone; i = entries_[i].next) {
            const SynCacheEntry& e = entries_[i];
            if (i >= capacity_ || !(e.flags & SynCacheEntry::kInUse)) return false;
            if (bucket_of(e.tuple) != b || !e.timer.armed()) return false;
            if (++length > scfg_.bucket_limit) return false;
            ++live;
        }
    }
    uint32_t free = 0;
    for (uint32_t i = free_head_; i != SynCacheEntry::kNone; i = entries_[i].next) {
        if (i >= capacity_ || (entries_[i].flags & SynCacheEntry::kInUse)) return false;
        if (entries_[i].timer.armed() || ++free > capacity_) return false;
    }
    return live == size_ && live + free == capacity_;
}

}  // namespace sluice::tcp
