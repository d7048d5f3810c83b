#pragma once
// printf-style formatting into a std::string, for sluice-cps's report lines.

#include <cstdio>
#include <string>

namespace sluice::cps {

inline std::string fmt(const char* f, auto... a) {
    char buf[512];
    std::snprintf(buf, sizeof buf, f, a...);
    return buf;
}

}  // namespace sluice::cps
