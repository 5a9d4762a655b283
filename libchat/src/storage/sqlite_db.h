// Thin RAII layer over the SQLite C API for the SQLite store: a connection that
// owns a cache of persistent prepared statements, and a borrowed statement
// handle that resets itself when it goes out of scope.
//
// Internal to libchat/src/storage: this and the sqlite_*.cpp files are the only
// places that include <sqlite3.h>.
//
// Threading: a SqliteConnection is NOT thread-safe (connections are opened with
// SQLITE_OPEN_NOMUTEX). Each one is used by one thread at a time: the writer
// connection only by the writer thread, read connections through the pool.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "libchat/status.h"
#include "libchat/types.h"

namespace libchat::internal {

// Maps an SQLite result code (primary or extended) to a Status whose message is
// "<context>: <generic SQLite error text>" and never contains SQL:
//   UNIQUE / PRIMARY KEY constraint -> kAlreadyExists, FOREIGN KEY constraint -> kNotFound,
//   BUSY / LOCKED / IOERR / FULL / READONLY / CANTOPEN / PROTOCOL -> kUnavailable, anything else -> kInternal.
Status SqliteError(int rc, std::string_view context);
// True for the codes SqliteError maps to kUnavailable.
bool IsSqliteUnavailable(int rc);

inline std::int64_t ToMillis(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp FromMillis(std::int64_t ms) { return Timestamp(std::chrono::milliseconds(ms)); }

// A cached statement borrowed from a SqliteConnection for one execution. On
// destruction it is reset and its bindings cleared, so it can be reused.
//
// Text is bound with SQLITE_STATIC: the bound string must outlive this object
// (bind lvalues only; binding a temporary std::string does not compile).
class SqliteStmt {
 public:
  explicit SqliteStmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~SqliteStmt();
  SqliteStmt(SqliteStmt&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  SqliteStmt& operator=(SqliteStmt&&) = delete;
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  // Parameters are 1-based, as in SQLite.
  void Bind(int index, std::string_view text);
  void Bind(int index, const std::string& text) { Bind(index, std::string_view(text)); }
  void Bind(int index, std::string&& text) = delete;
  void Bind(int index, const char* text) = delete;  // ambiguous with int; use string_view
  void Bind(int index, std::int64_t value);
  void Bind(int index, double value);
  void Bind(int index, int value) { Bind(index, static_cast<std::int64_t>(value)); }
  void Bind(int index, bool value) { Bind(index, static_cast<std::int64_t>(value ? 1 : 0)); }
  void Bind(int index, Timestamp t) { Bind(index, ToMillis(t)); }
  void Bind(int index, const std::optional<Timestamp>& t);  // NULL when absent
  void BindNull(int index);

  // SQLITE_ROW, SQLITE_DONE, or an (extended) error code.
  int Step();
  // Steps a statement that returns no rows; SQLITE_DONE becomes OK.
  Status Run(std::string_view context);

  // Columns are 0-based, as in SQLite. NULL text reads as "", NULL integers as 0.
  bool IsNull(int col) const;
  std::int64_t Int(int col) const;
  double Double(int col) const;
  bool Bool(int col) const { return Int(col) != 0; }
  std::string Text(int col) const;
  std::string_view TextView(int col) const;  // valid until the next Step / reset
  Timestamp Time(int col) const { return FromMillis(Int(col)); }
  std::optional<Timestamp> OptTime(int col) const;

  sqlite3_stmt* handle() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

class SqliteConnection {
 public:
  struct Options {
    bool read_only = false;
    int busy_timeout_ms = 5000;
  };

  // Opens (for a writer: creates) the database file. Extended result codes are on.
  static Result<std::unique_ptr<SqliteConnection>> Open(const std::string& path, const Options& options);
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // Runs one or more statements that return no rows (pragmas, DDL, BEGIN/COMMIT).
  Status Exec(const char* sql, std::string_view context);
  // Runs a one-row, one-column query (e.g. a PRAGMA) and returns its integer.
  Result<std::int64_t> QueryInt(const char* sql, std::string_view context);
  // Runs a one-row, one-column query and returns its text.
  Result<std::string> QueryText(const char* sql, std::string_view context);

  // The cached statement for `sql`, prepared on first use with
  // SQLITE_PREPARE_PERSISTENT. The cache is keyed by the pointer, so `sql` must be
  // a string with static storage duration (or one that outlives the connection).
  Result<SqliteStmt> Prepare(const char* sql);

  // Rows changed by the last INSERT/UPDATE/DELETE on this connection (not cascades).
  int Changes() const;
  // True when no transaction is open (e.g. after SQLite rolled one back on its own).
  bool AutoCommit() const;
  sqlite3* handle() const { return db_; }

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

}  // namespace libchat::internal
