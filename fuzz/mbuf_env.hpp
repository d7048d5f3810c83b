#pragma once
// The EAL and the mbuf pools the TCP harnesses' connections draw on (lib/tcp's buffers are
// mbufs). Initialised once per process: from LLVMFuzzerInitialize in the libFuzzer builds,
// on first use in the replay test. Ordinary memory, no devices, no shared files.

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include <cstdlib>
#include <iterator>

#include "common.hpp"
#include "tcp/buffer.hpp"

namespace sluice::fuzz {

inline void eal_once() noexcept {
    static const bool done = [] {
        const char* argv[] = {"fuzz",        "-l",       "0",
                              "--no-huge",   "-m",       "128",
                              "--no-shconf", "--no-pci", "--no-telemetry",
                              "--log-level=*:error"};
        if (rte_eal_init(int(std::size(argv)), const_cast<char**>(argv)) < 0 &&
            rte_errno != EALREADY)
            fail(__FILE__, __LINE__, "EAL init failed");
        return true;
    }();
    (void)done;
}

// Data pool (send copies, copied text) and its limits; received frames from rx_pool().
inline tcp::BufferPools& pools() noexcept {
    static tcp::BufferPools p = [] {
        eal_once();
        tcp::BufferPools b;
        b.data = rte_pktmbuf_pool_create("fuzz_data", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                         SOCKET_ID_ANY);
        if (b.data == nullptr) fail(__FILE__, __LINE__, "data pool");
        b.rx_pin_limit = 1024;
        return b;
    }();
    return p;
}

inline rte_mempool* rx_pool() noexcept {
    static rte_mempool* p = [] {
        eal_once();
        rte_mempool* q = rte_pktmbuf_pool_create("fuzz_rx", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                 SOCKET_ID_ANY);
        if (q == nullptr) fail(__FILE__, __LINE__, "rx pool");
        return q;
    }();
    return p;
}

// Every mbuf back in its pool (between inputs: nothing leaks on any path).
inline bool all_mbufs_returned() noexcept {
    return rte_mempool_in_use_count(pools().data) == 0 &&
           rte_mempool_in_use_count(rx_pool()) == 0 && pools().rx_pinned == 0;
}

}  // namespace sluice::fuzz
