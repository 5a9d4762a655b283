// EventToJson (libchat/event_json.h) against the reference server's codec: the core, the C API and the
// server must put the same frame on the wire for every event, and webhooks the same records.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "delivery/webhook_payloads.h"
#include "libchat/event_json.h"
#include "server/json_codec.h"

namespace libchat {
namespace {

using Json = nlohmann::json;

Timestamp At(std::int64_t ms) { return Timestamp(std::chrono::milliseconds(ms)); }

Message RichMessage() {
  Message m;
  m.id = MessageId("msg_1");
  m.conversation_id = ConversationId("conv_1");
  m.seq = 9007199254740993;  // beyond double precision: must stay an exact integer
  m.sender = Sender{SenderType::kOperator, "op_7"};
  m.text = std::string("quote\" backslash\\ nl\n ctl\x01 caf\xc3\xa9 \xf0\x9f\x98\x80 </script>");
  m.metadata_json = R"({"nested":{"a":[1,2.5,"x\"y"],"b":null},"u":"\u00e9"})";
  m.client_msg_id = "client-1";
  m.created_at = At(1767225600123);
  m.edited_at = At(1767225700000);
  m.deleted = true;
  return m;
}

Conversation RichConversation() {
  Conversation c;
  c.id = ConversationId("conv_1");
  c.app_id = AppId("app_1");
  c.type = ConversationType::kGroup;
  c.status = ConversationStatus::kSnoozed;
  c.assignee_id = "op_7";
  c.name = "Team";
  c.metadata_json = R"({"plan":"pro"})";
  c.customer_id = CustomerId("cus_1");
  c.members = {Member{"cus_1", MemberRole::kMember, At(1000)}, Member{"op_7", MemberRole::kAdmin, At(2000)},
               Member{"acc_1", MemberRole::kOwner, At(3000)}};
  c.last_seq = 42;
  c.last_message = RichMessage();
  c.snoozed_until = At(1767300000000);
  c.created_at = At(1000);
  c.updated_at = At(4000);
  c.last_activity_at = At(5000);
  c.read_seq = 40;
  c.unread_count = 2;
  return c;
}

Notification RichNotification() {
  Notification n;
  n.id = NotificationId("ntf_1");
  n.app_id = AppId("app_1");
  n.customer_ids = {CustomerId("cus_1"), CustomerId("cus_2")};
  n.conversation_id = ConversationId("conv_1");
  n.email = "a@example.com";
  n.channels = {DeliveryChannel::kWebhook, DeliveryChannel::kEmail};
  n.subject = "Hello";
  n.body = "Body";
  n.html = "<p>Body</p>";
  n.priority = NotificationPriority::kUrgent;
  n.scheduled_at = At(6000);
  n.fallback = NotificationFallback{std::chrono::seconds(300), DeliveryChannel::kEmail, "b@example.com"};
  n.status = NotificationStatus::kDelivered;
  n.created_at = At(1000);
  n.updated_at = At(2000);
  Delivery d;
  d.id = DeliveryId("dlv_1");
  d.app_id = n.app_id;
  d.kind = "notification";
  d.status = DeliveryStatus::kPending;
  d.next_attempt_at = At(7000);
  d.attempts = {DeliveryAttempt{1, At(6500), 503, "unavailable", 12}};
  n.deliveries = {d};
  return n;
}

// One event of each type the bus publishes, with its record filled in as richly as the record allows.
std::vector<Event> OneEventOfEachType() {
  std::vector<Event> events;
  auto add = [&events](EventType type) -> Event& {
    Event& e = events.emplace_back();
    e.type = type;
    e.app_id = AppId("app_1");
    e.conversation_id = ConversationId("conv_1");
    e.audience = {"acc_1", "cus_1"};
    e.published_at = At(9000);
    return e;
  };
  for (EventType type : {EventType::kMessageCreated, EventType::kMessageUpdated, EventType::kMessageDeleted}) {
    add(type).message = RichMessage();
  }
  Message plain;  // system sender, no metadata, no client id, never edited
  plain.sender = Sender{SenderType::kSystem, ""};
  add(EventType::kMessageCreated).message = plain;
  for (EventType type : {EventType::kConversationCreated, EventType::kConversationUpdated}) {
    add(type).conversation = RichConversation();
  }
  add(EventType::kConversationUpdated).conversation = Conversation{};  // no members, no last message
  add(EventType::kReceipt).receipt = Receipt{ConversationId("conv_1"), "cus_1", 7, 5, At(8000)};
  add(EventType::kTyping).typing = TypingState{ConversationId("conv_1"), Sender{SenderType::kCustomer, "cus_1"}, true};
  add(EventType::kTyping).typing = TypingState{ConversationId("conv_1"), Sender{SenderType::kAccount, "acc_1"}, false};
  add(EventType::kPresence).presence = PresenceState{"op_7", true, At(8500)};
  add(EventType::kPresence).presence = PresenceState{"cus_1", false, At(8600)};
  add(EventType::kNotification).notification = RichNotification();
  add(EventType::kNotification).notification = Notification{};  // no fallback, no deliveries
  return events;
}

