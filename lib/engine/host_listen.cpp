// TcpHost's listener paths (RFC 9293 3.10.7.2, LISTEN): a SYN gets a TCB, a SYN-cache entry
// or a cookie by the listener's policy (tcp/syn_policy.hpp); an ACK completes a cache entry
// or a cookie into an ESTABLISHED connection without ever having held a TCB. Apart from the
// established path because a SYN flood is spent here.

#include "engine/tcp_host_internal.hpp"
#include "engine/worker.hpp"

namespace sluice::engine {

namespace {

wire::IpAddr to_wire(const tcp::Address& a) {
    wire::IpAddr r;
    r.family = a.family == tcp::Family::Ipv6 ? wire::Family::V6 : wire::Family::V4;
    r.bytes = a.bytes;
    return r;
}

}  // namespace

TcpHost::Listener* TcpHost::listener_for(uint16_t port, const wire::IpAddr& local) noexcept {
    for (auto& l : listeners_) {
        if (l->cfg.port == port && l->cfg.accepts(local)) return l.get();
    }
    return nullptr;
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

// A slot for a passive open of listener l, in the flow table under key; nullptr (counted,
// ListenDrops) when the pool or the table is full.
TcpHost::Slot* TcpHost::passive_slot(Listener& l, const wire::FlowKey& key, uint32_t hash,
                                     const wire::MacAddr& mac) noexcept {
    Slot* s = alloc_slot({.send_buffer = l.setup.send_buffer});
    if (s == nullptr) {
        worker_.counters_.add(Counter::TcpConnPoolExhausted);
        worker_.counters_.add(Counter::ListenDrops);
        return nullptr;
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
        return nullptr;
    }
    s->in_table = true;
    return s;
}

// A handshake completed without a TCB (SYN cache or cookie): the connection starts out
// ESTABLISHED, and the ACK that completed it is processed so data on it is kept.
void TcpHost::establish_accepted(Listener& l, const wire::FlowKey& key, uint32_t hash,
                                 const wire::MacAddr& mac, const tcp::PassiveAccept& acc,
                                 const tcp::Segment& seg, time::Instant now) noexcept {
    Slot* s = passive_slot(l, key, hash, mac);
    if (s == nullptr) return;
    ++s->stats.segments_in;  // the ACK that completed the handshake
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
    Slot* s = passive_slot(l, key, hash, f.src_mac);
    if (s == nullptr) return false;
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

}  // namespace sluice::engine
