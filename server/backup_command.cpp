#include "libchat/server/backup_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "libchat/backup.h"

namespace libchat::server {
namespace {

namespace fs = std::filesystem;

Status IoError(const std::string& what, int error) {
  return UnavailableError(what + ": " + std::error_code(error, std::generic_category()).message());
}

// Writes `content` to `path` with mode 0600 through a temporary file, fsynced, then renamed into place
// (replacing an existing file only when `overwrite`).
Status WriteSecretFile(const std::string& path, const std::string& content, bool overwrite) {
  const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) return IoError("cannot create " + temporary, errno);
  std::size_t written = 0;
  int error = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errno;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  ::close(fd);
  if (error == 0) {
    if (!overwrite) {
      // link() refuses to replace a file that appeared meanwhile; rename() would not.
      if (::link(temporary.c_str(), path.c_str()) != 0) error = errno;
    } else if (::rename(temporary.c_str(), path.c_str()) != 0) {
      error = errno;
    }
  }
  ::unlink(temporary.c_str());  // after link() or a failure; a no-op after rename()
  if (error == EEXIST) return AlreadyExistsError(path + " already exists");
  if (error != 0) return IoError("cannot write " + path, error);
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return UnavailableError("cannot read the secrets key file " + path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return UnavailableError("cannot read the secrets key file " + path);
  return content;
}

}  // namespace

Result<BackupReport> RunBackup(const ServerConfig& config) {
  if (config.backup_destination.empty()) return InvalidArgumentError("the backup destination is empty");
  BackupReport report;
  report.database = config.database_path;
  report.destination = config.backup_destination;

  // Refusals first, so that they leave nothing behind (BackupSqliteDatabase checks again, atomically).
  std::error_code ec;
  if (!config.backup_force && fs::is_regular_file(config.backup_destination, ec) &&
      !fs::equivalent(config.backup_destination, config.database_path, ec)) {
    return AlreadyExistsError("the backup destination " + config.backup_destination +
                              " already exists (--force replaces it)");
  }
  bool copy_key = false;
  const std::string key_copy = config.backup_destination + ".key";
  if (!config.secrets_key.empty()) {
    report.notes.push_back("The secrets key comes from CHAT_SECRETS_KEY (--secrets-key) and is not in the backup: "
                           "keep it, a restore needs the same key to read sealed provider credentials and "
                           "webhook secrets.");
  } else {
    report.key_file = config.secrets_key_file.empty() ? config.database_path + ".key" : config.secrets_key_file;
    const bool key_exists = fs::is_regular_file(report.key_file, ec);
    if (!key_exists) {
      report.notes.push_back("No secrets key file at " + report.key_file +
                             ": nothing sealed with it to back up (the server creates it on first start).");
    } else if (!config.backup_copy_key) {
      report.notes.push_back("The secrets key file " + report.key_file +
                             " was NOT copied (--no-key): back it up separately; without it a restored database "
                             "cannot read its sealed provider credentials and webhook secrets.");
    } else {
      copy_key = true;
      if (!config.backup_force && fs::exists(key_copy, ec)) {
        return AlreadyExistsError(key_copy + " already exists (--force replaces it)");
      }
    }
  }

  BackupOptions options;
  options.overwrite = config.backup_force;
  if (Status st = BackupSqliteDatabase(config.database_path, config.backup_destination, options); !st.ok()) {
    if (st.code() == StatusCode::kAlreadyExists) return AlreadyExistsError(st.message() + " (--force replaces it)");
    return st;
  }
  report.bytes = fs::file_size(config.backup_destination, ec);

  if (copy_key) {
    auto key = ReadFile(report.key_file);
    Status written = key.ok() ? WriteSecretFile(key_copy, *key, config.backup_force) : key.status();
    if (!written.ok()) {
      return Status(written.code(), "the database was backed up to " + config.backup_destination +
                                        ", but its secrets key file was not copied: " + written.message());
    }
    report.key_file_copy = key_copy;
    report.notes.push_back("Copied the secrets key file " + report.key_file + " to " + key_copy +
                           ": it decrypts the sealed provider credentials and webhook secrets, so store it as "
                           "carefully as a password, and restore it next to the database (as <db>.key, or where "
                           "--secrets-key-file points).");
  }
  return report;
}

}  // namespace libchat::server
