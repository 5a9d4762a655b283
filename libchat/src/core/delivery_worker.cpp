// The outbox worker: claims due deliveries one at a time (under a lease, so a
// worker that dies lets them come back), runs the policy chain on gated ones,
// sends through the provider, records the attempt and schedules the next one
// (exponential schedule with jitter, raised to Retry-After) or dead-letters it.
#include <algorithm>

#include "core/chat_impl.h"
#include "delivery/webhook_payloads.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

// A receiver cannot push a retry further out than this with Retry-After.
constexpr std::chrono::hours kMaxRetryAfter(24);
// Unread messages listed in one fallback email.
constexpr int kMaxFallbackMessages = 20;

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::optional<Timestamp> Chat::Impl::NextRetryAt(int attempt, Timestamp now,
                                                 std::optional<std::chrono::milliseconds> retry_after) {
  const auto& schedule = options.delivery.retry_schedule;
  if (attempt < 1 || static_cast<std::size_t>(attempt) >= schedule.size()) return std::nullopt;
  double factor;
  {
    std::lock_guard lock(jitter_mutex);
    jitter_state ^= jitter_state << 13;
    jitter_state ^= jitter_state >> 7;
    jitter_state ^= jitter_state << 17;
    factor = 0.8 + 0.4 * static_cast<double>(jitter_state >> 11) / static_cast<double>(1ULL << 53);
  }
  auto delay = std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(schedule[static_cast<std::size_t>(attempt)].count()) * factor));
  if (retry_after) delay = std::max(delay, std::min<std::chrono::milliseconds>(*retry_after, kMaxRetryAfter));
  return now + delay;
}

Result<int> Chat::ProcessDueDeliveries(int limit) {
  Impl& impl = *impl_;
  int processed = 0;
  Status first_error;
  for (; processed < std::max(limit, 0); ++processed) {
    // One at a time: a batch would keep its tail claimed while the head waits on slow receivers.
    const Timestamp now = impl.Now();
    LIBCHAT_ASSIGN_OR_RETURN(std::vector<Delivery> claimed,
                             impl.store->ClaimDueDeliveries(now, now + impl.options.delivery.claim_lease, 1));
    if (claimed.empty()) break;
    // A failure here (the store, say) leaves the claim to expire: the delivery comes back later.
    Status ran = impl.RunDelivery(std::move(claimed.front()));
    if (!ran.ok() && first_error.ok()) first_error = ran;
  }
  if (!first_error.ok() && processed == 0) return first_error;
  return processed;
}

Result<std::optional<Timestamp>> Chat::NextDeliveryDue() { return impl_->store->NextDeliveryDue(); }

namespace {

// Applies the outcome of one attempt to the delivery.
DeliveryUpdate AttemptUpdate(const Delivery& delivery, const SendOutcome& outcome, Timestamp at,
                             std::int64_t latency_ms, std::optional<Timestamp> retry_at) {
  DeliveryUpdate update;
  update.id = delivery.id;
  update.expected_status = DeliveryStatus::kPending;
  update.updated_at = at;
  DeliveryAttempt attempt;
  attempt.number = delivery.attempt_count + 1;
  attempt.at = at;
  attempt.status_code = outcome.status_code;
  attempt.error = outcome.kind == SendOutcome::Kind::kDelivered ? "" : outcome.error;
  attempt.latency_ms = latency_ms;
  update.attempt = attempt;
  update.last_error = attempt.error;
  switch (outcome.kind) {
    case SendOutcome::Kind::kDelivered:
      update.status = DeliveryStatus::kDelivered;
      break;
    case SendOutcome::Kind::kRetry:
      if (retry_at) {
        update.status = DeliveryStatus::kPending;
        update.next_attempt_at = *retry_at;
      } else {
        update.status = DeliveryStatus::kFailed;  // the schedule is exhausted: dead letter
      }
      break;
    case SendOutcome::Kind::kPermanent:
    case SendOutcome::Kind::kGone:
      update.status = DeliveryStatus::kFailed;
      break;
  }
  return update;
}

}  // namespace

