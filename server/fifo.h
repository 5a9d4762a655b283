// Fifo<T>: a first-in, first-out queue that owns no memory while it has never held anything, and little
// while it is empty.
//
// Why not std::deque: libstdc++'s deque allocates a 64-byte map and a 512-byte block when it is constructed,
// so every idle WebSocket session paid ~1.2 KiB for its two queues (outgoing frames, pending commands) before
// it queued anything. Here the elements live in a vector from `head_`: pop_front advances `head_`; the
// storage is compacted once the popped prefix is at least half of it, reset when the queue empties, and
// released then if a burst had grown it beyond kKeepBytes. Amortized O(1) per operation.
//
// Popped elements are destroyed at the next compaction or reset, not at pop_front: callers move the front
// out before popping (as WsSession does), which leaves only an empty shell behind.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace libchat::server {

template <typename T>
class Fifo {
 public:
  using const_iterator = typename std::vector<T>::const_iterator;

  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }

  void push_back(T value) { items_.push_back(std::move(value)); }

  void pop_front() {
    ++head_;
    if (head_ == items_.size()) return clear();
    if (head_ >= kCompactAfter && 2 * head_ >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  void clear() {
    items_.clear();
    head_ = 0;
    if (items_.capacity() * sizeof(T) > kKeepBytes) std::vector<T>().swap(items_);
  }

  const_iterator begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  const_iterator end() const { return items_.end(); }

 private:
  static constexpr std::size_t kCompactAfter = 32;
  static constexpr std::size_t kKeepBytes = 512;

  std::vector<T> items_;
  std::size_t head_ = 0;  // index of the front element
};

}  // namespace libchat::server
