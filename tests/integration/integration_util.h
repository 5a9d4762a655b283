// Helpers shared by the integration tests: JSON in and out of the test clients, the usual setup steps
// (an account with an app, a customer's first message) and checks of the error contract. The setup helpers
// REQUIRE success, so a broken step fails the test at the step that broke.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/test_client.h"

namespace libchat::testing_support {

using Json = nlohmann::json;

// The body as JSON; a discarded value (is_discarded()) when it is not JSON.
Json BodyJson(const HttpResult& result);
// "Authorization: Bearer <token>" (+ Content-Type: application/json).
HeaderList Bearer(const std::string& token);
// "X-API-Key: <key>" and, when given, the customer's session token as a bearer token.
HeaderList ApiKey(const std::string& key, const std::string& session_token = {});
// One line for failure messages: status, error and (the start of) the body.
std::string Describe(const HttpResult& result);

// An account (registered through the API) with one app.
struct Tenant {
  std::string email;
  std::string token;  // the account's bearer token
  std::string account_id;
  std::string app_id;
  std::string publishable_key;
  std::string secret_key;
};
// Registers `email` (password "correct horse battery") and creates an app named `app_name`.
Tenant CreateTenant(HttpClient& http, const std::string& email, const std::string& app_name = "Acme");

// A customer's first message through POST /v1/sdk/messages, which creates the conversation.
struct CustomerSession {
  std::string conversation_id;
  std::string session_token;
  std::string customer_id;
  Json first_message;
};
CustomerSession StartConversation(HttpClient& http, const Tenant& tenant, const std::string& text);

// Every message of a conversation as the tenant's account reads it, paged by after_seq (REQUIREs success).
std::vector<Json> History(HttpClient& http, const Tenant& tenant, const std::string& conversation_id);

// CHECKs that `result` is an error of the contract: `status`, a JSON body {"error":{"code":`code`,
// "message":…,"request_id":…}} with non-empty strings. `code` empty: any code.
void CheckError(const HttpResult& result, int status, const std::string& code = {});
// CHECKs the error shape and that the status is a 4xx (never 5xx, never 0); returns the status.
int CheckClientError(const HttpResult& result);

// The next WebSocket message as JSON; nullopt on timeout/close (or when it is not JSON, which is CHECKed).
std::optional<Json> ReceiveJson(WsClient& ws, std::chrono::milliseconds timeout = std::chrono::seconds(5));
// Reads messages until one satisfies `match` (returned) or `timeout` passes (nullopt). The messages read
// and not matched are appended to `skipped` when given.
std::optional<Json> ReceiveUntil(WsClient& ws, const std::function<bool(const Json&)>& match,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                 std::vector<Json>* skipped = nullptr);
// Every message that arrives within `window` (stops early on close).
std::vector<Json> DrainFor(WsClient& ws, std::chrono::milliseconds window);
bool IsType(const Json& frame, const std::string& type);

}  // namespace libchat::testing_support
