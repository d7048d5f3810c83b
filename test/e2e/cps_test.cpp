// sluice-cps end to end (issue 8 items 4 and 6). On the netns test bed:
//   - against a kernel HTTP server (nginx, one worker, in the client namespace): the report's
//     counts match what the server logged, for each close mode;
//   - more connections than one source address's ports can hold in TIME-WAIT (a 400-port
//     range): several source addresses and RFC 6191 TIME-WAIT reuse keep it going, and
//     without them it runs out (the control: a local wait, not errors);
//   - against sluice-listen: two DPDK processes, one per veth end (short, bounded runs: the
//     machine has 2 cores);
//   - --syn-flood: an out-of-range prefix is refused before anything starts; a bounded count
//     in range arrives at the kernel (its IP InReceives counter);
//   - each HTTP service of sluice-listen driven by ab, with keep-alive and without: zero
//     failures. (echo and discard are not HTTP; ab cannot drive them.)

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "testbed.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

// A number field of sluice-cps's --json report ("key": N); -1 if absent.
int64_t json_num(const std::string& json, const std::string& key) {
    std::smatch m;
    if (!std::regex_search(json, m, std::regex("\"" + key + "\": *([0-9]+)"))) return -1;
    return std::stoll(m[1]);
}

// sluice-cps in the server namespace (198.18.0.2 on the bed's DPDK end), config/cps.toml.
CommandResult cps(const std::string& args, std::chrono::seconds limit = 60s) {
    return run(std::string("ip netns exec ") + kServerNs + " " + build_path("app/sluice-cps") +
                   " --file-prefix=" + kFilePrefix + " -- --config " +
                   source_path("config/cps.toml") + " --iface " + kServerIface +
                   " --json --progress off " + args,
               limit);
}

// nginx in the client namespace on 198.18.0.1:80, one worker, logging "$remote_addr
// $connection $status" per request. The prefix directory's name matches scripts/e2e-run.sh's
// clean-up pattern (sluice-t-nginx), so a crashed test leaves no server behind.
class Nginx {
public:
    Nginx() {
        char tmpl[] = "/tmp/sluice-t-nginx-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) return;
        dir_ = tmpl;
        std::ofstream(dir_ + "/nginx.conf")
            << "worker_processes 1;\npid " << dir_ << "/nginx.pid;\nerror_log " << dir_
            << "/error.log;\nevents { worker_connections 4096; }\nhttp {\n"
            << "  log_format cps '$remote_addr $connection $status';\n"
            << "  access_log " << dir_ << "/access.log cps;\n"
            << "  client_body_temp_path " << dir_ << ";\n  proxy_temp_path " << dir_ << ";\n"
            << "  fastcgi_temp_path " << dir_ << ";\n  uwsgi_temp_path " << dir_ << ";\n"
            << "  scgi_temp_path " << dir_ << ";\n"
            << "  server {\n    listen " << kClientAddr << ":80 backlog=4096;\n"
            << "    location / { return 200 \"hello from nginx\\n\"; }\n  }\n}\n";
        const auto r = in_client("nginx -c " + dir_ + "/nginx.conf -p " + dir_);
        ok_ = r.exit_code == 0;
        error_ = r.output;
        // Ready when the port takes connections (bounded).
        for (int i = 0; ok_ && i < 50; ++i) {
            if (in_client("bash -c 'exec 3<>/dev/tcp/198.18.0.1/80'").exit_code == 0)
                break;
            std::this_thread::sleep_for(100ms);
        }
        std::remove((dir_ + "/access.log").c_str());  // the readiness probe is not counted
        in_client("kill -USR1 $(cat " + dir_ + "/nginx.pid)");  // reopen the log
        std::this_thread::sleep_for(200ms);
    }
    ~Nginx() {
        if (!dir_.empty()) {
            in_client("kill -QUIT $(cat " + dir_ + "/nginx.pid) 2>/dev/null");
            for (int i = 0; i < 50 && ::access((dir_ + "/nginx.pid").c_str(), F_OK) == 0; ++i)
                std::this_thread::sleep_for(100ms);
            run("pkill -KILL -f " + dir_ + " 2>/dev/null; rm -rf " + dir_);
        }
    }
    bool ok() const { return ok_; }
    const std::string& error() const { return error_; }

    // Requests logged so far, and the distinct client addresses among them.
    struct Log {
        uint64_t requests = 0, ok = 0;
        std::set<std::string> addresses;
    };
    Log log() const {
        Log l;
        std::ifstream in(dir_ + "/access.log");
        std::string addr, conn, status;
        while (in >> addr >> conn >> status) {
            ++l.requests;
            if (status == "200") ++l.ok;
            l.addresses.insert(addr);
        }
        return l;
    }

private:
    std::string dir_, error_;
    bool ok_ = false;
};

class Cps : public ::testing::Test {
protected:
    void SetUp() override {
        netns_ = std::make_unique<Netns>();
        ASSERT_TRUE(netns_->ok()) << "netns set-up failed:\n" << netns_->error();
    }
    void TearDown() override { netns_.reset(); }
    std::unique_ptr<Netns> netns_;
};

