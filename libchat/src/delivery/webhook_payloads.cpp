// Webhook bodies for libchat's events (webhook_payloads.h).
#include "delivery/webhook_payloads.h"

#include <nlohmann/json.hpp>

#include "core/record_json.h"

namespace libchat::internal {

namespace {

using Json = nlohmann::json;

// Webhooks carry the conversation record without the viewer-dependent fields (unread_count, read_seq) and
// without last_message and members: the receiver has the message in the same body.
Json ConversationJson(const Conversation& conversation) {
  return ToJson(conversation, ConversationFields::kRecordOnly);
}

std::string Body(std::string_view type, Timestamp at, Json data) {
  Json body = Json::object();
  body["type"] = type;
  body["timestamp"] = FormatTimestamp(at);
  body["data"] = std::move(data);
  return JsonText(body);
}

}  // namespace

std::string MessageWebhookBody(std::string_view type, Timestamp at, const Message& message,
                               const Conversation& conversation) {
  return Body(type, at, Json{{"message", ToJson(message)}, {"conversation", ConversationJson(conversation)}});
}

std::string OfflineWebhookBody(Timestamp at, const Message& message, const Conversation& conversation,
                               const std::string& recipient_id, std::optional<Timestamp> offline_since) {
  Json data = Json::object();
  data["message"] = ToJson(message);
  data["conversation"] = ConversationJson(conversation);
  data["recipient"] = Json{{"id", recipient_id}, {"type", PrincipalKindOfId(recipient_id)}};
  data["offline_since"] = offline_since ? Json(FormatTimestamp(*offline_since)) : Json(nullptr);
  return Body("message.offline", at, std::move(data));
}

std::string ConversationWebhookBody(std::string_view type, Timestamp at, const Conversation& conversation) {
  return Body(type, at, Json{{"conversation", ConversationJson(conversation)}});
}

std::string NotificationWebhookBody(std::string_view type, Timestamp at, const Notification& notification) {
  // The summary of the notification, without its recipients, channels or deliveries.
  const Json full = ToJson(notification);
  Json n = Json::object();
  for (const char* key : {"id", "app_id", "subject", "body", "priority", "status", "created_at", "updated_at"}) {
    n[key] = full[key];
  }
  return Body(type, at, Json{{"notification", std::move(n)}});
}

std::string EmailPayload(const std::string& subject, const std::string& text, const std::string& html) {
  return JsonText(Json{{"subject", subject}, {"text", text}, {"html", html}});
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
