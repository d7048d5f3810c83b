#pragma once
// SYN cookies (RFC 4987 3.6): the SYN-ACK's sequence number proves, when it comes back in
// the final ACK, that we answered this SYN, so a listener keeps no state per SYN. Models:
// Linux net/ipv4/syncookies.c (options in the TSval, MSS table) and FreeBSD tcp_syncache.c
// (layout with fields, a MAC in the rest).
//
// Secrets. A 128-bit master secret (CSPRNG at start, or a key file shared by the hosts
// behind one ECMP group) never keys a cookie itself. Each period p (64 s by default, 60-120 s
// allowed) has its own key, derived without state (SipHash-2-4, tcp/siphash.hpp; the same
// function as libsodium's crypto_shorthash, so a key file derives the same keys as before):
//
//     K_p = SipHash(master, 'K' | p | 0) || SipHash(master, 'K' | p | 1)      (p: u64 LE)
//     K_w = SipHash(master, 'W' | 0 | 0) || SipHash(master, 'W' | 0 | 1)      (whitening)
//     p   = floor((now + wall_offset) / period)
//
// so the secret in use rotates every period, cookies of the current and the previous period
// validate, older ones do not, and hosts with the same file and synchronised clocks (the
// host passes wall_offset = wall clock - Instant) mint and accept each other's cookies with
// no coordination. Near a period boundary a cookie of the next period is also accepted
// (clock_skew, 1 s by default), so small skew between ECMP hosts costs nothing.
//
// Cookie. Formula first (a | b is concatenation, ports and ISN big-endian, addresses packed:
// 4 bytes for IPv4, 16 for IPv6, so the flow is 16 or 40 bytes and the lengths tell the
// families apart):
//
//     H    = SipHash(K_p, local addr | remote addr | lport | rport | ISN | p | m)
//     raw  = (p mod 4) << 30 | m << 27 | (H mod 2^27)
//     W    = SipHash(K_w, local addr | remote addr | lport | rport | ISN) mod 2^32
//     ISS  = raw XOR W
//
//      31 30 29   27 26                                                  0
//     +-----+-------+-----------------------------------------------------+
//     |  t  |   m   |                 H mod 2^27 (MAC)                     |
//     +-----+-------+-----------------------------------------------------+
//       t  period number mod 4: 2 bits pick the key without trying each
//       m  index into kCookieMssTable (the peer's MSS, rounded down)
//       all 32 bits then whitened by W, so the ISS stays unpredictable (RFC 6528 spirit)
//       and an observer learns neither t nor m
//
// The final ACK proves the cookie: ACK - 1 unwhitened gives t and m; t must name the
// current or previous period (or the next one within clock_skew of it), and the 27-bit MAC
// must match H under that period's key.
//
// Threat estimate (RFC 4987 3.6). A blind forger who sends random ACKs for some tuple and
// ISN of its choice sees nothing of W, so each try validates with probability
//     2/4 (t names a live period) x 2^-27 (MAC) = 2^-28 ~ 3.7e-9
// (3/4 x 2^-27 ~ 5.6e-9 within clock_skew before a boundary). At 14.88 Mpps (10 GbE line
// rate, 64-byte frames) that is one forged connection every ~18 s; at 1 Mpps one every
// ~4.5 min. Each costs one TCB, reclaimed by the usual timeouts. In `auto` mode the policy
// (syn_policy.hpp) accepts cookies only while cookies were sent recently, as Linux
// (tcp_synq_no_recent_overflow) and FreeBSD (SYNCOOKIE_LIFETIME) do. SipHash-2-4 is a PRF
// under a 128-bit key: without it no strategy beats guessing. A cookie costs two SipHash
// calls per SYN and one or two per ACK (two more for a period key not cached).
//
// Options. With RFC 7323 timestamps, the SYN-ACK's TSval carries in its low 6 bits what the
// peer's SYN offered (Linux cookie_init_timestamp), and the final ACK echoes it in TSecr:
//
//      31                                 6    5      4     3  2  1  0
//     +------------------------------------+-----+------+-------------+
//     |   ms clock, rounded down to 64 ms  | ECN | SACK | peer wscale |  (15: no wscale)
//     +------------------------------------+-----+------+-------------+
//
// The TSval is the ms clock with its low 6 bits replaced, minus 64 if that would exceed the
// clock: it lies in (clock - 64 ms, clock], so every later TSval of the connection (the ms
// clock, ts_clock) is at least as large, as RFC 7323 5.4 needs.
//
// Without timestamps (the peer offered none, or Config::timestamps is off) the SYN-ACK
// offers only MSS and the ACK can tell us nothing more, as Linux does (it clears the options
// of a cookie SYN without TSopt). So lost are: window scaling (both directions limited to
// 64 KB windows: at most 64 KB per RTT, ~5 Mbit/s at 100 ms), SACK (loss recovery without
// selective acknowledgments), ECN. Also lost in every case: the SYN's window field and TSval
// (the ACK's are used instead) and an MSS between table entries (rounded down). Nothing of
// this is offered and then forgotten: what the SYN-ACK offers is exactly what the ACK
// restores. The SYN cache (syn_cache.hpp) keeps all options.
//
// Pure: no I/O, no clock reads, no allocation, noexcept on the data path. One CookieSecrets
// per lcore (they are small; copies agree).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tcp/config.hpp"
#include "tcp/connection.hpp"
#include "tcp/segment.hpp"
#include "tcp/tuple.hpp"
#include "time/instant.hpp"
#include "wire/seq.hpp"
#include "wire/tcp_options.hpp"

