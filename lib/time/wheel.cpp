// The cold half of the timer wheel: advancing, cascading, sorting. See wheel.hpp for the
// level table and the firing rules.

#include "time/wheel.hpp"

#include <algorithm>
#include <bit>
#include <limits>

namespace sluice::time {

TimerWheel::TimerWheel(WheelConfig cfg) noexcept
    : tick_ns_(static_cast<uint64_t>(std::max<int64_t>(cfg.tick.count(), 1))),
      tick_recip_(std::numeric_limits<uint64_t>::max() / tick_ns_),
      origin_(cfg.origin),
      now_(cfg.origin),
      horizon_(Instant::from_ns(std::numeric_limits<int64_t>::max())) {}

TimerWheel::~TimerWheel() {
    auto disarm = [](List& l) {
        Link* n = l.next;
        while (n != &l) {
            Link* next = n->next;
            Timer& t = timer_of(n);
            t.next = t.prev = nullptr;
            t.wheel_ = nullptr;
            n = next;
        }
        l.next = l.prev = &l;
    };
    disarm(due_);
    disarm(late_);
    for (auto& level : slots_)
        for (auto& slot : level) disarm(slot);
}

// ---- advancing ----

size_t TimerWheel::advance_full(Instant now, size_t budget) noexcept {
    const size_t ran = advance_cursor(now, budget);
    // Callbacks may have started timers (start() lowered the horizon for those); recompute
    // from the slots once everything due has run, else stay on the full path.
    horizon_ = swept_ && due_.empty() && late_.empty()
                   ? compute_horizon()
                   : Instant::from_ns(std::numeric_limits<int64_t>::min());
    return ran;
}

// After a full advance (nothing due, nothing late): the end of the open tick, or sooner the
// earliest deadline the slots may hold (earliest_in_slots).
Instant TimerWheel::compute_horizon() const noexcept {
    constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
    // Never past the open tick: the cursor then moves once per tick, as it always did, so
    // placement and hints are exactly what a full advance on every call would give.
    const __int128 tick_end =
        static_cast<__int128>(next_) * static_cast<__int128>(tick_ns_) + origin_.ns();
    const Instant open_end = tick_end >= kNever ? Instant::from_ns(kNever)
                                                : Instant::from_ns(static_cast<int64_t>(tick_end));
    return std::min(open_end, earliest_in_slots());
}

Instant TimerWheel::earliest_in_slots() const noexcept {
    constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
    // The open slot's first deadline if it has one (it is sorted, and every later tick's
    // deadlines are later), else the first instant of the next event's tick: tick e holds
    // deadlines in (origin + (e-1)*tick, origin + e*tick], and a cascade at tick c brings
    // only deadlines of ticks >= c.
    const List& open = slots_[0][next_ & (kSlots - 1)];
    if (!open.empty()) {
        // A callback may have appended out of order: then the next advance sorts it first.
        if (!open_sorted_) return Instant::from_ns(std::numeric_limits<int64_t>::min());
        return timer_of(const_cast<Link*>(open.next)).deadline_;
    }
    const uint64_t ev = next_event();
    if (ev == std::numeric_limits<uint64_t>::max()) return Instant::from_ns(kNever);
    const __int128 at = static_cast<__int128>(ev - 1) * static_cast<__int128>(tick_ns_) + 1 +
                        origin_.ns();
    return at >= kNever ? Instant::from_ns(kNever) : Instant::from_ns(static_cast<int64_t>(at));
}

size_t TimerWheel::advance_cursor(Instant now, size_t budget) noexcept {
    if (now < now_) now = now_;
    // 1. What was already due: the budget's carry-over and timers started late.
    if (!late_.empty()) absorb_late();
    now_ = now;
    swept_ = false;
    size_t ran = run_due(now, budget);
    if (!due_.empty()) return ran;

    // 2. Every full tick up to now, skipping empty stretches by the occupancy bits.
    const uint64_t target =
        now <= origin_
            ? 0
            : div_tick(static_cast<uint64_t>(now.ns()) - static_cast<uint64_t>(origin_.ns()));
    while (next_ <= target) {
        uint64_t ev = next_event();
        if (ev > target) {
            move_to(target + 1);
            break;
        }
        if (ev != next_) {
            move_to(ev);  // a non-empty level-0 slot or a cascade; look again after it
            continue;
        }
        take_slot_into_due(static_cast<unsigned>(next_ & (kSlots - 1)));
        move_to(next_ + 1);
        ran += run_due(now, budget - ran);
        if (!due_.empty()) return ran;
    }

    // 3. The open tick: its deadlines <= now are due too.
    sweep_open(now);
    swept_ = true;
    return ran + run_due(now, budget - ran);
}

size_t TimerWheel::run_due(Instant now, size_t budget) noexcept {
    size_t ran = 0;
    while (ran < budget && !due_.empty()) {
        Timer& t = timer_of(due_.next);
        __builtin_prefetch(t.next->next, 1);
        unlink(t);
        t.wheel_ = nullptr;
        --size_;
        ++ran;
        t.cb_(t, now);  // may start, stop or destroy any timer, this one included
    }
    return ran;
}

// Moves the cursor forward to tick n (> next_). The caller guarantees that every slot that
// would have cascaded strictly between the old cursor and n is empty.
void TimerWheel::move_to(uint64_t n) noexcept {
    next_ = n;
    open_sorted_ = false;  // cascades append to the new open slot; sorted again when needed
    auto top =
        std::min<unsigned>(static_cast<unsigned>(std::countr_zero(n)) / kLevelBits, kLevels - 1);
    for (unsigned l = top; l >= 1; --l)
        cascade(l, static_cast<unsigned>((n >> (kLevelBits * l)) & (kSlots - 1)));
    open_sorted_ = slots_[0][n & (kSlots - 1)].empty();
}

// The slot's timers are now less than 2^(6*level) ticks away: place them again, lower down
// (or, for a timer beyond the span parked at the top, back at the top).
void TimerWheel::cascade(unsigned level, unsigned slot) noexcept {
    if ((occupied_[level] & (uint64_t{1} << slot)) == 0) return;
    List& src = slots_[level][slot];
    List tmp;
    tmp.next = src.next;
    tmp.prev = src.prev;
    tmp.next->prev = &tmp;
    tmp.prev->next = &tmp;
    src.next = src.prev = &src;
    occupied_[level] &= ~(uint64_t{1} << slot);
    while (!tmp.empty()) {
        Link* n = tmp.next;
        __builtin_prefetch(n->next, 1);  // a list walk is a chain of misses: start the next one
        tmp.next = n->next;
        n->next->prev = &tmp;
        Timer& t = timer_of(n);
        place(t, tick_of(t.deadline_));
    }
}

// The first tick >= next_ at which something happens: a non-empty level-0 slot, or the
// cascade of a non-empty slot of a higher level. UINT64_MAX if the wheel's slots are empty.
uint64_t TimerWheel::next_event() const noexcept {
    uint64_t best = std::numeric_limits<uint64_t>::max();
    if (occupied_[0] != 0) {
        auto r = static_cast<int>(next_ & (kSlots - 1));
        best = next_ + static_cast<uint64_t>(std::countr_zero(std::rotr(occupied_[0], r)));
    }
    for (unsigned l = 1; l < kLevels; ++l) {
        if (occupied_[l] == 0) continue;
        unsigned shift = kLevelBits * l;
        uint64_t block = (next_ >> shift) + 1;  // the next block of this level to start
        auto r = static_cast<int>(block & (kSlots - 1));
        auto k = static_cast<uint64_t>(std::countr_zero(std::rotr(occupied_[l], r)));
        best = std::min(best, (block + k) << shift);
    }
    return best;
}

void TimerWheel::take_slot_into_due(unsigned slot) noexcept {
    List& s = slots_[0][slot];
    if (!open_sorted_) sort_list(s);
    assert(due_.empty());
    due_.next = s.next;
    due_.prev = s.prev;
    due_.next->prev = &due_;
    due_.prev->next = &due_;
    s.next = s.prev = &s;
    occupied_[0] &= ~(uint64_t{1} << slot);
}

void TimerWheel::sweep_open(Instant now) noexcept {
    auto slot = static_cast<unsigned>(next_ & (kSlots - 1));
    List& s = slots_[0][slot];
    if (s.empty()) return;
    if (!open_sorted_) {
        sort_list(s);
        open_sorted_ = true;
    }
    // Detach the prefix with deadline <= now; due_ is empty here.
    Link* last = &s;
    while (last->next != &s && timer_of(last->next).deadline_ <= now) last = last->next;
    if (last == &s) return;
    Link* first = s.next;
    s.next = last->next;
    last->next->prev = &s;
    first->prev = due_.prev;
    due_.prev->next = first;
    last->next = &due_;
    due_.prev = last;
    if (s.empty()) occupied_[0] &= ~(uint64_t{1} << slot);
}

// Keeps the open slot sorted for a start into it: walk back from the tail a few nodes (starts
// usually come in deadline order); if that is not enough, append and sort later.
void TimerWheel::insert_open_sorted(List& slot, Timer& t) noexcept {
    constexpr int kMaxWalk = 8;
    Link* pos = slot.prev;
    for (int i = 0; i < kMaxWalk; ++i) {
        if (pos == &slot || !before(t, timer_of(pos))) {
            slot.insert_after(pos, link_of(t));
            return;
        }
        pos = pos->prev;
    }
    slot.push_back(link_of(t));
    open_sorted_ = false;
}

// ---- sorting ----
//
// Lists to sort are usually in order already (timers started as now + a constant), or a
// sorted run with a few appends: those cost one pass, or one pass plus sorting the appends.
// A big disordered list (a tick into which tens of thousands of random deadlines fell) is
// first spread over 256 buckets by deadline, so that the merge sorts run on cache-sized
// pieces rather than chasing pointers across the whole list log(n) times.

bool TimerWheel::list_sorted(const List& l) const noexcept {
    for (const Link* n = l.next; n != &l && n->next != &l; n = n->next)
        if (before(timer_of(n->next), timer_of(const_cast<Link*>(n)))) return false;
    return true;
}

namespace {

using detail::Link;

// Merges two null-terminated chains (linked by next) that are each in order.
template <class Less>
Link* merge_chains(Link* a, Link* b, Less less) noexcept {
    Link head;
    Link* tail = &head;
    while (a != nullptr && b != nullptr) {
        if (less(b, a)) {
            tail->next = b;
            b = b->next;
        } else {
            tail->next = a;
            a = a->next;
        }
        tail = tail->next;
    }
    tail->next = a != nullptr ? a : b;
    return head.next;
}

// Bottom-up merge sort of a chain: bins[i] holds a sorted run of 2^i nodes (as Linux's
// list_sort). A chain already in order costs one pass.
template <class Less>
Link* merge_sort(Link* chain, Less less) noexcept {
    bool sorted = true;
    for (Link* n = chain; n != nullptr && n->next != nullptr && sorted; n = n->next)
        sorted = !less(n->next, n);
    if (sorted) return chain;
    Link* bins[64] = {};
    while (chain != nullptr) {
        Link* next = chain->next;
        chain->next = nullptr;
        Link* carry = chain;
        unsigned i = 0;
        for (; bins[i] != nullptr; ++i) {
            carry = merge_chains(bins[i], carry, less);  // bins[i] holds the earlier nodes
            bins[i] = nullptr;
        }
        bins[i] = carry;
        chain = next;
    }
    Link* out = nullptr;
    for (Link* bin : bins)
        if (bin != nullptr) out = merge_chains(bin, out, less);
    return out;
}

// Sorts a chain by key(node) (an int64 deadline) then less; big chains go through buckets.
template <class Less, class Key>
Link* sort_chain(Link* chain, Less less, Key key) noexcept {
    constexpr size_t kBucketAbove = 256;
    constexpr unsigned kBucketBits = 8;
    size_t n = 0;
    int64_t lo = INT64_MAX;
    int64_t hi = INT64_MIN;
    for (Link* p = chain; p != nullptr; p = p->next, ++n) {
        lo = std::min(lo, key(p));
        hi = std::max(hi, key(p));
    }
    if (n <= kBucketAbove || lo == hi) return merge_sort(chain, less);
    // bucket = (key - lo) * 256 / (hi - lo + 1), by a reciprocal.
    uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
    uint64_t recip = span == UINT64_MAX
                         ? 1
                         : static_cast<uint64_t>((static_cast<unsigned __int128>(1) << 64) /
                                                 (static_cast<unsigned __int128>(span) + 1));
    Link* head[1u << kBucketBits] = {};
    Link* tail[1u << kBucketBits];
    for (Link* p = chain; p != nullptr;) {
        Link* next = p->next;
        uint64_t off = static_cast<uint64_t>(key(p)) - static_cast<uint64_t>(lo);
        auto b = static_cast<unsigned>((static_cast<unsigned __int128>(off) * recip) >>
                                       (64 - kBucketBits));
        p->next = nullptr;
        if (head[b] == nullptr) {
            head[b] = p;
        } else {
            tail[b]->next = p;
        }
        tail[b] = p;
        p = next;
    }
    Link* out = nullptr;
    Link** out_tail = &out;
    for (unsigned b = 0; b < (1u << kBucketBits); ++b) {
        if (head[b] == nullptr) continue;
        *out_tail = merge_sort(head[b], less);
        while (*out_tail != nullptr) out_tail = &(*out_tail)->next;
    }
    return out;
}

// Rebuilds a circular doubly-linked list around `l` from a null-terminated chain.
void relink(detail::List& l, Link* chain) noexcept {
    Link* prev = &l;
    for (Link* n = chain; n != nullptr; n = n->next) {
        n->prev = prev;
        prev->next = n;
        prev = n;
    }
    prev->next = &l;
    l.prev = prev;
}

}  // namespace

void TimerWheel::sort_list(List& l) noexcept {
    // The sorted prefix run; the rest is sorted on its own and merged in.
    Link* run_end = l.next;
    if (run_end == &l) return;
    while (run_end->next != &l && !before(timer_of(run_end->next), timer_of(run_end)))
        run_end = run_end->next;
    if (run_end->next == &l) return;
    auto less = [](Link* a, Link* b) { return before(timer_of(a), timer_of(b)); };
    auto key = [](Link* a) { return timer_of(a).deadline_.ns(); };
    Link* rest = run_end->next;
    l.prev->next = nullptr;
    run_end->next = nullptr;
    Link* prefix = l.next;
    relink(l, merge_chains(prefix, sort_chain(rest, less, key), less));
}

// Timers started with a deadline <= now_ since the last advance. If that advance finished,
// every slot holds only later deadlines, so they all join the due list, in order. If it
// stopped on its budget, those of processed ticks join the due list and the others go into
// their slots, where this advance reaches them in order.
void TimerWheel::absorb_late() noexcept {
    if (!late_sorted_) sort_list(late_);
    late_sorted_ = true;
    Link* split = late_.next;  // first node of a tick >= next_
    if (swept_) {
        split = &late_;
    } else {
        while (split != &late_ && tick_of(timer_of(split).deadline_) < next_) split = split->next;
    }
    if (split != late_.next) {
        auto less = [](Link* a, Link* b) { return before(timer_of(a), timer_of(b)); };
        Link* a = nullptr;
        if (!due_.empty()) {
            due_.prev->next = nullptr;
            a = due_.next;
        }
        Link* b = late_.next;
        split->prev->next = nullptr;
        late_.next = split;
        split->prev = &late_;
        relink(due_, merge_chains(a, b, less));
    }
    while (!late_.empty()) {
        Timer& t = timer_of(late_.next);
        Link* n = late_.next;
        late_.next = n->next;
        n->next->prev = &late_;
        place(t, tick_of(t.deadline_));
    }
}

// ---- introspection ----

std::optional<Instant> TimerWheel::next_deadline_hint() const noexcept {
    if (size_ == 0) return std::nullopt;
    if (!swept_ || !due_.empty() || !late_.empty()) return now_;
    auto at_tick_end = [this](uint64_t tick) {  // origin + tick * tick_ns, saturated
        auto ns = static_cast<__int128>(origin_.ns()) +
                  static_cast<__int128>(tick) * static_cast<__int128>(tick_ns_);
        constexpr auto kMax = std::numeric_limits<int64_t>::max();
        return Instant::from_ns(ns > kMax ? kMax : static_cast<int64_t>(ns));
    };
    auto best = Instant::from_ns(std::numeric_limits<int64_t>::max());
    if (occupied_[0] != 0) {
        auto r = static_cast<int>(next_ & (kSlots - 1));
        uint64_t e = next_ + static_cast<uint64_t>(std::countr_zero(std::rotr(occupied_[0], r)));
        const List& s = slots_[0][e & (kSlots - 1)];
        if (e == next_ && open_sorted_) {
            best = timer_of(s.next).deadline_;  // the open slot, in order: its head
        } else {
            for (const Link* n = s.next; n != &s; n = n->next)
                best = std::min(best, timer_of(const_cast<Link*>(n)).deadline_);
        }
    }
    for (unsigned l = 1; l < kLevels; ++l) {
        if (occupied_[l] == 0) continue;
        unsigned shift = kLevelBits * l;
        uint64_t block = (next_ >> shift) + 1;
        auto r = static_cast<int>(block & (kSlots - 1));
        auto k = static_cast<uint64_t>(std::countr_zero(std::rotr(occupied_[l], r)));
        // Tick b holds deadlines > end of tick b - 1.
        best = std::min(best, at_tick_end(((block + k) << shift) - 1) + Duration(1));
    }
    return best;
}

bool TimerWheel::check_invariants() const {
    size_t count = 0;
    auto walk = [&](const List& l, auto&& ok) {
        const Link* prev = &l;
        for (const Link* n = l.next; n != &l; n = n->next) {
            if (n->prev != prev) return false;
            Timer& t = timer_of(const_cast<Link*>(n));
            if (t.wheel_ != this || !ok(t)) return false;
            ++count;
            prev = n;
        }
        return l.prev == prev;
    };
    auto due_ok = [&](const Timer& t) { return t.deadline_ <= now_; };
    if (!walk(due_, due_ok) || !list_sorted(due_)) return false;
    if (!walk(late_, due_ok) || (late_sorted_ && !list_sorted(late_))) return false;
    for (unsigned l = 0; l < kLevels; ++l) {
        unsigned shift = kLevelBits * l;
        for (unsigned s = 0; s < kSlots; ++s) {
            const List& slot = slots_[l][s];
            bool bit = (occupied_[l] >> s) & 1;
            if (bit == slot.empty()) return false;
            auto in_place = [&](const Timer& t) {
                uint64_t e = tick_of(t.deadline_);
                if (e < next_ || ((e >> shift) & (kSlots - 1)) != s) return false;
                if (swept_ && t.deadline_ <= now_) return false;  // would have been swept
                if (l == 0) return e - next_ < kSlots;
                // Not yet due to cascade, and close enough for this level (unless parked).
                if ((e >> shift) <= (next_ >> shift)) return false;
                return l == kLevels - 1 || e - next_ < (uint64_t{1} << (shift + kLevelBits));
            };
            if (!walk(slot, in_place)) return false;
        }
    }
    if (open_sorted_ && !list_sorted(slots_[0][next_ & (kSlots - 1)])) return false;
    return count == size_;
}

}  // namespace sluice::time
