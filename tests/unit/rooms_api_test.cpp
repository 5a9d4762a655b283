// The HTTP routes of dm, group and channel conversations (server/api/members_routes.cpp) and of message
// edits and deletes (PATCH/DELETE /v1/conversations/{id}/messages/{message_id}), driven with hand-built
// requests over a real Chat on the in-memory store. ApiHarness::Call also checks every response's request
// id, error body shape, and that nothing answered 5xx.
#include <set>
#include <string>
#include <vector>

#include "api_test_util.h"
#include "catch.h"

namespace libchat::test {
namespace {

std::string Str(const Json& j) { return j.is_string() ? j.get<std::string>() : std::string("<not a string>"); }

Header UserId(const std::string& external_id) { return {"X-User-Id", external_id}; }

// Two tenants; in app A the server key, customers acting through it (X-User-Id) and an SDK customer.
struct RoomsApi {
  RoomsApi() {
    owner = h.Register("owner@example.com");
    other = h.Register("other@example.com");
    app = h.CreateApp(owner, "A");
    other_app = h.CreateApp(other, "B");
    sdk = h.FirstMessage(app);
    foreign_sdk = h.FirstMessage(other_app);
    // Customers "ann", "ben", "cid" exist once the team names them by external id.
    Response created = h.Send("POST", Conversations(),
                              Json{{"type", "group"},
                                   {"name", "Seed"},
                                   {"members", Json::array({Json{{"external_id", "ann"}}, Json{{"external_id", "ben"}},
                                                            Json{{"external_id", "cid"}}})}},
                              Owner());
    REQUIRE(created.status == 201);
    const Json body = BodyJson(created);
    seed = Str(body["id"]);
    REQUIRE(body["members"].size() == 4);
    ann = Str(body["members"][1]["id"]);
    ben = Str(body["members"][2]["id"]);
    cid = Str(body["members"][3]["id"]);
  }

  std::string Conversations() const { return "/v1/apps/" + app.id + "/conversations"; }
  std::vector<Header> Owner() const { return {Bearer(owner.token)}; }
  std::vector<Header> Other() const { return {Bearer(other.token)}; }
  std::vector<Header> Server() const { return {ApiKey(app.secret_key)}; }
  std::vector<Header> OtherServer() const { return {ApiKey(other_app.secret_key)}; }
  std::vector<Header> As(const std::string& external_id) const { return {ApiKey(app.secret_key), UserId(external_id)}; }
  std::vector<Header> Sdk() const { return {ApiKey(app.publishable_key), Bearer(sdk.session_token)}; }
  std::vector<Header> ForeignSdk() const {
    return {ApiKey(other_app.publishable_key), Bearer(foreign_sdk.session_token)};
  }

  // Creates a conversation, REQUIRing `want_status`; returns the body.
  Json Create(const Json& body, const std::vector<Header>& headers, int want_status = 201) {
    Response response = h.Send("POST", Conversations(), body, headers);
    INFO(response.body);
    REQUIRE(response.status == want_status);
    return BodyJson(response);
  }

  ApiHarness h;
  ApiHarness::AccountHandle owner;
  ApiHarness::AccountHandle other;
  ApiHarness::AppHandle app;
  ApiHarness::AppHandle other_app;
  ApiHarness::SdkHandle sdk;
  ApiHarness::SdkHandle foreign_sdk;
  std::string seed;
  std::string ann;
  std::string ben;
  std::string cid;
};

// Checks that `member` is exactly {id, type, role, joined_at}.
void CheckMemberShape(const Json& member) {
  INFO(member.dump());
  REQUIRE(member.is_object());
  std::set<std::string> keys;
  for (auto it = member.begin(); it != member.end(); ++it) keys.insert(it.key());
  CHECK(keys == std::set<std::string>{"id", "type", "role", "joined_at"});
  CHECK(member["id"].is_string());
  const std::string id = Str(member["id"]);
  const std::string type = Str(member["type"]);
  CHECK(type == (id.rfind("cus_", 0) == 0 ? "customer" : id.rfind("acc_", 0) == 0 ? "account" : "operator"));
  CHECK(std::set<std::string>{"owner", "admin", "member"}.count(Str(member["role"])) == 1);
  CHECK(member["joined_at"].is_string());
}

std::vector<std::pair<std::string, std::string>> Roles(const Json& members) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Json& m : members) out.emplace_back(Str(m["id"]), Str(m["role"]));
  return out;
}

