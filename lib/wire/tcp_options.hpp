#pragma once
// The TCP options sluice understands (RFC 9293 3.1, RFC 7323, RFC 2018), as parsed values.
// Parsing and writing live in tcp.hpp; this header is the shared vocabulary for lib/tcp.

#include <array>
#include <cstdint>

#include "wire/seq.hpp"

namespace sluice::wire {

struct SackBlock {
    SeqNum left;   // first sequence number of the block
    SeqNum right;  // sequence number just past the block
};

struct TcpOptions {
    static constexpr int kMaxSackBlocks = 4;  // 40 option bytes hold at most 4 (RFC 2018 3)

    bool has_mss = false;
    bool has_wscale = false;
    bool sack_permitted = false;
    bool has_timestamps = false;
    uint16_t mss = 0;
    uint8_t wscale = 0;  // as sent; RFC 7323 2.3 clamps values above 14 on use, not on parse
    uint8_t sack_count = 0;
    uint32_t ts_val = 0;
    uint32_t ts_ecr = 0;
    std::array<SackBlock, kMaxSackBlocks> sack{};
};

}  // namespace sluice::wire
