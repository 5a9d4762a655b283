// BackupSqliteDatabase (libchat/backup.h): SQLite's online backup API into a temporary file, an integrity
// check, then an atomic rename.
//
// Consistency while a server writes: with a WAL database the source connection holds one read transaction
// across every backup step, so all pages come from the same snapshot and concurrent commits (by other
// connections, which do not block on a WAL reader) never make the backup restart. libchat's writer only
// runs PASSIVE checkpoints, which skip the frames a reader still needs, so the server is never stalled by
// the copy; its WAL grows until the copy is done. A rollback-journal database (not libchat's own, but
// any SQLite file works) cannot hold a snapshot without blocking writers, so there the backup steps
// without one and restarts when a writer changes the file; past a budget of steps it copies the rest in
// one step (holding the shared lock just for that step).
#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <thread>

#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

#include "libchat/backup.h"
#include "storage/sqlite_db.h"

namespace libchat {
namespace {

namespace fs = std::filesystem;
using internal::SqliteError;

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqlitePtr = std::unique_ptr<sqlite3, SqliteCloser>;

// How long a step may keep finding the source or the destination locked before the backup gives up.
constexpr auto kBusyBudget = std::chrono::seconds(30);
constexpr int kBusyTimeoutMs = 5000;

Result<SqlitePtr> OpenDatabase(const std::string& path, int flags, const std::string& what) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqlitePtr db(raw);  // allocated even on most failures, and closed either way
  if (rc != SQLITE_OK) return SqliteError(rc, "cannot open " + what + " " + path);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  return db;
}

Status Exec(sqlite3* db, const char* sql, const std::string& context) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : SqliteError(rc, context);
}

// The first column of the first row of `sql` as text ("" when there is no row).
Result<std::string> QueryText(sqlite3* db, const char* sql, const std::string& context) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  if (rc != SQLITE_OK) return SqliteError(rc, context);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, &sqlite3_finalize);
  rc = sqlite3_step(raw);
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return SqliteError(rc, context);
  const unsigned char* text = sqlite3_column_text(raw, 0);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text));
}

// Creates an empty file next to `destination` that did not exist before (O_EXCL, so no race with another
// backup) and returns its name. Mode 0600: the copy holds everything the store holds (password hashes,
// sealed secrets, every message), whatever the process umask lets other files be.
Result<std::string> CreateTemporaryFileFor(const std::string& destination) {
  std::random_device device;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::uint64_t suffix = (std::uint64_t{device()} << 32) ^ device();
    char hex[17];
    for (int i = 15; i >= 0; --i) hex[15 - i] = "0123456789abcdef"[(suffix >> (i * 4)) & 0xF];
    hex[16] = '\0';
    std::string path = destination + ".tmp-" + hex;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
      return path;
    }
    if (errno != EEXIST) return UnavailableError("cannot create a file next to " + destination + ": " + std::strerror(errno));
  }
  return UnavailableError("cannot create a temporary file next to " + destination);
}

// Removes the temporary copy and whatever SQLite left beside it; unless released.
class TemporaryFiles {
 public:
  explicit TemporaryFiles(std::string path) : path_(std::move(path)) {}
  ~TemporaryFiles() {
    if (path_.empty()) return;
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path_ + suffix, ignored);
  }
  TemporaryFiles(const TemporaryFiles&) = delete;
  TemporaryFiles& operator=(const TemporaryFiles&) = delete;
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

// Checks the paths before anything is opened, so that the common mistakes get a message of their own.
Status CheckPaths(const std::string& source, const std::string& destination, bool overwrite) {
  if (source.empty()) return InvalidArgumentError("the backup source path is empty");
  if (destination.empty()) return InvalidArgumentError("the backup destination path is empty");
  std::error_code ec;
  const fs::file_status source_status = fs::status(source, ec);
  if (!fs::exists(source_status)) return NotFoundError("the database " + source + " does not exist");
  if (!fs::is_regular_file(source_status)) {
    return InvalidArgumentError("the database " + source + " is not a regular file");
  }
  const fs::file_status destination_status = fs::status(destination, ec);
  if (fs::exists(destination_status)) {
    if (fs::is_directory(destination_status)) {
      return InvalidArgumentError("the backup destination " + destination +
                                  " is a directory; name the file to create");
    }
    if (fs::equivalent(source, destination, ec)) {
      return InvalidArgumentError("the backup destination " + destination + " is the database itself");
    }
    if (!overwrite) {
      return AlreadyExistsError("the backup destination " + destination + " already exists");
    }
  }
  fs::path directory = fs::path(destination).parent_path();
  if (directory.empty()) directory = ".";
  if (!fs::is_directory(directory, ec)) {
    return NotFoundError("the directory of the backup destination " + destination + " does not exist");
  }
  return Status::Ok();
}

