// The HTTP email providers (Mailgun, SendGrid, Postmark, Amazon SES), their
// shared outcome mapping, the SigV4 signer and ValidateEmailProviderConfig.
//
// Each provider sends through the real libcurl client to a FakeHttpServer on
// 127.0.0.1 (base_url points there), and the tests check what the real service
// requires of the request: endpoint, method, authentication, content type and
// body fields (parsed, not compared as text).
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "delivery/email/http_outcome.h"
#include "delivery/email/sigv4.h"
#include "libchat/providers/email.h"
#include "libchat/providers/http_client.h"
#include "support/fake_http_server.h"
#include "util/crypto.h"

using libchat::EmailMessage;
using libchat::EmailProvider;
using libchat::EmailProviderConfig;
using libchat::HttpClient;
using libchat::HttpRequest;
using libchat::HttpResponse;
using libchat::Result;
using libchat::SendOutcome;
using libchat::Status;
using libchat::StatusCode;
using libchat::testsupport::FakeHttpServer;
using Json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

// 2015-08-30T12:36:00Z, the time of AWS's SigV4 test suite.
const std::chrono::system_clock::time_point kSuiteTime{std::chrono::seconds(1440938160)};
constexpr char kSuiteKeyId[] = "AKIDEXAMPLE";
constexpr char kSuiteSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

// Non-ASCII in every field that carries text: must arrive byte for byte.
constexpr char kSubject[] = "Grüße — 你好 🎉";
constexpr char kText[] = "Привет, мир!\nSecond line & more = 100% «ok»";
constexpr char kHtml[] = "<p>Привет, <b>мир</b>! 🎉</p>";

std::shared_ptr<HttpClient> LoopbackClient() {
  libchat::CurlHttpClientOptions options;
  options.allowed_networks = {"127.0.0.0/8"};
  Result<std::shared_ptr<HttpClient>> client = libchat::NewCurlHttpClient(options);
  REQUIRE(client.ok());
  return *client;
}

std::shared_ptr<EmailProvider> MakeProvider(const EmailProviderConfig& config,
                                            std::shared_ptr<HttpClient> http = LoopbackClient()) {
  Result<std::shared_ptr<EmailProvider>> provider = libchat::NewEmailProvider(config, std::move(http));
  INFO(provider.status().ToString());
  REQUIRE(provider.ok());
  return *provider;
}

EmailMessage SampleMessage() {
  EmailMessage message;
  message.from = "Zoë Support <support@example.com>";
  message.to = "Jane Doe <jane@example.org>";
  message.reply_to = "replies@example.com";
  message.subject = kSubject;
  message.text = kText;
  message.html = kHtml;
  message.idempotency_key = "dlv_123";
  return message;
}

EmailProviderConfig Config(const std::string& type, std::map<std::string, std::string> settings) {
  EmailProviderConfig config;
  config.type = type;
  config.from = "Support <support@example.com>";
  config.settings = std::move(settings);
  return config;
}

EmailProviderConfig MailgunConfig(const std::string& base_url) {
  return Config("mailgun", {{"domain", "mg.example.com"}, {"api_key", "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"},
                            {"base_url", base_url}});
}
EmailProviderConfig SendGridConfig(const std::string& base_url) {
  return Config("sendgrid", {{"api_key", "SG.secret-key"}, {"base_url", base_url}});
}
EmailProviderConfig PostmarkConfig(const std::string& base_url) {
  return Config("postmark", {{"server_token", "pm-server-token"}, {"message_stream", "broadcast"},
                             {"base_url", base_url}});
}
EmailProviderConfig SesConfig(const std::string& base_url, const std::string& session_token = "") {
  EmailProviderConfig config = Config("ses", {{"region", "eu-west-1"}, {"access_key_id", "AKIAIOSFODNN7EXAMPLE"},
                                              {"secret_access_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
                                              {"base_url", base_url}});
  if (!session_token.empty()) config.settings["session_token"] = session_token;
  return config;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding, as a form-parsing server does it.
std::string FormDecode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && HexDigit(text[i + 1]) >= 0 && HexDigit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(text[i + 1]) * 16 + HexDigit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::multimap<std::string, std::string> ParseForm(const std::string& body) {
  std::multimap<std::string, std::string> fields;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    const std::string pair = body.substr(start, end - start);
    const std::size_t equals = pair.find('=');
    fields.emplace(FormDecode(pair.substr(0, equals)),
                   equals == std::string::npos ? "" : FormDecode(pair.substr(equals + 1)));
    start = end + 1;
  }
  return fields;
}

Json ParseJson(const std::string& body) {
  Json parsed = Json::parse(body, nullptr, false);
  INFO(body);
  REQUIRE(parsed.is_object());
  return parsed;
}

FakeHttpServer::Request OnlyRequest(const FakeHttpServer& server) {
  REQUIRE(server.WaitForRequests(1, std::chrono::seconds(5)));
  const std::vector<FakeHttpServer::Request> requests = server.requests();
  REQUIRE(requests.size() == 1);
  return requests.front();
}

// An HttpClient that records requests and answers with a canned result, for
// what a local server cannot show: default endpoints and client errors.
class CannedHttpClient final : public HttpClient {
 public:
  explicit CannedHttpClient(Result<HttpResponse> answer) : answer_(std::move(answer)) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    return answer_;
  }
  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  mutable std::mutex mu_;
  Result<HttpResponse> answer_;
  std::vector<HttpRequest> requests_;
};

