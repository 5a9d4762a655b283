#include "auth/jwt.h"

#include <chrono>
#include <exception>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

#include "util/crypto.h"

namespace libchat::internal {
namespace {

using Json = nlohmann::json;

// Our tokens are a few hundred bytes; anything far larger is refused before any
// decoding, parsing or hashing is spent on it.
constexpr std::size_t kMaxTokenBytes = 8 * 1024;

// The only header SignJwt emits (base64url-encoded as is).
constexpr std::string_view kHeaderJson = R"({"alg":"HS256","typ":"JWT"})";

Status Malformed() { return UnauthenticatedError("malformed token"); }
Status UnsupportedAlg() { return UnauthenticatedError("unsupported alg"); }
Status BadSignature() { return UnauthenticatedError("bad signature"); }
Status Expired() { return UnauthenticatedError("token expired"); }

// Parses base64url `segment` as a JSON object; nullopt when either layer is invalid.
std::optional<Json> DecodeJsonObject(std::string_view segment) {
  const std::optional<std::string> text = Base64UrlDecode(segment);
  if (!text) return std::nullopt;
  Json value = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!value.is_object()) return std::nullopt;  // also covers parse errors (value_t::discarded)
  return value;
}

// The header must mean exactly {"alg":"HS256","typ":"JWT"}: alg is checked by value
// (case-sensitive, so "hs256" and "none" fail), typ is optional, and any other
// member ("crit", "kid", "jku", ...) is refused rather than ignored.
Status CheckHeader(const Json& header) {
  const auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256") {
    return UnsupportedAlg();
  }
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "alg") continue;
    if (it.key() == "typ" && it->is_string() && it->get_ref<const std::string&>() == "JWT") continue;
    return Malformed();
  }
  return Status::Ok();
}

// A required non-empty string claim.
bool ReadString(const Json& payload, const char* name, std::string& out) {
  const auto it = payload.find(name);
  if (it == payload.end() || !it->is_string()) return false;
  out = it->get<std::string>();
  return !out.empty();
}

// An optional string claim: absent is fine, present with another type is not.
bool ReadOptionalString(const Json& payload, const char* name, std::string& out) {
  const auto it = payload.find(name);
  if (it == payload.end()) return true;
  if (!it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

// An integer claim that fits in int64 (floats such as 1.7e9 are refused).
bool ReadInt(const Json& payload, const char* name, bool required, std::int64_t& out) {
  const auto it = payload.find(name);
  if (it == payload.end()) return !required;
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    out = static_cast<std::int64_t>(v);
    return true;
  }
  if (it->is_number_integer()) {
    out = it->get<std::int64_t>();
    return true;
  }
  return false;
}

Result<TokenClaims> Verify(std::string_view token, const HmacSha256Key& key, Timestamp now) {
  if (token.size() > kMaxTokenBytes) return Malformed();

  // Exactly three non-empty segments. An empty signature (the alg "none" form) is malformed.
  const std::size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return Malformed();
  const std::size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) return Malformed();
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || payload_b64.empty() || signature_b64.empty()) return Malformed();

  // The header libchat itself signs is recognized byte for byte; any other is parsed and checked.
  static const std::string kOwnHeaderB64 = Base64UrlEncode(kHeaderJson);
  if (header_b64 != kOwnHeaderB64) {
    const std::optional<Json> header = DecodeJsonObject(header_b64);
    if (!header) return Malformed();
    if (Status s = CheckHeader(*header); !s.ok()) return s;
  }

  // The signature is checked before a single claim is looked at, so nothing in an
  // unauthenticated payload influences the outcome beyond "bad signature".
  const std::optional<std::string> signature = Base64UrlDecode(signature_b64);
  if (!signature) return Malformed();
  const std::string expected = key.Mac(token.substr(0, dot2));
  if (!ConstantTimeEquals(expected, *signature)) return BadSignature();

  const std::optional<Json> payload = DecodeJsonObject(payload_b64);
  if (!payload) return Malformed();

  TokenClaims claims;
  if (!ReadString(*payload, "sub", claims.subject) || !ReadString(*payload, "knd", claims.kind) ||
      !ReadString(*payload, "jti", claims.token_id) || !ReadOptionalString(*payload, "app", claims.app_id) ||
      !ReadOptionalString(*payload, "acc", claims.account_id) ||
      !ReadInt(*payload, "iat", /*required=*/false, claims.issued_at) ||
      !ReadInt(*payload, "exp", /*required=*/true, claims.expires_at)) {
    return Malformed();
  }

  const std::int64_t now_seconds =
      std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
  if (claims.expires_at <= now_seconds) return Expired();
  return claims;
}

}  // namespace

std::string SignJwt(const TokenClaims& claims, const HmacSha256Key& key) {
  Json payload = Json::object();
  payload["sub"] = claims.subject;
  payload["knd"] = claims.kind;
  if (!claims.app_id.empty()) payload["app"] = claims.app_id;
  if (!claims.account_id.empty()) payload["acc"] = claims.account_id;
  payload["jti"] = claims.token_id;
  payload["iat"] = claims.issued_at;
  payload["exp"] = claims.expires_at;

  // Claims are ids libchat generated, so they are valid UTF-8; `replace` only keeps
  // dump() from throwing if that invariant were ever broken.
  std::string signing_input = Base64UrlEncode(kHeaderJson);
  signing_input += '.';
  signing_input += Base64UrlEncode(payload.dump(-1, ' ', false, Json::error_handler_t::replace));
  const std::string signature = key.Mac(signing_input);
  signing_input += '.';
  signing_input += Base64UrlEncode(signature);
  return signing_input;
}

std::string SignJwt(const TokenClaims& claims, std::string_view secret) {
  return SignJwt(claims, HmacSha256Key(secret));
}

Result<TokenClaims> VerifyJwt(std::string_view token, std::string_view secret, Timestamp now) {
  return VerifyJwt(token, HmacSha256Key(secret), now);
}

Result<TokenClaims> VerifyJwt(std::string_view token, const HmacSha256Key& key, Timestamp now) {
  try {
    return Verify(token, key, now);
  } catch (const std::exception&) {
    // Only allocation failure can get here; a token we cannot process is not accepted.
    return Malformed();
  }
}

}  // namespace libchat::internal
