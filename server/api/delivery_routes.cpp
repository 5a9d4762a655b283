// Delivery beyond the socket, for an app's team (API.md "Delivery and providers"):
//   GET|POST          /v1/apps/{app_id}/webhooks                     {url, events[]} -> 201 {webhook, secret}
//   GET|PATCH|DELETE  /v1/apps/{app_id}/webhooks/{webhook_id}        PATCH {url?, events?, enabled?}
//   POST              /v1/apps/{app_id}/webhooks/{webhook_id}/rotate-secret -> 200 {webhook, secret}
//   GET               /v1/apps/{app_id}/webhooks/{webhook_id}/deliveries?status=&cursor=&limit=
//   GET               /v1/apps/{app_id}/deliveries?status=&channel=&webhook_id=&cursor=&limit=
//   GET               /v1/apps/{app_id}/deliveries/{delivery_id}
//   POST              /v1/apps/{app_id}/deliveries/{delivery_id}/retry -> 202 delivery (queued again)
//   GET|PUT|DELETE    /v1/apps/{app_id}/email-provider               PUT {type, from, <settings>…}
//   GET|PUT           /v1/apps/{app_id}/delivery-policy   {channels[], offline_after_s, email_fallback_after_s}
//   POST              /v1/apps/{app_id}/notifications                -> 202 notification
//   GET|DELETE        /v1/apps/{app_id}/notifications/{notification_id}  DELETE cancels -> 200 notification
//   POST              /v1/apps/{app_id}/notifications/{notification_id}/retry -> 202 notification
// The handlers only translate: bodies are read strictly here (a wrong type or an unknown name is a 400 that
// names the field), and the core decides who may do what and whether a target URL is acceptable. Secrets
// appear only in the two responses that create them (webhook creation and rotation).
#include <algorithm>
#include <chrono>
#include <map>
#include <utility>
#include <vector>

#include "server/api/handler_util.h"
#include "server/json_codec.h"

