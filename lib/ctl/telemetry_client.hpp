#pragma once
// A client for DPDK's telemetry socket (protocol v2): how sluice-stat and the end-to-end
// tests read a running sluice's counters without touching its data path.
//
// The server (in the sluice process) listens on <runtime dir>/dpdk_telemetry.v2, a
// SOCK_SEQPACKET socket; it greets with a JSON object, then answers each command with
// {"<command>": <value>}.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sluice::ctl {

class TelemetryClient {
public:
    // `file_prefix` is the EAL --file-prefix of the process ("rte" by default).
    // Returns nullopt (and sets `error`) if the socket is missing or refuses us.
    static std::optional<TelemetryClient> connect(const std::string& file_prefix,
                                                  std::string* error = nullptr);
    ~TelemetryClient();
    TelemetryClient(TelemetryClient&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    TelemetryClient& operator=(TelemetryClient&&) = delete;
    TelemetryClient(const TelemetryClient&) = delete;

    // Sends `command` (e.g. "/sluice/stats") and returns the raw JSON reply.
    std::optional<std::string> query(const std::string& command);

    // Sends `command` and returns the value of its reply {"<command>": <value>}; nullopt when
    // there is no reply, it is not JSON or the command failed (null).
    std::optional<nlohmann::json> query_json(const std::string& command);

    // Sends a command whose reply is a flat object of integers and returns them by name.
    std::optional<std::map<std::string, uint64_t>> query_counters(const std::string& command);

    static std::string socket_path(const std::string& file_prefix);

private:
    explicit TelemetryClient(int fd) : fd_(fd) {}
    int fd_ = -1;
};

// Replies are read with a JSON library (nlohmann/json): escapes, nesting and separators
// inside strings are what they are in JSON.
// Parses {"<key>": {"Name": 123, ...}} into the inner unsigned integers; other values are
// skipped. nullopt: not JSON, or the command failed.
std::optional<std::map<std::string, uint64_t>> parse_counter_reply(const std::string& json);
// Parses a /sluice/tcp/conns page: {"<key>": {"total": N, "truncated": 0|1, "rows": [...]}}
// into its row strings, `total` the rows of the whole snapshot.
std::optional<std::vector<std::string>> parse_conn_rows(const std::string& json, uint64_t& total);

}  // namespace sluice::ctl
