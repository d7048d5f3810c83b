// Issue 21 item 2: packet capture that opens in Wireshark. sluice-listen (the primary DPDK
// process) calls rte_pdump_init(); Debian's dpdk-dumpcap attaches as a secondary process and
// writes pcapng; tshark then finds a whole curl exchange in the file: the handshake, the
// request, the response and both FINs, and nothing the capture filter excludes.
//
// DPDK's secondary processes map the primary's memory, which --no-huge memory cannot be: the
// primary runs on hugepages here. The test reserves 2 MB pages and mounts a private hugetlbfs
// for the run, and gives back both (also when it fails).

#include <gtest/gtest.h>

#include <sys/mount.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "testbed.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kNrHugepages = "/proc/sys/vm/nr_hugepages";

uint64_t read_number(const std::string& path) {
    std::ifstream f(path);
    uint64_t n = 0;
    f >> n;
    return n;
}

// `pages` more 2 MB pages while it lives, on a hugetlbfs of its own.
class Hugepages {
public:
    explicit Hugepages(uint64_t pages) {
        before_ = read_number(kNrHugepages);
        std::ofstream(kNrHugepages) << before_ + pages;
        const uint64_t now = read_number(kNrHugepages);
        if (now < before_ + pages) {
            error_ = "could reserve " + std::to_string(now - before_) + " of " +
                     std::to_string(pages) + " hugepages";
            return;
        }
        char tmpl[] = "/tmp/sluice-t-huge.XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) {
            error_ = "mkdtemp failed";
            return;
        }
        dir_ = tmpl;
        if (::mount("nodev", dir_.c_str(), "hugetlbfs", 0, "pagesize=2M") != 0) {
            error_ = "cannot mount hugetlbfs on " + dir_;
            return;
        }
        mounted_ = true;
    }
    ~Hugepages() {
        if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
        if (!dir_.empty()) ::rmdir(dir_.c_str());
        std::ofstream(kNrHugepages) << before_;
    }
    bool ok() const { return mounted_; }
    const std::string& error() const { return error_; }
    const std::string& dir() const { return dir_; }

private:
    uint64_t before_ = 0;
    std::string dir_, error_;
    bool mounted_ = false;
};

struct Frame {
    std::string src;
    bool syn = false, ack = false, fin = false, rst = false;
    std::string method, code;
};

// tshark's view of the file: one Frame per TCP segment; `other` counts frames without TCP.
std::vector<Frame> read_capture(const std::string& file, int& other, std::string& raw) {
    const auto r = run("tshark -r " + file +
                           " -T fields -E separator=/t -e ip.src -e tcp.flags.syn -e tcp.flags.ack"
                           " -e tcp.flags.fin -e tcp.flags.reset -e http.request.method"
                           " -e http.response.code -e tcp.srcport 2>/dev/null",
                       60s);
    raw = r.output;
    std::vector<Frame> out;
    other = 0;
    std::istringstream in(r.output);
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::istringstream cols(line);
        std::string c;
        while (std::getline(cols, c, '\t')) f.push_back(c);
        f.resize(8);
        if (f[7].empty()) {
            ++other;
            continue;
        }
        const auto set = [](const std::string& v) { return v == "1" || v == "True"; };
        out.push_back({f[0], set(f[1]), set(f[2]), set(f[3]), set(f[4]), f[5], f[6]});
    }
    return out;
}

