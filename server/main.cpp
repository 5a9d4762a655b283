// libchat-server: configuration in, Chat and Server up, signals to a graceful stop.
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "libchat/chat.h"
#include "libchat/server/config.h"
#include "libchat/server/logger.h"
#include "libchat/server/server.h"

int main(int argc, char** argv) {
  using namespace libchat;
  auto config = server::LoadConfig(std::vector<std::string>(argv + 1, argv + argc), [](const char* name) {
    return std::getenv(name);
  });
  if (!config.ok()) {
    std::fprintf(stderr, "libchat-server: %s\n", config.status().message().c_str());
    return 2;
  }
  if (config->show_help) {
    std::fputs(server::ConfigHelpText().c_str(), stdout);
    return 0;
  }
  if (config->show_version) {
    std::puts(LIBCHAT_VERSION);
    return 0;
  }
  server::Logger log(config->log_level);

  Options options;
  options.sqlite.path = config->database_path;
  options.sqlite.synchronous_full = config->database_sync_full;
  options.jwt_secret = config->jwt_secret;
  options.master_key = config->master_key;
  options.password_hashing.memory_kib = static_cast<std::uint32_t>(config->password_memory_kib);
  options.rate_limits.app_requests_per_s = config->rate_limit;
  options.rate_limits.app_burst = config->rate_burst;
  options.rate_limits.customer_sends_per_min = config->customer_send_limit;
  options.delivery.secrets_key = config->secrets_key;
  options.delivery.secrets_key_file = config->secrets_key_file;
  options.delivery.allowed_private_networks = config->outbound_allow_networks;
  options.delivery.webhook_timeout = std::chrono::milliseconds(config->webhook_timeout_ms);
  options.delivery.claim_lease = std::chrono::milliseconds(config->delivery_lease_ms);
  options.delivery.verify_tls = config->tls_verify;
  if (!config->delivery_retry_schedule_ms.empty()) {
    options.delivery.retry_schedule.clear();
    for (std::int64_t ms : config->delivery_retry_schedule_ms) {
      options.delivery.retry_schedule.push_back(std::chrono::milliseconds(ms));
    }
  }
  if (!config->llm_base_url.empty()) {
    // The model endpoint is the operator's own configuration, so it may be private (a model served next door);
    // tenants' webhook targets keep the outbound address policy.
    auto http = NewCurlHttpClient({config->outbound_allow_networks, 1 << 20, config->tls_verify});
    OpenAiResponderOptions llm;
    llm.base_url = config->llm_base_url;
    llm.model = config->llm_model;
    llm.api_key = config->llm_api_key;
    llm.timeout = std::chrono::milliseconds(config->llm_timeout_ms);
    Result<std::shared_ptr<Responder>> responder =
        http.ok() ? NewOpenAiResponder(std::move(llm), *http) : Result<std::shared_ptr<Responder>>(http.status());
    if (!responder.ok()) {
      log.Error("cannot set up the bot's model: " + responder.status().ToString());
      return 1;
    }
    options.responder = *responder;
  }
  auto chat = Chat::Open(std::move(options));
  if (!chat.ok()) {
    log.Error("cannot open the store " + config->database_path + ": " + chat.status().ToString());
    return 1;
  }

  asio::io_context io(config->io_threads);
  server::Server server(io, **chat, *config, log);
  if (Status st = server.Start(); !st.ok()) {
    log.Error(st.message());
    return 1;
  }
  log.Info("libchat-server " LIBCHAT_VERSION " listening on http://" + config->listen_host + ":" +
           std::to_string(server.port()) + " (store " + config->database_path + ")");

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int signal) {
    if (ec) return;
    log.Info(std::string("received ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");
    server.Shutdown();
  });

  std::vector<std::thread> threads;
  for (int i = 1; i < config->io_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  log.Info("stopped");
  return 0;
}
