// The test bed's telemetry helpers fail the test when nothing was read (issue 20 item 8):
// EXPECT_EQ(get(c, "X"), 0u) must not pass on a dead socket. Unit suite: no root, no netns.

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "testbed.hpp"

namespace sluice::e2e {
namespace {

const Counters kSome{{"PassiveOpens", 3}};
const Counters kNone{};

TEST(Testbed, GetReadsACounterThatIsThere) { EXPECT_EQ(get(kSome, "PassiveOpens"), 3u); }

TEST(Testbed, GetOfAMissingCounterFailsTheTest) {
    EXPECT_NONFATAL_FAILURE(get(kSome, "TcpOutRsts"), "counter TcpOutRsts was not read");
}

TEST(Testbed, GetFromAFailedReadFailsTheTest) {
    EXPECT_NONFATAL_FAILURE(get(kNone, "TcpOutRsts"), "the telemetry read failed");
}

TEST(Testbed, ReadingADeadSocketFailsTheTest) {
    EXPECT_FALSE(try_read_counters("sluice-nobody-here", "/sluice/stats"));
    EXPECT_NONFATAL_FAILURE(read_counters("sluice-nobody-here", "/sluice/stats"),
                            "telemetry read failed: /sluice/stats of file prefix "
                            "sluice-nobody-here");
}

}  // namespace
}  // namespace sluice::e2e
