// Online backup of libchat's SQLite store (the file Options::sqlite.path names).
//
//   if (auto st = libchat::BackupSqliteDatabase("/var/lib/libchat/chat.db", "/backup/chat-2026-11-21.db");
//       !st.ok()) { ... st.message() ... }
//
// The copy is taken with SQLite's online backup API while other connections, in this process or another
// one (a running libchat-server), keep reading and writing: it is one consistent snapshot of the database
// as it was when the copy started (the WAL mode of libchat's store lets writers go on meanwhile; the WAL
// file then grows until the copy is done). It is written to a temporary file next to the destination,
// checked with `PRAGMA integrity_check` and only then renamed into place, so the destination is either
// absent or a complete, verified database; never a half-written one.
//
// The secrets key that seals provider credentials and webhook secrets (Options::delivery.secrets_key_file,
// by default "<database>.key") is NOT inside the database: back it up too, or the copy's sealed secrets
// cannot be read after a restore. `libchat-server backup` copies it next to the backup.
#pragma once

#include <string>

#include "libchat/export.h"
#include "libchat/status.h"

namespace libchat {

struct BackupOptions {
  // Replace an existing destination file. Default: false, an existing destination is kAlreadyExists.
  bool overwrite = false;
  // Database pages copied per step; between steps the copy pauses for `pause_ms`, so a large copy does
  // not monopolize the disk of a busy server. Default: 1024 pages (4 MiB with the default page size), 2 ms.
  int pages_per_step = 1024;
  int pause_ms = 2;
};

// Copies the SQLite database `source` to the file `destination`, as described above.
//   kInvalidArgument: an empty path, `destination` is a directory or the same file as `source`, or
//                     `source` is not an SQLite database;
//   kNotFound:        `source` does not exist, or the destination's directory does not;
//   kAlreadyExists:   `destination` exists and options.overwrite is false;
//   kUnavailable:     an I/O error, a full disk, a database locked for too long;
//   kInternal:        the copy failed its integrity check (nothing is left at `destination`).
// Messages name the paths and the cause, never SQL.
LIBCHAT_API Status BackupSqliteDatabase(const std::string& source, const std::string& destination,
                                        const BackupOptions& options);
// The same with the default BackupOptions (never overwrites).
LIBCHAT_API Status BackupSqliteDatabase(const std::string& source, const std::string& destination);

}  // namespace libchat
