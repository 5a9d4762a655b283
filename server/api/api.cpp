#include "server/api/api.h"

#include <algorithm>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "server/api/handler_util.h"
#include "server/api/host_routes.h"
#include "server/json_codec.h"
#include "server/ws_tickets.h"
#include "server/metrics.h"

namespace libchat::server {

using api::Json;

// ---------------------------------------------------------------------------
// Error mapping

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kAborted: return 409;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

const char* ErrorCodeFor(StatusCode code) {
  // The contract names the 429 code after its cause; every other code is the canonical name.
  return code == StatusCode::kResourceExhausted ? "rate_limited" : StatusCodeName(code);
}

http::Response ErrorResponse(int status, std::string_view code, std::string_view message,
                             std::string_view request_id, std::int64_t retry_after_s) {
  Json error = Json::object();
  error["code"] = code;
  error["message"] = message;
  error["request_id"] = request_id;
  Json body = Json::object();
  body["error"] = std::move(error);
  http::Response response;
  response.status = status;
  response.headers.reserve(6);
  response.headers.push_back({"Content-Type", "application/json"});
  if (!request_id.empty()) response.headers.push_back({"X-Request-Id", std::string(request_id)});
  if (status == 401) response.headers.push_back({"WWW-Authenticate", "Bearer"});
  if (status == 429) {
    response.headers.push_back({"Retry-After", std::to_string(std::max<std::int64_t>(1, retry_after_s))});
  }
  response.body = DumpJson(body);
  return response;
}

http::Response RateLimitedResponse(const RateLimitDecision& decision, std::string_view message,
                                   std::string_view request_id) {
  http::Response response = ErrorResponse(429, "rate_limited", message, request_id, decision.retry_after_s);
  AddRateLimitHeaders(decision, response);
  return response;
}

void AddRateLimitHeaders(const RateLimitDecision& decision, http::Response& response) {
  if (decision.limit <= 0) return;
  response.headers.push_back({"RateLimit-Limit", std::to_string(decision.limit)});
  response.headers.push_back({"RateLimit-Remaining", std::to_string(decision.remaining)});
  response.headers.push_back({"RateLimit-Reset", std::to_string(decision.reset_s)});
}

http::Response ErrorResponse(const Status& status, std::string_view request_id) {
  const StatusCode code = status.ok() ? StatusCode::kInternal : status.code();  // an OK "error" is a bug
  const std::string_view message =
      code == StatusCode::kInternal ? std::string_view("internal error") : std::string_view(status.message());
  return ErrorResponse(HttpStatusFor(code), ErrorCodeFor(code), message, request_id);
}

// ---------------------------------------------------------------------------
// Credentials

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "Bearer <token>" (scheme case-insensitive) -> token; anything else -> "".
std::string BearerToken(std::string_view value, bool bare_allowed) {
  value = Trim(value);
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() > kScheme.size() && http::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return std::string(Trim(value.substr(kScheme.size())));
  }
  return bare_allowed ? std::string(value) : std::string();
}

}  // namespace

Credentials CredentialsFrom(const http::Request& request) {
  Credentials credentials;
  if (const std::string* authorization = request.FindHeader("Authorization")) {
    credentials.bearer_token = BearerToken(*authorization, /*bare_allowed=*/false);
  }
  if (credentials.bearer_token.empty()) {
    if (const std::string* key = request.FindHeader("X-Authorization-Key")) {
      credentials.bearer_token = BearerToken(*key, /*bare_allowed=*/true);
    }
  }
  if (credentials.bearer_token.empty() && !request.query.empty()) {
    // For WebSocket upgrades, which browsers cannot give headers.
    if (auto token = request.QueryParam("token")) credentials.bearer_token = std::move(*token);
  }
  if (const std::string* key = request.FindHeader("X-API-Key")) credentials.api_key = std::string(Trim(*key));
  if (const std::string* user = request.FindHeader("X-User-Id")) credentials.user_id = std::string(Trim(*user));
  if (const std::string* master = request.FindHeader("X-Master-Key")) {
    credentials.master_key = std::string(Trim(*master));
  }
  return credentials;
}

