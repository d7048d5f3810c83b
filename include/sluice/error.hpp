#pragma once
// Errors of the library's calls (sluice/sluice.hpp). Data-path calls return them as values:
// nothing on a connection handle throws or allocates.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice {

enum class Errc : uint8_t {
    Ok,
    // --- misuse: nothing was changed ---------------------------------------------------
    WrongLcore,       // called from a thread other than the lcore that owns the connection
    NoConnection,     // the handle is empty, stale (its connection ended, the slot was
                      // reused) or the connection was already reported closed (on_close)
    InvalidArgument,  // a value out of range (port 0, buffer below kMinBuffer, ...)
    BufferTooLarge,   // a per-connection buffer above the stack's configured per-slot size
    Unsupported,      // not available in this version (see the message in the docs)
    NotRunning,       // the call needs the workers running (or not yet running)
    // --- the connection's state ---------------------------------------------------------
    Closing,      // send() or shutdown_send() after close() or shutdown_send()
    EndOfStream,  // receive(): the peer's FIN was reached, nothing more will come
    Reset,        // the peer reset the connection
    Refused,      // the peer answered our SYN with a RST
    TimedOut,     // retransmissions or keepalive probes exhausted
    Aborted,      // abort() was called
    // --- resources ------------------------------------------------------------------------
    NoMemory,         // connection pool or flow table full
    NoPorts,          // no free local port toward that peer
    TooManyHandlers,  // too many distinct Handlers or keepalive settings on one worker
    AddressInUse,     // listen(): the port is already a listener
    AddressFamily,    // connect() to an IPv6 address without an IPv6 address of ours
    Internal,
};

// A short stable name, e.g. "wrong lcore", "no connection".
constexpr std::string_view to_string(Errc e) noexcept {
    switch (e) {
        case Errc::Ok: return "ok";
        case Errc::WrongLcore: return "wrong lcore";
        case Errc::NoConnection: return "no connection";
        case Errc::InvalidArgument: return "invalid argument";
        case Errc::BufferTooLarge: return "buffer larger than the configured per-connection size";
        case Errc::Unsupported: return "unsupported";
        case Errc::NotRunning: return "not allowed in this phase of the stack";
        case Errc::Closing: return "connection closing";
        case Errc::EndOfStream: return "end of stream";
        case Errc::Reset: return "connection reset";
        case Errc::Refused: return "connection refused";
        case Errc::TimedOut: return "connection timed out";
        case Errc::Aborted: return "connection aborted";
        case Errc::NoMemory: return "out of connection slots";
        case Errc::NoPorts: return "no free local port";
        case Errc::TooManyHandlers: return "too many handler sets or option profiles";
        case Errc::AddressInUse: return "port already listening";
        case Errc::AddressFamily: return "no address of ours in that family (ip.address6)";
        case Errc::Internal: return "internal error";
    }
    return "?";
}

// The result of send() and receive(): bytes moved, and why not more.
struct IoResult {
    std::size_t bytes = 0;
    Errc error = Errc::Ok;
    bool ok() const noexcept { return error == Errc::Ok; }
};

}  // namespace sluice
