#pragma once
// Prometheus text exposition (format 0.0.4) of sluice's counters as read over telemetry.

#include <cstdint>
#include <map>
#include <string>

namespace sluice::ctl {

// One `sluice_<Name>` sample per counter of include/sluice/counters.hpp, with its HELP and
// TYPE (gauge or counter); names missing from `values` read 0, names that are not sluice
// counters are left out.
std::string to_prometheus(const std::map<std::string, uint64_t>& values);

}  // namespace sluice::ctl
