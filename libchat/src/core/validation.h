// Input validation shared by the facade's services. Each function returns
// kInvalidArgument with a message naming the offending field.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "libchat/status.h"

namespace libchat::internal {

// Longest conversation name, in bytes.
constexpr std::size_t kMaxConversationNameBytes = 200;

// Valid UTF-8, no NUL, length within [min_bytes, max_bytes].
Status ValidateText(std::string_view field, std::string_view text, std::size_t min_bytes, std::size_t max_bytes);
// A plausible address: one '@', non-empty local and domain parts, no spaces or controls, ≤ 254 bytes.
// Returns it lower-cased and trimmed.
Result<std::string> NormalizeEmail(std::string_view email);
// Parses JSON text that must be an object (or an array); returns it compact-serialized.
// Empty input yields the empty object / array.
Result<std::string> NormalizeJsonObject(std::string_view field, std::string_view json, std::size_t max_bytes);
Result<std::string> NormalizeJsonArray(std::string_view field, std::string_view json, std::size_t max_bytes);
// 1..200; 0 means the default of 50.
Result<int> ValidateLimit(int limit);
// Printable ASCII, 1..128 bytes (idempotency keys, client message ids).
Status ValidateClientKey(std::string_view field, std::string_view key);

}  // namespace libchat::internal
