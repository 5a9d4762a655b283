// A host program as a package user writes it: public headers only, linked against
// an installed libchat (find_package or pkg-config) or a libchat built in-tree
// (add_subdirectory). It exits non-zero, saying why, if anything it relies on fails:
// the customer -> owner loop on SQLite, the exported test doubles, the version
// macros, and, with LIBCHAT_CONSUMER_WITH_SERVER, the server library on a host
// io_context.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "libchat/chat.h"
#include "libchat/testing/fake_clock.h"
#include "libchat/testing/memory_store.h"
#include "libchat/version.h"

#ifdef LIBCHAT_CONSUMER_WITH_SERVER
#include <asio/io_context.hpp>

#include "libchat/server/config.h"
#include "libchat/server/logger.h"
#include "libchat/server/server.h"
#endif

namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "consumer: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Must(libchat::Result<T> result, const char* what) {
  if (!result.ok()) Fail(std::string(what) + ": " + result.status().ToString());
  return std::move(result).value();
}

// The whole loop through the facade: returns the owner's reply as the customer reads it.
std::string CustomerOwnerLoop(libchat::Options options) {
  auto chat = Must(libchat::Chat::Open(std::move(options)), "open");
  auto session = Must(chat->Register({"owner@example.com", "correct horse battery", "Ada"}), "register");
  auto owner = Must(chat->Authenticate({session.token, "", "", ""}), "authenticate owner");
  auto app = Must(chat->CreateApp(owner, {"Support", std::nullopt, std::nullopt, false}), "create app");
  auto sdk = Must(chat->Authenticate({"", app.app.publishable_key, "", ""}), "authenticate sdk");
  libchat::SdkSendRequest first;
  first.message.text = "Where is my order?";
  first.message.client_msg_id = "c-1";
  auto sent = Must(chat->SdkSendMessage(sdk, first), "customer message");
  auto customer = Must(chat->Authenticate({sent.session_token, app.app.publishable_key, "", ""}), "customer");
  Must(chat->SendMessage(owner, sent.message.conversation_id, {"It ships today.", "o-1", ""}), "reply");
  auto history = Must(chat->ListMessages(customer, sent.message.conversation_id, {}), "history");
  if (history.size() != 2) Fail("expected 2 messages, got " + std::to_string(history.size()));
  // A foreign principal must not see the conversation: tenant isolation holds through the package too.
  auto other = Must(chat->Register({"other@example.com", "correct horse battery", "Bob"}), "register other");
  auto intruder = Must(chat->Authenticate({other.token, "", "", ""}), "authenticate other");
  if (chat->ListMessages(intruder, sent.message.conversation_id, {}).status().code() != libchat::StatusCode::kNotFound) {
    Fail("another account could read the conversation");
  }
  return history[1].text;
}

}  // namespace

int main(int argc, char** argv) {
  static_assert(LIBCHAT_VERSION_MAJOR >= 0, "version macros");
  std::printf("libchat %s\n", LIBCHAT_VERSION);

  libchat::Options on_disk;
  on_disk.sqlite.path = argc > 1 ? argv[1] : "consumer.db";
  std::remove(on_disk.sqlite.path.c_str());
  std::printf("sqlite: %s\n", CustomerOwnerLoop(std::move(on_disk)).c_str());

  libchat::Options in_memory;
  in_memory.store = libchat::testing::NewMemoryStore();
  in_memory.clock = std::make_shared<libchat::testing::FakeClock>();
  std::printf("memory: %s\n", CustomerOwnerLoop(std::move(in_memory)).c_str());

#ifdef LIBCHAT_CONSUMER_WITH_SERVER
  libchat::Options options;
  options.store = libchat::testing::NewMemoryStore();
  auto chat = Must(libchat::Chat::Open(std::move(options)), "open for the server");
  libchat::server::ServerConfig config;
  config.listen_port = 0;
  config.io_threads = 1;
  config.delivery_workers = 0;
  libchat::server::Logger logger(libchat::server::LogLevel::kError);
  asio::io_context io;
  libchat::server::Server server(io, *chat, config, logger);
  if (libchat::Status st = server.Start(); !st.ok()) Fail("server start: " + st.ToString());
  std::printf("server: listening on port %u\n", static_cast<unsigned>(server.port()));
  server.Shutdown();
  io.run();
  std::printf("server: stopped\n");
#endif
  std::printf("consumer: ok\n");
  return 0;
}
