#pragma once
// A per-lcore hierarchical hashed timer wheel (Varghese & Lauck 1987, scheme 7): every
// connection timer of the stack lives here. Start, stop and re-arm are O(1); firing costs
// O(1) per timer plus at most kLevels - 1 cascades over the timer's life.
//
// Ticks. A deadline d (an Instant, ns) belongs to tick e(d) = ceil((d - origin) / tick), so
// tick e holds the deadlines in (origin + (e-1)*tick, origin + e*tick]. The wheel's cursor
// next_ is the first tick not yet processed (the "open" tick). Timers are placed by their
// distance delta = e - next_, with 64 slots per level, like Linux kernel/time/timer.c before
// 4.8 (and unlike today's Linux, timers are cascaded, so no precision is lost):
//
//   level  slots  slot width (ticks)  slot width @1 ms  holds delta (ticks)   @1 ms tick
//     0     64    1                   1 ms              [0, 2^6)              0 - 63 ms
//     1     64    2^6  = 64           64 ms             [2^6,  2^12)          - 4.1 s
//     2     64    2^12 = 4096         4.1 s             [2^12, 2^18)          - 4.4 min
//     3     64    2^18 = 262144       4.4 min           [2^18, 2^24)          - 4.66 h
//     4     64    2^24                4.66 h            [2^24, 2^30)          - 12.4 days
//     5     64    2^30                12.4 days         [2^30, 2^36)          - 2.18 years
//   beyond: parked in level 5 at the slot of its digit; that slot is cascaded at least once
//           every 2^36 ticks, which re-parks the timer until it comes into range. No wrap.
//
// The keepalive range, 2 h + 9 x 75 s = 7,875,000 ticks at 1 ms, sits in level 3. With a
// 1 us tick the wheel proper spans 19 h; anything longer is simply re-parked.
//
// A level-l slot (l >= 1) is cascaded when next_ reaches the start of its block (the low
// 6*l bits of next_ become zero), i.e. as soon as its timers are < 2^(6l) ticks away, so the
// open tick's level-0 slot always holds every timer of that tick.
//
// When a timer fires. advance(now) fires every timer with deadline <= now, and only those:
// full ticks are taken slot by slot, and the open tick's slot is swept for the deadlines
// <= now. So no timer fires early, and a due timer fires on the first advance() at or after
// its deadline (subject to the budget): its lateness is the loop's, not the tick's. (A loop
// calling advance() at least once per tick fires every timer within one tick.)
//
// Order. Timers fire in (deadline, start order). Deadlines are exact ns, finer than a tick,
// so a level-0 slot is sorted when its tick becomes due or open (never at higher levels);
// across ticks the order holds because ticks are processed in order. Sorting is cheap in
// the common cases: a slot already in order (timers started as now + a constant) costs one
// pass, a sorted run plus a few appends costs sorting the appends and one merge; only a big
// disordered slot is spread over 256 buckets by deadline and merge-sorted bucket by bucket.
// While the open slot is sorted, a start into it inserts in place, walking back at most 8
// nodes from the tail (else it appends and the slot is sorted again on the next sweep).
//
// Choosing the tick. It does not change when timers fire, only the cost: a coarse tick
// packs more timers into a level-0 slot to sort (cheap up to thousands, in order or not); a
// fine one costs more cascades for long timers and more slot boundaries per millisecond.
// 1 ms (the default) suits TCP's timers (RTO >= 200 ms, delayed ACK, keepalive, 2MSL).
//
// Past deadlines. A timer started with a deadline <= now() (the now of the current or last
// advance) goes to a "late" list and fires on the next advance(), in (deadline, start order)
// with everything else due then. So a callback that re-arms its own timer at `now`, or a
// period behind, fires once per advance() rather than looping inside one.
//
// Budget. advance(now, budget) runs at most budget callbacks; due timers left over stay in
// order and run first on the next advance() (has_pending_due() says there is such work).
//
// Callbacks may start, stop or re-arm any timer of this wheel, including their own, and may
// destroy timers. The firing timer is disarmed before its callback runs.
//
// Threads: a wheel and its timers belong to one lcore; nothing here is thread-safe.

#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "time/instant.hpp"

namespace sluice::time {

class TimerWheel;

namespace detail {

// Intrusive doubly-linked list hook; lists are circular around a sentinel.
struct Link {
    Link* next = nullptr;
    Link* prev = nullptr;
};

struct List : Link {
    List() noexcept { next = prev = this; }
    List(const List&) = delete;
    List& operator=(const List&) = delete;

    bool empty() const noexcept { return next == this; }
    void push_back(Link* n) noexcept {
        n->prev = prev;
        n->next = this;
        prev->next = n;
        prev = n;
    }
    void insert_after(Link* pos, Link* n) noexcept {
        n->prev = pos;
        n->next = pos->next;
        pos->next->prev = n;
        pos->next = n;
    }
};

}  // namespace detail

// A timer node, embedded in its owner (a connection): no allocation, 56 bytes.
// Not copyable or movable: the wheel's lists point at it.
class Timer : private detail::Link {
public:
    // Runs on the wheel's lcore from TimerWheel::advance(); `now` is the advance's now.
    using Callback = void (*)(Timer& timer, Instant now);

