// Bulk transfer with the Linux kernel as the peer (issue 5, item 5): 100 MB each way through
// sluice's echo service, 10 MB through a lossy, slow path (2% loss and 10 ms each way, made by
// test/e2e/impair in a middle namespace), and 100 MB from sluice as the client into a kernel
// sink. Both ends hash the seeded pattern of stream_pattern.hpp with SHA-256; test/e2e/kstream
// is the kernel's end. Every step is bounded in time: a stuck transfer fails, it does not hang.
// (MB = 10^6 bytes.)
//
// The lossy path: the issue asks for `tc netem` on the client's veth, but this kernel has no
// sch_netem (nor act_gact for random drops). test/e2e/impair, an AF_PACKET relay in the
// namespace sluice-t-mid between client and server (scripts/netns.sh up-relay), does the
// same job: seeded loss, a fixed delay, optional duplication and reordering, in both
// directions. The test checks that it really did: ping RTT >= 20 ms, drop rate near 2%.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "testbed.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kBig = 100ull * 1000 * 1000;   // 100 MB
constexpr uint64_t kLossy = 10ull * 1000 * 1000;  // 10 MB
constexpr int kBigSeconds = 150;                  // bounds, far above the expected 3-5 s and ~60 s;
constexpr int kLossySeconds = 200;                // all four tests stay inside meson's 600 s

// A program in the middle namespace (the relay), read through a pipe; SIGTERM on destruction.
class MidProcess {
public:
    explicit MidProcess(std::vector<std::string> args) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) return;
        args.insert(args.begin(), {"ip", "netns", "exec", kMidNs});
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(fds[1], STDOUT_FILENO);
            ::dup2(fds[1], STDERR_FILENO);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execvp(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(fds[1]);
        fd_ = fds[0];
    }
    ~MidProcess() {
        stop();
        if (fd_ >= 0) ::close(fd_);
    }
    MidProcess(const MidProcess&) = delete;
    MidProcess& operator=(const MidProcess&) = delete;

    void signal(int sig) const {
        if (pid_ > 0) ::kill(pid_, sig);
    }
    // Waits (bounded) until the output contains `text` after position `from`.
    bool wait_output(const std::string& text, std::chrono::milliseconds limit, size_t from = 0) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (out_.find(text, from) == std::string::npos) {
            if (std::chrono::steady_clock::now() >= deadline || fd_ < 0) return false;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) > 0) {
                char buf[4096];
                const ssize_t n = ::read(fd_, buf, sizeof buf);
                if (n <= 0) return out_.find(text, from) != std::string::npos;
                out_.append(buf, static_cast<size_t>(n));
            }
        }
        return true;
    }
    // SIGTERM, and waits (bounded) for the final report.
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        wait_output("socket_drops=", 5s, stats_from_);
        int status = 0;
        for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
            ::usleep(20000);
        }
        if (::waitpid(pid_, &status, WNOHANG) == 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
        }
        pid_ = -1;
    }
    const std::string& output() const { return out_; }
    void mark() { stats_from_ = out_.size(); }  // later reports start after here
    size_t marked() const { return stats_from_; }

private:
    pid_t pid_ = -1;
    int fd_ = -1;
    size_t stats_from_ = 0;
    std::string out_;
};

// The counts of one direction from the relay's last report.
struct RelayCounts {
    uint64_t received = 0, forwarded = 0, dropped = 0, queue_full = 0, queued = 0;
};
RelayCounts relay_counts(const std::string& out, size_t from, const std::string& dir) {
    RelayCounts c;
    const std::string l = line_with(out.substr(from), "stats " + dir + " ");
    auto f = fields(l);
    c.received = std::stoull(f.count("received") ? f["received"] : "0");
    c.forwarded = std::stoull(f.count("forwarded") ? f["forwarded"] : "0");
    c.dropped = std::stoull(f.count("dropped") ? f["dropped"] : "0");
    c.queue_full = std::stoull(f.count("queue_full") ? f["queue_full"] : "0");
    c.queued = std::stoull(f.count("queued") ? f["queued"] : "0");
    return c;
}

// Runs kstream echo against sluice's port 7 and checks the hashes of both directions.
void echo_and_check(uint64_t bytes, uint64_t seed, int seconds) {
    const auto r =
        in_client(kstream("echo " + std::string(kSluiceAddr) + " 7 " + std::to_string(bytes) + " " +
                          std::to_string(seed) + " " + std::to_string(seconds)),
                  std::chrono::seconds(seconds + 10));
    std::printf("kstream echo %llu bytes:\n%s", static_cast<unsigned long long>(bytes),
                r.output.c_str());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    const std::string sent = line_with(r.output, "sent=");
    const std::string got = line_with(r.output, "received=");
    ASSERT_FALSE(sent.empty()) << r.output;
    ASSERT_FALSE(got.empty()) << r.output;
    EXPECT_EQ(fields(sent)["sent"], std::to_string(bytes));
    EXPECT_EQ(fields(got)["received"], std::to_string(bytes));
    EXPECT_EQ(fields(sent)["sha256"], fields(got)["sha256"]) << "echoed bytes differ";
    EXPECT_EQ(fields(r.output)["first_mismatch"], "-1");
    EXPECT_EQ(fields(r.output)["eof"], "1") << "sluice's FIN after the echo";
}

