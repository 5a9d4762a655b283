#include "storage/sqlite_db.h"

#include <string>
#include <utility>

namespace libchat::internal {

bool IsSqliteUnavailable(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return true;
    default:
      return false;
  }
}

Status SqliteError(int rc, std::string_view context) {
  // sqlite3_errstr gives the generic text of a code ("database is locked"),
  // never the statement or the names in it, unlike sqlite3_errmsg.
  std::string message(context);
  message += ": ";
  message += sqlite3_errstr(rc);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return NotFoundError(std::move(message));
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT) {
      return AlreadyExistsError(std::move(message));
    }
    return InternalError(std::move(message));  // NOT NULL / CHECK: a bug in the caller or the store
  }
  if (IsSqliteUnavailable(rc)) return UnavailableError(std::move(message));
  return InternalError(std::move(message));
}

// ---------------------------------------------------------------------------
// SqliteStmt

SqliteStmt::~SqliteStmt() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

void SqliteStmt::Bind(int index, std::string_view text) {
  // A zero-length blob of a null pointer would bind NULL: give SQLite a real pointer.
  const char* data = text.data() != nullptr ? text.data() : "";
  sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

void SqliteStmt::Bind(int index, std::int64_t value) { sqlite3_bind_int64(stmt_, index, value); }

void SqliteStmt::Bind(int index, double value) { sqlite3_bind_double(stmt_, index, value); }

void SqliteStmt::Bind(int index, const std::optional<Timestamp>& t) {
  if (t) {
    Bind(index, ToMillis(*t));
  } else {
    BindNull(index);
  }
}

void SqliteStmt::BindNull(int index) { sqlite3_bind_null(stmt_, index); }

int SqliteStmt::Step() { return sqlite3_step(stmt_); }

Status SqliteStmt::Run(std::string_view context) {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
  return SqliteError(rc, context);
}

bool SqliteStmt::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::int64_t SqliteStmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

double SqliteStmt::Double(int col) const { return sqlite3_column_double(stmt_, col); }

std::string_view SqliteStmt::TextView(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  if (text == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(text),
                          static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string SqliteStmt::Text(int col) const { return std::string(TextView(col)); }

std::optional<Timestamp> SqliteStmt::OptTime(int col) const {
  if (IsNull(col)) return std::nullopt;
  return FromMillis(Int(col));
}

// ---------------------------------------------------------------------------
// SqliteConnection

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(const std::string& path,
                                                                 const Options& options) {
  // NOMUTEX: each connection is confined to one thread at a time by its owner.
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
  flags |= options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    // The handle is allocated even on most failures and must be closed.
    if (db != nullptr) sqlite3_close_v2(db);
    return SqliteError(rc, "cannot open the database");
  }
  std::unique_ptr<SqliteConnection> conn(new SqliteConnection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  return conn;
}

SqliteConnection::~SqliteConnection() {
  for (auto& entry : cache_) sqlite3_finalize(entry.second);
  cache_.clear();
  // close_v2 never fails with BUSY: it defers the close until the last statement is gone.
  sqlite3_close_v2(db_);
}

Status SqliteConnection::Exec(const char* sql, std::string_view context) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(rc, context);
  return Status::Ok();
}

Result<std::int64_t> SqliteConnection::QueryInt(const char* sql, std::string_view context) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(rc, context);
  rc = sqlite3_step(stmt);
  std::int64_t value = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(rc, context);
  return value;
}

Result<std::string> SqliteConnection::QueryText(const char* sql, std::string_view context) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(rc, context);
  rc = sqlite3_step(stmt);
  std::string value;
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) {
      value.assign(reinterpret_cast<const char*>(text),
                   static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0)));
    }
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(rc, context);
  return value;
}

Result<SqliteStmt> SqliteConnection::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return SqliteStmt(it->second);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(rc, "cannot prepare a statement");
  }
  cache_.emplace(sql, stmt);
  return SqliteStmt(stmt);
}

int SqliteConnection::Changes() const { return sqlite3_changes(db_); }

bool SqliteConnection::AutoCommit() const { return sqlite3_get_autocommit(db_) != 0; }

}  // namespace libchat::internal
