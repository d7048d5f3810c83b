// Mbuf send and receive buffers (buffer.hpp).

#include "tcp/buffer.hpp"

#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

namespace sluice::tcp {

using wire::SeqNum;

namespace {

// A held mbuf stands for at least this many bytes of the receive budget: the cap on held
// mbufs is budget / kMbufCharge (plus a few), the bound a peer sending tiny out-of-order
// segments meets (in-order tiny segments are coalesced by copy).
constexpr uint32_t kMbufCharge = 256;
constexpr uint32_t kMinMbufs = 8;
// Text shorter than this is copied rather than kept in its 2 KiB frame (Linux's copybreak
// idea): the frame goes back to the RX pool at once.
constexpr std::size_t kCopyBreak = 256;

uint8_t* data_of(rte_mbuf* m) noexcept {
    return rte_pktmbuf_mtod(m, uint8_t*);
}

void set_len(rte_mbuf* m, uint32_t len) noexcept {
    m->data_len = uint16_t(len);
    m->pkt_len = len;
}

// Only we hold it and it holds its own data: bytes may be appended in its room.
bool sole_owner(const rte_mbuf* m) noexcept {
    return RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1;
}

SeqNum seq_of(const rte_mbuf* m) noexcept {
    return SeqNum(m->hash.usr);
}

}  // namespace

// --- PayloadRef ---------------------------------------------------------------------------

std::size_t PayloadRef::copy_to(std::span<uint8_t> dst) const noexcept {
    std::size_t want = std::min<std::size_t>(len, dst.size());
    std::size_t done = 0;
    uint32_t off_in = off;
    for (rte_mbuf* p = m; p != nullptr && done < want; p = p->next) {
        const std::size_t k = std::min<std::size_t>(want - done, p->data_len - off_in);
        std::memcpy(dst.data() + done, data_of(p) + off_in, k);
        done += k;
        off_in = 0;
    }
    return done;
}

// --- MbufQueue ----------------------------------------------------------------------------

void MbufQueue::push_back(rte_mbuf* m) noexcept {
    m->next = nullptr;
    if (tail_ != nullptr)
        tail_->next = m;
    else
        head_ = m;
    tail_ = m;
    bytes_ += m->data_len;
    ++count_;
}

rte_mbuf* MbufQueue::pop_front() noexcept {
    rte_mbuf* m = head_;
    if (m == nullptr) return nullptr;
    head_ = m->next;
    if (head_ == nullptr) tail_ = nullptr;
    m->next = nullptr;
    m->nb_segs = 1;
    m->pkt_len = m->data_len;
    bytes_ -= m->data_len;
    --count_;
    return m;
}

std::size_t MbufQueue::read(std::span<uint8_t> dst) noexcept {
    const uint32_t n = uint32_t(std::min<std::size_t>(dst.size(), bytes_));
    uint32_t done = 0;
    for (rte_mbuf* p = head_; p != nullptr && done < n; p = p->next) {
        const uint32_t k = std::min<uint32_t>(n - done, p->data_len);
        std::memcpy(dst.data() + done, data_of(p), k);
        done += k;
    }
    return done;
}

void MbufQueue::consume(uint32_t n, const rte_mempool* own, uint32_t* freed_foreign) noexcept {
    n = std::min(n, bytes_);
    while (n > 0) {
        rte_mbuf* m = head_;
        if (m->data_len <= n) {
            n -= m->data_len;
            pop_front();
            if (freed_foreign != nullptr && m->pool != own) ++*freed_foreign;
            rte_pktmbuf_free_seg(m);
        } else {
            m->data_off = uint16_t(m->data_off + n);
            set_len(m, m->data_len - n);
            bytes_ -= n;
            n = 0;
        }
    }
}

void MbufQueue::clear(const rte_mempool* own, uint32_t* freed_foreign) noexcept {
    while (rte_mbuf* m = pop_front()) {
        if (freed_foreign != nullptr && m->pool != own) ++*freed_foreign;
        rte_pktmbuf_free_seg(m);
    }
}

// --- SendBuffer ---------------------------------------------------------------------------

std::size_t SendBuffer::write(std::span<const uint8_t> src) noexcept {
    const std::size_t n = std::min<std::size_t>(src.size(), free());
    std::size_t done = 0;
    // Fill the tail first if it is one of ours: clones in flight reference only the bytes
    // already there, so appending behind them is safe.
    if (rte_mbuf* t = q_.back(); t != nullptr && pools_ != nullptr && t->pool == pools_->data) {
        const std::size_t k = std::min<std::size_t>(n, rte_pktmbuf_tailroom(t));
        if (k > 0) {
            std::memcpy(data_of(t) + t->data_len, src.data(), k);
            set_len(t, t->data_len + uint32_t(k));
            q_.grew(uint32_t(k));
            done = k;
        }
    }
    while (done < n) {
        rte_mbuf* m = pools_ != nullptr ? rte_pktmbuf_alloc(pools_->data) : nullptr;
        if (m == nullptr) [[unlikely]] {
            if (pools_ != nullptr) ++pools_->alloc_failed;
            break;
        }
        const std::size_t k = std::min<std::size_t>(n - done, rte_pktmbuf_tailroom(m));
        std::memcpy(data_of(m), src.data() + done, k);
        set_len(m, uint32_t(k));
        q_.push_back(m);
        done += k;
    }
    return done;
}

bool SendBuffer::append(rte_mbuf* chain) noexcept {
    uint64_t total = 0;
    for (rte_mbuf* p = chain; p != nullptr; p = p->next) total += p->data_len;
    if (total > free()) return false;
    while (chain != nullptr) {
        rte_mbuf* next = chain->next;
        chain->next = nullptr;
        chain->nb_segs = 1;
        chain->pkt_len = chain->data_len;
        if (chain->data_len == 0)
            rte_pktmbuf_free_seg(chain);
        else
            q_.push_back(chain);
        chain = next;
    }
    return true;
}

void SendBuffer::consume(uint32_t n) noexcept {
    q_.consume(n);
    if (cur_ != nullptr && cur_off_ >= n)
        cur_off_ -= n;  // the cursor's mbuf starts at or after the cut: untouched
    else
        cur_ = nullptr;
}

void SendBuffer::clear() noexcept {
    q_.clear();
    cur_ = nullptr;
    cur_off_ = 0;
}

PayloadRef SendBuffer::peek(uint32_t offset, uint32_t max) noexcept {
    if (max == 0 || offset >= q_.bytes()) return {};
    rte_mbuf* m = q_.front();
    uint32_t base = 0;
    if (cur_ != nullptr && cur_off_ <= offset) {
        m = cur_;
        base = cur_off_;
    }
    while (base + m->data_len <= offset) {
        base += m->data_len;
        m = m->next;
    }
    cur_ = m;
    cur_off_ = base;
    const uint32_t off = offset - base;
    const uint32_t want = std::min(max, q_.bytes() - offset);
    uint32_t have = m->data_len - off;
    uint32_t pieces = 1;
    for (rte_mbuf* p = m->next; have < want && pieces < kMaxPieces && p != nullptr; p = p->next) {
        have += p->data_len;
        ++pieces;
    }
    return {m, off, std::min(want, have)};
}

bool SendBuffer::check() const noexcept {
    uint64_t bytes = 0;
    uint32_t count = 0;
    bool cursor_seen = cur_ == nullptr;
    const rte_mbuf* last = nullptr;
    for (const rte_mbuf* p = q_.front(); p != nullptr; p = p->next) {
        if (p == cur_ && bytes == cur_off_) cursor_seen = true;
        if (p->data_len == 0) return false;
        bytes += p->data_len;
        ++count;
        last = p;
    }
    return bytes == q_.bytes() && count == q_.count() && last == q_.back() && cursor_seen;
}

// --- RecvBuffer ---------------------------------------------------------------------------

void RecvBuffer::init(BufferPools* pools, uint32_t budget) noexcept {
    pools_ = pools;
    budget_ = budget;
    max_mbufs_ = uint16_t(std::min<uint32_t>(budget / kMbufCharge + kMinMbufs, 65535));
}

// One mbuf holding exactly `text`: the frame itself (a reference, narrowed to the text) when
// it may be pinned, else nullptr (the caller copies).
rte_mbuf* RecvBuffer::take(std::span<const uint8_t> text, rte_mbuf* frame) noexcept {
    if (frame == nullptr || pools_ == nullptr || text.size() < kCopyBreak ||
        frame->nb_segs != 1 || !RTE_MBUF_DIRECT(frame) ||
        pools_->rx_pinned >= pools_->rx_pin_limit)
        return nullptr;
    const uint8_t* base = data_of(frame);
    if (text.data() < base || text.data() + text.size() > base + frame->data_len) return nullptr;
    rte_mbuf_refcnt_update(frame, 1);  // the worker frees its own reference after the call
    frame->data_off = uint16_t(frame->data_off + (text.data() - base));
    set_len(frame, uint32_t(text.size()));
    frame->next = nullptr;
    if (frame->pool != pools_->data) ++pools_->rx_pinned;
    return frame;
}

void RecvBuffer::release(rte_mbuf* m) noexcept {
    if (pools_ != nullptr && m->pool != pools_->data) --pools_->rx_pinned;
    rte_pktmbuf_free_seg(m);
}

uint32_t RecvBuffer::push(std::span<const uint8_t> text, rte_mbuf* frame) noexcept {
    const uint32_t n = uint32_t(std::min<std::size_t>(text.size(), free()));
    if (n == 0) return 0;
    text = text.first(n);
    uint32_t done = 0;
    rte_mbuf* t = q_.back();
    const bool tail_ok = t != nullptr && sole_owner(t);
    // Small text goes behind the tail's bytes (Linux tcp_try_coalesce): tiny segments pin
    // no mbufs of their own.
    if (tail_ok && rte_pktmbuf_tailroom(t) >= n) {
        std::memcpy(data_of(t) + t->data_len, text.data(), n);
        set_len(t, t->data_len + n);
        q_.grew(n);
        return n;
    }
    if (mbufs() < max_mbufs_) {
        if (rte_mbuf* m = take(text, frame)) {
            q_.push_back(m);
            return n;
        }
    }
    // Copy: into the tail's room, then fresh data mbufs while the cap allows.
    if (tail_ok) {
        const uint32_t k = std::min<uint32_t>(n, rte_pktmbuf_tailroom(t));
        std::memcpy(data_of(t) + t->data_len, text.data(), k);
        set_len(t, t->data_len + k);
        q_.grew(k);
        done = k;
    }
    while (done < n && mbufs() < max_mbufs_) {
        rte_mbuf* m = pools_ != nullptr ? rte_pktmbuf_alloc(pools_->data) : nullptr;
        if (m == nullptr) [[unlikely]] {
            if (pools_ != nullptr) ++pools_->alloc_failed;
            break;
        }
        const uint32_t k = std::min<uint32_t>(n - done, rte_pktmbuf_tailroom(m));
        std::memcpy(data_of(m), text.data() + done, k);
        set_len(m, k);
        q_.push_back(m);
        done += k;
    }
    return done;
}

RecvBuffer::Plan RecvBuffer::plan(SeqNum seq, SeqNum nxt, uint32_t len) const noexcept {
    const SeqNum limit = nxt + free();
    SeqNum end = seq + len;
    if (end > limit) end = limit;
    if (end <= seq) return {seq, seq};
    SeqNum s = seq;
    const rte_mbuf* p = ooo_;
    while (p != nullptr && seq_of(p) + p->data_len <= s && seq_of(p) < s) p = p->next;
    // Pieces from here on overlap or follow s: skip those covering s contiguously.
    for (; p != nullptr && seq_of(p) <= s; p = p->next) s = wire::seq_max(s, seq_of(p) + p->data_len);
    SeqNum e = end;
    if (p != nullptr && seq_of(p) < e) e = seq_of(p);
    if (s > e) s = e;
    if (s > end) s = end;
    return {s, e};
}

bool RecvBuffer::insert(SeqNum s, SeqNum e, std::span<const uint8_t> text,
                        rte_mbuf* frame) noexcept {
    // Build the new mbufs first: nothing changes if that fails.
    const uint32_t n = uint32_t(e - s);
    if (n == 0 || text.size() < n) return false;
    text = text.first(n);
    rte_mbuf* first = nullptr;
    rte_mbuf* last = nullptr;
    uint16_t made = 0;
    if (mbufs() < max_mbufs_) first = last = take(text, frame);
    if (first != nullptr) {
        first->hash.usr = s.raw();
        made = 1;
    } else {
        uint32_t done = 0;
        while (done < n) {
            rte_mbuf* m = nullptr;
            if (mbufs() + made < max_mbufs_ && pools_ != nullptr) {
                m = rte_pktmbuf_alloc(pools_->data);
                if (m == nullptr) ++pools_->alloc_failed;
            }
            if (m == nullptr) {
                while (first != nullptr) {
                    rte_mbuf* next = first->next;
                    first->next = nullptr;
                    rte_pktmbuf_free_seg(first);
                    first = next;
                }
                return false;
            }
            const uint32_t k = std::min<uint32_t>(n - done, rte_pktmbuf_tailroom(m));
            std::memcpy(data_of(m), text.data() + done, k);
            set_len(m, k);
            m->hash.usr = (s + done).raw();
            m->next = nullptr;
            if (last != nullptr)
                last->next = m;
            else
                first = m;
            last = m;
            ++made;
            done += k;
        }
    }
    // Splice in after the last piece that starts before s.
    rte_mbuf* prev = nullptr;
    for (rte_mbuf* p = ooo_; p != nullptr && seq_of(p) < s; p = p->next) prev = p;
    rte_mbuf*& link = prev != nullptr ? prev->next : ooo_;
    last->next = link;
    link = first;
    ooo_count_ = uint16_t(ooo_count_ + made);
    return true;
}

void RecvBuffer::deliver(SeqNum from, SeqNum to) noexcept {
    while (ooo_ != nullptr && seq_of(ooo_) < to) {
        rte_mbuf* p = ooo_;
        ooo_ = p->next;
        p->next = nullptr;
        --ooo_count_;
        const SeqNum ps = seq_of(p);
        const SeqNum pe = ps + p->data_len;
        if (pe <= from) {
            release(p);  // the in-order text already brought these bytes
            continue;
        }
        if (ps < from) {
            const uint32_t cut = uint32_t(from - ps);
            p->data_off = uint16_t(p->data_off + cut);
            set_len(p, p->data_len - cut);
        }
        q_.push_back(p);
        from = pe;
    }
}

void RecvBuffer::clear_ooo() noexcept {
    while (rte_mbuf* p = ooo_) {
        ooo_ = p->next;
        p->next = nullptr;
        release(p);
    }
    ooo_count_ = 0;
}

std::size_t RecvBuffer::read(std::span<uint8_t> dst) noexcept {
    const std::size_t n = q_.read(dst);
    uint32_t freed = 0;
    q_.consume(uint32_t(n), pools_ != nullptr ? pools_->data : nullptr, &freed);
    if (pools_ != nullptr) pools_->rx_pinned -= freed;
    return n;
}

rte_mbuf* RecvBuffer::pop_front() noexcept {
    rte_mbuf* m = q_.pop_front();
    if (m != nullptr && pools_ != nullptr && m->pool != pools_->data) --pools_->rx_pinned;
    return m;
}

void RecvBuffer::clear() noexcept {
    uint32_t freed = 0;
    q_.clear(pools_ != nullptr ? pools_->data : nullptr, &freed);
    if (pools_ != nullptr) pools_->rx_pinned -= freed;
    clear_ooo();
}

bool RecvBuffer::check(SeqNum lo, SeqNum hi) const noexcept {
    uint32_t n = 0;
    const rte_mbuf* prev = nullptr;
    for (const rte_mbuf* p = ooo_; p != nullptr; p = p->next, ++n) {
        const SeqNum ps = seq_of(p);
        const SeqNum pe = ps + p->data_len;
        if (p->data_len == 0 || !(lo < ps) || pe > hi) return false;
        if (prev != nullptr && seq_of(prev) + prev->data_len > ps) return false;
        prev = p;
    }
    uint64_t bytes = 0;
    uint32_t count = 0;
    for (const rte_mbuf* p = q_.front(); p != nullptr; p = p->next, ++count) bytes += p->data_len;
    return n == ooo_count_ && bytes == q_.bytes() && count == q_.count() &&
           mbufs() <= max_mbufs_;
}

}  // namespace sluice::tcp
