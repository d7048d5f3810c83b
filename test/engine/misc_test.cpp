// EAL argument handling, drop-reason mapping, counter exposition, telemetry replies.
#include <gtest/gtest.h>

#include <set>

#include "ctl/prometheus.hpp"
#include "ctl/conn_info.hpp"
#include "ctl/telemetry_client.hpp"
#include "dev/eal.hpp"
#include "engine/stack.hpp"
#include "engine/worker.hpp"

namespace sluice {
namespace {

TEST(EalArgs, SplitsAtDoubleDash) {
    const char* argv[] = {"prog", "-l", "1", "--", "--config", "x.toml"};
    auto s = dev::split_args(6, const_cast<char**>(argv));
    EXPECT_EQ(s.eal, (std::vector<std::string>{"prog", "-l", "1"}));
    EXPECT_EQ(s.app, (std::vector<std::string>{"prog", "--config", "x.toml"}));
}

TEST(EalArgs, ConfigDefaultsAreAddedOnlyWhereTheUserSaidNothing) {
    dev::EalDefaults d{.lcores = "1",
                       .vdev = "net_af_packet0,iface=a",
                       .file_prefix = "sluice",
                       .hugepages = false};
    auto a = dev::merge_eal_args({"prog"}, d);
    EXPECT_EQ(a, (std::vector<std::string>{"prog", "-l", "1", "--vdev=net_af_packet0,iface=a",
                                           "--no-pci", "--file-prefix=sluice", "--no-huge"}));
    auto b = dev::merge_eal_args({"prog", "--lcores=0-1", "-a", "0000:03:00.0", "--in-memory"}, d);
    EXPECT_EQ(b, (std::vector<std::string>{"prog", "--lcores=0-1", "-a", "0000:03:00.0",
                                           "--in-memory", "--no-huge"}));
}

TEST(DropMapping, EveryWireReasonHasItsOwnDropCounter) {
    std::set<Counter> seen;
    for (size_t i = 1; i < wire::kDropCount; ++i) {
        const auto d = static_cast<wire::Drop>(i);
        const auto c = engine::counters_for(d);
        EXPECT_EQ(counter_name(c.drop), std::string("Drop") + wire::drop_name(d))
            << "reason " << wire::drop_name(d);
        EXPECT_TRUE(seen.insert(c.drop).second) << wire::drop_name(d);
    }
}

TEST(DropMapping, ChecksumFailuresAlsoCountUnderNstatNames) {
    EXPECT_EQ(engine::counters_for(wire::Drop::TcpBadChecksum).total, Counter::TcpInCsumErrors);
    EXPECT_EQ(engine::counters_for(wire::Drop::Ipv4BadChecksum).total, Counter::IpInHdrErrors);
    EXPECT_EQ(engine::counters_for(wire::Drop::IcmpBadChecksum).total, Counter::IcmpInCsumErrors);
    EXPECT_EQ(engine::counters_for(wire::Drop::Ipv4Fragment).total, Counter::IpReasmFails);
}

TEST(Counters, SingleWriterAddAndRead) {
    Counters c;
    c.add(Counter::TcpOutRsts);
    c.add(Counter::TcpOutRsts, 4);
    EXPECT_EQ(c.get(Counter::TcpOutRsts), 5u);
    EXPECT_EQ(c.get(Counter::TcpInSegs), 0u);
    static_assert(alignof(Counters) == 64);
}

TEST(Counters, PrometheusExposition) {
    const std::string text =
        ctl::to_prometheus({{"TcpOutRsts", 7}, {"CurrEstab", 2}, {"NotACounterOfOurs", 1}});
    EXPECT_NE(text.find("# TYPE sluice_TcpOutRsts counter\nsluice_TcpOutRsts 7\n"),
              std::string::npos);
    EXPECT_NE(text.find("# TYPE sluice_CurrEstab gauge\nsluice_CurrEstab 2\n"), std::string::npos);
    EXPECT_NE(text.find("# HELP sluice_IpInReceives "), std::string::npos);  // absent: 0
    EXPECT_NE(text.find("sluice_IpInReceives 0\n"), std::string::npos);
    EXPECT_EQ(text.find("NotACounterOfOurs"), std::string::npos);
}

TEST(Telemetry, ParsesFlatCounterReplies) {
    auto m = ctl::parse_counter_reply(
        R"({"/sluice/stats": {"IpInReceives": 12, "TcpOutRsts": 0, "Big": 18446744073709551615}})");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->at("IpInReceives"), 12u);
    EXPECT_EQ(m->at("TcpOutRsts"), 0u);
    EXPECT_EQ(m->at("Big"), UINT64_MAX);
    EXPECT_FALSE(ctl::parse_counter_reply("garbage"));
    auto empty = ctl::parse_counter_reply(R"({"/sluice/stats": {}})");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
}

// Issue 21 item 4: real JSON, not string searches: strings holding the separators, escapes,
// nested values and whitespace do not derail the reader; a reply that is not JSON is refused.
TEST(Telemetry, ParsesRepliesAsJson) {
    auto m = ctl::parse_counter_reply(
        R"({"/sluice/info": {"port": "net_af_packet0,iface=x}", "quote\"d": "a\",b", )"
        R"("nested": {"inner": 1}, "list": [1, 2], "workers": 2, "rss": 0}})");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->size(), 2u);
    EXPECT_EQ(m->at("workers"), 2u);
    EXPECT_EQ(m->at("rss"), 0u);
    EXPECT_FALSE(ctl::parse_counter_reply(R"({"/sluice/stats": {"A": 1)"));
    EXPECT_FALSE(ctl::parse_counter_reply(R"({"/sluice/stats": null})"));

    uint64_t total = 0;
    const auto rows = ctl::parse_conn_rows(
        R"({"/sluice/tcp/conns": {"total": 2, "truncated": 0, )"
        R"("rows": ["ESTABLISHED 198.18.0.2:80 198.18.0.1:4000 0 0 12 14480", "LISTEN [x]:1 *:0 0 0 0 0"]}})",
        total);
    ASSERT_TRUE(rows);
    EXPECT_EQ(total, 2u);
    ASSERT_EQ(rows->size(), 2u);
    EXPECT_EQ((*rows)[1], "LISTEN [x]:1 *:0 0 0 0 0");
    EXPECT_FALSE(ctl::parse_conn_rows(R"({"/sluice/tcp/conns": null})", total));
}

