// Conan test package: a host program that links libchat::libchat from the created package and runs the
// core loop once through the public API: open a store, register an owner, create an app, send a message
// as a customer and read it back as the owner. Exits non-zero (with the status) when any step fails.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "libchat/chat.h"
#include "libchat/version.h"

namespace {

template <typename T>
T Must(libchat::Result<T> result, const char* what) {
  if (!result.ok()) {
    std::fprintf(stderr, "test_package: %s failed: %s\n", what, result.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(result).value();
}

}  // namespace

int main(int argc, char** argv) {
  libchat::Options options;
  options.sqlite.path = argc > 1 ? argv[1] : "test_package.db";
  auto chat = Must(libchat::Chat::Open(std::move(options)), "open");

  auto session = Must(chat->Register({"owner@example.com", "correct horse battery", "Ada"}), "register");
  auto owner = Must(chat->Authenticate({session.token, "", "", ""}), "authenticate owner");
  auto app = Must(chat->CreateApp(owner, {"Support", std::nullopt, std::nullopt, false}), "create app");

  auto sdk = Must(chat->Authenticate({"", app.app.publishable_key, "", ""}), "authenticate sdk");
  libchat::SdkSendRequest request;
  request.message.text = "Hello from the Conan test package";
  request.customer.name = "Grace";
  auto sent = Must(chat->SdkSendMessage(sdk, request), "send message");

  auto history = Must(chat->ListMessages(owner, sent.conversation.id, {}), "list messages");
  if (history.size() != 1 || history[0].text != request.message.text) {
    std::fprintf(stderr, "test_package: expected the one message back, got %zu\n", history.size());
    return 1;
  }
  std::printf("libchat %s: #%lld %s: %s\n", LIBCHAT_VERSION, static_cast<long long>(history[0].seq),
              libchat::SenderTypeName(history[0].sender.type), history[0].text.c_str());
  return 0;
}
