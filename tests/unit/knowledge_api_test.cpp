// The HTTP routes of the knowledge base and the bot (server/api/knowledge_routes.cpp): entry CRUD, ranked
// search with <mark> snippets, the bot settings, and the bot answering a customer over HTTP. Also the router's
// precedence that keeps /knowledge/search from being read as an entry id. ApiHarness::Call checks every
// response's request id and error envelope, and that nothing answered 5xx.
#include <set>
#include <string>
#include <vector>

#include "api_test_util.h"
#include "catch.h"
#include "server/api/router.h"
#include "libchat/server/config.h"

namespace libchat::test {
namespace {

using server::api::RouteOutcome;
using server::api::Router;

std::string Str(const Json& j) { return j.is_string() ? j.get<std::string>() : std::string("<not a string>"); }

constexpr char kResetQuestion[] = "How do I reset my password?";
constexpr char kResetAnswer[] = "Open Settings, then Security, and choose Reset password.";

// Two accounts, each with an app; an operator assigned to the owner's app.
struct KnowledgeApi {
  KnowledgeApi() {
    owner = h.Register("owner@example.com");
    other = h.Register("other@example.com");
    app = h.CreateApp(owner, "A");
    other_app = h.CreateApp(other, "B");
  }

  std::string Base() const { return "/v1/apps/" + app.id; }
  std::string OtherBase() const { return "/v1/apps/" + other_app.id; }
  std::vector<Header> Owner() const { return {Bearer(owner.token)}; }
  std::vector<Header> Other() const { return {Bearer(other.token)}; }
  std::vector<Header> Server() const { return {ApiKey(app.secret_key)}; }

  // POST …/knowledge; REQUIREs 201.
  Json Create(const Json& body, const std::string& base = "", std::vector<Header> headers = {}) {
    Response response = h.Send("POST", (base.empty() ? Base() : base) + "/knowledge", body,
                               headers.empty() ? Owner() : headers);
    INFO(response.body);
    REQUIRE(response.status == 201);
    return BodyJson(response);
  }

  // A bearer token of an operator of app A.
  std::string OperatorToken() {
    Response created = h.Send("POST", "/v1/operators", Json{{"name", "Grace"}, {"app_ids", {app.id}}}, Owner());
    REQUIRE(created.status == 201);
    Response minted = h.Send("POST", "/v1/operators/" + Str(BodyJson(created)["id"]) + "/tokens",
                             Json{{"expires_at", FormatTimestamp(h.clock->Now() + std::chrono::hours(8))}}, Owner());
    REQUIRE(minted.status == 201);
    return Str(BodyJson(minted)["token"]);
  }

