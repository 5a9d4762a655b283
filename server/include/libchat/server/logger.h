// Logger: one line per event on stderr, "2026-11-21T02:37:10.123Z info message".
// An instance, not a global: the host decides where a server's log goes.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "libchat/export.h"
#include "libchat/server/config.h"

namespace libchat::server {

class LIBCHAT_SERVER_API Logger {
 public:
  using Sink = std::function<void(std::string_view line)>;
  // Default sink: stderr.
  explicit Logger(LogLevel level, Sink sink = nullptr);

  bool Enabled(LogLevel level) const { return level <= level_; }
  void Log(LogLevel level, std::string_view message);
  void Error(std::string_view m) { Log(LogLevel::kError, m); }
  void Warn(std::string_view m) { Log(LogLevel::kWarn, m); }
  void Info(std::string_view m) { Log(LogLevel::kInfo, m); }
  void Debug(std::string_view m) { Log(LogLevel::kDebug, m); }

 private:
  LogLevel level_;
  Sink sink_;
  std::mutex mutex_;
};

}  // namespace libchat::server
