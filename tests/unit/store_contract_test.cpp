// The Store contract (libchat/providers/store.h), run against every backend: the in-memory test
// double and SQLite. Each TEMPLATE_TEST_CASE gets a fresh, empty store per backend.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch.h"
#include "libchat/providers/store.h"
#include "store_test_util.h"

namespace {

using namespace libchat;        // NOLINT: test brevity
using namespace libchat::test;  // NOLINT

#define STORE_TEST(name, tags) \
  TEMPLATE_TEST_CASE("store contract: " name, "[store]" tags, MemoryBackend, SqliteBackend)

Sender CustomerSender(const std::string& id) { return Sender{SenderType::kCustomer, id}; }
Sender OperatorSender(const std::string& id) { return Sender{SenderType::kOperator, id}; }
Sender SystemSender() { return Sender{SenderType::kSystem, ""}; }

std::vector<std::string> Ids(const std::vector<Conversation>& conversations) {
  std::vector<std::string> ids;
  for (const auto& c : conversations) ids.push_back(c.id.str());
  return ids;
}

std::vector<std::string> Ids(const std::vector<App>& apps) {
  std::vector<std::string> ids;
  for (const auto& a : apps) ids.push_back(a.id.str());
  return ids;
}

std::vector<std::int64_t> Seqs(const std::vector<Message>& messages) {
  std::vector<std::int64_t> seqs;
  for (const auto& m : messages) seqs.push_back(m.seq);
  return seqs;
}

// [first, last], inclusive; empty when last < first.
std::vector<std::int64_t> Range(std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = first; i <= last; ++i) out.push_back(i);
  return out;
}

void CheckSameAccount(const StoredAccount& got, const StoredAccount& want) {
  CHECK(got.account.id.str() == want.account.id.str());
  CHECK(got.account.email == want.account.email);
  CHECK(got.account.name == want.account.name);
  CHECK(Ms(got.account.created_at) == Ms(want.account.created_at));
  CHECK(Ms(got.account.updated_at) == Ms(want.account.updated_at));
  CHECK(got.password_hash == want.password_hash);
}

void CheckSameApp(const App& got, const App& want) {
  CHECK(got.id.str() == want.id.str());
  CHECK(got.account_id.str() == want.account_id.str());
  CHECK(got.name == want.name);
  CHECK(got.publishable_key == want.publishable_key);
  CHECK(got.theme_json == want.theme_json);
  CHECK(got.prechat_json == want.prechat_json);
  CHECK(got.identity_verification == want.identity_verification);
  CHECK(Ms(got.created_at) == Ms(want.created_at));
  CHECK(Ms(got.updated_at) == Ms(want.updated_at));
}

void CheckSameStoredApp(const StoredApp& got, const StoredApp& want) {
  CheckSameApp(got.app, want.app);
  CHECK(got.secret_key_hash == want.secret_key_hash);
  CHECK(got.identity_secret == want.identity_secret);
}

void CheckSameCustomer(const Customer& got, const Customer& want) {
  CHECK(got.id.str() == want.id.str());
  CHECK(got.app_id.str() == want.app_id.str());
  CHECK(got.external_id == want.external_id);
  CHECK(got.name == want.name);
  CHECK(got.email == want.email);
  CHECK(got.metadata_json == want.metadata_json);
  CHECK(Ms(got.created_at) == Ms(want.created_at));
  CHECK(Ms(got.updated_at) == Ms(want.updated_at));
}

// The stored fields of a conversation (not last_seq / last_message / viewer fields).
void CheckSameConversationFields(const Conversation& got, const Conversation& want) {
  CHECK(got.id.str() == want.id.str());
  CHECK(got.app_id.str() == want.app_id.str());
  CHECK(got.type == want.type);
  CHECK(got.status == want.status);
  CHECK(got.assignee_id == want.assignee_id);
  CHECK(got.name == want.name);
  CHECK(got.metadata_json == want.metadata_json);
  CHECK(got.customer_id.str() == want.customer_id.str());
  CHECK(Ms(got.snoozed_until) == Ms(want.snoozed_until));
  CHECK(Ms(got.created_at) == Ms(want.created_at));
  CHECK(Ms(got.updated_at) == Ms(want.updated_at));
  CHECK(Ms(got.last_activity_at) == Ms(want.last_activity_at));
}

// An account, one app under it and one identified customer of that app.
struct World {
  StoredAccount account;
  StoredApp app;
  Customer customer;
};

World Seed(Store& store, RecordFactory& f) {
  World w;
  auto [account, app] = SeedAccountWithApp(store, f);
  w.account = std::move(account);
  w.app = std::move(app);
  w.customer = f.MakeCustomer(w.app.app.id, "user-1");
  LIBCHAT_REQUIRE_OK(store.CreateCustomer(w.customer));
  return w;
}

Conversation NewConversation(Store& store, RecordFactory& f, const World& w,
                             Timestamp at = RecordFactory::At(0)) {
  Conversation c = f.MakeConversation(w.app.app.id, w.customer.id, at);
  LIBCHAT_REQUIRE_OK(store.CreateConversation(c));
  return c;
}

// Appends with a hook that counts its calls; REQUIREs success.
AppendResult Append(Store& store, const Message& message, int* hook_calls = nullptr, bool reopen = false) {
  AppendRequest request;
  request.message = message;
  request.reopen = reopen;
  return LIBCHAT_VALUE(store.AppendMessage(request, [hook_calls](const AppendResult&) {
    if (hook_calls != nullptr) ++*hook_calls;
  }));
}

Page<Conversation> List(Store& store, const ConversationQuery& query) {
  return LIBCHAT_VALUE(store.ListConversations(query));
}

std::vector<Message> Messages(Store& store, const ConversationId& id, std::optional<std::int64_t> after,
                              std::optional<std::int64_t> before, int limit) {
  MessageQuery query;
  query.conversation_id = id;
  query.after_seq = after;
  query.before_seq = before;
  query.limit = limit;
  return LIBCHAT_VALUE(store.ListMessages(query));
}

// ---------------------------------------------------------------------------
// settings

STORE_TEST("settings: get and put-if-absent", "[settings]") {
  TestType db;
  Store& store = *db;

  auto missing = LIBCHAT_VALUE(store.GetSetting("jwt_secret"));
  CHECK_FALSE(missing.has_value());

  CHECK(LIBCHAT_VALUE(store.PutSettingIfAbsent("jwt_secret", "first")) == "first");
  // Present: the stored value wins and is returned.
  CHECK(LIBCHAT_VALUE(store.PutSettingIfAbsent("jwt_secret", "second")) == "first");
  auto stored = LIBCHAT_VALUE(store.GetSetting("jwt_secret"));
  REQUIRE(stored.has_value());
  CHECK(*stored == "first");

  CHECK_FALSE(LIBCHAT_VALUE(store.GetSetting("other")).has_value());
  CHECK(LIBCHAT_VALUE(store.PutSettingIfAbsent("other", "")) == "");
  auto empty = LIBCHAT_VALUE(store.GetSetting("other"));
  REQUIRE(empty.has_value());
  CHECK(empty->empty());
}

STORE_TEST("settings: racing put-if-absent calls all see the one winner", "[settings][concurrency]") {
  TestType db;
  Store& store = *db;
  constexpr int kThreads = 8;
  std::vector<std::optional<Result<std::string>>> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&store, &results, i] {
      results[static_cast<std::size_t>(i)] = store.PutSettingIfAbsent("secret", "value-" + std::to_string(i));
    });
  }
  for (auto& t : threads) t.join();

  auto stored = LIBCHAT_VALUE(store.GetSetting("secret"));
  REQUIRE(stored.has_value());
  CHECK(stored->rfind("value-", 0) == 0);
  for (const auto& r : results) {
    LIBCHAT_REQUIRE_OK(*r);
    CHECK(r->value() == *stored);
  }
}

// ---------------------------------------------------------------------------
// accounts

STORE_TEST("accounts: create, get, find by email, not found", "[accounts]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  StoredAccount a = f.MakeAccount();
  LIBCHAT_REQUIRE_OK(store.CreateAccount(a));

  CheckSameAccount(LIBCHAT_VALUE(store.GetAccount(a.account.id)), a);
  CheckSameAccount(LIBCHAT_VALUE(store.FindAccountByEmail(a.account.email)), a);

  LIBCHAT_REQUIRE_CODE(store.GetAccount(AccountId("acc_missing")), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.FindAccountByEmail("nobody@example.com"), StatusCode::kNotFound);
  // Compared as given: the core lower-cases emails, the store does not fold case.
  std::string upper = a.account.email;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  });
  LIBCHAT_REQUIRE_CODE(store.FindAccountByEmail(upper), StatusCode::kNotFound);
}

