// Issue 7 on the netns test bed: two workers on net_af_packet with qpairs=2. The kernel's
// PACKET_FANOUT spreads frames over the two queues by a hash sluice cannot compute, so the
// workers steer in software (each frame goes to the worker the Toeplitz hash and RETA name).
//
//   - thousands of kernel-client connections to sluice-listen: every one completes, each
//     worker takes a share, and the per-worker counters (telemetry) add up to what the
//     client saw; telemetry reads every worker's connection table and counters while the
//     load runs;
//   - active opens from both workers to a kernel server: all complete, on the worker that
//     opened them.
//
// Machine: 2 cores for two spinning workers plus the kernel peer, so the counts are modest
// and every wait has a deadline.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include "ctl/telemetry_client.hpp"
#include "testbed.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

constexpr int kWorkers = 2;

std::string worker_stats(int w) { return "/sluice/stats/worker," + std::to_string(w); }

// One worker's counters; a failed read fails the test.
Counters worker_counters(int w) { return read_counters(kFilePrefix, worker_stats(w)); }

// Rows in one page of a worker's connection list (-1 if the read failed).
long conn_rows(int w) {
    auto c = ctl::TelemetryClient::connect(kFilePrefix);
    if (!c) return -1;
    auto j = c->query("/sluice/tcp/conns," + std::to_string(w) + ",0");
    if (!j) return -1;
    std::smatch m;
    if (!std::regex_search(*j, m, std::regex("\"total\": *([0-9]+)"))) return -1;
    return std::stol(m[1]);
}

// Two workers need two queues. net_af_xdp (DPDK 22.11) sizes its queues by the interface's
// combined channels, which a veth does not report (only RX and TX counts): it refuses
// queue_count=2 ("Specified queue count 2 is larger than combined queue count 1").
constexpr const char* kAfXdpOneQueue = "net_af_xdp of DPDK 22.11 takes one queue on a veth";

TEST(Rss, KernelClientsSpreadOverBothWorkersAndTheCountersAddUp) {
    if (use_af_xdp()) GTEST_SKIP() << kAfXdpOneQueue;
    Netns ns;
    ASSERT_TRUE(ns.ok()) << ns.error();
    SluiceListen listen({"--status", "off"}, source_path("test/e2e/rss-test.toml"));
    ASSERT_TRUE(listen.ok()) << listen.output();
    ASSERT_NE(listen.output().find("2 worker(s), steering software"), std::string::npos)
        << listen.output();

    // 2,000 connections (400/s for 5 s), each an HTTP GET the server closes.
    std::atomic<bool> done{false};
    CommandResult probe;
    std::thread client([&] {
        probe = in_client(build_path("test/e2e/conn_probe") + " --dst " + kSluiceAddr +
                              " --port 80 --rate 400 --seconds 5 --timeout-ms 8000",
                          60s);
        done = true;
    });
    // Meanwhile every worker's table and counters stay readable.
    int table_reads = 0, counter_reads = 0;
    while (!done) {
        for (int w = 0; w < kWorkers; ++w) {
            if (conn_rows(w) >= 1) ++table_reads;  // at least the LISTEN row
            if (try_read_counters(kFilePrefix, worker_stats(w))) ++counter_reads;
        }
        std::this_thread::sleep_for(100ms);
    }
    client.join();
    EXPECT_GE(table_reads, 2 * kWorkers) << "telemetry read the tables while the load ran";
    EXPECT_GE(counter_reads, 2 * kWorkers);

    std::smatch m;
    ASSERT_TRUE(std::regex_search(probe.output, m,
                                  std::regex("attempts=([0-9]+) ok=([0-9]+) failed=([0-9]+)")))
        << probe.output;
    const uint64_t attempts = std::stoull(m[1]), ok = std::stoull(m[2]);
    EXPECT_EQ(attempts, 2000u);
    EXPECT_EQ(ok, attempts) << probe.output;

    // Per-worker counters: the accepted connections add up to what the client saw, and both
    // workers took a share. PassiveOpens is published every millisecond: wait for it.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    std::map<std::string, uint64_t> c[kWorkers];
    for (;;) {
        for (int w = 0; w < kWorkers; ++w) c[w] = worker_counters(w);
        if (get(c[0], "PassiveOpens") + get(c[1], "PassiveOpens") >= ok ||
            std::chrono::steady_clock::now() > deadline)
            break;
        std::this_thread::sleep_for(50ms);
    }
    const uint64_t p0 = get(c[0], "PassiveOpens"), p1 = get(c[1], "PassiveOpens");
    std::printf("PassiveOpens worker 0: %llu, worker 1: %llu; SteerOut %llu / %llu\n",
                (unsigned long long)p0, (unsigned long long)p1,
                (unsigned long long)get(c[0], "SteerOut"),
                (unsigned long long)get(c[1], "SteerOut"));
    EXPECT_EQ(p0 + p1, ok);
    EXPECT_GT(p0, ok / 4);
    EXPECT_GT(p1, ok / 4);
    // Frames for the other worker's flows were handed over, none lost.
    EXPECT_GT(get(c[0], "SteerOut") + get(c[1], "SteerOut"), 0u);
    // What one worker handed over, the other received (plus a few ARP copies).
    EXPECT_LE(get(c[0], "SteerOut"), get(c[1], "SteerIn"));
    EXPECT_LE(get(c[1], "SteerIn"), get(c[0], "SteerOut") + 20);
    for (int w = 0; w < kWorkers; ++w) {
        EXPECT_EQ(get(c[w], "DropSteerRingFull"), 0u);
        EXPECT_EQ(get(c[w], "ListenDrops"), 0u);
    }
    // The totals are the workers' sums.
    const auto totals = listen.counters();
    EXPECT_EQ(get(totals, "PassiveOpens"), p0 + p1);
    EXPECT_EQ(listen.stop(), 0);
}

