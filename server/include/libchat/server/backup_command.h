// `libchat-server backup DESTINATION`: an online copy of the server's SQLite store and of its secrets key
// file, for hosts that run the same command from their own tooling.
//
// The database (config.database_path) is copied with libchat::BackupSqliteDatabase (libchat/backup.h):
// one consistent snapshot taken while a server keeps writing, verified, then renamed into place.
//
// The secrets key (it seals provider credentials and webhook secrets; it is not in the database) is
// decided here: with a key file (config.secrets_key_file, default "<db>.key") that exists and
// config.backup_copy_key set (the default), the file is copied to "DESTINATION.key" (mode 0600), so the
// pair restores together: the server's default key file of a database "X" is "X.key". The copy is as secret
// as the key itself: store the backups accordingly, or pass --no-key and back the key up on its own. A key
// given directly (CHAT_SECRETS_KEY) is not copied; the report says to keep it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "libchat/export.h"
#include "libchat/server/config.h"
#include "libchat/status.h"

namespace libchat::server {

struct BackupReport {
  std::string database;     // the source, config.database_path
  std::string destination;  // the verified copy
  std::uintmax_t bytes = 0;  // its size
  std::string key_file;       // the database's secrets key file ("" when the key is given directly)
  std::string key_file_copy;  // where it was copied ("" when it was not)
  // What the operator must know about the key, one sentence per line (never the key itself).
  std::vector<std::string> notes;
};

// Runs the backup config describes (config.command need not be kBackup). Errors are those of
// BackupSqliteDatabase, plus kInvalidArgument for an empty config.backup_destination and kAlreadyExists for
// an existing "DESTINATION.key" without config.backup_force (checked before anything is copied). When the
// key file cannot be copied after the database was, the error says so and the database copy stays.
LIBCHAT_SERVER_API Result<BackupReport> RunBackup(const ServerConfig& config);

}  // namespace libchat::server
