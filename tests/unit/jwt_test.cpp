// HS256 compact JWS: round trips and every way a forged or broken token must fail.
#include "auth/jwt.h"

#include <algorithm>
#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "util/crypto.h"

using libchat::StatusCode;
using libchat::Timestamp;
using libchat::internal::Base64UrlDecode;
using libchat::internal::Base64UrlEncode;
using libchat::internal::HmacSha256;
using libchat::internal::SignJwt;
using libchat::internal::TokenClaims;
using libchat::internal::VerifyJwt;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";
constexpr std::int64_t kNow = 1'800'000'000;  // seconds

Timestamp At(std::int64_t seconds, std::int64_t extra_ms = 0) {
  return Timestamp(std::chrono::milliseconds(seconds * 1000 + extra_ms));
}

TokenClaims OperatorClaims() {
  TokenClaims claims;
  claims.subject = "op_abc";
  claims.kind = "operator";
  claims.account_id = "acc_xyz";
  claims.token_id = "tok_123";
  claims.issued_at = kNow - 60;
  claims.expires_at = kNow + 3600;
  return claims;
}

// Builds a token from raw header and payload JSON, signed with HS256 under `secret`
// whatever the header claims, so that only the property under test is wrong.
std::string Craft(const std::string& header, const std::string& payload, const std::string& secret = kSecret) {
  const std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
  return input + "." + Base64UrlEncode(HmacSha256(secret, input));
}

std::string ValidPayload() {
  return R"({"sub":"cus_1","knd":"customer","app":"app_1","jti":"j1","iat":1799999000,"exp":1800003600})";
}

const std::string kHeader = R"({"alg":"HS256","typ":"JWT"})";

void RequireRejected(const std::string& token, const std::string& reason, std::int64_t now = kNow) {
  const auto result = VerifyJwt(token, kSecret, At(now));
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == StatusCode::kUnauthenticated);
  CHECK(result.status().message() == reason);
}

}  // namespace

TEST_CASE("SignJwt / VerifyJwt round trip", "[jwt]") {
  const TokenClaims claims = OperatorClaims();
  const std::string token = SignJwt(claims, kSecret);
  CHECK(std::count(token.begin(), token.end(), '.') == 2);
  // The header is the fixed HS256 one.
  CHECK(token.substr(0, token.find('.')) == Base64UrlEncode(kHeader));

  const auto verified = VerifyJwt(token, kSecret, At(kNow));
  REQUIRE(verified.ok());
  CHECK(verified->subject == claims.subject);
  CHECK(verified->kind == claims.kind);
  CHECK(verified->account_id == claims.account_id);
  CHECK(verified->app_id.empty());
  CHECK(verified->token_id == claims.token_id);
  CHECK(verified->issued_at == claims.issued_at);
  CHECK(verified->expires_at == claims.expires_at);
}

TEST_CASE("SignJwt writes the documented claim names and omits empty app/acc", "[jwt]") {
  const std::string token = SignJwt(OperatorClaims(), kSecret);
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = token.find('.', dot1 + 1);
  const auto payload_text = Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  REQUIRE(payload_text.has_value());
  const auto payload = nlohmann::json::parse(*payload_text);
  CHECK(payload.at("sub") == "op_abc");
  CHECK(payload.at("knd") == "operator");
  CHECK(payload.at("acc") == "acc_xyz");
  CHECK(payload.at("jti") == "tok_123");
  CHECK(payload.at("iat") == kNow - 60);
  CHECK(payload.at("exp") == kNow + 3600);
  CHECK_FALSE(payload.contains("app"));

  TokenClaims customer;
  customer.subject = "cus_1";
  customer.kind = "customer";
  customer.app_id = "app_1";
  customer.token_id = "j";
  customer.expires_at = kNow + 1;
  const auto verified = VerifyJwt(SignJwt(customer, kSecret), kSecret, At(kNow));
  REQUIRE(verified.ok());
  CHECK(verified->app_id == "app_1");
  CHECK(verified->account_id.empty());
}

TEST_CASE("VerifyJwt accepts a hand-crafted HS256 token", "[jwt]") {
  // Guards the helpers below: the same construction with a correct header passes.
  const auto verified = VerifyJwt(Craft(kHeader, ValidPayload()), kSecret, At(kNow));
  REQUIRE(verified.ok());
  CHECK(verified->subject == "cus_1");
  CHECK(verified->app_id == "app_1");
  // typ is optional.
  CHECK(VerifyJwt(Craft(R"({"alg":"HS256"})", ValidPayload()), kSecret, At(kNow)).ok());
}