    Timer() noexcept = default;
    explicit Timer(Callback cb, void* ctx = nullptr) noexcept : cb_(cb), ctx_(ctx) {}
    // Destroying an armed timer stops it (O(1)); its wheel must still be alive.
    ~Timer();

    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    // Sets what runs on expiry and the context it gets back. Only while not armed.
    void set_callback(Callback cb, void* ctx = nullptr) noexcept {
        assert(!armed());
        cb_ = cb;
        ctx_ = ctx;
    }

    bool armed() const noexcept { return wheel_ != nullptr; }
    // The deadline of the last start(); meaningful while armed.
    Instant deadline() const noexcept { return deadline_; }
    void* context() const noexcept { return ctx_; }

private:
    friend class TimerWheel;

    Instant deadline_{};
    uint64_t seq_ = 0;  // start order, breaks ties between equal deadlines
    Callback cb_ = nullptr;
    void* ctx_ = nullptr;
    TimerWheel* wheel_ = nullptr;  // non-null while armed
};

struct WheelConfig {
    // Slot width of level 0. Any value >= 1 ns; precision of firing does not depend on it
    // (deadlines are exact), only the cost of sweeping an over-full open slot does.
    Duration tick = std::chrono::milliseconds(1);
    // Tick 0 ends here; deadlines at or before it are due on the first advance().
    Instant origin{};
};

class alignas(64) TimerWheel {
public:
    static constexpr unsigned kLevelBits = 6;
    static constexpr unsigned kSlots = 1u << kLevelBits;  // one 64-bit occupancy word a level
    static constexpr unsigned kLevels = 6;                // 2^36 ticks before re-parking

    explicit TimerWheel(WheelConfig cfg = {}) noexcept;
    // Disarms the timers still armed (O(n)); they may then be destroyed freely.
    ~TimerWheel();

    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;

    // Arms `t` to fire at `deadline`; if already armed here, re-arms it (the old deadline is
    // forgotten). A deadline <= now() fires on the next advance(); one beyond the wheel's
    // span is parked and re-cascaded. O(1). The callback must be set.
    void start(Timer& t, Instant deadline) noexcept;

    // Disarms `t`. Returns true if it was armed (it will not fire), false if it was not
    // (already fired, stopped, or never started). O(1).
    bool stop(Timer& t) noexcept;

    // Moves the wheel to `now` and runs the callbacks of due timers (deadline <= now), in
    // (deadline, start order), at most `budget` of them. Returns the number run. A `now`
    // earlier than the last one is treated as the last one.
    // Near-free when nothing can be due yet: one compare against a horizon (the earliest
    // deadline the wheel may hold, kept by start() and recomputed by each full advance).
    size_t advance(Instant now, size_t budget = SIZE_MAX) noexcept {
        const Instant at = now < now_ ? now_ : now;  // an earlier now is the last one
        if (at < horizon_) [[likely]] {
            now_ = at;
            return 0;
        }
        return advance_full(now, budget);
    }

    // True when due timers are known to be waiting: the last advance() stopped on its budget,
    // or timers were started with deadlines already passed. Call advance() again.
    bool has_pending_due() const noexcept { return !swept_ || !due_.empty() || !late_.empty(); }

    // Live (armed) timers.
    size_t size() const noexcept { return size_; }
    // The now of the last advance() (the origin before the first).
    Instant now() const noexcept { return now_; }
    Duration tick() const noexcept { return Duration(tick_ns_); }

    // A lower bound on the earliest deadline of an armed timer, or nullopt if none is armed.
    // Exact when that timer is in level 0 (its tick is in the current 64-tick block or just
    // past it); now() if something is already due.
    // O(kLevels + timers in one slot). For sleeping or skipping idle loop turns.
    std::optional<Instant> next_deadline_hint() const noexcept;

    // Walks every list: node count equals size(), links are consistent, each timer sits in
    // the slot its deadline maps to, occupancy bits match, due/late lists are in order.
    // O(n); for tests and SLUICE_INVARIANTS builds.
    bool check_invariants() const;

private:
    using Link = detail::Link;
    using List = detail::List;

    static Timer& timer_of(Link* l) noexcept { return *static_cast<Timer*>(l); }
    static Link* link_of(Timer& t) noexcept { return static_cast<Link*>(&t); }
    static bool before(const Timer& a, const Timer& b) noexcept {
        return a.deadline_ < b.deadline_ || (a.deadline_ == b.deadline_ && a.seq_ < b.seq_);
    }

