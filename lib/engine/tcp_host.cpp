#include "engine/tcp_host.hpp"

#include <sodium.h>

#include <rte_mbuf.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cstring>

#include "engine/tcp_host_internal.hpp"
#include "engine/worker.hpp"
#include "wire/build.hpp"

namespace sluice::engine {

namespace {

// Flow-table values: a Slot*, or a TwSlot* with the low bit set.
constexpr uintptr_t kTwTag = 1;

tcp::Address to_tcp(const wire::IpAddr& a) {
    tcp::Address r;
    r.family = a.family == wire::Family::V4 ? tcp::Family::Ipv4 : tcp::Family::Ipv6;
    r.bytes = a.bytes;
    return r;
}

wire::IpAddr to_wire(const tcp::Address& a) {
    wire::IpAddr r;
    r.family = a.family == tcp::Family::Ipv6 ? wire::Family::V6 : wire::Family::V4;
    r.bytes = a.bytes;
    return r;
}

tcp::FourTuple tuple_of(const wire::FlowKey& k) {
    return {{to_tcp(k.local), k.local_port}, {to_tcp(k.remote), k.remote_port}};
}

std::string http_response(const ListenerConfig& l, bool close) {
    std::string body = l.body_bytes > 0 ? std::string(l.body_bytes, 'x') : l.http_body;
    if (l.body_bytes > 0) {
        for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
    }
    std::string r = "HTTP/1.1 200 OK\r\nServer: sluice\r\nContent-Type: text/plain\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (close) r += "Connection: close\r\n";
    return r + "\r\n" + body;
}

}  // namespace

// Runs `call` on the slot's connection and drains what it produced. A call on the connection
// whose effects are being drained (from its own callback) writes into that sink instead.
template <typename F>
auto TcpHost::with_conn(Slot& s, time::Instant now, F&& call) noexcept {
    if (&s == active_slot_) return call(*s.conn, *active_fx_);  // the running loop drains it
    tcp::Effects fx;
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

dev::Result<std::unique_ptr<TcpHost>> TcpHost::create(const TcpHostConfig& cfg, Worker& worker,
                                                      const wire::IpAddr& local,
                                                      time::Instant now) {
    if (cfg.max_connections == 0) return dev::Error{"tcp.max_connections must be at least 1"};
    std::unique_ptr<TcpHost> h(new TcpHost(cfg, worker, local, now));
    const uint32_t flows = cfg.flow_table_entries != 0 ? cfg.flow_table_entries
                                                       : cfg.max_connections + cfg.max_time_wait;
    // rte_hash names are process-wide: two hosts on queue 0 (two stacks in one process, as
    // test/lossy runs them) need distinct ones.
    static std::atomic<uint32_t> instance{0};
    auto table = flow::FlowTable::create("sluice_flows_q" + std::to_string(worker.queue()) + "_" +
                                             std::to_string(instance.fetch_add(1)),
                                         flows, 0);
    if (!table) return table.error();
    h->flows_.emplace(std::move(*table));
    if (cfg.cookie_key_file.empty()) {
        h->secrets_.emplace(tcp::CookieSecrets::random());
    } else {
        // Hosts sharing the key file agree on the cookie period through the wall clock.
        const auto wall = std::chrono::duration_cast<time::Duration>(
            std::chrono::system_clock::now().time_since_epoch());
        std::string err;
        auto s = tcp::CookieSecrets::load(cfg.cookie_key_file, err,
                                          {.wall_offset = wall - time::Duration(now.ns())});
        if (!s) return dev::Error{"tcp.cookie_key_file: " + err};
        h->secrets_.emplace(std::move(*s));
    }
    h->syn_cache_ = std::make_unique<tcp::SynCache>(
        tcp::SynCacheConfig{.capacity = std::max<uint32_t>(cfg.syn_cache_entries, 1)}, h->cfg_.tcp,
        h->wheel_);
    h->syn_cache_->set_sink(on_cache_syn_ack, h.get());
    for (const ListenerConfig& lc : cfg.listeners) {
        auto l = std::make_unique<Listener>();
        l->cfg = lc;
        l->conn.emplace(h->cfg_.tcp, tcp::Buffers{}, &h->stats_);
        const tcp::FourTuple t{{to_tcp(local), lc.port}, {}};
        if (l->conn->open_passive(t, h->isn_) != tcp::Error::None) {
            return dev::Error{"cannot listen on port " + std::to_string(lc.port)};
        }
        if (lc.keepalive) {
            tcp::Effects fx;
            l->conn->set_keepalive(true, now, fx);
        }
        l->policy.emplace(lc.syn, h->secrets_->lifetime());
        l->response_keepalive = http_response(lc, false);
        l->response_close = http_response(lc, true);
        h->listeners_.push_back(std::move(l));
    }
    return h;
}

TcpHost::TcpHost(const TcpHostConfig& cfg, Worker& worker, const wire::IpAddr& local,
                 time::Instant now)
    : cfg_(cfg),
      worker_(worker),
      local_(local),
      isn_(now, cfg.tcp.quiet_time),
      wheel_(time::WheelConfig{.tick = std::chrono::milliseconds(1), .origin = now}),
      slots_(std::make_unique<Slot[]>(cfg.max_connections)),
      tw_pool_(std::max<uint32_t>(cfg.max_time_wait, 1)),
      ports_(cfg.ephemeral_low, cfg.ephemeral_high, worker.port_.rss, worker.queue()),
      next_publish_(now) {
    const size_t per = size_t(cfg_.tcp.send_buffer) + cfg_.tcp.recv_buffer;
    buffer_memory_ = std::make_unique_for_overwrite<uint8_t[]>(per * cfg_.max_connections);
    free_slots_.reserve(cfg_.max_connections);
    for (uint32_t i = 0; i < cfg_.max_connections; ++i) {
        Slot& s = slots_[i];
        s.host = this;
        s.index = i;
        for (auto& t : s.timers) t.set_callback(on_conn_timer, &s);
        s.app_timer.set_callback(on_conn_timer, &s);
        uint8_t* base = buffer_memory_.get() + per * i;
        s.send_buf = {base, cfg_.tcp.send_buffer};
        s.recv_buf = {base + cfg_.tcp.send_buffer, cfg_.tcp.recv_buffer};
        free_slots_.push_back(cfg_.max_connections - 1 - i);
    }
    uint64_t seed = 0;
    randombytes_buf(&seed, sizeof seed);  // the challenge-ACK budget must not be guessable
    stats_.challenge_limiter.configure(cfg_.tcp.challenge_ack_limit, seed);
}

TcpHost::~TcpHost() = default;

// --- slots --------------------------------------------------------------------------------

TcpHost::Slot* TcpHost::alloc_slot() noexcept {
    if (free_slots_.empty()) [[unlikely]]
        return nullptr;
    Slot& s = slots_[free_slots_.back()];
    free_slots_.pop_back();
    ++used_;
    s.live = true;
    s.in_table = false;
    s.mac_known = false;
    s.app_closed = false;
    s.counted = tcp::State::Closed;
    s.listener = nullptr;
    s.app = {};
    s.user = nullptr;
    s.svc = {};
    s.conn.emplace(cfg_.tcp, tcp::Buffers{s.send_buf, s.recv_buf}, &stats_);
    return &s;
}

void TcpHost::free_slot(Slot& s) noexcept {
    if (!s.live) return;
    if (s.counted != tcp::State::Closed) --gauge_[static_cast<size_t>(s.counted)];
    for (auto& t : s.timers) wheel_.stop(t);
    wheel_.stop(s.app_timer);
    if (s.in_table) flows_->erase(s.key, s.hash);
    s.conn.reset();
    s.live = false;
    ++s.generation;  // old ConnIds go stale
    free_slots_.push_back(s.index);
    --used_;
}

TcpHost::Slot* TcpHost::slot_of(ConnId id) const noexcept {
    if (id.slot >= cfg_.max_connections) return nullptr;
    Slot& s = slots_[id.slot];
    return s.live && s.generation == id.generation ? &s : nullptr;
}

TcpHost::Listener* TcpHost::listener_for(uint16_t port) noexcept {
    for (auto& l : listeners_) {
        if (l->cfg.port == port) return l.get();
    }
    return nullptr;
}

void TcpHost::note_state(Slot& s) noexcept {
    const tcp::State now_in = s.conn->state();
    if (now_in == s.counted) return;
    if (s.counted != tcp::State::Closed) --gauge_[static_cast<size_t>(s.counted)];
    if (now_in != tcp::State::Closed) ++gauge_[static_cast<size_t>(now_in)];
    s.counted = now_in;
}

// --- segment arrival ------------------------------------------------------------------------

bool TcpHost::on_segment(const wire::Frame& f, const wire::TcpSegmentView& v,
                         std::span<const uint8_t> frame, time::Instant now) noexcept {
    wire::FlowKey key{};
    key.local = f.dst;
    key.remote = f.src;
    key.local_port = v.dst_port;
    key.remote_port = v.src_port;
    const uint32_t hash = flows_->hash(key);
    const tcp::Segment seg{
        .src_port = v.src_port,
        .dst_port = v.dst_port,
        .seq = v.seq,
        .ack = v.ack,
        .flags = tcp::Flags{v.flags},
        .window = v.window,
        .options = v.options,
        .payload = frame.subspan(v.payload_off, v.payload_len),
    };

    if (void* val = flows_->lookup(key, hash)) {
        const auto bits = reinterpret_cast<uintptr_t>(val);
        if (bits & kTwTag) {
            on_time_wait_segment(*reinterpret_cast<TwSlot*>(bits & ~kTwTag), f, seg, now);
            return true;
        }
        Slot& s = *static_cast<Slot*>(val);
        s.peer_mac = f.src_mac;
        s.mac_known = true;
        with_conn(s, now,
                  [&](tcp::Connection& c, tcp::Effects& fx) { c.on_segment(seg, now, fx); });
        return true;
    }

    Listener* l = listener_for(v.dst_port);
    if (l == nullptr) return false;
    // RFC 9293 3.10.7.2 (LISTEN), with half-open connections kept statelessly (issue 6): a
    // non-SYN segment may complete (or reset) a SYN-cache entry or carry a cookie; a RST
    // without either is ignored, an ACK without either draws a RST (the caller sends it as
    // CLOSED would), a SYN starts a handshake, anything else is dropped.
    if (seg.flags.has(tcp::Flags::Ack) || seg.flags.has(tcp::Flags::Rst)) {
        return on_listen_ack(*l, key, hash, f, seg, now);
    }
    if (!seg.flags.has(tcp::Flags::Syn)) {
        worker_.counters_.add(Counter::ListenDrops);
        return true;
    }
    if (seg.flags.has(tcp::Flags::Fin)) {
        // SYN+FIN opens nothing a real client wants (a scanner's probe); Linux drops it in
        // LISTEN too rather than queue the FIN as RFC 9293 3.10.7.2 would allow.
        worker_.counters_.add(Counter::DropTcpSynFin);
        worker_.counters_.add(Counter::ListenDrops);
        return true;
    }
    on_listen_syn(*l, key, hash, f, seg, now);
    return true;
}

void TcpHost::on_listen_syn(Listener& l, const wire::FlowKey& key, uint32_t hash,
                            const wire::Frame& f, const tcp::Segment& seg,
                            time::Instant now) noexcept {
    const tcp::FourTuple t = tuple_of(key);
    switch (l.policy->on_syn(now, syn_cache_->size(), syn_cache_->capacity())) {
        case tcp::SynAction::Backlog: accept_syn(l, key, hash, f, seg, now, std::nullopt); return;
        case tcp::SynAction::Cache: {
            tcp::OutSegment syn_ack;
            bool evicted = false;
            if (syn_cache_->insert(t, seg, isn_.isn(t, now), f.src_mac.b, now, syn_ack, &evicted) !=
                nullptr) {
                emit(syn_ack, f.src_mac, f.src);
                if (evicted) l.policy->note_cache_full(now);
                return;
            }
            l.policy->note_cache_full(now);  // full: this SYN gets a cookie
            break;
        }
        case tcp::SynAction::Cookie: break;
    }
    // No state at all: the SYN-ACK's ISS is the cookie (tcp/syncookie.hpp).
    emit(tcp::make_syn_ack(cfg_.tcp, *secrets_, t, seg, now), f.src_mac, f.src);
    worker_.counters_.add(Counter::SyncookiesSent);
}

bool TcpHost::on_listen_ack(Listener& l, const wire::FlowKey& key, uint32_t hash,
                            const wire::Frame& f, const tcp::Segment& seg,
                            time::Instant now) noexcept {
    const tcp::FourTuple t = tuple_of(key);
    if (tcp::SynCacheEntry* e = syn_cache_->find(t)) {
        tcp::PassiveAccept acc;
        tcp::OutSegment reply;
        switch (syn_cache_->on_segment(*e, seg, now, acc, reply)) {
            case tcp::SynCacheVerdict::Established:
                establish_accepted(l, key, hash, f.src_mac, acc, seg, now);
                break;
            case tcp::SynCacheVerdict::Reset: emit(reply, f.src_mac, f.src); break;
            case tcp::SynCacheVerdict::Aborted:
            case tcp::SynCacheVerdict::Drop: break;
        }
        return true;
    }
    if (seg.flags.has(tcp::Flags::Rst)) {
        worker_.counters_.add(Counter::TcpInRstNoConn);
        return true;
    }
    if (!l.policy->cookies_accepted(now)) return false;
    tcp::CookieReject why = tcp::CookieReject::None;
    if (auto acc = tcp::check_ack(cfg_.tcp, *secrets_, t, seg, now, &why)) {
        worker_.counters_.add(Counter::SyncookiesRecv);
        establish_accepted(l, key, hash, f.src_mac, *acc, seg, now);
        return true;
    }
    worker_.counters_.add(Counter::SyncookiesFailed);
    worker_.counters_.add(Counter::ListenDrops);
    return !l.cfg.syn.rst_on_bad_cookie;
}

// A handshake completed without a TCB (SYN cache or cookie): the connection starts out
// ESTABLISHED, and the ACK that completed it is processed so data on it is kept.
void TcpHost::establish_accepted(Listener& l, const wire::FlowKey& key, uint32_t hash,
                                 const wire::MacAddr& mac, const tcp::PassiveAccept& acc,
                                 const tcp::Segment& seg, time::Instant now) noexcept {
    Slot* s = alloc_slot();
    if (s == nullptr) {
        worker_.counters_.add(Counter::TcpConnPoolExhausted);
        worker_.counters_.add(Counter::ListenDrops);
        return;
    }
    s->key = key;
    s->hash = hash;
    s->peer_mac = mac;
    s->mac_known = true;
    s->listener = &l;
    if (!flows_->insert(key, hash, s)) {
        worker_.counters_.add(Counter::FlowTableFull);
        worker_.counters_.add(Counter::ListenDrops);
        free_slot(*s);
        return;
    }
    s->in_table = true;
    s->conn->establish_directly(tcp::handshake_params(acc), now);
    ++stats_.passive_opens;
    note_state(*s);
    with_conn(*s, now, [&](tcp::Connection& c, tcp::Effects& fx) {
        if (l.cfg.keepalive) c.set_keepalive(true, now, fx);
        fx.push_event({tcp::EventKind::Connected, tcp::CloseReason::Normal, {}});
        c.on_segment(seg, now, fx);
    });
}

void TcpHost::on_cache_syn_ack(void* ctx, const tcp::SynCacheEntry& e,
                               const tcp::OutSegment& syn_ack, time::Instant) {
    auto& h = *static_cast<TcpHost*>(ctx);
    h.emit(syn_ack, wire::MacAddr{e.peer_mac}, to_wire(e.tuple.remote.addr));
}

bool TcpHost::accept_syn(Listener& l, const wire::FlowKey& key, uint32_t hash, const wire::Frame& f,
                         const tcp::Segment& seg, time::Instant now,
                         std::optional<wire::SeqNum> iss) noexcept {
    if (gauge_[static_cast<size_t>(tcp::State::SynReceived)] >= cfg_.syn_backlog) {
        worker_.counters_.add(Counter::ListenOverflows);
        worker_.counters_.add(Counter::ListenDrops);
        return false;
    }
    Slot* s = alloc_slot();
    if (s == nullptr) {
        worker_.counters_.add(Counter::TcpConnPoolExhausted);
        worker_.counters_.add(Counter::ListenDrops);
        return false;
    }
    s->key = key;
    s->hash = hash;
    s->peer_mac = f.src_mac;
    s->mac_known = true;
    s->listener = &l;
    if (!flows_->insert(key, hash, s)) {
        worker_.counters_.add(Counter::FlowTableFull);
        worker_.counters_.add(Counter::ListenDrops);
        free_slot(*s);
        return false;
    }
    s->in_table = true;
    const tcp::FourTuple t = tuple_of(key);
    const tcp::Error e = iss ? s->conn->open_passive(t, *iss) : s->conn->clone_listener(*l.conn, t);
    if (e != tcp::Error::None) {
        free_slot(*s);
        return false;
    }
    if (iss && l.cfg.keepalive) {
        tcp::Effects fx;
        s->conn->set_keepalive(true, now, fx);
    }
    note_state(*s);
    with_conn(*s, now, [&](tcp::Connection& c, tcp::Effects& fx) { c.on_segment(seg, now, fx); });
    return true;
}

void TcpHost::on_time_wait_segment(TwSlot& tw, const wire::Frame& f, const tcp::Segment& seg,
                                   time::Instant now) noexcept {
    tcp::OutSegment reply;
    const tcp::TimeWaitResult r = tcp::time_wait_on_segment(tw.tw, seg, now, cfg_.tcp, reply);
    if (r.restarted) wheel_.start(tw.timer, tw.tw.deadline);
    switch (r.action) {
        case tcp::TimeWaitAction::Drop: return;
        case tcp::TimeWaitAction::Ack:
            if (!r.challenge || tcp::take_challenge_ack(stats_, now)) emit(reply, f.src_mac, f.src);
            return;
        case tcp::TimeWaitAction::Close: free_time_wait(tw); return;
        case tcp::TimeWaitAction::Reopen: {
            // RFC 6191 / RFC 1122 4.2.2.13: the old incarnation ends, the SYN opens a new one
            // with an ISS above the old connection's sequence space.
            const wire::FlowKey key = tw.key;
            const uint32_t hash = tw.hash;
            free_time_wait(tw);
            Listener* l = listener_for(key.local_port);
            if (l == nullptr) return;
            const wire::SeqNum iss = tcp::reopen_iss(isn_.isn(tuple_of(key), now), r.iss_after);
            worker_.counters_.add(Counter::TimeWaitReopens);
            accept_syn(*l, key, hash, f, seg, now, iss);
            return;
        }
    }
}

void TcpHost::to_time_wait(Slot& s) noexcept {
    TwSlot* tw = tw_pool_.alloc();
    if (tw == nullptr) {
        // No room for the compact entry: keep the full TCB in TIME-WAIT instead. Correct,
        // just heavier; counted so an operator can size max_time_wait.
        worker_.counters_.add(Counter::TimeWaitPoolExhausted);
        return;
    }
    tw->tw = s.conn->time_wait_entry();
    tw->key = s.key;
    tw->hash = s.hash;
    tw->peer_mac = s.peer_mac;
    tw->host = this;
    tw->timer.set_callback(on_tw_timer, tw);
    wheel_.start(tw->timer, tw->tw.deadline);
    // Swap the table's value in place of erase + insert.
    s.in_table = false;
    flows_->erase(s.key, s.hash);
    flows_->insert(tw->key, tw->hash,
                   reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(tw) | kTwTag));
    ++gauge_[static_cast<size_t>(tcp::State::TimeWait)];  // the entry keeps the count
    free_slot(s);
}

void TcpHost::free_time_wait(TwSlot& tw) noexcept {
    wheel_.stop(tw.timer);
    flows_->erase(tw.key, tw.hash);
    --gauge_[static_cast<size_t>(tcp::State::TimeWait)];
    tw_pool_.free(&tw);
}

// --- effects --------------------------------------------------------------------------------

void TcpHost::run_effects(Slot& s, time::Instant now) noexcept {
    tcp::Effects& fx = *active_fx_;
    // Each round first lets the application react to the events (its calls write into the
    // same sink, so a pending pure ACK merges into its reply, tcp/effects.hpp), then sends
    // and arms what accumulated. Callbacks that keep producing are bounded by the buffers,
    // the rounds by this limit.
    for (int round = 0; round < 16 && s.live; ++round) {
        std::array<tcp::Event, tcp::Effects::kMaxEvents> events;
        const size_t n = fx.event_count;
        std::copy_n(fx.events.begin(), n, events.begin());
        fx.event_count = 0;

        bool release = false, time_wait = false;
        for (size_t i = 0; i < n; ++i) {
            tcp::Event e = events[i];
            if (e.kind == tcp::EventKind::TimeWait) {
                // For the application the connection is over once it is in TIME-WAIT: the
                // 2 x MSL that follows is the host's business (and a compact entry's).
                time_wait = true;
                e = {tcp::EventKind::Closed, tcp::CloseReason::Normal, {}};
            }
            if (e.kind == tcp::EventKind::Closed) {
                if (s.app_closed) continue;
                s.app_closed = true;
            }
            switch (e.kind) {
                case tcp::EventKind::Release:
                case tcp::EventKind::ReturnedToListen: release = true; break;
                case tcp::EventKind::Reopen: break;  // only from a TCB kept in TIME-WAIT
                default:
                    if (s.listener != nullptr) {
                        service_event(s, e, now);
                    } else if (s.app.on_event != nullptr) {
                        s.app.on_event(*this, s.id(), e, s.app.ctx);
                    }
                    break;
            }
        }

        const wire::IpAddr remote = s.key.remote;
        for (const tcp::OutSegment& o : fx.sent()) {
            if (s.mac_known) {
                emit(o, s.peer_mac, remote);
            } else if (!worker_.resolve(remote, now, s.peer_mac)) {
                worker_.counters_.add(Counter::NeighUnresolved);  // the RTO retries
            } else {
                s.mac_known = true;
                emit(o, s.peer_mac, remote);
            }
        }
        apply_timers(s);
        note_state(s);
        const bool more = fx.more_output;
        fx.segment_count = 0;  // events raised by the callbacks stay for the next round
        fx.timers = {};
        fx.more_output = false;

        if (release) {
            free_slot(s);
            return;
        }
        if (time_wait && s.conn->state() == tcp::State::TimeWait) {
            to_time_wait(s);
            if (!s.live) return;
        }
        if (more) s.conn->poll_output(now, fx);
        if (fx.segment_count == 0 && fx.event_count == 0 && !fx.more_output &&
            std::all_of(fx.timers.begin(), fx.timers.end(),
                        [](const tcp::TimerOp& t) { return t.action == tcp::TimerAction::None; })) {
            break;
        }
    }
}

void TcpHost::apply_timers(Slot& s) noexcept {
    tcp::Effects& fx = *active_fx_;
    for (size_t k = 0; k < tcp::kTimerKindCount; ++k) {
        const tcp::TimerOp& op = fx.timers[k];
        if (op.action == tcp::TimerAction::Arm)
            wheel_.start(s.timers[k], op.at);
        else if (op.action == tcp::TimerAction::Cancel)
            wheel_.stop(s.timers[k]);
    }
}

void TcpHost::emit(const tcp::OutSegment& o, const wire::MacAddr& dst_mac,
                   const wire::IpAddr& dst) noexcept {
    rte_mbuf* m = rte_pktmbuf_alloc(worker_.pool_);
    if (m == nullptr) [[unlikely]] {
        worker_.counters_.add(Counter::DropMbufExhausted);
        return;  // the retransmission timer covers it
    }
    const std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*),
                                 static_cast<size_t>(rte_pktmbuf_tailroom(m))};
    const wire::L3Header l3{.src_mac = worker_.mac_,
                            .dst_mac = dst_mac,
                            .src = local_,
                            .dst = dst,
                            .ttl = worker_.net_.ttl};
    const wire::TcpHeaderSpec spec{.src_port = o.src_port,
                                   .dst_port = o.dst_port,
                                   .seq = o.seq,
                                   .ack = o.ack,
                                   .flags = o.flags.bits,
                                   .window = o.window,
                                   .options = o.options};
    const size_t len = wire::build_tcp(buf, l3, spec, o.payload, worker_.tx_csum_);
    worker_.counters_.add(Counter::TcpOutSegs);
    if (o.flags.has(tcp::Flags::Rst)) worker_.counters_.add(Counter::TcpOutRsts);
    worker_.transmit(m, len, worker_.tx_csum_ == wire::CsumMode::Offload);
}

