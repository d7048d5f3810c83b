// The public library (include/sluice/sluice.hpp) over the engine: a Stack of workers, each a
// TcpHost whose application callbacks are translated into Handlers calls.
#include <rte_launch.h>
#include <rte_lcore.h>

#include <algorithm>
#include <cstdio>

#include "api/internal.hpp"
#include "dev/eal.hpp"
#include "engine/config.hpp"

namespace sluice {

using detail::StackImpl;
using detail::WorkerCtx;

namespace {

// app_flags bits (one byte per connection, kept by the host).
constexpr uint8_t kAnnounced = 1;  // on_accept / on_connected ran: on_close is owed
constexpr uint8_t kAppClosed = 2;  // the application called close(): only on_close follows

Errc from_tcp(tcp::Error e) noexcept {
    switch (e) {
        case tcp::Error::None: return Errc::Ok;
        case tcp::Error::ConnectionExists: return Errc::InvalidArgument;
        case tcp::Error::ConnectionDoesNotExist: return Errc::NoConnection;
        case tcp::Error::ConnectionClosing: return Errc::Closing;
        case tcp::Error::ForeignSocketUnspecified: return Errc::InvalidArgument;
        case tcp::Error::QuietTime: return Errc::NoMemory;
        case tcp::Error::Reset: return Errc::Reset;
        case tcp::Error::Refused: return Errc::Refused;
        case tcp::Error::TimedOut: return Errc::TimedOut;
        case tcp::Error::Aborted: return Errc::Aborted;
        case tcp::Error::EndOfStream: return Errc::EndOfStream;
    }
    return Errc::Internal;
}

State from_tcp(tcp::State s) noexcept {
    return static_cast<State>(static_cast<uint8_t>(s));  // same order (static_asserts below)
}
static_assert(static_cast<uint8_t>(tcp::State::TimeWait) == static_cast<uint8_t>(State::TimeWait));
static_assert(static_cast<uint8_t>(tcp::State::SynReceived) ==
              static_cast<uint8_t>(State::SynReceived));

IpAddress address_of(const tcp::Address& a) noexcept {
    IpAddress r;
    r.family = a.family == tcp::Family::Ipv6 ? IpAddress::Family::V6 : IpAddress::Family::V4;
    r.bytes = a.bytes;
    return r;
}

wire::IpAddr to_wire(const IpAddress& a) noexcept {
    wire::IpAddr r;
    r.family = a.is_v4() ? wire::Family::V4 : wire::Family::V6;
    r.bytes = a.bytes;
    if (a.is_v4()) std::fill(r.bytes.begin() + 4, r.bytes.end(), uint8_t{0});
    return r;
}

// The checks every Conn call makes first: a handle, the owning lcore, a connection the
// application has not been told is closed. `read`: a call that changes nothing on the
// connection (user, set_user, status), which also works inside the connection's on_close.
WorkerCtx* checked(const Conn& c, Errc& err, bool read = false) noexcept {
    WorkerCtx* w = WorkerCtx::of(c);
    if (w == nullptr) {
        err = Errc::NoConnection;
        return nullptr;
    }
    if (rte_lcore_id() != w->lcore) {
        err = Errc::WrongLcore;
        return nullptr;
    }
    const engine::ConnId id = WorkerCtx::id_of(c);
    if (w->host->app_closed(id) && !(read && w->closing == id)) {
        err = Errc::NoConnection;
        return nullptr;
    }
    err = Errc::Ok;
    return w;
}

}  // namespace

// --- small types ------------------------------------------------------------------------------

std::optional<Ipv4> Ipv4::parse(std::string_view text) noexcept {
    const auto a = wire::IpAddr::parse(text);
    if (!a || a->family != wire::Family::V4) return std::nullopt;
    return Ipv4{a->v4_host()};
}

std::string Ipv4::to_string() const {
    return wire::IpAddr::v4(value).to_string();
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) noexcept {
    const auto a = wire::IpAddr::parse(text);
    if (!a) return std::nullopt;
    IpAddress r;
    r.family = a->is_v4() ? Family::V4 : Family::V6;
    r.bytes = a->bytes;
    return r;
}

std::string IpAddress::to_string() const {
    return to_wire(*this).to_string();
}

std::string_view to_string(State s) noexcept {
    return tcp::state_name(static_cast<tcp::State>(static_cast<uint8_t>(s)));
}

// --- bindings and events ----------------------------------------------------------------------

void WorkerCtx::init(uint32_t max_connections) {
    bindings.resize(kListenBindings + max_connections);
    free_bindings.resize(bindings.size());
    for (size_t i = 0; i < free_bindings.size(); ++i)
        free_bindings[i] = uint32_t(free_bindings.size() - 1 - i);
    open.assign(max_connections, 0);
}

detail::Binding* WorkerCtx::bind(const Handlers& h, bool passive,
                                 const ConnOptions& opts) noexcept {
    // Listeners may not take the bindings that connections need.
    const size_t reserve = passive ? bindings.size() - kListenBindings : 0;
    if (free_bindings.size() <= reserve) return nullptr;
    Binding& b = bindings[free_bindings.back()];
    free_bindings.pop_back();
    b = {.h = h, .passive = passive, .opts = opts, .w = this};
    return &b;
}

void WorkerCtx::release(Binding* b) noexcept {
    free_bindings.push_back(uint32_t(b - bindings.data()));
}

void WorkerCtx::abort_all() noexcept {
    for (uint32_t slot = 0; slot < open.size(); ++slot) {
        if (open[slot] == 0) continue;
        host->abort({slot, open[slot] - 1}, now());  // on_close runs inside
        open[slot] = 0;
    }
    worker->flush();
}

void WorkerCtx::on_event(engine::TcpHost& host, engine::ConnId id, const tcp::Event& e, void* ctx) {
    auto& b = *static_cast<detail::Binding*>(ctx);
    WorkerCtx& w = *b.w;
    const Conn c = w.handle(id);
    const Handlers& h = b.h;
    uint8_t* flags = host.app_flags(id);
    // RFC 9293 3.10.4 CLOSE: after it the application receives nothing; only the end of
    // the connection is reported.
    const bool app_closed = flags != nullptr && (*flags & kAppClosed) != 0;
    switch (e.kind) {
        case tcp::EventKind::Connected:
            if (flags != nullptr) *flags |= kAnnounced;
            w.track(id);
            if (b.passive) {
                StackImpl::apply_options(w, id, b.opts);
                if (h.on_accept != nullptr) h.on_accept(c, h.ctx);
            } else if (h.on_connected != nullptr) {
                h.on_connected(c, h.ctx);
            }
            return;
        case tcp::EventKind::DataReadable:
            if (h.on_data != nullptr && !app_closed) h.on_data(c, h.ctx);
            return;
        case tcp::EventKind::SendSpace:
            if (h.on_sent != nullptr && !app_closed) h.on_sent(c, h.ctx);
            return;
        case tcp::EventKind::PeerClosed:
            if (app_closed) return;
            if (h.on_peer_closed != nullptr)
                h.on_peer_closed(c, h.ctx);
            else if (h.on_data != nullptr)
                h.on_data(c, h.ctx);
            return;
        case tcp::EventKind::Closed: {
            // A passive connection the application never saw is not reported; an active one
            // always is (connect() handed it out).
            const bool announced = flags != nullptr && (*flags & kAnnounced) != 0;
            if (b.passive && !announced) return;
            Errc why = Errc::Ok;
            switch (e.reason) {
                case tcp::CloseReason::Reset: why = Errc::Reset; break;
                case tcp::CloseReason::Refused: why = Errc::Refused; break;
                case tcp::CloseReason::Timeout: why = Errc::TimedOut; break;
                case tcp::CloseReason::Normal:
                case tcp::CloseReason::Aborted: break;  // the application's own doing
            }
            w.untrack(id);
            // Reads on the handle work during on_error and on_close (state can be freed).
            const engine::ConnId outer = w.closing;
            w.closing = id;
            if (why != Errc::Ok && h.on_error != nullptr) h.on_error(c, why, h.ctx);
            if (h.on_close != nullptr) h.on_close(c, h.ctx);
            w.closing = outer;
            if (!b.passive) w.release(&b);  // a listener's binding serves its next connection
            return;
        }
        default: return;
    }
}

Errc StackImpl::check_buffers(const ConnOptions& o) const noexcept {
    for (auto [want, max] : {std::pair{o.send_buffer, send_buffer}, {o.recv_buffer, recv_buffer}}) {
        if (want == 0) continue;
        if (want > max) return Errc::BufferTooLarge;
        if (want < ConnOptions::kMinBuffer) return Errc::InvalidArgument;
    }
    return Errc::Ok;
}

Errc StackImpl::apply_options(WorkerCtx& w, engine::ConnId id, const ConnOptions& o) noexcept {
    const Conn c = w.handle(id);
    Conn mc = c;
    if (o.no_delay) {
        if (Errc e = mc.set_no_delay(*o.no_delay); e != Errc::Ok) return e;
    }
    if (o.keepalive) return mc.set_keepalive(*o.keepalive);
    return Errc::Ok;
}

// --- Conn -------------------------------------------------------------------------------------

IoResult Conn::send(std::span<const std::byte> data) noexcept {
    Errc err;
    WorkerCtx* w = checked(*this, err);
    if (w == nullptr) return {0, err};
    const auto r =
        w->host->send(WorkerCtx::id_of(*this),
                      {reinterpret_cast<const uint8_t*>(data.data()), data.size()}, w->now());
    return {r.bytes, from_tcp(r.error)};
}

IoResult Conn::send(rte_mbuf* chain) noexcept {
    Errc err;
    WorkerCtx* w = checked(*this, err);
    if (w == nullptr) return {0, err};
    if (chain == nullptr) return {0, Errc::InvalidArgument};
    const auto r = w->host->send_mbuf(WorkerCtx::id_of(*this), chain, w->now());
    return {r.bytes, from_tcp(r.error)};
}

rte_mbuf* Conn::receive_mbuf(IoResult& r) noexcept {
    Errc err;
    WorkerCtx* w = checked(*this, err);
    if (w == nullptr) {
        r = {0, err};
        return nullptr;
    }
    tcp::IoResult tr;
    rte_mbuf* m = w->host->receive_mbuf(WorkerCtx::id_of(*this), tr, w->now());
    r = {tr.bytes, from_tcp(tr.error)};
    return m;
}

IoResult Conn::receive(std::span<std::byte> out) noexcept {
    Errc err;
    WorkerCtx* w = checked(*this, err);
    if (w == nullptr) return {0, err};
    const auto r = w->host->receive(WorkerCtx::id_of(*this),
                                    {reinterpret_cast<uint8_t*>(out.data()), out.size()}, w->now());
    return {r.bytes, from_tcp(r.error)};
}

Errc Conn::shutdown_send() noexcept {
    Errc err;
    WorkerCtx* w = checked(*this, err);
    if (w == nullptr) return err;
    return from_tcp(w->host->shutdown_send(WorkerCtx::id_of(*this), w->now()));
}

Errc Conn::close() noexcept {
    Errc err;
    WorkerCtx* w = checked(*this, err);
    if (w == nullptr) return err;
    const engine::ConnId id = WorkerCtx::id_of(*this);
    const tcp::Error e = w->host->close(id, w->now());
    if (e == tcp::Error::None) {
        if (uint8_t* f = w->host->app_flags(id)) *f |= kAppClosed;
    }
    return from_tcp(e);
}

Errc Conn::abort() noexcept {
    Errc err;
    WorkerCtx* w = checked(*this, err);
    if (w == nullptr) return err;
    return from_tcp(w->host->abort(WorkerCtx::id_of(*this), w->now()));
}

Errc Conn::set_no_delay(bool on) noexcept {
    Errc err;
    WorkerCtx* w = checked(*this, err);
    if (w == nullptr) return err;
    return from_tcp(w->host->set_nodelay(WorkerCtx::id_of(*this), on, w->now()));
}

Errc Conn::set_keepalive(const Keepalive& k) noexcept {
    Errc err;
    WorkerCtx* w = checked(*this, err);
    if (w == nullptr) return err;
    if (k.idle.count() < 0 || k.interval.count() < 0) return Errc::InvalidArgument;
    const tcp::Config& base = w->stack->engine->config().tcp.tcp;
    const time::Duration idle = k.idle.count() > 0 ? time::Duration(k.idle) : base.keepalive_idle;
    const time::Duration intvl =
        k.interval.count() > 0 ? time::Duration(k.interval) : base.keepalive_interval;
    const uint8_t probes = k.probes > 0 ? k.probes : base.keepalive_count;
    switch (
        w->host->set_keepalive(WorkerCtx::id_of(*this), k.enabled, idle, intvl, probes, w->now())) {
        case engine::OptionError::None: return Errc::Ok;
        case engine::OptionError::NoConnection: return Errc::NoConnection;
        case engine::OptionError::TooManyProfiles: return Errc::TooManyHandlers;
    }
    return Errc::Internal;
}

Errc Conn::status(ConnStatus& out) const noexcept {
    Errc err;
    WorkerCtx* w = checked(*this, err, true);
    if (w == nullptr) return err;
    const engine::ConnId id = WorkerCtx::id_of(*this);
    const auto st = w->host->status(id);
    const engine::ConnStats* cs = w->host->conn_stats(id);
    if (!st || cs == nullptr) return Errc::NoConnection;
    using std::chrono::duration_cast;
    using us = std::chrono::microseconds;
    out = ConnStatus{
        .state = from_tcp(st->state),
        .local = {address_of(st->tuple.local.addr), st->tuple.local.port},
        .remote = {address_of(st->tuple.remote.addr), st->tuple.remote.port},
        .srtt = duration_cast<us>(st->srtt),
        .rttvar = duration_cast<us>(st->rttvar),
        .rto = duration_cast<us>(st->rto),
        .cwnd = st->cwnd,
        .ssthresh = st->ssthresh,
        .send_mss = st->send_mss,
        .send_window = st->snd_wnd,
        .receive_window = st->rcv_wnd,
        .send_queued = st->send_queued,
        .receive_queued = st->recv_queued,
        .send_buffer = cs->send_buffer,
        .receive_buffer = cs->recv_buffer,
        .bytes_sent = cs->bytes_sent,
        .bytes_received = cs->bytes_received,
        .segments_in = cs->segments_in,
        .segments_out = cs->segments_out,
        .retransmits = cs->retransmits,
        .no_delay = w->host->nodelay(id),
        .keepalive = st->keepalive,
        .peer_closed = st->peer_closed,
    };
    return Errc::Ok;
}

Errc Conn::set_user(void* p) noexcept {
    Errc err;
    WorkerCtx* w = checked(*this, err, true);
    if (w == nullptr) return err;
    w->host->user(WorkerCtx::id_of(*this)) = p;
    return Errc::Ok;
}

void* Conn::user() const noexcept {
    Errc err;
    WorkerCtx* w = checked(*this, err, true);
    if (w == nullptr) return nullptr;
    return w->host->user(WorkerCtx::id_of(*this));
}

unsigned Conn::worker() const noexcept {
    return w_ != nullptr ? w_->index : 0;
}

// --- Worker -----------------------------------------------------------------------------------

unsigned Worker::index() const noexcept {
    return ctx_->index;
}

unsigned Worker::lcore() const noexcept {
    return ctx_->lcore;
}

std::chrono::nanoseconds Worker::now() const noexcept {
    return std::chrono::nanoseconds(ctx_->now().ns());
}

Stack& Worker::stack() noexcept {
    return *ctx_->stack->owner;
}

Errc Worker::connect(IpAddress addr, uint16_t port, const Handlers& h, const ConnOptions& opts,
                     Conn* out) noexcept {
    WorkerCtx& w = *ctx_;
    if (out != nullptr) *out = Conn{};
    if (rte_lcore_id() != w.lcore) return Errc::WrongLcore;
    if (port == 0) return Errc::InvalidArgument;
    if (Errc e = w.stack->check_buffers(opts); e != Errc::Ok) return e;
    detail::Binding* b = w.bind(h, false, {});
    if (b == nullptr) return Errc::TooManyHandlers;
    const engine::AppHandlers app{.on_event = WorkerCtx::on_event, .ctx = b};
    // Which resource ran out shows in the worker's counters (not in the message's wording).
    const Counters& ctr = w.worker->counters();
    const uint64_t ports = ctr.get(Counter::PortsExhausted);
    if (!addr.is_v4() && !w.worker->has_ipv6()) {
        w.release(b);
        return Errc::AddressFamily;
    }
    auto r = w.host->connect(to_wire(addr), port, app,
                             {.send_buffer = opts.send_buffer, .recv_buffer = opts.recv_buffer},
                             w.now());
    if (!r) {
        w.release(b);
        return ctr.get(Counter::PortsExhausted) != ports ? Errc::NoPorts : Errc::NoMemory;
    }
    // The connection exists from here on (connect() never reports it through a callback
    // first: the SYN only left).
    if (uint8_t* f = w.host->app_flags(*r)) *f |= kAnnounced;
    w.track(*r);
    const Conn c = w.handle(*r);
    if (Errc e = StackImpl::apply_options(w, *r, opts); e != Errc::Ok) {
        w.host->abort(*r, w.now());
        return e;
    }
    if (out != nullptr) *out = c;
    return Errc::Ok;
}

// --- Stack ------------------------------------------------------------------------------------

void StackImpl::tick(engine::Worker&, time::Instant, void* ctx) {
    auto& w = *static_cast<WorkerCtx*>(ctx);
    if (w.stack->hooks.on_tick != nullptr) w.stack->hooks.on_tick(w.api, w.stack->hooks.ctx);
}

Stack::Stack(std::unique_ptr<detail::StackImpl> impl) : impl_(std::move(impl)) {
    impl_->owner = this;
}

// Runs on a worker's lcore through rte_eal_remote_launch.
int abort_on_lcore(void* ctx) {
    static_cast<WorkerCtx*>(ctx)->abort_all();
    return 0;
}

void StackImpl::shutdown() {
    std::vector<unsigned> launched;
    for (auto& w : workers) {
        if (w->lcore == rte_lcore_id()) {
            w->abort_all();
        } else if (w->lcore < RTE_MAX_LCORE && rte_eal_get_lcore_state(w->lcore) == WAIT &&
                   rte_eal_remote_launch(abort_on_lcore, w.get(), w->lcore) == 0) {
            launched.push_back(w->lcore);
        } else {
            w->abort_all();  // no lcore to run on: on_close still comes, from this thread
        }
    }
    for (unsigned lc : launched) rte_eal_wait_lcore(lc);
}

Stack::~Stack() {
    if (rte_lcore_id() == rte_get_main_lcore()) impl_->shutdown();
    const bool eal = impl_->eal_owned;
    impl_->workers.clear();
    impl_->engine.reset();
    if (eal) dev::eal_cleanup();
}

namespace {

// Messages from the TOML reader and the override checks name TOML keys and command-line
// options; a Config built in code names its own fields instead. Longer names first.
std::string config_field_names(std::string msg) {
    static constexpr std::pair<std::string_view, std::string_view> kNames[] = {
        {"ip.address6", "Config::address6"},
        {"--address6", "Config::address6"},
        {"ip.address", "Config::address"},
        {"--address", "Config::address"},
        {"ip.gateway", "Config::gateway"},
        {"--gateway", "Config::gateway"},
        {"port.device", "Config::device"},
        {"port.vdev_args", "Config::vdev_args"},
        {"cpu.lcores", "Config::lcores"},
        {"--lcores", "Config::lcores"},
        {"memory.hugepages", "Config::hugepages"},
        {"memory.size_mb", "Config::memory_mb"},
        {"memory.mbufs_per_queue", "Config::mbufs_per_queue"},
        {"tcp.max_connections", "Config::max_connections"},
        {"tcp.send_buffer", "Config::send_buffer"},
        {"tcp.recv_buffer", "Config::recv_buffer"},
    };
    for (const auto& [key, field] : kNames) {
        for (size_t at = msg.find(key); at != std::string::npos; at = msg.find(key, at)) {
            msg.replace(at, key.size(), field);
            at += field.size();
        }
    }
    return msg;
}

}  // namespace

std::optional<detail::Prepared> detail::prepare(const Config& c, std::string& error) {
    const bool from_code = c.file.empty();
    const auto fail = [&](const std::string& msg) {
        error = from_code ? config_field_names(msg) : msg;
        return std::nullopt;
    };
    dev::Result<engine::StackConfig> cfg = dev::Error{};
    if (!from_code) {
        cfg = engine::load_config(c.file);
    } else if (c.address.empty()) {
        return fail("sluice::Config: give a config file or an address (\"198.18.0.2/24\")");
    } else if (c.device.empty()) {
        return fail(
            "sluice::Config: give a device (a vdev such as \"net_af_packet0\" with iface, or a "
            "PCI address): without one the EAL would take whatever NIC the host has bound");
    } else {
        cfg = engine::parse_config("[ip]\naddress = \"" + c.address + "\"\n", "sluice::Config");
    }
    if (!cfg) return fail(cfg.error().message);
    engine::Overrides ov{.address = from_code ? std::string() : c.address,
                         .gateway = c.gateway,
                         .device = c.device,
                         .vdev_args = c.vdev_args,
                         .iface = c.iface,
                         .lcores = c.lcores,
                         .address6 = c.address6};
    if (auto r = engine::apply_overrides(*cfg, ov); !r) return fail(r.error().message);
    if (c.hugepages) cfg->hugepages = *c.hugepages;
    if (c.memory_mb != 0) cfg->memory_mb = c.memory_mb;
    if (c.mbufs_per_queue != 0) cfg->port.mbufs_per_queue = c.mbufs_per_queue;
    auto& tcp = cfg->tcp;
    if (c.max_connections != 0) tcp.max_connections = c.max_connections;
    if (c.send_buffer != 0) tcp.tcp.send_buffer = c.send_buffer;
    if (c.recv_buffer != 0) tcp.tcp.recv_buffer = c.recv_buffer;
    for (uint32_t b : {tcp.tcp.send_buffer, tcp.tcp.recv_buffer}) {
        if (b < ConnOptions::kMinBuffer || b > (1u << 24))
            return fail("sluice::Config: send_buffer and recv_buffer must be between 2048 and "
                        "16777216 bytes");
    }
    if (auto r = engine::validate(*cfg); !r) return fail(r.error().message);
    dev::EalDefaults d = cfg->eal_defaults();
    if (!c.file_prefix.empty()) d.file_prefix = c.file_prefix;
    std::vector<std::string> eal = c.eal_args;
    if (eal.empty()) eal.push_back("sluice");
    return Prepared{std::move(*cfg), dev::merge_eal_args(eal, d)};
}

std::unique_ptr<Stack> Stack::create(const Config& c, std::string& error) {
    auto prepared = detail::prepare(c, error);
    if (!prepared) return nullptr;
    const engine::StackConfig* cfg = &prepared->cfg;

    auto impl = std::make_unique<StackImpl>();
    if (c.init_eal) {
        if (auto r = dev::eal_init(prepared->eal); !r) {
            error = r.error().message;
            return nullptr;
        }
        impl->eal_owned = true;
    }
    auto es = engine::Stack::create(*cfg);
    if (!es) {
        error = es.error().message;
        if (impl->eal_owned) dev::eal_cleanup();
        return nullptr;
    }
    impl->engine = std::move(*es);
    impl->send_buffer = impl->engine->config().tcp.tcp.send_buffer;
    impl->recv_buffer = impl->engine->config().tcp.tcp.recv_buffer;
    // Worker 0 runs on the main lcore, the others on the EAL's worker lcores in order (as
    // engine::Stack::run launches them).
    std::vector<unsigned> lcores{rte_get_main_lcore()};
    unsigned lc = 0;
    RTE_LCORE_FOREACH_WORKER(lc) lcores.push_back(lc);
    for (size_t i = 0; i < impl->engine->worker_count(); ++i) {
        auto w = std::make_unique<WorkerCtx>();
        w->stack = impl.get();
        w->worker = &impl->engine->worker(i);
        w->host = w->worker->tcp();
        w->index = unsigned(i);
        w->lcore = i < lcores.size() ? lcores[i] : LCORE_ID_ANY;
        w->init(impl->engine->config().tcp.max_connections);
        w->init_api();
        w->worker->set_on_tick(StackImpl::tick, w.get());
        impl->workers.push_back(std::move(w));
    }
    return std::unique_ptr<Stack>(new Stack(std::move(impl)));
}

Errc Stack::listen(uint16_t port, const Handlers& h, const ConnOptions& opts) {
    StackImpl& s = *impl_;
    if (rte_lcore_id() != rte_get_main_lcore()) return Errc::WrongLcore;
    if (s.running) return Errc::NotRunning;
    if (port == 0) return Errc::InvalidArgument;
    if (opts.recv_buffer != 0) return Errc::Unsupported;
    if (Errc e = s.check_buffers(opts); e != Errc::Ok) return e;
    for (auto& w : s.workers) {
        detail::Binding* b = w->bind(h, true, opts);
        if (b == nullptr) return Errc::TooManyHandlers;
        const engine::AppHandlers app{.on_event = WorkerCtx::on_event, .ctx = b};
        auto r = w->host->listen(port, app, {.send_buffer = opts.send_buffer}, w->now());
        if (!r) {
            w->release(b);
            return r.error().message.find("already") != std::string::npos ? Errc::AddressInUse
                                                                          : Errc::InvalidArgument;
        }
    }
    return Errc::Ok;
}

Errc Stack::set_hooks(const WorkerHooks& hooks) {
    if (rte_lcore_id() != rte_get_main_lcore()) return Errc::WrongLcore;
    if (impl_->running) return Errc::NotRunning;
    impl_->hooks = hooks;
    return Errc::Ok;
}

Errc Stack::run(const std::atomic<bool>& stop) {
    StackImpl& s = *impl_;
    // Worker 0 runs here and every Conn call checks its lcore: a foreign thread would run a
    // stack whose handles all answer WrongLcore.
    if (rte_lcore_id() != rte_get_main_lcore()) return Errc::WrongLcore;
    if (s.running) return Errc::NotRunning;
    s.running = true;
    for (auto& w : s.workers) {
        WorkerCtx* ctx = w.get();
        w->worker->set_on_start([ctx](engine::Worker&) {
            if (ctx->stack->hooks.on_start != nullptr)
                ctx->stack->hooks.on_start(ctx->api, ctx->stack->hooks.ctx);
        });
    }
    s.engine->run(stop);
    s.shutdown();
    return Errc::Ok;
}

size_t Stack::worker_count() const noexcept {
    return impl_->workers.size();
}

Worker& Stack::worker(size_t i) noexcept {
    return impl_->workers[i]->api;
}

uint64_t Stack::counter(Counter c) const noexcept {
    uint64_t n = 0;
    for (size_t i = 0; i < impl_->engine->worker_count(); ++i)
        n += impl_->engine->counters(i).get(c);
    return n;
}

std::string Stack::describe() const {
    const auto& cfg = impl_->engine->config();
    const auto& p = impl_->engine->port();
    return cfg.net.address.to_string() +
           (cfg.net.address6 ? " and " + cfg.net.address6->to_string() : "") + " on " +
           p.name + " (" + p.driver + "), " + std::to_string(impl_->workers.size()) + " worker(s)";
}

// --- test hooks -------------------------------------------------------------------------------

namespace detail {

void start_hooks(Stack& s) {
    StackImpl& impl = StackImpl::of(s);
    for (auto& w : impl.workers)
        if (impl.hooks.on_start != nullptr) impl.hooks.on_start(w->api, impl.hooks.ctx);
}

void poll(Stack& s, size_t i, time::Instant now) {
    StackImpl::of(s).workers[i]->worker->poll(now);
}

engine::Stack& engine_of(Stack& s) {
    return *StackImpl::of(s).engine;
}

}  // namespace detail

}  // namespace sluice
