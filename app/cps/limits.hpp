#pragma once
// What bounds the rate sluice-cps can reach with its configuration, said at start, and which
// of those bounds a run ran into, said in the report (issue 22 item 2). A start that cannot
// happen for a local reason (no free slot, no reusable port, a full flow table) is not an
// error of the server: it waits, and each wait is counted once, with its cause and length.

#include <array>
#include <cstdint>
#include <string>

#include "cps_config.hpp"
#include "time/instant.hpp"

namespace sluice::cps {

enum class StallCause : uint8_t {
    NoLocalPort,    // every (source address, port) toward the server busy or in TIME-WAIT
    NoSlot,         // every connection slot (tcp.max_connections) taken
    FlowTableFull,  // the flow table is full
    Count
};
inline constexpr size_t kStallCauses = static_cast<size_t>(StallCause::Count);
const char* stall_name(StallCause c);

// One worker's waits: begin() when a start fails locally, end() at the next start that works
// (or when the load ends). A wait is one episode however many loop turns it lasts.
class StallClock {
public:
    void begin(StallCause c, time::Instant now) noexcept {
        if (active_) {
            if (cause_ == c) return;
            end(now);  // a different cause: the first wait ends, the next begins
        }
        active_ = true;
        cause_ = c;
        since_ = now;
        ++episodes_[size_t(c)];
    }
    void end(time::Instant now) noexcept {
        if (!active_) return;
        active_ = false;
        ns_[size_t(cause_)] += (now - since_).count();
    }
    bool active() const noexcept { return active_; }
    const std::array<uint64_t, kStallCauses>& episodes() const noexcept { return episodes_; }
    // Nanoseconds spent waiting, by cause (closed waits only).
    const std::array<int64_t, kStallCauses>& waited_ns() const noexcept { return ns_; }

private:
    bool active_ = false;
    StallCause cause_ = StallCause::NoLocalPort;
    time::Instant since_{};
    std::array<uint64_t, kStallCauses> episodes_{};
    std::array<int64_t, kStallCauses> ns_{};
};

// The bounds of one configuration (all workers together).
struct RateBounds {
    CloseMode close = CloseMode::Client;
    uint64_t ports = 0;              // source addresses x ports per address
    uint32_t source_addresses = 1;
    uint32_t ports_per_address = 0;
    bool tw_reuse = true;            // RFC 6191 reuse of our TIME-WAIT 4-tuples
    double reuse_delay_s = 1;        // a port in our TIME-WAIT is reusable after this
    double time_wait_s = 60;         // 2 x MSL
    uint64_t slots = 0;              // tcp.max_connections x workers
    uint64_t time_wait_entries = 0;  // tcp.max_time_wait x workers
    uint32_t concurrency = 0;

    // Connections per second the ports allow; 0: no bound (we hold no TIME-WAIT).
    double port_rate() const;
    // Connections per second the TIME-WAIT entries allow when the ports outnumber them (an
    // entry is then not recycled by its port's reuse and lives its 2 MSL); 0: no bound.
    double time_wait_rate() const;
};

RateBounds rate_bounds(const CpsConfig& cfg, double msl_s, bool tw_reuse, double reuse_after_s,
                       uint32_t source_addresses, uint32_t ports_per_address,
                       uint32_t max_connections, uint32_t max_time_wait, size_t workers);

// The start-up line(s): each bound, as a rate where it is one, with the option that moves it.
std::string bounds_text(const RateBounds& b);

// The report lines: the local waits by cause, and the bound that limited the run (the cause
// waited on longest, if the workers waited more than 1 % of the run) with the option that
// lifts it. `waited_ns` is summed over `workers`.
std::string stalls_text(const RateBounds& b, const std::array<uint64_t, kStallCauses>& episodes,
                        const std::array<int64_t, kStallCauses>& waited_ns, double run_s,
                        size_t workers);

}  // namespace sluice::cps
