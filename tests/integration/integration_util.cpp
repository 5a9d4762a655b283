#include "integration/integration_util.h"

#include "catch.h"

namespace libchat::testing_support {

using Clock = std::chrono::steady_clock;

Json BodyJson(const HttpResult& result) {
  return Json::parse(result.body, nullptr, /*allow_exceptions=*/false);
}

HeaderList Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
}

HeaderList ApiKey(const std::string& key, const std::string& session_token) {
  HeaderList headers = {{"X-API-Key", key}, {"Content-Type", "application/json"}};
  if (!session_token.empty()) headers.emplace_back("Authorization", "Bearer " + session_token);
  return headers;
}

std::string Describe(const HttpResult& result) {
  std::string text = "HTTP " + std::to_string(result.status);
  if (!result.error.empty()) text += " (" + result.error + ")";
  text += ": " + result.body.substr(0, 500);
  return text;
}

Tenant CreateTenant(HttpClient& http, const std::string& email, const std::string& app_name) {
  Tenant tenant;
  tenant.email = email;
  const Json registration = {{"email", email}, {"password", "correct horse battery"}, {"name", "Owner " + email}};
  HttpResult registered = http.Request("POST", "/v1/auth/register", registration.dump(),
                                       {{"Content-Type", "application/json"}});
  INFO(Describe(registered));
  REQUIRE(registered.status == 201);
  const Json account = BodyJson(registered);
  REQUIRE(account.is_object());
  REQUIRE(account.value("token", "") != "");
  tenant.token = account["token"].get<std::string>();
  tenant.account_id = account["account"].value("id", "");
  REQUIRE(tenant.account_id.rfind("acc_", 0) == 0);

  HttpResult created = http.Request("POST", "/v1/apps", Json{{"name", app_name}}.dump(), Bearer(tenant.token));
  INFO(Describe(created));
  REQUIRE(created.status == 201);
  const Json app = BodyJson(created);
  REQUIRE(app.is_object());
  tenant.app_id = app["app"].value("id", "");
  tenant.publishable_key = app.value("publishable_key", "");
  tenant.secret_key = app.value("secret_key", "");
  REQUIRE(tenant.app_id.rfind("app_", 0) == 0);
  REQUIRE(tenant.publishable_key.rfind("pk_", 0) == 0);
  REQUIRE(tenant.secret_key.rfind("sk_", 0) == 0);
  return tenant;
}

CustomerSession StartConversation(HttpClient& http, const Tenant& tenant, const std::string& text) {
  HttpResult sent = http.Request("POST", "/v1/sdk/messages", Json{{"text", text}}.dump(),
                                 ApiKey(tenant.publishable_key));
  INFO(Describe(sent));
  REQUIRE(sent.status == 201);
  const Json body = BodyJson(sent);
  REQUIRE(body.is_object());
  CustomerSession session;
  session.conversation_id = body.value("conversation_id", "");
  session.session_token = body.value("session_token", "");
  REQUIRE(session.conversation_id.rfind("conv_", 0) == 0);
  REQUIRE(!session.session_token.empty());
  REQUIRE(body.contains("message"));
  session.first_message = body["message"];
  CHECK(session.first_message.value("seq", 0) == 1);
  CHECK(session.first_message.value("text", "") == text);
  CHECK(session.first_message.value("conversation_id", "") == session.conversation_id);
  REQUIRE(session.first_message["sender"].is_object());
  CHECK(session.first_message["sender"].value("type", "") == "customer");
  if (session.first_message["sender"]["id"].is_string()) {
    session.customer_id = session.first_message["sender"]["id"].get<std::string>();
  }
  return session;
}

void CheckError(const HttpResult& result, int status, const std::string& code) {
  INFO(Describe(result));
  CHECK(result.status == status);
  const Json body = BodyJson(result);
  REQUIRE(body.is_object());
  REQUIRE(body.contains("error"));
  const Json& error = body["error"];
  REQUIRE(error.is_object());
  REQUIRE(error["code"].is_string());
  REQUIRE(error["message"].is_string());
  REQUIRE(error["request_id"].is_string());
  if (!code.empty()) CHECK(error["code"].get<std::string>() == code);
  CHECK(!error["message"].get<std::string>().empty());
  CHECK(!error["request_id"].get<std::string>().empty());
  CHECK(result.Header("content-type").find("application/json") != std::string::npos);
}

int CheckClientError(const HttpResult& result) {
  INFO(Describe(result));
  CHECK(result.status >= 400);
  CHECK(result.status < 500);
  CheckError(result, result.status);
  return result.status;
}

std::optional<Json> ReceiveJson(WsClient& ws, std::chrono::milliseconds timeout) {
  std::optional<std::string> text = ws.ReceiveText(timeout);
  if (!text) return std::nullopt;
  Json frame = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  INFO("frame: " << text->substr(0, 500));
  CHECK(frame.is_object());
  if (!frame.is_object()) return std::nullopt;
  return frame;
}

std::optional<Json> ReceiveUntil(WsClient& ws, const std::function<bool(const Json&)>& match,
                                 std::chrono::milliseconds timeout, std::vector<Json>* skipped) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) return std::nullopt;
    std::optional<Json> frame = ReceiveJson(ws, remaining);
    if (!frame) return std::nullopt;
    if (match(*frame)) return frame;
    if (skipped != nullptr) skipped->push_back(std::move(*frame));
  }
}

std::vector<Json> DrainFor(WsClient& ws, std::chrono::milliseconds window) {
  std::vector<Json> frames;
  ReceiveUntil(ws, [](const Json&) { return false; }, window, &frames);
  return frames;
}

bool IsType(const Json& frame, const std::string& type) {
  if (!frame.is_object()) return false;
  auto it = frame.find("type");
  return it != frame.end() && it->is_string() && it->get_ref<const std::string&>() == type;
}

std::vector<Json> History(HttpClient& http, const Tenant& tenant, const std::string& conversation_id) {
  std::vector<Json> all;
  std::int64_t after = 0;
  for (int page = 0; page < 1000; ++page) {
    HttpResult listed = http.Request(
        "GET", "/v1/conversations/" + conversation_id + "/messages?limit=200&after_seq=" + std::to_string(after), {},
        Bearer(tenant.token));
    INFO(Describe(listed));
    REQUIRE(listed.status == 200);
    const Json body = BodyJson(listed);
    REQUIRE(body["data"].is_array());
    if (body["data"].empty()) break;
    for (const Json& message : body["data"]) all.push_back(message);
    after = body["data"].back().value("seq", after);
  }
  return all;
}

}  // namespace libchat::testing_support
