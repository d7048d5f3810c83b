#pragma once
// An Ethernet port brought up for sluice: one RX and one TX queue per worker, RSS where the
// PMD has it, checksum offloads where the PMD advertises them, a mempool per worker.

#include <cstdint>
#include <string>
#include <vector>

#include "dev/error.hpp"
#include "dev/rss.hpp"

struct rte_mempool;

namespace sluice::dev {

struct PortConfig {
    std::string device;   // ethdev name: PCI address ("0000:03:00.0") or vdev name
    std::string iface;    // kernel interface a vdev attaches to (for error messages)
    uint16_t queues = 1;  // one RX and one TX queue per worker
    uint16_t rx_descriptors = 1024;
    uint16_t tx_descriptors = 1024;
    uint32_t mbufs_per_queue = 8191;  // pool size per worker; 2^n - 1 is what rte_mempool likes
    uint32_t mbuf_cache = 256;
    uint16_t mtu = 1500;
    // Auto: the NIC's RSS where the PMD can steer with our key and RETA, software steering
    // otherwise (when queues > 1). Hardware fails set-up if the PMD cannot.
    SteeringMode steering = SteeringMode::Auto;
};

struct PortCaps {
    bool rx_ip_csum = false;   // NIC verifies IPv4 header checksums (RTE_MBUF_F_RX_IP_CKSUM_*)
    bool rx_l4_csum = false;   // NIC verifies TCP checksums
    bool tx_ip_csum = false;   // NIC fills IPv4 header checksums
    bool tx_tcp_csum = false;  // NIC fills TCP checksums from the pseudo-header sum
    bool rss = false;          // queues are fed by the NIC's symmetric Toeplitz RSS
    // The PMD sends a chain of mbufs as one frame. net_af_xdp does not: it sends pkt_len
    // bytes from the first segment, so a chained frame goes out with garbage for payload.
    bool tx_multi_seg = false;
};

struct Port {
    uint16_t id = 0;
    std::string name;
    std::string driver;
    uint16_t queues = 0;
    uint16_t mtu = 1500;
    uint8_t mac[6] = {};
    PortCaps caps;
    Steering steering = Steering::Single;
    RssMap rss;                       // flow -> queue, as the NIC (or the software stage) does it
    std::string steering_why;         // one line for the start-up log: why this steering
    std::vector<rte_mempool*> pools;  // one per queue, on the port's NUMA socket
};

// Finds the port by name (or the only port if `device` is empty), configures and starts it.
// Errors name the cause: no port found (and which exist), an interface that does not exist,
// a queue count the PMD can't do, a mempool that can't be had.
Result<Port> open_port(const PortConfig& cfg);

// Stops and closes the port. Call after the workers have stopped.
void close_port(Port& port);

// Human-readable list of the ports the EAL found, for error messages and logs.
std::string describe_ports();

}  // namespace sluice::dev