// ---------------------------------------------------------------------------

TEST_CASE("rooms api: create group, channel and dm with their members", "[api][rooms]") {
  RoomsApi r;
  Json group = r.Create(Json{{"type", "group"},
                             {"name", "Project"},
                             {"metadata", {{"topic", "launch"}}},
                             {"members", Json::array({r.ann, Json{{"id", r.ben}, {"role", "admin"}}})}},
                        r.Owner());
  CHECK(Str(group["id"]).rfind("conv_", 0) == 0);
  CHECK(group["app_id"] == r.app.id);
  CHECK(group["type"] == "group");
  CHECK(group["status"] == "open");
  CHECK(group["name"] == "Project");
  CHECK(group["metadata"] == Json{{"topic", "launch"}});
  CHECK(group["customer_id"].is_null());
  CHECK(group["last_seq"] == 0);
  CHECK(group["last_message"].is_null());
  CHECK(group["unread_count"] == 0);
  CHECK(group["created_at"].is_string());
  REQUIRE(group["members"].is_array());
  for (const Json& m : group["members"]) CheckMemberShape(m);
  CHECK(Roles(group["members"]) == std::vector<std::pair<std::string, std::string>>{
                                       {r.owner.id, "owner"}, {r.ann, "member"}, {r.ben, "admin"}});
  CHECK(group["members"][0]["type"] == "account");
  CHECK(group["members"][1]["type"] == "customer");

  // GET returns the members too; /members lists them as {data:[…]}.
  const std::string id = Str(group["id"]);
  Response got = r.h.Get("/v1/conversations/" + id, r.As("ann"));
  REQUIRE(got.status == 200);
  CHECK(Roles(BodyJson(got)["members"]) == Roles(group["members"]));
  Response members = r.h.Get("/v1/conversations/" + id + "/members", r.As("ben"));
  REQUIRE(members.status == 200);
  const Json listed = BodyJson(members);
  REQUIRE(listed["data"].is_array());
  CHECK(Roles(listed["data"]) == Roles(group["members"]));
  for (const Json& m : listed["data"]) CheckMemberShape(m);

  // A channel by the server (not a member itself); a customer may not create one.
  Json channel = r.Create(
      Json{{"type", "channel"}, {"members", Json::array({Json{{"external_id", "ann"}, {"role", "admin"}}})}},
      r.Server());
  CHECK(channel["type"] == "channel");
  CHECK(Roles(channel["members"]) == std::vector<std::pair<std::string, std::string>>{{r.ann, "admin"}});
  Response refused = r.h.Send("POST", r.Conversations(), Json{{"type", "channel"}, {"members", Json::array({r.ben})}},
                              r.As("ann"));
  CHECK(refused.status == 403);
  CHECK(ErrorCode(refused) == "permission_denied");
  refused = r.h.Send("POST", r.Conversations(), Json{{"type", "channel"}, {"members", Json::array({r.ben})}}, r.Sdk());
  CHECK(refused.status == 403);

  // A customer (SDK session) creates a group and owns it.
  Json by_customer = r.Create(Json{{"type", "group"}, {"members", Json::array({r.ann})}}, r.Sdk());
  CHECK(Roles(by_customer["members"]) ==
        std::vector<std::pair<std::string, std::string>>{{r.sdk.customer_id, "owner"}, {r.ann, "member"}});
  // It lists its own conversations: its support conversation and the new group.
  Response mine = r.h.Get(r.Conversations(), r.Sdk());
  REQUIRE(mine.status == 200);
  INFO(mine.body);
  const Json mine_body = BodyJson(mine);
  std::set<std::string> ids;
  for (const Json& c : mine_body["data"]) ids.insert(Str(c["id"]));
  CHECK(ids == std::set<std::string>{r.sdk.conversation_id, Str(by_customer["id"])});
}

