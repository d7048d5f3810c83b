#include "ctl/telemetry_client.hpp"

#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace sluice::ctl {

std::string TelemetryClient::socket_path(const std::string& file_prefix) {
    // Matches rte_eal_get_runtime_dir() for root: /var/run/dpdk/<prefix>.
    return "/var/run/dpdk/" + (file_prefix.empty() ? std::string("rte") : file_prefix) +
           "/dpdk_telemetry.v2";
}

std::optional<TelemetryClient> TelemetryClient::connect(const std::string& file_prefix,
                                                        std::string* error) {
    const std::string path = socket_path(file_prefix);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        if (error) *error = "socket path too long: " + path;
        return std::nullopt;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (fd < 0) {
        if (error) *error = std::string("socket: ") + std::strerror(errno);
        return std::nullopt;
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (error) *error = "cannot connect to " + path + ": " + std::strerror(errno);
        ::close(fd);
        return std::nullopt;
    }
    TelemetryClient c(fd);
    char greeting[1024];
    if (::recv(fd, greeting, sizeof greeting, 0) <= 0) {
        if (error) *error = "no greeting on " + path;
        return std::nullopt;
    }
    return c;
}

TelemetryClient::~TelemetryClient() {
    if (fd_ >= 0) ::close(fd_);
}

std::optional<std::string> TelemetryClient::query(const std::string& command) {
    if (::send(fd_, command.data(), command.size(), 0) != static_cast<ssize_t>(command.size())) {
        return std::nullopt;
    }
    std::vector<char> buf(64 * 1024);  // above DPDK's 16 KiB max_output_len
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) return std::nullopt;
    return std::string(buf.data(), static_cast<size_t>(n));
}

std::optional<std::map<std::string, uint64_t>> TelemetryClient::query_counters(
    const std::string& command) {
    auto reply = query(command);
    if (!reply) return std::nullopt;
    return parse_counter_reply(*reply);
}

namespace {

// The value of a reply {"<command>": <value>}: the one member's value, nullopt when the reply
// is not JSON, not such an object, or the command failed (null).
std::optional<nlohmann::json> reply_value(const std::string& reply) {
    nlohmann::json j = nlohmann::json::parse(reply, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.size() != 1) return std::nullopt;
    nlohmann::json v = std::move(j.begin().value());
    if (v.is_null()) return std::nullopt;
    return v;
}

}  // namespace

std::optional<nlohmann::json> TelemetryClient::query_json(const std::string& command) {
    auto reply = query(command);
    if (!reply) return std::nullopt;
    return reply_value(*reply);
}

std::optional<std::map<std::string, uint64_t>> parse_counter_reply(const std::string& json) {
    const auto v = reply_value(json);
    if (!v || !v->is_object()) return std::nullopt;
    std::map<std::string, uint64_t> out;
    for (const auto& [key, value] : v->items()) {
        if (value.is_number_unsigned()) out.emplace(key, value.get<uint64_t>());
    }
    return out;
}

std::optional<std::vector<std::string>> parse_conn_rows(const std::string& json, uint64_t& total) {
    const auto v = reply_value(json);
    if (!v || !v->is_object() || !v->contains("rows") || !(*v)["rows"].is_array())
        return std::nullopt;
    total = v->value("total", uint64_t{0});
    std::vector<std::string> rows;
    for (const auto& r : (*v)["rows"]) {
        if (r.is_string()) rows.push_back(r.get<std::string>());
    }
    return rows;
}

}  // namespace sluice::ctl