// Copies every page of `source` into `destination` with the backup API, `pages_per_step` at a time.
Status CopyPages(sqlite3* source, sqlite3* destination, const BackupOptions& options, bool holds_snapshot,
                 const std::string& source_path) {
  sqlite3_backup* backup = sqlite3_backup_init(destination, "main", source, "main");
  if (backup == nullptr) return SqliteError(sqlite3_extended_errcode(destination), "cannot start the backup");
  int pages = options.pages_per_step > 0 ? options.pages_per_step : -1;
  // Without a snapshot a busy writer can restart the copy forever: past this many steps it finishes in one.
  long long step_budget = -1;
  auto busy_since = std::chrono::steady_clock::time_point();
  int rc = SQLITE_OK;
  for (long long steps = 0;; ++steps) {
    rc = sqlite3_backup_step(backup, pages);
    if (rc == SQLITE_DONE) break;
    const int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
      const auto now = std::chrono::steady_clock::now();
      if (busy_since == std::chrono::steady_clock::time_point()) busy_since = now;
      if (now - busy_since > kBusyBudget) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (rc != SQLITE_OK) break;
    busy_since = std::chrono::steady_clock::time_point();
    if (!holds_snapshot && pages > 0) {
      if (step_budget < 0) step_budget = 4 * (sqlite3_backup_pagecount(backup) / pages + 1) + 16;
      if (steps >= step_budget) pages = -1;
    }
    if (options.pause_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(options.pause_ms));
  }
  const int finish_rc = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    if ((rc & 0xff) == SQLITE_NOTADB) return InvalidArgumentError(source_path + " is not an SQLite database");
    return SqliteError(rc, "the backup of " + source_path + " failed");
  }
  if (finish_rc != SQLITE_OK) return SqliteError(finish_rc, "the backup of " + source_path + " failed");
  return Status::Ok();
}

// Makes `temporary` a single self-contained file (rollback journal mode, so no -wal beside it is needed;
// libchat switches a restored store back to WAL when it opens it) and runs the integrity check on it.
Status FinishAndVerify(sqlite3* copy, const std::string& destination) {
  auto mode = QueryText(copy, "PRAGMA journal_mode = DELETE", "cannot finish the backup " + destination);
  if (!mode.ok()) return mode.status();
  auto check = QueryText(copy, "PRAGMA integrity_check", "cannot verify the backup " + destination);
  if (!check.ok()) return check.status();
  if (*check != "ok") return InternalError("the backup " + destination + " failed its integrity check: " + *check);
  return Status::Ok();
}

// Moves the verified copy into place: atomically, and without replacing a file that appeared meanwhile
// unless overwriting was asked for.
Status Publish(const std::string& temporary, const std::string& destination, bool overwrite) {
#ifndef _WIN32
  if (!overwrite) {
    // link() fails with EEXIST instead of replacing, unlike rename().
    if (::link(temporary.c_str(), destination.c_str()) != 0) {
      const std::error_code ec(errno, std::generic_category());
      if (ec == std::errc::file_exists) {
        return AlreadyExistsError("the backup destination " + destination + " already exists");
      }
      // A file system without hard links: fall through to rename after one more check.
      std::error_code ignored;
      if (fs::exists(destination, ignored)) {
        return AlreadyExistsError("the backup destination " + destination + " already exists");
      }
    } else {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      return Status::Ok();
    }
  }
#endif
  std::error_code ec;
  fs::rename(temporary, destination, ec);
  if (ec) return UnavailableError("cannot move the backup into place at " + destination + ": " + ec.message());
  return Status::Ok();
}

// Makes the new directory entry durable (POSIX: fsync of the directory).
void SyncDirectoryOf(const std::string& path) {
#ifndef _WIN32
  fs::path directory = fs::path(path).parent_path();
  if (directory.empty()) directory = ".";
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
#else
  (void)path;
#endif
}

}  // namespace

Status BackupSqliteDatabase(const std::string& source, const std::string& destination,
                            const BackupOptions& options) {
  if (Status st = CheckPaths(source, destination, options.overwrite); !st.ok()) return st;

  // Read-write (never created: the file exists), so that a WAL database is read the usual way, with its
  // -shm; the connection only ever reads.
  auto source_db = OpenDatabase(source, SQLITE_OPEN_READWRITE, "the database");
  if (!source_db.ok()) return source_db.status();
  sqlite3* src = source_db->get();
  auto tables = QueryText(src, "SELECT count(*) FROM sqlite_master", "cannot read the database " + source);
  if (!tables.ok()) {
    if ((sqlite3_extended_errcode(src) & 0xff) == SQLITE_NOTADB) {
      return InvalidArgumentError(source + " is not an SQLite database");
    }
    return tables.status();
  }
  auto journal_mode = QueryText(src, "PRAGMA journal_mode", "cannot read the database " + source);
  if (!journal_mode.ok()) return journal_mode.status();
  const bool wal = *journal_mode == "wal";
  if (wal) {
    // The snapshot every step copies from (see the top of the file); the SELECT starts the read transaction.
    if (Status st = Exec(src, "BEGIN", "cannot start reading " + source); !st.ok()) return st;
    auto started = QueryText(src, "SELECT count(*) FROM sqlite_master", "cannot start reading " + source);
    if (!started.ok()) return started.status();
  }

  auto created = CreateTemporaryFileFor(destination);
  if (!created.ok()) return created.status();
  const std::string temporary = *created;
  TemporaryFiles cleanup(temporary);
  {
    auto copy_db = OpenDatabase(temporary, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "the backup file");
    if (!copy_db.ok()) return copy_db.status();
    Status copied = CopyPages(src, copy_db->get(), options, wal, source);
    if (wal) (void)sqlite3_exec(src, "COMMIT", nullptr, nullptr, nullptr);  // ends the read transaction
    source_db->reset();
    if (!copied.ok()) return copied;
    if (Status st = FinishAndVerify(copy_db->get(), destination); !st.ok()) return st;
    const int rc = sqlite3_close(copy_db->release());
    if (rc != SQLITE_OK) return SqliteError(rc, "cannot close the backup " + destination);
  }
  if (Status st = Publish(temporary, destination, options.overwrite); !st.ok()) return st;
  cleanup.Release();
  SyncDirectoryOf(destination);
  return Status::Ok();
}

Status BackupSqliteDatabase(const std::string& source, const std::string& destination) {
  return BackupSqliteDatabase(source, destination, BackupOptions());
}

}  // namespace libchat
