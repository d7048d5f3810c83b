#pragma once
// The eleven connection states of RFC 9293 3.3.2, their RFC spellings, and constexpr sets of
// states. Rules are written as set membership, never as comparisons of the enum's ordinals.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace sluice::tcp {

enum class State : uint8_t {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
};

inline constexpr std::size_t kStateCount = 11;

// RFC 9293 spelling: "SYN-RECEIVED", "FIN-WAIT-1", ...
constexpr std::string_view state_name(State s) noexcept {
    switch (s) {
        case State::Closed: return "CLOSED";
        case State::Listen: return "LISTEN";
        case State::SynSent: return "SYN-SENT";
        case State::SynReceived: return "SYN-RECEIVED";
        case State::Established: return "ESTABLISHED";
        case State::FinWait1: return "FIN-WAIT-1";
        case State::FinWait2: return "FIN-WAIT-2";
        case State::CloseWait: return "CLOSE-WAIT";
        case State::Closing: return "CLOSING";
        case State::LastAck: return "LAST-ACK";
        case State::TimeWait: return "TIME-WAIT";
    }
    return "?";
}

// A set of states as a bitmask.
class StateSet {
public:
    constexpr StateSet(std::initializer_list<State> states) noexcept {
        for (State s : states) bits_ = uint16_t(bits_ | bit(s));
    }
    constexpr bool contains(State s) const noexcept { return (bits_ & bit(s)) != 0; }

private:
    static constexpr uint16_t bit(State s) noexcept {
        return uint16_t(1u << static_cast<unsigned>(s));
    }
    uint16_t bits_ = 0;
};

namespace states {
// RFC 9293 3.10.7.4 "synchronized states": the handshake has completed on both sides.
inline constexpr StateSet kSynchronized{State::Established, State::FinWait1, State::FinWait2,
                                        State::CloseWait,   State::Closing,  State::LastAck,
                                        State::TimeWait};
// We may still send new data (before our FIN is queued or sent). RFC 9293 3.10.2.
inline constexpr StateSet kSendOpen{State::SynSent, State::SynReceived, State::Established,
                                    State::CloseWait};
// Queued data and our FIN may go out in these states (RFC 9293 3.10.2, 3.10.4).
inline constexpr StateSet kCanOutput{State::Established, State::CloseWait, State::FinWait1,
                                     State::LastAck, State::Closing};
// Peer's data is accepted: RFC 9293 3.10.7.4 seventh step.
inline constexpr StateSet kReceivesText{State::Established, State::FinWait1, State::FinWait2};
// Our FIN has been queued (CLOSE or shutdown of the send side was called).
inline constexpr StateSet kFinQueued{State::FinWait1, State::FinWait2, State::Closing,
                                     State::LastAck, State::TimeWait};
// Peer's FIN has been received.
inline constexpr StateSet kPeerFinReceived{State::CloseWait, State::Closing, State::LastAck,
                                           State::TimeWait};
// Keepalive probes are sent in these (RFC 1122 4.2.3.6: an idle synchronized connection).
inline constexpr StateSet kKeepalive{State::Established, State::CloseWait, State::FinWait2};
}  // namespace states

}  // namespace sluice::tcp
