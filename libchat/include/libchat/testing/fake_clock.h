// FakeClock: a Clock that moves only when told to. Supported test double
// (docs/testing.md).
//
//   auto clock = std::make_shared<libchat::testing::FakeClock>();
//   options.clock = clock;
//   ...
//   clock->Advance(std::chrono::minutes(5));
//   chat->ProcessDueDeliveries();  // what became due in those five minutes goes out now
//
// What it controls: everything libchat reads from Options::clock, which is
// every timestamp it stores or returns (created_at, expires_at, ...),
// token expiry, rate-limit buckets, snooze wake-ups, and when outbox deliveries
// are due: retries and their backoff, the email fallback delay, message.offline,
// scheduled notifications, claim leases.
//
// What it does not do:
//  - It wakes nothing. Advancing it runs no delivery and reopens no snoozed
//    conversation: the test (or host) calls Chat::ProcessDueDeliveries and
//    Chat::WakeSnoozedConversations afterwards, as the reference server's timers do.
//  - It does not control real durations: network timeouts, how long a send
//    took (attempt latency), and libchat's short internal caches of settings
//    changed through another Chat over the same store (a few seconds of real time).
//  - Retry delays get +-20% random jitter: to make retry n due, advance by at
//    least 1.2 x its delay in DeliveryOptions::retry_schedule.
//  - Set may move time backwards; libchat does not expect that (an expired token
//    may become valid again, a due delivery stops being due), so tests normally
//    only move it forward.
//
// Thread-safety: every method may be called concurrently, also while libchat
// reads Now() from its own threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "libchat/export.h"
#include "libchat/providers/clock.h"

namespace libchat::testing {

class LIBCHAT_API FakeClock : public Clock {
 public:
  // Default start: 2026-01-01T00:00:00.000Z.
  explicit FakeClock(Timestamp start = Timestamp(std::chrono::milliseconds(1767225600000)))
      : now_ms_(start.time_since_epoch().count()) {}

  Timestamp Now() const override { return Timestamp(std::chrono::milliseconds(now_ms_.load())); }
  // Jumps to `t`.
  void Set(Timestamp t) { now_ms_.store(t.time_since_epoch().count()); }
  // Moves forward by `d` (backward for a negative `d`).
  void Advance(std::chrono::milliseconds d) { now_ms_.fetch_add(d.count()); }

 private:
  std::atomic<std::int64_t> now_ms_;
};

}  // namespace libchat::testing
