// The HTTP routes of operators (server/api/operator_routes.cpp): creating one or a batch, listing, reading and
// changing them, minting their tokens, /v1/tokens/validate and the app's assignment mode; operator tokens
// used through both headers; and the isolation matrix over HTTP: an operator of app A sees and does nothing
// of any other app (404), and gets no admin rights on its own app (403/404). ApiHarness::Call checks every
// response's request id and error envelope, and that nothing answered 5xx.
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "api_test_util.h"
#include "catch.h"

namespace libchat::test {
namespace {

using namespace std::chrono_literals;

std::string Str(const Json& j) { return j.is_string() ? j.get<std::string>() : std::string("<not a string>"); }

// Two accounts: the owner with apps A and A2, the other with B; a customer conversation in each app.
struct OperatorsApi {
  OperatorsApi() {
    owner = h.Register("owner@example.com");
    other = h.Register("other@example.com");
    app = h.CreateApp(owner, "A");
    app2 = h.CreateApp(owner, "A2");
    other_app = h.CreateApp(other, "B");
    conv_a = h.FirstMessage(app, "Where is my order?");
    conv_a2 = h.FirstMessage(app2, "Hello from A2");
    conv_b = h.FirstMessage(other_app, "Hello from B");
  }

  std::vector<Header> Owner() const { return {Bearer(owner.token)}; }
  std::vector<Header> Other() const { return {Bearer(other.token)}; }

  // POST /v1/operators with one operator; REQUIREs 201.
  Json CreateOperator(const std::string& name, const std::vector<std::string>& app_ids,
                      const std::string& email = "") {
    Json body = {{"name", name}, {"app_ids", app_ids}};
    if (!email.empty()) body["email"] = email;
    Response response = h.Send("POST", "/v1/operators", body, Owner());
    INFO(response.body);
    REQUIRE(response.status == 201);
    return BodyJson(response);
  }

  std::string In(std::chrono::milliseconds d) const { return FormatTimestamp(h.clock->Now() + d); }

  // POST /v1/operators/{id}/tokens expiring in `lifetime`; REQUIREs 201.
  std::string Token(const std::string& operator_id, std::chrono::milliseconds lifetime = 8h) {
    Response response =
        h.Send("POST", "/v1/operators/" + operator_id + "/tokens", Json{{"expires_at", In(lifetime)}}, Owner());
    INFO(response.body);
    REQUIRE(response.status == 201);
    return Str(BodyJson(response)["token"]);
  }

  Json Validate(const std::string& token) {
    Response response = h.Send("POST", "/v1/tokens/validate", Json{{"token", token}});
    INFO(response.body);
    REQUIRE(response.status == 200);
    return BodyJson(response);
  }

  void ExpectBadRequest(const Response& response) {
    INFO(response.body);
    CHECK(response.status == 400);
    CHECK(ErrorCode(response) == "invalid_argument");
  }

