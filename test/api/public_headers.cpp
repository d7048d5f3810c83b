// Issue 21 g: what an application compiles. Built with only include/sluice on the include
// path (no DPDK, toml++ or libsodium flags) and -Wextra -Werror -Wmissing-field-initializers:
// the designated initialisers docs/library.md shows must compile without a warning.
#include <sluice/sluice.hpp>

int main() {
    using namespace std::chrono_literals;
    const sluice::Config c{.address = "198.18.0.2/24", .device = "net_af_packet0",
                           .iface = "veth0"};
    const sluice::ConnOptions o{.no_delay = true, .keepalive = sluice::Keepalive{.idle = 1s}};
    const sluice::WorkerHooks hooks{.on_tick = nullptr};
    const sluice::Handlers h{.on_data = nullptr, .ctx = nullptr};
    const sluice::Endpoint e{.port = 80};
    const sluice::ConnStatus st{.cwnd = 1};
    const sluice::IoResult r{.bytes = 1};
    const sluice::Ipv4 a{.value = 1};
    return int(c.address.empty()) + int(o.send_buffer) + int(hooks.ctx != nullptr) +
           int(h.ctx != nullptr) + e.port + int(st.cwnd) + int(r.bytes) + int(a.value) - 83;
}
