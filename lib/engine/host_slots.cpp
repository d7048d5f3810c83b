// TcpHost's connection slots: the fixed array of TCB homes (alloc, free, the ConnId check),
// the mbuf pools their buffers draw from, and the application's calls on a connection by its
// ConnId, each run through with_conn() so its effects are drained at once.

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "engine/tcp_host_internal.hpp"
#include "engine/worker.hpp"

namespace sluice::engine {

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

void TcpHost::note_state(Slot& s) noexcept {
    const tcp::State now_in = s.conn->state();
    if (now_in == s.counted) return;
    if (s.counted != tcp::State::Closed) --gauge_[static_cast<size_t>(s.counted)];
    if (now_in != tcp::State::Closed) ++gauge_[static_cast<size_t>(now_in)];
    s.counted = now_in;
}

// --- application calls on a connection ----------------------------------------------------

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
