// The bot: runs one bot.reply delivery (queued with a customer's message while
// the conversation is pending, see outbox.cpp). The responder gets the question,
// the conversation's recent messages and the best knowledge-base passages; an
// answer is posted as a bot message, anything else hands the conversation to
// the team (pending -> open, assigned by the app's assignment mode).
//
// Retries are safe: the bot message's client_msg_id is derived from the
// delivery id, so a delivery run twice (a worker died after posting, a replay)
// posts once. A store failure leaves the claim to expire and the delivery is
// run again, like any other delivery.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/chat_impl.h"
#include "core/validation.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

constexpr int kRecentMessages = 10;
constexpr int kPassages = 5;
constexpr char kBotSenderId[] = "bot";

std::string BotMetadata(const std::vector<KnowledgeId>& sources) {
  nlohmann::json ids = nlohmann::json::array();
  for (const KnowledgeId& id : sources) ids.push_back(id.str());
  nlohmann::json metadata = nlohmann::json::object();
  metadata["bot"] = {{"sources", std::move(ids)}};
  return metadata.dump();
}

}  // namespace

Status Chat::Impl::RunBotReply(const Delivery& delivery) {
  const Timestamp started_at = Now();
  const auto started = std::chrono::steady_clock::now();
  // Delivered (answered or handed over) with one successful attempt, or skipped with the reason.
  auto finish = [&](DeliveryStatus status, std::string reason) -> Status {
    DeliveryUpdate update;
    update.id = delivery.id;
    update.expected_status = DeliveryStatus::kPending;
    update.status = status;
    update.updated_at = Now();
    if (status == DeliveryStatus::kDelivered) {
      DeliveryAttempt attempt;
      attempt.number = delivery.attempt_count + 1;
      attempt.at = started_at;
      attempt.latency_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
      update.attempt = attempt;
    } else {
      update.last_error = std::move(reason);
    }
    Status updated = store->UpdateDelivery(update);
    // Cancelled (or replayed) while it was out: the newer state stands.
    if (updated.code() == StatusCode::kFailedPrecondition || updated.code() == StatusCode::kNotFound) {
      return Status::Ok();
    }
    return updated;
  };

  auto stored = store->GetConversation(delivery.conversation_id, "");
  if (!stored.ok()) {
    if (stored.status().code() == StatusCode::kNotFound) {
      return finish(DeliveryStatus::kSkipped, "the conversation no longer exists");
    }
    return stored.status();
  }
  Conversation conversation = std::move(stored).value();
  if (conversation.status != ConversationStatus::kPending) {
    return finish(DeliveryStatus::kSkipped, "the conversation is no longer pending");
  }
  auto question = store->GetMessage(delivery.conversation_id, delivery.message_id);
  if (!question.ok() && question.status().code() != StatusCode::kNotFound) return question.status();
  if (!question.ok() || question->deleted) {
    return finish(DeliveryStatus::kSkipped, "the customer's message was deleted");
  }
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const AppDeliveryConfig> config, DeliveryConfigOf(conversation.app_id));

  // Ask the responder, unless the bot was switched off since the message came in.
  ResponderAnswer answer;
  if (!config->bot.enabled) {
    answer.reason = "the bot was disabled";
  } else {
    ResponderInput input;
    input.app_id = conversation.app_id;
    input.conversation_id = conversation.id;
    input.question = question->text;
    input.min_score = config->bot.min_score;
    MessageQuery recent;
    recent.conversation_id = conversation.id;
    recent.before_seq = question->seq + 1;
    recent.limit = kRecentMessages;
    LIBCHAT_ASSIGN_OR_RETURN(input.recent_messages, store->ListMessages(recent));
    input.recent_messages.erase(std::remove_if(input.recent_messages.begin(), input.recent_messages.end(),
                                               [](const Message& m) { return m.deleted; }),
                                input.recent_messages.end());
    auto passages = SearchAppKnowledge(conversation.app_id, question->text, kPassages);
    if (passages.ok()) {
      input.passages = std::move(passages).value();
    } else if (passages.status().code() != StatusCode::kInvalidArgument) {  // no searchable words: no passages
      return passages.status();
    }
    auto responded = responder->Respond(input);
    if (!responded.ok()) {
      answer.reason = "the responder failed: " + responded.status().message();
    } else {
      answer = std::move(responded).value();
      if (answer.answered) {
        Status valid = internal::ValidateText("answer", answer.text, 1, options.max_message_bytes);
        if (!valid.ok()) {
          answer.answered = false;
          answer.reason = "the responder's answer is unusable: " + valid.message();
        }
      }
    }
  }

  // Decided outside the lock (the responder may take seconds); applied under it, only if the
  // conversation is still the bot's: a teammate may have taken it over meanwhile.
  std::lock_guard lock(entity_locks.For(conversation.id.str()));
  auto current = store->GetConversation(conversation.id, "");
  if (!current.ok()) {
    if (current.status().code() == StatusCode::kNotFound) {
      return finish(DeliveryStatus::kSkipped, "the conversation no longer exists");
    }
    return current.status();
  }
  conversation = std::move(current).value();
  if (conversation.status != ConversationStatus::kPending) {
    return finish(DeliveryStatus::kSkipped, "the conversation is no longer pending");
  }
  if (answer.answered) {
    SendRequest reply;
    reply.text = answer.text;
    reply.metadata_json = BotMetadata(answer.sources);
    reply.client_msg_id = "bot:" + delivery.id.str();  // a second run of this delivery finds the first message
    // With the team's rights (the outbox then addresses the customer), under the bot's own sender.
    Principal as_team;
    as_team.type = PrincipalType::kAppServer;
    as_team.id = conversation.app_id.str();
    as_team.app_id = conversation.app_id;
    const Sender bot{SenderType::kBot, kBotSenderId};
    auto appended = AppendAndPublish(as_team, conversation, reply, &bot);
    if (!appended.ok()) {
      if (appended.status().code() == StatusCode::kNotFound) {
        return finish(DeliveryStatus::kSkipped, "the conversation no longer exists");
      }
      return appended.status();
    }
    return finish(DeliveryStatus::kDelivered, "");
  }

  // Hand-off: the team takes over; the reason is not kept (the delivery did its job).
  conversation.status = ConversationStatus::kOpen;
  conversation.snoozed_until.reset();
  if (conversation.assignee_id.empty()) {
    LIBCHAT_ASSIGN_OR_RETURN(conversation.assignee_id, PickAssignee(conversation.app_id));
  }
  conversation.updated_at = Now();
  LIBCHAT_RETURN_IF_ERROR(UpdateConversationWithWebhooks(conversation));
  LIBCHAT_RETURN_IF_ERROR(PublishConversationUpdated(conversation));
  return finish(DeliveryStatus::kDelivered, "");
}

}  // namespace libchat
