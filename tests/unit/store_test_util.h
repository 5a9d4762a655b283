// Helpers for tests that run against every Store backend: the backends as types (for
// TEMPLATE_TEST_CASE), assertion macros for Status / Result, and a factory of well-formed records.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>

#include "catch.h"
#include "libchat/providers/store.h"
#include "libchat/status.h"
#include "libchat/testing/memory_store.h"
#include "libchat/types.h"

namespace libchat::test {

// A fresh, empty store that lives as long as this object.
class TestStore {
 public:
  TestStore() = default;
  TestStore(const TestStore&) = delete;
  TestStore& operator=(const TestStore&) = delete;
  virtual ~TestStore() = default;

  Store& operator*() const { return *store_; }
  Store* operator->() const { return store_.get(); }
  const std::shared_ptr<Store>& shared() const { return store_; }

 protected:
  std::shared_ptr<Store> store_;
};

struct MemoryBackend : TestStore {
  MemoryBackend() { store_ = testing::NewMemoryStore(); }
};

// SQLite on a unique file under /tmp, removed (with its -wal / -shm files) afterwards.
struct SqliteBackend : TestStore {
  SqliteBackend() {
    std::random_device entropy;
    std::ostringstream name;
    name << "/tmp/libchat_store_test_" << ::getpid() << "_" << std::hex << entropy() << entropy() << ".db";
    path_ = name.str();
    SqliteStoreOptions options;
    options.path = path_;
    // Durability across power loss is not what these tests check; fsync per commit only slows them.
    options.synchronous_full = false;
    auto opened = OpenSqliteStore(options);
    INFO(opened.status().ToString());
    REQUIRE(opened.ok());
    store_ = std::move(opened).value();
  }
  ~SqliteBackend() override {
    store_.reset();  // closes the database (and joins its writer) before the files go
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path_ + suffix).c_str());
  }

 private:
  std::string path_;
};

inline Status StatusOf(const Status& status) { return status; }
template <typename T>
Status StatusOf(const Result<T>& result) {
  return result.status();
}

