// The timer wheel, one behaviour per test, on a virtual clock.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <optional>
#include <random>

#include "time/wheel.hpp"
#include "wheel_harness.hpp"

namespace sluice::time::testing {
namespace {

// 64^l ticks: the span of levels below l.
constexpr int64_t level_span(unsigned l) {
    return int64_t{1} << (TimerWheel::kLevelBits * l);
}

// ---- basics ----

TEST(Wheel, EmptyWheelDoesNothing) {
    WheelHarness h;
    EXPECT_EQ(h.wheel.size(), 0u);
    EXPECT_EQ(h.advance(10s), 0u);
    EXPECT_FALSE(h.wheel.has_pending_due());
    EXPECT_FALSE(h.wheel.next_deadline_hint().has_value());
    EXPECT_TRUE(h.wheel.check_invariants());
}

TEST(Wheel, TimerIsNodeSizedAndEmbeddable) {
    static_assert(sizeof(Timer) == 56);
    static_assert(!std::is_copy_constructible_v<Timer> && !std::is_move_constructible_v<Timer>);
}

TEST(Wheel, FiresOnFirstAdvanceAtOrAfterDeadlineNeverBefore) {
    WheelHarness h;
    auto& a = h.make();
    h.start(a, 5500us);
    EXPECT_TRUE(a.timer.armed());
    EXPECT_EQ(a.timer.deadline(), h.t0 + 5500us);
    EXPECT_EQ(h.wheel.size(), 1u);
    EXPECT_EQ(h.advance(5ms), 0u);
    EXPECT_EQ(h.advance(5500us - 1ns), 0u);  // inside the open tick, 1 ns short
    EXPECT_EQ(h.advance(5500us), 1u);
    ASSERT_EQ(h.log.size(), 1u);
    EXPECT_EQ(h.log[0].at, h.t0 + 5500us);
    EXPECT_FALSE(a.timer.armed());
    EXPECT_EQ(h.wheel.size(), 0u);
    EXPECT_EQ(h.advance(1h), 0u);  // exactly once
}

TEST(Wheel, DueTimersOfTheOpenTickFireAndTheRestWait) {
    WheelHarness h;
    for (int i = 0; i < 5; ++i) h.start(h.make(), 10ms + (i + 1) * 150us);  // 10.15 .. 10.75 ms
    EXPECT_EQ(h.advance(10ms + 300us), 2u);
    EXPECT_EQ(h.take_ids(), (std::vector<int>{0, 1}));
    EXPECT_EQ(h.advance(10ms + 300us), 0u);
    EXPECT_EQ(h.advance(11ms), 3u);
    EXPECT_EQ(h.take_ids(), (std::vector<int>{2, 3, 4}));
}

// ---- order ----

TEST(Wheel, DeadlinesWithinOneTickFireInDeadlineOrder) {
    WheelHarness h;
    std::vector<int> offsets(200);
    std::iota(offsets.begin(), offsets.end(), 0);
    std::shuffle(offsets.begin(), offsets.end(), std::mt19937(7));
    for (int off : offsets) h.start(h.make(), 3ms + off * 4us);  // all in tick 4 (3, 4] ms
    // ids are in start order; deadline order is by offset.
    EXPECT_EQ(h.advance(4ms), 200u);
    std::vector<int> want(200);
    for (int id = 0; id < 200; ++id) want[static_cast<size_t>(offsets[id])] = id;
    EXPECT_EQ(h.ids(), want);
}

TEST(Wheel, EqualDeadlinesFireInStartOrder) {
    WheelHarness h;
    for (int i = 0; i < 10; ++i) h.start(h.make(), 70ms);  // level 1 at start, cascaded later
    h.start(h.node(3), 70ms);                              // re-arm: now the last started
    EXPECT_EQ(h.advance(70ms), 10u);
    EXPECT_EQ(h.ids(), (std::vector<int>{0, 1, 2, 4, 5, 6, 7, 8, 9, 3}));
}

TEST(Wheel, OneLongAdvanceFiresEveryTickInDeadlineOrder) {
    WheelHarness h;
    std::mt19937_64 rng(11);
    std::uniform_int_distribution<int64_t> ns(1, 20'000'000'000);  // 20 s: levels 0..2
    std::vector<std::pair<int64_t, int>> want;
    for (int i = 0; i < 5000; ++i) {
        int64_t d = ns(rng);
        h.start(h.make(), Duration(d));
        want.emplace_back(d, i);
    }
    std::sort(want.begin(), want.end());
    EXPECT_EQ(h.advance(20s), 5000u);
    ASSERT_EQ(h.log.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(h.log[i].id, want[i].second) << i;
}

TEST(Wheel, ManyTimersInOneSlot) {
    WheelHarness h;
    for (int i = 0; i < 20'000; ++i) h.start(h.make(), 2s + Duration((i * 7919) % 1'000'000));
    EXPECT_TRUE(h.wheel.check_invariants());
    EXPECT_EQ(h.advance(2s), 1u);  // only the one at exactly 2 s
    EXPECT_EQ(h.advance(2001ms), 19'999u);
    for (size_t i = 1; i < h.log.size(); ++i) ASSERT_LT(h.log[i - 1].deadline, h.log[i].deadline);
}

// ---- stop and re-arm ----

TEST(Wheel, StopPreventsFiringAndSaysWhetherItWasArmed) {
    WheelHarness h;
    auto& a = h.make();
    auto& b = h.make();
    EXPECT_FALSE(h.wheel.stop(a.timer));  // never started
    h.start(a, 100ms);
    h.start(b, 100ms);
    EXPECT_TRUE(h.wheel.stop(a.timer));
    EXPECT_FALSE(a.timer.armed());
    EXPECT_FALSE(h.wheel.stop(a.timer));  // already stopped
    EXPECT_EQ(h.wheel.size(), 1u);
    EXPECT_EQ(h.advance(1s), 1u);
    EXPECT_EQ(h.ids(), (std::vector<int>{1}));
    EXPECT_FALSE(h.wheel.stop(b.timer));  // already fired
    EXPECT_TRUE(h.wheel.check_invariants());
}

TEST(Wheel, ReArmMovesTheDeadlineEitherWay) {
    WheelHarness h;
    auto& a = h.make();
    auto& b = h.make();
    h.start(a, 10s);
    h.start(a, 20ms);  // earlier
    h.start(b, 20ms);
    h.start(b, 3min);  // later
    EXPECT_EQ(h.wheel.size(), 2u);
    EXPECT_EQ(h.advance(20ms), 1u);
    EXPECT_EQ(h.advance(3min - 1ns), 0u);
    EXPECT_EQ(h.advance(3min), 1u);
    EXPECT_EQ(h.ids(), (std::vector<int>{0, 1}));
}

TEST(Wheel, StartingAnArmedTimerInTheOpenSlotKeepsItSorted) {
    WheelHarness h;
    h.advance(5ms + 100us);
    for (int i = 0; i < 30; ++i) h.start(h.make(), 5ms + Duration((30 - i) * 20us + 200us));
    h.start(h.node(0), 5ms + 150us);  // now the first
    EXPECT_TRUE(h.wheel.check_invariants());
    EXPECT_EQ(h.advance(6ms), 30u);
    EXPECT_EQ(h.log.front().id, 0);
    for (size_t i = 1; i < h.log.size(); ++i) ASSERT_LT(h.log[i - 1].deadline, h.log[i].deadline);
}

// ---- past deadlines ----

TEST(Wheel, PastDeadlineFiresOnTheNextAdvance) {
    WheelHarness h;
    h.advance(10ms + 400us);  // mid-tick
    auto& a = h.make();
    auto& b = h.make();
    auto& c = h.make();
    h.start(a, 10ms + 400us);  // exactly now
    h.start(b, 10ms + 200us);  // earlier in this tick
    h.start(c, 2ms);           // ticks ago
    EXPECT_TRUE(h.wheel.has_pending_due());
    EXPECT_EQ(h.wheel.next_deadline_hint(), h.t0 + 10ms + 400us);
    EXPECT_TRUE(h.wheel.check_invariants());
    EXPECT_EQ(h.advance(10ms + 400us), 3u);           // same now
    EXPECT_EQ(h.ids(), (std::vector<int>{2, 1, 0}));  // deadline order
    EXPECT_FALSE(h.wheel.has_pending_due());
}

TEST(Wheel, ManyPastDeadlinesAcrossTheWholeRangeFireInOrder) {
    WheelHarness h;
    h.advance(1s);
    std::mt19937_64 rng(23);
    std::vector<std::pair<int64_t, int>> want;
    for (int i = 0; i < 3000; ++i) {  // enough to sort by buckets, over a 2^64 ns span
        int64_t d = i == 0 ? INT64_MIN : static_cast<int64_t>(rng()) % 1'000'000'000;
        if (i % 7 == 0) d = INT64_MIN + i;
        h.wheel.start(h.make().timer, Instant::from_ns(d));
        want.emplace_back(d, i);
    }
    std::sort(want.begin(), want.end());
    EXPECT_TRUE(h.wheel.check_invariants());
    EXPECT_EQ(h.advance(1s), 3000u);
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(h.log[i].id, want[i].second) << i;
}

TEST(Wheel, DeadlineBeforeTheOriginFiresOnTheFirstAdvance) {
    WheelHarness h(1ms, Instant::from_ns(-5'000'000'000));
    auto& a = h.make();
    h.wheel.start(a.timer, Instant::from_ns(-9'000'000'000));
    EXPECT_EQ(h.wheel.advance(Instant::from_ns(-5'000'000'000)), 1u);
}

// advance() skips its work while the clock stays before every deadline and inside the open
// tick; a timer started meanwhile, for later in the same tick, must still fire on time.
TEST(Wheel, TimerStartedBetweenIdleAdvancesFiresOnTime) {
    WheelHarness h;
    auto& far = h.make();
    h.start(far, 10s);
    EXPECT_EQ(h.advance(1ms + 100us), 0u);
    EXPECT_EQ(h.advance(1ms + 200us), 0u);  // nothing due, same tick
    auto& near = h.make();
    h.start(near, 1ms + 300us);
    EXPECT_EQ(h.advance(1ms + 299us), 0u);
    EXPECT_EQ(h.advance(1ms + 300us), 1u);
    EXPECT_EQ(h.take_ids(), std::vector<int>{1});
    EXPECT_EQ(h.advance(10s - 1ns), 0u);
    EXPECT_EQ(h.advance(10s), 1u);
}

TEST(Wheel, NowGoingBackwardsIsTreatedAsTheLastNow) {
    WheelHarness h;
    h.advance(50ms);
    auto& a = h.make();
    h.start(a, 49ms);
    EXPECT_EQ(h.advance(10ms), 1u);  // 10 ms < 50 ms: the wheel stays at 50 ms
    EXPECT_EQ(h.wheel.now(), h.t0 + 50ms);
}

TEST(Wheel, ExtremeDeadlinesDoNotOverflow) {
    WheelHarness h(1ms, Instant::from_ns(-1'000'000));
    auto& a = h.make();
    auto& b = h.make();
    h.wheel.start(a.timer, Instant::from_ns(INT64_MAX));
    h.wheel.start(b.timer, Instant::from_ns(INT64_MIN));
    EXPECT_TRUE(h.wheel.check_invariants());
    EXPECT_EQ(h.wheel.advance(Instant::from_ns(0)), 1u);
    EXPECT_EQ(h.ids(), (std::vector<int>{1}));
    EXPECT_EQ(h.wheel.advance(Instant::from_ns(INT64_MAX - 1)), 0u);
    EXPECT_TRUE(h.wheel.check_invariants());
    EXPECT_EQ(h.wheel.advance(Instant::from_ns(INT64_MAX)), 1u);
}

// ---- callbacks that change the wheel ----

TEST(Wheel, CallbackReArmsItselfPeriodically) {
    WheelHarness h;
    auto& a = h.make();
    a.action = [&](Instant) { h.wheel.start(a.timer, a.timer.deadline() + 7ms); };
    h.start(a, 7ms);
    for (Duration t = 1ms; t <= 100ms; t += 1ms) h.advance(t);
    ASSERT_EQ(h.log.size(), 14u);  // 7, 14, ..., 98 ms, each on time
    for (size_t i = 0; i < h.log.size(); ++i) {
        EXPECT_EQ(h.log[i].deadline, h.t0 + Duration(7ms) * static_cast<int>(i + 1));
        EXPECT_EQ(h.log[i].at, h.log[i].deadline);
    }
    EXPECT_EQ(a.timer.deadline(), h.t0 + 105ms);
}

TEST(Wheel, PeriodicTimerThatFellBehindFiresOncePerAdvance) {
    WheelHarness h;
    auto& a = h.make();
    a.action = [&](Instant) { h.wheel.start(a.timer, a.timer.deadline() + 7ms); };
    h.start(a, 7ms);
    for (int i = 0; i < 14; ++i) ASSERT_EQ(h.advance(100ms), 1u) << i;  // 7 .. 98 ms
    EXPECT_EQ(h.advance(100ms), 0u);
    EXPECT_EQ(a.timer.deadline(), h.t0 + 105ms);
}

TEST(Wheel, CallbackReArmingAtNowFiresOnceAnAdvanceNotInALoop) {
    WheelHarness h;
    auto& a = h.make();
    a.action = [&](Instant now) { h.wheel.start(a.timer, now); };
    h.start(a, 3ms + 500us);
    EXPECT_EQ(h.advance(3ms + 500us), 1u);
    EXPECT_EQ(h.advance(3ms + 500us), 1u);
    EXPECT_EQ(h.advance(4ms), 1u);
    EXPECT_TRUE(h.wheel.check_invariants());
}

TEST(Wheel, CallbackStopsItselfAndGetsFalse) {
    WheelHarness h;
    auto& a = h.make();
    std::optional<bool> stopped;
    a.action = [&](Instant) { stopped = h.wheel.stop(a.timer); };
    h.start(a, 1ms);
    h.advance(1ms);
    EXPECT_EQ(stopped, false);
}

TEST(Wheel, CallbackStopsAnotherTimerDueInTheSameAdvance) {
    WheelHarness h;
    auto& a = h.make();
    auto& b = h.make();
    auto& c = h.make();
    std::optional<bool> stopped;
    a.action = [&](Instant) { stopped = h.wheel.stop(b.timer); };
    h.start(a, 5ms);
    h.start(b, 5ms);  // same tick, after a
    h.start(c, 9ms);  // a later tick of the same advance
    EXPECT_EQ(h.advance(10ms), 2u);
    EXPECT_EQ(stopped, true);
    EXPECT_EQ(h.ids(), (std::vector<int>{0, 2}));
    EXPECT_EQ(h.wheel.size(), 0u);
}

TEST(Wheel, CallbackPostponesAnotherDueTimer) {
    WheelHarness h;
    auto& a = h.make();
    auto& b = h.make();
    a.action = [&](Instant now) { h.wheel.start(b.timer, now + 1s); };
    h.start(a, 5ms);
    h.start(b, 6ms);
    EXPECT_EQ(h.advance(10ms), 1u);
    EXPECT_EQ(h.advance(1010ms - 1ns), 0u);
    EXPECT_EQ(h.advance(1010ms), 1u);
    EXPECT_EQ(h.ids(), (std::vector<int>{0, 1}));
}

TEST(Wheel, CallbackStartsNewTimers) {
    WheelHarness h;
    auto& a = h.make();
    auto& b = h.make();
    auto& c = h.make();
    auto& d = h.make();
    a.action = [&](Instant) {
        h.start(b, 8ms);   // <= this advance's now: on the next advance
        h.start(c, 30ms);  // in the future: when due
    };
    h.start(a, 5ms);
    h.start(d, 9ms);
    EXPECT_EQ(h.advance(10ms), 2u);
    EXPECT_EQ(h.take_ids(), (std::vector<int>{0, 3}));
    EXPECT_TRUE(h.wheel.has_pending_due());
    EXPECT_EQ(h.advance(10ms), 1u);
    EXPECT_EQ(h.take_ids(), (std::vector<int>{1}));
    EXPECT_EQ(h.advance(30ms - 1ns), 0u);
    EXPECT_EQ(h.advance(30ms), 1u);
    EXPECT_EQ(h.take_ids(), (std::vector<int>{2}));
}

TEST(Wheel, CallbackDestroysATimerThatWasDue) {
    WheelHarness h;
    auto& a = h.make();
    int fired = 0;
    auto victim = std::make_unique<Timer>([](Timer&, Instant) {}, nullptr);
    auto& counter = h.make();
    counter.action = [&](Instant) { ++fired; };
    a.action = [&](Instant) { victim.reset(); };  // the destructor stops it
    h.start(a, 5ms);
    h.wheel.start(*victim, h.t0 + 5ms);
    h.start(counter, 5ms);
    EXPECT_EQ(h.wheel.size(), 3u);
    EXPECT_EQ(h.advance(5ms), 2u);
    EXPECT_EQ(fired, 1);
    EXPECT_EQ(h.wheel.size(), 0u);
    EXPECT_TRUE(h.wheel.check_invariants());
}

// ---- levels and range ----

TEST(Wheel, CascadesAcrossEveryLevelBoundary) {
    WheelHarness h;
    std::vector<Duration> deadlines;
    for (unsigned l = 1; l < TimerWheel::kLevels; ++l) {
        int64_t span = level_span(l);
        for (int64_t ticks : {span - 1, span, span + 1, 2 * span, 63 * span + 5})
            for (Duration sub : {0ns, 1ns, 999'999ns})
                deadlines.push_back(Duration(1ms) * ticks - sub);
    }
    for (auto d : deadlines) h.start(h.make(), d);
    EXPECT_TRUE(h.wheel.check_invariants());
    std::vector<Duration> sorted = deadlines;
    std::sort(sorted.begin(), sorted.end());
    for (auto d : sorted) {
        h.log.clear();
        h.advance(d - 1ns);
        EXPECT_TRUE(h.wheel.check_invariants());
        for (auto& f : h.log) EXPECT_LT(f.deadline, h.t0 + d);  // only earlier ones, if any
        h.log.clear();
        h.advance(d);
        ASSERT_FALSE(h.log.empty()) << d.count();
        for (auto& f : h.log) EXPECT_EQ(f.deadline, h.t0 + d);
    }
    EXPECT_EQ(h.wheel.size(), 0u);
}

TEST(Wheel, KeepaliveRangeFiresOnTheNanosecond) {
    constexpr Duration kKeepalive = 2h + 9 * 75s;  // RFC 1122 4.2.3.6 idle time + 9 probes
    WheelHarness h;
    auto& a = h.make();
    auto& b = h.make();
    h.start(a, kKeepalive);
    h.start(b, kKeepalive + 1ns);
    for (Duration t = 1s; t < kKeepalive; t += 1s) ASSERT_EQ(h.advance(t), 0u) << t.count();
    EXPECT_EQ(h.advance(kKeepalive - 1ns), 0u);
    EXPECT_EQ(h.advance(kKeepalive), 1u);
    EXPECT_EQ(h.advance(kKeepalive + 1ns), 1u);
    EXPECT_EQ(h.ids(), (std::vector<int>{0, 1}));
}

TEST(Wheel, BeyondTheSpanIsParkedAndReCascaded) {
    // 1 us ticks: the wheel proper spans 2^36 us = 19.1 h; 3 days is well beyond.
    WheelHarness h(1us);
    const Duration far = 72h + 123ns;
    auto& a = h.make();
    auto& b = h.make();
    h.start(a, far);
    h.start(b, 2 * far);
    for (Duration t = 1h; t < far; t += 1h) {
        ASSERT_EQ(h.advance(t), 0u);
        ASSERT_TRUE(h.wheel.check_invariants());
    }
    EXPECT_EQ(h.advance(far - 1ns), 0u);
    EXPECT_EQ(h.advance(far), 1u);
    EXPECT_EQ(h.advance(2 * far - 1ns), 0u);  // one jump over many re-parks
    EXPECT_EQ(h.advance(2 * far), 1u);
}

TEST(Wheel, NanosecondTickStillOrdersAndNeverFiresEarly) {
    WheelHarness h(1ns);
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<int64_t> ns(0, 200'000'000'000);  // 200 s > 2^36 ns
    for (int i = 0; i < 2000; ++i) h.start(h.make(), Duration(ns(rng)));
    Duration t = 0ns;
    while (h.wheel.size() > 0) {
        t += Duration(ns(rng) / 50);
        h.advance(t);
        ASSERT_TRUE(h.wheel.check_invariants());
    }
    ASSERT_EQ(h.log.size(), 2000u);
    for (size_t i = 0; i < h.log.size(); ++i) {
        EXPECT_LE(h.log[i].deadline, h.log[i].at);
        if (i > 0) {
            EXPECT_LE(h.log[i - 1].deadline, h.log[i].deadline);
        }
    }
}

// ---- budget ----

TEST(Wheel, BudgetCarriesOverInOrder) {
    WheelHarness h;
    std::mt19937_64 rng(5);
    std::uniform_int_distribution<int64_t> ns(0, 1'000'000'000);
    std::vector<std::pair<int64_t, int>> want;
    for (int i = 0; i < 1000; ++i) {
        int64_t d = ns(rng);
        h.start(h.make(), Duration(d));
        want.emplace_back(d, i);
    }
    std::sort(want.begin(), want.end());
    size_t total = 0;
    int turns = 0;
    do {
        size_t ran = h.advance(2s, 7);
        EXPECT_LE(ran, 7u);
        total += ran;
        ++turns;
        ASSERT_TRUE(h.wheel.check_invariants());
    } while (h.wheel.has_pending_due());
    EXPECT_EQ(total, 1000u);
    EXPECT_EQ(turns, 143);  // ceil(1000 / 7)
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(h.log[i].id, want[i].second) << i;
}

TEST(Wheel, LateStartsMergeIntoTheCarryOverInOrder) {
    WheelHarness h;
    for (int i = 0; i < 10; ++i) h.start(h.make(), Duration((i + 1) * 10ms));  // ids 0..9
    EXPECT_EQ(h.advance(1s, 3), 3u);                                           // 10, 20, 30 ms
    EXPECT_TRUE(h.wheel.has_pending_due());
    auto& x = h.make();  // id 10
    auto& y = h.make();  // id 11
    h.start(x, 45ms);    // between carried-over deadlines
    h.start(y, 1ms);     // before all of them
    EXPECT_TRUE(h.wheel.check_invariants());
    EXPECT_EQ(h.advance(1s, 4), 4u);
    EXPECT_EQ(h.advance(1s), 5u);
    EXPECT_EQ(h.ids(), (std::vector<int>{0, 1, 2, 11, 3, 10, 4, 5, 6, 7, 8, 9}));
    EXPECT_FALSE(h.wheel.has_pending_due());
}

TEST(Wheel, ZeroBudgetRunsNothingAndLosesNothing) {
    WheelHarness h;
    h.start(h.make(), 1ms);
    EXPECT_EQ(h.advance(5ms, 0), 0u);
    EXPECT_TRUE(h.wheel.has_pending_due());
    EXPECT_EQ(h.advance(5ms), 1u);
}

// ---- hints and lifetime ----

TEST(Wheel, NextDeadlineHintIsALowerBoundAndExactWhenNear) {
    WheelHarness h;
    auto& far = h.make();
    h.start(far, 10min);
    auto hint = h.wheel.next_deadline_hint();
    ASSERT_TRUE(hint.has_value());
    EXPECT_LE(*hint, h.t0 + 10min);
    EXPECT_GT(*hint, h.t0);
    auto& near = h.make();
    h.start(near, 30ms + 17ns);
    EXPECT_EQ(h.wheel.next_deadline_hint(), h.t0 + 30ms + 17ns);
    h.advance(30ms + 17ns);
    h.advance(10min - 1s);
    hint = h.wheel.next_deadline_hint();  // still a level-1 slot: its start is the bound
    ASSERT_TRUE(hint.has_value());
    EXPECT_LE(*hint, h.t0 + 10min);
    EXPECT_GT(*hint, h.t0 + 10min - 1s);
    h.advance(10min - 1ms);
    EXPECT_EQ(h.wheel.next_deadline_hint(), h.t0 + 10min);  // in level 0 now: exact
    h.advance(10min);
    EXPECT_FALSE(h.wheel.next_deadline_hint().has_value());
}

TEST(Wheel, DestroyingAnArmedTimerStopsIt) {
    WheelHarness h;
    {
        Timer t([](Timer&, Instant) { FAIL() << "destroyed timer fired"; });
        h.wheel.start(t, h.t0 + 5ms);
        EXPECT_EQ(h.wheel.size(), 1u);
    }
    EXPECT_EQ(h.wheel.size(), 0u);
    EXPECT_TRUE(h.wheel.check_invariants());
    EXPECT_EQ(h.advance(1s), 0u);
}

TEST(Wheel, DestroyingTheWheelDisarmsItsTimers) {
    Timer t([](Timer&, Instant) {});
    {
        TimerWheel w;
        w.start(t, Instant::from_ns(5'000'000));
        EXPECT_TRUE(t.armed());
    }
    EXPECT_FALSE(t.armed());
}

TEST(Wheel, OddTickSizesKeepEveryRule) {
    for (Duration tick : {Duration(1'234'567ns), Duration(100us), Duration(7ns), Duration(1s)}) {
        WheelHarness h(tick, Instant::from_ns(987'654'321));
        std::mt19937_64 rng(static_cast<uint64_t>(tick.count()));
        std::uniform_int_distribution<int64_t> ns(-1'000'000, 30'000'000'000);
        for (int i = 0; i < 3000; ++i) h.start(h.make(), Duration(ns(rng)));
        Duration t = 0ns;
        while (h.wheel.size() > 0) {
            t += Duration(ns(rng) / 300 + 1'000'000);
            h.advance(t);
        }
        ASSERT_TRUE(h.wheel.check_invariants());
        ASSERT_EQ(h.log.size(), 3000u) << tick.count();
        for (size_t i = 0; i < h.log.size(); ++i) {
            ASSERT_LE(h.log[i].deadline, h.log[i].at) << tick.count();
            if (i > 0) {
                ASSERT_LE(h.log[i - 1].deadline, h.log[i].deadline) << tick.count();
            }
        }
    }
}

}  // namespace
}  // namespace sluice::time::testing
