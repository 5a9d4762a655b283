// What every connection of one Server shares. Internal to server/.
#pragma once

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "libchat/chat.h"
#include "server/api/api.h"
#include "libchat/server/config.h"
#include "libchat/server/logger.h"
#include "server/metrics.h"

namespace libchat::server {

class Hub;
class WsTicketStore;

struct ServerCounters {
  std::atomic<std::uint64_t> http_connections{0};
  std::atomic<std::uint64_t> http_requests{0};
  std::atomic<std::uint64_t> ws_connections{0};
  std::atomic<std::uint64_t> ws_slow_consumer_closes{0};
  std::atomic<std::uint64_t> events_delivered{0};
  // Exported at GET /metrics (server/metrics.cpp) with the fields above.
  std::atomic<std::uint64_t> ws_accepted{0};         // WebSocket sessions started, ever
  std::atomic<std::uint64_t> messages_appended{0};   // message.created events seen by the Hub
  std::atomic<std::uint64_t> rate_limited{0};        // requests answered 429 by the rate limiter
  // From Event::published_at to the write completion of the frame carrying it, once per delivered frame.
  Histogram publish_to_socket_us{PublishLatencyBucketsMicros(), 1e6};
};

struct ServerContext {
  asio::io_context& io;
  Chat& chat;
  const ServerConfig& config;
  Logger& log;
  Api& api;
  Hub& hub;
  // Runs blocking core calls so that no network thread waits on the store.
  asio::thread_pool& workers;
  ServerCounters& counters;
  std::atomic<bool>& stopping;
  // Issued by POST /v1/ws/ticket (the Api), redeemed by the WebSocket upgrade.
  WsTicketStore& ws_tickets;

  // "req_<process prefix><counter>": unique, cheap, not secret.
  std::string NextRequestId();
  std::string process_prefix;
  std::atomic<std::uint64_t> next_request{0};
};

}  // namespace libchat::server
