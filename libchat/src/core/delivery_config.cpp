// Delivery set-up and per-app delivery settings: the secrets key, the outbound
// HTTP client, the policy chain, the cached per-app configuration (webhook
// endpoints, delivery policy), and the email provider settings, whose secrets
// are sealed before they reach the store and never leave the core in clear.
#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/chat_impl.h"
#include "core/validation.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

using Json = nlohmann::json;

constexpr char kPolicySetting[] = "delivery_policy";
constexpr char kEmailSetting[] = "email_provider";
constexpr char kBotSetting[] = "bot";
constexpr char kAssignmentSetting[] = "assignment";
// How long a cached app delivery configuration / email provider is trusted: bounds how late this Chat
// sees changes made through another Chat (another process) over the same store.
constexpr std::chrono::seconds kDeliveryConfigTtl(2);
constexpr std::chrono::seconds kEmailProviderTtl(30);
constexpr std::size_t kMaxCachedConfigs = 10000;
constexpr std::int64_t kMaxPolicyDelayS = 30LL * 24 * 3600;  // 30 days

std::string EmailSecretAad(const AppId& app, const std::string& field) {
  return "email-provider:" + app.str() + ":" + field;
}

}  // namespace

bool AppDeliveryConfig::Wants(std::string_view event_type) const {
  for (const WebhookEndpoint& webhook : webhooks) {
    if (std::find(webhook.events.begin(), webhook.events.end(), event_type) != webhook.events.end()) return true;
  }
  return false;
}

bool AppDeliveryConfig::PolicyUses(DeliveryChannel channel) const {
  return std::find(policy.channels.begin(), policy.channels.end(), channel) != policy.channels.end();
}

Status Chat::Impl::OpenDelivery() {
  DeliveryOptions& delivery = options.delivery;
  if (delivery.retry_schedule.empty()) return InvalidArgumentError("delivery.retry_schedule must not be empty");
  for (auto delay : delivery.retry_schedule) {
    if (delay.count() < 0) return InvalidArgumentError("delivery.retry_schedule delays must not be negative");
  }
  if (delivery.webhook_timeout.count() <= 0 || delivery.claim_lease <= delivery.webhook_timeout) {
    return InvalidArgumentError("delivery.claim_lease must exceed a positive delivery.webhook_timeout");
  }
  LIBCHAT_ASSIGN_OR_RETURN(outbound_allowlist, internal::NetworkAllowlist::Parse(delivery.allowed_private_networks));

  std::string key = delivery.secrets_key;
  if (key.empty()) {
    std::string file = delivery.secrets_key_file;
    if (file.empty() && store_is_default_sqlite) file = options.sqlite.path + ".key";
    if (!file.empty()) {
      LIBCHAT_ASSIGN_OR_RETURN(key, internal::LoadOrCreateKeyFile(file));
    } else {
      key = internal::RandomBytes(32);  // a host store without a key: this process only (documented)
    }
  }
  LIBCHAT_ASSIGN_OR_RETURN(internal::SecretBox box, internal::SecretBox::Create(key));
  secret_box.emplace(std::move(box));

  if (!delivery.http_client) {
    CurlHttpClientOptions http;
    http.allowed_networks = delivery.allowed_private_networks;
    http.verify_tls = delivery.verify_tls;
    LIBCHAT_ASSIGN_OR_RETURN(delivery.http_client, NewCurlHttpClient(http));
  }
  if (!delivery.webhook_sender) delivery.webhook_sender = NewHttpWebhookSender(delivery.http_client);
  policy_steps = BuiltInPolicySteps();
  policy_steps.insert(policy_steps.end(), delivery.policy_steps.begin(), delivery.policy_steps.end());
  const std::string seed = internal::RandomBytes(8);
  for (unsigned char c : seed) jitter_state = (jitter_state << 8) | c;
  if (jitter_state == 0) jitter_state = 0x9E3779B97F4A7C15ULL;
  return Status::Ok();
}

