#pragma once
// The library's implementation types (include/sluice/sluice.hpp), shared with its tests:
// they drive a Stack's workers on a virtual clock instead of run().

#include <sluice/sluice.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>
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
    // Bindings for listeners (kept for the stack's life) on top of one per connection slot
    // (connect() takes one, on_close gives it back): connect() never allocates and never
    // runs out of bindings before it runs out of connection slots.
    static constexpr size_t kListenBindings = 64;

    StackImpl* stack = nullptr;
    engine::Worker* worker = nullptr;
    engine::TcpHost* host = nullptr;
    unsigned index = 0;
    unsigned lcore = 0;
    std::vector<Binding> bindings;        // kListenBindings + max_connections, set up once
    std::vector<uint32_t> free_bindings;  // indices into bindings
    // Per connection slot: generation + 1 of the connection the application was told about
    // and not yet closed (0: none). What shutdown aborts.
    std::vector<uint32_t> open;
    // The connection whose on_close is running: reads (user, status) still work on it.
    engine::ConnId closing{};
    Worker api{nullptr};

    void init(uint32_t max_connections);
    void init_api() noexcept { api = Worker(this); }
    Conn handle(engine::ConnId id) noexcept { return Conn(this, id.slot, id.generation); }
    static engine::ConnId id_of(const Conn& c) noexcept { return {c.slot_, c.generation_}; }
    static WorkerCtx* of(const Conn& c) noexcept { return c.w_; }
    // A fresh binding for (h, passive, opts); nullptr when none is free.
    Binding* bind(const Handlers& h, bool passive, const ConnOptions& opts) noexcept;
    void release(Binding* b) noexcept;
    void track(engine::ConnId id) noexcept { open[id.slot] = id.generation + 1; }
    void untrack(engine::ConnId id) noexcept {
        if (open[id.slot] == id.generation + 1) open[id.slot] = 0;
    }
    // Aborts every connection the application holds (each gets its on_close), then sends
    // the RSTs. On this worker's lcore.
    void abort_all() noexcept;
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
    // Every worker aborts the connections its application holds, on its own lcore (the
    // EAL's worker lcores must be idle: after run() or before it).
    void shutdown();
};

// What Stack::create builds from a Config before touching the EAL: the engine's config and
// the EAL arguments. nullopt with `error` set when the Config is wrong (tests read both).
struct Prepared {
    engine::StackConfig cfg;
    std::vector<std::string> eal;
};
std::optional<Prepared> prepare(const Config& c, std::string& error);

// Tests: run each worker's on_start hook (run() does this on the workers' lcores).
void start_hooks(Stack& s);
// Tests: one loop turn of worker i at a virtual time.
void poll(Stack& s, size_t i, time::Instant now);
engine::Stack& engine_of(Stack& s);

}  // namespace sluice::detail
