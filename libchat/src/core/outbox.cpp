// What an event puts in the outbox. Every external delivery is written in the
// same transaction as the change that caused it: message deliveries through the
// append's outbox builder, conversation webhooks with the conversation write.
//
// A message causes, per the app's configuration:
//  - one message.created webhook per subscribed endpoint;
//  - with "webhook" in the delivery policy and an endpoint subscribed to
//    message.offline: one gated message.offline per recipient that this process
//    does not see online, due when the recipient has been offline offline_after;
//  - with "email" in the policy and an email provider: one gated email.fallback
//    per recipient, due email_fallback_after later (at most one queued per
//    recipient and conversation at a time; the email lists what is unread then).
//  - with the bot enabled: one bot.reply (channel bot) for a customer's message
//    in a support conversation that is pending (the bot handles it; bot.cpp).
// Recipients: for a support conversation, the customer when the team writes,
// and the assignee (or else the app's owner) when the customer writes; for dms
// and groups, the other members (channels are broadcasts: no per-member fallback).
#include "core/chat_impl.h"
#include "delivery/webhook_payloads.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

// Groups larger than this get no per-recipient fallbacks (each would be a row per message).
constexpr std::size_t kMaxFallbackRecipients = 50;

std::vector<std::string> Recipients(const Conversation& conversation, const Sender& sender,
                                    const std::vector<std::string>& audience) {
  std::vector<std::string> recipients;
  if (conversation.type == ConversationType::kChannel) return recipients;
  if (conversation.type == ConversationType::kSupport) {
    if (sender.type == SenderType::kCustomer) {
      // The audience starts with the app's owner.
      if (!conversation.assignee_id.empty()) {
        recipients.push_back(conversation.assignee_id);
      } else if (!audience.empty()) {
        recipients.push_back(audience.front());
      }
    } else if (!conversation.customer_id.empty()) {
      recipients.push_back(conversation.customer_id.str());
    }
    return recipients;
  }
  // Operators are in the audience of every conversation of their apps so that their dashboards follow them;
  // the fallbacks are for the people in the conversation, so the app's operators are left out here (an
  // operator added to a group as a member is left out too: it follows the group from the dashboard).
  for (const std::string& id : audience) {
    if (id != sender.id && !OperatorId::IsWellFormed(id)) recipients.push_back(id);
  }
  if (recipients.size() > kMaxFallbackRecipients) recipients.clear();
  return recipients;
}

Delivery GatedDelivery(const Message& message, DeliveryChannel channel, std::string kind, std::string recipient,
                       Timestamp now, Timestamp due) {
  Delivery delivery;
  delivery.id = DeliveryId(internal::NewId(DeliveryId::prefix()));
  delivery.app_id = message.app_id;
  delivery.channel = channel;
  delivery.kind = std::move(kind);
  delivery.recipient_id = std::move(recipient);
  delivery.conversation_id = message.conversation_id;
  delivery.message_id = message.id;
  delivery.message_seq = message.seq;
  delivery.gated = true;
  delivery.created_at = delivery.updated_at = now;
  delivery.next_attempt_at = due;
  return delivery;
}

}  // namespace

bool Chat::Impl::ReserveFallback(const std::string& key, Timestamp now, Timestamp due) {
  std::lock_guard lock(fallback_mutex_);
  if (queued_fallbacks_.size() >= 100000) {
    for (auto it = queued_fallbacks_.begin(); it != queued_fallbacks_.end();) {
      it = it->second <= now ? queued_fallbacks_.erase(it) : std::next(it);
    }
  }
  auto [it, inserted] = queued_fallbacks_.emplace(key, due);
  if (!inserted) {
    if (it->second > now) return false;  // one is queued and not yet due: it will cover this message
    it->second = due;
  }
  return true;
}

