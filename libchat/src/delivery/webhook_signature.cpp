// Standard Webhooks signing (https://www.standardwebhooks.com): the symmetric
// "v1" scheme, HMAC-SHA256 over "<id>.<timestamp>.<body>" keyed with the decoded
// "whsec_" secret.
#include <optional>
#include <string>

#include "libchat/providers/webhook.h"
#include "util/crypto.h"

namespace libchat {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::size_t kNewSecretBytes = 24;

// The key bytes of a "whsec_<base64>" secret. The base64 is the standard
// alphabet; missing padding is tolerated because some providers strip it.
std::optional<std::string> DecodeSecret(std::string_view secret) {
  if (secret.substr(0, kSecretPrefix.size()) != kSecretPrefix) return std::nullopt;
  std::string encoded(secret.substr(kSecretPrefix.size()));
  if (encoded.size() % 4 == 2) encoded += "==";
  if (encoded.size() % 4 == 3) encoded += "=";
  std::optional<std::string> key = internal::Base64Decode(encoded);
  if (!key || key->empty()) return std::nullopt;
  return key;
}

}  // namespace

Result<std::string> SignWebhook(const std::string& secret, const std::string& id, std::int64_t timestamp_s,
                                const std::string& body) {
  const std::optional<std::string> key = DecodeSecret(secret);
  // The message never includes the secret itself.
  if (!key) return InvalidArgumentError("malformed webhook secret: expected \"whsec_\" followed by base64");
  std::string signed_content;
  signed_content.reserve(id.size() + body.size() + 24);
  signed_content += id;
  signed_content += '.';
  signed_content += std::to_string(timestamp_s);
  signed_content += '.';
  signed_content += body;
  return "v1," + internal::Base64Encode(internal::HmacSha256(*key, signed_content));
}

std::string NewWebhookSecret() {
  return std::string(kSecretPrefix) + internal::Base64Encode(internal::RandomBytes(kNewSecretBytes));
}

}  // namespace libchat
