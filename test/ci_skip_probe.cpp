// A program with one passing and one skipped test, for ci_skips_test.sh.
#include <gtest/gtest.h>

TEST(CiSkipProbe, Passes) { SUCCEED(); }
TEST(CiSkipProbe, Skips) { GTEST_SKIP() << "probe reason"; }
