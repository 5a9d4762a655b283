#include "libchat/types.h"

#include <cstdio>
#include <ctime>

#include "libchat/chat.h"  // AssignmentMode
#include "libchat/knowledge.h"

namespace libchat {
namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void CivilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool ReadDigits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

}  // namespace

std::string FormatTimestamp(Timestamp t) {
  const std::int64_t ms_total = t.time_since_epoch().count();
  std::int64_t days = ms_total / 86400000;
  std::int64_t ms_of_day = ms_total % 86400000;
  if (ms_of_day < 0) {
    ms_of_day += 86400000;
    --days;
  }
  std::int64_t year;
  unsigned month, day;
  CivilFromDays(days, year, month, day);
  const auto secs = ms_of_day / 1000;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(year),
                month, day, static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60), static_cast<long long>(ms_of_day % 1000));
  return buf;
}

Result<Timestamp> ParseTimestamp(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)
  int year, month, day, hour, minute, second;
  auto bad = [] { return InvalidArgumentError("timestamp must be RFC 3339, e.g. 2026-01-01T00:00:00.000Z"); };
  if (text.size() < 20 || !ReadDigits(text, 0, 4, year) || text[4] != '-' || !ReadDigits(text, 5, 2, month) ||
      text[7] != '-' || !ReadDigits(text, 8, 2, day) || (text[10] != 'T' && text[10] != 't') ||
      !ReadDigits(text, 11, 2, hour) || text[13] != ':' || !ReadDigits(text, 14, 2, minute) ||
      text[16] != ':' || !ReadDigits(text, 17, 2, second)) {
    return bad();
  }
  static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDaysInMonth[month - 1] || hour > 23 || minute > 59 ||
      second > 60) {
    return bad();
  }
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return bad();
  std::size_t pos = 19;
  int millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (std::size_t i = digits; i < 3; ++i) millis *= 10;
  }
  int offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh, om;
    if (!ReadDigits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !ReadDigits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad();
    }
    offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  if (second == 60) second = 59;  // leap second: clamp, good enough for scheduling
  const std::int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return Timestamp(std::chrono::milliseconds(secs * 1000 + millis));
}

const char* PrincipalTypeName(PrincipalType type) {
  switch (type) {
    case PrincipalType::kAccount: return "account";
    case PrincipalType::kOperator: return "operator";
    case PrincipalType::kAppServer: return "app_server";
    case PrincipalType::kPublishable: return "publishable";
    case PrincipalType::kCustomer: return "customer";
    case PrincipalType::kAdmin: return "admin";
  }
  return "unknown";
}

const char* ConversationTypeName(ConversationType type) {
  switch (type) {
    case ConversationType::kSupport: return "support";
    case ConversationType::kDm: return "dm";
    case ConversationType::kGroup: return "group";
    case ConversationType::kChannel: return "channel";
  }
  return "support";
}

const char* ConversationStatusName(ConversationStatus status) {
  switch (status) {
    case ConversationStatus::kOpen: return "open";
    case ConversationStatus::kPending: return "pending";
    case ConversationStatus::kResolved: return "resolved";
    case ConversationStatus::kSnoozed: return "snoozed";
  }
  return "open";
}

std::optional<ConversationType> ParseConversationType(std::string_view text) {
  if (text == "support") return ConversationType::kSupport;
  if (text == "dm") return ConversationType::kDm;
  if (text == "group") return ConversationType::kGroup;
  if (text == "channel") return ConversationType::kChannel;
  return std::nullopt;
}

std::optional<ConversationStatus> ParseConversationStatus(std::string_view text) {
  if (text == "open") return ConversationStatus::kOpen;
  if (text == "pending") return ConversationStatus::kPending;
  if (text == "resolved") return ConversationStatus::kResolved;
  if (text == "snoozed") return ConversationStatus::kSnoozed;
  return std::nullopt;
}

const char* SenderTypeName(SenderType type) {
  switch (type) {
    case SenderType::kCustomer: return "customer";
    case SenderType::kOperator: return "operator";
    case SenderType::kAccount: return "account";
    case SenderType::kBot: return "bot";
    case SenderType::kSystem: return "system";
  }
  return "system";
}

std::optional<SenderType> ParseSenderType(std::string_view text) {
  if (text == "customer") return SenderType::kCustomer;
  if (text == "operator") return SenderType::kOperator;
  if (text == "account") return SenderType::kAccount;
  if (text == "bot") return SenderType::kBot;
  if (text == "system") return SenderType::kSystem;
  return std::nullopt;
}

const char* MemberRoleName(MemberRole role) {
  switch (role) {
    case MemberRole::kOwner: return "owner";
    case MemberRole::kAdmin: return "admin";
    case MemberRole::kMember: return "member";
  }
  return "member";
}

std::optional<MemberRole> ParseMemberRole(std::string_view text) {
  if (text == "owner") return MemberRole::kOwner;
  if (text == "admin") return MemberRole::kAdmin;
  if (text == "member") return MemberRole::kMember;
  return std::nullopt;
}

const char* OperatorStatusName(OperatorStatus status) {
  switch (status) {
    case OperatorStatus::kActive: return "active";
    case OperatorStatus::kInactive: return "inactive";
    case OperatorStatus::kDeleted: return "deleted";
  }
  return "inactive";
}

std::optional<OperatorStatus> ParseOperatorStatus(std::string_view text) {
  if (text == "active") return OperatorStatus::kActive;
  if (text == "inactive") return OperatorStatus::kInactive;
  if (text == "deleted") return OperatorStatus::kDeleted;
  return std::nullopt;
}

const char* AssignmentModeName(AssignmentMode mode) {
  switch (mode) {
    case AssignmentMode::kManual: return "manual";
    case AssignmentMode::kRoundRobin: return "round_robin";
  }
  return "manual";
}

std::optional<AssignmentMode> ParseAssignmentMode(std::string_view text) {
  if (text == "manual") return AssignmentMode::kManual;
  if (text == "round_robin") return AssignmentMode::kRoundRobin;
  return std::nullopt;
}

const char* KnowledgeTypeName(KnowledgeType type) {
  switch (type) {
    case KnowledgeType::kText: return "text";
    case KnowledgeType::kQa: return "qa";
  }
  return "text";
}

std::optional<KnowledgeType> ParseKnowledgeType(std::string_view text) {
  if (text == "text") return KnowledgeType::kText;
  if (text == "qa") return KnowledgeType::kQa;
  return std::nullopt;
}

}  // namespace libchat
