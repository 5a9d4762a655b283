// JSON shapes of the reference server: how libchat records look on the wire (API.md "Shapes"), shared by the
// HTTP handlers and the WebSocket frames so both speak exactly the same objects.
//
// Conventions: timestamps are RFC 3339 UTC with milliseconds; empty optional ids and absent times are null;
// JSON-valued record fields (metadata, theme, prechat) are embedded as JSON, not as strings. Nothing here
// throws: records hold validated JSON text, and text that somehow does not parse is replaced by {} or [].
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "libchat/chat.h"
#include "libchat/delivery.h"
#include "libchat/knowledge.h"
#include "libchat/providers/bus.h"
#include "libchat/types.h"

namespace libchat::server {

// {id, email, name, created_at, updated_at}
nlohmann::json ToJson(const Account& account);
// {id, account_id, name, publishable_key, theme, prechat, identity_verification, created_at, updated_at}.
// Never a secret: App holds none.
nlohmann::json ToJson(const App& app);
// {id, app_id, external_id (null when anonymous), name, email, metadata, created_at, updated_at}
nlohmann::json ToJson(const Customer& customer);
// {id, app_id, type, status, assignee_id, name, metadata, customer_id, last_seq, last_message, unread_count,
//  read_seq, snoozed_until, created_at, updated_at, last_activity_at}, and members when the record has them
nlohmann::json ToJson(const Conversation& conversation);
// {id, type:"customer"|"account"|"operator", role, joined_at}
nlohmann::json ToJson(const Member& member);
// {id, conversation_id, seq, sender{type,id}, text, metadata, client_msg_id, created_at, edited_at, deleted}
nlohmann::json ToJson(const Message& message);
// {conversation_id, member_id, delivered_seq, read_seq, updated_at}
nlohmann::json ToJson(const Receipt& receipt);
// {type, id, app_id?, account_id?, expires_at?}: who the caller is (WebSocket hello, /tokens/validate).
nlohmann::json ToJson(const Principal& principal);
// {type, id}; id is null for the system sender.
nlohmann::json ToJson(const Sender& sender);
// {id, app_id, url, events, enabled, disabled_reason, previous_secret_expires_at, created_at, updated_at}.
// Never a secret.
nlohmann::json ToJson(const WebhookEndpoint& webhook);
// {number, at, status_code (null when none), error (null when none), latency_ms}
nlohmann::json ToJson(const DeliveryAttempt& attempt);
// {id, app_id, channel, kind, status, webhook_id, recipient_id, to_email, conversation_id, message_id,
//  notification_id, priority, attempt_count, next_attempt_at (null unless pending), last_error, created_at,
//  updated_at, attempts[]}
nlohmann::json ToJson(const Delivery& delivery);
// {id, app_id, to{customer_ids?, conversation_id?, email?}, channels, subject, body, html, priority, scheduled_at,
//  fallback {after_s, channel, to_email}|null, status, created_at, updated_at, deliveries[] (when read alone)}
nlohmann::json ToJson(const Notification& notification);
// {channels, offline_after_s, email_fallback_after_s}
nlohmann::json ToJson(const DeliveryPolicy& policy);
// {id, account_id, name, email, status:"active"|"inactive"|"deleted", app_ids, created_at, updated_at}
nlohmann::json ToJson(const Operator& op);
// {mode:"manual"|"round_robin"}
nlohmann::json ToJson(const AssignmentSettings& assignment);
// {id, app_id, type:"text"|"qa", question, answer, content, created_at, updated_at}; absent texts are "".
nlohmann::json ToJson(const KnowledgeEntry& entry);
// {entry, rank, score, snippet}; the snippet is already HTML-escaped with <mark>…</mark> around the matches.
nlohmann::json ToJson(const KnowledgeHit& hit);
// {enabled, min_score, name}
nlohmann::json ToJson(const BotSettings& bot);
// {color, position, title, welcome_text, logo_url, prechat:[{id, label, type, required}]}
nlohmann::json ToJson(const WidgetSettings& widget);

// The WebSocket frame text of an event: libchat::EventToJson(event) (libchat/event_json.h), with message
// events written directly (AppendMessageJson) because they are the hot path; the same JSON either way.
std::string EventFrameText(const Event& event);

// The JSON text of ToJson(message), written straight into `out` without building a DOM (the same object,
// member for member). For the hot paths: message POST responses and message event frames.
void AppendMessageJson(std::string& out, const Message& message);
// `text` as a JSON string literal (quotes included). Invalid UTF-8 becomes U+FFFD, like DumpJson.
void AppendJsonString(std::string& out, std::string_view text);

// Parses stored JSON text for embedding; {} (or [] with want_array) when it is empty or not valid JSON.
nlohmann::json EmbeddedJson(std::string_view text, bool want_array = false);

// json.dump() that cannot throw: invalid UTF-8 (never expected: inputs are validated) is replaced by U+FFFD.
std::string DumpJson(const nlohmann::json& value);

}  // namespace libchat::server
