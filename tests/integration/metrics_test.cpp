// GET /metrics on the real server: what an operator's Prometheus sees after real traffic (messages sent over
// HTTP reach a WebSocket subscriber), the connection gauges following a WebSocket's life, and the optional
// metrics token.
#include <chrono>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "catch.h"
#include "integration/integration_util.h"
#include "integration/server_process.h"

namespace libchat::testing_support {
namespace {

using namespace std::chrono_literals;

// The value of the sample line "<sample> <value>" (sample with its labels, exactly as exposed, e.g.
// `libchat_store_commit_batch_size_bucket{le="+Inf"}`); nullopt when the exposition has no such line.
std::optional<double> SampleValue(const std::string& exposition, const std::string& sample) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > sample.size() && line.compare(0, sample.size(), sample) == 0 && line[sample.size()] == ' ') {
      return std::stod(line.substr(sample.size() + 1));
    }
  }
  return std::nullopt;
}

HttpResult Scrape(HttpClient& http, HeaderList headers = {}) {
  HttpResult result = http.Request("GET", "/metrics", {}, std::move(headers));
  INFO(Describe(result));
  REQUIRE(result.status == 200);
  CHECK(result.Header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  return result;
}

// Scrapes until `done(exposition)` holds or `timeout` passes; returns the last exposition.
std::string ScrapeUntil(HttpClient& http, const std::function<bool(const std::string&)>& done,
                        std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string body = Scrape(http).body;
  while (!done(body) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    body = Scrape(http).body;
  }
  return body;
}

double ValueOr0(const std::string& exposition, const std::string& sample) {
  return SampleValue(exposition, sample).value_or(0);
}

TEST_CASE("metrics: traffic shows in /metrics, and the WebSocket gauge follows the connection", "[integration]") {
  ServerProcess server;
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());

  // Open to anyone by default, like /health.
  const std::string initial = Scrape(http).body;
  CHECK(SampleValue(initial, "libchat_ws_connections") == 0.0);
  CHECK(SampleValue(initial, "libchat_messages_appended_total").has_value());
  CHECK(initial.find("# TYPE libchat_publish_to_socket_seconds histogram\n") != std::string::npos);
  CHECK(initial.find("# TYPE libchat_store_commit_batch_size histogram\n") != std::string::npos);

  const Tenant tenant = CreateTenant(http, "metrics@example.com");
  const CustomerSession customer = StartConversation(http, tenant, "first");

  WsClient owner;
  INFO(owner.handshake_body());
  REQUIRE(owner.Connect(server.port(), "/v1/ws", {{"Authorization", "Bearer " + tenant.token}}));
  auto hello = ReceiveJson(owner);
  REQUIRE(hello.has_value());
  REQUIRE(IsType(*hello, "hello"));
  const std::string connected = ScrapeUntil(http, [](const std::string& e) {
    return ValueOr0(e, "libchat_ws_connections") == 1.0;
  });
  CHECK(SampleValue(connected, "libchat_ws_connections") == 1.0);
  CHECK(ValueOr0(connected, "libchat_ws_connections_accepted_total") >= 1.0);
  CHECK(ValueOr0(connected, "libchat_http_connections") >= 1.0);  // this client's keep-alive connection

  const double appended_before = ValueOr0(connected, "libchat_messages_appended_total");
  const double delivered_before = ValueOr0(connected, "libchat_fanout_deliveries_total");
  const double latency_before = ValueOr0(connected, "libchat_publish_to_socket_seconds_count");

  // n messages over HTTP; the owner's WebSocket gets each of them (its feed needs no subscription).
  constexpr int kMessages = 12;
  for (int i = 0; i < kMessages; ++i) {
    const HttpResult sent =
        http.Request("POST", "/v1/conversations/" + customer.conversation_id + "/messages",
                     Json{{"text", "reply " + std::to_string(i)}}.dump(), Bearer(tenant.token));
    INFO(Describe(sent));
    REQUIRE(sent.status == 201);
  }
  int received = 0;
  while (received < kMessages) {
    auto frame = ReceiveUntil(owner, [](const Json& f) { return IsType(f, "message.created"); });
    REQUIRE(frame.has_value());
    ++received;
  }

  // Every frame the client read has been written, so its latency is recorded (polled: the write completion
  // may run a moment after the bytes left).
  const std::string after = ScrapeUntil(http, [&](const std::string& e) {
    return ValueOr0(e, "libchat_publish_to_socket_seconds_count") >= latency_before + kMessages;
  });
  INFO(after);
  CHECK(ValueOr0(after, "libchat_messages_appended_total") >= appended_before + kMessages);
  CHECK(ValueOr0(after, "libchat_fanout_deliveries_total") >= delivered_before + kMessages);
  const double latency_count = ValueOr0(after, "libchat_publish_to_socket_seconds_count");
  CHECK(latency_count >= latency_before + kMessages);
  CHECK(SampleValue(after, "libchat_publish_to_socket_seconds_bucket{le=\"+Inf\"}") == latency_count);
  CHECK(ValueOr0(after, "libchat_publish_to_socket_seconds_sum") >= 0.0);
  // On an idle loopback server almost every frame is out well within a second.
  CHECK(ValueOr0(after, "libchat_publish_to_socket_seconds_bucket{le=\"1\"}") >= latency_count / 2);

  const double commits = ValueOr0(after, "libchat_store_commit_batch_size_count");
  CHECK(commits > 0);
  CHECK(SampleValue(after, "libchat_store_commit_batch_size_bucket{le=\"+Inf\"}") == commits);
  CHECK(ValueOr0(after, "libchat_store_commit_batch_size_sum") >= commits);  // at least one write per commit
  CHECK(ValueOr0(after, "libchat_http_requests_total") >= kMessages + 3);
  CHECK(SampleValue(after, "libchat_rate_limited_requests_total") == 0.0);
  CHECK(SampleValue(after, "libchat_ws_slow_consumer_disconnects_total") == 0.0);

  owner.Close();
  const std::string closed = ScrapeUntil(http, [](const std::string& e) {
    return ValueOr0(e, "libchat_ws_connections") == 0.0;
  });
  CHECK(SampleValue(closed, "libchat_ws_connections") == 0.0);
  CHECK(ValueOr0(closed, "libchat_ws_connections_accepted_total") >= 1.0);  // a total: it stays
}

TEST_CASE("metrics: with --metrics-token, /metrics needs that bearer token", "[integration]") {
  ServerProcess server({"--metrics-token", "prom-scrape-token-42"});
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());

  const HttpResult anonymous = http.Request("GET", "/metrics");
  CheckError(anonymous, 401, "unauthenticated");
  CheckError(http.Request("GET", "/metrics", {}, {{"Authorization", "Bearer prom-scrape-token-4"}}), 401,
             "unauthenticated");
  const HttpResult scraped = Scrape(http, {{"Authorization", "Bearer prom-scrape-token-42"}});
  CHECK(SampleValue(scraped.body, "libchat_ws_connections").has_value());
  CHECK(http.Request("GET", "/health").status == 200);  // the token guards /metrics only
}

}  // namespace
}  // namespace libchat::testing_support
