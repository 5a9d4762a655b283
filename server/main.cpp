// libchat-server: configuration in, Chat and Server up, signals to a graceful stop; or `backup`.
// Everything it does is the libchat::server library's public API, which a host can call the same way.
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "libchat/chat.h"
#include "libchat/server/backup_command.h"
#include "libchat/server/chat_options.h"
#include "libchat/server/config.h"
#include "libchat/server/logger.h"
#include "libchat/server/server.h"
#include "libchat/version.h"

namespace {

// `libchat-server backup DESTINATION`: prints what was written, and what to know about the key, to stdout.
int Backup(const libchat::server::ServerConfig& config) {
  auto report = libchat::server::RunBackup(config);
  if (!report.ok()) {
    std::fprintf(stderr, "libchat-server backup: %s\n", report.status().message().c_str());
    return 1;
  }
  std::printf("backed up %s to %s (%ju bytes, integrity check ok)\n", report->database.c_str(),
              report->destination.c_str(), report->bytes);
  for (const std::string& note : report->notes) std::printf("%s\n", note.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace libchat;
  auto config = server::LoadConfig(std::vector<std::string>(argv + 1, argv + argc), [](const char* name) {
    return std::getenv(name);
  });
  if (!config.ok()) {
    std::fprintf(stderr, "libchat-server: %s\n", config.status().message().c_str());
    return 2;
  }
  if (config->show_help) {
    std::fputs(server::ConfigHelpText().c_str(), stdout);
    return 0;
  }
  if (config->show_version) {
    std::puts(LIBCHAT_VERSION);
    return 0;
  }
  if (config->command == server::ServerConfig::Command::kBackup) return Backup(*config);
  server::Logger log(config->log_level);

  auto options = server::ChatOptionsFromConfig(*config);
  if (!options.ok()) {
    log.Error(options.status().message());
    return 1;
  }
  auto chat = Chat::Open(std::move(options).value());
  if (!chat.ok()) {
    log.Error("cannot open the store " + config->database_path + ": " + chat.status().ToString());
    return 1;
  }

  asio::io_context io(config->io_threads);
  server::Server server(io, **chat, *config, log);
  if (Status st = server.Start(); !st.ok()) {
    log.Error(st.message());
    return 1;
  }
  log.Info("libchat-server " LIBCHAT_VERSION " listening on http://" + config->listen_host + ":" +
           std::to_string(server.port()) + " (store " + config->database_path + ")");

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int signal) {
    if (ec) return;
    log.Info(std::string("received ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");
    server.Shutdown();
  });

  std::vector<std::thread> threads;
  for (int i = 1; i < config->io_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  log.Info("stopped");
  return 0;
}
