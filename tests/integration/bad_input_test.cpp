// Bad input against the real server: malformed and mistyped JSON, invalid UTF-8, oversized bodies and
// headers, garbage on the wire, unknown routes, forged tokens and other tenants' ids over HTTP; junk frames,
// oversized and unmasked frames and missing credentials over WebSocket. Every HTTP answer must be a 4xx with
// the contract's JSON error body, and the server must still be healthy afterwards.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "catch.h"
#include "integration/integration_util.h"
#include "integration/server_process.h"

namespace libchat::testing_support {
namespace {

using namespace std::chrono_literals;
namespace ws = server::ws;

// --- hand-made tokens ------------------------------------------------------------------------------------

std::string Base64Url(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const std::uint32_t chunk = static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16 |
                                static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8 |
                                static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += kAlphabet[(chunk >> 6) & 63];
    out += kAlphabet[chunk & 63];
  }
  if (i < data.size()) {
    std::uint32_t chunk = static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16;
    if (i + 1 < data.size()) chunk |= static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8;
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    if (i + 1 < data.size()) out += kAlphabet[(chunk >> 6) & 63];
  }
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &length);
  return std::string(reinterpret_cast<const char*>(mac), length);
}

// header.payload.signature, signed with HMAC-SHA256 under `secret` whatever the header claims.
std::string SignToken(const Json& header, const Json& payload, std::string_view secret) {
  const std::string input = Base64Url(header.dump()) + "." + Base64Url(payload.dump());
  return input + "." + Base64Url(HmacSha256(secret, input));
}

std::int64_t NowSeconds() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
}

// The claims of an account token as the server issues them.
Json AccountClaims(const std::string& account_id, std::int64_t expires_at) {
  return Json{{"sub", account_id}, {"knd", "account"}, {"jti", "forged-" + std::to_string(expires_at)},
              {"iat", NowSeconds() - 10}, {"exp", expires_at}};
}

const Json kHs256Header = {{"alg", "HS256"}, {"typ", "JWT"}};

// --- helpers ---------------------------------------------------------------------------------------------

std::string Repeat(char c, std::size_t n) { return std::string(n, c); }

HttpResult Post(HttpClient& http, const std::string& path, std::string_view body, const HeaderList& headers) {
  return http.Request("POST", path, body, headers);
}

// 4xx with the error shape, and the expected status (and code, when given).
void ExpectError(const HttpResult& result, int status, const std::string& code = {}) {
  CheckClientError(result);
  CheckError(result, status, code);
}

void ExpectHealthy(std::uint16_t port) {
  HttpClient http(port);
  HttpResult health = http.Request("GET", "/health");
  INFO(Describe(health));
  CHECK(health.status == 200);
  CHECK(BodyJson(health).value("status", "") == "ok");
}

// --- HTTP: bodies, wire format, routes ---------------------------------------------------------------------

