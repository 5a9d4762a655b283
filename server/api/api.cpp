#include "server/api/api.h"

#include <utility>

#include <nlohmann/json.hpp>

#include "server/api/handler_util.h"
#include "server/json_codec.h"

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
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

const char* ErrorCodeFor(StatusCode code) {
  // The contract names the 429 code after its cause; every other code is the canonical name.
  return code == StatusCode::kResourceExhausted ? "rate_limited" : StatusCodeName(code);
}

http::Response ErrorResponse(int status, std::string_view code, std::string_view message,
                             std::string_view request_id) {
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
  if (status == 429) response.headers.push_back({"Retry-After", "1"});
  response.body = DumpJson(body);
  return response;
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

constexpr char kCorsAllowMethods[] = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
constexpr char kCorsAllowHeaders[] =
    "Authorization, Content-Type, Idempotency-Key, X-API-Key, X-Authorization-Key, X-User-Id, X-Request-Id";

}  // namespace
}  // namespace api

// ---------------------------------------------------------------------------
// Api

Api::Api(Chat& chat, ApiOptions options)
    : chat_(chat),
      options_(std::move(options)),
      started_(std::chrono::steady_clock::now()),
      routes_(std::make_unique<api::Routes>()) {
  routes_->router.Add("GET", "/health", api::Route{&api::Health, api::Auth::kNone});
  routes_->router.Add("GET", "/openapi.json", api::Route{&api::OpenApi, api::Auth::kNone});
  api::AddAccountRoutes(*routes_);
  api::AddAppRoutes(*routes_);
  api::AddSdkRoutes(*routes_);
  api::AddConversationRoutes(*routes_);
}

Api::~Api() = default;

bool Api::OriginAllowed(std::string_view origin) const {
  if (origin.empty()) return false;
  for (const std::string& allowed : options_.allowed_origins) {
    if (allowed == "*" || allowed == origin) return true;
  }
  return false;
}

void Api::AddCorsHeaders(const http::Request& request, http::Response& response) const {
  if (options_.allowed_origins.empty()) return;
  const std::string* origin = request.FindHeader("Origin");
  if (origin == nullptr || !OriginAllowed(*origin)) return;
  response.headers.push_back({"Access-Control-Allow-Origin", *origin});
  response.headers.push_back({"Vary", "Origin"});
  response.headers.push_back({"Access-Control-Expose-Headers", "X-Request-Id, WWW-Authenticate, Retry-After"});
}

http::Response Api::Dispatch(const http::Request& request, const std::string& request_id) {
  const bool is_options = request.method == "OPTIONS";
  if (is_options && request.FindHeader("Access-Control-Request-Method") != nullptr) {
    // A CORS preflight: answered for any path, without authentication (browsers send none).
    http::Response response = api::NoContent();
    const std::string* origin = request.FindHeader("Origin");
    if (origin != nullptr && OriginAllowed(*origin)) {
      response.headers.push_back({"Access-Control-Allow-Methods", api::kCorsAllowMethods});
      response.headers.push_back({"Access-Control-Allow-Headers", api::kCorsAllowHeaders});
      response.headers.push_back({"Access-Control-Max-Age", "600"});
    }
    return response;
  }

  auto match = routes_->router.Find(request.method, request.path);
  switch (match.outcome) {
    case api::RouteOutcome::kNotFound:
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
  if (match.handler->auth == api::Auth::kRequired) {
    auto principal = chat_.Authenticate(CredentialsFrom(request));
    if (!principal.ok()) return ErrorResponse(principal.status(), request_id);
    ctx.principal = std::move(principal).value();
  }
  return match.handler->handler(ctx);
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
