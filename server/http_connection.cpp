#include "server/http_connection.h"

#include <asio/buffer.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include <array>
#include <optional>

#include "server/api/api.h"
#include "server/http/request.h"
#include "server/ws/codec.h"
#include "server/ws_session.h"
#include "server/ws_tickets.h"

namespace libchat::server {

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(60);

char* ThreadReadBuffer(std::size_t& size) {
  thread_local std::array<char, 64 * 1024> buffer;
  size = buffer.size();
  return buffer.data();
}

const char* ParserErrorCode(int status) {
  switch (status) {
    case 413:
    case 431: return "too_large";
    case 501: return "not_implemented";
    default: return "invalid_argument";
  }
}

bool IsUpgradeToWebSocket(const http::Request& request) {
  const std::string* upgrade = request.FindHeader("Upgrade");
  return upgrade != nullptr && http::HasToken(*upgrade, "websocket");
}

bool OriginAllowed(const std::vector<std::string>& allowed, const std::string* origin) {
  // Bearer tokens (not cookies) authenticate WebSockets, so with no list every
  // origin is allowed; with a list, a browser's Origin must be on it.
  if (allowed.empty() || origin == nullptr) return true;
  for (const std::string& a : allowed) {
    if (a == "*" || a == *origin) return true;
  }
  return false;
}

}  // namespace

HttpConnection::HttpConnection(asio::ip::tcp::socket socket, ServerContext& context)
    : socket_(std::move(socket)),
      idle_timer_(socket_.get_executor()),
      context_(context),
      parser_(http::ParserLimits{16 * 1024, 100, context.config.max_body_bytes}) {
  context_.counters.http_connections.fetch_add(1, std::memory_order_relaxed);
}

HttpConnection::~HttpConnection() { context_.counters.http_connections.fetch_sub(1, std::memory_order_relaxed); }

void HttpConnection::Start() {
  asio::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  // Reads wait for readiness and then drain with read_some until it would block; in blocking mode a
  // spurious readiness would park this I/O thread in read() forever. The mode stays with the socket
  // when it moves into a WsSession.
  socket_.non_blocking(true, ignored);
  ArmIdleTimer();
  ReadLoop();
}

void HttpConnection::StopGracefully() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->busy_) {
      self->stop_after_response_ = true;
    } else {
      self->Close();
    }
  });
}

void HttpConnection::ArmIdleTimer() {
  idle_timer_.expires_after(kIdleTimeout);
  idle_timer_.async_wait([weak = weak_from_this()](const asio::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->busy_) return;
    self->Close();
  });
}

void HttpConnection::ReadLoop() {
  if (reading_ || closed_ || busy_) return;
  reading_ = true;
  socket_.async_wait(asio::ip::tcp::socket::wait_read, [self = shared_from_this()](const asio::error_code& ec) {
    self->reading_ = false;
    if (ec) return self->Close();
    self->OnReadable();
  });
}

void HttpConnection::OnReadable() {
  if (closed_) return;
  std::size_t capacity = 0;
  char* buffer = ThreadReadBuffer(capacity);
  asio::error_code ec;
  const std::size_t n = socket_.read_some(asio::buffer(buffer, capacity), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) return ReadLoop();
  if (ec) return Close();  // EOF or reset
  pending_.append(buffer, n);
  Process();
}

void HttpConnection::Process() {
  while (!busy_ && !closed_ && !pending_.empty()) {
    const std::size_t used = parser_.Feed(pending_);
    pending_.erase(0, used);
    switch (parser_.state()) {
      case http::RequestParser::State::kNeedMore:
        if (used == 0 && !pending_.empty()) return Close();  // parser made no progress: give up on this client
        continue;
      case http::RequestParser::State::kError: {
        busy_ = true;
        const int status = parser_.error_status();
        Write(ErrorResponse(status, ParserErrorCode(status), parser_.error_message(), context_.NextRequestId()),
              /*keep_alive=*/false);
        return;
      }
      case http::RequestParser::State::kComplete:
        busy_ = true;
        Dispatch(parser_.TakeRequest());
        return;
    }
  }
  ReadLoop();
}

void HttpConnection::Dispatch(http::Request request) {
  context_.counters.http_requests.fetch_add(1, std::memory_order_relaxed);
  std::string request_id = context_.NextRequestId();
  if (request.path == "/v1/ws" && IsUpgradeToWebSocket(request)) return Upgrade(std::move(request), std::move(request_id));
  const bool keep_alive = request.KeepAlive();
  asio::post(context_.workers, [self = shared_from_this(), request = std::move(request),
                                request_id = std::move(request_id), keep_alive]() mutable {
    auto response = std::make_shared<http::Response>(self->context_.api.Handle(request, request_id));
    asio::post(self->socket_.get_executor(), [self, response, keep_alive] { self->Write(*response, keep_alive); });
  });
}

