#pragma once
// A fixed-capacity object pool: storage is reserved once at set-up, alloc/free are O(1) pops
// and pushes on a free list, and nothing touches the heap afterwards. One per worker, used by
// its lcore only (no locking). Exhaustion is a normal, counted event: alloc returns nullptr.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace sluice::flow {

template <typename T>
class Pool {
public:
    explicit Pool(uint32_t capacity)
        : capacity_(capacity),
          storage_(static_cast<Slot*>(
              ::operator new (sizeof(Slot) * capacity, std::align_val_t{alignof(Slot)}))),
          free_(std::make_unique<uint32_t[]>(capacity)) {
        for (uint32_t i = 0; i < capacity; ++i) {
            ::new (&storage_[i]) Slot();  // live = false
            free_[i] = capacity - 1 - i;
        }
        free_top_ = capacity;
    }
    ~Pool() {
        // Objects still in use are the owner's bug, but their destructors still run.
        for (uint32_t i = 0; i < capacity_; ++i) {
            if (storage_[i].live) std::launder(reinterpret_cast<T*>(storage_[i].bytes))->~T();
        }
        ::operator delete (storage_, std::align_val_t{alignof(Slot)});
    }
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    template <typename... Args>
    T* alloc(Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args...>) {
        if (free_top_ == 0) [[unlikely]]
            return nullptr;
        Slot& s = storage_[free_[--free_top_]];
        s.live = true;
        return ::new (s.bytes) T(std::forward<Args>(args)...);
    }

    void free(T* p) noexcept {
        p->~T();
        Slot* s = reinterpret_cast<Slot*>(reinterpret_cast<std::byte*>(p) - offsetof(Slot, bytes));
        s->live = false;
        free_[free_top_++] = static_cast<uint32_t>(s - storage_);
    }

    uint32_t in_use() const noexcept { return capacity_ - free_top_; }
    uint32_t capacity() const noexcept { return capacity_; }

private:
    struct Slot {
        alignas(T) std::byte bytes[sizeof(T)];
        bool live = false;
    };
    uint32_t capacity_;
    Slot* storage_;
    std::unique_ptr<uint32_t[]> free_;
    uint32_t free_top_ = 0;
};

}  // namespace sluice::flow
