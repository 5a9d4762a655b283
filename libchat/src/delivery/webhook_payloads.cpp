// Webhook bodies for libchat's events (webhook_payloads.h).
#include "delivery/webhook_payloads.h"

#include <nlohmann/json.hpp>

namespace libchat::internal {

namespace {

using Json = nlohmann::json;

Json StringOrNull(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }
Json TimeOrNull(const std::optional<Timestamp>& t) { return t ? Json(FormatTimestamp(*t)) : Json(nullptr); }

Json Embedded(const std::string& text) {
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? Json::object() : parsed;
}

// Never throws: text is validated UTF-8 on the way in; anything else is replaced.
std::string Dump(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json MessageJson(const Message& message) {
  Json j = Json::object();
  j["id"] = message.id.str();
  j["conversation_id"] = message.conversation_id.str();
  j["seq"] = message.seq;
  j["sender"] = Json{{"type", SenderTypeName(message.sender.type)}, {"id", StringOrNull(message.sender.id)}};
  j["text"] = message.text;
  j["metadata"] = Embedded(message.metadata_json);
  j["client_msg_id"] = StringOrNull(message.client_msg_id);
  j["created_at"] = FormatTimestamp(message.created_at);
  j["edited_at"] = TimeOrNull(message.edited_at);
  j["deleted"] = message.deleted;
  return j;
}

Json ConversationJson(const Conversation& conversation) {
  Json j = Json::object();
  j["id"] = conversation.id.str();
  j["app_id"] = conversation.app_id.str();
  j["type"] = ConversationTypeName(conversation.type);
  j["status"] = ConversationStatusName(conversation.status);
  j["assignee_id"] = StringOrNull(conversation.assignee_id);
  j["name"] = conversation.name;
  j["metadata"] = Embedded(conversation.metadata_json);
  j["customer_id"] = StringOrNull(conversation.customer_id.str());
  j["last_seq"] = conversation.last_seq;
  j["snoozed_until"] = TimeOrNull(conversation.snoozed_until);
  j["created_at"] = FormatTimestamp(conversation.created_at);
  j["updated_at"] = FormatTimestamp(conversation.updated_at);
  j["last_activity_at"] = FormatTimestamp(conversation.last_activity_at);
  return j;
}

std::string Body(std::string_view type, Timestamp at, Json data) {
  Json body = Json::object();
  body["type"] = type;
  body["timestamp"] = FormatTimestamp(at);
  body["data"] = std::move(data);
  return Dump(body);
}

}  // namespace

std::string MessageWebhookBody(std::string_view type, Timestamp at, const Message& message,
                               const Conversation& conversation) {
  return Body(type, at, Json{{"message", MessageJson(message)}, {"conversation", ConversationJson(conversation)}});
}

std::string OfflineWebhookBody(Timestamp at, const Message& message, const Conversation& conversation,
                               const std::string& recipient_id, std::optional<Timestamp> offline_since) {
  const std::string_view id = recipient_id;
  const char* type = id.rfind("cus_", 0) == 0 ? "customer" : id.rfind("op_", 0) == 0 ? "operator" : "account";
  Json data = Json::object();
  data["message"] = MessageJson(message);
  data["conversation"] = ConversationJson(conversation);
  data["recipient"] = Json{{"id", recipient_id}, {"type", type}};
  data["offline_since"] = TimeOrNull(offline_since);
  return Body("message.offline", at, std::move(data));
}

std::string ConversationWebhookBody(std::string_view type, Timestamp at, const Conversation& conversation) {
  return Body(type, at, Json{{"conversation", ConversationJson(conversation)}});
}

std::string NotificationWebhookBody(std::string_view type, Timestamp at, const Notification& notification) {
  Json n = Json::object();
  n["id"] = notification.id.str();
  n["app_id"] = notification.app_id.str();
  n["subject"] = notification.subject;
  n["body"] = notification.body;
  n["priority"] = NotificationPriorityName(notification.priority);
  n["status"] = NotificationStatusName(notification.status);
  n["created_at"] = FormatTimestamp(notification.created_at);
  n["updated_at"] = FormatTimestamp(notification.updated_at);
  return Body(type, at, Json{{"notification", std::move(n)}});
}

std::string EmailPayload(const std::string& subject, const std::string& text, const std::string& html) {
  return Dump(Json{{"subject", subject}, {"text", text}, {"html", html}});
}

EmailContent ParseEmailPayload(const std::string& payload_json) {
  EmailContent content;
  Json parsed = Json::parse(payload_json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return content;
  auto get = [&parsed](const char* key) {
    auto it = parsed.find(key);
    return it != parsed.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  content.subject = get("subject");
  content.text = get("text");
  content.html = get("html");
  return content;
}

}  // namespace libchat::internal
