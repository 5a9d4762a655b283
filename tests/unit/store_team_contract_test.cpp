// The Store contract for operators and the knowledge base (libchat/providers/store.h):
// atomic operator batches, listing order, filters and pages, app assignments, knowledge
// entries and their ranked full-text search (stems, app isolation, re-indexing, snippets),
// and DeleteApp's cascade over both. Run against every backend; each STORE_TEST gets a fresh,
// empty store per backend. The last tests are SQLite-only: the index survives reopening and
// a version 3 database upgrades.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "catch.h"
#include "libchat/knowledge.h"
#include "libchat/providers/store.h"
#include "storage/sqlite_db.h"
#include "storage/sqlite_store.h"
#include "store_test_util.h"

namespace {

using namespace libchat;        // NOLINT: test brevity
using namespace libchat::test;  // NOLINT

#define STORE_TEST(name, tags) \
  TEMPLATE_TEST_CASE("store contract: " name, "[store][team]" tags, MemoryBackend, SqliteBackend)

Timestamp At(std::int64_t ms) { return RecordFactory::At(ms); }

constexpr std::string_view kEllipsis = "\xE2\x80\xA6";

Operator MakeOperator(const std::string& id, const AccountId& account, std::vector<AppId> apps,
                      std::int64_t created_ms = 0, OperatorStatus status = OperatorStatus::kActive) {
  Operator op;
  op.id = OperatorId(id);
  op.account_id = account;
  op.name = "Operator " + id;
  op.email = id + "@team.test";
  op.status = status;
  op.app_ids = std::move(apps);
  op.created_at = At(created_ms);
  op.updated_at = At(created_ms);
  return op;
}

KnowledgeEntry TextEntry(const std::string& id, const AppId& app, std::string content, std::int64_t created_ms = 0) {
  KnowledgeEntry e;
  e.id = KnowledgeId(id);
  e.app_id = app;
  e.type = KnowledgeType::kText;
  e.content = std::move(content);
  e.created_at = At(created_ms);
  e.updated_at = At(created_ms);
  return e;
}

KnowledgeEntry QaEntry(const std::string& id, const AppId& app, std::string question, std::string answer,
                       std::int64_t created_ms = 0) {
  KnowledgeEntry e = TextEntry(id, app, "", created_ms);
  e.type = KnowledgeType::kQa;
  e.question = std::move(question);
  e.answer = std::move(answer);
  return e;
}

template <typename T>
std::vector<std::string> Ids(const std::vector<T>& records) {
  std::vector<std::string> ids;
  for (const T& r : records) ids.push_back(r.id.str());
  return ids;
}

std::vector<std::string> AppIdStrings(const std::vector<AppId>& apps) {
  std::vector<std::string> ids;
  for (const AppId& app : apps) ids.push_back(app.str());
  return ids;
}

// Every page of an operator listing, following next_cursor; fails on a runaway loop.
std::vector<std::string> ListAllOperatorIds(Store& store, OperatorQuery query, int* pages = nullptr) {
  std::vector<std::string> ids;
  int count = 0;
  query.cursor.clear();
  while (true) {
    Page<Operator> page = LIBCHAT_VALUE(store.ListOperators(query));
    ++count;
    REQUIRE(count < 100);
    REQUIRE(static_cast<int>(page.data.size()) <= query.limit);
    for (const Operator& op : page.data) ids.push_back(op.id.str());
    if (page.next_cursor.empty()) break;
    REQUIRE(static_cast<int>(page.data.size()) == query.limit);  // only the last page may be short
    query.cursor = page.next_cursor;
  }
  if (pages != nullptr) *pages = count;
  return ids;
}

std::vector<std::string> ListAllEntryIds(Store& store, const AppId& app, int limit, int* pages = nullptr) {
  std::vector<std::string> ids;
  std::string cursor;
  int count = 0;
  while (true) {
    Page<KnowledgeEntry> page = LIBCHAT_VALUE(store.ListKnowledgeEntries(app, cursor, limit));
    ++count;
    REQUIRE(count < 100);
    REQUIRE(static_cast<int>(page.data.size()) <= limit);
    for (const KnowledgeEntry& e : page.data) ids.push_back(e.id.str());
    if (page.next_cursor.empty()) break;
    REQUIRE(static_cast<int>(page.data.size()) == limit);
    cursor = page.next_cursor;
  }
  if (pages != nullptr) *pages = count;
  return ids;
}

std::vector<KnowledgeMatch> Search(Store& store, const AppId& app, std::vector<std::string> terms, int limit = 10) {
  KnowledgeQuery query;
  query.app_id = app;
  query.terms = std::move(terms);
  query.limit = limit;
  return LIBCHAT_VALUE(store.SearchKnowledge(query));
}

std::vector<std::string> MatchIds(const std::vector<KnowledgeMatch>& matches) {
  std::vector<std::string> ids;
  for (const KnowledgeMatch& m : matches) ids.push_back(m.entry.id.str());
  return ids;
}

// Ranks are positive and the matches come best first.
void CheckRankOrder(const std::vector<KnowledgeMatch>& matches) {
  for (std::size_t i = 0; i < matches.size(); ++i) {
    CHECK(matches[i].rank > 0);
    if (i > 0) CHECK(matches[i - 1].rank >= matches[i].rank);
  }
}

void CheckSameEntry(const KnowledgeEntry& got, const KnowledgeEntry& want) {
  CHECK(got.id.str() == want.id.str());
  CHECK(got.app_id.str() == want.app_id.str());
  CHECK(got.type == want.type);
  CHECK(got.question == want.question);
  CHECK(got.answer == want.answer);
  CHECK(got.content == want.content);
  CHECK(Ms(got.created_at) == Ms(want.created_at));
  CHECK(Ms(got.updated_at) == Ms(want.updated_at));
}

// An account with two apps.
struct World {
  StoredAccount account;
  StoredApp app;
  StoredApp other;
};

World Seed(Store& store, RecordFactory& f) {
  World w;
  auto [account, app] = SeedAccountWithApp(store, f);
  w.account = std::move(account);
  w.app = std::move(app);
  w.other = f.MakeApp(w.account.account.id);
  LIBCHAT_REQUIRE_OK(store.CreateApp(w.other));
  return w;
}

// ---------------------------------------------------------------------------
// Operators

STORE_TEST("operators: a batch is stored whole, or not at all", "") {
  TestType store;
  RecordFactory f;
  World w = Seed(*store, f);
  const AccountId& acc = w.account.account.id;
  // app_ids come back sorted, whatever order they were given in.
  Operator first = MakeOperator("op_1", acc, {w.other.app.id, w.app.app.id}, 10);
  Operator second = MakeOperator("op_2", acc, {}, 20, OperatorStatus::kInactive);
  second.email = "";
  LIBCHAT_REQUIRE_OK(store->CreateOperators({first, second}));

  Operator got = LIBCHAT_VALUE(store->GetOperator(OperatorId("op_1")));
  CHECK(got.id.str() == "op_1");
  CHECK(got.account_id.str() == acc.str());
  CHECK(got.name == "Operator op_1");
  CHECK(got.email == "op_1@team.test");
  CHECK(got.status == OperatorStatus::kActive);
  std::vector<std::string> sorted_apps = {w.app.app.id.str(), w.other.app.id.str()};
  std::sort(sorted_apps.begin(), sorted_apps.end());
  CHECK(AppIdStrings(got.app_ids) == sorted_apps);
  CHECK(Ms(got.created_at) == Ms(At(10)));
  CHECK(Ms(got.updated_at) == Ms(At(10)));
  Operator got2 = LIBCHAT_VALUE(store->GetOperator(OperatorId("op_2")));
  CHECK(got2.status == OperatorStatus::kInactive);
  CHECK(got2.email.empty());
  CHECK(got2.app_ids.empty());

  // A taken id fails the whole batch: the new operator before it is not stored either.
  LIBCHAT_REQUIRE_CODE(store->CreateOperators({MakeOperator("op_3", acc, {w.app.app.id}), first}),
                       StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store->GetOperator(OperatorId("op_3")), StatusCode::kNotFound);
  // So does an id repeated inside the batch.
  LIBCHAT_REQUIRE_CODE(store->CreateOperators({MakeOperator("op_4", acc, {}), MakeOperator("op_4", acc, {})}),
                       StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store->GetOperator(OperatorId("op_4")), StatusCode::kNotFound);
  // And an app that does not exist.
  LIBCHAT_REQUIRE_CODE(store->CreateOperators({MakeOperator("op_5", acc, {w.app.app.id}),
                                               MakeOperator("op_6", acc, {AppId("app_missing")})}),
                       StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store->GetOperator(OperatorId("op_5")), StatusCode::kNotFound);
  CHECK(LIBCHAT_VALUE(store->ListActiveAppOperators(w.app.app.id)).size() == 1);

  LIBCHAT_REQUIRE_CODE(store->GetOperator(OperatorId("op_missing")), StatusCode::kNotFound);
}

STORE_TEST("operators: listed oldest first, active and inactive by default, filtered, across pages", "") {
  TestType store;
  RecordFactory f;
  World w = Seed(*store, f);
  const AccountId& acc = w.account.account.id;
  const AppId& app = w.app.app.id;
  const AppId& other = w.other.app.id;
  LIBCHAT_REQUIRE_OK(store->CreateOperators({
      MakeOperator("op_e", acc, {app}, 50),
      MakeOperator("op_a", acc, {app, other}, 10),
      MakeOperator("op_c", acc, {other}, 30, OperatorStatus::kInactive),
      MakeOperator("op_b", acc, {app}, 30),  // same time as op_c: id breaks the tie
      MakeOperator("op_d", acc, {app}, 40, OperatorStatus::kDeleted),
  }));
  // Another account's operator never shows.
  StoredAccount stranger = f.MakeAccount();
  LIBCHAT_REQUIRE_OK(store->CreateAccount(stranger));
  LIBCHAT_REQUIRE_OK(store->CreateOperators({MakeOperator("op_x", stranger.account.id, {}, 0)}));

  OperatorQuery query;
  query.account_id = acc;
  query.limit = 50;
  CHECK(ListAllOperatorIds(*store, query) == std::vector<std::string>{"op_a", "op_b", "op_c", "op_e"});
  // Every page of two but the last is full, and the pages add up to the whole list.
  query.limit = 2;
  int pages = 0;
  CHECK(ListAllOperatorIds(*store, query, &pages) == std::vector<std::string>{"op_a", "op_b", "op_c", "op_e"});
  CHECK(pages == 2);
  query.limit = 3;
  CHECK(ListAllOperatorIds(*store, query, &pages) == std::vector<std::string>{"op_a", "op_b", "op_c", "op_e"});
  CHECK(pages == 2);

  query.limit = 1;
  query.status = OperatorStatus::kDeleted;
  CHECK(ListAllOperatorIds(*store, query) == std::vector<std::string>{"op_d"});
  query.status = OperatorStatus::kActive;
  CHECK(ListAllOperatorIds(*store, query) == std::vector<std::string>{"op_a", "op_b", "op_e"});
  query.status.reset();
  query.app_id = app;
  CHECK(ListAllOperatorIds(*store, query) == std::vector<std::string>{"op_a", "op_b", "op_e"});
  query.app_id = other;
  CHECK(ListAllOperatorIds(*store, query) == std::vector<std::string>{"op_a", "op_c"});
  query.status = OperatorStatus::kInactive;
  CHECK(ListAllOperatorIds(*store, query) == std::vector<std::string>{"op_c"});
  query.app_id = AppId("app_missing");
  query.status.reset();
  CHECK(ListAllOperatorIds(*store, query).empty());

  // Listed operators carry their app_ids.
  query.app_id.reset();
  query.limit = 10;
  Page<Operator> page = LIBCHAT_VALUE(store->ListOperators(query));
  REQUIRE(page.data.size() == 4);
  std::vector<std::string> both = {app.str(), other.str()};
  std::sort(both.begin(), both.end());
  CHECK(AppIdStrings(page.data[0].app_ids) == both);
  CHECK(AppIdStrings(page.data[2].app_ids) == std::vector<std::string>{other.str()});
  CHECK(page.next_cursor.empty());

  query.cursor = "garbage";
  LIBCHAT_REQUIRE_CODE(store->ListOperators(query), StatusCode::kInvalidArgument);
}

STORE_TEST("operators: UpdateOperator replaces name, email, status and app_ids", "") {
  TestType store;
  RecordFactory f;
  World w = Seed(*store, f);
  const AccountId& acc = w.account.account.id;
  const AppId& app = w.app.app.id;
  const AppId& other = w.other.app.id;
  LIBCHAT_REQUIRE_OK(store->CreateOperators({MakeOperator("op_1", acc, {app}, 10)}));

  Operator changed = MakeOperator("op_1", acc, {other}, 10, OperatorStatus::kInactive);
  changed.name = "Renamed";
  changed.email = "new@team.test";
  changed.created_at = At(999);  // not replaced
  changed.updated_at = At(500);
  LIBCHAT_REQUIRE_OK(store->UpdateOperator(changed));
  Operator got = LIBCHAT_VALUE(store->GetOperator(OperatorId("op_1")));
  CHECK(got.name == "Renamed");
  CHECK(got.email == "new@team.test");
  CHECK(got.status == OperatorStatus::kInactive);
  CHECK(AppIdStrings(got.app_ids) == std::vector<std::string>{other.str()});
  CHECK(Ms(got.created_at) == Ms(At(10)));
  CHECK(Ms(got.updated_at) == Ms(At(500)));

  OperatorQuery query;
  query.account_id = acc;
  query.app_id = app;
  CHECK(ListAllOperatorIds(*store, query).empty());
  query.app_id = other;
  CHECK(ListAllOperatorIds(*store, query) == std::vector<std::string>{"op_1"});

  // Back to active, on both apps.
  changed.status = OperatorStatus::kActive;
  changed.app_ids = {app, other};
  LIBCHAT_REQUIRE_OK(store->UpdateOperator(changed));
  CHECK(Ids(LIBCHAT_VALUE(store->ListActiveAppOperators(app))) == std::vector<std::string>{"op_1"});
  CHECK(Ids(LIBCHAT_VALUE(store->ListActiveAppOperators(other))) == std::vector<std::string>{"op_1"});

  // An unknown app changes nothing.
  changed.app_ids = {AppId("app_missing")};
  LIBCHAT_REQUIRE_CODE(store->UpdateOperator(changed), StatusCode::kNotFound);
  CHECK(LIBCHAT_VALUE(store->GetOperator(OperatorId("op_1"))).app_ids.size() == 2);

  LIBCHAT_REQUIRE_CODE(store->UpdateOperator(MakeOperator("op_missing", acc, {})), StatusCode::kNotFound);
}

STORE_TEST("operators: ListActiveAppOperators lists the app's active operators, oldest first", "") {
  TestType store;
  RecordFactory f;
  World w = Seed(*store, f);
  const AccountId& acc = w.account.account.id;
  const AppId& app = w.app.app.id;
  LIBCHAT_REQUIRE_OK(store->CreateOperators({
      MakeOperator("op_3", acc, {app}, 30),
      MakeOperator("op_1", acc, {app}, 10),
      MakeOperator("op_2", acc, {app}, 20, OperatorStatus::kInactive),
      MakeOperator("op_4", acc, {app}, 40, OperatorStatus::kDeleted),
      MakeOperator("op_5", acc, {w.other.app.id}, 5),
      MakeOperator("op_6", acc, {}, 1),
  }));
  std::vector<Operator> active = LIBCHAT_VALUE(store->ListActiveAppOperators(app));
  CHECK(Ids(active) == std::vector<std::string>{"op_1", "op_3"});
  REQUIRE(active.size() == 2);
  CHECK(AppIdStrings(active[0].app_ids) == std::vector<std::string>{app.str()});
  CHECK(LIBCHAT_VALUE(store->ListActiveAppOperators(AppId("app_missing"))).empty());
}

STORE_TEST("DeleteApp takes the app out of its operators' app_ids and deletes its knowledge", "") {
  TestType store;
  RecordFactory f;
  World w = Seed(*store, f);
  const AccountId& acc = w.account.account.id;
  const AppId& doomed = w.app.app.id;
  const AppId& kept = w.other.app.id;
  LIBCHAT_REQUIRE_OK(store->CreateOperators({
      MakeOperator("op_both", acc, {doomed, kept}, 10),
      MakeOperator("op_doomed", acc, {doomed}, 20),
  }));
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(TextEntry("kb_doomed", doomed, "How refunds work")));
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(TextEntry("kb_kept", kept, "Refunds take a week")));

  LIBCHAT_REQUIRE_OK(store->DeleteApp(doomed));

  // Operators stay, without the deleted app.
  CHECK(AppIdStrings(LIBCHAT_VALUE(store->GetOperator(OperatorId("op_both"))).app_ids) ==
        std::vector<std::string>{kept.str()});
  CHECK(LIBCHAT_VALUE(store->GetOperator(OperatorId("op_doomed"))).app_ids.empty());
  OperatorQuery query;
  query.account_id = acc;
  CHECK(ListAllOperatorIds(*store, query) == std::vector<std::string>{"op_both", "op_doomed"});
  query.app_id = doomed;
  CHECK(ListAllOperatorIds(*store, query).empty());
  CHECK(LIBCHAT_VALUE(store->ListActiveAppOperators(doomed)).empty());
  CHECK(Ids(LIBCHAT_VALUE(store->ListActiveAppOperators(kept))) == std::vector<std::string>{"op_both"});

  // The app's knowledge is gone, the other app's is untouched and still searchable.
  LIBCHAT_REQUIRE_CODE(store->GetKnowledgeEntry(KnowledgeId("kb_doomed")), StatusCode::kNotFound);
  CHECK(Search(*store, doomed, {"refund"}).empty());
  CHECK(ListAllEntryIds(*store, doomed, 10).empty());
  CHECK(MatchIds(Search(*store, kept, {"refund"})) == std::vector<std::string>{"kb_kept"});
  CHECK(ListAllEntryIds(*store, kept, 10) == std::vector<std::string>{"kb_kept"});

  // Nothing of the deleted app is left behind the operator: saving it back as read works.
  Operator both = LIBCHAT_VALUE(store->GetOperator(OperatorId("op_both")));
  LIBCHAT_REQUIRE_OK(store->UpdateOperator(both));
}

