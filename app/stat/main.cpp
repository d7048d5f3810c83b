// sluice-stat: reads a running sluice through DPDK telemetry, as nstat, ss -s and ss -tan do
// for the kernel.
//
//   sluice-stat                     non-zero counters (nstat names), summed over workers
//   sluice-stat -a                  every counter, zeros included
//   sluice-stat -s                  connections per state (like ss -s)
//   sluice-stat -t [--state S] [--port N]   the connection list (like ss -tan)
//   sluice-stat -t -i               with what ss -ti prints per connection (rtt, rto, mss,
//                                   cwnd, ssthresh, bytes, segments, retransmissions, SACK,
//                                   timestamps, window scales, send rate)
//   --json                          counters, or the -t [-i] list with every field, as JSON
//   sluice-stat --prometheus        Prometheus text exposition of every counter
//   --prefix P                      the sluice process's EAL --file-prefix (default "sluice")
//   --worker N                      one worker's counters instead of the sum

#include <sluice/counters.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ctl/conn_info.hpp"
#include "ctl/prometheus.hpp"
#include "ctl/telemetry_client.hpp"

namespace {

using namespace sluice;

struct Row {
    std::string state, local, remote;
    uint64_t sendq = 0, recvq = 0, srtt_us = 0, cwnd = 0;
};

std::optional<Row> parse_row(const std::string& line) {
    std::istringstream in(line);
    Row r;
    if (!(in >> r.state >> r.local >> r.remote >> r.sendq >> r.recvq >> r.srtt_us >> r.cwnd))
        return std::nullopt;
    return r;
}

uint16_t port_of(const std::string& endpoint) {
    const size_t c = endpoint.rfind(':');
    return c == std::string::npos ? 0 : uint16_t(std::strtoul(endpoint.c_str() + c + 1, nullptr, 10));
}

std::string lower_dashless(std::string s) {
    std::string out;
    for (char c : s)
        if (c != '-' && c != '_') out += char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

int fail(const std::string& why) {
    std::fprintf(stderr, "sluice-stat: %s\n", why.c_str());
    return 1;
}

unsigned worker_count(ctl::TelemetryClient& tel) {
    auto about = tel.query_counters("/sluice/info");
    return about && about->count("workers") ? unsigned((*about)["workers"]) : 1;
}

// -t -i (ss -ti) and -t --json: every connection of every worker with its details.
int list_info(ctl::TelemetryClient& tel, const std::string& state_filter,
              std::optional<uint16_t> port_filter, bool json) {
    const std::string want = lower_dashless(state_filter);
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    if (!json)
        std::printf("%-12s %8s %8s %-24s %-24s\n", "State", "Recv-Q", "Send-Q",
                    "Local Address:Port", "Peer Address:Port");
    const unsigned workers = worker_count(tel);
    for (unsigned w = 0; w < workers; ++w) {
        uint64_t total = 0;
        for (uint64_t off = 0;;) {
            const auto reply =
                tel.query("/sluice/tcp/info," + std::to_string(w) + "," + std::to_string(off));
            const auto rows = reply ? ctl::parse_conn_info(*reply, total) : std::nullopt;
            if (!rows) return fail("no connection details from worker " + std::to_string(w));
            for (const ctl::ConnInfo& c : *rows) {
                if (!want.empty() && lower_dashless(c.state) != want) continue;
                if (port_filter && port_of(c.local) != *port_filter &&
                    port_of(c.peer) != *port_filter)
                    continue;
                if (json) {
                    auto j = ctl::to_json(c);
                    j["worker"] = w;
                    all.push_back(std::move(j));
                    continue;
                }
                std::printf("%-12s %8llu %8llu %-24s %-24s\n", c.state.c_str(),
                            (unsigned long long)c.recv_q, (unsigned long long)c.send_q,
                            c.local.c_str(), c.peer.c_str());
                // Listeners and compact TIME-WAIT entries have no TCB to describe.
                if (c.state != "LISTEN" && c.state != "TIME-WAIT")
                    std::printf("%s\n", ctl::ss_detail(c).c_str());
            }
            off += rows->size();
            if (rows->empty() || off >= total) break;
        }
    }
    if (json) std::puts(all.dump(2).c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Counters, connection states and connections of a running sluice"};
    std::string prefix = "sluice";
    bool all = false, summary = false, list = false, prometheus = false, info = false,
         json = false;
    std::optional<unsigned> worker;
    std::string state_filter;
    std::optional<uint16_t> port_filter;
    app.add_option("--prefix", prefix, "EAL --file-prefix of the sluice process")
        ->capture_default_str();
    app.add_flag("-a,--all", all, "every counter, zeros included");
    app.add_flag("-s,--summary", summary, "connections per state (like ss -s)");
    app.add_flag("-t,--connections", list, "the connection list (like ss -tan)");
    app.add_flag("-i,--info", info, "with -t: what ss -ti shows for each connection");
    app.add_flag("--json", json, "counters, or with -t the connections with every field, as JSON");
    app.add_flag("--prometheus", prometheus, "Prometheus text exposition of every counter");
    app.add_option("--worker", worker, "one worker's counters instead of the sum");
    app.add_option("--state", state_filter, "with -t: only this state (e.g. established)");
    app.add_option("--port", port_filter, "with -t: only connections with this local or remote port");
    CLI11_PARSE(app, argc, argv);

    std::string err;
    auto tel = ctl::TelemetryClient::connect(prefix, &err);
    if (!tel) return fail(err + " (is sluice running with --file-prefix " + prefix + "?)");

    const std::string stats_cmd =
        worker ? "/sluice/stats/worker," + std::to_string(*worker) : "/sluice/stats";
    auto counters = tel->query_counters(stats_cmd);
    if (!counters) return fail("no reply to " + stats_cmd);

    if (prometheus) {
        std::fputs(ctl::to_prometheus(*counters).c_str(), stdout);
        return 0;
    }
    if (summary) {
        auto g = [&](const char* name) { return (*counters)[name]; };
        const uint64_t total = g("StateSynSent") + g("StateSynReceived") + g("StateEstablished") +
                               g("StateFinWait1") + g("StateFinWait2") + g("StateCloseWait") +
                               g("StateClosing") + g("StateLastAck") + g("StateTimeWait");
        std::printf("TCP: %llu (estab %llu, timewait %llu, synrecv %llu, half-open %llu)\n",
                    (unsigned long long)total, (unsigned long long)g("CurrEstab"),
                    (unsigned long long)g("StateTimeWait"),
                    (unsigned long long)g("StateSynReceived"), (unsigned long long)g("HalfOpen"));
        for (const char* s : {"StateSynSent", "StateSynReceived", "StateEstablished",
                              "StateFinWait1", "StateFinWait2", "StateCloseWait", "StateClosing",
                              "StateLastAck", "StateTimeWait"})
            std::printf("  %-13s %llu\n", s + 5, (unsigned long long)g(s));
        std::printf("  %-13s %llu (compact entries %llu)\n", "SynCache",
                    (unsigned long long)g("SynCacheEntries"),
                    (unsigned long long)g("TimeWaitEntries"));
        return 0;
    }
    if (list && (info || json)) return list_info(*tel, state_filter, port_filter, json);
    if (list) {
        auto about = tel->query_counters("/sluice/info");
        const unsigned workers =
            about && about->count("workers") ? unsigned((*about)["workers"]) : 1;
        const std::string want = lower_dashless(state_filter);
        std::printf("%-12s %8s %8s %-24s %-24s %9s %8s\n", "State", "Recv-Q", "Send-Q",
                    "Local Address:Port", "Peer Address:Port", "RTT(ms)", "cwnd");
        for (unsigned w = 0; w < workers; ++w) {
            uint64_t total = 0;
            for (uint64_t off = 0;; off += 100) {
                auto reply = tel->query("/sluice/tcp/conns," + std::to_string(w) + "," +
                                        std::to_string(off));
                const auto rows = reply ? ctl::parse_conn_rows(*reply, total) : std::nullopt;
                if (!rows) return fail("no connection list from worker " + std::to_string(w));
                for (const auto& line : *rows) {
                    const auto r = parse_row(line);
                    if (!r) continue;
                    if (!want.empty() && lower_dashless(r->state) != want) continue;
                    if (port_filter && port_of(r->local) != *port_filter &&
                        port_of(r->remote) != *port_filter)
                        continue;
                    std::printf("%-12s %8llu %8llu %-24s %-24s %9.3f %8llu\n", r->state.c_str(),
                                (unsigned long long)r->recvq, (unsigned long long)r->sendq,
                                r->local.c_str(), r->remote.c_str(), double(r->srtt_us) / 1000.0,
                                (unsigned long long)r->cwnd);
                }
                if (rows->empty() || off + 100 >= total) break;
            }
        }
        return 0;
    }
    if (json) {
        nlohmann::ordered_json j = nlohmann::ordered_json::object();
        for (size_t i = 0; i < kCounterCount; ++i) {
            const std::string name(kCounterNames[i]);
            const uint64_t v = (*counters)[name];
            if (v != 0 || all) j[name] = v;
        }
        std::puts(j.dump(2).c_str());
        return 0;
    }
    // nstat style.
    for (size_t i = 0; i < kCounterCount; ++i) {
        const std::string name(kCounterNames[i]);
        const uint64_t v = (*counters)[name];
        if (v == 0 && !all) continue;
        std::printf("%-28s %20llu  # %s\n", name.c_str(), (unsigned long long)v,
                    std::string(kCounterHelp[i]).c_str());
    }
    return 0;
}