HttpResponse CannedResponse(int status, std::string body = "{}") {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// ---- An independent SigV4 check, straight from AWS's description, on OpenSSL directly ----

std::string OpensslHex(const unsigned char* data, std::size_t size) {
  std::string out;
  char byte[3];
  for (std::size_t i = 0; i < size; ++i) {
    std::snprintf(byte, sizeof(byte), "%02x", data[i]);
    out += byte;
  }
  return out;
}

std::string OpensslSha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  REQUIRE(EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) == 1);
  return OpensslHex(digest, size);
}

std::string OpensslHmac(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  REQUIRE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
               reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &size) != nullptr);
  return std::string(reinterpret_cast<const char*>(mac), size);
}

// "k1=v1, k2=v2" after "AWS4-HMAC-SHA256 " into a map.
std::map<std::string, std::string> AuthorizationFields(const std::string& authorization) {
  const std::string prefix = "AWS4-HMAC-SHA256 ";
  REQUIRE(authorization.compare(0, prefix.size(), prefix) == 0);
  std::map<std::string, std::string> fields;
  std::size_t start = prefix.size();
  while (start < authorization.size()) {
    std::size_t end = authorization.find(", ", start);
    if (end == std::string::npos) end = authorization.size();
    const std::string part = authorization.substr(start, end - start);
    const std::size_t equals = part.find('=');
    REQUIRE(equals != std::string::npos);
    fields[part.substr(0, equals)] = part.substr(equals + 1);
    start = end + 2;
  }
  return fields;
}

// Recomputes the signature of a received request (no query, plain path) from
// the headers it names in SignedHeaders.
std::string RecomputeSignature(const FakeHttpServer::Request& request, const std::string& signed_headers,
                               const std::string& secret, const std::string& date, const std::string& region,
                               const std::string& service) {
  std::string canonical_headers;
  std::size_t start = 0;
  while (start <= signed_headers.size()) {
    std::size_t end = signed_headers.find(';', start);
    if (end == std::string::npos) end = signed_headers.size();
    const std::string name = signed_headers.substr(start, end - start);
    canonical_headers += name + ":" + request.Header(name) + "\n";
    start = end + 1;
  }
  const std::string canonical_request = request.method + "\n" + request.target + "\n" + "\n" + canonical_headers +
                                        "\n" + signed_headers + "\n" + OpensslSha256Hex(request.body);
  const std::string amz_date = request.Header("x-amz-date");
  const std::string scope = date + "/" + region + "/" + service + "/aws4_request";
  const std::string string_to_sign =
      "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + OpensslSha256Hex(canonical_request);
  std::string key = OpensslHmac("AWS4" + secret, date);
  key = OpensslHmac(key, region);
  key = OpensslHmac(key, service);
  key = OpensslHmac(key, "aws4_request");
  const std::string signature = OpensslHmac(key, string_to_sign);
  return OpensslHex(reinterpret_cast<const unsigned char*>(signature.data()), signature.size());
}

}  // namespace

// ============================== SigV4 ==============================