// --- timers ---------------------------------------------------------------------------------

void TcpHost::on_conn_timer(time::Timer& t, time::Instant now) {
    Slot& s = *static_cast<Slot*>(t.context());
    TcpHost& h = *s.host;
    if (&t == &s.app_timer) {
        if (s.listener != nullptr) {
            h.service_timer(s, now);
        } else if (s.app.on_timer != nullptr) {
            s.app.on_timer(h, s.id(), s.app.ctx);
        }
        return;
    }
    const auto kind = static_cast<tcp::TimerKind>(&t - s.timers.data());
    h.with_conn(s, now, [&](tcp::Connection& c, tcp::Effects& fx) { c.on_timer(kind, now, fx); });
}

void TcpHost::on_tw_timer(time::Timer& t, time::Instant) {
    auto& tw = *static_cast<TwSlot*>(t.context());
    tw.host->worker_.counters_.add(Counter::TimeWaitExpired);
    tw.host->free_time_wait(tw);
}

void TcpHost::on_tick(time::Instant now) noexcept {
    secrets_->rotate_if_due(now);
    wheel_.advance(now, kTimerBudget);
    if (now >= next_publish_) {
        publish_counters();
        next_publish_ = now + kPublishInterval;
    }
    if (snapshot_.wanted()) [[unlikely]]
        fill_snapshot();
}

