// Helpers for the HTTP API tests: a Chat over the in-memory store with a fake clock and cheap password
// hashing, an Api in front of it, hand-built http::Requests, and checks every response must pass (a request
// id, never a 5xx unless a test asks for one, a well-formed error body on errors).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "libchat/chat.h"
#include "libchat/providers/store.h"
#include "libchat/testing/fake_clock.h"
#include "libchat/testing/memory_store.h"
#include "server/api/api.h"
#include "server/http/request.h"
#include "unit/forwarding_store.h"

namespace libchat::test {

using Json = nlohmann::json;
using server::http::Header;
using server::http::Request;
using server::http::Response;

// A Store that forwards to another one and can be told to fail: CheckWritable with kUnavailable, and
// ListMessages with an arbitrary code (to see how the API reports store failures).
class FaultyStore : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  std::atomic<bool> unwritable{false};
  std::atomic<int> list_messages_error{0};  // a StatusCode value; 0 = pass through

  Result<std::vector<Message>> ListMessages(const MessageQuery& query) override {
    const int code = list_messages_error.load();
    if (code != 0) return Status(static_cast<StatusCode>(code), "SELECT * FROM messages exploded at 0xdeadbeef");
    return ForwardingStore::ListMessages(query);
  }
  Status CheckWritable() override {
    if (unwritable.load()) return UnavailableError("disk full");
    return ForwardingStore::CheckWritable();
  }
};

inline constexpr char kTestJwtSecret[] = "api-test-secret-0123456789abcdef-0123456789";

// Builds a request the way the HTTP parser would: path percent-decoded, query kept raw.
inline Request MakeRequest(std::string method, std::string target, std::string body = "",
                           std::vector<Header> headers = {}) {
  Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  const auto q = request.target.find('?');
  const std::string raw_path = request.target.substr(0, q);
  request.path = server::http::PercentDecode(raw_path, false).value_or(raw_path);
  if (q != std::string::npos) request.query = request.target.substr(q + 1);
  request.version_minor = 1;
  request.headers = std::move(headers);
  request.body = std::move(body);
  return request;
}

inline const std::string* ResponseHeader(const Response& response, std::string_view name) {
  for (const Header& header : response.headers) {
    if (server::http::EqualsIgnoreCase(header.name, name)) return &header.value;
  }
  return nullptr;
}

inline int CountHeader(const Response& response, std::string_view name) {
  int n = 0;
  for (const Header& header : response.headers) n += server::http::EqualsIgnoreCase(header.name, name) ? 1 : 0;
  return n;
}

inline Json BodyJson(const Response& response) {
  return Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
}

// The error code of an error response ("" when the body is not an error object).
inline std::string ErrorCode(const Response& response) {
  const Json body = BodyJson(response);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return "";
  const Json& code = body["error"]["code"];
  return code.is_string() ? code.get<std::string>() : "";
}

inline Header Bearer(const std::string& token) { return {"Authorization", "Bearer " + token}; }
inline Header ApiKey(const std::string& key) { return {"X-API-Key", key}; }

// A Chat + Api pair over a fresh in-memory store.
class ApiHarness {
 public:
  // `configure`, when given, adjusts the Chat's Options last (delivery providers, limits, ...).
  explicit ApiHarness(server::ApiOptions api_options = DefaultApiOptions(),
                      const std::function<void(Options&)>& configure = nullptr) {
    clock = std::make_shared<testing::FakeClock>();
    store = std::make_shared<FaultyStore>(testing::NewMemoryStore());
    Options options;
    options.store = store;
    options.clock = clock;
    options.jwt_secret = kTestJwtSecret;
    options.password_hashing.memory_kib = 8192;
    options.password_hashing.iterations = 1;
    if (configure) configure(options);
    auto opened = Chat::Open(std::move(options));
    INFO(opened.status().ToString());
    REQUIRE(opened.ok());
    chat = std::move(opened).value();
    api = std::make_unique<server::Api>(*chat, std::move(api_options));
  }

  static server::ApiOptions DefaultApiOptions() {
    server::ApiOptions options;
    options.version = "9.9.9-test";
    options.allowed_origins = {"https://app.example.com"};
    options.openapi_json = R"({"openapi":"3.1.0"})";
    return options;
  }