STORE_TEST("accounts: unique id and email", "[accounts]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  StoredAccount a = f.MakeAccount();
  LIBCHAT_REQUIRE_OK(store.CreateAccount(a));

  StoredAccount same_email = f.MakeAccount();
  same_email.account.email = a.account.email;
  LIBCHAT_REQUIRE_CODE(store.CreateAccount(same_email), StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store.GetAccount(same_email.account.id), StatusCode::kNotFound);

  StoredAccount same_id = f.MakeAccount();
  same_id.account.id = a.account.id;
  LIBCHAT_REQUIRE_CODE(store.CreateAccount(same_id), StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store.FindAccountByEmail(same_id.account.email), StatusCode::kNotFound);
  CheckSameAccount(LIBCHAT_VALUE(store.GetAccount(a.account.id)), a);
}

STORE_TEST("accounts: update replaces name, email, password hash and updated_at only", "[accounts]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  StoredAccount a = f.MakeAccount();
  StoredAccount b = f.MakeAccount();
  LIBCHAT_REQUIRE_OK(store.CreateAccount(a));
  LIBCHAT_REQUIRE_OK(store.CreateAccount(b));

  StoredAccount changed = a;
  changed.account.name = "New Name";
  changed.account.email = "new@example.com";
  changed.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$bmV3$bmV3";
  changed.account.updated_at = RecordFactory::At(5000);
  changed.account.created_at = RecordFactory::At(9999);  // not replaced
  LIBCHAT_REQUIRE_OK(store.UpdateAccount(changed));

  StoredAccount want = changed;
  want.account.created_at = a.account.created_at;
  CheckSameAccount(LIBCHAT_VALUE(store.GetAccount(a.account.id)), want);
  CheckSameAccount(LIBCHAT_VALUE(store.FindAccountByEmail("new@example.com")), want);
  // The old email is free again.
  LIBCHAT_REQUIRE_CODE(store.FindAccountByEmail(a.account.email), StatusCode::kNotFound);
  StoredAccount reuse = f.MakeAccount();
  reuse.account.email = a.account.email;
  LIBCHAT_REQUIRE_OK(store.CreateAccount(reuse));

  // Taking another account's email is a unique violation and changes nothing.
  StoredAccount clash = b;
  clash.account.email = "new@example.com";
  clash.account.name = "Clash";
  LIBCHAT_REQUIRE_CODE(store.UpdateAccount(clash), StatusCode::kAlreadyExists);
  CheckSameAccount(LIBCHAT_VALUE(store.GetAccount(b.account.id)), b);

  StoredAccount missing = f.MakeAccount();
  LIBCHAT_REQUIRE_CODE(store.UpdateAccount(missing), StatusCode::kNotFound);
}

STORE_TEST("accounts: racing creates with one email: exactly one wins", "[accounts][concurrency]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  constexpr int kThreads = 8;
  std::vector<StoredAccount> accounts;
  for (int i = 0; i < kThreads; ++i) {
    accounts.push_back(f.MakeAccount());
    accounts.back().account.email = "race@example.com";
  }
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      results[static_cast<std::size_t>(i)] = store.CreateAccount(accounts[static_cast<std::size_t>(i)]);
    });
  }
  for (auto& t : threads) t.join();

  int ok = 0;
  std::string winner;
  for (int i = 0; i < kThreads; ++i) {
    const Status& s = results[static_cast<std::size_t>(i)];
    INFO(s.ToString());
    if (s.ok()) {
      ++ok;
      winner = accounts[static_cast<std::size_t>(i)].account.id.str();
    } else {
      CHECK(s.code() == StatusCode::kAlreadyExists);
    }
  }
  REQUIRE(ok == 1);
  CHECK(LIBCHAT_VALUE(store.FindAccountByEmail("race@example.com")).account.id.str() == winner);
}

// ---------------------------------------------------------------------------
// token revocation

STORE_TEST("tokens: revoke and check", "[tokens]") {
  TestType db;
  Store& store = *db;
  // Far in the future, so no implementation may purge them during the test.
  const Timestamp expires = RecordFactory::At(1000LL * 3600 * 24 * 365 * 50);
  CHECK_FALSE(LIBCHAT_VALUE(store.IsTokenRevoked("jti-1")));
  LIBCHAT_REQUIRE_OK(store.RevokeToken("jti-1", expires));
  CHECK(LIBCHAT_VALUE(store.IsTokenRevoked("jti-1")));
  CHECK_FALSE(LIBCHAT_VALUE(store.IsTokenRevoked("jti-2")));
  // Revoking twice is harmless.
  LIBCHAT_REQUIRE_OK(store.RevokeToken("jti-1", expires));
  CHECK(LIBCHAT_VALUE(store.IsTokenRevoked("jti-1")));
  LIBCHAT_REQUIRE_OK(store.RevokeToken("jti-2", expires));
  CHECK(LIBCHAT_VALUE(store.IsTokenRevoked("jti-2")));
}

// ---------------------------------------------------------------------------
// apps

STORE_TEST("apps: create, get, find by keys, not found", "[apps]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  StoredAccount owner = f.MakeAccount();
  LIBCHAT_REQUIRE_OK(store.CreateAccount(owner));
  StoredApp app = f.MakeApp(owner.account.id, RecordFactory::At(10));
  app.app.identity_verification = true;
  app.app.updated_at = RecordFactory::At(20);
  LIBCHAT_REQUIRE_OK(store.CreateApp(app));

  CheckSameStoredApp(LIBCHAT_VALUE(store.GetApp(app.app.id)), app);
  CheckSameStoredApp(LIBCHAT_VALUE(store.FindAppByPublishableKey(app.app.publishable_key)), app);
  CheckSameStoredApp(LIBCHAT_VALUE(store.FindAppBySecretKeyHash(app.secret_key_hash)), app);

  LIBCHAT_REQUIRE_CODE(store.GetApp(AppId("app_missing")), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.FindAppByPublishableKey("pk_missing"), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.FindAppBySecretKeyHash("skh_missing"), StatusCode::kNotFound);
  // The keys are not interchangeable.
  LIBCHAT_REQUIRE_CODE(store.FindAppByPublishableKey(app.secret_key_hash), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.FindAppBySecretKeyHash(app.app.publishable_key), StatusCode::kNotFound);
}

STORE_TEST("apps: id, publishable key and secret key hash are unique", "[apps]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  StoredAccount owner = f.MakeAccount();
  LIBCHAT_REQUIRE_OK(store.CreateAccount(owner));
  StoredApp app = f.MakeApp(owner.account.id);
  LIBCHAT_REQUIRE_OK(store.CreateApp(app));

  StoredApp same_id = f.MakeApp(owner.account.id);
  same_id.app.id = app.app.id;
  LIBCHAT_REQUIRE_CODE(store.CreateApp(same_id), StatusCode::kAlreadyExists);

  StoredApp same_pk = f.MakeApp(owner.account.id);
  same_pk.app.publishable_key = app.app.publishable_key;
  LIBCHAT_REQUIRE_CODE(store.CreateApp(same_pk), StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store.GetApp(same_pk.app.id), StatusCode::kNotFound);

  StoredApp same_skh = f.MakeApp(owner.account.id);
  same_skh.secret_key_hash = app.secret_key_hash;
  LIBCHAT_REQUIRE_CODE(store.CreateApp(same_skh), StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store.GetApp(same_skh.app.id), StatusCode::kNotFound);
  // The failed creates did not claim their other key either.
  LIBCHAT_REQUIRE_CODE(store.FindAppBySecretKeyHash(same_pk.secret_key_hash), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.FindAppByPublishableKey(same_skh.app.publishable_key), StatusCode::kNotFound);

  CheckSameStoredApp(LIBCHAT_VALUE(store.FindAppByPublishableKey(app.app.publishable_key)), app);
  CheckSameStoredApp(LIBCHAT_VALUE(store.FindAppBySecretKeyHash(app.secret_key_hash)), app);
}

