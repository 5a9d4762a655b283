// Server: the reference HTTP/1.1 + WebSocket server over a libchat::Chat.
//
// It runs on an asio::io_context owned by the caller, so a host can serve
// libchat next to its own handlers; libchat-server's main() is a thin wrapper.
//
//   asio::io_context io;
//   libchat::server::Server server(io, *chat, config, logger);
//   if (auto st = server.Start(); !st.ok()) ...
//   ... io.run() on one or more threads ...
//   server.Shutdown();  // from any thread: graceful
#pragma once

#include <asio/io_context.hpp>
#include <cstdint>
#include <memory>

#include "libchat/chat.h"
#include "libchat/server/config.h"
#include "libchat/server/logger.h"

namespace libchat::server {

class Server {
 public:
  // `chat` and `logger` must outlive the Server. Destroy the Server after the
  // io_context has stopped running its handlers (or after Shutdown() and run()
  // returning): the destructor waits for the worker threads and for the
  // delivery threads (config.delivery_workers) that Start begins and Shutdown stops.
  Server(asio::io_context& io, Chat& chat, const ServerConfig& config, Logger& logger);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. kUnavailable when the address cannot be bound.
  Status Start();
  // The bound port (useful with listen_port 0). Valid after Start.
  std::uint16_t port() const;

  // Graceful stop, callable from any thread (also from a handler on the
  // io_context) and idempotent; it does not block. It stops accepting, sends
  // `shutdown` to every WebSocket and closes it, and lets in-flight HTTP requests
  // finish and answer with "Connection: close". The io_context then runs out of
  // work once the last sockets have closed.
  void Shutdown();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace libchat::server