TEST_CASE("VerifyJwt rejects tampering and the wrong secret", "[jwt]") {
  const std::string token = SignJwt(OperatorClaims(), kSecret);
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = token.find('.', dot1 + 1);

  SECTION("tampered payload") {
    const std::string forged_payload = Base64UrlEncode(
        R"({"sub":"op_admin","knd":"operator","acc":"acc_xyz","jti":"tok_123","iat":1799999940,"exp":1800003600})");
    const std::string tampered = token.substr(0, dot1 + 1) + forged_payload + token.substr(dot2);
    RequireRejected(tampered, "bad signature");
  }
  SECTION("tampered signature") {
    std::string tampered = token;
    tampered[dot2 + 1] = tampered[dot2 + 1] == 'A' ? 'B' : 'A';
    RequireRejected(tampered, "bad signature");
  }
  SECTION("signature of the wrong length") {
    const auto mac = Base64UrlDecode(token.substr(dot2 + 1));
    REQUIRE(mac.has_value());
    RequireRejected(token.substr(0, dot2 + 1) + Base64UrlEncode(mac->substr(0, 31)), "bad signature");
    RequireRejected(token.substr(0, dot2 + 1) + Base64UrlEncode(*mac + "x"), "bad signature");
  }
  SECTION("wrong secret") {
    const auto result = VerifyJwt(token, "another-secret-of-sufficient-length!!", At(kNow));
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().code() == StatusCode::kUnauthenticated);
    CHECK(result.status().message() == "bad signature");
  }
}

TEST_CASE("VerifyJwt refuses every alg but HS256", "[jwt]") {
  SECTION("alg none with an empty signature") {
    // The classic forgery: eyJhbGciOiJub25lIn0 is {"alg":"none"}.
    const std::string token = "eyJhbGciOiJub25lIn0." + Base64UrlEncode(ValidPayload()) + ".";
    REQUIRE(token.rfind("eyJhbGciOiJub25lIn0.", 0) == 0);
    RequireRejected(token, "malformed token");
  }
  SECTION("alg none with a signature") {
    RequireRejected(Craft(R"({"alg":"none","typ":"JWT"})", ValidPayload()), "unsupported alg");
  }
  SECTION("RS256 with a signature that is a valid HMAC under our secret") {
    RequireRejected(Craft(R"({"alg":"RS256","typ":"JWT"})", ValidPayload()), "unsupported alg");
  }
  SECTION("lower-case hs256") {
    RequireRejected(Craft(R"({"alg":"hs256","typ":"JWT"})", ValidPayload()), "unsupported alg");
  }
  SECTION("HS512, missing alg, non-string alg") {
    RequireRejected(Craft(R"({"alg":"HS512","typ":"JWT"})", ValidPayload()), "unsupported alg");
    RequireRejected(Craft(R"({"typ":"JWT"})", ValidPayload()), "unsupported alg");
    RequireRejected(Craft(R"({"alg":["HS256"]})", ValidPayload()), "unsupported alg");
  }
  SECTION("extra or odd header members") {
    RequireRejected(Craft(R"({"alg":"HS256","typ":"JWT","crit":["exp"]})", ValidPayload()), "malformed token");
    RequireRejected(Craft(R"({"alg":"HS256","typ":"JWS"})", ValidPayload()), "malformed token");
    RequireRejected(Craft(R"({"alg":"HS256","kid":"../../etc/passwd"})", ValidPayload()), "malformed token");
  }
  SECTION("header that is not a JSON object") {
    RequireRejected(Craft(R"(["HS256"])", ValidPayload()), "malformed token");
    RequireRejected(Craft("not json", ValidPayload()), "malformed token");
  }
}

TEST_CASE("VerifyJwt enforces exp", "[jwt]") {
  TokenClaims claims = OperatorClaims();
  claims.expires_at = kNow;
  const std::string token = SignJwt(claims, kSecret);
  RequireRejected(token, "token expired", kNow);       // exp == now
  RequireRejected(token, "token expired", kNow + 10);  // exp < now
  CHECK(VerifyJwt(token, kSecret, At(kNow - 1, 999)).ok());  // 1 ms before exp
  // Within the expiry second the token is already expired.
  const auto result = VerifyJwt(token, kSecret, At(kNow, 1));
  CHECK_FALSE(result.ok());
}