void HttpConnection::Upgrade(http::Request request, std::string request_id) {
  const std::string* version = request.FindHeader("Sec-WebSocket-Version");
  const std::string* key = request.FindHeader("Sec-WebSocket-Key");
  const std::string* connection = request.FindHeader("Connection");
  if (request.method != "GET" || key == nullptr || key->size() != 24 || connection == nullptr ||
      !http::HasToken(*connection, "upgrade")) {
    return Write(ErrorResponse(400, "invalid_argument", "not a valid WebSocket handshake", request_id), false);
  }
  if (version == nullptr || *version != "13") {
    http::Response response = ErrorResponse(426, "invalid_argument", "WebSocket version 13 is required", request_id);
    response.headers.push_back({"Sec-WebSocket-Version", "13"});
    return Write(response, false);
  }
  // CHAT_ALLOWED_ORIGINS guards the team's connections (accounts, operators, app servers). A customer's
  // session is made to be embedded: the widget runs on the app's own sites, whatever their origin, and it
  // authenticates with a ticket or token, never a cookie, so its Origin is not checked (decided below, once
  // the principal is known).
  const bool origin_allowed = OriginAllowed(context_.config.allowed_origins, request.FindHeader("Origin"));
  asio::post(context_.workers, [self = shared_from_this(), request = std::move(request),
                                request_id = std::move(request_id), origin_allowed]() mutable {
    // A browser's `?ticket=` (POST /v1/ws/ticket) stands for the principal it was issued to and is used up
    // here; a bad one is 401 even when other credentials are present.
    std::optional<std::string> ticket = request.QueryParam("ticket");
    const auto origin_accepts = [origin_allowed](const Principal& p) {
      return origin_allowed || p.type == PrincipalType::kCustomer;
    };
    auto principal = std::make_shared<Result<Principal>>(
        ticket ? self->context_.ws_tickets.Redeem(*ticket, origin_accepts)
               : self->context_.chat.Authenticate(CredentialsFrom(request)));
    if (principal->ok() && !origin_accepts(**principal)) {
      *principal = PermissionDeniedError("origin not allowed");
    }
    // The upgrade is a request like any other and costs a token. Charging it here, off the strand, also caches
    // the app's limits, so that the session can charge each frame on its strand without reading the store.
    RateLimitDecision limit;
    if (principal->ok()) limit = self->context_.chat.ChargeRequest(**principal);
    asio::post(self->socket_.get_executor(), [self, principal, limit, request = std::move(request), request_id]() {
      if (!principal->ok()) {
        return self->Write(ErrorResponse(principal->status(), request_id), false);
      }

      if (!limit.allowed) {
        self->context_.counters.rate_limited.fetch_add(1, std::memory_order_relaxed);
        return self->Write(RateLimitedResponse(limit, "too many requests; retry in " +
                                                          std::to_string(limit.retry_after_s) + " s", request_id),
                           false);
      }
      const PrincipalType type = (*principal)->type;
      if (type == PrincipalType::kPublishable || type == PrincipalType::kAdmin) {
        return self->Write(
            ErrorResponse(403, "permission_denied", "a session, account, operator or secret-key principal is required", request_id),
            false);
      }
      if (self->context_.stopping.load()) {
        return self->Write(ErrorResponse(503, "unavailable", "server is shutting down", request_id), false);
      }
      http::Response response;
      response.status = 101;
      response.headers = {{"Upgrade", "websocket"},
                          {"Connection", "Upgrade"},
                          {"Sec-WebSocket-Accept", ws::AcceptKey(*request.FindHeader("Sec-WebSocket-Key"))},
                          {"X-Request-Id", request_id}};
      AddRateLimitHeaders(limit, response);
      self->out_ = http::Serialize(response, /*keep_alive=*/true);
      asio::async_write(self->socket_, asio::buffer(self->out_),
                        [self, principal](const asio::error_code& ec, std::size_t) {
                          if (ec) return self->Close();
                          self->idle_timer_.cancel();
                          self->closed_ = true;  // the socket now belongs to the session
                          auto session = std::make_shared<WsSession>(std::move(self->socket_), **principal,
                                                                     self->context_, std::move(self->pending_));
                          session->Start();
                        });
    });
  });
}

void HttpConnection::Write(const http::Response& response, bool keep_alive) {
  keep_alive = keep_alive && !stop_after_response_ && !context_.stopping.load();
  out_ = http::Serialize(response, keep_alive);
  asio::async_write(socket_, asio::buffer(out_),
                    [self = shared_from_this(), keep_alive](const asio::error_code& ec, std::size_t) {
                      // StopGracefully may have run while this response was being written.
                      if (ec || !keep_alive || self->stop_after_response_ || self->context_.stopping.load()) {
                        asio::error_code ignored;
                        self->socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                        return self->Close();
                      }
                      self->busy_ = false;
                      self->parser_.Reset();
                      self->ArmIdleTimer();
                      self->Process();
                    });
}

void HttpConnection::Close() {
  if (closed_) return;
  closed_ = true;
  idle_timer_.cancel();
  asio::error_code ignored;
  socket_.close(ignored);
}

}  // namespace libchat::server
