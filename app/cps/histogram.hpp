#pragma once
// A latency histogram in fixed memory: log-bucketed like HdrHistogram. Values below 2^kSubBits
// are exact; above, each power of two is split into 2^kSubBits equal buckets, so a recorded
// value is known to within 1/32 (3.1 %) of itself. 60 x 32 buckets cover all of uint64_t in
// 15 KiB; recording is a count-leading-zeros and an increment, no allocation.
//
//   value v < 32:  bucket v
//   otherwise:     shift = msb(v) - 5, bucket = 32 + 32 * shift + (v >> shift) - 32
//
// Threads: one writer; merge() after the writers have stopped.

#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace sluice::cps {

class Histogram {
public:
    static constexpr unsigned kSubBits = 5;
    static constexpr uint64_t kSub = uint64_t{1} << kSubBits;
    static constexpr size_t kBuckets = kSub * (64 - kSubBits + 1);

    static constexpr size_t bucket_of(uint64_t v) noexcept {
        if (v < kSub) return static_cast<size_t>(v);
        const unsigned shift = static_cast<unsigned>(std::bit_width(v)) - 1 - kSubBits;
        return static_cast<size_t>(kSub + kSub * shift + (v >> shift) - kSub);
    }
    // The smallest and largest value that land in bucket b.
    static constexpr uint64_t lowest(size_t b) noexcept {
        if (b < kSub) return b;
        const uint64_t shift = (b - kSub) / kSub, sub = (b - kSub) % kSub;
        return (kSub + sub) << shift;
    }
    static constexpr uint64_t highest(size_t b) noexcept {
        if (b < kSub) return b;
        const uint64_t shift = (b - kSub) / kSub, sub = (b - kSub) % kSub;
        return ((kSub + sub) << shift) + ((uint64_t{1} << shift) - 1);
    }

    void record(uint64_t v) noexcept {
        ++counts_[bucket_of(v)];
        ++count_;
        sum_ += static_cast<double>(v);
        if (v < min_) min_ = v;
        if (v > max_) max_ = v;
    }

    void merge(const Histogram& o) noexcept {
        for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
        count_ += o.count_;
        sum_ += o.sum_;
        if (o.min_ < min_) min_ = o.min_;
        if (o.max_ > max_) max_ = o.max_;
    }

    // The value at percentile p (0 < p <= 100): the highest value of the bucket holding the
    // ceil(p% x count)-th smallest sample, clamped to [min, max]. 0 when empty.
    uint64_t percentile(double p) const noexcept {
        if (count_ == 0) return 0;
        // The epsilon keeps 99.9% of 1000 at rank 999 despite binary floating point.
        uint64_t rank =
            static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_) - 1e-9));
        if (rank < 1) rank = 1;
        if (rank > count_) rank = count_;
        uint64_t seen = 0;
        for (size_t b = 0; b < kBuckets; ++b) {
            seen += counts_[b];
            if (seen >= rank) {
                const uint64_t v = highest(b);
                return v < min_ ? min_ : v > max_ ? max_ : v;
            }
        }
        return max_;
    }

    uint64_t count() const noexcept { return count_; }
    uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }
    uint64_t max() const noexcept { return max_; }
    double mean() const noexcept { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }

private:
    std::array<uint64_t, kBuckets> counts_{};
    uint64_t count_ = 0;
    double sum_ = 0;
    uint64_t min_ = UINT64_MAX;
    uint64_t max_ = 0;
};

}  // namespace sluice::cps
