#include "ctl/conn_info.hpp"

#include <cstdio>
#include <sstream>

namespace sluice::ctl {

namespace {

struct Column {
    const char* name;
    uint64_t ConnInfo::*field;
};
constexpr Column kColumns[] = {
    {"rtt_us", &ConnInfo::rtt_us},
    {"rttvar_us", &ConnInfo::rttvar_us},
    {"rto_us", &ConnInfo::rto_us},
    {"mss", &ConnInfo::mss},
    {"cwnd", &ConnInfo::cwnd},
    {"ssthresh", &ConnInfo::ssthresh},
    {"snd_wnd", &ConnInfo::snd_wnd},
    {"rcv_wnd", &ConnInfo::rcv_wnd},
    {"bytes_sent", &ConnInfo::bytes_sent},
    {"bytes_acked", &ConnInfo::bytes_acked},
    {"bytes_received", &ConnInfo::bytes_received},
    {"segs_out", &ConnInfo::segs_out},
    {"segs_in", &ConnInfo::segs_in},
    {"retrans", &ConnInfo::retrans},
    {"snd_wscale", &ConnInfo::snd_wscale},
    {"rcv_wscale", &ConnInfo::rcv_wscale},
};
constexpr std::pair<const char*, bool ConnInfo::*> kFlags[] = {
    {"sack", &ConnInfo::sack}, {"ts", &ConnInfo::ts}, {"ws", &ConnInfo::ws}};

std::string fmt(const char* f, auto... a) {
    char buf[128];
    std::snprintf(buf, sizeof buf, f, a...);
    return buf;
}

// As iproute2's sprint_bw: bits per second with a unit.
std::string bandwidth(double bps) {
    if (bps > 1e9) return fmt("%.1fGbps", bps / 1e9);
    if (bps > 1e6) return fmt("%.1fMbps", bps / 1e6);
    if (bps > 1e3) return fmt("%.1fKbps", bps / 1e3);
    return fmt("%.0fbps", bps);
}

}  // namespace

std::optional<std::vector<ConnInfo>> parse_conn_info(const std::string& reply, uint64_t& total) {
    const nlohmann::json j = nlohmann::json::parse(reply, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.size() != 1) return std::nullopt;
    const nlohmann::json& v = j.begin().value();
    if (!v.is_object() || !v.contains("rows") || !v["rows"].is_array()) return std::nullopt;
    total = v.value("total", uint64_t{0});
    const auto& rows = v["rows"];
    std::vector<ConnInfo> out(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
        if (!rows[i].is_string()) return std::nullopt;
        // "STATE local remote send_queued recv_queued srtt_us cwnd" (lib/engine/stack.cpp).
        std::istringstream in(rows[i].get<std::string>());
        ConnInfo& c = out[i];
        if (!(in >> c.state >> c.local >> c.peer >> c.send_q >> c.recv_q)) return std::nullopt;
    }
    const auto column = [&](const char* name, size_t i) -> std::optional<uint64_t> {
        const auto it = v.find(name);
        if (it == v.end() || !it->is_array() || i >= it->size() ||
            !(*it)[i].is_number_unsigned())
            return std::nullopt;
        return (*it)[i].get<uint64_t>();
    };
    for (size_t i = 0; i < out.size(); ++i) {
        for (const Column& col : kColumns) {
            const auto x = column(col.name, i);
            if (!x) return std::nullopt;
            out[i].*col.field = *x;
        }
        for (const auto& [name, flag] : kFlags) {
            const auto x = column(name, i);
            if (!x) return std::nullopt;
            out[i].*flag = *x != 0;
        }
    }
    return out;
}

std::string ss_detail(const ConnInfo& c) {
    std::string s = "\t";
    if (c.ts) s += " ts";
    if (c.sack) s += " sack";
    if (c.ws) s += fmt(" wscale:%llu,%llu", (unsigned long long)c.snd_wscale,
                       (unsigned long long)c.rcv_wscale);
    s += fmt(" rto:%g", double(c.rto_us) / 1e3);
    if (c.rtt_us != 0) s += fmt(" rtt:%g/%g", double(c.rtt_us) / 1e3, double(c.rttvar_us) / 1e3);
    const uint64_t mss = c.mss != 0 ? c.mss : 1;
    s += fmt(" mss:%llu cwnd:%llu", (unsigned long long)c.mss, (unsigned long long)(c.cwnd / mss));
    // ss leaves ssthresh out while it is "infinite" (no loss yet).
    if (c.ssthresh != 0 && c.ssthresh < 0x7fffffffu)
        s += fmt(" ssthresh:%llu", (unsigned long long)(c.ssthresh / mss));
    s += fmt(" bytes_sent:%llu bytes_acked:%llu bytes_received:%llu segs_out:%llu segs_in:%llu",
             (unsigned long long)c.bytes_sent, (unsigned long long)c.bytes_acked,
             (unsigned long long)c.bytes_received, (unsigned long long)c.segs_out,
             (unsigned long long)c.segs_in);
    if (c.rtt_us != 0) s += " send " + bandwidth(double(c.cwnd) * 8e6 / double(c.rtt_us));
    if (c.retrans != 0) s += fmt(" retrans:0/%llu", (unsigned long long)c.retrans);
    s += fmt(" snd_wnd:%llu rcv_wnd:%llu", (unsigned long long)c.snd_wnd,
             (unsigned long long)c.rcv_wnd);
    return s;
}

nlohmann::ordered_json to_json(const ConnInfo& c) {
    nlohmann::ordered_json j = {{"state", c.state}, {"local", c.local},  {"peer", c.peer},
                                {"recv_q", c.recv_q}, {"send_q", c.send_q}};
    for (const Column& col : kColumns) j[col.name] = c.*col.field;
    for (const auto& [name, flag] : kFlags) j[name] = c.*flag;
    return j;
}

}  // namespace sluice::ctl