namespace sluice::tcp {

// The peer's MSS, rounded down to one of these (3 bits). FreeBSD's table (from "An Analysis
// of TCP Maximum Segment Sizes", Alcock and Nelson, 2011: 216 .2%, 536 .3%, 1200 5%, 1360 7%,
// 1400 7%, 1440 20%, 1452 15%, 1460 45%), with 1200 raised to 1220 (IPv6 minimum MTU 1280 -
// 60, Linux's IPv6 table) and 1452 (PPPoE) traded for 8960 (9000-byte jumbo frames - 40):
// a PPPoE peer loses 12 bytes a segment, a jumbo peer keeps its 6x larger segments.
inline constexpr std::array<uint16_t, 8> kCookieMssTable{216,  536,  1220, 1360,
                                                         1400, 1440, 1460, 8960};

inline constexpr time::Duration kDefaultCookiePeriod = 64s;  // issue 6: 60 to 120 s
inline constexpr time::Duration kMinCookiePeriod = 60s;
inline constexpr time::Duration kMaxCookiePeriod = 120s;
inline constexpr time::Duration kDefaultCookieClockSkew = 1s;

// Index of the largest table entry <= mss (entry 0 for anything smaller).
constexpr uint8_t cookie_mss_index(uint16_t mss) noexcept {
    uint8_t i = kCookieMssTable.size() - 1;
    while (i > 0 && kCookieMssTable[i] > mss) --i;
    return i;
}

struct CookieOptions {
    time::Duration period = kDefaultCookiePeriod;  // clamped to [60 s, 120 s]
    time::Duration clock_skew = kDefaultCookieClockSkew;
    // Added to `now` to get the wall clock (ns since the Unix epoch) so that hosts sharing a
    // key file count the same periods. The host measures it once at set-up.
    time::Duration wall_offset{0};
};

class CookieSecrets {
public:
    using Key = std::array<uint8_t, 16>;

    using Options = CookieOptions;

    // A master secret from the CSPRNG (sodium_init + randombytes_buf). Set-up code: throws
    // std::runtime_error if libsodium cannot initialise.
    static CookieSecrets random(const Options& o);
    static CookieSecrets random() { return random(Options{}); }
    // A given master secret (tests, or loaded by the caller).
    explicit CookieSecrets(const Key& master, const Options& o = {}) noexcept;

    // Key file format (text): blank lines and lines starting with '#' are ignored; the first
    // other line is the master secret, exactly 32 hex digits (upper or lower case), optional
    // surrounding spaces; any further lines are ignored. Make one with
    //     head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; echo
    // and give the same file (mode 0600) to every host of an ECMP group; the hosts also
    // need the same period and clocks within clock_skew (NTP is plenty).
    // Returns the secrets, or nullopt with `error` saying what is wrong and where.
    static std::optional<CookieSecrets> load(const std::string& path, std::string& error,
                                             const Options& o = {});
    static std::optional<Key> parse_key_file(std::string_view text, std::string& error);

    // Caches the keys of the current and previous periods when the period has changed. The
    // cookie functions are correct without it (they derive an uncached key), only slower;
    // call it once per loop turn.
    void rotate_if_due(time::Instant now) noexcept;