// ---------------------------------------------------------------------------
// Operations routes

namespace api {
namespace {

http::Response Health(RequestContext& ctx) {
  const Status health = ctx.chat.CheckHealth();
  const auto uptime =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - ctx.started);
  Json body = Json::object();
  body["status"] = health.ok() ? "ok" : "unavailable";
  body["version"] = ctx.options.version;
  body["uptime_s"] = uptime.count();
  body["db_writable"] = health.ok();
  if (!health.ok()) {
    // Also an error object, so that every non-2xx response has the same shape.
    body["error"] = Json{{"code", "unavailable"}, {"message", "the store cannot commit writes"},
                         {"request_id", ctx.request_id}};
  }
  return JsonResponse(health.ok() ? 200 : 503, body);
}

http::Response OpenApi(RequestContext& ctx) {
  if (ctx.options.openapi_json.empty()) return ctx.NotFound("openapi document");
  http::Response response;
  response.headers.push_back({"Content-Type", "application/json"});
  response.body = ctx.options.openapi_json;
  return response;
}

// Equal without a timing side channel: both are hashed first, so neither the position of the first
// difference nor the token's length shows in the time taken.
bool SameSecret(std::string_view presented, std::string_view expected) {
  unsigned char a[SHA256_DIGEST_LENGTH];
  unsigned char b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

http::Response Metrics(RequestContext& ctx) {
  if (!ctx.options.render_metrics) return ctx.NotFound("metrics");
  if (!ctx.options.metrics_token.empty()) {
    const std::string* authorization = ctx.request.FindHeader("Authorization");
    const std::string token = authorization == nullptr ? std::string() : BearerToken(*authorization, false);
    if (!SameSecret(token, ctx.options.metrics_token)) {
      return ErrorResponse(401, "unauthenticated", "GET /metrics requires the metrics bearer token", ctx.request_id);
    }
  }
  http::Response response;
  response.headers.push_back({"Content-Type", kMetricsContentType});
  response.headers.push_back({"Cache-Control", "no-store"});
  response.body = ctx.options.render_metrics();
  return response;
}

// POST /v1/ws/ticket -> 201 {ticket, expires_at}: a single-use ticket for `GET /v1/ws?ticket=`, for
// the principals that may open a WebSocket (the same ones the upgrade accepts).
http::Response IssueWsTicket(RequestContext& ctx) {
  const PrincipalType type = ctx.principal.type;
  if (type == PrincipalType::kPublishable || type == PrincipalType::kAdmin) {
    return ctx.Fail(PermissionDeniedError("a session, account, operator or secret-key principal is required"));
  }
  auto ticket = ctx.options.ws_tickets->Issue(ctx.principal);
  if (!ticket.ok()) return ctx.Fail(ticket.status());
  Json body = Json::object();
  body["ticket"] = ticket->ticket;
  body["expires_at"] = FormatTimestamp(ticket->expires_at);
  return JsonResponse(201, body);
}

constexpr char kCorsAllowMethods[] = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
constexpr char kCorsAllowHeaders[] =
    "Authorization, Content-Type, Idempotency-Key, X-API-Key, X-Authorization-Key, X-User-Id, X-Request-Id";

}  // namespace
}  // namespace api

// ---------------------------------------------------------------------------
// Rate limits

