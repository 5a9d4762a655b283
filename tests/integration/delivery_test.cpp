// Delivery beyond the socket against the real server: webhooks signed per Standard Webhooks reach a
// receiver and are retried after failures; deliveries survive a SIGKILL of the server; private targets
// are refused. The receiver is a FakeHttpServer on loopback, which the servers here allow explicitly
// (CHAT_OUTBOUND_ALLOW_NETWORKS) — and the SSRF case checks that a server without it refuses it.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "catch.h"
#include "integration/integration_util.h"
#include "integration/server_process.h"
#include "support/fake_http_server.h"

namespace libchat::testing_support {
namespace {

using namespace std::chrono_literals;
using testsupport::FakeHttpServer;

// Standard Webhooks verification written from the spec with OpenSSL alone (not libchat's code):
// the key is base64-decoded from after "whsec_", the MAC covers "{id}.{timestamp}.{body}".
bool SignatureValid(const std::string& secret, const FakeHttpServer::Request& request) {
  const std::string encoded = secret.substr(std::string("whsec_").size());
  std::string key(encoded.size(), '\0');
  const int decoded = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(key.data()),
                                      reinterpret_cast<const unsigned char*>(encoded.data()),
                                      static_cast<int>(encoded.size()));
  if (decoded < 0) return false;
  std::size_t padding = 0;
  for (auto it = encoded.rbegin(); it != encoded.rend() && *it == '='; ++it) ++padding;
  key.resize(static_cast<std::size_t>(decoded) - padding);
  const std::string content =
      request.Header("webhook-id") + "." + request.Header("webhook-timestamp") + "." + request.body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), mac, &mac_len);
  std::string expected(4 * ((mac_len + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(expected.data()), mac, static_cast<int>(mac_len));
  expected.resize(static_cast<std::size_t>(n));
  // webhook-signature: space-separated "v1,<base64>" entries; any one matching is valid.
  const std::string header = request.Header("webhook-signature");
  std::size_t start = 0;
  while (start < header.size()) {
    std::size_t end = header.find(' ', start);
    if (end == std::string::npos) end = header.size();
    if (header.substr(start, end - start) == "v1," + expected) return true;
    start = end + 1;
  }
  return false;
}

// The server's environment for these tests: loopback receivers allowed, a short retry schedule and lease.
struct DeliveryEnv {
  DeliveryEnv(const std::string& schedule, bool allow_loopback = true) {
    if (allow_loopback) {
      setenv("CHAT_OUTBOUND_ALLOW_NETWORKS", "127.0.0.0/8", 1);
    } else {
      unsetenv("CHAT_OUTBOUND_ALLOW_NETWORKS");
    }
    setenv("CHAT_DELIVERY_RETRY_SCHEDULE", schedule.c_str(), 1);
    setenv("CHAT_WEBHOOK_TIMEOUT_MS", "2000", 1);
    setenv("CHAT_DELIVERY_LEASE_MS", "3000", 1);
  }
  ~DeliveryEnv() {
    for (const char* name : {"CHAT_OUTBOUND_ALLOW_NETWORKS", "CHAT_DELIVERY_RETRY_SCHEDULE", "CHAT_WEBHOOK_TIMEOUT_MS",
                             "CHAT_DELIVERY_LEASE_MS"}) {
      unsetenv(name);
    }
  }
};

struct CreatedHook {
  std::string id;
  std::string secret;
};

CreatedHook CreateWebhook(HttpClient& http, const Tenant& tenant, const std::string& url,
                          const std::vector<std::string>& events) {
  HttpResult created = http.Request("POST", "/v1/apps/" + tenant.app_id + "/webhooks",
                                    Json{{"url", url}, {"events", events}}.dump(), Bearer(tenant.token));
  REQUIRE(created.status == 201);
  Json body = BodyJson(created);
  REQUIRE(body["secret"].is_string());
  REQUIRE(body["webhook"]["id"].is_string());
  return {body["webhook"]["id"].get<std::string>(), body["secret"].get<std::string>()};
}

// Every delivery of the app (all pages).
std::vector<Json> AllDeliveries(HttpClient& http, const Tenant& tenant) {
  std::vector<Json> out;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    std::string target = "/v1/apps/" + tenant.app_id + "/deliveries?limit=200";
    if (!cursor.empty()) target += "&cursor=" + cursor;
    HttpResult listed = http.Request("GET", target, {}, Bearer(tenant.token));
    REQUIRE(listed.status == 200);
    Json body = BodyJson(listed);
    for (Json& delivery : body["data"]) out.push_back(std::move(delivery));
    if (!body["next_cursor"].is_string() || body["next_cursor"].get<std::string>().empty()) break;
    cursor = body["next_cursor"].get<std::string>();
  }
  return out;
}