Status Chat::Impl::RunDelivery(Delivery delivery) {
  const Timestamp now = Now();
  std::string recipient_email = delivery.to_email;
  auto email_of = [this](const std::string& principal_id) -> Result<std::string> {
    if (principal_id.rfind(CustomerId::prefix(), 0) == 0) {
      auto customer = store->GetCustomer(CustomerId(principal_id));
      if (!customer.ok()) return customer.status().code() == StatusCode::kNotFound ? Result<std::string>(std::string())
                                                                                    : customer.status();
      return customer->email;
    }
    if (principal_id.rfind(AccountId::prefix(), 0) == 0) {
      auto account = store->GetAccount(AccountId(principal_id));
      if (!account.ok()) return account.status().code() == StatusCode::kNotFound ? Result<std::string>(std::string())
                                                                                  : account.status();
      return account->account.email;
    }
    return std::string();
  };
  if (delivery.channel == DeliveryChannel::kEmail && recipient_email.empty() && !delivery.recipient_id.empty()) {
    LIBCHAT_ASSIGN_OR_RETURN(recipient_email, email_of(delivery.recipient_id));
  }

  auto finish = [this, &delivery](DeliveryUpdate update) -> Status {
    Status updated = store->UpdateDelivery(update);
    // Cancelled (or replayed) while it was out: the newer state stands.
    if (updated.code() == StatusCode::kFailedPrecondition || updated.code() == StatusCode::kNotFound) {
      return Status::Ok();
    }
    LIBCHAT_RETURN_IF_ERROR(updated);
    if (!delivery.notification_id.empty() && update.status != DeliveryStatus::kPending) {
      return SettleNotification(delivery.notification_id);
    }
    return Status::Ok();
  };

  // The policy chain: skip, defer or go on.
  std::optional<Message> message;
  std::int64_t read_seq = 0;
  if (delivery.gated) {
    LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const AppDeliveryConfig> config, DeliveryConfigOf(delivery.app_id));
    const internal::PresenceBook::State presence_state = presence.Get(delivery.recipient_id);
    if (!delivery.message_id.empty()) {
      auto stored = store->GetMessage(delivery.conversation_id, delivery.message_id);
      if (stored.ok() && !stored->deleted) {
        message = std::move(stored).value();
      } else if (!stored.ok() && stored.status().code() != StatusCode::kNotFound) {
        return stored.status();
      }
      if (!delivery.recipient_id.empty()) {
        LIBCHAT_ASSIGN_OR_RETURN(Receipt receipt, store->GetReceipt(delivery.conversation_id, delivery.recipient_id));
        read_seq = receipt.read_seq;
      }
    }
    bool already_delivered = false;
    if (!delivery.notification_id.empty()) {
      LIBCHAT_ASSIGN_OR_RETURN(Notification notification, store->GetNotification(delivery.notification_id));
      // A fallback yields to its primary having delivered, and a primary to its fallback.
      const bool is_fallback = delivery.kind == "notification.fallback";
      for (const Delivery& other : notification.deliveries) {
        if (other.id == delivery.id || other.status != DeliveryStatus::kDelivered) continue;
        if (other.recipient_id != delivery.recipient_id || other.to_email != delivery.to_email) continue;
        if ((other.kind == "notification.fallback") != is_fallback) already_delivered = true;
      }
    }
    // Every member spelled out: -Wmissing-field-initializers (-Wextra) flags a partial aggregate init.
    const PolicyContext context{delivery, config->policy, now, presence_state.online, presence_state.offline_since,
                                message, read_seq, recipient_email, already_delivered};
    const PolicyDecision decision = RunPolicyChain(policy_steps, context);
    if (decision.kind == PolicyDecision::Kind::kSkip) {
      DeliveryUpdate update;
      update.id = delivery.id;
      update.status = DeliveryStatus::kSkipped;
      update.last_error = decision.reason;
      update.updated_at = now;
      return finish(std::move(update));
    }
    if (decision.kind == PolicyDecision::Kind::kDefer) {
      DeliveryUpdate update;
      update.id = delivery.id;
      update.status = DeliveryStatus::kPending;
      update.next_attempt_at = std::max(decision.until, now);
      update.last_error = delivery.last_error;
      update.updated_at = now;
      return finish(std::move(update));
    }
  }

  // Send.
  const auto started = std::chrono::steady_clock::now();
  SendOutcome outcome;
  switch (delivery.channel) {
    case DeliveryChannel::kWebhook: {
      auto webhook = store->GetWebhook(delivery.webhook_id);
      if (!webhook.ok()) {
        if (webhook.status().code() != StatusCode::kNotFound) return webhook.status();
        DeliveryUpdate update;
        update.id = delivery.id;
        update.status = DeliveryStatus::kCancelled;
        update.last_error = "the webhook endpoint was deleted";
        update.updated_at = now;
        return finish(std::move(update));
      }
      if (!webhook->endpoint.enabled) {
        outcome = SendOutcome::Failed(SendOutcome::Kind::kPermanent, 0,
                                      "the webhook endpoint is disabled: " + webhook->endpoint.disabled_reason);
        break;
      }
      WebhookRequest request;
      request.url = webhook->endpoint.url;
      request.id = delivery.id.str();
      request.timestamp = now;
      request.body = delivery.payload_json;
      request.timeout = options.delivery.webhook_timeout;
      const std::string aad = "webhook:" + webhook->endpoint.id.str();
      LIBCHAT_ASSIGN_OR_RETURN(std::string secret, secret_box->Open(webhook->secret_sealed, aad));
      request.secrets.push_back(std::move(secret));
      if (!webhook->previous_secret_sealed.empty() && webhook->endpoint.previous_secret_expires_at &&
          *webhook->endpoint.previous_secret_expires_at > now) {
        LIBCHAT_ASSIGN_OR_RETURN(std::string previous, secret_box->Open(webhook->previous_secret_sealed, aad));
        request.secrets.push_back(std::move(previous));
      }
      outcome = options.delivery.webhook_sender->Send(request);
      if (outcome.kind == SendOutcome::Kind::kGone) {
        // The receiver asked never to be called again: disable the endpoint.
        StoredWebhook disabled = std::move(webhook).value();
        disabled.endpoint.enabled = false;
        disabled.endpoint.disabled_reason = "the receiver answered 410 Gone";
        disabled.endpoint.updated_at = now;
        LIBCHAT_RETURN_IF_ERROR(store->UpdateWebhook(disabled));
        ForgetDeliveryConfig(delivery.app_id);
        if (outcome.error.empty()) outcome.error = "410 Gone: endpoint disabled";
      }
      break;
    }
    case DeliveryChannel::kEmail: {
      auto email = EmailProviderOf(delivery.app_id);
      if (!email.ok()) {
        if (email.status().code() != StatusCode::kNotFound && email.status().code() != StatusCode::kInvalidArgument) {
          return email.status();
        }
        outcome = SendOutcome::Failed(SendOutcome::Kind::kPermanent, 0,
                                      "no usable email provider: " + email.status().message());
        break;
      }
      if (recipient_email.empty()) {
        outcome = SendOutcome::Failed(SendOutcome::Kind::kPermanent, 0, "the recipient has no email address");
        break;
      }
      EmailMessage mail;
      mail.from = email->from;
      mail.to = recipient_email;
      mail.idempotency_key = delivery.id.str();
      if (delivery.kind == "email.fallback") {
        // What is unread now, not just the message that queued this email.
        MessageQuery query;
        query.conversation_id = delivery.conversation_id;
        query.after_seq = read_seq;
        query.limit = kMaxFallbackMessages;
        LIBCHAT_ASSIGN_OR_RETURN(std::vector<Message> unread, store->ListMessages(query));
        unread.erase(std::remove_if(unread.begin(), unread.end(),
                                    [&delivery](const Message& m) {
                                      return m.deleted || m.sender.id == delivery.recipient_id;
                                    }),
                     unread.end());
        if (unread.empty()) {
          DeliveryUpdate update;
          update.id = delivery.id;
          update.status = DeliveryStatus::kSkipped;
          update.last_error = "nothing is unread any more";
          update.updated_at = now;
          return finish(std::move(update));
        }
        LIBCHAT_ASSIGN_OR_RETURN(StoredApp app, store->GetApp(delivery.app_id));
        mail.subject = unread.size() == 1 ? "New message from " + app.app.name
                                          : std::to_string(unread.size()) + " new messages from " + app.app.name;
        mail.html = "<div>";
        for (const Message& m : unread) {
          mail.text += m.text + "\n\n";
          mail.html += "<p>" + HtmlEscape(m.text) + "</p>";
        }
        mail.html += "</div>";
      } else {
        internal::EmailContent content = internal::ParseEmailPayload(delivery.payload_json);
        mail.subject = std::move(content.subject);
        mail.text = std::move(content.text);
        mail.html = std::move(content.html);
      }
      outcome = email->provider->Send(mail);
      break;
    }
    case DeliveryChannel::kWebSocket: {
      // Delivered only to a recipient this process sees connected; otherwise it
      // waits (retried on the schedule, and woken when the recipient connects).
      if (!presence.Get(delivery.recipient_id).online) {
        outcome = SendOutcome::Failed(SendOutcome::Kind::kRetry, 0, "the recipient is not connected");
        break;
      }
      LIBCHAT_ASSIGN_OR_RETURN(Notification notification, store->GetNotification(delivery.notification_id));
      notification.deliveries.clear();
      Event event;
      event.type = EventType::kNotification;
      event.app_id = delivery.app_id;
      event.audience = {delivery.recipient_id};
      event.notification = std::move(notification);
      Publish(std::move(event));
      outcome = SendOutcome::Delivered(0);
      break;
    }
    case DeliveryChannel::kPush:
      outcome = SendOutcome::Failed(SendOutcome::Kind::kPermanent, 0, "no push provider is configured");
      break;
    case DeliveryChannel::kBot:
      // Answers or hands over, and records the outcome itself (bot.cpp).
      return RunBotReply(delivery);
  }
  const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  const std::optional<Timestamp> retry_at =
      outcome.kind == SendOutcome::Kind::kRetry ? NextRetryAt(delivery.attempt_count + 1, Now(), outcome.retry_after)
                                                : std::nullopt;
  return finish(AttemptUpdate(delivery, outcome, now, latency.count(), retry_at));
}

}  // namespace libchat
