#pragma once
// The input format of fuzz_tcp_connection, shared with the seed generator so hand-written
// seeds and the harness cannot drift apart. All multi-byte values are big-endian.
//
//   header:  setup(1) sizes(1) iss(4) peer_iss(4)
//   step:    op(1) operands...            (op is taken modulo kOpCount)
//
// Segment operands: flags(1) seq(1 [+2|4]) ack(1 [+2|4]) window(1 [+2]) options(1 [+...])
// payload(1). Selectors pick a base the connection knows (RCV.NXT, SND.UNA, ...) plus a
// small delta, so most injected segments pass the acceptability test; a raw 32-bit value is
// one choice among them.

#include <cstdint>

namespace sluice::fuzz::prog {

// setup byte
inline constexpr uint8_t kPassive = 0x01;       // listener + clone_listener, else open_active
inline constexpr uint8_t kTimestamps = 0x02;    // Config::timestamps
inline constexpr uint8_t kWindowScale = 0x04;   // Config::window_scaling
inline constexpr uint8_t kSack = 0x08;          // Config::sack_permitted
inline constexpr uint8_t kSmallMss = 0x10;      // Config::mss = 100: many segments per send
inline constexpr uint8_t kSwapTimeWait = 0x20;  // on TimeWait, swap the TCB for its entry
inline constexpr uint8_t kRfc1337Off = 0x40;    // Config::time_wait_ignores_rst = false
inline constexpr uint8_t kKeepalive = 0x80;     // set_keepalive(true) after each open

// sizes byte: bits 0-3 window_scale (% 15), 4-5 receive buffer, 6-7 send buffer (index)
inline constexpr uint32_t kBufferSizes[4] = {256, 1024, 4096, 70000};

enum Op : uint8_t {
    Inject,   // segment operands
    Inject2,  // the same (segments are most of the interesting work)
    Inject3,
    Inject4,
    Advance,   // sel(1) [+ u32 microseconds when sel >= 0xc0]; fires due timers
    FireNext,  // advance exactly to the earliest armed timer and fire it
    Send,      // len(1)
    Receive,   // max(1)
    Close,
    ShutdownSend,
    Abort,
    Keepalive,   // on(1)
    StaleTimer,  // kind(1): on_timer of a kind not yet due must change nothing
    Status,      // status() agrees with the TCB
    PollOutput,  // poll_output() without a pending more_output must be harmless
    kOpCount,
};

// flags(1): bit 7 set -> the next byte is the raw flag byte; else kFlagTable[b % 16].
inline constexpr uint8_t kFlagTable[16] = {
    0x10,  // ACK
    0x02,  // SYN
    0x12,  // SYN|ACK
    0x11,  // FIN|ACK
    0x18,  // PSH|ACK
    0x04,  // RST
    0x14,  // RST|ACK
    0x01,  // FIN
    0x03,  // SYN|FIN
    0x00,  // none
    0x30,  // URG|ACK
    0x19,  // FIN|PSH|ACK
    0x06,  // SYN|RST
    0xd0,  // ECE|CWR|ACK
    0x13,  // SYN|ACK|FIN
    0x15,  // RST|ACK|FIN
};

// seq(1): base = bits 5-7, delta = bits 0-4 as 0..15, -16..-1.
enum SeqBase : uint8_t {
    SeqRcvNxt,  // RCV.NXT (the peer's ISS before a SYN was accepted)
    SeqRcvNxt2,
    SeqPeerIss,      // the peer's ISS (a SYN)
    SeqRcvAdv,       // right edge of the window we advertised
    SeqPeerIssNext,  // peer ISS + 1
    SeqIrs,          // the IRS the connection holds
    SeqFar,          // RCV.NXT + u16 * 256
    SeqRaw,          // u32
};
// ack(1): same layout.
enum AckBase : uint8_t {
    AckSndNxt,
    AckSndUna,
    AckSndMax,
    AckIssNext,      // ISS + 1
    AckBelowWindow,  // SND.UNA - MAX.SND.WND (RFC 5961 5.2 edge)
    AckFar,          // SND.NXT + u16 * 256
    AckIss,
    AckRaw,  // u32
};

// window(1): 0xff -> u16 follows; else b << 8.
// options(1): bits: MSS(+u16) WS(+u8) SACK-perm TS(+tsval sel(1) [+u32]) ECR-raw(+u32)
// SACK(+count(1) + blocks of u16 offset and u16 length from SND.UNA).
inline constexpr uint8_t kOptMss = 0x01, kOptWs = 0x02, kOptSackOk = 0x04, kOptTs = 0x08,
                         kOptEcrRaw = 0x10, kOptSack = 0x20;
// tsval sel(1): < 0xf0 -> the peer's clock advances by sel; else u32 follows (raw TSval).
// payload(1): < 128 -> that many bytes; else (b - 128) * 80.
// Advance sel(1) < 0xc0 indexes kAdvanceTable (mod its size).

}  // namespace sluice::fuzz::prog
