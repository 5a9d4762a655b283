// Operators and assignment through the libchat facade, against both stores (memory and SQLite) with a
// FakeClock: the operator service (batches, lists, updates, tokens), operator authentication, what an
// operator of one app may see and do (the isolation matrix), the audiences of its apps' events, manual
// assignment and round robin, and the status a new support conversation starts with.
#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "auth/jwt.h"
#include "catch.h"
#include "chat_test_util.h"
#include "libchat/chat.h"
#include "store_test_util.h"

namespace {

using namespace libchat;        // NOLINT: test brevity
using namespace libchat::test;  // NOLINT

#define OPERATORS_TEST(name, tags) \
  TEMPLATE_TEST_CASE("chat operators: " name, "[chat][operators]" tags, MemoryBackend, SqliteBackend)

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

OperatorCreate NewOperator(std::string name, std::vector<AppId> apps, std::string email = "") {
  OperatorCreate request;
  request.name = std::move(name);
  request.email = std::move(email);
  request.app_ids = std::move(apps);
  return request;
}

std::vector<std::string> AppIds(const std::vector<App>& apps) {
  std::vector<std::string> ids;
  for (const App& app : apps) ids.push_back(app.id.str());
  return ids;
}

OperatorUpdate StatusUpdate(OperatorStatus status) {
  OperatorUpdate update;
  update.status = status;
  return update;
}

// One owner with two apps (A, A2), another account with app B, and shortcuts for operators.
template <typename Backend>
struct World {
  ChatHarness<Backend> h;
  Chat& chat = h.chat();
  TestAccount owner = h.Register("owner@example.com");
  TestAccount other = h.Register("other@example.com");
  TestApp a = NewApp(owner, "A");
  TestApp a2 = NewApp(owner, "A2");
  TestApp b = NewApp(other, "B");

  // Apps created a millisecond apart, so that "oldest first" has one answer.
  TestApp NewApp(const TestAccount& account, const std::string& name) {
    h.clock().Advance(milliseconds(1));
    return h.CreateApp(account, name);
  }

  Operator Create(const std::string& name, std::vector<AppId> apps, const TestAccount* account = nullptr) {
    std::vector<Operator> created = LIBCHAT_VALUE(
        chat.CreateOperators((account ? *account : owner).principal, {NewOperator(name, std::move(apps))}));
    REQUIRE(created.size() == 1);
    return created.front();
  }

  OperatorToken Mint(const Operator& op, std::chrono::milliseconds ahead = hours(1),
                     const TestAccount* account = nullptr) {
    const Principal& by = (account ? *account : owner).principal;
    return LIBCHAT_VALUE(chat.CreateOperatorToken(by, op.id, h.clock().Now() + ahead));
  }

  // The operator as it authenticates with a fresh token.
  Principal SignIn(const Operator& op, const TestAccount* account = nullptr) {
    return h.Authenticate(BearerCredentials(Mint(op, hours(1), account).token));
  }