// ---------------------------------------------------------------------------
// Knowledge entries

STORE_TEST("knowledge: entries round-trip, updates replace, deletes remove", "") {
  TestType store;
  RecordFactory f;
  World w = Seed(*store, f);
  const AppId& app = w.app.app.id;
  KnowledgeEntry qa = QaEntry("kb_1", app, "How do I reset my password?", "Use the reset link.", 10);
  qa.content = "Longer explanation.";
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(qa));
  CheckSameEntry(LIBCHAT_VALUE(store->GetKnowledgeEntry(KnowledgeId("kb_1"))), qa);

  LIBCHAT_REQUIRE_CODE(store->CreateKnowledgeEntry(TextEntry("kb_1", app, "again")), StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store->CreateKnowledgeEntry(TextEntry("kb_2", AppId("app_missing"), "x")),
                       StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store->GetKnowledgeEntry(KnowledgeId("kb_2")), StatusCode::kNotFound);

  KnowledgeEntry changed = TextEntry("kb_1", app, "Passwords are reset from the login page.", 999);
  changed.updated_at = At(50);
  LIBCHAT_REQUIRE_OK(store->UpdateKnowledgeEntry(changed));
  KnowledgeEntry want = changed;
  want.created_at = At(10);  // not replaced
  CheckSameEntry(LIBCHAT_VALUE(store->GetKnowledgeEntry(KnowledgeId("kb_1"))), want);
  LIBCHAT_REQUIRE_CODE(store->UpdateKnowledgeEntry(TextEntry("kb_missing", app, "x")), StatusCode::kNotFound);

  LIBCHAT_REQUIRE_OK(store->DeleteKnowledgeEntry(KnowledgeId("kb_1")));
  LIBCHAT_REQUIRE_CODE(store->GetKnowledgeEntry(KnowledgeId("kb_1")), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store->DeleteKnowledgeEntry(KnowledgeId("kb_1")), StatusCode::kNotFound);
  CHECK(ListAllEntryIds(*store, app, 10).empty());
}

