// embed_in_asio_host: libchat's server inside a host that owns its asio::io_context.
//
// The host opens a Chat from the same configuration the reference server uses, runs libchat's Server on
// its own io_context next to its own work (here a timer), adds its own route (GET /host/health) to the
// same listener, calls that route and one of libchat's (GET /health) over loopback with a tiny blocking
// client, prints both answers and shuts down cleanly.
//
// Run: ./embed_in_asio_host [database-file]
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "libchat/chat.h"
#include "libchat/server/chat_options.h"
#include "libchat/server/config.h"
#include "libchat/server/host_route.h"
#include "libchat/server/logger.h"
#include "libchat/server/server.h"

namespace {

struct Reply {
  int status = 0;  // 0: no HTTP answer (see body)
  std::string body;
};

// GET `target` on 127.0.0.1:`port` with "Connection: close", read to EOF: all a demo needs.
Reply HttpGet(std::uint16_t port, const std::string& target) {
  asio::io_context client_io;  // blocking calls need no run()
  asio::ip::tcp::socket socket(client_io);
  asio::error_code ec;
  socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return {0, "connect: " + ec.message()};
  const std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  asio::write(socket, asio::buffer(request), ec);
  if (ec) return {0, "write: " + ec.message()};
  std::string raw;
  char buffer[4096];
  while (!ec) raw.append(buffer, socket.read_some(asio::buffer(buffer), ec));
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
  const std::size_t head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12 || head_end == std::string::npos) {
    return {0, "malformed response: " + raw.substr(0, 80)};
  }
  return {std::stoi(raw.substr(9, 3)), raw.substr(head_end + 4)};
}

}  // namespace

int main(int argc, char** argv) {
  namespace srv = libchat::server;

  // The same settings libchat-server reads from CHAT_* and its flags; a host can also call LoadConfig.
  srv::ServerConfig config;
  config.database_path = argc > 1 ? argv[1] : "embed_in_asio_host.db";
  config.listen_port = 0;  // any free port; Server::port() tells which
  config.worker_threads = 4;
  auto options = srv::ChatOptionsFromConfig(config);
  if (!options.ok()) {
    std::fprintf(stderr, "options: %s\n", options.status().ToString().c_str());
    return 1;
  }
  auto chat = libchat::Chat::Open(std::move(options).value());
  if (!chat.ok()) {
    std::fprintf(stderr, "open: %s\n", chat.status().ToString().c_str());
    return 1;
  }

  // The host's io_context: libchat's server is one user of it among others.
  asio::io_context io;
  asio::steady_timer host_timer(io, std::chrono::milliseconds(10));
  host_timer.async_wait([](const asio::error_code& ec) {
    if (!ec) std::printf("host timer fired on the shared io_context\n");
  });

  srv::Logger log(srv::LogLevel::kWarn);
  srv::Server server(io, **chat, config, log);
  // The host's own route, on libchat's listener. It runs on the server's worker pool, so it may block.
  libchat::Chat& chat_ref = **chat;
  libchat::Status added = server.AddRoute("GET", "/host/health", [&chat_ref](const srv::HostRequest&) {
    srv::HostResponse response;
    response.body = chat_ref.CheckHealth().ok() ? "host ok (store writable)" : "host degraded";
    response.status = response.body == "host degraded" ? 503 : 200;
    return response;
  });
  if (!added.ok()) {
    std::fprintf(stderr, "add route: %s\n", added.ToString().c_str());
    return 1;
  }
  if (libchat::Status started = server.Start(); !started.ok()) {
    std::fprintf(stderr, "start: %s\n", started.ToString().c_str());
    return 1;
  }
  std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(server.port()));
  std::thread io_thread([&io] { io.run(); });  // the host decides how many threads run its io_context

  const Reply host = HttpGet(server.port(), "/host/health");
  const Reply libchat = HttpGet(server.port(), "/health");
  std::printf("host route    GET /host/health -> %d %s\nlibchat route GET /health      -> %d %s\n", host.status,
              host.body.c_str(), libchat.status, libchat.body.c_str());

  // Graceful: the io_context runs out of work once the server's sockets are closed.
  server.Shutdown();
  io_thread.join();
  const bool ok = host.status == 200 && host.body.rfind("host ok", 0) == 0 && libchat.status == 200 &&
                  libchat.body.find("\"status\":\"ok\"") != std::string::npos;
  if (!ok) {
    std::fprintf(stderr, "unexpected answers\n");
    return 1;
  }
  std::printf("both routes answered on one listener; shut down cleanly\n");
  return 0;
}
