#include "engine/port_alloc.hpp"

namespace sluice::engine {

PortAllocator::PortAllocator(uint16_t low, uint16_t high, const dev::RssMap& rss,
                             uint16_t queue) noexcept
    : low_(low <= high ? low : high),
      high_(low <= high ? high : low),
      rss_(rss),
      queue_(queue),
      // Workers start at different points so their first picks do not all probe the same
      // ports (each skips the others' anyway).
      next_(
          static_cast<uint16_t>(low_ + (uint32_t(queue) * 1021u) % (uint32_t(high_) - low_ + 1))) {}

bool PortAllocator::comes_home(const wire::FlowKey& key) const noexcept {
    if (rss_.queues() <= 1) return true;
    // The reply is the segment from the remote end to us; the symmetric key makes the other
    // direction hash the same, but say what is meant.
    const uint32_t h = key.local.is_v4()
                           ? dev::RssMap::hash_v4(key.remote.v4_host(), key.local.v4_host(),
                                                  key.remote_port, key.local_port)
                           : dev::RssMap::hash_v6(key.remote.bytes.data(), key.local.bytes.data(),
                                                  key.remote_port, key.local_port);
    return rss_.queue_of_hash(h) == queue_;
}

bool PortAllocator::pick(wire::FlowKey& key, uint32_t& table_hash,
                         const flow::FlowTable& table) noexcept {
    const uint32_t range = uint32_t(high_) - low_ + 1;
    for (uint32_t i = 0; i < range; ++i) {
        key.local_port = next_;
        next_ = next_ == high_ ? low_ : static_cast<uint16_t>(next_ + 1);
        if (!comes_home(key)) continue;
        table_hash = table.hash(key);
        if (table.lookup(key, table_hash) == nullptr) return true;
    }
    key.local_port = 0;
    return false;
}

}  // namespace sluice::engine
