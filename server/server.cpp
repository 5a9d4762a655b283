#include "libchat/server/server.h"

#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>
#include <algorithm>
#include <mutex>

#include "libchat/version.h"
#include "server/api/api.h"
#include "server/delivery_runner.h"
#include "server/http_connection.h"
#include "server/hub.h"
#include "server/metrics.h"
#include "server/openapi_document.h"
#include "server/server_context.h"
#include "server/util_random.h"
#include "server/ws_tickets.h"

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
        ws_tickets(std::make_shared<WsTicketStore>(TicketOptions(cfg))),
        delivery_runner(chat_ref, logger, RunnerOptions(cfg)),
        api(chat_ref, MakeApiOptions(cfg)),
        hub(chat_ref, counters, io_context, workers, logger, MakeHubOptions(cfg)),
        context{io, chat, config, log, api, hub, workers, counters, stopping, *ws_tickets,
                RandomConnectionId().substr(0, 6) + "_", {}},
        acceptor(asio::make_strand(io_context)),
        snooze_timer(asio::make_strand(io_context)) {}

  static WsTicketOptions TicketOptions(const ServerConfig& cfg) {
    WsTicketOptions options;
    options.ttl = std::chrono::milliseconds(cfg.ws_ticket_ttl_ms);
    return options;
  }

  static DeliveryRunnerOptions RunnerOptions(const ServerConfig& cfg) {
    DeliveryRunnerOptions options;
    options.workers = cfg.delivery_workers;
    return options;
  }

  static HubOptions MakeHubOptions(const ServerConfig& cfg) {
    HubOptions options;
    options.max_per_principal = static_cast<std::size_t>(cfg.ws_max_per_principal);
    options.presence_grace = std::chrono::milliseconds(cfg.presence_grace_ms);
    return options;
  }

  ApiOptions MakeApiOptions(const ServerConfig& cfg) {
    ApiOptions options;
    options.version = LIBCHAT_VERSION;
    options.allowed_origins = cfg.allowed_origins;
    options.public_url = cfg.public_url;
    const bool ipv6 = cfg.listen_host.find(':') != std::string::npos;
    options.listen_address = (ipv6 ? "[" + cfg.listen_host + "]" : cfg.listen_host) + ":" +
                             std::to_string(cfg.listen_port);
    options.openapi_json = std::string(OpenApiDocument());
    options.ws_tickets = ws_tickets;  // issued by the Api, redeemed by the upgrade
    // GET /metrics reads the counters and the store; the Api (a member) never outlives them.
    options.metrics_token = cfg.metrics_token;
    options.render_metrics = [this] { return RenderServerMetrics(counters, chat.GetStoreMetrics(), LIBCHAT_VERSION); };
    options.rate_limited_count = &counters.rate_limited;
    options.delivery_queued = [this] { delivery_runner.Wake(); };
    options.principal_revoked = [this](const std::string& principal_id) { hub.Disconnect(principal_id); };
    return options;
  }

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

  // Once a second, reopens snoozed conversations whose snoozed_until has passed (on the worker pool: it
  // reads and writes the store).
  void WakeSnoozedLoop() {
    snooze_timer.expires_after(std::chrono::seconds(1));
    snooze_timer.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec || self->stopping.load()) return;
      asio::post(self->workers, [self] {
        auto woken = self->chat.WakeSnoozedConversations();
        if (!woken.ok()) self->log.Warn("cannot wake snoozed conversations: " + woken.status().message());
        asio::post(self->snooze_timer.get_executor(), [self] {
          if (!self->stopping.load()) self->WakeSnoozedLoop();
        });
      });
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
  std::shared_ptr<WsTicketStore> ws_tickets;  // shared with the Api
  // Drains the outbox on its own threads; started by Start, stopped by Shutdown, joined by ~Server.
  DeliveryRunner delivery_runner;
  Api api;
  Hub hub;
  ServerContext context;
  asio::ip::tcp::acceptor acceptor;
  asio::steady_timer snooze_timer;  // on its own strand
  std::uint16_t port = 0;

  std::mutex connections_mutex;
  std::vector<std::weak_ptr<HttpConnection>> connections;
  std::size_t live_after_prune = 0;
  std::once_flag shutdown_once;
  std::atomic<bool> started{false};  // AddRoute is refused from Start on
};

Server::Server(asio::io_context& io, Chat& chat, const ServerConfig& config, Logger& logger)
    : state_(std::make_shared<State>(io, chat, config, logger)) {}

Server::~Server() {
  Shutdown();
  state_->delivery_runner.Stop();  // joins: no delivery runs once the Chat may be destroyed
  state_->workers.join();
}

Status Server::AddRoute(std::string_view method, std::string_view pattern, HostHandler handler) {
  if (state_->started.load()) {
    return FailedPreconditionError("host routes must be added before Server::Start");
  }
  return state_->api.AddHostRoute(method, pattern, std::move(handler));
}

Status Server::Start() {
  State& s = *state_;
  s.started.store(true);
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
  s.WakeSnoozedLoop();
  s.delivery_runner.Start();
  return Status::Ok();
}

std::uint16_t Server::port() const { return state_->port; }

void Server::Shutdown() {
  State& s = *state_;
  std::call_once(s.shutdown_once, [&s] {
    s.stopping.store(true);
    s.delivery_runner.RequestStop();
    // The acceptor lives on a strand: close it there, never concurrently with its handler.
    if (s.io.stopped()) {
      asio::error_code ignored;
      s.acceptor.close(ignored);
      s.snooze_timer.cancel();
    } else {
      asio::post(s.acceptor.get_executor(), [state = s.shared_from_this()] {
        asio::error_code ignored;
        state->acceptor.close(ignored);
      });
      asio::post(s.snooze_timer.get_executor(), [state = s.shared_from_this()] { state->snooze_timer.cancel(); });
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
