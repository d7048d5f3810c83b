#include "dev/port.hpp"

#include <net/if.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <vector>

namespace sluice::dev {

namespace {

std::string port_name(uint16_t id) {
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    if (rte_eth_dev_get_name_by_port(id, name) != 0) return "?";
    return name;
}

Result<uint16_t> find_port(const PortConfig& cfg) {
    if (rte_eth_dev_count_avail() == 0) {
        std::string msg = "no Ethernet port found.";
        if (!cfg.iface.empty() && if_nametoindex(cfg.iface.c_str()) == 0) {
            msg += " The interface '" + cfg.iface +
                   "' does not exist in this network namespace (create it, or run sluice in "
                   "the namespace that has it: ip netns exec NAME ...).";
        } else {
            msg +=
                " Bind a NIC to vfio-pci (dpdk-devbind.py -b vfio-pci ADDR) or give a "
                "virtual device, e.g. --vdev=net_af_packet0,iface=IFNAME.";
        }
        return Error{msg};
    }
    if (cfg.device.empty()) {
        if (rte_eth_dev_count_avail() > 1) {
            return Error{"several ports found (" + describe_ports() +
                         "); name one with port.device in the config or --device"};
        }
        uint16_t id = 0;
        RTE_ETH_FOREACH_DEV(id) {
            return id;
        }
    }
    uint16_t id = 0;
    if (rte_eth_dev_get_port_by_name(cfg.device.c_str(), &id) == 0) return id;
    std::string msg = "port '" + cfg.device + "' not found; the EAL has: " + describe_ports();
    if (!cfg.iface.empty() && if_nametoindex(cfg.iface.c_str()) == 0) {
        msg += ". The interface '" + cfg.iface + "' does not exist in this network namespace.";
    }
    return Error{msg};
}

std::string errmsg(const char* what, int rc) {
    return std::string(what) + ": " + rte_strerror(rc < 0 ? -rc : rc);
}

constexpr uint64_t kRssWant = RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV6_TCP |
                              RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_IPV6;

// Virtual devices whose queues are filled by something other than a Toeplitz hash with our
// key, even where they advertise RSS: the kernel's PACKET_FANOUT (af_packet), tun's own queue
// selection (tap), the NIC's key (af_xdp), or nothing at all.
constexpr const char* kNoSteeringDrivers[] = {
    "net_af_packet", "net_tap",   "net_af_xdp", "net_ring",        "net_null",
    "net_pcap",      "net_memif", "net_vhost",  "net_virtio_user",
};

bool hardware_rss_usable(const rte_eth_dev_info& info, const std::string& driver,
                         std::string& why) {
    for (const char* d : kNoSteeringDrivers) {
        if (driver == d) {
            why = driver + " does not place flows by a Toeplitz hash we can compute";
            return false;
        }
    }
    if ((info.flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP) == 0) {
        why = "no RSS over TCP/IPv4";
        return false;
    }
    if (info.hash_key_size == 0 || info.hash_key_size > kRssKeyLen || info.hash_key_size % 4 != 0) {
        why = "RSS key of " + std::to_string(info.hash_key_size) + " bytes";
        return false;
    }
    if (info.reta_size == 0 || (info.reta_size & (info.reta_size - 1)) != 0) {
        why = "no usable redirection table (size " + std::to_string(info.reta_size) + ")";
        return false;
    }
    return true;
}

// Spreads the RETA round-robin over the queues, then reads back what the NIC has: that is
// what the port allocator and the software stage must predict. False if neither works.
bool configure_reta(Port& port, uint16_t reta_size, std::string& why) {
    std::vector<rte_eth_rss_reta_entry64> conf(reta_size / RTE_ETH_RETA_GROUP_SIZE +
                                               (reta_size % RTE_ETH_RETA_GROUP_SIZE != 0));
    for (uint16_t i = 0; i < reta_size; ++i) {
        auto& g = conf[i / RTE_ETH_RETA_GROUP_SIZE];
        g.mask |= 1ull << (i % RTE_ETH_RETA_GROUP_SIZE);
        g.reta[i % RTE_ETH_RETA_GROUP_SIZE] = static_cast<uint16_t>(i % port.queues);
    }
    // A PMD without reta_update keeps its default, which is still worth reading.
    (void)rte_eth_dev_rss_reta_update(port.id, conf.data(), reta_size);
    for (auto& g : conf) {
        std::fill(std::begin(g.reta), std::end(g.reta), uint16_t{0});
    }
    if (int rc = rte_eth_dev_rss_reta_query(port.id, conf.data(), reta_size); rc != 0) {
        why = errmsg("reading the RETA back", rc);
        return false;
    }
    std::vector<uint16_t> reta(reta_size);
    for (uint16_t i = 0; i < reta_size; ++i)
        reta[i] = conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
    port.rss = RssMap(port.queues, std::move(reta));
    return true;
}

}  // namespace

std::string describe_ports() {
    std::string out;
    uint16_t id = 0;
    RTE_ETH_FOREACH_DEV(id) {
        if (!out.empty()) out += ", ";
        out += std::to_string(id) + ":" + port_name(id);
    }
    return out.empty() ? "none" : out;
}

Result<Port> open_port(const PortConfig& cfg) {
    auto found = find_port(cfg);
    if (!found) return found.error();

    Port port;
    port.id = *found;
    port.name = port_name(port.id);

    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(port.id, &info); rc != 0) {
        return Error{errmsg("rte_eth_dev_info_get", rc)};
    }
    port.driver = info.driver_name ? info.driver_name : "?";

