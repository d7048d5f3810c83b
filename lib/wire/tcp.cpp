#include "wire/tcp.hpp"

#include <algorithm>

#include "wire/bytes.hpp"
#include "wire/layout.hpp"

namespace sluice::wire {

Drop parse_tcp_options(std::span<const uint8_t> opts, TcpOptions& out) noexcept {
    out = TcpOptions{};
    const uint8_t* p = opts.data();
    const size_t n = opts.size();
    size_t i = 0;
    while (i < n) {
        const uint8_t kind = p[i];
        if (kind == kTcpOptEol) break;
        if (kind == kTcpOptNop) {
            ++i;
            continue;
        }
        if (n - i < 2) return Drop::TcpBadOption;  // no room for the length byte
        const uint8_t len = p[i + 1];
        if (len < 2 || len > n - i) return Drop::TcpBadOption;
        const uint8_t* v = p + i + 2;  // the option's value, len - 2 bytes
        switch (kind) {
            case kTcpOptMss:
                if (len != kTcpOptLenMss) return Drop::TcpBadOption;
                out.has_mss = true;
                out.mss = load_be16(v);
                break;
            case kTcpOptWscale:
                if (len != kTcpOptLenWscale) return Drop::TcpBadOption;
                out.has_wscale = true;
                out.wscale = v[0];
                break;
            case kTcpOptSackPermitted:
                if (len != kTcpOptLenSackPermitted) return Drop::TcpBadOption;
                out.sack_permitted = true;
                break;
            case kTcpOptTimestamp:
                if (len != kTcpOptLenTimestamp) return Drop::TcpBadOption;
                out.has_timestamps = true;
                out.ts_val = load_be32(v);
                out.ts_ecr = load_be32(v + 4);
                break;
            case kTcpOptSack: {
                const size_t body = len - 2u;
                const size_t count = body / kTcpOptLenSackBlock;
                if (body % kTcpOptLenSackBlock != 0 || count == 0 ||
                    count > TcpOptions::kMaxSackBlocks)
                    return Drop::TcpBadOption;
                out.sack_count = static_cast<uint8_t>(count);
                for (size_t b = 0; b < count; ++b) {
                    out.sack[b].left = SeqNum(load_be32(v + 8 * b));
                    out.sack[b].right = SeqNum(load_be32(v + 8 * b + 4));
                }
                break;
            }
            default: break;  // unknown: skipped by its length
        }
        i += len;
    }
    return Drop::None;
}

namespace {

// The fixed part of what the writer emits, SACK blocks aside.
size_t base_size(const TcpOptions& o) noexcept {
    size_t s = 0;
    if (o.has_mss) s += 4;
    if (o.has_timestamps) s += 12;  // SACK-perm rides in the TS word if set
    if (o.sack_permitted && !o.has_timestamps) s += 4;
    if (o.has_wscale) s += 4;
    return s;
}

// SACK blocks that fit beside the rest: NOP NOP kind len takes 4 bytes, each block 8.
size_t sack_blocks_to_write(const TcpOptions& o, size_t base) noexcept {
    const size_t wanted = std::min<size_t>(o.sack_count, TcpOptions::kMaxSackBlocks);
    if (wanted == 0 || base + 4 + kTcpOptLenSackBlock > kTcpMaxOptionsLen) return 0;
    return std::min(wanted, (kTcpMaxOptionsLen - base - 4) / kTcpOptLenSackBlock);
}

uint8_t* put4(uint8_t* p, uint8_t a, uint8_t b, uint8_t c, uint8_t d) noexcept {
    p[0] = a;
    p[1] = b;
    p[2] = c;
    p[3] = d;
    return p + 4;
}

}  // namespace

size_t tcp_options_size(const TcpOptions& o) noexcept {
    const size_t base = base_size(o);
    const size_t blocks = sack_blocks_to_write(o, base);
    return base + (blocks != 0 ? 4 + kTcpOptLenSackBlock * blocks : 0);
}

size_t write_tcp_options(std::span<uint8_t> out, const TcpOptions& o) noexcept {
    const size_t base = base_size(o);
    const size_t blocks = sack_blocks_to_write(o, base);
    const size_t total = base + (blocks != 0 ? 4 + kTcpOptLenSackBlock * blocks : 0);
    if (total == 0 || total > out.size()) return 0;

    uint8_t* p = out.data();
    if (o.has_mss) {
        p = put4(p, kTcpOptMss, kTcpOptLenMss, static_cast<uint8_t>(o.mss >> 8),
                 static_cast<uint8_t>(o.mss));
    }
    if (o.has_timestamps) {
        p = o.sack_permitted
                ? put4(p, kTcpOptSackPermitted, kTcpOptLenSackPermitted, kTcpOptTimestamp,
                       kTcpOptLenTimestamp)
                : put4(p, kTcpOptNop, kTcpOptNop, kTcpOptTimestamp, kTcpOptLenTimestamp);
        store_be32(p, o.ts_val);
        store_be32(p + 4, o.ts_ecr);
        p += 8;
    } else if (o.sack_permitted) {
        p = put4(p, kTcpOptNop, kTcpOptNop, kTcpOptSackPermitted, kTcpOptLenSackPermitted);
    }
    if (o.has_wscale) p = put4(p, kTcpOptNop, kTcpOptWscale, kTcpOptLenWscale, o.wscale);
    if (blocks != 0) {
        p = put4(p, kTcpOptNop, kTcpOptNop, kTcpOptSack,
                 static_cast<uint8_t>(2 + kTcpOptLenSackBlock * blocks));
        for (size_t b = 0; b < blocks; ++b) {
            store_be32(p, o.sack[b].left.raw());
            store_be32(p + 4, o.sack[b].right.raw());
            p += 8;
        }
    }
    return total;
}

}  // namespace sluice::wire
