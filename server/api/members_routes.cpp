// dm, group and channel conversations and their members:
//   POST   /v1/apps/{app_id}/conversations           {type, members[], name?, metadata?}
//   GET    /v1/conversations/{id}/members
//   POST   /v1/conversations/{id}/members            {id | external_id, role?}
//   DELETE /v1/conversations/{id}/members/{member_id}
// A member is written as a principal id string ("cus_…") or an object {id | external_id, role?}.
#include "server/api/handler_util.h"
#include "server/json_codec.h"

namespace libchat::server::api {
namespace {

const char* const kRoles[] = {"owner", "admin", "member", nullptr};
const char* const kCreatableTypes[] = {"dm", "group", "channel", nullptr};

// Reads one member entry; `name` is its field path for messages ("members[2]").
MemberInput ReadMember(const Json& value, const std::string& name, FieldReader& errors) {
  MemberInput input;
  if (value.is_string()) {
    input.id = value.get<std::string>();
    return input;
  }
  if (!value.is_object()) {
    errors.Fail(name + " must be a member id or an object {id|external_id, role}");
    return input;
  }
  FieldReader fields(value, name + ".");
  input.id = fields.OptionalString("id").value_or(std::string());
  input.external_id = fields.OptionalString("external_id").value_or(std::string());
  if (auto role = fields.OptionalEnum("role", kRoles)) input.role = ParseMemberRole(*role);
  if (!fields.ok()) errors.Fail(std::string(fields.status().message()));
  return input;
}

http::Response CreateConversation(RequestContext& ctx) {
  const std::string_view raw = ctx.params[0];
  if (!AppId::IsWellFormed(raw)) return ctx.NotFound("app");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  ConversationCreate request;
  const std::string type = fields.RequiredEnum("type", kCreatableTypes);
  if (fields.ok()) request.type = *ParseConversationType(type);
  request.name = fields.OptionalString("name").value_or(std::string());
  request.metadata_json = fields.OptionalObjectText("metadata").value_or(std::string());
  auto members = body->find("members");
  if (members == body->end() || members->is_null()) {
    fields.Fail("members is required");
  } else if (!members->is_array()) {
    fields.Fail("members must be an array");
  } else {
    request.members.reserve(members->size());
    for (std::size_t i = 0; i < members->size() && fields.ok(); ++i) {
      request.members.push_back(ReadMember((*members)[i], "members[" + std::to_string(i) + "]", fields));
    }
  }
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto created = ctx.chat.CreateConversation(ctx.principal, AppId(std::string(raw)), request);
  if (!created.ok()) return ctx.Fail(created.status());
  return JsonResponse(created->created ? 201 : 200, ToJson(created->conversation));
}

http::Response ListMembers(RequestContext& ctx) {
  auto id = ConversationParam(ctx);
  if (!id) return ctx.NotFound("conversation");
  auto members = ctx.chat.ListMembers(ctx.principal, *id);
  if (!members.ok()) return ctx.Fail(members.status());
  Json data = Json::array();
  for (const Member& member : *members) data.push_back(ToJson(member));
  return JsonResponse(200, Json{{"data", std::move(data)}});
}

http::Response AddMember(RequestContext& ctx) {
  auto id = ConversationParam(ctx);
  if (!id) return ctx.NotFound("conversation");
  auto body = ParseBodyObject(ctx.request);
  if (!body.ok()) return ctx.Fail(body.status());
  FieldReader fields(*body);
  MemberInput input = ReadMember(*body, "member", fields);
  if (!fields.ok()) return ctx.Fail(fields.status());
  auto change = ctx.chat.AddMember(ctx.principal, *id, input);
  if (!change.ok()) return ctx.Fail(change.status());
  return JsonResponse(change->added ? 201 : 200, ToJson(change->member));
}

http::Response RemoveMember(RequestContext& ctx) {
  auto id = ConversationParam(ctx);
  if (!id) return ctx.NotFound("conversation");
  Status removed = ctx.chat.RemoveMember(ctx.principal, *id, std::string(ctx.params[1]));
  if (!removed.ok()) return ctx.Fail(removed);
  return NoContent();
}

}  // namespace

void AddMemberRoutes(Routes& routes) {
  routes.router.Add("POST", "/v1/apps/{app_id}/conversations", Route{&CreateConversation, Auth::kRequired});
  routes.router.Add("GET", "/v1/conversations/{id}/members", Route{&ListMembers, Auth::kRequired});
  routes.router.Add("POST", "/v1/conversations/{id}/members", Route{&AddMember, Auth::kRequired});
  routes.router.Add("DELETE", "/v1/conversations/{id}/members/{member_id}", Route{&RemoveMember, Auth::kRequired});
}

}  // namespace libchat::server::api
