#pragma once
// The command-line pieces sluice-listen and sluice-cps share: the port and address overrides
// (engine::Overrides) and parsing the application's half of argv (after the EAL's `--`).

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "engine/config.hpp"

namespace sluice::app {

inline void add_port_options(CLI::App& cli, engine::Overrides& ov) {
    cli.add_option("--address", ov.address, "our IPv4 address, optionally with /prefix");
    cli.add_option("--address6", ov.address6, "our IPv6 address with /prefix, or 'none'");
    cli.add_option("--gateway", ov.gateway, "next hop outside the prefix, or 'none'");
    cli.add_option("--device", ov.device, "ethdev name: PCI address or vdev (net_af_packet0)");
    cli.add_option("--vdev-args", ov.vdev_args, "virtual device arguments (iface=...,qpairs=...)");
    cli.add_option("--iface", ov.iface, "kernel interface for the virtual device (sets iface=)");
    cli.add_option("--lcores", ov.lcores, "EAL lcore list for the workers, e.g. 1 or 0-1");
}

// Parses `args` (argv[0] first); returns -1 on success, else the exit code CLI11 chose (help,
// version, or an error it has printed).
inline int parse_app_args(CLI::App& cli, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    try {
        cli.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
        return cli.exit(e);
    }
    return -1;
}

}  // namespace sluice::app