STORE_TEST("knowledge: entries list newest first, per app, across pages", "") {
  TestType store;
  RecordFactory f;
  World w = Seed(*store, f);
  const AppId& app = w.app.app.id;
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(TextEntry("kb_a", app, "a", 10)));
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(TextEntry("kb_e", app, "e", 50)));
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(TextEntry("kb_b", app, "b", 30)));
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(TextEntry("kb_c", app, "c", 30)));  // same time: id desc
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(TextEntry("kb_d", app, "d", 40)));
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(TextEntry("kb_other", w.other.app.id, "o", 60)));

  const std::vector<std::string> newest_first = {"kb_e", "kb_d", "kb_c", "kb_b", "kb_a"};
  CHECK(ListAllEntryIds(*store, app, 50) == newest_first);
  int pages = 0;
  CHECK(ListAllEntryIds(*store, app, 2, &pages) == newest_first);
  CHECK(pages == 3);
  CHECK(ListAllEntryIds(*store, app, 5, &pages) == newest_first);
  CHECK(pages == 1);
  CHECK(ListAllEntryIds(*store, w.other.app.id, 50) == std::vector<std::string>{"kb_other"});
  CHECK(ListAllEntryIds(*store, AppId("app_missing"), 50).empty());
  LIBCHAT_REQUIRE_CODE(store->ListKnowledgeEntries(app, "garbage", 10), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Knowledge search

// Entries that match none of the searches below, so that the searched words stay rare.
void AddFiller(Store& store, const AppId& app) {
  const char* texts[] = {
      "Our office hours are nine to five on weekdays",
      "You can change your password from the account settings page",
      "We support two factor authentication with an authenticator",
      "Invite your teammates from the members page of the dashboard",
      "Dark mode can be enabled in the appearance settings",
  };
  int n = 0;
  for (const char* text : texts) {
    ++n;
    LIBCHAT_REQUIRE_OK(store.CreateKnowledgeEntry(TextEntry("kb_filler" + std::to_string(n), app, text, n)));
  }
}

STORE_TEST("knowledge search: entries matching more and rarer terms rank first", "") {
  TestType store;
  RecordFactory f;
  World w = Seed(*store, f);
  const AppId& app = w.app.app.id;
  AddFiller(*store, app);
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(
      QaEntry("kb_invoice", app, "How do I get a refund on an invoice", "Open the invoice and ask for a refund", 100)));
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(
      TextEntry("kb_review", app, "Refund requests are reviewed by our billing team within a week", 101)));
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(
      TextEntry("kb_shipping", app, "Shipping usually takes three to five business days worldwide", 102)));
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(
      TextEntry("kb_card", app, "A refund goes back to the original card in a few days", 103)));

  // Both words beat one of them.
  auto both = Search(*store, app, {"refund", "invoice"});
  CheckRankOrder(both);
  REQUIRE(both.size() == 3);
  CHECK(both[0].entry.id.str() == "kb_invoice");
  CHECK(std::set<std::string>{both[1].entry.id.str(), both[2].entry.id.str()} ==
        std::set<std::string>{"kb_review", "kb_card"});
  CHECK(both[0].rank > both[1].rank);

  // One rare word beats one common word.
  auto rare = Search(*store, app, {"shipping", "refund"});
  CheckRankOrder(rare);
  REQUIRE(rare.size() == 4);
  CHECK(rare[0].entry.id.str() == "kb_shipping");
  CheckSameEntry(rare[0].entry, TextEntry("kb_shipping", app,
                                          "Shipping usually takes three to five business days worldwide", 102));

  // The limit keeps the best ones.
  auto top = Search(*store, app, {"shipping", "refund"}, 2);
  CHECK(MatchIds(top) == std::vector<std::string>{rare[0].entry.id.str(), rare[1].entry.id.str()});

  CHECK(Search(*store, app, {"nonexistentword"}).empty());
  CHECK(Search(*store, AppId("app_missing"), {"refund"}).empty());
}

