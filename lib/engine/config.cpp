#include "engine/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "wire/ipv6.hpp"

namespace sluice::engine {

namespace {

using dev::Error;
using dev::Ok;
using dev::Result;

// Reads one table, rejecting keys it does not know, so a typo is an error and not a silently
// ignored setting.
class TableReader {
public:
    TableReader(const toml::table* t, std::string prefix, std::string origin)
        : t_(t), prefix_(std::move(prefix)), origin_(std::move(origin)) {}

    template <typename T>
    bool get(const char* key, T& out, T lo, T hi) {
        seen_.insert(key);
        if (t_ == nullptr || !error_.empty()) return false;
        const toml::node* n = t_->get(key);
        if (n == nullptr) return false;
        if constexpr (std::is_same_v<T, bool>) {
            if (!n->is_boolean()) return fail(key, "must be true or false");
            out = n->as_boolean()->get();
        } else {
            if (!n->is_integer()) return fail(key, "must be an integer");
            const int64_t v = n->as_integer()->get();
            if (v < static_cast<int64_t>(lo) || v > static_cast<int64_t>(hi)) {
                return fail(key, "must be between " + std::to_string(lo) + " and " +
                                     std::to_string(hi) + ", not " + std::to_string(v));
            }
            out = static_cast<T>(v);
        }
        return true;
    }

    bool get(const char* key, std::string& out) {
        seen_.insert(key);
        if (t_ == nullptr || !error_.empty()) return false;
        const toml::node* n = t_->get(key);
        if (n == nullptr) return false;
        if (!n->is_string()) return fail(key, "must be a string");
        out = n->as_string()->get();
        return true;
    }

    // A string or an array of strings.
    bool get(const char* key, std::vector<std::string>& out) {
        seen_.insert(key);
        if (t_ == nullptr || !error_.empty()) return false;
        const toml::node* n = t_->get(key);
        if (n == nullptr) return false;
        out.clear();
        if (n->is_string()) {
            out.push_back(n->as_string()->get());
            return true;
        }
        const toml::array* a = n->as_array();
        if (a == nullptr) return fail(key, "must be a string or an array of strings");
        for (const toml::node& e : *a) {
            if (!e.is_string()) return fail(key, "must be a string or an array of strings");
            out.push_back(e.as_string()->get());
        }
        return true;
    }

    bool fail(const std::string& key, const std::string& why) {
        if (error_.empty()) error_ = origin_ + ": " + prefix_ + key + " " + why;
        return false;
    }

    // Call after all get()s: reports the first unknown key.
    void finish() {
        if (t_ == nullptr || !error_.empty()) return;
        for (const auto& [k, v] : *t_) {
            if (!seen_.contains(std::string(k.str()))) {
                fail(std::string(k.str()), "is not a known key (see config/listen.toml)");
                return;
            }
        }
    }