namespace libchat::server::api {
namespace {

// Delays in the policy and notification fallbacks: at most a year, far from any overflow of the core's
// millisecond timestamps.
constexpr std::int64_t kMaxDelaySeconds = 365LL * 24 * 3600;
// Enough for any real list of recipients or event types; a body of a million array members is refused early.
constexpr std::size_t kMaxListItems = 1000;

const char* const kEmailProviderTypes[] = {"smtp", "mailgun", "sendgrid", "postmark", "ses", nullptr};
const char* const kPriorities[] = {"low", "normal", "high", "urgent", nullptr};
const char* const kChannelNames = "websocket, webhook, email, push";
const char* const kDeliveryStatusNames = "pending, delivered, failed, skipped, cancelled";

// --- path parameters: a malformed id is answered like a missing resource (404)

template <typename IdType>
std::optional<IdType> IdParam(const RequestContext& ctx, std::size_t index) {
  const std::string_view raw = ctx.params[index];
  if (!IdType::IsWellFormed(raw)) return std::nullopt;
  return IdType(std::string(raw));
}

// --- body readers

// The member `key` of `object` as an array of strings (`name` is its path in messages: "to.customer_ids");
// nullopt when absent (an error if `required`) or on error.
std::optional<std::vector<std::string>> ReadStringArray(const Json& object, const char* key, const std::string& name,
                                                        bool required, FieldReader& fields) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) fields.Fail(name + " is required");
    return std::nullopt;
  }
  if (!it->is_array()) {
    fields.Fail(name + " must be an array of strings");
    return std::nullopt;
  }
  if (it->size() > kMaxListItems) {
    fields.Fail(name + " must have at most " + std::to_string(kMaxListItems) + " items");
    return std::nullopt;
  }
  std::vector<std::string> out;
  out.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    const Json& item = (*it)[i];
    if (!item.is_string()) {
      fields.Fail(name + "[" + std::to_string(i) + "] must be a string");
      return std::nullopt;
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// "events": webhook event types from WebhookEventTypes(), at least one.
std::optional<std::vector<std::string>> ReadEvents(const Json& body, bool required, FieldReader& fields) {
  auto events = ReadStringArray(body, "events", "events", required, fields);
  if (!events) return std::nullopt;
  if (events->empty()) {
    fields.Fail("events must name at least one event type");
    return std::nullopt;
  }
  const std::vector<std::string>& known = WebhookEventTypes();
  for (std::size_t i = 0; i < events->size(); ++i) {
    if (std::find(known.begin(), known.end(), (*events)[i]) == known.end()) {
      fields.Fail("events[" + std::to_string(i) + "] must be one of " + JoinNames(known));
      return std::nullopt;
    }
  }
  return events;
}

// An array of channel names ("websocket", "webhook", "email", "push").
std::optional<std::vector<DeliveryChannel>> ReadChannels(const Json& body, const char* name, bool required,
                                                         FieldReader& fields) {
  auto names = ReadStringArray(body, name, name, required, fields);
  if (!names) return std::nullopt;
  std::vector<DeliveryChannel> out;
  out.reserve(names->size());
  for (std::size_t i = 0; i < names->size(); ++i) {
    auto channel = ParseDeliveryChannel((*names)[i]);
    if (!channel) {
      fields.Fail(std::string(name) + "[" + std::to_string(i) + "] must be one of " + kChannelNames);
      return std::nullopt;
    }
    out.push_back(*channel);
  }
  return out;
}

// A delay in whole seconds, 0..kMaxDelaySeconds.
std::optional<std::chrono::seconds> ReadDelay(FieldReader& fields, const char* field, const std::string& name) {
  if (!fields.Has(field) || fields.IsNull(field)) return std::nullopt;
  auto value = fields.OptionalNonNegativeInt(field);
  if (!fields.ok()) return std::nullopt;
  if (!value || *value > kMaxDelaySeconds) {
    fields.Fail(name + " must be an integer from 0 to " + std::to_string(kMaxDelaySeconds));
    return std::nullopt;
  }
  return std::chrono::seconds(*value);
}

// The core's answer for a webhook's URL, as the API reports it. A target on a private or loopback network is
// refused with kPermissionDenied, but the caller is allowed to manage the endpoint: the URL is a bad value, 400
// invalid_argument (the core checks the team first, so this cannot hide a real 403). The per-app endpoint
// cap (kResourceExhausted) is not a rate limit a retry would get past: 409 failed_precondition.
Status WebhookError(const Status& status) {
  switch (status.code()) {
    case StatusCode::kPermissionDenied: return InvalidArgumentError(status.message());
    case StatusCode::kResourceExhausted: return FailedPreconditionError(status.message());
    default: return status;
  }
}

// --- responses

Json CreatedWebhookJson(const CreatedWebhook& created) {
  Json out = Json::object();
  out["webhook"] = ToJson(created.webhook);
  out["secret"] = created.secret;
  return out;
}

Json DeliveryPage(const Page<Delivery>& page) {
  Json data = Json::array();
  for (const Delivery& delivery : page.data) data.push_back(ToJson(delivery));
  Json out = Json::object();
  out["data"] = std::move(data);
  out["next_cursor"] = page.next_cursor.empty() ? Json(nullptr) : Json(page.next_cursor);
  return out;
}

// {type, from, settings{…non-secret…}, secrets_set[], updated_at}. Secret fields are dropped here as well as
// in the core, so that a secret can never be echoed even if a record carried one.
Json EmailProviderJson(const EmailProviderSettings& provider) {
  Json settings = Json::object();
  for (const auto& [name, value] : provider.config.settings) {
    if (!IsSecretEmailSetting(name)) settings[name] = value;
  }
  Json out = Json::object();
  out["type"] = provider.config.type;
  out["from"] = provider.config.from;
  out["settings"] = std::move(settings);
  out["secrets_set"] = provider.secrets_set;
  out["updated_at"] = FormatTimestamp(provider.updated_at);
  return out;
}

// ---------------------------------------------------------------------------
// Webhooks

http::Response ListWebhooks(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  if (!app) return ctx.NotFound("app");
  auto webhooks = ctx.chat.ListWebhooks(ctx.principal, *app);
  if (!webhooks.ok()) return ctx.Fail(webhooks.status());
  Json data = Json::array();
  for (const WebhookEndpoint& webhook : *webhooks) data.push_back(ToJson(webhook));
  Json out = Json::object();
  out["data"] = std::move(data);
  out["next_cursor"] = nullptr;  // an app has few endpoints: one page
  return JsonResponse(200, out);
}

http::Response CreateWebhook(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  if (!app) return ctx.NotFound("app");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  WebhookCreate request;
  request.url = fields.RequiredString("url");
  if (fields.ok()) {
    if (auto events = ReadEvents(*body, /*required=*/true, fields)) request.events = std::move(*events);
  }
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto created = ctx.chat.CreateWebhook(ctx.principal, *app, request);
  if (!created.ok()) return ctx.Fail(WebhookError(created.status()));
  return JsonResponse(201, CreatedWebhookJson(*created));
}

http::Response GetWebhook(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  auto id = IdParam<WebhookId>(ctx, 1);
  if (!app || !id) return ctx.NotFound("webhook");
  auto webhook = ctx.chat.GetWebhook(ctx.principal, *app, *id);
  if (!webhook.ok()) return ctx.Fail(webhook.status());
  return JsonResponse(200, ToJson(*webhook));
}

http::Response UpdateWebhook(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  auto id = IdParam<WebhookId>(ctx, 1);
  if (!app || !id) return ctx.NotFound("webhook");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  WebhookUpdate update;
  update.url = fields.OptionalString("url");
  if (fields.ok()) update.events = ReadEvents(*body, /*required=*/false, fields);
  update.enabled = fields.OptionalBool("enabled");
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto webhook = ctx.chat.UpdateWebhook(ctx.principal, *app, *id, update);
  if (!webhook.ok()) return ctx.Fail(WebhookError(webhook.status()));
  return JsonResponse(200, ToJson(*webhook));
}

http::Response DeleteWebhook(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  auto id = IdParam<WebhookId>(ctx, 1);
  if (!app || !id) return ctx.NotFound("webhook");
  Status status = ctx.chat.DeleteWebhook(ctx.principal, *app, *id);
  if (!status.ok()) return ctx.Fail(status);
  return NoContent();
}

http::Response RotateWebhookSecret(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  auto id = IdParam<WebhookId>(ctx, 1);
  if (!app || !id) return ctx.NotFound("webhook");
  auto rotated = ctx.chat.RotateWebhookSecret(ctx.principal, *app, *id);
  if (!rotated.ok()) return ctx.Fail(rotated.status());
  return JsonResponse(200, CreatedWebhookJson(*rotated));
}

// ---------------------------------------------------------------------------
// Deliveries (the outbox)

// ?status=&channel=&cursor=&limit= (an empty value means "not given", as elsewhere).
Result<DeliveryFilter> ReadDeliveryFilter(const RequestContext& ctx) {
  DeliveryFilter filter;
  if (auto status = ctx.request.QueryParam("status"); status && !status->empty()) {
    filter.status = ParseDeliveryStatus(*status);
    if (!filter.status) return InvalidArgumentError(std::string("status must be one of ") + kDeliveryStatusNames);
  }
  if (auto channel = ctx.request.QueryParam("channel"); channel && !channel->empty()) {
    filter.channel = ParseDeliveryChannel(*channel);
    if (!filter.channel) return InvalidArgumentError(std::string("channel must be one of ") + kChannelNames);
  }
  if (auto cursor = ctx.request.QueryParam("cursor")) filter.cursor = std::move(*cursor);
  auto limit = QueryLimit(ctx.request);
  if (!limit.ok()) return limit.status();
  filter.limit = *limit == 0 ? 50 : *limit;
  return filter;
}

http::Response ListWebhookDeliveries(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  auto id = IdParam<WebhookId>(ctx, 1);
  if (!app || !id) return ctx.NotFound("webhook");
  auto filter = ReadDeliveryFilter(ctx);
  if (!filter.ok()) return ctx.Fail(filter.status());
  filter->webhook_id = *id;  // an unknown (or foreign) endpoint is a 404, not an empty list
  auto page = ctx.chat.ListDeliveries(ctx.principal, *app, *filter);
  if (!page.ok()) return ctx.Fail(page.status());
  return JsonResponse(200, DeliveryPage(*page));
}

http::Response ListDeliveries(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  if (!app) return ctx.NotFound("app");
  auto filter = ReadDeliveryFilter(ctx);
  if (!filter.ok()) return ctx.Fail(filter.status());
  if (auto webhook = ctx.request.QueryParam("webhook_id"); webhook && !webhook->empty()) {
    filter->webhook_id = WebhookId(std::move(*webhook));  // unknown or malformed: 404, like the path form
  }
  auto page = ctx.chat.ListDeliveries(ctx.principal, *app, *filter);
  if (!page.ok()) return ctx.Fail(page.status());
  return JsonResponse(200, DeliveryPage(*page));
}

http::Response GetDelivery(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  auto id = IdParam<DeliveryId>(ctx, 1);
  if (!app || !id) return ctx.NotFound("delivery");
  auto delivery = ctx.chat.GetDelivery(ctx.principal, *app, *id);
  if (!delivery.ok()) return ctx.Fail(delivery.status());
  return JsonResponse(200, ToJson(*delivery));
}

http::Response RetryDelivery(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  auto id = IdParam<DeliveryId>(ctx, 1);
  if (!app || !id) return ctx.NotFound("delivery");
  auto delivery = ctx.chat.RetryDelivery(ctx.principal, *app, *id);
  if (!delivery.ok()) return ctx.Fail(delivery.status());
  if (ctx.options.delivery_queued) ctx.options.delivery_queued();
  return JsonResponse(202, ToJson(*delivery));
}

// ---------------------------------------------------------------------------
// Email provider

http::Response GetEmailProvider(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  if (!app) return ctx.NotFound("app");
  auto provider = ctx.chat.GetEmailProvider(ctx.principal, *app);
  if (!provider.ok()) return ctx.Fail(provider.status());
  return JsonResponse(200, EmailProviderJson(*provider));
}

// Copies one setting value: a string, or an integer written as one ("port": 587).
// `path` names it in messages ("settings.port"); null means "not given".
void ReadSetting(const std::string& name, const std::string& path, const Json& value, EmailProviderConfig& config,
                 FieldReader& fields) {
  if (value.is_string()) {
    config.settings[name] = value.get<std::string>();
  } else if (value.is_number_integer() || value.is_number_unsigned()) {
    config.settings[name] = value.dump();
  } else if (!value.is_null()) {
    fields.Fail(path + " must be a string");
  }
}

// PUT {type, from, <setting>: "…", …}. The settings may also come nested as "settings": {…} (the shape GET
// returns, so a GET body can be edited and PUT back); "secrets_set" and "updated_at" are read-only and ignored.
http::Response PutEmailProvider(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  if (!app) return ctx.NotFound("app");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  EmailProviderConfig config;
  config.type = fields.RequiredEnum("type", kEmailProviderTypes);
  config.from = fields.RequiredString("from");
  if (const Json* nested = fields.OptionalObject("settings"); nested != nullptr && fields.ok()) {
    for (const auto& [name, value] : nested->items()) ReadSetting(name, "settings." + name, value, config, fields);
  }
  for (const auto& [name, value] : body->items()) {
    if (!fields.ok()) break;
    if (name == "type" || name == "from" || name == "settings" || name == "secrets_set" || name == "updated_at") {
      continue;
    }
    if (config.settings.count(name) != 0) {
      fields.Fail(name + " is given both at the top level and in settings");
      break;
    }
    ReadSetting(name, name, value, config, fields);
  }
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto provider = ctx.chat.PutEmailProvider(ctx.principal, *app, config);
  if (!provider.ok()) return ctx.Fail(provider.status());
  return JsonResponse(200, EmailProviderJson(*provider));
}

http::Response DeleteEmailProvider(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  if (!app) return ctx.NotFound("app");
  Status status = ctx.chat.DeleteEmailProvider(ctx.principal, *app);
  if (!status.ok()) return ctx.Fail(status);
  return NoContent();
}

// ---------------------------------------------------------------------------
// Delivery policy

http::Response GetDeliveryPolicy(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  if (!app) return ctx.NotFound("app");
  auto policy = ctx.chat.GetDeliveryPolicy(ctx.principal, *app);
  if (!policy.ok()) return ctx.Fail(policy.status());
  return JsonResponse(200, ToJson(*policy));
}

// PUT replaces the policy; a member left out takes its default (DeliveryPolicy).
http::Response PutDeliveryPolicy(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  if (!app) return ctx.NotFound("app");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  DeliveryPolicy policy;
  if (auto channels = ReadChannels(*body, "channels", /*required=*/false, fields)) policy.channels = *channels;
  if (auto offline = ReadDelay(fields, "offline_after_s", "offline_after_s")) policy.offline_after = *offline;
  if (auto fallback = ReadDelay(fields, "email_fallback_after_s", "email_fallback_after_s")) {
    policy.email_fallback_after = *fallback;
  }
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto stored = ctx.chat.PutDeliveryPolicy(ctx.principal, *app, policy);
  if (!stored.ok()) return ctx.Fail(stored.status());
  return JsonResponse(200, ToJson(*stored));
}

// ---------------------------------------------------------------------------
// Notifications

// "to": exactly one of customer_ids (customer ids), conversation_id or email.
void ReadRecipients(FieldReader& fields, NotificationRequest& request) {
  const Json* to = fields.OptionalObject("to");
  if (!fields.ok()) return;
  if (to == nullptr) {
    fields.Fail("to is required: {customer_ids} | {conversation_id} | {email}");
    return;
  }
  FieldReader nested(*to, "to.");
  int given = 0;
  if (auto ids = ReadStringArray(*to, "customer_ids", "to.customer_ids", /*required=*/false, nested)) {
    ++given;
    if (ids->empty()) nested.Fail("to.customer_ids must name at least one customer");
    for (std::size_t i = 0; i < ids->size() && nested.ok(); ++i) {
      if (!CustomerId::IsWellFormed((*ids)[i])) {
        nested.Fail("to.customer_ids[" + std::to_string(i) + "] must be a customer id (cus_…)");
      } else {
        request.customer_ids.emplace_back((*ids)[i]);
      }
    }
  }
  if (auto conversation = nested.OptionalString("conversation_id")) {
    ++given;
    if (!ConversationId::IsWellFormed(*conversation)) {
      nested.Fail("to.conversation_id must be a conversation id (conv_…)");
    } else {
      request.conversation_id = ConversationId(std::move(*conversation));
    }
  }
  if (auto email = nested.OptionalString("email")) {
    ++given;
    request.email = std::move(*email);
  }
  if (!nested.ok()) {
    fields.Fail(nested.status().message());
    return;
  }
  if (given != 1) fields.Fail("to must have exactly one of customer_ids, conversation_id or email");
}

void ReadFallback(FieldReader& fields, NotificationRequest& request) {
  const Json* object = fields.OptionalObject("fallback");
  if (object == nullptr || !fields.ok()) return;
  FieldReader nested(*object, "fallback.");
  NotificationFallback fallback;
  if (!nested.Has("after_s") || nested.IsNull("after_s")) {
    nested.Fail("fallback.after_s is required");
  } else if (auto after = ReadDelay(nested, "after_s", "fallback.after_s")) {
    fallback.after = *after;
  }
  if (auto channel = nested.OptionalString("channel")) {
    auto parsed = ParseDeliveryChannel(*channel);
    if (!parsed) {
      nested.Fail(std::string("fallback.channel must be one of ") + kChannelNames);
    } else {
      fallback.channel = *parsed;
    }
  }
  fallback.to_email = nested.OptionalString("to_email").value_or(std::string());
  if (!nested.ok()) {
    fields.Fail(nested.status().message());
    return;
  }
  request.fallback = std::move(fallback);
}

http::Response CreateNotification(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  if (!app) return ctx.NotFound("app");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  NotificationRequest request;
  ReadRecipients(fields, request);
  if (fields.ok()) {
    if (auto channels = ReadChannels(*body, "channels", /*required=*/true, fields)) {
      request.channels = std::move(*channels);
      if (request.channels.empty()) fields.Fail("channels must name at least one channel");
    }
  }
  request.subject = fields.OptionalString("subject").value_or(std::string());
  request.body = fields.RequiredString("body");
  request.html = fields.OptionalString("html").value_or(std::string());
  if (auto priority = fields.OptionalEnum("priority", kPriorities)) {
    request.priority = *ParseNotificationPriority(*priority);
  }
  if (auto scheduled = fields.OptionalString("scheduled_at")) {
    auto parsed = ParseTimestamp(*scheduled);
    if (!parsed.ok()) {
      fields.Fail("scheduled_at must be an RFC 3339 timestamp, e.g. 2026-01-01T00:00:00.000Z");
    } else {
      request.scheduled_at = *parsed;
    }
  }
  ReadFallback(fields, request);
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto notification = ctx.chat.CreateNotification(ctx.principal, *app, request);
  if (!notification.ok()) return ctx.Fail(notification.status());
  if (ctx.options.delivery_queued) ctx.options.delivery_queued();
  return JsonResponse(202, ToJson(*notification));
}

http::Response GetNotification(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  auto id = IdParam<NotificationId>(ctx, 1);
  if (!app || !id) return ctx.NotFound("notification");
  auto notification = ctx.chat.GetNotification(ctx.principal, *app, *id);
  if (!notification.ok()) return ctx.Fail(notification.status());
  return JsonResponse(200, ToJson(*notification));
}

http::Response CancelNotification(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  auto id = IdParam<NotificationId>(ctx, 1);
  if (!app || !id) return ctx.NotFound("notification");
  auto notification = ctx.chat.CancelNotification(ctx.principal, *app, *id);
  if (!notification.ok()) return ctx.Fail(notification.status());
  return JsonResponse(200, ToJson(*notification));
}

http::Response RetryNotification(RequestContext& ctx) {
  auto app = IdParam<AppId>(ctx, 0);
  auto id = IdParam<NotificationId>(ctx, 1);
  if (!app || !id) return ctx.NotFound("notification");
  auto notification = ctx.chat.RetryNotification(ctx.principal, *app, *id);
  if (!notification.ok()) return ctx.Fail(notification.status());
  if (ctx.options.delivery_queued) ctx.options.delivery_queued();
  return JsonResponse(202, ToJson(*notification));
}

}  // namespace