STORE_TEST("knowledge search: words match by stem, whatever their case and accents", "") {
  TestType store;
  RecordFactory f;
  World w = Seed(*store, f);
  const AppId& app = w.app.app.id;
  AddFiller(*store, app);
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(QaEntry("kb_refund", app, "What is your REFUND policy?",
                                                         "We give refunds within thirty days.", 100)));
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(TextEntry("kb_cafe", app, "The Café opens at eight.", 101)));

  for (const char* word : {"refund", "refunds", "refunding", "refunded"}) {
    INFO(word);
    CHECK(MatchIds(Search(*store, app, {word})) == std::vector<std::string>{"kb_refund"});
  }
  CHECK(MatchIds(Search(*store, app, {"policies"})) == std::vector<std::string>{"kb_refund"});
  CHECK(MatchIds(Search(*store, app, {"cafe"})) == std::vector<std::string>{"kb_cafe"});
  CHECK(MatchIds(Search(*store, app, {"opening"})) == std::vector<std::string>{"kb_cafe"});
  // Any of the terms is enough; a quote in a term is only a character.
  CHECK(MatchIds(Search(*store, app, {"zzz\"", "cafe"})) == std::vector<std::string>{"kb_cafe"});
}

STORE_TEST("knowledge search: another app's entries are never returned", "") {
  TestType store;
  RecordFactory f;
  World w = Seed(*store, f);
  // Two apps whose ids differ only in case, so that a case-folding index cannot tell them apart.
  StoredApp lower = f.MakeApp(w.account.account.id);
  lower.app.id = AppId("app_casecollide");
  lower.app.publishable_key = "pk_lower";
  lower.secret_key_hash = "skh_lower";
  StoredApp upper = f.MakeApp(w.account.account.id);
  upper.app.id = AppId("app_CaseCollide");
  upper.app.publishable_key = "pk_upper";
  upper.secret_key_hash = "skh_upper";
  LIBCHAT_REQUIRE_OK(store->CreateApp(lower));
  LIBCHAT_REQUIRE_OK(store->CreateApp(upper));

  // The other apps have many entries that match better than the one of the searched app.
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(
      TextEntry("kb_mine", upper.app.id, "Refund requests go to the billing team and take a while", 1)));
  for (int i = 0; i < 30; ++i) {
    const AppId& app = i % 3 == 0 ? w.app.app.id : i % 3 == 1 ? w.other.app.id : lower.app.id;
    LIBCHAT_REQUIRE_OK(
        store->CreateKnowledgeEntry(TextEntry("kb_theirs" + std::to_string(i), app, "Refund refund refund", i)));
  }
  auto mine = Search(*store, upper.app.id, {"refund"}, 5);
  CHECK(MatchIds(mine) == std::vector<std::string>{"kb_mine"});
  auto theirs = Search(*store, lower.app.id, {"refund", "billing"}, 50);
  CHECK(theirs.size() == 10);
  for (const KnowledgeMatch& m : theirs) CHECK(m.entry.app_id.str() == lower.app.id.str());
}