void TcpHost::fill_snapshot() noexcept {
    snapshot_.begin();
    for (const auto& l : listeners_)
        snapshot_.add({.local = local_, .local_port = l->cfg.port, .state = tcp::State::Listen});
    flows_->for_each([&](const wire::FlowKey& k, void* v) {
        ConnRow r{.local = k.local,
                  .remote = k.remote,
                  .local_port = k.local_port,
                  .remote_port = k.remote_port};
        const auto bits = reinterpret_cast<uintptr_t>(v);
        if (bits & kTwTag) {
            r.state = tcp::State::TimeWait;
        } else {
            const tcp::ConnectionStatus st = static_cast<Slot*>(v)->conn->status();
            r.state = st.state;
            r.send_queued = uint32_t(st.send_queued);
            r.recv_queued = uint32_t(st.recv_queued);
            r.srtt_us = uint32_t(std::chrono::duration_cast<std::chrono::microseconds>(st.srtt).count());
            r.cwnd = st.cwnd;
        }
        snapshot_.add(r);
    });
    snapshot_.publish();
}

void TcpHost::publish_counters() noexcept {
    Counters& c = worker_.counters_;
    c.set(Counter::ActiveOpens, stats_.active_opens);
    c.set(Counter::PassiveOpens, stats_.passive_opens);
    c.set(Counter::AttemptFails, stats_.attempt_fails);
    c.set(Counter::EstabResets, stats_.estab_resets);
    c.set(Counter::RetransSegs, stats_.retrans_segs);
    c.set(Counter::TCPChallengeACK, stats_.challenge_acks);
    c.set(Counter::TCPACKSkippedChallenge, stats_.challenge_acks_skipped);
    c.set(Counter::TCPTimeouts, stats_.timeouts);
    c.set(Counter::TCPKeepAliveProbes, stats_.keepalive_probes);
    c.set(Counter::PAWSEstabRejected, stats_.paws_rejected);
    using S = tcp::State;
    auto g = [&](S s) { return gauge_[static_cast<size_t>(s)]; };
    c.set(Counter::CurrEstab, g(S::Established) + g(S::CloseWait));  // as Linux's CurrEstab
    c.set(Counter::StateSynSent, g(S::SynSent));
    c.set(Counter::StateSynReceived, g(S::SynReceived));
    c.set(Counter::StateEstablished, g(S::Established));
    c.set(Counter::StateFinWait1, g(S::FinWait1));
    c.set(Counter::StateFinWait2, g(S::FinWait2));
    c.set(Counter::StateCloseWait, g(S::CloseWait));
    c.set(Counter::StateClosing, g(S::Closing));
    c.set(Counter::StateLastAck, g(S::LastAck));
    c.set(Counter::StateTimeWait, g(S::TimeWait));
    c.set(Counter::TimeWaitEntries, tw_pool_.in_use());
    c.set(Counter::SynCacheEntries, syn_cache_->size());
    c.set(Counter::HalfOpen, syn_cache_->size() + g(S::SynReceived));
    c.set(Counter::ConnectionsInUse, used_);
    for (size_t from = 0; from < tcp::kStateCount; ++from) {
        for (size_t to = 0; to < tcp::kStateCount; ++to) {
            transitions_.count[from * tcp::kStateCount + to].store(stats_.transitions[from][to],
                                                                   std::memory_order_relaxed);
        }
    }
}

