// Webhook endpoints (Standard Webhooks) and the outbox as the app's team sees it.
// Secrets are generated here, sealed before they are stored and shown once.
#include <algorithm>

#include "core/chat_impl.h"
#include "core/validation.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

constexpr std::size_t kMaxWebhooksPerApp = 20;
constexpr std::size_t kMaxUrlBytes = 2048;
// How long the previous secret keeps signing after a rotation.
constexpr std::chrono::hours kRotationOverlap(24);

std::string WebhookSecretAad(const WebhookId& id) { return "webhook:" + id.str(); }

Status ValidateEvents(const std::vector<std::string>& events) {
  if (events.empty()) return InvalidArgumentError("events must name at least one event type");
  const auto& known = WebhookEventTypes();
  for (const std::string& event : events) {
    if (std::find(known.begin(), known.end(), event) == known.end()) {
      return InvalidArgumentError("unknown event type: " + event);
    }
  }
  return Status::Ok();
}

std::vector<std::string> Deduplicated(std::vector<std::string> events) {
  std::vector<std::string> out;
  for (std::string& event : events) {
    if (std::find(out.begin(), out.end(), event) == out.end()) out.push_back(std::move(event));
  }
  return out;
}

}  // namespace

std::vector<Delivery> Chat::Impl::WebhookDeliveries(const AppDeliveryConfig& config, const AppId& app,
                                                    const std::string& event_type, const std::string& body,
                                                    Timestamp now) {
  std::vector<Delivery> deliveries;
  for (const WebhookEndpoint& webhook : config.webhooks) {
    if (std::find(webhook.events.begin(), webhook.events.end(), event_type) == webhook.events.end()) continue;
    Delivery delivery;
    delivery.id = DeliveryId(internal::NewId(DeliveryId::prefix()));
    delivery.app_id = app;
    delivery.channel = DeliveryChannel::kWebhook;
    delivery.kind = event_type;
    delivery.webhook_id = webhook.id;
    delivery.payload_json = body;
    delivery.next_attempt_at = delivery.created_at = delivery.updated_at = now;
    deliveries.push_back(std::move(delivery));
  }
  return deliveries;
}

namespace {

// Checks an endpoint URL: http(s), bounded, and not aimed at a private network.
Status ValidateWebhookUrl(const std::string& url, const internal::NetworkAllowlist& allowlist) {
  LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("url", url, 1, kMaxUrlBytes));
  return internal::CheckUrlTarget(url, allowlist);
}

}  // namespace

Result<CreatedWebhook> Chat::CreateWebhook(const Principal& principal, const AppId& app,
                                           const WebhookCreate& request) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  LIBCHAT_RETURN_IF_ERROR(ValidateEvents(request.events));
  LIBCHAT_RETURN_IF_ERROR(ValidateWebhookUrl(request.url, impl.outbound_allowlist));
  std::lock_guard lock(impl.entity_locks.For("webhooks:" + app.str()));
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<StoredWebhook> existing, impl.store->ListWebhooks(app));
  if (existing.size() >= kMaxWebhooksPerApp) {
    return ResourceExhaustedError("an app has at most 20 webhook endpoints");
  }
  StoredWebhook stored;
  WebhookEndpoint& webhook = stored.endpoint;
  webhook.id = WebhookId(internal::NewId(WebhookId::prefix()));
  webhook.app_id = app;
  webhook.url = request.url;
  webhook.events = Deduplicated(request.events);
  webhook.created_at = webhook.updated_at = impl.Now();
  const std::string secret = NewWebhookSecret();
  stored.secret_sealed = impl.secret_box->Seal(secret, WebhookSecretAad(webhook.id));
  LIBCHAT_RETURN_IF_ERROR(impl.store->CreateWebhook(stored));
  impl.ForgetDeliveryConfig(app);
  return CreatedWebhook{webhook, secret};
}

Result<std::vector<WebhookEndpoint>> Chat::ListWebhooks(const Principal& principal, const AppId& app) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<StoredWebhook> stored, impl.store->ListWebhooks(app));
  std::vector<WebhookEndpoint> webhooks;
  webhooks.reserve(stored.size());
  for (StoredWebhook& webhook : stored) webhooks.push_back(std::move(webhook.endpoint));
  return webhooks;
}

namespace {

// The app's webhook, or kNotFound (also for another app's id).
Result<StoredWebhook> AppWebhook(Store& store, const AppId& app, const WebhookId& id) {
  if (!WebhookId::IsWellFormed(id.str())) return NotFoundError("webhook not found");
  auto stored = store.GetWebhook(id);
  if (!stored.ok()) {
    if (stored.status().code() == StatusCode::kNotFound) return NotFoundError("webhook not found");
    return stored.status();
  }
  if (stored->endpoint.app_id != app) return NotFoundError("webhook not found");
  return stored;
}

}  // namespace

Result<WebhookEndpoint> Chat::GetWebhook(const Principal& principal, const AppId& app, const WebhookId& id) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  LIBCHAT_ASSIGN_OR_RETURN(StoredWebhook stored, AppWebhook(*impl.store, app, id));
  return stored.endpoint;
}

