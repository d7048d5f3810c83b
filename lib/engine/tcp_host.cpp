// TcpHost, the map: creation, and the dispatcher between the files that do the work. A
// segment goes to its connection, its TIME-WAIT entry (host_time_wait.cpp) or its listener
// (host_listen.cpp); what a connection produced is drained here (run_effects) into frames
// (host_emit.cpp), timers and application events. The slots and the calls on them are in
// host_slots.cpp, active opens in host_connect.cpp, the counters in host_stats.cpp.

#include "engine/tcp_host.hpp"

#include <sodium.h>

#include <algorithm>
#include <bit>

#include "engine/tcp_host_internal.hpp"
#include "engine/worker.hpp"

namespace sluice::engine {

namespace {

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

}  // namespace sluice::engine