Result<std::shared_ptr<const AppDeliveryConfig>> Chat::Impl::DeliveryConfigOf(const AppId& app) {
  const auto now = std::chrono::steady_clock::now();
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(delivery_config_mutex_);
    auto it = delivery_configs_.find(app.str());
    if (it != delivery_configs_.end() && now - it->second.loaded_at < kDeliveryConfigTtl) return it->second.config;
    generation = delivery_config_generation_;
  }
  auto config = std::make_shared<AppDeliveryConfig>();
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<StoredWebhook> webhooks, store->ListWebhooks(app));
  for (StoredWebhook& stored : webhooks) {
    if (stored.endpoint.enabled) config->webhooks.push_back(std::move(stored.endpoint));
  }
  LIBCHAT_ASSIGN_OR_RETURN(std::optional<std::string> policy_text, store->GetAppSetting(app, kPolicySetting));
  if (policy_text) {
    Json j = Json::parse(*policy_text, nullptr, false);
    if (j.is_object()) {
      config->policy.channels.clear();
      for (const Json& channel : j.value("channels", Json::array())) {
        if (!channel.is_string()) continue;
        auto parsed = ParseDeliveryChannel(channel.get<std::string>());
        if (parsed && *parsed != DeliveryChannel::kBot) config->policy.channels.push_back(*parsed);
      }
      config->policy.offline_after = std::chrono::seconds(j.value("offline_after_s", std::int64_t{60}));
      config->policy.email_fallback_after = std::chrono::seconds(j.value("email_fallback_after_s", std::int64_t{300}));
    }
  }
  LIBCHAT_ASSIGN_OR_RETURN(std::optional<std::string> email_text, store->GetAppSetting(app, kEmailSetting));
  config->has_email_provider = email_text.has_value();
  // The bot and the assignment mode: defaults for anything missing or unreadable (the core wrote it).
  LIBCHAT_ASSIGN_OR_RETURN(std::optional<std::string> bot_text, store->GetAppSetting(app, kBotSetting));
  if (bot_text) {
    Json j = Json::parse(*bot_text, nullptr, false);
    if (j.is_object()) {
      if (j.contains("enabled") && j["enabled"].is_boolean()) config->bot.enabled = j["enabled"].get<bool>();
      if (j.contains("min_score") && j["min_score"].is_number()) {
        const double min_score = j["min_score"].get<double>();
        if (std::isfinite(min_score)) config->bot.min_score = std::clamp(min_score, 0.0, 1.0);
      }
      if (j.contains("name") && j["name"].is_string() && !j["name"].get<std::string>().empty()) {
        config->bot.name = j["name"].get<std::string>();
      }
    }
  }
  LIBCHAT_ASSIGN_OR_RETURN(std::optional<std::string> assignment_text, store->GetAppSetting(app, kAssignmentSetting));
  if (assignment_text) {
    Json j = Json::parse(*assignment_text, nullptr, false);
    if (j.is_object() && j.contains("mode") && j["mode"].is_string()) {
      if (auto mode = ParseAssignmentMode(j["mode"].get<std::string>())) config->assignment.mode = *mode;
    }
  }

  std::lock_guard lock(delivery_config_mutex_);
  if (generation == delivery_config_generation_) {  // no change of ours raced with this load
    if (delivery_configs_.size() >= kMaxCachedConfigs) delivery_configs_.clear();
    delivery_configs_[app.str()] = CachedDeliveryConfig{config, now};
  }
  return std::shared_ptr<const AppDeliveryConfig>(std::move(config));
}

void Chat::Impl::ForgetDeliveryConfig(const AppId& app) {
  {
    std::lock_guard lock(delivery_config_mutex_);
    delivery_configs_.erase(app.str());
    ++delivery_config_generation_;
  }
  std::lock_guard lock(email_providers_mutex_);
  email_providers_.erase(app.str());
}

// ---------------------------------------------------------------------------
// Email provider settings: {"type","from","settings":{…},"sealed":{field: sealed},"updated_at"} in the store.

