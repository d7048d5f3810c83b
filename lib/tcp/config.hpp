#pragma once
// Per-stack TCP settings. Every default cites where it comes from.

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "tcp/tuple.hpp"
#include "time/instant.hpp"

namespace sluice::tcp {

using namespace std::chrono_literals;

// RFC 9293 3.7.1: the MSS assumed when the peer sends no MSS option (IPv4; 1220 for IPv6).
inline constexpr uint16_t kDefaultPeerMss = 536;
inline constexpr uint16_t kDefaultPeerMss6 = 1220;
// The IPv6 header is 20 bytes longer than IPv4's without options (RFC 8200 3).
inline constexpr uint16_t kIpv6ExtraHeader = 20;

constexpr uint16_t default_peer_mss(Family f) noexcept {
    return f == Family::Ipv6 ? kDefaultPeerMss6 : kDefaultPeerMss;
}
// RFC 7323 2.3: shift counts above 14 are used as 14.
inline constexpr uint8_t kMaxWindowScale = 14;
// RFC 7323 5.5: TS.Recent is invalid after this long without a segment from the peer.
inline constexpr time::Duration kPawsIdleLimit = std::chrono::hours(24 * 24);
// RFC 6298 (2.1): the RTO before any RTT sample.
inline constexpr time::Duration kInitialRto = 1s;
// RFC 6298 (5.7): RTO after a handshake whose SYN (or SYN-ACK) was retransmitted.
inline constexpr time::Duration kRtoAfterSynLoss = 3s;
// RFC 6298 (2.5): "a maximum value MAY be placed on RTO provided it is at least 60 seconds";
// 120 s as Linux TCP_RTO_MAX (so 6 SYN retries give up after 127 s, as on Linux).
inline constexpr time::Duration kMaxRto = 120s;
// RFC 6298 (2.4) says the RTO SHOULD be rounded up to 1 s; we use Linux's TCP_RTO_MIN of
// 200 ms, as RFC 8961 4 permits with a conservative backoff (ours doubles to 120 s). With
// delayed ACKs at 40 ms a 200 ms floor leaves room for the peer's ACK delay.
inline constexpr time::Duration kDefaultMinRto = 200ms;
// Linux TCP_DELACK_MIN; RFC 9293 3.8.6.3 (RFC 1122 4.2.3.2): the delay MUST be under 0.5 s.
inline constexpr time::Duration kDefaultDelayedAck = 40ms;
// RFC 6928 2: IW = min(10*MSS, max(2*MSS, 14600)).
inline constexpr uint8_t kDefaultInitialWindow = 10;
// RFC 9293 3.4.2 (and 3.10.7.4): MSL, "arbitrarily defined to be 2 minutes"; 30 s as Linux.
inline constexpr time::Duration kDefaultMsl = 30s;
// Linux net.ipv4.tcp_fin_timeout.
inline constexpr time::Duration kDefaultFinWait2Timeout = 60s;
// RFC 1122 4.2.3.6: keepalive idle "MUST default to no less than two hours".
inline constexpr time::Duration kDefaultKeepaliveIdle = 7200s;
// 75 s between probes and 10 probes, as in the BSD TCP design this project follows
// (tcp_keepintvl, tcp_keepcnt); Linux has the same interval but 9 probes.
inline constexpr time::Duration kDefaultKeepaliveInterval = 75s;
inline constexpr uint8_t kDefaultKeepaliveCount = 10;
// Linux net.ipv4.tcp_syn_retries (and tcp_synack_retries is 5; we use one value for both).
inline constexpr uint8_t kDefaultSynRetries = 6;
// Linux net.ipv4.tcp_retries2 (RFC 1122 4.2.3.5 R2: at least 100 s; 15 backed-off RTOs >> 100 s).
inline constexpr uint8_t kDefaultMaxRetries = 15;
// RFC 9293 3.4.3 quiet time. Default 0, deliberately: RFC 6528 ISNs are keyed by a secret
// drawn fresh at every start, so a restarted stack's sequence space is unrelated to the old
// one's (an old duplicate lands in a new window with probability ~ window/2^32), and
// timestamps (RFC 7323 PAWS) reject old duplicates on connections that use them. Linux
// ships without a quiet time for the same reasons. Set it to the MSL for the strict rule.
inline constexpr time::Duration kDefaultQuietTime = 0s;

struct Config {
    // Our MSS: what we announce and the largest payload we send (RFC 9293 3.7.1);
    // 1460 = Ethernet MTU 1500 - 20 (IPv4) - 20 (TCP).
    uint16_t mss = 1460;
    // Window scaling (RFC 7323 2): offered if true, with the smallest shift that lets the
    // receive buffer be advertised whole, at most window_scale (see offered_window_scale).
    bool window_scaling = true;
    uint8_t window_scale = 7;
    bool sack_permitted = true;  // RFC 2018: offered; blocks sent, and used (RFC 6675 recovery)
    bool timestamps = true;      // RFC 7323 3
    // Per-connection budgets in bytes for the mbuf send and receive buffers (see Buffers).
    uint32_t send_buffer = 64 * 1024;
    uint32_t recv_buffer = 64 * 1024;

