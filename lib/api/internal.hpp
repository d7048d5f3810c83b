#pragma once
// The library's implementation types (include/sluice/sluice.hpp), shared with its tests:
// they drive a Stack's workers on a virtual clock instead of run().

#include <sluice/sluice.hpp>

#include <array>
#include <memory>
#include <vector>

#include "engine/stack.hpp"
#include "engine/tcp_host.hpp"
#include "engine/worker.hpp"

namespace sluice::detail {

// What an engine connection's AppHandlers::ctx points at: the application's Handlers, how
// the connection came to be, and the options a listener gives each accepted connection.
struct Binding {
    Handlers h;
    bool passive = false;
    ConnOptions opts;  // listeners: applied before on_accept
    WorkerCtx* w = nullptr;
};

struct WorkerCtx {
    // Distinct Handlers per worker: bounded so that connect() never allocates.
    static constexpr size_t kMaxBindings = 32;

    StackImpl* stack = nullptr;
    engine::Worker* worker = nullptr;
    engine::TcpHost* host = nullptr;
    unsigned index = 0;
    unsigned lcore = 0;
    std::array<Binding, kMaxBindings> bindings{};
    size_t binding_count = 0;
    Worker api{nullptr};

    void init_api() noexcept { api = Worker(this); }
    Conn handle(engine::ConnId id) noexcept { return Conn(this, id.slot, id.generation); }
    static engine::ConnId id_of(const Conn& c) noexcept { return {c.slot_, c.generation_}; }
    static WorkerCtx* of(const Conn& c) noexcept { return c.w_; }
    // A binding equal to (h, passive), added if new; nullptr when full.
    Binding* bind(const Handlers& h, bool passive, const ConnOptions& opts) noexcept;
    time::Instant now() const noexcept { return worker->loop_time(); }
    static void on_event(engine::TcpHost& host, engine::ConnId id, const tcp::Event& e, void* ctx);
};

struct StackImpl {
    std::unique_ptr<engine::Stack> engine;
    std::vector<std::unique_ptr<WorkerCtx>> workers;
    WorkerHooks hooks;
    bool eal_owned = false;
    bool running = false;
    uint32_t send_buffer = 0, recv_buffer = 0;  // configured per-connection sizes
    Stack* owner = nullptr;

    static StackImpl& of(Stack& s) { return *s.impl_; }
    static void tick(engine::Worker& w, time::Instant now, void* ctx);
    // Checks ConnOptions' buffer sizes against the configuration.
    Errc check_buffers(const ConnOptions& o) const noexcept;
    static Errc apply_options(WorkerCtx& w, engine::ConnId id, const ConnOptions& o) noexcept;
};

// Tests: run each worker's on_start hook (run() does this on the workers' lcores).
void start_hooks(Stack& s);
// Tests: one loop turn of worker i at a virtual time.
void poll(Stack& s, size_t i, time::Instant now);
engine::Stack& engine_of(Stack& s);

}  // namespace sluice::detail