TEST_CASE("bad input: malformed bodies and wire garbage and limits and unknown routes get 4xx JSON errors",
          "[integration]") {
  ServerProcess server({"--max-body", "2048"});
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "strict@example.com");
  const CustomerSession customer = StartConversation(http, tenant, "hi");
  const HeaderList json_only = {{"Content-Type", "application/json"}};
  const HeaderList owner = Bearer(tenant.token);
  const std::string messages = "/v1/conversations/" + customer.conversation_id + "/messages";
  const std::string read = "/v1/conversations/" + customer.conversation_id + "/read";

  SECTION("malformed JSON, non-objects, wrong types and missing fields") {
    const std::vector<std::string> bad_registrations = {
        R"({"email":)",
        R"({"email":"a@b.co","password":"long enough pw","name":"x")",  // unterminated object
        R"({"email":"a@b.co" "password":"long enough pw"})",
        R"([])",
        R"("a string")",
        R"(42)",
        R"(null)",
        "{\"email\":\"a@b.co\",\"password\":\"long enough pw\",\"name\":\"x\"}garbage",
        R"({"email":5,"password":"long enough pw","name":"x"})",
        R"({"email":"a@b.co","password":["long enough pw"],"name":"x"})",
        R"({"email":"a@b.co","password":"long enough pw","name":{"first":"x"}})",
        R"({"email":"a@b.co","name":"x"})",   // no password
        R"({"password":"long enough pw","name":"x"})",  // no email
        R"({"email":"not-an-email","password":"long enough pw","name":"x"})",
        R"({"email":"short@pw.co","password":"short","name":"x"})",
    };
    for (const std::string& body : bad_registrations) {
      INFO("register body: " << body);
      ExpectError(Post(http, "/v1/auth/register", body, json_only), 400, "invalid_argument");
    }

    ExpectError(Post(http, "/v1/apps", R"({"name":123})", owner), 400, "invalid_argument");
    ExpectError(Post(http, "/v1/apps", R"({})", owner), 400, "invalid_argument");
    ExpectError(Post(http, "/v1/apps", R"({"name":"x","theme":"dark"})", owner), 400, "invalid_argument");
    ExpectError(Post(http, "/v1/apps", R"({"name":"x","prechat":{}})", owner), 400, "invalid_argument");

    const std::vector<std::string> bad_messages = {
        R"({})",
        R"({"text":null})",
        R"({"text":["hello"]})",
        R"({"text":42})",
        R"({"text":""})",
        R"({"text":"ok","metadata":"not an object"})",
        R"({"text":"ok","metadata":[1,2]})",
        R"({"text":"ok","client_msg_id":5})",
        R"({"text":"ok",)",
        std::string(600, '[') + std::string(600, ']'),  // deep nesting
    };
    for (const std::string& body : bad_messages) {
      INFO("message body: " << body.substr(0, 80));
      ExpectError(Post(http, messages, body, owner), 400, "invalid_argument");
    }

    for (const char* body : {R"({})", R"({"seq":-1})", R"({"seq":"5"})", R"({"seq":1.5})", R"({"seq":true})"}) {
      INFO("read body: " << body);
      ExpectError(Post(http, read, body, owner), 400, "invalid_argument");
    }

    // The SDK path.
    const HeaderList sdk = ApiKey(tenant.publishable_key, customer.session_token);
    ExpectError(Post(http, "/v1/sdk/messages", R"({"text":5})", sdk), 400, "invalid_argument");
    ExpectError(Post(http, "/v1/sdk/messages", R"({"text":"x","conversation_id":123})", sdk), 400,
                "invalid_argument");
    ExpectError(Post(http, "/v1/sdk/messages", R"({"text":"x","customer":"me"})", ApiKey(tenant.publishable_key)),
                400, "invalid_argument");
    ExpectError(Post(http, "/v1/sdk/sessions", R"({"customer":{"name":7}})", ApiKey(tenant.publishable_key)), 400,
                "invalid_argument");

    // Query parameters.
    for (const char* query : {"?limit=abc", "?limit=0", "?limit=100000", "?after_seq=-1", "?after_seq=1e3",
                                     "?after_seq=1&before_seq=5", "?before_seq=x"}) {
      INFO("query: " << query);
      ExpectError(http.Request("GET", messages + query, {}, owner), 400, "invalid_argument");
    }
    ExpectError(http.Request("GET", "/v1/apps/" + tenant.app_id + "/conversations?status=bogus", {}, owner), 400,
                "invalid_argument");
    ExpectError(http.Request("GET", "/v1/apps/" + tenant.app_id + "/conversations?type=bogus", {}, owner), 400,
                "invalid_argument");
  }

  SECTION("invalid UTF-8 inside JSON strings") {
    const std::vector<std::string> invalid = {
        std::string("{\"text\":\"bad \xff\xfe bytes\"}"),
        std::string("{\"text\":\"truncated \xc3\"}"),
        std::string("{\"text\":\"overlong \xc0\xaf\"}"),
        std::string("{\"text\":\"surrogate \xed\xa0\x80\"}"),
        std::string(R"({"text":"lone surrogate escape \ud800"})"),
        std::string("{\"text\":\"ok\",\"metadata\":{\"k\xff\":1}}"),
    };
    for (const std::string& body : invalid) {
      INFO("body bytes: " << body);
      ExpectError(Post(http, messages, body, owner), 400, "invalid_argument");
    }
    const std::string truncated_name =
        std::string("{\"email\":\"u@x.co\",\"password\":\"long enough pw\",\"name\":\"\xe2\x82\"}");
    ExpectError(Post(http, "/v1/auth/register", truncated_name, json_only), 400, "invalid_argument");
    // Nothing of that was stored: the conversation still holds only the first message.
    HttpResult history = http.Request("GET", messages, {}, owner);
    REQUIRE(history.status == 200);
    CHECK(BodyJson(history)["data"].size() == 1);
  }

  SECTION("bodies over --max-body get 413 too_large; just under the limit is fine") {
    const std::string big_text = Repeat('a', 4096 - 20);
    const std::string big_body = Json{{"text", big_text}}.dump();
    const std::string head = "POST " + messages + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                             tenant.token + "\r\nContent-Type: application/json\r\n";
    // Content-Length over the limit.
    const std::string length = "Content-Length: " + std::to_string(big_body.size()) + "\r\n\r\n";
    ExpectError(http.SendRaw(head + length + big_body), 413, "too_large");
    // The same through the keep-alive client.
    ExpectError(http.Request("POST", messages, big_body, owner), 413, "too_large");
    // Chunked, with each chunk small but the total over the limit.
    std::string chunked = head + "Transfer-Encoding: chunked\r\n\r\n";
    for (std::size_t offset = 0; offset < big_body.size(); offset += 500) {
      const std::string piece = big_body.substr(offset, 500);
      char size[16];
      std::snprintf(size, sizeof(size), "%zx", piece.size());
      chunked += std::string(size) + "\r\n" + piece + "\r\n";
    }
    chunked += "0\r\n\r\n";
    ExpectError(http.SendRaw(chunked), 413, "too_large");
    // A huge declared length is refused from the headers alone.
    ExpectError(http.SendRaw(head + "Content-Length: 99999999999\r\n\r\n"), 413, "too_large");

    // Under the limit: accepted.
    HttpResult fits = http.Request("POST", messages, Json{{"text", Repeat('b', 1800)}}.dump(), owner);
    INFO(Describe(fits));
    CHECK(fits.status == 201);
  }

  SECTION("garbage on the wire gets 400, oversized headers 431") {
    const std::vector<std::string> garbage = {
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + Repeat('\0', 32),  // a TLS ClientHello
        "GARBAGE\r\n\r\n",
        "GET\r\n\r\n",
        "GET /health\r\n\r\n",
        "GET /health HTTP/1.1 extra\r\n\r\n",
        "GET /health HTTX/1.1\r\n\r\n",
        "G(T /health HTTP/1.1\r\n\r\n",
        "GET /he\x7fllo HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET health HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /health HTTP/1.1\r\nNoColonHere\r\n\r\n",
        "GET /health HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET /health HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n",
        "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
    };
    for (const std::string& raw : garbage) {
      INFO("raw request: " << Json(raw).dump(-1, ' ', true, Json::error_handler_t::replace));
      ExpectError(http.SendRaw(raw), 400);
    }

    std::string big_header = "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + Repeat('h', 20 * 1024) + "\r\n\r\n";
    ExpectError(http.SendRaw(big_header), 431);
    std::string many_headers = "GET /health HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 150; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";
    many_headers += "\r\n";
    ExpectError(http.SendRaw(many_headers), 431);
    std::string long_target = "GET /" + Repeat('p', 20 * 1024) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ExpectError(http.SendRaw(long_target), 431);
  }

  SECTION("unknown routes get 404, wrong methods 405, malformed ids 404") {
    ExpectError(http.Request("GET", "/v1/nope", {}, owner), 404, "not_found");
    ExpectError(http.Request("GET", "/nope"), 404, "not_found");
    ExpectError(http.Request("GET", "/v2/apps", {}, owner), 404, "not_found");
    ExpectError(http.Request("GET", "/v1/apps/" + tenant.app_id + "/a/b/c/d/e/f", {}, owner), 404, "not_found");
    ExpectError(http.Request("POST", "/v1/nope", "{}", owner), 404, "not_found");
    ExpectError(http.Request("GET", "/v1/conversations/not-an-id", {}, owner), 404, "not_found");
    ExpectError(http.Request("GET", "/v1/conversations/conv_doesnotexist", {}, owner), 404, "not_found");
    ExpectError(http.Request("GET", "/v1/apps/app_doesnotexist", {}, owner), 404, "not_found");
    ExpectError(http.Request("GET", "/v1/apps/%2e%2e/conversations", {}, owner), 404, "not_found");
    HttpResult wrong_method = http.Request("DELETE", "/v1/auth/register");
    ExpectError(wrong_method, 405);
    CHECK(!wrong_method.Header("allow").empty());
  }

  ExpectHealthy(server.port());
  CHECK(server.running());
}

