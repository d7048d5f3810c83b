// The timer wheel at scale and against a reference model, on a virtual clock.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>
#include <tuple>

#include "time/wheel.hpp"
#include "wheel_harness.hpp"

namespace sluice::time::testing {
namespace {

// A million timers at random deadlines across the keepalive range (levels 0 to 3), the
// wheel advanced one tick at a time: each fires exactly once, never before its deadline,
// less than one tick after it, and all in deadline order.
constexpr Duration kTick = 1ms;
constexpr Duration kRange = 2h + 9 * 75s;  // keepalive: RFC 1122 idle time + 9 probes

TEST(WheelStress, AMillionTimersFireOnceOnTimeAndInOrder) {
    constexpr size_t kN = 1'000'000;

    struct Stats {
        Instant last{};
        size_t fired = 0, early = 0, late = 0, out_of_order = 0, twice = 0;
    } stats;
    struct Rec {
        Timer timer;
        Stats* stats = nullptr;
        int count = 0;
    };
    auto recs = std::make_unique<Rec[]>(kN);
    auto on_fire = [](Timer& t, Instant now) {
        auto* r = static_cast<Rec*>(t.context());
        Stats& s = *r->stats;
        Instant d = t.deadline();
        s.early += d > now;
        s.late += now - d >= kTick;
        s.out_of_order += d < s.last;
        s.twice += r->count > 0;
        s.last = d;
        ++r->count;
        ++s.fired;
    };

    TimerWheel wheel(WheelConfig{.tick = kTick});
    std::mt19937_64 rng(20261122);
    std::uniform_int_distribution<int64_t> ns(0, kRange.count());
    for (size_t i = 0; i < kN; ++i) {
        recs[i].stats = &stats;
        recs[i].timer.set_callback(on_fire, &recs[i]);
        wheel.start(recs[i].timer, Instant::from_ns(ns(rng)));
    }
    ASSERT_EQ(wheel.size(), kN);
    ASSERT_TRUE(wheel.check_invariants());

    Instant now{};
    size_t ran = 0;
    while (wheel.size() > 0) {
        now += kTick;
        ran += wheel.advance(now);
        if (now == Instant{} + kRange / 2) {
            ASSERT_TRUE(wheel.check_invariants());
        }
    }
    EXPECT_LE(now, Instant{} + kRange + kTick);
    EXPECT_EQ(ran, kN);
    EXPECT_EQ(stats.fired, kN);
    EXPECT_EQ(stats.early, 0u);
    EXPECT_EQ(stats.late, 0u);
    EXPECT_EQ(stats.out_of_order, 0u);
    EXPECT_EQ(stats.twice, 0u);
    size_t not_once = 0;
    for (size_t i = 0; i < kN; ++i) not_once += recs[i].count != 1;
    EXPECT_EQ(not_once, 0u);
    EXPECT_TRUE(wheel.check_invariants());
}

// The loop comes back after three hours: one advance fires everything, in order, once.
TEST(WheelStress, CatchUpAfterALongGap) {
    WheelHarness h;
    std::mt19937_64 rng(17);
    std::uniform_int_distribution<int64_t> ns(0, Duration(3h).count());
    std::vector<std::tuple<int64_t, int>> want;
    for (int i = 0; i < 100'000; ++i) {
        int64_t d = ns(rng);
        h.start(h.make(), Duration(d));
        want.emplace_back(d, i);
    }
    std::sort(want.begin(), want.end());
    h.advance(1ms);  // the loop ran once, then stalled
    size_t before = h.log.size();
    EXPECT_EQ(h.advance(3h), 100'000u - before);
    ASSERT_EQ(h.log.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(h.log[i].id, std::get<1>(want[i])) << i;
        ASSERT_LE(h.log[i].deadline, h.log[i].at);
    }
    EXPECT_EQ(h.wheel.size(), 0u);
    EXPECT_FALSE(h.wheel.has_pending_due());
}

// The same gap, drained 1000 callbacks per loop turn while time keeps moving and new timers
// keep arriving: nothing lost, nothing twice, order kept.
TEST(WheelStress, CatchUpUnderABudgetWhileTimeMoves) {
    WheelHarness h;
    std::mt19937_64 rng(19);
    std::uniform_int_distribution<int64_t> ns(0, Duration(1h).count());
    for (int i = 0; i < 50'000; ++i) h.start(h.make(), Duration(ns(rng)));
    Duration now = 1h;
    int turns = 0;
    while (h.wheel.size() > 0) {
        h.advance(now, 1000);
        if (turns < 40) h.start(h.make(), now + Duration(ns(rng) / 36'000));  // new, < 100 ms
        now += 100us;
        ++turns;
        ASSERT_LT(turns, 20'000);
    }
    ASSERT_EQ(h.log.size(), h.nodes.size());
    std::vector<int> seen(h.nodes.size());
    for (size_t i = 0; i < h.log.size(); ++i) {
        ASSERT_LE(h.log[i].deadline, h.log[i].at);
        if (i > 0) {
            ASSERT_LE(h.log[i - 1].deadline, h.log[i].deadline);
        }
        ASSERT_EQ(seen[static_cast<size_t>(h.log[i].id)]++, 0);
    }
}

// Random starts, stops, re-arms (also from callbacks) and budgeted advances, checked step by
// step against a reference: each callback must be for the earliest (deadline, start order)
// armed timer that is due; timers started during an advance with a passed deadline wait for
// the next one.
TEST(WheelStress, MatchesAReferenceModel) {
    for (Duration tick : {Duration(1ms), Duration(333us), Duration(10ms)}) {
        using Key = std::tuple<int64_t, uint64_t, int>;  // deadline, start order, id
        constexpr int kTimers = 500;
        WheelHarness h(tick);
        std::set<Key> armed;     // what the model thinks is armed and eligible
        std::set<Key> deferred;  // started inside this advance with a passed deadline
        std::vector<Key> key_of(kTimers);
        uint64_t seq = 0;
        Instant now = h.t0;
        bool in_advance = false;
        std::mt19937_64 rng(static_cast<uint64_t>(tick.count()));
        auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
        auto delay = [&]() {  // log-spread: ns to minutes, some in the past
            int64_t mag = int64_t{1} << pick(38);
            return Duration(static_cast<int64_t>(rng() % static_cast<uint64_t>(mag)) -
                            (pick(8) == 0 ? mag : 0));
        };
        auto forget = [&](int id) {
            armed.erase(key_of[id]);
            deferred.erase(key_of[id]);
        };
        auto do_start = [&](int id, Instant d) {
            forget(id);
            h.wheel.start(h.node(id).timer, d);
            key_of[id] = {d.ns(), ++seq, id};
            (in_advance && d <= now ? deferred : armed).insert(key_of[id]);
        };
        auto do_stop = [&](int id) {
            bool was = armed.count(key_of[id]) + deferred.count(key_of[id]) > 0;
            EXPECT_EQ(h.wheel.stop(h.node(id).timer), was);
            forget(id);
        };
        size_t mismatches = 0;
        for (int i = 0; i < kTimers; ++i) {
            auto& n = h.make();
            n.action = [&, id = i](Instant at) {
                // The model's earliest eligible due timer must be this one.
                if (armed.empty() || std::get<2>(*armed.begin()) != id ||
                    std::get<0>(*armed.begin()) > at.ns())
                    ++mismatches;
                forget(id);
                switch (pick(6)) {
                    case 0: do_stop(pick(kTimers)); break;
                    case 1: do_start(id, now + delay()); break;  // re-arm self, maybe in the past
                    case 2: do_start(pick(kTimers), now + delay()); break;
                    default: break;
                }
            };
        }
        for (int op = 0; op < 60'000; ++op) {
            int r = pick(10);
            if (r < 5) {
                do_start(pick(kTimers), now + delay());
            } else if (r < 7) {
                do_stop(pick(kTimers));
            } else {
                now += Duration(static_cast<int64_t>(rng() % 30'000'000));
                size_t budget =
                    std::array<size_t, 4>{1, 3, 20, SIZE_MAX}[static_cast<size_t>(pick(4))];
                in_advance = true;
                size_t ran = h.wheel.advance(now, budget);
                in_advance = false;
                ASSERT_LE(ran, budget);
                if (ran < budget) {  // finished: nothing due may be left but the deferred
                    ASSERT_TRUE(armed.empty() || std::get<0>(*armed.begin()) > now.ns());
                }
                armed.merge(deferred);
                ASSERT_EQ(h.wheel.size(), armed.size());
                if (op % 97 == 0) {
                    ASSERT_TRUE(h.wheel.check_invariants());
                }
            }
            ASSERT_EQ(mismatches, 0u) << "op " << op << " tick " << tick.count();
        }
        ASSERT_TRUE(h.wheel.check_invariants());
    }
}

}  // namespace
}  // namespace sluice::time::testing
