#include "libchat/server/chat_options.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>

#include "libchat/providers/http_client.h"
#include "libchat/providers/responder.h"

namespace libchat::server {

Result<Options> ChatOptionsFromConfig(const ServerConfig& config) {
  Options options;
  options.sqlite.path = config.database_path;
  options.sqlite.synchronous_full = config.database_sync_full;
  options.jwt_secret = config.jwt_secret;
  options.master_key = config.master_key;
  options.password_hashing.memory_kib = static_cast<std::uint32_t>(config.password_memory_kib);
  options.rate_limits.app_requests_per_s = config.rate_limit;
  options.rate_limits.app_burst = config.rate_burst;
  options.rate_limits.customer_sends_per_min = config.customer_send_limit;
  options.delivery.secrets_key = config.secrets_key;
  options.delivery.secrets_key_file = config.secrets_key_file;
  options.delivery.allowed_private_networks = config.outbound_allow_networks;
  options.delivery.webhook_timeout = std::chrono::milliseconds(config.webhook_timeout_ms);
  options.delivery.claim_lease = std::chrono::milliseconds(config.delivery_lease_ms);
  options.delivery.verify_tls = config.tls_verify;
  if (!config.delivery_retry_schedule_ms.empty()) {
    options.delivery.retry_schedule.clear();
    for (std::int64_t ms : config.delivery_retry_schedule_ms) {
      options.delivery.retry_schedule.push_back(std::chrono::milliseconds(ms));
    }
  }
  if (!config.llm_base_url.empty()) {
    // The model endpoint is the operator's own configuration, so it may be private (a model served next door);
    // tenants' webhook targets keep the outbound address policy.
    auto http = NewCurlHttpClient({config.outbound_allow_networks, 1 << 20, config.tls_verify});
    if (!http.ok()) return Status(http.status().code(), "cannot set up the bot's model: " + http.status().message());
    OpenAiResponderOptions llm;
    llm.base_url = config.llm_base_url;
    llm.model = config.llm_model;
    llm.api_key = config.llm_api_key;
    llm.timeout = std::chrono::milliseconds(config.llm_timeout_ms);
    auto responder = NewOpenAiResponder(std::move(llm), *http);
    if (!responder.ok()) {
      return Status(responder.status().code(), "cannot set up the bot's model: " + responder.status().message());
    }
    options.responder = std::move(responder).value();
  }
  return options;
}

}  // namespace libchat::server
