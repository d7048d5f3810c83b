#pragma once
// What the files of TcpHost share (tcp_host.cpp is the map of them): the slot types, the
// flow-table tag, address conversions and with_conn(). Private to lib/engine.

#include <cstdint>
#include <type_traits>

#include "engine/tcp_host.hpp"

namespace sluice::engine {

// A connection's home: the TCB, its timer nodes and everything the host keeps beside it.
struct TcpHost::Slot {
    std::optional<tcp::Connection> conn;
    std::array<time::Timer, tcp::kTimerKindCount> timers;
    time::Timer app_timer;
    TcpHost* host = nullptr;
    uint32_t index = 0;
    uint32_t generation = 0;
    bool live = false;
    bool in_table = false;
    bool mac_known = false;
    bool app_closed = false;                  // the application has had its Closed event
    bool tw_hold_over = false;  // TIME-WAIT: no longer held for unread text (run_effects)
    tcp::State counted = tcp::State::Closed;  // the state gauge_ counts this slot under
    wire::FlowKey key{};
    uint32_t hash = 0;
    wire::MacAddr peer_mac;
    Listener* listener = nullptr;  // built-in service, or nullptr for an application
    AppHandlers app;
    void* user = nullptr;
    ServiceState svc;
    ConnStats stats;
    wire::SeqNum sent_high;  // end of the sequence space sent so far (retransmit count)
    bool sent_any = false;
    uint8_t app_flags = 0;  // the library's (lib/api)

    ConnId id() const { return {index, generation}; }
};

// TIME-WAIT without a TCB (tcp/time_wait.hpp).
struct TcpHost::TwSlot {
    tcp::TimeWaitEntry tw;
    time::Timer timer;
    wire::FlowKey key{};
    uint32_t hash = 0;
    wire::MacAddr peer_mac;
    TcpHost* host = nullptr;
    TwSlot* older = nullptr;  // creation order: the oldest is recycled when the pool is full
    TwSlot* newer = nullptr;
};

struct TcpHost::Listener {
    ListenerConfig cfg;
    std::optional<tcp::Connection> conn;  // in LISTEN; children are cloned from it
    std::optional<tcp::SynPolicy> policy;
    std::string response_keepalive, response_close;
    bool app_listener = false;  // accepted connections go to `app`, not a built-in service
    AppHandlers app;
    ConnSetup setup;
    std::string response_keepalive10;  // to HTTP/1.0 asking for keep-alive
};

// Flow-table values: a Slot*, or a TwSlot* with the low bit set.
inline constexpr uintptr_t kTwTag = 1;

// DPDK's heap is what runs out: say which knob sizes it.
inline constexpr const char* kMemoryHint =
    " (DPDK memory: raise memory.size_mb, or use hugepages; each worker needs its flow tables, "
    "connection slots and TCP pools)";

inline tcp::Address to_tcp(const wire::IpAddr& a) {
    tcp::Address r;
    r.family = a.family == wire::Family::V4 ? tcp::Family::Ipv4 : tcp::Family::Ipv6;
    r.bytes = a.bytes;
    return r;
}

inline tcp::FourTuple tuple_of(const wire::FlowKey& k) {
    return {{to_tcp(k.local), k.local_port}, {to_tcp(k.remote), k.remote_port}};
}

// Runs `call` on the slot's connection and drains what it produced. A call on the connection
// whose effects are being drained (from its own callback) writes into that sink instead.
template <typename F>
auto TcpHost::with_conn(Slot& s, time::Instant now, F&& call) noexcept {
    if (&s == active_slot_) return call(*s.conn, *active_fx_);  // the running loop drains it
    if (sink_depth_ == kSinkDepth) [[unlikely]] {
        tcp::Effects fx;
        return drain_into(s, now, fx, call);
    }
    // The sinks are reused, not value-initialised per call (tcp/effects.hpp: clear() is O(1)).
    tcp::Effects& fx = sinks_[sink_depth_++];
    fx.clear();
    if constexpr (std::is_void_v<decltype(call(*s.conn, fx))>) {
        drain_into(s, now, fx, call);
        --sink_depth_;
    } else {
        auto r = drain_into(s, now, fx, call);
        --sink_depth_;
        return r;
    }
}

template <typename F>
auto TcpHost::drain_into(Slot& s, time::Instant now, tcp::Effects& fx, F& call) noexcept {
    Slot* const prev_slot = active_slot_;
    tcp::Effects* const prev_fx = active_fx_;
    active_slot_ = &s;
    active_fx_ = &fx;
    using R = decltype(call(*s.conn, fx));
    if constexpr (std::is_void_v<R>) {
        call(*s.conn, fx);
        run_effects(s, now);
        active_slot_ = prev_slot;
        active_fx_ = prev_fx;
    } else {
        R r = call(*s.conn, fx);
        run_effects(s, now);
        active_slot_ = prev_slot;
        active_fx_ = prev_fx;
        return r;
    }
}

}  // namespace sluice::engine
