// Helpers for the unit tests of the libchat facade (chat_test.cpp): a Chat over one of the store
// backends of store_test_util.h with a FakeClock and cheap password hashing, shortcuts that set up
// accounts, apps and customers (REQUIRing every step to succeed), and a thread-safe event recorder.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "catch.h"
#include "libchat/chat.h"
#include "libchat/testing/fake_clock.h"
#include "store_test_util.h"
#include "unit/forwarding_store.h"

namespace libchat::test {

// Like LIBCHAT_REQUIRE_OK / LIBCHAT_REQUIRE_CODE (store_test_util.h), but the test goes on after a failure.
#define LIBCHAT_CHECK_OK(expr)                                             \
  do {                                                                     \
    const ::libchat::Status lc_status_ = ::libchat::test::StatusOf(expr);  \
    INFO(#expr << " -> " << lc_status_.ToString());                        \
    CHECK(lc_status_.ok());                                                \
  } while (false)

#define LIBCHAT_CHECK_CODE(expr, want)                                     \
  do {                                                                     \
    const ::libchat::Status lc_status_ = ::libchat::test::StatusOf(expr);  \
    INFO(#expr << " -> " << lc_status_.ToString());                        \
    CHECK(lc_status_.code() == (want));                                    \
  } while (false)

// 39 bytes: above the 32-byte minimum Chat::Open enforces.
inline constexpr char kChatTestJwtSecret[] = "chat-test-jwt-secret-0123456789abcdefgh";
inline constexpr char kChatTestPassword[] = "correct horse battery";

// Options for a Chat over `store`: the given clock and secret, and the cheapest password hashing
// Chat::Open accepts so that registering and logging in stay fast.
inline Options ChatTestOptions(std::shared_ptr<Store> store, std::shared_ptr<Clock> clock,
                               std::string jwt_secret = kChatTestJwtSecret) {
  Options options;
  options.store = std::move(store);
  options.clock = std::move(clock);
  options.jwt_secret = std::move(jwt_secret);
  options.password_hashing = PasswordHashingOptions{8192, 1, 1};
  return options;
}

inline Credentials BearerCredentials(std::string token) {
  Credentials credentials;
  credentials.bearer_token = std::move(token);
  return credentials;
}

inline Credentials KeyCredentials(std::string api_key, std::string bearer_token = "", std::string user_id = "") {
  Credentials credentials;
  credentials.api_key = std::move(api_key);
  credentials.bearer_token = std::move(bearer_token);
  credentials.user_id = std::move(user_id);
  return credentials;
}

inline SendRequest TextMessage(std::string text, std::string client_msg_id = "") {
  SendRequest request;
  request.text = std::move(text);
  request.client_msg_id = std::move(client_msg_id);
  return request;
}

inline std::int64_t Millis(Timestamp t) { return t.time_since_epoch().count(); }

inline std::vector<std::int64_t> SeqsOf(const std::vector<Message>& messages) {
  std::vector<std::int64_t> seqs;
  for (const Message& m : messages) seqs.push_back(m.seq);
  return seqs;
}

inline std::vector<std::string> IdsOf(const std::vector<Conversation>& conversations) {
  std::vector<std::string> ids;
  for (const Conversation& c : conversations) ids.push_back(c.id.str());
  return ids;
}

// [first, last], inclusive.
inline std::vector<std::int64_t> SeqRange(std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = first; i <= last; ++i) out.push_back(i);
  return out;
}

// A Store that forwards everything to another one, and can run a one-shot hook just before the next
// UpdateAccount / UpdateApp / UpdateConversation reaches it. The hook makes a concurrent request land
// exactly between the core's read and its write, so that read-modify-write races are deterministic.
class InterposingStore : public ForwardingStore {
 public:
  using Hook = std::function<void()>;
  using ForwardingStore::ForwardingStore;

  void BeforeNextUpdateAccount(Hook hook) { Set(&before_update_account_, std::move(hook)); }
  void BeforeNextUpdateApp(Hook hook) { Set(&before_update_app_, std::move(hook)); }
  void BeforeNextUpdateConversation(Hook hook) { Set(&before_update_conversation_, std::move(hook)); }

  Status UpdateAccount(const StoredAccount& account) override {
    Run(&before_update_account_);
    return ForwardingStore::UpdateAccount(account);
  }
  Status UpdateApp(const StoredApp& app) override {
    Run(&before_update_app_);
    return ForwardingStore::UpdateApp(app);
  }
  Status UpdateConversation(const Conversation& conversation) override {
    Run(&before_update_conversation_);
    return ForwardingStore::UpdateConversation(conversation);
  }

 private:
  void Set(Hook* slot, Hook hook) {
    std::lock_guard<std::mutex> lock(mutex_);
    *slot = std::move(hook);
  }
  // Takes the hook out first: the hook itself may reach the same method (it runs at most once).
  void Run(Hook* slot) {
    Hook hook;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      hook.swap(*slot);
    }
    if (hook) hook();
  }

  std::mutex mutex_;
  Hook before_update_account_;
  Hook before_update_app_;
  Hook before_update_conversation_;
};

struct TestAccount {
  Account account;
  std::string token;
  Principal principal;  // authenticated from `token`
};

struct TestApp {
  App app;
  std::string secret_key;
  std::string identity_secret;
  Principal server;       // authenticated from the secret key
  Principal publishable;  // authenticated from the publishable key
};

// A customer who started a support conversation through the SDK with the publishable key.
struct TestCustomer {
  CustomerId id;
  std::string session_token;
  Principal principal;  // authenticated from the publishable key + session token
  ConversationId conversation;
};

// A Chat over a fresh store of `Backend` (MemoryBackend or SqliteBackend). Every helper REQUIREs success.
// With `interpose`, the Chat reaches the store through an InterposingStore (see interposer()).
template <typename Backend>
class ChatHarness {
 public:
  explicit ChatHarness(bool interpose = false) : clock_(std::make_shared<testing::FakeClock>()) {
    if (interpose) {
      interposer_ = std::make_shared<InterposingStore>(backend_.shared());
      store_ = interposer_;
    } else {
      store_ = backend_.shared();
    }
    chat_ = Open();
  }

