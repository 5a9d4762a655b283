// The widget over HTTP: GET|PUT /v1/apps/{app_id}/widget, GET /v1/apps/{app_id}/widget/embed,
// GET /v1/public/widget/{publishable_key} (no credentials), the widget and bot members of GET /v1/sdk/config,
// and CORS for what an embedded widget calls from any site (/v1/sdk/*, /v1/public/*, /v1/ws/ticket).
#include <string>
#include <vector>

#include "api_test_util.h"
#include "catch.h"
#include "libchat/server/config.h"

namespace libchat::test {
namespace {

const Json kCustomWidget = {
    {"color", "#10B981"},
    {"position", "left"},
    {"title", "Talk to Acme"},
    {"welcome_text", "Hi there!"},
    {"logo_url", "https://cdn.acme.example/logo.png"},
    {"prechat", Json::array({Json{{"id", "name"}, {"label", "Your name"}, {"type", "text"}, {"required", true}},
                             Json{{"id", "email"}, {"label", "Email"}, {"type", "email"}, {"required", true}},
                             Json{{"id", "topic"}, {"label", "What is it about?"}}})}};

Json DefaultWidget() {
  return Json{{"color", "#2563eb"},      {"position", "right"},          {"title", "Chat with us"},
              {"welcome_text", "Hi! How can we help?"}, {"logo_url", ""}, {"prechat", Json::array()}};
}

TEST_CASE("widget api: settings default, are replaced whole and read back", "[api][widget]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  auto app = h.CreateApp(owner);
  const std::string path = "/v1/apps/" + app.id + "/widget";

  Response initial = h.Get(path, {Bearer(owner.token)});
  REQUIRE(initial.status == 200);
  CHECK(BodyJson(initial) == DefaultWidget());

  Response put = h.Send("PUT", path, kCustomWidget, {Bearer(owner.token)});
  REQUIRE(put.status == 200);
  Json expected = kCustomWidget;
  expected["color"] = "#10b981";
  expected["prechat"][2]["type"] = "text";  // the defaults of a question's optional members
  expected["prechat"][2]["required"] = false;
  CHECK(BodyJson(put) == expected);
  CHECK(BodyJson(h.Get(path, {Bearer(owner.token)})) == expected);
  // The app's server is team too.
  CHECK(BodyJson(h.Get(path, {ApiKey(app.secret_key)})) == expected);

  // PUT replaces everything: members left out (or null) take their defaults.
  Response reset = h.Send("PUT", path, Json{{"title", "Help"}, {"logo_url", nullptr}}, {ApiKey(app.secret_key)});
  REQUIRE(reset.status == 200);
  Json help = DefaultWidget();
  help["title"] = "Help";
  CHECK(BodyJson(reset) == help);
  CHECK(h.Raw("PUT", path, "", {Bearer(owner.token)}).status == 200);  // an empty body is {}
  CHECK(BodyJson(h.Get(path, {Bearer(owner.token)})) == DefaultWidget());
}

TEST_CASE("widget api: bad settings are 400 and change nothing", "[api][widget]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  auto app = h.CreateApp(owner);
  const std::string path = "/v1/apps/" + app.id + "/widget";
  REQUIRE(h.Send("PUT", path, kCustomWidget, {Bearer(owner.token)}).status == 200);
  const Json before = BodyJson(h.Get(path, {Bearer(owner.token)}));

  Json eleven = Json::array();
  for (int i = 0; i < 11; ++i) eleven.push_back(Json{{"id", "q" + std::to_string(i)}, {"label", "Question"}});
  Json twins = kCustomWidget["prechat"];
  twins[1]["id"] = "name";
  const std::vector<Json> bodies = {
      Json{{"color", "blue"}},
      Json{{"color", "#12345"}},
      Json{{"color", 0x2563eb}},
      Json{{"position", "top"}},
      Json{{"position", true}},
      Json{{"title", ""}},
      Json{{"title", std::string(101, 't')}},
      Json{{"title", Json::array({"a"})}},
      Json{{"welcome_text", std::string(1001, 'w')}},
      Json{{"welcome_text", 3}},
      Json{{"logo_url", "javascript:alert(1)"}},
      Json{{"logo_url", "https://a.example/x\"onload=\"y"}},
      Json{{"logo_url", Json::object()}},
      Json{{"prechat", eleven}},
      Json{{"prechat", "name,email"}},
      Json{{"prechat", Json::object()}},
      Json{{"prechat", Json::array({"name"})}},
      Json{{"prechat", Json::array({Json{{"label", "No id"}}})}},
      Json{{"prechat", Json::array({Json{{"id", "x"}}})}},
      Json{{"prechat", Json::array({Json{{"id", 1}, {"label", "L"}}})}},
      Json{{"prechat", Json::array({Json{{"id", "Bad Id"}, {"label", "L"}}})}},
      Json{{"prechat", Json::array({Json{{"id", "x"}, {"label", "L"}, {"type", "phone"}}})}},
      Json{{"prechat", Json::array({Json{{"id", "x"}, {"label", "L"}, {"required", "yes"}}})}},
      Json{{"prechat", twins}},
  };
  for (const Json& body : bodies) {
    INFO(body.dump());
    Response response = h.Send("PUT", path, body, {Bearer(owner.token)});
    CHECK(response.status == 400);
    CHECK(ErrorCode(response) == "invalid_argument");
  }
  for (const std::string& raw : {std::string("{"), std::string("[]"), std::string("\"x\""), std::string("null")}) {
    INFO(raw);
    CHECK(h.Raw("PUT", path, raw, {Bearer(owner.token)}).status == 400);
  }
  CHECK(BodyJson(h.Get(path, {Bearer(owner.token)})) == before);
}

TEST_CASE("widget api: only the app's team reaches its widget", "[api][widget]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  auto stranger = h.Register("stranger@example.com");
  auto app = h.CreateApp(owner);
  auto other = h.CreateApp(stranger, "Other");
  auto customer = h.FirstMessage(app);
  const std::string path = "/v1/apps/" + app.id + "/widget";
  REQUIRE(h.Send("PUT", path, kCustomWidget, {Bearer(owner.token)}).status == 200);

  const std::vector<std::vector<Header>> outsiders = {
      {Bearer(stranger.token)},
      {ApiKey(other.secret_key)},
      {ApiKey(app.publishable_key)},
      {ApiKey(app.publishable_key), Bearer(customer.session_token)},
  };
  for (const auto& headers : outsiders) {
    INFO(headers.back().name << ": " << headers.back().value);
    CHECK(h.Get(path, headers).status == 404);
    CHECK(h.Send("PUT", path, Json{{"title", "Hijacked"}}, headers).status == 404);
    CHECK(h.Get(path + "/embed", headers).status == 404);
  }
  CHECK(h.Get(path).status == 401);
  CHECK(h.Send("PUT", path, Json{{"title", "Hijacked"}}).status == 401);
  CHECK(h.Get(path + "/embed").status == 401);
  CHECK(h.Get("/v1/apps/app_doesnotexist/widget", {Bearer(owner.token)}).status == 404);
  CHECK(h.Get("/v1/apps/not-an-id/widget/embed", {Bearer(owner.token)}).status == 404);
  CHECK(BodyJson(h.Get(path, {Bearer(owner.token)}))["title"] == "Talk to Acme");
}

TEST_CASE("widget api: the public configuration needs no credentials and answers any origin", "[api][widget]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  auto app = h.CreateApp(owner, "Acme Support");
  REQUIRE(h.Send("PUT", "/v1/apps/" + app.id + "/widget", kCustomWidget, {Bearer(owner.token)}).status == 200);
  const std::string path = "/v1/public/widget/" + app.publishable_key;
  const Header shop{"Origin", "https://shop.example"};

  Response response = h.Get(path, {shop});
  REQUIRE(response.status == 200);
  const Json body = BodyJson(response);
  CHECK(body["app_id"] == app.id);
  CHECK(body["app_name"] == "Acme Support");
  CHECK(body["publishable_key"] == app.publishable_key);
  CHECK(body["widget"]["title"] == "Talk to Acme");
  CHECK(body["widget"]["prechat"].size() == 3);
  CHECK(body["bot"] == Json{{"enabled", false}, {"name", "Bot"}});
  CHECK(body.find("secret_key") == body.end());
  REQUIRE(ResponseHeader(response, "Access-Control-Allow-Origin") != nullptr);
  CHECK(*ResponseHeader(response, "Access-Control-Allow-Origin") == "https://shop.example");
  CHECK(*ResponseHeader(response, "Vary") == "Origin");

  REQUIRE(h.Send("PUT", "/v1/apps/" + app.id + "/bot", Json{{"enabled", true}, {"name", "Acme Bot"}},
                 {Bearer(owner.token)}).status == 200);
  CHECK(BodyJson(h.Get(path))["bot"] == Json{{"enabled", true}, {"name", "Acme Bot"}});

  Response unknown = h.Get("/v1/public/widget/pk_doesnotexist000000000000000000", {shop});
  CHECK(unknown.status == 404);
  CHECK(ErrorCode(unknown) == "not_found");
  CHECK(ResponseHeader(unknown, "Access-Control-Allow-Origin") != nullptr);  // the page can read the 404
  CHECK(h.Get("/v1/public/widget/" + app.secret_key).status == 404);
  CHECK(h.Get("/v1/public/widget/" + app.id).status == 404);

  Response preflight =
      h.Get(path, {shop, {"Access-Control-Request-Method", "GET"}, {"Access-Control-Request-Headers", "x-api-key"}},
            "OPTIONS");
  CHECK(preflight.status == 204);
  CHECK(*ResponseHeader(preflight, "Access-Control-Allow-Origin") == "https://shop.example");
  REQUIRE(ResponseHeader(preflight, "Access-Control-Allow-Methods") != nullptr);
  CHECK(ResponseHeader(preflight, "Access-Control-Allow-Methods")->find("GET") != std::string::npos);
  REQUIRE(ResponseHeader(preflight, "Access-Control-Allow-Headers") != nullptr);
  CHECK(ResponseHeader(preflight, "Access-Control-Allow-Headers")->find("X-API-Key") != std::string::npos);
}

TEST_CASE("widget api: SDK routes and ws tickets answer any origin, the team's routes keep the list", "[api][widget]") {
  // With no allowed origins at all, the widget's routes still answer CORS.
  server::ApiOptions options = ApiHarness::DefaultApiOptions();
  options.allowed_origins.clear();
  ApiHarness h(options);
  auto owner = h.Register("owner@example.com");
  auto app = h.CreateApp(owner);
  REQUIRE(h.Send("PUT", "/v1/apps/" + app.id + "/widget", kCustomWidget, {Bearer(owner.token)}).status == 200);
  const Header shop{"Origin", "https://shop.example"};

  Response config = h.Get("/v1/sdk/config", {shop, ApiKey(app.publishable_key)});
  REQUIRE(config.status == 200);
  CHECK(BodyJson(config)["widget"]["title"] == "Talk to Acme");
  CHECK(BodyJson(config)["widget"]["color"] == "#10b981");
  CHECK(BodyJson(config)["bot"] == Json{{"enabled", false}, {"name", "Bot"}});
  CHECK(*ResponseHeader(config, "Access-Control-Allow-Origin") == "https://shop.example");

  Response sent = h.Send("POST", "/v1/sdk/messages", Json{{"text", "Hello"}}, {shop, ApiKey(app.publishable_key)});
  REQUIRE(sent.status == 201);
  CHECK(*ResponseHeader(sent, "Access-Control-Allow-Origin") == "https://shop.example");
  const Header session = Bearer(BodyJson(sent)["session_token"].get<std::string>());
  Response ticket = h.Send("POST", "/v1/ws/ticket", Json::object(), {shop, ApiKey(app.publishable_key), session});
  CHECK(ticket.status == 201);
  CHECK(*ResponseHeader(ticket, "Access-Control-Allow-Origin") == "https://shop.example");
  Response preflight = h.Get("/v1/ws/ticket", {shop, {"Access-Control-Request-Method", "POST"}}, "OPTIONS");
  CHECK(*ResponseHeader(preflight, "Access-Control-Allow-Origin") == "https://shop.example");
  CHECK(ResponseHeader(preflight, "Access-Control-Allow-Methods") != nullptr);

  // The team's routes: no CORS for a foreign page.
  Response apps = h.Get("/v1/apps", {shop, Bearer(owner.token)});
  CHECK(apps.status == 200);
  CHECK(ResponseHeader(apps, "Access-Control-Allow-Origin") == nullptr);
  Response apps_preflight = h.Get("/v1/apps", {shop, {"Access-Control-Request-Method", "GET"}}, "OPTIONS");
  CHECK(ResponseHeader(apps_preflight, "Access-Control-Allow-Origin") == nullptr);
  CHECK(ResponseHeader(apps_preflight, "Access-Control-Allow-Methods") == nullptr);
  // Look-alike paths are not the SDK's.
  CHECK(ResponseHeader(h.Get("/v1/sdkx", {shop}), "Access-Control-Allow-Origin") == nullptr);
  CHECK(ResponseHeader(h.Get("/v1/publicity", {shop}), "Access-Control-Allow-Origin") == nullptr);
}

TEST_CASE("widget api: the embed snippet names the key, the widget script and the API base", "[api][widget]") {
  SECTION("from the Host header") {
    ApiHarness h;
    auto owner = h.Register("owner@example.com");
    auto app = h.CreateApp(owner);
    Response embed = h.Get("/v1/apps/" + app.id + "/widget/embed",
                           {Bearer(owner.token), {"Host", "chat.acme.example:8080"}});
    REQUIRE(embed.status == 200);
    CHECK(BodyJson(embed) ==
          Json{{"html", "<script src=\"http://chat.acme.example:8080/widget.js\" data-key=\"" + app.publishable_key +
                            "\" data-api=\"http://chat.acme.example:8080\" async></script>"}});
    // The app's server may ask too.
    CHECK(h.Get("/v1/apps/" + app.id + "/widget/embed", {ApiKey(app.secret_key), {"Host", "[::1]:8080"}}).status ==
          200);
  }
  SECTION("a malformed Host falls back to the listen address") {
    server::ApiOptions options = ApiHarness::DefaultApiOptions();
    options.listen_address = "127.0.0.1:9000";
    ApiHarness h(options);
    auto owner = h.Register("owner@example.com");
    auto app = h.CreateApp(owner);
    for (const std::string& host : {std::string("evil.example\"><script>alert(1)</script>"),
                                    std::string("a b"), std::string("x/y"), std::string(300, 'a')}) {
      INFO(host);
      Response embed = h.Get("/v1/apps/" + app.id + "/widget/embed", {Bearer(owner.token), {"Host", host}});
      REQUIRE(embed.status == 200);
      const std::string html = BodyJson(embed)["html"].get<std::string>();
      CHECK(html.find("src=\"http://127.0.0.1:9000/widget.js\"") != std::string::npos);
      CHECK(html.find("<script>alert") == std::string::npos);
    }
    const std::string html =
        BodyJson(h.Get("/v1/apps/" + app.id + "/widget/embed", {Bearer(owner.token)}))["html"].get<std::string>();
    CHECK(html.find("data-api=\"http://127.0.0.1:9000\"") != std::string::npos);
  }
  SECTION("CHAT_PUBLIC_URL wins over the Host header") {
    auto no_env = [](const char*) -> const char* { return nullptr; };
    auto config = server::LoadConfig({"--public-url", "https://chat.acme.example/support"}, no_env);
    REQUIRE(config.ok());
    server::ApiOptions options = ApiHarness::DefaultApiOptions();
    options.public_url = config->public_url;
    ApiHarness h(options);
    auto owner = h.Register("owner@example.com");
    auto app = h.CreateApp(owner);
    Response embed = h.Get("/v1/apps/" + app.id + "/widget/embed", {Bearer(owner.token), {"Host", "internal:8080"}});
    REQUIRE(embed.status == 200);
    CHECK(BodyJson(embed)["html"] == "<script src=\"https://chat.acme.example/support/widget.js\" data-key=\"" +
                                         app.publishable_key +
                                         "\" data-api=\"https://chat.acme.example/support\" async></script>");
  }
}

TEST_CASE("widget api: CHAT_PUBLIC_URL must be an http(s) URL without a trailing slash", "[api][widget]") {
  auto env = [](const char* name) -> const char* {
    return std::string(name) == "CHAT_PUBLIC_URL" ? "http://localhost:8080" : nullptr;
  };
  auto from_env = server::LoadConfig({}, env);
  REQUIRE(from_env.ok());
  CHECK(from_env->public_url == "http://localhost:8080");
  auto no_env = [](const char*) -> const char* { return nullptr; };
  auto defaults = server::LoadConfig({}, no_env);
  REQUIRE(defaults.ok());
  CHECK(defaults->public_url.empty());
  for (const char* bad : {"chat.example.com", "ftp://chat.example.com", "https://chat.example.com/",
                                 "https://", "https:///x", "https://chat.example.com/\"><script>",
                                 "https://chat example.com", "javascript:alert(1)"}) {
    INFO(bad);
    const auto refused = server::LoadConfig({std::string("--public-url=") + bad}, no_env);
    CHECK(refused.status().code() == StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace libchat::test
