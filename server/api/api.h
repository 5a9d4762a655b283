// The reference server's HTTP API: a pure request -> response function over the libchat facade (API.md).
// No I/O and no Asio here: the network layer parses a request, calls Api::Handle on a worker thread (the
// facade blocks until writes are durable) and writes back the response.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "libchat/chat.h"
#include "libchat/server/host_route.h"
#include "server/api/idempotency.h"
#include "server/http/request.h"

namespace libchat::server {

class WsTicketStore;

struct ApiOptions {
  std::string version;                       // reported by /health
  // CORS; empty = none; "*" = any origin. /v1/sdk/*, /v1/public/* and /v1/ws/ticket (what an embedded widget
  // calls) answer every Origin regardless.
  std::vector<std::string> allowed_origins;
  std::string openapi_json;                  // served verbatim at GET /openapi.json (empty -> 404)
  // The base URL of GET /v1/apps/{app_id}/widget/embed's snippet (CHAT_PUBLIC_URL, validated by the config).
  // Empty: "http://" + the request's Host header, or + listen_address when the Host is missing or malformed.
  std::string public_url;
  std::string listen_address;  // "host:port" ("[::1]:8080") the server listens on
  // POST /v1/ws/ticket issues into this store; the transport redeems from the same one on
  // `GET /v1/ws?ticket=`. Null: the Api makes its own (tickets nobody redeems, for hosts without WebSockets).
  std::shared_ptr<WsTicketStore> ws_tickets;
  // Renders GET /metrics (Prometheus text format 0.0.4, server/metrics.h); empty -> 404. Called on request
  // threads, possibly concurrently.
  std::function<std::string()> render_metrics;
  // When not empty, GET /metrics requires "Authorization: Bearer <metrics_token>" (compared in constant time).
  std::string metrics_token;
  // Idempotency-Key on authenticated POSTs (server/api/idempotency.h): bounds, TTL, clock.
  api::IdempotencyOptions idempotency;
  // Incremented on every request refused with 429 rate_limited (Chat::ChargeRequest / ChargeSend); may be null.
  std::atomic<std::uint64_t>* rate_limited_count = nullptr;
  // Called after a request queued outbox work that is due now (a notification created, a delivery or a
  // notification retried), so that a delivery worker can start at once instead of at its next poll. Must not
  // block; may be empty.
  std::function<void()> delivery_queued;
  // Called after a principal's rights ended (an operator made inactive or deleted), so that the transport
  // closes its live connections at once instead of leaving them open and silent. Must not block; may be empty.
  std::function<void(const std::string& principal_id)> principal_revoked;
};

namespace api {
struct Routes;
class HostRoutes;
}  // namespace api

// Thread-safe: Handle may run on many threads at once (its only mutable state, the Idempotency-Key cache,
// locks itself).
class Api {
 public:
  Api(Chat& chat, ApiOptions options);  // records the start time for uptime_s
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Never throws and never returns 5xx for bad client input. Every response carries "X-Request-Id:
  // <request_id>" and, when the request's Origin is allowed, "Access-Control-Allow-Origin: <origin>" and
  // "Vary: Origin". CORS preflights (OPTIONS with Access-Control-Request-Method) get 204 with
  // Access-Control-Allow-Methods/-Headers/-Max-Age; a plain OPTIONS on a known path gets 204 with Allow.
  // JSON bodies come with "Content-Type: application/json".
  http::Response Handle(const http::Request& request, const std::string& request_id);

  // Serves `handler` for `method` on `pattern` next to libchat's routes (Server::AddRoute; the rules are in
  // server/api/host_routes.h). Not thread-safe: call it before Handle is first called.
  Status AddHostRoute(std::string_view method, std::string_view pattern, HostHandler handler);

 private:
  http::Response Dispatch(const http::Request& request, const std::string& request_id);
  void AddCorsHeaders(const http::Request& request, http::Response& response) const;
  bool OriginAllowed(std::string_view origin) const;

  Chat& chat_;
  ApiOptions options_;
  std::chrono::steady_clock::time_point started_;
  std::unique_ptr<api::Routes> routes_;
  std::unique_ptr<api::HostRoutes> host_routes_;
  api::IdempotencyCache idempotency_;
};

// {"error":{"code","message","request_id"}} with Content-Type and X-Request-Id (when request_id is not
// empty); a 401 also gets "WWW-Authenticate: Bearer" and a 429 "Retry-After: <retry_after_s>" (1 unless a
// limiter computed the wait).
http::Response ErrorResponse(int status, std::string_view code, std::string_view message,
                             std::string_view request_id, std::int64_t retry_after_s = 1);
// The 429 rate_limited answer to a refused charge: Retry-After from the decision, and its RateLimit-* headers.
http::Response RateLimitedResponse(const RateLimitDecision& decision, std::string_view message,
                                   std::string_view request_id);
// "RateLimit-Limit", "RateLimit-Remaining" and "RateLimit-Reset" (seconds until the bucket is full) of a
// decision that a limit applied to (limit > 0); nothing for an unlimited one.
void AddRateLimitHeaders(const RateLimitDecision& decision, http::Response& response);
// The error response for a non-OK Status: HttpStatusFor / ErrorCodeFor, and the Status message except for
// kInternal, whose details never leave the process ("internal error").
http::Response ErrorResponse(const Status& status, std::string_view request_id);
// The contract's mapping: 400, 401, 403, 404, 409 (already_exists, aborted, failed_precondition), 429, 503,
// 500; 200 for kOk.
int HttpStatusFor(StatusCode code);
// "invalid_argument", "unauthenticated", "permission_denied", "not_found", "already_exists", "conflict",
// "failed_precondition", "rate_limited", "unavailable", "internal" ("ok" for kOk).
const char* ErrorCodeFor(StatusCode code);
// Authorization: Bearer <jwt> (else X-Authorization-Key, else ?token= for WebSocket upgrades), X-API-Key,
// X-User-Id, X-Master-Key. Absent ones stay empty; Chat::Authenticate decides what they are worth.
Credentials CredentialsFrom(const http::Request& request);

}  // namespace libchat::server
