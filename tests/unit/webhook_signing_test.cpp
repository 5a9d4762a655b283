// Standard Webhooks signing (SignWebhook, NewWebhookSecret) and the HTTP webhook
// sender against a fake receiver. Signatures are checked with OpenSSL directly,
// not with libchat's own crypto helpers, so a shared bug cannot hide.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.h"
#include "libchat/providers/http_client.h"
#include "libchat/providers/webhook.h"
#include "support/fake_http_server.h"

using libchat::HttpClient;
using libchat::HttpRequest;
using libchat::HttpResponse;
using libchat::NewCurlHttpClient;
using libchat::NewHttpWebhookSender;
using libchat::NewWebhookSecret;
using libchat::Result;
using libchat::SendOutcome;
using libchat::SignWebhook;
using libchat::Status;
using libchat::StatusCode;
using libchat::WebhookRequest;
using libchat::testsupport::FakeHttpServer;
using Kind = SendOutcome::Kind;
using std::chrono::milliseconds;

namespace {

// Standard base64 decoding with OpenSSL's EVP_DecodeBlock, which keeps the zero
// bytes padding produces; they are cut off here.
std::string OpenSslBase64Decode(const std::string& text) {
  REQUIRE(text.size() % 4 == 0);
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  REQUIRE(n >= 0);
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::string OpenSslBase64Encode(const std::string& bytes) {
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// The Standard Webhooks v1 signature, computed from the spec with OpenSSL only.
std::string ExpectedSignature(const std::string& secret, const std::string& id, const std::string& timestamp,
                              const std::string& body) {
  REQUIRE(secret.rfind("whsec_", 0) == 0);
  const std::string key = OpenSslBase64Decode(secret.substr(6));
  const std::string content = id + "." + timestamp + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  REQUIRE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
               reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &mac_len) != nullptr);
  return "v1," + OpenSslBase64Encode(std::string(reinterpret_cast<const char*>(mac), mac_len));
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

libchat::Timestamp Now() { return std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now()); }

std::shared_ptr<HttpClient> LoopbackClient() {
  libchat::CurlHttpClientOptions options;
  options.allowed_networks = {"127.0.0.0/8"};
  auto client = NewCurlHttpClient(options);
  REQUIRE(client.ok());
  return *client;
}

WebhookRequest RequestTo(const std::string& url) {
  WebhookRequest request;
  request.url = url;
  request.id = "whd_3hF9kQ2mZx7LpA1cVb8NrT";
  request.timestamp = Now();
  request.body = R"({"type":"message.created","timestamp":"2026-01-01T00:00:00.000Z","data":{"text":"héllo"}})";
  request.secrets = {NewWebhookSecret()};
  request.timeout = milliseconds(5000);
  return request;
}

FakeHttpServer::Response Reply(int status, std::vector<std::pair<std::string, std::string>> headers = {},
                               std::string body = "") {
  FakeHttpServer::Response response;
  response.status = status;
  response.headers = std::move(headers);
  response.body = std::move(body);
  return response;
}

// An HttpClient double: records the request and returns a canned result.
class ScriptedHttpClient : public HttpClient {
 public:
  explicit ScriptedHttpClient(Result<HttpResponse> result) : result_(std::move(result)) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    requests.push_back(request);
    if (throw_) throw std::runtime_error("host client blew up");
    return result_;
  }
  void ThrowOnSend() { throw_ = true; }
  std::vector<HttpRequest> requests;

 private:
  Result<HttpResponse> result_;
  bool throw_ = false;
};

std::string HeaderOf(const HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    std::string lower = key;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == name) return value;
  }
  return {};
}

std::string HttpDate(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buffer;
}

}  // namespace