    const std::string& error() const { return error_; }

private:
    const toml::table* t_;
    std::string prefix_, origin_, error_;
    std::set<std::string> seen_;
};

constexpr std::string_view kSections[] = {"port", "cpu", "memory", "ip", "arp", "tcp", "listener"};

std::optional<Service> parse_service(std::string_view s) {
    for (Service v : {Service::Echo, Service::Discard, Service::Http}) {
        if (s == service_name(v)) return v;
    }
    return std::nullopt;
}

}  // namespace

dev::EalDefaults StackConfig::eal_defaults() const {
    dev::EalDefaults d;
    d.lcores = lcores;
    const bool is_pci = port.device.find(':') != std::string::npos;
    if (!port.device.empty() && !is_pci && port.device.rfind("net_", 0) == 0) {
        d.vdev = port.device + (vdev_args.empty() ? "" : "," + vdev_args);
        // net_af_packet opens one queue pair unless told: give it one per worker.
        const std::string workers = std::to_string(std::max(1u, count_lcores(lcores)));
        if (port.device.rfind("net_af_packet", 0) == 0 &&
            vdev_args.find("qpairs=") == std::string::npos) {
            d.vdev += ",qpairs=" + workers;
        }
        // net_af_xdp binds one AF_XDP socket per queue from start_queue: one per worker.
        if (port.device.rfind("net_af_xdp", 0) == 0 &&
            vdev_args.find("queue_count=") == std::string::npos) {
            d.vdev += ",queue_count=" + workers;
        }
    }
    d.hugepages = hugepages;
    d.memory_mb = memory_mb;
    // The runtime directory (telemetry socket, multi-process) under /var/run/dpdk/sluice:
    // where sluice-stat and dpdk-dumpcap look by default.
    d.file_prefix = "sluice";
    return d;
}

std::optional<std::pair<uint32_t, uint32_t>> parse_address_range(std::string_view s) {
    const size_t dash = s.find('-');
    const auto a = wire::IpAddr::parse(s.substr(0, dash));
    const auto b = dash == std::string_view::npos ? a : wire::IpAddr::parse(s.substr(dash + 1));
    if (!a || !b || !a->is_v4() || !b->is_v4() || b->v4_host() < a->v4_host()) return std::nullopt;
    return std::pair{a->v4_host(), b->v4_host() - a->v4_host() + 1};
}

std::optional<std::pair<uint16_t, uint16_t>> parse_port_range(std::string_view s) {
    const size_t dash = s.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    auto num = [](std::string_view t, unsigned& v) {
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        return ec == std::errc{} && p == t.data() + t.size() && !t.empty() && v >= 1 && v <= 65535;
    };
    unsigned lo = 0, hi = 0;
    if (!num(s.substr(0, dash), lo) || !num(s.substr(dash + 1), hi) || hi < lo) return std::nullopt;
    return std::pair{static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
}

unsigned count_lcores(std::string_view list) {
    unsigned n = 0;
    while (!list.empty()) {
        const size_t comma = list.find(',');
        std::string_view part = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        unsigned a = 0, b = 0;
        const size_t dash = part.find('-');
        auto parse = [](std::string_view s, unsigned& v) {
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
        };
        if (dash == std::string_view::npos) {
            if (!parse(part, a)) return 0;
            b = a;
        } else if (!parse(part.substr(0, dash), a) || !parse(part.substr(dash + 1), b) || b < a) {
            return 0;
        }
        n += b - a + 1;
    }
    return n;
}

namespace {

std::string iface_of(const std::string& vdev_args) {
    std::string_view s = vdev_args;
    for (size_t pos = 0; pos < s.size();) {
        const size_t comma = s.find(',', pos);
        std::string_view kv = s.substr(pos, comma - pos);
        if (kv.rfind("iface=", 0) == 0) return std::string(kv.substr(6));
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    return {};
}

}  // namespace

Result<StackConfig> parse_config(std::string_view text, std::string_view origin_sv) {
    const std::string origin(origin_sv);
    toml::table root;
    try {
        root = toml::parse(text, origin_sv);
    } catch (const toml::parse_error& e) {
        std::ostringstream os;
        os << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
           << e.description();
        return Error{os.str()};
    }
    for (const auto& [k, v] : root) {
        const std::string_view key = k.str();
        if (std::find(std::begin(kSections), std::end(kSections), key) == std::end(kSections)) {
            return Error{origin + ": [" + std::string(key) + "] is not a known section"};
        }
        if (key == "listener") {
            if (!v.is_array_of_tables()) {
                return Error{origin + ": listener must be an array of tables ([[listener]])"};
            }
        } else if (!v.is_table()) {
            return Error{origin + ": " + std::string(key) + " must be a table"};
        }
    }

    StackConfig cfg;
    std::string err;
    {
        TableReader r(root["port"].as_table(), "port.", origin);
        r.get("device", cfg.port.device);
        r.get("vdev_args", cfg.vdev_args);
        r.get<uint16_t>("rx_descriptors", cfg.port.rx_descriptors, 64, 16384);
        r.get<uint16_t>("tx_descriptors", cfg.port.tx_descriptors, 64, 16384);
        r.get<uint16_t>("mtu", cfg.port.mtu, 576, 9000);  // RFC 791 minimum datagram size
        r.finish();
        if (!r.error().empty()) return Error{r.error()};
    }
    {
        TableReader r(root["cpu"].as_table(), "cpu.", origin);
        if (r.get("lcores", cfg.lcores) && count_lcores(cfg.lcores) == 0) {
            r.fail("lcores",
                   "must be an EAL lcore list like \"1\" or \"0-1\", not \"" + cfg.lcores + "\"");
        }
        std::string steering;
        if (r.get("steering", steering)) {
            if (steering == "auto")
                cfg.port.steering = dev::SteeringMode::Auto;
            else if (steering == "hardware")
                cfg.port.steering = dev::SteeringMode::Hardware;
            else if (steering == "software")
                cfg.port.steering = dev::SteeringMode::Software;
            else
                r.fail("steering", "must be \"auto\", \"hardware\" or \"software\", not \"" +
                                       steering + "\"");
        }
        r.finish();
        if (!r.error().empty()) return Error{r.error()};
    }
    {
        TableReader r(root["memory"].as_table(), "memory.", origin);
        r.get<bool>("hugepages", cfg.hugepages, false, true);
        r.get<uint32_t>("size_mb", cfg.memory_mb, 0, 1u << 20);
        r.get<uint32_t>("mbufs_per_queue", cfg.port.mbufs_per_queue, 1023, 1u << 24);
        r.get<uint32_t>("mbuf_cache", cfg.port.mbuf_cache, 0, 512);  // RTE_MEMPOOL_CACHE_MAX_SIZE
        r.finish();
        if (!r.error().empty()) return Error{r.error()};
    }
    {
        TableReader r(root["ip"].as_table(), "ip.", origin);
        std::string address, gateway;
        if (!r.get("address", address) && r.error().empty()) {
            r.fail("address", "is required (e.g. \"198.18.0.2/24\")");
        }
        if (r.error().empty()) {
            // The prefix is required: a silent /32 would make every peer "off-link".
            auto p = address.find('/') == std::string::npos ? std::nullopt
                                                            : wire::Ipv4Prefix::parse(address);
            if (!p)
                r.fail("address", "must be an IPv4 address with a prefix, like 198.18.0.2/24");
            else
                cfg.net.address = *p;
        }
        if (r.get("gateway", gateway)) {
            auto g = wire::IpAddr::parse(gateway);
            if (!g)
                r.fail("gateway", "must be an IPv4 address, not \"" + gateway + "\"");
            else
                cfg.net.gateway = *g;
        }
        std::string address6, gateway6;
        if (r.get("address6", address6)) {
            auto p = address6.find('/') == std::string::npos ? std::nullopt
                                                             : wire::Ipv6Prefix::parse(address6);
            if (!p)
                r.fail("address6", "must be an IPv6 address with a prefix, like 2001:2::2/64");
            else
                cfg.net.address6 = *p;
        }
        if (r.get("gateway6", gateway6)) {
            auto g = wire::IpAddr::parse(gateway6);
            if (!g || g->is_v4())
                r.fail("gateway6", "must be an IPv6 address, not \"" + gateway6 + "\"");
            else
                cfg.net.gateway6 = *g;
        }
        r.get<uint8_t>("ttl", cfg.net.ttl, 1, 255);
        std::string sources;
        if (r.get("source_addresses", sources)) {
            if (auto range = parse_address_range(sources)) {
                cfg.net.extra_first = range->first;
                cfg.net.extra_count = range->second;
            } else {
                r.fail("source_addresses",
                       "must be an IPv4 address or range like \"198.18.0.10-198.18.0.40\", not \"" +
                           sources + "\"");
            }
        }
        r.finish();
        if (!r.error().empty()) return Error{r.error()};
    }
    {
        TableReader r(root["arp"].as_table(), "arp.", origin);
        uint32_t reachable_s = 60, retry_ms = 1000;
        r.get<uint32_t>("reachable_s", reachable_s, 1, 86400);
        r.get<uint32_t>("retry_ms", retry_ms, 10, 60000);
        cfg.net.neighbors.reachable = std::chrono::seconds(reachable_s);
        cfg.net.neighbors.retry = std::chrono::milliseconds(retry_ms);
        r.finish();
        if (!r.error().empty()) return Error{r.error()};
    }
    {
        TableReader r(root["tcp"].as_table(), "tcp.", origin);
        auto& t = cfg.tcp;
        r.get<uint32_t>("max_connections", t.max_connections, 1, 1u << 24);
        r.get<uint32_t>("max_time_wait", t.max_time_wait, 1, 1u << 24);
        r.get<uint32_t>("syn_backlog", t.syn_backlog, 1, 1u << 24);
        r.get<uint32_t>("syn_cache_entries", t.syn_cache_entries, 1, 1u << 24);
        r.get("cookie_key_file", t.cookie_key_file);
        r.get<uint32_t>("send_buffer", t.tcp.send_buffer, 2048, 1u << 24);
        r.get<uint32_t>("recv_buffer", t.tcp.recv_buffer, 2048, 1u << 24);
        r.get<uint16_t>("mss", t.tcp.mss, 88, 9000);  // RFC 9293 3.7.1 / RFC 8900
        r.get<bool>("window_scaling", t.tcp.window_scaling, false, true);
        r.get<bool>("sack", t.tcp.sack_permitted, false, true);
        r.get<bool>("timestamps", t.tcp.timestamps, false, true);
        uint32_t msl_ms = 30000, fw2_s = 60, ka_idle = 7200, ka_intvl = 75, quiet_ms = 0;
        uint8_t ka_probes = t.tcp.keepalive_count;
        if (r.get<uint32_t>("msl_ms", msl_ms, 1, 600000))
            t.tcp.msl = std::chrono::milliseconds(msl_ms);
        if (r.get<uint32_t>("fin_wait_2_timeout_s", fw2_s, 1, 86400))
            t.tcp.fin_wait_2_timeout = std::chrono::seconds(fw2_s);
        if (r.get<uint32_t>("keepalive_idle_s", ka_idle, 1, 864000))
            t.tcp.keepalive_idle = std::chrono::seconds(ka_idle);
        if (r.get<uint32_t>("keepalive_interval_s", ka_intvl, 1, 86400))
            t.tcp.keepalive_interval = std::chrono::seconds(ka_intvl);
        if (r.get<uint8_t>("keepalive_probes", ka_probes, 1, 255))
            t.tcp.keepalive_count = ka_probes;
        if (r.get<uint32_t>("quiet_time_ms", quiet_ms, 0, 600000))
            t.tcp.quiet_time = std::chrono::milliseconds(quiet_ms);
        r.get<uint8_t>("syn_retries", t.tcp.syn_retries, 1, 20);
        r.get<uint32_t>("challenge_ack_limit", t.tcp.challenge_ack_limit, 0, 1u << 24);
        r.get<uint32_t>("bad_cookie_rst_limit", t.bad_cookie_rst_limit, 0, 1u << 24);
        uint32_t min_rto_ms = 200, max_rto_ms = 120000, delack_ms = 40;
        if (r.get<uint32_t>("min_rto_ms", min_rto_ms, 1, 60000))
            t.tcp.min_rto = std::chrono::milliseconds(min_rto_ms);
        if (r.get<uint32_t>("max_rto_ms", max_rto_ms, 1000, 3600000))
            t.tcp.max_rto = std::chrono::milliseconds(max_rto_ms);
        if (r.get<uint32_t>("delayed_ack_ms", delack_ms, 0, 500)) {
            t.tcp.delayed_ack = delack_ms > 0;  // RFC 9293 3.8.6.3: at most 0.5 s
            if (delack_ms > 0) t.tcp.delayed_ack_timeout = std::chrono::milliseconds(delack_ms);
        }
        r.get<uint8_t>("initial_window", t.tcp.initial_window, 1, 100);
        r.get<bool>("nagle", t.tcp.nagle, false, true);
        std::string ports;
        if (r.get("ephemeral_ports", ports)) {
            if (auto pr = parse_port_range(ports)) {
                t.ephemeral_low = pr->first;
                t.ephemeral_high = pr->second;
            } else {
                r.fail("ephemeral_ports",
                       "must be a port range like \"32768-60999\", not \"" + ports + "\"");
            }
        }
        r.get<bool>("time_wait_reuse", t.time_wait_reuse, false, true);
        uint32_t reuse_ms = 1000;
        if (r.get<uint32_t>("time_wait_reuse_after_ms", reuse_ms, 1, 600000))
            t.time_wait_reuse_after = std::chrono::milliseconds(reuse_ms);
        if (t.tcp.min_rto > t.tcp.max_rto)
            return Error{origin + ": tcp.min_rto_ms is larger than tcp.max_rto_ms"};
        r.finish();
        if (!r.error().empty()) return Error{r.error()};
    }
    if (const toml::array* arr = root["listener"].as_array()) {
        size_t i = 0;
        for (const toml::node& n : *arr) {
            const std::string where = "listener[" + std::to_string(i++) + "].";
            TableReader r(n.as_table(), where, origin);
            ListenerConfig l;
            std::string service;
            uint32_t delay_ms = 0;
            if (!r.get<uint16_t>("port", l.port, 1, 65535) && r.error().empty()) {
                r.fail("port", "is required");
            }
            if (r.get("service", service)) {
                if (auto sv = parse_service(service))
                    l.service = *sv;
                else
                    r.fail("service",
                           "must be \"echo\", \"discard\" or \"http\", not \"" + service + "\"");
            }
            if (r.get<uint32_t>("close_delay_ms", delay_ms, 0, 3600000)) {
                l.close_delay = std::chrono::milliseconds(delay_ms);
            }
            r.get("body", l.http_body);
            r.get<uint32_t>("body_bytes", l.body_bytes, 0, 1u << 20);
            r.get<bool>("keepalive", l.keepalive, false, true);
            std::string mode;
            if (r.get("syncookies", mode)) {
                if (mode == "always")
                    l.syn.mode = tcp::SynCookieMode::Always;
                else if (mode == "auto")
                    l.syn.mode = tcp::SynCookieMode::Auto;
                else if (mode == "off")
                    l.syn.mode = tcp::SynCookieMode::Off;
                else
                    r.fail("syncookies",
                           "must be \"always\", \"auto\" or \"off\", not \"" + mode + "\"");
            }
            r.get<uint32_t>("syn_rate_limit", l.syn.rate_limit, 1, 100'000'000);
            r.get<bool>("rst_on_bad_cookie", l.syn.rst_on_bad_cookie, false, true);
            std::vector<std::string> bind;
            if (r.get("bind", bind)) {
                for (const std::string& b : bind) {
                    auto a = wire::IpAddr::parse(b);
                    if (!a) {
                        r.fail("bind", "must list IPv4 or IPv6 addresses (\"0.0.0.0\" and "
                                       "\"::\" for all of a family), not \"" + b + "\"");
                        break;
                    }
                    l.bind.push_back(*a);
                }
                if (bind.empty()) r.fail("bind", "must not be empty (leave it out for all)");
            }
            r.finish();
            if (!r.error().empty()) return Error{r.error()};
            for (const auto& other : cfg.tcp.listeners) {
                if (other.overlaps(l)) {
                    return Error{origin + ": " + where + "port " + std::to_string(l.port) +
                                 " is already a listener on one of these addresses"};
                }
            }
            cfg.tcp.listeners.push_back(l);
        }
    }
    // Our MSS follows the MTU unless set: MTU - 20 (IPv4) - 20 (TCP), RFC 9293 3.7.1.
    if (root["tcp"]["mss"].node() == nullptr) {
        cfg.tcp.tcp.mss = static_cast<uint16_t>(cfg.port.mtu - 40);
    }
    cfg.port.queues = static_cast<uint16_t>(count_lcores(cfg.lcores));
    cfg.port.iface = iface_of(cfg.vdev_args);
    if (auto v = validate(cfg); !v) return v.error();
    return cfg;
}

Result<StackConfig> load_config(const std::string& path) {
    std::ifstream in(path);
    if (!in) return Error{"cannot read config file " + path + ": " + std::strerror(errno)};
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_config(ss.str(), path);
}

Result<Ok> apply_overrides(StackConfig& cfg, const Overrides& o) {
    if (!o.address.empty()) {
        if (o.address.find('/') != std::string::npos) {
            auto p = wire::Ipv4Prefix::parse(o.address);
            if (!p) return Error{"--address: not an IPv4 address/prefix: " + o.address};
            cfg.net.address = *p;
        } else {
            auto a = wire::IpAddr::parse(o.address);
            if (!a) return Error{"--address: not an IPv4 address: " + o.address};
            cfg.net.address.addr = *a;
        }
    }
    if (o.prefix >= 0) {
        if (o.prefix > 32) return Error{"--prefix must be 0..32"};
        cfg.net.address.len = static_cast<uint8_t>(o.prefix);
    }
    if (o.gateway == "none") {
        cfg.net.gateway.reset();
    } else if (!o.gateway.empty()) {
        auto g = wire::IpAddr::parse(o.gateway);
        if (!g) return Error{"--gateway: not an IPv4 address: " + o.gateway};
        cfg.net.gateway = *g;
    }
    if (!o.device.empty()) cfg.port.device = o.device;
    if (!o.vdev_args.empty()) cfg.vdev_args = o.vdev_args;
    if (!o.iface.empty()) {
        // Replace (or add) iface= in the vdev arguments.
        std::string out;
        std::string_view s = cfg.vdev_args;
        bool replaced = false;
        for (size_t pos = 0; pos <= s.size();) {
            const size_t comma = std::min(s.find(',', pos), s.size());
            std::string_view kv = s.substr(pos, comma - pos);
            if (!kv.empty()) {
                if (!out.empty()) out += ',';
                if (kv.rfind("iface=", 0) == 0) {
                    out += "iface=" + o.iface;
                    replaced = true;
                } else {
                    out += kv;
                }
            }
            pos = comma + 1;
        }
        if (!replaced) out = "iface=" + o.iface + (out.empty() ? "" : "," + out);
        cfg.vdev_args = out;
    }
    if (o.source_addresses == "none") {
        cfg.net.extra_first = cfg.net.extra_count = 0;
    } else if (!o.source_addresses.empty()) {
        auto range = parse_address_range(o.source_addresses);
        if (!range) return Error{"--source: not an IPv4 address range: " + o.source_addresses};
        cfg.net.extra_first = range->first;
        cfg.net.extra_count = range->second;
    }
    if (o.address6 == "none") {
        cfg.net.address6.reset();
        cfg.net.gateway6.reset();
    } else if (!o.address6.empty()) {
        auto p = wire::Ipv6Prefix::parse(o.address6);
        if (!p || o.address6.find('/') == std::string::npos)
            return Error{"--address6: not an IPv6 address/prefix: " + o.address6};
        cfg.net.address6 = *p;
    }
    if (!o.lcores.empty()) {
        if (count_lcores(o.lcores) == 0) return Error{"--lcores: not an lcore list: " + o.lcores};
        cfg.lcores = o.lcores;
    }
    cfg.port.queues = static_cast<uint16_t>(count_lcores(cfg.lcores));
    cfg.port.iface = iface_of(cfg.vdev_args);
    return validate(cfg);
}

Result<Ok> validate(const StackConfig& cfg) {
    const auto& a = cfg.net.address;
    if (a.len == 0 || a.len > 32) return Error{"ip.address: prefix length must be 1..32"};
    if (a.len < 31 &&
        (a.addr == a.broadcast() ||
         a.addr.v4_host() == (a.addr.v4_host() & (a.len == 0 ? 0u : ~0u << (32 - a.len))))) {
        return Error{"ip.address: " + a.addr.to_string() + "/" + std::to_string(a.len) +
                     " is the network or broadcast address of its prefix"};
    }
    if (cfg.net.gateway) {
        if (!a.contains(*cfg.net.gateway)) {
            return Error{"ip.gateway: " + cfg.net.gateway->to_string() + " is not inside " +
                         a.addr.to_string() + "/" + std::to_string(a.len) +
                         " (the gateway must be on-link)"};
        }
        if (*cfg.net.gateway == a.addr) return Error{"ip.gateway: must not be our own address"};
    }
    if (cfg.net.extra_count > 0) {
        const auto first = wire::IpAddr::v4(cfg.net.extra_first);
        const auto last = wire::IpAddr::v4(cfg.net.extra_first + cfg.net.extra_count - 1);
        if (!a.contains(first) || !a.contains(last) || first == a.network() ||
            last == a.broadcast() || (cfg.net.gateway && cfg.net.is_local(*cfg.net.gateway))) {
            return Error{"ip.source_addresses: " + first.to_string() + "-" + last.to_string() +
                         " must lie inside " + a.to_string() +
                         " without its network, broadcast or gateway address"};
        }
    }
    if (const auto& a6 = cfg.net.address6) {
        const wire::IpAddr& x = a6->addr;
        if (a6->len == 0) return Error{"ip.address6: prefix length must be 1..128"};
        if (wire::is_v6_multicast(x) || wire::is_v6_unspecified(x) || wire::is_v6_loopback(x) ||
            wire::is_v6_v4_mapped(x) || wire::is_v6_link_local(x)) {
            return Error{"ip.address6: " + x.to_string() +
                         " is not a global unicast address (the link-local one is derived "
                         "from the MAC)"};
        }
    }
    if (cfg.net.gateway6) {
        const wire::IpAddr& g = *cfg.net.gateway6;
        if (!cfg.net.address6) return Error{"ip.gateway6: needs ip.address6"};
        if (!cfg.net.address6->contains(g) && !wire::is_v6_link_local(g))
            return Error{"ip.gateway6: " + g.to_string() + " is neither inside " +
                         cfg.net.address6->to_string() + " nor link-local (it must be on-link)"};
        if (g == cfg.net.address6->addr) return Error{"ip.gateway6: must not be our own address"};
    }
    for (const ListenerConfig& l : cfg.tcp.listeners) {
        for (const wire::IpAddr& b : l.bind) {
            if (b == wire::IpAddr{b.family, {}}) {
                if (!b.is_v4() && !cfg.net.address6)
                    return Error{"listener on port " + std::to_string(l.port) +
                                 ": bind \"::\" needs ip.address6"};
                continue;
            }
            if (!cfg.net.is_local(b))
                return Error{"listener on port " + std::to_string(l.port) + ": bind " +
                             b.to_string() + " is not an address of ours (ip.address, "
                             "ip.address6 or ip.source_addresses)"};
        }
    }
    return Ok{};
}

}  // namespace sluice::engine
