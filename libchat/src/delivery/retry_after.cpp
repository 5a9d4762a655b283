// Retry-After parsing (retry_after.h).
#include "delivery/retry_after.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace libchat::internal {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::int64_t kMaxRetryAfterSeconds = std::chrono::duration_cast<seconds>(kMaxRetryAfter).count();

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm),
// so no timegm(), which is not portable.
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int MonthIndex(const char* name) {
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (std::strcmp(name, kMonths[i]) == 0) return static_cast<int>(i) + 1;
  }
  return 0;
}

// Seconds since the epoch of an HTTP-date, nullopt when it is none of the three forms.
std::optional<std::int64_t> ParseHttpDate(const std::string& text) {
  int day = 0, year = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  char month[4] = {};
  char zone[4] = {};
  char weekday[10] = {};
  bool parsed = false;
  const std::size_t comma = text.find(',');
  if (comma != std::string::npos) {
    const char* rest = text.c_str() + comma + 1;
    // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", then RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT".
    if (std::sscanf(rest, " %2d %3[A-Za-z] %4d %2d:%2d:%2d %3s%n", &day, month, &year, &hour, &minute, &second, zone,
                    &consumed) == 7 &&
        rest[consumed] == '\0') {
      parsed = true;
    } else if (std::sscanf(rest, " %2d-%3[A-Za-z]-%2d %2d:%2d:%2d %3s%n", &day, month, &year, &hour, &minute, &second,
                           zone, &consumed) == 7 &&
               rest[consumed] == '\0') {
      year += year < 70 ? 2000 : 1900;
      parsed = true;
    }
    parsed = parsed && std::strcmp(zone, "GMT") == 0;
  } else if (std::sscanf(text.c_str(), "%9s %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", weekday, month, &day, &hour, &minute,
                         &second, &year, &consumed) == 7 &&
             text[static_cast<std::size_t>(consumed)] == '\0') {
    // asctime: "Sun Nov  6 08:49:37 1994"
    parsed = true;
  }
  if (!parsed) return std::nullopt;
  const int month_number = MonthIndex(month);
  if (month_number == 0 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 ||
      second > 60 || year < 1970) {
    return std::nullopt;
  }
  const std::int64_t days = DaysFromCivil(year, static_cast<unsigned>(month_number), static_cast<unsigned>(day));
  return days * 86400 + hour * 3600 + minute * 60 + second;
}

}  // namespace

std::optional<milliseconds> ParseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() || value.size() > 64) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t delay = 0;
    for (const char c : value) {
      delay = delay * 10 + (c - '0');
      if (delay > kMaxRetryAfterSeconds) {
        delay = kMaxRetryAfterSeconds;
        break;
      }
    }
    return std::chrono::duration_cast<milliseconds>(seconds(delay));
  }
  const std::optional<std::int64_t> at = ParseHttpDate(std::string(value));
  if (!at) return std::nullopt;
  const std::int64_t now_ms =
      std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count();
  std::int64_t delay_ms = *at * 1000 - now_ms;
  if (delay_ms < 0) delay_ms = 0;
  const std::int64_t max_ms = kMaxRetryAfterSeconds * 1000;
  return milliseconds(delay_ms > max_ms ? max_ms : delay_ms);
}

}  // namespace libchat::internal
