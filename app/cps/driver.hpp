#pragma once
// The client side of sluice-cps on one worker: opens connections at the paced rate (or as
// fast as the concurrency cap allows), sends the request, reads the response, closes as
// configured and records what happened. Everything runs on the worker's lcore between its
// poll()s and in its callbacks; the live counters are read by the progress thread.
//
// A connection's life here:
//   connect() --Connected--> send request --DataReadable...--> response complete
//     close = client: close()  (our FIN first; we hold TIME-WAIT)
//     close = server: wait for the server's FIN, then close()
//     close = rst:    abort()  (RST, no TIME-WAIT on either side)
//   --Closed--> counted as completed, or as an error by kind.

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cps_config.hpp"
#include "histogram.hpp"
#include "http_response.hpp"
#include "limits.hpp"
#include "pacer.hpp"
#include "engine/tcp_host.hpp"
#include "engine/worker.hpp"

namespace sluice::cps {

enum class ErrorKind : uint8_t {
    Refused,        // RST in answer to our SYN
    Reset,          // reset before the response was complete
    Timeout,        // no complete response within timeout_ms (or TCP gave up)
    NoLocalPort,    // every (source address, port) toward the server busy
    PoolExhausted,  // no free connection slot (tcp.max_connections)
    FlowTableFull,  // flow table full
    BadResponse,    // malformed, cut short, or more bytes than expected
    HttpStatus,     // an HTTP status other than 2xx
    Other,          // connect() failed otherwise
    Count
};
inline constexpr size_t kErrorKinds = static_cast<size_t>(ErrorKind::Count);
const char* error_name(ErrorKind k);

struct Plan {
    wire::IpAddr server;
    uint16_t port = 0;
    Mode mode = Mode::Http;
    std::string request;          // the bytes sent on each connection
    uint64_t response_bytes = 0;  // raw mode; 0: until the server's FIN
    CloseMode close = CloseMode::Client;
    uint64_t rate = 0;  // this worker's share
    uint32_t concurrency = 64;
    uint64_t count = 0;  // this worker's share; 0: no limit
    time::Duration duration{0};
    time::Duration timeout = std::chrono::seconds(5);
    bool warmup = true;
};

struct Results {
    Histogram connect_ns, transaction_ns;
    uint64_t attempts = 0;   // connect() calls (warm-up excluded)
    uint64_t completed = 0;  // full responses
    std::array<uint64_t, kErrorKinds> errors{};
    uint64_t rst_closed = 0;
    uint64_t close_timeouts = 0;  // response complete, but the close did not finish in time
    uint64_t missed_slots = 0;    // paced starts given up (concurrency cap or a stalled loop)
    uint64_t unfinished = 0;      // still in flight when the run was cut off
    // The load phase: its start, and the later of its end and the last completion.
    int64_t start_ns = 0, end_ns = 0;
    bool warmup_failed = false;
    std::string warmup_error;
    // Starts that waited for a local resource (limits.hpp): episodes and nanoseconds by
    // cause, summed over the workers. The errors[] of those kinds stay 0 for the load.
    std::array<uint64_t, kStallCauses> stalls{};
    std::array<int64_t, kStallCauses> stall_ns{};

    uint64_t error_total() const {
        uint64_t n = 0;
        for (uint64_t e : errors) n += e;
        return n;
    }
    void merge(const Results& o);
};

class Driver {
public:
    Driver(const Plan& plan, engine::Worker& worker);
    Driver(const Driver&) = delete;
    Driver& operator=(const Driver&) = delete;

    // One step between two worker poll()s: opens what is due, notices the end of the run.
    void turn(time::Instant now) noexcept;
    // Stop opening (a signal); in-flight connections may finish within timeout.
    void stop(time::Instant now) noexcept;
    bool finished() const noexcept { return finished_; }
    const Results& results() const noexcept { return res_; }

    // For the progress line (any thread).
    struct Live {
        std::atomic<uint64_t> attempts{0}, completed{0}, errors{0}, in_flight{0};
    };
    const Live& live() const noexcept { return live_; }

private:
    struct Client {
        Driver* driver = nullptr;
        engine::ConnId id;
        int64_t t0 = 0;
        uint32_t sent = 0;
        uint64_t received = 0;
        HttpResponseReader http;
        bool in_use = false;
        bool warmup = false;
        bool connected = false;
        bool response_done = false;
        bool peer_closed = false;
        bool closing = false;
        bool failed = false;
        ErrorKind error = ErrorKind::Other;
    };

    static void on_event(engine::TcpHost& host, engine::ConnId id, const tcp::Event& e, void* ctx);
    static void on_timer(engine::TcpHost& host, engine::ConnId id, void* ctx);

    void start_load(time::Instant now) noexcept;
    void end_load(time::Instant now) noexcept;
    // False if nothing started; stalls_.active() then says it waits for a local resource.
    bool open(time::Instant now, bool warmup) noexcept;
    void send_more(Client& c, time::Instant now) noexcept;
    void read_all(Client& c, time::Instant now) noexcept;
    void response_complete(Client& c, time::Instant now) noexcept;
    void fail(Client& c, ErrorKind k, time::Instant now) noexcept;
    void closed(Client& c, const tcp::Event& e, time::Instant now) noexcept;
    void publish() noexcept;

    Plan plan_;
    engine::Worker& worker_;
    engine::TcpHost& host_;
    std::vector<Client> clients_;
    std::vector<uint32_t> free_;
    uint32_t in_flight_ = 0;
    enum class Phase : uint8_t { Warmup, Load, Draining } phase_ = Phase::Warmup;
    bool warmup_open_ = false;
    time::Instant phase_start_{};
    std::optional<Pacer> pacer_;
    StallClock stalls_;
    time::Instant stall_tried_{};  // the last connect() that found no local resource
    bool finished_ = false;
    Results res_;
    Live live_;
};

}  // namespace sluice::cps
