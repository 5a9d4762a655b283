// Notifications: a message to customers (or an address) on chosen channels,
// with an optional fallback channel after a delay, a priority and a schedule.
// Each channel x recipient is a delivery in the outbox, written with the
// notification in one transaction; nothing is marked delivered until a channel
// delivered it (a websocket notification waits for its recipient to connect).
#include <algorithm>
#include <map>
#include <set>

#include "core/chat_impl.h"
#include "core/validation.h"
#include "delivery/webhook_payloads.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

constexpr std::size_t kMaxRecipients = 100;
constexpr std::size_t kMaxSubjectBytes = 998;
constexpr std::size_t kMaxHtmlBytes = 256 * 1024;
constexpr std::chrono::hours kMaxScheduleAhead(24 * 366);
constexpr std::chrono::seconds kMaxFallbackAfter(30LL * 24 * 3600);

bool LooksLikeEmail(const std::string& email) { return internal::NormalizeEmail(email).ok(); }

// Who a delivery is for: the recipient principal or the address.
std::string RecipientKey(const Delivery& delivery) {
  return delivery.recipient_id.empty() ? delivery.to_email : delivery.recipient_id;
}

}  // namespace

Result<Notification> Chat::CreateNotification(const Principal& principal, const AppId& app,
                                              const NotificationRequest& request) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");

  const int recipient_kinds = (request.customer_ids.empty() ? 0 : 1) + (request.conversation_id.empty() ? 0 : 1) +
                              (request.email.empty() ? 0 : 1);
  if (recipient_kinds != 1) return InvalidArgumentError("to needs exactly one of customer_ids, conversation_id, email");
  if (request.channels.empty()) return InvalidArgumentError("channels must name at least one channel");
  std::vector<DeliveryChannel> channels;
  for (DeliveryChannel channel : request.channels) {
    if (channel == DeliveryChannel::kPush) return InvalidArgumentError("channel push has no provider yet");
    if (channel == DeliveryChannel::kBot) return InvalidArgumentError("channel bot is internal to the bot");
    if (std::find(channels.begin(), channels.end(), channel) == channels.end()) channels.push_back(channel);
  }
  LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("body", request.body, 1, impl.options.max_message_bytes));
  LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("subject", request.subject, 0, kMaxSubjectBytes));
  LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("html", request.html, 0, kMaxHtmlBytes));
  if (request.subject.find_first_of("\r\n") != std::string::npos) {
    return InvalidArgumentError("subject must be one line");
  }
  const Timestamp now = impl.Now();
  Timestamp due = now;
  if (request.scheduled_at) {
    if (*request.scheduled_at > now + kMaxScheduleAhead) {
      return InvalidArgumentError("scheduled_at is more than a year ahead");
    }
    due = std::max(now, *request.scheduled_at);
  }
  std::vector<DeliveryChannel> all_channels = channels;
  if (request.fallback) {
    if (request.fallback->after.count() < 0 || request.fallback->after > kMaxFallbackAfter) {
      return InvalidArgumentError("fallback.after_s must be between 0 and 30 days");
    }
    if (request.fallback->channel == DeliveryChannel::kPush) {
      return InvalidArgumentError("channel push has no provider yet");
    }
    if (request.fallback->channel == DeliveryChannel::kBot) {
      return InvalidArgumentError("channel bot is internal to the bot");
    }
    if (!request.fallback->to_email.empty() && !LooksLikeEmail(request.fallback->to_email)) {
      return InvalidArgumentError("fallback.to_email is not an email address");
    }
    all_channels.push_back(request.fallback->channel);
  }

  // Recipients: customer ids of this app.
  std::vector<std::string> recipients;
  if (!request.customer_ids.empty()) {
    if (request.customer_ids.size() > kMaxRecipients) return InvalidArgumentError("at most 100 customer_ids");
    std::set<std::string> seen;
    for (const CustomerId& id : request.customer_ids) {
      if (!CustomerId::IsWellFormed(id.str())) return NotFoundError("customer not found: " + id.str());
      auto customer = impl.store->GetCustomer(id);
      if (!customer.ok() || customer->app_id != app) {
        if (!customer.ok() && customer.status().code() != StatusCode::kNotFound) return customer.status();
        return NotFoundError("customer not found: " + id.str());
      }
      if (seen.insert(id.str()).second) recipients.push_back(id.str());
    }
  } else if (!request.conversation_id.empty()) {
    LIBCHAT_ASSIGN_OR_RETURN(Conversation conversation, impl.VisibleConversation(principal, request.conversation_id));
    if (conversation.app_id != app) return NotFoundError("conversation not found");
    if (conversation.type == ConversationType::kSupport) {
      recipients.push_back(conversation.customer_id.str());
    } else {
      LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const MemberList> members, impl.Members(conversation));
      for (const Member& member : members->members) {
        if (member.id.rfind("cus_", 0) == 0 && recipients.size() < kMaxRecipients) recipients.push_back(member.id);
      }
    }
    if (recipients.empty()) return InvalidArgumentError("the conversation has no customer to notify");
  } else {
    if (!LooksLikeEmail(request.email)) return InvalidArgumentError("to.email is not an email address");
    for (DeliveryChannel channel : all_channels) {
      if (channel != DeliveryChannel::kEmail) {
        return InvalidArgumentError("a notification to an address goes by email only");
      }
    }
  }

  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const AppDeliveryConfig> config, impl.DeliveryConfigOf(app));
  const bool uses_email = std::find(all_channels.begin(), all_channels.end(), DeliveryChannel::kEmail) !=
                          all_channels.end();
  if (uses_email) {
    if (!config->has_email_provider) return FailedPreconditionError("the app has no email provider configured");
    if (request.subject.empty()) return InvalidArgumentError("subject is required for email");
  }
  const bool uses_webhook = std::find(all_channels.begin(), all_channels.end(), DeliveryChannel::kWebhook) !=
                            all_channels.end();
  if (uses_webhook && !config->Wants("notification")) {
    return FailedPreconditionError("no enabled webhook endpoint subscribes to notification events");
  }

  Notification notification;
  notification.id = NotificationId(internal::NewId(NotificationId::prefix()));
  notification.app_id = app;
  notification.customer_ids = request.customer_ids;
  notification.conversation_id = request.conversation_id;
  notification.email = request.email;
  notification.channels = channels;
  notification.subject = request.subject;
  notification.body = request.body;
  notification.html = request.html;
  notification.priority = request.priority;
  notification.scheduled_at = request.scheduled_at;
  notification.fallback = request.fallback;
  notification.created_at = notification.updated_at = now;

  std::vector<Delivery> deliveries;
  auto add = [&](DeliveryChannel channel, const std::string& kind, const std::string& recipient,
                 const std::string& to_email, Timestamp at) {
    Delivery base;
    base.app_id = app;
    base.channel = channel;
    base.kind = kind;
    base.recipient_id = recipient;
    base.to_email = to_email;
    base.notification_id = notification.id;
    base.priority = request.priority;
    base.gated = true;
    base.created_at = base.updated_at = now;
    base.next_attempt_at = at;
    if (channel == DeliveryChannel::kWebhook) {
      const std::string body = internal::NotificationWebhookBody("notification", now, notification);
      for (Delivery& hook : Impl::WebhookDeliveries(*config, app, "notification", body, now)) {
        hook.kind = kind;
        hook.recipient_id = recipient;
        hook.notification_id = notification.id;
        hook.priority = request.priority;
        hook.gated = true;
        hook.next_attempt_at = at;
        deliveries.push_back(std::move(hook));
      }
      return;
    }
    base.id = DeliveryId(internal::NewId(DeliveryId::prefix()));
    if (channel == DeliveryChannel::kEmail) {
      base.payload_json = internal::EmailPayload(request.subject, request.body, request.html);
    }
    deliveries.push_back(std::move(base));
  };
  const std::vector<std::string> targets = recipients.empty() ? std::vector<std::string>{""} : recipients;
  for (const std::string& recipient : targets) {
    for (DeliveryChannel channel : channels) add(channel, "notification", recipient, request.email, due);
    if (request.fallback) {
      const std::string to = request.fallback->to_email.empty() ? request.email : request.fallback->to_email;
      add(request.fallback->channel, "notification.fallback", recipient, to, due + request.fallback->after);
    }
  }
  LIBCHAT_RETURN_IF_ERROR(impl.store->CreateNotification(notification, deliveries));
  return impl.store->GetNotification(notification.id);
}

