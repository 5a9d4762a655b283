// Wire names of the delivery enums and the webhook event catalogue (delivery.h).
#include <array>
#include <utility>

#include "libchat/delivery.h"

namespace libchat {

namespace {

template <typename Enum, std::size_t N>
std::optional<Enum> ParseByName(std::string_view text, const std::array<std::pair<Enum, const char*>, N>& names) {
  for (const auto& [value, name] : names) {
    if (text == name) return value;
  }
  return std::nullopt;
}

template <typename Enum, std::size_t N>
const char* NameOf(Enum value, const std::array<std::pair<Enum, const char*>, N>& names) {
  for (const auto& [candidate, name] : names) {
    if (candidate == value) return name;
  }
  return "unknown";
}

constexpr std::array<std::pair<DeliveryChannel, const char*>, 5> kChannels{{
    {DeliveryChannel::kWebSocket, "websocket"},
    {DeliveryChannel::kWebhook, "webhook"},
    {DeliveryChannel::kEmail, "email"},
    {DeliveryChannel::kPush, "push"},
    {DeliveryChannel::kBot, "bot"},
}};
constexpr std::array<std::pair<DeliveryStatus, const char*>, 5> kDeliveryStatuses{{
    {DeliveryStatus::kPending, "pending"},
    {DeliveryStatus::kDelivered, "delivered"},
    {DeliveryStatus::kFailed, "failed"},
    {DeliveryStatus::kSkipped, "skipped"},
    {DeliveryStatus::kCancelled, "cancelled"},
}};
constexpr std::array<std::pair<NotificationPriority, const char*>, 4> kPriorities{{
    {NotificationPriority::kLow, "low"},
    {NotificationPriority::kNormal, "normal"},
    {NotificationPriority::kHigh, "high"},
    {NotificationPriority::kUrgent, "urgent"},
}};
constexpr std::array<std::pair<NotificationStatus, const char*>, 4> kNotificationStatuses{{
    {NotificationStatus::kPending, "pending"},
    {NotificationStatus::kDelivered, "delivered"},
    {NotificationStatus::kFailed, "failed"},
    {NotificationStatus::kCancelled, "cancelled"},
}};

}  // namespace

const char* DeliveryChannelName(DeliveryChannel channel) { return NameOf(channel, kChannels); }
std::optional<DeliveryChannel> ParseDeliveryChannel(std::string_view text) { return ParseByName(text, kChannels); }

const char* DeliveryStatusName(DeliveryStatus status) { return NameOf(status, kDeliveryStatuses); }
std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view text) {
  return ParseByName(text, kDeliveryStatuses);
}

const char* NotificationPriorityName(NotificationPriority priority) { return NameOf(priority, kPriorities); }
std::optional<NotificationPriority> ParseNotificationPriority(std::string_view text) {
  return ParseByName(text, kPriorities);
}

const char* NotificationStatusName(NotificationStatus status) { return NameOf(status, kNotificationStatuses); }
std::optional<NotificationStatus> ParseNotificationStatus(std::string_view text) {
  return ParseByName(text, kNotificationStatuses);
}

const std::vector<std::string>& WebhookEventTypes() {
  static const std::vector<std::string> kTypes{
      "message.created",      "message.updated",      "message.deleted",        "message.offline",
      "conversation.created", "conversation.updated", "notification",           "notification.delivered",
      "notification.failed",
  };
  return kTypes;
}

}  // namespace libchat
