#include <gtest/gtest.h>

#include <fstream>

#include "engine/config.hpp"

namespace sluice::engine {
namespace {

constexpr const char* kMinimal = R"(
[ip]
address = "198.18.0.2/24"
gateway = "198.18.0.1"
)";

TEST(Config, CommittedDefaultLoadsAndDescribesTheNetnsTestBed) {
    auto cfg = load_config(std::string(SLUICE_SOURCE_DIR) + "/config/listen.toml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    EXPECT_EQ(cfg->port.device, "net_af_packet0");
    EXPECT_EQ(cfg->port.iface, "sluice-srv");
    EXPECT_EQ(cfg->net.address.addr.to_string(), "198.18.0.2");
    EXPECT_EQ(cfg->net.address.len, 24);
    ASSERT_TRUE(cfg->net.gateway);
    EXPECT_EQ(cfg->net.gateway->to_string(), "198.18.0.1");
    EXPECT_FALSE(cfg->hugepages);
    EXPECT_EQ(cfg->port.queues, 1);
    const auto eal = cfg->eal_defaults();
    EXPECT_EQ(eal.vdev, "net_af_packet0,iface=sluice-srv,qpairs=1");
    EXPECT_EQ(eal.lcores, "1");
    EXPECT_FALSE(eal.hugepages);
}

TEST(Config, MinimalConfigGetsDefaults) {
    auto cfg = parse_config(kMinimal, "t.toml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    EXPECT_EQ(cfg->port.rx_descriptors, 1024);
    EXPECT_EQ(cfg->port.mbufs_per_queue, 8191u);
    EXPECT_EQ(cfg->net.ttl, 64);
    EXPECT_EQ(cfg->net.neighbors.reachable, std::chrono::seconds(60));
}

struct BadCase {
    const char* toml;
    const char* must_mention;
};

class ConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigErrors, NameTheKey) {
    auto cfg = parse_config(GetParam().toml, "t.toml");
    ASSERT_FALSE(cfg);
    EXPECT_NE(cfg.error().message.find(GetParam().must_mention), std::string::npos)
        << cfg.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    , ConfigErrors,
    ::testing::Values(
        BadCase{"[ip]\naddress = \"198.18.0.2/24\"\nadress = 1\n", "ip.adress is not a known key"},
        BadCase{"[ipp]\naddress = \"198.18.0.2/24\"\n", "[ipp] is not a known section"},
        BadCase{"[ip]\naddress = \"198.18.0.2/24\"\naddress6 = \"2001:2::2\"\n",
                "ip.address6 must be an IPv6 address with a prefix"},
        BadCase{"[ip]\naddress = \"198.18.0.2/24\"\naddress6 = \"198.18.0.3/24\"\n",
                "ip.address6 must be an IPv6 address"},
        BadCase{"[ip]\naddress = \"198.18.0.2/24\"\naddress6 = \"fe80::2/64\"\n",
                "not a global unicast address"},
        BadCase{"[ip]\naddress = \"198.18.0.2/24\"\naddress6 = \"2001:2::2/64\"\n"
                "gateway6 = \"2001:3::1\"\n",
                "ip.gateway6: 2001:3::1 is neither inside"},
        BadCase{"[ip]\naddress = \"198.18.0.2/24\"\ngateway6 = \"fe80::1\"\n",
                "ip.gateway6: needs ip.address6"},
        BadCase{"[ip]\naddress = \"198.18.0.2/24\"\n[[listener]]\nport = 7\nbind = \"::\"\n",
                "needs ip.address6"},
        BadCase{"[ip]\naddress = \"198.18.0.2/24\"\n[[listener]]\nport = 7\n"
                "bind = [\"198.18.0.9\"]\n",
                "bind 198.18.0.9 is not an address of ours"},
        BadCase{"[ip]\naddress = \"198.18.0.2/24\"\n[[listener]]\nport = 7\nbind = [\"x\"]\n",
                "listener[0].bind must list IPv4 or IPv6 addresses"},
        BadCase{"[ip]\naddress = \"198.18.0.2/24\"\naddress6 = \"2001:2::2/64\"\n"
                "[[listener]]\nport = 7\n[[listener]]\nport = 7\nbind = \"2001:2::2\"\n",
                "listener[1].port 7 is already a listener"},
        BadCase{"[ip]\naddress = \"198.18.0.2\"\n",
                "ip.address must be an IPv4 address with a prefix"},
        BadCase{"[port]\nmtu = 100\n[ip]\naddress = \"198.18.0.2/24\"\n",
                "port.mtu must be between 576 and 9000"},
        BadCase{"[port]\ndevice = 3\n[ip]\naddress = \"198.18.0.2/24\"\n",
                "port.device must be a string"},
        BadCase{"[memory]\nhugepages = 1\n[ip]\naddress = \"198.18.0.2/24\"\n",
                "memory.hugepages must be true or false"},
        BadCase{"[cpu]\nlcores = \"a-b\"\n[ip]\naddress = \"198.18.0.2/24\"\n",
                "cpu.lcores must be an EAL lcore list"},
        BadCase{"[ip]\ngateway = \"198.18.0.1\"\n", "ip.address is required"},
        BadCase{"[ip]\naddress = \"198.18.0.2/24\"\ngateway = \"198.19.0.1\"\n", "is not inside"},
        BadCase{"[ip]\naddress = \"198.18.0.255/24\"\n", "network or broadcast"},
        BadCase{"[ip]\naddress = \"198.18.0.2/24\"\nttl = 0\n", "ip.ttl must be between 1 and 255"},
        BadCase{"[ip\n", "t.toml:1"},
        BadCase{"[ip]\naddress = \"198.18.0.2/24\"\n[tcp]\nmin_rto_ms = 5000\nmax_rto_ms = 1000\n",
                "min_rto_ms is larger than tcp.max_rto_ms"},
        BadCase{"[ip]\naddress = \"198.18.0.2/24\"\n[tcp]\ndelayed_ack_ms = 600\n",
                "tcp.delayed_ack_ms must be between 0 and 500"}));

TEST(Config, TcpTimersNagleWindowAndChallengeLimit) {
    auto cfg = parse_config(std::string(kMinimal) + R"(
[tcp]
min_rto_ms = 50
max_rto_ms = 30000
delayed_ack_ms = 0
initial_window = 4
nagle = false
challenge_ack_limit = 0
)",
                            "t.toml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    const tcp::Config& t = cfg->tcp.tcp;
    EXPECT_EQ(t.min_rto, std::chrono::milliseconds(50));
    EXPECT_EQ(t.max_rto, std::chrono::seconds(30));
    EXPECT_FALSE(t.delayed_ack);
    EXPECT_EQ(t.initial_window, 4);
    EXPECT_FALSE(t.nagle);
    EXPECT_EQ(t.challenge_ack_limit, 0u);
    auto defaults = parse_config(kMinimal, "t.toml");
    ASSERT_TRUE(defaults);
    EXPECT_TRUE(defaults->tcp.tcp.delayed_ack);
    EXPECT_EQ(defaults->tcp.tcp.delayed_ack_timeout, std::chrono::milliseconds(40));
    EXPECT_EQ(defaults->tcp.tcp.challenge_ack_limit, 1000u);
}

// Issue 18 item 6: failed-cookie ACKs get a RST by default (RFC 9293 3.10.7.2), within a
// per-worker limit that 0 turns off; a listener may still drop them silently.
TEST(Config, BadCookieRstLimitAndPerListenerSwitch) {
    auto cfg = parse_config(std::string(kMinimal) + R"(
[tcp]
bad_cookie_rst_limit = 0
[[listener]]
port = 7
service = "echo"
rst_on_bad_cookie = false
)",
                            "t.toml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    EXPECT_EQ(cfg->tcp.bad_cookie_rst_limit, 0u);
    ASSERT_EQ(cfg->tcp.listeners.size(), 1u);
    EXPECT_FALSE(cfg->tcp.listeners[0].syn.rst_on_bad_cookie);
    auto defaults = parse_config(std::string(kMinimal) + "[[listener]]\nport = 7\n", "t.toml");
    ASSERT_TRUE(defaults) << defaults.error().message;
    EXPECT_EQ(defaults->tcp.bad_cookie_rst_limit, 1000u);
    ASSERT_EQ(defaults->tcp.listeners.size(), 1u);
    EXPECT_TRUE(defaults->tcp.listeners[0].syn.rst_on_bad_cookie);
}

TEST(Config, OverridesReplaceAddressGatewayAndInterface) {
    auto cfg =
        parse_config(std::string(kMinimal) +
                         "[port]\ndevice = \"net_af_packet0\"\nvdev_args = \"iface=a,qpairs=1\"\n",
                     "t.toml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    Overrides o{.address = "198.19.1.10", .prefix = 16, .gateway = "198.19.0.1", .iface = "eth7"};
    auto r = apply_overrides(*cfg, o);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(cfg->net.address.addr.to_string(), "198.19.1.10");
    EXPECT_EQ(cfg->net.address.len, 16);
    EXPECT_EQ(cfg->net.gateway->to_string(), "198.19.0.1");
    EXPECT_EQ(cfg->vdev_args, "iface=eth7,qpairs=1");
    EXPECT_EQ(cfg->port.iface, "eth7");
}

TEST(Config, AfXdpDeviceGetsOneQueuePerWorkerUnlessTold) {
    auto cfg = parse_config(std::string(kMinimal) +
                                "[port]\ndevice = \"net_af_xdp0\"\nvdev_args = \"iface=a\"\n"
                                "[cpu]\nlcores = \"0-1\"\n",
                            "t.toml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    EXPECT_EQ(cfg->eal_defaults().vdev, "net_af_xdp0,iface=a,queue_count=2");
    cfg->vdev_args = "iface=a,queue_count=1";
    EXPECT_EQ(cfg->eal_defaults().vdev, "net_af_xdp0,iface=a,queue_count=1");
}

TEST(Config, OverrideGatewayNoneRemovesIt) {
    auto cfg = parse_config(kMinimal, "t.toml");
    ASSERT_TRUE(cfg);
    ASSERT_TRUE(apply_overrides(*cfg, Overrides{.gateway = "none"}));
    EXPECT_FALSE(cfg->net.gateway);
}

TEST(Config, OverrideThatBreaksTheGatewayRuleIsRejected) {
    auto cfg = parse_config(kMinimal, "t.toml");
    ASSERT_TRUE(cfg);
    auto r = apply_overrides(*cfg, Overrides{.address = "198.18.5.2/24"});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("ip.gateway"), std::string::npos) << r.error().message;
}

TEST(Config, DualStackAddressesAndPerFamilyListeners) {
    auto cfg = parse_config(std::string(kMinimal) + R"(address6 = "2001:2::2/64"
gateway6 = "fe80::1"
[[listener]]
port = 7
[[listener]]
port = 80
bind = ["198.18.0.2"]
[[listener]]
port = 80
bind = "::"
)",
                            "t.toml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    ASSERT_TRUE(cfg->net.address6);
    EXPECT_EQ(cfg->net.address6->to_string(), "2001:2::2/64");
    EXPECT_EQ(cfg->net.gateway6->to_string(), "fe80::1");
    const auto v6 = *wire::IpAddr::parse("2001:2::2");
    const auto v4 = *wire::IpAddr::parse("198.18.0.2");
    EXPECT_TRUE(cfg->net.is_local(v6));
    EXPECT_FALSE(cfg->net.is_local(*wire::IpAddr::parse("2001:2::3")));
    const auto& l = cfg->tcp.listeners;
    ASSERT_EQ(l.size(), 3u);
    EXPECT_TRUE(l[0].accepts(v4) && l[0].accepts(v6)) << "no bind: both families";
    EXPECT_TRUE(l[1].accepts(v4));
    EXPECT_FALSE(l[1].accepts(v6));
    EXPECT_FALSE(l[2].accepts(v4));
    EXPECT_TRUE(l[2].accepts(v6));
    EXPECT_FALSE(l[1].overlaps(l[2]));
    const ListenerConfig only_v6{.port = 80, .bind = {v6}};
    EXPECT_TRUE(l[2].overlaps(only_v6));
    EXPECT_TRUE(only_v6.overlaps(l[2]));
}

TEST(Config, Address6OverrideSetsAndNoneRemovesIpv6) {
    auto cfg = parse_config(kMinimal, "t.toml");
    ASSERT_TRUE(cfg);
    EXPECT_FALSE(cfg->net.has_ipv6());
    ASSERT_TRUE(apply_overrides(*cfg, Overrides{.address6 = "2001:2::5/64"}));
    ASSERT_TRUE(cfg->net.address6);
    EXPECT_EQ(cfg->net.address6->len, 64);
    auto bad = apply_overrides(*cfg, Overrides{.address6 = "2001:2::5"});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("--address6"), std::string::npos);
    ASSERT_TRUE(apply_overrides(*cfg, Overrides{.address6 = "none"}));
    EXPECT_FALSE(cfg->net.has_ipv6());
}

TEST(Config, Ipv6PrefixContainsExactlyItsAddresses) {
    const auto p = *wire::Ipv6Prefix::parse("2001:2::2/64");
    EXPECT_TRUE(p.contains(*wire::IpAddr::parse("2001:2::ffff:1")));
    EXPECT_FALSE(p.contains(*wire::IpAddr::parse("2001:2:0:1::1")));
    EXPECT_FALSE(p.contains(*wire::IpAddr::parse("198.18.0.2")));
    const auto odd = *wire::Ipv6Prefix::parse("2001:2::/31");
    EXPECT_TRUE(odd.contains(*wire::IpAddr::parse("2001:3::1")));
    EXPECT_FALSE(odd.contains(*wire::IpAddr::parse("2001:4::1")));
    EXPECT_FALSE(wire::Ipv6Prefix::parse("2001:2::/129"));
    EXPECT_FALSE(wire::Ipv6Prefix::parse("198.18.0.0/15"));
}

TEST(Config, CountsLcoreLists) {
    EXPECT_EQ(count_lcores("1"), 1u);
    EXPECT_EQ(count_lcores("0-3"), 4u);
    EXPECT_EQ(count_lcores("0-1,4,6-7"), 5u);
    EXPECT_EQ(count_lcores(""), 0u);
    EXPECT_EQ(count_lcores("3-1"), 0u);
    EXPECT_EQ(count_lcores("1,,2"), 0u);
    EXPECT_EQ(count_lcores("x"), 0u);
}

}  // namespace
}  // namespace sluice::engine
