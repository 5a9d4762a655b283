// Retry-After (RFC 9110 section 10.2.3), as webhook receivers and email APIs send it.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace libchat::internal {

// The longest wait a Retry-After can ask for; longer values are capped to it
// (the outbox's own schedule and dead-lettering still apply).
inline constexpr std::chrono::hours kMaxRetryAfter{24 * 7};

// An HTTP Retry-After value: delta-seconds ("120") or an HTTP-date in any of
// the three forms of RFC 9110 ("Sun, 06 Nov 1994 08:49:37 GMT", the RFC 850 and
// the asctime forms), relative to `now`. A date in the past gives 0. nullopt
// when empty or malformed.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

}  // namespace libchat::internal
