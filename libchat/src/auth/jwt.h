// Compact JWS tokens, HS256 only. Anything else (alg "none", RS256, a missing or
// extra segment, a bad signature, a past exp) is refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "libchat/status.h"
#include "libchat/types.h"
#include "util/crypto.h"

namespace libchat::internal {

struct TokenClaims {
  std::string subject;     // "sub": acc_…, op_…, cus_…
  std::string kind;        // "knd": "account", "operator" or "customer"
  std::string app_id;      // "app": customer tokens only
  std::string account_id;  // "acc": operator tokens only
  std::string token_id;    // "jti": random, for revocation
  std::int64_t issued_at = 0;   // "iat", seconds since epoch
  std::int64_t expires_at = 0;  // "exp", seconds since epoch
};

std::string SignJwt(const TokenClaims& claims, std::string_view secret);
// The same with a key prepared once; what the facade uses on every request.
std::string SignJwt(const TokenClaims& claims, const HmacSha256Key& key);
// kUnauthenticated with a short reason ("malformed token", "unsupported alg",
// "bad signature", "token expired") on any failure.
Result<TokenClaims> VerifyJwt(std::string_view token, std::string_view secret, Timestamp now);
Result<TokenClaims> VerifyJwt(std::string_view token, const HmacSha256Key& key, Timestamp now);

}  // namespace libchat::internal
