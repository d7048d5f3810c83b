// The bad-input matrix end to end (issue 10): crafted frames from the client namespace, each
// row with its counter and its RFC 9293 answer (test/e2e/badinput.py), while a kernel client
// is served between rows. Afterwards sluice is alive and holds nothing it did not hold before.

#include <gtest/gtest.h>

#include <memory>

#include "ctl/telemetry_client.hpp"
#include "testbed.hpp"

namespace sluice::e2e {
namespace {

using namespace std::chrono_literals;

TEST(BadInput, EveryRowIsCountedAndAnsweredPerRfcAndSluiceKeepsServing) {
    Netns netns;
    ASSERT_TRUE(netns.ok()) << netns.error();
    SluiceListen listen({}, source_path("test/e2e/listen-test.toml"));
    ASSERT_TRUE(listen.ok()) << listen.output();
    const uint64_t conns_before = listen.counter("ConnectionsInUse");

    const CommandResult r =
        in_client("/usr/bin/python3 " + source_path("test/e2e/badinput.py") + " " +
                      "sluice-t-cli " + ctl::TelemetryClient::socket_path(kFilePrefix),
                  180s);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("rows failed: 0"), std::string::npos) << r.output;
    std::printf("%s", r.output.c_str());

    // Still alive and serving, and every connection of the run ends (msl 1 s in the test
    // config): nothing leaked.
    EXPECT_EQ(in_client("curl -s -o /dev/null -w '%{http_code}' http://198.18.0.2/").output,
              "200");
    const auto c = listen.wait_counters(
        [&](const Counters& v) {
            return get(v, "ConnectionsInUse") == conns_before && get(v, "TimeWaitEntries") == 0 &&
                   get(v, "SynCacheEntries") == 0;
        },
        10s);
    EXPECT_EQ(get(c, "ConnectionsInUse"), conns_before);
    EXPECT_EQ(get(c, "TimeWaitEntries"), 0u);
    EXPECT_EQ(get(c, "SynCacheEntries"), 0u);
    EXPECT_EQ(listen.stop(), 0) << listen.output();
}

}  // namespace
}  // namespace sluice::e2e