// The warm-up connection is logged by the server too: one more than the report counts.
TEST_F(Cps, AgainstKernelHttpServerCountsMatchEachCloseMode) {
    for (const char* close : {"client", "server", "rst"}) {
        SCOPED_TRACE(close);
        Nginx nginx;
        ASSERT_TRUE(nginx.ok()) << nginx.error();
        const auto r = cps(std::string("--count 1500 --concurrency 16 --close ") + close);
        ASSERT_EQ(r.exit_code, 0) << r.output;
        EXPECT_EQ(json_num(r.output, "completed"), 1500) << r.output;
        EXPECT_EQ(json_num(r.output, "errors_total"), 0) << r.output;
        EXPECT_EQ(json_num(r.output, "attempts"), 1500) << r.output;
        // Every connection was timed.
        EXPECT_TRUE(std::regex_search(r.output,
                                      std::regex("\"transaction\": *\\{\"count\": *1500[,}]")))
            << r.output;
        if (std::string(close) == "rst") {
            EXPECT_EQ(json_num(r.output, "rst_closed"), 1500);
        }
        const auto log = nginx.log();
        EXPECT_EQ(log.requests, 1501u) << r.output;
        EXPECT_EQ(log.ok, 1501u);
    }
}

// 3 addresses x 400 ports = 1,200 4-tuples, 2,400 connections at 800/s: TIME-WAIT (60 s) would
// block every tuple after the first 1,200 without reuse.
TEST_F(Cps, SourceAddressesAndTimeWaitReuseGoPastThePortRange) {
    Nginx nginx;
    ASSERT_TRUE(nginx.ok()) << nginx.error();
    const auto r = cps("--count 2400 --rate 800 --concurrency 64 --ephemeral-ports 40000-40399 "
                       "--source 198.18.0.10-198.18.0.12");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(json_num(r.output, "completed"), 2400) << r.output;
    EXPECT_EQ(json_num(r.output, "errors_total"), 0) << r.output;
    EXPECT_EQ(json_num(r.output, "source_addresses"), 3);
    EXPECT_GE(json_num(r.output, "tw_reused"), 1200 - 1) << r.output;
    const auto log = nginx.log();
    EXPECT_EQ(log.requests, 2401u);
    EXPECT_EQ(log.addresses, (std::set<std::string>{"198.18.0.10", "198.18.0.11", "198.18.0.12"}));
}

