#pragma once
// The sender's SACK scoreboard (RFC 6675 3): which bytes above SND.UNA the peer reported
// holding (RFC 2018 blocks), and HighRxt. Bounded: four ranges, in sequence order, never
// touching. No heap, plain data (part of the Tcb).
//
// The three RFC 6675 4 routines work on holes: the gaps [SND.UNA, r0.start),
// [r0.end, r1.start), ... [r_last.end, SND.MAX). Every byte of one hole has the same ranges
// above it, so IsLost() is one answer per hole, and lost holes are exactly the lowest ones
// (the number of SACKed bytes above a byte only falls as the byte rises).
//
//   IsLost(S):  DupThresh ranges above S, or more than (DupThresh - 1) * SMSS bytes SACKed
//               above S                                                  RFC 6675 4
//   SetPipe:    every un-SACKed byte counts once if not lost, once more if retransmitted
//               (below HighRxt)                                           RFC 6675 4
//   NextSeg:    (1) the first lost un-SACKed byte at or above HighRxt; (2) new data (the
//               caller's); (3) the first un-SACKed byte at or above HighRxt below the
//               highest SACKed byte (in flight, not yet judged lost)
//
// A fifth range does not fit: the lowest is forgotten. Its bytes then look lost and may be
// sent again (a spurious retransmission, never a stall): losing the highest instead would
// hide losses from IsLost().

#include <array>
#include <cstdint>
#include <optional>

#include "tcp/reassembly.hpp"
#include "wire/seq.hpp"

namespace sluice::tcp {

class SackScoreboard {
public:
    static constexpr uint8_t kMaxRanges = 4;   // as many as one SACK option carries (RFC 2018 3)
    static constexpr uint32_t kDupThresh = 3;  // RFC 6675 2 DupThresh (RFC 5681)

    uint8_t count() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    const SeqRange& operator[](uint8_t i) const noexcept { return r_[i]; }

    // HighRxt (RFC 6675 2) as the end of what was sent again: bytes below it (and above
    // SND.UNA) were retransmitted in this recovery.
    wire::SeqNum high_rxt;

    // Records the peer's block [left, right), clipped to SND.UNA (a D-SACK says nothing
    // about holes); one reaching beyond `max` (SND.MAX) is ignored. Returns true if it SACKed a
    // byte that was not SACKed before.
    bool add(wire::SeqNum left, wire::SeqNum right, wire::SeqNum una, wire::SeqNum max) noexcept {
        const wire::SeqNum lo = wire::seq_max(left, una);
        const wire::SeqNum hi = wire::seq_min(right, max);
        if (right > max || !(lo < hi)) return false;  // beyond SND.MAX: bogus, ignored
        SeqRange n{lo, hi};
        std::array<SeqRange, kMaxRanges + 1> out{};
        uint8_t k = 0;
        bool placed = false;
        bool fresh = true;
        for (uint8_t i = 0; i < count_; ++i) {
            const SeqRange& r = r_[i];
            if (r.end < n.start) {
                out[k++] = r;
            } else if (n.end < r.start) {
                if (!placed) out[k++] = n, placed = true;
                out[k++] = r;
            } else {  // overlaps or touches: merge
                if (r.start <= n.start && n.end <= r.end) fresh = false;
                n.start = wire::seq_min(n.start, r.start);
                n.end = wire::seq_max(n.end, r.end);
            }
        }
        if (!placed) out[k++] = n;
        const uint8_t skip = k > kMaxRanges ? uint8_t(k - kMaxRanges) : uint8_t(0);
        count_ = uint8_t(k - skip);
        for (uint8_t i = 0; i < count_; ++i) r_[i] = out[i + skip];
        return fresh;
    }

    // SND.UNA moved to `una`: forget what it covers.
    void advance(wire::SeqNum una) noexcept {
        uint8_t keep = 0;
        for (uint8_t i = 0; i < count_; ++i) {
            SeqRange r = r_[i];
            if (r.end <= una) continue;
            if (r.start < una) r.start = una;
            r_[keep++] = r;
        }
        count_ = keep;  // high_rxt below una: the routines read it as una
    }

    void clear() noexcept { count_ = 0; }

    uint32_t sacked_bytes() const noexcept {
        uint32_t n = 0;
        for (uint8_t i = 0; i < count_; ++i) n += uint32_t(r_[i].end - r_[i].start);
        return n;
    }