// Issue 21 item 3: sluice-stat -t -i prints what ss -ti prints, in its names and units.
TEST(Telemetry, ConnectionDetailsReadAndPrintedAsSsDoes) {
    const std::string reply =
        R"({"/sluice/tcp/info": {"total": 2, "truncated": 0, )"
        R"("rows": ["LISTEN 198.18.0.2:80 *:0 0 0 0 0", )"
        R"("ESTABLISHED 198.18.0.2:9 198.18.0.1:40000 10 20 30000 14480"], )"
        R"("rtt_us": [0, 30000], "rttvar_us": [0, 15000], "rto_us": [0, 230000], )"
        R"("mss": [0, 1448], "cwnd": [0, 14480], "ssthresh": [0, 4294967295], )"
        R"("snd_wnd": [0, 64256], "rcv_wnd": [0, 65535], "bytes_sent": [0, 100], )"
        R"("bytes_acked": [0, 90], "bytes_received": [0, 1000], "segs_out": [0, 5], )"
        R"("segs_in": [0, 7], "retrans": [0, 2], "sack": [0, 1], "ts": [0, 1], "ws": [0, 1], )"
        R"("snd_wscale": [0, 7], "rcv_wscale": [0, 9]}})";
    uint64_t total = 0;
    const auto rows = ctl::parse_conn_info(reply, total);
    ASSERT_TRUE(rows);
    EXPECT_EQ(total, 2u);
    ASSERT_EQ(rows->size(), 2u);
    const ctl::ConnInfo& c = (*rows)[1];
    EXPECT_EQ(c.state, "ESTABLISHED");
    EXPECT_EQ(c.peer, "198.18.0.1:40000");
    EXPECT_EQ(c.send_q, 10u);
    EXPECT_EQ(c.recv_q, 20u);
    EXPECT_EQ(ctl::ss_detail(c),
              "\t ts sack wscale:7,9 rto:230 rtt:30/15 mss:1448 cwnd:10 bytes_sent:100 "
              "bytes_acked:90 bytes_received:1000 segs_out:5 segs_in:7 send 3.9Mbps "
              "retrans:0/2 snd_wnd:64256 rcv_wnd:65535");
    const auto j = ctl::to_json(c);
    EXPECT_EQ(j["rtt_us"], 30000u);
    EXPECT_EQ(j["sack"], true);
    EXPECT_EQ(j["bytes_received"], 1000u);
    EXPECT_EQ(j["local"], "198.18.0.2:9");
    // A page missing a field is refused rather than read as zeros.
    EXPECT_FALSE(ctl::parse_conn_info(
        R"({"/sluice/tcp/info": {"total": 1, "rows": ["ESTABLISHED a:1 b:2 0 0 0 0"]}})", total));
}

}  // namespace
}  // namespace sluice