Result<EmailProviderConfig> Chat::Impl::LoadEmailProviderConfig(const AppId& app, Timestamp* updated_at) {
  LIBCHAT_ASSIGN_OR_RETURN(std::optional<std::string> text, store->GetAppSetting(app, kEmailSetting));
  if (!text) return NotFoundError("no email provider is configured");
  Json j = Json::parse(*text, nullptr, false);
  if (!j.is_object()) return InternalError("stored email provider settings are unreadable");
  EmailProviderConfig config;
  config.type = j.value("type", "");
  config.from = j.value("from", "");
  // Named, not iterated as temporaries: items() refers into its object, which a temporary would not outlive.
  const Json settings = j.value("settings", Json::object());
  const Json sealed = j.value("sealed", Json::object());
  for (const auto& [name, value] : settings.items()) {
    if (value.is_string()) config.settings[name] = value.get<std::string>();
  }
  for (const auto& [name, value] : sealed.items()) {
    if (!value.is_string()) continue;
    LIBCHAT_ASSIGN_OR_RETURN(config.settings[name], secret_box->Open(value.get<std::string>(), EmailSecretAad(app, name)));
  }
  if (updated_at) *updated_at = Timestamp(std::chrono::milliseconds(j.value("updated_at", std::int64_t{0})));
  return config;
}

Result<Chat::Impl::AppEmail> Chat::Impl::EmailProviderOf(const AppId& app) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(email_providers_mutex_);
    auto it = email_providers_.find(app.str());
    if (it != email_providers_.end() && now - it->second.loaded_at < kEmailProviderTtl) return it->second.email;
  }
  LIBCHAT_ASSIGN_OR_RETURN(EmailProviderConfig config, LoadEmailProviderConfig(app, nullptr));
  std::shared_ptr<EmailProvider> provider;
  if (options.delivery.email_provider_factory) {
    LIBCHAT_ASSIGN_OR_RETURN(provider, options.delivery.email_provider_factory(config));
  } else {
    LIBCHAT_ASSIGN_OR_RETURN(provider, NewEmailProvider(config, options.delivery.http_client,
                                                        options.delivery.allowed_private_networks));
  }
  if (!provider) return InternalError("the email provider factory returned nothing");
  std::lock_guard lock(email_providers_mutex_);
  if (email_providers_.size() >= kMaxCachedConfigs) email_providers_.clear();
  AppEmail email{std::move(provider), config.from};
  email_providers_[app.str()] = CachedEmailProvider{email, now};
  return email;
}

namespace {

EmailProviderSettings PublicView(const EmailProviderConfig& config, Timestamp updated_at) {
  EmailProviderSettings view;
  view.config.type = config.type;
  view.config.from = config.from;
  for (const auto& [name, value] : config.settings) {
    if (IsSecretEmailSetting(name)) {
      view.secrets_set.push_back(name);
    } else {
      view.config.settings[name] = value;
    }
  }
  view.updated_at = updated_at;
  return view;
}

}  // namespace

Result<EmailProviderSettings> Chat::GetEmailProvider(const Principal& principal, const AppId& app) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  Timestamp updated_at;
  LIBCHAT_ASSIGN_OR_RETURN(EmailProviderConfig config, impl.LoadEmailProviderConfig(app, &updated_at));
  return PublicView(config, updated_at);
}