TEST_CASE("a message.created webhook is retried after 500s and arrives signed with one webhook-id",
          "[integration][delivery]") {
  DeliveryEnv env("0,1,1,1");
  FakeHttpServer receiver;
  receiver.Enqueue({500, {}, "boom", 0ms});
  receiver.Enqueue({500, {}, "boom again", 0ms});
  ServerProcess server;
  REQUIRE(server.Start());
  HttpClient http(server.port());
  Tenant tenant = CreateTenant(http, "hooks@example.com");
  CreatedHook hook = CreateWebhook(http, tenant, receiver.url("/hooks"), {"message.created"});
  CHECK(hook.secret.rfind("whsec_", 0) == 0);

  CustomerSession customer = StartConversation(http, tenant, "hello over webhooks");
  REQUIRE(receiver.WaitForRequests(3, 20s));
  std::this_thread::sleep_for(300ms);  // nothing more should follow the 200
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 3);
  for (const auto& request : requests) {
    CHECK(request.method == "POST");
    CHECK(request.target == "/hooks");
    CHECK(request.Header("content-type").find("application/json") == 0);
    CHECK(request.Header("webhook-id") == requests.front().Header("webhook-id"));
    CHECK(request.body == requests.front().body);
    CHECK(SignatureValid(hook.secret, request));
  }
  Json body = Json::parse(requests.front().body);
  CHECK(body["type"] == "message.created");
  CHECK(body["data"]["message"]["text"] == "hello over webhooks");
  CHECK(body["data"]["message"]["conversation_id"] == customer.conversation_id);

  // The outbox shows the delivery with its three attempts; secrets never appear.
  bool delivered = false;
  for (int i = 0; i < 50 && !delivered; ++i) {
    HttpResult listed = http.Request("GET", "/v1/apps/" + tenant.app_id + "/webhooks/" + hook.id + "/deliveries", {},
                                     Bearer(tenant.token));
    REQUIRE(listed.status == 200);
    CHECK(listed.body.find(hook.secret.substr(6)) == std::string::npos);
    Json list = BodyJson(listed);
    REQUIRE(list["data"].size() == 1);
    const Json& delivery = list["data"][0];
    CHECK(delivery["id"] == requests.front().Header("webhook-id"));
    delivered = delivery["status"] == "delivered";
    if (delivered) {
      REQUIRE(delivery["attempts"].size() == 3);
      CHECK(delivery["attempts"][0]["status_code"] == 500);
      CHECK(delivery["attempts"][1]["status_code"] == 500);
      CHECK(delivery["attempts"][2]["status_code"] == 200);
    } else {
      std::this_thread::sleep_for(100ms);
    }
  }
  CHECK(delivered);
}

TEST_CASE("deliveries pending when the server is SIGKILLed are all delivered or dead-lettered after restart",
          "[integration][delivery]") {
  DeliveryEnv env("0,1,1,1,1,1");
  FakeHttpServer receiver;
  std::atomic<bool> healthy{false};
  receiver.SetHandler([&healthy](const FakeHttpServer::Request&) {
    return FakeHttpServer::Response{healthy ? 200 : 503, {}, "{}", 0ms};
  });
  ServerProcess server;
  REQUIRE(server.Start());
  HttpClient http(server.port());
  Tenant tenant = CreateTenant(http, "crash@example.com");
  CreatedHook hook = CreateWebhook(http, tenant, receiver.url("/crash"), {"message.created"});
  CustomerSession customer = StartConversation(http, tenant, "message 0");
  constexpr int kMessages = 20;
  for (int i = 1; i < kMessages; ++i) {
    HttpResult sent = http.Request("POST", "/v1/conversations/" + customer.conversation_id + "/messages",
                                   Json{{"text", "message " + std::to_string(i)}}.dump(), Bearer(tenant.token));
    REQUIRE(sent.status == 201);
  }
  // Attempts are under way (and failing) when the server dies.
  REQUIRE(receiver.WaitForRequests(kMessages, 20s));
  server.Kill();
  healthy = true;
  REQUIRE(server.Restart());
  HttpClient after(server.port());

  // Every delivery settles: delivered (the receiver is healthy now) or, if its schedule ran out, failed.
  std::vector<Json> deliveries;
  bool settled = false;
  for (int i = 0; i < 300 && !settled; ++i) {
    deliveries = AllDeliveries(after, tenant);
    settled = deliveries.size() == kMessages;
    for (const Json& delivery : deliveries) settled = settled && delivery["status"] != "pending";
    if (!settled) std::this_thread::sleep_for(100ms);
  }
  INFO(server.Log());
  REQUIRE(settled);
  std::set<std::string> received_ok;
  for (const auto& request : receiver.requests()) {
    CHECK(SignatureValid(hook.secret, request));
    received_ok.insert(request.Header("webhook-id"));
  }
  int delivered = 0;
  for (const Json& delivery : deliveries) {
    if (delivery["status"] == "delivered") {
      ++delivered;
      CHECK(received_ok.count(delivery["id"].get<std::string>()) == 1);
    } else {
      CHECK(delivery["status"] == "failed");
      CHECK(delivery["attempts"].size() == 6);  // dead-lettered only after the whole schedule
    }
  }
  CHECK(delivered > 0);
  // Every message's text reached the receiver at least once: none lost.
  std::set<std::string> texts;
  for (const auto& request : receiver.requests()) {
    Json body = Json::parse(request.body, nullptr, false);
    if (!body.is_discarded()) texts.insert(body["data"]["message"]["text"].get<std::string>());
  }
  CHECK(texts.size() == kMessages);
}

TEST_CASE("webhook URLs aimed at private, loopback or link-local addresses are refused by default",
          "[integration][delivery]") {
  DeliveryEnv env("0,1", /*allow_loopback=*/false);
  ServerProcess server;
  REQUIRE(server.Start());
  HttpClient http(server.port());
  Tenant tenant = CreateTenant(http, "ssrf@example.com");
  for (const std::string url : {"http://127.0.0.1:9/x", "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data",
                                "http://localhost:8080/", "http://[::1]/x"}) {
    INFO(url);
    HttpResult refused = http.Request("POST", "/v1/apps/" + tenant.app_id + "/webhooks",
                                      Json{{"url", url}, {"events", {"message.created"}}}.dump(), Bearer(tenant.token));
    CheckClientError(refused);
    CHECK((refused.status == 400 || refused.status == 422));
  }
  HttpResult listed = http.Request("GET", "/v1/apps/" + tenant.app_id + "/webhooks", {}, Bearer(tenant.token));
  REQUIRE(listed.status == 200);
  CHECK(BodyJson(listed)["data"].empty());
}

}  // namespace
}  // namespace libchat::testing_support
