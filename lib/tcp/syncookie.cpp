// SYN cookies: key derivation, the cookie, the SYN-ACK and the final ACK (syncookie.hpp has
// the layout, the formula and the threat estimate).

#include "tcp/syncookie.hpp"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tcp/packed_tuple.hpp"
#include "tcp/siphash.hpp"
#include "tcp/time_wait.hpp"  // ts_clock

namespace sluice::tcp {

static_assert(crypto_shorthash_KEYBYTES == 16);  // the key file holds one SipHash key

namespace {

using Key = CookieSecrets::Key;

uint64_t siphash(const Key& k, const uint8_t* in, std::size_t n) noexcept {
    return siphash24(SipKey::from_bytes(k), in, n);
}

void put_u64(uint8_t* p, uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i));
}

// K = SipHash(master, tag | n | 0) || SipHash(master, tag | n | 1).
Key derive(const Key& master, uint8_t tag, uint64_t n) noexcept {
    Key k{};
    uint8_t in[10];
    in[0] = tag;
    put_u64(in + 1, n);
    for (uint8_t half = 0; half < 2; ++half) {
        in[9] = half;
        put_u64(k.data() + 8 * half, siphash(master, in, sizeof in));
    }
    return k;
}

// local addr | remote addr | lport | rport | ISN, the addresses 4 bytes (IPv4) or 16 (IPv6),
// ports and ISN big-endian: 16 or 40 bytes that both hashes start with, then p and m for H
// (25 or 49 bytes). The lengths tell the families apart.
constexpr std::size_t kFlow4Bytes = 16, kFlow6Bytes = 40, kMacExtra = 8 + 1;

struct Flow {
    uint8_t bytes[kFlow6Bytes + kMacExtra];
    bool v6;
};

template <std::size_t A>
void put_flow_of(uint8_t* in, const FourTuple& t, wire::SeqNum isn) noexcept {
    pack_tuple<A>(in, t);
    const uint32_t v = isn.raw();
    in[2 * A + 4] = uint8_t(v >> 24);
    in[2 * A + 5] = uint8_t(v >> 16);
    in[2 * A + 6] = uint8_t(v >> 8);
    in[2 * A + 7] = uint8_t(v);
}

Flow put_flow(const FourTuple& t, wire::SeqNum isn) noexcept {
    Flow f;
    f.v6 = t.local.addr.family != Family::Ipv4;
    if (f.v6)
        put_flow_of<16>(f.bytes, t, isn);
    else
        put_flow_of<4>(f.bytes, t, isn);
    return f;
}

// W: SipHash(K_w, flow). Constant lengths per family, so each call is unrolled.
uint32_t whitening(const Key& kw, const Flow& f) noexcept {
    const SipKey k = SipKey::from_bytes(kw);
    return uint32_t(f.v6 ? siphash24(k, f.bytes, kFlow6Bytes) : siphash24(k, f.bytes, kFlow4Bytes));
}

constexpr uint32_t kMacMask = (1u << 27) - 1;

// H mod 2^27: SipHash(K_p, flow | p | m). Appends p and m to the flow's bytes in place.
uint32_t mac(const Key& kp, Flow& f, uint64_t p, uint8_t m) noexcept {
    const SipKey k = SipKey::from_bytes(kp);
    const std::size_t n = f.v6 ? kFlow6Bytes : kFlow4Bytes;
    put_u64(f.bytes + n, p);
    f.bytes[n + 8] = m;
    const uint64_t h = f.v6 ? siphash24(k, f.bytes, kFlow6Bytes + kMacExtra)
                            : siphash24(k, f.bytes, kFlow4Bytes + kMacExtra);
    return uint32_t(h) & kMacMask;
}

// TSval low bits (Linux TS_OPT_*).
constexpr uint8_t kTsWscaleMask = 0x0f;  // 15: no window scaling
constexpr uint8_t kTsSack = 1u << 4;
constexpr uint8_t kTsEcn = 1u << 5;
constexpr uint32_t kTsBits = 6;

}  // namespace

