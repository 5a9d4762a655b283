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
#include "server/config.h"
#include "server/logger.h"

namespace libchat::server {

class Hub;

struct ServerCounters {
  std::atomic<std::uint64_t> http_connections{0};
  std::atomic<std::uint64_t> http_requests{0};
  std::atomic<std::uint64_t> ws_connections{0};
  std::atomic<std::uint64_t> ws_slow_consumer_closes{0};
  std::atomic<std::uint64_t> events_delivered{0};
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

  // "req_<process prefix><counter>": unique, cheap, not secret.
  std::string NextRequestId();
  std::string process_prefix;
  std::atomic<std::uint64_t> next_request{0};
};

}  // namespace libchat::server
