// Rate limits on the real server: CHAT_RATE_LIMIT / --rate-limit with --rate-burst charges every
// authenticated HTTP request, WebSocket upgrade and WebSocket frame of an app to one bucket, and
// --customer-send-limit a customer's messages to another. The rates are chosen so slow (one token per
// 100 s, two messages per minute) that the wall clock cannot refill a bucket while a test runs: every budget
// below is exact.
#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>

#include "catch.h"
#include "integration/integration_util.h"
#include "integration/server_process.h"

namespace libchat::testing_support {
namespace {

using namespace std::chrono_literals;

void StartOrFail(ServerProcess& server) {
  const bool started = server.Start();
  INFO(server.error());
  REQUIRE(started);
}

// The value of an unlabelled Prometheus sample, or -1 when it is absent.
double Sample(const std::string& metrics, const std::string& name) {
  std::istringstream lines(metrics);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

// Sends a frame and returns the reply carrying `id` (skipping events).
Json Command(WsClient& ws, const Json& frame) {
  ws.SendText(frame.dump());
  auto reply = ReceiveUntil(ws, [&](const Json& f) { return f.contains("id") && f["id"] == frame["id"]; });
  INFO("no reply to " << frame.dump());
  REQUIRE(reply.has_value());
  return *reply;
}

void CheckRateLimitedFrame(const Json& reply) {
  INFO(reply.dump());
  CHECK(IsType(reply, "error"));
  REQUIRE(reply["data"].is_object());
  CHECK(reply["data"].value("code", "") == "rate_limited");
  CHECK(reply["data"].value("message", "") != "");
  REQUIRE(reply["data"]["retry_after_s"].is_number_integer());
  CHECK(reply["data"]["retry_after_s"].get<std::int64_t>() >= 1);
}

TEST_CASE("rate limit: an app's HTTP requests and WebSocket frames share one exact budget", "[integration]") {
  ServerProcess server({"--rate-limit", "0.01", "--rate-burst", "6"});
  StartOrFail(server);
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "limited@example.com");             // the account's bucket
  const CustomerSession customer = StartConversation(http, tenant, "hello");  // app: 1

  const HttpResult config = http.Request("GET", "/v1/sdk/config", {}, ApiKey(tenant.publishable_key));  // 2
  INFO(Describe(config));
  REQUIRE(config.status == 200);
  CHECK(config.Header("RateLimit-Limit") == "6");
  CHECK(config.Header("RateLimit-Remaining") == "4");
  CHECK(config.Header("RateLimit-Reset") != "");

  WsClient ws;  // the upgrade: 3
  const bool connected = ws.Connect(server.port(), "/v1/ws?token=" + customer.session_token);
  INFO(ws.handshake_body());
  REQUIRE(connected);
  auto hello = ReceiveJson(ws);
  REQUIRE(hello.has_value());
  REQUIRE(IsType(*hello, "hello"));

  CHECK(IsType(Command(ws, {{"type", "ping"}, {"id", 1}}), "pong"));  // 4
  const Json subscribed =
      Command(ws, {{"type", "subscribe"}, {"id", 2}, {"data", {{"conversation_id", customer.conversation_id}}}});
  CHECK(IsType(subscribed, "ok"));  // 5
  CHECK(IsType(Command(ws, {{"type", "ping"}, {"id", 3}}), "pong"));  // 6: the last token
  // The 7th request of the app: a frame with an id gets exactly one error reply with the same id.
  const Json refused = Command(ws, {{"type", "ping"}, {"id", 4}});
  CheckRateLimitedFrame(refused);
  CHECK(refused["data"]["retry_after_s"].get<std::int64_t>() > 90);  // one token per 100 s
  // A refused frame without an id is answered too (id null), never dropped silently.
  ws.SendText(Json{{"type", "ping"}}.dump());
  auto anonymous = ReceiveUntil(ws, [](const Json& f) { return IsType(f, "error"); });
  REQUIRE(anonymous.has_value());
  CheckRateLimitedFrame(*anonymous);
  CHECK(anonymous->value("id", Json()).is_null());
  CHECK_FALSE(ws.closed());  // refusing frames does not end the session

  // HTTP requests of the app are refused as well, with the headers of the contract.
  const HttpResult limited = http.Request("GET", "/v1/sdk/config", {}, ApiKey(tenant.publishable_key));
  INFO(Describe(limited));
  CHECK(limited.status == 429);
  CHECK(BodyJson(limited)["error"].value("code", "") == "rate_limited");
  const std::string retry_after = limited.Header("Retry-After");
  REQUIRE(!retry_after.empty());
  CHECK(std::stoll(retry_after) > 90);
  CHECK(limited.Header("RateLimit-Limit") == "6");
  CHECK(limited.Header("RateLimit-Remaining") == "0");
  // So is another WebSocket upgrade.
  WsClient second;
  CHECK_FALSE(second.Connect(server.port(), "/v1/ws?token=" + customer.session_token));
  CHECK(second.handshake_status() == 429);

  // The account has a bucket of its own, and bad credentials are not charged to anyone.
  CHECK(http.Request("GET", "/v1/apps", {}, Bearer(tenant.token)).status == 200);
  CHECK(http.Request("GET", "/v1/sdk/config", {}, ApiKey("pk_doesnotexist")).status == 401);

  // Every refusal was counted: 2 frames, 1 request, 1 upgrade.
  const HttpResult metrics = http.Request("GET", "/metrics");
  REQUIRE(metrics.status == 200);
  CHECK(Sample(metrics.body, "libchat_rate_limited_requests_total") == 4);
}

TEST_CASE("rate limit: a customer's WebSocket sends are limited per customer", "[integration]") {
  ServerProcess server({"--customer-send-limit", "2"});
  StartOrFail(server);
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "chatty@example.com");
  const CustomerSession customer = StartConversation(http, tenant, "hello");  // by the publishable key