TEST_CASE("rooms api: a dm is 201 when created and 200 with the same one after, in either order", "[api][rooms]") {
  RoomsApi r;
  Json first = r.Create(Json{{"type", "dm"}, {"members", Json::array({r.ben})}}, r.As("ann"));
  const std::string id = Str(first["id"]);
  CHECK(first["type"] == "dm");
  CHECK(Roles(first["members"]) ==
        std::vector<std::pair<std::string, std::string>>{{r.ann, "owner"}, {r.ben, "member"}});

  Json again = r.Create(Json{{"type", "dm"}, {"members", Json::array({r.ben})}}, r.As("ann"), 200);
  CHECK(again["id"] == id);
  Json reversed = r.Create(Json{{"type", "dm"}, {"members", Json::array({Json{{"external_id", "ann"}}})}},
                           r.As("ben"), 200);
  CHECK(reversed["id"] == id);
  Json by_server = r.Create(Json{{"type", "dm"}, {"members", Json::array({r.ben, r.ann})}}, r.Server(), 200);
  CHECK(by_server["id"] == id);
  REQUIRE(by_server["members"].size() == 2);
  for (const Json& m : by_server["members"]) CheckMemberShape(m);

  // A dm of ann with another customer is another dm.
  Json other = r.Create(Json{{"type", "dm"}, {"members", Json::array({r.cid})}}, r.As("ann"));
  CHECK(other["id"] != id);
  // Bad dms: one member, three members.
  Response bad = r.h.Send("POST", r.Conversations(), Json{{"type", "dm"}, {"members", Json::array()}}, r.As("ann"));
  CHECK(bad.status == 400);
  bad = r.h.Send("POST", r.Conversations(), Json{{"type", "dm"}, {"members", Json::array({r.ben, r.cid})}},
                 r.As("ann"));
  CHECK(bad.status == 400);
}