namespace {

Result<Notification> AppNotification(Store& store, const AppId& app, const NotificationId& id) {
  if (!NotificationId::IsWellFormed(id.str())) return NotFoundError("notification not found");
  auto notification = store.GetNotification(id);
  if (!notification.ok()) {
    if (notification.status().code() == StatusCode::kNotFound) return NotFoundError("notification not found");
    return notification.status();
  }
  if (notification->app_id != app) return NotFoundError("notification not found");
  return notification;
}

}  // namespace

Result<Notification> Chat::GetNotification(const Principal& principal, const AppId& app, const NotificationId& id) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  return AppNotification(*impl.store, app, id);
}

Result<Notification> Chat::CancelNotification(const Principal& principal, const AppId& app,
                                              const NotificationId& id) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  LIBCHAT_RETURN_IF_ERROR(AppNotification(*impl.store, app, id).status());
  std::lock_guard lock(impl.entity_locks.For(id.str()));
  Status cancelled = impl.store->CancelNotification(id, impl.Now());
  if (cancelled.code() == StatusCode::kFailedPrecondition) {
    return FailedPreconditionError("only a pending notification can be cancelled");
  }
  LIBCHAT_RETURN_IF_ERROR(cancelled);
  return AppNotification(*impl.store, app, id);
}

