#include "core/validation.h"

#include <nlohmann/json.hpp>

#include "util/utf8.h"

namespace libchat::internal {

Status ValidateText(std::string_view field, std::string_view text, std::size_t min_bytes, std::size_t max_bytes) {
  if (text.size() < min_bytes) {
    return InvalidArgumentError(std::string(field) + (min_bytes == 1 ? " must not be empty" : " is too short"));
  }
  if (text.size() > max_bytes) {
    return InvalidArgumentError(std::string(field) + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (!IsValidUtf8(text)) return InvalidArgumentError(std::string(field) + " is not valid UTF-8");
  if (text.find('\0') != std::string_view::npos) {
    return InvalidArgumentError(std::string(field) + " must not contain NUL characters");
  }
  return Status::Ok();
}

Result<std::string> NormalizeEmail(std::string_view email) {
  while (!email.empty() && (email.front() == ' ' || email.front() == '\t')) email.remove_prefix(1);
  while (!email.empty() && (email.back() == ' ' || email.back() == '\t')) email.remove_suffix(1);
  const auto at = email.find('@');
  const bool shape_ok = !email.empty() && email.size() <= 254 && at != std::string_view::npos && at > 0 &&
                        at + 1 < email.size() && email.find('@', at + 1) == std::string_view::npos &&
                        email.find('.', at + 2) != std::string_view::npos && email.back() != '.';
  if (!shape_ok || !IsValidUtf8(email)) return InvalidArgumentError("email is not a valid address");
  std::string out;
  out.reserve(email.size());
  for (char c : email) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"') {
      return InvalidArgumentError("email is not a valid address");
    }
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

namespace {

Result<std::string> NormalizeJson(std::string_view field, std::string_view json, std::size_t max_bytes,
                                  bool want_object) {
  if (json.empty()) return std::string(want_object ? "{}" : "[]");
  if (json.size() > max_bytes) {
    return InvalidArgumentError(std::string(field) + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  nlohmann::json parsed = nlohmann::json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgumentError(std::string(field) + " is not valid JSON");
  if (want_object && !parsed.is_object()) return InvalidArgumentError(std::string(field) + " must be an object");
  if (!want_object && !parsed.is_array()) return InvalidArgumentError(std::string(field) + " must be an array");
  return parsed.dump();
}

}  // namespace

Result<std::string> NormalizeJsonObject(std::string_view field, std::string_view json, std::size_t max_bytes) {
  return NormalizeJson(field, json, max_bytes, true);
}

Result<std::string> NormalizeJsonArray(std::string_view field, std::string_view json, std::size_t max_bytes) {
  return NormalizeJson(field, json, max_bytes, false);
}

Result<int> ValidateLimit(int limit) {
  if (limit == 0) return 50;
  if (limit < 1 || limit > 200) return InvalidArgumentError("limit must be between 1 and 200");
  return limit;
}

Status ValidateClientKey(std::string_view field, std::string_view key) {
  if (key.empty() || key.size() > 128) {
    return InvalidArgumentError(std::string(field) + " must be 1 to 128 characters");
  }
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return InvalidArgumentError(std::string(field) + " must be printable ASCII");
  }
  return Status::Ok();
}

}  // namespace libchat::internal
