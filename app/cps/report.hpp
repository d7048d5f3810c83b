#pragma once
// The final report of sluice-cps, as text for people or JSON for scripts.

#include <sluice/counters.hpp>

#include <array>
#include <cstdint>
#include <string>

#include "cps_config.hpp"
#include "driver.hpp"
#include "flood.hpp"

namespace sluice::cps {

struct RunInfo {
    const CpsConfig* cfg = nullptr;
    std::string target;
    uint32_t source_addresses = 1;
    uint32_t ports_per_address = 0;
    size_t workers = 1;
    std::array<uint64_t, kCounterCount> counters{};  // stack totals at the end (deltas)
};

std::string report_text(const RunInfo& info, const Results& r);
std::string report_json(const RunInfo& info, const Results& r);
std::string flood_report_text(const RunInfo& info, const FloodPlan& p, const FloodResult& r);
std::string flood_report_json(const RunInfo& info, const FloodPlan& p, const FloodResult& r);

}  // namespace sluice::cps
