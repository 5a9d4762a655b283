#include "server/delivery_runner.h"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

namespace libchat::server {

namespace {

bool MayQueueWebhooks(EventType type) {
  switch (type) {
    case EventType::kMessageCreated:
    case EventType::kMessageUpdated:
    case EventType::kMessageDeleted:
    case EventType::kConversationCreated:
    case EventType::kConversationUpdated:
      return true;
    default:
      return false;
  }
}

}  // namespace

DeliveryRunner::DeliveryRunner(Chat& chat, Logger& log, DeliveryRunnerOptions options)
    : chat_(chat), log_(log), options_(std::move(options)) {}

DeliveryRunner::~DeliveryRunner() { Stop(); }

void DeliveryRunner::Start() {
  std::lock_guard lock(mutex_);
  if (started_ || stopping_ || options_.workers <= 0) return;
  started_ = true;
  subscription_ = chat_.SubscribeEvents([this](const std::shared_ptr<const Event>& event) {
    if (event != nullptr && MayQueueWebhooks(event->type)) Wake();
  });
  subscribed_ = true;
  threads_.reserve(static_cast<std::size_t>(options_.workers));
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { Run(); });
}

void DeliveryRunner::RequestStop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
}

void DeliveryRunner::Stop() {
  std::vector<std::thread> threads;
  bool unsubscribe = false;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
    unsubscribe = std::exchange(subscribed_, false);
  }
  cv_.notify_all();
  // Unsubscribe first: the event handler calls Wake(), which must not run on a destroyed runner.
  if (unsubscribe) chat_.UnsubscribeEvents(subscription_);
  for (std::thread& thread : threads) {
    if (thread.joinable()) thread.join();
  }
}

void DeliveryRunner::Wake() {
  if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;  // a wake is already on its way
  // Taking the lock orders this with a sleeper's predicate check, so the notification cannot be lost.
  { std::lock_guard lock(mutex_); }
  cv_.notify_all();
}

bool DeliveryRunner::Sleep(std::chrono::steady_clock::time_point quiet_until,
                           std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  cv_.wait_until(lock, std::min(quiet_until, deadline), [this] { return stopping_; });
  cv_.wait_until(lock, deadline,
                 [this] { return stopping_ || wake_pending_.load(std::memory_order_acquire); });
  return !stopping_;
}

void DeliveryRunner::Run() {
  using Clock = std::chrono::steady_clock;
  std::chrono::milliseconds backoff{0};
  auto failed = [&](const std::string& what) {
    backoff = backoff.count() == 0 ? options_.error_backoff : std::min(backoff * 2, options_.max_error_backoff);
    log_.Warn("delivery worker: " + what + "; retrying in " + std::to_string(backoff.count()) + " ms");
    const auto until = Clock::now() + backoff;
    return Sleep(until, until);  // wakes do not shorten a backoff
  };

  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    // Wakes from here on are for the next sleep: whatever they announced, this pass may not have seen it.
    wake_pending_.store(false, std::memory_order_release);
    Result<int> claimed = InternalError("not run");
    try {
      claimed = chat_.ProcessDueDeliveries(options_.batch);
    } catch (const std::exception& e) {  // the facade does not throw; a thread must not die if it ever did
      claimed = InternalError(e.what());
    }
    passes_.fetch_add(1, std::memory_order_relaxed);
    if (!claimed.ok()) {
      if (!failed("cannot process deliveries: " + claimed.status().ToString())) return;
      continue;
    }
    claimed_.fetch_add(static_cast<std::uint64_t>(std::max(0, *claimed)), std::memory_order_relaxed);
    if (*claimed > 0) {
      backoff = std::chrono::milliseconds(0);
      continue;  // more may be due right away
    }

    Result<std::optional<Timestamp>> next = InternalError("not run");
    try {
      next = chat_.NextDeliveryDue();
    } catch (const std::exception& e) {
      next = InternalError(e.what());
    }
    if (!next.ok()) {
      if (!failed("cannot read the next delivery time: " + next.status().ToString())) return;
      continue;
    }
    backoff = std::chrono::milliseconds(0);

    const auto now = Clock::now();
    auto delay = options_.max_idle;
    if (next->has_value()) {
      const auto until_due = std::chrono::duration_cast<std::chrono::milliseconds>(
          **next - std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()));
      // Due already but nothing was claimable: another worker holds it. Do not spin on it.
      delay = std::min(std::max(until_due, options_.min_wake_interval), options_.max_idle);
    }
    if (!Sleep(now + options_.min_wake_interval, now + delay)) return;
  }
}

}  // namespace libchat::server
