// Internal view of the SQLite store (the public entry is OpenSqliteStore in
// libchat/providers/store.h): counters and schema inspection for tests,
// benchmarks and diagnostics. Includes no SQLite header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libchat/providers/store.h"

namespace libchat::internal {

// Counters of the writer thread since the store was opened.
struct SqliteStoreStats {
  std::uint64_t commits = 0;         // transactions committed (one per batch)
  std::uint64_t ops = 0;             // write operations in those transactions, failed ones included
  std::uint64_t failed_batches = 0;  // batches whose BEGIN or COMMIT failed (all their ops got kUnavailable)
  std::uint64_t max_batch = 0;       // most operations seen in one batch
  std::uint64_t queued = 0;          // operations waiting for the writer right now
  std::uint64_t checkpoints = 0;         // WAL checkpoints completed (both kinds)
  std::uint64_t writer_checkpoints = 0;  // ...run by the writer itself (the WAL reached 2 x checkpoint_frames)
};

// Knobs of the SQLite store that are not public options (tests, benchmarks).
struct SqliteStoreTuning {
  // Most write operations waiting for the writer; more get kResourceExhausted.
  std::size_t max_queue = 100000;
  // WAL size in pages (4 KiB each) from which the background checkpointer runs;
  // from twice that, the writer checkpoints between batches (see sqlite_writer.h).
  int checkpoint_frames = 4096;
};
// OpenSqliteStore(options) is OpenSqliteStoreWithTuning(options, SqliteStoreTuning()).
Result<std::shared_ptr<Store>> OpenSqliteStoreWithTuning(const SqliteStoreOptions& options,
                                                         const SqliteStoreTuning& tuning);

// The counters of a store returned by OpenSqliteStore; nullopt for any other Store.
std::optional<SqliteStoreStats> GetSqliteStoreStats(const Store& store);

// The schema as recorded in a database file, read through a fresh connection.
struct SqliteSchemaInfo {
  int user_version = 0;                // PRAGMA user_version
  std::vector<int> applied_versions;   // schema_migrations, ascending
  int latest_known_version = 0;        // what this build migrates to
};
Result<SqliteSchemaInfo> InspectSqliteSchema(const std::string& path);

// Testing only: holds the database's write lock (BEGIN IMMEDIATE on a connection
// of its own) until destroyed, so that a store's writer finds the database busy.
class SqliteWriteLockForTesting {
 public:
  virtual ~SqliteWriteLockForTesting() = default;
};
Result<std::unique_ptr<SqliteWriteLockForTesting>> LockSqliteForWritingForTesting(const std::string& path);

// Testing only: overwrites PRAGMA user_version of a closed database file, e.g. to
// check that a database from a newer libchat is refused.
Status SetSqliteUserVersionForTesting(const std::string& path, int version);

// Testing only: creates (or brings) the database file at schema `version`, as an
// older libchat would have left it, to test the upgrade to the latest version.
Status CreateSqliteDatabaseAtVersionForTesting(const std::string& path, int version);

}  // namespace libchat::internal
