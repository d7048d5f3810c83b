#pragma once
// A fixed-capacity byte ring over storage the host hands in (allocated once per connection
// or taken from a pool; never per segment). A later issue replaces it with mbuf chains.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace sluice::tcp {

class ByteRing {
public:
    ByteRing() = default;
    explicit ByteRing(std::span<uint8_t> storage) noexcept : buf_(storage) {}

    std::size_t capacity() const noexcept { return buf_.size(); }
    std::size_t size() const noexcept { return size_; }
    std::size_t free() const noexcept { return buf_.size() - size_; }
    bool empty() const noexcept { return size_ == 0; }

    // Appends as much of src as fits; returns the count.
    std::size_t write(std::span<const uint8_t> src) noexcept {
        std::size_t n = std::min(src.size(), free());
        std::size_t tail = (head_ + size_) % cap1();
        std::size_t first = std::min(n, buf_.size() - tail);
        if (first) std::memcpy(buf_.data() + tail, src.data(), first);
        if (n > first) std::memcpy(buf_.data(), src.data() + first, n - first);
        size_ += n;
        return n;
    }

    // Writes src at `offset` bytes past the end of the data (into free space) without
    // making it part of the data: out-of-order bytes waiting for the hole before them.
    // Writes only what fits; returns the count.
    std::size_t write_at(std::size_t offset, std::span<const uint8_t> src) noexcept {
        if (offset >= free()) return 0;
        std::size_t n = std::min(src.size(), free() - offset);
        std::size_t pos = (head_ + size_ + offset) % cap1();
        std::size_t first = std::min(n, buf_.size() - pos);
        if (first) std::memcpy(buf_.data() + pos, src.data(), first);
        if (n > first) std::memcpy(buf_.data(), src.data() + first, n - first);
        return n;
    }

    // Makes n bytes already written past the end (write_at) part of the data.
    void commit(std::size_t n) noexcept { size_ += std::min(n, free()); }

    // Copies up to dst.size() bytes from the front and removes them; returns the count.
    std::size_t read(std::span<uint8_t> dst) noexcept {
        std::size_t n = std::min(dst.size(), size_);
        std::size_t first = std::min(n, buf_.size() - head_);
        if (first) std::memcpy(dst.data(), buf_.data() + head_, first);
        if (n > first) std::memcpy(dst.data() + first, buf_.data(), n - first);
        consume(n);
        return n;
    }

    // Drops n bytes from the front (n <= size()).
    void consume(std::size_t n) noexcept {
        n = std::min(n, size_);
        head_ = (head_ + n) % cap1();
        size_ -= n;  // head_ stays: bytes written past the end keep their place
    }

    // The longest contiguous run of up to max bytes starting offset bytes from the front.
    std::span<const uint8_t> peek(std::size_t offset, std::size_t max) const noexcept {
        if (offset >= size_) return {};
        std::size_t pos = (head_ + offset) % cap1();
        std::size_t n = std::min({max, size_ - offset, buf_.size() - pos});
        return {buf_.data() + pos, n};
    }

    void clear() noexcept {
        head_ = 0;
        size_ = 0;
    }

    bool check() const noexcept {
        return size_ <= buf_.size() && (buf_.empty() || head_ < buf_.size());
    }

private:
    std::size_t cap1() const noexcept { return buf_.empty() ? 1 : buf_.size(); }

    std::span<uint8_t> buf_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace sluice::tcp