namespace {

struct Charged {
  RateLimitDecision decision;
  bool send_refused = false;
};

// One request token, plus one message-send token on routes that post a message (only when the request was
// allowed). The decision reported is the refused one, or else the tighter of the two.
Charged ChargeRateLimits(Chat& chat, const Principal& principal, api::Charge charge) {
  Charged charged{chat.ChargeRequest(principal)};
  if (!charged.decision.allowed || charge != api::Charge::kMessageSend) return charged;
  const RateLimitDecision send = chat.ChargeSend(principal);
  const bool tighter =
      send.limit > 0 && (charged.decision.limit == 0 || send.remaining < charged.decision.remaining);
  if (!send.allowed || tighter) {
    charged.decision = send;
    charged.send_refused = !send.allowed;
  }
  return charged;
}

std::string RateLimitMessage(const Charged& charged) {
  return std::string(charged.send_refused ? "too many messages from this customer" : "too many requests") +
         "; retry in " + std::to_string(charged.decision.retry_after_s) + " s";
}

}  // namespace

// ---------------------------------------------------------------------------
// Api

Api::Api(Chat& chat, ApiOptions options)
    : chat_(chat),
      options_(std::move(options)),
      started_(std::chrono::steady_clock::now()),
      routes_(std::make_unique<api::Routes>()),
      host_routes_(std::make_unique<api::HostRoutes>()),
      idempotency_(options_.idempotency) {
  routes_->router.Add("GET", "/health", api::Route{&api::Health, api::Auth::kNone});
  routes_->router.Add("GET", "/openapi.json", api::Route{&api::OpenApi, api::Auth::kNone});
  if (!options_.ws_tickets) options_.ws_tickets = std::make_shared<WsTicketStore>();
  routes_->router.Add("POST", "/v1/ws/ticket", api::Route{&api::IssueWsTicket, api::Auth::kRequired});
  routes_->router.Add("GET", "/metrics", api::Route{&api::Metrics, api::Auth::kNone});
  api::AddAccountRoutes(*routes_);
  api::AddAppRoutes(*routes_);
  api::AddSdkRoutes(*routes_);
  api::AddConversationRoutes(*routes_);
  api::AddMemberRoutes(*routes_);
  api::AddDeliveryRoutes(*routes_);
  api::AddOperatorRoutes(*routes_);
  api::AddKnowledgeRoutes(*routes_);
  api::AddWidgetRoutes(*routes_);
  api::AddStaticRoutes(*routes_);
}

Api::~Api() = default;

Status Api::AddHostRoute(std::string_view method, std::string_view pattern, HostHandler handler) {
  return host_routes_->Add(method, pattern, std::move(handler), routes_->router.RouteTable());
}

bool Api::OriginAllowed(std::string_view origin) const {
  if (origin.empty()) return false;
  for (const std::string& allowed : options_.allowed_origins) {
    if (allowed == "*" || allowed == origin) return true;
  }
  return false;
}

namespace {

// The routes a widget on any site calls (/v1/sdk/*, /v1/public/*, /v1/ws/ticket) answer every Origin: they
// authenticate by headers (keys, bearer tokens), never by cookies, so another site's page learns nothing it
// could not fetch without a browser. The others keep CHAT_ALLOWED_ORIGINS.
bool IsOpenCorsPath(std::string_view path) {
  return path.rfind("/v1/sdk/", 0) == 0 || path.rfind("/v1/public/", 0) == 0 || path == "/v1/ws/ticket";
}

}  // namespace

void Api::AddCorsHeaders(const http::Request& request, http::Response& response) const {
  const std::string* origin = request.FindHeader("Origin");
  if (origin == nullptr || origin->empty()) return;
  if (!IsOpenCorsPath(request.path) && !OriginAllowed(*origin)) return;
  for (const http::Header& header : response.headers) {
    // The handler chose already (GET /widget.js: "*").
    if (http::EqualsIgnoreCase(header.name, "Access-Control-Allow-Origin")) return;
  }
  response.headers.push_back({"Access-Control-Allow-Origin", *origin});
  response.headers.push_back({"Vary", "Origin"});
  response.headers.push_back(
      {"Access-Control-Expose-Headers", "X-Request-Id, WWW-Authenticate, Retry-After, Idempotent-Replayed, "
                                        "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"});
}

