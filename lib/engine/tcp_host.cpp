#include "engine/tcp_host.hpp"

#include <sodium.h>

#include <rte_mbuf.h>

#include <rte_errno.h>
#include <rte_lcore.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <atomic>
#include <cstring>
#include <mutex>

#include "engine/tcp_host_internal.hpp"
#include "engine/worker.hpp"
#include "wire/build.hpp"
#include "wire/checksum.hpp"
#include "wire/ipv6.hpp"

namespace sluice::engine {

namespace {

// Flow-table values: a Slot*, or a TwSlot* with the low bit set.
constexpr uintptr_t kTwTag = 1;

// DPDK's heap is what runs out: say which knob sizes it.
constexpr const char* kMemoryHint =
    " (DPDK memory: raise memory.size_mb, or use hugepages; each worker needs its flow tables, "
    "connection slots and TCP pools)";

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

// `connection`: the Connection header's value, or empty for none.
std::string http_response(const ListenerConfig& l, std::string_view connection) {
    std::string body = l.body_bytes > 0 ? std::string(l.body_bytes, 'x') : l.http_body;
    if (l.body_bytes > 0) {
        for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
    }
    std::string r = "HTTP/1.1 200 OK\r\nServer: sluice\r\nContent-Type: text/plain\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (!connection.empty()) r += "Connection: " + std::string(connection) + "\r\n";
    return r + "\r\n" + body;
}

}  // namespace

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

dev::Result<std::unique_ptr<TcpHost>> TcpHost::create(const TcpHostConfig& cfg, Worker& worker,
                                                      const wire::IpAddr& local,
                                                      time::Instant now) {
    if (cfg.max_connections == 0) return dev::Error{"tcp.max_connections must be at least 1"};
    std::unique_ptr<TcpHost> h(new TcpHost(cfg, worker, local, now));
    const uint32_t flows = cfg.flow_table_entries != 0 ? cfg.flow_table_entries
                                                       : cfg.max_connections + cfg.max_time_wait;
    // An IPv6 table only with an IPv6 address, as large as the IPv4 one: a TCB slot may hold
    // either family, and a key slot costs 48 bytes against a connection's ~500. (The name is
    // for messages; FlowTable gives its rte_hash tables unique names itself.)
    auto table = flow::FlowTable::create("flow table of queue " + std::to_string(worker.queue()),
                                         flows, worker.net_.has_ipv6() ? flows : 0, 0);
    if (!table) return dev::Error{table.error().message + kMemoryHint};
    h->flows_.emplace(std::move(*table));
    if (auto r = h->create_pools(); !r) return r.error();
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
        l->response_keepalive = http_response(lc, {});
        l->response_close = http_response(lc, "close");
        l->response_keepalive10 = http_response(lc, "keep-alive");
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
      next_port_(cfg.ephemeral_low),
      ports_(cfg.ephemeral_low, cfg.ephemeral_high, worker.port_.rss, worker.queue()),
      next_publish_(now) {
    free_slots_.reserve(cfg_.max_connections);
    for (uint32_t i = 0; i < cfg_.max_connections; ++i) {
        Slot& s = slots_[i];
        s.host = this;
        s.index = i;
        for (auto& t : s.timers) t.set_callback(on_conn_timer, &s);
        s.app_timer.set_callback(on_conn_timer, &s);
        free_slots_.push_back(cfg_.max_connections - 1 - i);
    }
    uint64_t seed = 0;
    randombytes_buf(&seed, sizeof seed);  // the challenge-ACK budget must not be guessable
    stats_.challenge_limiter.configure(cfg_.tcp.challenge_ack_limit, seed);
    bad_cookie_rsts_.configure(cfg_.bad_cookie_rst_limit, seed ^ 0x5bd1e9955bd1e995ull);
}

namespace {

// Pools whose mbufs were still out (clones queued in a ring or a test's link) when their
// host went: freed once everything came back. Cold path: host creation and destruction.
std::mutex g_orphans_mutex;
std::vector<rte_mempool*> g_orphans;

void free_when_idle(rte_mempool* p) {
    std::lock_guard lock(g_orphans_mutex);
    if (p != nullptr) g_orphans.push_back(p);
    std::erase_if(g_orphans, [](rte_mempool* q) {
        if (rte_mempool_in_use_count(q) != 0) return false;
        rte_mempool_free(q);
        return true;
    });
}

}  // namespace

dev::Result<dev::Ok> TcpHost::create_pools() {
    free_when_idle(nullptr);  // an earlier host's pools, if they are idle by now
    static std::atomic<uint32_t> instance{0};
    const std::string id = std::to_string(worker_.queue()) + "_" + std::to_string(instance++);
    const int socket = int(rte_socket_id());
    uint32_t data = cfg_.data_mbufs;
    if (data == 0) {
        const uint64_t per = (uint64_t(cfg_.tcp.send_buffer) + cfg_.tcp.recv_buffer) /
                                 RTE_MBUF_DEFAULT_DATAROOM + 2;
        data = uint32_t(std::clamp<uint64_t>(per * cfg_.max_connections, 255, 4095));
    }
    // Per-lcore caches: the worker allocates and frees these per segment.
    const auto cache = [](uint32_t n) { return std::min<uint32_t>(256, n / 4); };
    pools_.data = rte_pktmbuf_pool_create(("sluice_data" + id).c_str(), data, cache(data), 0,
                                          RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    if (pools_.data == nullptr)
        return dev::Error{"cannot create the TCP data mempool (" + std::to_string(data) +
                          " mbufs): " + rte_strerror(rte_errno) + kMemoryHint};
    const uint32_t clones = std::max<uint32_t>(cfg_.clone_mbufs, 7);
    clone_pool_ = rte_pktmbuf_pool_create(("sluice_clone" + id).c_str(), clones, cache(clones),
                                          0, 0, socket);
    if (clone_pool_ == nullptr)
        return dev::Error{"cannot create the TCP clone mempool: " +
                          std::string(rte_strerror(rte_errno)) + kMemoryHint};
    // Received frames kept by reference may take half the RX pool; beyond, text is copied.
    pools_.rx_pin_limit = worker_.pool_ != nullptr ? worker_.pool_->size / 2 : 0;
    return dev::Ok{};
}

TcpHost::~TcpHost() {
    // The connections give back what they hold first; the pools go when their mbufs have
    // all come back (some may still sit in a TX ring).
    for (uint32_t i = 0; i < cfg_.max_connections; ++i) slots_[i].conn.reset();
    for (auto& l : listeners_) l->conn.reset();
    free_when_idle(pools_.data);
    free_when_idle(clone_pool_);
}

uint32_t TcpHost::data_mbufs_in_use() const noexcept {
    return pools_.data != nullptr ? rte_mempool_in_use_count(pools_.data) : 0;
}

uint32_t TcpHost::clone_mbufs_in_use() const noexcept {
    return clone_pool_ != nullptr ? rte_mempool_in_use_count(clone_pool_) : 0;
}

// --- slots --------------------------------------------------------------------------------

TcpHost::Slot* TcpHost::alloc_slot(const ConnSetup& setup) noexcept {
    if (free_slots_.empty()) [[unlikely]]
        return nullptr;
    Slot& s = slots_[free_slots_.back()];
    free_slots_.pop_back();
    ++used_;
    s.live = true;
    s.in_table = false;
    s.mac_known = false;
    s.app_closed = false;
    s.tw_hold_over = false;
    s.counted = tcp::State::Closed;
    s.listener = nullptr;
    s.app = {};
    s.user = nullptr;
    s.svc = {};
    s.stats = {};
    s.sent_any = false;
    s.app_flags = 0;
    // Budgets, not storage: a connection may ask for less than the configured size (the
    // caller checked it is not more).
    const uint32_t snd = setup.send_buffer != 0 ? setup.send_buffer : cfg_.tcp.send_buffer;
    const uint32_t rcv = setup.recv_buffer != 0 ? setup.recv_buffer : cfg_.tcp.recv_buffer;
    s.conn.emplace(cfg_.tcp, tcp::Buffers{&pools_, snd, rcv}, &stats_);
    s.stats.send_buffer = snd;
    s.stats.recv_buffer = rcv;
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

TcpHost::Listener* TcpHost::listener_for(uint16_t port, const wire::IpAddr& local) noexcept {
    for (auto& l : listeners_) {
        if (l->cfg.port == port && l->cfg.accepts(local)) return l.get();
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
                         std::span<const uint8_t> frame, time::Instant now,
                         rte_mbuf* m) noexcept {
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
        .mbuf = m,
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
        ++s.stats.segments_in;
        with_conn(s, now,
                  [&](tcp::Connection& c, tcp::Effects& fx) { c.on_segment(seg, now, fx); });
        return true;
    }

    Listener* l = listener_for(v.dst_port, f.dst);
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
    // RFC 9293 3.4.3: no ISS of any kind (TCB, cache entry, cookie) in the quiet time.
    if (isn_.in_quiet_time(now)) [[unlikely]] {
        worker_.counters_.add(Counter::TcpQuietTimeSynDrops);
        worker_.counters_.add(Counter::ListenDrops);
        return;
    }
    const tcp::FourTuple t = tuple_of(key);
    switch (l.policy->on_syn(now, syn_cache_->size(), syn_cache_->capacity())) {
        case tcp::SynAction::Backlog: accept_syn(l, key, hash, f, seg, now, std::nullopt); return;
        case tcp::SynAction::Cache: {
            tcp::OutSegment syn_ack;
            bool evicted = false;
            if (syn_cache_->insert(t, seg, isn_.isn(t, now), f.src_mac.b, now, syn_ack, &evicted) !=
                nullptr) {
                emit(syn_ack, f.src_mac, f.dst, f.src);
                if (evicted) l.policy->note_cache_full(now);
                return;
            }
            l.policy->note_cache_full(now);  // full: this SYN gets a cookie
            break;
        }
        case tcp::SynAction::Cookie:
            // The tuple's half-open entry answers its SYN again (or starts over for a new
            // one), as insert() does for the Cache action: a cookie would make the entry
            // reset the client's ACK. FreeBSD syncache_add looks the tuple up first too.
            if (syn_cache_->size() != 0 && syn_cache_->find(t) != nullptr) {
                tcp::OutSegment syn_ack;
                syn_cache_->insert(t, seg, isn_.isn(t, now), f.src_mac.b, now, syn_ack);
                emit(syn_ack, f.src_mac, f.dst, f.src);
                return;
            }
            break;
    }
    // No state at all: the SYN-ACK's ISS is the cookie (tcp/syncookie.hpp).
    emit(tcp::make_syn_ack(cfg_.tcp, *secrets_, t, seg, now), f.src_mac, f.dst, f.src);
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
            case tcp::SynCacheVerdict::Reset:
                // The SYN may also have had a cookie (in a flood, before this entry existed):
                // a valid one completes the handshake all the same.
                if (l.policy->cookies_accepted(now)) {
                    if (auto c = tcp::check_ack(cfg_.tcp, *secrets_, t, seg, now)) {
                        syn_cache_->erase(*e);
                        worker_.counters_.add(Counter::SyncookiesRecv);
                        establish_accepted(l, key, hash, f.src_mac, *c, seg, now);
                        break;
                    }
                }
                emit(reply, f.src_mac, f.dst, f.src);
                break;
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
    if (!l.cfg.syn.rst_on_bad_cookie) return true;
    // RFC 9293 3.10.7.2: RST as CLOSED would (the caller sends it), but an ACK flood must not
    // make us a RST cannon: a per-worker budget like the challenge ACKs' (RFC 5961 7).
    if (bad_cookie_rsts_.allow(now)) return false;
    worker_.counters_.add(Counter::TCPRstSkippedBadCookie);
    return true;
}

// A handshake completed without a TCB (SYN cache or cookie): the connection starts out
// ESTABLISHED, and the ACK that completed it is processed so data on it is kept.
void TcpHost::establish_accepted(Listener& l, const wire::FlowKey& key, uint32_t hash,
                                 const wire::MacAddr& mac, const tcp::PassiveAccept& acc,
                                 const tcp::Segment& seg, time::Instant now) noexcept {
    Slot* s = alloc_slot({.send_buffer = l.setup.send_buffer});
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
    if (l.app_listener) {
        s->listener = nullptr;
        s->app = l.app;
    }
    if (!flows_->insert(key, hash, s)) {
        worker_.counters_.add(Counter::FlowTableFull);
        worker_.counters_.add(Counter::ListenDrops);
        free_slot(*s);
        return;
    }
    s->in_table = true;
    ++s->stats.segments_in;  // the ACK that completed the handshake
    tcp::Connection::HandshakeParams p = tcp::handshake_params(acc);
    p.syn_retransmitted = acc.retransmitted;
    s->conn->establish_directly(p, now);
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
    h.emit(syn_ack, wire::MacAddr{e.peer_mac}, to_wire(e.tuple.local.addr),
           to_wire(e.tuple.remote.addr));
}

bool TcpHost::accept_syn(Listener& l, const wire::FlowKey& key, uint32_t hash, const wire::Frame& f,
                         const tcp::Segment& seg, time::Instant now,
                         std::optional<wire::SeqNum> iss) noexcept {
    if (gauge_[static_cast<size_t>(tcp::State::SynReceived)] >= cfg_.syn_backlog) {
        worker_.counters_.add(Counter::ListenOverflows);
        worker_.counters_.add(Counter::ListenDrops);
        return false;
    }
    Slot* s = alloc_slot({.send_buffer = l.setup.send_buffer});
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
    if (l.app_listener) {
        s->listener = nullptr;
        s->app = l.app;
    }
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
    ++s->stats.segments_in;  // the SYN
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
            if (!r.challenge || tcp::take_challenge_ack(stats_, now)) {
                emit(reply, f.src_mac, f.dst, f.src);
            } else {
                tw.tw.syn_challenged = false;  // nothing went out for a RST to answer
            }
            return;
        case tcp::TimeWaitAction::Close: free_time_wait(tw); return;
        case tcp::TimeWaitAction::Reopen: {
            // RFC 6191 / RFC 1122 4.2.2.13: the old incarnation ends, the SYN opens a new one
            // with an ISS above the old connection's sequence space.
            const wire::FlowKey key = tw.key;
            const uint32_t hash = tw.hash;
            free_time_wait(tw);
            Listener* l = listener_for(key.local_port, key.local);
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
        // No room: the oldest entry ends early (its 2 x MSL is the most spent), counted so an
        // operator can size max_time_wait. Keeping the full TCB instead would cost a slot and
        // lose a new SYN's reopen. (Linux skips TIME-WAIT for the new one, same counter.)
        worker_.counters_.add(Counter::TCPTimeWaitOverflow);
        free_time_wait(*tw_oldest_);
        tw = tw_pool_.alloc();
    }
    tw->older = tw_newest_;
    tw->newer = nullptr;
    (tw_newest_ != nullptr ? tw_newest_->newer : tw_oldest_) = tw;
    tw_newest_ = tw;
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
    (tw.older != nullptr ? tw.older->newer : tw_oldest_) = tw.newer;
    (tw.newer != nullptr ? tw.newer->older : tw_newest_) = tw.older;
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
        // The round's events are copied out only when there are any: callbacks may add
        // events for the next round meanwhile.
        const size_t n = fx.event_count;
        std::array<tcp::Event, tcp::Effects::kMaxEvents> events;
        if (n != 0) {
            std::copy_n(fx.events.begin(), n, events.begin());
            fx.event_count = 0;
        }

        bool release = false, time_wait = false;
        for (size_t i = 0; i < n; ++i) {
            tcp::Event e = events[i];
            if (e.kind == tcp::EventKind::TimeWait) {
                // Unread text stays readable (the FIN "implies PUSH", RFC 9293 3.10.7.4
                // eighth step): the TCB is held in TIME-WAIT until the application reads to
                // the end of the stream or closes (end_time_wait_hold).
                if (!s.tw_hold_over && s.conn->status().recv_queued > 0) continue;
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
                case tcp::EventKind::Reopen:
                    // Only from a TCB held for unread text: the SYN is dropped, the client
                    // retransmits it once the application has read (and the entry reopens).
                    worker_.counters_.add(Counter::ListenDrops);
                    break;
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
            count_out(s, o);
            if (s.mac_known) {
                emit(o, s.peer_mac, s.key.local, remote);
            } else if (!worker_.resolve(remote, now, s.peer_mac)) {
                // The worker holds the frame until ARP/ND answers (neighbor.hpp).
                worker_.hold_next_ = true;
                emit(o, wire::MacAddr{}, s.key.local, remote);
                worker_.hold_next_ = false;
            } else {
                s.mac_known = true;
                emit(o, s.peer_mac, s.key.local, remote);
            }
        }
        if (fx.timer_changed != 0) apply_timers(s);
        note_state(s);
        const bool more = fx.more_output;
        fx.segment_count = 0;  // events raised by the callbacks stay for the next round
        fx.timer_changed = 0;
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
        if (fx.empty()) break;
    }
}

// Per-connection segment and retransmission counts: a segment whose sequence space starts
// below what was sent before repeats it (keepalive and window probes carry none).
void TcpHost::count_out(Slot& s, const tcp::OutSegment& o) noexcept {
    ++s.stats.segments_out;
    const uint32_t len = uint32_t(o.payload.size()) + (o.flags.has(tcp::Flags::Syn) ? 1u : 0u) +
                         (o.flags.has(tcp::Flags::Fin) ? 1u : 0u);
    if (len == 0) return;
    if (s.sent_any && o.seq < s.sent_high) ++s.stats.retransmits;
    if (!s.sent_any || o.seq + len > s.sent_high) s.sent_high = o.seq + len;
    s.sent_any = true;
}

void TcpHost::apply_timers(Slot& s) noexcept {
    const tcp::Effects& fx = *active_fx_;
    // Only the kinds changed during the call (a connection touches one or two per call).
    for (uint8_t c = fx.timer_changed; c != 0; c = uint8_t(c & (c - 1))) {
        const auto k = static_cast<size_t>(std::countr_zero(c));
        const tcp::TimerOp& op = fx.timer_slots[k];
        if (op.action == tcp::TimerAction::Arm)
            wheel_.start(s.timers[k], op.at);
        else
            wheel_.stop(s.timers[k]);
    }
}

namespace {

// checksum_partial() over `len` payload bytes that continue through d->next, as one run.
// A piece that starts at an odd offset of the run contributes its sum byte-swapped.
uint32_t payload_sum(const rte_mbuf* d, uint32_t off, uint32_t len) noexcept {
    uint32_t sum = 0;
    uint32_t at = 0;
    for (; len > 0; d = d->next) {
        const uint32_t k = std::min<uint32_t>(len, d->data_len - off);
        uint32_t s = wire::checksum_reduce(
            wire::checksum_partial({rte_pktmbuf_mtod_offset(d, const uint8_t*, off), k}));
        if (at & 1) s = ((s & 0xff) << 8) | (s >> 8);
        sum += s;
        at += k;
        len -= k;
        off = 0;
    }
    return sum;
}

}  // namespace

void TcpHost::emit(const tcp::OutSegment& o, const wire::MacAddr& dst_mac,
                   const wire::IpAddr& src, const wire::IpAddr& dst) noexcept {
    rte_mbuf* m = rte_pktmbuf_alloc(worker_.pool_);
    if (m == nullptr) [[unlikely]] {
        worker_.counters_.add(Counter::DropMbufExhausted);
        return;  // the retransmission timer covers it
    }
    // The payload: indirect mbufs attached to the send buffer's (reference counts), chained
    // behind the header mbuf. An ACK may free the send buffer's mbufs while these are still
    // in the NIC's ring: the data stays until the last reference goes.
    rte_mbuf* tail = m;
    uint16_t segs = 1;
    const uint32_t payload_len = o.payload.len;
    uint32_t left = payload_len, off = o.payload.off;
    for (rte_mbuf* d = o.payload.m; left > 0; d = d->next) {
        rte_mbuf* c = rte_pktmbuf_alloc(clone_pool_);
        if (c == nullptr) [[unlikely]] {
            rte_pktmbuf_free(m);  // and the clones chained so far
            worker_.counters_.add(Counter::DropMbufExhausted);
            return;
        }
        rte_pktmbuf_attach(c, d);
        const uint32_t k = std::min<uint32_t>(left, d->data_len - off);
        c->data_off = uint16_t(c->data_off + off);
        c->data_len = uint16_t(k);
        c->pkt_len = k;
        tail->next = c;
        tail = c;
        ++segs;
        left -= k;
        off = 0;
    }
    const bool offload = worker_.tx_csum_ == wire::CsumMode::Offload;
    const uint32_t sum =
        payload_len > 0 && !offload ? payload_sum(o.payload.m, o.payload.off, payload_len) : 0;
    const std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*),
                                 static_cast<size_t>(rte_pktmbuf_tailroom(m))};
    const wire::L3Header l3{.src_mac = worker_.mac_,
                            .dst_mac = dst_mac,
                            .src = src,
                            .dst = dst,
                            .ttl = worker_.net_.ttl};
    const wire::TcpHeaderSpec spec{.src_port = o.src_port,
                                   .dst_port = o.dst_port,
                                   .seq = o.seq,
                                   .ack = o.ack,
                                   .flags = o.flags.bits,
                                   .window = o.window,
                                   .options = o.options};
    const size_t len =
        wire::build_tcp_headers(buf, l3, spec, payload_len, sum, worker_.tx_csum_);
    m->nb_segs = segs;
    worker_.counters_.add(Counter::TcpOutSegs);
    if (o.flags.has(tcp::Flags::Rst)) worker_.counters_.add(Counter::TcpOutRsts);
    worker_.transmit(m, len, offload, payload_len);
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
    for (const auto& l : listeners_) {
        const auto row = [&](const wire::IpAddr& a) {
            snapshot_.add({.local = a, .local_port = l->cfg.port, .state = tcp::State::Listen});
        };
        if (!l->cfg.bind.empty()) {
            for (const wire::IpAddr& a : l->cfg.bind) row(a);
            continue;
        }
        row(local_);
        if (const auto& a6 = worker_.net_.address6) row(a6->addr);
    }
    flows_->for_each([&](const wire::FlowKey& k, void* v) {
        ConnRow r{.local = k.local,
                  .remote = k.remote,
                  .local_port = k.local_port,
                  .remote_port = k.remote_port};
        const auto bits = reinterpret_cast<uintptr_t>(v);
        if (bits & kTwTag) {
            r.state = tcp::State::TimeWait;
        } else {
            const Slot& s = *static_cast<Slot*>(v);
            r.set_status(s.conn->status());
            // Bytes sent and acknowledged: accepted by send() less what is still queued.
            r.bytes_sent = s.stats.bytes_sent;
            r.bytes_acked = s.stats.bytes_sent - std::min<uint64_t>(s.stats.bytes_sent, r.send_queued);
            r.bytes_received = s.stats.bytes_received;
            r.segs_in = s.stats.segments_in;
            r.segs_out = s.stats.segments_out;
            r.retrans = s.stats.retransmits;
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
    c.set(Counter::TCPFastRetrans, stats_.fast_retrans);
    c.set(Counter::TCPRenoRecovery, stats_.reno_recovery);
    c.set(Counter::TCPSackRecovery, stats_.sack_recovery);
    c.set(Counter::TCPLossProbes, stats_.loss_probes);
    c.set(Counter::TCPLossProbeRecovery, stats_.loss_probe_recovery);
    c.set(Counter::DelayedACKs, stats_.delayed_acks);
    c.set(Counter::TCPOFOQueue, stats_.ofo_queue);
    c.set(Counter::TCPOFODrop, stats_.ofo_drop);
    c.set(Counter::TCPRcvQDrop, stats_.rcvq_drop);
    c.set(Counter::TcpDataAllocFails, pools_.alloc_failed);
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

// Ports advance first, then the source address: a 4-tuple comes round again only after
// range x sources opens, so the one met is the oldest (most likely an expired or reusable
// TIME-WAIT). The walk is bounded per call; the cursor carries on from there next time.
bool TcpHost::pick_local_end(wire::FlowKey& key, uint32_t& hash, time::Instant now,
                             std::optional<wire::SeqNum>& reuse_after) noexcept {
    constexpr uint64_t kMaxProbes = 16384;
    const NetConfig& net = worker_.net_;
    // IPv6: our one address (the link-local one toward a link-local peer); the source range
    // is IPv4 only.
    const bool v6 = !key.remote.is_v4();
    if (v6 && !net.address6) return false;
    const wire::IpAddr local6 = !v6                                  ? wire::IpAddr{}
                                : wire::is_v6_link_local(key.remote) ? worker_.link_local()
                                                                     : net.address6->addr;
    const uint32_t sources = v6 ? 1 : std::max<uint32_t>(net.extra_count, 1);
    const uint64_t tuples = (uint64_t(cfg_.ephemeral_high) - cfg_.ephemeral_low + 1) * sources;
    for (uint64_t i = 0; i < std::min(tuples, kMaxProbes); ++i) {
        if (next_source_ >= sources) next_source_ = 0;
        key.local = v6                  ? local6
                    : net.extra_count > 0 ? wire::IpAddr::v4(net.extra_first + next_source_)
                                          : local_;
        key.local_port = next_port_;
        if (next_port_ >= cfg_.ephemeral_high || next_port_ < cfg_.ephemeral_low) {
            next_port_ = cfg_.ephemeral_low;
            next_source_ = (next_source_ + 1) % sources;
        } else {
            ++next_port_;
        }
        // The reply must reach this worker's queue (port_alloc.hpp: RSS or software steering).
        if (!ports_.comes_home(key)) continue;
        hash = flows_->hash(key);
        void* v = flows_->lookup(key, hash);
        if (v == nullptr) return true;
        const auto bits = reinterpret_cast<uintptr_t>(v);
        if ((bits & kTwTag) == 0) continue;
        TwSlot& tw = *reinterpret_cast<TwSlot*>(bits & ~kTwTag);
        if (!time_wait_reusable(tw, now)) continue;
        reuse_after = tw.tw.snd_nxt;
        free_time_wait(tw);
        worker_.counters_.add(Counter::TWRecycled);
        return true;
    }
    return false;
}

// RFC 6191 4 needs the old connection's timestamps: PAWS keeps its old duplicates out of the
// new incarnation. Our TSval is a millisecond clock (tcp::ts_clock), so the new SYN's is
// above every one sent on the old connection once time has moved on from our last segment
// there, which left when the 2 x MSL timer was last (re)started. Linux waits 1 s likewise.
bool TcpHost::time_wait_reusable(const TwSlot& tw, time::Instant now) const noexcept {
    if (!cfg_.time_wait_reuse || !tw.tw.timestamps || !cfg_.tcp.timestamps) return false;
    const time::Instant last_sent = tw.tw.deadline - 2 * cfg_.tcp.msl;
    return now - last_sent >= std::max<time::Duration>(cfg_.time_wait_reuse_after, std::chrono::milliseconds(1));
}

dev::Result<ConnId> TcpHost::connect(const wire::IpAddr& remote, uint16_t port, AppHandlers app,
                                     time::Instant now) {
    return connect(remote, port, app, ConnSetup{}, now);
}

dev::Result<ConnId> TcpHost::connect(const wire::IpAddr& remote, uint16_t port, AppHandlers app,
                                     const ConnSetup& setup, time::Instant now) {
    Slot* s = alloc_slot(setup);
    if (s == nullptr) {
        worker_.counters_.add(Counter::TcpConnPoolExhausted);
        return dev::Error{"connection pool exhausted"};
    }
    if (!remote.is_v4() && !worker_.net_.address6) {
        free_slot(*s);
        return dev::Error{"cannot connect to " + remote.to_string() +
                              ": no IPv6 address of ours (ip.address6)",
                          EAFNOSUPPORT};
    }
    wire::FlowKey key{};
    key.remote = remote;
    key.remote_port = port;
    uint32_t hash = 0;
    std::optional<wire::SeqNum> reuse_after;
    if (!pick_local_end(key, hash, now, reuse_after)) {
        free_slot(*s);
        worker_.counters_.add(Counter::PortsExhausted);
        return dev::Error{"no free local port toward " + remote.to_string() + ":" +
                              std::to_string(port) + " (EADDRNOTAVAIL)",
                          EADDRNOTAVAIL};
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
        const tcp::FourTuple t = tuple_of(key);
        if (!reuse_after) return c.open_active(t, isn_, now, fx);
        // RFC 1122 4.2.2.13 (a): the new ISS above the old incarnation's sequence space.
        return c.open_active(t, tcp::reopen_iss(isn_.isn(t, now), *reuse_after), now, fx);
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
    ConnStats& st = s->stats;  // the slot outlives the call even if the connection ends in it
    const tcp::IoResult r = with_conn(
        *s, now, [&](tcp::Connection& c, tcp::Effects& fx) { return c.send(data, now, fx); });
    st.bytes_sent += r.bytes;
    return r;
}

tcp::IoResult TcpHost::send_mbuf(ConnId id, rte_mbuf* chain, time::Instant now) noexcept {
    Slot* s = slot_of(id);
    if (s == nullptr) return {0, tcp::Error::ConnectionDoesNotExist};
    return with_conn(*s, now, [&](tcp::Connection& c, tcp::Effects& fx) {
        return c.send_mbuf(chain, now, fx);
    });
}

rte_mbuf* TcpHost::receive_mbuf(ConnId id, tcp::IoResult& r, time::Instant now) noexcept {
    Slot* s = slot_of(id);
    if (s == nullptr) {
        r = {0, tcp::Error::ConnectionDoesNotExist};
        return nullptr;
    }
    rte_mbuf* m = with_conn(*s, now, [&](tcp::Connection& c, tcp::Effects& fx) {
        return c.receive_mbuf(r, now, fx);
    });
    if (r.error == tcp::Error::EndOfStream && s->live) end_time_wait_hold(*s, now);
    return m;
}

tcp::IoResult TcpHost::receive(ConnId id, std::span<uint8_t> out, time::Instant now) noexcept {
    Slot* s = slot_of(id);
    if (s == nullptr) return {0, tcp::Error::ConnectionDoesNotExist};
    ConnStats& st = s->stats;
    const tcp::IoResult r = with_conn(
        *s, now, [&](tcp::Connection& c, tcp::Effects& fx) { return c.receive(out, now, fx); });
    st.bytes_received += r.bytes;
    if (r.error == tcp::Error::EndOfStream && s->live) end_time_wait_hold(*s, now);
    return r;
}

// A TCB held in TIME-WAIT for its unread text (run_effects): the application has read to the
// end or closed. It gets its Closed event and the 4-tuple a compact entry, as without a hold.
void TcpHost::end_time_wait_hold(Slot& s, time::Instant now) noexcept {
    if (s.app_closed || s.tw_hold_over || s.conn->state() != tcp::State::TimeWait) return;
    s.tw_hold_over = true;
    with_conn(s, now, [](tcp::Connection&, tcp::Effects& fx) {
        fx.push_event({tcp::EventKind::TimeWait, tcp::CloseReason::Normal, {}});
    });
}

tcp::Error TcpHost::close(ConnId id, time::Instant now) noexcept {
    Slot* s = slot_of(id);
    if (s == nullptr) return tcp::Error::ConnectionDoesNotExist;
    if (s->conn->state() == tcp::State::TimeWait) {
        end_time_wait_hold(*s, now);  // the unread text goes with the TCB
        return tcp::Error::None;
    }
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

const ConnStats* TcpHost::conn_stats(ConnId id) const noexcept {
    const Slot* s = slot_of(id);
    return s != nullptr ? &s->stats : nullptr;
}

bool TcpHost::app_closed(ConnId id) const noexcept {
    const Slot* s = slot_of(id);
    return s == nullptr || s->app_closed;
}

uint8_t* TcpHost::app_flags(ConnId id) noexcept {
    Slot* s = slot_of(id);
    return s != nullptr ? &s->app_flags : nullptr;
}

bool TcpHost::nodelay(ConnId id) const noexcept {
    const Slot* s = slot_of(id);
    return s != nullptr && s->conn->tcb().nodelay;
}

tcp::Error TcpHost::set_nodelay(ConnId id, bool on, time::Instant now) noexcept {
    Slot* s = slot_of(id);
    if (s == nullptr) return tcp::Error::ConnectionDoesNotExist;
    with_conn(*s, now, [&](tcp::Connection& c, tcp::Effects& fx) { c.set_nodelay(on, now, fx); });
    return tcp::Error::None;
}

OptionError TcpHost::set_keepalive(ConnId id, bool on, time::Duration idle,
                                   time::Duration interval, uint8_t count,
                                   time::Instant now) noexcept {
    Slot* s = slot_of(id);
    if (s == nullptr) return OptionError::NoConnection;
    const auto same = [&](const tcp::Config& c) {
        return c.keepalive_idle == idle && c.keepalive_interval == interval &&
               c.keepalive_count == count;
    };
    const tcp::Config* cfg = same(cfg_.tcp) ? &cfg_.tcp : nullptr;
    for (size_t i = 0; i < profile_count_ && cfg == nullptr; ++i)
        if (same(profiles_[i])) cfg = &profiles_[i];
    if (cfg == nullptr) {
        if (profile_count_ == kMaxProfiles) return OptionError::TooManyProfiles;
        tcp::Config& p = profiles_[profile_count_++];
        p = cfg_.tcp;  // differs in the keepalive times only
        p.keepalive_idle = idle;
        p.keepalive_interval = interval;
        p.keepalive_count = count;
        cfg = &p;
    }
    s->conn->use_config(*cfg);
    with_conn(*s, now, [&](tcp::Connection& c, tcp::Effects& fx) { c.set_keepalive(on, now, fx); });
    return OptionError::None;
}

dev::Result<dev::Ok> TcpHost::listen(uint16_t port, AppHandlers app, const ConnSetup& setup,
                                     time::Instant now) {
    (void)now;
    if (port == 0) return dev::Error{"cannot listen on port 0"};
    for (const auto& other : listeners_) {
        if (other->cfg.port == port)
            return dev::Error{"port " + std::to_string(port) + " is already a listener"};
    }
    auto l = std::make_unique<Listener>();
    l->cfg.port = port;
    l->app_listener = true;
    l->app = app;
    l->setup = {.send_buffer = setup.send_buffer};
    l->conn.emplace(cfg_.tcp, tcp::Buffers{}, &stats_);
    const tcp::FourTuple t{{to_tcp(local_), port}, {}};
    if (l->conn->open_passive(t, isn_) != tcp::Error::None)
        return dev::Error{"cannot listen on port " + std::to_string(port)};
    l->policy.emplace(l->cfg.syn, secrets_->lifetime());
    listeners_.push_back(std::move(l));
    return dev::Ok{};
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
