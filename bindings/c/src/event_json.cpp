// Event payloads: libchat records to the wire shapes of API.md ("Shapes").
#include "event_json.h"

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "libchat/delivery.h"
#include "libchat/types.h"

namespace libchat::capi {
namespace {

using Json = nlohmann::json;

Json StringOrNull(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

Json TimeOrNull(const std::optional<Timestamp>& t) { return t ? Json(FormatTimestamp(*t)) : Json(nullptr); }

// Records hold validated JSON text; anything that does not parse as an object becomes {}.
Json EmbeddedObject(std::string_view text) {
  if (text.empty() || text == "{}") return Json::object();
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  return parsed.is_object() ? parsed : Json::object();
}

Json ToJson(const Sender& sender) {
  return Json{{"type", SenderTypeName(sender.type)}, {"id", StringOrNull(sender.id)}};
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

Json ToJson(const Member& member) {
  const std::string_view id = member.id;
  Json j = Json::object();
  j["id"] = member.id;
  j["type"] = id.rfind("cus_", 0) == 0 ? "customer" : id.rfind("op_", 0) == 0 ? "operator" : "account";
  j["role"] = MemberRoleName(member.role);
  j["joined_at"] = FormatTimestamp(member.joined_at);
  return j;
}

Json ToJson(const Conversation& conversation) {
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
  j["last_message"] = conversation.last_message ? ToJson(*conversation.last_message) : Json(nullptr);
  j["unread_count"] = conversation.unread_count;
  j["read_seq"] = conversation.read_seq;
  j["snoozed_until"] = TimeOrNull(conversation.snoozed_until);
  j["created_at"] = FormatTimestamp(conversation.created_at);
  j["updated_at"] = FormatTimestamp(conversation.updated_at);
  j["last_activity_at"] = FormatTimestamp(conversation.last_activity_at);
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

// Events carry notifications without their deliveries.
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
  j["status"] = NotificationStatusName(notification.status);
  j["created_at"] = FormatTimestamp(notification.created_at);
  j["updated_at"] = FormatTimestamp(notification.updated_at);
  return j;
}

// Invalid UTF-8 cannot reach a record (the core validates text), but dump() must not throw if it did.
std::string Dump(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

std::string EventPayloadJson(const Event& event) {
  Json data = Json::object();
  switch (event.type) {
    case EventType::kMessageCreated:
    case EventType::kMessageUpdated:
    case EventType::kMessageDeleted:
      if (event.message) data = ToJson(*event.message);
      break;
    case EventType::kConversationCreated:
    case EventType::kConversationUpdated:
      if (event.conversation) data = ToJson(*event.conversation);
      break;
    case EventType::kReceipt:
      if (event.receipt) data = ToJson(*event.receipt);
      break;
    case EventType::kTyping:
      if (event.typing) data = ToJson(*event.typing);
      break;
    case EventType::kPresence:
      if (event.presence) data = ToJson(*event.presence);
      break;
    case EventType::kNotification:
      if (event.notification) data = ToJson(*event.notification);
      break;
  }
  Json frame = Json::object();
  frame["type"] = EventTypeName(event.type);
  frame["data"] = std::move(data);
  return Dump(frame);
}

std::string DroppedPayloadJson(std::uint64_t dropped) {
  return Dump(Json{{"type", "events.dropped"}, {"data", Json{{"dropped", dropped}}}});
}

}  // namespace libchat::capi