STORE_TEST("knowledge search: an update re-indexes the entry and a delete takes it out", "") {
  TestType store;
  RecordFactory f;
  World w = Seed(*store, f);
  const AppId& app = w.app.app.id;
  AddFiller(*store, app);
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(TextEntry("kb_1", app, "Refunds are sent within a week", 100)));
  CHECK(MatchIds(Search(*store, app, {"refund"})) == std::vector<std::string>{"kb_1"});

  KnowledgeEntry changed = QaEntry("kb_1", app, "Can I exchange an item?", "Yes, exchanges are free.", 100);
  LIBCHAT_REQUIRE_OK(store->UpdateKnowledgeEntry(changed));
  CHECK(Search(*store, app, {"refund"}).empty());
  auto found = Search(*store, app, {"exchange"});
  REQUIRE(MatchIds(found) == std::vector<std::string>{"kb_1"});
  CHECK(found[0].entry.type == KnowledgeType::kQa);
  CHECK(found[0].entry.question == "Can I exchange an item?");

  LIBCHAT_REQUIRE_OK(store->DeleteKnowledgeEntry(KnowledgeId("kb_1")));
  CHECK(Search(*store, app, {"exchange"}).empty());
  CHECK(Search(*store, app, {"refund"}).empty());
}

STORE_TEST("knowledge search: snippets mark the matched words around the first match", "") {
  TestType store;
  RecordFactory f;
  World w = Seed(*store, f);
  const AppId& app = w.app.app.id;
  AddFiller(*store, app);
  // A short question that matches: the snippet is all of it.
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(
      QaEntry("kb_qa", app, "How do I get a refund?", "Write to billing and we will help.", 100)));
  auto qa = Search(*store, app, {"refund"});
  REQUIRE(MatchIds(qa) == std::vector<std::string>{"kb_qa"});
  CHECK(qa[0].snippet == "How do I get a \x02refund\x03?");

  // A long passage: about 24 words around the match, cut on both sides.
  std::string passage;
  for (int i = 0; i < 30; ++i) passage += "lorem" + std::to_string(i) + " ";
  passage += "All shipments are tracked until delivery. ";
  for (int i = 30; i < 60; ++i) passage += "ipsum" + std::to_string(i) + " ";
  LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(TextEntry("kb_long", app, passage, 101)));
  auto long_match = Search(*store, app, {"shipment"});
  REQUIRE(MatchIds(long_match) == std::vector<std::string>{"kb_long"});
  const std::string& snippet = long_match[0].snippet;
  INFO(snippet);
  CHECK(snippet.find("\x02shipments\x03") != std::string::npos);
  CHECK(snippet.size() < passage.size() / 2);
  CHECK(snippet.rfind(kEllipsis, 0) == 0);
  CHECK(snippet.find("lorem0 ") == std::string::npos);
  CHECK(snippet.find("ipsum59") == std::string::npos);
  CHECK(std::count(snippet.begin(), snippet.end(), '\x02') == 1);
  CHECK(std::count(snippet.begin(), snippet.end(), '\x03') == 1);
}

