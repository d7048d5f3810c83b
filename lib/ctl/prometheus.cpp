#include "ctl/prometheus.hpp"

#include <sluice/counters.hpp>

namespace sluice::ctl {

std::string to_prometheus(const std::map<std::string, uint64_t>& values) {
    std::string out;
    for (size_t i = 0; i < kCounterCount; ++i) {
        const std::string key(kCounterNames[i]);
        const std::string name = "sluice_" + key;
        const auto it = values.find(key);
        out += "# HELP " + name + " " + std::string(kCounterHelp[i]) + "\n";
        out += "# TYPE " + name + (is_gauge(static_cast<Counter>(i)) ? " gauge\n" : " counter\n");
        out += name + " " + std::to_string(it == values.end() ? 0 : it->second) + "\n";
    }
    return out;
}

}  // namespace sluice::ctl