// --- secrets --------------------------------------------------------------------------------

CookieSecrets::CookieSecrets(const Key& master, const Options& o) noexcept
    : master_(master), whiten_(derive(master, 'W', 0)), opt_(o) {
    opt_.period = std::clamp(opt_.period, kMinCookiePeriod, kMaxCookiePeriod);
    if (opt_.clock_skew < time::Duration{0}) opt_.clock_skew = time::Duration{0};
    if (opt_.clock_skew > opt_.period / 2) opt_.clock_skew = opt_.period / 2;
}

CookieSecrets CookieSecrets::random(const Options& o) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
    Key k{};
    randombytes_buf(k.data(), k.size());
    CookieSecrets s(k, o);
    sodium_memzero(k.data(), k.size());
    return s;
}

std::optional<CookieSecrets::Key> CookieSecrets::parse_key_file(std::string_view text,
                                                                std::string& error) {
    std::size_t line_no = 0;
    while (!text.empty()) {
        const std::size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        ++line_no;
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
            line.remove_prefix(1);
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
            line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        if (line.size() != 32) {
            error = "line " + std::to_string(line_no) + ": the secret must be exactly 32 hex " +
                    "digits (16 bytes), found " + std::to_string(line.size()) + " characters";
            return std::nullopt;
        }
        Key k{};
        for (std::size_t i = 0; i < 32; ++i) {
            const int c = std::tolower(static_cast<unsigned char>(line[i]));
            const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (v < 0) {
                error = "line " + std::to_string(line_no) + ", column " + std::to_string(i + 1) +
                        ": '" + std::string(1, line[i]) + "' is not a hex digit";
                return std::nullopt;
            }
            k[i / 2] = uint8_t(k[i / 2] << 4 | v);
        }
        if (std::all_of(k.begin(), k.end(), [](uint8_t b) { return b == 0; })) {
            error = "line " + std::to_string(line_no) + ": an all-zero secret is not a secret";
            return std::nullopt;
        }
        return k;
    }
    error = "no secret found (expected a line of 32 hex digits)";
    return std::nullopt;
}

std::optional<CookieSecrets> CookieSecrets::load(const std::string& path, std::string& error,
                                                 const Options& o) {
    std::ifstream f(path);
    if (!f) {
        error = "cannot open SYN cookie key file '" + path + "'";
        return std::nullopt;
    }
    std::ostringstream text;
    text << f.rdbuf();
    std::string why;
    auto key = parse_key_file(text.str(), why);
    if (!key) {
        error = "SYN cookie key file '" + path + "': " + why;
        return std::nullopt;
    }
    return CookieSecrets(*key, o);
}

uint64_t CookieSecrets::period_of(time::Instant now) const noexcept {
    const int64_t wall = now.ns() + opt_.wall_offset.count();
    return wall <= 0 ? 0 : uint64_t(wall) / uint64_t(opt_.period.count());
}

void CookieSecrets::rotate_if_due(time::Instant now) noexcept {
    const uint64_t p = period_of(now);
    if (p == cached_period_) return;
    const bool next = cached_period_ != UINT64_MAX && p == cached_period_ + 1;
    prev_ = next ? cur_ : derive(master_, 'K', p - 1);
    cur_ = derive(master_, 'K', p);
    cached_period_ = p;
}

CookieSecrets::Key CookieSecrets::period_key(uint64_t p) const noexcept {
    if (cached_period_ != UINT64_MAX) {
        if (p == cached_period_) return cur_;
        if (p + 1 == cached_period_) return prev_;
    }
    return derive(master_, 'K', p);
}

// --- the cookie -----------------------------------------------------------------------------