// ---------------------------------------------------------------------------
// SQLite: durability and upgrade

// A database file in a fresh directory under /tmp, removed with it.
class TempDatabase {
 public:
  TempDatabase() {
    char dir_template[] = "/tmp/libchat_team_test_XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    dir_ = dir_template;
    path_ = dir_ + "/chat.db";
  }
  ~TempDatabase() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path_ + suffix).c_str());
    ::rmdir(dir_.c_str());
  }
  TempDatabase(const TempDatabase&) = delete;
  TempDatabase& operator=(const TempDatabase&) = delete;

  const std::string& path() const { return path_; }

  std::shared_ptr<Store> Open() const {
    SqliteStoreOptions options;
    options.path = path_;
    options.synchronous_full = false;
    return LIBCHAT_VALUE(OpenSqliteStore(options));
  }

 private:
  std::string dir_;
  std::string path_;
};

// FTS5's own consistency check of the index against the entries table.
void CheckFullTextIndexIntact(const std::string& path) {
  auto db = LIBCHAT_VALUE(internal::SqliteConnection::Open(path, internal::SqliteConnection::Options()));
  LIBCHAT_REQUIRE_OK(db->Exec("INSERT INTO knowledge_fts (knowledge_fts, rank) VALUES ('integrity-check', 1)",
                              "integrity check"));
}