TEST_CASE("SigV4 reproduces the AWS test suite get-vanilla signature", "[email_api][sigv4]") {
  libchat::internal::SigV4Input input;
  input.method = "GET";
  input.url = "https://example.amazonaws.com/";
  input.region = "us-east-1";
  input.service = "service";
  Result<libchat::internal::SigV4Signature> signed_request =
      libchat::internal::SignAwsV4(input, {kSuiteKeyId, kSuiteSecret, ""}, kSuiteTime);
  REQUIRE(signed_request.ok());
  CHECK(signed_request->canonical_request ==
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(signed_request->authorization ==
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  const std::vector<std::pair<std::string, std::string>> expected_headers = {
      {"host", "example.amazonaws.com"},
      {"x-amz-date", "20150830T123600Z"},
      {"authorization", signed_request->authorization}};
  CHECK(signed_request->headers == expected_headers);
}

TEST_CASE("SigV4 reproduces the post-vanilla, query-order and session-token vectors", "[email_api][sigv4]") {
  libchat::internal::SigV4Input input;
  input.url = "https://example.amazonaws.com/";
  input.region = "us-east-1";
  input.service = "service";
  libchat::internal::AwsCredentials credentials{kSuiteKeyId, kSuiteSecret, ""};

  SECTION("post-vanilla") {
    input.method = "POST";
    auto signed_request = libchat::internal::SignAwsV4(input, credentials, kSuiteTime);
    REQUIRE(signed_request.ok());
    CHECK(signed_request->signature == "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
  }
  SECTION("get-vanilla-query-order-key-case: parameters are sorted before signing") {
    input.method = "GET";
    input.url = "https://example.amazonaws.com/?Param2=value2&Param1=value1";
    auto signed_request = libchat::internal::SignAwsV4(input, credentials, kSuiteTime);
    REQUIRE(signed_request.ok());
    CHECK(signed_request->signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  }
  SECTION("get-vanilla-with-session-token: the token is sent and signed") {
    input.method = "GET";
    credentials.session_token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    auto signed_request = libchat::internal::SignAwsV4(input, credentials, kSuiteTime);
    REQUIRE(signed_request.ok());
    CHECK(signed_request->authorization ==
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
          "SignedHeaders=host;x-amz-date;x-amz-security-token, "
          "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
    bool token_sent = false;
    for (const auto& [name, value] : signed_request->headers) {
      if (name == "x-amz-security-token") token_sent = value == credentials.session_token;
    }
    CHECK(token_sent);
  }
}

TEST_CASE("SigV4 reproduces the IAM ListUsers example of the AWS documentation", "[email_api][sigv4]") {
  libchat::internal::SigV4Input input;
  input.method = "GET";
  input.url = "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08";
  input.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  input.region = "us-east-1";
  input.service = "iam";
  auto signed_request = libchat::internal::SignAwsV4(input, {kSuiteKeyId, kSuiteSecret, ""}, kSuiteTime);
  REQUIRE(signed_request.ok());
  CHECK(libchat::internal::HexEncode(libchat::internal::Sha256(signed_request->canonical_request)) ==
        "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  CHECK(libchat::internal::HexEncode(libchat::internal::AwsV4SigningKey(kSuiteSecret, "20150830", "us-east-1",
                                                                        "iam")) ==
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  CHECK(signed_request->string_to_sign ==
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
        "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  CHECK(signed_request->authorization ==
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST_CASE("SigV4 signs the payload hash header and the port of a non-default host", "[email_api][sigv4]") {
  libchat::internal::SigV4Input input;
  input.method = "POST";
  input.url = "http://127.0.0.1:8080/v2/email/outbound-emails";
  input.body = R"({"a":1})";
  input.region = "eu-west-1";
  input.service = "ses";
  input.content_sha256_header = true;
  auto signed_request = libchat::internal::SignAwsV4(input, {kSuiteKeyId, kSuiteSecret, ""}, kSuiteTime);
  REQUIRE(signed_request.ok());
  CHECK(signed_request->signed_headers == "host;x-amz-content-sha256;x-amz-date");
  CHECK(signed_request->headers.front() == std::make_pair(std::string("host"), std::string("127.0.0.1:8080")));
  CHECK(signed_request->canonical_request.find("x-amz-content-sha256:" +
                                               OpensslSha256Hex(R"({"a":1})")) != std::string::npos);

  // Default ports are left out, as HTTP clients leave them out of Host.
  input.url = "https://email.eu-west-1.amazonaws.com:443/v2/email/outbound-emails";
  signed_request = libchat::internal::SignAwsV4(input, {kSuiteKeyId, kSuiteSecret, ""}, kSuiteTime);
  REQUIRE(signed_request.ok());
  CHECK(signed_request->headers.front().second == "email.eu-west-1.amazonaws.com");
}

TEST_CASE("SigV4 refuses bad URLs, owned headers and missing credentials", "[email_api][sigv4]") {
  libchat::internal::SigV4Input input;
  input.method = "POST";
  input.url = "https://email.us-east-1.amazonaws.com/v2/email/outbound-emails";
  input.region = "us-east-1";
  input.service = "ses";
  const libchat::internal::AwsCredentials credentials{kSuiteKeyId, kSuiteSecret, ""};
  CHECK(libchat::internal::SignAwsV4(input, credentials, kSuiteTime).ok());

  for (const char* url : {"email.us-east-1.amazonaws.com/v2", "ftp://example.com/", "https:///path",
                          "https://user@example.com/"}) {
    input.url = url;
    INFO(url);
    CHECK(libchat::internal::SignAwsV4(input, credentials, kSuiteTime).status().code() ==
          StatusCode::kInvalidArgument);
  }
  input.url = "https://email.us-east-1.amazonaws.com/";
  for (const char* name : {"Host", "Authorization", "X-Amz-Date"}) {
    input.headers = {{name, "x"}};
    INFO(name);
    CHECK(libchat::internal::SignAwsV4(input, credentials, kSuiteTime).status().code() ==
          StatusCode::kInvalidArgument);
  }
  input.headers.clear();
  CHECK(libchat::internal::SignAwsV4(input, {kSuiteKeyId, "", ""}, kSuiteTime).status().code() ==
        StatusCode::kInvalidArgument);
}

// ============================== Outcome mapping ==============================

TEST_CASE("Retry-After is read as delta seconds or as any HTTP-date form", "[email_api]") {
  using libchat::internal::ParseRetryAfter;
  // Sun, 06 Nov 1994 08:49:37 GMT
  const std::chrono::system_clock::time_point date{std::chrono::seconds(784111777)};
  CHECK(ParseRetryAfter("120", date) == milliseconds(120000));
  CHECK(ParseRetryAfter(" 0 ", date) == milliseconds(0));
  const auto before = date - std::chrono::seconds(30);
  CHECK(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", before) == milliseconds(30000));
  CHECK(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", before) == milliseconds(30000));
  CHECK(ParseRetryAfter("Sun Nov  6 08:49:37 1994", before) == milliseconds(30000));
  // A date already past means "now".
  CHECK(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", date + std::chrono::hours(1)) == milliseconds(0));
  // Absurd waits are capped instead of overflowing.
  CHECK(ParseRetryAfter("99999999999999999999999", date) ==
        std::chrono::duration_cast<milliseconds>(libchat::internal::kMaxRetryAfter));
  for (const char* bad : {"", "soon", "-5", "1.5", "Sun, 06 Nov 1994 08:49:37 PST", "Sun, 32 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT trailing"}) {
    INFO(bad);
    CHECK_FALSE(ParseRetryAfter(bad, date).has_value());
  }
}

TEST_CASE("HTTP client errors retry, except a refused address or a malformed URL", "[email_api]") {
  const EmailProviderConfig config = SendGridConfig("https://api.sendgrid.example");
  struct Case {
    Status error;
    SendOutcome::Kind kind;
  };
  for (const Case& c : {Case{libchat::UnavailableError("connection refused"), SendOutcome::Kind::kRetry},
                        Case{Status(StatusCode::kUnavailable, "timed out"), SendOutcome::Kind::kRetry},
                        Case{libchat::PermissionDeniedError("address not allowed"), SendOutcome::Kind::kPermanent},
                        Case{libchat::InvalidArgumentError("bad url"), SendOutcome::Kind::kPermanent}}) {
    auto canned = std::make_shared<CannedHttpClient>(c.error);
    const SendOutcome outcome = MakeProvider(config, canned)->Send(SampleMessage());
    INFO(c.error.ToString());
    CHECK(outcome.kind == c.kind);
    CHECK(outcome.status_code == 0);
    CHECK(outcome.error.find("sendgrid: ") == 0);
    CHECK(outcome.error.find(c.error.message()) != std::string::npos);
  }
}

TEST_CASE("An HttpClient that throws yields a retry, never an exception", "[email_api]") {
  class ThrowingHttpClient final : public HttpClient {
   public:
    Result<HttpResponse> Send(const HttpRequest&) override { throw std::runtime_error("host client exploded"); }
  };
  const auto http = std::make_shared<ThrowingHttpClient>();
  for (const EmailProviderConfig& config :
       {MailgunConfig("https://a.example"), SendGridConfig("https://a.example"), PostmarkConfig("https://a.example"),
        SesConfig("https://a.example")}) {
    INFO(config.type);
    SendOutcome outcome;
    REQUIRE_NOTHROW(outcome = MakeProvider(config, http)->Send(SampleMessage()));
    CHECK(outcome.kind == SendOutcome::Kind::kRetry);
    CHECK(outcome.error == config.type + ": send failed: host client exploded");
  }
}

TEST_CASE("A message with a bad address or no text fails permanently without a request", "[email_api]") {
  auto canned = std::make_shared<CannedHttpClient>(CannedResponse(202));
  const auto provider = MakeProvider(MailgunConfig("https://api.mailgun.example"), canned);
  for (const char* to : {"", "not an address", "jane@", "jane@example.org\r\nBcc: spy@example.net",
                         "a@b.c, c@d.e"}) {
    EmailMessage message = SampleMessage();
    message.to = to;
    INFO(to);
    const SendOutcome outcome = provider->Send(message);
    CHECK(outcome.kind == SendOutcome::Kind::kPermanent);
    CHECK(outcome.error.find("to") != std::string::npos);
  }
  EmailMessage no_text = SampleMessage();
  no_text.text.clear();
  CHECK(provider->Send(no_text).kind == SendOutcome::Kind::kPermanent);
  CHECK(canned->requests().empty());

  // The configured sender stands in when the message names none.
  EmailMessage no_from = SampleMessage();
  no_from.from.clear();
  CHECK(provider->Send(no_from).kind == SendOutcome::Kind::kDelivered);
  REQUIRE(canned->requests().size() == 1);
  const auto form = ParseForm(canned->requests()[0].body);
  CHECK(form.find("from")->second == "Support <support@example.com>");
}

TEST_CASE("Providers use the services' real endpoints by default", "[email_api]") {
  struct Case {
    EmailProviderConfig config;
    std::string url;
  };
  const std::vector<Case> cases = {
      {Config("mailgun", {{"domain", "mg.example.com"}, {"api_key", "k"}}),
       "https://api.mailgun.net/v3/mg.example.com/messages"},
      {Config("mailgun", {{"domain", "mg.example.com"}, {"api_key", "k"}, {"region", "eu"}}),
       "https://api.eu.mailgun.net/v3/mg.example.com/messages"},
      {Config("sendgrid", {{"api_key", "k"}}), "https://api.sendgrid.com/v3/mail/send"},
      {Config("postmark", {{"server_token", "t"}}), "https://api.postmarkapp.com/email"},
      {Config("ses", {{"region", "ap-southeast-2"}, {"access_key_id", "AKIAIOSFODNN7EXAMPLE"},
                      {"secret_access_key", "s"}}),
       "https://email.ap-southeast-2.amazonaws.com/v2/email/outbound-emails"},
      {MailgunConfig("http://127.0.0.1:9/prefix/"), "http://127.0.0.1:9/prefix/v3/mg.example.com/messages"},
  };
  for (const Case& c : cases) {
    auto canned = std::make_shared<CannedHttpClient>(CannedResponse(200));
    (void)MakeProvider(c.config, canned)->Send(SampleMessage());
    REQUIRE(canned->requests().size() == 1);
    CHECK(canned->requests()[0].url == c.url);
    CHECK(canned->requests()[0].method == "POST");
    // Email APIs are public services: the SSRF guard stays on.
    CHECK(canned->requests()[0].public_addresses_only);
  }
}

// ============================== Mailgun ==============================

TEST_CASE("Mailgun: form POST with Basic auth, every field intact, id returned", "[email_api]") {
  FakeHttpServer server;
  server.Enqueue({200, {{"Content-Type", "application/json"}},
                  R"({"id":"<20240101.1@mg.example.com>","message":"Queued. Thank you."})"});
  const SendOutcome outcome = MakeProvider(MailgunConfig(server.url()))->Send(SampleMessage());
  CHECK(outcome.kind == SendOutcome::Kind::kDelivered);
  CHECK(outcome.status_code == 200);
  CHECK(outcome.provider_message_id == "<20240101.1@mg.example.com>");

  const FakeHttpServer::Request request = OnlyRequest(server);
  CHECK(request.method == "POST");
  CHECK(request.target == "/v3/mg.example.com/messages");
  CHECK(request.Header("authorization") ==
        "Basic " + libchat::internal::Base64Encode("api:key-3ax6xnjp29jd6fds4gc373sgvjxteol0"));
  CHECK(request.Header("content-type") == "application/x-www-form-urlencoded");
  const auto form = ParseForm(request.body);
  const std::multimap<std::string, std::string> expected = {
      {"from", "Zoë Support <support@example.com>"},
      {"to", "Jane Doe <jane@example.org>"},
      {"subject", kSubject},
      {"text", kText},
      {"html", kHtml},
      {"h:Reply-To", "replies@example.com"},
      {"v:libchat-delivery", "dlv_123"},
  };
  CHECK(form == expected);
}

TEST_CASE("Mailgun: a display name with specials is quoted and no html means no html field", "[email_api]") {
  FakeHttpServer server;
  server.Enqueue({200, {}, R"({"id":"<x@mg>"})"});
  EmailMessage message = SampleMessage();
  message.to = "\"Doe, Jane\" <jane@example.org>";
  message.html.clear();
  message.reply_to.clear();
  CHECK(MakeProvider(MailgunConfig(server.url()))->Send(message).kind == SendOutcome::Kind::kDelivered);
  const auto form = ParseForm(OnlyRequest(server).body);
  CHECK(form.find("to")->second == "\"Doe, Jane\" <jane@example.org>");
  CHECK(form.count("html") == 0);
  CHECK(form.count("h:Reply-To") == 0);
}

// ============================== SendGrid ==============================

TEST_CASE("SendGrid: JSON mail/send with Bearer auth, 202 and X-Message-Id", "[email_api]") {
  FakeHttpServer server;
  server.Enqueue({202, {{"X-Message-Id", "sg-msg-42"}}, ""});
  const SendOutcome outcome = MakeProvider(SendGridConfig(server.url()))->Send(SampleMessage());
  CHECK(outcome.kind == SendOutcome::Kind::kDelivered);
  CHECK(outcome.status_code == 202);
  CHECK(outcome.provider_message_id == "sg-msg-42");

  const FakeHttpServer::Request request = OnlyRequest(server);
  CHECK(request.method == "POST");
  CHECK(request.target == "/v3/mail/send");
  CHECK(request.Header("authorization") == "Bearer SG.secret-key");
  CHECK(request.Header("content-type") == "application/json");
  const Json body = ParseJson(request.body);
  CHECK(body["personalizations"] ==
        Json::parse(R"([{"to":[{"email":"jane@example.org","name":"Jane Doe"}]}])"));
  CHECK(body["from"] == Json({{"email", "support@example.com"}, {"name", "Zoë Support"}}));
  CHECK(body["reply_to"] == Json({{"email", "replies@example.com"}}));
  CHECK(body["subject"] == kSubject);
  // text/plain first, then text/html: SendGrid's required order.
  CHECK(body["content"] == Json::array({{{"type", "text/plain"}, {"value", kText}},
                                        {{"type", "text/html"}, {"value", kHtml}}}));
  CHECK(body["custom_args"]["libchat_delivery"] == "dlv_123");
}

// ============================== Postmark ==============================

TEST_CASE("Postmark: JSON /email with the server token header, MessageID returned", "[email_api]") {
  FakeHttpServer server;
  server.Enqueue({200, {{"Content-Type", "application/json"}},
                  R"({"To":"jane@example.org","SubmittedAt":"2024-01-01T00:00:00Z",)"
                  R"("MessageID":"b7bc2f4a-e38e-4336-af7d-e6c392c2f817","ErrorCode":0,"Message":"OK"})"});
  const SendOutcome outcome = MakeProvider(PostmarkConfig(server.url()))->Send(SampleMessage());
  CHECK(outcome.kind == SendOutcome::Kind::kDelivered);
  CHECK(outcome.provider_message_id == "b7bc2f4a-e38e-4336-af7d-e6c392c2f817");

  const FakeHttpServer::Request request = OnlyRequest(server);
  CHECK(request.method == "POST");
  CHECK(request.target == "/email");
  CHECK(request.Header("x-postmark-server-token") == "pm-server-token");
  CHECK(request.Header("accept") == "application/json");
  CHECK(request.Header("content-type") == "application/json");
  CHECK(request.Header("authorization").empty());
  const Json body = ParseJson(request.body);
  CHECK(body["From"] == "Zoë Support <support@example.com>");
  CHECK(body["To"] == "Jane Doe <jane@example.org>");
  CHECK(body["Subject"] == kSubject);
  CHECK(body["TextBody"] == kText);
  CHECK(body["HtmlBody"] == kHtml);
  CHECK(body["ReplyTo"] == "replies@example.com");
  CHECK(body["MessageStream"] == "broadcast");
  CHECK(body["Metadata"]["libchat_delivery"] == "dlv_123");
}

TEST_CASE("Postmark: the stream defaults to outbound and a refusal in ErrorCode is permanent", "[email_api]") {
  FakeHttpServer server;
  server.Enqueue({200, {}, R"({"ErrorCode":406,"Message":"You tried to send to a recipient that has been )"
                           R"(marked as inactive."})"});
  EmailProviderConfig config = PostmarkConfig(server.url());
  config.settings.erase("message_stream");
  const SendOutcome outcome = MakeProvider(config)->Send(SampleMessage());
  CHECK(outcome.kind == SendOutcome::Kind::kPermanent);
  CHECK(outcome.error.find("[406]") != std::string::npos);
  CHECK(outcome.error.find("inactive") != std::string::npos);
  CHECK(ParseJson(OnlyRequest(server).body)["MessageStream"] == "outbound");
}

// ============================== Amazon SES ==============================

TEST_CASE("SES: SigV4-signed SendEmail v2 that an independent signer verifies", "[email_api]") {
  const std::string session_token = GENERATE(std::string(), std::string("FQoGZXIvYXdzEJr//////////wEaDOsession"));
  FakeHttpServer server;
  server.Enqueue({200, {{"Content-Type", "application/json"}}, R"({"MessageId":"0102018c-ses-id"})"});
  const EmailProviderConfig config = SesConfig(server.url(), session_token);
  const auto sent_at = std::chrono::system_clock::now();
  const SendOutcome outcome = MakeProvider(config)->Send(SampleMessage());
  CHECK(outcome.kind == SendOutcome::Kind::kDelivered);
  CHECK(outcome.provider_message_id == "0102018c-ses-id");

  const FakeHttpServer::Request request = OnlyRequest(server);
  CHECK(request.method == "POST");
  CHECK(request.target == "/v2/email/outbound-emails");
  CHECK(request.Header("content-type") == "application/json");
  CHECK(request.Header("host") == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(request.Header("x-amz-content-sha256") == OpensslSha256Hex(request.body));
  CHECK(request.Header("x-amz-security-token") == session_token);

  // x-amz-date is the send time, in AWS's basic ISO 8601 form.
  const std::string amz_date = request.Header("x-amz-date");
  REQUIRE(amz_date.size() == 16);
  const std::time_t sent_seconds = std::chrono::system_clock::to_time_t(sent_at);
  std::tm utc{};
  gmtime_r(&sent_seconds, &utc);
  char today[9];
  std::strftime(today, sizeof(today), "%Y%m%d", &utc);
  CHECK(amz_date.substr(0, 8) == today);  // (a send across midnight UTC would fail here: negligible)
  CHECK(amz_date[8] == 'T');
  CHECK(amz_date.back() == 'Z');

  const auto fields = AuthorizationFields(request.Header("authorization"));
  CHECK(fields.at("Credential") == "AKIAIOSFODNN7EXAMPLE/" + amz_date.substr(0, 8) + "/eu-west-1/ses/aws4_request");
  const std::string expected_signed = session_token.empty()
                                          ? "content-type;host;x-amz-content-sha256;x-amz-date"
                                          : "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token";
  CHECK(fields.at("SignedHeaders") == expected_signed);
  CHECK(fields.at("Signature") == RecomputeSignature(request, expected_signed,
                                                     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                                     amz_date.substr(0, 8), "eu-west-1", "ses"));

  const Json body = ParseJson(request.body);
  // Non-ASCII display names become RFC 2047 encoded-words: SES takes ASCII addresses only.
  CHECK(body["FromEmailAddress"] ==
        "=?UTF-8?B?" + libchat::internal::Base64Encode("Zoë Support") + "?= <support@example.com>");
  CHECK(body["Destination"] == Json::parse(R"({"ToAddresses":["Jane Doe <jane@example.org>"]})"));
  CHECK(body["ReplyToAddresses"] == Json::array({"replies@example.com"}));
  const Json& simple = body["Content"]["Simple"];
  CHECK(simple["Subject"] == Json({{"Data", kSubject}, {"Charset", "UTF-8"}}));
  CHECK(simple["Body"]["Text"] == Json({{"Data", kText}, {"Charset", "UTF-8"}}));
  CHECK(simple["Body"]["Html"] == Json({{"Data", kHtml}, {"Charset", "UTF-8"}}));
  CHECK(body["EmailTags"] == Json::parse(R"([{"Name":"libchat_delivery","Value":"dlv_123"}])"));
}

TEST_CASE("SES: a rejected message reports the AWS error type and message", "[email_api]") {
  FakeHttpServer server;
  server.Enqueue({400, {{"x-amzn-ErrorType", "MessageRejected:http://internal.amazon.com/coral/"}},
                  R"({"message":"Email address is not verified. The following identities failed the check"})"});
  const SendOutcome outcome = MakeProvider(SesConfig(server.url()))->Send(SampleMessage());
  CHECK(outcome.kind == SendOutcome::Kind::kPermanent);
  CHECK(outcome.status_code == 400);
  CHECK(outcome.error.find("ses: HTTP 400: MessageRejected: Email address is not verified") == 0);
}

// ============================== Failure mapping, every provider ==============================

TEST_CASE("Every HTTP provider maps 401, 400, 500 and 429 the same way", "[email_api]") {
  struct ProviderCase {
    const char* name;
    EmailProviderConfig (*config)(const std::string&);
    std::string error_body;     // the provider's own error format
    std::string error_message;  // what of it must reach SendOutcome::error
  };
  const std::vector<ProviderCase> providers = {
      {"mailgun", MailgunConfig, R"({"message":"to parameter is not a valid address. please check documentation"})",
       "to parameter is not a valid address"},
      {"sendgrid", SendGridConfig,
       R"({"errors":[{"message":"The from address does not match a verified Sender Identity.","field":"from"}]})",
       "from: The from address does not match a verified Sender Identity."},
      {"postmark", PostmarkConfig, R"({"ErrorCode":300,"Message":"Invalid 'From' address: 'x'."})",
       "[300] Invalid 'From' address"},
      {"ses", [](const std::string& url) { return SesConfig(url); }, R"({"message":"Missing final '@domain'"})",
       "Missing final '@domain'"},
  };
  for (const ProviderCase& provider_case : providers) {
    INFO(provider_case.name);
    FakeHttpServer server;
    server.Enqueue({401, {}, R"({"message":"Unauthorized","ErrorCode":10,"Message":"Bad token"})"});
    server.Enqueue({400, {{"Content-Type", "application/json"}}, provider_case.error_body});
    server.Enqueue({500, {}, "internal error"});
    server.Enqueue({429, {{"Retry-After", "7"}}, ""});
    server.Enqueue({503, {{"Retry-After", "not a number"}}, ""});
    const auto provider = MakeProvider(provider_case.config(server.url()));
    const std::string prefix = std::string(provider_case.name) + ": ";

    const SendOutcome unauthorized = provider->Send(SampleMessage());
    CHECK(unauthorized.kind == SendOutcome::Kind::kPermanent);
    CHECK(unauthorized.status_code == 401);
    CHECK(unauthorized.error.find(prefix + "HTTP 401: credentials rejected") == 0);

    const SendOutcome bad_request = provider->Send(SampleMessage());
    CHECK(bad_request.kind == SendOutcome::Kind::kPermanent);
    CHECK(bad_request.status_code == 400);
    CHECK(bad_request.error.find(prefix + "HTTP 400: " + provider_case.error_message) == 0);

    const SendOutcome server_error = provider->Send(SampleMessage());
    CHECK(server_error.kind == SendOutcome::Kind::kRetry);
    CHECK(server_error.status_code == 500);
    CHECK_FALSE(server_error.retry_after.has_value());

    const SendOutcome throttled = provider->Send(SampleMessage());
    CHECK(throttled.kind == SendOutcome::Kind::kRetry);
    CHECK(throttled.status_code == 429);
    REQUIRE(throttled.retry_after.has_value());
    CHECK(*throttled.retry_after == milliseconds(7000));

    const SendOutcome unavailable = provider->Send(SampleMessage());
    CHECK(unavailable.kind == SendOutcome::Kind::kRetry);
    CHECK_FALSE(unavailable.retry_after.has_value());

    CHECK(server.requests().size() == 5);
    for (const SendOutcome* outcome : {&unauthorized, &bad_request, &server_error, &throttled, &unavailable}) {
      CHECK(outcome->provider_message_id.empty());
    }
  }
}

TEST_CASE("A Retry-After HTTP-date on a 503 becomes a wait relative to now", "[email_api]") {
  FakeHttpServer server;
  // An IMF-fixdate about 2 minutes ahead.
  const std::time_t later = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()) + 120;
  std::tm utc{};
  gmtime_r(&later, &utc);
  char date[64];
  std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &utc);
  server.Enqueue({503, {{"Retry-After", date}}, ""});
  const SendOutcome outcome = MakeProvider(SendGridConfig(server.url()))->Send(SampleMessage());
  CHECK(outcome.kind == SendOutcome::Kind::kRetry);
  REQUIRE(outcome.retry_after.has_value());
  CHECK(*outcome.retry_after > milliseconds(100000));
  CHECK(*outcome.retry_after <= milliseconds(120000));
}

// ============================== Configuration ==============================

TEST_CASE("IsSecretEmailSetting names exactly the credential fields", "[email_api]") {
  for (const char* name : {"password", "api_key", "server_token", "secret_access_key", "session_token"}) {
    CHECK(libchat::IsSecretEmailSetting(name));
  }
  for (const char* name : {"host", "username", "domain", "access_key_id", "region", "base_url", "from", ""}) {
    CHECK_FALSE(libchat::IsSecretEmailSetting(name));
  }
}

TEST_CASE("ValidateEmailProviderConfig accepts complete configurations of every type", "[email_api]") {
  const std::vector<EmailProviderConfig> valid = {
      Config("smtp", {{"host", "smtp.example.com"}, {"port", "587"}, {"security", "starttls"},
                      {"username", "u"}, {"password", "p w"}}),
      Config("smtp", {{"host", "10.0.0.5"}}),
      Config("mailgun", {{"domain", "mg.example.com"}, {"api_key", "k"}, {"region", "eu"}}),
      Config("sendgrid", {{"api_key", "SG.x"}}),
      Config("postmark", {{"server_token", "t"}, {"message_stream", "outbound"}}),
      Config("ses", {{"region", "us-gov-west-1"}, {"access_key_id", "ASIAIOSFODNN7EXAMPLE"},
                     {"secret_access_key", "s/+x"}, {"session_token", "tok"}}),
      MailgunConfig("http://127.0.0.1:8080"),
      SesConfig("https://[::1]:4443/prefix"),
      // Empty optional values count as not set.
      Config("mailgun", {{"domain", "mg.example.com"}, {"api_key", "k"}, {"region", ""}, {"base_url", ""}}),
  };
  for (const EmailProviderConfig& config : valid) {
    const Status status = libchat::ValidateEmailProviderConfig(config);
    INFO(config.type << ": " << status.ToString());
    CHECK(status.ok());
  }
  EmailProviderConfig named = Config("sendgrid", {{"api_key", "k"}});
  named.from = "\"Acme, Inc.\" <noreply@acme.example>";
  CHECK(libchat::ValidateEmailProviderConfig(named).ok());
}

TEST_CASE("ValidateEmailProviderConfig names the first problem", "[email_api]") {
  struct Case {
    EmailProviderConfig config;
    std::string fragment;  // must appear in the error message
  };
  auto with_from = [](EmailProviderConfig config, std::string from) {
    config.from = std::move(from);
    return config;
  };
  const EmailProviderConfig sendgrid = Config("sendgrid", {{"api_key", "k"}});
  const std::vector<Case> cases = {
      {Config("carrier-pigeon", {}), "type"},
      {Config("", {}), "type"},
      {with_from(sendgrid, ""), "from"},
      {with_from(sendgrid, "nope"), "from"},
      {with_from(sendgrid, "a@b"), "from"},
      {with_from(sendgrid, "Name <a@b.c"), "from"},
      {with_from(sendgrid, "a@b.c\r\nBcc: x@y.z"), "from"},
      {Config("sendgrid", {}), "api_key"},
      {Config("sendgrid", {{"api_key", ""}}), "api_key"},
      {Config("mailgun", {{"api_key", "k"}}), "domain"},
      {Config("mailgun", {{"domain", "localhost"}, {"api_key", "k"}}), "domain"},
      {Config("mailgun", {{"domain", "mg.example.com"}, {"api_key", "k"}, {"region", "ap"}}), "region"},
      {Config("postmark", {{"server_token", "t"}, {"message_stream", "bad stream"}}), "message_stream"},
      {Config("ses", {{"access_key_id", "AKIAIOSFODNN7EXAMPLE"}, {"secret_access_key", "s"}}), "region"},
      {Config("ses", {{"region", "useast1"}, {"access_key_id", "AKIAIOSFODNN7EXAMPLE"}, {"secret_access_key", "s"}}),
       "region"},
      {Config("ses", {{"region", "US-EAST-1"}, {"access_key_id", "AKIAIOSFODNN7EXAMPLE"}, {"secret_access_key", "s"}}),
       "region"},
      {Config("ses", {{"region", "us-east-1"}, {"access_key_id", "short"}, {"secret_access_key", "s"}}),
       "access_key_id"},
      {Config("ses", {{"region", "us-east-1"}, {"access_key_id", "AKIAIOSFODNN7EXAMPLE"}}), "secret_access_key"},
      {SendGridConfig("ftp://files.example.com"), "base_url"},
      {SendGridConfig("http://"), "base_url"},
      {SendGridConfig("https://api.example.com/x?y=1"), "base_url"},
      {SendGridConfig("https://user@api.example.com"), "base_url"},
      {SendGridConfig("https://api.example.com:99999"), "base_url"},
      {Config("sendgrid", {{"api_key", "k\r\nX-Injected: yes"}}), "api_key"},
      {Config("sendgrid", {{"api_key", " k"}}), "api_key"},
      {Config("sendgrid", {{"api_key", "k"}, {"apikey", "typo"}}), "apikey"},
      {Config("sendgrid", {{"api_key", "k"}, {"domain", "mg.example.com"}}), "domain"},
      {Config("smtp", {}), "host"},
      {Config("smtp", {{"host", "smtp example com"}}), "host"},
      {Config("smtp", {{"host", "smtp.example.com"}, {"port", "0"}}), "port"},
      {Config("smtp", {{"host", "smtp.example.com"}, {"port", "70000"}}), "port"},
      {Config("smtp", {{"host", "smtp.example.com"}, {"port", "smtp"}}), "port"},
      {Config("smtp", {{"host", "smtp.example.com"}, {"security", "ssl"}}), "security"},
      {Config("smtp", {{"host", "smtp.example.com"}, {"password", "p"}}), "username"},
  };
  for (const Case& c : cases) {
    const Status status = libchat::ValidateEmailProviderConfig(c.config);
    INFO(c.config.type << " / " << c.fragment << " -> " << status.ToString());
    CHECK(status.code() == StatusCode::kInvalidArgument);
    CHECK(status.message().find(c.fragment) != std::string::npos);
  }
}

TEST_CASE("ValidateEmailProviderConfig never echoes a secret value", "[email_api]") {
  const std::string secret = "sk-very-secret-value";
  for (const std::string& bad : {secret + "\n", " " + secret, secret + std::string(9000, 'x')}) {
    const Status status = libchat::ValidateEmailProviderConfig(Config("sendgrid", {{"api_key", bad}}));
    CHECK(status.code() == StatusCode::kInvalidArgument);
    CHECK(status.message().find(secret) == std::string::npos);
  }
}

TEST_CASE("NewEmailProvider refuses invalid configurations and HTTP types without a client", "[email_api]") {
  CHECK(libchat::NewEmailProvider(Config("sendgrid", {}), LoopbackClient()).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(libchat::NewEmailProvider(Config("sendgrid", {{"api_key", "k"}}), nullptr).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(libchat::NewEmailProvider(Config("sendgrid", {{"api_key", "k"}}), LoopbackClient()).ok());
}