    if (cfg.queues == 0) return Error{"queue count must be at least 1"};
    if (cfg.queues > info.max_rx_queues || cfg.queues > info.max_tx_queues) {
        return Error{"port " + port.name + " (" + port.driver + ") supports at most " +
                     std::to_string(std::min(info.max_rx_queues, info.max_tx_queues)) +
                     " queue pair(s) but " + std::to_string(cfg.queues) +
                     " workers need one each: use fewer worker lcores" +
                     (port.driver == "net_af_packet" ? " or raise qpairs= in the vdev" : "")};
    }
    port.queues = cfg.queues;

    rte_eth_conf conf{};
    // Checksum offloads: use what the PMD advertises, verify in software otherwise.
    const uint64_t rx_csum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
    port.caps.rx_ip_csum = info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
    port.caps.rx_l4_csum = info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
    conf.rxmode.offloads |= info.rx_offload_capa & rx_csum;
    port.caps.tx_ip_csum = info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
    port.caps.tx_tcp_csum = info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
    if (port.caps.tx_ip_csum) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
    if (port.caps.tx_tcp_csum) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
    // net_ring passes the mbuf pointers themselves, chains included, without saying so.
    port.caps.tx_multi_seg =
        (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) || port.driver == "net_ring";
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    }
    // Fast free wants every mbuf sent on a queue to come from one pool; with several workers
    // a frame steered from another worker's queue may be answered in place, so only then.
    if (cfg.queues == 1 && (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    }

    // RSS over TCP/IPv4 (and IPv6) with the symmetric key, where the PMD can steer by it.
    std::array<uint8_t, kRssKeyLen> key = symmetric_rss_key();
    std::string why;
    const bool pmd_steers = cfg.queues > 1 && hardware_rss_usable(info, port.driver, why);
    if (cfg.queues > 1 && cfg.steering == SteeringMode::Hardware && !pmd_steers) {
        return Error{"cpu.steering = \"hardware\" but port " + port.name + " (" + port.driver +
                     ") cannot steer flows: " + why +
                     ". Use steering = \"auto\" (software steering) or one worker lcore"};
    }
    const bool want_hw = pmd_steers && cfg.steering != SteeringMode::Software;
    if (want_hw) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_key = key.data();
        conf.rx_adv_conf.rss_conf.rss_key_len = info.hash_key_size;
        conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & kRssWant;
    }

    if (int rc = rte_eth_dev_configure(port.id, cfg.queues, cfg.queues, &conf); rc != 0) {
        return Error{errmsg(("configuring port " + port.name).c_str(), rc)};
    }
    uint16_t nb_rx = cfg.rx_descriptors, nb_tx = cfg.tx_descriptors;
    if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port.id, &nb_rx, &nb_tx); rc != 0) {
        return Error{errmsg("adjusting descriptor counts", rc)};
    }

    const int socket = rte_eth_dev_socket_id(port.id) < 0 ? 0 : rte_eth_dev_socket_id(port.id);
    const uint32_t need = nb_rx + nb_tx + 2 * cfg.mbuf_cache + 64;
    if (cfg.mbufs_per_queue < need) {
        return Error{"memory.mbufs_per_queue = " + std::to_string(cfg.mbufs_per_queue) +
                     " is too small for " + std::to_string(nb_rx) + " RX + " +
                     std::to_string(nb_tx) + " TX descriptors and the caches: use at least " +
                     std::to_string(need)};
    }
    for (uint16_t q = 0; q < cfg.queues; ++q) {
        const std::string name = "sluice_p" + std::to_string(port.id) + "q" + std::to_string(q);
        rte_mempool* pool =
            rte_pktmbuf_pool_create(name.c_str(), cfg.mbufs_per_queue, cfg.mbuf_cache, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, socket);
        if (pool == nullptr) {
            return Error{"cannot create mempool " + name + " (" +
                         std::to_string(cfg.mbufs_per_queue) +
                         " mbufs): " + rte_strerror(rte_errno) +
                         ". Lower memory.mbufs_per_queue, or reserve more hugepages."};
        }
        port.pools.push_back(pool);
        rte_eth_rxconf rxq = info.default_rxconf;
        rxq.offloads = conf.rxmode.offloads;
        if (int rc = rte_eth_rx_queue_setup(port.id, q, nb_rx, socket, &rxq, pool); rc != 0) {
            return Error{errmsg(("RX queue " + std::to_string(q) + " setup").c_str(), rc)};
        }
        rte_eth_txconf txq = info.default_txconf;
        txq.offloads = conf.txmode.offloads;
        if (int rc = rte_eth_tx_queue_setup(port.id, q, nb_tx, socket, &txq); rc != 0) {
            return Error{errmsg(("TX queue " + std::to_string(q) + " setup").c_str(), rc)};
        }
    }

    if (cfg.mtu != 0 && cfg.mtu != 1500) {
        if (int rc = rte_eth_dev_set_mtu(port.id, cfg.mtu); rc != 0) {
            return Error{errmsg(("setting MTU " + std::to_string(cfg.mtu)).c_str(), rc)};
        }
    }
    uint16_t mtu = 0;
    port.mtu = rte_eth_dev_get_mtu(port.id, &mtu) == 0 && mtu != 0 ? mtu : 1500;
    // Without multi-segment TX a data frame is copied into its header mbuf: it must fit.
    if (!port.caps.tx_multi_seg && port.mtu + RTE_ETHER_HDR_LEN > RTE_MBUF_DEFAULT_DATAROOM) {
        return Error{"port " + port.name + " (" + port.driver +
                     ") sends single-segment frames only: port.mtu must be at most " +
                     std::to_string(RTE_MBUF_DEFAULT_DATAROOM - RTE_ETHER_HDR_LEN)};
    }

    if (int rc = rte_eth_dev_start(port.id); rc != 0) {
        return Error{errmsg(("starting port " + port.name).c_str(), rc)};
    }
    if (cfg.queues == 1) {
        port.steering = Steering::Single;
        port.steering_why = "one worker";
    } else if (want_hw && configure_reta(port, info.reta_size, why)) {
        port.steering = Steering::Hardware;
        port.caps.rss = true;
        port.steering_why =
            "the NIC's RSS, symmetric key, RETA over " + std::to_string(cfg.queues) + " queues";
    } else {
        port.steering = Steering::Software;
        port.rss = RssMap::round_robin(cfg.queues);
        port.steering_why = cfg.steering == SteeringMode::Software
                                ? std::string("as configured (cpu.steering)")
                                : "the PMD cannot steer: " + why;
    }
    rte_ether_addr mac{};
    rte_eth_macaddr_get(port.id, &mac);
    std::memcpy(port.mac, mac.addr_bytes, sizeof port.mac);
    return port;
}

void close_port(Port& port) {
    rte_eth_dev_stop(port.id);
    rte_eth_dev_close(port.id);
    for (rte_mempool* p : port.pools) rte_mempool_free(p);
    port.pools.clear();
}

}  // namespace sluice::dev
