#pragma once
// RFC 5961 7: challenge ACKs (3.2 in-window RST, 4 SYN in a synchronized state) are rate
// limited, so a blind attacker cannot make us a reflector.
//
// One limiter per lcore, shared by its connections and TIME-WAIT entries. A fixed budget
// shared by all connections is itself a side channel (CVE-2016-5696: an off-path attacker
// counted the challenge ACKs its own connection got to learn whether another connection's
// window had been hit), so each one-second window gets a budget drawn at random in
// [limit/2, 3*limit/2), as Linux does since that CVE. limit 0 turns the limit off.

#include <cstdint>

#include "time/instant.hpp"

namespace sluice::tcp {

class ChallengeAckLimiter {
public:
    // seed: any value from a CSPRNG (the host draws it at start); 0 is replaced.
    void configure(uint32_t per_second, uint64_t seed) noexcept {
        limit_ = per_second;
        rng_ = seed != 0 ? seed : 0x9e3779b97f4a7c15ull;
        window_end_ = time::Instant{};
        left_ = 0;
    }

    // True if a challenge ACK may be sent now; false means skip it (TCPACKSkippedChallenge).
    bool allow(time::Instant now) noexcept {
        if (limit_ == 0) return true;
        if (now >= window_end_) {
            window_end_ = now + std::chrono::seconds(1);
            left_ = limit_ / 2 + uint32_t(next() % limit_);
        }
        if (left_ == 0) return false;
        --left_;
        return true;
    }

    uint32_t limit() const noexcept { return limit_; }

private:
    uint64_t next() noexcept {  // xorshift64*: cheap, and the seed is secret
        rng_ ^= rng_ >> 12;
        rng_ ^= rng_ << 25;
        rng_ ^= rng_ >> 27;
        return rng_ * 0x2545f4914f6cdd1dull;
    }

    uint32_t limit_ = 0;
    uint32_t left_ = 0;
    time::Instant window_end_;
    uint64_t rng_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace sluice::tcp