TEST_CASE("rooms api: bad create bodies are 400, foreign ids 404", "[api][rooms]") {
  RoomsApi r;
  const std::string path = r.Conversations();
  const Json ok_members = Json::array({r.ann});

  struct Case {
    const char* why;
    std::string body;
    int status;
  };
  const std::vector<Case> cases = {
      {"malformed JSON", R"({"type":"group","members":[)", 400},
      {"not an object", R"(["group"])", 400},
      {"invalid UTF-8", "{\"type\":\"group\",\"name\":\"\xff\",\"members\":[]}", 400},
      {"no type", Json{{"members", ok_members}}.dump(), 400},
      {"unknown type", Json{{"type", "room"}, {"members", ok_members}}.dump(), 400},
      {"support type", Json{{"type", "support"}, {"members", ok_members}}.dump(), 400},
      {"type not a string", Json{{"type", 2}, {"members", ok_members}}.dump(), 400},
      {"no members", Json{{"type", "group"}}.dump(), 400},
      {"members null", Json{{"type", "group"}, {"members", nullptr}}.dump(), 400},
      {"members a string", Json{{"type", "group"}, {"members", r.ann}}.dump(), 400},
      {"members an object", Json{{"type", "group"}, {"members", {{"id", r.ann}}}}.dump(), 400},
      {"member a number", Json{{"type", "group"}, {"members", Json::array({42})}}.dump(), 400},
      {"member null", Json{{"type", "group"}, {"members", Json::array({nullptr})}}.dump(), 400},
      {"member an array", Json{{"type", "group"}, {"members", Json::array({Json::array({r.ann})})}}.dump(), 400},
      {"member id a number", Json{{"type", "group"}, {"members", Json::array({Json{{"id", 7}}})}}.dump(), 400},
      {"member without id", Json{{"type", "group"}, {"members", Json::array({Json{{"role", "admin"}}})}}.dump(), 400},
      {"bad role", Json{{"type", "group"}, {"members", Json::array({Json{{"id", r.ann}, {"role", "boss"}}})}}.dump(),
       400},
      {"role a number", Json{{"type", "group"}, {"members", Json::array({Json{{"id", r.ann}, {"role", 1}}})}}.dump(),
       400},
      {"id and external id",
       Json{{"type", "group"}, {"members", Json::array({Json{{"id", r.ann}, {"external_id", "ann"}}})}}.dump(), 400},
      {"malformed member id", Json{{"type", "group"}, {"members", Json::array({"ann"})}}.dump(), 400},
      {"name not a string", Json{{"type", "group"}, {"name", 5}, {"members", ok_members}}.dump(), 400},
      {"metadata not an object", Json{{"type", "group"}, {"metadata", "x"}, {"members", ok_members}}.dump(), 400},
      {"member listed twice", Json{{"type", "group"}, {"members", Json::array({r.ann, r.ann})}}.dump(), 400},
      {"unknown customer", Json{{"type", "group"}, {"members", Json::array({"cus_doesnotexist"})}}.dump(), 404},
      {"another app's customer", Json{{"type", "group"}, {"members", Json::array({r.foreign_sdk.customer_id})}}.dump(),
       404},
      {"another account", Json{{"type", "group"}, {"members", Json::array({r.other.id})}}.dump(), 404},
  };
  for (const Case& c : cases) {
    INFO(c.why << ": " << c.body);
    Response response = r.h.Raw("POST", path, c.body, r.Owner());
    CHECK(response.status == c.status);
    CHECK(ErrorCode(response) == (c.status == 400 ? "invalid_argument" : "not_found"));
    if (c.status == 404) {
      // The refusal names no foreign id.
      CHECK(response.body.find(r.foreign_sdk.customer_id) == std::string::npos);
      CHECK(response.body.find(r.other.id) == std::string::npos);
    }
  }
  // A customer with a session of its own names customers by external id only when they exist (the app's server
  // acting for a user may create them).
  Response unknown = r.h.Send(
      "POST", path, Json{{"type", "group"}, {"members", Json::array({Json{{"external_id", "zed"}}})}}, r.Sdk());
  CHECK(unknown.status == 404);

  // Another tenant's app, an unknown app and a malformed app id are all 404.
  const Json body = Json{{"type", "group"}, {"members", ok_members}};
  for (const auto& headers : {r.Other(), r.OtherServer(), r.ForeignSdk()}) {
    Response foreign = r.h.Send("POST", path, body, headers);
    CHECK(foreign.status == 404);
    CHECK(ErrorCode(foreign) == "not_found");
    CHECK(foreign.body.find(r.app.id) == std::string::npos);
    CHECK(foreign.body.find(r.ann) == std::string::npos);
  }
  CHECK(r.h.Send("POST", "/v1/apps/app_doesnotexist/conversations", body, r.Owner()).status == 404);
  CHECK(r.h.Send("POST", "/v1/apps/nope/conversations", body, r.Owner()).status == 404);
  CHECK(r.h.Send("POST", path, body).status == 401);
  // Nothing was created by any of these: the team still sees the seed group and the SDK conversation only.
  Response list = r.h.Get(path, r.Owner());
  REQUIRE(list.status == 200);
  CHECK(BodyJson(list)["data"].size() == 2);
}

