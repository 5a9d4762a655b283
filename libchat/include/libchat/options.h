// Options: everything Chat::Open needs. Every field has a working default.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "libchat/providers/bus.h"
#include "libchat/providers/clock.h"
#include "libchat/providers/store.h"

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

  // Largest message text in bytes of UTF-8. Default: 32768.
  std::size_t max_message_bytes = 32 * 1024;
  // Largest metadata / theme / prechat JSON text in bytes. Default: 16384.
  std::size_t max_metadata_bytes = 16 * 1024;
  // Most members of one group or channel. Default: 10000.
  std::size_t max_conversation_members = 10000;
};

}  // namespace libchat