STORE_TEST("apps: update replaces every field but id, account_id and created_at", "[apps]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  StoredAccount owner = f.MakeAccount();
  StoredAccount other_owner = f.MakeAccount();
  LIBCHAT_REQUIRE_OK(store.CreateAccount(owner));
  LIBCHAT_REQUIRE_OK(store.CreateAccount(other_owner));
  StoredApp app = f.MakeApp(owner.account.id, RecordFactory::At(10));
  StoredApp other = f.MakeApp(owner.account.id, RecordFactory::At(20));
  LIBCHAT_REQUIRE_OK(store.CreateApp(app));
  LIBCHAT_REQUIRE_OK(store.CreateApp(other));

  StoredApp changed = app;
  changed.app.name = "Renamed";
  changed.app.publishable_key = "pk_rotated";
  changed.app.theme_json = R"({"color":"#000000"})";
  changed.app.prechat_json = "[]";
  changed.app.identity_verification = true;
  changed.app.updated_at = RecordFactory::At(500);
  changed.secret_key_hash = "skh_rotated";
  changed.identity_secret = "ids_rotated";
  changed.app.account_id = other_owner.account.id;  // not replaced
  changed.app.created_at = RecordFactory::At(999);  // not replaced
  LIBCHAT_REQUIRE_OK(store.UpdateApp(changed));

  StoredApp want = changed;
  want.app.account_id = app.app.account_id;
  want.app.created_at = app.app.created_at;
  CheckSameStoredApp(LIBCHAT_VALUE(store.GetApp(app.app.id)), want);
  CheckSameStoredApp(LIBCHAT_VALUE(store.FindAppByPublishableKey("pk_rotated")), want);
  CheckSameStoredApp(LIBCHAT_VALUE(store.FindAppBySecretKeyHash("skh_rotated")), want);
  LIBCHAT_REQUIRE_CODE(store.FindAppByPublishableKey(app.app.publishable_key), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.FindAppBySecretKeyHash(app.secret_key_hash), StatusCode::kNotFound);
  // Still listed under its original owner.
  CHECK(Ids(LIBCHAT_VALUE(store.ListApps(owner.account.id, "", 10)).data) ==
        std::vector<std::string>{app.app.id.str(), other.app.id.str()});
  CHECK(LIBCHAT_VALUE(store.ListApps(other_owner.account.id, "", 10)).data.empty());

  // Taking another app's key is a unique violation and changes nothing.
  StoredApp clash_pk = other;
  clash_pk.app.publishable_key = "pk_rotated";
  clash_pk.app.name = "Clash";
  LIBCHAT_REQUIRE_CODE(store.UpdateApp(clash_pk), StatusCode::kAlreadyExists);
  StoredApp clash_skh = other;
  clash_skh.secret_key_hash = "skh_rotated";
  clash_skh.app.name = "Clash";
  LIBCHAT_REQUIRE_CODE(store.UpdateApp(clash_skh), StatusCode::kAlreadyExists);
  CheckSameStoredApp(LIBCHAT_VALUE(store.GetApp(other.app.id)), other);

  // Keeping its own keys is not a violation.
  StoredApp same_keys = other;
  same_keys.app.name = "Same keys";
  LIBCHAT_REQUIRE_OK(store.UpdateApp(same_keys));
  CheckSameStoredApp(LIBCHAT_VALUE(store.GetApp(other.app.id)), same_keys);

  StoredApp missing = f.MakeApp(owner.account.id);
  LIBCHAT_REQUIRE_CODE(store.UpdateApp(missing), StatusCode::kNotFound);
}

STORE_TEST("apps: list by owner in creation order, paginated", "[apps][pagination]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  StoredAccount a = f.MakeAccount();
  StoredAccount b = f.MakeAccount();
  LIBCHAT_REQUIRE_OK(store.CreateAccount(a));
  LIBCHAT_REQUIRE_OK(store.CreateAccount(b));
  std::vector<std::string> a_apps, b_apps;
  for (int i = 0; i < 5; ++i) {
    StoredApp app = f.MakeApp(a.account.id, RecordFactory::At(100 * (i + 1)));
    LIBCHAT_REQUIRE_OK(store.CreateApp(app));
    a_apps.push_back(app.app.id.str());
    if (i % 2 == 0) {
      StoredApp other = f.MakeApp(b.account.id, RecordFactory::At(100 * (i + 1) + 50));
      LIBCHAT_REQUIRE_OK(store.CreateApp(other));
      b_apps.push_back(other.app.id.str());
    }
  }

  SECTION("pages of 2") {
    Page<App> p1 = LIBCHAT_VALUE(store.ListApps(a.account.id, "", 2));
    CHECK(Ids(p1.data) == std::vector<std::string>{a_apps[0], a_apps[1]});
    REQUIRE_FALSE(p1.next_cursor.empty());
    Page<App> p2 = LIBCHAT_VALUE(store.ListApps(a.account.id, p1.next_cursor, 2));
    CHECK(Ids(p2.data) == std::vector<std::string>{a_apps[2], a_apps[3]});
    REQUIRE_FALSE(p2.next_cursor.empty());
    Page<App> p3 = LIBCHAT_VALUE(store.ListApps(a.account.id, p2.next_cursor, 2));
    CHECK(Ids(p3.data) == std::vector<std::string>{a_apps[4]});
    CHECK(p3.next_cursor.empty());
    // Full records.
    StoredApp first = LIBCHAT_VALUE(store.GetApp(AppId(a_apps[0])));
    CheckSameApp(p1.data[0], first.app);
  }
  SECTION("a page that ends exactly at the end is the last page") {
    Page<App> all = LIBCHAT_VALUE(store.ListApps(a.account.id, "", 5));
    CHECK(Ids(all.data) == a_apps);
    CHECK(all.next_cursor.empty());
    Page<App> more = LIBCHAT_VALUE(store.ListApps(a.account.id, "", 200));
    CHECK(Ids(more.data) == a_apps);
    CHECK(more.next_cursor.empty());
  }
  SECTION("owners are separate") {
    Page<App> bs = LIBCHAT_VALUE(store.ListApps(b.account.id, "", 50));
    CHECK(Ids(bs.data) == b_apps);
    CHECK(bs.next_cursor.empty());
    Page<App> none = LIBCHAT_VALUE(store.ListApps(AccountId("acc_nobody"), "", 50));
    CHECK(none.data.empty());
    CHECK(none.next_cursor.empty());
  }
  SECTION("the cursor survives deleting the app it points at") {
    Page<App> p1 = LIBCHAT_VALUE(store.ListApps(a.account.id, "", 2));
    REQUIRE_FALSE(p1.next_cursor.empty());
    LIBCHAT_REQUIRE_OK(store.DeleteApp(AppId(a_apps[1])));
    Page<App> p2 = LIBCHAT_VALUE(store.ListApps(a.account.id, p1.next_cursor, 2));
    CHECK(Ids(p2.data) == std::vector<std::string>{a_apps[2], a_apps[3]});
  }
  SECTION("an invalid cursor is invalid_argument") {
    LIBCHAT_REQUIRE_CODE(store.ListApps(a.account.id, "not a cursor", 2), StatusCode::kInvalidArgument);
  }
}

