#include "so_flags.hpp"

#include <charconv>
#include <chrono>
#include <functional>
#include <vector>

namespace sluice::packetdrill {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Flag {
    std::string_view key;
    std::string_view help;
    // Applies the value; false if it is malformed or out of range.
    std::function<bool(std::string_view, AdapterConfig&)> apply;
};

bool to_u64(std::string_view v, uint64_t max, uint64_t& out) {
    if (v.empty()) return false;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), out);
    return r.ec == std::errc{} && r.ptr == v.data() + v.size() && out <= max;
}

template <typename T>
Flag number(std::string_view key, std::string_view help, uint64_t lo, uint64_t hi,
            T tcp::Config::*field) {
    return {key, help, [=](std::string_view v, AdapterConfig& c) {
                uint64_t n = 0;
                if (!to_u64(v, hi, n) || n < lo) return false;
                c.host.tcp.*field = static_cast<T>(n);
                return true;
            }};
}

template <typename Unit>
Flag duration(std::string_view key, std::string_view help, time::Duration tcp::Config::*field) {
    return {key, help, [=](std::string_view v, AdapterConfig& c) {
                uint64_t n = 0;
                if (!to_u64(v, 1'000'000'000, n)) return false;
                c.host.tcp.*field = std::chrono::duration_cast<time::Duration>(Unit(n));
                return true;
            }};
}

Flag boolean(std::string_view key, std::string_view help, bool tcp::Config::*field) {
    return {key, help, [=](std::string_view v, AdapterConfig& c) {
                if (v != "0" && v != "1") return false;
                c.host.tcp.*field = v == "1";
                return true;
            }};
}

Flag host_count(std::string_view key, std::string_view help, uint32_t engine::TcpHostConfig::*f) {
    return {key, help, [=](std::string_view v, AdapterConfig& c) {
                uint64_t n = 0;
                if (!to_u64(v, 1u << 20, n) || n == 0) return false;
                c.host.*f = uint32_t(n);
                return true;
            }};
}

const std::vector<Flag>& flag_table() {
    static const std::vector<Flag> k = {
        number("mss", "our MSS (IPv4; IPv6 takes 20 less), 88..9000", 88, 9000, &tcp::Config::mss),
        {"wscale", "largest window shift offered, 0 (no window scaling) ..14",
         [](std::string_view v, AdapterConfig& c) {
             uint64_t n = 0;
             if (!to_u64(v, 14, n)) return false;
             c.host.tcp.window_scaling = n > 0;
             c.host.tcp.window_scale = uint8_t(n);
             return true;
         }},
        boolean("sack", "offer SACK-permitted, 0|1", &tcp::Config::sack_permitted),
        boolean("ts", "offer timestamps, 0|1", &tcp::Config::timestamps),
        number("iw", "initial window in segments (RFC 6928), 1..64", 1, 64,
               &tcp::Config::initial_window),
        duration<milliseconds>("rto_min", "minimum RTO, ms", &tcp::Config::min_rto),
        duration<milliseconds>("rto_max", "maximum RTO, ms", &tcp::Config::max_rto),
        duration<milliseconds>("rto_init", "RTO before an RTT sample, ms",
                               &tcp::Config::initial_rto),
        {"delack", "delayed-ACK timeout in ms; 0 ACKs every segment at once",
         [](std::string_view v, AdapterConfig& c) {
             uint64_t n = 0;
             if (!to_u64(v, 500, n)) return false;  // RFC 1122 4.2.3.2: under 0.5 s
             c.host.tcp.delayed_ack = n > 0;
             if (n > 0) c.host.tcp.delayed_ack_timeout = milliseconds(n);
             return true;
         }},
        boolean("nagle", "Nagle's algorithm on new sockets, 0|1", &tcp::Config::nagle),
        boolean("tlp", "tail loss probes (RFC 8985 7), 0|1", &tcp::Config::tail_loss_probe),
        boolean("rfc1337", "ignore RST in TIME-WAIT, 0|1", &tcp::Config::time_wait_ignores_rst),
        duration<seconds>("msl", "maximum segment lifetime, s (TIME-WAIT lasts 2 MSL)",
                          &tcp::Config::msl),
        duration<seconds>("fin_timeout", "FIN-WAIT-2 timeout, s", &tcp::Config::fin_wait_2_timeout),
        duration<seconds>("keepidle", "keepalive idle time, s", &tcp::Config::keepalive_idle),
        duration<seconds>("keepintvl", "keepalive probe interval, s",
                          &tcp::Config::keepalive_interval),
        number("keepcnt", "keepalive probes before giving up, 1..255", 1, 255,
               &tcp::Config::keepalive_count),
        number("syn_retries", "SYN and SYN-ACK retransmissions, 1..255", 1, 255,
               &tcp::Config::syn_retries),
        number("retries", "data retransmissions before giving up, 1..255", 1, 255,
               &tcp::Config::max_retries),
        number("rcvbuf", "receive buffer per connection, bytes", 1024, 16u << 20,
               &tcp::Config::recv_buffer),
        number("sndbuf", "send buffer per connection, bytes", 1024, 16u << 20,
               &tcp::Config::send_buffer),
        number("challenge_ack_limit", "challenge ACKs per second, 0 = no limit", 0, 1u << 30,
               &tcp::Config::challenge_ack_limit),
        host_count("syn_cache", "SYN cache entries (auto mode takes cookies at 90% full)",
                   &engine::TcpHostConfig::syn_cache_entries),
        host_count("syn_backlog", "half-open connections", &engine::TcpHostConfig::syn_backlog),
        {"tw_reuse", "active opens may reuse a TIME-WAIT 4-tuple (RFC 6191), 0|1",
         [](std::string_view v, AdapterConfig& c) {
             if (v != "0" && v != "1") return false;
             c.host.time_wait_reuse = v == "1";
             return true;
         }},
        {"local", "our IPv4 address (default 198.18.0.1), every IPv4 address on-link",
         [](std::string_view v, AdapterConfig& c) {
             const auto a = wire::IpAddr::parse(v);
             if (!a || !a->is_v4()) return false;
             c.local.addr = *a;
             return true;
         }},
        {"local6", "our IPv6 address (default 2001:2::1)",
         [](std::string_view v, AdapterConfig& c) {
             const auto a = wire::IpAddr::parse(v);
             if (!a || a->is_v4()) return false;
             c.local6.addr = *a;
             return true;
         }},
    };
    return k;
}

}  // namespace

AdapterConfig default_config() {
    AdapterConfig c;
    c.host.max_connections = 64;
    c.host.max_time_wait = 64;
    c.host.syn_backlog = 64;
    c.host.syn_cache_entries = 64;
    c.host.data_mbufs = 1023;
    c.host.clone_mbufs = 1023;
    return c;
}

std::string parse_so_flags(std::string_view flags, AdapterConfig& cfg) {
    while (!flags.empty()) {
        const size_t comma = flags.find(',');
        const std::string_view item = flags.substr(0, comma);
        flags = comma == std::string_view::npos ? std::string_view{} : flags.substr(comma + 1);
        if (item.empty()) continue;
        const size_t eq = item.find('=');
        const std::string_view key = item.substr(0, eq);
        if (eq == std::string_view::npos)
            return "so_flags: '" + std::string(key) + "' needs a value (key=value)";
        const std::string_view value = item.substr(eq + 1);
        const Flag* found = nullptr;
        for (const Flag& f : flag_table()) {
            if (f.key == key) found = &f;
        }
        if (found == nullptr)
            return "so_flags: unknown key '" + std::string(key) + "'; known keys:\n" +
                   so_flags_help();
        if (!found->apply(value, cfg))
            return "so_flags: bad value '" + std::string(value) + "' for " + std::string(key) +
                   " (" + std::string(found->help) + ")";
    }
    return {};
}

std::string so_flags_help() {
    std::string out;
    for (const Flag& f : flag_table()) {
        out += "  ";
        out += f.key;
        out += ": ";
        out += f.help;
        out += "\n";
    }
    return out;
}

}  // namespace sluice::packetdrill