  // Handles `request` and checks what every response must satisfy: the request id header (exactly once),
  // no 5xx (unless allow_5xx), Content-Type JSON and a complete error object on every error with a body.
  Response Call(const Request& request, bool allow_5xx = false) {
    const std::string request_id = "req-" + std::to_string(++request_counter_);
    Response response = api->Handle(request, request_id);
    INFO(request.method << " " << request.target << " -> " << response.status << " " << response.body);
    CHECK(CountHeader(response, "X-Request-Id") == 1);
    const std::string* id = ResponseHeader(response, "X-Request-Id");
    CHECK((id != nullptr && *id == request_id));
    if (!allow_5xx) CHECK(response.status < 500);
    if (response.status >= 400) {
      const Json body = BodyJson(response);
      REQUIRE(body.is_object());
      REQUIRE(body.contains("error"));
      CHECK(body["error"]["code"].is_string());
      CHECK(body["error"]["message"].is_string());
      CHECK(body["error"]["request_id"] == request_id);
      const std::string* type = ResponseHeader(response, "Content-Type");
      CHECK((type != nullptr && *type == "application/json"));
      if (response.status == 401) {
        const std::string* challenge = ResponseHeader(response, "WWW-Authenticate");
        CHECK((challenge != nullptr && *challenge == "Bearer"));
      }
    }
    if (response.status == 204) CHECK(response.body.empty());
    return response;
  }

  // A request with a raw (possibly malformed) body.
  Response Raw(std::string method, std::string target, std::string body, std::vector<Header> headers = {}) {
    return Call(MakeRequest(std::move(method), std::move(target), std::move(body), std::move(headers)));
  }
  // A request with a JSON body.
  Response Send(std::string method, std::string target, const Json& body, std::vector<Header> headers = {}) {
    return Call(MakeRequest(std::move(method), std::move(target), body.dump(), std::move(headers)));
  }
  // A request without a body (GET, DELETE, ...).
  Response Get(std::string target, std::vector<Header> headers = {}, std::string method = "GET") {
    return Call(MakeRequest(std::move(method), std::move(target), "", std::move(headers)));
  }

  struct AccountHandle {
    std::string id;
    std::string token;
    std::string email;
  };
  AccountHandle Register(const std::string& email, const std::string& password = "correct horse battery") {
    Response response = Send("POST", "/v1/auth/register",
                             Json{{"email", email}, {"password", password}, {"name", "Owner " + email}});
    REQUIRE(response.status == 201);
    const Json body = BodyJson(response);
    return {body["account"]["id"].get<std::string>(), body["token"].get<std::string>(), email};
  }

  struct AppHandle {
    std::string id;
    std::string publishable_key;
    std::string secret_key;
    std::string identity_secret;
  };
  AppHandle CreateApp(const AccountHandle& owner, const std::string& name = "Acme Support") {
    Response response = Send("POST", "/v1/apps", Json{{"name", name}}, {Bearer(owner.token)});
    REQUIRE(response.status == 201);
    const Json body = BodyJson(response);
    return {body["app"]["id"].get<std::string>(), body["publishable_key"].get<std::string>(),
            body["secret_key"].get<std::string>(), body["identity_secret"].get<std::string>()};
  }

  struct SdkHandle {
    std::string conversation_id;
    std::string session_token;
    std::string customer_id;  // the sender id of the first message
  };
  // A customer's first message through the SDK: creates the conversation and the session.
  SdkHandle FirstMessage(const AppHandle& app, const std::string& text = "Hello, I need help") {
    Response response = Send("POST", "/v1/sdk/messages", Json{{"text", text}}, {ApiKey(app.publishable_key)});
    REQUIRE(response.status == 201);
    const Json body = BodyJson(response);
    return {body["conversation_id"].get<std::string>(), body["session_token"].get<std::string>(),
            body["message"]["sender"]["id"].get<std::string>()};
  }

  std::shared_ptr<testing::FakeClock> clock;
  std::shared_ptr<FaultyStore> store;
  std::unique_ptr<Chat> chat;
  std::unique_ptr<server::Api> api;

 private:
  int request_counter_ = 0;
};

}  // namespace libchat::test
