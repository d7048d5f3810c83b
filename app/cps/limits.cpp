#include "limits.hpp"

#include "text.hpp"

namespace sluice::cps {

namespace {

// What lifts each bound, for the report.
const char* remedy(StallCause c) {
    switch (c) {
        case StallCause::NoLocalPort:
            return "more source addresses (--source 198.18.0.10-198.18.0.73, answered in ARP), "
                   "a wider --ephemeral-ports, or --close server|rst (the server keeps TIME-WAIT)";
        case StallCause::NoSlot:
            return "a larger tcp.max_connections in the config (closing connections hold their "
                   "slot until FIN-WAIT-2 ends), or a lower --concurrency";
        case StallCause::FlowTableFull:
            return "larger tcp.max_connections and tcp.max_time_wait (the flow table is "
                   "sized for both)";
        case StallCause::Count: break;
    }
    return "";
}

}  // namespace

const char* stall_name(StallCause c) {
    switch (c) {
        case StallCause::NoLocalPort: return "no_local_port";
        case StallCause::NoSlot: return "no_slot";
        case StallCause::FlowTableFull: return "flow_table_full";
        case StallCause::Count: break;
    }
    return "?";
}

double RateBounds::port_rate() const {
    if (close != CloseMode::Client) return 0;  // the server holds TIME-WAIT, or nobody does
    return double(ports) / (tw_reuse ? reuse_delay_s : time_wait_s);
}

double RateBounds::time_wait_rate() const {
    if (close != CloseMode::Client || ports <= time_wait_entries) return 0;
    return double(time_wait_entries) / time_wait_s;
}

RateBounds rate_bounds(const CpsConfig& cfg, double msl_s, bool tw_reuse, double reuse_after_s,
                       uint32_t source_addresses, uint32_t ports_per_address,
                       uint32_t max_connections, uint32_t max_time_wait, size_t workers) {
    RateBounds b;
    b.close = cfg.close;
    b.source_addresses = source_addresses;
    b.ports_per_address = ports_per_address;
    b.ports = uint64_t(source_addresses) * ports_per_address;
    b.tw_reuse = tw_reuse;
    b.reuse_delay_s = reuse_after_s;
    b.time_wait_s = 2 * msl_s;
    b.slots = uint64_t(max_connections) * workers;
    b.time_wait_entries = uint64_t(max_time_wait) * workers;
    b.concurrency = cfg.concurrency;
    return b;
}

std::string bounds_text(const RateBounds& b) {
    std::string s = "sluice-cps: bounds: ";
    if (b.close == CloseMode::Client) {
        s += fmt("ports %u x %u address(es) / %.0f s until a TIME-WAIT port is reused%s = "
                 "%.0f conn/s",
                 b.ports_per_address, b.source_addresses,
                 b.tw_reuse ? b.reuse_delay_s : b.time_wait_s,
                 b.tw_reuse ? "" : " (--tw-reuse off: 2 MSL)", b.port_rate());
        if (b.time_wait_rate() > 0) {
            s += fmt("; TIME-WAIT entries %llu held %.0f s each = %.0f conn/s sustained "
                     "(tcp.max_time_wait; a faster run fills them, then waits for slots)",
                     (unsigned long long)b.time_wait_entries, b.time_wait_s, b.time_wait_rate());
        } else {
            s += fmt("; TIME-WAIT entries %llu (no bound: at least one per port)",
                     (unsigned long long)b.time_wait_entries);
        }
    } else {
        s += fmt("ports %u x %u address(es) (no TIME-WAIT on our side with --close %s)",
                 b.ports_per_address, b.source_addresses, close_mode_name(b.close));
    }
    s += fmt("; slots %llu for concurrency %u (a closing connection keeps its slot)\n",
             (unsigned long long)b.slots, b.concurrency);
    return s;
}

std::string stalls_text(const RateBounds& b, const std::array<uint64_t, kStallCauses>& episodes,
                        const std::array<int64_t, kStallCauses>& waited_ns, double run_s,
                        size_t workers) {
    std::string s = "  local waits (not errors):";
    size_t worst = 0;
    for (size_t k = 0; k < kStallCauses; ++k) {
        s += fmt(" %s %llu (%.2f s)", stall_name(StallCause(k)), (unsigned long long)episodes[k],
                 double(waited_ns[k]) / 1e9);
        if (waited_ns[k] > waited_ns[worst]) worst = k;
    }
    s += "\n";
    const double share = run_s > 0 && workers > 0
                             ? double(waited_ns[worst]) / 1e9 / (run_s * double(workers))
                             : 0.0;
    if (share <= 0.01) return s + "  bounded by: no local limit (waits under 1 % of the run)\n";
    const auto cause = StallCause(worst);
    std::string what = stall_name(cause);
    if (cause == StallCause::NoSlot && b.time_wait_rate() > 0) {
        // Beyond the compact entries a TIME-WAIT keeps its whole slot: the entries are the
        // bound, the slots only where it shows.
        return s + fmt("  bounded by: TIME-WAIT entries (%llu held %.0f s = %.0f conn/s "
                       "sustained; beyond them closed connections keep their slots), waited "
                       "%.0f %% of the run for a slot; lift it with a larger tcp.max_time_wait "
                       "(32 bytes each), or --close server|rst\n",
                       (unsigned long long)b.time_wait_entries, b.time_wait_s, b.time_wait_rate(),
                       share * 100);
    }
    if (cause == StallCause::NoLocalPort && b.port_rate() > 0) {
        what += fmt(" (%llu ports / %.0f s = %.0f conn/s)", (unsigned long long)b.ports,
                    b.tw_reuse ? b.reuse_delay_s : b.time_wait_s, b.port_rate());
    } else if (cause == StallCause::NoSlot) {
        what += fmt(" (%llu slots)", (unsigned long long)b.slots);
    }
    return s + fmt("  bounded by: %s, waited %.0f %% of the run; lift it with %s\n", what.c_str(),
                   share * 100, remedy(cause));
}

}  // namespace sluice::cps
