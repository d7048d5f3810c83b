#include "driver.hpp"

#include <algorithm>
#include <string_view>

namespace sluice::cps {

namespace {

// Opens per loop turn at most: the RX side gets its turn between batches.
constexpr uint64_t kMaxOpensPerTurn = 32;
// While a start waits for a local resource, connect() is tried again this often, not on every
// loop turn: a failed connect() costs the loop as much as a good one.
constexpr time::Duration kStallRetry = std::chrono::microseconds(20);
// How long in-flight connections may take after the load stops, beyond the timeout.
constexpr time::Duration kDrainGrace = std::chrono::seconds(1);

ErrorKind classify_connect_error(std::string_view msg) {
    if (msg.starts_with("no free local port")) return ErrorKind::NoLocalPort;
    if (msg.starts_with("connection pool exhausted")) return ErrorKind::PoolExhausted;
    if (msg.starts_with("flow table full")) return ErrorKind::FlowTableFull;
    return ErrorKind::Other;
}

// connect() failures that are ours, not the server's: the start waits.
std::optional<StallCause> stall_cause(ErrorKind k) {
    switch (k) {
        case ErrorKind::NoLocalPort: return StallCause::NoLocalPort;
        case ErrorKind::PoolExhausted: return StallCause::NoSlot;
        case ErrorKind::FlowTableFull: return StallCause::FlowTableFull;
        default: return std::nullopt;
    }
}

ErrorKind classify_close(tcp::CloseReason r) {
    switch (r) {
        case tcp::CloseReason::Refused: return ErrorKind::Refused;
        case tcp::CloseReason::Reset: return ErrorKind::Reset;
        case tcp::CloseReason::Timeout: return ErrorKind::Timeout;
        case tcp::CloseReason::Normal: return ErrorKind::BadResponse;  // closed, no response
        case tcp::CloseReason::Aborted: return ErrorKind::Other;
    }
    return ErrorKind::Other;
}

}  // namespace

const char* error_name(ErrorKind k) {
    switch (k) {
        case ErrorKind::Refused: return "refused";
        case ErrorKind::Reset: return "reset";
        case ErrorKind::Timeout: return "timeout";
        case ErrorKind::NoLocalPort: return "no_local_port";
        case ErrorKind::PoolExhausted: return "pool_exhausted";
        case ErrorKind::FlowTableFull: return "flow_table_full";
        case ErrorKind::BadResponse: return "bad_response";
        case ErrorKind::HttpStatus: return "http_status";
        case ErrorKind::Other: return "other";
        case ErrorKind::Count: break;
    }
    return "?";
}

void Results::merge(const Results& o) {
    connect_ns.merge(o.connect_ns);
    transaction_ns.merge(o.transaction_ns);
    attempts += o.attempts;
    completed += o.completed;
    for (size_t i = 0; i < kErrorKinds; ++i) errors[i] += o.errors[i];
    rst_closed += o.rst_closed;
    close_timeouts += o.close_timeouts;
    missed_slots += o.missed_slots;
    unfinished += o.unfinished;
    if (o.attempts > 0) {
        start_ns = attempts == o.attempts ? o.start_ns : std::min(start_ns, o.start_ns);
        end_ns = std::max(end_ns, o.end_ns);
    }
    for (size_t i = 0; i < kStallCauses; ++i) {
        stalls[i] += o.stalls[i];
        stall_ns[i] += o.stall_ns[i];
    }
    if (o.warmup_failed && !warmup_failed) {
        warmup_failed = true;
        warmup_error = o.warmup_error;
    }
}

Driver::Driver(const Plan& plan, engine::Worker& worker)
    : plan_(plan), worker_(worker), host_(*worker.tcp()) {
    clients_.resize(size_t(plan_.concurrency) + 1);  // + the warm-up connection
    free_.reserve(clients_.size());
    for (size_t i = clients_.size(); i-- > 0;) {
        clients_[i].driver = this;
        free_.push_back(static_cast<uint32_t>(i));
    }
}

void Driver::turn(time::Instant now) noexcept {
    if (finished_) return;
    switch (phase_) {
        case Phase::Warmup:
            if (!plan_.warmup) {
                start_load(now);
            } else if (!warmup_open_) {
                warmup_open_ = true;
                phase_start_ = now;
                open(now, true);  // its Closed event (or failure) starts the load
            }
            break;
        case Phase::Load: {
            const time::Duration elapsed = now - phase_start_;
            if ((plan_.duration.count() > 0 && elapsed >= plan_.duration) ||
                (plan_.count > 0 && res_.attempts >= plan_.count)) {
                end_load(now);
                break;
            }
            if (stalls_.active() && now - stall_tried_ < kStallRetry) break;
            uint64_t due = std::min(pacer_->due(uint64_t(now.ns())), kMaxOpensPerTurn);
            if (plan_.count > 0) due = std::min(due, plan_.count - res_.attempts);
            for (; due > 0; --due) {
                if (in_flight_ >= plan_.concurrency) {
                    if (plan_.rate > 0) pacer_->skip(due);  // open loop: those starts are lost
                    break;
                }
                // A start that waits for a local resource stays due: the next turn retries.
                if (!open(now, false) && stalls_.active()) break;
                if (plan_.rate > 0) pacer_->take(1);
            }
            res_.missed_slots = pacer_->missed();
            break;
        }
        case Phase::Draining:
            if (in_flight_ == 0) {
                finished_ = true;
            } else if (now - phase_start_ > plan_.timeout + kDrainGrace) {
                // Cut off: abort what is left (their Closed events free the clients).
                for (Client& c : clients_) {
                    if (!c.in_use) continue;
                    ++res_.unfinished;
                    c.failed = true;
                    host_.abort(c.id, now);
                }
                finished_ = true;
            }
            break;
    }
    publish();
}

// The clock of the measured run starts here. A stalled loop catches up at most 10 ms of
// starts (or 64) at once.
void Driver::start_load(time::Instant now) noexcept {
    phase_ = Phase::Load;
    phase_start_ = now;
    res_.start_ns = now.ns();
    pacer_.emplace(plan_.rate, uint64_t(now.ns()),
                   uint32_t(std::max<uint64_t>(64, plan_.rate / 100)));
}

void Driver::end_load(time::Instant now) noexcept {
    phase_ = Phase::Draining;
    phase_start_ = now;
    res_.end_ns = std::max(res_.end_ns, now.ns());
    stalls_.end(now);
    res_.stalls = stalls_.episodes();
    res_.stall_ns = stalls_.waited_ns();
}

void Driver::stop(time::Instant now) noexcept {
    if (phase_ == Phase::Load) {
        end_load(now);
    } else if (phase_ != Phase::Draining) {
        phase_ = Phase::Draining;
        phase_start_ = now;
    }
}

bool Driver::open(time::Instant now, bool warmup) noexcept {
    if (free_.empty()) return false;  // the concurrency cap keeps this from happening
    const uint32_t idx = free_.back();
    free_.pop_back();
    Client& c = clients_[idx];
    c = Client{};
    c.driver = this;
    c.warmup = warmup;
    c.in_use = true;
    c.t0 = now.ns();
    ++in_flight_;
    if (!warmup) ++res_.attempts;
    auto r = host_.connect(plan_.server, plan_.port,
                           engine::AppHandlers{.on_event = on_event, .on_timer = on_timer, .ctx = &c},
                           now);
    if (!r) {
        c.in_use = false;
        free_.push_back(idx);
        --in_flight_;
        const ErrorKind k = classify_connect_error(r.error().message);
        if (warmup) {
            res_.warmup_failed = true;
            res_.warmup_error = error_name(k);
            warmup_open_ = false;
            start_load(now);  // measure anyway: the errors will show
        } else if (const auto cause = stall_cause(k)) {
            --res_.attempts;  // not an attempt: it waits, counted once per wait
            stalls_.begin(*cause, now);
            stall_tried_ = now;
        } else {
            ++res_.errors[size_t(k)];
        }
        return false;
    }
    if (!warmup) stalls_.end(now);
    c.id = *r;
    host_.arm_app_timer(c.id, now + plan_.timeout);
    return true;
}

void Driver::on_event(engine::TcpHost&, engine::ConnId id, const tcp::Event& e, void* ctx) {
    Client& c = *static_cast<Client*>(ctx);
    if (!c.in_use || !c.id.valid() || !(c.id == id)) return;
    Driver& d = *c.driver;
    const time::Instant now = d.worker_.now();
    switch (e.kind) {
        case tcp::EventKind::Connected:
            c.connected = true;
            if (!c.warmup) d.res_.connect_ns.record(uint64_t(now.ns() - c.t0));
            d.send_more(c, now);
            break;
        case tcp::EventKind::SendSpace: d.send_more(c, now); break;
        case tcp::EventKind::DataReadable: d.read_all(c, now); break;
        case tcp::EventKind::PeerClosed:
            c.peer_closed = true;
            d.read_all(c, now);
            if (!c.response_done && !c.failed) {
                // The response ends at the FIN: an HTTP body without Content-Length, or raw
                // mode without a byte count; anything else was cut short.
                const bool ok = d.plan_.mode == Mode::Http
                                    ? c.http.on_eof() == HttpResponseReader::Status::Done
                                    : d.plan_.response_bytes == 0;
                if (ok)
                    d.response_complete(c, now);
                else
                    d.fail(c, ErrorKind::BadResponse, now);
            }
            if (c.in_use && c.response_done && !c.closing) {
                c.closing = true;
                d.host_.close(c.id, now);
            }
            break;
        case tcp::EventKind::Closed: d.closed(c, e, now); break;
        default: break;
    }
}

void Driver::on_timer(engine::TcpHost& host, engine::ConnId id, void* ctx) {
    Client& c = *static_cast<Client*>(ctx);
    if (!c.in_use || !(c.id == id)) return;
    Driver& d = *c.driver;
    const time::Instant now = d.worker_.now();
    if (!c.response_done) {
        d.fail(c, ErrorKind::Timeout, now);
    } else {
        if (!c.warmup) ++d.res_.close_timeouts;
        host.abort(id, now);
    }
}

void Driver::send_more(Client& c, time::Instant now) noexcept {
    while (c.sent < plan_.request.size()) {
        const auto r = host_.send(
            c.id, {reinterpret_cast<const uint8_t*>(plan_.request.data()) + c.sent,
                   plan_.request.size() - c.sent},
            now);
        if (r.bytes == 0) break;  // SendSpace follows
        c.sent += uint32_t(r.bytes);
    }
}

void Driver::read_all(Client& c, time::Instant now) noexcept {
    uint8_t buf[8192];
    for (;;) {
        const auto r = host_.receive(c.id, {buf, sizeof buf}, now);
        if (r.bytes == 0) return;
        if (c.response_done || c.failed) continue;  // after the response: discarded
        c.received += r.bytes;
        if (plan_.mode == Mode::Http) {
            switch (c.http.feed({buf, r.bytes})) {
                case HttpResponseReader::Status::Done: response_complete(c, now); break;
                case HttpResponseReader::Status::Bad: fail(c, ErrorKind::BadResponse, now); break;
                case HttpResponseReader::Status::More: break;
            }
        } else if (plan_.response_bytes > 0 && c.received >= plan_.response_bytes) {
            if (c.received > plan_.response_bytes)
                fail(c, ErrorKind::BadResponse, now);
            else
                response_complete(c, now);
        }
    }
}

void Driver::response_complete(Client& c, time::Instant now) noexcept {
    if (plan_.mode == Mode::Http && (c.http.code() < 200 || c.http.code() > 299)) {
        fail(c, ErrorKind::HttpStatus, now);
        return;
    }
    c.response_done = true;
    if (!c.warmup) {
        res_.transaction_ns.record(uint64_t(now.ns() - c.t0));
        ++res_.completed;
        res_.end_ns = std::max(res_.end_ns, now.ns());
    }
    switch (plan_.close) {
        case CloseMode::Client:
            c.closing = true;
            host_.close(c.id, now);
            break;
        case CloseMode::Rst:
            c.closing = true;
            if (!c.warmup) ++res_.rst_closed;
            host_.abort(c.id, now);
            break;
        case CloseMode::Server:
            if (c.peer_closed) {
                c.closing = true;
                host_.close(c.id, now);
            }
            break;
    }
}

void Driver::fail(Client& c, ErrorKind k, time::Instant now) noexcept {
    if (c.failed || c.response_done) return;
    c.failed = true;
    c.error = k;
    if (!c.warmup) {
        ++res_.errors[size_t(k)];
    } else {
        res_.warmup_failed = true;
        res_.warmup_error = error_name(k);
    }
    host_.abort(c.id, now);
}

void Driver::closed(Client& c, const tcp::Event& e, time::Instant now) noexcept {
    if (!c.response_done && !c.failed) {
        const ErrorKind k = classify_close(e.reason);
        if (!c.warmup) {
            ++res_.errors[size_t(k)];
        } else {
            res_.warmup_failed = true;
            res_.warmup_error = error_name(k);
        }
    }
    const bool was_warmup = c.warmup;
    c.in_use = false;
    free_.push_back(static_cast<uint32_t>(&c - clients_.data()));
    --in_flight_;
    if (was_warmup && phase_ == Phase::Warmup) {
        start_load(now);
    }
}

void Driver::publish() noexcept {
    live_.attempts.store(res_.attempts, std::memory_order_relaxed);
    live_.completed.store(res_.completed, std::memory_order_relaxed);
    live_.errors.store(res_.error_total(), std::memory_order_relaxed);
    live_.in_flight.store(in_flight_, std::memory_order_relaxed);
}

}  // namespace sluice::cps