TEST_CASE("SignWebhook reproduces the Standard Webhooks test vector", "[webhook_signing]") {
  // From the Standard Webhooks reference libraries' test suites
  // (standard-webhooks/standard-webhooks, libraries/go/webhook_test.go TestWebhookSign, and the
  // same vector in the PHP, JavaScript and other suites).
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  const std::string body = R"({"test": 2432232314})";
  auto signature = SignWebhook(secret, id, 1614265330, body);
  REQUIRE(signature.ok());
  CHECK(*signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  // The independent computation agrees, which also checks the helper itself.
  CHECK(ExpectedSignature(secret, id, "1614265330", body) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  // Every signed part matters.
  CHECK(*SignWebhook(secret, id, 1614265331, body) != *signature);
  CHECK(*SignWebhook(secret, id + "x", 1614265330, body) != *signature);
  CHECK(*SignWebhook(secret, id, 1614265330, body + " ") != *signature);
  CHECK(*SignWebhook(NewWebhookSecret(), id, 1614265330, body) != *signature);
}

TEST_CASE("SignWebhook agrees with an independent HMAC for random secrets and bodies", "[webhook_signing]") {
  for (int i = 0; i < 20; ++i) {
    const std::string secret = NewWebhookSecret();
    const std::string body = "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(i * 37, 'x') + "\"}";
    auto signature = SignWebhook(secret, "msg_" + std::to_string(i), 1700000000 + i, body);
    REQUIRE(signature.ok());
    CHECK(*signature == ExpectedSignature(secret, "msg_" + std::to_string(i), std::to_string(1700000000 + i), body));
  }
  // An empty body is signed too.
  auto empty = SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", 0, "");
  REQUIRE(empty.ok());
  CHECK(*empty == ExpectedSignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", "0", ""));
}

TEST_CASE("SignWebhook rejects malformed secrets", "[webhook_signing]") {
  for (const std::string& secret :
       {std::string(), std::string("whsec_"), std::string("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        std::string("whsec_not base64!"), std::string("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        std::string("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"), std::string("whsec_====")}) {
    auto signature = SignWebhook(secret, "msg_1", 1614265330, "{}");
    INFO(secret);
    CHECK(signature.status().code() == StatusCode::kInvalidArgument);
    if (secret.size() > 6) CHECK(signature.status().message().find(secret.substr(6)) == std::string::npos);
  }
}

TEST_CASE("NewWebhookSecret is whsec_ and the base64 of 24 random bytes", "[webhook_signing]") {
  std::vector<std::string> secrets;
  for (int i = 0; i < 50; ++i) {
    const std::string secret = NewWebhookSecret();
    REQUIRE(secret.rfind("whsec_", 0) == 0);
    CHECK(secret.size() == 6 + 32);
    CHECK(OpenSslBase64Decode(secret.substr(6)).size() == 24);
    CHECK(OpenSslBase64Encode(OpenSslBase64Decode(secret.substr(6))) == secret.substr(6));
    CHECK(SignWebhook(secret, "id", 1, "{}").ok());
    for (const std::string& earlier : secrets) CHECK(earlier != secret);
    secrets.push_back(secret);
  }
}

TEST_CASE("Webhook sender posts a signed Standard Webhooks request, one signature per secret", "[webhook_signing]") {
  FakeHttpServer server;
  server.Enqueue(Reply(200, {}, "ok"));
  auto sender = NewHttpWebhookSender(LoopbackClient());
  WebhookRequest request = RequestTo(server.url("/hooks/libchat?x=1"));
  request.secrets = {NewWebhookSecret(), NewWebhookSecret()};  // during a rotation

  const SendOutcome outcome = sender->Send(request);
  CHECK(outcome.kind == Kind::kDelivered);
  CHECK(outcome.status_code == 200);
  CHECK(outcome.error.empty());

  const auto received = server.requests();
  REQUIRE(received.size() == 1);
  const auto& got = received[0];
  CHECK(got.method == "POST");
  CHECK(got.target == "/hooks/libchat?x=1");
  CHECK(got.body == request.body);
  CHECK(got.Header("content-type") == "application/json");
  CHECK(got.Header("user-agent").find("libchat") != std::string::npos);
  CHECK(got.Header("webhook-id") == request.id);
  const std::string timestamp =
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(request.timestamp.time_since_epoch()).count());
  CHECK(got.Header("webhook-timestamp") == timestamp);

  const std::vector<std::string> signatures = Split(got.Header("webhook-signature"), ' ');
  REQUIRE(signatures.size() == 2);
  CHECK(signatures[0] == ExpectedSignature(request.secrets[0], got.Header("webhook-id"), timestamp, got.body));
  CHECK(signatures[1] == ExpectedSignature(request.secrets[1], got.Header("webhook-id"), timestamp, got.body));
}

TEST_CASE("Webhook sender maps receiver statuses to outcomes", "[webhook_signing]") {
  FakeHttpServer server;
  auto sender = NewHttpWebhookSender(LoopbackClient());
  const WebhookRequest request = RequestTo(server.url("/hook"));

  SECTION("204 is delivered") {
    server.Enqueue(Reply(204));
    const SendOutcome outcome = sender->Send(request);
    CHECK(outcome.kind == Kind::kDelivered);
    CHECK(outcome.status_code == 204);
  }
  SECTION("500 is retried and says so") {
    server.Enqueue(Reply(500, {}, "database\r\non fire"));
    const SendOutcome outcome = sender->Send(request);
    CHECK(outcome.kind == Kind::kRetry);
    CHECK(outcome.status_code == 500);
    CHECK(outcome.error.rfind("HTTP 500", 0) == 0);
    CHECK(outcome.error.find("database on fire") != std::string::npos);
    CHECK_FALSE(outcome.retry_after.has_value());
  }
  SECTION("410 means the endpoint is gone") {
    server.Enqueue(Reply(410));
    const SendOutcome outcome = sender->Send(request);
    CHECK(outcome.kind == Kind::kGone);
    CHECK(outcome.status_code == 410);
    CHECK(outcome.error.rfind("HTTP 410", 0) == 0);
  }
  SECTION("400 and 404 are retried: the receiver may be fixed") {
    server.Enqueue(Reply(400));
    server.Enqueue(Reply(404));
    CHECK(sender->Send(request).kind == Kind::kRetry);
    const SendOutcome outcome = sender->Send(request);
    CHECK(outcome.kind == Kind::kRetry);
    CHECK(outcome.status_code == 404);
  }
  SECTION("429 with Retry-After in seconds") {
    server.Enqueue(Reply(429, {{"Retry-After", "7"}}));
    const SendOutcome outcome = sender->Send(request);
    CHECK(outcome.kind == Kind::kRetry);
    CHECK(outcome.status_code == 429);
    REQUIRE(outcome.retry_after.has_value());
    CHECK(*outcome.retry_after == std::chrono::seconds(7));
  }
  SECTION("503 with Retry-After as an HTTP-date") {
    const std::string in_two_minutes = HttpDate(std::chrono::system_clock::now() + std::chrono::seconds(120));
    server.Enqueue(Reply(503, {{"Retry-After", in_two_minutes}}));
    const SendOutcome outcome = sender->Send(request);
    CHECK(outcome.kind == Kind::kRetry);
    REQUIRE(outcome.retry_after.has_value());
    // Whole-second dates: between 118 s and 120 s from now.
    CHECK(*outcome.retry_after >= std::chrono::seconds(118));
    CHECK(*outcome.retry_after <= std::chrono::seconds(120));
  }
  SECTION("a Retry-After date in the past means no wait") {
    server.Enqueue(Reply(503, {{"Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT"}}));
    const SendOutcome outcome = sender->Send(request);
    REQUIRE(outcome.retry_after.has_value());
    CHECK(*outcome.retry_after == milliseconds(0));
  }
  SECTION("a garbage Retry-After is ignored") {
    for (const char* value : {"soon", "-5", "7 seconds", "Sun, 32 Nov 1994 08:49:37 GMT", "1.5"}) {
      server.Enqueue(Reply(503, {{"Retry-After", value}}));
      const SendOutcome outcome = sender->Send(request);
      INFO(value);
      CHECK(outcome.kind == Kind::kRetry);
      CHECK_FALSE(outcome.retry_after.has_value());
    }
  }
  SECTION("a redirect is not followed and is retried") {
    server.Enqueue(Reply(302, {{"Location", server.url("/elsewhere")}}));
    const SendOutcome outcome = sender->Send(request);
    CHECK(outcome.kind == Kind::kRetry);
    CHECK(outcome.status_code == 302);
    CHECK(outcome.error.find("/elsewhere") != std::string::npos);
    const auto received = server.requests();
    REQUIRE(received.size() == 1);
    CHECK(received[0].target == "/hook");
  }
}

TEST_CASE("Webhook sender retries a receiver that answers after the timeout", "[webhook_signing]") {
  FakeHttpServer server;
  FakeHttpServer::Response slow = Reply(200);
  slow.delay = milliseconds(5000);
  server.Enqueue(slow);
  auto sender = NewHttpWebhookSender(LoopbackClient());
  WebhookRequest request = RequestTo(server.url("/slow"));
  request.timeout = milliseconds(500);

  const auto start = std::chrono::steady_clock::now();
  const SendOutcome outcome = sender->Send(request);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  INFO("error: " << outcome.error);
  CHECK(outcome.kind == Kind::kRetry);
  CHECK(outcome.status_code == 0);
  // "timeout after 500 ms" when the client reports kDeadlineExceeded (its contract); the
  // client's own text otherwise. Either way the log says it timed out and after how long.
  CHECK((outcome.error.find("timeout") != std::string::npos || outcome.error.find("timed out") != std::string::npos));
  CHECK(outcome.error.find("500 ms") != std::string::npos);
  CHECK(elapsed < std::chrono::seconds(3));
}

TEST_CASE("Webhook sender refuses a loopback target unless it is allowed", "[webhook_signing]") {
  FakeHttpServer server;
  auto client = NewCurlHttpClient();  // no allowed networks
  REQUIRE(client.ok());
  auto sender = NewHttpWebhookSender(*client);
  const SendOutcome outcome = sender->Send(RequestTo(server.url("/hook")));
  CHECK(outcome.kind == Kind::kPermanent);
  CHECK_FALSE(outcome.error.empty());
  CHECK(server.requests().empty());
}

TEST_CASE("Webhook sender retries when nothing listens", "[webhook_signing]") {
  std::string url;
  {
    FakeHttpServer closed;
    url = closed.url("/hook");
  }
  const SendOutcome outcome = NewHttpWebhookSender(LoopbackClient())->Send(RequestTo(url));
  CHECK(outcome.kind == Kind::kRetry);
  CHECK(outcome.status_code == 0);
  CHECK_FALSE(outcome.error.empty());
}

TEST_CASE("Webhook sender hands the request's timeout and address policy to the HTTP client", "[webhook_signing]") {
  HttpResponse ok;
  ok.status = 200;
  auto http = std::make_shared<ScriptedHttpClient>(ok);
  auto sender = NewHttpWebhookSender(http);
  WebhookRequest request = RequestTo("https://hooks.example.com/in");
  request.timeout = milliseconds(1234);
  request.public_addresses_only = false;
  request.timestamp = libchat::Timestamp(milliseconds(1614265330999));  // sent in whole seconds

  CHECK(sender->Send(request).kind == Kind::kDelivered);
  request.public_addresses_only = true;
  CHECK(sender->Send(request).kind == Kind::kDelivered);

  REQUIRE(http->requests.size() == 2);
  const HttpRequest& sent = http->requests[0];
  CHECK(sent.method == "POST");
  CHECK(sent.url == "https://hooks.example.com/in");
  CHECK(sent.timeout == milliseconds(1234));
  CHECK_FALSE(sent.public_addresses_only);
  CHECK(http->requests[1].public_addresses_only);
  CHECK(sent.body == request.body);
  CHECK(HeaderOf(sent, "webhook-timestamp") == "1614265330");
  CHECK(HeaderOf(sent, "webhook-signature") ==
        ExpectedSignature(request.secrets[0], request.id, "1614265330", request.body));
}

TEST_CASE("Webhook sender turns HTTP client errors into outcomes", "[webhook_signing]") {
  const WebhookRequest request = RequestTo("https://hooks.example.com/in");
  const auto outcome_for = [&](const Status& status) {
    return NewHttpWebhookSender(std::make_shared<ScriptedHttpClient>(status))->Send(request);
  };
  const SendOutcome timeout = outcome_for(Status(StatusCode::kDeadlineExceeded, "operation timed out"));
  CHECK(timeout.kind == Kind::kRetry);
  CHECK(timeout.error == "timeout after 5000 ms");

  const SendOutcome unavailable =
      outcome_for(Status(StatusCode::kUnavailable, "could not resolve host hooks.example.com"));
  CHECK(unavailable.kind == Kind::kRetry);
  CHECK(unavailable.error.find("could not resolve host") != std::string::npos);

  const SendOutcome refused = outcome_for(Status(StatusCode::kPermissionDenied, "10.0.0.5 is not a public address"));
  CHECK(refused.kind == Kind::kPermanent);
  CHECK(refused.error.find("10.0.0.5") != std::string::npos);

  CHECK(outcome_for(Status(StatusCode::kInvalidArgument, "malformed URL")).kind == Kind::kPermanent);

  auto throwing = std::make_shared<ScriptedHttpClient>(Status(StatusCode::kUnavailable, "x"));
  throwing->ThrowOnSend();
  const SendOutcome thrown = NewHttpWebhookSender(throwing)->Send(request);
  CHECK(thrown.kind == Kind::kRetry);
  CHECK(thrown.error.find("host client blew up") != std::string::npos);
}

TEST_CASE("Webhook sender sends nothing with a missing or malformed secret", "[webhook_signing]") {
  HttpResponse ok;
  ok.status = 200;
  auto http = std::make_shared<ScriptedHttpClient>(ok);
  auto sender = NewHttpWebhookSender(http);
  WebhookRequest request = RequestTo("https://hooks.example.com/in");
  request.secrets = {};
  CHECK(sender->Send(request).kind == Kind::kPermanent);
  request.secrets = {NewWebhookSecret(), "whsec_%%%"};
  const SendOutcome outcome = sender->Send(request);
  CHECK(outcome.kind == Kind::kPermanent);
  CHECK(outcome.error.find("%%%") == std::string::npos);
  CHECK(http->requests.empty());
}
