// /v1/sdk/*: the customer side (SDKs and the widget), authenticated by a publishable key and, once a session
// exists, its session token.
#include "server/api/handler_util.h"
#include "server/json_codec.h"

namespace libchat::server::api {
namespace {

// The optional "customer" member of a body.
void ReadCustomer(FieldReader& fields, CustomerInput* out) {
  const Json* customer = fields.OptionalObject("customer");
  if (customer == nullptr) return;
  FieldReader nested(*customer, "customer.");
  out->external_id = nested.OptionalString("external_id").value_or(std::string());
  out->name = nested.OptionalString("name").value_or(std::string());
  out->email = nested.OptionalString("email").value_or(std::string());
  out->user_hash = nested.OptionalString("user_hash").value_or(std::string());
  if (!nested.ok()) fields.Fail(nested.status().message());
}

http::Response GetConfig(RequestContext& ctx) {
  auto config = ctx.chat.GetSdkConfig(ctx.principal);
  if (!config.ok()) return ctx.Fail(config.status());
  Json out = Json::object();
  out["app_id"] = config->app_id.str();
  out["name"] = config->app_name;
  out["theme"] = EmbeddedJson(config->theme_json);
  out["prechat"] = EmbeddedJson(config->prechat_json, /*want_array=*/true);
  out["widget"] = ToJson(config->widget);
  out["bot"] = Json{{"enabled", config->bot_enabled}, {"name", config->bot_name}};
  return JsonResponse(200, out);
}

http::Response CreateSession(RequestContext& ctx) {
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  SessionRequest request;
  ReadCustomer(fields, &request.customer);
  request.metadata_json = fields.OptionalObjectText("metadata").value_or(std::string());
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto session = ctx.chat.CreateSession(ctx.principal, request);
  if (!session.ok()) return ctx.Fail(session.status());
  Json out = Json::object();
  out["conversation"] = ToJson(session->conversation);
  out["customer"] = ToJson(session->customer);
  out["session_token"] = session->session_token;
  out["expires_at"] = FormatTimestamp(session->expires_at);
  return JsonResponse(201, out);
}

// Hot path (benchmarked): one body parse, one facade call, one response serialization.
http::Response SendMessage(RequestContext& ctx) {
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  SdkSendRequest request;
  request.message.text = fields.RequiredString("text");
  request.message.client_msg_id = fields.OptionalString("client_msg_id").value_or(std::string());
  request.message.metadata_json = fields.OptionalObjectText("metadata").value_or(std::string());
  request.conversation_id = ConversationId(fields.OptionalString("conversation_id").value_or(std::string()));
  ReadCustomer(fields, &request.customer);
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto sent = ctx.chat.SdkSendMessage(ctx.principal, request);
  if (!sent.ok()) return ctx.Fail(sent.status());
  const Message& message = sent->message;
  std::string out;
  out.reserve(512 + message.text.size() + message.metadata_json.size());
  out += "{\"conversation_id\":";
  AppendJsonString(out, message.conversation_id.str());
  out += ",\"message\":";
  AppendMessageJson(out, message);
  if (!sent->session_token.empty()) {
    out += ",\"session_token\":";
    AppendJsonString(out, sent->session_token);
    if (sent->session_expires_at) {
      out += ",\"session_expires_at\":";
      AppendJsonString(out, FormatTimestamp(*sent->session_expires_at));
    }
  }
  out += '}';
  return JsonTextResponse(sent->created ? 201 : 200, std::move(out));
}

http::Response ListOwnConversations(RequestContext& ctx) {
  if (ctx.principal.type == PrincipalType::kPublishable) {
    return ctx.Fail(UnauthenticatedError("a session token is required"));
  }
  return ListConversationsResponse(ctx, ctx.principal.app_id);
}

http::Response GetConversation(RequestContext& ctx) {
  auto id = ConversationParam(ctx);
  if (!id) return ctx.NotFound("conversation");
  auto conversation = ctx.chat.GetConversation(ctx.principal, *id);
  if (!conversation.ok()) return ctx.Fail(conversation.status());
  return JsonResponse(200, ToJson(*conversation));
}

}  // namespace

void AddSdkRoutes(Routes& routes) {
  routes.router.Add("GET", "/v1/sdk/config", Route{&GetConfig, Auth::kRequired});
  routes.router.Add("POST", "/v1/sdk/sessions", Route{&CreateSession, Auth::kRequired});
  routes.router.Add("POST", "/v1/sdk/messages", Route{&SendMessage, Auth::kRequired, Charge::kMessageSend});
  routes.router.Add("GET", "/v1/sdk/conversations", Route{&ListOwnConversations, Auth::kRequired});
  routes.router.Add("GET", "/v1/sdk/conversations/{id}", Route{&GetConversation, Auth::kRequired});
  routes.router.Add("GET", "/v1/sdk/conversations/{id}/messages", Route{&ListMessagesRoute, Auth::kRequired});
  routes.router.Add("POST", "/v1/sdk/conversations/{id}/read", Route{&MarkReadRoute, Auth::kRequired});
  routes.router.Add("POST", "/v1/sdk/conversations/{id}/typing", Route{&TypingRoute, Auth::kRequired});
}

}  // namespace libchat::server::api