  Json Search(const std::string& query_string, const std::vector<Header>& headers) {
    Response response = h.Get(Base() + "/knowledge/search?" + query_string, headers);
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
  ApiHarness::AppHandle other_app;
};

void CheckEntryShape(const Json& entry) {
  INFO(entry.dump());
  REQUIRE(entry.is_object());
  std::set<std::string> keys;
  for (const auto& [key, value] : entry.items()) keys.insert(key);
  CHECK(keys == std::set<std::string>{"id", "app_id", "type", "question", "answer", "content", "created_at",
                                      "updated_at"});
  CHECK(Str(entry["id"]).rfind("kb_", 0) == 0);
  CHECK(ParseTimestamp(Str(entry["created_at"])).ok());
}

TEST_CASE("knowledge api: the router prefers a literal segment to a parameter whatever the order", "[knowledge_api]") {
  Router<int> router;
  router.Add("GET", "/v1/apps/{app_id}/knowledge/{id}", 1);
  router.Add("PUT", "/v1/apps/{app_id}/knowledge/{id}", 2);
  router.Add("GET", "/v1/apps/{app_id}/knowledge/search", 3);
  router.Add("GET", "/v1/{a}/{b}/knowledge/search", 4);  // less specific at the leftmost difference

  auto search = router.Find("GET", "/v1/apps/app_1/knowledge/search");
  REQUIRE(search.outcome == RouteOutcome::kMatched);
  CHECK(*search.handler == 3);
  REQUIRE(search.params.size == 1);
  CHECK(search.params[0] == "app_1");
  // The literal resource decides the methods: PUT on it is 405, not the entry's PUT.
  auto put = router.Find("PUT", "/v1/apps/app_1/knowledge/search");
  CHECK(put.outcome == RouteOutcome::kMethodNotAllowed);
  CHECK(*put.allow == "GET");
  auto entry = router.Find("GET", "/v1/apps/app_1/knowledge/kb_2");
  REQUIRE(entry.outcome == RouteOutcome::kMatched);
  CHECK(*entry.handler == 1);
  REQUIRE(entry.params.size == 2);
  CHECK(entry.params[1] == "kb_2");
  auto loose = router.Find("GET", "/v1/things/x/knowledge/search");
  REQUIRE(loose.outcome == RouteOutcome::kMatched);
  CHECK(*loose.handler == 4);
  CHECK(loose.params[0] == "things");

  // And over HTTP: the search answers, not "knowledge entry not found".
  KnowledgeApi t;
  t.Create(Json{{"type", "qa"}, {"question", kResetQuestion}, {"answer", kResetAnswer}});
  Response hits = t.h.Get(t.Base() + "/knowledge/search?q=password", t.Owner());
  REQUIRE(hits.status == 200);
  CHECK(BodyJson(hits)["data"].size() == 1);
  CHECK(t.h.Send("PUT", t.Base() + "/knowledge/search", Json{{"content", "x"}}, t.Owner()).status == 405);
  CHECK(t.h.Get(t.Base() + "/knowledge/search", t.Owner(), "DELETE").status == 405);
}

TEST_CASE("knowledge api: entries are created, listed, read, replaced and deleted", "[knowledge_api]") {
  KnowledgeApi t;
  const Json qa = t.Create(Json{{"type", "qa"}, {"question", kResetQuestion}, {"answer", kResetAnswer}});
  CheckEntryShape(qa);
  CHECK(qa["app_id"] == t.app.id);
  CHECK(qa["type"] == "qa");
  CHECK(qa["question"] == kResetQuestion);
  CHECK(qa["answer"] == kResetAnswer);
  CHECK(qa["content"] == "");
  // type defaults to text; the app's server writes too.
  const Json text = t.Create(Json{{"content", "Refunds reach the original card within 5 business days."}}, "",
                             t.Server());
  CheckEntryShape(text);
  CHECK(text["type"] == "text");
  CHECK(text["question"] == "");

  Response list = t.h.Get(t.Base() + "/knowledge", t.Owner());
  REQUIRE(list.status == 200);
  const Json page = BodyJson(list);
  REQUIRE(page["data"].size() == 2);
  CHECK(page["next_cursor"].is_null());
  std::set<std::string> ids;
  for (const Json& entry : page["data"]) ids.insert(Str(entry["id"]));
  CHECK(ids == std::set<std::string>{Str(qa["id"]), Str(text["id"])});
  // Page by page.
  Response first = t.h.Get(t.Base() + "/knowledge?limit=1", t.Owner());
  REQUIRE(first.status == 200);
  REQUIRE(BodyJson(first)["data"].size() == 1);
  REQUIRE(BodyJson(first)["next_cursor"].is_string());
  Response second =
      t.h.Get(t.Base() + "/knowledge?limit=1&cursor=" + Str(BodyJson(first)["next_cursor"]), t.Owner());
  REQUIRE(second.status == 200);
  REQUIRE(BodyJson(second)["data"].size() == 1);
  CHECK(BodyJson(second)["data"][0]["id"] != BodyJson(first)["data"][0]["id"]);
  // The other tenant's knowledge base is its own.
  CHECK(BodyJson(t.h.Get(t.OtherBase() + "/knowledge", t.Other()))["data"].empty());

  const std::string path = t.Base() + "/knowledge/" + Str(qa["id"]);
  Response got = t.h.Get(path, t.Owner());
  REQUIRE(got.status == 200);
  CHECK(BodyJson(got) == qa);

  // PUT replaces the whole entry: members left out become "".
  Response replaced = t.h.Send("PUT", path, Json{{"type", "text"}, {"content", "Passwords are reset in Settings."}},
                               t.Owner());
  REQUIRE(replaced.status == 200);
  const Json entry = BodyJson(replaced);
  CheckEntryShape(entry);
  CHECK(entry["id"] == qa["id"]);
  CHECK(entry["type"] == "text");
  CHECK(entry["question"] == "");
  CHECK(entry["answer"] == "");
  CHECK(entry["content"] == "Passwords are reset in Settings.");
  CHECK(entry["created_at"] == qa["created_at"]);
  CHECK(BodyJson(t.h.Get(path, t.Owner())) == entry);

  CHECK(t.h.Get(path, t.Owner(), "DELETE").status == 204);
  CHECK(t.h.Get(path, t.Owner()).status == 404);
  CHECK(t.h.Get(path, t.Owner(), "DELETE").status == 404);
  CHECK(t.h.Send("PUT", path, Json{{"content", "back?"}}, t.Owner()).status == 404);
  CHECK(BodyJson(t.h.Get(t.Base() + "/knowledge", t.Owner()))["data"].size() == 1);
}

TEST_CASE("knowledge api: malformed entries, ids and queries are 400 or 404 and never 500", "[knowledge_api]") {
  KnowledgeApi t;
  const std::string list = t.Base() + "/knowledge";
  t.ExpectBadRequest(t.h.Raw("POST", list, "{\"content\":", t.Owner()));
  t.ExpectBadRequest(t.h.Raw("POST", list, "[{\"content\":\"x\"}]", t.Owner()));
  t.ExpectBadRequest(t.h.Raw("POST", list, "\"text\"", t.Owner()));
  t.ExpectBadRequest(t.h.Raw("POST", list, std::string(64, '[') + std::string(64, ']'), t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", list, Json::object(), t.Owner()));  // text without content
  t.ExpectBadRequest(t.h.Send("POST", list, Json{{"type", "faq"}, {"content", "x"}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", list, Json{{"type", 1}, {"content", "x"}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", list, Json{{"content", 5}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", list, Json{{"content", Json::array({"x"})}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", list, Json{{"type", "qa"}, {"question", "Why?"}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", list, Json{{"type", "qa"}, {"answer", "Because."}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("POST", list, Json{{"type", "qa"}, {"question", 5}, {"answer", "x"}}, t.Owner()));
  t.ExpectBadRequest(t.h.Get(list + "?limit=0", t.Owner()));
  t.ExpectBadRequest(t.h.Get(list + "?limit=-1", t.Owner()));
  t.ExpectBadRequest(t.h.Get(list + "?limit=201", t.Owner()));
  CHECK(BodyJson(t.h.Get(list, t.Owner()))["data"].empty());  // nothing was created

  const Json entry = t.Create(Json{{"type", "qa"}, {"question", kResetQuestion}, {"answer", kResetAnswer}});
  const std::string path = list + "/" + Str(entry["id"]);
  t.ExpectBadRequest(t.h.Send("PUT", path, Json{{"type", "qa"}, {"question", "only half"}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PUT", path, Json{{"type", "essay"}, {"content", "x"}}, t.Owner()));
  t.ExpectBadRequest(t.h.Raw("PUT", path, "{", t.Owner()));
  CHECK(BodyJson(t.h.Get(path, t.Owner())) == entry);  // unchanged by the refusals

  // Malformed, unknown and foreign ids, and other tenants' apps: not found.
  for (const std::string& id : {std::string("garbage"), std::string("kb_doesnotexist000000000000")}) {
    CHECK(t.h.Get(list + "/" + id, t.Owner()).status == 404);
    CHECK(t.h.Send("PUT", list + "/" + id, Json{{"content", "x"}}, t.Owner()).status == 404);
    CHECK(t.h.Get(list + "/" + id, t.Owner(), "DELETE").status == 404);
  }
  const Json foreign = t.Create(Json{{"content", "B's secret sauce"}}, t.OtherBase(), t.Other());
  CHECK(t.h.Get(list + "/" + Str(foreign["id"]), t.Owner()).status == 404);  // B's entry under A's path
  CHECK(t.h.Get(t.OtherBase() + "/knowledge/" + Str(foreign["id"]), t.Owner()).status == 404);
  CHECK(t.h.Send("PUT", t.OtherBase() + "/knowledge/" + Str(foreign["id"]), Json{{"content", "mine"}}, t.Owner())
            .status == 404);
  CHECK(t.h.Get(t.OtherBase() + "/knowledge/" + Str(foreign["id"]), t.Owner(), "DELETE").status == 404);
  CHECK(t.h.Get(t.OtherBase() + "/knowledge", t.Owner()).status == 404);
  CHECK(t.h.Send("POST", t.OtherBase() + "/knowledge", Json{{"content", "x"}}, t.Owner()).status == 404);
  CHECK(t.h.Get(t.OtherBase() + "/knowledge/search?q=sauce", t.Owner()).status == 404);
  CHECK(t.h.Get("/v1/apps/garbage/knowledge", t.Owner()).status == 404);
  CHECK(t.h.Get(list, {}).status == 401);
  CHECK(t.h.Get(list, {ApiKey(t.app.publishable_key)}).status >= 400);
  CHECK(BodyJson(t.h.Get(t.OtherBase() + "/knowledge/" + Str(foreign["id"]), t.Other()))["content"] ==
        "B's secret sauce");

  // Search queries.
  const std::string search = list + "/search";
  t.ExpectBadRequest(t.h.Get(search, t.Owner()));
  t.ExpectBadRequest(t.h.Get(search + "?q=", t.Owner()));
  t.ExpectBadRequest(t.h.Get(search + "?q=the+and+of", t.Owner()));  // stop words only
  t.ExpectBadRequest(t.h.Get(search + "?q=%21%21%21", t.Owner()));   // no words at all
  t.ExpectBadRequest(t.h.Get(search + "?q=password&limit=0", t.Owner()));
  t.ExpectBadRequest(t.h.Get(search + "?q=password&limit=51", t.Owner()));
  t.ExpectBadRequest(t.h.Get(search + "?q=password&limit=many", t.Owner()));
  // Full-text syntax in a query is just words.
  for (const char* q : {"%22password", "password*", "NEAR(password+reset)", "password+OR+reset", "-password",
                        "col%3Apassword", "%E2%80%AE%F0%9F%98%80+password"}) {
    INFO(q);
    const Response response = t.h.Get(search + "?q=" + q, t.Owner());
    CHECK((response.status == 200 || response.status == 400));
  }
}

TEST_CASE("knowledge api: search ranks hits and marks the matches in HTML-escaped snippets", "[knowledge_api]") {
  KnowledgeApi t;
  const Json reset = t.Create(Json{{"type", "qa"}, {"question", kResetQuestion}, {"answer", kResetAnswer}});
  t.Create(Json{{"content", "Passwords must have at least 12 characters. <b>Never</b> share a password."}});
  t.Create(Json{{"content", "Refunds reach the original card within 5 business days."}});
  t.Create(Json{{"type", "qa"}, {"question", "Can I change my email?"}, {"answer", "Yes, under Profile."}});

  const Json result = t.Search("q=reset+password", t.Owner());
  const Json& hits = result["data"];
  REQUIRE(hits.size() == 2);  // the refund and email entries share no word with the query
  CHECK(hits[0]["entry"]["id"] == reset["id"]);
  CHECK(hits[0]["entry"] == reset);
  CHECK(hits[0]["score"].get<double>() == Approx(1.0));  // both words occur
  CHECK(hits[1]["score"].get<double>() == Approx(0.5));  // "password(s)" only
  double previous_rank = 1e300;
  for (const Json& hit : hits) {
    INFO(hit.dump());
    std::set<std::string> keys;
    for (const auto& [key, value] : hit.items()) keys.insert(key);
    CHECK(keys == std::set<std::string>{"entry", "rank", "score", "snippet"});
    CHECK(hit["rank"].get<double>() <= previous_rank);
    previous_rank = hit["rank"].get<double>();
    CHECK(hit["score"].get<double>() >= 0);
    CHECK(hit["score"].get<double>() <= 1);
    const std::string snippet = Str(hit["snippet"]);
    CHECK(snippet.find("<mark>") != std::string::npos);
    CHECK(snippet.find("</mark>") != std::string::npos);
  }
  // The entry's own markup is escaped; only the marks are HTML.
  const std::string escaped = Str(hits[1]["snippet"]);
  CHECK(escaped.find("<b>") == std::string::npos);
  if (escaped.find("Never") != std::string::npos) CHECK(escaped.find("&lt;b&gt;Never") != std::string::npos);

  CHECK(t.Search("q=reset+password&limit=1", t.Owner())["data"].size() == 1);
  CHECK(t.Search("q=refunds", t.Owner())["data"].size() == 1);
  CHECK(t.Search("q=kangaroo", t.Owner())["data"].empty());
  // The app's server and its operators search too.
  CHECK(t.Search("q=password", t.Server())["data"].size() == 2);
  CHECK(t.Search("q=password", {Bearer(t.OperatorToken())})["data"].size() == 2);
}

TEST_CASE("knowledge api: bot settings round trip and are validated", "[knowledge_api]") {
  KnowledgeApi t;
  const std::string path = t.Base() + "/bot";
  Response initial = t.h.Get(path, t.Owner());
  REQUIRE(initial.status == 200);
  CHECK(BodyJson(initial) == Json{{"enabled", false}, {"min_score", 0.6}, {"name", "Bot"}});

  const Json settings = {{"enabled", true}, {"min_score", 0.75}, {"name", "Acme Bot"}};
  Response put = t.h.Send("PUT", path, settings, t.Owner());
  REQUIRE(put.status == 200);
  CHECK(BodyJson(put) == settings);
  CHECK(BodyJson(t.h.Get(path, t.Owner())) == settings);
  CHECK(BodyJson(t.h.Get(path, t.Server())) == settings);
  // The other tenant's app keeps its own.
  CHECK(BodyJson(t.h.Get(t.OtherBase() + "/bot", t.Other()))["enabled"] == false);

  t.ExpectBadRequest(t.h.Send("PUT", path, Json{{"min_score", 1.5}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PUT", path, Json{{"min_score", -0.1}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PUT", path, Json{{"min_score", 2}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PUT", path, Json{{"min_score", "0.5"}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PUT", path, Json{{"min_score", true}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PUT", path, Json{{"enabled", "yes"}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PUT", path, Json{{"enabled", 1}}, t.Owner()));
  t.ExpectBadRequest(t.h.Send("PUT", path, Json{{"name", 5}}, t.Owner()));
  t.ExpectBadRequest(t.h.Raw("PUT", path, "{\"enabled\":tru}", t.Owner()));
  t.ExpectBadRequest(t.h.Raw("PUT", path, "[true]", t.Owner()));
  Response message = t.h.Send("PUT", path, Json{{"min_score", 1.5}}, t.Owner());
  CHECK(Str(BodyJson(message)["error"]["message"]).find("min_score") != std::string::npos);
  CHECK(BodyJson(t.h.Get(path, t.Owner())) == settings);  // unchanged by the refusals

  // The bounds themselves are fine, written as integers too; a member left out takes its default.
  Response zero = t.h.Send("PUT", path, Json{{"enabled", true}, {"min_score", 0}}, t.Owner());
  REQUIRE(zero.status == 200);
  CHECK(BodyJson(zero) == Json{{"enabled", true}, {"min_score", 0.0}, {"name", "Bot"}});
  Response one = t.h.Send("PUT", path, Json{{"min_score", 1}}, t.Owner());
  REQUIRE(one.status == 200);
  CHECK(BodyJson(one) == Json{{"enabled", false}, {"min_score", 1.0}, {"name", "Bot"}});

  CHECK(t.h.Get(t.OtherBase() + "/bot", t.Owner()).status == 404);
  CHECK(t.h.Send("PUT", t.OtherBase() + "/bot", settings, t.Owner()).status == 404);
  CHECK(t.h.Get("/v1/apps/garbage/bot", t.Owner()).status == 404);
  CHECK(t.h.Get(path, {}).status == 401);
  const Response by_operator = t.h.Send("PUT", path, settings, {Bearer(t.OperatorToken())});
  CHECK((by_operator.status == 403 || by_operator.status == 404));
  CHECK(BodyJson(t.h.Get(path, t.Owner()))["min_score"] == 1.0);
}

TEST_CASE("knowledge api: with the bot enabled a customer gets the knowledge base's answer or a human",
          "[knowledge_api]") {
  KnowledgeApi t;
  const Json reset = t.Create(Json{{"type", "qa"}, {"question", kResetQuestion}, {"answer", kResetAnswer}});
  REQUIRE(t.h.Send("PUT", t.Base() + "/bot", Json{{"enabled", true}, {"min_score", 0.6}, {"name", "Acme Bot"}},
                   t.Owner())
              .status == 200);

  const ApiHarness::SdkHandle asked = t.h.FirstMessage(t.app, "How can I reset my password?");
  const std::string conversation = "/v1/conversations/" + asked.conversation_id;
  CHECK(BodyJson(t.h.Get(conversation, t.Owner()))["status"] == "pending");  // the bot has it
  REQUIRE(t.h.chat->ProcessDueDeliveries(10).ok());
  Response history = t.h.Get(conversation + "/messages", t.Owner());
  REQUIRE(history.status == 200);
  const Json messages = BodyJson(history)["data"];
  REQUIRE(messages.size() == 2);
  const Json& reply = messages[1];
  CHECK(reply["sender"] == Json({{"type", "bot"}, {"id", "bot"}}));
  CHECK(reply["text"] == kResetAnswer);
  CHECK(reply["metadata"]["bot"]["sources"] == Json::array({reset["id"]}));
  CHECK(BodyJson(t.h.Get(conversation, t.Owner()))["status"] == "pending");
  // The bot's work shows in the outbox under its own channel.
  Response outbox = t.h.Get(t.Base() + "/deliveries?channel=bot", t.Owner());
  REQUIRE(outbox.status == 200);
  REQUIRE(BodyJson(outbox)["data"].size() == 1);
  CHECK(BodyJson(outbox)["data"][0]["channel"] == "bot");
  CHECK(BodyJson(outbox)["data"][0]["status"] == "delivered");

  // A question it cannot answer goes to the team, and nothing is invented.
  const ApiHarness::SdkHandle stumped = t.h.FirstMessage(t.app, "Do you sell kangaroo saddles?");
  REQUIRE(t.h.chat->ProcessDueDeliveries(10).ok());
  const std::string handed = "/v1/conversations/" + stumped.conversation_id;
  CHECK(BodyJson(t.h.Get(handed, t.Owner()))["status"] == "open");
  const Json after = BodyJson(t.h.Get(handed + "/messages", t.Owner()))["data"];
  REQUIRE(after.size() == 1);
  CHECK(after[0]["sender"]["type"] == "customer");
}

// ---------------------------------------------------------------------------
// Server configuration of the bot's model

TEST_CASE("knowledge config: the model endpoint, its model, timeout and a key from the environment only",
          "[knowledge_api]") {
  const auto none = [](const char*) -> const char* { return nullptr; };
  const auto defaults = server::LoadConfig({}, none);
  REQUIRE(defaults.ok());
  CHECK(defaults->llm_base_url.empty());
  CHECK(defaults->llm_api_key.empty());
  CHECK(defaults->llm_timeout_ms == 20000);

  const auto env = [](const char* name) -> const char* {
    const std::string n = name;
    if (n == "CHAT_LLM_BASE_URL") return "http://127.0.0.1:11434/v1";
    if (n == "CHAT_LLM_MODEL") return "llama3";
    if (n == "CHAT_LLM_API_KEY") return "sk-test-123";
    return nullptr;
  };
  const auto loaded = server::LoadConfig({"--llm-timeout-ms", "5000"}, env);
  INFO(loaded.status().ToString());
  REQUIRE(loaded.ok());
  CHECK(loaded->llm_base_url == "http://127.0.0.1:11434/v1");
  CHECK(loaded->llm_model == "llama3");
  CHECK(loaded->llm_api_key == "sk-test-123");
  CHECK(loaded->llm_timeout_ms == 5000);

  // The key has no flag: it would show in the process list.
  CHECK(server::LoadConfig({"--llm-api-key", "sk-x"}, none).status().code() == StatusCode::kInvalidArgument);
  // A base URL without a model, or malformed values, are refused at start-up.
  CHECK(server::LoadConfig({"--llm-base-url", "https://api.openai.com/v1"}, none).status().code() ==
        StatusCode::kInvalidArgument);
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"--llm-base-url", "api.openai.com"},
           {"--llm-base-url", "ftp://models.example.com"},
           {"--llm-model", ""},
           {"--llm-timeout-ms", "0"},
           {"--llm-timeout-ms", "soon"}}) {
    INFO(bad[0] << " " << bad[1]);
    CHECK(server::LoadConfig(bad, none).status().code() == StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace libchat::test