void AddDeliveryRoutes(Routes& routes) {
  Router<Route>& r = routes.router;
  r.Add("GET", "/v1/apps/{app_id}/webhooks", Route{&ListWebhooks, Auth::kRequired});
  r.Add("POST", "/v1/apps/{app_id}/webhooks", Route{&CreateWebhook, Auth::kRequired});
  r.Add("GET", "/v1/apps/{app_id}/webhooks/{webhook_id}", Route{&GetWebhook, Auth::kRequired});
  r.Add("PATCH", "/v1/apps/{app_id}/webhooks/{webhook_id}", Route{&UpdateWebhook, Auth::kRequired});
  r.Add("DELETE", "/v1/apps/{app_id}/webhooks/{webhook_id}", Route{&DeleteWebhook, Auth::kRequired});
  r.Add("POST", "/v1/apps/{app_id}/webhooks/{webhook_id}/rotate-secret",
        Route{&RotateWebhookSecret, Auth::kRequired});
  r.Add("GET", "/v1/apps/{app_id}/webhooks/{webhook_id}/deliveries", Route{&ListWebhookDeliveries, Auth::kRequired});
  r.Add("GET", "/v1/apps/{app_id}/deliveries", Route{&ListDeliveries, Auth::kRequired});
  r.Add("GET", "/v1/apps/{app_id}/deliveries/{delivery_id}", Route{&GetDelivery, Auth::kRequired});
  r.Add("POST", "/v1/apps/{app_id}/deliveries/{delivery_id}/retry", Route{&RetryDelivery, Auth::kRequired});
  r.Add("GET", "/v1/apps/{app_id}/email-provider", Route{&GetEmailProvider, Auth::kRequired});
  r.Add("PUT", "/v1/apps/{app_id}/email-provider", Route{&PutEmailProvider, Auth::kRequired});
  r.Add("DELETE", "/v1/apps/{app_id}/email-provider", Route{&DeleteEmailProvider, Auth::kRequired});
  r.Add("GET", "/v1/apps/{app_id}/delivery-policy", Route{&GetDeliveryPolicy, Auth::kRequired});
  r.Add("PUT", "/v1/apps/{app_id}/delivery-policy", Route{&PutDeliveryPolicy, Auth::kRequired});
  r.Add("POST", "/v1/apps/{app_id}/notifications", Route{&CreateNotification, Auth::kRequired});
  r.Add("GET", "/v1/apps/{app_id}/notifications/{notification_id}", Route{&GetNotification, Auth::kRequired});
  r.Add("DELETE", "/v1/apps/{app_id}/notifications/{notification_id}", Route{&CancelNotification, Auth::kRequired});
  r.Add("POST", "/v1/apps/{app_id}/notifications/{notification_id}/retry",
        Route{&RetryNotification, Auth::kRequired});
}

}  // namespace libchat::server::api