  WsClient ws;
  const bool connected = ws.Connect(server.port(), "/v1/ws?token=" + customer.session_token);
  INFO(ws.handshake_body());
  REQUIRE(connected);
  REQUIRE(ReceiveJson(ws).has_value());  // hello

  auto send = [&](int id, const std::string& text) {
    return Command(ws, {{"type", "send"},
                        {"id", id},
                        {"data", {{"conversation_id", customer.conversation_id}, {"text", text},
                                  {"client_msg_id", "m" + std::to_string(id)}}}});
  };
  CHECK(IsType(send(1, "one"), "ok"));
  CHECK(IsType(send(2, "two"), "ok"));
  const Json refused = send(3, "three");
  CheckRateLimitedFrame(refused);
  CHECK(refused["data"]["retry_after_s"].get<std::int64_t>() > 20);  // one message per 30 s
  // Over HTTP the same customer is out of messages too, but not out of requests.
  const HeaderList session = ApiKey(tenant.publishable_key, customer.session_token);
  const HttpResult post = http.Request("POST", "/v1/sdk/messages",
                                       Json{{"text", "four"}, {"conversation_id", customer.conversation_id}}.dump(),
                                       session);
  INFO(Describe(post));
  CHECK(post.status == 429);
  CHECK(post.Header("RateLimit-Limit") == "2");
  const HttpResult history =
      http.Request("GET", "/v1/sdk/conversations/" + customer.conversation_id + "/messages", {}, session);
  REQUIRE(history.status == 200);
  CHECK(BodyJson(history)["data"].size() == 3);  // hello, one, two: nothing refused was stored
  // The app's team is not limited by a customer's budget.
  const HttpResult team = http.Request("POST", "/v1/conversations/" + customer.conversation_id + "/messages",
                                       Json{{"text", "we are here"}}.dump(), ApiKey(tenant.secret_key));
  CHECK(team.status == 201);
}

}  // namespace
}  // namespace libchat::testing_support