TEST_CASE("rooms api: add (201), change role (200), remove (204), leave, and who may", "[api][rooms]") {
  RoomsApi r;
  Json group = r.Create(Json{{"type", "group"}, {"members", Json::array({Json{{"id", r.ben}, {"role", "admin"}}})}},
                        r.As("ann"));
  const std::string members = "/v1/conversations/" + Str(group["id"]) + "/members";

  Response added = r.h.Send("POST", members, Json{{"id", r.cid}}, r.As("ben"));
  REQUIRE(added.status == 201);
  Json member = BodyJson(added);
  CheckMemberShape(member);
  CHECK(member["id"] == r.cid);
  CHECK(member["role"] == "member");
  Response changed = r.h.Send("POST", members, Json{{"id", r.cid}, {"role", "admin"}}, r.Owner());
  REQUIRE(changed.status == 200);
  CHECK(BodyJson(changed)["role"] == "admin");
  CHECK(BodyJson(changed)["joined_at"] == member["joined_at"]);
  Response by_external = r.h.Send("POST", members, Json{{"external_id", "dan"}}, r.Server());
  REQUIRE(by_external.status == 201);
  const std::string dan = Str(BodyJson(by_external)["id"]);
  CHECK(dan.rfind("cus_", 0) == 0);

  // A plain member manages nothing; customers never make or touch owners.
  Response denied = r.h.Send("POST", members, Json{{"id", r.sdk.customer_id}}, r.As("dan"));
  CHECK(denied.status == 403);
  CHECK(ErrorCode(denied) == "permission_denied");
  CHECK(r.h.Get(members + "/" + r.cid, r.As("dan"), "DELETE").status == 403);
  CHECK(r.h.Send("POST", members, Json{{"id", r.sdk.customer_id}, {"role", "owner"}}, r.As("ann")).status == 403);
  CHECK(r.h.Get(members + "/" + r.ann, r.As("ben"), "DELETE").status == 403);

  // Bad bodies.
  for (const std::string& body :
       {std::string("{}"), std::string(R"({"id":5})"), std::string(R"({"id":"x","role":"boss"})"),
        std::string(R"({"role":"admin"})"), std::string("[]"), std::string(R"("cus_x")"), std::string("{\"id\":"),
        std::string(R"({"id":"not an id"})")}) {
    INFO(body);
    Response bad = r.h.Raw("POST", members, body, r.Owner());
    CHECK(bad.status == 400);
    CHECK(ErrorCode(bad) == "invalid_argument");
  }
  CHECK(r.h.Send("POST", members, Json{{"id", "cus_doesnotexist"}}, r.Owner()).status == 404);
  CHECK(r.h.Send("POST", members, Json{{"id", r.foreign_sdk.customer_id}}, r.Owner()).status == 404);

  // Remove: 204; a non-member 404; any member may leave.
  Response removed = r.h.Get(members + "/" + r.cid, r.As("ann"), "DELETE");
  CHECK(removed.status == 204);
  CHECK(r.h.Get(members + "/" + r.cid, r.As("ann"), "DELETE").status == 404);
  CHECK(r.h.Get(members + "/cus_nobody", r.Owner(), "DELETE").status == 404);
  CHECK(r.h.Get(members + "/" + dan, r.As("dan"), "DELETE").status == 204);
  CHECK(r.h.Get("/v1/conversations/" + Str(group["id"]), r.As("dan")).status == 404);
  Response now = r.h.Get(members, r.Owner());
  REQUIRE(now.status == 200);
  CHECK(Roles(BodyJson(now)["data"]) ==
        std::vector<std::pair<std::string, std::string>>{{r.ann, "owner"}, {r.ben, "admin"}});

  // Support and dm membership is fixed.
  const std::string support = "/v1/conversations/" + r.sdk.conversation_id + "/members";
  CHECK(r.h.Send("POST", support, Json{{"id", r.ann}}, r.Owner()).status == 400);
  CHECK(r.h.Get(support + "/" + r.sdk.customer_id, r.Owner(), "DELETE").status == 400);
  Json dm = r.Create(Json{{"type", "dm"}, {"members", Json::array({r.ben})}}, r.As("ann"));
  CHECK(r.h.Send("POST", "/v1/conversations/" + Str(dm["id"]) + "/members", Json{{"id", r.cid}}, r.Owner()).status ==
        400);

  // A channel's plain member reads but does not post.
  Json channel = r.Create(Json{{"type", "channel"}, {"members", Json::array({r.ann})}}, r.Server());
  const std::string channel_messages = "/v1/conversations/" + Str(channel["id"]) + "/messages";
  CHECK(r.h.Send("POST", channel_messages, Json{{"text", "hi"}}, r.As("ann")).status == 403);
  CHECK(r.h.Send("POST", channel_messages, Json{{"text", "news"}}, r.Server()).status == 201);
  CHECK(r.h.Get(channel_messages, r.As("ann")).status == 200);
}