// --- HTTP: credentials and tenants ---------------------------------------------------------------------------

TEST_CASE("bad input: forged or expired or revoked tokens get 401 and other tenants' ids get 404",
          "[integration]") {
  ServerProcess server;
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant a = CreateTenant(http, "alice@example.com", "Alice Co");
  const Tenant b = CreateTenant(http, "bob@example.com", "Bob Co");
  const CustomerSession a_customer = StartConversation(http, a, "a private message for Alice Co");
  const CustomerSession b_customer = StartConversation(http, b, "a message for Bob Co");

  SECTION("forged tokens") {
    const auto get_apps = [&](const std::string& token) {
      return http.Request("GET", "/v1/apps", {}, {{"Authorization", "Bearer " + token}});
    };
    const std::string real = a.token;
    const std::size_t dot1 = real.find('.');
    const std::size_t dot2 = real.rfind('.');
    REQUIRE(dot1 != std::string::npos);
    REQUIRE(dot2 != dot1);
    const std::string real_header = real.substr(0, dot1);
    const std::string real_payload = real.substr(dot1 + 1, dot2 - dot1 - 1);
    const std::string real_signature = real.substr(dot2 + 1);

    // Positive control: a token signed here with the server's secret is accepted, so the HMAC above is
    // right and the refusals below are about what they claim to test.
    {
      HttpResult accepted = get_apps(SignToken(kHs256Header, AccountClaims(a.account_id, NowSeconds() + 600),
                                               ServerProcess::kJwtSecret));
      INFO(Describe(accepted));
      REQUIRE(accepted.status == 200);
      REQUIRE(BodyJson(accepted)["data"].size() == 1);
      CHECK(BodyJson(accepted)["data"][0].value("id", "") == a.app_id);
    }

    const Json valid_claims = AccountClaims(a.account_id, NowSeconds() + 600);
    std::vector<std::pair<std::string, std::string>> forged = {
        {"garbage", "not-a-token"},
        {"two segments", real_header + "." + real_payload},
        {"four segments", real + ".x"},
        {"empty signature", real_header + "." + real_payload + "."},
        {"bad signature (other secret)", SignToken(kHs256Header, valid_claims, "another-secret-0123456789abcdef")},
        {"payload swapped to another account under the original signature",
         real_header + "." + Base64Url(AccountClaims(b.account_id, NowSeconds() + 600).dump()) + "." +
             real_signature},
        {"alg none, no signature",
         Base64Url(Json{{"alg", "none"}, {"typ", "JWT"}}.dump()) + "." + real_payload + "."},
        {"alg none, original signature",
         Base64Url(Json{{"alg", "none"}, {"typ", "JWT"}}.dump()) + "." + real_payload + "." + real_signature},
        {"alg none, signed anyway", SignToken(Json{{"alg", "none"}}, valid_claims, ServerProcess::kJwtSecret)},
        {"alg hs256 (case)", SignToken(Json{{"alg", "hs256"}}, valid_claims, ServerProcess::kJwtSecret)},
        {"alg HS512 header", SignToken(Json{{"alg", "HS512"}}, valid_claims, ServerProcess::kJwtSecret)},
        {"expired",
         SignToken(kHs256Header, AccountClaims(a.account_id, NowSeconds() - 60), ServerProcess::kJwtSecret)},
        {"no exp", SignToken(kHs256Header, Json{{"sub", a.account_id}, {"knd", "account"}, {"jti", "x"}},
                             ServerProcess::kJwtSecret)},
        {"unknown account", SignToken(kHs256Header, AccountClaims("acc_doesnotexist", NowSeconds() + 600),
                                      ServerProcess::kJwtSecret)},
        {"over 8 KiB", Repeat('A', 5000) + "." + Repeat('B', 5000) + "." + Repeat('C', 43)},
    };
    for (const auto& [what, token] : forged) {
      INFO("token: " << what);
      HttpResult refused = get_apps(token);
      ExpectError(refused, 401, "unauthenticated");
      CHECK(refused.Header("www-authenticate").find("Bearer") != std::string::npos);
    }
    ExpectError(http.Request("GET", "/v1/apps"), 401, "unauthenticated");
    ExpectError(http.Request("GET", "/v1/apps", {}, {{"Authorization", "Basic dXNlcjpwYXNz"}}), 401,
                "unauthenticated");
    ExpectError(http.Request("GET", "/v1/apps", {}, {{"X-Authorization-Key", "nope"}}), 401, "unauthenticated");
    for (const char* key : {"sk_nope", "pk_nope", "zz_nope", "sk_"}) {
      INFO("api key: " << key);
      ExpectError(http.Request("GET", "/v1/sdk/config", {}, {{"X-API-Key", key}}), 401, "unauthenticated");
    }
    // A customer's session token with another app's publishable key.
    ExpectError(http.Request("GET", "/v1/sdk/conversations/" + a_customer.conversation_id + "/messages", {},
                             ApiKey(b.publishable_key, a_customer.session_token)),
                401, "unauthenticated");
  }

  SECTION("logout revokes the token") {
    HttpClient other(server.port());
    const Json credentials = {{"email", "alice@example.com"}, {"password", "correct horse battery"}};
    HttpResult login =
        other.Request("POST", "/v1/auth/login", credentials.dump(), {{"Content-Type", "application/json"}});
    INFO(Describe(login));
    REQUIRE(login.status == 200);
    const std::string token = BodyJson(login).value("token", "");
    REQUIRE(other.Request("GET", "/v1/auth/me", {}, Bearer(token)).status == 200);
    REQUIRE(other.Request("POST", "/v1/auth/logout", {}, Bearer(token)).status == 204);
    ExpectError(other.Request("GET", "/v1/auth/me", {}, Bearer(token)), 401, "unauthenticated");
    // The other token of the same account is unaffected.
    CHECK(other.Request("GET", "/v1/auth/me", {}, Bearer(a.token)).status == 200);
    // Wrong password.
    ExpectError(other.Request("POST", "/v1/auth/login",
                              Json{{"email", "alice@example.com"}, {"password", "wrong horse battery"}}.dump(),
                              {{"Content-Type", "application/json"}}),
                401, "unauthenticated");
  }

  SECTION("another tenant's ids are indistinguishable from missing ones") {
    const HeaderList as_b = Bearer(b.token);
    const std::string conv = "/v1/conversations/" + a_customer.conversation_id;
    const std::string app = "/v1/apps/" + a.app_id;
    struct Probe {
      const char* method;
      std::string path;
      std::string body;
    };
    const std::vector<Probe> probes = {
        {"GET", app, ""},
        {"PATCH", app, R"({"name":"pwned"})"},
        {"DELETE", app, ""},
        {"POST", app + "/keys/rotate", R"({"kind":"secret"})"},
        {"GET", app + "/conversations", ""},
        {"GET", conv, ""},
        {"PATCH", conv, R"({"status":"resolved"})"},
        {"GET", conv + "/messages", ""},
        {"POST", conv + "/messages", R"({"text":"injected"})"},
        {"POST", conv + "/read", R"({"seq":1})"},
        {"POST", conv + "/typing", R"({"state":"start"})"},
    };
    for (const Probe& probe : probes) {
      INFO(probe.method << " " << probe.path << " as the other account");
      ExpectError(http.Request(probe.method, probe.path, probe.body, as_b), 404, "not_found");
    }
    // The other app's secret key.
    for (const Probe& probe : probes) {
      if (probe.path.rfind(conv, 0) != 0) continue;
      INFO(probe.method << " " << probe.path << " with the other app's secret key");
      ExpectError(http.Request(probe.method, probe.path, probe.body,
                               {{"X-API-Key", b.secret_key}, {"Content-Type", "application/json"}}),
                  404, "not_found");
    }
    // The other app's customer.
    const HeaderList b_sdk = ApiKey(b.publishable_key, b_customer.session_token);
    const std::string sdk_conv = "/v1/sdk/conversations/" + a_customer.conversation_id;
    const std::string injected = Json{{"text", "injected"}, {"conversation_id", a_customer.conversation_id}}.dump();
    ExpectError(http.Request("GET", sdk_conv, {}, b_sdk), 404, "not_found");
    ExpectError(http.Request("GET", sdk_conv + "/messages", {}, b_sdk), 404, "not_found");
    ExpectError(http.Request("POST", sdk_conv + "/read", R"({"seq":1})", b_sdk), 404, "not_found");
    ExpectError(http.Request("POST", "/v1/sdk/messages", injected, b_sdk), 404, "not_found");
    // Another customer of the SAME app cannot read someone else's conversation either.
    const CustomerSession a_other = StartConversation(http, a, "another customer of Alice Co");
    const HeaderList a_other_sdk = ApiKey(a.publishable_key, a_other.session_token);
    ExpectError(http.Request("GET", sdk_conv + "/messages", {}, a_other_sdk), 404, "not_found");
    ExpectError(http.Request("POST", "/v1/sdk/messages", injected, a_other_sdk), 404, "not_found");

    // Nothing changed on Alice's side.
    HttpResult history = http.Request("GET", conv + "/messages", {}, Bearer(a.token));
    REQUIRE(history.status == 200);
    CHECK(BodyJson(history)["data"].size() == 1);
    HttpResult conversation = http.Request("GET", conv, {}, Bearer(a.token));
    REQUIRE(conversation.status == 200);
    CHECK(BodyJson(conversation).value("status", "") == "open");
    CHECK(BodyJson(conversation).value("unread_count", -1) == 1);
    HttpResult own_app = http.Request("GET", app, {}, Bearer(a.token));
    REQUIRE(own_app.status == 200);
    CHECK(BodyJson(own_app).value("name", "") == "Alice Co");
    CHECK(http.Request("GET", "/v1/conversations/" + a_customer.conversation_id + "/messages", {},
                       {{"X-API-Key", a.secret_key}})
              .status == 200);  // the secret key was not rotated
  }

  ExpectHealthy(server.port());
}