http::Response Api::Dispatch(const http::Request& request, const std::string& request_id) {
  const bool is_options = request.method == "OPTIONS";
  if (is_options && request.FindHeader("Access-Control-Request-Method") != nullptr) {
    // A CORS preflight: answered for any path, without authentication (browsers send none).
    http::Response response = api::NoContent();
    const std::string* origin = request.FindHeader("Origin");
    if (origin != nullptr && !origin->empty() && (IsOpenCorsPath(request.path) || OriginAllowed(*origin))) {
      response.headers.push_back({"Access-Control-Allow-Methods", api::kCorsAllowMethods});
      response.headers.push_back({"Access-Control-Allow-Headers", api::kCorsAllowHeaders});
      response.headers.push_back({"Access-Control-Max-Age", "600"});
    }
    return response;
  }

  auto match = routes_->router.Find(request.method, request.path);
  switch (match.outcome) {
    case api::RouteOutcome::kNotFound:
      // The host's routes never share a path with libchat's (host_routes.h), so asking second decides nothing.
      if (auto response = host_routes_->Dispatch(request, request_id)) return std::move(*response);
      return ErrorResponse(404, "not_found", "no route matches this path", request_id);
    case api::RouteOutcome::kMethodNotAllowed: {
      if (is_options) {
        http::Response response = api::NoContent();
        response.headers.push_back({"Allow", *match.allow + ", OPTIONS"});
        return response;
      }
      http::Response response = ErrorResponse(405, "method_not_allowed",
                                              "method " + request.method + " is not allowed here", request_id);
      response.headers.push_back({"Allow", *match.allow + ", OPTIONS"});
      return response;
    }
    case api::RouteOutcome::kMatched:
      break;
  }

  api::RequestContext ctx{chat_, options_, request, request_id, started_, match.params, Principal()};
  RateLimitDecision limit;
  if (match.handler->auth == api::Auth::kRequired) {
    auto principal = chat_.Authenticate(CredentialsFrom(request));
    if (!principal.ok()) return ErrorResponse(principal.status(), request_id);
    ctx.principal = std::move(principal).value();
    // Exactly once per request, right after authentication and before any other work.
    const Charged charged = ChargeRateLimits(chat_, ctx.principal, match.handler->charge);
    limit = charged.decision;
    if (!limit.allowed) {
      if (options_.rate_limited_count != nullptr) options_.rate_limited_count->fetch_add(1, std::memory_order_relaxed);
      return RateLimitedResponse(limit, RateLimitMessage(charged), request_id);
    }
  }
  const std::string* idempotency_key = match.handler->auth == api::Auth::kRequired && request.method == "POST"
                                           ? request.FindHeader("Idempotency-Key")
                                           : nullptr;
  http::Response response = idempotency_key != nullptr
                                ? api::RunIdempotent(idempotency_, ctx, *idempotency_key, match.handler->handler)
                                : match.handler->handler(ctx);
  AddRateLimitHeaders(limit, response);
  return response;
}

http::Response Api::Handle(const http::Request& request, const std::string& request_id) {
  try {
    http::Response response;
    try {
      response = Dispatch(request, request_id);
    } catch (const nlohmann::json::exception&) {
      // Handlers read bodies with non-throwing accessors; this is the safety net for input that got past them.
      response = ErrorResponse(400, "invalid_argument", "malformed request", request_id);
    } catch (...) {
      // A bug, not bad input.
      response = ErrorResponse(500, "internal", "internal error", request_id);
    }
    bool has_id = false;
    for (const http::Header& header : response.headers) {
      if (header.name == "X-Request-Id") {
        has_id = true;
        break;
      }
    }
    if (!has_id) response.headers.push_back({"X-Request-Id", request_id});
    AddCorsHeaders(request, response);
    return response;
  } catch (...) {
    // Only allocation failure can get here; answer without allocating more than necessary.
    http::Response response;
    response.status = 503;
    return response;
  }
}

}  // namespace libchat::server