// REQUIRE that a Status or Result is OK, showing the status when it is not.
#define LIBCHAT_REQUIRE_OK(expr)                                           \
  do {                                                                     \
    const ::libchat::Status lc_status_ = ::libchat::test::StatusOf(expr);  \
    INFO(#expr << " -> " << lc_status_.ToString());                        \
    REQUIRE(lc_status_.ok());                                              \
  } while (false)

// REQUIRE that a Status or Result failed with the StatusCode `want`.
#define LIBCHAT_REQUIRE_CODE(expr, want)                                   \
  do {                                                                     \
    const ::libchat::Status lc_status_ = ::libchat::test::StatusOf(expr);  \
    INFO(#expr << " -> " << lc_status_.ToString());                        \
    REQUIRE(lc_status_.code() == (want));                                  \
  } while (false)

template <typename T>
T UnwrapAt(Result<T> result, const char* expr, const char* file, int line) {
  INFO(file << ":" << line << ": " << expr << " -> " << result.status().ToString());
  REQUIRE(result.ok());
  return std::move(result).value();
}

// The value of a Result, REQUIREd to be OK.
#define LIBCHAT_VALUE(expr) ::libchat::test::UnwrapAt((expr), #expr, __FILE__, __LINE__)

// Builds well-formed records with unique ids ("conv_1", "conv_2", ...) and timestamps from a
// fixed base, so that tests spell out only what they are about.
class RecordFactory {
 public:
  static Timestamp At(std::int64_t offset_ms) { return kBase + std::chrono::milliseconds(offset_ms); }

  std::string Next(std::string_view prefix) { return std::string(prefix) + std::to_string(++counter_); }

  StoredAccount MakeAccount() {
    StoredAccount stored;
    stored.account.id = AccountId(Next("acc_"));
    stored.account.email = stored.account.id.str() + "@example.com";
    stored.account.name = "Account " + stored.account.id.str();
    stored.account.created_at = At(0);
    stored.account.updated_at = At(0);
    stored.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
    return stored;
  }

  StoredApp MakeApp(const AccountId& owner, Timestamp created_at = At(0)) {
    StoredApp stored;
    stored.app.id = AppId(Next("app_"));
    stored.app.account_id = owner;
    stored.app.name = "App " + stored.app.id.str();
    stored.app.publishable_key = "pk_" + stored.app.id.str();
    stored.app.theme_json = R"({"color":"#3b82f6"})";
    stored.app.prechat_json = R"([{"q":"Name?"}])";
    stored.app.identity_verification = false;
    stored.app.created_at = created_at;
    stored.app.updated_at = created_at;
    stored.secret_key_hash = "skh_" + stored.app.id.str();
    stored.identity_secret = "ids_" + stored.app.id.str();
    return stored;
  }

  Customer MakeCustomer(const AppId& app, std::string external_id = "") {
    Customer customer;
    customer.id = CustomerId(Next("cus_"));
    customer.app_id = app;
    customer.external_id = std::move(external_id);
    customer.name = "Customer " + customer.id.str();
    customer.email = customer.id.str() + "@customer.test";
    customer.metadata_json = R"({"plan":"free"})";
    customer.created_at = At(0);
    customer.updated_at = At(0);
    return customer;
  }

  Conversation MakeConversation(const AppId& app, const CustomerId& customer, Timestamp created_at = At(0)) {
    Conversation conversation;
    conversation.id = ConversationId(Next("conv_"));
    conversation.app_id = app;
    conversation.type = ConversationType::kSupport;
    conversation.status = ConversationStatus::kOpen;
    conversation.customer_id = customer;
    conversation.created_at = created_at;
    conversation.updated_at = created_at;
    conversation.last_activity_at = created_at;
    // As the core does: the customer of a support conversation is its member.
    if (!customer.empty()) conversation.members.push_back(Member{customer.str(), MemberRole::kMember, created_at});
    return conversation;
  }

  // A message as the core would hand it to AppendMessage (seq left for the store).
  Message MakeMessage(const Conversation& conversation, Sender sender, std::string client_msg_id = "",
                      Timestamp created_at = At(1000)) {
    Message message;
    message.id = MessageId(Next("msg_"));
    message.conversation_id = conversation.id;
    message.app_id = conversation.app_id;
    message.sender = std::move(sender);
    message.text = "text of " + message.id.str();
    message.client_msg_id = std::move(client_msg_id);
    message.created_at = created_at;
    return message;
  }

 private:
  static constexpr Timestamp kBase = Timestamp(std::chrono::milliseconds(1767225600000));  // 2026-01-01
  int counter_ = 0;
};

// Every page of a conversation listing, following next_cursor; fails on a runaway loop.
inline std::vector<std::string> ListAllConversationIds(Store& store, ConversationQuery query, int* pages) {
  std::vector<std::string> ids;
  *pages = 0;
  query.cursor.clear();
  while (true) {
    Page<Conversation> page = LIBCHAT_VALUE(store.ListConversations(query));
    ++*pages;
    REQUIRE(*pages < 100);
    REQUIRE(static_cast<int>(page.data.size()) <= query.limit);
    for (const auto& c : page.data) ids.push_back(c.id.str());
    if (page.next_cursor.empty()) break;
    REQUIRE(static_cast<int>(page.data.size()) == query.limit);  // only the last page may be short
    query.cursor = page.next_cursor;
  }
  return ids;
}

// Timestamps as milliseconds, so that failures print numbers.
inline std::int64_t Ms(Timestamp t) { return t.time_since_epoch().count(); }
inline std::optional<std::int64_t> Ms(const std::optional<Timestamp>& t) {
  return t ? std::optional<std::int64_t>(Ms(*t)) : std::nullopt;
}

// Every field of a stored message equals the expected one.
inline void CheckSameMessage(const Message& got, const Message& want) {
  CHECK(got.id.str() == want.id.str());
  CHECK(got.conversation_id.str() == want.conversation_id.str());
  CHECK(got.app_id.str() == want.app_id.str());
  CHECK(got.seq == want.seq);
  CHECK(got.sender.type == want.sender.type);
  CHECK(got.sender.id == want.sender.id);
  CHECK(got.text == want.text);
  CHECK(got.metadata_json == want.metadata_json);
  CHECK(got.client_msg_id == want.client_msg_id);
  CHECK(Ms(got.created_at) == Ms(want.created_at));
  CHECK(Ms(got.edited_at) == Ms(want.edited_at));
  CHECK(got.deleted == want.deleted);
}

// An account and one app under it, both stored: the start of every contract test's world.
struct SeededApp {
  StoredAccount account;
  StoredApp app;
};
inline SeededApp SeedAccountWithApp(Store& store, RecordFactory& f) {
  SeededApp seeded;
  seeded.account = f.MakeAccount();
  LIBCHAT_REQUIRE_OK(store.CreateAccount(seeded.account));
  seeded.app = f.MakeApp(seeded.account.account.id);
  LIBCHAT_REQUIRE_OK(store.CreateApp(seeded.app));
  return seeded;
}

}  // namespace libchat::test