std::function<std::vector<Delivery>(const AppendResult&)> Chat::Impl::MessageOutbox(
    std::shared_ptr<const AppDeliveryConfig> config, const Principal& sender, const Conversation& conversation,
    const std::vector<std::string>& audience, bool may_reopen) {
  const bool created_hook = config->Wants("message.created");
  const bool updated_hook = may_reopen && config->Wants("conversation.updated");
  const bool offline_hook = config->PolicyUses(DeliveryChannel::kWebhook) && config->Wants("message.offline");
  const bool email_fallback = config->PolicyUses(DeliveryChannel::kEmail) && config->has_email_provider;
  // A customer's message while the bot handles the conversation. Bot messages have a bot sender, so
  // they never reach here as a customer's: the bot cannot trigger itself.
  const bool bot_reply = config->bot.enabled && sender.type == PrincipalType::kCustomer &&
                         conversation.type == ConversationType::kSupport &&
                         conversation.status == ConversationStatus::kPending;
  if (!created_hook && !updated_hook && !offline_hook && !email_fallback && !bot_reply) return {};

  // Everything that needs a lookup is decided here, before the transaction; the
  // builder itself only renders JSON (it runs on the store's writer).
  std::vector<std::string> recipients;
  if (offline_hook || email_fallback) recipients = Recipients(conversation, SenderOf(sender), audience);
  return [this, config = std::move(config), created_hook, updated_hook, offline_hook, email_fallback, bot_reply,
          recipients = std::move(recipients)](const AppendResult& appended) {
    const Timestamp now = appended.message.created_at;
    std::vector<Delivery> out;
    if (created_hook) {
      out = WebhookDeliveries(*config, appended.message.app_id, "message.created",
                              internal::MessageWebhookBody("message.created", now, appended.message,
                                                           appended.conversation),
                              now);
      for (Delivery& hook : out) {  // so the outbox can be read by message
        hook.conversation_id = appended.message.conversation_id;
        hook.message_id = appended.message.id;
        hook.message_seq = appended.message.seq;
      }
    }
    if (updated_hook && appended.conversation.status == ConversationStatus::kOpen) {
      auto updated = WebhookDeliveries(
          *config, appended.message.app_id, "conversation.updated",
          internal::ConversationWebhookBody("conversation.updated", now, appended.conversation), now);
      std::move(updated.begin(), updated.end(), std::back_inserter(out));
    }
    for (const std::string& recipient : recipients) {
      if (offline_hook) {
        const internal::PresenceBook::State state = presence.Get(recipient);
        if (!state.online) {
          Timestamp due = now;
          if (state.offline_since) due = std::max(now, *state.offline_since + config->policy.offline_after);
          const std::string body = internal::OfflineWebhookBody(now, appended.message, appended.conversation,
                                                                recipient, state.offline_since);
          for (Delivery& hook : WebhookDeliveries(*config, appended.message.app_id, "message.offline", body, now)) {
            hook.recipient_id = recipient;
            hook.conversation_id = appended.message.conversation_id;
            hook.message_id = appended.message.id;
            hook.message_seq = appended.message.seq;
            hook.gated = true;
            hook.next_attempt_at = due;
            out.push_back(std::move(hook));
          }
        }
      }
      if (email_fallback) {
        const Timestamp due = now + config->policy.email_fallback_after;
        if (ReserveFallback(appended.message.conversation_id.str() + "/" + recipient, now, due)) {
          out.push_back(GatedDelivery(appended.message, DeliveryChannel::kEmail, "email.fallback", recipient, now,
                                      due));
        }
      }
    }
    if (bot_reply && appended.conversation.status == ConversationStatus::kPending) {
      // Due at once and ahead of bulk deliveries: the customer is waiting for the answer.
      Delivery bot;
      bot.id = DeliveryId(internal::NewId(DeliveryId::prefix()));
      bot.app_id = appended.message.app_id;
      bot.channel = DeliveryChannel::kBot;
      bot.kind = "bot.reply";
      bot.recipient_id = appended.message.sender.id;
      bot.conversation_id = appended.message.conversation_id;
      bot.message_id = appended.message.id;
      bot.message_seq = appended.message.seq;
      bot.priority = NotificationPriority::kHigh;
      bot.created_at = bot.updated_at = bot.next_attempt_at = now;
      out.push_back(std::move(bot));
    }
    return out;
  };
}

Result<std::vector<Delivery>> Chat::Impl::ConversationOutbox(const Conversation& conversation,
                                                             const std::string& event_type) {
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const AppDeliveryConfig> config, DeliveryConfigOf(conversation.app_id));
  if (!config->Wants(event_type)) return std::vector<Delivery>{};
  Conversation shown = conversation;
  shown.read_seq = shown.unread_count = 0;
  const Timestamp now = Now();
  return WebhookDeliveries(*config, conversation.app_id, event_type,
                           internal::ConversationWebhookBody(event_type, now, shown), now);
}

Status Chat::Impl::CreateConversationWithWebhooks(const Conversation& conversation) {
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<Delivery> outbox, ConversationOutbox(conversation, "conversation.created"));
  if (outbox.empty()) return store->CreateConversation(conversation);
  return store->CreateConversationAndEnqueue(conversation, outbox);
}

Status Chat::Impl::UpdateConversationWithWebhooks(const Conversation& conversation) {
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<Delivery> outbox, ConversationOutbox(conversation, "conversation.updated"));
  if (outbox.empty()) return store->UpdateConversation(conversation);
  return store->UpdateConversationAndEnqueue(conversation, outbox);
}

}  // namespace libchat
