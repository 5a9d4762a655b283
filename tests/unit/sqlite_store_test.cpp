// SQLite-specific behaviour of the SQLite Store: persistence across reopen, schema
// versioning, group commit (batching, per-op failure isolation, hook order), concurrency
// of appends and deduplication, receipts, unread counts, pagination and cascades on a real
// file. The backend-independent contract is in store_contract_test.cpp.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "catch.h"
#include "libchat/providers/store.h"
#include "storage/sqlite_store.h"
#include "store_test_util.h"

namespace {

using namespace libchat;        // NOLINT: test brevity
using namespace libchat::test;  // NOLINT
using internal::GetSqliteStoreStats;
using internal::SqliteStoreStats;

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/libchat_sqlite_test_XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::shared_ptr<Store> Open(const std::string& path, bool synchronous_full = false,
                            int busy_timeout_ms = 5000) {
  SqliteStoreOptions options;
  options.path = path;
  options.synchronous_full = synchronous_full;
  options.busy_timeout_ms = busy_timeout_ms;
  return LIBCHAT_VALUE(OpenSqliteStore(options));
}

SqliteStoreStats Stats(const Store& store) {
  auto stats = GetSqliteStoreStats(store);
  REQUIRE(stats.has_value());
  return *stats;
}

Sender CustomerSender(const std::string& id) { return Sender{SenderType::kCustomer, id}; }
Sender OperatorSender(const std::string& id) { return Sender{SenderType::kOperator, id}; }

// An app with one customer and one support conversation, ready for messages.
struct Fixture {
  RecordFactory records;
  StoredAccount owner;
  StoredApp app;
  Customer customer;
  Conversation conversation;

  explicit Fixture(Store& store) {
    owner = records.MakeAccount();
    LIBCHAT_REQUIRE_OK(store.CreateAccount(owner));
    app = records.MakeApp(owner.account.id);
    LIBCHAT_REQUIRE_OK(store.CreateApp(app));
    customer = records.MakeCustomer(app.app.id, "ext-1");
    LIBCHAT_REQUIRE_OK(store.CreateCustomer(customer));
    conversation = NewConversation(store, RecordFactory::At(0));
  }

  Conversation NewConversation(Store& store, Timestamp at) {
    Conversation c = records.MakeConversation(app.app.id, customer.id, at);
    LIBCHAT_REQUIRE_OK(store.CreateConversation(c));
    return c;
  }

  AppendRequest Request(const Conversation& c, Sender sender, std::string client_msg_id = "",
                        Timestamp at = RecordFactory::At(1000)) {
    AppendRequest request;
    request.message = records.MakeMessage(c, std::move(sender), std::move(client_msg_id), at);
    return request;
  }

  // A message from the fixture's customer into the fixture's conversation.
  AppendRequest ByCustomer(std::string client_msg_id = "") {
    return Request(conversation, CustomerSender(customer.id.str()), std::move(client_msg_id));
  }
};

// Builds requests on one thread (RecordFactory is not thread-safe) for use on many.
std::vector<std::vector<AppendRequest>> PrepareRequests(Fixture& f, const Conversation& c, int threads,
                                                        int per_thread) {
  std::vector<std::vector<AppendRequest>> requests(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    for (int i = 0; i < per_thread; ++i) {
      requests[static_cast<std::size_t>(t)].push_back(f.Request(c, CustomerSender(f.customer.id.str())));
    }
  }
  return requests;
}

// Holds the writer inside a commit hook until released, so that later writes queue up.
class ParkedWriter {
 public:
  ParkedWriter(Store& store, Fixture& f) {
    CommitHook park = [this](const AppendResult&) {
      std::unique_lock<std::mutex> lock(mu_);
      parked_ = true;
      cv_.notify_all();
      cv_.wait_for(lock, std::chrono::seconds(20), [this] { return released_; });
    };
    AppendRequest request = f.ByCustomer();
    // No Catch assertions off the main thread (Catch2 v2 is not thread-safe).
    thread_ = std::thread([this, &store, request, park] {
      append_ok_ = store.AppendMessage(request, park).ok();
    });
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(20), [this] { return parked_; });
  }
  ~ParkedWriter() { Release(); }
  // True once the writer sits in the hook (the constructor waits up to 20 s for it).
  bool parked() {
    std::lock_guard<std::mutex> lock(mu_);
    return parked_;
  }
  // Lets the writer go and waits for the parked append to return. Idempotent.
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }
  // Whether the parked append succeeded; valid after Release().
  bool append_ok() const { return append_ok_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool parked_ = false;
  bool released_ = false;
  std::atomic<bool> append_ok_{false};
  std::thread thread_;
};

