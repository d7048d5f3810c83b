// Issue 21: libsluice as an embedder gets it. `meson install --destdir` stages everything;
// the install holds what docs/library.md says where (item i); sluice.pc's Cflags carry no
// DPDK or toml++ flags (item g); examples/kv (a key-value server keeping per-connection state
// on the handle) builds out of tree with -Wall -Wextra -Werror and AddressSanitizer, serves
// kernel clients, is stopped with 20 connections open, frees every session in on_close
// (items a, b) and exits with no leak reported by LeakSanitizer.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "testbed.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int kClients = 20;

TEST(Library, OutOfTreeAppUnderAsanFreesEverySessionAndStopsWithConnectionsOpen) {
    // 1. The whole install, staged.
    StagedInstall stage;
    ASSERT_TRUE(stage.ok()) << stage.output();
    const fs::path dest = stage.dest();
    const fs::path pc = stage.pc();
    fs::path prefix;
    for (const auto& e : fs::recursive_directory_iterator(dest))
        if (e.path().filename() == "sluice-stat") prefix = e.path().parent_path().parent_path();
    ASSERT_FALSE(prefix.empty()) << "no bin/sluice-stat";
    for (const char* f : {"bin/sluice-listen", "bin/sluice-cps", "bin/sluice-stat",
                          "etc/sluice/listen.toml", "etc/sluice/cps.toml",
                          "include/sluice/sluice.hpp", "include/sluice/error.hpp",
                          "include/sluice/counters.hpp", "include/sluice/version.hpp"})
        EXPECT_TRUE(fs::exists(prefix / f)) << prefix / f;
    EXPECT_EQ(pc.parent_path().filename(), "pkgconfig");
    EXPECT_TRUE(fs::exists(pc.parent_path().parent_path() / "libsluice.a"));

    const std::string pkg = "PKG_CONFIG_PATH=" + pc.parent_path().string() + " pkg-config ";
    auto r = run(pkg + "--cflags sluice");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (const char* leak : {"rte_config", "-march", "TOML", "dpdk"})
        EXPECT_EQ(r.output.find(leak), std::string::npos) << leak << " in: " << r.output;

    // 2. examples/kv out of tree: warnings are errors, AddressSanitizer and its leak checker.
    const fs::path bin = dest / "sluice-kv";
    r = run("sh -c 'g++ -std=c++20 -O1 -g -fsanitize=address -fno-omit-frame-pointer -Wall "
            "-Wextra -Werror " +
                source_path("examples/kv/main.cpp") + " -o " + bin.string() + " $(" + pkg +
                "--cflags --libs sluice)'",
            240s);
    ASSERT_EQ(r.exit_code, 0) << r.output;

    // 3. On the test bed: kernel clients keep their connections open while it stops.
    Netns netns;
    ASSERT_TRUE(netns.ok()) << netns.error();
    ::setenv("ASAN_OPTIONS", "detect_leaks=1:exitcode=23", 1);
    SluiceListen kv({"--port", "7000"}, source_path("test/e2e/listen-test.toml"), bin.string(),
                    "sluice-kv: ready on ");
    ::unsetenv("ASAN_OPTIONS");
    ASSERT_TRUE(kv.ok()) << kv.output();

    const fs::path client = dest / "clients.py";
    std::ofstream(client) << "import socket, sys, time\n"
                             "cs = [socket.create_connection(('198.18.0.2', 7000), timeout=10)\n"
                             "      for i in range(" << kClients << ")]\n"
                             "ok = 0\n"
                             "for i, c in enumerate(cs):\n"
                             "    c.sendall(b'SET k%d v%d\\nGET k%d\\nGET nope\\n' % (i, i, i))\n"
                             "    buf = b''\n"
                             "    while buf.count(b'\\n') < 3:\n"
                             "        buf += c.recv(100)\n"
                             "    ok += buf == b'OK\\nv%d\\nNIL\\n' % i\n"
                             "print(ok, flush=True)\n"
                             "time.sleep(60)\n";
    KernelProcess clients("python3 " + client.string(), 90s);
    EXPECT_EQ(clients.line(), std::to_string(kClients) + "\n") << kv.read_output(0ms);
    const auto c = kv.wait_counters(
        [](const Counters& k) { return get(k, "CurrEstab") == uint64_t(kClients); }, 5s);
    EXPECT_EQ(get(c, "CurrEstab"), uint64_t(kClients)) << "stopped with the connections open";

    // 4. SIGTERM: run() returns, shutdown aborts the 20 connections, each on_close frees its
    // session; exit 0 means none live, 23 would be a leak report.
    EXPECT_EQ(kv.stop(), 0) << kv.read_output(0ms);
    const std::string out = kv.read_output(0ms);
    EXPECT_NE(out.find("sessions opened " + std::to_string(kClients) + " closed " +
                       std::to_string(kClients) + " live 0"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("LeakSanitizer"), std::string::npos) << out;
    EXPECT_EQ(out.find("AddressSanitizer"), std::string::npos) << out;
}

}  // namespace
}  // namespace sluice::e2e
