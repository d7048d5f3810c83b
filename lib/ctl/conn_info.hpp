#pragma once
// sluice-stat -t -i: a worker's connections with what `ss -ti` prints for the kernel's, read
// from the /sluice/tcp/info telemetry page (the workers' connection snapshot), printed as ss
// does or as JSON.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::ctl {

struct ConnInfo {
    std::string state, local, peer;  // "ESTABLISHED", "198.18.0.2:80", "[2001:2::1]:40000"
    uint64_t recv_q = 0, send_q = 0;
    uint64_t rtt_us = 0, rttvar_us = 0, rto_us = 0;  // RFC 6298
    uint64_t mss = 0, cwnd = 0, ssthresh = 0;        // bytes (RFC 5681)
    uint64_t snd_wnd = 0, rcv_wnd = 0;
    uint64_t bytes_sent = 0, bytes_acked = 0, bytes_received = 0;
    uint64_t segs_out = 0, segs_in = 0, retrans = 0;
    bool sack = false, ts = false, ws = false;
    uint64_t snd_wscale = 0, rcv_wscale = 0;
};

// One /sluice/tcp/info reply ({"<cmd>": {"total", "rows", one array per field}}): the rows of
// this page, `total` the rows of the whole snapshot. nullopt: not such a reply.
std::optional<std::vector<ConnInfo>> parse_conn_info(const std::string& reply, uint64_t& total);

// The detail line `ss -ti` prints under a connection (tab first, no newline), in its field
// names and units: "\t ts sack wscale:7,7 rto:204 rtt:0.03/0.015 mss:1448 cwnd:10 ...".
// cwnd and ssthresh in segments, times in ms, `send` = cwnd x 8 / srtt as ss computes it.
std::string ss_detail(const ConnInfo& c);

// Every field, named as in ss (rtt and rto in microseconds, cwnd in bytes).
nlohmann::ordered_json to_json(const ConnInfo& c);

}  // namespace sluice::ctl
