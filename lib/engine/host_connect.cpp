// TcpHost's active opens: connect() and the local end it picks (source address and an
// ephemeral port whose replies come home to this worker's queue, port_alloc.hpp), taking over
// a reusable TIME-WAIT entry of ours when every tuple is busy (RFC 6191 4).

#include <algorithm>
#include <cerrno>

#include "engine/tcp_host_internal.hpp"
#include "engine/worker.hpp"
#include "wire/ipv6.hpp"

namespace sluice::engine {

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

}  // namespace sluice::engine