TEST_CASE("sqlite store: operators and knowledge survive reopening and stay searchable",
          "[sqlite][store][team]") {
  TempDatabase db;
  RecordFactory f;
  World w;
  {
    std::shared_ptr<Store> store = db.Open();
    w = Seed(*store, f);
    LIBCHAT_REQUIRE_OK(store->CreateOperators({MakeOperator("op_1", w.account.account.id, {w.app.app.id}, 1)}));
    AddFiller(*store, w.app.app.id);
    LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(TextEntry("kb_1", w.app.app.id, "Refunds take a week", 100)));
    LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(TextEntry("kb_2", w.other.app.id, "Refund", 100)));
    LIBCHAT_REQUIRE_OK(store->UpdateKnowledgeEntry(TextEntry("kb_filler1", w.app.app.id, "Exchanges are free", 1)));
    LIBCHAT_REQUIRE_OK(store->DeleteKnowledgeEntry(KnowledgeId("kb_filler2")));
    LIBCHAT_REQUIRE_OK(store->DeleteApp(w.other.app.id));
  }
  CheckFullTextIndexIntact(db.path());
  {
    std::shared_ptr<Store> store = db.Open();
    CHECK(Ids(LIBCHAT_VALUE(store->ListActiveAppOperators(w.app.app.id))) == std::vector<std::string>{"op_1"});
    CHECK(MatchIds(Search(*store, w.app.app.id, {"refunded"})) == std::vector<std::string>{"kb_1"});
    CHECK(MatchIds(Search(*store, w.app.app.id, {"exchange"})) == std::vector<std::string>{"kb_filler1"});
    CHECK(Search(*store, w.app.app.id, {"password"}).empty());  // kb_filler2, deleted
    CHECK(ListAllEntryIds(*store, w.app.app.id, 10).size() == 5);
  }
}