TEST_CASE("rooms api: another tenant and non-members get 404 on every route of a group", "[api][rooms]") {
  RoomsApi r;
  Json group = r.Create(Json{{"type", "group"}, {"name", "Private"}, {"members", Json::array({r.ann})}}, r.Owner());
  const std::string base = "/v1/conversations/" + Str(group["id"]);
  Response sent = r.h.Send("POST", base + "/messages", Json{{"text", "secret"}}, r.As("ann"));
  REQUIRE(sent.status == 201);
  const std::string message = Str(BodyJson(sent)["message"]["id"]);

  struct Call {
    std::string method;
    std::string path;
    std::string body;
  };
  const std::vector<Call> calls = {
      {"GET", base, ""},
      {"PATCH", base, R"({"name":"x"})"},
      {"GET", base + "/messages", ""},
      {"POST", base + "/messages", R"({"text":"hi"})"},
      {"POST", base + "/read", R"({"seq":1})"},
      {"POST", base + "/typing", R"({"state":"start"})"},
      {"GET", base + "/members", ""},
      {"POST", base + "/members", Json{{"id", r.ben}}.dump()},
      {"DELETE", base + "/members/" + r.ann, ""},
      {"PATCH", base + "/messages/" + message, R"({"text":"x"})"},
      {"DELETE", base + "/messages/" + message, ""},
  };
  const std::vector<std::pair<const char*, std::vector<Header>>> outsiders = {
      {"owner of app B", r.Other()},
      {"app B server", r.OtherServer()},
      {"customer of app B", r.ForeignSdk()},
      {"customer of app A, not a member", r.As("ben")},
      {"SDK customer of app A, not a member", r.Sdk()},
  };
  for (const Call& call : calls) {
    for (const auto& [who, headers] : outsiders) {
      INFO(call.method << " " << call.path << " by " << who);
      Response response = r.h.Raw(call.method, call.path, call.body, headers);
      CHECK(response.status == 404);
      CHECK(ErrorCode(response) == "not_found");
      for (const std::string& secret : {Str(group["id"]), r.app.id, r.ann, message, std::string("Private")}) {
        CHECK(response.body.find(secret) == std::string::npos);
      }
    }
  }
  // Nothing changed.
  Response history = r.h.Get(base + "/messages", r.As("ann"));
  REQUIRE(history.status == 200);
  REQUIRE(BodyJson(history)["data"].size() == 1);
  CHECK(BodyJson(history)["data"][0]["text"] == "secret");
  CHECK(BodyJson(r.h.Get(base + "/members", r.Owner()))["data"].size() == 2);
}

