#include "ctl/telemetry_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
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

std::optional<std::map<std::string, uint64_t>> parse_counter_reply(const std::string& json) {
    // The reply is {"cmd": {...}} or {"cmd": null} on error; find the inner object.
    size_t i = json.find('{');
    if (i == std::string::npos) return std::nullopt;
    i = json.find('{', i + 1);
    if (i == std::string::npos) return std::nullopt;
    std::map<std::string, uint64_t> out;
    ++i;
    while (i < json.size()) {
        const size_t q0 = json.find('"', i);
        if (q0 == std::string::npos) break;
        const size_t q1 = json.find('"', q0 + 1);
        if (q1 == std::string::npos) return std::nullopt;
        std::string key = json.substr(q0 + 1, q1 - q0 - 1);
        size_t p = json.find(':', q1);
        if (p == std::string::npos) return std::nullopt;
        ++p;
        while (p < json.size() && std::isspace(static_cast<unsigned char>(json[p]))) ++p;
        if (p < json.size() && std::isdigit(static_cast<unsigned char>(json[p]))) {
            uint64_t v = 0;
            while (p < json.size() && std::isdigit(static_cast<unsigned char>(json[p]))) {
                v = v * 10 + static_cast<uint64_t>(json[p] - '0');
                ++p;
            }
            out.emplace(std::move(key), v);
        }
        const size_t next = json.find_first_of(",}", p);
        if (next == std::string::npos || json[next] == '}') break;
        i = next + 1;
    }
    return out;
}

}  // namespace sluice::ctl