TEST(Transfer, HundredMegabytesEachWayThroughEcho_SameSha256) {
    Netns netns;
    ASSERT_TRUE(netns.ok()) << netns.error();
    SluiceListen listen({}, source_path("test/e2e/listen-test.toml"));
    ASSERT_TRUE(listen.ok()) << listen.output();

    echo_and_check(kBig, 11, kBigSeconds);

    auto c = listen.wait_counters([](const Counters& v) { return get(v, "CurrEstab") == 0; }, 5s);
    EXPECT_EQ(get(c, "CurrEstab"), 0u);
    EXPECT_EQ(get(c, "DropMbufExhausted"), 0u);
    std::printf("sluice: RetransSegs=%llu DropTxFull=%llu\n",
                static_cast<unsigned long long>(get(c, "RetransSegs")),
                static_cast<unsigned long long>(get(c, "DropTxFull")));
}

TEST(Transfer, SluiceClientSendsHundredMegabytesToKernelSink_SameSha256) {
    Netns netns;
    ASSERT_TRUE(netns.ok()) << netns.error();
    KernelProcess sink(
        kstream("sink " + std::string(kClientAddr) + " 7010 23 " + std::to_string(kBigSeconds)),
        std::chrono::seconds(kBigSeconds + 10));
    ASSERT_EQ(sink.line(), "listening\n");

    SluiceListen client({"--connect", std::string(kClientAddr) + ":7010", "--bytes",
                         std::to_string(kBig), "--seed", "23", "--mode", "send"},
                        source_path("test/e2e/listen-test.toml"),
                        build_path("test/e2e/sluice_client"), "client: ready");
    ASSERT_TRUE(client.ok()) << client.output();
    const std::string rest = sink.rest();  // returns when the sink saw EOF (or gave up)
    std::printf("kernel sink:\n%s", rest.c_str());
    ASSERT_TRUE(client.wait_output("result:", 30s)) << client.output() << rest;
    const std::string result = line_with(client.output(), "result:");
    std::printf("sluice client: %s\n", result.c_str());
    EXPECT_EQ(fields(result)["sent"], std::to_string(kBig)) << result;
    EXPECT_EQ(fields(result)["closed"], "Normal") << result;
    const std::string got = line_with(rest, "received=");
    ASSERT_FALSE(got.empty()) << rest;
    EXPECT_EQ(fields(got)["received"], std::to_string(kBig));
    EXPECT_EQ(fields(got)["sha256"], fields(result)["sha256"]) << "the sink got other bytes";
    EXPECT_EQ(fields(rest)["first_mismatch"], "-1") << rest;
    EXPECT_EQ(client.stop(), 0) << client.output();
}

// The client namespace's kernel counters `names` (nstat, absolute since the namespace was
// made, which the test did): lower-case name -> value.
std::map<std::string, uint64_t> client_nstat(const std::string& names) {
    const auto r = in_client("nstat -az " + names + " | awk 'NR>1{print tolower($1) \"=\" $2}'");
    std::map<std::string, uint64_t> out;
    for (const auto& [k, v] : fields(r.output)) out[k] = std::stoull(v);
    return out;
}

