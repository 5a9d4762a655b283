// Operators, their tokens and how conversations get an assignee (API.md "Accounts and operators"):
//   POST       /v1/operators                    one {name, email?, app_ids?} -> 201 operator,
//                                               or an array of 1..100 of them -> 201 {data:[operators]}
//   GET        /v1/operators?app_id=&status=&cursor=&limit= -> {data, next_cursor}
//   GET|PATCH  /v1/operators/{id}               PATCH {status?, name?, email?, app_ids?}
//   POST       /v1/operators/{id}/tokens        {expires_at} -> 201 {token, expires_at}
//   POST       /v1/tokens/validate              {token} -> 200 {valid, principal_type, operator_id, account_id,
//                                               expires_at, error}; needs no credentials
//   GET|PUT    /v1/apps/{app_id}/assignment     {mode:"manual"|"round_robin"}
// Bodies are read strictly here (a wrong type, an unknown status or a malformed id is a 400 naming the field);
// the core decides who may do what, and answers another tenant's operators and apps like missing ones (404).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/api/handler_util.h"
#include "server/json_codec.h"

namespace libchat::server::api {
namespace {

// One request creates at most this many operators (API.md).
constexpr std::size_t kMaxOperatorBatch = 100;
// More apps than any account has; a body of a million ids is refused before the core sees it.
constexpr std::size_t kMaxAppIds = 1000;

const char* const kOperatorStatuses[] = {"active", "inactive", "deleted", nullptr};
const char* const kAssignmentModes[] = {"manual", "round_robin", nullptr};

std::optional<OperatorId> OperatorParam(const RequestContext& ctx) {
  const std::string_view raw = ctx.params[0];
  if (!OperatorId::IsWellFormed(raw)) return std::nullopt;
  return OperatorId(std::string(raw));
}

std::optional<AppId> AppParam(const RequestContext& ctx) {
  const std::string_view raw = ctx.params[0];
  if (!AppId::IsWellFormed(raw)) return std::nullopt;
  return AppId(std::string(raw));
}

// "app_ids": an array of app ids. A malformed id is a 400 here; a well-formed one the caller does not own is
// the core's 404. nullopt when absent (or null) or on error.
std::optional<std::vector<AppId>> ReadAppIds(const Json& object, const std::string& prefix, FieldReader& fields) {
  const auto it = object.find("app_ids");
  if (it == object.end() || it->is_null()) return std::nullopt;
  const std::string name = prefix + "app_ids";
  if (!it->is_array()) {
    fields.Fail(name + " must be an array of app ids");
    return std::nullopt;
  }
  if (it->size() > kMaxAppIds) {
    fields.Fail(name + " must have at most " + std::to_string(kMaxAppIds) + " items");
    return std::nullopt;
  }
  std::vector<AppId> out;
  out.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    const Json& item = (*it)[i];
    if (!item.is_string() || !AppId::IsWellFormed(item.get_ref<const std::string&>())) {
      fields.Fail(name + "[" + std::to_string(i) + "] must be an app id (app_…)");
      return std::nullopt;
    }
    out.emplace_back(item.get<std::string>());
  }
  return out;
}

// One operator of a POST body; `prefix` names it in messages ("[3]." in a batch).
OperatorCreate ReadOperatorCreate(const Json& item, const std::string& prefix, FieldReader& fields) {
  OperatorCreate create;
  if (!item.is_object()) {
    fields.Fail(prefix.empty() ? "an operator must be a JSON object"
                               : prefix.substr(0, prefix.size() - 1) + " must be a JSON object");
    return create;
  }
  FieldReader nested(item, prefix);
  create.name = nested.RequiredString("name");
  create.email = nested.OptionalString("email").value_or(std::string());
  if (nested.ok()) create.app_ids = ReadAppIds(item, prefix, nested).value_or(std::vector<AppId>());
  if (!nested.ok()) fields.Fail(nested.status().message());
  return create;
}

Json OperatorPage(const Page<Operator>& page) {
  Json data = Json::array();
  for (const Operator& op : page.data) data.push_back(ToJson(op));
  Json out = Json::object();
  out["data"] = std::move(data);
  out["next_cursor"] = page.next_cursor.empty() ? Json(nullptr) : Json(page.next_cursor);
  return out;
}

// ---------------------------------------------------------------------------
// Operators

http::Response CreateOperators(RequestContext& ctx) {
  auto body = ParseBodyObjectOrArray(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  const Json no_fields = Json::object();
  FieldReader fields(no_fields);  // collects the first problem of any item
  std::vector<OperatorCreate> batch;
  const bool is_batch = body->is_array();
  if (is_batch) {
    if (body->empty() || body->size() > kMaxOperatorBatch) {
      return ctx.Fail("a batch must have 1 to " + std::to_string(kMaxOperatorBatch) + " operators");
    }
    batch.reserve(body->size());
    for (std::size_t i = 0; i < body->size() && fields.ok(); ++i) {
      batch.push_back(ReadOperatorCreate((*body)[i], "[" + std::to_string(i) + "].", fields));
    }
  } else {
    batch.push_back(ReadOperatorCreate(*body, "", fields));
  }
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto created = ctx.chat.CreateOperators(ctx.principal, batch);
  if (!created.ok()) return ctx.Fail(created.status());
  if (!is_batch) {
    if (created->size() != 1) return ctx.Fail(InternalError("one operator asked for, " +
                                                            std::to_string(created->size()) + " created"));
    return JsonResponse(201, ToJson(created->front()));
  }
  Json data = Json::array();
  for (const Operator& op : *created) data.push_back(ToJson(op));
  Json out = Json::object();
  out["data"] = std::move(data);
  return JsonResponse(201, out);
}

http::Response ListOperators(RequestContext& ctx) {
  OperatorFilter filter;
  // An empty value ("?app_id=&status=") means "not given", as elsewhere.
  if (auto app = ctx.request.QueryParam("app_id"); app && !app->empty()) {
    if (!AppId::IsWellFormed(*app)) return ctx.NotFound("app");  // as a malformed id in a path
    filter.app_id = AppId(std::move(*app));
  }
  if (auto status = ctx.request.QueryParam("status"); status && !status->empty()) {
    filter.status = ParseOperatorStatus(*status);
    if (!filter.status) return ctx.Fail("status must be one of active, inactive, deleted");
  }
  if (auto cursor = ctx.request.QueryParam("cursor")) filter.cursor = std::move(*cursor);
  auto limit = QueryLimit(ctx.request);
  if (!limit.ok()) return ctx.Fail(limit.status());
  filter.limit = *limit == 0 ? 50 : *limit;
  auto page = ctx.chat.ListOperators(ctx.principal, filter);
  if (!page.ok()) return ctx.Fail(page.status());
  return JsonResponse(200, OperatorPage(*page));
}

http::Response GetOperator(RequestContext& ctx) {
  auto id = OperatorParam(ctx);
  if (!id) return ctx.NotFound("operator");
  auto op = ctx.chat.GetOperator(ctx.principal, *id);
  if (!op.ok()) return ctx.Fail(op.status());
  return JsonResponse(200, ToJson(*op));
}

http::Response UpdateOperator(RequestContext& ctx) {
  auto id = OperatorParam(ctx);
  if (!id) return ctx.NotFound("operator");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  OperatorUpdate update;
  if (auto status = fields.OptionalEnum("status", kOperatorStatuses)) update.status = ParseOperatorStatus(*status);
  update.name = fields.OptionalString("name");
  update.email = fields.OptionalString("email");
  if (fields.ok()) update.app_ids = ReadAppIds(*body, "", fields);
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto op = ctx.chat.UpdateOperator(ctx.principal, *id, update);
  if (!op.ok()) return ctx.Fail(op.status());
  // Its tokens already fail; its open WebSockets are closed too.
  if (op->status != OperatorStatus::kActive && ctx.options.principal_revoked) ctx.options.principal_revoked(op->id.str());
  return JsonResponse(200, ToJson(*op));
}

http::Response CreateOperatorToken(RequestContext& ctx) {
  auto id = OperatorParam(ctx);
  if (!id) return ctx.NotFound("operator");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  const std::string raw = fields.RequiredString("expires_at");
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto expires_at = ParseTimestamp(raw);
  if (!expires_at.ok()) return ctx.Fail("expires_at must be an RFC 3339 timestamp, e.g. 2026-01-01T00:00:00.000Z");
  auto token = ctx.chat.CreateOperatorToken(ctx.principal, *id, *expires_at);
  if (!token.ok()) return ctx.Fail(token.status());
  Json out = Json::object();
  out["token"] = token->token;
  out["expires_at"] = FormatTimestamp(token->expires_at);
  return JsonResponse(201, out);
}

// Answers 200 for every token, valid or not: the verdict is the body. Members that do not apply are null.
http::Response ValidateToken(RequestContext& ctx) {
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  const std::string token = fields.RequiredString("token");
  if (!fields.ok()) return ctx.Fail(fields.status());
  const TokenInfo info = ctx.chat.ValidateToken(token);
  Json out = Json::object();
  out["valid"] = info.valid;
  out["principal_type"] = info.valid ? Json(PrincipalTypeName(info.principal_type)) : Json(nullptr);
  out["operator_id"] = info.valid && info.principal_type == PrincipalType::kOperator && !info.principal_id.empty()
                           ? Json(info.principal_id)
                           : Json(nullptr);
  out["account_id"] = info.valid && !info.account_id.empty() ? Json(info.account_id.str()) : Json(nullptr);
  out["expires_at"] = info.valid && info.expires_at ? Json(FormatTimestamp(*info.expires_at)) : Json(nullptr);
  out["error"] = info.valid ? Json(nullptr) : Json(info.error.empty() ? std::string("invalid token") : info.error);
  return JsonResponse(200, out);
}

// ---------------------------------------------------------------------------
// Assignment

http::Response GetAssignment(RequestContext& ctx) {
  auto app = AppParam(ctx);
  if (!app) return ctx.NotFound("app");
  auto assignment = ctx.chat.GetAssignment(ctx.principal, *app);
  if (!assignment.ok()) return ctx.Fail(assignment.status());
  return JsonResponse(200, ToJson(*assignment));
}

http::Response PutAssignment(RequestContext& ctx) {
  auto app = AppParam(ctx);
  if (!app) return ctx.NotFound("app");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  const std::string mode = fields.RequiredEnum("mode", kAssignmentModes);
  if (!fields.ok()) return ctx.Fail(fields.status());
  AssignmentSettings settings;
  settings.mode = ParseAssignmentMode(mode).value_or(AssignmentMode::kManual);
  auto stored = ctx.chat.PutAssignment(ctx.principal, *app, settings);
  if (!stored.ok()) return ctx.Fail(stored.status());
  return JsonResponse(200, ToJson(*stored));
}

}  // namespace

void AddOperatorRoutes(Routes& routes) {
  Router<Route>& r = routes.router;
  r.Add("GET", "/v1/operators", Route{&ListOperators, Auth::kRequired});
  r.Add("POST", "/v1/operators", Route{&CreateOperators, Auth::kRequired});
  r.Add("GET", "/v1/operators/{id}", Route{&GetOperator, Auth::kRequired});
  r.Add("PATCH", "/v1/operators/{id}", Route{&UpdateOperator, Auth::kRequired});
  r.Add("POST", "/v1/operators/{id}/tokens", Route{&CreateOperatorToken, Auth::kRequired});
  r.Add("POST", "/v1/tokens/validate", Route{&ValidateToken, Auth::kNone});
  r.Add("GET", "/v1/apps/{app_id}/assignment", Route{&GetAssignment, Auth::kRequired});
  r.Add("PUT", "/v1/apps/{app_id}/assignment", Route{&PutAssignment, Auth::kRequired});
}

}  // namespace libchat::server::api