wire::SeqNum make_cookie(const CookieSecrets& s, const FourTuple& t, wire::SeqNum peer_isn,
                         uint8_t mss_index, time::Instant now) noexcept {
    Flow flow = put_flow(t, peer_isn);
    const uint64_t p = s.period_of(now);
    const uint8_t m = mss_index & 7u;
    const uint32_t w = whitening(s.whitening_key(), flow);
    const uint32_t raw =
        uint32_t(p & 3u) << 30 | uint32_t(m) << 27 | mac(s.period_key(p), flow, p, m);
    return wire::SeqNum(raw ^ w);
}

CookieDecode check_cookie(const CookieSecrets& s, const FourTuple& t, wire::SeqNum peer_isn,
                          wire::SeqNum cookie, time::Instant now) noexcept {
    Flow flow = put_flow(t, peer_isn);
    const uint32_t raw = cookie.raw() ^ whitening(s.whitening_key(), flow);
    const uint32_t tbits = raw >> 30;
    CookieDecode d;
    d.mss_index = uint8_t(raw >> 27 & 7u);
    // The live periods: current, previous, and the next one within clock_skew of it.
    const uint64_t cur = s.period_of(now);
    const uint64_t next = s.period_of(now + s.options().clock_skew);
    if (tbits == (cur & 3u)) {
        d.period = cur;
    } else if (cur > 0 && tbits == ((cur - 1) & 3u)) {
        d.period = cur - 1;
    } else if (next != cur && tbits == (next & 3u)) {
        d.period = next;
    } else {
        d.reject = CookieReject::Stale;
        return d;
    }
    if (mac(s.period_key(d.period), flow, d.period, d.mss_index) != (raw & kMacMask))
        d.reject = CookieReject::BadMac;
    return d;
}

// --- options --------------------------------------------------------------------------------

SynNegotiation negotiate_syn(const Config& cfg, const Segment& syn, Family family,
                             bool ecn) noexcept {
    const wire::TcpOptions& o = syn.options;
    SynNegotiation n;
    n.has_mss = o.has_mss;
    n.peer_mss = o.has_mss ? o.mss : default_peer_mss(family);
    n.ws_ok = cfg.window_scaling && o.has_wscale;
    n.peer_wscale = n.ws_ok ? std::min(o.wscale, kMaxWindowScale) : uint8_t(0);
    n.sack_ok = cfg.sack_permitted && o.sack_permitted;
    n.ts_ok = cfg.timestamps && o.has_timestamps;
    n.peer_tsval = n.ts_ok ? o.ts_val : 0;
    n.ecn_ok = ecn && syn.flags.has(Flags::Ece | Flags::Cwr);  // RFC 3168 6.1.1
    return n;
}

OutSegment build_syn_ack(const Config& cfg, const FourTuple& t, wire::SeqNum iss, wire::SeqNum irs,
                         const SynNegotiation& n, uint32_t ts_val) noexcept {
    OutSegment s;
    s.src_port = t.local.port;
    s.dst_port = t.remote.port;
    s.seq = iss;
    s.ack = irs + 1;
    s.flags = Flags::Syn | Flags::Ack;
    if (n.ecn_ok) s.flags |= Flags::Ece;  // RFC 3168 6.1.1: ECN-setup SYN-ACK
    s.window = uint16_t(std::min<uint32_t>(cfg.recv_buffer, 65535u));
    wire::TcpOptions& o = s.options;
    o.has_mss = true;
    o.mss = local_mss(cfg, t.local.addr.family);
    o.has_wscale = n.ws_ok;
    o.wscale = n.ws_ok ? offered_window_scale(cfg, cfg.recv_buffer) : uint8_t(0);
    o.sack_permitted = n.sack_ok;
    if (n.ts_ok) {
        o.has_timestamps = true;
        o.ts_val = ts_val;
        o.ts_ecr = n.peer_tsval;  // RFC 7323 4.2
    }
    return s;
}

uint8_t encode_ts_options(const SynNegotiation& n) noexcept {
    uint8_t v = n.ws_ok ? n.peer_wscale : kTsWscaleMask;
    if (n.sack_ok) v |= kTsSack;
    if (n.ecn_ok) v |= kTsEcn;
    return v;
}