// 2% loss and 10 ms delay in each direction. The relay stands in for `tc netem` (missing
// from this kernel, see impair.cpp); its report shows that it dropped and delayed.
// SACK (RFC 2018, RFC 6675) is negotiated and used both ways: sluice's TCPSackRecovery moves
// when sluice sends (the kernel's SACK blocks drive its recovery) and the kernel's
// TcpExtTCPSackRecovery in the client namespace moves when the kernel sends (sluice's blocks
// drive the kernel's); neither side falls back to NewReno recovery.
TEST(Transfer, TenMegabytesEachWayThroughEchoAcrossLossAndDelay_SameSha256) {
    Netns netns(true);
    ASSERT_TRUE(netns.ok()) << netns.error();
    MidProcess relay({build_path("test/e2e/impair"), "--a", kMidClientIface, "--b", kMidServerIface,
                      "--loss", "0.02", "--delay-ms", "10", "--seed", "7", "--seconds",
                      std::to_string(kLossySeconds + 120)});
    ASSERT_TRUE(relay.wait_output("impair: ready", 10s)) << relay.output();
    SluiceListen listen({}, source_path("test/e2e/listen-test.toml"));
    ASSERT_TRUE(listen.ok()) << listen.output();

    // The delay is there: every echo takes >= 20 ms (10 ms each way).
    const auto ping = in_client(std::string("ping -c 10 -i 0.2 -W 2 ") + kSluiceAddr, 20s);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(ping.output, m, std::regex("= ([0-9.]+)/([0-9.]+)/")))
        << ping.output;
    EXPECT_GE(std::stod(m[1]), 20.0) << ping.output;
    std::printf("ping through the relay: min/avg %s/%s ms\n", m[1].str().c_str(),
                m[2].str().c_str());

    relay.signal(SIGUSR1);
    ASSERT_TRUE(relay.wait_output("socket_drops=", 5s)) << relay.output();
    relay.mark();
    const char* kKernelRecovery = "TcpExtTCPSackRecovery TcpExtTCPRenoRecovery";
    const auto k_before = client_nstat(kKernelRecovery);
    ASSERT_EQ(k_before.size(), 2u) << "nstat in the client namespace gave no counters";
    echo_and_check(kLossy, 13, kLossySeconds);
    auto c = listen.wait_counters([](const Counters& v) { return get(v, "CurrEstab") == 0; }, 5s);
    EXPECT_EQ(get(c, "CurrEstab"), 0u);
    EXPECT_GT(get(c, "RetransSegs"), 0u) << "2% loss, yet sluice retransmitted nothing";
    auto k = client_nstat(kKernelRecovery);
    const uint64_t k_sack = k["tcpexttcpsackrecovery"] - k_before.at("tcpexttcpsackrecovery");
    const uint64_t k_reno = k["tcpexttcprenorecovery"] - k_before.at("tcpexttcprenorecovery");
    std::printf(
        "sluice: RetransSegs=%llu TCPSackRecovery=%llu TCPRenoRecovery=%llu\n"
        "kernel: TcpExtTCPSackRecovery=%llu TcpExtTCPRenoRecovery=%llu\n",
        static_cast<unsigned long long>(get(c, "RetransSegs")),
        static_cast<unsigned long long>(get(c, "TCPSackRecovery")),
        static_cast<unsigned long long>(get(c, "TCPRenoRecovery")),
        static_cast<unsigned long long>(k_sack), static_cast<unsigned long long>(k_reno));
    EXPECT_GT(get(c, "TCPSackRecovery"), 0u) << "sluice never recovered from the kernel's SACKs";
    EXPECT_EQ(get(c, "TCPRenoRecovery"), 0u) << "sluice fell back to NewReno: no SACK";
    EXPECT_GT(k_sack, 0u) << "the kernel never recovered from sluice's SACK blocks";
    EXPECT_EQ(k_reno, 0u) << "the kernel fell back to NewReno: SACK not negotiated";

    relay.stop();
    std::printf("relay:\n%s", relay.output().substr(relay.marked()).c_str());
    for (const char* dir : {"a->b", "b->a"}) {
        const RelayCounts rc = relay_counts(relay.output(), relay.marked(), dir);
        ASSERT_GT(rc.received, 5000u) << dir << relay.output();
        const double rate = static_cast<double>(rc.dropped) / static_cast<double>(rc.received);
        EXPECT_GT(rate, 0.01) << dir << " drop rate " << rate;
        EXPECT_LT(rate, 0.03) << dir << " drop rate " << rate;
        EXPECT_EQ(rc.queue_full, 0u) << dir;
        EXPECT_EQ(rc.forwarded + rc.queued, rc.received - rc.dropped) << dir;
    }
}

// The relay's other knobs: duplicated and reordered frames (no loss, no delay), both ways.
// sluice must drop the duplicates and reassemble the reordered data; so must the kernel.
TEST(Transfer, FourMegabytesEachWayThroughEchoWithDuplicationAndReordering_SameSha256) {
    Netns netns(true);
    ASSERT_TRUE(netns.ok()) << netns.error();
    MidProcess relay({build_path("test/e2e/impair"), "--a", kMidClientIface, "--b", kMidServerIface,
                      "--dup", "0.02", "--reorder", "0.05", "--seed", "9", "--seconds", "120"});
    ASSERT_TRUE(relay.wait_output("impair: ready", 10s)) << relay.output();
    SluiceListen listen({}, source_path("test/e2e/listen-test.toml"));
    ASSERT_TRUE(listen.ok()) << listen.output();

    echo_and_check(4ull * 1000 * 1000, 17, 60);

    relay.stop();
    std::printf("relay:\n%s", relay.output().c_str());
    for (const char* dir : {"a->b", "b->a"}) {
        auto f = fields(line_with(relay.output(), std::string("stats ") + dir + " "));
        EXPECT_GT(std::stoull(f.count("duplicated") ? f["duplicated"] : "0"), 0u) << dir;
        EXPECT_GT(std::stoull(f.count("reordered") ? f["reordered"] : "0"), 0u) << dir;
    }
}

}  // namespace
}  // namespace sluice::e2e
