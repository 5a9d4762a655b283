// Webhook bodies ({"type","timestamp","data"}) for the events libchat sends out.
// The records have the same JSON shapes as in the reference server's API, so a
// receiver parses a webhook's message like a message read over HTTP.
#pragma once

#include <string>
#include <string_view>

#include "libchat/delivery.h"
#include "libchat/types.h"

namespace libchat::internal {

// {"type":"message.created|updated|deleted","timestamp",…,"data":{"message":{…},"conversation":{…}}}
std::string MessageWebhookBody(std::string_view type, Timestamp at, const Message& message,
                               const Conversation& conversation);
// message.offline: data {message, conversation, recipient:{id,type}, offline_since|null}
std::string OfflineWebhookBody(Timestamp at, const Message& message, const Conversation& conversation,
                               const std::string& recipient_id, std::optional<Timestamp> offline_since);
// conversation.created|updated: data {conversation}
std::string ConversationWebhookBody(std::string_view type, Timestamp at, const Conversation& conversation);
// notification.delivered|failed: data {notification} (without its deliveries)
std::string NotificationWebhookBody(std::string_view type, Timestamp at, const Notification& notification);

// The payload of a notification's email delivery, and back.
std::string EmailPayload(const std::string& subject, const std::string& text, const std::string& html);
struct EmailContent {
  std::string subject, text, html;
};
EmailContent ParseEmailPayload(const std::string& payload_json);

}  // namespace libchat::internal
