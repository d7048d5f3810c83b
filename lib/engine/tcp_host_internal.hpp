#pragma once
// TcpHost's slot types, shared by tcp_host.cpp and services.cpp. Private to lib/engine.

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

}  // namespace sluice::engine
