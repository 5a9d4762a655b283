#include "server/json_codec.h"

#include <utility>

#include "libchat/event_json.h"

namespace libchat::server {
namespace {

using Json = nlohmann::json;

Json TimeOrNull(const std::optional<Timestamp>& t) { return t ? Json(FormatTimestamp(*t)) : Json(nullptr); }
Json StringOrNull(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

// Length of the valid UTF-8 sequence starting at text[i] (RFC 3629: no overlongs, no surrogates, nothing
// above U+10FFFF), or 0 when it is not one.
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  const std::size_t left = text.size() - i;
  const auto cont = [&](std::size_t k) { return (byte(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && byte(i + 1) < 0xA0) return 0;  // overlong
    if (c == 0xED && byte(i + 1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && byte(i + 1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && byte(i + 1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// Stored metadata as JSON text to embed verbatim: it is normally the facade's compact serialization, but
// a Store is outside our control, so anything that is not a valid object becomes {}.
void AppendEmbeddedObject(std::string& out, std::string_view text) {
  if (text.empty() || text == "{}") {
    out += "{}";
    return;
  }
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{' || !Json::accept(text.begin(), text.end())) {
    out += "{}";
    return;
  }
  out += text;
}

void AppendTimestamp(std::string& out, Timestamp t) {
  out += '"';
  out += FormatTimestamp(t);
  out += '"';
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t n = Utf8SequenceLength(text, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(text.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

void AppendMessageJson(std::string& out, const Message& message) {
  out += "{\"id\":";
  AppendJsonString(out, message.id.str());
  out += ",\"conversation_id\":";
  AppendJsonString(out, message.conversation_id.str());
  out += ",\"seq\":";
  out += std::to_string(message.seq);
  out += ",\"sender\":{\"type\":\"";
  out += SenderTypeName(message.sender.type);
  out += "\",\"id\":";
  if (message.sender.id.empty()) {
    out += "null";
  } else {
    AppendJsonString(out, message.sender.id);
  }
  out += "},\"text\":";
  AppendJsonString(out, message.text);
  out += ",\"metadata\":";
  AppendEmbeddedObject(out, message.metadata_json);
  out += ",\"client_msg_id\":";
  if (message.client_msg_id.empty()) {
    out += "null";
  } else {
    AppendJsonString(out, message.client_msg_id);
  }
  out += ",\"created_at\":";
  AppendTimestamp(out, message.created_at);
  out += ",\"edited_at\":";
  if (message.edited_at) {
    AppendTimestamp(out, *message.edited_at);
  } else {
    out += "null";
  }
  out += ",\"deleted\":";
  out += message.deleted ? "true" : "false";
  out += '}';
}

Json EmbeddedJson(std::string_view text, bool want_array) {
  // Fast path for the overwhelmingly common defaults: no parse.
  if (text.empty() || text == "{}" || text == "[]") return want_array ? Json::array() : Json::object();
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (want_array) return parsed.is_array() ? std::move(parsed) : Json::array();
  return parsed.is_object() ? std::move(parsed) : Json::object();
}

std::string DumpJson(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json ToJson(const Account& account) {
  Json j = Json::object();
  j["id"] = account.id.str();
  j["email"] = account.email;
  j["name"] = account.name;
  j["created_at"] = FormatTimestamp(account.created_at);
  j["updated_at"] = FormatTimestamp(account.updated_at);
  return j;
}

Json ToJson(const App& app) {
  Json j = Json::object();
  j["id"] = app.id.str();
  j["account_id"] = app.account_id.str();
  j["name"] = app.name;
  j["publishable_key"] = app.publishable_key;
  j["theme"] = EmbeddedJson(app.theme_json);
  j["prechat"] = EmbeddedJson(app.prechat_json, /*want_array=*/true);
  j["identity_verification"] = app.identity_verification;
  // 0 = the server's default (CHAT_RATE_LIMIT, CHAT_RATE_BURST, CHAT_CUSTOMER_SEND_LIMIT).
  j["limits"] = Json{{"requests_per_s", app.limits.requests_per_s},
                     {"burst", app.limits.burst},
                     {"customer_sends_per_min", app.limits.customer_sends_per_min}};
  j["created_at"] = FormatTimestamp(app.created_at);
  j["updated_at"] = FormatTimestamp(app.updated_at);
  return j;
}

Json ToJson(const Customer& customer) {
  Json j = Json::object();
  j["id"] = customer.id.str();
  j["app_id"] = customer.app_id.str();
  j["external_id"] = StringOrNull(customer.external_id);
  j["name"] = customer.name;
  j["email"] = customer.email;
  j["metadata"] = EmbeddedJson(customer.metadata_json);
  j["created_at"] = FormatTimestamp(customer.created_at);
  j["updated_at"] = FormatTimestamp(customer.updated_at);
  return j;
}

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
  j["metadata"] = EmbeddedJson(message.metadata_json);
  j["client_msg_id"] = StringOrNull(message.client_msg_id);
  j["created_at"] = FormatTimestamp(message.created_at);
  j["edited_at"] = TimeOrNull(message.edited_at);
  j["deleted"] = message.deleted;
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
  j["metadata"] = EmbeddedJson(conversation.metadata_json);
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

Json ToJson(const Member& member) {
  Json j = Json::object();
  j["id"] = member.id;
  const std::string_view id = member.id;
  j["type"] = id.rfind("cus_", 0) == 0 ? "customer" : id.rfind("op_", 0) == 0 ? "operator" : "account";
  j["role"] = MemberRoleName(member.role);
  j["joined_at"] = FormatTimestamp(member.joined_at);
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

Json ToJson(const WebhookEndpoint& webhook) {
  Json j = Json::object();
  j["id"] = webhook.id.str();
  j["app_id"] = webhook.app_id.str();
  j["url"] = webhook.url;
  j["events"] = webhook.events;
  j["enabled"] = webhook.enabled;
  j["disabled_reason"] = StringOrNull(webhook.disabled_reason);
  j["previous_secret_expires_at"] = TimeOrNull(webhook.previous_secret_expires_at);
  j["created_at"] = FormatTimestamp(webhook.created_at);
  j["updated_at"] = FormatTimestamp(webhook.updated_at);
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

Json ToJson(const DeliveryPolicy& policy) {
  Json j = Json::object();
  Json channels = Json::array();
  for (DeliveryChannel channel : policy.channels) channels.push_back(DeliveryChannelName(channel));
  j["channels"] = std::move(channels);
  j["offline_after_s"] = policy.offline_after.count();
  j["email_fallback_after_s"] = policy.email_fallback_after.count();
  return j;
}

Json ToJson(const Operator& op) {
  Json j = Json::object();
  j["id"] = op.id.str();
  j["account_id"] = op.account_id.str();
  j["name"] = op.name;
  j["email"] = op.email;
  j["status"] = OperatorStatusName(op.status);
  Json apps = Json::array();
  for (const AppId& app : op.app_ids) apps.push_back(app.str());
  j["app_ids"] = std::move(apps);
  j["created_at"] = FormatTimestamp(op.created_at);
  j["updated_at"] = FormatTimestamp(op.updated_at);
  return j;
}

Json ToJson(const AssignmentSettings& assignment) {
  Json j = Json::object();
  j["mode"] = AssignmentModeName(assignment.mode);
  return j;
}

Json ToJson(const KnowledgeEntry& entry) {
  Json j = Json::object();
  j["id"] = entry.id.str();
  j["app_id"] = entry.app_id.str();
  j["type"] = KnowledgeTypeName(entry.type);
  j["question"] = entry.question;
  j["answer"] = entry.answer;
  j["content"] = entry.content;
  j["created_at"] = FormatTimestamp(entry.created_at);
  j["updated_at"] = FormatTimestamp(entry.updated_at);
  return j;
}

Json ToJson(const KnowledgeHit& hit) {
  Json j = Json::object();
  j["entry"] = ToJson(hit.entry);
  j["rank"] = hit.rank;
  j["score"] = hit.score;
  j["snippet"] = hit.snippet;
  return j;
}

Json ToJson(const BotSettings& bot) {
  Json j = Json::object();
  j["enabled"] = bot.enabled;
  j["min_score"] = bot.min_score;
  j["name"] = bot.name;
  return j;
}

Json ToJson(const WidgetSettings& widget) {
  Json prechat = Json::array();
  for (const PrechatQuestion& question : widget.prechat) {
    Json q = Json::object();
    q["id"] = question.id;
    q["label"] = question.label;
    q["type"] = question.type;
    q["required"] = question.required;
    prechat.push_back(std::move(q));
  }
  Json j = Json::object();
  j["color"] = widget.color;
  j["position"] = widget.position;
  j["title"] = widget.title;
  j["welcome_text"] = widget.welcome_text;
  j["logo_url"] = widget.logo_url;
  j["prechat"] = std::move(prechat);
  return j;
}

Json ToJson(const Principal& principal) {
  Json j = Json::object();
  j["type"] = PrincipalTypeName(principal.type);
  j["id"] = principal.id;
  if (!principal.app_id.empty()) j["app_id"] = principal.app_id.str();
  if (!principal.account_id.empty()) j["account_id"] = principal.account_id.str();
  if (principal.token_expires_at) j["expires_at"] = FormatTimestamp(*principal.token_expires_at);
  return j;
}

std::string EventFrameText(const Event& event) {
  if (event.message && (event.type == EventType::kMessageCreated || event.type == EventType::kMessageUpdated ||
                        event.type == EventType::kMessageDeleted)) {
    // The hot event: written directly, like the message POST responses (the same JSON as EventToJson).
    std::string out;
    out.reserve(256 + event.message->text.size() + event.message->metadata_json.size());
    out += "{\"type\":\"";
    out += EventTypeName(event.type);
    out += "\",\"data\":";
    AppendMessageJson(out, *event.message);
    out += '}';
    return out;
  }
  return EventToJson(event);
}

}  // namespace libchat::server