TEST_CASE("event json: EventToJson is the server's WebSocket frame for every event type", "[event_json]") {
  // Each event's record is set: data is never the {} of a missing record here.
  const std::vector<Event> events = OneEventOfEachType();
  std::vector<std::string> types_seen;
  for (const Event& event : events) {
    const std::string core = EventToJson(event);
    const std::string server_frame = server::EventFrameText(event);
    INFO(core);
    INFO(server_frame);
    const Json parsed = Json::parse(core, nullptr, false);
    REQUIRE(parsed.is_object());
    CHECK(parsed == Json::parse(server_frame, nullptr, false));
    CHECK(parsed["type"] == EventTypeName(event.type));
    // data is the record as the server's HTTP responses show it (the frames of non-message events are
    // EventToJson itself, so this is what ties them to the server's own rendering).
    const Json& data = parsed["data"];
    if (event.message) CHECK(data == server::ToJson(*event.message));
    if (event.conversation) CHECK(data == server::ToJson(*event.conversation));
    if (event.receipt) CHECK(data == server::ToJson(*event.receipt));
    if (event.notification) CHECK(data == server::ToJson(*event.notification));
    if (event.typing) {
      CHECK(data == Json{{"conversation_id", event.typing->conversation_id.str()},
                         {"sender", server::ToJson(event.typing->sender)},
                         {"state", event.typing->typing ? "start" : "stop"}});
    }
    if (event.presence) {
      CHECK(data == Json{{"principal_id", event.presence->principal_id},
                         {"status", event.presence->online ? "online" : "offline"},
                         {"at", FormatTimestamp(event.presence->at)}});
    }
    types_seen.push_back(parsed["type"].get<std::string>());
  }
  // Every EventType is covered: the list above must grow with the enum.
  for (const char* name : {"message.created", "message.updated", "message.deleted", "conversation.created",
                           "conversation.updated", "receipt", "typing", "presence", "notification"}) {
    CHECK(std::count(types_seen.begin(), types_seen.end(), name) >= 1);
  }
}

TEST_CASE("event json: a frame whose record is missing carries data {}", "[event_json]") {
  for (EventType type : {EventType::kMessageCreated, EventType::kConversationCreated, EventType::kReceipt,
                         EventType::kTyping, EventType::kPresence, EventType::kNotification}) {
    Event event;
    event.type = type;
    const Json parsed = Json::parse(EventToJson(event), nullptr, false);
    CHECK(parsed == Json{{"type", EventTypeName(type)}, {"data", Json::object()}});
    CHECK(parsed == Json::parse(server::EventFrameText(event), nullptr, false));
  }
}

TEST_CASE("event json: stored text that is not a JSON object embeds as {} and bad UTF-8 stays valid JSON",
          "[event_json]") {
  Event event;
  event.type = EventType::kMessageCreated;
  event.message = RichMessage();
  for (const char* metadata : {"{not json", "[1]", "", "\"text\""}) {
    event.message->metadata_json = metadata;
    const Json parsed = Json::parse(EventToJson(event), nullptr, false);
    CHECK(parsed["data"]["metadata"] == Json::object());
    CHECK(parsed == Json::parse(server::EventFrameText(event), nullptr, false));
  }
  event.message->text = "a\xff b";
  const Json parsed = Json::parse(EventToJson(event), nullptr, false);
  REQUIRE(parsed.is_object());
  CHECK(parsed["data"]["text"] == "a\xef\xbf\xbd b");
}

TEST_CASE("event json: webhook bodies carry the records in the server's shapes", "[event_json][delivery]") {
  const Message message = RichMessage();
  const Conversation conversation = RichConversation();
  // Webhooks carry the conversation record without the viewer's and listing fields.
  Json record = server::ToJson(conversation);
  for (const char* key : {"last_message", "unread_count", "read_seq", "members"}) record.erase(key);

  const Json created =
      Json::parse(internal::MessageWebhookBody("message.created", At(9000), message, conversation), nullptr, false);
  CHECK(created["type"] == "message.created");
  CHECK(created["timestamp"] == FormatTimestamp(At(9000)));
  CHECK(created["data"]["message"] == server::ToJson(message));
  CHECK(created["data"]["conversation"] == record);

  const Json offline = Json::parse(
      internal::OfflineWebhookBody(At(9000), message, conversation, "op_7", At(8000)), nullptr, false);
  CHECK(offline["data"]["message"] == server::ToJson(message));
  CHECK(offline["data"]["conversation"] == record);
  CHECK(offline["data"]["recipient"] == Json{{"id", "op_7"}, {"type", "operator"}});
  CHECK(offline["data"]["offline_since"] == FormatTimestamp(At(8000)));

  const Json updated =
      Json::parse(internal::ConversationWebhookBody("conversation.updated", At(9000), conversation), nullptr, false);
  CHECK(updated["data"] == Json{{"conversation", record}});

  const Notification notification = RichNotification();
  const Json full = server::ToJson(notification);
  Json summary = Json::object();
  for (const char* key : {"id", "app_id", "subject", "body", "priority", "status", "created_at", "updated_at"}) {
    summary[key] = full[key];
  }
  const Json delivered = Json::parse(
      internal::NotificationWebhookBody("notification.delivered", At(9000), notification), nullptr, false);
  CHECK(delivered["data"] == Json{{"notification", summary}});
}

}  // namespace
}  // namespace libchat
