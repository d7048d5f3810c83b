// The fleet cookie secret end to end (issue 18): two sluice-listen processes behind one
// address, as the hosts of an ECMP group are, sharing tcp.cookie_key_file. A client's SYN
// reaches host A, which answers with a cookie; the path changes and its final ACK reaches
// host B, which has never seen the SYN: with the same key file B validates the cookie and
// the connection is B's (it echoes the ACK's text); with a different key file the cookie
// fails on B, which answers RST (RFC 9293 3.10.7.2) and makes nothing.
//
// Bed (scripts/netns.sh up-fleet t-): the client namespace has two veths, one to host A
// (sluice-t-server, sluice-t-srv, file prefix sluice-t) and one to host B (sluice-t-serverb,
// sluice-t-srb, file prefix sluice-t-b); both sluice processes are 198.18.0.2. No kernel
// has an address there: the client (fleet_peer.py) writes its frames on AF_PACKET and picks
// the link per segment. Both hosts read the wall clock for the cookie period (same machine).

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <string>

#include "testbed.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

const Place kHostA{kServerNs, kServerIface, kFilePrefix};
const Place kHostB{"sluice-t-serverb", "sluice-t-srb", "sluice-t-b"};
constexpr const char* kClientToA = "sluice-t-cli";
constexpr const char* kClientToB = "sluice-t-clb";

// A scratch directory for the configs and key files; removed on destruction.
class Scratch {
public:
    Scratch() {
        char tmpl[] = "/tmp/sluice-fleet-XXXXXX";
        if (::mkdtemp(tmpl) != nullptr) dir_ = tmpl;
    }
    ~Scratch() {
        if (!dir_.empty()) run("rm -rf '" + dir_ + "'");
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    std::string write(const std::string& name, const std::string& text) const {
        const std::string path = dir_ + "/" + name;
        std::ofstream(path) << text;
        ::chmod(path.c_str(), 0600);
        return path;
    }
    bool ok() const { return !dir_.empty(); }

private:
    std::string dir_;
};

// One host of the fleet: echo on port 7, cookies always (every host must accept a cookie it
// did not send), the given key file; lcore `lcore` so the two do not spin on one core.
std::string host_config(const std::string& iface, const std::string& key_file, int lcore) {
    return "[port]\ndevice = \"net_af_packet0\"\nvdev_args = \"iface=" + iface +
           ",qpairs=1\"\n[cpu]\nlcores = \"" + std::to_string(lcore) +
           "\"\n[memory]\nhugepages = false\nmbufs_per_queue = 4095\nsize_mb = 256\n"
           "[ip]\naddress = \"198.18.0.2/24\"\n"
           "[tcp]\nmax_connections = 64\nmax_time_wait = 64\nsyn_cache_entries = 64\n"
           "cookie_key_file = \"" + key_file + "\"\n"
           "[[listener]]\nport = 7\nservice = \"echo\"\nsyncookies = \"always\"\n";
}

std::string mac_of(const Place& p) {
    const auto r = run("ip -n " + p.ns + " -o link show " + p.iface);
    std::smatch m;
    static const std::regex kEther("link/ether ([0-9a-f:]{17})");
    return std::regex_search(r.output, m, kEther) ? m[1].str() : std::string{};
}

struct Outcome {
    std::string peer;  // fleet_peer.py's output
    Counters a, b;
};

// Starts both hosts with their key files and runs one client handshake across them.
Outcome handshake_across(const std::string& key_a, const std::string& key_b) {
    Outcome o;
    Netns bed(kFleet);
    EXPECT_TRUE(bed.ok()) << bed.error();
    Scratch tmp;
    EXPECT_TRUE(tmp.ok());
    if (!bed.ok() || !tmp.ok()) return o;
    const std::string ka = tmp.write("a.key", key_a + "\n");
    const std::string kb = tmp.write("b.key", key_b + "\n");
    SluiceListen a(tmp.write("a.toml", host_config(kHostA.iface, ka, 1)), kHostA);
    EXPECT_TRUE(a.ok()) << a.output();
    SluiceListen b(tmp.write("b.toml", host_config(kHostB.iface, kb, 0)), kHostB);
    EXPECT_TRUE(b.ok()) << b.output();
    if (!a.ok() || !b.ok()) return o;
    const std::string mac_a = mac_of(kHostA), mac_b = mac_of(kHostB);
    EXPECT_FALSE(mac_a.empty() || mac_b.empty());
    o.peer = in_client(source_path("test/e2e/fleet_peer.py") + " " + kClientToA + " " + mac_a +
                           " " + kClientToB + " " + mac_b + " " + kSluiceAddr + " 7",
                       30s)
                 .output;
    // Counters are published every millisecond: wait (bounded) for B's verdict to show.
    const auto settled = [](const Counters& c) {
        return get(c, "SyncookiesRecv") + get(c, "SyncookiesFailed") > 0;
    };
    o.b = b.wait_counters(settled, 2s);
    o.a = a.counters();
    return o;
}

constexpr const char* kKey1 = "000102030405060708090a0b0c0d0e0f";
constexpr const char* kKey2 = "f0e0d0c0b0a090807060504030201000";

TEST(Fleet, SharedCookieKeyFile_HostBCompletesAHandshakeHostAAnswered) {
    const Outcome o = handshake_across(kKey1, kKey1);
    std::printf("%s", o.peer.c_str());
    const auto f = fields(o.peer);
    EXPECT_EQ(f.count("synack") ? f.at("synack") : "", "1") << "A answered the SYN";
    EXPECT_EQ(get(o.a, "SyncookiesSent"), 1u);
    EXPECT_EQ(get(o.b, "SyncookiesRecv"), 1u) << "B took A's cookie";
    EXPECT_EQ(get(o.b, "SyncookiesFailed"), 0u);
    EXPECT_EQ(get(o.b, "PassiveOpens"), 1u);
    EXPECT_EQ(f.count("b_text") ? f.at("b_text") : "", "fleet") << "B's echo of the ACK's text";
    EXPECT_EQ(get(o.a, "PassiveOpens"), 0u);
}

TEST(Fleet, DifferentCookieKeyFiles_HostBResetsTheAckAndMakesNothing) {
    const Outcome o = handshake_across(kKey1, kKey2);
    std::printf("%s", o.peer.c_str());
    const auto f = fields(o.peer);
    EXPECT_EQ(f.count("synack") ? f.at("synack") : "", "1");
    EXPECT_EQ(get(o.b, "SyncookiesRecv"), 0u);
    EXPECT_EQ(get(o.b, "SyncookiesFailed"), 1u);
    EXPECT_EQ(get(o.b, "PassiveOpens"), 0u);
    EXPECT_EQ(f.count("b_flags") ? f.at("b_flags") : "", "0x04") << "RFC 9293 3.10.7.2: RST";
}

}  // namespace
}  // namespace sluice::e2e