    // floor(x / tick), by multiply-shift (no division on the hot path). The reciprocal
    // rounds down, so q is low by at most one for x < 2^63, by two beyond.
    uint64_t div_tick(uint64_t x) const noexcept {
        auto q = static_cast<uint64_t>((static_cast<unsigned __int128>(x) * tick_recip_) >> 64);
        while (x - q * tick_ns_ >= tick_ns_) ++q;
        return q;
    }
    // e(d) = ceil((d - origin) / tick), 0 for deadlines at or before the origin.
    uint64_t tick_of(Instant d) const noexcept {
        if (d <= origin_) return 0;
        uint64_t x = static_cast<uint64_t>(d.ns()) - static_cast<uint64_t>(origin_.ns());
        uint64_t q = div_tick(x);
        return q + (q * tick_ns_ != x);
    }

    size_t advance_full(Instant now, size_t budget) noexcept;
    size_t advance_cursor(Instant now, size_t budget) noexcept;
    Instant compute_horizon() const noexcept;
    Instant earliest_in_slots() const noexcept;
    void unlink(Timer& t) noexcept;
    void place(Timer& t, uint64_t e) noexcept;
    void insert_open_sorted(List& slot, Timer& t) noexcept;
    void move_to(uint64_t n) noexcept;
    void cascade(unsigned level, unsigned slot) noexcept;
    uint64_t next_event() const noexcept;
    void take_slot_into_due(unsigned slot) noexcept;
    void sweep_open(Instant now) noexcept;
    size_t run_due(Instant now, size_t budget) noexcept;
    void sort_list(List& l) noexcept;
    void absorb_late() noexcept;
    bool list_sorted(const List& l) const noexcept;
    Link* slot_base() noexcept { return &slots_[0][0]; }

    // Hot: read on every start/stop/advance.
    uint64_t next_ = 1;  // the open tick: ticks < next_ are processed
    uint64_t tick_ns_;
    uint64_t tick_recip_;  // floor((2^64 - 1) / tick)
    Instant origin_;
    Instant now_;
    // No armed timer has a deadline before this (a lower bound: a stop leaves it), and none is
    // waiting in due_/late_ unless it is <= now_; and it is at most the end of the open tick.
    // So advance(now < horizon_) has nothing to do but record now.
    Instant horizon_;
    uint64_t seq_ = 0;
    size_t size_ = 0;
    bool swept_ = true;        // the last advance() finished: no deadline <= now_ in slots
    bool open_sorted_ = true;  // level-0 slot of next_ is in (deadline, seq) order
    bool late_sorted_ = true;
    uint64_t occupied_[kLevels] = {};

    List due_;   // due, in order, not yet run (budget carry-over)
    List late_;  // started with a passed deadline since the last advance
    List slots_[kLevels][kSlots];
};

inline Timer::~Timer() {
    if (wheel_ != nullptr) wheel_->stop(*this);
}

inline void TimerWheel::unlink(Timer& t) noexcept {
    Link* p = t.prev;
    Link* n = t.next;
    p->next = n;
    n->prev = p;
    t.next = t.prev = nullptr;
    if (p == n) {
        // The list is now empty: if it is a wheel slot, clear its occupancy bit. The sentinel's
        // address says which slot it is.
        auto off = reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(slot_base());
        if (off < sizeof(slots_)) {
            size_t idx = off / sizeof(List);
            occupied_[idx / kSlots] &= ~(uint64_t{1} << (idx % kSlots));
        }
    }
}

inline void TimerWheel::place(Timer& t, uint64_t e) noexcept {
    uint64_t delta = e - next_;
    unsigned level;
    unsigned slot;
    if (delta < kSlots) {
        level = 0;
        slot = static_cast<unsigned>(e & (kSlots - 1));
        if (delta == 0 && open_sorted_) {
            insert_open_sorted(slots_[0][slot], t);
            occupied_[0] |= uint64_t{1} << slot;
            return;
        }
    } else {
        level = static_cast<unsigned>(63 - __builtin_clzll(delta)) / kLevelBits;
        if (level >= kLevels) level = kLevels - 1;  // beyond the span: park at the top
        slot = static_cast<unsigned>((e >> (kLevelBits * level)) & (kSlots - 1));
    }
    slots_[level][slot].push_back(link_of(t));
    occupied_[level] |= uint64_t{1} << slot;
}

inline void TimerWheel::start(Timer& t, Instant deadline) noexcept {
    assert(t.cb_ != nullptr);
    assert(t.wheel_ == nullptr || t.wheel_ == this);
    if (t.wheel_ != nullptr) {
        unlink(t);
    } else {
        t.wheel_ = this;
        ++size_;
    }
    t.deadline_ = deadline;
    t.seq_ = ++seq_;
    if (deadline < horizon_) horizon_ = deadline;
    if (deadline <= now_) [[unlikely]] {
        // Already due: the next advance() takes it in order with the rest.
        if (!late_.empty() && before(t, timer_of(late_.prev))) late_sorted_ = false;
        late_.push_back(link_of(t));
        return;
    }
    place(t, tick_of(deadline));  // deadline > now_ implies its tick >= next_
}

inline bool TimerWheel::stop(Timer& t) noexcept {
    if (t.wheel_ == nullptr) return false;
    assert(t.wheel_ == this);
    unlink(t);
    t.wheel_ = nullptr;
    --size_;
    return true;
}

}  // namespace sluice::time
