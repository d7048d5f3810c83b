#include "engine/conn_snapshot.hpp"

#include <thread>

namespace sluice::engine {

bool ConnSnapshot::request(std::chrono::milliseconds limit) {
    const uint64_t want = asked_.fetch_add(1, std::memory_order_acq_rel) + 1;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (served_.load(std::memory_order_acquire) != want) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
}

}  // namespace sluice::engine
