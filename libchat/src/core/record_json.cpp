// JSON renderer of libchat's records (record_json.h).
#include "core/record_json.h"

#include <utility>

namespace libchat::internal {
namespace {

using Json = nlohmann::json;

Json StringOrNull(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }
Json TimeOrNull(const std::optional<Timestamp>& t) { return t ? Json(FormatTimestamp(*t)) : Json(nullptr); }

}  // namespace

Json EmbeddedObject(std::string_view text) {
  // Fast path for the overwhelmingly common default: no parse.
  if (text.empty() || text == "{}") return Json::object();
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  return parsed.is_object() ? std::move(parsed) : Json::object();
}

std::string JsonText(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json ToJson(const Sender& sender) {
  Json j = Json::object();
  j["type"] = SenderTypeName(sender.type);
  j["id"] = StringOrNull(sender.id);
  return j;
}

Json ToJson(const Message& message) {
  Json j = Json::object();
  j["id"] = message.id.str();
  j["conversation_id"] = message.conversation_id.str();
  j["seq"] = message.seq;
  j["sender"] = ToJson(message.sender);
  j["text"] = message.text;
  j["metadata"] = EmbeddedObject(message.metadata_json);
  j["client_msg_id"] = StringOrNull(message.client_msg_id);
  j["created_at"] = FormatTimestamp(message.created_at);
  j["edited_at"] = TimeOrNull(message.edited_at);
  j["deleted"] = message.deleted;
  return j;
}

const char* PrincipalKindOfId(std::string_view principal_id) {
  if (principal_id.rfind("cus_", 0) == 0) return "customer";
  return principal_id.rfind("op_", 0) == 0 ? "operator" : "account";
}

Json ToJson(const Member& member) {
  Json j = Json::object();
  j["id"] = member.id;
  j["type"] = PrincipalKindOfId(member.id);
  j["role"] = MemberRoleName(member.role);
  j["joined_at"] = FormatTimestamp(member.joined_at);
  return j;
}

Json ToJson(const Conversation& conversation, ConversationFields fields) {
  Json j = Json::object();
  j["id"] = conversation.id.str();
  j["app_id"] = conversation.app_id.str();
  j["type"] = ConversationTypeName(conversation.type);
  j["status"] = ConversationStatusName(conversation.status);
  j["assignee_id"] = StringOrNull(conversation.assignee_id);
  j["name"] = conversation.name;
  j["metadata"] = EmbeddedObject(conversation.metadata_json);
  j["customer_id"] = StringOrNull(conversation.customer_id.str());
  j["last_seq"] = conversation.last_seq;
  j["snoozed_until"] = TimeOrNull(conversation.snoozed_until);
  j["created_at"] = FormatTimestamp(conversation.created_at);
  j["updated_at"] = FormatTimestamp(conversation.updated_at);
  j["last_activity_at"] = FormatTimestamp(conversation.last_activity_at);
  if (fields == ConversationFields::kRecordOnly) return j;
  j["last_message"] = conversation.last_message ? ToJson(*conversation.last_message) : Json(nullptr);
  j["unread_count"] = conversation.unread_count;
  j["read_seq"] = conversation.read_seq;
  if (!conversation.members.empty()) {
    Json members = Json::array();
    for (const Member& member : conversation.members) members.push_back(ToJson(member));
    j["members"] = std::move(members);
  }
  return j;
}

Json ToJson(const Receipt& receipt) {
  Json j = Json::object();
  j["conversation_id"] = receipt.conversation_id.str();
  j["member_id"] = receipt.member_id;
  j["delivered_seq"] = receipt.delivered_seq;
  j["read_seq"] = receipt.read_seq;
  j["updated_at"] = FormatTimestamp(receipt.updated_at);
  return j;
}

Json ToJson(const TypingState& typing) {
  Json j = Json::object();
  j["conversation_id"] = typing.conversation_id.str();
  j["sender"] = ToJson(typing.sender);
  j["state"] = typing.typing ? "start" : "stop";
  return j;
}

Json ToJson(const PresenceState& presence) {
  Json j = Json::object();
  j["principal_id"] = presence.principal_id;
  j["status"] = presence.online ? "online" : "offline";
  j["at"] = FormatTimestamp(presence.at);
  return j;
}

Json ToJson(const DeliveryAttempt& attempt) {
  Json j = Json::object();
  j["number"] = attempt.number;
  j["at"] = FormatTimestamp(attempt.at);
  j["status_code"] = attempt.status_code == 0 ? Json(nullptr) : Json(attempt.status_code);
  j["error"] = StringOrNull(attempt.error);
  j["latency_ms"] = attempt.latency_ms;
  return j;
}

Json ToJson(const Delivery& delivery) {
  Json j = Json::object();
  j["id"] = delivery.id.str();
  j["app_id"] = delivery.app_id.str();
  j["channel"] = DeliveryChannelName(delivery.channel);
  j["kind"] = delivery.kind;
  j["status"] = DeliveryStatusName(delivery.status);
  j["webhook_id"] = StringOrNull(delivery.webhook_id.str());
  j["recipient_id"] = StringOrNull(delivery.recipient_id);
  j["to_email"] = StringOrNull(delivery.to_email);
  j["conversation_id"] = StringOrNull(delivery.conversation_id.str());
  j["message_id"] = StringOrNull(delivery.message_id.str());
  j["notification_id"] = StringOrNull(delivery.notification_id.str());
  j["priority"] = NotificationPriorityName(delivery.priority);
  j["attempt_count"] = delivery.attempt_count;
  j["next_attempt_at"] = delivery.status == DeliveryStatus::kPending
                             ? Json(FormatTimestamp(delivery.next_attempt_at))
                             : Json(nullptr);
  j["last_error"] = StringOrNull(delivery.last_error);
  j["created_at"] = FormatTimestamp(delivery.created_at);
  j["updated_at"] = FormatTimestamp(delivery.updated_at);
  Json attempts = Json::array();
  for (const DeliveryAttempt& attempt : delivery.attempts) attempts.push_back(ToJson(attempt));
  j["attempts"] = std::move(attempts);
  return j;
}

Json ToJson(const Notification& notification) {
  Json j = Json::object();
  j["id"] = notification.id.str();
  j["app_id"] = notification.app_id.str();
  Json to = Json::object();
  if (!notification.customer_ids.empty()) {
    Json ids = Json::array();
    for (const CustomerId& id : notification.customer_ids) ids.push_back(id.str());
    to["customer_ids"] = std::move(ids);
  }
  if (!notification.conversation_id.empty()) to["conversation_id"] = notification.conversation_id.str();
  if (!notification.email.empty()) to["email"] = notification.email;
  j["to"] = std::move(to);
  Json channels = Json::array();
  for (DeliveryChannel channel : notification.channels) channels.push_back(DeliveryChannelName(channel));
  j["channels"] = std::move(channels);
  j["subject"] = notification.subject;
  j["body"] = notification.body;
  j["html"] = StringOrNull(notification.html);
  j["priority"] = NotificationPriorityName(notification.priority);
  j["scheduled_at"] = TimeOrNull(notification.scheduled_at);
  if (notification.fallback) {
    Json fallback = Json::object();
    fallback["after_s"] = notification.fallback->after.count();
    fallback["channel"] = DeliveryChannelName(notification.fallback->channel);
    fallback["to_email"] = StringOrNull(notification.fallback->to_email);
    j["fallback"] = std::move(fallback);
  } else {
    j["fallback"] = nullptr;
  }
  j["status"] = NotificationStatusName(notification.status);
  j["created_at"] = FormatTimestamp(notification.created_at);
  j["updated_at"] = FormatTimestamp(notification.updated_at);
  Json deliveries = Json::array();
  for (const Delivery& delivery : notification.deliveries) deliveries.push_back(ToJson(delivery));
  j["deliveries"] = std::move(deliveries);
  return j;
}

Json EventDataJson(const Event& event) {
  switch (event.type) {
    case EventType::kMessageCreated:
    case EventType::kMessageUpdated:
    case EventType::kMessageDeleted:
      if (event.message) return ToJson(*event.message);
      break;
    case EventType::kConversationCreated:
    case EventType::kConversationUpdated:
      if (event.conversation) return ToJson(*event.conversation);
      break;
    case EventType::kReceipt:
      if (event.receipt) return ToJson(*event.receipt);
      break;
    case EventType::kTyping:
      if (event.typing) return ToJson(*event.typing);
      break;
    case EventType::kPresence:
      if (event.presence) return ToJson(*event.presence);
      break;
    case EventType::kNotification:
      if (event.notification) return ToJson(*event.notification);
      break;
  }
  return Json::object();
}

}  // namespace libchat::internal