TEST_CASE("rooms api: PATCH and DELETE a message, by its sender only", "[api][rooms]") {
  RoomsApi r;
  Json group = r.Create(Json{{"type", "group"}, {"members", Json::array({r.ann, r.ben})}}, r.Owner());
  const std::string base = "/v1/conversations/" + Str(group["id"]);
  Response sent = r.h.Send("POST", base + "/messages", Json{{"text", "first"}, {"metadata", {{"v", 1}}}}, r.As("ann"));
  REQUIRE(sent.status == 201);
  const Json original = BodyJson(sent)["message"];
  const std::string path = base + "/messages/" + Str(original["id"]);
  REQUIRE(r.h.Send("POST", base + "/messages", Json{{"text", "second"}}, r.As("ben")).status == 201);

  r.h.clock->Advance(std::chrono::seconds(3));
  Response edited = r.h.Send("PATCH", path, Json{{"text", "first, edited"}}, r.As("ann"));
  REQUIRE(edited.status == 200);
  Json message = BodyJson(edited)["message"];
  CHECK(message["id"] == original["id"]);
  CHECK(message["seq"] == 1);
  CHECK(message["text"] == "first, edited");
  CHECK(message["metadata"] == Json{{"v", 1}});
  CHECK(message["edited_at"].is_string());
  CHECK(message["edited_at"] != original["created_at"]);
  CHECK(message["created_at"] == original["created_at"]);
  CHECK(message["deleted"] == false);
  CHECK(original["edited_at"].is_null());

  Response retagged = r.h.Send("PATCH", path, Json{{"metadata", {{"v", 2}}}}, r.As("ann"));
  REQUIRE(retagged.status == 200);
  CHECK(BodyJson(retagged)["message"]["text"] == "first, edited");
  CHECK(BodyJson(retagged)["message"]["metadata"] == Json{{"v", 2}});

  // Bad edits are 400.
  for (const std::string& body : {std::string("{}"), std::string(R"({"text":""})"), std::string(R"({"text":5})"),
                                  std::string(R"({"metadata":"x"})"), std::string(R"({"metadata":[1]})"),
                                  std::string("{\"text\":"), std::string("[]"), std::string("{\"text\":\"\xc3\"}")}) {
    INFO(body);
    Response bad = r.h.Raw("PATCH", path, body, r.As("ann"));
    CHECK(bad.status == 400);
    CHECK(ErrorCode(bad) == "invalid_argument");
  }
  // Other members and the team may not; unknown, malformed or misplaced messages are 404.
  for (const auto& headers : {r.As("ben"), r.Owner(), r.Server()}) {
    CHECK(r.h.Send("PATCH", path, Json{{"text", "hijack"}}, headers).status == 403);
    CHECK(r.h.Get(path, headers, "DELETE").status == 403);
  }
  CHECK(r.h.Send("PATCH", base + "/messages/msg_doesnotexist", Json{{"text", "x"}}, r.As("ann")).status == 404);
  CHECK(r.h.Send("PATCH", base + "/messages/not-a-message", Json{{"text", "x"}}, r.As("ann")).status == 404);
  CHECK(r.h.Get(base + "/messages/msg_doesnotexist", r.As("ann"), "DELETE").status == 404);
  Json elsewhere = r.Create(Json{{"type", "group"}, {"members", Json::array({r.ann})}}, r.Owner());
  CHECK(r.h.Send("PATCH", "/v1/conversations/" + Str(elsewhere["id"]) + "/messages/" + Str(original["id"]),
                 Json{{"text", "x"}}, r.As("ann"))
            .status == 404);

  // DELETE: 200 with the message in its deleted state; again is fine; editing it then is 409.
  Response deleted = r.h.Get(path, r.As("ann"), "DELETE");
  REQUIRE(deleted.status == 200);
  message = BodyJson(deleted)["message"];
  CHECK(message["id"] == original["id"]);
  CHECK(message["seq"] == 1);
  CHECK(message["deleted"] == true);
  CHECK(message["text"] == "");
  CHECK(message["metadata"] == Json::object());
  Response twice = r.h.Get(path, r.As("ann"), "DELETE");
  CHECK(twice.status == 200);
  CHECK(BodyJson(twice)["message"]["deleted"] == true);
  Response conflict = r.h.Send("PATCH", path, Json{{"text", "back"}}, r.As("ann"));
  CHECK(conflict.status == 409);
  CHECK(ErrorCode(conflict) == "conflict");

  // History shows the current state; unread counts skip the deleted message.
  Response history = r.h.Get(base + "/messages", r.As("ben"));
  REQUIRE(history.status == 200);
  const Json data = BodyJson(history)["data"];
  REQUIRE(data.size() == 2);
  CHECK(data[0]["deleted"] == true);
  CHECK(data[0]["text"] == "");
  CHECK(data[1]["text"] == "second");
  Response for_ben = r.h.Get(base, r.As("ben"));
  REQUIRE(for_ben.status == 200);
  CHECK(BodyJson(for_ben)["unread_count"] == 0);  // 1 is deleted, 2 is ben's own
  Response for_owner = r.h.Get(base, r.Owner());
  CHECK(BodyJson(for_owner)["unread_count"] == 1);  // 2
}

}  // namespace
}  // namespace libchat::test