bool WaitFor(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

TEST_CASE("sqlite store: data survives close and reopen; migrations run once", "[sqlite][store]") {
  TempDir dir;
  const std::string path = dir.File("chat.db");
  std::string conversation_id;
  std::string app_id;
  {
    auto store = Open(path);
    Fixture f(*store);
    app_id = f.app.app.id.str();
    conversation_id = f.conversation.id.str();
    for (int i = 0; i < 3; ++i) {
      LIBCHAT_REQUIRE_OK(store->AppendMessage(f.ByCustomer(), {}));
    }
    LIBCHAT_REQUIRE_OK(
        store->AdvanceReceipt(f.conversation.id, f.customer.id.str(), 3, 2, RecordFactory::At(5)));
    REQUIRE(LIBCHAT_VALUE(store->PutSettingIfAbsent("jwt_secret", "s3cret")) == "s3cret");
    LIBCHAT_REQUIRE_OK(store->RevokeToken("jti-1", RecordFactory::At(99)));
  }

  auto info = LIBCHAT_VALUE(internal::InspectSqliteSchema(path));
  REQUIRE(info.latest_known_version >= 1);
  REQUIRE(info.user_version == info.latest_known_version);
  std::vector<int> all_versions;
  for (int v = 1; v <= info.latest_known_version; ++v) all_versions.push_back(v);
  REQUIRE(info.applied_versions == all_versions);

  {
    auto store = Open(path);
    auto conversation = LIBCHAT_VALUE(store->GetConversation(ConversationId(conversation_id), ""));
    REQUIRE(conversation.last_seq == 3);
    REQUIRE(conversation.last_message.has_value());
    REQUIRE(conversation.last_message->seq == 3);
    MessageQuery query;
    query.conversation_id = ConversationId(conversation_id);
    auto messages = LIBCHAT_VALUE(store->ListMessages(query));
    REQUIRE(messages.size() == 3);
    REQUIRE(messages[2].seq == 3);
    auto receipt =
        LIBCHAT_VALUE(store->GetReceipt(ConversationId(conversation_id), conversation.customer_id.str()));
    REQUIRE(receipt.delivered_seq == 3);
    REQUIRE(receipt.read_seq == 2);
    REQUIRE(LIBCHAT_VALUE(store->GetSetting("jwt_secret")) == std::optional<std::string>("s3cret"));
    REQUIRE(LIBCHAT_VALUE(store->PutSettingIfAbsent("jwt_secret", "other")) == "s3cret");
    REQUIRE(LIBCHAT_VALUE(store->IsTokenRevoked("jti-1")));
    LIBCHAT_REQUIRE_OK(store->GetApp(AppId(app_id)));
    // Appends continue the sequence where it stopped.
    RecordFactory more;
    AppendRequest request;
    request.message = more.MakeMessage(conversation, CustomerSender(conversation.customer_id.str()));
    request.message.id = MessageId("msg_after_reopen");
    REQUIRE(LIBCHAT_VALUE(store->AppendMessage(request, {})).message.seq == 4);
  }

  // Reopening did not apply (or record) any migration again.
  auto again = LIBCHAT_VALUE(internal::InspectSqliteSchema(path));
  REQUIRE(again.applied_versions == all_versions);
  REQUIRE(again.user_version == info.user_version);
}

TEST_CASE("sqlite store: a database from a newer libchat is refused", "[sqlite][store]") {
  TempDir dir;
  const std::string path = dir.File("chat.db");
  { auto store = Open(path); }
  const int latest = LIBCHAT_VALUE(internal::InspectSqliteSchema(path)).latest_known_version;
  LIBCHAT_REQUIRE_OK(internal::SetSqliteUserVersionForTesting(path, latest + 1));
  SqliteStoreOptions options;
  options.path = path;
  auto opened = OpenSqliteStore(options);
  LIBCHAT_REQUIRE_CODE(opened, StatusCode::kFailedPrecondition);
  REQUIRE(opened.status().message().find("newer") != std::string::npos);
  // Left untouched.
  REQUIRE(LIBCHAT_VALUE(internal::InspectSqliteSchema(path)).user_version == latest + 1);
}

TEST_CASE("sqlite store: invalid options are invalid_argument", "[sqlite][store]") {
  TempDir dir;
  SqliteStoreOptions options;
  options.path = ":memory:";
  LIBCHAT_REQUIRE_CODE(OpenSqliteStore(options), StatusCode::kInvalidArgument);
  options.path = "";
  LIBCHAT_REQUIRE_CODE(OpenSqliteStore(options), StatusCode::kInvalidArgument);
  options.path = dir.File("x.db");
  options.read_connections = 0;
  LIBCHAT_REQUIRE_CODE(OpenSqliteStore(options), StatusCode::kInvalidArgument);
  options.read_connections = 1;
  options.max_batch_size = 0;
  LIBCHAT_REQUIRE_CODE(OpenSqliteStore(options), StatusCode::kInvalidArgument);
  options.path = dir.File("missing-dir/x.db");
  options.max_batch_size = 10;
  LIBCHAT_REQUIRE_CODE(OpenSqliteStore(options), StatusCode::kUnavailable);
}

TEST_CASE("sqlite store: GetSqliteStoreStats is only for SQLite stores", "[sqlite][store]") {
  auto memory = testing::NewMemoryStore();
  REQUIRE_FALSE(GetSqliteStoreStats(*memory).has_value());
}

TEST_CASE("sqlite store: 8 threads x 500 appends: gapless seqs, grouped commits, hooks in seq order",
          "[sqlite][store][concurrency]") {
  TempDir dir;
  auto store = Open(dir.File("chat.db"), /*synchronous_full=*/true);
  Fixture f(*store);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  auto requests = PrepareRequests(f, f.conversation, kThreads, kPerThread);
  const SqliteStoreStats before = Stats(*store);

  std::mutex hook_mu;
  std::vector<std::int64_t> hooked_seqs;
  std::set<std::string> hooked_ids;
  CommitHook hook = [&](const AppendResult& r) {
    std::lock_guard<std::mutex> lock(hook_mu);
    hooked_seqs.push_back(r.message.seq);
    hooked_ids.insert(r.message.id.str());
  };

  std::atomic<int> failures{0};
  std::atomic<int> hook_missing{0};
  std::vector<std::vector<std::int64_t>> seqs_by_thread(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const AppendRequest& request : requests[static_cast<std::size_t>(t)]) {
        auto r = store->AppendMessage(request, hook);
        if (!r.ok() || !r->created) {
          ++failures;
          continue;
        }
        seqs_by_thread[static_cast<std::size_t>(t)].push_back(r->message.seq);
        // The hook ran before AppendMessage returned.
        std::lock_guard<std::mutex> lock(hook_mu);
        if (!hooked_ids.count(r->message.id.str())) ++hook_missing;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  REQUIRE(failures == 0);
  REQUIRE(hook_missing == 0);

  constexpr int kTotal = kThreads * kPerThread;
  // Every seq 1..4000 exactly once, and hooks saw them in commit (= seq) order.
  REQUIRE(hooked_seqs.size() == static_cast<std::size_t>(kTotal));
  for (int i = 0; i < kTotal; ++i) REQUIRE(hooked_seqs[static_cast<std::size_t>(i)] == i + 1);
  std::vector<std::int64_t> all;
  for (const auto& seqs : seqs_by_thread) {
    REQUIRE(std::is_sorted(seqs.begin(), seqs.end()));  // one thread's appends keep their order
    all.insert(all.end(), seqs.begin(), seqs.end());
  }
  std::sort(all.begin(), all.end());
  for (int i = 0; i < kTotal; ++i) REQUIRE(all[static_cast<std::size_t>(i)] == i + 1);

  auto conversation = LIBCHAT_VALUE(store->GetConversation(f.conversation.id, ""));
  REQUIRE(conversation.last_seq == kTotal);
  MessageQuery query;
  query.conversation_id = f.conversation.id;
  query.after_seq = kTotal - 10;
  auto tail = LIBCHAT_VALUE(store->ListMessages(query));
  REQUIRE(tail.size() == 10);
  REQUIRE(tail.back().seq == kTotal);

  const SqliteStoreStats after = Stats(*store);
  const std::uint64_t commits = after.commits - before.commits;
  const std::uint64_t ops = after.ops - before.ops;
  INFO("commits " << commits << ", ops " << ops << ", max batch " << after.max_batch);
  REQUIRE(ops == static_cast<std::uint64_t>(kTotal));
  REQUIRE(commits < ops);  // group commit: several appends shared a transaction
  REQUIRE(after.max_batch > 1);
  REQUIRE(after.failed_batches == 0);
}

TEST_CASE("sqlite store: hooks follow commit order across conversations and threads",
          "[sqlite][store][concurrency]") {
  TempDir dir;
  auto store = Open(dir.File("chat.db"));
  Fixture f(*store);
  Conversation second = f.NewConversation(*store, RecordFactory::At(1));
  constexpr int kPerThread = 150;
  auto first_requests = PrepareRequests(f, f.conversation, 2, kPerThread);
  auto second_requests = PrepareRequests(f, second, 2, kPerThread);

  std::mutex hook_mu;
  std::vector<std::pair<std::string, std::int64_t>> hooked;  // (conversation, seq) in hook order
  CommitHook hook = [&](const AppendResult& r) {
    std::lock_guard<std::mutex> lock(hook_mu);
    hooked.emplace_back(r.message.conversation_id.str(), r.message.seq);
    // The conversation handed to the hook already includes this message.
    if (r.conversation.last_seq != r.message.seq || !r.conversation.last_message ||
        r.conversation.last_message->id != r.message.id) {
      hooked.emplace_back("inconsistent", -1);
    }
  };
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (auto* batch : {&first_requests, &second_requests}) {
    for (auto& per_thread : *batch) {
      threads.emplace_back([&, &list = per_thread] {
        for (const auto& request : list) {
          if (!store->AppendMessage(request, hook).ok()) ++failures;
        }
      });
    }
  }
  for (auto& thread : threads) thread.join();
  REQUIRE(failures == 0);
  REQUIRE(hooked.size() == static_cast<std::size_t>(4 * kPerThread));
  std::map<std::string, std::int64_t> expected_next;
  for (const auto& [conversation, seq] : hooked) {
    REQUIRE(conversation != "inconsistent");
    std::int64_t& next = expected_next[conversation];
    REQUIRE(seq == next + 1);  // per conversation, hooks see 1, 2, 3, ... in order
    next = seq;
  }
  REQUIRE(expected_next[f.conversation.id.str()] == 2 * kPerThread);
  REQUIRE(expected_next[second.id.str()] == 2 * kPerThread);
}

TEST_CASE("sqlite store: the same client_msg_id from 4 threads creates one message",
          "[sqlite][store][concurrency][idempotency]") {
  TempDir dir;
  auto store = Open(dir.File("chat.db"));
  Fixture f(*store);
  constexpr int kRounds = 40;
  constexpr int kThreads = 4;
  // Round r: every thread sends a request with client_msg_id "c<r>" (distinct message ids,
  // as retries from different connections would have).
  std::vector<std::vector<AppendRequest>> requests(kThreads);
  for (int r = 0; r < kRounds; ++r) {
    for (int t = 0; t < kThreads; ++t) {
      requests[static_cast<std::size_t>(t)].push_back(
          f.Request(f.conversation, CustomerSender(f.customer.id.str()), "c" + std::to_string(r)));
    }
  }
  std::atomic<int> hook_calls{0};
  CommitHook hook = [&](const AppendResult&) { ++hook_calls; };
  std::mutex mu;
  std::map<std::string, std::vector<AppendResult>> results;  // by client_msg_id
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const auto& request : requests[static_cast<std::size_t>(t)]) {
        auto r = store->AppendMessage(request, hook);
        if (!r.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        results[request.message.client_msg_id].push_back(*r);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  REQUIRE(failures == 0);
  REQUIRE(hook_calls == kRounds);
  REQUIRE(results.size() == static_cast<std::size_t>(kRounds));
  for (const auto& [client_msg_id, outcomes] : results) {
    REQUIRE(outcomes.size() == static_cast<std::size_t>(kThreads));
    int created = 0;
    for (const auto& o : outcomes) created += o.created ? 1 : 0;
    REQUIRE(created == 1);
    for (const auto& o : outcomes) {
      REQUIRE(o.message.id == outcomes.front().message.id);
      REQUIRE(o.message.seq == outcomes.front().message.seq);
      REQUIRE(o.message.client_msg_id == client_msg_id);
    }
  }
  MessageQuery query;
  query.conversation_id = f.conversation.id;
  query.limit = 1000;
  REQUIRE(LIBCHAT_VALUE(store->ListMessages(query)).size() == static_cast<std::size_t>(kRounds));

  // The same client_msg_id from another sender is a different message.
  auto other = LIBCHAT_VALUE(store->AppendMessage(f.Request(f.conversation, OperatorSender("op_1"), "c0"), {}));
  REQUIRE(other.created);
  REQUIRE(other.message.seq == kRounds + 1);
}

TEST_CASE("sqlite store: a failing write in a batch does not fail its neighbours",
          "[sqlite][store][concurrency]") {
  TempDir dir;
  auto store = Open(dir.File("chat.db"));
  Fixture f(*store);

  // Park the writer inside a commit hook so that the next writes pile up in its
  // queue and are committed together in one batch.
  auto parked = std::make_unique<ParkedWriter>(*store, f);
  REQUIRE(parked->parked());

  // 6 good accounts, 2 reusing an existing email, 1 reusing an existing id, all in one batch.
  StoredAccount existing = f.owner;
  std::vector<StoredAccount> accounts;
  std::vector<bool> should_succeed;
  for (int i = 0; i < 9; ++i) {
    StoredAccount a = f.records.MakeAccount();
    bool good = true;
    if (i == 2 || i == 5) {
      a.account.email = existing.account.email;
      good = false;
    }
    if (i == 7) {
      a.account.id = existing.account.id;
      good = false;
    }
    accounts.push_back(a);
    should_succeed.push_back(good);
  }
  const SqliteStoreStats before = Stats(*store);
  std::vector<Status> outcomes(accounts.size());
  std::vector<std::thread> writers;
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    writers.emplace_back([&, i] { outcomes[i] = store->CreateAccount(accounts[i]); });
  }
  // Wait until all nine are queued behind the parked writer, then let it go.
  const bool all_queued = WaitFor([&] { return Stats(*store).queued == accounts.size(); });
  parked->Release();
  for (auto& w : writers) w.join();
  REQUIRE(all_queued);
  REQUIRE(parked->append_ok());

  const SqliteStoreStats after = Stats(*store);
  REQUIRE(after.commits - before.commits == 1);  // the nine shared one transaction
  REQUIRE(after.ops - before.ops == accounts.size());
  REQUIRE(after.max_batch >= accounts.size());
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    INFO("account " << i << ": " << outcomes[i].ToString());
    if (should_succeed[i]) {
      REQUIRE(outcomes[i].ok());
      auto stored = LIBCHAT_VALUE(store->GetAccount(accounts[i].account.id));
      REQUIRE(stored.account.email == accounts[i].account.email);
    } else {
      REQUIRE(outcomes[i].code() == StatusCode::kAlreadyExists);
      // No SQL in messages.
      REQUIRE(outcomes[i].message().find("INSERT") == std::string::npos);
      REQUIRE(outcomes[i].message().find("accounts.") == std::string::npos);
    }
  }
  // The rejected ones left nothing behind; the original owner is intact.
  REQUIRE(LIBCHAT_VALUE(store->FindAccountByEmail(existing.account.email)).account.id == existing.account.id);
  LIBCHAT_REQUIRE_CODE(store->GetAccount(accounts[2].account.id), StatusCode::kNotFound);
  REQUIRE(LIBCHAT_VALUE(store->GetAccount(existing.account.id)).account.name == existing.account.name);
}

TEST_CASE("sqlite store: a busy database fails the batch with unavailable, then recovers", "[sqlite][store]") {
  TempDir dir;
  const std::string path = dir.File("chat.db");
  auto store = Open(path, false, /*busy_timeout_ms=*/50);
  Fixture f(*store);
  LIBCHAT_REQUIRE_OK(store->CheckWritable());
  StoredAccount blocked = f.records.MakeAccount();
  {
    auto lock = LIBCHAT_VALUE(internal::LockSqliteForWritingForTesting(path));
    LIBCHAT_REQUIRE_CODE(store->CheckWritable(), StatusCode::kUnavailable);
    LIBCHAT_REQUIRE_CODE(store->CreateAccount(blocked), StatusCode::kUnavailable);
    // Reads still work while another connection holds the write lock (WAL).
    LIBCHAT_REQUIRE_OK(store->GetAccount(f.owner.account.id));
    REQUIRE(Stats(*store).failed_batches >= 2);
  }
  LIBCHAT_REQUIRE_OK(store->CheckWritable());
  LIBCHAT_REQUIRE_CODE(store->GetAccount(blocked.account.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_OK(store->CreateAccount(blocked));
  LIBCHAT_REQUIRE_OK(store->GetAccount(blocked.account.id));
}

TEST_CASE("sqlite store: receipts never regress", "[sqlite][store][receipts]") {
  TempDir dir;
  const std::string path = dir.File("chat.db");
  auto store = Open(path);
  Fixture f(*store);
  const std::string member = f.customer.id.str();

  auto r = LIBCHAT_VALUE(store->AdvanceReceipt(f.conversation.id, member, 5, 3, RecordFactory::At(10)));
  REQUIRE((r.delivered_seq == 5 && r.read_seq == 3));
  r = LIBCHAT_VALUE(store->AdvanceReceipt(f.conversation.id, member, 2, 4, RecordFactory::At(20)));
  REQUIRE((r.delivered_seq == 5 && r.read_seq == 4));
  r = LIBCHAT_VALUE(store->AdvanceReceipt(f.conversation.id, member, 1, 1, RecordFactory::At(5)));
  REQUIRE((r.delivered_seq == 5 && r.read_seq == 4));
  REQUIRE(r.updated_at == RecordFactory::At(20));  // time does not go back either
  REQUIRE(r.conversation_id == f.conversation.id);
  REQUIRE(r.member_id == member);

  // Concurrent advances from many threads end at the maximum.
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::int64_t seq = 10 + ((i * 7 + t * 13) % 90);
        if (!store->AdvanceReceipt(f.conversation.id, member, seq, seq - 1, RecordFactory::At(30)).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(failures == 0);
  auto got = LIBCHAT_VALUE(store->GetReceipt(f.conversation.id, member));
  REQUIRE(got.delivered_seq == 99);
  REQUIRE(got.read_seq == 98);

  auto none = LIBCHAT_VALUE(store->GetReceipt(f.conversation.id, "op_nobody"));
  REQUIRE((none.delivered_seq == 0 && none.read_seq == 0));
  const ConversationId missing("conv_missing");
  LIBCHAT_REQUIRE_CODE(store->AdvanceReceipt(missing, member, 1, 1, RecordFactory::At(1)),
                       StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store->GetReceipt(missing, member), StatusCode::kNotFound);

  store.reset();
  store = Open(path);
  got = LIBCHAT_VALUE(store->GetReceipt(f.conversation.id, member));
  REQUIRE((got.delivered_seq == 99 && got.read_seq == 98));
}

TEST_CASE("sqlite store: unread counts per viewer", "[sqlite][store][receipts]") {
  TempDir dir;
  auto store = Open(dir.File("chat.db"));
  Fixture f(*store);
  const std::string customer = f.customer.id.str();
  const std::string op = "op_agent1";

  // seq 1..3 customer, 4 operator, 5 customer (deleted), 6 customer.
  for (int i = 0; i < 3; ++i) {
    LIBCHAT_REQUIRE_OK(store->AppendMessage(f.Request(f.conversation, CustomerSender(customer)), {}));
  }
  LIBCHAT_REQUIRE_OK(store->AppendMessage(f.Request(f.conversation, OperatorSender(op)), {}));
  AppendRequest deleted = f.Request(f.conversation, CustomerSender(customer));
  deleted.message.deleted = true;
  LIBCHAT_REQUIRE_OK(store->AppendMessage(deleted, {}));
  LIBCHAT_REQUIRE_OK(store->AppendMessage(f.Request(f.conversation, CustomerSender(customer)), {}));

  auto unread = [&](const std::string& viewer) {
    auto c = LIBCHAT_VALUE(store->GetConversation(f.conversation.id, viewer));
    ConversationQuery query;
    query.app_id = f.app.app.id;
    query.viewer_id = viewer;
    auto page = LIBCHAT_VALUE(store->ListConversations(query));
    REQUIRE(page.data.size() == 1);
    REQUIRE(page.data[0].unread_count == c.unread_count);  // list and get agree
    REQUIRE(page.data[0].read_seq == c.read_seq);
    return std::make_pair(c.read_seq, c.unread_count);
  };
  REQUIRE(unread(op) == std::make_pair<std::int64_t, std::int64_t>(0, 4));        // 1,2,3,6
  REQUIRE(unread(customer) == std::make_pair<std::int64_t, std::int64_t>(0, 1));  // 4
  LIBCHAT_REQUIRE_OK(store->AdvanceReceipt(f.conversation.id, op, 6, 2, RecordFactory::At(1)));
  REQUIRE(unread(op) == std::make_pair<std::int64_t, std::int64_t>(2, 2));  // 3,6
  LIBCHAT_REQUIRE_OK(store->AdvanceReceipt(f.conversation.id, op, 6, 6, RecordFactory::At(2)));
  REQUIRE(unread(op) == std::make_pair<std::int64_t, std::int64_t>(6, 0));
  LIBCHAT_REQUIRE_OK(store->AdvanceReceipt(f.conversation.id, customer, 4, 4, RecordFactory::At(3)));
  REQUIRE(unread(customer) == std::make_pair<std::int64_t, std::int64_t>(4, 0));
  // Without a viewer, no unread count.
  REQUIRE(unread("") == std::make_pair<std::int64_t, std::int64_t>(0, 0));
}

TEST_CASE("sqlite store: conversation list order, filters and pagination across pages", "[sqlite][store]") {
  TempDir dir;
  auto store = Open(dir.File("chat.db"));
  Fixture f(*store);
  Customer other_customer = f.records.MakeCustomer(f.app.app.id);
  LIBCHAT_REQUIRE_OK(store->CreateCustomer(other_customer));

  // 30 conversations (plus the fixture's at t=0); activity times with ties every 3.
  std::vector<Conversation> all = {f.conversation};
  for (int i = 0; i < 30; ++i) {
    Conversation c = f.records.MakeConversation(f.app.app.id, i % 2 ? other_customer.id : f.customer.id,
                                                RecordFactory::At(100 + (i / 3) * 10));
    c.status = i % 4 == 0 ? ConversationStatus::kResolved : ConversationStatus::kOpen;
    c.assignee_id = i % 5 == 0 ? "op_x" : "";
    if (i % 7 == 0) {
      c.type = ConversationType::kGroup;
      c.customer_id = CustomerId();
      c.members.clear();
    }
    LIBCHAT_REQUIRE_OK(store->CreateConversation(c));
    all.push_back(c);
  }
  // A message moves a conversation to the top (last_activity_at = its created_at).
  AppendRequest bump = f.Request(all[5], OperatorSender("op_x"), "", RecordFactory::At(100000));
  LIBCHAT_REQUIRE_OK(store->AppendMessage(bump, {}));
  all[5].last_activity_at = RecordFactory::At(100000);

  auto expected_order = [&](auto keep) {
    std::vector<Conversation> kept;
    for (const auto& c : all) {
      if (keep(c)) kept.push_back(c);
    }
    std::sort(kept.begin(), kept.end(), [](const Conversation& a, const Conversation& b) {
      if (a.last_activity_at != b.last_activity_at) return a.last_activity_at > b.last_activity_at;
      return b.id < a.id;
    });
    std::vector<std::string> ids;
    for (const auto& c : kept) ids.push_back(c.id.str());
    return ids;
  };
  auto list_all = [&](ConversationQuery query, int page_size) {
    query.app_id = f.app.app.id;
    query.limit = page_size;
    std::vector<std::string> ids;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = LIBCHAT_VALUE(store->ListConversations(query));
      REQUIRE(page.data.size() <= static_cast<std::size_t>(page_size));
      for (const auto& c : page.data) ids.push_back(c.id.str());
      if (page.next_cursor.empty()) break;
      REQUIRE(page.data.size() == static_cast<std::size_t>(page_size));  // only the last page is short
      query.cursor = page.next_cursor;
    }
    return ids;
  };

  const auto everything = expected_order([](const Conversation&) { return true; });
  REQUIRE(everything.front() == all[5].id.str());
  for (int page_size : {1, 4, 7, 31, 200}) {
    INFO("page size " << page_size);
    REQUIRE(list_all(ConversationQuery{}, page_size) == everything);
  }
  ConversationQuery by_status;
  by_status.status = ConversationStatus::kResolved;
  REQUIRE(list_all(by_status, 3) ==
          expected_order([](const Conversation& c) { return c.status == ConversationStatus::kResolved; }));
  ConversationQuery unassigned;
  unassigned.assignee_id = "";
  REQUIRE(list_all(unassigned, 5) ==
          expected_order([](const Conversation& c) { return c.assignee_id.empty(); }));
  ConversationQuery assigned;
  assigned.assignee_id = "op_x";
  REQUIRE(list_all(assigned, 2) ==
          expected_order([](const Conversation& c) { return c.assignee_id == "op_x"; }));
  ConversationQuery groups;
  groups.type = ConversationType::kGroup;
  REQUIRE(list_all(groups, 2) ==
          expected_order([](const Conversation& c) { return c.type == ConversationType::kGroup; }));
  ConversationQuery mine;
  mine.member_id = other_customer.id.str();
  mine.status = ConversationStatus::kOpen;
  REQUIRE(list_all(mine, 3) == expected_order([&](const Conversation& c) {
            return c.customer_id == other_customer.id && c.status == ConversationStatus::kOpen;
          }));

  // The top row carries its last message.
  ConversationQuery first;
  first.app_id = f.app.app.id;
  first.limit = 1;
  auto top = LIBCHAT_VALUE(store->ListConversations(first));
  REQUIRE(top.data[0].last_message.has_value());
  REQUIRE(top.data[0].last_message->id == bump.message.id);

  ConversationQuery bad;
  bad.app_id = f.app.app.id;
  for (const char* cursor : {"garbage", "!!!", "MTIz", "fA"}) {  // not base64url / no separator / "|"
    bad.cursor = cursor;
    LIBCHAT_REQUIRE_CODE(store->ListConversations(bad), StatusCode::kInvalidArgument);
  }
}

TEST_CASE("sqlite store: apps list in creation order across pages", "[sqlite][store]") {
  TempDir dir;
  auto store = Open(dir.File("chat.db"));
  RecordFactory records;
  StoredAccount owner = records.MakeAccount();
  LIBCHAT_REQUIRE_OK(store->CreateAccount(owner));
  std::vector<std::string> expected;
  for (int i = 0; i < 11; ++i) {
    // Equal creation times for runs of 4: insertion order decides.
    StoredApp app = records.MakeApp(owner.account.id, RecordFactory::At((i / 4) * 1000));
    LIBCHAT_REQUIRE_OK(store->CreateApp(app));
    expected.push_back(app.app.id.str());
  }
  std::vector<std::string> got;
  std::string cursor;
  for (int pages = 0; pages < 20; ++pages) {
    auto page = LIBCHAT_VALUE(store->ListApps(owner.account.id, cursor, 3));
    for (const auto& app : page.data) got.push_back(app.id.str());
    if (page.next_cursor.empty()) break;
    cursor = page.next_cursor;
  }
  REQUIRE(got == expected);
  LIBCHAT_REQUIRE_CODE(store->ListApps(owner.account.id, "not a cursor", 3), StatusCode::kInvalidArgument);
}

TEST_CASE("sqlite store: DeleteApp removes everything under the app", "[sqlite][store]") {
  TempDir dir;
  const std::string path = dir.File("chat.db");
  auto store = Open(path);
  Fixture f(*store);
  // A second tenant under the same owner that must be untouched.
  StoredApp neighbour = f.records.MakeApp(f.owner.account.id);
  LIBCHAT_REQUIRE_OK(store->CreateApp(neighbour));
  Customer neighbour_customer = f.records.MakeCustomer(neighbour.app.id, "ext-1");
  LIBCHAT_REQUIRE_OK(store->CreateCustomer(neighbour_customer));
  Conversation neighbour_conversation =
      f.records.MakeConversation(neighbour.app.id, neighbour_customer.id, RecordFactory::At(0));
  LIBCHAT_REQUIRE_OK(store->CreateConversation(neighbour_conversation));
  LIBCHAT_REQUIRE_OK(store->AppendMessage(f.Request(neighbour_conversation, CustomerSender("cus_n")), {}));

  for (int i = 0; i < 5; ++i) {
    LIBCHAT_REQUIRE_OK(store->AppendMessage(f.ByCustomer("k" + std::to_string(i)), {}));
  }
  LIBCHAT_REQUIRE_OK(store->AdvanceReceipt(f.conversation.id, f.customer.id.str(), 5, 5, RecordFactory::At(1)));

  LIBCHAT_REQUIRE_OK(store->DeleteApp(f.app.app.id));
  LIBCHAT_REQUIRE_CODE(store->DeleteApp(f.app.app.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store->GetApp(f.app.app.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store->GetCustomer(f.customer.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store->FindCustomerByExternalId(f.app.app.id, "ext-1"), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store->GetConversation(f.conversation.id, ""), StatusCode::kNotFound);
  MessageQuery query;
  query.conversation_id = f.conversation.id;
  LIBCHAT_REQUIRE_CODE(store->ListMessages(query), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store->GetReceipt(f.conversation.id, f.customer.id.str()), StatusCode::kNotFound);
  // Keys are free again.
  LIBCHAT_REQUIRE_CODE(store->FindAppByPublishableKey(f.app.app.publishable_key), StatusCode::kNotFound);

  // Recreate the same ids: if any child row had survived, it would show up (or collide) now.
  LIBCHAT_REQUIRE_OK(store->CreateApp(f.app));
  LIBCHAT_REQUIRE_OK(store->CreateCustomer(f.customer));
  LIBCHAT_REQUIRE_OK(store->CreateConversation(f.conversation));
  REQUIRE(LIBCHAT_VALUE(store->ListMessages(query)).empty());
  auto receipt = LIBCHAT_VALUE(store->GetReceipt(f.conversation.id, f.customer.id.str()));
  REQUIRE((receipt.read_seq == 0 && receipt.delivered_seq == 0));
  auto fresh = LIBCHAT_VALUE(store->AppendMessage(f.ByCustomer("k0"), {}));
  REQUIRE(fresh.created);  // the old client_msg_id row is gone
  REQUIRE(fresh.message.seq == 1);

  // The neighbour app is untouched.
  LIBCHAT_REQUIRE_OK(store->GetCustomer(neighbour_customer.id));
  REQUIRE(LIBCHAT_VALUE(store->GetConversation(neighbour_conversation.id, "")).last_seq == 1);
}

TEST_CASE("sqlite store: acknowledged appends from many threads are all there after reopen",
          "[sqlite][store][concurrency]") {
  TempDir dir;
  const std::string path = dir.File("chat.db");
  std::string conversation_id;
  std::atomic<int> acknowledged{0};
  {
    auto store = Open(path, /*synchronous_full=*/true);
    Fixture f(*store);
    conversation_id = f.conversation.id.str();
    auto requests = PrepareRequests(f, f.conversation, 4, 100);
    std::vector<std::thread> threads;
    for (auto& list : requests) {
      threads.emplace_back([&, &mine = list] {
        for (const auto& request : mine) {
          if (store->AppendMessage(request, {}).ok()) ++acknowledged;
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  auto store = Open(path);
  REQUIRE(acknowledged == 400);
  REQUIRE(LIBCHAT_VALUE(store->GetConversation(ConversationId(conversation_id), "")).last_seq == 400);
  MessageQuery query;
  query.conversation_id = ConversationId(conversation_id);
  query.before_seq = 401;
  query.limit = 400;
  auto messages = LIBCHAT_VALUE(store->ListMessages(query));
  REQUIRE(messages.size() == 400);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    REQUIRE(messages[i].seq == static_cast<std::int64_t>(i + 1));
  }
}

TEST_CASE("sqlite store: a write from a commit hook fails instead of deadlocking", "[sqlite][store]") {
  TempDir dir;
  auto store = Open(dir.File("chat.db"));
  Fixture f(*store);
  Status from_hook;
  Result<Conversation> read_from_hook = InternalError("hook not run");
  CommitHook hook = [&](const AppendResult& r) {
    from_hook = store->CheckWritable();
    read_from_hook = store->GetConversation(r.message.conversation_id, "");  // reads do not need the writer
  };
  LIBCHAT_REQUIRE_OK(store->AppendMessage(f.ByCustomer(), hook));
  REQUIRE(from_hook.code() == StatusCode::kFailedPrecondition);
  REQUIRE(LIBCHAT_VALUE(read_from_hook).last_seq == 1);
  LIBCHAT_REQUIRE_OK(store->CheckWritable());
}


TEST_CASE("sqlite store: a full write queue is resource_exhausted", "[sqlite][store]") {
  TempDir dir;
  SqliteStoreOptions options;
  options.path = dir.File("chat.db");
  options.synchronous_full = false;
  internal::SqliteStoreTuning tuning;
  tuning.max_queue = 1;
  auto store = LIBCHAT_VALUE(internal::OpenSqliteStoreWithTuning(options, tuning));
  Fixture f(*store);
  StoredAccount first = f.records.MakeAccount();
  StoredAccount second = f.records.MakeAccount();
  Status first_status = InternalError("not run");
  Status second_status;
  bool first_queued = false;
  {
    ParkedWriter parked(*store, f);
    REQUIRE(parked.parked());
    std::thread queued([&] { first_status = store->CreateAccount(first); });
    first_queued = WaitFor([&] { return Stats(*store).queued == 1; });
    second_status = store->CreateAccount(second);  // the queue (of one) is full
    parked.Release();
    queued.join();
    REQUIRE(parked.append_ok());
  }
  REQUIRE(first_queued);
  LIBCHAT_REQUIRE_CODE(second_status, StatusCode::kResourceExhausted);
  LIBCHAT_REQUIRE_OK(first_status);
  LIBCHAT_REQUIRE_CODE(store->GetAccount(second.account.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_OK(store->CreateAccount(second));  // room again
}

TEST_CASE("sqlite store: the WAL is checkpointed in the background", "[sqlite][store]") {
  TempDir dir;
  SqliteStoreOptions options;
  options.path = dir.File("chat.db");
  internal::SqliteStoreTuning tuning;
  tuning.checkpoint_frames = 8;
  auto store = LIBCHAT_VALUE(internal::OpenSqliteStoreWithTuning(options, tuning));
  Fixture f(*store);
  const std::uint64_t before = Stats(*store).checkpoints;
  for (int i = 0; i < 50; ++i) {
    LIBCHAT_REQUIRE_OK(store->AppendMessage(f.ByCustomer(), {}));
  }
  REQUIRE(WaitFor([&] { return Stats(*store).checkpoints > before; }));
  // Reads and writes carry on across checkpoints.
  LIBCHAT_REQUIRE_OK(store->AppendMessage(f.ByCustomer(), {}));
  REQUIRE(LIBCHAT_VALUE(store->GetConversation(f.conversation.id, "")).last_seq == 51);
}

TEST_CASE("sqlite store: the WAL stays bounded under continuous writes", "[sqlite][store][concurrency]") {
  TempDir dir;
  SqliteStoreOptions options;
  options.path = dir.File("chat.db");
  options.synchronous_full = false;
  internal::SqliteStoreTuning tuning;
  tuning.checkpoint_frames = 32;  // 128 KiB
  auto store = LIBCHAT_VALUE(internal::OpenSqliteStoreWithTuning(options, tuning));
  Fixture f(*store);
  std::vector<Conversation> conversations;
  for (int i = 0; i < 8; ++i) conversations.push_back(f.NewConversation(*store, RecordFactory::At(i)));
  std::vector<std::vector<AppendRequest>> requests;
  for (const auto& c : conversations) requests.push_back(PrepareRequests(f, c, 1, 400)[0]);
  // Eight writers keep the writer busy all along, so the WAL never gets an idle moment to
  // be restarted in; ~2 pages per append would make it ~25 MiB without checkpoints.
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (auto& list : requests) {
    threads.emplace_back([&, &mine = list] {
      for (const auto& request : mine) {
        if (!store->AppendMessage(request, {}).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(failures == 0);
  const SqliteStoreStats stats = Stats(*store);
  INFO("checkpoints " << stats.checkpoints << " (writer " << stats.writer_checkpoints << ")");
  REQUIRE(stats.checkpoints > 0);
  const auto wal_bytes = std::filesystem::file_size(options.path + "-wal");
  INFO("wal bytes " << wal_bytes);
  REQUIRE(wal_bytes < 8u * 1024 * 1024);
  for (const auto& c : conversations) REQUIRE(LIBCHAT_VALUE(store->GetConversation(c.id, "")).last_seq == 400);
}
