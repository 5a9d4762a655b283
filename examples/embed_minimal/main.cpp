// embed_minimal: the whole customer <-> owner loop in-process, no server.
//
// An owner registers and creates an app; a customer's first SDK message creates
// a support conversation; the owner sees it with its unread count and replies;
// the customer reads the history. Run: ./embed_minimal [database-file]
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "libchat/chat.h"

namespace {

// Prints the status and exits when a call failed; returns the value otherwise.
template <typename T>
T Must(libchat::Result<T> result, const char* what) {
  if (!result.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, result.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(result).value();
}

}  // namespace

int main(int argc, char** argv) {
  libchat::Options options;
  options.sqlite.path = argc > 1 ? argv[1] : "embed_minimal.db";
  auto chat = Must(libchat::Chat::Open(std::move(options)), "open");

  // The owner signs up and creates an app.
  const std::string email = "owner+" + std::to_string(std::time(nullptr)) + "@example.com";
  auto session = Must(chat->Register({email, "correct horse battery", "Ada"}), "register");
  auto owner = Must(chat->Authenticate({session.token, "", "", ""}), "authenticate owner");
  auto app = Must(chat->CreateApp(owner, {"Support", std::nullopt, std::nullopt, false}), "create app");

  // A customer's SDK, holding only the publishable key, sends a first message.
  auto sdk = Must(chat->Authenticate({"", app.app.publishable_key, "", ""}), "authenticate sdk");
  libchat::SdkSendRequest first;
  first.message.text = "Hi! My order has not arrived.";
  first.message.client_msg_id = "c-1";
  first.customer.name = "Grace";
  auto sent = Must(chat->SdkSendMessage(sdk, first), "customer message");
  auto customer = Must(chat->Authenticate({sent.session_token, app.app.publishable_key, "", ""}), "customer session");

  // The owner's inbox shows the new conversation with one unread message.
  auto inbox = Must(chat->ListConversations(owner, app.app.id, {}), "list conversations");
  const libchat::Conversation& conversation = inbox.data.at(0);
  std::printf("inbox: %zu conversation(s); %s has %lld unread\n", inbox.data.size(), conversation.id.str().c_str(),
              static_cast<long long>(conversation.unread_count));

  Must(chat->MarkRead(owner, conversation.id, conversation.last_seq), "mark read");
  Must(chat->SendMessage(owner, conversation.id, {"Sorry about that! It ships today.", "o-1", ""}), "reply");

  // The customer reads the whole history, in sequence order.
  auto history = Must(chat->ListMessages(customer, conversation.id, {}), "history");
  for (const libchat::Message& m : history) {
    std::printf("#%lld %-8s %s\n", static_cast<long long>(m.seq), libchat::SenderTypeName(m.sender.type),
                m.text.c_str());
  }
  return 0;
}
