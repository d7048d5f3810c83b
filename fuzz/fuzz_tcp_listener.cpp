// libFuzzer harness: one listener's stateless half (issue 10 item 2). The input is a program
// of SYNs, ACKs, RSTs and data segments from a few peers, forged and replayed cookies, and
// clock advances, driven through what the host does for a listener: SynPolicy picks cache
// or cookie, SynCache keeps half-open entries on a timer wheel, cookies are made and checked.
//
// After every step: the cache's own invariants and the wheel's, one armed timer per cache
// entry and nothing else on the wheel, and a cookie is accepted only for a SYN-ACK this
// listener sent to that exact 4-tuple and peer ISN (a forged or bit-flipped cookie that
// validates is a finding). At the end the clock runs 200 s on: every entry must have
// expired and the wheel be empty (no leaked half-open state).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <tuple>

#include "common.hpp"
#include "tcp/syn_cache.hpp"
#include "tcp/syn_policy.hpp"
#include "tcp/syncookie.hpp"
#include "time/wheel.hpp"

namespace sluice::fuzz {
namespace {

using namespace std::chrono_literals;
using tcp::Flags;
using wire::SeqNum;

#define CHECK(cond) SLUICE_FUZZ_CHECK(cond)

const tcp::Endpoint kUs{tcp::Address::ipv4(198, 18, 0, 2), 80};

tcp::FourTuple peer_tuple(uint8_t sel) {
    // 4 addresses x 4 ports: enough collisions for the cache's buckets and rebuilds.
    return {kUs, {tcp::Address::ipv4(198, 18, 1, uint8_t(1 + (sel & 3))),
                  uint16_t(40000 + ((sel >> 2) & 3))}};
}

struct Key {
    tcp::FourTuple t;
    uint32_t irs;
    friend bool operator<(const Key& a, const Key& b) {
        return std::tie(a.t.remote.addr.bytes, a.t.remote.port, a.irs) <
               std::tie(b.t.remote.addr.bytes, b.t.remote.port, b.irs);
    }
};

struct Listener {
    tcp::Config cfg;
    time::Instant now = time::Instant::from_ns(1'000'000'000);
    time::TimerWheel wheel{time::WheelConfig{.tick = 1ms, .origin = now}};
    tcp::CookieSecrets secrets{tcp::CookieSecrets::Key{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}};
    std::optional<tcp::SynCache> cache;
    tcp::SynPolicy policy;
    std::map<Key, std::pair<uint32_t, uint32_t>> issued;  // cookie SYN-ACKs: (tuple, IRS) -> ISS, TSval
    uint32_t next_iss = 7;
    uint64_t established = 0;

    explicit Listener(Reader& r) : policy(policy_config(r.u8()), secrets.lifetime()) {
        cfg.timestamps = r.u8() & 1;
        cfg.window_scaling = r.u8() & 1;
        cfg.sack_permitted = true;
        tcp::SynCacheConfig sc{.capacity = uint32_t(1 + (r.u8() & 15)),
                               .bucket_limit = uint32_t(1 + (r.u8() & 3))};
        cache.emplace(sc, cfg, wheel, tcp::CookieSecrets::Key{9});
        cache->set_sink(&Listener::on_resend, this);
    }

    static tcp::SynPolicyConfig policy_config(uint8_t b) {
        tcp::SynPolicyConfig p;
        p.mode = (b & 1) ? tcp::SynCookieMode::Always : tcp::SynCookieMode::Auto;
        p.rate_limit = 1 + (b >> 1) * 4;
        p.calm_time = 2s;
        return p;
    }

    static void on_resend(void* ctx, const tcp::SynCacheEntry& e, const tcp::OutSegment& sa,
                          time::Instant) {
        auto* l = static_cast<Listener*>(ctx);
        CHECK(sa.flags == (Flags::Syn | Flags::Ack));
        CHECK(sa.seq == e.iss && sa.ack == e.irs + 1u);
        CHECK(e.flags & tcp::SynCacheEntry::kInUse);
        (void)l;
    }

    void syn(const tcp::FourTuple& t, const tcp::Segment& s) {
        secrets.rotate_if_due(now);
        const tcp::SynAction a = policy.on_syn(now, cache->size(), cache->capacity());
        tcp::OutSegment sa;
        if (a == tcp::SynAction::Cache) {
            bool evicted = false;
            if (cache->insert(t, s, SeqNum(next_iss += 1000003), {}, now, sa, &evicted)) {
                if (evicted) policy.note_cache_full(now);
                CHECK(sa.flags == (Flags::Syn | Flags::Ack) && sa.ack == s.seq + 1u);
                return;
            }
            policy.note_cache_full(now);
        }
        sa = tcp::make_syn_ack(cfg, secrets, t, s, now);
        CHECK(sa.flags.has(Flags::Syn) && sa.ack == s.seq + 1u);
        issued[{t, s.seq.raw()}] = {sa.seq.raw(), sa.options.ts_val};
    }

    void other(const tcp::FourTuple& t, const tcp::Segment& s) {
        if (tcp::SynCacheEntry* e = cache->find(t)) {
            tcp::PassiveAccept acc;
            tcp::OutSegment reply;
            const tcp::SynCacheVerdict v = cache->on_segment(*e, s, now, acc, reply);
            if (v == tcp::SynCacheVerdict::Established) {
                CHECK(acc.tuple == t && acc.iss + 1u == s.ack && s.flags.has(Flags::Ack));
                CHECK(cache->find(t) == nullptr);
                ++established;
            }
            if (v == tcp::SynCacheVerdict::Reset) CHECK(reply.flags.has(Flags::Rst));
            return;
        }
        if (!s.flags.has(Flags::Ack) || s.flags.any(Flags::Rst | Flags::Syn)) return;
        if (!policy.cookies_accepted(now)) return;
        if (auto acc = tcp::check_ack(cfg, secrets, t, s, now)) {
            // Sound only if we sent exactly this SYN-ACK: same tuple, same peer ISN.
            auto it = issued.find({t, (s.seq - 1u).raw()});
            CHECK(it != issued.end());
            CHECK(it->second.first + 1u == s.ack.raw());
            CHECK(acc->tuple == t && acc->iss + 1u == s.ack && acc->irs + 1u == s.seq);
            ++established;
        }
    }

    void advance(time::Duration d) {
        now = now + d;
        wheel.advance(now);
    }

    void check() const {
        CHECK(cache->check_invariants());
        CHECK(wheel.check_invariants());
        CHECK(cache->size() <= cache->capacity());
        CHECK(wheel.size() == cache->size());  // one timer per half-open entry, nothing else
    }
};

void run(const uint8_t* data, size_t size) {
    Reader r(data, size);
    Listener l(r);
    int steps = 0;
    while (!r.empty() && ++steps < 512) {
        const uint8_t op = r.u8();
        const tcp::FourTuple t = peer_tuple(r.u8());
        tcp::Segment s;
        s.src_port = t.remote.port;
        s.dst_port = t.local.port;
        s.window = r.u16();
        if (r.u8() & 1) {
            s.options.has_timestamps = true;
            s.options.ts_val = r.u32();
            s.options.ts_ecr = r.u32();
        }
        if (r.u8() & 1) {
            s.options.has_mss = true;
            s.options.mss = r.u16();
            s.options.has_wscale = true;
            s.options.wscale = r.u8();
            s.options.sack_permitted = true;
        }
        switch (op % 6) {
            case 0: {  // SYN
                s.flags = Flags::Syn;
                s.seq = SeqNum(r.u8() & 7);  // few ISNs: retransmitted and restarted SYNs
                l.syn(t, s);
                break;
            }
            case 1: {  // the right ACK for something we sent, maybe with a flipped bit
                const auto it = l.issued.lower_bound({t, 0});
                tcp::SynCacheEntry* e = l.cache->find(t);
                uint32_t irs = r.u8() & 7, iss = r.u32();
                if (e != nullptr) {
                    irs = e->irs.raw();
                    iss = e->iss.raw();
                } else if (it != l.issued.end() && it->first.t == t) {
                    irs = it->first.irs;
                    iss = it->second.first;
                    s.options.ts_ecr = it->second.second;  // RFC 7323: echo our TSval
                }
                const uint8_t flip = r.u8();
                if (flip & 0x80) iss ^= 1u << (flip & 31);
                s.flags = Flags::Ack;
                if (flip & 0x40) s.flags |= Flags::Psh;
                s.seq = SeqNum(irs + 1);
                s.ack = SeqNum(iss + 1);
                l.other(t, s);
                break;
            }
            case 2: {  // any ACK, RST or data segment
                s.flags = Flags{uint8_t(r.u8() & 0x3f)}.without(Flags::Syn);
                s.seq = SeqNum(r.u32());
                s.ack = SeqNum(r.u32());
                l.other(t, s);
                break;
            }
            case 3: {  // RST at exactly IRS + 1 (aborts a cached entry) or next to it
                s.flags = Flags::Rst;
                const tcp::SynCacheEntry* e = l.cache->find(t);
                s.seq = SeqNum((e ? e->irs.raw() : 0) + 1 + (r.u8() & 1));
                l.other(t, s);
                break;
            }
            case 4: l.advance(std::chrono::milliseconds(r.u16())); break;
            case 5: l.advance(std::chrono::seconds(r.u8() & 63)); break;
        }
        l.check();
    }
    // Everything half-open ends by itself: retries exhausted within ~63 s.
    for (int i = 0; i < 200; ++i) l.advance(1s);
    l.check();
    CHECK(l.cache->size() == 0);
    CHECK(l.wheel.size() == 0);
    static const bool trace = std::getenv("SLUICE_FUZZ_TRACE") != nullptr;
    if (trace)
        std::fprintf(stderr, "steps %d, SYN-ACKs with cookies %zu, established %llu\n", steps,
                     l.issued.size(), static_cast<unsigned long long>(l.established));
}

}  // namespace

int fuzz_tcp_listener_one(const uint8_t* data, size_t size) {
    run(data, size);
    return 0;
}

}  // namespace sluice::fuzz

SLUICE_FUZZ_ENTRY(sluice::fuzz::fuzz_tcp_listener_one)
