// Operators on the WebSocket against the real server: the upgrade accepts an operator token in
// X-Authorization-Key, Authorization: Bearer and ?token=; the operator gets the live feed of the apps it is
// assigned to without subscribing (as accounts do), nothing of other apps, and nothing more once it is made
// inactive: its open connections are closed with 1008 and its token is refused from then on.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "catch.h"
#include "integration/integration_util.h"
#include "integration/server_process.h"
#include "libchat/types.h"

namespace libchat::testing_support {
namespace {

using namespace std::chrono_literals;

// The hello's principal; REQUIREs the upgrade to succeed.
Json ConnectAs(WsClient& client, std::uint16_t port, const std::string& target, const HeaderList& headers = {}) {
  INFO(client.handshake_body());
  REQUIRE(client.Connect(port, target, headers));
  auto hello = ReceiveJson(client);
  REQUIRE(hello.has_value());
  REQUIRE(IsType(*hello, "hello"));
  return (*hello)["data"]["principal"];
}

bool IsMessageIn(const Json& frame, const std::string& conversation_id) {
  return IsType(frame, "message.created") && frame["data"].is_object() &&
         frame["data"].value("conversation_id", "") == conversation_id;
}

TEST_CASE("operator websocket: every token header works and the feed covers exactly the assigned apps",
          "[integration]") {
  ServerProcess server;
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "operators-ws@example.com", "A");
  const Tenant other = CreateTenant(http, "operators-ws-other@example.com", "B");

  HttpResult created = http.Request("POST", "/v1/operators",
                                    Json{{"name", "Grace"}, {"app_ids", {tenant.app_id}}}.dump(),
                                    Bearer(tenant.token));
  INFO(Describe(created));
  REQUIRE(created.status == 201);
  const std::string op = BodyJson(created)["id"].get<std::string>();
  const std::string expires_at =
      FormatTimestamp(std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()) + 1h);
  HttpResult minted = http.Request("POST", "/v1/operators/" + op + "/tokens",
                                   Json{{"expires_at", expires_at}}.dump(), Bearer(tenant.token));
  INFO(Describe(minted));
  REQUIRE(minted.status == 201);
  const std::string token = BodyJson(minted)["token"].get<std::string>();

  WsClient by_key;
  const Json principal = ConnectAs(by_key, server.port(), "/v1/ws", {{"X-Authorization-Key", token}});
  CHECK(principal["type"] == "operator");
  CHECK(principal["id"] == op);
  WsClient by_bearer;
  ConnectAs(by_bearer, server.port(), "/v1/ws", {{"Authorization", "Bearer " + token}});
  WsClient by_query;
  ConnectAs(by_query, server.port(), "/v1/ws?token=" + token);

  // A customer of app A writes: every operator connection gets it, unasked.
  const CustomerSession customer = StartConversation(http, tenant, "Where is my parcel?");
  for (WsClient* client : {&by_key, &by_bearer, &by_query}) {
    auto frame = ReceiveUntil(*client, [&](const Json& f) { return IsMessageIn(f, customer.conversation_id); }, 5s);
    CHECK(frame.has_value());
  }
  // A customer of app B writes: the operator of A sees none of it.
  const CustomerSession stranger = StartConversation(http, other, "Hello from B");
  for (const Json& frame : DrainFor(by_key, 500ms)) {
    INFO(frame.dump());
    CHECK(frame.dump().find(stranger.conversation_id) == std::string::npos);
  }

  // Made inactive: new messages of A no longer reach it, and the token opens nothing.
  HttpResult deactivated =
      http.Request("PATCH", "/v1/operators/" + op, Json{{"status", "inactive"}}.dump(), Bearer(tenant.token));
  INFO(Describe(deactivated));
  REQUIRE(deactivated.status == 200);
  // Its open connections are closed at once with 1008, not left open and silent.
  for (WsClient* client : {&by_key, &by_bearer, &by_query}) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!client->close_code() && std::chrono::steady_clock::now() < deadline) client->ReceiveText(200ms);
    REQUIRE(client->close_code().has_value());
    CHECK(*client->close_code() == 1008);
  }
  HttpResult later = http.Request("POST", "/v1/sdk/messages",
                                  Json{{"text", "Still there?"}, {"conversation_id", customer.conversation_id}}.dump(),
                                  ApiKey(tenant.publishable_key, customer.session_token));
  INFO(Describe(later));
  REQUIRE(later.status == 201);
  const std::int64_t later_seq = BodyJson(later)["message"]["seq"].get<std::int64_t>();
  for (const Json& frame : DrainFor(by_bearer, 500ms)) {
    INFO(frame.dump());
    CHECK_FALSE((IsMessageIn(frame, customer.conversation_id) && frame["data"].value("seq", 0) == later_seq));
  }
  WsClient refused;
  CHECK_FALSE(refused.Connect(server.port(), "/v1/ws", {{"X-Authorization-Key", token}}));
  CHECK(refused.handshake_status() == 401);
}

}  // namespace
}  // namespace libchat::testing_support
