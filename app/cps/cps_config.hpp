#pragma once
// sluice-cps's own settings: the [cps] table of config/cps.toml (which documents each key),
// then command-line overrides. The other tables are the stack's (engine/config.hpp).

#include <cstdint>
#include <string>

#include "dev/error.hpp"
#include "engine/config.hpp"
#include "time/instant.hpp"

namespace sluice::cps {

enum class Mode : uint8_t { Http, Raw };
enum class CloseMode : uint8_t { Client, Server, Rst };

const char* close_mode_name(CloseMode m);

struct CpsConfig {
    std::string target = "198.18.0.1:80";  // server address:port
    Mode mode = Mode::Http;
    std::string path = "/";          // HTTP request target
    std::string host;                // Host header; empty: the target address
    uint32_t request_bytes = 64;     // raw: bytes sent per connection
    uint32_t response_bytes = 0;     // raw: bytes expected back; 0: until the server's FIN
    uint64_t rate = 0;               // new connections per second; 0: as fast as allowed
    uint32_t concurrency = 64;       // connections in flight at most
    double duration_s = 10;          // stop opening after this long (0: no limit)
    uint64_t count = 0;              // stop opening after this many (0: no limit)
    CloseMode close = CloseMode::Client;
    uint32_t timeout_ms = 5000;      // per connection, from connect() to the response
    bool warmup = true;              // one untimed connection first (ARP, server reachable)

    // --syn-flood
    bool syn_flood = false;
    std::string flood_prefix = "198.19.0.0/16";  // spoofed sources
    std::string test_range = "198.18.0.0/15";    // flood prefixes must lie inside
    bool allow_any_prefix = false;
    uint64_t flood_rate = 10000;   // SYNs per second (0: as fast as the port takes them)
    uint64_t flood_count = 10000;  // SYNs in all (0: until flood_duration)
    double flood_duration_s = 10;  // at most this long
};

// Reads a cps.toml: the [cps] table into `cps`, everything else through engine::parse_config.
dev::Result<engine::StackConfig> load_cps_config(const std::string& path, CpsConfig& cps);
dev::Result<engine::StackConfig> parse_cps_config(std::string_view text, std::string_view origin,
                                                  CpsConfig& cps);

}  // namespace sluice::cps