Result<EmailProviderSettings> Chat::PutEmailProvider(const Principal& principal, const AppId& app,
                                                     const EmailProviderConfig& request) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  std::lock_guard lock(impl.entity_locks.For("email-provider:" + app.str()));
  EmailProviderConfig config = request;
  // A secret left out keeps its stored value when the type stays the same: the
  // API never shows secrets, so a client editing `from` cannot send them back.
  auto previous = impl.LoadEmailProviderConfig(app, nullptr);
  if (previous.ok() && previous->type == config.type) {
    for (const auto& [name, value] : previous->settings) {
      if (IsSecretEmailSetting(name) && config.settings.find(name) == config.settings.end()) {
        config.settings[name] = value;
      }
    }
  } else if (!previous.ok() && previous.status().code() != StatusCode::kNotFound) {
    return previous.status();
  }
  for (const auto& [name, value] : config.settings) {
    LIBCHAT_RETURN_IF_ERROR(internal::ValidateText(name, value, 0, 4096));
  }
  LIBCHAT_RETURN_IF_ERROR(ValidateEmailProviderConfig(config));
  if (config.type == "smtp") {
    // Refused again on connect; checked here too so that the owner hears of it now, not in a dead letter.
    const std::string& host = config.settings["host"];
    const std::string literal = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    // Only a refusal counts here: a name that does not resolve yet fails at send time like any outage.
    Status target = internal::CheckUrlTarget("https://" + literal + "/", impl.outbound_allowlist);
    if (target.code() == StatusCode::kPermissionDenied) return InvalidArgumentError("host: " + target.message());
  }
  const Timestamp now = impl.Now();
  Json stored = Json::object();
  stored["type"] = config.type;
  stored["from"] = config.from;
  stored["settings"] = Json::object();
  stored["sealed"] = Json::object();
  for (const auto& [name, value] : config.settings) {
    if (IsSecretEmailSetting(name)) {
      stored["sealed"][name] = impl.secret_box->Seal(value, EmailSecretAad(app, name));
    } else {
      stored["settings"][name] = value;
    }
  }
  stored["updated_at"] = now.time_since_epoch().count();
  LIBCHAT_RETURN_IF_ERROR(impl.store->PutAppSetting(app, kEmailSetting, stored.dump()));
  impl.ForgetDeliveryConfig(app);
  return PublicView(config, now);
}

Status Chat::DeleteEmailProvider(const Principal& principal, const AppId& app) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  LIBCHAT_ASSIGN_OR_RETURN(std::optional<std::string> existing, impl.store->GetAppSetting(app, kEmailSetting));
  if (!existing) return NotFoundError("no email provider is configured");
  LIBCHAT_RETURN_IF_ERROR(impl.store->PutAppSetting(app, kEmailSetting, ""));
  impl.ForgetDeliveryConfig(app);
  return Status::Ok();
}

Result<DeliveryPolicy> Chat::GetDeliveryPolicy(const Principal& principal, const AppId& app) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const AppDeliveryConfig> config, impl.DeliveryConfigOf(app));
  return config->policy;
}

Result<DeliveryPolicy> Chat::PutDeliveryPolicy(const Principal& principal, const AppId& app,
                                               const DeliveryPolicy& policy) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  if (policy.offline_after.count() < 0 || policy.offline_after.count() > kMaxPolicyDelayS ||
      policy.email_fallback_after.count() < 0 || policy.email_fallback_after.count() > kMaxPolicyDelayS) {
    return InvalidArgumentError("policy delays must be between 0 and 30 days");
  }
  DeliveryPolicy normalized = policy;
  // The socket always comes first; each channel once.
  std::vector<DeliveryChannel> channels{DeliveryChannel::kWebSocket};
  for (DeliveryChannel channel : policy.channels) {
    if (channel == DeliveryChannel::kPush) return InvalidArgumentError("channel push has no provider yet");
    if (channel == DeliveryChannel::kBot) return InvalidArgumentError("channel bot is internal to the bot");
    if (std::find(channels.begin(), channels.end(), channel) == channels.end()) channels.push_back(channel);
  }
  normalized.channels = channels;
  Json stored = Json::object();
  stored["channels"] = Json::array();
  for (DeliveryChannel channel : normalized.channels) stored["channels"].push_back(DeliveryChannelName(channel));
  stored["offline_after_s"] = normalized.offline_after.count();
  stored["email_fallback_after_s"] = normalized.email_fallback_after.count();
  LIBCHAT_RETURN_IF_ERROR(impl.store->PutAppSetting(app, kPolicySetting, stored.dump()));
  impl.ForgetDeliveryConfig(app);
  return normalized;
}

}  // namespace libchat
