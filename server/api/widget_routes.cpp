// The embeddable widget: /v1/apps/{app_id}/widget (the team's settings and the embed snippet) and
// /v1/public/widget/{publishable_key} (what a page embedding the widget loads, with no credentials).
#include <string>
#include <string_view>

#include "server/api/handler_util.h"
#include "server/json_codec.h"

namespace libchat::server::api {
namespace {

constexpr std::size_t kMaxHostBytes = 255;

std::optional<AppId> AppParam(const RequestContext& ctx) {
  const std::string_view raw = ctx.params[0];
  if (!AppId::IsWellFormed(raw)) return std::nullopt;
  return AppId(std::string(raw));
}

// A Host header fit to be echoed into HTML: a name or an address with an optional port, nothing that
// could leave the attribute or change the URL's meaning.
bool IsSafeHost(std::string_view host) {
  if (host.empty() || host.size() > kMaxHostBytes) return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == ':' || c == '-' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

// Where browsers reach this server: CHAT_PUBLIC_URL, else http:// and the Host the request came to.
std::string PublicBase(const RequestContext& ctx) {
  if (!ctx.options.public_url.empty()) return ctx.options.public_url;
  const std::string* host = ctx.request.FindHeader("Host");
  if (host != nullptr && IsSafeHost(*host)) return "http://" + *host;
  if (IsSafeHost(ctx.options.listen_address)) return "http://" + ctx.options.listen_address;
  return "http://localhost";
}

// The body of PUT …/widget: the whole settings; a member left out takes its default.
Result<WidgetSettings> ReadWidget(const Json& body) {
  static const char* const kPositions[] = {"right", "left", nullptr};
  static const char* const kTypes[] = {"text", "email", "textarea", nullptr};
  FieldReader fields(body);
  WidgetSettings settings;
  if (auto color = fields.OptionalString("color")) settings.color = std::move(*color);
  if (auto position = fields.OptionalEnum("position", kPositions)) settings.position = std::move(*position);
  if (auto title = fields.OptionalString("title")) settings.title = std::move(*title);
  if (auto welcome = fields.OptionalString("welcome_text")) settings.welcome_text = std::move(*welcome);
  if (auto logo = fields.OptionalString("logo_url")) settings.logo_url = std::move(*logo);
  if (!fields.ok()) return fields.status();
  if (fields.Has("prechat") && !fields.IsNull("prechat")) {
    const Json& prechat = body.at("prechat");
    if (!prechat.is_array()) return InvalidArgumentError("prechat must be an array");
    // The core refuses more than 10; a larger array is not worth reading.
    if (prechat.size() > 100) return InvalidArgumentError("prechat has more than 10 questions");
    for (std::size_t i = 0; i < prechat.size(); ++i) {
      const std::string where = "prechat[" + std::to_string(i) + "]";
      if (!prechat[i].is_object()) return InvalidArgumentError(where + " must be an object");
      FieldReader item(prechat[i], where + ".");
      PrechatQuestion question;
      question.id = item.RequiredString("id");
      question.label = item.RequiredString("label");
      if (auto type = item.OptionalEnum("type", kTypes)) question.type = std::move(*type);
      question.required = item.OptionalBool("required").value_or(false);
      if (!item.ok()) return item.status();
      settings.prechat.push_back(std::move(question));
    }
  }
  return settings;
}

http::Response GetWidget(RequestContext& ctx) {
  auto app = AppParam(ctx);
  if (!app) return ctx.NotFound("app");
  auto widget = ctx.chat.GetWidget(ctx.principal, *app);
  if (!widget.ok()) return ctx.Fail(widget.status());
  return JsonResponse(200, ToJson(*widget));
}

http::Response PutWidget(RequestContext& ctx) {
  auto app = AppParam(ctx);
  if (!app) return ctx.NotFound("app");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  auto settings = ReadWidget(*body);
  if (!settings.ok()) return ctx.Fail(settings.status());
  auto widget = ctx.chat.PutWidget(ctx.principal, *app, *settings);
  if (!widget.ok()) return ctx.Fail(widget.status());
  return JsonResponse(200, ToJson(*widget));
}

// {html}: the one <script> tag a page needs. The key is [0-9A-Za-z_] and the base is validated (config) or
// checked (IsSafeHost), so neither needs escaping.
http::Response GetEmbed(RequestContext& ctx) {
  auto app = AppParam(ctx);
  if (!app) return ctx.NotFound("app");
  auto widget = ctx.chat.GetWidget(ctx.principal, *app);  // the team only, like the settings
  if (!widget.ok()) return ctx.Fail(widget.status());
  auto found = ctx.chat.GetApp(ctx.principal, *app);
  if (!found.ok()) return ctx.Fail(found.status());
  const std::string base = PublicBase(ctx);
  Json out = Json::object();
  out["html"] = "<script src=\"" + base + "/widget.js\" data-key=\"" + found->publishable_key + "\" data-api=\"" +
                base + "\" async></script>";
  return JsonResponse(200, out);
}

http::Response GetPublicWidget(RequestContext& ctx) {
  auto config = ctx.chat.GetPublicWidget(std::string(ctx.params[0]));
  if (!config.ok()) return ctx.Fail(config.status());
  Json out = Json::object();
  out["app_id"] = config->app_id.str();
  out["app_name"] = config->app_name;
  out["publishable_key"] = config->publishable_key;
  out["widget"] = ToJson(config->widget);
  out["bot"] = Json{{"enabled", config->bot_enabled}, {"name", config->bot_name}};
  return JsonResponse(200, out);
}

}  // namespace

void AddWidgetRoutes(Routes& routes) {
  routes.router.Add("GET", "/v1/apps/{app_id}/widget", Route{&GetWidget, Auth::kRequired});
  routes.router.Add("PUT", "/v1/apps/{app_id}/widget", Route{&PutWidget, Auth::kRequired});
  routes.router.Add("GET", "/v1/apps/{app_id}/widget/embed", Route{&GetEmbed, Auth::kRequired});
  routes.router.Add("GET", "/v1/public/widget/{publishable_key}", Route{&GetPublicWidget, Auth::kNone});
}

}  // namespace libchat::server::api
