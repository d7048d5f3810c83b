// sluice-listen's start-up errors: each names the cause and what to do, and exits non-zero.

#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "dev/eal.hpp"
#include "testbed.hpp"

namespace sluice::e2e {
namespace {

class StartupErrors : public ::testing::Test {
protected:
    static void SetUpTestSuite() { netns_ = std::make_unique<Netns>(); }
    static void TearDownTestSuite() { netns_.reset(); }
    void SetUp() override { ASSERT_TRUE(netns_->ok()) << netns_->error(); }

    // Runs sluice-listen in the server namespace with these app options.
    static CommandResult listen(const std::string& eal, const std::string& app) {
        return run(std::string("ip netns exec ") + kServerNs + " " +
                       build_path("app/sluice-listen") + " --file-prefix=" + kFilePrefix + " " +
                       eal + " -- --no-stats " + app,
                   std::chrono::seconds(20));
    }
    static std::string config() { return "--config " + source_path("config/listen.toml"); }

    static inline std::unique_ptr<Netns> netns_;
};

TEST_F(StartupErrors, MissingInterfaceIsNamed) {
    auto r = listen("", config() + " --iface sluice-t-nope");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("no Ethernet port found. The interface 'sluice-t-nope' does not "
                            "exist in this network namespace"),
              std::string::npos)
        << r.output;
}

TEST_F(StartupErrors, UnsupportedQueueCountSaysHowToFixIt) {
    auto r = listen("", config() + " --iface " + kServerIface + " --lcores 0-1");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("supports at most 1 queue pair(s) but 2 workers need one each: use "
                            "fewer worker lcores or raise qpairs= in the vdev"),
              std::string::npos)
        << r.output;
}

TEST_F(StartupErrors, UnknownPortListsWhatExists) {
    auto r2 =
        listen("--vdev=net_af_packet0,iface=sluice-t-srv", config() + " --device 0000:ff:1f.7");
    EXPECT_NE(r2.exit_code, 0);
    EXPECT_NE(r2.output.find("port '0000:ff:1f.7' not found; the EAL has: 0:net_af_packet0"),
              std::string::npos)
        << r2.output;
}

TEST_F(StartupErrors, NoHugepagesMentionsNoHuge) {
    if (dev::free_hugepages() != 0) GTEST_SKIP() << "this machine has free hugepages";
    const std::string cfg = "/tmp/sluice-t-huge.toml";
    {
        std::ifstream in(source_path("config/listen.toml"));
        std::ofstream out(cfg);
        std::string line;
        while (std::getline(in, line)) {
            out << (line == "hugepages = false" ? "hugepages = true" : line) << "\n";
        }
    }
    auto r = listen("", "--config " + cfg + " --iface " + kServerIface);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("no free hugepages"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("--no-huge"), std::string::npos) << r.output;
    std::remove(cfg.c_str());
}

TEST_F(StartupErrors, BadConfigValueNamesTheKey) {
    const std::string cfg = "/tmp/sluice-t-bad.toml";
    std::ofstream(cfg) << "[ip]\naddress = \"198.18.0.2/24\"\n[memory]\nmbuf_cache = 9999\n";
    auto r = listen("", "--config " + cfg);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("memory.mbuf_cache must be between 0 and 512, not 9999"),
              std::string::npos)
        << r.output;
    std::remove(cfg.c_str());
}

}  // namespace
}  // namespace sluice::e2e