TEST(Rss, ActiveOpensFromBothWorkersComeHomeAndComplete) {
    if (use_af_xdp()) GTEST_SKIP() << kAfXdpOneQueue;
    Netns ns;
    ASSERT_TRUE(ns.ok()) << ns.error();
    constexpr int kPerWorker = 300;
    // The kernel server: accepts and closes, counts, stops at the deadline or the total.
    KernelProcess server(
        std::string("/usr/bin/python3 -c \"") +
            "import socket,time\n"
            "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
            "s.bind(('" +
            kClientAddr +
            "',7100)); s.listen(4096); s.settimeout(0.2)\n"
            "print('listening',flush=True)\n"
            "n=0; end=time.time()+50\n"
            "while n<" +
            std::to_string(kWorkers * kPerWorker) +
            " and time.time()<end:\n"
            "  try: c,_=s.accept()\n"
            "  except socket.timeout: continue\n"
            "  n+=1; c.close()\n"
            "print('accepted',n,flush=True)\n\"",
        60s);
    ASSERT_NE(server.line().find("listening"), std::string::npos);

    SluiceListen opener({"--connect", std::string(kClientAddr) + ":7100", "--per-worker",
                         std::to_string(kPerWorker)},
                        source_path("test/e2e/rss-test.toml"), build_path("test/e2e/rss_opener"),
                        "opener: ready");
    ASSERT_TRUE(opener.ok()) << opener.output();
    ASSERT_TRUE(opener.wait_output("opener: done", 50s)) << opener.output();
    const std::string out = opener.output();
    for (int w = 0; w < kWorkers; ++w) {
        EXPECT_NE(out.find("opener worker=" + std::to_string(w) +
                           " ok=" + std::to_string(kPerWorker) + " failed=0"),
                  std::string::npos)
            << out;
        const auto c = worker_counters(w);
        EXPECT_EQ(get(c, "ActiveOpens"), uint64_t(kPerWorker)) << "worker " << w;
        EXPECT_EQ(get(c, "PortsExhausted"), 0u);
        EXPECT_EQ(get(c, "DropSteerRingFull"), 0u);
        EXPECT_EQ(get(c, "AttemptFails"), 0u);
    }
    EXPECT_EQ(server.rest().find("accepted " + std::to_string(kWorkers * kPerWorker)) !=
                  std::string::npos,
              true);
    opener.stop();
}

}  // namespace
}  // namespace sluice::e2e
