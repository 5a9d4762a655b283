#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "libchat/providers/bus.h"

namespace libchat {

const char* EventTypeName(EventType type) {
  switch (type) {
    case EventType::kMessageCreated: return "message.created";
    case EventType::kMessageUpdated: return "message.updated";
    case EventType::kMessageDeleted: return "message.deleted";
    case EventType::kConversationCreated: return "conversation.created";
    case EventType::kConversationUpdated: return "conversation.updated";
    case EventType::kReceipt: return "receipt";
    case EventType::kTyping: return "typing";
    case EventType::kPresence: return "presence";
    case EventType::kNotification: return "notification";
  }
  return "unknown";
}

bool EventVisibleTo(const Event& event, const Principal& principal) {
  if (principal.type == PrincipalType::kAppServer) return event.app_id == principal.app_id;
  return std::find(event.audience.begin(), event.audience.end(), principal.id) != event.audience.end();
}

namespace {

// Subscribers are few (typically one per server); publishing takes a shared lock
// so publishers on different threads do not serialize on each other.
class InProcessBus final : public Bus {
 public:
  void Publish(std::shared_ptr<const Event> event) override {
    std::shared_lock lock(mutex_);
    for (const auto& entry : subscribers_) entry.second(event);
  }

  SubscriptionId Subscribe(EventHandler handler) override {
    std::unique_lock lock(mutex_);
    const SubscriptionId id = ++last_id_;
    subscribers_.emplace_back(id, std::move(handler));
    return id;
  }

  // Taking the exclusive lock waits for in-flight Publish calls, which gives
  // the "not running after return" guarantee.
  void Unsubscribe(SubscriptionId id) override {
    std::unique_lock lock(mutex_);
    subscribers_.erase(std::remove_if(subscribers_.begin(), subscribers_.end(),
                                      [id](const auto& entry) { return entry.first == id; }),
                       subscribers_.end());
  }

 private:
  std::shared_mutex mutex_;
  SubscriptionId last_id_ = 0;
  std::vector<std::pair<SubscriptionId, EventHandler>> subscribers_;
};

}  // namespace

std::shared_ptr<Bus> NewInProcessBus() { return std::make_shared<InProcessBus>(); }

}  // namespace libchat