// --- WebSocket ----------------------------------------------------------------------------------------------

TEST_CASE("bad input: WebSocket junk frames and oversized or unmasked frames and missing credentials",
          "[integration]") {
  ServerProcess server;
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant a = CreateTenant(http, "ws-alice@example.com");
  const Tenant b = CreateTenant(http, "ws-bob@example.com");
  const CustomerSession b_customer = StartConversation(http, b, "bob's customer");

  const auto connect_owner = [&](WsClient& client) {
    INFO(client.handshake_body());
    REQUIRE(client.Connect(server.port(), "/v1/ws", {{"Authorization", "Bearer " + a.token}}));
    auto hello = ReceiveJson(client);
    REQUIRE(hello.has_value());
    REQUIRE(IsType(*hello, "hello"));
  };

  SECTION("handshakes without valid credentials are refused with JSON errors") {
    struct Attempt {
      const char* what;
      std::string target;
      HeaderList headers;
      int status;
    };
    const std::vector<Attempt> attempts = {
        {"no credentials", "/v1/ws", {}, 401},
        {"garbage token", "/v1/ws?token=garbage", {}, 401},
        {"garbage bearer", "/v1/ws", {{"Authorization", "Bearer garbage"}}, 401},
        {"expired token", "/v1/ws?token=" + SignToken(kHs256Header, AccountClaims(a.account_id, NowSeconds() - 60),
                                                       ServerProcess::kJwtSecret),
         {}, 401},
        {"unknown api key", "/v1/ws", {{"X-API-Key", "sk_nope"}}, 401},
        {"publishable key alone", "/v1/ws", {{"X-API-Key", a.publishable_key}}, 403},
    };
    for (const Attempt& attempt : attempts) {
      INFO(attempt.what);
      WsClient client;
      CHECK_FALSE(client.Connect(server.port(), attempt.target, attempt.headers));
      CHECK(client.handshake_status() == attempt.status);
      const Json body = Json::parse(client.handshake_body(), nullptr, false);
      INFO("body: " << client.handshake_body());
      REQUIRE(body.is_object());
      REQUIRE(body["error"].is_object());
      CHECK(body["error"]["code"].is_string());
      CHECK(body["error"]["request_id"].is_string());
    }
    // A plain GET on the WebSocket path (no upgrade) is not a 5xx either.
    HttpResult plain = http.Request("GET", "/v1/ws", {}, Bearer(a.token));
    INFO(Describe(plain));
    CHECK(plain.status >= 400);
    CHECK(plain.status < 500);
    // A broken handshake (bad key) on an otherwise authenticated request.
    HttpResult broken = http.SendRaw(
        "GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer " +
        a.token + "\r\n\r\n");
    ExpectError(broken, 400);
  }

  SECTION("junk text frames get error frames, with the frame's id when it has one") {
    WsClient client;
    connect_owner(client);

    client.SendText("this is not JSON");
    auto error = ReceiveJson(client);
    REQUIRE(error.has_value());
    INFO("reply: " << error->dump());
    CHECK(IsType(*error, "error"));
    CHECK((*error)["data"].value("code", "") == "invalid_argument");
    CHECK((*error)["data"]["message"].is_string());

    client.SendText("[1,2,3]");
    error = ReceiveJson(client);
    REQUIRE(error.has_value());
    CHECK(IsType(*error, "error"));

    client.SendText(R"({"type":"no.such.thing","id":"u-1","data":{}})");
    error = ReceiveJson(client);
    REQUIRE(error.has_value());
    INFO("reply: " << error->dump());
    CHECK(IsType(*error, "error"));
    CHECK((*error).value("id", Json()) == "u-1");
    CHECK((*error)["data"].value("code", "") == "invalid_argument");

    // Numeric ids are echoed as they are.
    client.SendText(R"({"type":"send","id":7,"data":{}})");
    error = ReceiveJson(client);
    REQUIRE(error.has_value());
    CHECK(IsType(*error, "error"));
    CHECK((*error).value("id", Json()) == 7);

    client.SendText(R"({"type":"subscribe","id":"d-1","data":"not an object"})");
    error = ReceiveJson(client);
    REQUIRE(error.has_value());
    CHECK(IsType(*error, "error"));
    CHECK((*error).value("id", Json()) == "d-1");

    client.SendText(R"({"type":42,"id":"t-1"})");
    error = ReceiveJson(client);
    REQUIRE(error.has_value());
    CHECK(IsType(*error, "error"));
    CHECK((*error).value("id", Json()) == "t-1");

    client.SendText(Json{{"type", "subscribe"},
                         {"id", "s-1"},
                         {"data", {{"conversation_id", "conv_x"}, {"after_seq", -5}}}}
                        .dump());
    error = ReceiveJson(client);
    REQUIRE(error.has_value());
    CHECK(IsType(*error, "error"));
    CHECK((*error).value("id", Json()) == "s-1");

    // Another tenant's conversation: not found, whether subscribing or sending.
    client.SendText(Json{{"type", "subscribe"},
                         {"id", "x-1"},
                         {"data", {{"conversation_id", b_customer.conversation_id}, {"after_seq", 0}}}}
                        .dump());
    error = ReceiveJson(client);
    REQUIRE(error.has_value());
    INFO("reply: " << error->dump());
    CHECK(IsType(*error, "error"));
    CHECK((*error).value("id", Json()) == "x-1");
    CHECK((*error)["data"].value("code", "") == "not_found");
    client.SendText(Json{{"type", "send"},
                         {"id", "x-2"},
                         {"data", {{"conversation_id", b_customer.conversation_id}, {"text", "injected"}}}}
                        .dump());
    error = ReceiveJson(client);
    REQUIRE(error.has_value());
    CHECK(IsType(*error, "error"));
    CHECK((*error).value("id", Json()) == "x-2");
    CHECK((*error)["data"].value("code", "") == "not_found");
    // Invalid UTF-8 in a text frame is a protocol matter: checked separately below.

    // Still connected and working.
    client.SendText(R"({"type":"ping","id":"p-1"})");
    auto pong = ReceiveJson(client);
    REQUIRE(pong.has_value());
    CHECK(IsType(*pong, "pong"));
    CHECK((*pong).value("id", Json()) == "p-1");
    CHECK_FALSE(client.closed());
    client.Close();

    HttpResult history = http.Request("GET", "/v1/conversations/" + b_customer.conversation_id + "/messages", {},
                                      Bearer(b.token));
    REQUIRE(history.status == 200);
    CHECK(BodyJson(history)["data"].size() == 1);
  }

  SECTION("a message over 64 KiB closes with 1009") {
    WsClient client;
    connect_owner(client);
    client.SendText(Json{{"type", "ping"}, {"id", Repeat('x', 70 * 1024)}}.dump());
    DrainFor(client, 5s);
    CHECK(client.closed());
    REQUIRE(client.close_code().has_value());
    CHECK(*client.close_code() == ws::close_code::kTooBig);
  }

  SECTION("an unmasked frame closes with 1002") {
    WsClient client;
    connect_owner(client);
    client.SendRaw(ws::EncodeFrame(ws::Opcode::kText, R"({"type":"ping","id":"unmasked"})"));
    std::vector<Json> before_close = DrainFor(client, 5s);
    for (const Json& frame : before_close) CHECK_FALSE(IsType(frame, "pong"));  // the frame was not acted on
    CHECK(client.closed());
    REQUIRE(client.close_code().has_value());
    CHECK(*client.close_code() == ws::close_code::kProtocolError);
  }

  SECTION("invalid UTF-8 in a text frame closes with 1007; a binary frame with 1003") {
    {
      WsClient client;
      connect_owner(client);
      client.SendText(std::string("{\"type\":\"ping\",\"id\":\"\xff\xfe\"}"));
      DrainFor(client, 5s);
      CHECK(client.closed());
      REQUIRE(client.close_code().has_value());
      CHECK(*client.close_code() == ws::close_code::kInvalidPayload);
    }
    {
      WsClient client;
      connect_owner(client);
      client.SendRaw(ws::EncodeMaskedFrame(ws::Opcode::kBinary, "\x01\x02\x03", 0x12345678u));
      DrainFor(client, 5s);
      CHECK(client.closed());
      REQUIRE(client.close_code().has_value());
      CHECK(*client.close_code() == ws::close_code::kUnsupported);
    }
  }

  // The server is fine, and new sockets still work.
  ExpectHealthy(server.port());
  WsClient again;
  connect_owner(again);
  again.Close();
}

}  // namespace
}  // namespace libchat::testing_support
