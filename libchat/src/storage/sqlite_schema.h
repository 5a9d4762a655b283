// Versioned schema of the SQLite store.
//
// The schema version is PRAGMA user_version; every applied step is also
// recorded in schema_migrations(version, applied_at). Steps are only ever
// appended: a released step is never edited, a change is a new step.
#pragma once

#include "libchat/status.h"
#include "storage/sqlite_db.h"

namespace libchat::internal {

// The version the last migration step brings a database to.
int SqliteSchemaLatestVersion();

// Brings the database to SqliteSchemaLatestVersion() inside one BEGIN IMMEDIATE
// transaction (all steps or none) and returns the version found before. A
// database newer than this build knows is kFailedPrecondition and is left untouched.
// Must be called with foreign keys already configured and no transaction open.
Result<int> MigrateSqliteSchema(SqliteConnection& db);

// Testing only: brings the database to `version` (at most the latest), as an older
// libchat would have left it, so that upgrades from it can be tested.
Status MigrateSqliteSchemaToForTesting(SqliteConnection& db, int version);

}  // namespace libchat::internal
