// Rate limits through the HTTP API (server/api): 429 rate_limited with Retry-After and RateLimit-* headers,
// one token per request, per-customer message sends, and the apps' "limits" object. The Chat runs on a fake
// clock, so budgets are exact and refills happen only when a test advances the clock.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "catch.h"
#include "libchat/server/config.h"
#include "unit/api_test_util.h"

namespace libchat::test {
namespace {

using namespace std::chrono_literals;

// Reopens the harness's Chat over the same store and clock with `limits` (before any request is made, so
// nothing is lost), and counts 429s in `refusals` like the server's rate_limited counter.
void UseRateLimits(ApiHarness& h, const RateLimitOptions& limits, std::atomic<std::uint64_t>* refusals = nullptr) {
  h.api.reset();
  h.chat.reset();
  Options options;
  options.store = h.store;
  options.clock = h.clock;
  options.jwt_secret = kTestJwtSecret;
  options.password_hashing.memory_kib = 8192;
  options.password_hashing.iterations = 1;
  options.rate_limits = limits;
  auto opened = Chat::Open(std::move(options));
  INFO(opened.status().ToString());
  REQUIRE(opened.ok());
  h.chat = std::move(opened).value();
  server::ApiOptions api_options = ApiHarness::DefaultApiOptions();
  api_options.rate_limited_count = refusals;
  h.api = std::make_unique<server::Api>(*h.chat, std::move(api_options));
}

RateLimitOptions AppLimit(double per_s, std::int64_t burst) {
  RateLimitOptions options;
  options.app_requests_per_s = per_s;
  options.app_burst = burst;
  return options;
}

std::string HeaderOr(const Response& response, std::string_view name, std::string fallback = "<absent>") {
  const std::string* value = ResponseHeader(response, name);
  return value != nullptr ? *value : fallback;
}

void CheckRateLimitHeaders(const Response& response, std::int64_t limit, std::int64_t remaining) {
  INFO(response.status << " " << response.body);
  CHECK(CountHeader(response, "RateLimit-Limit") == 1);
  CHECK(HeaderOr(response, "RateLimit-Limit") == std::to_string(limit));
  CHECK(HeaderOr(response, "RateLimit-Remaining") == std::to_string(remaining));
  CHECK(CountHeader(response, "RateLimit-Reset") == 1);
}

void CheckRateLimited(const Response& response, const std::string& retry_after) {
  INFO(response.status << " " << response.body);
  CHECK(response.status == 429);
  CHECK(ErrorCode(response) == "rate_limited");
  CHECK(CountHeader(response, "Retry-After") == 1);
  CHECK(HeaderOr(response, "Retry-After") == retry_after);
}

TEST_CASE("rate limit api: 200s carry RateLimit headers and the request past the budget gets 429",
          "[rate_limit][api]") {
  ApiHarness h;
  std::atomic<std::uint64_t> refusals{0};
  UseRateLimits(h, AppLimit(2, 3), &refusals);
  const auto owner = h.Register("limits@example.com");
  const auto app = h.CreateApp(owner);

  for (int i = 0; i < 3; ++i) {
    const Response ok = h.Get("/v1/sdk/config", {ApiKey(app.publishable_key)});
    INFO("request " << i);
    REQUIRE(ok.status == 200);
    CheckRateLimitHeaders(ok, 3, 2 - i);
  }
  const Response refused = h.Get("/v1/sdk/config", {ApiKey(app.publishable_key)});
  CheckRateLimited(refused, "1");  // 0.5 s until a token at 2/s, in whole seconds
  CheckRateLimitHeaders(refused, 3, 0);
  CHECK(HeaderOr(refused, "RateLimit-Reset") == "2");  // 1.5 s until 3 tokens, rounded up
  CHECK(refusals.load() == 1);

  // Bad credentials are answered before any charge, and the 401 carries no rate-limit headers.
  const Response unauthenticated = h.Get("/v1/sdk/config", {ApiKey("pk_doesnotexist")});
  CHECK(unauthenticated.status == 401);
  CHECK(CountHeader(unauthenticated, "RateLimit-Limit") == 0);
  CHECK(refusals.load() == 1);
}

TEST_CASE("rate limit api: each request costs exactly one token whatever its outcome", "[rate_limit][api]") {
  ApiHarness h;
  UseRateLimits(h, AppLimit(1, 6));
  const auto owner = h.Register("one-token@example.com");
  const auto app = h.CreateApp(owner);
  // Through the app's bucket: a first message (creates a customer and its session), then the customer's own
  // requests, a failing one (404) and a message send (which also charges the separate send bucket).
  const auto customer = h.FirstMessage(app);  // 1
  const std::vector<Header> session = {ApiKey(app.publishable_key), Bearer(customer.session_token)};
  CHECK(h.Get("/v1/sdk/conversations/" + customer.conversation_id, session).status == 200);      // 2
  CHECK(h.Get("/v1/sdk/conversations/conv_doesnotexist", session).status == 404);                // 3
  CHECK(h.Send("POST", "/v1/sdk/messages",
               Json{{"text", "more"}, {"conversation_id", customer.conversation_id}}, session)
            .status == 201);                                                                      // 4
  CHECK(h.Raw("POST", "/v1/sdk/messages", "{not json", session).status == 400);                   // 5
  const Response last = h.Get("/v1/sdk/config", {ApiKey(app.secret_key)});                          // 6
  REQUIRE(last.status == 200);
  CheckRateLimitHeaders(last, 6, 0);
  // The 7th is refused, for the publishable key, the session and the secret key alike.
  CheckRateLimited(h.Get("/v1/sdk/config", {ApiKey(app.publishable_key)}), "1");
  CheckRateLimited(h.Get("/v1/sdk/conversations/" + customer.conversation_id, session), "1");
  CheckRateLimited(h.Get("/v1/apps/" + app.id, {ApiKey(app.secret_key)}), "1");
  // Refused requests did not use up the refill: one second later exactly one is allowed again.
  h.clock->Advance(1s);
  const Response again = h.Get("/v1/sdk/config", {ApiKey(app.publishable_key)});
  CHECK(again.status == 200);
  CheckRateLimitHeaders(again, 6, 0);
  CheckRateLimited(h.Get("/v1/sdk/config", {ApiKey(app.publishable_key)}), "1");
}

TEST_CASE("rate limit api: the budget refills after Retry-After seconds", "[rate_limit][api]") {
  ApiHarness h;
  UseRateLimits(h, AppLimit(0.25, 2));  // one request per 4 s
  const auto owner = h.Register("refill@example.com");
  const auto app = h.CreateApp(owner);
  const std::vector<Header> key = {ApiKey(app.secret_key)};
  REQUIRE(h.Get("/v1/sdk/config", key).status == 200);
  REQUIRE(h.Get("/v1/sdk/config", key).status == 200);
  const Response refused = h.Get("/v1/sdk/config", key);
  CheckRateLimited(refused, "4");
  h.clock->Advance(3999ms);
  CHECK(h.Get("/v1/sdk/config", key).status == 429);
  h.clock->Advance(1ms);
  CHECK(h.Get("/v1/sdk/config", key).status == 200);
  // After a long pause the burst is back, and no more.
  h.clock->Advance(1h);
  CHECK(h.Get("/v1/sdk/config", key).status == 200);
  CHECK(h.Get("/v1/sdk/config", key).status == 200);
  CHECK(h.Get("/v1/sdk/config", key).status == 429);
}

TEST_CASE("rate limit api: accounts are limited on their own bucket", "[rate_limit][api]") {
  ApiHarness h;
  UseRateLimits(h, AppLimit(1, 3));
  const auto owner = h.Register("account-bucket@example.com");  // no principal yet: not charged
  const auto app = h.CreateApp(owner);                            // 1
  CHECK(h.Get("/v1/apps", {Bearer(owner.token)}).status == 200);  // 2
  const Response third = h.Get("/v1/auth/me", {Bearer(owner.token)});
  CHECK(third.status == 200);
  CheckRateLimitHeaders(third, 3, 0);
  CheckRateLimited(h.Get("/v1/apps/" + app.id, {Bearer(owner.token)}), "1");
  // The app's own bucket is untouched by its owner's dashboard traffic.
  const Response sdk = h.Get("/v1/sdk/config", {ApiKey(app.publishable_key)});
  CHECK(sdk.status == 200);
  CheckRateLimitHeaders(sdk, 3, 2);
}

TEST_CASE("rate limit api: without limits nothing is refused and no RateLimit headers are sent",
          "[rate_limit][api]") {
  ApiHarness h;  // Options::rate_limits left at its defaults
  const auto owner = h.Register("unlimited@example.com");
  const auto app = h.CreateApp(owner);
  for (int i = 0; i < 300; ++i) {
    const Response response = h.Get("/v1/sdk/config", {ApiKey(app.publishable_key)});
    REQUIRE(response.status == 200);
    REQUIRE(CountHeader(response, "RateLimit-Limit") == 0);
    REQUIRE(CountHeader(response, "RateLimit-Remaining") == 0);
  }
}

TEST_CASE("rate limit api: a customer's message sends are limited apart from its requests", "[rate_limit][api]") {
  ApiHarness h;
  RateLimitOptions limits;
  limits.customer_sends_per_min = 2;
  std::atomic<std::uint64_t> refusals{0};
  UseRateLimits(h, limits, &refusals);
  const auto owner = h.Register("sends@example.com");
  const auto app = h.CreateApp(owner);
  // The first message comes from the publishable key (no customer yet), so it is not a customer send.
  const auto customer = h.FirstMessage(app);
  const std::vector<Header> session = {ApiKey(app.publishable_key), Bearer(customer.session_token)};
  const std::string team_path = "/v1/conversations/" + customer.conversation_id + "/messages";

  const Response first = h.Send("POST", "/v1/sdk/messages",
                                Json{{"text", "one"}, {"conversation_id", customer.conversation_id}}, session);
  REQUIRE(first.status == 201);
  CheckRateLimitHeaders(first, 2, 1);  // the send bucket is the only limit here
  REQUIRE(h.Send("POST", team_path, Json{{"text", "two"}}, session).status == 201);
  const Response refused = h.Send("POST", "/v1/sdk/messages",
                                  Json{{"text", "three"}, {"conversation_id", customer.conversation_id}}, session);
  CheckRateLimited(refused, "30");  // 2 per minute: one every 30 s
  CheckRateLimitHeaders(refused, 2, 0);
  CHECK(h.Send("POST", team_path, Json{{"text", "three"}}, session).status == 429);
  CHECK(refusals.load() == 2);
  // The refused message was not stored.
  const Response history = h.Get("/v1/sdk/conversations/" + customer.conversation_id + "/messages", session);
  REQUIRE(history.status == 200);
  CHECK(BodyJson(history)["data"].size() == 3);
  // Reading is not sending: still allowed, and without headers (no request limit is configured).
  CHECK(CountHeader(history, "RateLimit-Limit") == 0);
  // The app's team is not a customer: its sends are not limited.
  for (int i = 0; i < 5; ++i) {
    REQUIRE(h.Send("POST", team_path, Json{{"text", "team " + std::to_string(i)}}, {ApiKey(app.secret_key)})
                .status == 201);
  }
  h.clock->Advance(30s);
  CHECK(h.Send("POST", team_path, Json{{"text", "later"}}, session).status == 201);
  CHECK(h.Send("POST", team_path, Json{{"text", "too soon"}}, session).status == 429);
}

TEST_CASE("rate limit api: an app's limits are set, returned and applied through /v1/apps", "[rate_limit][api]") {
  ApiHarness h;
  UseRateLimits(h, AppLimit(100, 100));
  const auto owner = h.Register("own-limits@example.com");
  const std::vector<Header> auth = {Bearer(owner.token)};

  const Response created =
      h.Send("POST", "/v1/apps", Json{{"name", "Limited"}, {"limits", {{"requests_per_s", 0.5}, {"burst", 2}}}}, auth);
  REQUIRE(created.status == 201);
  const Json app = BodyJson(created)["app"];
  CHECK(app["limits"] == Json{{"requests_per_s", 0.5}, {"burst", 2}, {"customer_sends_per_min", 0}});
  const std::string id = app["id"].get<std::string>();
  const std::string pk = BodyJson(created)["publishable_key"].get<std::string>();
  CHECK(h.Get("/v1/sdk/config", {ApiKey(pk)}).status == 200);
  CHECK(h.Get("/v1/sdk/config", {ApiKey(pk)}).status == 200);
  CheckRateLimited(h.Get("/v1/sdk/config", {ApiKey(pk)}), "2");

  // PATCH replaces the limits object as a whole; the next request already sees the new size.
  const Response patched = h.Send("PATCH", "/v1/apps/" + id, Json{{"limits", {{"burst", 10}}}}, auth);
  REQUIRE(patched.status == 200);
  CHECK(BodyJson(patched)["limits"] == Json{{"requests_per_s", 0}, {"burst", 10}, {"customer_sends_per_min", 0}});
  CheckRateLimited(h.Get("/v1/sdk/config", {ApiKey(pk)}), "1");  // now at the default 100/s, but no time passed
  CHECK(HeaderOr(h.Get("/v1/sdk/config", {ApiKey(pk)}), "RateLimit-Limit") == "10");
  h.clock->Advance(1s);  // 100 tokens at the default rate, capped at the app's burst of 10
  const Response bigger = h.Get("/v1/sdk/config", {ApiKey(pk)});
  CHECK(bigger.status == 200);
  CheckRateLimitHeaders(bigger, 10, 9);
  CHECK(BodyJson(h.Get("/v1/apps/" + id, auth))["limits"]["burst"] == 10);
  // A PATCH without "limits" leaves them alone.
  REQUIRE(h.Send("PATCH", "/v1/apps/" + id, Json{{"name", "Renamed"}}, auth).status == 200);
  CHECK(BodyJson(h.Get("/v1/apps/" + id, auth))["limits"]["burst"] == 10);

  // Wrong types and ranges are 400 invalid_argument, and change nothing.
  for (const Json& bad : {Json{{"limits", "fast"}}, Json{{"limits", Json::array()}},
                          Json{{"limits", {{"requests_per_s", "1"}}}}, Json{{"limits", {{"requests_per_s", true}}}},
                          Json{{"limits", {{"requests_per_s", -1}}}}, Json{{"limits", {{"requests_per_s", 1e7}}}},
                          Json{{"limits", {{"burst", 1.5}}}}, Json{{"limits", {{"burst", -1}}}},
                          Json{{"limits", {{"burst", "10"}}}},
                          Json{{"limits", {{"customer_sends_per_min", Json::object()}}}},
                          Json{{"limits", {{"customer_sends_per_min", -0.5}}}}}) {
    INFO(bad.dump());
    const Response patch = h.Send("PATCH", "/v1/apps/" + id, bad, auth);
    CHECK(patch.status == 400);
    CHECK(ErrorCode(patch) == "invalid_argument");
    Json create_body = bad;
    create_body["name"] = "Bad";
    const Response create = h.Send("POST", "/v1/apps", create_body, auth);
    CHECK(create.status == 400);
  }
  CHECK(BodyJson(h.Get("/v1/apps/" + id, auth))["limits"]["burst"] == 10);
}

TEST_CASE("rate limit api: browsers may read the RateLimit headers", "[rate_limit][api]") {
  ApiHarness h;
  UseRateLimits(h, AppLimit(10, 10));
  const auto owner = h.Register("cors@example.com");
  const auto app = h.CreateApp(owner);
  const Response response =
      h.Get("/v1/sdk/config", {ApiKey(app.publishable_key), {"Origin", "https://app.example.com"}});
  REQUIRE(response.status == 200);
  const std::string exposed = HeaderOr(response, "Access-Control-Expose-Headers", "");
  for (const char* name : {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}) {
    INFO(exposed);
    CHECK(exposed.find(name) != std::string::npos);
  }
}

TEST_CASE("rate limit api: ErrorResponse puts the given wait in Retry-After", "[rate_limit][api]") {
  CHECK(HeaderOr(server::ErrorResponse(429, "rate_limited", "slow down", "rid", 42), "Retry-After") == "42");
  CHECK(HeaderOr(server::ErrorResponse(429, "rate_limited", "slow down", "rid"), "Retry-After") == "1");
  CHECK(CountHeader(server::ErrorResponse(400, "invalid_argument", "no", "rid", 42), "Retry-After") == 0);
  RateLimitDecision decision;
  decision.allowed = false;
  decision.limit = 5;
  decision.remaining = 0;
  decision.reset_s = 9;
  decision.retry_after_s = 2;
  const Response response = server::RateLimitedResponse(decision, "too many requests", "rid");
  CHECK(response.status == 429);
  CHECK(HeaderOr(response, "Retry-After") == "2");
  CHECK(HeaderOr(response, "RateLimit-Limit") == "5");
  CHECK(HeaderOr(response, "RateLimit-Remaining") == "0");
  CHECK(HeaderOr(response, "RateLimit-Reset") == "9");
}

TEST_CASE("rate limit config: CHAT_RATE_LIMIT, CHAT_RATE_BURST and CHAT_CUSTOMER_SEND_LIMIT", "[rate_limit]") {
  auto no_env = [](const char*) -> const char* { return nullptr; };
  const auto defaults = server::LoadConfig({}, no_env);
  REQUIRE(defaults.ok());
  CHECK(defaults->rate_limit == 0);
  CHECK(defaults->rate_burst == 0);
  CHECK(defaults->customer_send_limit == 0);

  auto env = [](const char* name) -> const char* {
    const std::string n = name;
    if (n == "CHAT_RATE_LIMIT") return "2.5";
    if (n == "CHAT_RATE_BURST") return "10";
    if (n == "CHAT_CUSTOMER_SEND_LIMIT") return "30";
    return nullptr;
  };
  const auto from_env = server::LoadConfig({}, env);
  REQUIRE(from_env.ok());
  CHECK(from_env->rate_limit == 2.5);
  CHECK(from_env->rate_burst == 10);
  CHECK(from_env->customer_send_limit == 30);
  // Flags win over the environment.
  const auto flags = server::LoadConfig({"--rate-burst", "3", "--customer-send-limit=0.5"}, env);
  REQUIRE(flags.ok());
  CHECK(flags->rate_burst == 3);
  CHECK(flags->customer_send_limit == 0.5);

  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"--rate-limit", "-1"}, {"--rate-limit", "nan"},
                                             {"--rate-limit", "inf"}, {"--rate-limit", "1e7"},
                                             {"--rate-burst", "-1"}, {"--rate-burst", "1.5"},
                                             {"--customer-send-limit", "fast"}, {"--customer-send-limit", "-3"}}) {
    INFO(bad[0] << " " << bad[1]);
    const auto refused = server::LoadConfig(bad, no_env);
    CHECK(refused.status().code() == StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace libchat::test
