#include "dev/rss.hpp"

#include <rte_thash.h>

#include <bit>

namespace sluice::dev {

namespace {

constexpr std::array<uint8_t, kRssKeyLen> make_key() {
    std::array<uint8_t, kRssKeyLen> k{};
    for (size_t i = 0; i < k.size(); ++i) k[i] = i % 2 == 0 ? 0x6d : 0x5a;
    return k;
}
constexpr std::array<uint8_t, kRssKeyLen> kKey = make_key();

// The key as host-order 32-bit words, the form rte_softrss_be() wants (what
// rte_convert_rss_key does, at compile time), plus one zero word: the hash reads key word
// j + 1 for input word j.
constexpr std::array<uint32_t, kRssKeyLen / 4 + 1> make_converted() {
    std::array<uint32_t, kRssKeyLen / 4 + 1> w{};
    for (size_t i = 0; i < kRssKeyLen / 4; ++i) {
        w[i] = uint32_t{kKey[4 * i]} << 24 | uint32_t{kKey[4 * i + 1]} << 16 |
               uint32_t{kKey[4 * i + 2]} << 8 | kKey[4 * i + 3];
    }
    return w;
}
alignas(16) constexpr std::array<uint32_t, kRssKeyLen / 4 + 1> kConverted = make_converted();
const uint8_t* converted_key() noexcept {
    return reinterpret_cast<const uint8_t*>(kConverted.data());
}

}  // namespace

const char* steering_name(Steering s) noexcept {
    switch (s) {
        case Steering::Single: return "single";
        case Steering::Hardware: return "hardware";
        case Steering::Software: return "software";
    }
    return "?";
}

const std::array<uint8_t, kRssKeyLen>& symmetric_rss_key() noexcept {
    return kKey;
}

RssMap::RssMap(uint16_t queues, std::vector<uint16_t> reta)
    : queues_(queues), reta_(std::move(reta)) {
    if (reta_.empty() || !std::has_single_bit(reta_.size())) reta_ = round_robin(queues).reta_;
    for (auto& q : reta_)
        if (q >= queues_) q = static_cast<uint16_t>(q % queues_);
    mask_ = static_cast<uint32_t>(reta_.size() - 1);
}

RssMap RssMap::round_robin(uint16_t queues, uint16_t reta_size) {
    std::vector<uint16_t> reta(std::bit_ceil(std::max<uint16_t>(reta_size, 1)));
    for (size_t i = 0; i < reta.size(); ++i) reta[i] = static_cast<uint16_t>(i % queues);
    RssMap m;
    m.queues_ = queues;
    m.reta_ = std::move(reta);
    m.mask_ = static_cast<uint32_t>(m.reta_.size() - 1);
    return m;
}

// The Toeplitz input for TCP over IPv4 is source address, destination address, source
// port, destination port, in network order (Microsoft RSS specification, "RSS hashing
// types"); rte_softrss_be takes it as host-order 32-bit words (rte_ipv4_tuple).
uint32_t RssMap::hash_v4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) noexcept {
    uint32_t tuple[RTE_THASH_V4_L4_LEN] = {src, dst, uint32_t{sport} << 16 | dport};
    return rte_softrss_be(tuple, RTE_THASH_V4_L4_LEN, converted_key());
}

uint32_t RssMap::hash_v6(const uint8_t* src, const uint8_t* dst, uint16_t sport,
                         uint16_t dport) noexcept {
    uint32_t tuple[RTE_THASH_V6_L4_LEN];
    for (int i = 0; i < 4; ++i) {
        tuple[i] = uint32_t{src[4 * i]} << 24 | uint32_t{src[4 * i + 1]} << 16 |
                   uint32_t{src[4 * i + 2]} << 8 | src[4 * i + 3];
        tuple[4 + i] = uint32_t{dst[4 * i]} << 24 | uint32_t{dst[4 * i + 1]} << 16 |
                       uint32_t{dst[4 * i + 2]} << 8 | dst[4 * i + 3];
    }
    tuple[8] = uint32_t{sport} << 16 | dport;
    return rte_softrss_be(tuple, RTE_THASH_V6_L4_LEN, converted_key());
}

}  // namespace sluice::dev
