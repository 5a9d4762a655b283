// Internals shared by the route groups of the HTTP API (accounts_routes.cpp, apps_routes.cpp, sdk_routes.cpp,
// conversations_routes.cpp): the per-request context, response builders and strict, non-throwing readers
// for JSON bodies and query parameters. Every reader reports a kInvalidArgument Status naming the field.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "libchat/chat.h"
#include "server/api/api.h"
#include "server/api/router.h"
#include "server/http/request.h"

namespace libchat::server::api {

using Json = nlohmann::json;

struct RequestContext {
  Chat& chat;
  const ApiOptions& options;
  const http::Request& request;
  const std::string& request_id;
  std::chrono::steady_clock::time_point started;  // of the Api, for uptime
  PathParams params;
  Principal principal;  // the authenticated caller, for routes that require one

  http::Response Fail(const Status& status) const { return ErrorResponse(status, request_id); }
  http::Response Fail(std::string message) const {
    return ErrorResponse(InvalidArgumentError(std::move(message)), request_id);
  }
  // The 404 a malformed or foreign id gets (the same as a missing resource).
  http::Response NotFound(std::string_view what) const;
};

using Handler = http::Response (*)(RequestContext&);

enum class Auth { kNone, kRequired };

// What a request costs besides authentication: every authenticated request one token of its principal's
// request bucket (Chat::ChargeRequest); a customer's message send also one of its send bucket (ChargeSend).
enum class Charge { kRequest, kMessageSend };

struct Route {
  Handler handler = nullptr;
  Auth auth = Auth::kRequired;
  Charge charge = Charge::kRequest;
};

struct Routes {
  Router<Route> router;
};

void AddAccountRoutes(Routes& routes);
void AddAppRoutes(Routes& routes);
void AddSdkRoutes(Routes& routes);
void AddConversationRoutes(Routes& routes);
void AddMemberRoutes(Routes& routes);
void AddDeliveryRoutes(Routes& routes);
void AddOperatorRoutes(Routes& routes);
void AddKnowledgeRoutes(Routes& routes);
void AddWidgetRoutes(Routes& routes);
void AddStaticRoutes(Routes& routes);  // GET /, /widget.js, /app/{file}

// --- responses

// `status` with body DumpJson(body) and Content-Type: application/json.
http::Response JsonResponse(int status, const Json& body);
// `status` with an already serialized JSON body (the hot paths write theirs directly).
http::Response JsonTextResponse(int status, std::string body);
http::Response NoContent();

// --- request bodies

inline constexpr int kMaxBodyNesting = 32;

// The body as a JSON object. An empty (or all-whitespace) body is {}; malformed JSON (including invalid UTF-8
// inside strings), nesting deeper than kMaxBodyNesting and any non-object value are kInvalidArgument.
Result<Json> ParseBodyObject(const http::Request& request);
// As ParseBodyObject, but a JSON array is accepted as well (for routes that take one item or a batch).
Result<Json> ParseBodyObjectOrArray(const http::Request& request);

// Reads the fields of one JSON object; the first problem is kept in status(). Absent fields, and null for
// fields where null has no meaning of its own, read as "not given". Unknown fields are ignored.
class FieldReader {
 public:
  // `prefix` names nested objects in messages ("customer." -> "customer.email must be a string").
  explicit FieldReader(const Json& object, std::string prefix = "")
      : object_(object), prefix_(std::move(prefix)) {}

  std::optional<std::string> OptionalString(const char* field);
  std::string RequiredString(const char* field);
  std::optional<bool> OptionalBool(const char* field);
  // A JSON integer in [0, 2^63); floats and strings are refused.
  std::optional<std::int64_t> OptionalNonNegativeInt(const char* field);
  std::int64_t RequiredNonNegativeInt(const char* field);
  // An object (or array), returned as compact JSON text for the facade.
  std::optional<std::string> OptionalObjectText(const char* field);
  std::optional<std::string> OptionalArrayText(const char* field);
  // The nested object itself (nullptr when absent or null; an error when another type).
  const Json* OptionalObject(const char* field);
  // Present with any value, including null.
  bool Has(const char* field) const { return object_.find(field) != object_.end(); }
  bool IsNull(const char* field) const;
  // One of `allowed` (null-terminated list of C strings); error "<field> must be one of a, b".
  std::optional<std::string> OptionalEnum(const char* field, const char* const* allowed);
  std::string RequiredEnum(const char* field, const char* const* allowed);

  void Fail(std::string message);
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

 private:
  const Json* Find(const char* field) const;
  std::string Name(const char* field) const { return prefix_ + field; }

  const Json& object_;
  std::string prefix_;
  Status status_;
};

// --- query parameters

// A decimal integer below 10^18: digits only, no sign. nullopt when absent or empty ("?limit="); anything
// else is kInvalidArgument.
Result<std::optional<std::int64_t>> QueryNonNegativeInt(const http::Request& request, std::string_view name);
// ?limit= for lists: absent -> 0 (the facade's default of 50); otherwise 1..200.
Result<int> QueryLimit(const http::Request& request);

// --- shared handler bodies

// The {id} path parameter as a conversation id; nullopt (answer 404) when it is malformed.
std::optional<ConversationId> ConversationParam(const RequestContext& ctx);
// Routes served identically under /v1/sdk/conversations/{id}/… and /v1/conversations/{id}/…:
// the core decides from the principal what each caller may see.
http::Response ListMessagesRoute(RequestContext& ctx);
http::Response MarkReadRoute(RequestContext& ctx);
http::Response TypingRoute(RequestContext& ctx);

// GET …/conversations/{id}/messages for both the SDK and the team: {data:[messages], has_more}.
http::Response ListMessagesResponse(RequestContext& ctx, const ConversationId& id);
// POST …/conversations/{id}/read {seq} -> 200 {receipt}.
http::Response MarkReadResponse(RequestContext& ctx, const ConversationId& id);
// POST …/conversations/{id}/typing {state:"start"|"stop"} -> 204.
http::Response TypingResponse(RequestContext& ctx, const ConversationId& id);
// A conversation list page: {data:[conversations], next_cursor} from ?status=&assignee=&type=&cursor=&limit=.
http::Response ListConversationsResponse(RequestContext& ctx, const AppId& app);

}  // namespace libchat::server::api