    time::Duration msl = kDefaultMsl;
    time::Duration fin_wait_2_timeout = kDefaultFinWait2Timeout;
    time::Duration keepalive_idle = kDefaultKeepaliveIdle;
    time::Duration keepalive_interval = kDefaultKeepaliveInterval;
    uint8_t keepalive_count = kDefaultKeepaliveCount;
    uint8_t syn_retries = kDefaultSynRetries;
    uint8_t max_retries = kDefaultMaxRetries;
    time::Duration initial_rto = kInitialRto;
    time::Duration max_rto = kMaxRto;
    time::Duration min_rto = kDefaultMinRto;
    // RFC 9293 3.8.6.3: delay ACKs of in-order data by at most delayed_ack_timeout, and ACK
    // at least every second full-sized segment (RFC 5681 4.2). Off: every segment is ACKed.
    bool delayed_ack = true;
    time::Duration delayed_ack_timeout = kDefaultDelayedAck;
    // RFC 6928 initial window in segments: IW = min(N*MSS, max(2*MSS, N*1460)); 10 gives
    // exactly RFC 6928's formula. (Linux: the initcwnd route attribute.)
    uint8_t initial_window = kDefaultInitialWindow;
    // RFC 8985 7 tail loss probe (with SACK; Linux net.ipv4.tcp_early_retrans >= 3).
    bool tail_loss_probe = true;
    // RFC 896 / RFC 9293 3.7.4 Nagle's algorithm for new connections (TCP_NODELAY off).
    bool nagle = true;
    time::Duration quiet_time = kDefaultQuietTime;
    // RFC 1337 fix F1: ignore RST in TIME-WAIT (prevents TIME-WAIT assassination). Linux
    // defaults to the RFC 9293 3.10.7.4 behaviour (tcp_rfc1337 = 0); we default to RFC 1337.
    bool time_wait_ignores_rst = true;
    // RFC 5961 7: challenge ACKs per second per lcore (randomised around this; see
    // challenge_ack.hpp); 0 means no limit. Applied by the host through Stats.
    uint32_t challenge_ack_limit = 1000;
};

// The MSS we announce and send at most: Config::mss is the IPv4 figure (MTU - 20 - 20, RFC
// 9293 3.7.1); over IPv6 the fixed header takes 20 bytes more.
constexpr uint16_t local_mss(const Config& c, Family f) noexcept {
    return f == Family::Ipv6 && c.mss > kIpv6ExtraHeader ? uint16_t(c.mss - kIpv6ExtraHeader)
                                                          : c.mss;
}

// The shift we offer for a receive buffer of `buffer` bytes (RFC 7323 2.3): the smallest that
// fits the whole buffer in the 16-bit field, as Linux picks it. A larger one only coarsens
// the window, and one past log2(buffer) would round a small free space up beyond the buffer
// or down to zero (a fuzz finding).
constexpr uint8_t offered_window_scale(const Config& c, std::size_t buffer) noexcept {
    if (!c.window_scaling) return 0;
    const uint8_t cap = c.window_scale < kMaxWindowScale ? c.window_scale : kMaxWindowScale;
    uint8_t s = 0;
    while (s < cap && (buffer >> s) > 65535) ++s;
    return s;
}

}  // namespace sluice::tcp