    uint64_t period_of(time::Instant now) const noexcept;
    // K_p: cached for the current and previous period, else derived (two SipHash calls).
    Key period_key(uint64_t p) const noexcept;
    const Key& whitening_key() const noexcept { return whiten_; }
    const Options& options() const noexcept { return opt_; }
    // How long after minting a cookie can still validate: two periods plus the skew.
    time::Duration lifetime() const noexcept { return 2 * opt_.period + opt_.clock_skew; }

private:
    Key master_;
    Key whiten_;
    Options opt_;
    uint64_t cached_period_ = UINT64_MAX;
    Key cur_{}, prev_{};
};

// What a listener agreed to from a SYN: the peer's offer and-ed with our Config.
struct SynNegotiation {
    uint16_t peer_mss = kDefaultPeerMss;  // as announced (default_peer_mss() without the option)
    bool has_mss = false;
    uint8_t peer_wscale = 0;  // clamped to 14 (RFC 7323 2.3); meaningful with ws_ok
    bool ws_ok = false, sack_ok = false, ts_ok = false, ecn_ok = false;
    uint32_t peer_tsval = 0;  // the SYN's TSval: our SYN-ACK's TSecr
};
// `ecn`: answer an ECN-setup SYN (ECE|CWR, RFC 3168 6.1.1) with ECE. The core has no ECN yet.
// `family`: the connection's (the default peer MSS differs, RFC 9293 3.7.1).
SynNegotiation negotiate_syn(const Config& cfg, const Segment& syn, Family family,
                             bool ecn = false) noexcept;

// The SYN-ACK <SEQ=iss><ACK=SYN.SEQ+1><CTL=SYN,ACK>: window min(recv_buffer, 65535), never
// scaled (RFC 7323 2.2); MSS always; WS, SACK-permitted, TS (TSecr = the SYN's TSval) as
// negotiated; ECE with ecn_ok.
OutSegment build_syn_ack(const Config& cfg, const FourTuple& t, wire::SeqNum iss, wire::SeqNum irs,
                         const SynNegotiation& n, uint32_t ts_val) noexcept;

// Everything needed to create the ESTABLISHED connection (cookie or SYN cache).
struct PassiveAccept {
    FourTuple tuple;
    wire::SeqNum iss, irs;
    wire::TcpOptions peer_syn_options;  // as the SYN offered them (what is known of it)
    uint16_t peer_syn_window = 0;       // the SYN's window field (cookies: the ACK's)
    uint16_t peer_ack_window = 0;       // the final ACK's window field
    uint32_t peer_last_tsval = 0;       // the final ACK's TSval
    bool ecn_ok = false;                // ECN negotiated (for when the core does ECN)
    bool retransmitted = false;  // the SYN or SYN-ACK was sent again (SYN cache; RFC 6298 (5.7))
};
using CookieAccept = PassiveAccept;

// For Connection::establish_directly() (passive). Then give the same ACK segment to
// Connection::on_segment(): it acknowledges nothing new, and its data or FIN is taken.
Connection::HandshakeParams handshake_params(const PassiveAccept& a) noexcept;

// --- the cookie itself --------------------------------------------------------------------

// The cookie (our ISS) for this tuple, the peer's ISN and MSS index at time now.
wire::SeqNum make_cookie(const CookieSecrets& s, const FourTuple& t, wire::SeqNum peer_isn,
                         uint8_t mss_index, time::Instant now) noexcept;

enum class CookieReject : uint8_t {
    None,
    NotAck,      // not an ACK, or SYN or RST set: not a cookie's answer
    Stale,       // t names no live period (older than the previous one)
    BadMac,      // the MAC does not match: forged, corrupted, or another host's secret
    BadOptions,  // TSecr claims options our Config does not allow (never sent by us)
};

struct CookieDecode {
    CookieReject reject = CookieReject::None;
    uint8_t mss_index = 0;
    uint64_t period = 0;
};
// Checks `cookie` for the tuple and peer ISN at now.
CookieDecode check_cookie(const CookieSecrets& s, const FourTuple& t, wire::SeqNum peer_isn,
                          wire::SeqNum cookie, time::Instant now) noexcept;

// --- the listener's two steps ---------------------------------------------------------------

// The SYN-ACK for `syn` (SYN set, ACK and RST clear: the host checks), its ISS a cookie.
// Options as described above; the caller just emits it and forgets the SYN.
OutSegment make_syn_ack(const Config& cfg, const CookieSecrets& s, const FourTuple& t,
                        const Segment& syn, time::Instant now, bool ecn = false) noexcept;

// A segment for a listener with no flow: if it is the final ACK of a cookie handshake (ACK,
// no SYN, no RST; FIN and data allowed), with SEG.ACK - 1 a valid cookie for SEG.SEQ - 1,
// returns what establish_directly() needs. Otherwise nullopt, and *why says why.
std::optional<CookieAccept> check_ack(const Config& cfg, const CookieSecrets& s, const FourTuple& t,
                                      const Segment& ack, time::Instant now,
                                      CookieReject* why = nullptr, bool ecn = false) noexcept;

// The 6 low TSval bits (exposed for tests): encode, and the TSval built around them.
uint8_t encode_ts_options(const SynNegotiation& n) noexcept;
uint32_t cookie_ts_val(uint32_t ts_now, uint8_t options) noexcept;

}  // namespace sluice::tcp
