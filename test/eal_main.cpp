// main() for unit suites that need DPDK's EAL (rte_hash, mempools): ordinary memory, no
// devices, no shared files, so suites can run side by side and under the sanitizers.
#include <gtest/gtest.h>
#include <rte_eal.h>

#include <cstdio>

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    const char* eal_argv[] = {
        "test", "-l",          "0",        "--no-huge",      "-m",
        "256",  "--no-shconf", "--no-pci", "--no-telemetry", "--log-level=*:error"};
    if (rte_eal_init(static_cast<int>(std::size(eal_argv)), const_cast<char**>(eal_argv)) < 0) {
        std::fprintf(stderr, "EAL init failed\n");
        return 1;
    }
    const int rc = RUN_ALL_TESTS();
    rte_eal_cleanup();
    return rc;
}