Result<Notification> Chat::RetryNotification(const Principal& principal, const AppId& app,
                                             const NotificationId& id) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  LIBCHAT_RETURN_IF_ERROR(AppNotification(*impl.store, app, id).status());
  std::lock_guard lock(impl.entity_locks.For(id.str()));
  Status retried = impl.store->RetryNotification(id, impl.Now());
  if (retried.code() == StatusCode::kFailedPrecondition) {
    return FailedPreconditionError("only a failed notification can be retried");
  }
  LIBCHAT_RETURN_IF_ERROR(retried);
  return AppNotification(*impl.store, app, id);
}

Status Chat::Impl::SettleNotification(const NotificationId& id) {
  std::lock_guard lock(entity_locks.For(id.str()));
  LIBCHAT_ASSIGN_OR_RETURN(Notification notification, store->GetNotification(id));
  if (notification.status == NotificationStatus::kCancelled) return Status::Ok();
  // Delivered once every recipient got it on some channel; failed once nothing
  // is pending and someone did not; pending otherwise.
  std::map<std::string, bool> reached;
  bool pending = false;
  for (const Delivery& delivery : notification.deliveries) {
    bool& got = reached[RecipientKey(delivery)];
    got = got || delivery.status == DeliveryStatus::kDelivered;
    pending = pending || delivery.status == DeliveryStatus::kPending;
  }
  const bool all_reached =
      !reached.empty() && std::all_of(reached.begin(), reached.end(), [](const auto& entry) { return entry.second; });
  const NotificationStatus status = all_reached ? NotificationStatus::kDelivered
                                    : pending   ? NotificationStatus::kPending
                                                : NotificationStatus::kFailed;
  const NotificationStatus previous = notification.status;
  if (status == previous) return Status::Ok();
  const Timestamp now = Now();
  std::vector<Delivery> outbox;
  if (status != NotificationStatus::kPending) {
    const std::string event_type =
        status == NotificationStatus::kDelivered ? "notification.delivered" : "notification.failed";
    LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const AppDeliveryConfig> config, DeliveryConfigOf(notification.app_id));
    notification.status = status;
    notification.updated_at = now;
    outbox = WebhookDeliveries(*config, notification.app_id, event_type,
                               internal::NotificationWebhookBody(event_type, now, notification), now);
  }
  // Under the notification's lock, so a concurrent settle of this process cannot race;
  // another process's settle makes the compare-and-set fail, and that one wins.
  Status updated = store->UpdateNotificationStatus(id, previous, status, now, outbox);
  return updated.code() == StatusCode::kFailedPrecondition ? Status::Ok() : updated;
}

}  // namespace libchat
