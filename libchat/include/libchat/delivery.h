// Records of delivery beyond the socket: webhook endpoints, the outbox's
// deliveries and their attempts, notifications, and an app's delivery policy.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libchat/export.h"
#include "libchat/types.h"

namespace libchat {

struct WebhookIdTag { static constexpr std::string_view kPrefix = "wh_"; };
struct DeliveryIdTag { static constexpr std::string_view kPrefix = "dlv_"; };
struct NotificationIdTag { static constexpr std::string_view kPrefix = "ntf_"; };
using WebhookId = Id<WebhookIdTag>;
using DeliveryId = Id<DeliveryIdTag>;
using NotificationId = Id<NotificationIdTag>;

// kBot is internal: a customer message for the bot to answer (kind "bot.reply"),
// queued in the message's transaction so that a crash cannot lose the answer or
// the hand-off. It is listed with the other deliveries but is not a channel a
// notification or a delivery policy may name.
enum class DeliveryChannel { kWebSocket, kWebhook, kEmail, kPush, kBot };
LIBCHAT_API const char* DeliveryChannelName(DeliveryChannel channel);  // "websocket", "webhook", "email", "push", "bot"
LIBCHAT_API std::optional<DeliveryChannel> ParseDeliveryChannel(std::string_view text);

enum class DeliveryStatus {
  kPending,    // waiting for its next attempt (or for a policy condition)
  kDelivered,  // an attempt succeeded
  kFailed,     // dead-lettered: the last attempt of the schedule failed, or a permanent failure
  kSkipped,    // the delivery policy decided it is not needed (read in time, came online, ...)
  kCancelled,  // cancelled through the API while pending
};
LIBCHAT_API const char* DeliveryStatusName(DeliveryStatus status);  // "pending", "delivered", "failed", ...
LIBCHAT_API std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view text);

// Webhook event types an endpoint may subscribe to.
// "message.created", "message.updated", "message.deleted", "message.offline",
// "conversation.created", "conversation.updated", "notification" (a notification sent on the
// webhook channel), "notification.delivered", "notification.failed".
LIBCHAT_API const std::vector<std::string>& WebhookEventTypes();

struct WebhookEndpoint {
  WebhookId id;
  AppId app_id;
  std::string url;
  std::vector<std::string> events;  // subset of WebhookEventTypes()
  bool enabled = true;
  std::string disabled_reason;  // why it was disabled ("410 Gone from the receiver"), when !enabled
  // During a secret rotation the previous secret keeps signing until this time.
  std::optional<Timestamp> previous_secret_expires_at;
  Timestamp created_at;
  Timestamp updated_at;
};

// One attempt of a delivery.
struct DeliveryAttempt {
  int number = 0;         // 1, 2, 3 … per delivery
  Timestamp at;
  int status_code = 0;    // HTTP status / SMTP reply code; 0 when none was received
  std::string error;      // empty when it succeeded
  std::int64_t latency_ms = 0;
};

enum class NotificationPriority { kLow, kNormal, kHigh, kUrgent };
LIBCHAT_API const char* NotificationPriorityName(NotificationPriority priority);  // "low", "normal", "high", "urgent"
LIBCHAT_API std::optional<NotificationPriority> ParseNotificationPriority(std::string_view text);

// One external delivery: a row of the outbox.
struct Delivery {
  DeliveryId id;  // also the webhook-id, stable across retries
  AppId app_id;
  DeliveryChannel channel = DeliveryChannel::kWebhook;
  // What it delivers: a webhook event type ("message.created", "message.offline", ...),
  // "email.fallback" (an unread message by email), "notification" or "notification.fallback".
  std::string kind;
  WebhookId webhook_id;          // webhook deliveries
  std::string recipient_id;      // the principal it is for ("cus_…", "acc_…"), when there is one
  std::string to_email;          // email deliveries to an explicit address
  ConversationId conversation_id;
  MessageId message_id;
  std::int64_t message_seq = 0;
  NotificationId notification_id;
  // Webhooks: the exact body. Email: {"subject","text","html"} (or {} when rendered
  // at send time from the message). WebSocket: the event's data.
  std::string payload_json = "{}";
  NotificationPriority priority = NotificationPriority::kNormal;
  // When true the delivery policy chain runs before each attempt (it may skip or defer it).
  bool gated = false;
  DeliveryStatus status = DeliveryStatus::kPending;
  int attempt_count = 0;
  Timestamp next_attempt_at;  // due time while pending
  std::string last_error;
  Timestamp created_at;
  Timestamp updated_at;
  std::vector<DeliveryAttempt> attempts;  // oldest first; filled by reads that return one delivery or a list
};

enum class NotificationStatus { kPending, kDelivered, kFailed, kCancelled };
LIBCHAT_API const char* NotificationStatusName(NotificationStatus status);
LIBCHAT_API std::optional<NotificationStatus> ParseNotificationStatus(std::string_view text);

struct NotificationFallback {
  std::chrono::seconds after{0};
  DeliveryChannel channel = DeliveryChannel::kEmail;
  std::string to_email;  // optional: otherwise the recipient's own email
};

struct Notification {
  NotificationId id;
  AppId app_id;
  // Recipients: customers of the app, the customer of a conversation, or an address.
  std::vector<CustomerId> customer_ids;
  ConversationId conversation_id;
  std::string email;
  std::vector<DeliveryChannel> channels;
  std::string subject;
  std::string body;
  std::string html;
  NotificationPriority priority = NotificationPriority::kNormal;
  std::optional<Timestamp> scheduled_at;
  std::optional<NotificationFallback> fallback;
  NotificationStatus status = NotificationStatus::kPending;
  Timestamp created_at;
  Timestamp updated_at;
  std::vector<Delivery> deliveries;  // with their attempts; filled by reads of one notification
};

// Per app: what happens to a message after the realtime attempt.
struct DeliveryPolicy {
  // Channels beyond the socket that the policy may use: "webhook" enables the
  // message.offline webhook, "email" the email fallback. The socket is always first.
  std::vector<DeliveryChannel> channels{DeliveryChannel::kWebSocket};
  // A message.offline webhook goes out for a recipient with no live connection for this long. Default: 60 s.
  std::chrono::seconds offline_after{60};
  // An email goes out when the message is still unread this long after it was sent. Default: 300 s.
  std::chrono::seconds email_fallback_after{300};
};

}  // namespace libchat
