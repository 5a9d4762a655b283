// /v1/conversations/* and /v1/apps/{app_id}/conversations: the team side (accounts, app servers; customers
// for their own conversations where the core allows it).
#include "server/api/handler_util.h"
#include "server/json_codec.h"

namespace libchat::server::api {
namespace {

http::Response ListAppConversations(RequestContext& ctx) {
  const std::string_view raw = ctx.params[0];
  if (!AppId::IsWellFormed(raw)) return ctx.NotFound("app");
  return ListConversationsResponse(ctx, AppId(std::string(raw)));
}

http::Response GetConversation(RequestContext& ctx) {
  auto id = ConversationParam(ctx);
  if (!id) return ctx.NotFound("conversation");
  auto conversation = ctx.chat.GetConversation(ctx.principal, *id);
  if (!conversation.ok()) return ctx.Fail(conversation.status());
  return JsonResponse(200, ToJson(*conversation));
}

http::Response UpdateConversation(RequestContext& ctx) {
  static const char* const kStatuses[] = {"open", "pending", "resolved", "snoozed", nullptr};
  auto id = ConversationParam(ctx);
  if (!id) return ctx.NotFound("conversation");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  ConversationUpdate update;
  if (auto status = fields.OptionalEnum("status", kStatuses)) update.status = ParseConversationStatus(*status);
  // null and "" both unassign.
  if (fields.IsNull("assignee_id")) {
    update.assignee_id = std::string();
  } else {
    update.assignee_id = fields.OptionalString("assignee_id");
  }
  // null clears; a string must be RFC 3339.
  if (fields.IsNull("snoozed_until")) {
    update.snoozed_until = std::optional<Timestamp>();
  } else if (auto until = fields.OptionalString("snoozed_until")) {
    auto parsed = ParseTimestamp(*until);
    if (!parsed.ok()) {
      fields.Fail("snoozed_until must be an RFC 3339 timestamp, e.g. 2026-01-01T00:00:00.000Z");
    } else {
      update.snoozed_until = std::optional<Timestamp>(*parsed);
    }
  }
  if (fields.IsNull("name")) {
    update.name = std::string();
  } else {
    update.name = fields.OptionalString("name");
  }
  update.metadata_json = fields.OptionalObjectText("metadata");
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto conversation = ctx.chat.UpdateConversation(ctx.principal, *id, update);
  if (!conversation.ok()) return ctx.Fail(conversation.status());
  return JsonResponse(200, ToJson(*conversation));
}

// Hot path (benchmarked): one body parse, one facade call, one response serialization.
http::Response SendMessage(RequestContext& ctx) {
  auto id = ConversationParam(ctx);
  if (!id) return ctx.NotFound("conversation");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  SendRequest request;
  request.text = fields.RequiredString("text");
  request.client_msg_id = fields.OptionalString("client_msg_id").value_or(std::string());
  request.metadata_json = fields.OptionalObjectText("metadata").value_or(std::string());
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto sent = ctx.chat.SendMessage(ctx.principal, *id, request);
  if (!sent.ok()) return ctx.Fail(sent.status());
  std::string out;
  out.reserve(320 + sent->message.text.size() + sent->message.metadata_json.size());
  out += "{\"message\":";
  AppendMessageJson(out, sent->message);
  out += '}';
  return JsonTextResponse(sent->created ? 201 : 200, std::move(out));
}

std::optional<MessageId> MessageParam(const RequestContext& ctx) {
  const std::string_view raw = ctx.params[1];
  if (!MessageId::IsWellFormed(raw)) return std::nullopt;
  return MessageId(std::string(raw));
}

// PATCH …/messages/{message_id} {text?, metadata?} -> 200 {message}; sender only.
http::Response EditMessage(RequestContext& ctx) {
  auto id = ConversationParam(ctx);
  auto message = MessageParam(ctx);
  if (!id || !message) return ctx.NotFound("message");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  MessageEdit edit;
  edit.text = fields.OptionalString("text");
  edit.metadata_json = fields.OptionalObjectText("metadata");
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto edited = ctx.chat.EditMessage(ctx.principal, *id, *message, edit);
  if (!edited.ok()) return ctx.Fail(edited.status());
  return JsonResponse(200, Json{{"message", ToJson(*edited)}});
}

// DELETE …/messages/{message_id} -> 200 {message} in its deleted state; sender only.
http::Response DeleteMessage(RequestContext& ctx) {
  auto id = ConversationParam(ctx);
  auto message = MessageParam(ctx);
  if (!id || !message) return ctx.NotFound("message");
  auto deleted = ctx.chat.DeleteMessage(ctx.principal, *id, *message);
  if (!deleted.ok()) return ctx.Fail(deleted.status());
  return JsonResponse(200, Json{{"message", ToJson(*deleted)}});
}

}  // namespace

void AddConversationRoutes(Routes& routes) {
  routes.router.Add("GET", "/v1/apps/{app_id}/conversations", Route{&ListAppConversations, Auth::kRequired});
  routes.router.Add("GET", "/v1/conversations/{id}", Route{&GetConversation, Auth::kRequired});
  routes.router.Add("PATCH", "/v1/conversations/{id}", Route{&UpdateConversation, Auth::kRequired});
  routes.router.Add("GET", "/v1/conversations/{id}/messages", Route{&ListMessagesRoute, Auth::kRequired});
  routes.router.Add("POST", "/v1/conversations/{id}/messages",
                    Route{&SendMessage, Auth::kRequired, Charge::kMessageSend});
  routes.router.Add("PATCH", "/v1/conversations/{id}/messages/{message_id}", Route{&EditMessage, Auth::kRequired});
  routes.router.Add("DELETE", "/v1/conversations/{id}/messages/{message_id}", Route{&DeleteMessage, Auth::kRequired});
  routes.router.Add("POST", "/v1/conversations/{id}/read", Route{&MarkReadRoute, Auth::kRequired});
  routes.router.Add("POST", "/v1/conversations/{id}/typing", Route{&TypingRoute, Auth::kRequired});
}

}  // namespace libchat::server::api