  ApiHarness h;
  ApiHarness::AccountHandle owner;
  ApiHarness::AccountHandle other;
  ApiHarness::AppHandle app;
  ApiHarness::AppHandle app2;
  ApiHarness::AppHandle other_app;
  ApiHarness::SdkHandle conv_a;
  ApiHarness::SdkHandle conv_a2;
  ApiHarness::SdkHandle conv_b;
};

// Refused without giving anything away: 403 (known, not allowed) or 404 (not visible at all).
bool Denied(const Response& response) { return response.status == 403 || response.status == 404; }

void CheckOperatorShape(const Json& op) {
  INFO(op.dump());
  REQUIRE(op.is_object());
  std::set<std::string> keys;
  for (const auto& [key, value] : op.items()) keys.insert(key);
  CHECK(keys == std::set<std::string>{"id", "account_id", "name", "email", "status", "app_ids", "created_at",
                                      "updated_at"});
  CHECK(Str(op["id"]).rfind("op_", 0) == 0);
  CHECK(op["app_ids"].is_array());
  CHECK(ParseTimestamp(Str(op["created_at"])).ok());
  CHECK(ParseTimestamp(Str(op["updated_at"])).ok());
}

std::set<std::string> Ids(const Json& page) {
  std::set<std::string> ids;
  for (const Json& item : page["data"]) ids.insert(Str(item["id"]));
  return ids;
}

TEST_CASE("operators api: one operator or a batch is created, listed, read and changed", "[operators_api]") {
  OperatorsApi t;
  const Json grace = t.CreateOperator("Grace Hopper", {t.app.id}, "Grace@Acme.example");
  CheckOperatorShape(grace);
  CHECK(grace["name"] == "Grace Hopper");
  CHECK(grace["email"] == "grace@acme.example");  // lower-cased
  CHECK(grace["status"] == "active");
  CHECK(grace["account_id"] == t.owner.id);
  CHECK(grace["app_ids"] == Json::array({t.app.id}));

  Response batch = t.h.Send("POST", "/v1/operators",
                            Json::array({Json{{"name", "Alan Turing"}, {"app_ids", {t.app.id, t.app2.id}}},
                                         Json{{"name", "Ada"}, {"app_ids", {t.app2.id}}}}),
                            t.Owner());
  INFO(batch.body);
  REQUIRE(batch.status == 201);
  const Json created = BodyJson(batch);
  REQUIRE(created.is_object());
  REQUIRE(created["data"].size() == 2);
  for (const Json& op : created["data"]) CheckOperatorShape(op);
  CHECK(created["data"][0]["name"] == "Alan Turing");  // in the order given
  CHECK(created["data"][1]["name"] == "Ada");
  std::vector<std::string> alan_apps = {t.app.id, t.app2.id};
  std::sort(alan_apps.begin(), alan_apps.end());
  CHECK(created["data"][0]["app_ids"] == Json(alan_apps));  // sorted
  const std::string alan = Str(created["data"][0]["id"]);
  const std::string ada = Str(created["data"][1]["id"]);

  // A batch of one is still a batch.
  Response single = t.h.Send("POST", "/v1/operators", Json::array({Json{{"name", "Solo"}}}), t.Owner());
  REQUIRE(single.status == 201);
  REQUIRE(BodyJson(single)["data"].size() == 1);
  CHECK(BodyJson(single)["data"][0]["app_ids"] == Json::array());
  const std::string solo = Str(BodyJson(single)["data"][0]["id"]);

  Response list = t.h.Get("/v1/operators", t.Owner());
  REQUIRE(list.status == 200);
  CHECK(Ids(BodyJson(list)) == std::set<std::string>{Str(grace["id"]), alan, ada, solo});
  CHECK(BodyJson(list)["next_cursor"].is_null());
  CHECK(Ids(BodyJson(t.h.Get("/v1/operators?app_id=" + t.app2.id, t.Owner()))) == std::set<std::string>{alan, ada});
  CHECK(Ids(BodyJson(t.h.Get("/v1/operators?app_id=&status=", t.Owner()))).size() == 4);  // empty = not given
  // The other account sees none of them.
  Response others = t.h.Get("/v1/operators", t.Other());
  REQUIRE(others.status == 200);
  CHECK(BodyJson(others)["data"].empty());

  // Pages.
  std::set<std::string> paged;
  std::string cursor;
  for (int i = 0; i < 10; ++i) {
    Response page = t.h.Get("/v1/operators?limit=1" + (cursor.empty() ? "" : "&cursor=" + cursor), t.Owner());
    REQUIRE(page.status == 200);
    const Json body = BodyJson(page);
    REQUIRE(body["data"].size() <= 1);
    for (const Json& op : body["data"]) CHECK(paged.insert(Str(op["id"])).second);
    if (body["next_cursor"].is_null()) break;
    cursor = Str(body["next_cursor"]);
  }
  CHECK(paged.size() == 4);

  Response got = t.h.Get("/v1/operators/" + alan, t.Owner());
  REQUIRE(got.status == 200);
  CHECK(BodyJson(got) == created["data"][0]);

  Response patched = t.h.Send("PATCH", "/v1/operators/" + alan,
                              Json{{"name", "Alan M. Turing"}, {"email", "alan@acme.example"},
                                   {"app_ids", {t.app2.id}}},
                              t.Owner());
  REQUIRE(patched.status == 200);
  const Json changed = BodyJson(patched);
  CheckOperatorShape(changed);
  CHECK(changed["name"] == "Alan M. Turing");
  CHECK(changed["email"] == "alan@acme.example");
  CHECK(changed["app_ids"] == Json::array({t.app2.id}));
  CHECK(changed["status"] == "active");  // untouched by a partial PATCH

  Response inactive = t.h.Send("PATCH", "/v1/operators/" + ada, Json{{"status", "inactive"}}, t.Owner());
  REQUIRE(inactive.status == 200);
  CHECK(BodyJson(inactive)["status"] == "inactive");
  CHECK(Ids(BodyJson(t.h.Get("/v1/operators?status=inactive", t.Owner()))) == std::set<std::string>{ada});
  Response active = t.h.Send("PATCH", "/v1/operators/" + ada, Json{{"status", "active"}}, t.Owner());
  REQUIRE(active.status == 200);
  CHECK(BodyJson(active)["status"] == "active");

  // Deleted is final: listed only on request, and no longer changeable.
  Response deleted = t.h.Send("PATCH", "/v1/operators/" + solo, Json{{"status", "deleted"}}, t.Owner());
  REQUIRE(deleted.status == 200);
  CHECK(BodyJson(deleted)["status"] == "deleted");
  CHECK(Ids(BodyJson(t.h.Get("/v1/operators", t.Owner()))).count(solo) == 0);
  CHECK(Ids(BodyJson(t.h.Get("/v1/operators?status=deleted", t.Owner()))) == std::set<std::string>{solo});
  Response again = t.h.Send("PATCH", "/v1/operators/" + solo, Json{{"status", "active"}}, t.Owner());
  CHECK(again.status == 409);
  CHECK(t.h.Send("PATCH", "/v1/operators/" + solo, Json{{"name", "Zombie"}}, t.Owner()).status == 409);
}

TEST_CASE("operators api: malformed operator bodies, ids and queries are 400 or 404 and never 500",
          "[operators_api]") {
  OperatorsApi t;
  const std::string ops = "/v1/operators";
  t.ExpectBadRequest(t.h.Raw("POST", ops, "{\"name\":", t.Owner()));
  t.ExpectBadRequest(t.h.Raw("POST", ops, "\"Grace\"", t.Owner()));
  t.ExpectBadRequest(t.h.Raw("POST", ops, "42", t.Owner()));
  t.ExpectBadRequest(t.h.Raw("POST", ops, "[]", t.Owner()));
  t.ExpectBadRequest(t.h.Raw("POST", ops, "[1]", t.Owner()));
  t.ExpectBadRequest(t.h.Raw("POST", ops, std::string(100, '[') + std::string(100, ']'), t.Owner()));
  t.ExpectBadRequest(t.h.Raw("POST", ops, "{\"name\":\"\xff\xfe\"}", t.Owner()));  // invalid UTF-8
  t.ExpectBadRequest(t.h.Send("POST", ops, Json::object(), t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", ops, Json{{"name", 5}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", ops, Json{{"name", ""}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", ops, Json{{"name", std::string(201, 'x')}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", ops, Json{{"name", "G"}, {"email", 5}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", ops, Json{{"name", "G"}, {"email", "not an address"}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", ops, Json{{"name", "G"}, {"app_ids", t.app.id}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", ops, Json{{"name", "G"}, {"app_ids", {5}}}, t.Owner()));
  Response malformed_app = t.h.Send("POST", ops, Json{{"name", "G"}, {"app_ids", {"nope"}}}, t.Owner());
  t.ExpectBadRequest(malformed_app);
  CHECK(Str(BodyJson(malformed_app)["error"]["message"]).find("app_ids[0]") != std::string::npos);
  Json too_many = Json::array();
  for (int i = 0; i < 101; ++i) too_many.push_back(Json{{"name", "Op " + std::to_string(i)}});
  t.ExpectBadRequest(t.h.Send("POST", ops, too_many, t.Owner()));
  Response bad_item = t.h.Send("POST", ops, Json::array({Json{{"name", "Fine"}}, Json{{"name", 7}}}), t.Owner());
  t.ExpectBadRequest(bad_item);
  CHECK(Str(BodyJson(bad_item)["error"]["message"]).find("[1].name") != std::string::npos);

  // Another account's app is not found; a batch naming one creates nothing.
  CHECK(t.h.Send("POST", ops, Json{{"name", "G"}, {"app_ids", {t.other_app.id}}}, t.Owner()).status == 404);
  CHECK(t.h.Send("POST", ops, Json{{"name", "G"}, {"app_ids", {"app_doesnotexist0000000000"}}}, t.Owner()).status ==
        404);
  CHECK(t.h.Send("POST", ops,
                 Json::array({Json{{"name", "Fine"}, {"app_ids", {t.app.id}}},
                              Json{{"name", "Foreign"}, {"app_ids", {t.other_app.id}}}}),
                 t.Owner())
            .status == 404);
  CHECK(BodyJson(t.h.Get(ops, t.Owner()))["data"].empty());

  // Queries.
  t.ExpectBadRequest(t.h.Get(ops + "?status=paused", t.Owner()));
  t.ExpectBadRequest(t.h.Get(ops + "?limit=0", t.Owner()));
  t.ExpectBadRequest(t.h.Get(ops + "?limit=201", t.Owner()));
  t.ExpectBadRequest(t.h.Get(ops + "?limit=ten", t.Owner()));
  CHECK(t.h.Get(ops + "?app_id=garbage", t.Owner()).status == 404);
  CHECK(t.h.Get(ops + "?app_id=" + t.other_app.id, t.Owner()).status == 404);
  CHECK(t.h.Get(ops + "?cursor=%%%garbage", t.Owner()).status < 500);

  const std::string grace = Str(t.CreateOperator("Grace", {t.app.id})["id"]);
  const std::string path = ops + "/" + grace;
  t.ExpectBadRequest(t.h.Send("PATCH", path, Json{{"status", "paused"}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PATCH", path, Json{{"status", 1}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PATCH", path, Json{{"name", 5}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PATCH", path, Json{{"name", ""}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PATCH", path, Json{{"app_ids", {"app_"}}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PATCH", path, Json{{"app_ids", Json::object()}}, t.Owner()));
  t.ExpectBadRequest(t.h.Raw("PATCH", path, "[]", t.Owner()));
  t.ExpectBadRequest(t.h.Raw("PATCH", path, "{", t.Owner()));
  CHECK(t.h.Send("PATCH", path, Json{{"app_ids", {t.other_app.id}}}, t.Owner()).status == 404);
  // Malformed, unknown and foreign operator ids are all simply not found.
  for (const std::string& id : {std::string("garbage"), std::string("op_doesnotexist00000000000")}) {
    CHECK(t.h.Get(ops + "/" + id, t.Owner()).status == 404);
    CHECK(t.h.Send("PATCH", ops + "/" + id, Json{{"name", "X"}}, t.Owner()).status == 404);
    CHECK(t.h.Send("POST", ops + "/" + id + "/tokens", Json{{"expires_at", t.In(1h)}}, t.Owner()).status == 404);
  }
  CHECK(t.h.Get(path, t.Other()).status == 404);
  CHECK(t.h.Send("PATCH", path, Json{{"status", "deleted"}}, t.Other()).status == 404);
  CHECK(t.h.Send("POST", path + "/tokens", Json{{"expires_at", t.In(1h)}}, t.Other()).status == 404);
  CHECK(BodyJson(t.h.Get(path, t.Owner()))["status"] == "active");

  // Token lifetimes: in the future and at most 24 hours ahead, as an RFC 3339 timestamp.
  const std::string tokens = path + "/tokens";
  t.ExpectBadRequest(t.h.Send("POST", tokens, Json::object(), t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", tokens, Json{{"expires_at", 3600}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", tokens, Json{{"expires_at", "tomorrow"}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", tokens, Json{{"expires_at", "2026-13-45T99:00:00Z"}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", tokens, Json{{"expires_at", t.In(-1min)}}, t.Owner()));
  Response too_long = t.h.Send("POST", tokens, Json{{"expires_at", t.In(24h + 1min)}}, t.Owner());
  t.ExpectBadRequest(too_long);
  t.ExpectBadRequest(t.h.Raw("POST", tokens, "nope", t.Owner()));
  CHECK(t.h.Send("POST", tokens, Json{{"expires_at", t.In(24h)}}, t.Owner()).status == 201);
  // An inactive operator gets no token.
  REQUIRE(t.h.Send("PATCH", path, Json{{"status", "inactive"}}, t.Owner()).status == 200);
  const Response refused = t.h.Send("POST", tokens, Json{{"expires_at", t.In(1h)}}, t.Owner());
  CHECK(refused.status >= 400);
  CHECK(refused.status < 500);

  // Methods that do not exist here.
  CHECK(t.h.Get(ops, t.Owner(), "DELETE").status == 405);
  CHECK(t.h.Get(path, t.Owner(), "DELETE").status == 405);
  CHECK(t.h.Get("/v1/tokens/validate", {}).status == 405);
}

TEST_CASE("operators api: an operator token works as Authorization Bearer and as X-Authorization-Key",
          "[operators_api]") {
  OperatorsApi t;
  const std::string op = Str(t.CreateOperator("Grace", {t.app.id})["id"]);
  const std::string expires = t.In(8h);
  Response minted = t.h.Send("POST", "/v1/operators/" + op + "/tokens", Json{{"expires_at", expires}}, t.Owner());
  REQUIRE(minted.status == 201);
  const Json body = BodyJson(minted);
  CHECK(body["expires_at"] == expires);
  const std::string token = Str(body["token"]);
  REQUIRE_FALSE(token.empty());

  for (const Header& header : {Bearer(token), Header{"X-Authorization-Key", token},
                               Header{"X-Authorization-Key", "Bearer " + token}}) {
    INFO(header.name << ": " << header.value.substr(0, 12));
    Response apps = t.h.Get("/v1/apps", {header});
    REQUIRE(apps.status == 200);
    CHECK(Ids(BodyJson(apps)) == std::set<std::string>{t.app.id});  // only the apps it is assigned to
    Response self = t.h.Get("/v1/operators/" + op, {header});
    REQUIRE(self.status == 200);
    CHECK(BodyJson(self)["id"] == op);
  }
  // Authorization is read first: a bad one is 401 even next to a good X-Authorization-Key.
  CHECK(t.h.Get("/v1/apps", {Bearer("garbage"), Header{"X-Authorization-Key", token}}).status == 401);
  // The WebSocket ticket route takes operators too.
  CHECK(t.h.Send("POST", "/v1/ws/ticket", Json(), {Bearer(token)}).status == 201);
}

TEST_CASE("operators api: the WebSocket upgrade reads X-Authorization-Key, Authorization and ?token=",
          "[operators_api]") {
  // The transport authenticates the upgrade with CredentialsFrom (server/http_connection.cpp).
  auto credentials = [](const std::string& target, std::vector<Header> headers) {
    return server::CredentialsFrom(MakeRequest("GET", target, "", std::move(headers))).bearer_token;
  };
  CHECK(credentials("/v1/ws", {{"X-Authorization-Key", "tok-key"}}) == "tok-key");
  CHECK(credentials("/v1/ws", {{"X-Authorization-Key", "Bearer tok-key"}}) == "tok-key");
  CHECK(credentials("/v1/ws", {{"Authorization", "Bearer tok-auth"}}) == "tok-auth");
  CHECK(credentials("/v1/ws?token=tok-query", {}) == "tok-query");
  // Headers win over the query, Authorization over X-Authorization-Key.
  CHECK(credentials("/v1/ws?token=tok-query", {{"X-Authorization-Key", "tok-key"}}) == "tok-key");
  CHECK(credentials("/v1/ws", {{"Authorization", "Bearer tok-auth"}, {"X-Authorization-Key", "tok-key"}}) ==
        "tok-auth");
}

TEST_CASE("operators api: tokens/validate judges account, operator, customer, forged and expired tokens",
          "[operators_api]") {
  OperatorsApi t;
  const std::string op = Str(t.CreateOperator("Grace", {t.app.id})["id"]);
  const std::string token = t.Token(op, 1h);

  const Json account = t.Validate(t.owner.token);
  CHECK(account["valid"] == true);
  CHECK(account["principal_type"] == "account");
  CHECK(account["operator_id"].is_null());
  CHECK(account["account_id"] == t.owner.id);
  CHECK(ParseTimestamp(Str(account["expires_at"])).ok());
  CHECK(account["error"].is_null());

  const Json operator_info = t.Validate(token);
  CHECK(operator_info["valid"] == true);
  CHECK(operator_info["principal_type"] == "operator");
  CHECK(operator_info["operator_id"] == op);
  CHECK(operator_info["account_id"] == t.owner.id);
  CHECK(operator_info["expires_at"] == t.In(1h));
  CHECK(operator_info["error"].is_null());

  const Json customer = t.Validate(t.conv_a.session_token);
  CHECK(customer["valid"] == true);
  CHECK(customer["principal_type"] == "customer");
  CHECK(customer["operator_id"].is_null());

  auto check_invalid = [&](const std::string& candidate, const std::string& what) {
    INFO(what);
    const Json info = t.Validate(candidate);
    CHECK(info["valid"] == false);
    CHECK(info["principal_type"].is_null());
    CHECK(info["operator_id"].is_null());
    CHECK(info["account_id"].is_null());
    CHECK(info["expires_at"].is_null());
    CHECK_FALSE(Str(info["error"]).empty());
  };
  check_invalid("", "empty");
  check_invalid("not-a-token", "garbage");
  check_invalid("a.b.c", "three garbage parts");
  check_invalid(t.app.secret_key, "an app key is not a token");
  std::string forged = token;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  check_invalid(forged, "bad signature");
  // A payload swapped in from another token keeps a signature that no longer matches.
  const std::string header_payload = t.owner.token.substr(0, t.owner.token.rfind('.'));
  check_invalid(header_payload + token.substr(token.rfind('.')), "signature of another token");

  // Logged out: the account token is revoked.
  const ApiHarness::AccountHandle second = t.h.Register("second@example.com");
  REQUIRE(t.h.Send("POST", "/v1/auth/logout", Json(), {Bearer(second.token)}).status == 204);
  check_invalid(second.token, "revoked");

  // Expired: an hour and a minute later the operator token is refused everywhere.
  CHECK(t.h.Get("/v1/apps", {Bearer(token)}).status == 200);
  t.h.clock->Advance(61min);
  check_invalid(token, "expired");
  CHECK(t.h.Get("/v1/apps", {Bearer(token)}).status == 401);
  CHECK(t.Validate(t.owner.token)["valid"] == true);  // 24 h tokens are still good

  // Bad requests: the route needs no credentials but a well-formed body.
  t.ExpectBadRequest(t.h.Send("POST", "/v1/tokens/validate", Json::object()));
  t.ExpectBadRequest(t.h.Send("POST", "/v1/tokens/validate", Json{{"token", 5}}));
  t.ExpectBadRequest(t.h.Raw("POST", "/v1/tokens/validate", "[\"tok\"]"));
  t.ExpectBadRequest(t.h.Raw("POST", "/v1/tokens/validate", "{\"token\""));
}

TEST_CASE("operators api: an inactive or deleted operator is refused at once and validate says so",
          "[operators_api]") {
  OperatorsApi t;
  const std::string op = Str(t.CreateOperator("Grace", {t.app.id})["id"]);
  const std::string token = t.Token(op);
  const std::string conversation = "/v1/conversations/" + t.conv_a.conversation_id;
  REQUIRE(t.h.Get(conversation, {Bearer(token)}).status == 200);

  REQUIRE(t.h.Send("PATCH", "/v1/operators/" + op, Json{{"status", "inactive"}}, t.Owner()).status == 200);
  CHECK(t.h.Get(conversation, {Bearer(token)}).status == 401);
  CHECK(t.h.Get("/v1/apps", {Header{"X-Authorization-Key", token}}).status == 401);
  CHECK(t.h.Send("POST", conversation + "/messages", Json{{"text", "still here?"}}, {Bearer(token)}).status == 401);
  const Json inactive = t.Validate(token);
  CHECK(inactive["valid"] == false);
  CHECK_FALSE(Str(inactive["error"]).empty());
  CHECK(inactive["operator_id"].is_null());

  // Reactivated, then deleted: deleted is the end of it.
  REQUIRE(t.h.Send("PATCH", "/v1/operators/" + op, Json{{"status", "active"}}, t.Owner()).status == 200);
  const std::string fresh = t.Token(op);
  CHECK(t.h.Get(conversation, {Bearer(fresh)}).status == 200);
  REQUIRE(t.h.Send("PATCH", "/v1/operators/" + op, Json{{"status", "deleted"}}, t.Owner()).status == 200);
  CHECK(t.h.Get(conversation, {Bearer(fresh)}).status == 401);
  CHECK(t.Validate(fresh)["valid"] == false);
  CHECK(t.h.Send("POST", "/v1/operators/" + op + "/tokens", Json{{"expires_at", t.In(1h)}}, t.Owner()).status >=
        400);
}

TEST_CASE("operators api: an operator of app A sees nothing of other apps and has no admin rights",
          "[operators_api]") {
  OperatorsApi t;
  const std::string op = Str(t.CreateOperator("Grace", {t.app.id})["id"]);
  const std::vector<Header> as_op = {Bearer(t.Token(op))};
  // An operator of the other account, to be sure ids of other accounts' operators are not found either.
  Response foreign = t.h.Send("POST", "/v1/operators", Json{{"name", "Mallory"}, {"app_ids", {t.other_app.id}}},
                              t.Other());
  REQUIRE(foreign.status == 201);
  const std::string foreign_op = Str(BodyJson(foreign)["id"]);

  // Knowledge in each app, written by each team.
  auto add_entry = [&](const std::string& app, const std::vector<Header>& headers) {
    Response r = t.h.Send("POST", "/v1/apps/" + app + "/knowledge",
                          Json{{"type", "text"}, {"content", "Orders ship within two days."}}, headers);
    INFO(r.body);
    REQUIRE(r.status == 201);
    return Str(BodyJson(r)["id"]);
  };
  const std::string kb_a = add_entry(t.app.id, t.Owner());
  const std::string kb_a2 = add_entry(t.app2.id, t.Owner());
  const std::string kb_b = add_entry(t.other_app.id, t.Other());

  // Its own app: the apps list, the inbox, the conversation, history, replies, receipts, typing, knowledge.
  Response apps = t.h.Get("/v1/apps", as_op);
  REQUIRE(apps.status == 200);
  CHECK(Ids(BodyJson(apps)) == std::set<std::string>{t.app.id});
  CHECK(t.h.Get("/v1/apps/" + t.app.id, as_op).status == 200);
  Response inbox = t.h.Get("/v1/apps/" + t.app.id + "/conversations", as_op);
  REQUIRE(inbox.status == 200);
  CHECK(Ids(BodyJson(inbox)) == std::set<std::string>{t.conv_a.conversation_id});
  const std::string conv_a = "/v1/conversations/" + t.conv_a.conversation_id;
  CHECK(t.h.Get(conv_a, as_op).status == 200);
  CHECK(t.h.Get(conv_a + "/messages", as_op).status == 200);
  Response reply = t.h.Send("POST", conv_a + "/messages", Json{{"text", "On its way!"}}, as_op);
  INFO(reply.body);
  REQUIRE(reply.status == 201);
  const Json message = BodyJson(reply)["message"];
  CHECK(message["sender"] == Json({{"type", "operator"}, {"id", op}}));
  CHECK(t.h.Send("POST", conv_a + "/read", Json{{"seq", message["seq"]}}, as_op).status == 200);
  CHECK(t.h.Send("POST", conv_a + "/typing", Json{{"state", "start"}}, as_op).status == 204);
  CHECK(t.h.Send("PATCH", conv_a, Json{{"assignee_id", op}}, as_op).status == 200);
  CHECK(t.h.Get("/v1/apps/" + t.app.id + "/knowledge", as_op).status == 200);
  CHECK(t.h.Get("/v1/apps/" + t.app.id + "/knowledge/" + kb_a, as_op).status == 200);
  CHECK(t.h.Get("/v1/apps/" + t.app.id + "/knowledge/search?q=orders", as_op).status == 200);
  // The customer sees the operator's reply.
  Response history = t.h.Get("/v1/sdk/conversations/" + t.conv_a.conversation_id + "/messages",
                             {ApiKey(t.app.publishable_key), Bearer(t.conv_a.session_token)});
  REQUIRE(history.status == 200);
  CHECK(BodyJson(history)["data"].back()["sender"]["type"] == "operator");

  // Apps it is not assigned to, of its own account (A2) or of another (B): not found, whatever the route.
  struct Foreign {
    std::string app;
    std::string conversation;
    std::string entry;
  };
  for (const Foreign& other : {Foreign{t.app2.id, t.conv_a2.conversation_id, kb_a2},
                               Foreign{t.other_app.id, t.conv_b.conversation_id, kb_b}}) {
    INFO("app " << other.app);
    const std::string base = "/v1/apps/" + other.app;
    const std::string conv = "/v1/conversations/" + other.conversation;
    CHECK(t.h.Get(base, as_op).status == 404);
    CHECK(t.h.Get(base + "/conversations", as_op).status == 404);
    CHECK(t.h.Get(conv, as_op).status == 404);
    CHECK(t.h.Get(conv + "/messages", as_op).status == 404);
    CHECK(t.h.Send("POST", conv + "/messages", Json{{"text", "hi"}}, as_op).status == 404);
    CHECK(t.h.Send("PATCH", conv, Json{{"status", "resolved"}}, as_op).status == 404);
    CHECK(t.h.Send("POST", conv + "/read", Json{{"seq", 1}}, as_op).status == 404);
    CHECK(t.h.Send("POST", conv + "/typing", Json{{"state", "start"}}, as_op).status == 404);
    CHECK(t.h.Get(conv + "/members", as_op).status == 404);
    CHECK(t.h.Get(base + "/knowledge", as_op).status == 404);
    CHECK(t.h.Get(base + "/knowledge/" + other.entry, as_op).status == 404);
    CHECK(t.h.Get(base + "/knowledge/search?q=orders", as_op).status == 404);
    CHECK(t.h.Send("POST", base + "/knowledge", Json{{"content", "x"}}, as_op).status == 404);
    CHECK(t.h.Get(base + "/bot", as_op).status == 404);
    CHECK(t.h.Get(base + "/assignment", as_op).status == 404);
    CHECK(t.h.Get(base + "/webhooks", as_op).status == 404);
    CHECK(t.h.Get(base + "/deliveries", as_op).status == 404);
    // Its own app's entry through another app's path is not found either.
    CHECK(t.h.Get(base + "/knowledge/" + kb_a, as_op).status == 404);
  }
  // The conversation of app B stays untouched.
  Response untouched = t.h.Get("/v1/conversations/" + t.conv_b.conversation_id, t.Other());
  REQUIRE(untouched.status == 200);
  CHECK(BodyJson(untouched)["status"] != "resolved");
  CHECK(BodyJson(untouched)["last_seq"] == 1);

  // Admin rights on its own app stay with the team.
  const std::string base = "/v1/apps/" + t.app.id;
  CHECK(Denied(t.h.Send("PATCH", base, Json{{"name", "Mine now"}}, as_op)));
  CHECK(Denied(t.h.Get(base, as_op, "DELETE")));
  CHECK(Denied(t.h.Send("POST", base + "/keys/rotate", Json{{"kind", "secret"}}, as_op)));
  CHECK(Denied(t.h.Get(base + "/webhooks", as_op)));
  CHECK(Denied(t.h.Send("POST", base + "/webhooks",
                        Json{{"url", "https://93.184.215.14/h"}, {"events", {"message.created"}}}, as_op)));
  CHECK(Denied(t.h.Get(base + "/deliveries", as_op)));
  CHECK(Denied(t.h.Get(base + "/email-provider", as_op)));
  CHECK(Denied(t.h.Send("PUT", base + "/bot", Json{{"enabled", true}}, as_op)));
  CHECK(Denied(t.h.Send("PUT", base + "/assignment", Json{{"mode", "round_robin"}}, as_op)));
  CHECK(Denied(t.h.Send("POST", base + "/knowledge", Json{{"content", "x"}}, as_op)));
  CHECK(Denied(t.h.Send("PUT", base + "/knowledge/" + kb_a, Json{{"content", "x"}}, as_op)));
  CHECK(Denied(t.h.Get(base + "/knowledge/" + kb_a, as_op, "DELETE")));
  CHECK(t.h.Get(base + "/knowledge/" + kb_a, t.Owner()).status == 200);  // still there
  // Nor does it manage operators: not the others, not itself.
  CHECK(Denied(t.h.Get("/v1/operators", as_op)));
  CHECK(Denied(t.h.Send("POST", "/v1/operators", Json{{"name", "Sidekick"}, {"app_ids", {t.app.id}}}, as_op)));
  CHECK(Denied(t.h.Send("PATCH", "/v1/operators/" + op, Json{{"app_ids", {t.app.id, t.app2.id}}}, as_op)));
  CHECK(Denied(t.h.Send("POST", "/v1/operators/" + op + "/tokens", Json{{"expires_at", t.In(1h)}}, as_op)));
  CHECK(t.h.Get("/v1/operators/" + foreign_op, as_op).status == 404);
  CHECK(BodyJson(t.h.Get("/v1/operators/" + op, t.Owner()))["app_ids"] == Json::array({t.app.id}));
}

TEST_CASE("operators api: assignment settings round trip, validation and who may assign", "[operators_api]") {
  OperatorsApi t;
  const std::string path = "/v1/apps/" + t.app.id + "/assignment";
  Response initial = t.h.Get(path, t.Owner());
  REQUIRE(initial.status == 200);
  CHECK(BodyJson(initial) == Json{{"mode", "manual"}});

  Response put = t.h.Send("PUT", path, Json{{"mode", "round_robin"}}, t.Owner());
  REQUIRE(put.status == 200);
  CHECK(BodyJson(put) == Json{{"mode", "round_robin"}});
  CHECK(BodyJson(t.h.Get(path, t.Owner())) == Json{{"mode", "round_robin"}});
  CHECK(BodyJson(t.h.Get("/v1/apps/" + t.app2.id + "/assignment", t.Owner())) == Json{{"mode", "manual"}});

  t.ExpectBadRequest(t.h.Send("PUT", path, Json{{"mode", "random"}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PUT", path, Json{{"mode", 1}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PUT", path, Json::object(), t.Owner()));
  t.ExpectBadRequest(t.h.Raw("PUT", path, "{\"mode\":", t.Owner()));
  t.ExpectBadRequest(t.h.Raw("PUT", path, "[\"manual\"]", t.Owner()));
  CHECK(t.h.Get("/v1/apps/" + t.other_app.id + "/assignment", t.Owner()).status == 404);
  CHECK(t.h.Send("PUT", "/v1/apps/" + t.other_app.id + "/assignment", Json{{"mode", "manual"}}, t.Owner()).status ==
        404);
  CHECK(t.h.Get("/v1/apps/garbage/assignment", t.Owner()).status == 404);
  CHECK(t.h.Get(path, {}).status == 401);
  CHECK(BodyJson(t.h.Get(path, t.Owner())) == Json{{"mode", "round_robin"}});  // unchanged by the refusals

  // Manual assignment: an active operator of the app, or nobody.
  const std::string op = Str(t.CreateOperator("Grace", {t.app.id})["id"]);
  const std::string elsewhere = Str(t.CreateOperator("Alan", {t.app2.id})["id"]);
  const std::string conv = "/v1/conversations/" + t.conv_a.conversation_id;
  Response assigned = t.h.Send("PATCH", conv, Json{{"assignee_id", op}}, t.Owner());
  REQUIRE(assigned.status == 200);
  CHECK(BodyJson(assigned)["assignee_id"] == op);
  CHECK(t.h.Send("PATCH", conv, Json{{"assignee_id", elsewhere}}, t.Owner()).status == 404);
  CHECK(t.h.Send("PATCH", conv, Json{{"assignee_id", "op_doesnotexist00000000000"}}, t.Owner()).status == 404);
  Response listed = t.h.Get("/v1/apps/" + t.app.id + "/conversations?assignee=" + op, t.Owner());
  REQUIRE(listed.status == 200);
  CHECK(Ids(BodyJson(listed)) == std::set<std::string>{t.conv_a.conversation_id});
  Response unassigned = t.h.Send("PATCH", conv, Json{{"assignee_id", nullptr}}, t.Owner());
  REQUIRE(unassigned.status == 200);
  CHECK(BodyJson(unassigned)["assignee_id"].is_null());

  // Round robin: a new support conversation goes to the operator that is online.
  Credentials credentials;
  credentials.bearer_token = t.Token(op);
  auto principal = t.h.chat->Authenticate(credentials);
  REQUIRE(principal.ok());
  REQUIRE(t.h.chat->SetPresence(*principal, true).ok());
  const ApiHarness::SdkHandle fresh = t.h.FirstMessage(t.app, "Anyone there?");
  Response routed = t.h.Get("/v1/conversations/" + fresh.conversation_id, t.Owner());
  REQUIRE(routed.status == 200);
  CHECK(BodyJson(routed)["assignee_id"] == op);
}

}  // namespace
}  // namespace libchat::test