// The control: one address, no reuse, 200 ports: the 201st connection finds no port. That is
// sluice-cps's own limit, not the server's: the start waits (one wait, not an error per loop
// turn) until the run ends, and the report names the bound and what lifts it.
TEST_F(Cps, WithoutThemThePortRangeRunsOut) {
    Nginx nginx;
    ASSERT_TRUE(nginx.ok()) << nginx.error();
    const auto r = cps("--count 400 --rate 1000 --duration 3 --ephemeral-ports 40000-40199 "
                       "--tw-reuse off");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(json_num(r.output, "completed"), 199) << r.output;  // + the warm-up = 200 ports
    EXPECT_EQ(json_num(r.output, "attempts"), 199) << r.output;
    EXPECT_EQ(json_num(r.output, "no_local_port"), 0) << r.output;
    EXPECT_EQ(json_num(r.output, "errors_total"), 0) << r.output;
    EXPECT_EQ(json_num(r.output, "tw_reused"), 0);
    // On stderr beside the JSON: the bound at start, the wait and the bound it hit.
    EXPECT_NE(r.output.find("ports 200 x 1 address(es) / 60 s until a TIME-WAIT port is reused "
                            "(--tw-reuse off: 2 MSL) = 3 conn/s"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("local waits (not errors): no_local_port 1 "), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("bounded by: no_local_port (200 ports / 60 s = 3 conn/s)"),
              std::string::npos)
        << r.output;
}

// Server-first close leaves TIME-WAIT with the kernel: it takes our new SYNs on a reused
// 4-tuple by RFC 6191 (our timestamps are newer), so 100 ports carry 600 connections.
TEST_F(Cps, KernelTimeWaitAcceptsOurReusedTuples) {
    Nginx nginx;
    ASSERT_TRUE(nginx.ok()) << nginx.error();
    const auto r = cps("--count 600 --rate 300 --close server --ephemeral-ports 40000-40099");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(json_num(r.output, "completed"), 600) << r.output;
    EXPECT_EQ(json_num(r.output, "errors_total"), 0) << r.output;
    EXPECT_EQ(nginx.log().requests, 601u);
}

// Two DPDK processes: sluice-listen on the server end (lcore 1), sluice-cps on the client's
// veth end as 198.18.0.3 (lcore 0; the kernel there owns 198.18.0.1 and ignores .3).
TEST_F(Cps, AgainstSluiceListen) {
    SluiceListen listen({}, source_path("test/e2e/listen-test.toml"));
    ASSERT_TRUE(listen.ok()) << listen.output();
    for (const char* close : {"client", "rst"}) {
        SCOPED_TRACE(close);
        const uint64_t before = listen.counter("PassiveOpens");
        const auto r = run(std::string("ip netns exec ") + kClientNs + " " +
                               build_path("app/sluice-cps") + " --file-prefix=" + kFilePrefix +
                               "-cps -- --config " + source_path("config/cps.toml") +
                               " --iface sluice-t-cli --address 198.18.0.3/24 --gateway none "
                               "--lcores 0 --target 198.18.0.2:80 --count 1000 "
                               "--concurrency 8 --json --progress off --close " + close,
                           60s);
        run("rm -rf /var/run/dpdk/sluice-t-cps");
        ASSERT_EQ(r.exit_code, 0) << r.output;
        EXPECT_EQ(json_num(r.output, "completed"), 1000) << r.output;
        EXPECT_EQ(json_num(r.output, "errors_total"), 0) << r.output;
        const auto c = listen.wait_counters(
            [&](const Counters& k) { return get(k, "PassiveOpens") >= before + 1001; }, 3000ms);
        EXPECT_EQ(get(c, "PassiveOpens") - before, 1001u);
    }
}

uint64_t kernel_ip_in_receives() {
    const auto r = in_client("cat /proc/net/snmp");
    std::istringstream in(r.output);
    std::string header, values;
    while (std::getline(in, header) && std::getline(in, values)) {
        if (header.rfind("Ip:", 0) != 0) continue;
        std::istringstream h(header), v(values);
        std::string name, val;
        while (h >> name && v >> val)
            if (name == "InReceives") return std::stoull(val);
    }
    return 0;
}

TEST_F(Cps, SynFloodRefusesAPrefixOutsideTheTestRange) {
    for (const char* prefix : {"10.0.0.0/8", "198.16.0.0/14", "198.20.0.0/16"}) {
        const auto r = cps(std::string("--syn-flood --flood-prefix ") + prefix, 10s);
        EXPECT_EQ(r.exit_code, 1) << r.output;
        EXPECT_NE(r.output.find("outside the test range"), std::string::npos) << r.output;
        EXPECT_EQ(r.output.find("EAL:"), std::string::npos) << "refused before DPDK starts";
    }
}

// The spoofed sources (198.19.0.0/16) are off-link for the kernel: its SYN-ACKs find no
// route and go nowhere. IP InReceives counts every datagram that arrived, before routing.
TEST_F(Cps, SynFloodSendsABoundedCountThatArrives) {
    const uint64_t before = kernel_ip_in_receives();
    const auto r = cps("--syn-flood --target 198.18.0.1:80 --flood-prefix 198.19.0.0/16 "
                       "--flood-count 5000 --flood-rate 20000 --flood-duration 10",
                       30s);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(json_num(r.output, "sent"), 5000) << r.output;
    // The kernel may have received a frame or two of its own (none expected), never fewer.
    uint64_t got = 0;
    for (int i = 0; i < 20 && (got = kernel_ip_in_receives() - before) < 5000; ++i)
        std::this_thread::sleep_for(100ms);
    EXPECT_GE(got, 5000u);
    EXPECT_LE(got, 5010u);
}

// ab (apache2-utils) against sluice-listen's HTTP services: the small fixed body on port 80,
// a 100 kB body with syncookies = "always" on 8080; HTTP/1.0 without keep-alive (sluice
// closes first) and with -k.
TEST_F(Cps, AbAgainstEachHttpServiceWithAndWithoutKeepAlive) {
    char path[] = "/tmp/sluice-t-ab-XXXXXX.toml";
    const int fd = ::mkstemps(path, 5);
    ASSERT_GE(fd, 0);
    ::close(fd);
    {
        std::ifstream base(source_path("test/e2e/listen-test.toml"));
        std::ofstream out(path);
        out << base.rdbuf()
            << "\n[[listener]]\nport = 8080\nservice = \"http\"\nbody_bytes = 100000\n"
               "syncookies = \"always\"\n";
    }
    SluiceListen listen({}, path);
    ASSERT_TRUE(listen.ok()) << listen.output();
    for (const char* url : {"http://198.18.0.2:80/", "http://198.18.0.2:8080/"}) {
        for (const char* ka : {"", "-k "}) {
            SCOPED_TRACE(std::string(url) + " " + ka);
            const auto r = in_client(std::string("ab -q -n 2000 -c 8 -s 10 ") + ka + url, 60s);
            ASSERT_EQ(r.exit_code, 0) << r.output;
            EXPECT_NE(r.output.find("Complete requests:      2000"), std::string::npos) << r.output;
            EXPECT_NE(r.output.find("Failed requests:        0"), std::string::npos) << r.output;
            EXPECT_EQ(r.output.find("Non-2xx responses"), std::string::npos) << r.output;
            if (*ka != '\0') {
                EXPECT_NE(r.output.find("Keep-Alive requests:    2000"), std::string::npos)
                    << r.output;
            }
        }
    }
    std::remove(path);
}

}  // namespace
}  // namespace sluice::e2e
