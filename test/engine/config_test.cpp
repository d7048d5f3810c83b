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
