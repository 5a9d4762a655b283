// WebhookSender: how libchat posts a webhook (Standard Webhooks,
// https://www.standardwebhooks.com). The default signs and sends through an
// HttpClient; a host can supply its own (a queue of its own, a test double).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "libchat/export.h"
#include "libchat/providers/http_client.h"
#include "libchat/providers/send_outcome.h"
#include "libchat/types.h"

namespace libchat {

struct WebhookRequest {
  std::string url;
  std::string id;         // "webhook-id": the delivery id, the same on every retry
  Timestamp timestamp;    // "webhook-timestamp" (sent in whole seconds): this attempt's time
  std::string body;       // {"type","timestamp","data"} exactly as it is signed and sent
  // "whsec_…" secrets; one "v1,<signature>" per secret goes into
  // webhook-signature (two during a secret rotation).
  std::vector<std::string> secrets;
  std::chrono::milliseconds timeout{15000};
  bool public_addresses_only = true;
};

// Thread-safety: Send may be called concurrently; it blocks (network I/O).
// Outcome: 2xx delivered; 410 kGone; anything else (3xx included: redirects
// are not followed), timeouts and network errors kRetry, with Retry-After
// honoured; a refused (private) target is kPermanent.
class LIBCHAT_API WebhookSender {
 public:
  virtual ~WebhookSender() = default;
  virtual SendOutcome Send(const WebhookRequest& request) = 0;
};

// The Standard Webhooks sender over `http`.
LIBCHAT_API std::shared_ptr<WebhookSender> NewHttpWebhookSender(std::shared_ptr<HttpClient> http);

// "v1,<base64 HMAC-SHA256(secret bytes, id + "." + seconds + "." + body)>" for a
// "whsec_<base64>" secret; kInvalidArgument for a malformed secret.
LIBCHAT_API Result<std::string> SignWebhook(const std::string& secret, const std::string& id, std::int64_t timestamp_s,
                                const std::string& body);

// A new "whsec_" secret (24 random bytes, base64).
LIBCHAT_API std::string NewWebhookSecret();

}  // namespace libchat
