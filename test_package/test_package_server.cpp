// Conan test package, libchat::server: compiles the public server header (which pulls in asio from the
// package's dependencies) and calls into the server library.
#include <cstdio>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "libchat/server/config.h"
#include "libchat/server/server.h"

int main() {
  asio::io_context io;  // a host-owned io_context, as the Server constructor takes it
  auto no_environment = [](const char*) -> const char* { return nullptr; };
  auto config = libchat::server::LoadConfig({"--listen", "127.0.0.1:0"}, no_environment);
  if (!config.ok()) {
    std::fprintf(stderr, "test_package_server: LoadConfig failed: %s\n", config.status().ToString().c_str());
    return 1;
  }
  std::printf("libchat::server: listen %s:%u, log level %s\n", config->listen_host.c_str(),
              static_cast<unsigned>(config->listen_port), libchat::server::LogLevelName(config->log_level));
  return 0;
}
