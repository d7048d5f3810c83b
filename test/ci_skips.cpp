// Skipped is not passed in CI (issue 20 item 5). Linked whole into every GoogleTest program
// (gtest_dep / gtest_nomain_dep in the top meson.build, fuzz_gtest_dep in fuzz/): under
// CI=true or SLUICE_REQUIRE_ALL=1 (scripts/test-all.sh --require-all) a GTEST_SKIP turns
// into a failure of the whole program, and the failure names every skipped test and why.
//
// A global environment's TearDown runs after the last test; a failure there counts in
// UnitTest::Failed(), so RUN_ALL_TESTS() returns 1 whichever main() called it.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace {

bool require_all() {
    const char* ci = std::getenv("CI");
    const char* all = std::getenv("SLUICE_REQUIRE_ALL");
    const auto on = [](const char* v) {
        return v != nullptr &&
               (std::string_view(v) == "true" || std::string_view(v) == "1" ||
                std::string_view(v) == "yes");
    };
    return on(ci) || on(all);
}

class SkipsFailInCi : public ::testing::Environment {
public:
    void TearDown() override {
        if (!require_all()) return;
        const ::testing::UnitTest& u = *::testing::UnitTest::GetInstance();
        std::string names;
        int n = 0;
        for (int i = 0; i < u.total_test_suite_count(); ++i) {
            const ::testing::TestSuite& s = *u.GetTestSuite(i);
            for (int j = 0; j < s.total_test_count(); ++j) {
                const ::testing::TestInfo& t = *s.GetTestInfo(j);
                if (!t.should_run() || !t.result()->Skipped()) continue;
                ++n;
                names += std::string("\n  ") + s.name() + "." + t.name();
                const ::testing::TestResult& r = *t.result();
                for (int k = 0; k < r.total_part_count(); ++k)
                    if (r.GetTestPartResult(k).skipped() && *r.GetTestPartResult(k).message())
                        names += std::string(": ") + r.GetTestPartResult(k).message();
            }
        }
        if (n > 0)
            ADD_FAILURE() << "CI=true / SLUICE_REQUIRE_ALL=1: " << n
                          << " skipped test(s) count as failures:" << names;
    }
};

[[maybe_unused]] ::testing::Environment* const kSkipsFailInCi =
    ::testing::AddGlobalTestEnvironment(new SkipsFailInCi);

}  // namespace
