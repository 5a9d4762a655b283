// Server: the reference HTTP/1.1 + WebSocket server over a libchat::Chat.
//
// It runs on an asio::io_context owned by the caller, so a host can serve
// libchat next to its own handlers (other acceptors, timers, clients on the same
// io_context) and add its own HTTP routes to libchat's listener (AddRoute);
// libchat-server's main() is a thin wrapper.
//
//   asio::io_context io;
//   libchat::server::Server server(io, *chat, config, logger);
//   server.AddRoute("GET", "/host/health", [](const HostRequest&) { return HostResponse{200, "", {}, "ok"}; });
//   if (auto st = server.Start(); !st.ok()) ...
//   ... io.run() on one or more threads ...
//   server.Shutdown();  // from any thread: graceful
//
// ChatOptionsFromConfig (libchat/server/chat_options.h) builds the Chat's Options from the same ServerConfig.
#pragma once

#include <asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <string_view>

#include "libchat/chat.h"
#include "libchat/export.h"
#include "libchat/server/config.h"
#include "libchat/server/host_route.h"
#include "libchat/server/logger.h"

namespace libchat::server {

class LIBCHAT_SERVER_API Server {
 public:
  // `chat` and `logger` must outlive the Server. Destroy the Server after the
  // io_context has stopped running its handlers (or after Shutdown() and run()
  // returning): the destructor waits for the worker threads and for the
  // delivery threads (config.delivery_workers) that Start begins and Shutdown stops.
  Server(asio::io_context& io, Chat& chat, const ServerConfig& config, Logger& logger);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves `handler` for requests `method` `pattern` on this server's listener, next to libchat's routes.
  // Call it before Start (kFailedPrecondition after), from the thread that constructs and starts the Server.
  //
  // `pattern` is a path: literal segments and "{name}" parameters that match one non-empty segment each
  // ("/host/orders/{id}"; at most 8 segments and 4 parameters), compared with the percent-decoded request
  // path. Precedence: none is needed between libchat and the host, because a path belongs to one of them.
  // A pattern that could match a path libchat routes (any method: GET /health, /widget.js, /app/{file}, ...)
  // is kAlreadyExists, and /v1 is reserved for libchat (kInvalidArgument), so a pattern must begin with a
  // literal segment of the host's own ("/host/...", "/api/..."). Between host routes the most specific
  // pattern wins (at the leftmost differing segment a literal beats a parameter), and the same method on the
  // same pattern twice, whatever its parameter names, is kAlreadyExists. OPTIONS (answered by the server with
  // Allow, and CORS preflights) cannot be registered; another method on a host path gets 405 with Allow.
  //
  // Host routes get no authentication, rate limiting or idempotency from libchat: the handler sees every
  // header (CredentialsFromHostRequest + Chat::Authenticate give it libchat's). Handlers run on the worker
  // pool; see HostHandler.
  Status AddRoute(std::string_view method, std::string_view pattern, HostHandler handler);

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
