#include "flood.hpp"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <sodium.h>

#include "pacer.hpp"
#include "wire/build.hpp"

namespace sluice::cps {

namespace {

constexpr uint16_t kBurst = 32;
constexpr time::Duration kArpWait = std::chrono::seconds(3);

// xorshift64*: cheap per-frame randomness (sources, ports, ISNs); not a secret.
struct Rng {
    uint64_t s;
    uint64_t next() noexcept {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545F4914F6CDD1DULL;
    }
};

}  // namespace

FloodResult run_flood(engine::Worker& w, const dev::Port& port, const FloodPlan& plan,
                      const std::atomic<bool>& stop, FloodLive& live) {
    FloodResult res;
    rte_mempool* pool = port.pools.at(w.queue());
    Rng rng{};
    randombytes_buf(&rng.s, sizeof rng.s);
    rng.s |= 1;

    // The target's MAC (or its gateway's): ask, then poll until the answer is in.
    wire::MacAddr dst_mac;
    const time::Instant arp_start = w.now();
    while (!w.neighbor_mac(plan.target, w.now(), dst_mac)) {
        w.poll();
        if (stop.load(std::memory_order_relaxed) || w.now() - arp_start > kArpWait) {
            res.target_unresolved = true;
            return res;
        }
    }

    const uint32_t host_bits = 32 - plan.prefix.len;
    const uint32_t net = plan.prefix.network().v4_host();
    const uint64_t host_mask = host_bits >= 32 ? 0xffffffffu : (uint64_t{1} << host_bits) - 1;
    const time::Instant start = w.now();
    Pacer pacer(plan.rate, uint64_t(start.ns()), kBurst * 4);
    wire::L3Header l3{.src_mac = w.mac(), .dst_mac = dst_mac, .dst = plan.target};
    wire::TcpHeaderSpec spec{.dst_port = plan.port, .flags = wire::tcp_flags::Syn, .window = 64240};
    spec.options.has_mss = true;
    spec.options.mss = 1460;
    spec.options.sack_permitted = true;
    spec.options.has_timestamps = true;
    spec.options.has_wscale = true;
    spec.options.wscale = 7;

    while (!stop.load(std::memory_order_relaxed)) {
        const time::Instant now = w.now();
        if (now - start >= plan.duration) break;
        if (plan.count > 0 && res.sent + res.tx_full + res.no_mbuf >= plan.count) break;
        uint64_t n = std::min<uint64_t>(pacer.due(uint64_t(now.ns())), kBurst);
        if (plan.count > 0) n = std::min(n, plan.count - (res.sent + res.tx_full + res.no_mbuf));
        rte_mbuf* tx[kBurst];
        uint16_t built = 0;
        for (; built < n; ++built) {
            rte_mbuf* m = rte_pktmbuf_alloc(pool);
            if (m == nullptr) {
                ++res.no_mbuf;
                break;
            }
            const uint64_t r = rng.next();
            // Host part: never all-zeros or all-ones (network and broadcast of the prefix).
            uint32_t host = uint32_t(r & host_mask);
            if (host_bits >= 2 && (host == 0 || host == host_mask)) host = 1;
            l3.src = wire::IpAddr::v4(net | host);
            l3.ip_id = uint16_t(r >> 32);
            spec.src_port = uint16_t(1024 + (r >> 40) % (65536 - 1024));
            spec.seq = wire::SeqNum(uint32_t(rng.next()));
            spec.options.ts_val = uint32_t(r >> 16);
            const std::span<uint8_t> buf{rte_pktmbuf_mtod(m, uint8_t*),
                                         size_t(rte_pktmbuf_tailroom(m))};
            const size_t len = wire::build_tcp(buf, l3, spec, {}, wire::CsumMode::Software);
            m->data_len = uint16_t(len);
            m->pkt_len = uint32_t(len);
            tx[built] = m;
        }
        if (built > 0) {
            const uint16_t sent = rte_eth_tx_burst(port.id, w.queue(), tx, built);
            if (sent < built) {
                res.tx_full += built - sent;
                rte_pktmbuf_free_bulk(tx + sent, built - sent);
            }
            res.sent += sent;
            pacer.take(built);
            live.sent.store(res.sent, std::memory_order_relaxed);
        }
        w.poll();  // ARP and whatever the target answers
    }
    res.missed_slots = pacer.missed();
    res.seconds = std::chrono::duration<double>(w.now() - start).count();
    return res;
}

}  // namespace sluice::cps