    // SACKed bytes below `seq`.
    uint32_t sacked_below(wire::SeqNum seq) const noexcept {
        uint32_t n = 0;
        for (uint8_t i = 0; i < count_ && r_[i].start < seq; ++i)
            n += uint32_t(wire::seq_min(r_[i].end, seq) - r_[i].start);
        return n;
    }

    // From `seq`: the first un-SACKed byte at or above it and the end of that run of
    // un-SACKed bytes (below `max`).
    SeqRange unsacked_from(wire::SeqNum seq, wire::SeqNum max) const noexcept {
        for (uint8_t i = 0; i < count_; ++i) {
            if (r_[i].end <= seq) continue;
            if (r_[i].start <= seq) {
                seq = r_[i].end;
                continue;
            }
            return {seq, wire::seq_min(r_[i].start, max)};
        }
        return {seq, max};
    }

    // RFC 6675 4 IsLost(seq), for an un-SACKed byte.
    bool is_lost(wire::SeqNum seq, uint32_t smss) const noexcept {
        uint32_t ranges = 0, bytes = 0;
        for (uint8_t i = 0; i < count_; ++i) {
            if (r_[i].end <= seq) continue;
            ++ranges;
            bytes += uint32_t(r_[i].end - wire::seq_max(r_[i].start, seq + 1));
        }
        return ranges >= kDupThresh || bytes > (kDupThresh - 1) * smss;
    }

    // RFC 6675 4 SetPipe over [una, max).
    uint32_t pipe(wire::SeqNum una, wire::SeqNum max, uint32_t smss) const noexcept {
        uint32_t p = 0;
        const wire::SeqNum rxt = wire::seq_max(high_rxt, una);
        for (uint8_t i = 0; i <= count_; ++i) {
            const SeqRange h = hole(i, una, max);
            if (!(h.start < h.end)) continue;
            if (!is_lost(h.start, smss)) p += uint32_t(h.end - h.start);
            if (h.start < rxt) p += uint32_t(wire::seq_min(h.end, rxt) - h.start);
        }
        return p;
    }

    // RFC 6675 4 NextSeg rule (1): [first lost un-SACKed byte >= HighRxt, end of its hole).
    std::optional<SeqRange> next_lost(wire::SeqNum una, uint32_t smss) const noexcept {
        const wire::SeqNum rxt = wire::seq_max(high_rxt, una);
        for (uint8_t i = 0; i < count_; ++i) {  // the top hole has nothing SACKed above it
            SeqRange h = hole(i, una, r_[count_ - 1].end);
            if (!(h.start < h.end)) continue;
            if (!is_lost(h.start, smss)) return std::nullopt;  // nor any higher hole
            if (h.end <= rxt) continue;
            h.start = wire::seq_max(h.start, rxt);
            return h;
        }
        return std::nullopt;
    }

    // NextSeg rule (3): [first un-SACKed byte >= HighRxt below the highest SACKed byte
    // (criteria (1.a) and (1.b) without (1.c)), end of its hole).
    std::optional<SeqRange> next_unsacked(wire::SeqNum una) const noexcept {
        const wire::SeqNum rxt = wire::seq_max(high_rxt, una);
        for (uint8_t i = 0; i < count_; ++i) {
            SeqRange h = hole(i, una, r_[count_ - 1].end);
            if (!(h.start < h.end) || h.end <= rxt) continue;
            h.start = wire::seq_max(h.start, rxt);
            return h;
        }
        return std::nullopt;
    }

    // Ranges non-empty, in order, apart, inside (una, max].
    bool check(wire::SeqNum una, wire::SeqNum max) const noexcept {
        if (count_ > kMaxRanges) return false;
        for (uint8_t i = 0; i < count_; ++i) {
            const SeqRange& r = r_[i];
            if (!(una <= r.start && r.start < r.end && r.end <= max)) return false;
            if (i > 0 && !(r_[i - 1].end < r.start)) return false;
        }
        return true;
    }

    friend bool operator==(const SackScoreboard&, const SackScoreboard&) = default;

private:
    // Hole i: below range i (i == count_: above the last range, up to max).
    SeqRange hole(uint8_t i, wire::SeqNum una, wire::SeqNum max) const noexcept {
        const wire::SeqNum lo = i == 0 ? una : r_[i - 1].end;
        const wire::SeqNum hi = i == count_ ? max : r_[i].start;
        return {lo, hi};
    }

    std::array<SeqRange, kMaxRanges> r_{};
    uint8_t count_ = 0;
};

}  // namespace sluice::tcp
