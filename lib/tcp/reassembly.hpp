#pragma once
// Out-of-order data kept for reassembly (RFC 9293 3.10.7.4 seventh step: segments beyond
// RCV.NXT "should be held for later processing"). The bytes themselves are mbuf pieces of
// the receive buffer (buffer.hpp); this is only the bounded list of the [start, end) ranges
// they cover. Ranges never overlap or touch (arrivals merge), and the list is kept
// in order of recency, most recent first, as RFC 2018 4 wants the SACK blocks.

#include <array>
#include <cstdint>

#include "wire/seq.hpp"

namespace sluice::tcp {

struct SeqRange {
    wire::SeqNum start, end;  // [start, end)
    friend bool operator==(const SeqRange&, const SeqRange&) = default;
};

class Reassembly {
public:
    // Four ranges: as many as a SACK option can report (RFC 2018 3). A fifth hole drops
    // the segment (counted; the peer retransmits it).
    static constexpr uint8_t kMaxRanges = 4;

    uint8_t count() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    const SeqRange& operator[](uint8_t i) const noexcept { return r_[i]; }

    // Records [start, end), merging with every range it overlaps or touches, as the most
    // recent. Returns false (nothing changed) if that would need a fifth range.
    bool add(wire::SeqNum start, wire::SeqNum end) noexcept {
        SeqRange n{start, end};
        uint8_t keep = 0;
        std::array<SeqRange, kMaxRanges> rest{};
        for (uint8_t i = 0; i < count_; ++i) {
            const SeqRange& r = r_[i];
            if (r.end < n.start || n.end < r.start) {
                rest[keep++] = r;
            } else {
                n.start = wire::seq_min(n.start, r.start);
                n.end = wire::seq_max(n.end, r.end);
            }
        }
        if (keep == kMaxRanges) return false;
        r_[0] = n;
        for (uint8_t i = 0; i < keep; ++i) r_[i + 1] = rest[i];
        count_ = uint8_t(keep + 1);
        return true;
    }

    // RCV.NXT reached `nxt`: drops the ranges it covers and returns the end of the one it
    // reaches into (the new RCV.NXT), or nxt if the hole before the first range remains.
    wire::SeqNum advance(wire::SeqNum nxt) noexcept {
        wire::SeqNum out = nxt;
        uint8_t keep = 0;
        for (uint8_t i = 0; i < count_; ++i) {
            if (r_[i].start <= nxt)
                out = wire::seq_max(out, r_[i].end);
            else
                r_[keep++] = r_[i];
        }
        count_ = keep;
        return out;
    }

    void clear() noexcept { count_ = 0; }

    // Every range non-empty, in (lo, hi], apart from the others by at least one byte.
    bool check(wire::SeqNum lo, wire::SeqNum hi) const noexcept {
        for (uint8_t i = 0; i < count_; ++i) {
            const SeqRange& a = r_[i];
            if (!(lo < a.start && a.start < a.end && a.end <= hi)) return false;
            for (uint8_t j = uint8_t(i + 1); j < count_; ++j) {
                const SeqRange& b = r_[j];
                if (!(a.end < b.start || b.end < a.start)) return false;
            }
        }
        return true;
    }

    friend bool operator==(const Reassembly&, const Reassembly&) = default;

private:
    std::array<SeqRange, kMaxRanges> r_{};
    uint8_t count_ = 0;
};

}  // namespace sluice::tcp
