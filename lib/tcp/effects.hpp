#pragma once
// The caller-owned sink a Connection writes its output into: segments to send, timer
// changes, application events. Fixed capacity, no allocation. An Effects serves one
// connection at a time: the host drains it (and calls clear()) before using it for another.
// Further calls on the same connection before draining are allowed (an application
// callback reacting to an event): a pure ACK still in the sink then merges into the next
// segment that carries the same acknowledgment point, timer slots keep the last change,
// and events are not repeated.
//
// The host reuses one sink per nesting level, so clear() is O(1): only the first
// segment_count segments, event_count events and the timer slots named in timer_changed
// mean anything; the rest is whatever an earlier call left there.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "tcp/segment.hpp"
#include "time/instant.hpp"
#include "wire/seq.hpp"

namespace sluice::tcp {

// The host maps each kind to one intrusive timer-wheel node per connection.
enum class TimerKind : uint8_t {
    Retransmit,  // RTO for data, SYN, SYN-ACK and FIN (RFC 6298)
    DelayedAck,  // RFC 9293 3.8.6.3 delayed ACK (Config::delayed_ack_timeout)
    Persist,     // zero-window probing (RFC 9293 3.8.6.1)
    Keepalive,   // RFC 1122 4.2.3.6
    FinWait2,    // orphaned FIN-WAIT-2 timeout (Linux tcp_fin_timeout)
    TimeWait,    // 2 x MSL (RFC 9293 3.10.7.4)
};
inline constexpr std::size_t kTimerKindCount = 6;

enum class TimerAction : uint8_t { None, Arm, Cancel };

struct TimerOp {
    TimerAction action = TimerAction::None;
    time::Instant at;  // when action == Arm
};

enum class CloseReason : uint8_t {
    Normal,   // both FINs exchanged and acknowledged (or LISTEN/SYN-SENT closed by the user)
    Reset,    // the peer reset a synchronized connection (RFC 9293 3.10.7.4 second step)
    Refused,  // RST in reply to our SYN (RFC 9293 3.10.7.3 second step)
    Timeout,  // retransmissions or keepalive probes exhausted
    Aborted,  // the user called abort()
};

enum class EventKind : uint8_t {
    Connected,         // reached ESTABLISHED
    DataReadable,      // new in-order bytes in the receive buffer
    SendSpace,         // send() was short before and there is room again
    PeerClosed,        // the peer's FIN arrived: receive() will return end of stream once drained
    Closed,            // the connection is over for the application; see reason
    TimeWait,          // entered TIME-WAIT: the host may swap the TCB for a TimeWaitEntry
    ReturnedToListen,  // a passive open fell back to LISTEN (RST or timeout in SYN-RECEIVED)
    Release,           // reached CLOSED: the host may free the TCB and its buffers
    Reopen,            // TIME-WAIT accepted a new SYN (RFC 6191): hand it to the listener
                       // with an ISS after `seq` (see TimeWaitResult::iss_after)
};

inline constexpr std::size_t kEventKindCount = static_cast<std::size_t>(EventKind::Reopen) + 1;

struct Event {
    EventKind kind = EventKind::Connected;
    CloseReason reason = CloseReason::Normal;  // for Closed
    wire::SeqNum seq;                          // for Reopen
};

struct Effects {
    // Bound: a call emits at most one control segment (ACK, RST, SYN, keepalive or window
    // probe) plus a run of data segments (retransmissions first, then new data) that stops
    // while one slot is still free (then
    // more_output is set and the host calls Connection::poll_output() after draining). So a
    // call never overflows a sink that has at least one free slot when the call starts;
    // the host drains before that is no longer true.
    static constexpr std::size_t kMaxSegments = 16;
    // Bound: push_event() keeps one event per kind, and there are kEventKindCount kinds.
    static constexpr std::size_t kMaxEvents = 10;

    std::array<OutSegment, kMaxSegments> segments;
    std::size_t segment_count = 0;
    // One slot per kind: the last change made during the call wins. A slot is meaningful
    // only while its bit is set in timer_changed (read it through timer()).
    std::array<TimerOp, kTimerKindCount> timer_slots;
    std::array<Event, kMaxEvents> events;
    std::size_t event_count = 0;
    uint8_t timer_changed = 0;  // bit per TimerKind (timer_bit)
    // The connection stopped sending data because the sink was full: drain, then call
    // Connection::poll_output().
    bool more_output = false;

    static constexpr uint8_t timer_bit(TimerKind k) noexcept {
        return uint8_t(1u << static_cast<unsigned>(k));
    }

    void clear() noexcept {
        segment_count = 0;
        event_count = 0;
        timer_changed = 0;
        more_output = false;
    }
    // Nothing to drain.
    bool empty() const noexcept {
        return segment_count == 0 && event_count == 0 && timer_changed == 0 && !more_output;
    }

    std::span<const OutSegment> sent() const noexcept { return {segments.data(), segment_count}; }
    std::span<const Event> app_events() const noexcept { return {events.data(), event_count}; }
    // The change to kind k during the call (action None if there was none).
    TimerOp timer(TimerKind k) const noexcept {
        if ((timer_changed & timer_bit(k)) == 0) return {};
        return timer_slots[static_cast<std::size_t>(k)];
    }

    std::size_t segment_room() const noexcept { return kMaxSegments - segment_count; }

    // Returns false (and sends nothing) if full; callers check segment_room() first.
    bool push_segment(const OutSegment& s) noexcept {
        if (segment_count == kMaxSegments) return false;
        segments[segment_count++] = s;
        return true;
    }
    // The connection's send buffer is being flushed (abort, reset): segments that carry its
    // bytes go too (their payload would dangle); control segments stay.
    void drop_payloads() noexcept {
        std::size_t keep = 0;
        for (std::size_t i = 0; i < segment_count; ++i)
            if (segments[i].payload.empty()) segments[keep++] = segments[i];
        segment_count = keep;
    }
    void push_event(Event e) noexcept {
        for (std::size_t i = 0; i < event_count; ++i)
            if (events[i].kind == e.kind) return;
        if (event_count < kMaxEvents) events[event_count++] = e;
    }
    void arm(TimerKind k, time::Instant at) noexcept {
        timer_slots[static_cast<std::size_t>(k)] = {TimerAction::Arm, at};
        timer_changed = uint8_t(timer_changed | timer_bit(k));
    }
    void cancel(TimerKind k) noexcept {
        timer_slots[static_cast<std::size_t>(k)] = {TimerAction::Cancel, {}};
        timer_changed = uint8_t(timer_changed | timer_bit(k));
    }
};

static_assert(Effects::kMaxEvents >= kEventKindCount, "one slot per event kind");

}  // namespace sluice::tcp