  Operator Update(const Operator& op, const OperatorUpdate& update) {
    return LIBCHAT_VALUE(chat.UpdateOperator(owner.principal, op.id, update));
  }
};

// ===========================================================================
// The operator service

OPERATORS_TEST("names of operator statuses and assignment modes round-trip", "[types]") {
  for (OperatorStatus status : {OperatorStatus::kActive, OperatorStatus::kInactive, OperatorStatus::kDeleted}) {
    CHECK(ParseOperatorStatus(OperatorStatusName(status)) == status);
  }
  CHECK(std::string(OperatorStatusName(OperatorStatus::kInactive)) == "inactive");
  CHECK_FALSE(ParseOperatorStatus("Active").has_value());
  CHECK(std::string(AssignmentModeName(AssignmentMode::kRoundRobin)) == "round_robin");
  CHECK(ParseAssignmentMode("manual") == AssignmentMode::kManual);
  CHECK(ParseAssignmentMode("round_robin") == AssignmentMode::kRoundRobin);
  CHECK_FALSE(ParseAssignmentMode("random").has_value());
}

OPERATORS_TEST("CreateOperators stores a batch whole, normalized, or nothing of it", "[service]") {
  World<TestType> w;
  Chat& chat = w.chat;
  const Timestamp now = w.h.clock().Now();
  std::vector<Operator> created = LIBCHAT_VALUE(chat.CreateOperators(
      w.owner.principal, {NewOperator("Ann", {w.a2.app.id, w.a.app.id, w.a2.app.id}, "  Ann@Example.COM "),
                          NewOperator("Bob", {}), NewOperator("Cy", {w.a.app.id})}));
  REQUIRE(created.size() == 3);
  std::vector<AppId> sorted_apps{w.a.app.id, w.a2.app.id};
  std::sort(sorted_apps.begin(), sorted_apps.end());
  const Operator& ann = created[0];
  CHECK(OperatorId::IsWellFormed(ann.id.str()));
  CHECK(ann.account_id == w.owner.account.id);
  CHECK(ann.name == "Ann");
  CHECK(ann.email == "ann@example.com");
  CHECK(ann.status == OperatorStatus::kActive);
  CHECK(ann.app_ids == sorted_apps);  // deduplicated and sorted
  CHECK(Millis(ann.created_at) == Millis(now));
  CHECK(Millis(ann.updated_at) == Millis(now));
  CHECK(created[1].app_ids.empty());
  CHECK(created[1].email.empty());
  CHECK(std::set<std::string>{created[0].id.str(), created[1].id.str(), created[2].id.str()}.size() == 3);

  // As stored.
  Operator stored = LIBCHAT_VALUE(chat.GetOperator(w.owner.principal, ann.id));
  CHECK(stored.name == "Ann");
  CHECK(stored.email == "ann@example.com");
  CHECK(stored.app_ids == sorted_apps);
  CHECK(LIBCHAT_VALUE(chat.ListOperators(w.owner.principal, OperatorFilter{})).data.size() == 3);

  // One bad entry fails the batch and stores none of it.
  const std::string too_long(201, 'n');
  const std::vector<std::pair<std::string, std::pair<OperatorCreate, StatusCode>>> bad = {
      {"empty name", {NewOperator("", {w.a.app.id}), StatusCode::kInvalidArgument}},
      {"long name", {NewOperator(too_long, {}), StatusCode::kInvalidArgument}},
      {"invalid UTF-8 name", {NewOperator("\xff", {}), StatusCode::kInvalidArgument}},
      {"bad email", {NewOperator("Dee", {}, "not-an-email"), StatusCode::kInvalidArgument}},
      {"another tenant's app", {NewOperator("Dee", {w.b.app.id}), StatusCode::kNotFound}},
      {"missing app", {NewOperator("Dee", {AppId("app_missing000000000000")}), StatusCode::kNotFound}},
      {"malformed app id", {NewOperator("Dee", {AppId("nope")}), StatusCode::kNotFound}},
  };
  for (const auto& [what, entry] : bad) {
    INFO(what);
    LIBCHAT_CHECK_CODE(chat.CreateOperators(w.owner.principal, {NewOperator("Good", {w.a.app.id}), entry.first}),
                       entry.second);
  }
  CHECK(LIBCHAT_VALUE(chat.ListOperators(w.owner.principal, OperatorFilter{})).data.size() == 3);

  // Batch size 1..100.
  LIBCHAT_CHECK_CODE(chat.CreateOperators(w.owner.principal, {}), StatusCode::kInvalidArgument);
  std::vector<OperatorCreate> hundred(100, NewOperator("Many", {w.a.app.id}));
  CHECK(LIBCHAT_VALUE(chat.CreateOperators(w.owner.principal, hundred)).size() == 100);
  hundred.push_back(NewOperator("One too many", {}));
  LIBCHAT_CHECK_CODE(chat.CreateOperators(w.owner.principal, hundred), StatusCode::kInvalidArgument);

  // Only accounts create operators.
  const Principal ann_principal = w.SignIn(ann);
  LIBCHAT_CHECK_CODE(chat.CreateOperators(ann_principal, {NewOperator("Sub", {w.a.app.id})}),
                     StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.CreateOperators(w.a.server, {NewOperator("Srv", {w.a.app.id})}),
                     StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.CreateOperators(w.a.publishable, {NewOperator("Pub", {})}), StatusCode::kPermissionDenied);
}

OPERATORS_TEST("ListOperators filters by app and status and pages through all of them", "[service]") {
  World<TestType> w;
  Chat& chat = w.chat;
  std::vector<Operator> ops;
  for (int i = 0; i < 7; ++i) {
    std::vector<AppId> apps;
    if (i % 2 == 0) apps.push_back(w.a.app.id);
    if (i % 3 == 0) apps.push_back(w.a2.app.id);
    ops.push_back(w.Create("Op " + std::to_string(i), apps));
    w.h.clock().Advance(milliseconds(10));
  }
  w.Create("Stranger", {w.b.app.id}, &w.other);
  w.Update(ops[1], StatusUpdate(OperatorStatus::kInactive));
  w.Update(ops[2], StatusUpdate(OperatorStatus::kDeleted));

  auto list = [&](OperatorFilter filter) {
    std::vector<std::string> ids;
    for (int pages = 0;; ++pages) {
      REQUIRE(pages < 20);
      Page<Operator> page = LIBCHAT_VALUE(chat.ListOperators(w.owner.principal, filter));
      CHECK(static_cast<int>(page.data.size()) <= filter.limit);
      for (const Operator& op : page.data) {
        CHECK(op.account_id == w.owner.account.id);
        ids.push_back(op.id.str());
      }
      if (page.next_cursor.empty()) break;
      filter.cursor = page.next_cursor;
    }
    return ids;
  };
  auto ids_of = [&](std::initializer_list<int> which) {
    std::vector<std::string> ids;
    for (int i : which) ids.push_back(ops[i].id.str());
    return ids;
  };

  OperatorFilter all;
  all.limit = 2;
  CHECK(list(all) == ids_of({0, 1, 3, 4, 5, 6}));  // oldest first; deleted ones only on request
  OperatorFilter active;
  active.status = OperatorStatus::kActive;
  active.limit = 1;
  CHECK(list(active) == ids_of({0, 3, 4, 5, 6}));
  OperatorFilter deleted;
  deleted.status = OperatorStatus::kDeleted;
  CHECK(list(deleted) == ids_of({2}));
  OperatorFilter inactive;
  inactive.status = OperatorStatus::kInactive;
  CHECK(list(inactive) == ids_of({1}));
  OperatorFilter of_a;
  of_a.app_id = w.a.app.id;
  of_a.limit = 1;
  CHECK(list(of_a) == ids_of({0, 4, 6}));
  OperatorFilter of_a2;
  of_a2.app_id = w.a2.app.id;
  CHECK(list(of_a2) == ids_of({0, 3, 6}));
  OperatorFilter active_a2 = of_a2;
  active_a2.status = OperatorStatus::kActive;
  CHECK(list(active_a2) == ids_of({0, 3, 6}));

  // Another tenant's app is not found rather than an empty list; limits are checked.
  OperatorFilter foreign;
  foreign.app_id = w.b.app.id;
  LIBCHAT_CHECK_CODE(chat.ListOperators(w.owner.principal, foreign), StatusCode::kNotFound);
  OperatorFilter huge;
  huge.limit = 201;
  LIBCHAT_CHECK_CODE(chat.ListOperators(w.owner.principal, huge), StatusCode::kInvalidArgument);
  // The other account sees only its own operator.
  CHECK(LIBCHAT_VALUE(chat.ListOperators(w.other.principal, OperatorFilter{})).data.size() == 1);
  // Operators and keys do not list operators.
  LIBCHAT_CHECK_CODE(chat.ListOperators(w.SignIn(ops[0]), OperatorFilter{}), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.ListOperators(w.a.server, OperatorFilter{}), StatusCode::kPermissionDenied);
}

OPERATORS_TEST("GetOperator and UpdateOperator: the owner changes its operators, a deleted one is final",
               "[service]") {
  World<TestType> w;
  Chat& chat = w.chat;
  Operator op = w.Create("Ann", {w.a.app.id});
  Operator peer = w.Create("Ben", {w.a.app.id});
  const Principal as_op = w.SignIn(op);

  // Who sees it: its account, itself; nobody else.
  CHECK(LIBCHAT_VALUE(chat.GetOperator(as_op, op.id)).name == "Ann");
  LIBCHAT_CHECK_CODE(chat.GetOperator(as_op, peer.id), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.GetOperator(w.other.principal, op.id), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.GetOperator(w.owner.principal, OperatorId("op_missing0000000000000")), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.GetOperator(w.owner.principal, OperatorId("acc_x")), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.GetOperator(w.a.server, op.id), StatusCode::kPermissionDenied);

  // Changes.
  w.h.clock().Advance(seconds(5));
  OperatorUpdate change;
  change.name = "Ann B.";
  change.email = "ANN@example.com";
  change.app_ids = std::vector<AppId>{w.a2.app.id, w.a.app.id};
  Operator changed = w.Update(op, change);
  std::vector<AppId> both{w.a.app.id, w.a2.app.id};
  std::sort(both.begin(), both.end());
  CHECK(changed.name == "Ann B.");
  CHECK(changed.email == "ann@example.com");
  CHECK(changed.app_ids == both);
  CHECK(Millis(changed.updated_at) == Millis(w.h.clock().Now()));
  CHECK(Millis(changed.created_at) == Millis(op.created_at));
  Operator reread = LIBCHAT_VALUE(chat.GetOperator(w.owner.principal, op.id));
  CHECK(reread.name == "Ann B.");
  CHECK(reread.app_ids == both);
  OperatorUpdate clear_email;
  clear_email.email = "";
  CHECK(w.Update(op, clear_email).email.empty());

  // Bad changes change nothing.
  OperatorUpdate foreign_app;
  foreign_app.app_ids = std::vector<AppId>{w.a.app.id, w.b.app.id};
  LIBCHAT_CHECK_CODE(chat.UpdateOperator(w.owner.principal, op.id, foreign_app), StatusCode::kNotFound);
  OperatorUpdate empty_name;
  empty_name.name = "";
  LIBCHAT_CHECK_CODE(chat.UpdateOperator(w.owner.principal, op.id, empty_name), StatusCode::kInvalidArgument);
  OperatorUpdate bad_email;
  bad_email.email = "a b@c";
  LIBCHAT_CHECK_CODE(chat.UpdateOperator(w.owner.principal, op.id, bad_email), StatusCode::kInvalidArgument);
  CHECK(LIBCHAT_VALUE(chat.GetOperator(w.owner.principal, op.id)).app_ids == both);
  CHECK(LIBCHAT_VALUE(chat.GetOperator(w.owner.principal, op.id)).name == "Ann B.");

  // Only the owning account changes it.
  LIBCHAT_CHECK_CODE(chat.UpdateOperator(w.other.principal, op.id, change), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.UpdateOperator(as_op, op.id, change), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.UpdateOperator(w.a.server, op.id, change), StatusCode::kPermissionDenied);

  // Inactive and back.
  CHECK(w.Update(op, StatusUpdate(OperatorStatus::kInactive)).status == OperatorStatus::kInactive);
  CHECK(w.Update(op, StatusUpdate(OperatorStatus::kActive)).status == OperatorStatus::kActive);

  // Deleted is final: it stays readable, but no change is accepted any more.
  CHECK(w.Update(op, StatusUpdate(OperatorStatus::kDeleted)).status == OperatorStatus::kDeleted);
  for (const OperatorUpdate& later : {StatusUpdate(OperatorStatus::kActive), StatusUpdate(OperatorStatus::kInactive),
                                      StatusUpdate(OperatorStatus::kDeleted), change}) {
    LIBCHAT_CHECK_CODE(chat.UpdateOperator(w.owner.principal, op.id, later), StatusCode::kFailedPrecondition);
  }
  Operator gone = LIBCHAT_VALUE(chat.GetOperator(w.owner.principal, op.id));
  CHECK(gone.status == OperatorStatus::kDeleted);
  CHECK(gone.name == "Ann B.");
  LIBCHAT_CHECK_CODE(chat.CreateOperatorToken(w.owner.principal, op.id, w.h.clock().Now() + hours(1)),
                     StatusCode::kFailedPrecondition);
}

// ===========================================================================
// Tokens

OPERATORS_TEST("operator tokens expire in the future and at most 24 hours ahead", "[tokens]") {
  World<TestType> w;
  Chat& chat = w.chat;
  Operator op = w.Create("Ann", {w.a.app.id});
  // From a whole second, so that "24 hours ahead" is a whole second too.
  w.h.clock().Set(Timestamp(std::chrono::duration_cast<seconds>(w.h.clock().Now().time_since_epoch()) + seconds(1)));
  const Timestamp now = w.h.clock().Now();
  auto mint = [&](Timestamp at) { return chat.CreateOperatorToken(w.owner.principal, op.id, at); };

  LIBCHAT_CHECK_CODE(mint(now + hours(25)), StatusCode::kInvalidArgument);
  LIBCHAT_CHECK_CODE(mint(now + hours(24) + milliseconds(1)), StatusCode::kInvalidArgument);
  LIBCHAT_CHECK_CODE(mint(now - seconds(1)), StatusCode::kInvalidArgument);
  LIBCHAT_CHECK_CODE(mint(now), StatusCode::kInvalidArgument);

  OperatorToken day = LIBCHAT_VALUE(mint(now + hours(24)));
  CHECK(Millis(day.expires_at) == Millis(now + hours(24)));
  // The token's own expiry (whole seconds) is what is returned, never later than asked.
  OperatorToken odd = LIBCHAT_VALUE(mint(now + hours(1) + milliseconds(1500)));
  CHECK(Millis(odd.expires_at) == Millis(now + hours(1) + seconds(1)));
  TokenInfo info = chat.ValidateToken(odd.token);
  REQUIRE(info.valid);
  REQUIRE(info.expires_at.has_value());
  CHECK(Millis(*info.expires_at) == Millis(odd.expires_at));

  // The token works until then, and not after.
  Principal p = w.h.Authenticate(BearerCredentials(odd.token));
  CHECK(p.type == PrincipalType::kOperator);
  CHECK(p.id == op.id.str());
  CHECK(p.account_id == w.owner.account.id);
  CHECK(p.app_id.empty());
  w.h.clock().Set(odd.expires_at - milliseconds(1));
  LIBCHAT_CHECK_OK(chat.Authenticate(BearerCredentials(odd.token)));
  w.h.clock().Set(odd.expires_at);
  LIBCHAT_CHECK_CODE(chat.Authenticate(BearerCredentials(odd.token)), StatusCode::kUnauthenticated);

  // Who mints: the owning account only, for an active operator.
  const Timestamp later = w.h.clock().Now() + hours(1);
  LIBCHAT_CHECK_CODE(chat.CreateOperatorToken(w.other.principal, op.id, later), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.CreateOperatorToken(w.SignIn(op), op.id, later), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.CreateOperatorToken(w.a.server, op.id, later), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.CreateOperatorToken(w.owner.principal, OperatorId("op_missing000000000000"), later),
                     StatusCode::kNotFound);
  w.Update(op, StatusUpdate(OperatorStatus::kInactive));
  LIBCHAT_CHECK_CODE(chat.CreateOperatorToken(w.owner.principal, op.id, later), StatusCode::kFailedPrecondition);
}

OPERATORS_TEST("ValidateToken describes account, operator, forged, expired and deactivated tokens", "[tokens]") {
  World<TestType> w;
  Chat& chat = w.chat;
  Operator op = w.Create("Ann", {w.a.app.id});

  TokenInfo account = chat.ValidateToken(w.owner.token);
  CHECK(account.valid);
  CHECK(account.principal_type == PrincipalType::kAccount);
  CHECK(account.principal_id == w.owner.account.id.str());
  CHECK(account.account_id == w.owner.account.id);
  CHECK(account.expires_at.has_value());
  CHECK(account.error.empty());

  OperatorToken token = w.Mint(op, hours(2));
  TokenInfo as_op = chat.ValidateToken(token.token);
  CHECK(as_op.valid);
  CHECK(as_op.principal_type == PrincipalType::kOperator);
  CHECK(as_op.principal_id == op.id.str());
  CHECK(as_op.account_id == w.owner.account.id);
  REQUIRE(as_op.expires_at.has_value());
  CHECK(Millis(*as_op.expires_at) == Millis(token.expires_at));
  CHECK(as_op.error.empty());

  // Forged: the right layout signed with another secret, and garbage.
  internal::TokenClaims claims;
  claims.kind = "operator";
  claims.subject = op.id.str();
  claims.token_id = "forgedoperatortoken0001";
  claims.issued_at = std::chrono::duration_cast<seconds>(w.h.clock().Now().time_since_epoch()).count();
  claims.expires_at = claims.issued_at + 3600;
  const std::string forged = internal::SignJwt(claims, "not-the-secret-not-the-secret-not-the-secret");
  for (const std::string& bad : {forged, std::string("garbage"), std::string()}) {
    TokenInfo info = chat.ValidateToken(bad);
    CHECK_FALSE(info.valid);
    CHECK_FALSE(info.error.empty());
    CHECK(info.principal_id.empty());
    CHECK_FALSE(info.expires_at.has_value());
  }
  // Correctly signed, but for an operator that does not exist.
  claims.subject = "op_nobody0000000000000";
  TokenInfo nobody = chat.ValidateToken(internal::SignJwt(claims, kChatTestJwtSecret));
  CHECK_FALSE(nobody.valid);
  CHECK_FALSE(nobody.error.empty());

  // Deactivated, reactivated, deleted.
  w.Update(op, StatusUpdate(OperatorStatus::kInactive));
  TokenInfo inactive = chat.ValidateToken(token.token);
  CHECK_FALSE(inactive.valid);
  CHECK(inactive.error == "operator is inactive");
  w.Update(op, StatusUpdate(OperatorStatus::kActive));
  CHECK(chat.ValidateToken(token.token).valid);
  // Expired.
  w.h.clock().Advance(hours(2));
  TokenInfo expired = chat.ValidateToken(token.token);
  CHECK_FALSE(expired.valid);
  CHECK_FALSE(expired.error.empty());
  OperatorToken fresh = w.Mint(op);
  w.Update(op, StatusUpdate(OperatorStatus::kDeleted));
  TokenInfo deleted = chat.ValidateToken(fresh.token);
  CHECK_FALSE(deleted.valid);
  CHECK(deleted.error == "operator deleted");
}

OPERATORS_TEST("deactivating an operator stops its tokens at once, and Logout revokes one", "[tokens]") {
  World<TestType> w;
  Chat& chat = w.chat;
  Operator op = w.Create("Ann", {w.a.app.id});
  TestCustomer customer = w.h.StartCustomer(w.a);
  OperatorToken token = w.Mint(op);
  const Principal p = w.h.Authenticate(BearerCredentials(token.token));
  LIBCHAT_REQUIRE_OK(chat.GetConversation(p, customer.conversation));

  w.Update(op, StatusUpdate(OperatorStatus::kInactive));
  LIBCHAT_CHECK_CODE(chat.Authenticate(BearerCredentials(token.token)), StatusCode::kUnauthenticated);
  // A principal authenticated before the change (an open connection) loses its rights too.
  LIBCHAT_CHECK_CODE(chat.GetConversation(p, customer.conversation), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.SendMessage(p, customer.conversation, TextMessage("still here?")), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.ListConversations(p, w.a.app.id, ConversationFilter{}), StatusCode::kNotFound);
  CHECK(LIBCHAT_VALUE(chat.ListApps(p, "", 50)).data.empty());

  // Reactivated: the same token works again (it has not expired).
  w.Update(op, StatusUpdate(OperatorStatus::kActive));
  LIBCHAT_CHECK_OK(chat.Authenticate(BearerCredentials(token.token)));
  LIBCHAT_CHECK_OK(chat.GetConversation(p, customer.conversation));

  // Logout revokes that token only.
  OperatorToken second = w.Mint(op);
  LIBCHAT_REQUIRE_OK(chat.Logout(p));
  LIBCHAT_CHECK_CODE(chat.Authenticate(BearerCredentials(token.token)), StatusCode::kUnauthenticated);
  LIBCHAT_CHECK_OK(chat.Authenticate(BearerCredentials(second.token)));
  CHECK_FALSE(chat.ValidateToken(token.token).valid);

  // A change made through another Chat over the same store reaches this one within a couple of seconds.
  std::unique_ptr<Chat> elsewhere = w.h.Open();
  LIBCHAT_REQUIRE_OK(elsewhere->UpdateOperator(w.owner.principal, op.id, StatusUpdate(OperatorStatus::kInactive)));
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (chat.Authenticate(BearerCredentials(second.token)).ok()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(milliseconds(50));
  }
}

// ===========================================================================
// Isolation

OPERATORS_TEST("isolation matrix: an operator of app A acts on A's conversations and sees nothing else",
               "[isolation]") {
  World<TestType> w;
  Chat& chat = w.chat;
  Operator op = w.Create("Ann", {w.a.app.id});
  Operator peer = w.Create("Ben", {w.a2.app.id});
  const Principal p = w.SignIn(op);
  TestCustomer in_a = w.h.StartCustomer(w.a, "help in A");
  TestCustomer in_a2 = w.h.StartCustomer(w.a2, "help in A2");
  TestCustomer in_b = w.h.StartCustomer(w.b, "help in B");

  // --- app A: its apps and conversations.
  CHECK(AppIds(LIBCHAT_VALUE(chat.ListApps(p, "", 50)).data) == std::vector<std::string>{w.a.app.id.str()});
  CHECK(LIBCHAT_VALUE(chat.GetApp(p, w.a.app.id)).name == "A");
  CHECK(IdsOf(w.h.List(p, w.a.app.id)) == std::vector<std::string>{in_a.conversation.str()});
  Conversation seen = w.h.Get(p, in_a.conversation);
  CHECK(seen.unread_count == 1);  // relative to the operator
  CHECK(w.h.History(p, in_a.conversation).size() == 1);
  SendResult reply = LIBCHAT_VALUE(chat.SendMessage(p, in_a.conversation, TextMessage("on it")));
  CHECK(reply.message.sender.type == SenderType::kOperator);
  CHECK(reply.message.sender.id == op.id.str());
  CHECK(LIBCHAT_VALUE(chat.MarkRead(p, in_a.conversation, 2)).read_seq == 2);
  CHECK(w.h.Get(p, in_a.conversation).unread_count == 0);
  LIBCHAT_CHECK_OK(chat.MarkDelivered(p, in_a.conversation, 2));
  LIBCHAT_CHECK_OK(chat.SetTyping(p, in_a.conversation, true));
  MessageEdit edit;
  edit.text = "on it, one minute";
  CHECK(LIBCHAT_VALUE(chat.EditMessage(p, in_a.conversation, reply.message.id, edit)).text == "on it, one minute");
  const Message customer_message = w.h.History(p, in_a.conversation).front();
  LIBCHAT_CHECK_CODE(chat.EditMessage(p, in_a.conversation, customer_message.id, edit), StatusCode::kPermissionDenied);
  ConversationUpdate resolve;
  resolve.status = ConversationStatus::kResolved;
  CHECK(LIBCHAT_VALUE(chat.UpdateConversation(p, in_a.conversation, resolve)).status == ConversationStatus::kResolved);
  // The customer sees the operator's reply as such.
  CHECK(w.h.History(in_a.principal, in_a.conversation).back().sender.type == SenderType::kOperator);
  // Rooms of app A: the operator creates one (as its owner) and manages its members.
  ConversationCreate room;
  room.type = ConversationType::kGroup;
  room.name = "Team room";
  room.members.push_back(MemberInput{in_a.id.str(), "", std::nullopt});
  CreatedConversation created = LIBCHAT_VALUE(chat.CreateConversation(p, w.a.app.id, room));
  REQUIRE(created.conversation.members.size() == 2);
  CHECK(created.conversation.members[0].id == op.id.str());
  CHECK(created.conversation.members[0].role == MemberRole::kOwner);
  LIBCHAT_CHECK_OK(chat.AddMember(p, created.conversation.id, MemberInput{w.owner.account.id.str(), "", std::nullopt}));
  LIBCHAT_CHECK_OK(chat.RemoveMember(p, created.conversation.id, in_a.id.str()));
  CHECK(LIBCHAT_VALUE(chat.ListMembers(p, created.conversation.id)).size() == 2);
  // It deletes its own messages.
  Message room_message = w.h.Send(p, created.conversation.id, "welcome");
  LIBCHAT_CHECK_OK(chat.DeleteMessage(p, created.conversation.id, room_message.id));

  // --- A2 (same account, not assigned) and B (another tenant): not found, whatever the call.
  for (const auto* other : {&in_a2, &in_b}) {
    const ConversationId& id = other->conversation;
    const AppId app = other == &in_a2 ? w.a2.app.id : w.b.app.id;
    INFO("conversation of " << app.str());
    const Message theirs = w.h.History(other == &in_a2 ? w.owner.principal : w.other.principal, id).front();
    ConversationUpdate u;
    u.status = ConversationStatus::kResolved;
    const std::vector<std::pair<std::string, Status>> calls = {
        {"GetApp", chat.GetApp(p, app).status()},
        {"UpdateApp", chat.UpdateApp(p, app, AppUpdate{}).status()},
        {"DeleteApp", chat.DeleteApp(p, app)},
        {"RotateKey", chat.RotateKey(p, app, KeyKind::kSecret).status()},
        {"ListConversations", chat.ListConversations(p, app, ConversationFilter{}).status()},
        {"CreateConversation", chat.CreateConversation(p, app, room).status()},
        {"GetConversation", chat.GetConversation(p, id).status()},
        {"UpdateConversation", chat.UpdateConversation(p, id, u).status()},
        {"ListMessages", chat.ListMessages(p, id, HistoryQuery{}).status()},
        {"SendMessage", chat.SendMessage(p, id, TextMessage("hi")).status()},
        {"MarkRead", chat.MarkRead(p, id, 1).status()},
        {"MarkDelivered", chat.MarkDelivered(p, id, 1).status()},
        {"SetTyping", chat.SetTyping(p, id, true)},
        {"ListMembers", chat.ListMembers(p, id).status()},
        {"AddMember", chat.AddMember(p, id, MemberInput{op.id.str(), "", std::nullopt}).status()},
        {"RemoveMember", chat.RemoveMember(p, id, other->id.str())},
        {"EditMessage", chat.EditMessage(p, id, theirs.id, edit).status()},
        {"DeleteMessage", chat.DeleteMessage(p, id, theirs.id).status()},
        {"GetAssignment", chat.GetAssignment(p, app).status()},
        {"CreateWebhook", chat.CreateWebhook(p, app, WebhookCreate{"https://example.com/hook", {"message.created"}})
                              .status()},
        {"ListWebhooks", chat.ListWebhooks(p, app).status()},
        {"ListDeliveries", chat.ListDeliveries(p, app, DeliveryFilter{}).status()},
        {"GetDeliveryPolicy", chat.GetDeliveryPolicy(p, app).status()},
        {"GetEmailProvider", chat.GetEmailProvider(p, app).status()},
    };
    for (const auto& [name, status] : calls) {
      INFO(name << " -> " << status.ToString());
      CHECK(status.code() == StatusCode::kNotFound);
    }
    CHECK(w.h.History(other == &in_a2 ? w.owner.principal : w.other.principal, id).size() == 1);  // nothing written
  }

  // --- app A's administration stays with its team: the operator gets what any other non-team principal gets.
  NotificationRequest notification;
  notification.customer_ids = {in_a.id};
  notification.channels = {DeliveryChannel::kWebSocket};
  notification.body = "hello";
  AssignmentSettings round_robin;
  round_robin.mode = AssignmentMode::kRoundRobin;
  const std::vector<std::pair<std::string, Status>> admin = {
      {"CreateWebhook",
       chat.CreateWebhook(p, w.a.app.id, WebhookCreate{"https://example.com/hook", {"message.created"}}).status()},
      {"ListWebhooks", chat.ListWebhooks(p, w.a.app.id).status()},
      {"ListDeliveries", chat.ListDeliveries(p, w.a.app.id, DeliveryFilter{}).status()},
      {"GetDeliveryPolicy", chat.GetDeliveryPolicy(p, w.a.app.id).status()},
      {"PutDeliveryPolicy", chat.PutDeliveryPolicy(p, w.a.app.id, DeliveryPolicy{}).status()},
      {"GetEmailProvider", chat.GetEmailProvider(p, w.a.app.id).status()},
      {"DeleteEmailProvider", chat.DeleteEmailProvider(p, w.a.app.id)},
      {"CreateNotification", chat.CreateNotification(p, w.a.app.id, notification).status()},
      {"GetAssignment", chat.GetAssignment(p, w.a.app.id).status()},
      {"PutAssignment", chat.PutAssignment(p, w.a.app.id, round_robin).status()},
  };
  for (const auto& [name, status] : admin) {
    INFO(name << " -> " << status.ToString());
    CHECK(status.code() == StatusCode::kNotFound);
  }
  CHECK(LIBCHAT_VALUE(chat.GetAssignment(w.owner.principal, w.a.app.id)).mode == AssignmentMode::kManual);
  // Its app's keys and settings: the owner's.
  LIBCHAT_CHECK_CODE(chat.UpdateApp(p, w.a.app.id, AppUpdate{}), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.RotateKey(p, w.a.app.id, KeyKind::kSecret), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.DeleteApp(p, w.a.app.id), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.CreateApp(p, AppCreate{"Mine", std::nullopt, std::nullopt, false, std::nullopt}),
                     StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.GetMe(p), StatusCode::kPermissionDenied);
  // Operators: it reads itself only and manages none.
  CHECK(LIBCHAT_VALUE(chat.GetOperator(p, op.id)).id == op.id);
  LIBCHAT_CHECK_CODE(chat.GetOperator(p, peer.id), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.ListOperators(p, OperatorFilter{}), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.UpdateOperator(p, op.id, StatusUpdate(OperatorStatus::kActive)),
                     StatusCode::kPermissionDenied);
  OperatorUpdate grab;
  grab.app_ids = std::vector<AppId>{w.a.app.id, w.a2.app.id};
  LIBCHAT_CHECK_CODE(chat.UpdateOperator(p, op.id, grab), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.CreateOperators(p, {NewOperator("Sub", {w.a.app.id})}), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.CreateOperatorToken(p, op.id, w.h.clock().Now() + hours(1)), StatusCode::kPermissionDenied);
  CHECK(LIBCHAT_VALUE(chat.GetOperator(w.owner.principal, op.id)).app_ids == std::vector<AppId>{w.a.app.id});

  // Assigned to A2 as well, it sees A2 from the next call on.
  w.Update(op, grab);
  LIBCHAT_CHECK_OK(chat.GetConversation(p, in_a2.conversation));
  CHECK(LIBCHAT_VALUE(chat.ListApps(p, "", 50)).data.size() == 2);
  Page<App> first_page = LIBCHAT_VALUE(chat.ListApps(p, "", 1));
  REQUIRE(first_page.data.size() == 1);
  CHECK(first_page.data[0].id == w.a.app.id);  // oldest first, as for the account
  REQUIRE_FALSE(first_page.next_cursor.empty());
  Page<App> second_page = LIBCHAT_VALUE(chat.ListApps(p, first_page.next_cursor, 1));
  CHECK(AppIds(second_page.data) == std::vector<std::string>{w.a2.app.id.str()});
  CHECK(second_page.next_cursor.empty());
  LIBCHAT_CHECK_CODE(chat.GetConversation(p, in_b.conversation), StatusCode::kNotFound);
  // Unassigned from A: A is gone for it at once.
  OperatorUpdate only_a2;
  only_a2.app_ids = std::vector<AppId>{w.a2.app.id};
  w.Update(op, only_a2);
  LIBCHAT_CHECK_CODE(chat.GetConversation(p, in_a.conversation), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.GetApp(p, w.a.app.id), StatusCode::kNotFound);
}

OPERATORS_TEST("events of an app's conversations reach its active operators, and only while active", "[events]") {
  World<TestType> w;
  Chat& chat = w.chat;
  Operator op = w.Create("Ann", {w.a.app.id});
  Operator elsewhere = w.Create("Ben", {w.a2.app.id});
  const Principal p = w.SignIn(op);
  const Principal p_elsewhere = w.SignIn(elsewhere);
  EventRecorder events(chat);

  TestCustomer in_a = w.h.StartCustomer(w.a);
  TestCustomer in_b = w.h.StartCustomer(w.b);
  auto created = events.Of(in_a.conversation, EventType::kConversationCreated);
  REQUIRE(created.size() == 1);
  CHECK(EventVisibleTo(*created[0], p));
  CHECK_FALSE(EventVisibleTo(*created[0], p_elsewhere));
  auto messages = events.Of(in_a.conversation, EventType::kMessageCreated);
  REQUIRE(messages.size() == 1);
  CHECK(SortedAudience(*messages[0]) == Sorted({w.owner.account.id.str(), in_a.id.str(), op.id.str()}));
  for (const auto& event : events.Of(in_b.conversation)) CHECK_FALSE(EventVisibleTo(*event, p));

  // The operator's own reply and typing reach the customer and itself.
  events.Clear();
  w.h.Send(p, in_a.conversation, "hello from Ann");
  LIBCHAT_REQUIRE_OK(chat.SetTyping(p, in_a.conversation, false));
  for (const auto& event : events.Of(in_a.conversation)) {
    CHECK(EventVisibleTo(*event, p));
    CHECK(EventVisibleTo(*event, in_a.principal));
  }

  // Deactivated: later events leave it out.
  w.Update(op, StatusUpdate(OperatorStatus::kInactive));
  events.Clear();
  w.h.Send(in_a.principal, in_a.conversation, "anyone?");
  auto after = events.Of(in_a.conversation, EventType::kMessageCreated);
  REQUIRE(after.size() == 1);
  CHECK_FALSE(EventVisibleTo(*after[0], p));
  CHECK(EventVisibleTo(*after[0], w.owner.principal));

  // Customer presence reaches the app's active operators.
  w.Update(op, StatusUpdate(OperatorStatus::kActive));
  events.Clear();
  LIBCHAT_REQUIRE_OK(chat.SetPresence(in_a.principal, true));
  bool presence_seen = false;
  for (const auto& event : events.All()) {
    if (event->type != EventType::kPresence) continue;
    presence_seen = true;
    CHECK(EventVisibleTo(*event, p));
    CHECK_FALSE(EventVisibleTo(*event, p_elsewhere));
  }
  CHECK(presence_seen);
}

// ===========================================================================
// Assignment

OPERATORS_TEST("manual assignment: the owner or an active operator of the app", "[assignment]") {
  World<TestType> w;
  Chat& chat = w.chat;
  Operator op = w.Create("Ann", {w.a.app.id});
  Operator of_a2 = w.Create("Ben", {w.a2.app.id});
  Operator stranger = w.Create("Cid", {w.b.app.id}, &w.other);
  Operator idle = w.Create("Dot", {w.a.app.id});
  w.Update(idle, StatusUpdate(OperatorStatus::kInactive));
  TestCustomer customer = w.h.StartCustomer(w.a);
  const ConversationId id = customer.conversation;
  CHECK(w.h.Get(w.owner.principal, id).assignee_id.empty());  // manual mode by default
  auto assign = [&](const Principal& who, std::string assignee) {
    ConversationUpdate update;
    update.assignee_id = std::move(assignee);
    return chat.UpdateConversation(who, id, update);
  };

  EventRecorder events(chat);
  CHECK(LIBCHAT_VALUE(assign(w.owner.principal, op.id.str())).assignee_id == op.id.str());
  CHECK(w.h.Get(w.owner.principal, id).assignee_id == op.id.str());
  auto updated = events.Of(id, EventType::kConversationUpdated);
  REQUIRE(updated.size() == 1);
  CHECK(updated[0]->conversation->assignee_id == op.id.str());
  CHECK(SortedAudience(*updated[0]) == Sorted({w.owner.account.id.str(), customer.id.str(), op.id.str()}));

  ConversationFilter mine;
  mine.assignee_id = op.id.str();
  const Principal p = w.SignIn(op);
  CHECK(IdsOf(w.h.List(p, w.a.app.id, mine)) == std::vector<std::string>{id.str()});

  for (const std::string& bad : {of_a2.id.str(), stranger.id.str(), idle.id.str(), std::string("op_nobody00000000000"),
                                 w.other.account.id.str()}) {
    INFO("assignee " << bad);
    LIBCHAT_CHECK_CODE(assign(w.owner.principal, bad), StatusCode::kNotFound);
  }
  for (const std::string& malformed : {std::string("x"), customer.id.str(), w.a.app.id.str()}) {
    INFO("assignee " << malformed);
    LIBCHAT_CHECK_CODE(assign(w.owner.principal, malformed), StatusCode::kInvalidArgument);
  }
  CHECK(w.h.Get(w.owner.principal, id).assignee_id == op.id.str());

  // The operator hands it to the owner; the app's server unassigns it.
  CHECK(LIBCHAT_VALUE(assign(p, w.owner.account.id.str())).assignee_id == w.owner.account.id.str());
  CHECK(LIBCHAT_VALUE(assign(w.a.server, "")).assignee_id.empty());
  // A deleted operator is no assignee either.
  w.Update(op, StatusUpdate(OperatorStatus::kDeleted));
  LIBCHAT_CHECK_CODE(assign(w.owner.principal, op.id.str()), StatusCode::kNotFound);

  // Rooms: an active operator of the app may be a member; others are not found.
  Operator member = w.Create("Eve", {w.a.app.id});
  ConversationCreate room;
  room.type = ConversationType::kGroup;
  room.members.push_back(MemberInput{member.id.str(), "", std::nullopt});
  CreatedConversation made = LIBCHAT_VALUE(chat.CreateConversation(w.owner.principal, w.a.app.id, room));
  REQUIRE(made.conversation.members.size() == 2);
  CHECK(made.conversation.members[1].id == member.id.str());
  for (const Operator* not_member : {&of_a2, &stranger, &idle}) {
    INFO("member " << not_member->id.str());
    LIBCHAT_CHECK_CODE(chat.AddMember(w.owner.principal, made.conversation.id,
                                      MemberInput{not_member->id.str(), "", std::nullopt}),
                       StatusCode::kNotFound);
  }
}

OPERATORS_TEST("assignment settings: the owner changes them, the team reads them", "[assignment]") {
  World<TestType> w;
  Chat& chat = w.chat;
  CHECK(LIBCHAT_VALUE(chat.GetAssignment(w.owner.principal, w.a.app.id)).mode == AssignmentMode::kManual);
  AssignmentSettings round_robin;
  round_robin.mode = AssignmentMode::kRoundRobin;
  CHECK(LIBCHAT_VALUE(chat.PutAssignment(w.owner.principal, w.a.app.id, round_robin)).mode ==
        AssignmentMode::kRoundRobin);
  CHECK(LIBCHAT_VALUE(chat.GetAssignment(w.owner.principal, w.a.app.id)).mode == AssignmentMode::kRoundRobin);
  CHECK(LIBCHAT_VALUE(chat.GetAssignment(w.a.server, w.a.app.id)).mode == AssignmentMode::kRoundRobin);
  CHECK(LIBCHAT_VALUE(chat.GetAssignment(w.owner.principal, w.a2.app.id)).mode == AssignmentMode::kManual);
  LIBCHAT_CHECK_CODE(chat.PutAssignment(w.a.server, w.a.app.id, AssignmentSettings{}), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.PutAssignment(w.other.principal, w.a.app.id, AssignmentSettings{}), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.GetAssignment(w.other.principal, w.a.app.id), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.GetAssignment(w.b.server, w.a.app.id), StatusCode::kNotFound);
  AssignmentSettings bogus;
  bogus.mode = static_cast<AssignmentMode>(7);
  LIBCHAT_CHECK_CODE(chat.PutAssignment(w.owner.principal, w.a.app.id, bogus), StatusCode::kInvalidArgument);
  // Persisted: another Chat over the same store reads it.
  CHECK(LIBCHAT_VALUE(w.h.Open()->GetAssignment(w.owner.principal, w.a.app.id)).mode == AssignmentMode::kRoundRobin);
  // Back to manual.
  CHECK(LIBCHAT_VALUE(chat.PutAssignment(w.owner.principal, w.a.app.id, AssignmentSettings{})).mode ==
        AssignmentMode::kManual);
  CHECK(LIBCHAT_VALUE(chat.GetAssignment(w.owner.principal, w.a.app.id)).mode == AssignmentMode::kManual);
}

OPERATORS_TEST("round robin assigns new support conversations in turn to the online operators", "[assignment]") {
  World<TestType> w;
  Chat& chat = w.chat;
  std::vector<Operator> ops = LIBCHAT_VALUE(chat.CreateOperators(
      w.owner.principal, {NewOperator("One", {w.a.app.id}), NewOperator("Two", {w.a.app.id}),
                          NewOperator("Three", {w.a.app.id})}));
  Operator not_of_a = w.Create("Elsewhere", {w.a2.app.id});
  std::vector<Principal> principals;
  for (const Operator& op : ops) principals.push_back(w.SignIn(op));
  LIBCHAT_REQUIRE_OK(chat.SetPresence(principals[0], true));
  LIBCHAT_REQUIRE_OK(chat.SetPresence(principals[2], true));
  LIBCHAT_REQUIRE_OK(chat.SetPresence(w.SignIn(not_of_a), true));
  auto next_assignee = [&] {
    TestCustomer customer = w.h.StartCustomer(w.a);
    Conversation conversation = w.h.Get(w.owner.principal, customer.conversation);
    CHECK(conversation.status == ConversationStatus::kOpen);
    return conversation.assignee_id;
  };

  // Manual (the default): nobody is picked, online or not.
  CHECK(next_assignee().empty());

  AssignmentSettings round_robin;
  round_robin.mode = AssignmentMode::kRoundRobin;
  LIBCHAT_REQUIRE_OK(chat.PutAssignment(w.owner.principal, w.a.app.id, round_robin));
  std::vector<std::string> picks;
  for (int i = 0; i < 4; ++i) picks.push_back(next_assignee());
  const std::set<std::string> online{ops[0].id.str(), ops[2].id.str()};
  CHECK(online.count(picks[0]) == 1);
  CHECK(online.count(picks[1]) == 1);
  CHECK(picks[0] != picks[1]);
  CHECK(picks[2] == picks[0]);
  CHECK(picks[3] == picks[1]);

  // The created event carries the assignee.
  EventRecorder events(chat);
  TestCustomer announced = w.h.StartCustomer(w.a);
  auto created = events.Of(announced.conversation, EventType::kConversationCreated);
  REQUIRE(created.size() == 1);
  REQUIRE(created[0]->conversation.has_value());
  CHECK(online.count(created[0]->conversation->assignee_id) == 1);

  // One goes offline, another is deactivated: the one left gets everything.
  LIBCHAT_REQUIRE_OK(chat.SetPresence(principals[0], false));
  CHECK(next_assignee() == ops[2].id.str());
  CHECK(next_assignee() == ops[2].id.str());
  LIBCHAT_REQUIRE_OK(chat.SetPresence(principals[1], true));
  w.Update(ops[1], StatusUpdate(OperatorStatus::kInactive));
  CHECK(next_assignee() == ops[2].id.str());

  // Nobody online: unassigned.
  LIBCHAT_REQUIRE_OK(chat.SetPresence(principals[2], false));
  CHECK(next_assignee().empty());
  // Another app of the owner keeps its own (manual) mode.
  TestCustomer in_a2 = w.h.StartCustomer(w.a2);
  CHECK(w.h.Get(w.owner.principal, in_a2.conversation).assignee_id.empty());
}

OPERATORS_TEST("with the bot enabled a new support conversation starts pending and unassigned", "[assignment][bot]") {
  World<TestType> w;
  Chat& chat = w.chat;
  Operator op = w.Create("Ann", {w.a.app.id});
  LIBCHAT_REQUIRE_OK(chat.SetPresence(w.SignIn(op), true));
  AssignmentSettings round_robin;
  round_robin.mode = AssignmentMode::kRoundRobin;
  LIBCHAT_REQUIRE_OK(chat.PutAssignment(w.owner.principal, w.a.app.id, round_robin));
  // Set as the store keeps it, before the app's settings were ever read (nothing cached yet).
  LIBCHAT_REQUIRE_OK(
      w.h.store()->PutAppSetting(w.a2.app.id, "bot", R"({"enabled":true,"min_score":0.5,"name":"Ava"})"));
  OperatorUpdate both;
  both.app_ids = std::vector<AppId>{w.a.app.id, w.a2.app.id};
  w.Update(op, both);
  LIBCHAT_REQUIRE_OK(chat.PutAssignment(w.owner.principal, w.a2.app.id, round_robin));

  TestCustomer with_bot = w.h.StartCustomer(w.a2);
  Conversation pending = w.h.Get(w.owner.principal, with_bot.conversation);
  CHECK(pending.status == ConversationStatus::kPending);
  CHECK(pending.assignee_id.empty());

  TestCustomer without_bot = w.h.StartCustomer(w.a);
  Conversation open = w.h.Get(w.owner.principal, without_bot.conversation);
  CHECK(open.status == ConversationStatus::kOpen);
  CHECK(open.assignee_id == op.id.str());
}

}  // namespace
