#include "cps_config.hpp"

#include <toml++/toml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace sluice::cps {

const char* close_mode_name(CloseMode m) {
    switch (m) {
        case CloseMode::Client: return "client";
        case CloseMode::Server: return "server";
        case CloseMode::Rst: return "rst";
    }
    return "?";
}

namespace {

using dev::Error;

// The [cps] keys, with their checks; unknown keys are errors, as in the stack's tables.
std::string read_cps_table(const toml::table& t, const std::string& origin, CpsConfig& c) {
    const std::string where = origin + ": cps.";
    std::set<std::string> known;
    std::string err;
    auto str = [&](const char* k, std::string& out) {
        known.insert(k);
        if (const toml::node* n = t.get(k); n && err.empty()) {
            if (!n->is_string())
                err = where + k + " must be a string";
            else
                out = n->as_string()->get();
        }
    };
    auto num = [&](const char* k, auto& out, double lo, double hi) {
        known.insert(k);
        const toml::node* n = t.get(k);
        if (n == nullptr || !err.empty()) return;
        double v = 0;
        if (n->is_integer())
            v = static_cast<double>(n->as_integer()->get());
        else if (n->is_floating_point())
            v = n->as_floating_point()->get();
        else {
            err = where + k + " must be a number";
            return;
        }
        if (v < lo || v > hi) {
            err = where + k + " must be between " + std::to_string(lo) + " and " +
                  std::to_string(hi);
            return;
        }
        out = static_cast<std::remove_reference_t<decltype(out)>>(v);
    };
    auto flag = [&](const char* k, bool& out) {
        known.insert(k);
        if (const toml::node* n = t.get(k); n && err.empty()) {
            if (!n->is_boolean())
                err = where + k + " must be true or false";
            else
                out = n->as_boolean()->get();
        }
    };
    std::string mode, close;
    str("target", c.target);
    str("mode", mode);
    str("path", c.path);
    str("host", c.host);
    num("request_bytes", c.request_bytes, 0, 1 << 20);
    num("response_bytes", c.response_bytes, 0, 1u << 30);
    num("rate", c.rate, 0, 1e9);
    num("concurrency", c.concurrency, 1, 1 << 24);
    num("duration_s", c.duration_s, 0, 86400);
    num("count", c.count, 0, 1e12);
    str("close", close);
    num("timeout_ms", c.timeout_ms, 1, 3600000);
    flag("warmup", c.warmup);
    str("flood_prefix", c.flood_prefix);
    str("test_range", c.test_range);
    num("flood_rate", c.flood_rate, 0, 1e9);
    num("flood_count", c.flood_count, 0, 1e12);
    num("flood_duration_s", c.flood_duration_s, 0.001, 3600);
    if (!err.empty()) return err;
    if (!mode.empty()) {
        if (mode == "http")
            c.mode = Mode::Http;
        else if (mode == "raw")
            c.mode = Mode::Raw;
        else
            return where + "mode must be \"http\" or \"raw\", not \"" + mode + "\"";
    }
    if (!close.empty()) {
        if (close == "client")
            c.close = CloseMode::Client;
        else if (close == "server")
            c.close = CloseMode::Server;
        else if (close == "rst")
            c.close = CloseMode::Rst;
        else
            return where + "close must be \"client\", \"server\" or \"rst\", not \"" + close + "\"";
    }
    for (const auto& [k, v] : t) {
        if (!known.contains(std::string(k.str())))
            return where + std::string(k.str()) + " is not a known key (see config/cps.toml)";
    }
    return {};
}

}  // namespace

dev::Result<engine::StackConfig> parse_cps_config(std::string_view text, std::string_view origin_sv,
                                                  CpsConfig& cps) {
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
    if (const toml::node* n = root.get("cps")) {
        if (!n->is_table()) return Error{origin + ": cps must be a table"};
        if (auto err = read_cps_table(*n->as_table(), origin, cps); !err.empty()) return Error{err};
        root.erase("cps");
    }
    // The rest is the stack's: hand it over as TOML again (its errors name the key).
    std::ostringstream rest;
    rest << root;
    return engine::parse_config(rest.str(), origin);
}

dev::Result<engine::StackConfig> load_cps_config(const std::string& path, CpsConfig& cps) {
    std::ifstream in(path);
    if (!in) return Error{"cannot read config file " + path + ": " + std::strerror(errno)};
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_cps_config(ss.str(), path, cps);
}

}  // namespace sluice::cps
