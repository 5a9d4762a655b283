// DeliveryRunner: the threads that drain the outbox (webhooks, email, notifications) through
// Chat::ProcessDueDeliveries. They are plain threads, not Asio or worker-pool threads, because a pass blocks on
// the network for up to the webhook timeout.
//
// Each thread loops: claim and run up to `batch` due deliveries; when that claimed nothing, sleep until the
// next delivery is due (Chat::NextDeliveryDue) but at most `max_idle`. Wake() cuts the sleep short when new
// work may be due (a message was posted, a notification was queued); a failing store is retried with
// exponential backoff and logged. Delivery itself is at least once and crash-safe in the core (claims are
// leases), so several runners, even in several processes, may share one store.
//
// Thread-safety: every method may be called from any thread. Times are the system clock's.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "libchat/chat.h"
#include "libchat/server/logger.h"

namespace libchat::server {

struct DeliveryRunnerOptions {
  // Threads; 0 runs none (another process drains the outbox). Default: 2.
  int workers = 2;
  // Deliveries claimed per pass. Default: 16.
  int batch = 16;
  // Longest sleep while nothing is due, so deliveries queued by another process are noticed. Default: 1 s.
  std::chrono::milliseconds max_idle{1000};
  // After a pass that found nothing, Wake() is honoured no sooner than this: a burst of messages costs one
  // outbox query per interval, not one per message. Default: 50 ms.
  std::chrono::milliseconds min_wake_interval{50};
  // Backoff after a failed pass: doubles from `error_backoff` up to `max_error_backoff`. Defaults: 100 ms, 30 s.
  std::chrono::milliseconds error_backoff{100};
  std::chrono::milliseconds max_error_backoff{30000};
};

class DeliveryRunner {
 public:
  // `chat` and `log` must outlive the runner.
  DeliveryRunner(Chat& chat, Logger& log, DeliveryRunnerOptions options);
  // Stops and joins.
  ~DeliveryRunner();
  DeliveryRunner(const DeliveryRunner&) = delete;
  DeliveryRunner& operator=(const DeliveryRunner&) = delete;

  // Starts the threads and subscribes to the Chat's events (message and conversation events wake a thread:
  // they may have queued webhooks). Idempotent; does nothing once stopping.
  void Start();
  // Asks the threads to finish: they stop after the delivery they are running, if any. Does not block.
  void RequestStop();
  // RequestStop, then joins the threads (a pass in flight may take up to the webhook timeout). Idempotent.
  void Stop();
  // New work may be due now. Cheap and non-blocking (no lock while a wake is already pending).
  void Wake();

  // Completed passes and deliveries claimed, since Start (for tests and diagnostics).
  std::uint64_t passes() const { return passes_.load(std::memory_order_relaxed); }
  std::uint64_t claimed() const { return claimed_.load(std::memory_order_relaxed); }

 private:
  void Run();
  // Sleeps until `deadline`, or until a Wake() once `quiet_until` has passed; false when stopping.
  bool Sleep(std::chrono::steady_clock::time_point quiet_until, std::chrono::steady_clock::time_point deadline);

  Chat& chat_;
  Logger& log_;
  const DeliveryRunnerOptions options_;

  std::mutex mutex_;
  std::condition_variable cv_;
  bool started_ = false;     // guarded by mutex_
  bool stopping_ = false;    // guarded by mutex_
  std::atomic<bool> wake_pending_{false};
  std::vector<std::thread> threads_;  // guarded by mutex_ (joined outside it)
  SubscriptionId subscription_ = 0;
  bool subscribed_ = false;  // guarded by mutex_

  std::atomic<std::uint64_t> passes_{0};
  std::atomic<std::uint64_t> claimed_{0};
};

}  // namespace libchat::server
