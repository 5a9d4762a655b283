#include "storage/sqlite_support.h"

#include <charconv>
#include <optional>
#include <system_error>

#include "util/crypto.h"

namespace libchat::internal {

Status CorruptRow(const char* what) { return InternalError(std::string("stored ") + what + " is invalid"); }

Status Explain(Status st, const char* already_exists, const char* not_found) {
  if (st.code() == StatusCode::kAlreadyExists && already_exists != nullptr) {
    return AlreadyExistsError(already_exists);
  }
  if (st.code() == StatusCode::kNotFound && not_found != nullptr) return NotFoundError(not_found);
  return st;
}

Result<bool> StepOne(SqliteStmt& s, std::string_view context) {
  int rc = s.Step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(rc, context);
}

std::string EncodeCursor(std::int64_t number, std::string_view text) {
  std::string raw = std::to_string(number);
  raw += '|';
  raw += text;
  return Base64UrlEncode(raw);
}

Result<Cursor> DecodeCursor(std::string_view cursor) {
  auto invalid = [] { return InvalidArgumentError("invalid cursor"); };
  auto raw = Base64UrlDecode(cursor);
  if (!raw) return invalid();
  std::string_view view(*raw);
  std::size_t bar = view.find('|');
  if (bar == std::string_view::npos || bar == 0 || bar + 1 == view.size()) return invalid();
  Cursor c;
  const char* first = view.data();
  const char* last = view.data() + bar;
  auto [ptr, ec] = std::from_chars(first, last, c.number);
  if (ec != std::errc() || ptr != last) return invalid();
  c.text = std::string(view.substr(bar + 1));
  return c;
}

}  // namespace libchat::internal
