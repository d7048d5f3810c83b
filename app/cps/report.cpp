#include "report.hpp"

#include <cstdio>

#include "text.hpp"

namespace sluice::cps {

namespace {

double seconds(const Results& r) {
    return r.end_ns > r.start_ns ? double(r.end_ns - r.start_ns) / 1e9 : 0.0;
}

double per_second(const Results& r) {
    const double s = seconds(r);
    return s > 0 ? double(r.completed) / s : 0.0;
}

uint64_t ctr(const RunInfo& i, Counter c) {
    return i.counters[size_t(c)];
}

// Microseconds with a fraction below 10 ms, whole ones above.
std::string us(uint64_t ns) {
    return ns < 10'000'000 ? fmt("%.1fus", double(ns) / 1e3) : fmt("%.0fus", double(ns) / 1e3);
}

std::string latency_row(const char* name, const Histogram& h) {
    return fmt("    %-12s %10s %10s %10s %10s %10s %10s\n", name, us(h.percentile(50)).c_str(),
               us(h.percentile(90)).c_str(), us(h.percentile(99)).c_str(),
               us(h.percentile(99.9)).c_str(), us(h.max()).c_str(),
               us(uint64_t(h.mean())).c_str());
}

std::string latency_json(const Histogram& h) {
    return fmt("{\"count\": %llu, \"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"p99_9\": %.1f, "
               "\"max\": %.1f, \"mean\": %.1f}",
               (unsigned long long)h.count(), h.percentile(50) / 1e3, h.percentile(90) / 1e3,
               h.percentile(99) / 1e3, h.percentile(99.9) / 1e3, h.max() / 1e3, h.mean() / 1e3);
}

}  // namespace

std::string report_text(const RunInfo& info, const Results& r) {
    const CpsConfig& c = *info.cfg;
    std::string s;
    s += fmt("sluice-cps: %llu connections to %s completed in %.2f s: %.0f conn/s", (unsigned long long)r.completed,
             info.target.c_str(), seconds(r), per_second(r));
    s += c.rate > 0 ? fmt(" (target %llu/s)\n", (unsigned long long)c.rate)
                    : fmt(" (concurrency %u)\n", c.concurrency);
    s += fmt("  attempts %llu, completed %llu, errors %llu:", (unsigned long long)r.attempts,
             (unsigned long long)r.completed, (unsigned long long)r.error_total());
    for (size_t k = 0; k < kErrorKinds; ++k)
        s += fmt(" %s %llu", error_name(ErrorKind(k)), (unsigned long long)r.errors[k]);
    s += "\n";
    s += fmt("    %-12s %10s %10s %10s %10s %10s %10s\n", "latency", "p50", "p90", "p99", "p99.9",
             "max", "mean");
    s += latency_row("connect", r.connect_ns);
    s += latency_row("transaction", r.transaction_ns);
    s += fmt("  close: %s; source addresses: %u (x %u ports), tw-reused: %llu, rst-closed: %llu, "
             "ports exhausted: %llu\n",
             close_mode_name(c.close), info.source_addresses, info.ports_per_address,
             (unsigned long long)ctr(info, Counter::TWRecycled), (unsigned long long)r.rst_closed,
             (unsigned long long)ctr(info, Counter::PortsExhausted));
    s += fmt("  missed paced starts: %llu, close timeouts: %llu, cut off in flight: %llu, "
             "retransmitted segments: %llu, workers: %zu\n",
             (unsigned long long)r.missed_slots, (unsigned long long)r.close_timeouts,
             (unsigned long long)r.unfinished, (unsigned long long)ctr(info, Counter::RetransSegs),
             info.workers);
    if (r.warmup_failed) s += "  warning: the warm-up connection failed: " + r.warmup_error + "\n";
    return s;
}

std::string report_json(const RunInfo& info, const Results& r) {
    const CpsConfig& c = *info.cfg;
    std::string s = "{";
    s += fmt("\"target\": \"%s\", \"mode\": \"%s\", \"close\": \"%s\", ", info.target.c_str(),
             c.mode == Mode::Http ? "http" : "raw", close_mode_name(c.close));
    s += fmt("\"rate\": %llu, \"concurrency\": %u, \"workers\": %zu, ", (unsigned long long)c.rate,
             c.concurrency, info.workers);
    s += fmt("\"attempts\": %llu, \"completed\": %llu, \"errors_total\": %llu, ",
             (unsigned long long)r.attempts, (unsigned long long)r.completed,
             (unsigned long long)r.error_total());
    s += fmt("\"seconds\": %.6f, \"cps\": %.1f, ", seconds(r), per_second(r));
    s += "\"errors\": {";
    for (size_t k = 0; k < kErrorKinds; ++k)
        s += fmt("%s\"%s\": %llu", k ? ", " : "", error_name(ErrorKind(k)),
                 (unsigned long long)r.errors[k]);
    s += "}, \"latency_us\": {\"connect\": " + latency_json(r.connect_ns) +
         ", \"transaction\": " + latency_json(r.transaction_ns) + "}, ";
    s += fmt("\"source_addresses\": %u, \"ports_per_address\": %u, \"tw_reused\": %llu, "
             "\"rst_closed\": %llu, \"ports_exhausted\": %llu, ",
             info.source_addresses, info.ports_per_address,
             (unsigned long long)ctr(info, Counter::TWRecycled), (unsigned long long)r.rst_closed,
             (unsigned long long)ctr(info, Counter::PortsExhausted));
    s += fmt("\"missed_slots\": %llu, \"close_timeouts\": %llu, \"unfinished\": %llu, "
             "\"warmup_failed\": %s, ",
             (unsigned long long)r.missed_slots, (unsigned long long)r.close_timeouts,
             (unsigned long long)r.unfinished, r.warmup_failed ? "true" : "false");
    s += "\"counters\": {";
    bool first = true;
    for (size_t i = 0; i < kCounterCount; ++i) {
        if (info.counters[i] == 0) continue;
        s += fmt("%s\"%s\": %llu", first ? "" : ", ", std::string(kCounterNames[i]).c_str(),
                 (unsigned long long)info.counters[i]);
        first = false;
    }
    return s + "}}\n";
}

std::string flood_report_text(const RunInfo& info, const FloodPlan& p, const FloodResult& r) {
    if (r.target_unresolved)
        return "sluice-cps: syn-flood: no ARP answer for " + info.target + " (or its gateway)\n";
    return fmt("sluice-cps: syn-flood to %s from %s: %llu SYNs in %.2f s (%.0f/s, target %llu/s); "
               "tx full %llu, no mbuf %llu, missed slots %llu\n",
               info.target.c_str(), p.prefix.to_string().c_str(), (unsigned long long)r.sent,
               r.seconds, r.seconds > 0 ? double(r.sent) / r.seconds : 0.0,
               (unsigned long long)p.rate, (unsigned long long)r.tx_full,
               (unsigned long long)r.no_mbuf, (unsigned long long)r.missed_slots);
}

std::string flood_report_json(const RunInfo& info, const FloodPlan& p, const FloodResult& r) {
    return fmt("{\"mode\": \"syn-flood\", \"target\": \"%s\", \"prefix\": \"%s\", \"sent\": %llu, "
               "\"seconds\": %.6f, \"rate\": %llu, \"tx_full\": %llu, \"no_mbuf\": %llu, "
               "\"missed_slots\": %llu, \"target_unresolved\": %s}\n",
               info.target.c_str(), p.prefix.to_string().c_str(), (unsigned long long)r.sent,
               r.seconds, (unsigned long long)p.rate, (unsigned long long)r.tx_full,
               (unsigned long long)r.no_mbuf, (unsigned long long)r.missed_slots,
               r.target_unresolved ? "true" : "false");
}

}  // namespace sluice::cps
