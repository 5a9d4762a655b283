// /v1/apps*: an account's apps (tenants) and their keys.
#include "server/api/handler_util.h"
#include "server/json_codec.h"

namespace libchat::server::api {
namespace {

// The {app_id} path parameter; nullopt (answer 404) when it cannot be an app id at all.
std::optional<AppId> AppParam(const RequestContext& ctx) {
  const std::string_view raw = ctx.params[0];
  if (!AppId::IsWellFormed(raw)) return std::nullopt;
  return AppId(std::string(raw));
}

// A rate in the "limits" object: any JSON number (integers and fractions); range checks are the core's.
std::optional<double> ReadRate(const Json& limits, const char* field, FieldReader& fields) {
  auto it = limits.find(field);
  if (it == limits.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) {
    fields.Fail(std::string("limits.") + field + " must be a number");
    return std::nullopt;
  }
  return it->get<double>();
}

// The optional "limits" object {requests_per_s, burst, customer_sends_per_min}: the app's overrides of the
// server's rate limits. It is taken as a whole: a member left out is 0, the server's default.
std::optional<AppLimits> ReadLimits(FieldReader& fields) {
  const Json* object = fields.OptionalObject("limits");
  if (object == nullptr) return std::nullopt;
  AppLimits limits;
  FieldReader nested(*object, "limits.");
  limits.requests_per_s = ReadRate(*object, "requests_per_s", nested).value_or(0);
  limits.burst = nested.OptionalNonNegativeInt("burst").value_or(0);
  limits.customer_sends_per_min = ReadRate(*object, "customer_sends_per_min", nested).value_or(0);
  if (!nested.ok()) fields.Fail(nested.status().message());
  return limits;
}

http::Response CreateApp(RequestContext& ctx) {
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  AppCreate request;
  request.name = fields.RequiredString("name");
  request.theme_json = fields.OptionalObjectText("theme");
  request.prechat_json = fields.OptionalArrayText("prechat");
  request.identity_verification = fields.OptionalBool("identity_verification").value_or(false);
  request.limits = ReadLimits(fields);
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto created = ctx.chat.CreateApp(ctx.principal, request);
  if (!created.ok()) return ctx.Fail(created.status());
  Json out = Json::object();
  out["app"] = ToJson(created->app);
  out["publishable_key"] = created->app.publishable_key;
  out["secret_key"] = created->secret_key;
  out["identity_secret"] = created->identity_secret;
  return JsonResponse(201, out);
}

http::Response ListApps(RequestContext& ctx) {
  auto limit = QueryLimit(ctx.request);
  if (!limit.ok()) return ctx.Fail(limit.status());
  const std::string cursor = ctx.request.QueryParam("cursor").value_or(std::string());
  auto page = ctx.chat.ListApps(ctx.principal, cursor, *limit);
  if (!page.ok()) return ctx.Fail(page.status());
  Json data = Json::array();
  for (const App& app : page->data) data.push_back(ToJson(app));
  Json out = Json::object();
  out["data"] = std::move(data);
  out["next_cursor"] = page->next_cursor.empty() ? Json(nullptr) : Json(page->next_cursor);
  return JsonResponse(200, out);
}

http::Response GetApp(RequestContext& ctx) {
  auto id = AppParam(ctx);
  if (!id) return ctx.NotFound("app");
  auto app = ctx.chat.GetApp(ctx.principal, *id);
  if (!app.ok()) return ctx.Fail(app.status());
  return JsonResponse(200, ToJson(*app));
}

http::Response UpdateApp(RequestContext& ctx) {
  auto id = AppParam(ctx);
  if (!id) return ctx.NotFound("app");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  AppUpdate update;
  update.name = fields.OptionalString("name");
  update.theme_json = fields.OptionalObjectText("theme");
  update.prechat_json = fields.OptionalArrayText("prechat");
  update.identity_verification = fields.OptionalBool("identity_verification");
  update.limits = ReadLimits(fields);
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto app = ctx.chat.UpdateApp(ctx.principal, *id, update);
  if (!app.ok()) return ctx.Fail(app.status());
  return JsonResponse(200, ToJson(*app));
}

http::Response DeleteApp(RequestContext& ctx) {
  auto id = AppParam(ctx);
  if (!id) return ctx.NotFound("app");
  Status status = ctx.chat.DeleteApp(ctx.principal, *id);
  if (!status.ok()) return ctx.Fail(status);
  return NoContent();
}

http::Response RotateKey(RequestContext& ctx) {
  static const char* const kKinds[] = {"secret", "publishable", nullptr};
  auto id = AppParam(ctx);
  if (!id) return ctx.NotFound("app");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  const std::string kind = fields.RequiredEnum("kind", kKinds);
  if (!fields.ok()) return ctx.Fail(fields.status());
  const KeyKind key_kind = kind == "secret" ? KeyKind::kSecret : KeyKind::kPublishable;
  auto rotated = ctx.chat.RotateKey(ctx.principal, *id, key_kind);
  if (!rotated.ok()) return ctx.Fail(rotated.status());
  Json out = Json::object();
  out["app"] = ToJson(rotated->app);
  out["kind"] = rotated->kind == KeyKind::kSecret ? "secret" : "publishable";
  out["key"] = rotated->key;
  return JsonResponse(200, out);
}

}  // namespace

void AddAppRoutes(Routes& routes) {
  routes.router.Add("GET", "/v1/apps", Route{&ListApps, Auth::kRequired});
  routes.router.Add("POST", "/v1/apps", Route{&CreateApp, Auth::kRequired});
  routes.router.Add("GET", "/v1/apps/{app_id}", Route{&GetApp, Auth::kRequired});
  routes.router.Add("PATCH", "/v1/apps/{app_id}", Route{&UpdateApp, Auth::kRequired});
  routes.router.Add("DELETE", "/v1/apps/{app_id}", Route{&DeleteApp, Auth::kRequired});
  routes.router.Add("POST", "/v1/apps/{app_id}/keys/rotate", Route{&RotateKey, Auth::kRequired});
}

}  // namespace libchat::server::api
