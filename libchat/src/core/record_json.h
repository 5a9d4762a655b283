// JSON renderer of libchat's records in the API.md shapes, for everything the core itself writes out:
// webhook bodies and the event frame text of EventToJson (libchat/event_json.h). The reference server
// renders the same shapes for its HTTP responses (server/json_codec.h); tests/unit/event_json_test.cpp
// pins that both agree on every event.
//
// Conventions: timestamps are RFC 3339 UTC with milliseconds; empty optional ids and absent times are
// null; JSON-valued fields (metadata) are embedded as JSON objects. Nothing here throws but std::bad_alloc.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "libchat/delivery.h"
#include "libchat/providers/bus.h"
#include "libchat/types.h"

namespace libchat::internal {

// {type, id}; id is null for the system sender.
nlohmann::json ToJson(const Sender& sender);
// {id, conversation_id, seq, sender{type,id}, text, metadata, client_msg_id, created_at, edited_at, deleted}
nlohmann::json ToJson(const Message& message);
// "customer", "operator" or "account": the kind of principal a principal id ("cus_…", "op_…", "acc_…") names.
const char* PrincipalKindOfId(std::string_view principal_id);
// {id, type:"customer"|"account"|"operator", role, joined_at}
nlohmann::json ToJson(const Member& member);

enum class ConversationFields {
  // The API shape: the record plus last_message, unread_count and read_seq (the viewer's), and members
  // when the record has them.
  kAll,
  // The record alone, without what depends on a viewer or a listing: the shape webhooks carry.
  kRecordOnly,
};
// {id, app_id, type, status, assignee_id, name, metadata, customer_id, last_seq, [last_message, unread_count,
//  read_seq,] snoozed_until, created_at, updated_at, last_activity_at[, members]}
nlohmann::json ToJson(const Conversation& conversation, ConversationFields fields = ConversationFields::kAll);
// {conversation_id, member_id, delivered_seq, read_seq, updated_at}
nlohmann::json ToJson(const Receipt& receipt);
// {conversation_id, sender{type,id}, state:"start"|"stop"}
nlohmann::json ToJson(const TypingState& typing);
// {principal_id, status:"online"|"offline", at}
nlohmann::json ToJson(const PresenceState& presence);
// {number, at, status_code (null when none), error (null when none), latency_ms}
nlohmann::json ToJson(const DeliveryAttempt& attempt);
// {id, app_id, channel, kind, status, webhook_id, recipient_id, to_email, conversation_id, message_id,
//  notification_id, priority, attempt_count, next_attempt_at (null unless pending), last_error, created_at,
//  updated_at, attempts[]}
nlohmann::json ToJson(const Delivery& delivery);
// {id, app_id, to{customer_ids?, conversation_id?, email?}, channels, subject, body, html, priority, scheduled_at,
//  fallback {after_s, channel, to_email}|null, status, created_at, updated_at, deliveries[]}
nlohmann::json ToJson(const Notification& notification);

// The data of an event's frame: the object its type calls for, {} when the event lacks it.
nlohmann::json EventDataJson(const Event& event);

// Stored JSON text as an object to embed; {} when it is empty or not a valid JSON object (records hold
// validated text, but a Store is outside the core's control).
nlohmann::json EmbeddedObject(std::string_view text);

// value.dump() that cannot throw: invalid UTF-8 (never expected: text is validated on the way in) becomes U+FFFD.
std::string JsonText(const nlohmann::json& value);

}  // namespace libchat::internal