TEST_CASE("sqlite store: a version 3 database upgrades to operators and knowledge", "[sqlite][store][team]") {
  TempDatabase db;
  LIBCHAT_REQUIRE_OK(internal::CreateSqliteDatabaseAtVersionForTesting(db.path(), 3));
  {
    // Data written by a libchat of schema version 3.
    auto conn = LIBCHAT_VALUE(internal::SqliteConnection::Open(db.path(), internal::SqliteConnection::Options()));
    LIBCHAT_REQUIRE_OK(conn->Exec(
        "INSERT INTO accounts (id, email, name, password_hash, created_at, updated_at)"
        " VALUES ('acc_old', 'old@example.com', 'Old', 'hash', 1, 1);"
        "INSERT INTO apps (id, account_id, name, publishable_key, secret_key_hash, identity_secret, theme_json,"
        " prechat_json, identity_verification, created_at, updated_at)"
        " VALUES ('app_old', 'acc_old', 'Old app', 'pk_old', 'skh_old', 'ids_old', '{}', '[]', 0, 1, 1);",
        "seed a version 3 database"));
  }
  REQUIRE(LIBCHAT_VALUE(internal::InspectSqliteSchema(db.path())).user_version == 3);

  {
    std::shared_ptr<Store> store = db.Open();
    auto info = LIBCHAT_VALUE(internal::InspectSqliteSchema(db.path()));
    CHECK(info.user_version == info.latest_known_version);
    std::vector<int> all_versions;
    for (int v = 1; v <= info.latest_known_version; ++v) all_versions.push_back(v);
    CHECK(info.applied_versions == all_versions);

    const AppId app("app_old");
    CHECK(LIBCHAT_VALUE(store->GetApp(app)).app.name == "Old app");
    LIBCHAT_REQUIRE_OK(store->CreateOperators({MakeOperator("op_1", AccountId("acc_old"), {app}, 1)}));
    CHECK(Ids(LIBCHAT_VALUE(store->ListActiveAppOperators(app))) == std::vector<std::string>{"op_1"});
    LIBCHAT_REQUIRE_OK(store->CreateKnowledgeEntry(TextEntry("kb_1", app, "Refunds take a week", 1)));
    CHECK(MatchIds(Search(*store, app, {"refund"})) == std::vector<std::string>{"kb_1"});
  }
  CheckFullTextIndexIntact(db.path());
}

}  // namespace
