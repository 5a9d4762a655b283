#include "libchat/server/logger.h"

#include <chrono>
#include <cstdio>

#include "libchat/types.h"

namespace libchat::server {

Logger::Logger(LogLevel level, Sink sink) : level_(level), sink_(std::move(sink)) {}

void Logger::Log(LogLevel level, std::string_view message) {
  if (!Enabled(level)) return;
  const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  std::string line = FormatTimestamp(now);
  line += ' ';
  line += LogLevelName(level);
  line += ' ';
  line += message;
  std::lock_guard lock(mutex_);
  if (sink_) {
    sink_(line);
  } else {
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}

}  // namespace libchat::server
