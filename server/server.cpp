#include "server/server.h"

#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>
#include <mutex>
#include <algorithm>

#include "server/api/api.h"
#include "server/http_connection.h"
#include "server/hub.h"
#include "server/openapi_document.h"
#include "server/server_context.h"
#include "server/util_random.h"

#ifndef LIBCHAT_VERSION
#define LIBCHAT_VERSION "0.0.0"
#endif

namespace libchat::server {

std::string ServerContext::NextRequestId() {
  const std::uint64_t n = next_request.fetch_add(1, std::memory_order_relaxed);
  return "req_" + process_prefix + std::to_string(n);
}

struct Server::State : std::enable_shared_from_this<Server::State> {
  State(asio::io_context& io_context, Chat& chat_ref, const ServerConfig& cfg, Logger& logger)
      : io(io_context),
        chat(chat_ref),
        config(cfg),
        log(logger),
        workers(static_cast<std::size_t>(cfg.worker_threads)),
        api(chat_ref, ApiOptions{LIBCHAT_VERSION, cfg.allowed_origins, std::string(OpenApiDocument())}),
        hub(chat_ref, counters),
        context{io, chat, config, log, api, hub, workers, counters, stopping, RandomConnectionId().substr(0, 6) + "_", {}},
        acceptor(asio::make_strand(io_context)) {}

  void Accept() {
    acceptor.async_accept(asio::make_strand(io), [self = shared_from_this()](const asio::error_code& ec,
                                                                               asio::ip::tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
        // Out of descriptors and the like: log, keep accepting.
        self->log.Warn("accept failed: " + ec.message());
      } else if (!self->stopping.load()) {
        auto connection = std::make_shared<HttpConnection>(std::move(socket), self->context);
        self->Track(connection);
        connection->Start();
      }
      self->Accept();
    });
  }

  void Track(const std::shared_ptr<HttpConnection>& connection) {
    std::lock_guard lock(connections_mutex);
    if (connections.size() >= 1024 && connections.size() >= 2 * live_after_prune) {
      connections.erase(std::remove_if(connections.begin(), connections.end(),
                                       [](const std::weak_ptr<HttpConnection>& w) { return w.expired(); }),
                        connections.end());
      live_after_prune = connections.size();
    }
    connections.push_back(connection);
  }

  asio::io_context& io;
  Chat& chat;
  ServerConfig config;
  Logger& log;
  asio::thread_pool workers;
  ServerCounters counters;
  std::atomic<bool> stopping{false};
  Api api;
  Hub hub;
  ServerContext context;
  asio::ip::tcp::acceptor acceptor;
  std::uint16_t port = 0;

  std::mutex connections_mutex;
  std::vector<std::weak_ptr<HttpConnection>> connections;
  std::size_t live_after_prune = 0;
  std::once_flag shutdown_once;
};

Server::Server(asio::io_context& io, Chat& chat, const ServerConfig& config, Logger& logger)
    : state_(std::make_shared<State>(io, chat, config, logger)) {}

Server::~Server() {
  Shutdown();
  state_->workers.join();
}

Status Server::Start() {
  State& s = *state_;
  asio::error_code ec;
  const auto address = asio::ip::make_address(s.config.listen_host, ec);
  if (ec) return InvalidArgumentError("listen address is not an IP address: " + s.config.listen_host);
  const asio::ip::tcp::endpoint endpoint(address, s.config.listen_port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return UnavailableError("cannot listen on " + s.config.listen_host + ":" + std::to_string(s.config.listen_port) +
                            ": " + ec.message());
  }
  s.port = s.acceptor.local_endpoint().port();
  s.Accept();
  return Status::Ok();
}

std::uint16_t Server::port() const { return state_->port; }

void Server::Shutdown() {
  State& s = *state_;
  std::call_once(s.shutdown_once, [&s] {
    s.stopping.store(true);
    // The acceptor lives on a strand: close it there, never concurrently with its handler.
    if (s.io.stopped()) {
      asio::error_code ignored;
      s.acceptor.close(ignored);
    } else {
      asio::post(s.acceptor.get_executor(), [state = s.shared_from_this()] {
        asio::error_code ignored;
        state->acceptor.close(ignored);
      });
    }
    s.hub.ShutdownAll(/*reconnect_after_ms=*/1000);
    std::vector<std::shared_ptr<HttpConnection>> open;
    {
      std::lock_guard lock(s.connections_mutex);
      for (const auto& weak : s.connections) {
        if (auto c = weak.lock()) open.push_back(std::move(c));
      }
    }
    for (const auto& connection : open) connection->StopGracefully();
  });
}

}  // namespace libchat::server
