// Functions that synchronise the way the hot path must not, under names the old
// check-hotpath.sh exempted wholesale (issue 20 item 9): all of sluice::dev::, and any 16-bit
// locked add. check_test.sh expects scripts/check-hotpath.sh to name both.
#include <atomic>
#include <cstdint>

namespace sluice::dev {
[[gnu::noinline]] void probe_per_packet_counter(std::atomic<int>& c) {
    c.fetch_add(1, std::memory_order_relaxed);  // lock addl
}
}  // namespace sluice::dev

namespace sluice::engine {
[[gnu::noinline]] void probe_shared_16bit_counter(std::atomic<uint16_t>& c) {
    c.fetch_add(1, std::memory_order_relaxed);  // lock addw
}
}  // namespace sluice::engine
