// Options: everything Chat::Open needs. Every field has a working default.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "libchat/delivery_policy.h"
#include "libchat/providers/bus.h"
#include "libchat/providers/clock.h"
#include "libchat/providers/email.h"
#include "libchat/providers/http_client.h"
#include "libchat/providers/responder.h"
#include "libchat/providers/store.h"
#include "libchat/providers/webhook.h"

namespace libchat {

// Argon2id cost. Default: OWASP's minimum (19 MiB, 2 passes, 1 lane).
struct PasswordHashingOptions {
  // Default: 19456 (KiB). Values below 8192 are refused by Chat::Open.
  std::uint32_t memory_kib = 19456;
  // Default: 2. Values below 1 are refused.
  std::uint32_t iterations = 2;
  // Default: 1.
  std::uint32_t parallelism = 1;
};

// Token-bucket limits on what one tenant may ask of the server (Chat::ChargeRequest, Chat::ChargeSend).
// An app's own App::limits override these defaults (0 there means "the default"); see Chat::ChargeRequest.
struct RateLimitOptions {
  // Requests per second per app (all its keys, sessions and customers together), and per account for
  // account principals. Default: 0, meaning unlimited.
  double app_requests_per_s = 0;
  // Most requests an app may make at once after being idle. Default: 0, meaning max(1, ceil(rate)).
  std::int64_t app_burst = 0;
  // Messages one customer may send per minute. Default: 0, meaning unlimited.
  double customer_sends_per_min = 0;
  // Most messages one customer may send at once. Default: 0, meaning max(1, ceil(customer_sends_per_min)).
  std::int64_t customer_send_burst = 0;
};

// External delivery: the outbox worker, webhooks and email (see Chat::ProcessDueDeliveries).
struct DeliveryOptions {
  // Delay before each attempt of an external delivery, the first one included;
  // after the last attempt fails the delivery is dead-lettered. Each delay gets
  // +-20% jitter and is raised to a receiver's Retry-After.
  // Default: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
  std::vector<std::chrono::milliseconds> retry_schedule{
      std::chrono::milliseconds(0),        std::chrono::seconds(5), std::chrono::minutes(5),
      std::chrono::minutes(30),            std::chrono::hours(2),   std::chrono::hours(5),
      std::chrono::hours(10),              std::chrono::hours(10)};
  // Webhook request timeout. Default: 15 s.
  std::chrono::milliseconds webhook_timeout{15000};
  // How long a claimed delivery stays invisible to other workers; a worker that
  // dies mid-send lets it come back after this. Default: 2 min (> any timeout).
  std::chrono::milliseconds claim_lease{std::chrono::minutes(2)};
  // CIDR networks that webhook and email targets may resolve to even though they
  // are private, loopback or link-local ("127.0.0.0/8", "::1/128"). Default: none:
  // such targets are refused (SSRF protection).
  std::vector<std::string> allowed_private_networks;
  // Verify TLS certificates of webhook receivers and email APIs. Default: true.
  bool verify_tls = true;
  // Outbound HTTP. Default: nullptr, meaning NewCurlHttpClient() with the two settings above.
  std::shared_ptr<HttpClient> http_client;
  // Webhook sending. Default: nullptr, meaning NewHttpWebhookSender(http_client).
  std::shared_ptr<WebhookSender> webhook_sender;
  // Builds an app's email provider from its configuration. Default: empty,
  // meaning NewEmailProvider(config, http_client). A host (or a test) returns
  // its own provider here, e.g. a testing::RecordingEmailProvider.
  std::function<Result<std::shared_ptr<EmailProvider>>(const EmailProviderConfig&)> email_provider_factory;
  // Steps run after the built-in ones (see delivery_policy.h). Default: none.
  std::vector<std::shared_ptr<const PolicyStep>> policy_steps;
  // Key for AES-256-GCM encryption of provider credentials and webhook secrets
  // at rest: exactly 32 bytes. Default: empty, meaning the key in
  // `secrets_key_file`, created with a random key (mode 0600) when absent.
  std::string secrets_key;
  // Default: empty, meaning "<sqlite.path>.key" when libchat opens its own SQLite
  // store; with a host-supplied store and neither setting, a random key is used
  // for this process only (fine for in-memory stores, not for persistent ones).
  std::string secrets_key_file;
};

struct Options {
  // Durable state. Default: nullptr, meaning OpenSqliteStore(sqlite).
  std::shared_ptr<Store> store;
  // Used only when `store` is null. Default: see SqliteStoreOptions.
  SqliteStoreOptions sqlite;

  // Live events. Default: nullptr, meaning NewInProcessBus().
  std::shared_ptr<Bus> bus;

  // Source of time. Default: nullptr, meaning NewSystemClock().
  std::shared_ptr<Clock> clock;

  // HMAC key for HS256 tokens, at least 32 bytes. Default: empty, meaning a random
  // secret generated on first open and kept in the store, so tokens survive restarts.
  std::string jwt_secret;

  // Key that authenticates the admin principal (X-Master-Key). Default: empty,
  // meaning no admin principal can authenticate.
  std::string master_key;

  // Lifetime of account (dashboard) tokens. Default: 24 hours.
  std::chrono::seconds account_token_ttl{std::chrono::hours(24)};
  // Lifetime of customer session tokens issued to SDKs. Default: 30 days.
  std::chrono::seconds session_token_ttl{std::chrono::hours(24 * 30)};

  // Default: see PasswordHashingOptions.
  PasswordHashingOptions password_hashing;

  // Default: see RateLimitOptions (no limits).
  RateLimitOptions rate_limits;

  // Default: see DeliveryOptions.
  DeliveryOptions delivery;

  // Answers customers for apps whose bot is enabled (BotSettings). Default:
  // nullptr, meaning NewKnowledgeBaseResponder().
  std::shared_ptr<Responder> responder;

  // Largest message text in bytes of UTF-8. Default: 32768.
  std::size_t max_message_bytes = 32 * 1024;
  // Largest metadata / theme / prechat JSON text in bytes. Default: 16384.
  std::size_t max_metadata_bytes = 16 * 1024;
  // Most members of one group or channel. Default: 10000.
  std::size_t max_conversation_members = 10000;
};

}  // namespace libchat
