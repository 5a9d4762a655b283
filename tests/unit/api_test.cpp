// The HTTP API (server/api) driven with hand-built requests over a real Chat on the in-memory store.
// Every call goes through ApiHarness::Call, which also checks the request id, the error body shape and that
// nothing answered 5xx.
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "api_test_util.h"
#include "auth/jwt.h"
#include "catch.h"
#include "server/api/router.h"
#include "server/json_codec.h"
#include "util/crypto.h"

namespace libchat::test {
namespace {

using server::api::PathParams;
using server::api::RouteOutcome;
using server::api::Router;

std::string Str(const Json& j) { return j.is_string() ? j.get<std::string>() : std::string("<not a string>"); }

// ---------------------------------------------------------------------------
// The whole loop

TEST_CASE("api: register, app, SDK first message, owner inbox, reply, history, receipts", "[api]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  auto app = h.CreateApp(owner);

  // The customer's first message creates the conversation and returns a session token.
  Response first = h.Send("POST", "/v1/sdk/messages", Json{{"text", "Hello, I need help"}, {"client_msg_id", "c-1"}},
                          {ApiKey(app.publishable_key)});
  REQUIRE(first.status == 201);
  Json first_body = BodyJson(first);
  const std::string conversation_id = Str(first_body["conversation_id"]);
  const std::string session = Str(first_body["session_token"]);
  CHECK(conversation_id.rfind("conv_", 0) == 0);
  CHECK_FALSE(session.empty());
  CHECK(first_body["session_expires_at"].is_string());
  CHECK(first_body["message"]["seq"] == 1);
  CHECK(first_body["message"]["sender"]["type"] == "customer");
  CHECK(first_body["message"]["client_msg_id"] == "c-1");
  CHECK(first_body["message"]["conversation_id"] == conversation_id);
  const std::string customer_id = Str(first_body["message"]["sender"]["id"]);

  // The owner's inbox shows it, unread, with its last message.
  Response inbox = h.Get("/v1/apps/" + app.id + "/conversations", {Bearer(owner.token)});
  REQUIRE(inbox.status == 200);
  Json inbox_body = BodyJson(inbox);
  REQUIRE(inbox_body["data"].size() == 1);
  const Json& listed = inbox_body["data"][0];
  CHECK(listed["id"] == conversation_id);
  CHECK(listed["app_id"] == app.id);
  CHECK(listed["type"] == "support");
  CHECK(listed["status"] == "open");
  CHECK(listed["customer_id"] == customer_id);
  CHECK(listed["assignee_id"].is_null());
  CHECK(listed["unread_count"] == 1);
  CHECK(listed["read_seq"] == 0);
  CHECK(listed["last_seq"] == 1);
  CHECK(listed["last_message"]["text"] == "Hello, I need help");
  CHECK(inbox_body["next_cursor"].is_null());

  // The owner replies.
  h.clock->Advance(std::chrono::seconds(5));
  Response reply = h.Send("POST", "/v1/conversations/" + conversation_id + "/messages",
                          Json{{"text", "Hi! How can we help?"}}, {Bearer(owner.token)});
  REQUIRE(reply.status == 201);
  Json reply_body = BodyJson(reply);
  CHECK(reply_body["message"]["seq"] == 2);
  CHECK(reply_body["message"]["sender"]["type"] == "account");
  CHECK(reply_body["message"]["sender"]["id"] == owner.id);
  CHECK(reply_body["message"]["client_msg_id"].is_null());

  // The customer reads the history after what it has.
  Response history = h.Get("/v1/sdk/conversations/" + conversation_id + "/messages?after_seq=1",
                           {ApiKey(app.publishable_key), Bearer(session)});
  REQUIRE(history.status == 200);
  Json history_body = BodyJson(history);
  REQUIRE(history_body["data"].size() == 1);
  CHECK(history_body["data"][0]["seq"] == 2);
  CHECK(history_body["data"][0]["text"] == "Hi! How can we help?");
  CHECK(history_body["has_more"] == false);

  // Read receipts on both sides.
  Response customer_read = h.Send("POST", "/v1/sdk/conversations/" + conversation_id + "/read", Json{{"seq", 2}},
                                  {Bearer(session)});
  REQUIRE(customer_read.status == 200);
  CHECK(BodyJson(customer_read)["receipt"]["read_seq"] == 2);
  CHECK(BodyJson(customer_read)["receipt"]["member_id"] == customer_id);
  Response owner_read = h.Send("POST", "/v1/conversations/" + conversation_id + "/read", Json{{"seq", 2}},
                               {Bearer(owner.token)});
  REQUIRE(owner_read.status == 200);
  CHECK(BodyJson(owner_read)["receipt"]["read_seq"] == 2);
  CHECK(BodyJson(owner_read)["receipt"]["conversation_id"] == conversation_id);

  // Unread drops to zero for the owner.
  Json after = BodyJson(h.Get("/v1/apps/" + app.id + "/conversations", {Bearer(owner.token)}));
  REQUIRE(after["data"].size() == 1);
  CHECK(after["data"][0]["unread_count"] == 0);
  CHECK(after["data"][0]["read_seq"] == 2);
  CHECK(after["data"][0]["last_message"]["seq"] == 2);

  // The customer sees its own conversation too.
  Json own = BodyJson(h.Get("/v1/sdk/conversations", {Bearer(session)}));
  REQUIRE(own["data"].size() == 1);
  CHECK(own["data"][0]["id"] == conversation_id);
  CHECK(own["data"][0]["unread_count"] == 0);
}

// ---------------------------------------------------------------------------
// Operations

TEST_CASE("api: /health and /openapi.json", "[api]") {
  ApiHarness h;
  Response health = h.Get("/health");
  REQUIRE(health.status == 200);
  Json body = BodyJson(health);
  CHECK(body["status"] == "ok");
  CHECK(body["version"] == "9.9.9-test");
  CHECK(body["uptime_s"].is_number_integer());
  CHECK(body["db_writable"] == true);
  CHECK(*ResponseHeader(health, "Content-Type") == "application/json");

  h.store->unwritable = true;
  Response down = h.Call(MakeRequest("GET", "/health"), /*allow_5xx=*/true);
  CHECK(down.status == 503);
  CHECK(BodyJson(down)["status"] == "unavailable");
  CHECK(BodyJson(down)["db_writable"] == false);

  Response openapi = h.Get("/openapi.json");
  CHECK(openapi.status == 200);
  CHECK(openapi.body == R"({"openapi":"3.1.0"})");
  CHECK(*ResponseHeader(openapi, "Content-Type") == "application/json");

  server::ApiOptions no_doc = ApiHarness::DefaultApiOptions();
  no_doc.openapi_json.clear();
  ApiHarness h2(no_doc);
  Response missing = h2.Get("/openapi.json");
  CHECK(missing.status == 404);
  CHECK(ErrorCode(missing) == "not_found");
}

// ---------------------------------------------------------------------------
// Accounts

TEST_CASE("api: accounts register, login, me, logout", "[api]") {
  ApiHarness h;
  Response registered = h.Send("POST", "/v1/auth/register",
                               Json{{"email", "Ana@Example.com"}, {"password", "s3cret-password"}, {"name", "Ana"}});
  REQUIRE(registered.status == 201);
  Json body = BodyJson(registered);
  CHECK(Str(body["account"]["id"]).rfind("acc_", 0) == 0);
  CHECK(body["account"]["email"] == "ana@example.com");
  CHECK(body["account"]["name"] == "Ana");
  CHECK(body["account"]["created_at"] == "2026-01-01T00:00:00.000Z");
  CHECK(body["expires_at"] == "2026-01-02T00:00:00.000Z");
  CHECK_FALSE(body["account"].contains("password_hash"));
  const std::string token = Str(body["token"]);

  SECTION("duplicate email is 409 already_exists") {
    Response again = h.Send("POST", "/v1/auth/register",
                            Json{{"email", "ana@example.com"}, {"password", "another-password"}, {"name", "A"}});
    CHECK(again.status == 409);
    CHECK(ErrorCode(again) == "already_exists");
  }
  SECTION("login") {
    Response ok =
        h.Send("POST", "/v1/auth/login", Json{{"email", "ana@example.com"}, {"password", "s3cret-password"}});
    REQUIRE(ok.status == 200);
    CHECK(BodyJson(ok)["account"]["email"] == "ana@example.com");
    CHECK(BodyJson(ok)["token"].is_string());
    Response wrong =
        h.Send("POST", "/v1/auth/login", Json{{"email", "ana@example.com"}, {"password", "nope-nope"}});
    CHECK(wrong.status == 401);
    CHECK(ErrorCode(wrong) == "unauthenticated");
    Response unknown =
        h.Send("POST", "/v1/auth/login", Json{{"email", "who@example.com"}, {"password", "nope-nope"}});
    CHECK(unknown.status == 401);
  }
  SECTION("me and profile updates") {
    Response me = h.Get("/v1/auth/me", {Bearer(token)});
    REQUIRE(me.status == 200);
    CHECK(BodyJson(me)["email"] == "ana@example.com");

    Response renamed = h.Send("PATCH", "/v1/auth/me", Json{{"name", "Ana B."}}, {Bearer(token)});
    REQUIRE(renamed.status == 200);
    CHECK(BodyJson(renamed)["name"] == "Ana B.");

    Response no_current = h.Send("PATCH", "/v1/auth/me", Json{{"email", "new@example.com"}}, {Bearer(token)});
    CHECK(no_current.status == 400);
    CHECK(ErrorCode(no_current) == "invalid_argument");
    Response bad_current = h.Send("PATCH", "/v1/auth/me",
                                  Json{{"email", "new@example.com"}, {"current_password", "wrong-password"}},
                                  {Bearer(token)});
    CHECK(bad_current.status == 403);
    CHECK(ErrorCode(bad_current) == "permission_denied");
    Response moved = h.Send("PATCH", "/v1/auth/me",
                            Json{{"email", "new@example.com"}, {"current_password", "s3cret-password"},
                                 {"new_password", "even-more-secret"}},
                            {Bearer(token)});
    REQUIRE(moved.status == 200);
    CHECK(BodyJson(moved)["email"] == "new@example.com");
    CHECK(h.Send("POST", "/v1/auth/login", Json{{"email", "new@example.com"}, {"password", "even-more-secret"}})
              .status == 200);
    Response wrong_type = h.Send("PATCH", "/v1/auth/me", Json{{"name", 42}}, {Bearer(token)});
    CHECK(wrong_type.status == 400);
  }
  SECTION("logout revokes the token") {
    Response out = h.Get("/v1/auth/logout", {Bearer(token)}, "POST");
    CHECK(out.status == 204);
    Response reuse = h.Get("/v1/auth/me", {Bearer(token)});
    CHECK(reuse.status == 401);
    CHECK(ErrorCode(reuse) == "unauthenticated");
  }
  SECTION("an API key cannot log out (409 failed_precondition)") {
    auto app = h.CreateApp({"", token, ""});
    Response out = h.Get("/v1/auth/logout", {ApiKey(app.secret_key)}, "POST");
    CHECK(out.status == 409);
    CHECK(ErrorCode(out) == "failed_precondition");
  }
  SECTION("a customer has no profile (403)") {
    auto app = h.CreateApp({"", token, ""});
    auto sdk = h.FirstMessage(app);
    Response me = h.Get("/v1/auth/me", {Bearer(sdk.session_token)});
    CHECK(me.status == 403);
    CHECK(ErrorCode(me) == "permission_denied");
  }
}

// ---------------------------------------------------------------------------
// Apps

TEST_CASE("api: apps create, list, get, update, rotate, delete", "[api]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  Response created = h.Send("POST", "/v1/apps",
                            Json{{"name", "Acme"},
                                 {"theme", {{"color", "#3b82f6"}}},
                                 {"prechat", Json::array({Json{{"question", "Your name?"}}})},
                                 {"identity_verification", true}},
                            {Bearer(owner.token)});
  REQUIRE(created.status == 201);
  Json body = BodyJson(created);
  const std::string app_id = Str(body["app"]["id"]);
  const std::string pk = Str(body["publishable_key"]);
  const std::string sk = Str(body["secret_key"]);
  CHECK(app_id.rfind("app_", 0) == 0);
  CHECK(pk.rfind("pk_", 0) == 0);
  CHECK(sk.rfind("sk_", 0) == 0);
  CHECK(body["identity_secret"].is_string());
  CHECK(body["app"]["publishable_key"] == pk);
  CHECK(body["app"]["account_id"] == owner.id);
  CHECK(body["app"]["theme"]["color"] == "#3b82f6");
  CHECK(body["app"]["prechat"][0]["question"] == "Your name?");
  CHECK(body["app"]["identity_verification"] == true);
  CHECK(body["app"]["created_at"].is_string());
  CHECK(body["app"]["limits"] == Json{{"requests_per_s", 0}, {"burst", 0}, {"customer_sends_per_min", 0}});
  // id, account_id, name, publishable_key, theme, prechat, identity_verification, limits, created_at, updated_at
  CHECK(body["app"].size() == 10);