// --- application calls ------------------------------------------------------------------------

dev::Result<ConnId> TcpHost::connect(const wire::IpAddr& remote, uint16_t port, AppHandlers app,
                                     time::Instant now) {
    wire::FlowKey key{};
    key.local = local_;
    key.remote = remote;
    key.remote_port = port;
    uint32_t hash = 0;
    if (!ports_.pick(key, hash, *flows_)) {
        worker_.counters_.add(Counter::PortsExhausted);
        return dev::Error{"no free local port toward " + remote.to_string() + ":" +
                              std::to_string(port) + " (EADDRNOTAVAIL)",
                          EADDRNOTAVAIL};
    }
    Slot* s = alloc_slot();
    if (s == nullptr) {
        worker_.counters_.add(Counter::TcpConnPoolExhausted);
        return dev::Error{"connection pool exhausted"};
    }
    s->key = key;
    s->hash = hash;
    s->app = app;
    if (!flows_->insert(key, hash, s)) {
        worker_.counters_.add(Counter::FlowTableFull);
        free_slot(*s);
        return dev::Error{"flow table full"};
    }
    s->in_table = true;
    s->mac_known = worker_.resolve(remote, now, s->peer_mac);
    const ConnId id = s->id();
    const tcp::Error e = with_conn(*s, now, [&](tcp::Connection& c, tcp::Effects& fx) {
        return c.open_active(tuple_of(key), isn_, now, fx);
    });
    if (e != tcp::Error::None) {
        if (Slot* still = slot_of(id)) free_slot(*still);
        return dev::Error{"open failed"};
    }
    return id;
}