  Chat& chat() { return *chat_; }
  testing::FakeClock& clock() { return *clock_; }
  // The store the Chat uses.
  const std::shared_ptr<Store>& store() const { return store_; }
  InterposingStore& interposer() {
    REQUIRE(interposer_ != nullptr);
    return *interposer_;
  }

  // Another Chat over the same store and clock, as after a restart.
  std::unique_ptr<Chat> Open(std::string jwt_secret = kChatTestJwtSecret) {
    return LIBCHAT_VALUE(Chat::Open(ChatTestOptions(store_, clock_, std::move(jwt_secret))));
  }

  Principal Authenticate(const Credentials& credentials) {
    return LIBCHAT_VALUE(chat_->Authenticate(credentials));
  }

  TestAccount Register(const std::string& email, const std::string& password = kChatTestPassword,
                       const std::string& name = "Owner") {
    AuthSession session = LIBCHAT_VALUE(chat_->Register(RegisterRequest{email, password, name}));
    TestAccount out;
    out.account = session.account;
    out.token = session.token;
    out.principal = Authenticate(BearerCredentials(session.token));
    return out;
  }

  TestApp CreateApp(const TestAccount& owner, const std::string& name = "Support",
                    bool identity_verification = false) {
    AppCreate request;
    request.name = name;
    request.identity_verification = identity_verification;
    CreatedApp created = LIBCHAT_VALUE(chat_->CreateApp(owner.principal, request));
    TestApp out;
    out.app = created.app;
    out.secret_key = created.secret_key;
    out.identity_secret = created.identity_secret;
    out.server = Authenticate(KeyCredentials(created.secret_key));
    out.publishable = Authenticate(KeyCredentials(created.app.publishable_key));
    return out;
  }

  // An anonymous customer's first SDK message (seq 1 of a new support conversation).
  TestCustomer StartCustomer(const TestApp& app, const std::string& text = "Hello, I need help") {
    SdkSendRequest request;
    request.message = TextMessage(text);
    SendResult sent = LIBCHAT_VALUE(chat_->SdkSendMessage(app.publishable, request));
    REQUIRE(sent.message.seq == 1);
    REQUIRE_FALSE(sent.session_token.empty());
    TestCustomer out;
    out.id = sent.conversation.customer_id;
    out.session_token = sent.session_token;
    out.conversation = sent.conversation.id;
    out.principal = Authenticate(KeyCredentials(app.app.publishable_key, sent.session_token));
    return out;
  }

  Message Send(const Principal& principal, const ConversationId& conversation, const std::string& text) {
    return LIBCHAT_VALUE(chat_->SendMessage(principal, conversation, TextMessage(text))).message;
  }

  Conversation Get(const Principal& principal, const ConversationId& conversation) {
    return LIBCHAT_VALUE(chat_->GetConversation(principal, conversation));
  }

  std::vector<Message> History(const Principal& principal, const ConversationId& conversation,
                               HistoryQuery query = HistoryQuery{}) {
    return LIBCHAT_VALUE(chat_->ListMessages(principal, conversation, query));
  }

  std::vector<Conversation> List(const Principal& principal, const AppId& app,
                                 ConversationFilter filter = ConversationFilter{}) {
    return LIBCHAT_VALUE(chat_->ListConversations(principal, app, filter)).data;
  }

 private:
  Backend backend_;  // declared first: outlives every Chat opened over it
  std::shared_ptr<InterposingStore> interposer_;
  std::shared_ptr<Store> store_;
  std::shared_ptr<testing::FakeClock> clock_;
  std::unique_ptr<Chat> chat_;
};

// Records every event a Chat publishes. The handler may run on the store's writer thread, so the
// events are kept under a mutex; the subscription ends with the recorder.
class EventRecorder {
 public:
  explicit EventRecorder(Chat& chat) : chat_(chat) {
    id_ = chat_.SubscribeEvents([this](const std::shared_ptr<const Event>& event) {
      std::lock_guard<std::mutex> lock(mutex_);
      events_.push_back(event);
    });
  }
  ~EventRecorder() { chat_.UnsubscribeEvents(id_); }
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  std::vector<std::shared_ptr<const Event>> All() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }

  // The events about one conversation, in the order the handler saw them.
  std::vector<std::shared_ptr<const Event>> Of(const ConversationId& conversation) const {
    std::vector<std::shared_ptr<const Event>> out;
    for (const auto& event : All()) {
      if (event->conversation_id == conversation) out.push_back(event);
    }
    return out;
  }

  std::vector<std::shared_ptr<const Event>> Of(const ConversationId& conversation, EventType type) const {
    std::vector<std::shared_ptr<const Event>> out;
    for (const auto& event : Of(conversation)) {
      if (event->type == type) out.push_back(event);
    }
    return out;
  }

  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_.size();
  }

  void Clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.clear();
  }

 private:
  Chat& chat_;
  SubscriptionId id_ = 0;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const Event>> events_;
};

inline std::vector<std::string> SortedAudience(const Event& event) {
  std::vector<std::string> audience = event.audience;
  std::sort(audience.begin(), audience.end());
  return audience;
}

inline std::vector<std::string> Sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

}  // namespace libchat::test