  Response got = h.Get("/v1/apps/" + app_id, {Bearer(owner.token)});
  REQUIRE(got.status == 200);
  CHECK(BodyJson(got)["name"] == "Acme");
  CHECK(got.body.find(sk) == std::string::npos);  // the secret key is never shown again
  CHECK(got.body.find("secret") == std::string::npos);

  SECTION("list is cursor-paginated") {
    h.CreateApp(owner, "Second");
    h.CreateApp(owner, "Third");
    std::vector<std::string> names;
    std::string cursor;
    for (int page = 0; page < 5; ++page) {
      Response list = h.Get("/v1/apps?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor), {Bearer(owner.token)});
      REQUIRE(list.status == 200);
      Json list_body = BodyJson(list);
      CHECK(list_body["data"].size() <= 2);
      for (const Json& app : list_body["data"]) names.push_back(Str(app["name"]));
      if (list_body["next_cursor"].is_null()) break;
      cursor = Str(list_body["next_cursor"]);
    }
    CHECK(names.size() == 3);
    Response bad_cursor = h.Get("/v1/apps?cursor=zzz", {Bearer(owner.token)});
    CHECK(bad_cursor.status == 400);
    Response bad_limit = h.Get("/v1/apps?limit=0x10", {Bearer(owner.token)});
    CHECK(bad_limit.status == 400);
    CHECK(h.Get("/v1/apps?limit=201", {Bearer(owner.token)}).status == 400);
  }
  SECTION("update") {
    Response patched = h.Send("PATCH", "/v1/apps/" + app_id,
                              Json{{"name", "Acme 2"},
                                   {"theme", {{"color", "red"}}},
                                   {"identity_verification", false}},
                              {Bearer(owner.token)});
    REQUIRE(patched.status == 200);
    Json p = BodyJson(patched);
    CHECK(p["name"] == "Acme 2");
    CHECK(p["theme"]["color"] == "red");
    CHECK(p["prechat"][0]["question"] == "Your name?");  // untouched
    CHECK(p["identity_verification"] == false);
    CHECK(h.Send("PATCH", "/v1/apps/" + app_id, Json{{"theme", "red"}}, {Bearer(owner.token)}).status == 400);
    CHECK(h.Send("PATCH", "/v1/apps/" + app_id, Json{{"prechat", Json::object()}}, {Bearer(owner.token)}).status ==
          400);
    CHECK(h.Send("PATCH", "/v1/apps/" + app_id, Json{{"identity_verification", "yes"}}, {Bearer(owner.token)})
              .status == 400);
  }
  SECTION("rotate the publishable key: the old one stops working") {
    CHECK(h.Get("/v1/sdk/config", {ApiKey(pk)}).status == 200);
    Response rotated = h.Send("POST", "/v1/apps/" + app_id + "/keys/rotate", Json{{"kind", "publishable"}},
                              {Bearer(owner.token)});
    REQUIRE(rotated.status == 200);
    Json r = BodyJson(rotated);
    CHECK(r["kind"] == "publishable");
    const std::string new_pk = Str(r["key"]);
    CHECK(new_pk != pk);
    CHECK(r["app"]["publishable_key"] == new_pk);
    CHECK(h.Get("/v1/sdk/config", {ApiKey(pk)}).status == 401);
    CHECK(h.Get("/v1/sdk/config", {ApiKey(new_pk)}).status == 200);
  }
  SECTION("rotate the secret key") {
    CHECK(h.Get("/v1/apps/" + app_id, {ApiKey(sk)}).status == 200);
    Response rotated =
        h.Send("POST", "/v1/apps/" + app_id + "/keys/rotate", Json{{"kind", "secret"}}, {Bearer(owner.token)});
    REQUIRE(rotated.status == 200);
    const std::string new_sk = Str(BodyJson(rotated)["key"]);
    CHECK(new_sk.rfind("sk_", 0) == 0);
    CHECK(h.Get("/v1/apps/" + app_id, {ApiKey(sk)}).status == 401);
    CHECK(h.Get("/v1/apps/" + app_id, {ApiKey(new_sk)}).status == 200);
    Response bad_kind =
        h.Send("POST", "/v1/apps/" + app_id + "/keys/rotate", Json{{"kind", "master"}}, {Bearer(owner.token)});
    CHECK(bad_kind.status == 400);
    CHECK(BodyJson(bad_kind)["error"]["message"] == "kind must be one of secret, publishable");
    Response no_kind = h.Send("POST", "/v1/apps/" + app_id + "/keys/rotate", Json::object(), {Bearer(owner.token)});
    CHECK(no_kind.status == 400);
    CHECK(BodyJson(no_kind)["error"]["message"] == "kind is required");
  }
  SECTION("delete") {
    CHECK(h.Get("/v1/apps/" + app_id, {Bearer(owner.token)}, "DELETE").status == 204);
    CHECK(h.Get("/v1/apps/" + app_id, {Bearer(owner.token)}).status == 404);
    CHECK(h.Get("/v1/apps/" + app_id, {Bearer(owner.token)}, "DELETE").status == 404);
  }
  SECTION("missing name, customers cannot create apps") {
    Response no_name = h.Send("POST", "/v1/apps", Json::object(), {Bearer(owner.token)});
    CHECK(no_name.status == 400);
    CHECK(BodyJson(no_name)["error"]["message"] == "name is required");
    Response by_key = h.Send("POST", "/v1/apps", Json{{"name", "x"}}, {ApiKey(pk)});
    CHECK(by_key.status == 403);
    CHECK(ErrorCode(by_key) == "permission_denied");
  }
}

// ---------------------------------------------------------------------------
// SDK

TEST_CASE("api: SDK config, sessions, messages, history, read, typing", "[api]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  auto app = h.CreateApp(owner, "Widget Co");

  Response config = h.Get("/v1/sdk/config", {ApiKey(app.publishable_key)});
  REQUIRE(config.status == 200);
  Json c = BodyJson(config);
  CHECK(c["app_id"] == app.id);
  CHECK(c["name"] == "Widget Co");
  CHECK(c["theme"].is_object());
  CHECK(c["prechat"].is_array());

  Response session = h.Send("POST", "/v1/sdk/sessions",
                            Json{{"customer", {{"external_id", "user-42"}, {"name", "Bo"}, {"email", "bo@x.io"}}},
                                 {"metadata", {{"page", "/pricing"}}}},
                            {ApiKey(app.publishable_key)});
  REQUIRE(session.status == 201);
  Json s = BodyJson(session);
  const std::string conversation_id = Str(s["conversation"]["id"]);
  const std::string token = Str(s["session_token"]);
  CHECK(s["customer"]["external_id"] == "user-42");
  CHECK(s["customer"]["name"] == "Bo");
  CHECK(s["customer"]["email"] == "bo@x.io");
  CHECK(s["conversation"]["metadata"]["page"] == "/pricing");
  CHECK(s["conversation"]["last_message"].is_null());
  CHECK(s["conversation"]["snoozed_until"].is_null());
  CHECK(s["expires_at"].is_string());

  // Messages into the session's conversation.
  const std::vector<Header> auth = {ApiKey(app.publishable_key), Bearer(token)};
  for (int i = 1; i <= 5; ++i) {
    Response sent = h.Send("POST", "/v1/sdk/messages",
                           Json{{"text", "m" + std::to_string(i)}, {"conversation_id", conversation_id},
                                {"client_msg_id", "k" + std::to_string(i)}, {"metadata", {{"n", i}}}},
                           auth);
    REQUIRE(sent.status == 201);
    Json m = BodyJson(sent);
    CHECK(m["conversation_id"] == conversation_id);
    CHECK(m["message"]["seq"] == i);
    CHECK(m["message"]["metadata"]["n"] == i);
    CHECK_FALSE(m.contains("session_token"));  // the session already exists
  }
  // A repeated client_msg_id returns the original with 200.
  Response repeat = h.Send("POST", "/v1/sdk/messages",
                           Json{{"text", "m3"}, {"conversation_id", conversation_id}, {"client_msg_id", "k3"}}, auth);
  CHECK(repeat.status == 200);
  CHECK(BodyJson(repeat)["message"]["seq"] == 3);

  SECTION("history pages by seq with has_more") {
    Json page1 = BodyJson(h.Get("/v1/sdk/conversations/" + conversation_id + "/messages?limit=2", auth));
    REQUIRE(page1["data"].size() == 2);
    CHECK(page1["data"][0]["seq"] == 1);
    CHECK(page1["has_more"] == true);
    Json page2 = BodyJson(h.Get("/v1/sdk/conversations/" + conversation_id + "/messages?after_seq=2&limit=2", auth));
    REQUIRE(page2["data"].size() == 2);
    CHECK(page2["data"][0]["seq"] == 3);
    CHECK(page2["has_more"] == true);
    Json page3 = BodyJson(h.Get("/v1/sdk/conversations/" + conversation_id + "/messages?after_seq=4&limit=2", auth));
    REQUIRE(page3["data"].size() == 1);
    CHECK(page3["has_more"] == false);
    Json before =
        BodyJson(h.Get("/v1/sdk/conversations/" + conversation_id + "/messages?before_seq=5&limit=2", auth));
    REQUIRE(before["data"].size() == 2);
    CHECK(before["data"][0]["seq"] == 3);
    CHECK(before["data"][1]["seq"] == 4);
    CHECK(before["has_more"] == true);
    Json oldest = BodyJson(h.Get("/v1/sdk/conversations/" + conversation_id + "/messages?before_seq=3", auth));
    REQUIRE(oldest["data"].size() == 2);
    CHECK(oldest["has_more"] == false);
    Json all = BodyJson(h.Get("/v1/sdk/conversations/" + conversation_id + "/messages?limit=200", auth));
    CHECK(all["data"].size() == 5);
    CHECK(all["has_more"] == false);
  }
  SECTION("read, typing, get, own list") {
    Response read = h.Send("POST", "/v1/sdk/conversations/" + conversation_id + "/read", Json{{"seq", 4}}, auth);
    REQUIRE(read.status == 200);
    CHECK(BodyJson(read)["receipt"]["read_seq"] == 4);
    Response beyond = h.Send("POST", "/v1/sdk/conversations/" + conversation_id + "/read", Json{{"seq", 99}}, auth);
    CHECK(beyond.status == 400);
    CHECK(h.Send("POST", "/v1/sdk/conversations/" + conversation_id + "/typing", Json{{"state", "start"}}, auth)
              .status == 204);
    Response got = h.Get("/v1/sdk/conversations/" + conversation_id, auth);
    REQUIRE(got.status == 200);
    CHECK(BodyJson(got)["read_seq"] == 4);
    Json own = BodyJson(h.Get("/v1/sdk/conversations", auth));
    CHECK(own["data"].size() == 1);
    // Only a session sees its conversations; a bare publishable key is not a customer.
    Response bare = h.Get("/v1/sdk/conversations", {ApiKey(app.publishable_key)});
    CHECK(bare.status == 401);
  }
  SECTION("posting into a conversation needs the session") {
    Response no_session = h.Send("POST", "/v1/sdk/messages",
                                 Json{{"text", "x"}, {"conversation_id", conversation_id}},
                                 {ApiKey(app.publishable_key)});
    CHECK(no_session.status == 401);
    Response unknown =
        h.Send("POST", "/v1/sdk/messages", Json{{"text", "x"}, {"conversation_id", "conv_doesnotexist"}}, auth);
    CHECK(unknown.status == 404);
    Response malformed =
        h.Send("POST", "/v1/sdk/messages", Json{{"text", "x"}, {"conversation_id", "../../etc"}}, auth);
    CHECK(malformed.status == 404);
  }
  SECTION("identity verification") {
    h.Send("PATCH", "/v1/apps/" + app.id, Json{{"identity_verification", true}}, {Bearer(owner.token)});
    Response unverified = h.Send("POST", "/v1/sdk/sessions", Json{{"customer", {{"external_id", "user-7"}}}},
                                 {ApiKey(app.publishable_key)});
    CHECK(unverified.status == 401);
    const std::string hash = internal::HexEncode(internal::HmacSha256(app.identity_secret, "user-7"));
    Response verified = h.Send("POST", "/v1/sdk/sessions",
                               Json{{"customer", {{"external_id", "user-7"}, {"user_hash", hash}}}},
                               {ApiKey(app.publishable_key)});
    CHECK(verified.status == 201);
    Response wrong_type = h.Send("POST", "/v1/sdk/sessions", Json{{"customer", {{"external_id", 7}}}},
                                 {ApiKey(app.publishable_key)});
    CHECK(wrong_type.status == 400);
    CHECK(BodyJson(wrong_type)["error"]["message"] == "customer.external_id must be a string");
    Response not_object = h.Send("POST", "/v1/sdk/sessions", Json{{"customer", "bob"}}, {ApiKey(app.publishable_key)});
    CHECK(not_object.status == 400);
    CHECK(BodyJson(not_object)["error"]["message"] == "customer must be an object");
  }
}

// ---------------------------------------------------------------------------
// Conversations (team side)

TEST_CASE("api: conversations get, patch, filters, team messages", "[api]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  auto app = h.CreateApp(owner);
  auto sdk = h.FirstMessage(app);
  const std::vector<Header> auth = {Bearer(owner.token)};
  const std::string conv = "/v1/conversations/" + sdk.conversation_id;

  Response got = h.Get(conv, auth);
  REQUIRE(got.status == 200);
  Json g = BodyJson(got);
  CHECK(g["id"] == sdk.conversation_id);
  for (const char* field : {"id", "app_id", "type", "status", "assignee_id", "name", "metadata", "customer_id",
                            "last_seq", "last_message", "unread_count", "read_seq", "snoozed_until", "created_at",
                            "updated_at", "last_activity_at"}) {
    INFO(field);
    CHECK(g.contains(field));
  }
  for (const char* field : {"id", "conversation_id", "seq", "sender", "text", "metadata", "client_msg_id",
                            "created_at", "edited_at", "deleted"}) {
    INFO(field);
    CHECK(g["last_message"].contains(field));
  }
  CHECK(g["last_message"]["edited_at"].is_null());
  CHECK(g["last_message"]["deleted"] == false);

  SECTION("assign, resolve, snooze, rename, metadata") {
    Response assigned = h.Send("PATCH", conv, Json{{"assignee_id", owner.id}, {"name", "Billing question"}}, auth);
    REQUIRE(assigned.status == 200);
    CHECK(BodyJson(assigned)["assignee_id"] == owner.id);
    CHECK(BodyJson(assigned)["name"] == "Billing question");
    Json mine = BodyJson(h.Get("/v1/apps/" + app.id + "/conversations?assignee=me", auth));
    CHECK(mine["data"].size() == 1);
    Json unassigned = BodyJson(h.Get("/v1/apps/" + app.id + "/conversations?assignee=none", auth));
    CHECK(unassigned["data"].empty());

    Response cleared = h.Send("PATCH", conv, Json{{"assignee_id", nullptr}}, auth);
    REQUIRE(cleared.status == 200);
    CHECK(BodyJson(cleared)["assignee_id"].is_null());
    CHECK(BodyJson(h.Get("/v1/apps/" + app.id + "/conversations?assignee=", auth))["data"].size() == 1);
    h.Send("PATCH", conv, Json{{"assignee_id", owner.id}}, auth);
    Response cleared_empty = h.Send("PATCH", conv, Json{{"assignee_id", ""}}, auth);
    CHECK(BodyJson(cleared_empty)["assignee_id"].is_null());

    Response stranger = h.Send("PATCH", conv, Json{{"assignee_id", "acc_someoneelse"}}, auth);
    CHECK(stranger.status == 404);  // an account that is not on the app's team: "assignee not found"

    Response resolved = h.Send("PATCH", conv, Json{{"status", "resolved"}, {"metadata", {{"tier", "gold"}}}}, auth);
    REQUIRE(resolved.status == 200);
    CHECK(BodyJson(resolved)["status"] == "resolved");
    CHECK(BodyJson(resolved)["metadata"]["tier"] == "gold");
    CHECK(BodyJson(h.Get("/v1/apps/" + app.id + "/conversations?status=resolved", auth))["data"].size() == 1);
    CHECK(BodyJson(h.Get("/v1/apps/" + app.id + "/conversations?status=open", auth))["data"].empty());
    CHECK(BodyJson(h.Get("/v1/apps/" + app.id + "/conversations?type=support", auth))["data"].size() == 1);
    CHECK(BodyJson(h.Get("/v1/apps/" + app.id + "/conversations?type=dm", auth))["data"].empty());

    Response snoozed =
        h.Send("PATCH", conv, Json{{"status", "snoozed"}, {"snoozed_until", "2026-01-02T10:00:00Z"}}, auth);
    REQUIRE(snoozed.status == 200);
    CHECK(BodyJson(snoozed)["snoozed_until"] == "2026-01-02T10:00:00.000Z");
    Response unsnoozed = h.Send("PATCH", conv, Json{{"snoozed_until", nullptr}}, auth);
    REQUIRE(unsnoozed.status == 200);
    CHECK(BodyJson(unsnoozed)["snoozed_until"].is_null());

    // A customer message reopens it.
    h.Send("PATCH", conv, Json{{"status", "resolved"}}, auth);
    h.Send("POST", "/v1/sdk/messages", Json{{"text", "still broken"}, {"conversation_id", sdk.conversation_id}},
           {Bearer(sdk.session_token)});
    CHECK(BodyJson(h.Get(conv, auth))["status"] == "open");
  }
  SECTION("patch validation") {
    Response bad_status = h.Send("PATCH", conv, Json{{"status", "closed"}}, auth);
    CHECK(bad_status.status == 400);
    CHECK(BodyJson(bad_status)["error"]["message"] == "status must be one of open, pending, resolved, snoozed");
    Response bad_time = h.Send("PATCH", conv, Json{{"status", "snoozed"}, {"snoozed_until", "tomorrow"}}, auth);
    CHECK(bad_time.status == 400);
    CHECK(Str(BodyJson(bad_time)["error"]["message"]).find("snoozed_until") != std::string::npos);
    CHECK(h.Send("PATCH", conv, Json{{"snoozed_until", 12}}, auth).status == 400);
    CHECK(h.Send("PATCH", conv, Json{{"assignee_id", 12}}, auth).status == 400);
    CHECK(h.Send("PATCH", conv, Json{{"metadata", Json::array()}}, auth).status == 400);
    CHECK(h.Send("PATCH", conv, Json{{"name", Json::object()}}, auth).status == 400);
    CHECK(h.Send("PATCH", conv, Json{{"snoozed_until", "2026-01-02T10:00:00Z"}}, auth).status == 400);  // not snoozed
  }
  SECTION("list query validation") {
    const std::string list = "/v1/apps/" + app.id + "/conversations";
    CHECK(ErrorCode(h.Get(list + "?status=closed", auth)) == "invalid_argument");
    CHECK(ErrorCode(h.Get(list + "?type=room", auth)) == "invalid_argument");
    CHECK(ErrorCode(h.Get(list + "?limit=-1", auth)) == "invalid_argument");
    CHECK(ErrorCode(h.Get(list + "?limit=abc", auth)) == "invalid_argument");
    CHECK(ErrorCode(h.Get(list + "?limit=99999999999999999999999", auth)) == "invalid_argument");
    CHECK(ErrorCode(h.Get(list + "?cursor=garbage", auth)) == "invalid_argument");
    CHECK(ErrorCode(h.Get(list + "?limit=+5", auth)) == "invalid_argument");
    CHECK(ErrorCode(h.Get(list + "?limit=5%00", auth)) == "invalid_argument");
    CHECK(h.Get(list + "?limit=1", auth).status == 200);
    // Empty values are "not given".
    Response empty = h.Get(list + "?status=&type=&limit=&cursor=", auth);
    CHECK(empty.status == 200);
    CHECK(BodyJson(empty)["data"].size() == 1);
  }
  SECTION("team messages, dedup, history, typing, read") {
    Response sent = h.Send("POST", conv + "/messages", Json{{"text", "On it"}, {"client_msg_id", "agent-1"}}, auth);
    REQUIRE(sent.status == 201);
    Response dup = h.Send("POST", conv + "/messages", Json{{"text", "On it"}, {"client_msg_id", "agent-1"}}, auth);
    CHECK(dup.status == 200);
    CHECK(BodyJson(dup)["message"]["id"] == BodyJson(sent)["message"]["id"]);
    Json history = BodyJson(h.Get(conv + "/messages", auth));
    CHECK(history["data"].size() == 2);
    CHECK(history["has_more"] == false);
    CHECK(ErrorCode(h.Get(conv + "/messages?after_seq=1&before_seq=2", auth)) == "invalid_argument");
    CHECK(ErrorCode(h.Get(conv + "/messages?after_seq=-1", auth)) == "invalid_argument");
    CHECK(ErrorCode(h.Get(conv + "/messages?before_seq=x", auth)) == "invalid_argument");
    CHECK(ErrorCode(h.Get(conv + "/messages?limit=0.5", auth)) == "invalid_argument");
    CHECK(ErrorCode(h.Get(conv + "/messages?limit=201", auth)) == "invalid_argument");
    CHECK(BodyJson(h.Get(conv + "/messages?after_seq=&before_seq=&limit=", auth))["data"].size() == 2);
    CHECK(h.Send("POST", conv + "/typing", Json{{"state", "stop"}}, auth).status == 204);
    CHECK(ErrorCode(h.Send("POST", conv + "/typing", Json{{"state", "dancing"}}, auth)) == "invalid_argument");
    CHECK(ErrorCode(h.Send("POST", conv + "/typing", Json::object(), auth)) == "invalid_argument");
    CHECK(h.Send("POST", conv + "/read", Json{{"seq", 0}}, auth).status == 200);
  }
  SECTION("the app's server key acts for the team; with X-User-Id as a customer") {
    Json listed = BodyJson(h.Get("/v1/apps/" + app.id + "/conversations", {ApiKey(app.secret_key)}));
    CHECK(listed["data"].size() == 1);
    Response as_server = h.Send("POST", conv + "/messages", Json{{"text", "bot says hi"}}, {ApiKey(app.secret_key)});
    CHECK(as_server.status == 201);
    Response as_user = h.Send("POST", "/v1/sdk/messages", Json{{"text", "from my backend"}},
                              {ApiKey(app.secret_key), {"X-User-Id", "ext-9"}});
    REQUIRE(as_user.status == 201);
    CHECK(BodyJson(as_user)["message"]["sender"]["type"] == "customer");
    // That customer does not see the other customer's conversation.
    CHECK(h.Get(conv, {ApiKey(app.secret_key), {"X-User-Id", "ext-9"}}).status == 404);
  }
  SECTION("a customer cannot patch a conversation") {
    Response patched = h.Send("PATCH", conv, Json{{"status", "resolved"}}, {Bearer(sdk.session_token)});
    CHECK(patched.status == 403);
    CHECK(ErrorCode(patched) == "permission_denied");
  }
}

// ---------------------------------------------------------------------------
// Bad input

TEST_CASE("api: malformed bodies, wrong types, missing fields, invalid UTF-8", "[api]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  auto app = h.CreateApp(owner);
  auto sdk = h.FirstMessage(app);
  const std::vector<Header> auth = {Bearer(owner.token)};
  const std::string messages = "/v1/conversations/" + sdk.conversation_id + "/messages";
  const std::string read = "/v1/conversations/" + sdk.conversation_id + "/read";

  struct Case {
    std::string target;
    std::string body;
    std::string field;  // the message must mention it ("" = no check)
  };
  const std::vector<Case> cases = {
      {messages, "{", ""},
      {messages, "{\"text\":\"hi\"", ""},
      {messages, "{\"text\":'hi'}", ""},
      {messages, "not json at all", ""},
      {messages, "[]", "object"},
      {messages, "\"text\"", "object"},
      {messages, "5", "object"},
      {messages, "null", "object"},
      {messages, "{}", "text"},
      {messages, "{\"text\":null}", "text"},
      {messages, "{\"text\":5}", "text"},
      {messages, "{\"text\":[\"a\"]}", "text"},
      {messages, "{\"text\":\"\"}", "text"},
      {messages, "{\"text\":\"hi\",\"metadata\":[]}", "metadata"},
      {messages, "{\"text\":\"hi\",\"metadata\":\"{}\"}", "metadata"},
      {messages, "{\"text\":\"hi\",\"client_msg_id\":7}", "client_msg_id"},
      {messages, "{\"text\":\"hi\",\"client_msg_id\":\"has space\"}", "client_msg_id"},
      {messages, std::string("{\"text\":\"bad \xff byte\"}"), ""},
      {messages, std::string("{\"text\":\"overlong \xc0\xaf\"}"), ""},
      {messages, std::string("{\"text\":\"surrogate \xed\xa0\x80\"}"), ""},
      {messages, "{\"text\":\"lone \\ud800 escape\"}", ""},
      {messages, std::string("{\"text\":\"truncated \xe2\x82\"}"), ""},
      {messages, "{\"text\":\"nul \\u0000 inside\"}", "text"},
      {messages, std::string("{\"text\":\"ok\",\"metadata\":{\"k\":\"\xfe\"}}"), ""},
      {read, "{}", "seq"},
      {read, "{\"seq\":\"x\"}", "seq"},
      {read, "{\"seq\":\"1\"}", "seq"},
      {read, "{\"seq\":-1}", "seq"},
      {read, "{\"seq\":1.5}", "seq"},
      {read, "{\"seq\":true}", "seq"},
      {read, "{\"seq\":99999999999999999999999}", "seq"},
      {read, "{\"seq\":18446744073709551615}", "seq"},
      {"/v1/sdk/messages", "{\"text\":\"hi\",\"conversation_id\":5}", "conversation_id"},
      {"/v1/sdk/messages", "{\"text\":\"hi\",\"customer\":[]}", "customer"},
      {"/v1/apps", "{\"name\":5}", "name"},
      {"/v1/apps", "{\"name\":\"a\",\"theme\":[]}", "theme"},
      {"/v1/apps", "{\"name\":\"a\",\"prechat\":{}}", "prechat"},
      {"/v1/auth/register", "{\"email\":\"a@b.co\",\"password\":12345678,\"name\":\"x\"}", "password"},
      {"/v1/auth/register", "{\"email\":\"a@b.co\",\"name\":\"x\"}", "password"},
      {"/v1/auth/register", "{\"email\":\"not-an-email\",\"password\":\"12345678\",\"name\":\"x\"}", "email"},
      {"/v1/auth/register", "{\"email\":\"a@b.co\",\"password\":\"short\",\"name\":\"x\"}", "password"},
      {"/v1/auth/login", "{\"email\":[],\"password\":\"x\"}", "email"},
  };
  for (const Case& c : cases) {
    INFO(c.target << " " << c.body);
    std::vector<Header> headers = auth;
    if (c.target == "/v1/sdk/messages") headers = {ApiKey(app.publishable_key)};
    Response response = h.Raw("POST", c.target, c.body, headers);
    CHECK(response.status == 400);
    CHECK(ErrorCode(response) == "invalid_argument");
    if (!c.field.empty()) {
      CHECK(Str(BodyJson(response)["error"]["message"]).find(c.field) != std::string::npos);
    }
  }
  // None of that produced a message.
  CHECK(BodyJson(h.Get(messages, auth))["data"].size() == 1);

  // Valid escapes and multi-byte text are fine; an empty body reads as {} (then "text is required").
  Response unicode = h.Raw("POST", messages, "{\"text\":\"caf\\u00e9 \xe2\x82\xac \\ud83d\\ude00\"}", auth);
  REQUIRE(unicode.status == 201);
  CHECK(BodyJson(unicode)["message"]["text"] == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  Response empty = h.Raw("POST", messages, "", auth);
  CHECK(empty.status == 400);
  CHECK(BodyJson(empty)["error"]["message"] == "text is required");
  // Unknown fields are ignored.
  CHECK(h.Raw("POST", messages, "{\"text\":\"x\",\"future_field\":{\"a\":1}}", auth).status == 201);
  // Deep nesting is refused before anything recursive sees it; moderate nesting is fine.
  for (std::size_t depth : {40, 100000}) {
    std::string deep(depth, '[');
    deep += std::string(depth, ']');
    Response nested = h.Raw("POST", messages, "{\"text\":\"x\",\"metadata\":{\"d\":" + deep + "}}", auth);
    CHECK(nested.status == 400);
    CHECK(Str(BodyJson(nested)["error"]["message"]).find("nested") != std::string::npos);
  }
  Response shallow = h.Raw("POST", messages, "{\"text\":\"[[[[{{\",\"metadata\":{\"d\":[[[[1]]]]}}", auth);
  CHECK(shallow.status == 201);
}

TEST_CASE("api: unknown routes are 404, wrong methods 405 with Allow", "[api]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  // ("/" is the dashboard: tests/unit/static_assets_test.cpp.)
  for (const char* target : {"/v1", "/v1/", "/v2/apps", "/v1/nope", "/v1/apps/", "/v1/apps/x/y/z/w/v/u/t/s/r",
                             "/health/", "//health", "/v1/conversations//messages", "/V1/apps"}) {
    INFO(target);
    Response response = h.Get(target, {Bearer(owner.token)});
    CHECK(response.status == 404);
    CHECK(ErrorCode(response) == "not_found");
  }
  Response wrong = h.Get("/v1/apps", {Bearer(owner.token)}, "DELETE");
  CHECK(wrong.status == 405);
  CHECK(ErrorCode(wrong) == "method_not_allowed");
  REQUIRE(ResponseHeader(wrong, "Allow") != nullptr);
  CHECK(*ResponseHeader(wrong, "Allow") == "GET, POST, OPTIONS");
  Response wrong2 = h.Get("/v1/conversations/conv_x", {}, "POST");
  CHECK(wrong2.status == 405);
  CHECK(*ResponseHeader(wrong2, "Allow") == "GET, PATCH, OPTIONS");
  Response lower = h.Get("/v1/apps", {Bearer(owner.token)}, "get");  // methods are case-sensitive
  CHECK(lower.status == 405);
  Response health_post = h.Get("/health", {}, "POST");
  CHECK(health_post.status == 405);

  // A plain OPTIONS on a known path lists the methods.
  Response options = h.Get("/v1/apps/app_x", {}, "OPTIONS");
  CHECK(options.status == 204);
  CHECK(*ResponseHeader(options, "Allow") == "GET, PATCH, DELETE, OPTIONS");
}

// ---------------------------------------------------------------------------
// Authentication

namespace {

std::string B64(std::string_view s) { return internal::Base64UrlEncode(s); }

}  // namespace

TEST_CASE("api: missing, forged, expired, alg-none and revoked tokens are 401", "[api]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  const std::string me = "/v1/auth/me";
  REQUIRE(h.Get(me, {Bearer(owner.token)}).status == 200);

  const std::int64_t now_s = 1767225600;
  internal::TokenClaims claims;
  claims.subject = owner.id;
  claims.kind = "account";
  claims.token_id = "forgedtokenid0000000000";
  claims.issued_at = now_s;
  claims.expires_at = now_s + 3600;

  std::vector<std::pair<std::string, std::vector<Header>>> bad = {
      {"no credentials", {}},
      {"empty bearer", {{"Authorization", "Bearer "}}},
      {"garbage", {Bearer("garbage")}},
      {"basic scheme", {{"Authorization", "Basic dXNlcjpwYXNz"}}},
      {"forged signature", {Bearer(internal::SignJwt(claims, "another-secret-another-secret-0123456789"))}},
      {"alg none, empty signature",
       {Bearer(B64(R"({"alg":"none","typ":"JWT"})") + "." +
               B64(R"({"sub":")" + owner.id + R"(","knd":"account","jti":"abc","iat":1767225600,"exp":1999999999})") +
               ".")}},
      {"alg none, with signature",
       {Bearer(B64(R"({"alg":"none"})") + "." +
               B64(R"({"sub":")" + owner.id + R"(","knd":"account","jti":"abc","exp":1999999999})") + ".c2ln")}},
      {"alg HS512", {Bearer(B64(R"({"alg":"HS512","typ":"JWT"})") + "." + B64(R"({"sub":"x"})") + ".c2ln")}},
      {"tampered payload",
       {Bearer([&] {
         std::string t = owner.token;
         const auto dot = t.find('.');
         t[dot + 2] = t[dot + 2] == 'A' ? 'B' : 'A';
         return t;
       }())}},
      {"unknown api key", {ApiKey("pk_doesnotexist")}},
      {"weird api key", {ApiKey("zz_\xff\xfe")}},
      {"master key not configured", {{"X-Master-Key", "anything"}}},
  };
  for (const auto& [name, headers] : bad) {
    INFO(name);
    Response response = h.Get(me, headers);
    CHECK(response.status == 401);
    CHECK(ErrorCode(response) == "unauthenticated");
  }

  SECTION("other places a token may come from") {
    CHECK(h.Get(me, {{"Authorization", "bearer " + owner.token}}).status == 200);
    CHECK(h.Get(me, {{"X-Authorization-Key", owner.token}}).status == 200);
    CHECK(h.Get(me, {{"X-Authorization-Key", "Bearer " + owner.token}}).status == 200);
    CHECK(h.Get(me + "?token=" + owner.token).status == 200);
  }
  SECTION("expiry") {
    h.clock->Advance(std::chrono::hours(25));
    Response expired = h.Get(me, {Bearer(owner.token)});
    CHECK(expired.status == 401);
    CHECK(BodyJson(expired)["error"]["message"] == "token expired");
  }
  SECTION("a validly signed token for a deleted subject") {
    claims.subject = "acc_nobodyhere";
    CHECK(h.Get(me, {Bearer(internal::SignJwt(claims, kTestJwtSecret))}).status == 401);
  }
  SECTION("a session token with another app's publishable key") {
    auto app_a = h.CreateApp(owner, "A");
    auto app_b = h.CreateApp(owner, "B");
    auto sdk = h.FirstMessage(app_a);
    Response mixed = h.Get("/v1/sdk/conversations/" + sdk.conversation_id + "/messages",
                           {ApiKey(app_b.publishable_key), Bearer(sdk.session_token)});
    CHECK(mixed.status == 401);
  }
}

// ---------------------------------------------------------------------------
// Tenant isolation

TEST_CASE("api: another tenant's apps, conversations and messages are 404", "[api]") {
  ApiHarness h;
  auto alice = h.Register("alice@example.com");
  auto bob = h.Register("bob@example.com");
  auto app = h.CreateApp(alice);
  auto bob_app = h.CreateApp(bob, "Bob's");
  auto sdk = h.FirstMessage(app, "alice's customer secret text");
  const std::vector<Header> as_bob = {Bearer(bob.token)};
  const std::string conv = "/v1/conversations/" + sdk.conversation_id;

  struct Probe {
    std::string method;
    std::string target;
    std::string body;
  };
  const std::vector<Probe> probes = {
      {"GET", "/v1/apps/" + app.id, ""},
      {"PATCH", "/v1/apps/" + app.id, R"({"name":"pwned"})"},
      {"DELETE", "/v1/apps/" + app.id, ""},
      {"POST", "/v1/apps/" + app.id + "/keys/rotate", R"({"kind":"secret"})"},
      {"GET", "/v1/apps/" + app.id + "/conversations", ""},
      {"GET", conv, ""},
      {"PATCH", conv, R"({"status":"resolved"})"},
      {"GET", conv + "/messages", ""},
      {"POST", conv + "/messages", R"({"text":"hi from bob"})"},
      {"POST", conv + "/read", R"({"seq":1})"},
      {"POST", conv + "/typing", R"({"state":"start"})"},
      // Malformed and unknown ids look the same.
      {"GET", "/v1/apps/not-an-id", ""},
      {"GET", "/v1/apps/app_", ""},
      {"GET", "/v1/apps/app_%00x", ""},
      {"GET", "/v1/apps/app_x'%20OR%201=1", ""},
      {"GET", "/v1/conversations/conv_unknown", ""},
      {"GET", "/v1/conversations/" + app.id, ""},
      {"GET", "/v1/conversations/%2e%2e", ""},
      {"GET", "/v1/apps/" + sdk.conversation_id + "/conversations", ""},
  };
  for (const Probe& p : probes) {
    INFO(p.method << " " << p.target);
    Response response = h.Call(MakeRequest(p.method, p.target, p.body, as_bob));
    CHECK(response.status == 404);
    CHECK(ErrorCode(response) == "not_found");
    CHECK(response.body.find("alice's customer") == std::string::npos);
  }
  // Bob's own listing does not include Alice's app, and his app's inbox is empty.
  Json apps = BodyJson(h.Get("/v1/apps", as_bob));
  REQUIRE(apps["data"].size() == 1);
  CHECK(apps["data"][0]["id"] == bob_app.id);
  CHECK(BodyJson(h.Get("/v1/apps/" + bob_app.id + "/conversations", as_bob))["data"].empty());
  // Bob's app server key cannot reach Alice's conversation either.
  CHECK(h.Get(conv, {ApiKey(bob_app.secret_key)}).status == 404);
  CHECK(h.Get("/v1/apps/" + app.id, {ApiKey(bob_app.secret_key)}).status == 404);

  // Nothing changed for Alice.
  Json still = BodyJson(h.Get(conv, {Bearer(alice.token)}));
  CHECK(still["status"] == "open");
  CHECK(still["last_seq"] == 1);
  CHECK(BodyJson(h.Get("/v1/apps/" + app.id, {Bearer(alice.token)}))["name"] == "Acme Support");

  SECTION("a customer cannot read another customer's conversation") {
    auto other = h.FirstMessage(app, "the other customer");
    const std::vector<Header> as_other = {ApiKey(app.publishable_key), Bearer(other.session_token)};
    CHECK(h.Get("/v1/sdk/conversations/" + sdk.conversation_id + "/messages", as_other).status == 404);
    CHECK(h.Get("/v1/sdk/conversations/" + sdk.conversation_id, as_other).status == 404);
    CHECK(h.Send("POST", "/v1/sdk/conversations/" + sdk.conversation_id + "/read", Json{{"seq", 1}}, as_other)
              .status == 404);
    CHECK(h.Get(conv, as_other).status == 404);
    CHECK(h.Get(conv + "/messages", as_other).status == 404);
    CHECK(h.Send("POST", "/v1/sdk/messages", Json{{"text", "x"}, {"conversation_id", sdk.conversation_id}}, as_other)
              .status == 404);
    // Through the team route, a customer still only sees its own.
    Json via_app = BodyJson(h.Get("/v1/apps/" + app.id + "/conversations", as_other));
    REQUIRE(via_app["data"].size() == 1);
    CHECK(via_app["data"][0]["id"] == other.conversation_id);
    Json own = BodyJson(h.Get("/v1/sdk/conversations", as_other));
    REQUIRE(own["data"].size() == 1);
    CHECK(own["data"][0]["id"] == other.conversation_id);
  }
}

// ---------------------------------------------------------------------------
// CORS and headers

TEST_CASE("api: CORS preflight and response headers", "[api]") {
  ApiHarness h;
  const Header origin{"Origin", "https://app.example.com"};

  Response preflight = h.Get("/v1/sdk/messages", {origin, {"Access-Control-Request-Method", "POST"},
                                                  {"Access-Control-Request-Headers", "content-type,x-api-key"}},
                             "OPTIONS");
  CHECK(preflight.status == 204);
  CHECK(*ResponseHeader(preflight, "Access-Control-Allow-Origin") == "https://app.example.com");
  CHECK(*ResponseHeader(preflight, "Vary") == "Origin");
  REQUIRE(ResponseHeader(preflight, "Access-Control-Allow-Methods") != nullptr);
  CHECK(ResponseHeader(preflight, "Access-Control-Allow-Methods")->find("POST") != std::string::npos);
  REQUIRE(ResponseHeader(preflight, "Access-Control-Allow-Headers") != nullptr);
  CHECK(ResponseHeader(preflight, "Access-Control-Allow-Headers")->find("X-API-Key") != std::string::npos);
  CHECK(ResponseHeader(preflight, "Access-Control-Max-Age") != nullptr);

  // (The SDK routes answer any origin: tests/unit/widget_api_test.cpp. The team's routes do not.)
  Response foreign = h.Get("/v1/apps", {{"Origin", "https://evil.example"},
                                        {"Access-Control-Request-Method", "POST"}},
                           "OPTIONS");
  CHECK(foreign.status == 204);
  CHECK(ResponseHeader(foreign, "Access-Control-Allow-Origin") == nullptr);
  CHECK(ResponseHeader(foreign, "Access-Control-Allow-Methods") == nullptr);

  // Actual responses, including errors, carry the CORS pair for allowed origins only.
  Response ok = h.Get("/health", {origin});
  CHECK(*ResponseHeader(ok, "Access-Control-Allow-Origin") == "https://app.example.com");
  CHECK(*ResponseHeader(ok, "Vary") == "Origin");
  Response error = h.Get("/v1/auth/me", {origin});
  CHECK(error.status == 401);
  CHECK(*ResponseHeader(error, "Access-Control-Allow-Origin") == "https://app.example.com");
  CHECK(ResponseHeader(h.Get("/health", {{"Origin", "https://evil.example"}}), "Access-Control-Allow-Origin") ==
        nullptr);
  CHECK(ResponseHeader(h.Get("/health"), "Access-Control-Allow-Origin") == nullptr);

  SECTION("wildcard echoes any origin") {
    server::ApiOptions options = ApiHarness::DefaultApiOptions();
    options.allowed_origins = {"*"};
    ApiHarness any(options);
    Response r = any.Get("/health", {{"Origin", "https://whatever.test"}});
    CHECK(*ResponseHeader(r, "Access-Control-Allow-Origin") == "https://whatever.test");
  }
  SECTION("no allowed origins: no CORS headers at all") {
    server::ApiOptions options = ApiHarness::DefaultApiOptions();
    options.allowed_origins.clear();
    ApiHarness none(options);
    Response r = none.Get("/health", {origin});
    Response p = none.Get("/health", {origin, {"Access-Control-Request-Method", "GET"}}, "OPTIONS");
    for (const Response* response : {&r, &p}) {
      for (const Header& header : response->headers) {
        CHECK(header.name.rfind("Access-Control-", 0) != 0);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Errors from below

TEST_CASE("api: store failures map to 5xx without details", "[api]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  auto app = h.CreateApp(owner);
  auto sdk = h.FirstMessage(app);
  const std::string target = "/v1/conversations/" + sdk.conversation_id + "/messages";

  h.store->list_messages_error = static_cast<int>(StatusCode::kInternal);
  Response internal_error = h.Call(MakeRequest("GET", target, "", {Bearer(owner.token)}), /*allow_5xx=*/true);
  CHECK(internal_error.status == 500);
  CHECK(ErrorCode(internal_error) == "internal");
  CHECK(BodyJson(internal_error)["error"]["message"] == "internal error");
  CHECK(internal_error.body.find("SELECT") == std::string::npos);

  h.store->list_messages_error = static_cast<int>(StatusCode::kUnavailable);
  Response unavailable = h.Call(MakeRequest("GET", target, "", {Bearer(owner.token)}), /*allow_5xx=*/true);
  CHECK(unavailable.status == 503);
  CHECK(ErrorCode(unavailable) == "unavailable");
}

TEST_CASE("api: status mapping, error responses and credentials extraction", "[api]") {
  using server::ErrorCodeFor;
  using server::HttpStatusFor;
  const std::vector<std::tuple<StatusCode, int, std::string>> expected = {
      {StatusCode::kInvalidArgument, 400, "invalid_argument"},
      {StatusCode::kUnauthenticated, 401, "unauthenticated"},
      {StatusCode::kPermissionDenied, 403, "permission_denied"},
      {StatusCode::kNotFound, 404, "not_found"},
      {StatusCode::kAlreadyExists, 409, "already_exists"},
      {StatusCode::kAborted, 409, "conflict"},
      {StatusCode::kFailedPrecondition, 409, "failed_precondition"},
      {StatusCode::kResourceExhausted, 429, "rate_limited"},
      {StatusCode::kUnavailable, 503, "unavailable"},
      {StatusCode::kInternal, 500, "internal"},
  };
  for (const auto& [code, http, name] : expected) {
    CHECK(HttpStatusFor(code) == http);
    CHECK(ErrorCodeFor(code) == name);
  }

  Response r = server::ErrorResponse(429, "rate_limited", "slow down", "rid-1");
  CHECK(r.status == 429);
  CHECK(*ResponseHeader(r, "Retry-After") == "1");
  CHECK(*ResponseHeader(r, "X-Request-Id") == "rid-1");
  CHECK(BodyJson(r) ==
        Json::parse(R"({"error":{"code":"rate_limited","message":"slow down","request_id":"rid-1"}})"));
  Response hidden = server::ErrorResponse(InternalError("stack trace at foo.cpp:12"), "rid-2");
  CHECK(hidden.status == 500);
  CHECK(BodyJson(hidden)["error"]["message"] == "internal error");

  Request request = MakeRequest("GET", "/v1/ws?token=tok%2Bq", "",
                                {{"X-API-Key", " pk_abc "}, {"X-User-Id", "u1"}, {"X-Master-Key", "mk"}});
  Credentials c = server::CredentialsFrom(request);
  CHECK(c.bearer_token == "tok+q");
  CHECK(c.api_key == "pk_abc");
  CHECK(c.user_id == "u1");
  CHECK(c.master_key == "mk");
  request.headers.push_back({"Authorization", "Bearer header-token"});
  CHECK(server::CredentialsFrom(request).bearer_token == "header-token");
}

// ---------------------------------------------------------------------------
// JSON codec and event frames

TEST_CASE("api: event frames carry the affected object", "[api]") {
  ApiHarness h;
  std::vector<std::string> frames;
  std::mutex mutex;
  const SubscriptionId subscription = h.chat->SubscribeEvents([&](const std::shared_ptr<const Event>& event) {
    std::lock_guard lock(mutex);
    frames.push_back(server::EventFrameText(*event));
  });
  auto owner = h.Register("owner@example.com");
  auto app = h.CreateApp(owner);
  auto sdk = h.FirstMessage(app, "frame me");
  h.Send("POST", "/v1/conversations/" + sdk.conversation_id + "/typing", Json{{"state", "start"}},
         {Bearer(owner.token)});
  h.Send("POST", "/v1/conversations/" + sdk.conversation_id + "/read", Json{{"seq", 1}}, {Bearer(owner.token)});
  h.chat->UnsubscribeEvents(subscription);

  std::map<std::string, Json> by_type;
  for (const std::string& frame : frames) {
    Json parsed = Json::parse(frame, nullptr, false);
    REQUIRE(parsed.is_object());
    by_type[Str(parsed["type"])] = parsed["data"];
  }
  REQUIRE(by_type.count("conversation.created") == 1);
  CHECK(by_type["conversation.created"]["id"] == sdk.conversation_id);
  REQUIRE(by_type.count("message.created") == 1);
  CHECK(by_type["message.created"]["text"] == "frame me");
  CHECK(by_type["message.created"]["seq"] == 1);
  REQUIRE(by_type.count("typing") == 1);
  CHECK(by_type["typing"]["state"] == "start");
  CHECK(by_type["typing"]["sender"]["type"] == "account");
  CHECK(by_type["typing"]["conversation_id"] == sdk.conversation_id);
  REQUIRE(by_type.count("receipt") == 1);
  CHECK(by_type["receipt"]["read_seq"] == 1);

  Principal principal;
  principal.type = PrincipalType::kCustomer;
  principal.id = "cus_1";
  principal.app_id = AppId("app_1");
  Json p = server::ToJson(principal);
  CHECK(p["type"] == "customer");
  CHECK(p["app_id"] == "app_1");
  CHECK_FALSE(p.contains("account_id"));
}

TEST_CASE("api: stored JSON text that does not parse embeds as {} / []", "[api]") {
  Message message;
  message.metadata_json = "{not json";
  message.sender = Sender{SenderType::kSystem, ""};
  Json m = server::ToJson(message);
  CHECK(m["metadata"] == Json::object());
  CHECK(m["sender"]["id"].is_null());
  CHECK(m["sender"]["type"] == "system");
  App app;
  app.theme_json = "[1,2]";
  app.prechat_json = "{}";
  Json a = server::ToJson(app);
  CHECK(a["theme"] == Json::object());
  CHECK(a["prechat"] == Json::array());
  CHECK(server::DumpJson(Json("bad \xff")) == "\"bad \xef\xbf\xbd\"");
}

TEST_CASE("api: the direct message writer produces exactly ToJson(message)", "[api]") {
  Message base;
  base.id = MessageId("msg_1");
  base.conversation_id = ConversationId("conv_1");
  base.seq = 9007199254740993;  // beyond double precision: must stay an exact integer
  base.sender = Sender{SenderType::kOperator, "op_7"};
  base.text = "plain";
  base.created_at = Timestamp(std::chrono::milliseconds(1767225600123));

  std::vector<Message> cases;
  cases.push_back(base);
  Message special = base;
  special.text = std::string("quote\" backslash\\ nl\n cr\r tab\t bs\b ff\f ctl\x01\x1f del\x7f ") +
                 "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 </script>";
  special.metadata_json = R"({"nested":{"a":[1,2.5,"x\"y"],"b":null},"u":"\u00e9"})";
  special.client_msg_id = "client-1";
  special.edited_at = Timestamp(std::chrono::milliseconds(1767225700000));
  special.deleted = true;
  cases.push_back(special);
  Message system = base;
  system.sender = Sender{SenderType::kSystem, ""};
  system.metadata_json = "not json";
  cases.push_back(system);
  Message array_metadata = base;
  array_metadata.metadata_json = "[1]";
  cases.push_back(array_metadata);
  Message bad_metadata_utf8 = base;
  bad_metadata_utf8.metadata_json = "{\"k\":\"\xff\"}";
  cases.push_back(bad_metadata_utf8);

  for (const Message& message : cases) {
    std::string text;
    server::AppendMessageJson(text, message);
    INFO(text);
    const Json parsed = Json::parse(text, nullptr, false);
    REQUIRE_FALSE(parsed.is_discarded());
    CHECK(parsed == server::ToJson(message));
  }
  // Invalid UTF-8 in text still yields valid JSON, with U+FFFD in place of the bad bytes.
  Message invalid = base;
  invalid.text = "a\xff b\xc0\xaf c\xed\xa0\x80 d\xe2\x82";
  std::string text;
  server::AppendMessageJson(text, invalid);
  const Json parsed = Json::parse(text, nullptr, false);
  REQUIRE(parsed.is_object());
  CHECK(Str(parsed["text"]).rfind("a\xef\xbf\xbd b", 0) == 0);

  Event event;
  event.type = EventType::kMessageUpdated;
  event.message = special;
  const Json frame = Json::parse(server::EventFrameText(event), nullptr, false);
  CHECK(frame["type"] == "message.updated");
  CHECK(frame["data"] == server::ToJson(special));
}

TEST_CASE("api: router matches segments and reports 405", "[api]") {
  Router<int> router;
  router.Add("GET", "/v1/conversations/{id}", 1);
  router.Add("PATCH", "/v1/conversations/{id}", 2);
  router.Add("GET", "/v1/conversations/{id}/messages/{mid}", 3);
  router.Add("GET", "/health", 4);

  auto m = router.Find("GET", "/v1/conversations/conv_1/messages/msg_2");
  REQUIRE(m.outcome == RouteOutcome::kMatched);
  CHECK(*m.handler == 3);
  CHECK(m.params.size == 2);
  CHECK(m.params[0] == "conv_1");
  CHECK(m.params[1] == "msg_2");
  CHECK(m.params[2].empty());

  auto patch = router.Find("PATCH", "/v1/conversations/c");
  REQUIRE(patch.outcome == RouteOutcome::kMatched);
  CHECK(*patch.handler == 2);
  auto del = router.Find("DELETE", "/v1/conversations/c");
  CHECK(del.outcome == RouteOutcome::kMethodNotAllowed);
  CHECK(*del.allow == "GET, PATCH");
  CHECK(router.Find("GET", "/v1/conversations/").outcome == RouteOutcome::kNotFound);
  CHECK(router.Find("GET", "/v1/conversations").outcome == RouteOutcome::kNotFound);
  CHECK(router.Find("GET", "health").outcome == RouteOutcome::kNotFound);
  CHECK(router.Find("GET", "").outcome == RouteOutcome::kNotFound);
  CHECK(router.Find("GET", "/health").outcome == RouteOutcome::kMatched);
  CHECK(router.Find("GET", "/a/b/c/d/e/f/g/h/i/j").outcome == RouteOutcome::kNotFound);
}

}  // namespace
}  // namespace libchat::test