STORE_TEST("apps: delete frees keys; deleting twice is not found", "[apps]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  StoredAccount owner = f.MakeAccount();
  LIBCHAT_REQUIRE_OK(store.CreateAccount(owner));
  StoredApp app = f.MakeApp(owner.account.id);
  LIBCHAT_REQUIRE_OK(store.CreateApp(app));

  LIBCHAT_REQUIRE_OK(store.DeleteApp(app.app.id));
  LIBCHAT_REQUIRE_CODE(store.GetApp(app.app.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.FindAppByPublishableKey(app.app.publishable_key), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.FindAppBySecretKeyHash(app.secret_key_hash), StatusCode::kNotFound);
  CHECK(LIBCHAT_VALUE(store.ListApps(owner.account.id, "", 50)).data.empty());
  LIBCHAT_REQUIRE_CODE(store.DeleteApp(app.app.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.DeleteApp(AppId("app_missing")), StatusCode::kNotFound);

  StoredApp again = f.MakeApp(owner.account.id);
  again.app.publishable_key = app.app.publishable_key;
  again.secret_key_hash = app.secret_key_hash;
  LIBCHAT_REQUIRE_OK(store.CreateApp(again));
  CheckSameStoredApp(LIBCHAT_VALUE(store.FindAppByPublishableKey(app.app.publishable_key)), again);
}

STORE_TEST("apps: delete cascades to customers, conversations, messages and receipts", "[apps]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World doomed = Seed(store, f);
  World kept = Seed(store, f);
  // Seed gives both apps a customer with the same external id.
  REQUIRE(kept.customer.external_id == doomed.customer.external_id);
  Customer anonymous = f.MakeCustomer(doomed.app.app.id);
  LIBCHAT_REQUIRE_OK(store.CreateCustomer(anonymous));

  Conversation doomed_conv = NewConversation(store, f, doomed);
  Conversation kept_conv = NewConversation(store, f, kept);
  const Sender doomed_sender = CustomerSender(doomed.customer.id.str());
  for (int i = 0; i < 3; ++i) {
    Append(store, f.MakeMessage(doomed_conv, doomed_sender, "c" + std::to_string(i)));
  }
  Append(store, f.MakeMessage(kept_conv, CustomerSender(kept.customer.id.str()), "c0"));
  LIBCHAT_REQUIRE_OK(store.AdvanceReceipt(doomed_conv.id, "op_1", 3, 3, RecordFactory::At(2000)));
  LIBCHAT_REQUIRE_OK(store.AdvanceReceipt(kept_conv.id, "op_1", 1, 1, RecordFactory::At(2000)));

  LIBCHAT_REQUIRE_OK(store.DeleteApp(doomed.app.app.id));

  LIBCHAT_REQUIRE_CODE(store.GetApp(doomed.app.app.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.GetCustomer(doomed.customer.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.GetCustomer(anonymous.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.FindCustomerByExternalId(doomed.app.app.id, doomed.customer.external_id),
                       StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.GetConversation(doomed_conv.id, "op_1"), StatusCode::kNotFound);
  {
    AppendRequest request;
    request.message = f.MakeMessage(doomed_conv, CustomerSender(doomed.customer.id.str()));
    int calls = 0;
    LIBCHAT_REQUIRE_CODE(store.AppendMessage(request, [&calls](const AppendResult&) { ++calls; }),
                         StatusCode::kNotFound);
    CHECK(calls == 0);
  }

  // Recreating an app with the very same ids shows nothing of the old rows survived: no
  // customer blocks the external id, the conversation starts again at seq 1 with no receipts.
  LIBCHAT_REQUIRE_OK(store.CreateApp(doomed.app));
  LIBCHAT_REQUIRE_OK(store.CreateCustomer(doomed.customer));
  LIBCHAT_REQUIRE_OK(store.CreateCustomer(anonymous));
  LIBCHAT_REQUIRE_OK(store.CreateConversation(doomed_conv));
  CHECK(Messages(store, doomed_conv.id, std::nullopt, std::nullopt, 50).empty());
  Conversation fresh = LIBCHAT_VALUE(store.GetConversation(doomed_conv.id, "op_1"));
  CHECK(fresh.last_seq == 0);
  CHECK_FALSE(fresh.last_message.has_value());
  CHECK(fresh.read_seq == 0);
  Receipt receipt = LIBCHAT_VALUE(store.GetReceipt(doomed_conv.id, "op_1"));
  CHECK(receipt.read_seq == 0);
  CHECK(receipt.delivered_seq == 0);
  AppendResult first = Append(store, f.MakeMessage(doomed_conv, doomed_sender, "c0"));
  CHECK(first.created);  // the old (sender, client_msg_id) is gone too
  CHECK(first.message.seq == 1);

  // The other app is untouched.
  CheckSameStoredApp(LIBCHAT_VALUE(store.GetApp(kept.app.app.id)), kept.app);
  CheckSameCustomer(LIBCHAT_VALUE(store.FindCustomerByExternalId(kept.app.app.id, kept.customer.external_id)),
                    kept.customer);
  CheckSameCustomer(LIBCHAT_VALUE(store.GetCustomer(kept.customer.id)), kept.customer);
  Conversation kept_now = LIBCHAT_VALUE(store.GetConversation(kept_conv.id, "op_1"));
  CHECK(kept_now.last_seq == 1);
  CHECK(kept_now.read_seq == 1);
  CHECK(Seqs(Messages(store, kept_conv.id, std::nullopt, std::nullopt, 50)) == Range(1, 1));
}

// ---------------------------------------------------------------------------
// customers

STORE_TEST("customers: create, get, find by external id, uniqueness", "[customers]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  World other = Seed(store, f);

  CheckSameCustomer(LIBCHAT_VALUE(store.GetCustomer(w.customer.id)), w.customer);
  CheckSameCustomer(LIBCHAT_VALUE(store.FindCustomerByExternalId(w.app.app.id, "user-1")), w.customer);
  CheckSameCustomer(LIBCHAT_VALUE(store.FindCustomerByExternalId(other.app.app.id, "user-1")),
                    other.customer);

  LIBCHAT_REQUIRE_CODE(store.GetCustomer(CustomerId("cus_missing")), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.FindCustomerByExternalId(w.app.app.id, "user-2"), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.FindCustomerByExternalId(AppId("app_missing"), "user-1"), StatusCode::kNotFound);

  // (app, external_id) is unique.
  Customer dup = f.MakeCustomer(w.app.app.id, "user-1");
  LIBCHAT_REQUIRE_CODE(store.CreateCustomer(dup), StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store.GetCustomer(dup.id), StatusCode::kNotFound);
  // The id is unique.
  Customer same_id = f.MakeCustomer(w.app.app.id, "user-3");
  same_id.id = w.customer.id;
  LIBCHAT_REQUIRE_CODE(store.CreateCustomer(same_id), StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store.FindCustomerByExternalId(w.app.app.id, "user-3"), StatusCode::kNotFound);

  // Any number of anonymous customers, and they are not found by the empty external id.
  Customer anon1 = f.MakeCustomer(w.app.app.id);
  Customer anon2 = f.MakeCustomer(w.app.app.id);
  LIBCHAT_REQUIRE_OK(store.CreateCustomer(anon1));
  LIBCHAT_REQUIRE_OK(store.CreateCustomer(anon2));
  CheckSameCustomer(LIBCHAT_VALUE(store.GetCustomer(anon2.id)), anon2);
  LIBCHAT_REQUIRE_CODE(store.FindCustomerByExternalId(w.app.app.id, ""), StatusCode::kNotFound);

  // A customer belongs to an existing app.
  Customer orphan = f.MakeCustomer(AppId("app_missing"), "user-9");
  LIBCHAT_REQUIRE_CODE(store.CreateCustomer(orphan), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.GetCustomer(orphan.id), StatusCode::kNotFound);
}

STORE_TEST("customers: update replaces name, email, metadata and updated_at only", "[customers]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);

  Customer changed = w.customer;
  changed.name = "Renamed";
  changed.email = "renamed@customer.test";
  changed.metadata_json = R"({"plan":"pro"})";
  changed.updated_at = RecordFactory::At(700);
  changed.external_id = "user-changed";         // not replaced
  changed.created_at = RecordFactory::At(900);  // not replaced
  LIBCHAT_REQUIRE_OK(store.UpdateCustomer(changed));

  Customer want = changed;
  want.external_id = w.customer.external_id;
  want.created_at = w.customer.created_at;
  CheckSameCustomer(LIBCHAT_VALUE(store.GetCustomer(w.customer.id)), want);
  CheckSameCustomer(LIBCHAT_VALUE(store.FindCustomerByExternalId(w.app.app.id, "user-1")), want);
  LIBCHAT_REQUIRE_CODE(store.FindCustomerByExternalId(w.app.app.id, "user-changed"), StatusCode::kNotFound);

  Customer missing = f.MakeCustomer(w.app.app.id);
  LIBCHAT_REQUIRE_CODE(store.UpdateCustomer(missing), StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// conversations

STORE_TEST("conversations: create, get, not found, duplicate id", "[conversations]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);

  Conversation c = f.MakeConversation(w.app.app.id, w.customer.id, RecordFactory::At(100));
  c.name = "Billing question";
  c.metadata_json = R"({"source":"widget"})";
  c.assignee_id = "op_7";
  c.status = ConversationStatus::kPending;
  LIBCHAT_REQUIRE_OK(store.CreateConversation(c));

  Conversation got = LIBCHAT_VALUE(store.GetConversation(c.id, ""));
  CheckSameConversationFields(got, c);
  CHECK(got.last_seq == 0);
  CHECK_FALSE(got.last_message.has_value());
  CHECK(got.read_seq == 0);

  Conversation group = f.MakeConversation(w.app.app.id, CustomerId(), RecordFactory::At(200));
  group.type = ConversationType::kGroup;
  group.snoozed_until = RecordFactory::At(123456);
  LIBCHAT_REQUIRE_OK(store.CreateConversation(group));
  CheckSameConversationFields(LIBCHAT_VALUE(store.GetConversation(group.id, "op_7")), group);

  LIBCHAT_REQUIRE_CODE(store.GetConversation(ConversationId("conv_missing"), ""), StatusCode::kNotFound);
  Conversation dup = f.MakeConversation(w.app.app.id, w.customer.id);
  dup.id = c.id;
  dup.name = "dup";
  LIBCHAT_REQUIRE_CODE(store.CreateConversation(dup), StatusCode::kAlreadyExists);
  CheckSameConversationFields(LIBCHAT_VALUE(store.GetConversation(c.id, "")), c);

  // A conversation belongs to an existing app.
  Conversation orphan = f.MakeConversation(AppId("app_missing"), w.customer.id);
  LIBCHAT_REQUIRE_CODE(store.CreateConversation(orphan), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.GetConversation(orphan.id, ""), StatusCode::kNotFound);
}

STORE_TEST("conversations: update replaces status, assignee, snooze, name, metadata, updated_at only",
           "[conversations]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  Conversation c = NewConversation(store, f, w, RecordFactory::At(100));
  Append(store, f.MakeMessage(c, CustomerSender(w.customer.id.str()), "", RecordFactory::At(150)));
  Conversation before = LIBCHAT_VALUE(store.GetConversation(c.id, ""));

  Conversation changed = before;
  changed.status = ConversationStatus::kSnoozed;
  changed.assignee_id = "op_9";
  changed.snoozed_until = RecordFactory::At(99999);
  changed.name = "Renamed";
  changed.metadata_json = R"({"k":"v"})";
  changed.updated_at = RecordFactory::At(400);
  // None of these are replaced.
  changed.type = ConversationType::kChannel;
  changed.customer_id = CustomerId("cus_other");
  changed.created_at = RecordFactory::At(1);
  changed.last_activity_at = RecordFactory::At(2);
  changed.last_seq = 42;
  LIBCHAT_REQUIRE_OK(store.UpdateConversation(changed));

  Conversation want = changed;
  want.type = before.type;
  want.customer_id = before.customer_id;
  want.created_at = before.created_at;
  want.last_activity_at = before.last_activity_at;
  Conversation got = LIBCHAT_VALUE(store.GetConversation(c.id, ""));
  CheckSameConversationFields(got, want);
  CHECK(got.last_seq == 1);
  REQUIRE(got.last_message.has_value());
  CHECK(got.last_message->seq == 1);

  // Clearing the snooze and the assignee.
  Conversation cleared = got;
  cleared.status = ConversationStatus::kOpen;
  cleared.assignee_id = "";
  cleared.snoozed_until.reset();
  cleared.updated_at = RecordFactory::At(500);
  LIBCHAT_REQUIRE_OK(store.UpdateConversation(cleared));
  CheckSameConversationFields(LIBCHAT_VALUE(store.GetConversation(c.id, "")), cleared);

  Conversation missing = f.MakeConversation(w.app.app.id, w.customer.id);
  LIBCHAT_REQUIRE_CODE(store.UpdateConversation(missing), StatusCode::kNotFound);
}

STORE_TEST("conversations: list order and filters", "[conversations]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  World other_app = Seed(store, f);
  Customer second = f.MakeCustomer(w.app.app.id, "user-2");
  LIBCHAT_REQUIRE_OK(store.CreateCustomer(second));

  auto make = [&](ConversationType type, ConversationStatus status, std::string assignee, CustomerId customer,
                  std::int64_t at) {
    Conversation c = f.MakeConversation(w.app.app.id, customer, RecordFactory::At(at));
    c.type = type;
    c.status = status;
    c.assignee_id = std::move(assignee);
    LIBCHAT_REQUIRE_OK(store.CreateConversation(c));
    return c;
  };
  const auto kSupport = ConversationType::kSupport;
  Conversation open_unassigned = make(kSupport, ConversationStatus::kOpen, "", w.customer.id, 100);
  Conversation pending_op1 = make(kSupport, ConversationStatus::kPending, "op_1", second.id, 300);
  Conversation resolved_acc = make(ConversationType::kSupport, ConversationStatus::kResolved, "acc_1",
                                   w.customer.id, 200);
  Conversation group_op1 =
      make(ConversationType::kGroup, ConversationStatus::kOpen, "op_1", CustomerId(), 250);
  Conversation snoozed = make(ConversationType::kSupport, ConversationStatus::kSnoozed, "", second.id, 50);
  NewConversation(store, f, other_app, RecordFactory::At(1000));  // never listed for w's app

  ConversationQuery q;
  q.app_id = w.app.app.id;
  q.limit = 50;
  auto ids = [&](const ConversationQuery& query) {
    Page<Conversation> page = List(store, query);
    CHECK(page.next_cursor.empty());
    return Ids(page.data);
  };
  using V = std::vector<std::string>;

  CHECK(ids(q) == V{pending_op1.id.str(), group_op1.id.str(), resolved_acc.id.str(), open_unassigned.id.str(),
                    snoozed.id.str()});
  {
    ConversationQuery s = q;
    s.status = ConversationStatus::kOpen;
    CHECK(ids(s) == V{group_op1.id.str(), open_unassigned.id.str()});
    s.status = ConversationStatus::kPending;
    CHECK(ids(s) == V{pending_op1.id.str()});
    s.status = ConversationStatus::kResolved;
    CHECK(ids(s) == V{resolved_acc.id.str()});
    s.status = ConversationStatus::kSnoozed;
    CHECK(ids(s) == V{snoozed.id.str()});
  }
  {
    ConversationQuery a = q;
    a.assignee_id = "op_1";
    CHECK(ids(a) == V{pending_op1.id.str(), group_op1.id.str()});
    a.assignee_id = "";  // unassigned
    CHECK(ids(a) == V{open_unassigned.id.str(), snoozed.id.str()});
    a.assignee_id = "op_nobody";
    CHECK(ids(a).empty());
  }
  {
    ConversationQuery t = q;
    t.type = ConversationType::kGroup;
    CHECK(ids(t) == V{group_op1.id.str()});
    t.type = ConversationType::kDm;
    CHECK(ids(t).empty());
  }
  {
    ConversationQuery c = q;
    c.member_id = second.id.str();
    CHECK(ids(c) == V{pending_op1.id.str(), snoozed.id.str()});
    c.member_id = w.customer.id.str();
    CHECK(ids(c) == V{resolved_acc.id.str(), open_unassigned.id.str()});
  }
  {
    ConversationQuery all = q;
    all.status = ConversationStatus::kOpen;
    all.assignee_id = "";
    all.type = ConversationType::kSupport;
    all.member_id = w.customer.id.str();
    CHECK(ids(all) == V{open_unassigned.id.str()});
    all.member_id = second.id.str();
    CHECK(ids(all).empty());
  }
  {
    ConversationQuery none = q;
    none.app_id = AppId("app_missing");
    Result<Page<Conversation>> r = store.ListConversations(none);
    // An unknown app has no conversations (a store may also call it not found).
    if (r.ok()) {
      CHECK(r->data.empty());
    } else {
      CHECK(r.status().code() == StatusCode::kNotFound);
    }
  }

  // A message moves its conversation to the top; the listed record carries it.
  AppendResult appended =
      Append(store, f.MakeMessage(snoozed, CustomerSender(second.id.str()), "", RecordFactory::At(5000)));
  Page<Conversation> page = List(store, q);
  REQUIRE(page.data.size() == 5);
  CHECK(page.data[0].id.str() == snoozed.id.str());
  CHECK(Ms(page.data[0].last_activity_at) == Ms(RecordFactory::At(5000)));
  CHECK(page.data[0].last_seq == 1);
  REQUIRE(page.data[0].last_message.has_value());
  CheckSameMessage(*page.data[0].last_message, appended.message);
  CHECK_FALSE(page.data[1].last_message.has_value());
  CheckSameConversationFields(page.data[1], pending_op1);
}

STORE_TEST("conversations: keyset pagination across pages, ties broken by id desc",
           "[conversations][pagination]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);

  // 25 conversations, pairs sharing a last_activity_at, every third one pending.
  std::vector<Conversation> all;
  for (int i = 0; i < 25; ++i) {
    Conversation c = f.MakeConversation(w.app.app.id, w.customer.id, RecordFactory::At(1000 + (i / 2) * 10));
    if (i % 3 == 0) c.status = ConversationStatus::kPending;
    LIBCHAT_REQUIRE_OK(store.CreateConversation(c));
    all.push_back(c);
  }
  auto newest_first = [](const Conversation& a, const Conversation& b) {
    if (a.last_activity_at != b.last_activity_at) return a.last_activity_at > b.last_activity_at;
    return a.id.str() > b.id.str();
  };
  std::sort(all.begin(), all.end(), newest_first);
  std::vector<std::string> expected = Ids(all);
  std::vector<std::string> expected_pending;
  for (const auto& c : all) {
    if (c.status == ConversationStatus::kPending) expected_pending.push_back(c.id.str());
  }
  REQUIRE(expected_pending.size() == 9);

  ConversationQuery q;
  q.app_id = w.app.app.id;
  int pages = 0;
  for (int limit : {1, 4, 7, 24, 25, 26, 200}) {
    INFO("limit " << limit);
    q.limit = limit;
    CHECK(ListAllConversationIds(store, q, &pages) == expected);
    CHECK(pages == (25 + limit - 1) / limit);
  }
  {
    ConversationQuery pending = q;
    pending.status = ConversationStatus::kPending;
    pending.limit = 2;
    CHECK(ListAllConversationIds(store, pending, &pages) == expected_pending);
    CHECK(pages == 5);
    pending.limit = 3;  // ends exactly at a page boundary
    CHECK(ListAllConversationIds(store, pending, &pages) == expected_pending);
    CHECK(pages == 3);
  }
  {
    // An empty result is one page with no cursor.
    ConversationQuery none = q;
    none.status = ConversationStatus::kSnoozed;
    none.limit = 5;
    CHECK(ListAllConversationIds(store, none, &pages).empty());
    CHECK(pages == 1);
  }
}

STORE_TEST("conversations: an invalid cursor is invalid_argument", "[conversations][pagination]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  for (int i = 0; i < 3; ++i) NewConversation(store, f, w, RecordFactory::At(i));
  ConversationQuery q;
  q.app_id = w.app.app.id;
  q.limit = 1;
  for (const char* bad : {"garbage", "!!!", "\xff\xfe"}) {
    INFO("cursor " << bad);
    q.cursor = bad;
    LIBCHAT_REQUIRE_CODE(store.ListConversations(q), StatusCode::kInvalidArgument);
  }
}

// ---------------------------------------------------------------------------
// messages

STORE_TEST("messages: append assigns seq and updates the conversation", "[messages]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  Conversation c = NewConversation(store, f, w, RecordFactory::At(100));

  std::vector<AppendResult> hooked;
  auto append = [&](const Message& m) {
    AppendRequest request;
    request.message = m;
    AppendResult r = LIBCHAT_VALUE(store.AppendMessage(request, [&hooked](const AppendResult& result) {
      hooked.push_back(result);
    }));
    return r;
  };

  Message m1 = f.MakeMessage(c, CustomerSender(w.customer.id.str()), "cm-1", RecordFactory::At(1000));
  m1.metadata_json = R"({"attachments":[1,2]})";
  m1.text = "héllo ✓ 日本";
  AppendResult r1 = append(m1);
  CHECK(r1.created);
  Message want1 = m1;
  want1.seq = 1;
  CheckSameMessage(r1.message, want1);
  CHECK(r1.conversation.id.str() == c.id.str());
  CHECK(r1.conversation.last_seq == 1);
  REQUIRE(r1.conversation.last_message.has_value());
  CheckSameMessage(*r1.conversation.last_message, want1);
  CHECK(Ms(r1.conversation.last_activity_at) == Ms(RecordFactory::At(1000)));
  CHECK(Ms(r1.conversation.updated_at) == Ms(RecordFactory::At(1000)));
  CHECK(Ms(r1.conversation.created_at) == Ms(RecordFactory::At(100)));
  REQUIRE(hooked.size() == 1);
  CheckSameMessage(hooked[0].message, want1);
  CHECK(hooked[0].created);
  CHECK(hooked[0].conversation.last_seq == 1);

  Message m2 = f.MakeMessage(c, OperatorSender("op_1"), "", RecordFactory::At(2000));
  m2.edited_at = RecordFactory::At(2500);
  Message m3 = f.MakeMessage(c, SystemSender(), "", RecordFactory::At(3000));
  m3.deleted = true;
  AppendResult r2 = append(m2);
  AppendResult r3 = append(m3);
  CHECK(r2.message.seq == 2);
  CHECK(r3.message.seq == 3);
  CHECK(r3.conversation.last_seq == 3);
  REQUIRE(hooked.size() == 3);
  CHECK(hooked[1].message.seq == 2);
  CHECK(hooked[2].message.seq == 3);

  Conversation got = LIBCHAT_VALUE(store.GetConversation(c.id, ""));
  CHECK(got.last_seq == 3);
  CHECK(Ms(got.last_activity_at) == Ms(RecordFactory::At(3000)));
  CHECK(Ms(got.updated_at) == Ms(RecordFactory::At(3000)));
  REQUIRE(got.last_message.has_value());
  Message want3 = m3;
  want3.seq = 3;
  CheckSameMessage(*got.last_message, want3);

  std::vector<Message> stored = Messages(store, c.id, std::nullopt, std::nullopt, 50);
  REQUIRE(stored.size() == 3);
  CheckSameMessage(stored[0], want1);
  Message want2 = m2;
  want2.seq = 2;
  CheckSameMessage(stored[1], want2);
  CheckSameMessage(stored[2], want3);
}

STORE_TEST("messages: append to a missing conversation is not found and calls no hook", "[messages]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  Conversation ghost = f.MakeConversation(w.app.app.id, w.customer.id);  // never created
  AppendRequest request;
  request.message = f.MakeMessage(ghost, CustomerSender(w.customer.id.str()), "cm");
  int calls = 0;
  LIBCHAT_REQUIRE_CODE(store.AppendMessage(request, [&calls](const AppendResult&) { ++calls; }),
                       StatusCode::kNotFound);
  CHECK(calls == 0);

  // Reads and receipts of a missing conversation are not found either (not an empty result).
  MessageQuery query;
  query.conversation_id = ghost.id;
  LIBCHAT_REQUIRE_CODE(store.ListMessages(query), StatusCode::kNotFound);
  query.after_seq = 0;
  LIBCHAT_REQUIRE_CODE(store.ListMessages(query), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.GetReceipt(ghost.id, "op_1"), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.AdvanceReceipt(ghost.id, "op_1", 1, 1, RecordFactory::At(10)),
                       StatusCode::kNotFound);
}

STORE_TEST("messages: a message id is unique", "[messages]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  Conversation c = NewConversation(store, f, w);
  Conversation c2 = NewConversation(store, f, w);
  int calls = 0;
  AppendResult first = Append(store, f.MakeMessage(c, CustomerSender(w.customer.id.str()), "cm-1"), &calls);

  for (const Conversation* target : {&c, &c2}) {
    Message same_id = f.MakeMessage(*target, OperatorSender("op_1"), "cm-2");
    same_id.id = first.message.id;
    AppendRequest request;
    request.message = same_id;
    LIBCHAT_REQUIRE_CODE(store.AppendMessage(request, [&calls](const AppendResult&) { ++calls; }),
                         StatusCode::kAlreadyExists);
  }
  CHECK(calls == 1);
  CHECK(LIBCHAT_VALUE(store.GetConversation(c.id, "")).last_seq == 1);
  CHECK(LIBCHAT_VALUE(store.GetConversation(c2.id, "")).last_seq == 0);
  // The failed append did not claim its client_msg_id.
  AppendResult retry = Append(store, f.MakeMessage(c, OperatorSender("op_1"), "cm-2"), &calls);
  CHECK(retry.created);
  CHECK(retry.message.seq == 2);
  CHECK(calls == 2);
}

STORE_TEST("messages: (conversation, sender, client_msg_id) deduplicates", "[messages][idempotency]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  Conversation c = NewConversation(store, f, w);
  Conversation c2 = NewConversation(store, f, w);
  const std::string cus = w.customer.id.str();
  int calls = 0;

  AppendResult original =
      Append(store, f.MakeMessage(c, CustomerSender(cus), "cm-1", RecordFactory::At(1000)), &calls);
  REQUIRE(original.created);
  REQUIRE(calls == 1);

  // A retry (new message id, text and time, same key) returns the stored message.
  Message retry = f.MakeMessage(c, CustomerSender(cus), "cm-1", RecordFactory::At(9000));
  retry.text = "different text";
  AppendResult again = Append(store, retry, &calls);
  CHECK_FALSE(again.created);
  CHECK(calls == 1);
  CheckSameMessage(again.message, original.message);
  CHECK(again.conversation.id.str() == c.id.str());
  CHECK(again.conversation.last_seq == 1);
  REQUIRE(again.conversation.last_message.has_value());
  CHECK(again.conversation.last_message->id.str() == original.message.id.str());
  Conversation after_retry = LIBCHAT_VALUE(store.GetConversation(c.id, ""));
  CHECK(after_retry.last_seq == 1);
  CHECK(Ms(after_retry.last_activity_at) == Ms(RecordFactory::At(1000)));

  // Other senders, other conversations and other ids are different keys.
  AppendResult by_operator = Append(store, f.MakeMessage(c, OperatorSender("op_1"), "cm-1"), &calls);
  CHECK(by_operator.created);
  CHECK(by_operator.message.seq == 2);
  AppendResult elsewhere = Append(store, f.MakeMessage(c2, CustomerSender(cus), "cm-1"), &calls);
  CHECK(elsewhere.created);
  CHECK(elsewhere.message.seq == 1);
  AppendResult next_id = Append(store, f.MakeMessage(c, CustomerSender(cus), "cm-2"), &calls);
  CHECK(next_id.created);
  CHECK(next_id.message.seq == 3);
  CHECK(calls == 4);

  // A retry after later messages still returns the original, and reports the current conversation.
  AppendResult late = Append(store, f.MakeMessage(c, CustomerSender(cus), "cm-1"), &calls);
  CHECK_FALSE(late.created);
  CHECK(late.message.id.str() == original.message.id.str());
  CHECK(late.message.seq == 1);
  CHECK(late.conversation.last_seq == 3);
  CHECK(calls == 4);

  // No client_msg_id: never deduplicated.
  Message plain = f.MakeMessage(c, CustomerSender(cus), "");
  AppendResult p1 = Append(store, plain, &calls);
  plain.id = MessageId(f.Next("msg_"));
  AppendResult p2 = Append(store, plain, &calls);
  CHECK(p1.created);
  CHECK(p2.created);
  CHECK(p1.message.seq == 4);
  CHECK(p2.message.seq == 5);
  CHECK(calls == 6);
  CHECK(Seqs(Messages(store, c.id, std::nullopt, std::nullopt, 50)) == Range(1, 5));
}

STORE_TEST("messages: reopen", "[messages]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const std::string cus = w.customer.id.str();

  auto with_status = [&](ConversationStatus status, bool snooze) {
    Conversation c = f.MakeConversation(w.app.app.id, w.customer.id);
    c.status = status;
    if (snooze) c.snoozed_until = RecordFactory::At(50000);
    LIBCHAT_REQUIRE_OK(store.CreateConversation(c));
    return c;
  };
  struct Case {
    ConversationStatus initial;
    bool snoozed_until;
    bool reopen;
    ConversationStatus expected;
    bool expect_snoozed_until;
  };
  const Case cases[] = {
      {ConversationStatus::kResolved, false, true, ConversationStatus::kOpen, false},
      {ConversationStatus::kSnoozed, true, true, ConversationStatus::kOpen, false},
      {ConversationStatus::kResolved, false, false, ConversationStatus::kResolved, false},
      {ConversationStatus::kSnoozed, true, false, ConversationStatus::kSnoozed, true},
      {ConversationStatus::kPending, false, true, ConversationStatus::kPending, false},
      {ConversationStatus::kOpen, false, true, ConversationStatus::kOpen, false},
  };
  int index = 0;
  for (const Case& k : cases) {
    INFO("case " << index++);
    Conversation c = with_status(k.initial, k.snoozed_until);
    AppendResult r = Append(store, f.MakeMessage(c, CustomerSender(cus)), nullptr, k.reopen);
    CHECK(r.conversation.status == k.expected);
    CHECK(r.conversation.snoozed_until.has_value() == k.expect_snoozed_until);
    Conversation got = LIBCHAT_VALUE(store.GetConversation(c.id, ""));
    CHECK(got.status == k.expected);
    CHECK(got.snoozed_until.has_value() == k.expect_snoozed_until);
  }

  // A deduplicated append does not reopen.
  Conversation c = with_status(ConversationStatus::kOpen, false);
  Append(store, f.MakeMessage(c, CustomerSender(cus), "cm-1"));
  Conversation resolved = LIBCHAT_VALUE(store.GetConversation(c.id, ""));
  resolved.status = ConversationStatus::kResolved;
  LIBCHAT_REQUIRE_OK(store.UpdateConversation(resolved));
  AppendResult dup = Append(store, f.MakeMessage(c, CustomerSender(cus), "cm-1"), nullptr, true);
  CHECK_FALSE(dup.created);
  CHECK(LIBCHAT_VALUE(store.GetConversation(c.id, "")).status == ConversationStatus::kResolved);
}

STORE_TEST("messages: list with after_seq, before_seq and limit", "[messages]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  Conversation empty = NewConversation(store, f, w);
  Conversation c = NewConversation(store, f, w);
  for (int i = 0; i < 10; ++i) Append(store, f.MakeMessage(c, CustomerSender(w.customer.id.str())));

  using std::nullopt;
  // Neither: the first `limit`, ascending.
  CHECK(Seqs(Messages(store, c.id, nullopt, nullopt, 3)) == Range(1, 3));
  CHECK(Seqs(Messages(store, c.id, nullopt, nullopt, 10)) == Range(1, 10));
  CHECK(Seqs(Messages(store, c.id, nullopt, nullopt, 200)) == Range(1, 10));
  // after_seq: ascending from after_seq + 1.
  CHECK(Seqs(Messages(store, c.id, 0, nullopt, 4)) == Range(1, 4));
  CHECK(Seqs(Messages(store, c.id, 3, nullopt, 4)) == Range(4, 7));
  CHECK(Seqs(Messages(store, c.id, 7, nullopt, 5)) == Range(8, 10));
  CHECK(Seqs(Messages(store, c.id, 9, nullopt, 1)) == Range(10, 10));
  CHECK(Messages(store, c.id, 10, nullopt, 5).empty());
  CHECK(Messages(store, c.id, 25, nullopt, 5).empty());
  // before_seq: the `limit` messages just below before_seq, ascending.
  CHECK(Seqs(Messages(store, c.id, nullopt, 11, 3)) == Range(8, 10));
  CHECK(Seqs(Messages(store, c.id, nullopt, 5, 3)) == Range(2, 4));
  CHECK(Seqs(Messages(store, c.id, nullopt, 5, 4)) == Range(1, 4));
  CHECK(Seqs(Messages(store, c.id, nullopt, 3, 5)) == Range(1, 2));
  CHECK(Seqs(Messages(store, c.id, nullopt, 2, 1)) == Range(1, 1));
  CHECK(Messages(store, c.id, nullopt, 1, 5).empty());
  CHECK(Seqs(Messages(store, c.id, nullopt, 100, 2)) == Range(9, 10));
  CHECK(Seqs(Messages(store, c.id, nullopt, 100, 50)) == Range(1, 10));
  // An empty conversation.
  CHECK(Messages(store, empty.id, nullopt, nullopt, 50).empty());
  CHECK(Messages(store, empty.id, 0, nullopt, 50).empty());
  CHECK(Messages(store, empty.id, nullopt, 5, 50).empty());
  // Only this conversation's messages.
  for (const Message& m : Messages(store, c.id, nullopt, nullopt, 50)) {
    CHECK(m.conversation_id.str() == c.id.str());
  }
}

// ---------------------------------------------------------------------------
// receipts and unread counts

STORE_TEST("receipts: zero when absent, fields only move forward", "[receipts]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  Conversation c = NewConversation(store, f, w);
  Conversation c2 = NewConversation(store, f, w);
  for (int i = 0; i < 5; ++i) Append(store, f.MakeMessage(c, CustomerSender(w.customer.id.str())));

  Receipt zero = LIBCHAT_VALUE(store.GetReceipt(c.id, "op_1"));
  CHECK(zero.conversation_id.str() == c.id.str());
  CHECK(zero.member_id == "op_1");
  CHECK(zero.delivered_seq == 0);
  CHECK(zero.read_seq == 0);

  Receipt r1 = LIBCHAT_VALUE(store.AdvanceReceipt(c.id, "op_1", 3, 1, RecordFactory::At(100)));
  CHECK(r1.conversation_id.str() == c.id.str());
  CHECK(r1.member_id == "op_1");
  CHECK(r1.delivered_seq == 3);
  CHECK(r1.read_seq == 1);
  CHECK(Ms(r1.updated_at) == Ms(RecordFactory::At(100)));

  // Field by field: delivered stays 3, read moves to 2.
  Receipt r2 = LIBCHAT_VALUE(store.AdvanceReceipt(c.id, "op_1", 2, 2, RecordFactory::At(200)));
  CHECK(r2.delivered_seq == 3);
  CHECK(r2.read_seq == 2);
  CHECK(Ms(r2.updated_at) == Ms(RecordFactory::At(200)));
  Receipt r3 = LIBCHAT_VALUE(store.AdvanceReceipt(c.id, "op_1", 0, 0, RecordFactory::At(300)));
  CHECK(r3.delivered_seq == 3);
  CHECK(r3.read_seq == 2);
  Receipt r4 = LIBCHAT_VALUE(store.AdvanceReceipt(c.id, "op_1", 5, 1, RecordFactory::At(400)));
  CHECK(r4.delivered_seq == 5);
  CHECK(r4.read_seq == 2);

  Receipt got = LIBCHAT_VALUE(store.GetReceipt(c.id, "op_1"));
  CHECK(got.delivered_seq == 5);
  CHECK(got.read_seq == 2);
  CHECK(got.member_id == "op_1");
  CHECK(Ms(got.updated_at) == Ms(r4.updated_at));

  // Per member and per conversation.
  Receipt other_member = LIBCHAT_VALUE(store.GetReceipt(c.id, w.customer.id.str()));
  CHECK(other_member.delivered_seq == 0);
  CHECK(other_member.read_seq == 0);
  Receipt other_conv = LIBCHAT_VALUE(store.GetReceipt(c2.id, "op_1"));
  CHECK(other_conv.delivered_seq == 0);
  CHECK(other_conv.read_seq == 0);
  Receipt customer =
      LIBCHAT_VALUE(store.AdvanceReceipt(c.id, w.customer.id.str(), 4, 4, RecordFactory::At(500)));
  CHECK(customer.read_seq == 4);
  CHECK(LIBCHAT_VALUE(store.GetReceipt(c.id, "op_1")).read_seq == 2);
}

STORE_TEST("conversations: read_seq and unread_count are relative to the viewer",
           "[conversations][receipts]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const std::string cus = w.customer.id.str();
  Conversation c = NewConversation(store, f, w);
  Conversation quiet = NewConversation(store, f, w, RecordFactory::At(-1));

  // seq: 1 cus, 2 cus, 3 op_1, 4 system, 5 cus (deleted), 6 cus, 7 op_1
  std::int64_t at = 1000;
  auto add = [&](Sender sender, bool deleted) {
    Message m = f.MakeMessage(c, std::move(sender), "", RecordFactory::At(at += 10));
    m.deleted = deleted;
    Append(store, m);
  };
  add(CustomerSender(cus), false);
  add(CustomerSender(cus), false);
  add(OperatorSender("op_1"), false);
  add(SystemSender(), false);
  add(CustomerSender(cus), true);
  add(CustomerSender(cus), false);
  add(OperatorSender("op_1"), false);

  auto view = [&](const std::string& viewer) { return LIBCHAT_VALUE(store.GetConversation(c.id, viewer)); };
  auto listed = [&](const std::string& viewer) {
    ConversationQuery q;
    q.app_id = w.app.app.id;
    q.viewer_id = viewer;
    Page<Conversation> page = List(store, q);
    REQUIRE(page.data.size() == 2);
    REQUIRE(page.data[0].id.str() == c.id.str());
    CHECK(page.data[1].read_seq == 0);
    CHECK(page.data[1].unread_count == 0);  // no messages
    return page.data[0];
  };
  auto check = [&](const std::string& viewer, std::int64_t read_seq, std::int64_t unread) {
    INFO("viewer " << viewer);
    Conversation got = view(viewer);
    CHECK(got.read_seq == read_seq);
    CHECK(got.unread_count == unread);
    Conversation in_list = listed(viewer);
    CHECK(in_list.read_seq == read_seq);
    CHECK(in_list.unread_count == unread);
  };

  // No receipt yet: everything not sent by the viewer and not deleted is unread.
  check("op_1", 0, 4);  // 1 2 4 6
  check(cus, 0, 3);     // 3 4 7
  check("op_2", 0, 6);  // all but the deleted one

  LIBCHAT_REQUIRE_OK(store.AdvanceReceipt(c.id, "op_1", 7, 4, RecordFactory::At(2000)));
  check("op_1", 4, 1);  // 6 (5 is deleted)
  check(cus, 0, 3);     // another viewer's receipt changes nothing
  LIBCHAT_REQUIRE_OK(store.AdvanceReceipt(c.id, cus, 7, 3, RecordFactory::At(2000)));
  check(cus, 3, 2);  // 4 7
  LIBCHAT_REQUIRE_OK(store.AdvanceReceipt(c.id, cus, 7, 7, RecordFactory::At(2001)));
  check(cus, 7, 0);
  // A new message from someone else is unread again; the viewer's own is not.
  add(OperatorSender("op_2"), false);
  check(cus, 7, 1);
  add(CustomerSender(cus), false);
  check(cus, 7, 1);
  check("op_1", 4, 3);  // 6 8 9

  // With no viewer (a broadcast) the read state is zero.
  CHECK(view("").read_seq == 0);
  CHECK(view("").unread_count == 0);
  CHECK(listed("").unread_count == 0);
}

// ---------------------------------------------------------------------------
// concurrency

STORE_TEST("concurrency: 8 threads x 200 appends get seqs 1..1600, hooked in commit order",
           "[messages][concurrency]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  Conversation c = NewConversation(store, f, w);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  constexpr int kTotal = kThreads * kPerThread;

  // Built up front: the factory is not thread-safe.
  std::vector<std::vector<Message>> work(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
      work[static_cast<std::size_t>(t)].push_back(f.MakeMessage(c, CustomerSender(w.customer.id.str()), key));
    }
  }

  std::mutex hook_mu;
  std::vector<std::int64_t> hook_seqs;
  std::vector<std::string> hook_ids;
  std::atomic<int> in_hook{0};
  std::atomic<bool> overlapped{false};
  bool hook_state_mismatch = false;
  CommitHook hook = [&](const AppendResult& r) {
    if (in_hook.fetch_add(1) != 0) overlapped = true;
    {
      std::lock_guard<std::mutex> lock(hook_mu);
      hook_seqs.push_back(r.message.seq);
      hook_ids.push_back(r.message.id.str());
      if (!r.created || r.conversation.last_seq != r.message.seq) hook_state_mismatch = true;
    }
    in_hook.fetch_sub(1);
  };

  std::vector<std::vector<std::int64_t>> seqs(kThreads);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::string> first_error(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const auto ut = static_cast<std::size_t>(t);
      for (const Message& m : work[ut]) {
        AppendRequest request;
        request.message = m;
        Result<AppendResult> r = store.AppendMessage(request, hook);
        if (!r.ok() || !r->created || r->message.id != m.id) {
          if (failures[ut]++ == 0) first_error[ut] = r.status().ToString();
          continue;
        }
        seqs[ut].push_back(r->message.seq);
      }
    });
  }
  for (auto& t : threads) t.join();

  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t << ": " << first_error[static_cast<std::size_t>(t)]);
    CHECK(failures[static_cast<std::size_t>(t)] == 0);
    // Each caller's own appends committed in its call order.
    CHECK(std::is_sorted(seqs[static_cast<std::size_t>(t)].begin(), seqs[static_cast<std::size_t>(t)].end()));
  }
  std::vector<std::int64_t> all_seqs;
  for (const auto& s : seqs) all_seqs.insert(all_seqs.end(), s.begin(), s.end());
  std::sort(all_seqs.begin(), all_seqs.end());
  CHECK(all_seqs == Range(1, kTotal));

  CHECK_FALSE(overlapped.load());
  CHECK_FALSE(hook_state_mismatch);
  CHECK(hook_seqs == Range(1, kTotal));  // once each, in increasing (commit) order

  // What was stored agrees with what the hook saw.
  std::vector<Message> stored;
  std::int64_t after = 0;
  while (true) {
    std::vector<Message> page = Messages(store, c.id, after, std::nullopt, 200);
    if (page.empty()) break;
    stored.insert(stored.end(), page.begin(), page.end());
    after = page.back().seq;
    REQUIRE(stored.size() <= static_cast<std::size_t>(kTotal));
  }
  CHECK(Seqs(stored) == Range(1, kTotal));
  std::vector<std::string> stored_ids;
  for (const auto& m : stored) stored_ids.push_back(m.id.str());
  CHECK(stored_ids == hook_ids);
  CHECK(LIBCHAT_VALUE(store.GetConversation(c.id, "")).last_seq == kTotal);
}

STORE_TEST("concurrency: racing retries of the same client_msg_id create one message each",
           "[messages][idempotency][concurrency]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  Conversation c = NewConversation(store, f, w);
  constexpr int kThreads = 8;
  constexpr int kKeys = 50;

  std::vector<std::vector<Message>> work(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int k = 0; k < kKeys; ++k) {
      work[static_cast<std::size_t>(t)].push_back(
          f.MakeMessage(c, CustomerSender(w.customer.id.str()), "key-" + std::to_string(k)));
    }
  }
  std::mutex mu;
  std::vector<std::int64_t> hook_seqs;
  CommitHook hook = [&](const AppendResult& r) {
    std::lock_guard<std::mutex> lock(mu);
    hook_seqs.push_back(r.message.seq);
  };
  // Per key: the message id every caller got back, and how many callers were told "created".
  std::map<std::string, std::set<std::string>> ids_by_key;
  std::map<std::string, int> created_by_key;
  int failures = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const Message& m : work[static_cast<std::size_t>(t)]) {
        AppendRequest request;
        request.message = m;
        Result<AppendResult> r = store.AppendMessage(request, hook);
        std::lock_guard<std::mutex> lock(mu);
        if (!r.ok()) {
          ++failures;
          continue;
        }
        ids_by_key[m.client_msg_id].insert(r->message.id.str() + "#" + std::to_string(r->message.seq));
        if (r->created) ++created_by_key[m.client_msg_id];
      }
    });
  }
  for (auto& t : threads) t.join();

  CHECK(failures == 0);
  REQUIRE(ids_by_key.size() == static_cast<std::size_t>(kKeys));
  for (const auto& [key, ids] : ids_by_key) {
    INFO("key " << key);
    CHECK(ids.size() == 1);  // every caller saw the same stored message
    CHECK(created_by_key[key] == 1);
  }
  CHECK(hook_seqs == Range(1, kKeys));
  CHECK(Seqs(Messages(store, c.id, std::nullopt, std::nullopt, 200)) == Range(1, kKeys));
}