uint32_t cookie_ts_val(uint32_t ts_now, uint8_t options) noexcept {
    uint32_t ts = (ts_now >> kTsBits << kTsBits) | options;
    if (ts > ts_now) ts -= 1u << kTsBits;  // never ahead of the clock (RFC 7323 5.4)
    return ts;
}

Connection::HandshakeParams handshake_params(const PassiveAccept& a) noexcept {
    Connection::HandshakeParams p;
    p.tuple = a.tuple;
    p.iss = a.iss;
    p.irs = a.irs;
    p.peer_syn_options = a.peer_syn_options;
    p.peer_syn_window = a.peer_syn_window;
    p.peer_ack_window = a.peer_ack_window;
    p.peer_last_tsval = a.peer_last_tsval;
    p.passive = true;
    p.syn_retransmitted = a.retransmitted;  // RFC 6298 (5.7), RFC 5681 3.1
    return p;
}

// --- the listener's two steps ---------------------------------------------------------------

OutSegment make_syn_ack(const Config& cfg, const CookieSecrets& s, const FourTuple& t,
                        const Segment& syn, time::Instant now, bool ecn) noexcept {
    SynNegotiation n = negotiate_syn(cfg, syn, t.local.addr.family, ecn);
    if (!n.ts_ok) n.ws_ok = n.sack_ok = n.ecn_ok = false;  // nowhere to keep them (see header)
    const uint8_t m = cookie_mss_index(n.peer_mss);
    const wire::SeqNum iss = make_cookie(s, t, syn.seq, m, now);
    return build_syn_ack(cfg, t, iss, syn.seq, n,
                         cookie_ts_val(ts_clock(now), encode_ts_options(n)));
}

std::optional<CookieAccept> check_ack(const Config& cfg, const CookieSecrets& s, const FourTuple& t,
                                      const Segment& ack, time::Instant now, CookieReject* why,
                                      bool ecn) noexcept {
    auto reject = [why](CookieReject r) {
        if (why) *why = r;
        return std::nullopt;
    };
    if (!ack.flags.has(Flags::Ack) || ack.flags.any(Flags::Syn | Flags::Rst))
        return reject(CookieReject::NotAck);
    const wire::SeqNum irs = ack.seq - 1;
    const CookieDecode d = check_cookie(s, t, irs, ack.ack - 1, now);
    if (d.reject != CookieReject::None) return reject(d.reject);

    CookieAccept a;
    a.tuple = t;
    a.iss = ack.ack - 1;
    a.irs = irs;
    a.peer_syn_window = ack.window;
    a.peer_ack_window = ack.window;
    wire::TcpOptions& o = a.peer_syn_options;
    o.has_mss = true;
    o.mss = kCookieMssTable[d.mss_index];
    if (ack.options.has_timestamps) {
        // Our TSval comes back in TSecr (Linux cookie_timestamp_decode). Bits claiming what
        // our Config would not have offered were never sent by us.
        if (!cfg.timestamps) return reject(CookieReject::BadOptions);
        const uint8_t bits = uint8_t(ack.options.ts_ecr & ((1u << kTsBits) - 1));
        const uint8_t ws = bits & kTsWscaleMask;
        if ((bits & kTsSack) && !cfg.sack_permitted) return reject(CookieReject::BadOptions);
        if (ws != kTsWscaleMask && (!cfg.window_scaling || ws > kMaxWindowScale))
            return reject(CookieReject::BadOptions);
        if ((bits & kTsEcn) && !ecn) return reject(CookieReject::BadOptions);
        o.has_timestamps = true;
        o.ts_val = ack.options.ts_val;
        o.has_wscale = ws != kTsWscaleMask;
        o.wscale = o.has_wscale ? ws : uint8_t(0);
        o.sack_permitted = (bits & kTsSack) != 0;
        a.peer_last_tsval = ack.options.ts_val;
        a.ecn_ok = (bits & kTsEcn) != 0;
    }
    if (why) *why = CookieReject::None;
    return a;
}

}  // namespace sluice::tcp