Result<WebhookEndpoint> Chat::UpdateWebhook(const Principal& principal, const AppId& app, const WebhookId& id,
                                            const WebhookUpdate& update) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  std::lock_guard lock(impl.entity_locks.For(id.str()));
  LIBCHAT_ASSIGN_OR_RETURN(StoredWebhook stored, AppWebhook(*impl.store, app, id));
  WebhookEndpoint& webhook = stored.endpoint;
  if (update.url) {
    LIBCHAT_RETURN_IF_ERROR(ValidateWebhookUrl(*update.url, impl.outbound_allowlist));
    webhook.url = *update.url;
  }
  if (update.events) {
    LIBCHAT_RETURN_IF_ERROR(ValidateEvents(*update.events));
    webhook.events = Deduplicated(*update.events);
  }
  if (update.enabled) {
    webhook.enabled = *update.enabled;
    webhook.disabled_reason = webhook.enabled ? "" : "disabled through the API";
  }
  webhook.updated_at = impl.Now();
  LIBCHAT_RETURN_IF_ERROR(impl.store->UpdateWebhook(stored));
  impl.ForgetDeliveryConfig(app);
  return webhook;
}

Result<CreatedWebhook> Chat::RotateWebhookSecret(const Principal& principal, const AppId& app,
                                                 const WebhookId& id) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  std::lock_guard lock(impl.entity_locks.For(id.str()));
  LIBCHAT_ASSIGN_OR_RETURN(StoredWebhook stored, AppWebhook(*impl.store, app, id));
  const Timestamp now = impl.Now();
  const std::string secret = NewWebhookSecret();
  stored.previous_secret_sealed = stored.secret_sealed;
  stored.secret_sealed = impl.secret_box->Seal(secret, WebhookSecretAad(id));
  stored.endpoint.previous_secret_expires_at = now + kRotationOverlap;
  stored.endpoint.updated_at = now;
  LIBCHAT_RETURN_IF_ERROR(impl.store->UpdateWebhook(stored));
  impl.ForgetDeliveryConfig(app);
  return CreatedWebhook{stored.endpoint, secret};
}

Status Chat::DeleteWebhook(const Principal& principal, const AppId& app, const WebhookId& id) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  LIBCHAT_RETURN_IF_ERROR(AppWebhook(*impl.store, app, id).status());
  LIBCHAT_RETURN_IF_ERROR(impl.store->DeleteWebhook(id));
  impl.ForgetDeliveryConfig(app);
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// The outbox, read by the app's team.

Result<Page<Delivery>> Chat::ListDeliveries(const Principal& principal, const AppId& app,
                                            const DeliveryFilter& filter) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  DeliveryQuery query;
  query.app_id = app;
  if (filter.webhook_id) {
    LIBCHAT_RETURN_IF_ERROR(AppWebhook(*impl.store, app, *filter.webhook_id).status());
    query.webhook_id = filter.webhook_id;
  }
  query.status = filter.status;
  query.channel = filter.channel;
  query.cursor = filter.cursor;
  LIBCHAT_ASSIGN_OR_RETURN(query.limit, internal::ValidateLimit(filter.limit));
  return impl.store->ListDeliveries(query);
}

namespace {

Result<Delivery> AppDelivery(Store& store, const AppId& app, const DeliveryId& id) {
  if (!DeliveryId::IsWellFormed(id.str())) return NotFoundError("delivery not found");
  auto delivery = store.GetDelivery(id);
  if (!delivery.ok()) {
    if (delivery.status().code() == StatusCode::kNotFound) return NotFoundError("delivery not found");
    return delivery.status();
  }
  if (delivery->app_id != app) return NotFoundError("delivery not found");
  return delivery;
}

}  // namespace

Result<Delivery> Chat::GetDelivery(const Principal& principal, const AppId& app, const DeliveryId& id) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  return AppDelivery(*impl.store, app, id);
}

Result<Delivery> Chat::RetryDelivery(const Principal& principal, const AppId& app, const DeliveryId& id) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  LIBCHAT_ASSIGN_OR_RETURN(Delivery delivery, AppDelivery(*impl.store, app, id));
  if (delivery.status == DeliveryStatus::kPending) {
    return FailedPreconditionError("the delivery is still pending");
  }
  if (delivery.status == DeliveryStatus::kCancelled) {
    return FailedPreconditionError("a cancelled delivery cannot be sent again");
  }
  DeliveryUpdate update;
  update.id = id;
  update.expected_status = delivery.status;
  update.status = DeliveryStatus::kPending;
  update.next_attempt_at = update.updated_at = impl.Now();
  update.last_error = delivery.last_error;
  // Attempts are kept; numbering goes on. A gated delivery meets the policy chain again.
  LIBCHAT_RETURN_IF_ERROR(impl.store->UpdateDelivery(update));
  return AppDelivery(*impl.store, app, id);
}

}  // namespace libchat