STORE_TEST("concurrency: appends to several conversations keep per-conversation seqs gapless",
           "[messages][concurrency]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  constexpr int kConversations = 4;
  constexpr int kPerConversation = 100;
  std::vector<Conversation> conversations;
  for (int i = 0; i < kConversations; ++i) conversations.push_back(NewConversation(store, f, w));
  // Each thread writes to every conversation, interleaved.
  std::vector<std::vector<Message>> work(kConversations);
  for (int t = 0; t < kConversations; ++t) {
    for (int i = 0; i < kPerConversation; ++i) {
      const Conversation& target = conversations[static_cast<std::size_t>((t + i) % kConversations)];
      const Sender sender = OperatorSender("op_" + std::to_string(t));
      work[static_cast<std::size_t>(t)].push_back(f.MakeMessage(target, sender));
    }
  }
  std::mutex mu;
  std::map<std::string, std::vector<std::int64_t>> hooked;
  CommitHook hook = [&](const AppendResult& r) {
    std::lock_guard<std::mutex> lock(mu);
    hooked[r.message.conversation_id.str()].push_back(r.message.seq);
  };
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kConversations; ++t) {
    threads.emplace_back([&, t] {
      for (const Message& m : work[static_cast<std::size_t>(t)]) {
        AppendRequest request;
        request.message = m;
        if (!store.AppendMessage(request, hook).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();

  CHECK(failures.load() == 0);
  for (const Conversation& c : conversations) {
    INFO("conversation " << c.id.str());
    CHECK(hooked[c.id.str()] == Range(1, kPerConversation));
    CHECK(Seqs(Messages(store, c.id, std::nullopt, std::nullopt, 200)) == Range(1, kPerConversation));
  }
}

// ---------------------------------------------------------------------------
// health

STORE_TEST("health: a fresh store is writable", "[health]") {
  TestType db;
  LIBCHAT_REQUIRE_OK(db->CheckWritable());
}

}  // namespace
