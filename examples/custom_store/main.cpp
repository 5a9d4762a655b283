// custom_store: a host-implemented libchat::Store, plugged in through Options::store.
//
// The host keeps libchat's SQLite store and adds what its compliance team asks
// for: an audit trail of every message written (new messages, edits, deletes),
// with who wrote it and when. AuditingStore derives from libchat::StoreWrapper
// (every call passed to the inner store) and overrides only the two message writes.
//
// An owner and a customer then talk through the public API; the program prints
// the audit trail the store kept. Run: ./custom_store [database-file]
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "libchat/chat.h"
#include "libchat/providers/store_wrapper.h"

namespace {

// One audited write.
struct AuditEntry {
  std::string action;        // "append", "edit" or "delete"
  std::string conversation;  // "conv_…"
  std::int64_t seq = 0;
  std::string author;        // principal id: "cus_…", "acc_…"
  std::string text;          // the text as stored after the write
};

// Audits the message writes of the store it wraps. A write is audited only once
// the inner store returned OK, that is once it is durable (the Store contract),
// so the trail never lists a message that was not stored. A deduplicated append
// (a retried client_msg_id) stored nothing new and is not audited again.
//
// Thread-safety: libchat calls a Store from many threads at once; the trail has
// its own mutex, and everything else is the inner store's business.
class AuditingStore : public libchat::StoreWrapper {
 public:
  using StoreWrapper::StoreWrapper;

  libchat::Result<libchat::AppendResult> AppendMessage(const libchat::AppendRequest& request,
                                                       const libchat::CommitHook& on_commit) override {
    auto result = inner().AppendMessage(request, on_commit);
    if (result.ok() && result->created) {
      const libchat::Message& m = result->message;
      Record({"append", m.conversation_id.str(), m.seq, m.sender.id, m.text});
    }
    return result;
  }

  libchat::Result<libchat::Message> ReviseMessage(const libchat::MessageRevision& revision) override {
    auto result = inner().ReviseMessage(revision);
    if (result.ok()) {
      Record({revision.deleted ? "delete" : "edit", result->conversation_id.str(), result->seq, revision.editor_id,
              result->text});
    }
    return result;
  }

  std::vector<AuditEntry> trail() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return trail_;
  }

 private:
  void Record(AuditEntry entry) {
    std::lock_guard<std::mutex> lock(mutex_);
    trail_.push_back(std::move(entry));
  }

  mutable std::mutex mutex_;
  std::vector<AuditEntry> trail_;
};

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
  const std::string path = argc > 1 ? argv[1] : "custom_store.db";

  libchat::SqliteStoreOptions sqlite;
  sqlite.path = path;
  auto audit = std::make_shared<AuditingStore>(Must(libchat::OpenSqliteStore(sqlite), "open the SQLite store"));

  libchat::Options options;
  options.store = audit;
  // With a store of its own, libchat does not know where the database lives, so
  // it cannot keep the key that seals webhook and email secrets next to it: name
  // the key file (or set delivery.secrets_key), or the secrets die with the process.
  options.delivery.secrets_key_file = path + ".key";
  auto chat = Must(libchat::Chat::Open(std::move(options)), "open");

  // The owner signs up and creates an app; a customer writes in.
  const std::string email = "owner+" + std::to_string(std::time(nullptr)) + "@example.com";
  auto session = Must(chat->Register({email, "correct horse battery", "Ada"}), "register");
  auto owner = Must(chat->Authenticate({session.token, "", "", ""}), "authenticate owner");
  libchat::AppCreate new_app;
  new_app.name = "Support";
  auto app = Must(chat->CreateApp(owner, new_app), "create app");
  auto sdk = Must(chat->Authenticate({"", app.app.publishable_key, "", ""}), "authenticate sdk");

  libchat::SdkSendRequest first;
  first.message.text = "Hello, I was charged twice.";
  first.message.client_msg_id = "c-1";
  auto sent = Must(chat->SdkSendMessage(sdk, first), "customer message");
  const libchat::ConversationId conversation = sent.conversation.id;

  // The customer's app retries the same message (same client_msg_id): one message, one audit entry.
  auto customer = Must(chat->Authenticate({sent.session_token, app.app.publishable_key, "", ""}), "customer session");
  first.conversation_id = conversation;
  auto retried = Must(chat->SdkSendMessage(customer, first), "retried message");
  std::printf("retry deduplicated: %s\n", retried.created ? "no" : "yes");

  // The owner replies, then corrects the reply.
  auto reply = Must(chat->SendMessage(owner, conversation, {"Sorry! Refund issued.", "o-1", ""}), "reply");
  libchat::MessageEdit edit;
  edit.text = "Sorry! The refund is on its way (3-5 days).";
  Must(chat->EditMessage(owner, conversation, reply.message.id, edit), "edit");

  const std::vector<AuditEntry> trail = audit->trail();
  for (const AuditEntry& e : trail) {
    std::printf("audit: %-6s %s #%lld by %s: %s\n", e.action.c_str(), e.conversation.c_str(),
                static_cast<long long>(e.seq), e.author.c_str(), e.text.c_str());
  }
  std::printf("custom store audited %zu message writes\n", trail.size());
  return trail.size() == 3 ? 0 : 1;
}
