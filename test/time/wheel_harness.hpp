#pragma once
// A virtual clock and a log of firings, shared by the wheel tests.

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <functional>
#include <vector>

#include "time/wheel.hpp"

namespace sluice::time::testing {

using namespace std::chrono_literals;

struct Fired {
    int id;
    Instant deadline;
    Instant at;
};

class WheelHarness {
public:
    // A timer with an id; `action` (optional) runs inside its callback, after logging.
    struct Node {
        Node(WheelHarness* h, int i) : timer(&Node::fire, this), harness(h), id(i) {}
        static void fire(Timer& t, Instant now) {
            auto* n = static_cast<Node*>(t.context());
            n->harness->log.push_back({n->id, t.deadline(), now});
            if (n->action) n->action(now);
        }
        Timer timer;
        WheelHarness* harness;
        int id;
        std::function<void(Instant)> action;
    };

    explicit WheelHarness(Duration tick = 1ms, Instant origin = Instant{})
        : wheel(WheelConfig{.tick = tick, .origin = origin}), t0(origin) {}

    Node& make() { return nodes.emplace_back(this, static_cast<int>(nodes.size())); }
    Node& node(int id) { return nodes[static_cast<size_t>(id)]; }

    // Deadlines and times are written as offsets from the origin.
    void start(Node& n, Duration at) { wheel.start(n.timer, t0 + at); }
    size_t advance(Duration at, size_t budget = SIZE_MAX) { return wheel.advance(t0 + at, budget); }

    std::vector<int> ids() const {
        std::vector<int> out;
        for (const auto& f : log) out.push_back(f.id);
        return out;
    }
    std::vector<int> take_ids() {
        auto out = ids();
        log.clear();
        return out;
    }

    TimerWheel wheel;
    Instant t0;
    std::deque<Node> nodes;  // stable addresses
    std::vector<Fired> log;
};

}  // namespace sluice::time::testing
