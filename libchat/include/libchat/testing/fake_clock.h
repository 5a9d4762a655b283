// FakeClock: a Clock that moves only when told to. Supported test double.
#pragma once

#include <atomic>
#include <chrono>

#include "libchat/providers/clock.h"

namespace libchat::testing {

// Thread-safe.
class FakeClock : public Clock {
 public:
  // Default start: 2026-01-01T00:00:00.000Z.
  explicit FakeClock(Timestamp start = Timestamp(std::chrono::milliseconds(1767225600000)))
      : now_ms_(start.time_since_epoch().count()) {}

  Timestamp Now() const override { return Timestamp(std::chrono::milliseconds(now_ms_.load())); }
  void Set(Timestamp t) { now_ms_.store(t.time_since_epoch().count()); }
  void Advance(std::chrono::milliseconds d) { now_ms_.fetch_add(d.count()); }

 private:
  std::atomic<std::int64_t> now_ms_;
};

}  // namespace libchat::testing
