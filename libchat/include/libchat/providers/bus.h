// Bus: how live events leave the core after they are committed.
//
// The core publishes one Event per change; the reference server subscribes once
// and routes events to WebSocket connections by audience. The in-process bus is
// the default; a cross-node bus (Redis, PostgreSQL NOTIFY, ...) implements the
// same interface without touching callers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libchat/delivery.h"
#include "libchat/export.h"
#include "libchat/types.h"

namespace libchat {

enum class EventType {
  kMessageCreated,
  kMessageUpdated,
  kMessageDeleted,
  kConversationCreated,
  kConversationUpdated,
  kReceipt,
  kTyping,
  kPresence,
  kNotification,
};
// Wire name: "message.created", "conversation.updated", "receipt", "typing", ...
LIBCHAT_API const char* EventTypeName(EventType type);

struct TypingState {
  ConversationId conversation_id;
  Sender sender;
  bool typing = false;
};

// A principal came online (its first live connection) or went offline (its
// last connection closed and stayed closed for the grace period).
struct PresenceState {
  std::string principal_id;  // "cus_…", "acc_…", "op_…"
  bool online = false;
  Timestamp at;
};

struct Event {
  EventType type = EventType::kMessageCreated;
  AppId app_id;
  ConversationId conversation_id;
  // Principal ids ("acc_…", "op_…", "cus_…") allowed to see this event. The core
  // computes it; transports deliver only to these principals.
  std::vector<std::string> audience;
  // Exactly one of these is set, according to `type`.
  std::optional<Message> message;            // message.*
  std::optional<Conversation> conversation;  // conversation.*
  std::optional<Receipt> receipt;            // receipt
  std::optional<TypingState> typing;         // typing
  std::optional<PresenceState> presence;     // presence (conversation_id is empty)
  std::optional<Notification> notification; // notification (deliveries not filled)
  // When the core published it; used for publish-to-socket latency.
  Timestamp published_at;
};

// True when `principal` is in the event's audience.
LIBCHAT_API bool EventVisibleTo(const Event& event, const Principal& principal);

using EventHandler = std::function<void(const std::shared_ptr<const Event>&)>;
using SubscriptionId = std::uint64_t;

// Thread-safety: all methods may be called from any thread. Handlers run on the
// publishing thread (often the store's commit thread, with store locks held),
// must not block, must not throw and must not call back into the Chat or the
// Store: hand the event to another thread for anything more. Events of one
// conversation are published in seq order (the core publishes message events
// from the store's commit hook, which runs in commit order).
class LIBCHAT_API Bus {
 public:
  virtual ~Bus() = default;
  virtual void Publish(std::shared_ptr<const Event> event) = 0;
  virtual SubscriptionId Subscribe(EventHandler handler) = 0;
  // After Unsubscribe returns, the handler is not running and will not be called.
  virtual void Unsubscribe(SubscriptionId id) = 0;
};

// Delivers to every subscriber of this process synchronously.
LIBCHAT_API std::shared_ptr<Bus> NewInProcessBus();

}  // namespace libchat
