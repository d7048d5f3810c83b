#pragma once
// A worker's connection list for other threads (sluice-stat, like `ss -tan`): a reader asks,
// the worker copies its connections into a preallocated row buffer at its next loop turn,
// the reader waits (bounded) and reads the rows (about 130 bytes each, preallocated). The
// worker pays one relaxed load per loop turn; nobody reads a TCB from another thread (DESIGN.md: per-lcore snapshots).
//
// Threads: request()/rows() from any thread but the worker's, one reader at a time (the
// caller serialises; telemetry does it with reader_lock()); wanted()/begin()/add()/publish()
// on the worker.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "tcp/connection.hpp"
#include "tcp/state.hpp"
#include "wire/addr.hpp"

namespace sluice::engine {

struct ConnRow {
    wire::IpAddr local, remote;  // remote unspecified (port 0) for a LISTEN row
    uint16_t local_port = 0, remote_port = 0;
    tcp::State state = tcp::State::Closed;
    uint32_t send_queued = 0;  // bytes not yet acknowledged or not yet sent
    uint32_t recv_queued = 0;  // bytes the application has not read
    uint32_t srtt_us = 0;      // RFC 6298 SRTT, 0 before a sample
    uint32_t cwnd = 0;
    // What `ss -ti` shows (sluice-stat -t -i): RFC 6298 RTTVAR and RTO, RFC 5681 ssthresh,
    // the windows, the options negotiated (RFC 7323 window scale both ways and timestamps,
    // RFC 2018 SACK) and the connection's byte and segment counts.
    uint32_t rttvar_us = 0, rto_us = 0;
    uint32_t ssthresh = 0;
    uint32_t snd_wnd = 0, rcv_wnd = 0;
    uint16_t mss = 0;
    uint8_t snd_wscale = 0, rcv_wscale = 0;
    bool ws = false, sack = false, ts = false;
    uint64_t bytes_sent = 0, bytes_acked = 0, bytes_received = 0;
    uint64_t segs_in = 0, segs_out = 0, retrans = 0;

    // The TCB's part of the row.
    void set_status(const tcp::ConnectionStatus& st) noexcept;
};

class ConnSnapshot {
public:
    explicit ConnSnapshot(uint32_t max_rows) { rows_.resize(max_rows); }

    // Reader: asks for a fresh list and waits until the worker published it or `limit`
    // passed (the worker is not running): false.
    bool request(std::chrono::milliseconds limit);
    // Reader, after request() returned true.
    std::span<const ConnRow> rows() const noexcept { return {rows_.data(), count_}; }
    bool truncated() const noexcept { return truncated_; }
    std::unique_lock<std::mutex> reader_lock() { return std::unique_lock(reader_); }

    // Worker.
    bool wanted() const noexcept {
        return asked_.load(std::memory_order_relaxed) != served_.load(std::memory_order_relaxed);
    }
    void begin() noexcept {
        count_ = 0;
        truncated_ = false;
    }
    void add(const ConnRow& r) noexcept {
        if (count_ == rows_.size()) {
            truncated_ = true;
            return;
        }
        rows_[count_++] = r;
    }
    void publish() noexcept {
        served_.store(asked_.load(std::memory_order_acquire), std::memory_order_release);
    }

private:
    std::vector<ConnRow> rows_;
    size_t count_ = 0;
    bool truncated_ = false;
    std::atomic<uint64_t> asked_{0}, served_{0};
    std::mutex reader_;
};

}  // namespace sluice::engine