tcp::IoResult TcpHost::send(ConnId id, std::span<const uint8_t> data, time::Instant now) noexcept {
    Slot* s = slot_of(id);
    if (s == nullptr) return {0, tcp::Error::ConnectionDoesNotExist};
    return with_conn(*s, now,
                     [&](tcp::Connection& c, tcp::Effects& fx) { return c.send(data, now, fx); });
}

tcp::IoResult TcpHost::receive(ConnId id, std::span<uint8_t> out, time::Instant now) noexcept {
    Slot* s = slot_of(id);
    if (s == nullptr) return {0, tcp::Error::ConnectionDoesNotExist};
    return with_conn(*s, now,
                     [&](tcp::Connection& c, tcp::Effects& fx) { return c.receive(out, now, fx); });
}

tcp::Error TcpHost::close(ConnId id, time::Instant now) noexcept {
    Slot* s = slot_of(id);
    if (s == nullptr) return tcp::Error::ConnectionDoesNotExist;
    return with_conn(*s, now,
                     [&](tcp::Connection& c, tcp::Effects& fx) { return c.close(now, fx); });
}

tcp::Error TcpHost::shutdown_send(ConnId id, time::Instant now) noexcept {
    Slot* s = slot_of(id);
    if (s == nullptr) return tcp::Error::ConnectionDoesNotExist;
    return with_conn(
        *s, now, [&](tcp::Connection& c, tcp::Effects& fx) { return c.shutdown_send(now, fx); });
}

tcp::Error TcpHost::abort(ConnId id, time::Instant now) noexcept {
    Slot* s = slot_of(id);
    if (s == nullptr) return tcp::Error::ConnectionDoesNotExist;
    return with_conn(*s, now,
                     [&](tcp::Connection& c, tcp::Effects& fx) { return c.abort(now, fx); });
}

std::optional<tcp::ConnectionStatus> TcpHost::status(ConnId id) const noexcept {
    const Slot* s = slot_of(id);
    if (s == nullptr) return std::nullopt;
    return s->conn->status();
}

void*& TcpHost::user(ConnId id) noexcept {
    Slot* s = slot_of(id);
    if (s != nullptr) return s->user;
    dead_user_ = nullptr;  // per host, not a static shared by every worker
    return dead_user_;
}

void TcpHost::arm_app_timer(ConnId id, time::Instant at) noexcept {
    if (Slot* s = slot_of(id)) wheel_.start(s->app_timer, at);
}

}  // namespace sluice::engine
