// Subscriptions: libchat's bus handler runs on the publishing thread with store
// locks held and must neither block nor call back into the Chat (bus.h). A C
// callback can promise neither, so each subscription hands events to a bounded
// queue drained by a thread of its own, which is where the callback runs.
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "c_api_internal.h"
#include "event_json.h"
#include "libchat/providers/bus.h"

namespace libchat::capi {

namespace {

constexpr size_t kDefaultMaxQueued = 10000;

// One queue entry: an event, or the number of events dropped at this point.
struct QueueItem {
  std::shared_ptr<const Event> event;
  std::uint64_t dropped = 0;
};

}  // namespace

// The part of a subscription its dispatch thread and the bus handler share.
struct SubscriptionState {
  chat_event_callback callback = nullptr;
  void* user_data = nullptr;
  size_t max_queued = kDefaultMaxQueued;

  std::mutex mu;
  std::condition_variable wake;
  std::deque<QueueItem> queue;  // guarded by mu
  bool stopping = false;        // guarded by mu

  // From the bus handler: must not block beyond this short lock.
  void Push(std::shared_ptr<const Event> event) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return;
      size_t queued_events = queue.size();
      if (!queue.empty() && !queue.back().event) --queued_events;  // the trailing drop marker
      if (queued_events >= max_queued) {
        if (!queue.empty() && !queue.back().event) {
          ++queue.back().dropped;
        } else {
          queue.push_back(QueueItem{nullptr, 1});
        }
        return;
      }
      queue.push_back(QueueItem{std::move(event), 0});
    }
    wake.notify_one();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
      queue.clear();
    }
    wake.notify_one();
  }
};

namespace {

void Deliver(SubscriptionState& state, const QueueItem& item) {
  chat_event event{};
  chat_message message{};
  std::string payload;
  if (item.event) {
    const Event& e = *item.event;
    payload = EventPayloadJson(e);
    event.type = EventTypeName(e.type);
    event.app_id = e.app_id.str().c_str();
    event.conversation_id = e.conversation_id.str().c_str();
    if (e.message) {
      ViewMessage(*e.message, message);
      event.message = &message;
    }
    event.published_at_ms = Millis(e.published_at);
  } else {
    payload = DroppedPayloadJson(item.dropped);
    event.type = "events.dropped";
    event.app_id = "";
    event.conversation_id = "";
  }
  event.payload_json = payload.c_str();
  state.callback(&event, state.user_data);
}

void DispatchLoop(const std::shared_ptr<SubscriptionState>& state) {
  for (;;) {
    QueueItem item;
    {
      std::unique_lock<std::mutex> lock(state->mu);
      state->wake.wait(lock, [&] { return state->stopping || !state->queue.empty(); });
      if (state->stopping) return;
      item = std::move(state->queue.front());
      state->queue.pop_front();
    }
    try {
      Deliver(*state, item);
    } catch (...) {
      // Only building the payload can throw (out of memory); that event is lost, the subscription goes on.
      // A C callback cannot throw; anything a misbehaving one lets escape stops here too.
    }
  }
}

// Waits for a dispatch thread to finish, unless it is the calling thread (a
// callback that unsubscribes itself or closes the engine): then it is detached
// and ends on its own once the callback returns.
void Finish(std::thread thread) noexcept {
  if (!thread.joinable()) return;
  try {
    if (thread.get_id() == std::this_thread::get_id()) {
      thread.detach();
    } else {
      thread.join();
    }
  } catch (...) {
    // join/detach fail only for a thread that is not joinable, checked above.
  }
}

}  // namespace
}  // namespace libchat::capi

struct chat_subscription {
  std::shared_ptr<libchat::capi::EngineShared> engine;
  std::shared_ptr<libchat::capi::SubscriptionState> state;
  libchat::SubscriptionId bus_id = 0;
  std::thread thread;  // guarded by engine->mu; taken by whoever stops the subscription first
};

namespace libchat::capi {

void CloseSubscriptions(EngineShared& shared) noexcept {
  std::vector<chat_subscription*> subscriptions;
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    // After UnsubscribeEvents the bus no longer calls the handler; new subscriptions are refused from here on.
    for (chat_subscription* subscription : shared.active) {
      shared.chat->UnsubscribeEvents(subscription->bus_id);
      subscription->state->Stop();
      threads.push_back(std::move(subscription->thread));
    }
    shared.active.clear();
    shared.chat = nullptr;
  }
  for (std::thread& thread : threads) Finish(std::move(thread));
}

}  // namespace libchat::capi

extern "C" {

chat_subscription* chat_subscribe(chat_engine* engine, const chat_principal* viewer, chat_event_callback callback,
                                  void* user_data, size_t max_queued, chat_error** err) {
  using libchat::capi::SetError;
  return libchat::capi::Guard<chat_subscription*>(err, nullptr, [&]() -> chat_subscription* {
    if (!libchat::capi::Require(engine, "engine", err) || !libchat::capi::Require(callback, "callback", err)) {
      return nullptr;
    }
    auto state = std::make_shared<libchat::capi::SubscriptionState>();
    state->callback = callback;
    state->user_data = user_data;
    state->max_queued = max_queued == 0 ? libchat::capi::kDefaultMaxQueued : max_queued;
    std::optional<libchat::Principal> audience;
    if (viewer != nullptr) audience = viewer->value;

    auto subscription = std::make_unique<chat_subscription>();
    subscription->engine = engine->shared;
    subscription->state = state;

    libchat::capi::EngineShared& shared = *engine->shared;
    std::lock_guard<std::mutex> lock(shared.mu);
    if (shared.chat == nullptr) {
      SetError(err, CHAT_FAILED_PRECONDITION, "the engine is closing");
      return nullptr;
    }
    shared.active.reserve(shared.active.size() + 1);  // so that registering below cannot throw
    subscription->thread = std::thread(libchat::capi::DispatchLoop, state);
    try {
      subscription->bus_id = shared.chat->SubscribeEvents([state, audience](const std::shared_ptr<const libchat::Event>& event) {
        if (audience && !libchat::EventVisibleTo(*event, *audience)) return;
        state->Push(event);
      });
    } catch (...) {
      state->Stop();
      libchat::capi::Finish(std::move(subscription->thread));
      throw;
    }
    shared.active.push_back(subscription.get());
    return subscription.release();
  });
}

void chat_unsubscribe(chat_subscription* subscription) {
  if (subscription == nullptr) return;
  std::thread thread;
  {
    libchat::capi::EngineShared& shared = *subscription->engine;
    std::lock_guard<std::mutex> lock(shared.mu);
    auto it = std::find(shared.active.begin(), shared.active.end(), subscription);
    if (it != shared.active.end()) {
      shared.chat->UnsubscribeEvents(subscription->bus_id);
      shared.active.erase(it);
    }
    subscription->state->Stop();
    thread = std::move(subscription->thread);
  }
  libchat::capi::Finish(std::move(thread));
  delete subscription;
}

}  // extern "C"
