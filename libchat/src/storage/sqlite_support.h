// Helpers shared by the SQLite store's statement files (sqlite_store.cpp,
// sqlite_delivery.cpp): stepping a one-row query, renaming mapped errors, and the
// opaque keyset cursors of paginated listings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "libchat/status.h"
#include "storage/sqlite_db.h"

namespace libchat::internal {

// kInternal "stored <what> is invalid": a row this build cannot read back.
Status CorruptRow(const char* what);

// Rewrites the generic message of a mapped SQLite error into one that names
// the record, for the codes a caller acts on (nullptr: keep the message).
Status Explain(Status st, const char* already_exists, const char* not_found);

// Steps a query expected to return at most one row: true for a row, false for none.
Result<bool> StepOne(SqliteStmt& s, std::string_view context);

// A listing position: the sort key of the last row returned (a number such as a
// timestamp, and a text such as an id). Encoded as base64url("<number>|<text>").
struct Cursor {
  std::int64_t number = 0;
  std::string text;
};
std::string EncodeCursor(std::int64_t number, std::string_view text);
// kInvalidArgument for anything EncodeCursor did not produce.
Result<Cursor> DecodeCursor(std::string_view cursor);

}  // namespace libchat::internal
