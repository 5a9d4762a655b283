// /v1/auth/*: register, login, logout and the signed-in account's profile.
#include "server/api/handler_util.h"
#include "server/json_codec.h"

namespace libchat::server::api {
namespace {

Json SessionJson(const AuthSession& session) {
  Json body = Json::object();
  body["account"] = ToJson(session.account);
  body["token"] = session.token;
  body["expires_at"] = FormatTimestamp(session.expires_at);
  return body;
}

http::Response Register(RequestContext& ctx) {
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  RegisterRequest request;
  request.email = fields.RequiredString("email");
  request.password = fields.RequiredString("password");
  request.name = fields.RequiredString("name");
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto session = ctx.chat.Register(request);
  if (!session.ok()) return ctx.Fail(session.status());
  return JsonResponse(201, SessionJson(*session));
}

http::Response Login(RequestContext& ctx) {
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  const std::string email = fields.RequiredString("email");
  const std::string password = fields.RequiredString("password");
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto session = ctx.chat.Login(email, password);
  if (!session.ok()) return ctx.Fail(session.status());
  return JsonResponse(200, SessionJson(*session));
}

http::Response Logout(RequestContext& ctx) {
  Status status = ctx.chat.Logout(ctx.principal);
  if (!status.ok()) return ctx.Fail(status);
  return NoContent();
}

http::Response GetMe(RequestContext& ctx) {
  auto account = ctx.chat.GetMe(ctx.principal);
  if (!account.ok()) return ctx.Fail(account.status());
  return JsonResponse(200, ToJson(*account));
}

http::Response UpdateMe(RequestContext& ctx) {
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  AccountUpdate update;
  update.name = fields.OptionalString("name");
  update.email = fields.OptionalString("email");
  update.current_password = fields.OptionalString("current_password");
  update.new_password = fields.OptionalString("new_password");
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto account = ctx.chat.UpdateMe(ctx.principal, update);
  if (!account.ok()) return ctx.Fail(account.status());
  return JsonResponse(200, ToJson(*account));
}

}  // namespace

void AddAccountRoutes(Routes& routes) {
  routes.router.Add("POST", "/v1/auth/register", Route{&Register, Auth::kNone});
  routes.router.Add("POST", "/v1/auth/login", Route{&Login, Auth::kNone});
  routes.router.Add("POST", "/v1/auth/logout", Route{&Logout, Auth::kRequired});
  routes.router.Add("GET", "/v1/auth/me", Route{&GetMe, Auth::kRequired});
  routes.router.Add("PATCH", "/v1/auth/me", Route{&UpdateMe, Auth::kRequired});
}

}  // namespace libchat::server::api