TEST(Capture, DumpcapRecordsAWholeCurlExchangeThatTsharkReads) {
    Hugepages huge(160);  // 320 MB: the config's 256 MB of EAL memory and slack
    ASSERT_TRUE(huge.ok()) << huge.error();
    Netns netns;
    ASSERT_TRUE(netns.ok()) << netns.error();

    // listen-test.toml on hugepages, from the private mount.
    const fs::path dir = fs::temp_directory_path() / "sluice-t-capture";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path cfg = dir / "listen.toml";
    ASSERT_EQ(run("sed 's/^hugepages = false/hugepages = true/' " +
                  source_path("test/e2e/listen-test.toml") + " > " + cfg.string())
                  .exit_code,
              0);
    const fs::path wrapper = dir / "sluice-listen";
    std::ofstream(wrapper) << "#!/bin/sh\nexec " << build_path("app/sluice-listen")
                           << " --huge-dir=" << huge.dir() << " \"$@\"\n";
    fs::permissions(wrapper, fs::perms::owner_all);
    SluiceListen listen({}, cfg.string(), wrapper.string());
    ASSERT_TRUE(listen.ok()) << listen.output();

    // dpdk-dumpcap with a capture filter, detached, its output and pid in files (exec: a
    // non-interactive shell's background jobs ignore SIGINT, which stops dumpcap).
    const fs::path file = dir / "curl.pcapng", log = dir / "dumpcap.log", pidf = dir / "pid";
    ASSERT_EQ(run("setsid ip netns exec " + std::string(kClientNs) + " sh -c 'echo $$ > " +
                  pidf.string() + "; exec dpdk-dumpcap --file-prefix=" + kFilePrefix +
                  " -i net_af_packet0 -f \"tcp port 80\" -w " + file.string() + " > " +
                  log.string() + " 2>&1' < /dev/null > /dev/null 2>&1 &")
                  .exit_code,
              0);
    const auto read_file = [](const fs::path& p) {
        std::ifstream f(p);
        return std::string(std::istreambuf_iterator<char>(f), {});
    };
    // Bounded wait for dumpcap's running count on stderr (its callbacks are installed by
    // then; "Capturing on" sits in its stdout buffer until it exits).
    const auto capturing = [&] {
        return read_file(log).find("Packets captured:") != std::string::npos;
    };
    for (int i = 0; i < 150 && !capturing(); ++i) std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(capturing()) << read_file(log);
    const std::string pid = read_file(pidf);
    ASSERT_FALSE(pid.empty());

    // Also some traffic the filter leaves out: a ping (ICMP, and ARP before it).
    EXPECT_EQ(in_client("ping -c 1 -W 2 198.18.0.2").exit_code, 0);
    const auto curl = in_client("curl -s http://198.18.0.2/");
    EXPECT_EQ(curl.output, "Hello from sluice\n") << curl.exit_code;
    // The exchange is over on sluice's side once no connection is left but TIME-WAIT (or
    // none): every frame of it has passed the RX/TX callbacks by then.
    const auto c = listen.wait_counters(
        [](const Counters& k) {
            return get(k, "CurrEstab") == 0 && get(k, "StateFinWait1") == 0 &&
                   get(k, "StateFinWait2") == 0 && get(k, "StateLastAck") == 0 &&
                   get(k, "StateClosing") == 0 && get(k, "PassiveOpens") >= 1;
        },
        10s);
    EXPECT_GE(get(c, "PassiveOpens"), 1u);
    ASSERT_EQ(run("kill -INT " + pid).exit_code, 0) << read_file(log);
    const fs::path proc = "/proc/" + pid.substr(0, pid.find('\n'));
    for (int i = 0; i < 100 && fs::exists(proc); ++i) std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(fs::exists(proc)) << "dumpcap stops on SIGINT";
    EXPECT_NE(read_file(log).find("Capturing on 'net_af_packet0'"), std::string::npos)
        << read_file(log);

    int other = 0;
    std::string raw;
    const auto frames = read_capture(file.string(), other, raw);
    EXPECT_EQ(other, 0) << "the filter kept ARP and ICMP out:\n" << raw;
    const std::string client = kClientAddr, server = kSluiceAddr;
    const auto has = [&](auto pred) { return std::any_of(frames.begin(), frames.end(), pred); };
    EXPECT_TRUE(has([&](const Frame& f) { return f.src == client && f.syn && !f.ack; })) << raw;
    EXPECT_TRUE(has([&](const Frame& f) { return f.src == server && f.syn && f.ack; })) << raw;
    EXPECT_TRUE(has([&](const Frame& f) { return f.src == client && f.method == "GET"; })) << raw;
    EXPECT_TRUE(has([&](const Frame& f) { return f.src == server && f.code == "200"; })) << raw;
    EXPECT_TRUE(has([&](const Frame& f) { return f.src == client && f.fin; })) << raw;
    EXPECT_TRUE(has([&](const Frame& f) { return f.src == server && f.fin; })) << raw;
    EXPECT_FALSE(has([&](const Frame& f) { return f.rst; })) << raw;
    EXPECT_EQ(listen.stop(), 0);
    fs::remove_all(dir);
}

}  // namespace
}  // namespace sluice::e2e