TEST_CASE("VerifyJwt requires the mandatory claims with the right types", "[jwt]") {
  RequireRejected(Craft(kHeader, R"({"sub":"cus_1","knd":"customer","jti":"j1"})"), "malformed token");
  RequireRejected(Craft(kHeader, R"({"sub":"cus_1","knd":"customer","jti":"j1","exp":"1800003600"})"),
                  "malformed token");
  RequireRejected(Craft(kHeader, R"({"sub":"cus_1","knd":"customer","jti":"j1","exp":1800003600.5})"),
                  "malformed token");
  RequireRejected(Craft(kHeader, R"({"sub":"cus_1","knd":"customer","jti":"j1","exp":null})"), "malformed token");
  RequireRejected(Craft(kHeader, R"({"sub":"cus_1","knd":"customer","jti":"j1","exp":18446744073709551615})"),
                  "malformed token");
  RequireRejected(Craft(kHeader, R"({"knd":"customer","jti":"j1","exp":1800003600})"), "malformed token");
  RequireRejected(Craft(kHeader, R"({"sub":"cus_1","jti":"j1","exp":1800003600})"), "malformed token");
  RequireRejected(Craft(kHeader, R"({"sub":"cus_1","knd":"customer","exp":1800003600})"), "malformed token");
  RequireRejected(Craft(kHeader, R"({"sub":"","knd":"customer","jti":"j1","exp":1800003600})"), "malformed token");
  RequireRejected(Craft(kHeader, R"({"sub":42,"knd":"customer","jti":"j1","exp":1800003600})"), "malformed token");
  RequireRejected(Craft(kHeader, R"({"sub":"cus_1","knd":"customer","jti":"j1","app":7,"exp":1800003600})"),
                  "malformed token");
  RequireRejected(Craft(kHeader, R"({"sub":"cus_1","knd":"customer","jti":"j1","iat":"x","exp":1800003600})"),
                  "malformed token");
  RequireRejected(Craft(kHeader, R"(["sub","knd","jti","exp"])"), "malformed token");
  RequireRejected(Craft(kHeader, "1800003600"), "malformed token");
  RequireRejected(Craft(kHeader, "{"), "malformed token");
  // Sanity: a minimal complete payload passes.
  CHECK(VerifyJwt(Craft(kHeader, R"({"sub":"cus_1","knd":"customer","jti":"j1","exp":1800003600})"), kSecret,
                  At(kNow))
            .ok());
}

TEST_CASE("VerifyJwt checks the signature before the claims", "[jwt]") {
  // An expired, claim-less payload under a wrong signature reports the signature.
  const std::string token = Craft(kHeader, R"({"exp":1})", "wrong secret");
  RequireRejected(token, "bad signature");
}

TEST_CASE("VerifyJwt rejects structurally malformed tokens", "[jwt]") {
  const std::string token = SignJwt(OperatorClaims(), kSecret);
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = token.find('.', dot1 + 1);
  const std::string header = token.substr(0, dot1);
  const std::string payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string signature = token.substr(dot2 + 1);

  RequireRejected("", "malformed token");
  RequireRejected("abc", "malformed token");
  RequireRejected(header + "." + payload, "malformed token");          // two segments
  RequireRejected(token + ".", "malformed token");                      // four segments
  RequireRejected(token + "." + signature, "malformed token");
  RequireRejected("." + payload + "." + signature, "malformed token");  // empty header
  RequireRejected(header + ".." + signature, "malformed token");        // empty payload
  RequireRejected(header + "." + payload + ".", "malformed token");     // empty signature
  RequireRejected(header + "=." + payload + "." + signature, "malformed token");  // padding
  RequireRejected(header + "." + payload + "." + signature + "=", "malformed token");
  RequireRejected(header + "." + payload + "." + signature.substr(1) + "+", "malformed token");
  RequireRejected(" " + token, "malformed token");
  // Valid base64url, valid signature, but the payload bytes are not JSON.
  RequireRejected(Craft(kHeader, std::string("\xff\xfe", 2)), "malformed token");
}

TEST_CASE("VerifyJwt bounds the token length", "[jwt]") {
  // Correctly signed and otherwise valid, but too large to be one of ours.
  const std::string big_payload = R"({"sub":"cus_1","knd":"customer","jti":"j1","exp":1800003600,"pad":")" +
                                  std::string(9000, 'x') + "\"}";
  const std::string token = Craft(kHeader, big_payload);
  REQUIRE(token.size() > 8 * 1024);
  RequireRejected(token, "malformed token");
  RequireRejected(std::string(1 << 20, 'a'), "malformed token");
  // Extra claims by themselves are fine.
  const std::string small_payload = R"({"sub":"cus_1","knd":"customer","jti":"j1","exp":1800003600,"pad":")" +
                                    std::string(100, 'x') + "\"}";
  CHECK(VerifyJwt(Craft(kHeader, small_payload), kSecret, At(kNow)).ok());
}
