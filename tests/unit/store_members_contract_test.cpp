// The Store contract for members, dms, memberships and message revisions (libchat/providers/store.h),
// run against every backend: the in-memory test double and SQLite. Each STORE_TEST gets a fresh,
// empty store per backend. The rest of the contract is in store_contract_test.cpp.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "catch.h"
#include "libchat/providers/store.h"
#include "store_test_util.h"

namespace {

using namespace libchat;        // NOLINT: test brevity
using namespace libchat::test;  // NOLINT

#define STORE_TEST(name, tags) \
  TEMPLATE_TEST_CASE("store contract: " name, "[store][members]" tags, MemoryBackend, SqliteBackend)


Sender CustomerSender(const std::string& id) { return Sender{SenderType::kCustomer, id}; }

// An account, one app under it and three identified customers of that app.
struct World {
  StoredAccount account;
  StoredApp app;
  Customer a;
  Customer b;
  Customer c;
};

World Seed(Store& store, RecordFactory& f) {
  World w;
  auto [account, app] = SeedAccountWithApp(store, f);
  w.account = std::move(account);
  w.app = std::move(app);
  w.a = f.MakeCustomer(w.app.app.id, "user-a");
  w.b = f.MakeCustomer(w.app.app.id, "user-b");
  w.c = f.MakeCustomer(w.app.app.id, "user-c");
  for (const Customer* customer : {&w.a, &w.b, &w.c}) LIBCHAT_REQUIRE_OK(store.CreateCustomer(*customer));
  return w;
}

Member MakeMember(const std::string& id, MemberRole role, std::int64_t joined_ms = 0) {
  return Member{id, role, RecordFactory::At(joined_ms)};
}

// A conversation of `type` with `members` (not yet stored).
Conversation MakeRoom(RecordFactory& f, const AppId& app, ConversationType type, std::vector<Member> members,
                      Timestamp at = RecordFactory::At(0)) {
  Conversation c = f.MakeConversation(app, CustomerId(), at);
  c.type = type;
  c.members = std::move(members);
  return c;
}

Conversation NewRoom(Store& store, RecordFactory& f, const AppId& app, ConversationType type,
                     std::vector<Member> members, Timestamp at = RecordFactory::At(0)) {
  Conversation c = MakeRoom(f, app, type, std::move(members), at);
  LIBCHAT_REQUIRE_OK(store.CreateConversation(c));
  return c;
}

Conversation NewDm(Store& store, RecordFactory& f, const AppId& app, const std::string& x, const std::string& y) {
  return NewRoom(store, f, app, ConversationType::kDm,
                 {MakeMember(x, MemberRole::kOwner), MakeMember(y, MemberRole::kMember)});
}

AppendResult Append(Store& store, const Message& message) {
  AppendRequest request;
  request.message = message;
  return LIBCHAT_VALUE(store.AppendMessage(request, [](const AppendResult&) {}));
}

std::vector<std::string> MemberIds(const std::vector<Member>& members) {
  std::vector<std::string> ids;
  for (const Member& m : members) ids.push_back(m.id);
  return ids;
}

std::set<std::string> IdSet(const std::vector<ConversationId>& ids) {
  std::set<std::string> out;
  for (const ConversationId& id : ids) out.insert(id.str());
  return out;
}

void CheckSameMember(const Member& got, const Member& want) {
  CHECK(got.id == want.id);
  CHECK(got.role == want.role);
  CHECK(Ms(got.joined_at) == Ms(want.joined_at));
}

std::vector<Message> History(Store& store, const ConversationId& id) {
  MessageQuery query;
  query.conversation_id = id;
  query.limit = 200;
  return LIBCHAT_VALUE(store.ListMessages(query));
}

// ---------------------------------------------------------------------------
// members

STORE_TEST("members: stored with the conversation, listed in joining order, role changes and removal", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const std::string owner = w.account.account.id.str();
  const std::string a = w.a.id.str();
  const std::string b = w.b.id.str();
  const std::string c = w.c.id.str();

  const Member m_owner = MakeMember(owner, MemberRole::kOwner, 0);
  const Member m_a = MakeMember(a, MemberRole::kAdmin, 0);
  Conversation group = NewRoom(store, f, w.app.app.id, ConversationType::kGroup, {m_owner, m_a});

  std::vector<Member> listed = LIBCHAT_VALUE(store.ListMembers(group.id));
  REQUIRE(listed.size() == 2);
  CheckSameMember(listed[0], m_owner);
  CheckSameMember(listed[1], m_a);
  CheckSameMember(LIBCHAT_VALUE(store.GetMember(group.id, a)), m_a);
  LIBCHAT_REQUIRE_CODE(store.GetMember(group.id, b), StatusCode::kNotFound);

  // Adding returns true and appends; the same id again only changes the role (false), keeping
  // its place and its joined_at.
  const Member m_b = MakeMember(b, MemberRole::kMember, 50);
  CHECK(LIBCHAT_VALUE(store.PutMember(group.id, m_b)) == true);
  CHECK(MemberIds(LIBCHAT_VALUE(store.ListMembers(group.id))) == std::vector<std::string>{owner, a, b});
  CHECK(LIBCHAT_VALUE(store.PutMember(group.id, MakeMember(a, MemberRole::kMember, 999))) == false);
  listed = LIBCHAT_VALUE(store.ListMembers(group.id));
  REQUIRE(MemberIds(listed) == std::vector<std::string>{owner, a, b});
  CheckSameMember(listed[1], MakeMember(a, MemberRole::kMember, 0));
  CheckSameMember(listed[2], m_b);
  CHECK(LIBCHAT_VALUE(store.GetMember(group.id, a)).role == MemberRole::kMember);

  // Removal; a second removal is kNotFound; re-joining puts the member last.
  LIBCHAT_REQUIRE_OK(store.RemoveMember(group.id, a));
  LIBCHAT_REQUIRE_CODE(store.GetMember(group.id, a), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.RemoveMember(group.id, a), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.RemoveMember(group.id, c), StatusCode::kNotFound);
  CHECK(MemberIds(LIBCHAT_VALUE(store.ListMembers(group.id))) == std::vector<std::string>{owner, b});
  CHECK(LIBCHAT_VALUE(store.PutMember(group.id, MakeMember(a, MemberRole::kAdmin, 70))) == true);
  listed = LIBCHAT_VALUE(store.ListMembers(group.id));
  REQUIRE(MemberIds(listed) == std::vector<std::string>{owner, b, a});
  CheckSameMember(listed[2], MakeMember(a, MemberRole::kAdmin, 70));

  // Members are per conversation.
  Conversation other = NewRoom(store, f, w.app.app.id, ConversationType::kGroup, {MakeMember(c, MemberRole::kOwner)});
  CHECK(MemberIds(LIBCHAT_VALUE(store.ListMembers(other.id))) == std::vector<std::string>{c});
  LIBCHAT_REQUIRE_CODE(store.GetMember(other.id, a), StatusCode::kNotFound);

  // Everyone can leave: an existing conversation with no members lists none (it is not "not found").
  for (const std::string& id : {owner, b, a}) LIBCHAT_REQUIRE_OK(store.RemoveMember(group.id, id));
  CHECK(LIBCHAT_VALUE(store.ListMembers(group.id)).empty());
  LIBCHAT_REQUIRE_OK(store.GetConversation(group.id, ""));

  // A missing conversation.
  const ConversationId missing("conv_missing");
  LIBCHAT_REQUIRE_CODE(store.PutMember(missing, m_b), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.RemoveMember(missing, b), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.GetMember(missing, b), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.ListMembers(missing), StatusCode::kNotFound);
  CHECK(IdSet(LIBCHAT_VALUE(store.ListMemberships(b, 100))).count(missing.str()) == 0);
}

STORE_TEST("members: a support conversation's customer is its member", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  Conversation support = f.MakeConversation(w.app.app.id, w.a.id);  // with its customer as member
  REQUIRE(support.members.size() == 1);
  LIBCHAT_REQUIRE_OK(store.CreateConversation(support));
  std::vector<Member> members = LIBCHAT_VALUE(store.ListMembers(support.id));
  REQUIRE(members.size() == 1);
  CheckSameMember(members[0], support.members[0]);
  CHECK(IdSet(LIBCHAT_VALUE(store.ListMemberships(w.a.id.str(), 10))) == std::set<std::string>{support.id.str()});
  // Conversation records are returned without members (the core fills them).
  CHECK(LIBCHAT_VALUE(store.GetConversation(support.id, "")).members.empty());
}

// ---------------------------------------------------------------------------
// dms

STORE_TEST("dms: one per pair and app, found in either order", "[dm]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  World other = Seed(store, f);
  const std::string a = w.a.id.str();
  const std::string b = w.b.id.str();
  const std::string c = w.c.id.str();

  // A two-member group is not a dm.
  Conversation pair_group = NewRoom(store, f, w.app.app.id, ConversationType::kGroup,
                                    {MakeMember(a, MemberRole::kOwner), MakeMember(b, MemberRole::kMember)});
  LIBCHAT_REQUIRE_CODE(store.FindDirectConversation(w.app.app.id, a, b), StatusCode::kNotFound);

  Conversation dm = NewDm(store, f, w.app.app.id, a, b);
  for (const auto& [x, y] : {std::pair{a, b}, std::pair{b, a}}) {
    Conversation found = LIBCHAT_VALUE(store.FindDirectConversation(w.app.app.id, x, y));
    CHECK(found.id == dm.id);
    CHECK(found.type == ConversationType::kDm);
    CHECK(found.app_id == w.app.app.id);
  }
  CHECK(MemberIds(LIBCHAT_VALUE(store.ListMembers(dm.id))) == std::vector<std::string>{a, b});

  // The same pair again, in either order, with a new id: kAlreadyExists and nothing left behind.
  for (bool reversed : {false, true}) {
    INFO("reversed " << reversed);
    Conversation dup = reversed ? MakeRoom(f, w.app.app.id, ConversationType::kDm,
                                           {MakeMember(b, MemberRole::kOwner), MakeMember(a, MemberRole::kMember)})
                                : MakeRoom(f, w.app.app.id, ConversationType::kDm,
                                           {MakeMember(a, MemberRole::kOwner), MakeMember(b, MemberRole::kMember)});
    LIBCHAT_REQUIRE_CODE(store.CreateConversation(dup), StatusCode::kAlreadyExists);
    LIBCHAT_REQUIRE_CODE(store.GetConversation(dup.id, ""), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(store.ListMembers(dup.id), StatusCode::kNotFound);
    CHECK(IdSet(LIBCHAT_VALUE(store.ListMemberships(a, 100))) ==
          std::set<std::string>{pair_group.id.str(), dm.id.str()});
  }

  // Other pairs, and the same pair in another app, are other dms.
  Conversation dm_ac = NewDm(store, f, w.app.app.id, c, a);
  CHECK(LIBCHAT_VALUE(store.FindDirectConversation(w.app.app.id, a, c)).id == dm_ac.id);
  CHECK(LIBCHAT_VALUE(store.FindDirectConversation(w.app.app.id, b, a)).id == dm.id);
  LIBCHAT_REQUIRE_CODE(store.FindDirectConversation(w.app.app.id, b, c), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.FindDirectConversation(other.app.app.id, a, b), StatusCode::kNotFound);
  Conversation elsewhere = NewDm(store, f, other.app.app.id, a, b);
  CHECK(LIBCHAT_VALUE(store.FindDirectConversation(other.app.app.id, b, a)).id == elsewhere.id);
  CHECK(LIBCHAT_VALUE(store.FindDirectConversation(w.app.app.id, a, b)).id == dm.id);
  LIBCHAT_REQUIRE_CODE(store.FindDirectConversation(AppId("app_missing"), a, b), StatusCode::kNotFound);
}

STORE_TEST("dms: concurrent creations of one pair yield exactly one dm", "[dm][concurrency]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const std::string a = w.a.id.str();
  const std::string b = w.b.id.str();

  constexpr int kThreads = 8;
  std::vector<Conversation> candidates;
  for (int i = 0; i < kThreads; ++i) {
    // Half of them name the pair the other way round.
    std::vector<Member> members = {MakeMember(i % 2 ? b : a, MemberRole::kOwner),
                                   MakeMember(i % 2 ? a : b, MemberRole::kMember)};
    candidates.push_back(MakeRoom(f, w.app.app.id, ConversationType::kDm, std::move(members)));
  }
  std::vector<Status> results(kThreads);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();  // start together
      results[static_cast<std::size_t>(i)] = store.CreateConversation(candidates[static_cast<std::size_t>(i)]);
    });
  }
  for (auto& t : threads) t.join();

  int winners = 0;
  std::string winner;
  for (int i = 0; i < kThreads; ++i) {
    const Status& status = results[static_cast<std::size_t>(i)];
    INFO("thread " << i << ": " << status.ToString());
    if (status.ok()) {
      ++winners;
      winner = candidates[static_cast<std::size_t>(i)].id.str();
    } else {
      CHECK(status.code() == StatusCode::kAlreadyExists);
    }
  }
  REQUIRE(winners == 1);
  CHECK(LIBCHAT_VALUE(store.FindDirectConversation(w.app.app.id, a, b)).id.str() == winner);
  CHECK(IdSet(LIBCHAT_VALUE(store.ListMemberships(a, 100))) == std::set<std::string>{winner});
  CHECK(IdSet(LIBCHAT_VALUE(store.ListMemberships(b, 100))) == std::set<std::string>{winner});
  ConversationQuery query;
  query.app_id = w.app.app.id;
  CHECK(LIBCHAT_VALUE(store.ListConversations(query)).data.size() == 1);
}

// ---------------------------------------------------------------------------
// memberships and member listings

STORE_TEST("memberships: ListMemberships names a member's conversations, up to limit", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  World other = Seed(store, f);
  const std::string a = w.a.id.str();
  const std::string owner = w.account.account.id.str();

  Conversation support = f.MakeConversation(w.app.app.id, w.a.id);  // with a as its member
  LIBCHAT_REQUIRE_OK(store.CreateConversation(support));
  Conversation group = NewRoom(store, f, w.app.app.id, ConversationType::kGroup,
                               {MakeMember(owner, MemberRole::kOwner), MakeMember(a, MemberRole::kMember)});
  Conversation dm = NewDm(store, f, w.app.app.id, a, w.b.id.str());
  Conversation left = NewRoom(store, f, w.app.app.id, ConversationType::kChannel, {MakeMember(a, MemberRole::kAdmin)});
  Conversation joined =
      NewRoom(store, f, w.app.app.id, ConversationType::kGroup, {MakeMember(owner, MemberRole::kOwner)});
  NewRoom(store, f, w.app.app.id, ConversationType::kGroup, {MakeMember(w.c.id.str(), MemberRole::kOwner)});
  // The owning account is a member across apps.
  Conversation elsewhere = NewRoom(store, f, other.app.app.id, ConversationType::kGroup,
                                   {MakeMember(owner, MemberRole::kOwner)});

  LIBCHAT_REQUIRE_OK(store.RemoveMember(left.id, a));
  CHECK(LIBCHAT_VALUE(store.PutMember(joined.id, MakeMember(a, MemberRole::kMember))));

  const std::set<std::string> mine = {support.id.str(), group.id.str(), dm.id.str(), joined.id.str()};
  CHECK(IdSet(LIBCHAT_VALUE(store.ListMemberships(a, 100))) == mine);
  std::vector<ConversationId> two = LIBCHAT_VALUE(store.ListMemberships(a, 2));
  CHECK(two.size() == 2);
  for (const ConversationId& id : two) CHECK(mine.count(id.str()) == 1);
  CHECK(IdSet(LIBCHAT_VALUE(store.ListMemberships(owner, 100))) ==
        std::set<std::string>{group.id.str(), joined.id.str(), elsewhere.id.str()});
  CHECK(LIBCHAT_VALUE(store.ListMemberships("cus_nobody", 100)).empty());
}

STORE_TEST("conversations: member_id lists exactly the member's conversations, newest first, paginated",
           "[conversations]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  World other = Seed(store, f);
  const std::string a = w.a.id.str();
  const std::string owner = w.account.account.id.str();

  // 9 conversations with a (two sharing a timestamp, to exercise the id tie-break) and 4 without.
  std::vector<std::tuple<std::int64_t, std::string, ConversationType>> expected;  // (activity, id, type)
  const std::int64_t times[] = {100, 400, 300, 300, 900, 50, 700, 800, 200};
  for (int i = 0; i < 9; ++i) {
    const ConversationType type = i % 3 == 0 ? ConversationType::kGroup
                                  : i % 3 == 1 ? ConversationType::kChannel
                                               : ConversationType::kSupport;
    Conversation c = MakeRoom(f, w.app.app.id, type, {MakeMember(a, MemberRole::kMember)}, RecordFactory::At(times[i]));
    if (type == ConversationType::kSupport) c.customer_id = w.a.id;
    LIBCHAT_REQUIRE_OK(store.CreateConversation(c));
    expected.emplace_back(times[i], c.id.str(), type);
  }
  for (int i = 0; i < 3; ++i) {
    NewRoom(store, f, w.app.app.id, ConversationType::kGroup, {MakeMember(owner, MemberRole::kOwner)},
            RecordFactory::At(500 + i));
  }
  // The same member id in a conversation of another app is not listed under this app.
  NewRoom(store, f, other.app.app.id, ConversationType::kGroup, {MakeMember(a, MemberRole::kMember)},
          RecordFactory::At(1000));

  std::sort(expected.begin(), expected.end(), [](const auto& x, const auto& y) {
    return std::tie(std::get<0>(y), std::get<1>(y)) < std::tie(std::get<0>(x), std::get<1>(x));
  });
  std::vector<std::string> want;
  for (const auto& e : expected) want.push_back(std::get<1>(e));

  ConversationQuery query;
  query.app_id = w.app.app.id;
  query.member_id = a;
  for (int limit : {1, 2, 4, 9, 50}) {
    INFO("limit " << limit);
    query.limit = limit;
    int pages = 0;
    CHECK(ListAllConversationIds(store, query, &pages) == want);
    CHECK(pages == (9 + limit - 1) / limit);  // a full last page has no next_cursor
  }

  // Filters combine with member_id.
  query.limit = 50;
  query.type = ConversationType::kChannel;
  std::vector<std::string> channels;
  for (const auto& e : expected) {
    if (std::get<2>(e) == ConversationType::kChannel) channels.push_back(std::get<1>(e));
  }
  int pages = 0;
  CHECK(ListAllConversationIds(store, query, &pages) == channels);
  query.type.reset();

  // Leaving removes a conversation from the listing; new activity moves one to the front.
  const std::string leave = want[1];
  LIBCHAT_REQUIRE_OK(store.RemoveMember(ConversationId(leave), a));
  want.erase(want.begin() + 1);
  Conversation bumped = LIBCHAT_VALUE(store.GetConversation(ConversationId(want.back()), ""));
  Message m = f.MakeMessage(bumped, CustomerSender(w.b.id.str()), "", RecordFactory::At(5000));
  Append(store, m);
  std::rotate(want.rbegin(), want.rbegin() + 1, want.rend());
  query.limit = 3;
  CHECK(ListAllConversationIds(store, query, &pages) == want);

  // The viewer's read state is filled in member listings too.
  query.viewer_id = a;
  query.limit = 1;
  Page<Conversation> first = LIBCHAT_VALUE(store.ListConversations(query));
  REQUIRE(first.data.size() == 1);
  CHECK(first.data[0].id == bumped.id);
  CHECK(first.data[0].unread_count == 1);
  REQUIRE(first.data[0].last_message.has_value());
  CHECK(first.data[0].last_message->id == m.id);

  // A member of nothing lists nothing.
  query.member_id = std::string("cus_nobody");
  query.limit = 50;
  Page<Conversation> none = LIBCHAT_VALUE(store.ListConversations(query));
  CHECK(none.data.empty());
  CHECK(none.next_cursor.empty());
}

// ---------------------------------------------------------------------------
// message revisions

STORE_TEST("messages: GetMessage finds a message only in its own conversation", "[messages]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const Member owner = MakeMember(w.a.id.str(), MemberRole::kOwner);
  Conversation group = NewRoom(store, f, w.app.app.id, ConversationType::kGroup, {owner});
  Conversation other = NewRoom(store, f, w.app.app.id, ConversationType::kGroup, {owner});
  Message m1 = f.MakeMessage(group, CustomerSender(w.a.id.str()), "k1");
  m1.metadata_json = R"({"k":1})";
  AppendResult first = Append(store, m1);
  AppendResult second = Append(store, f.MakeMessage(group, CustomerSender(w.b.id.str())));

  CheckSameMessage(LIBCHAT_VALUE(store.GetMessage(group.id, m1.id)), first.message);
  CheckSameMessage(LIBCHAT_VALUE(store.GetMessage(group.id, second.message.id)), second.message);
  CHECK(LIBCHAT_VALUE(store.GetMessage(group.id, second.message.id)).seq == 2);
  LIBCHAT_REQUIRE_CODE(store.GetMessage(other.id, m1.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.GetMessage(group.id, MessageId("msg_missing")), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.GetMessage(ConversationId("conv_missing"), m1.id), StatusCode::kNotFound);
}

STORE_TEST("messages: an edit changes text or metadata in place, keeping seq", "[messages]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const std::string a = w.a.id.str();
  Conversation group = NewRoom(store, f, w.app.app.id, ConversationType::kGroup, {MakeMember(a, MemberRole::kOwner)});
  Conversation other = NewRoom(store, f, w.app.app.id, ConversationType::kGroup, {MakeMember(a, MemberRole::kOwner)});
  Message original = f.MakeMessage(group, CustomerSender(a), "c1");
  original.metadata_json = R"({"k":1})";
  Message stored = Append(store, original).message;
  Message last = Append(store, f.MakeMessage(group, CustomerSender(a))).message;

  MessageRevision edit;
  edit.conversation_id = group.id;
  edit.message_id = stored.id;
  edit.editor_id = a;
  edit.text = "edited text";
  edit.at = RecordFactory::At(3000);
  Message edited = LIBCHAT_VALUE(store.ReviseMessage(edit));
  Message want = stored;
  want.text = "edited text";
  want.edited_at = RecordFactory::At(3000);
  CheckSameMessage(edited, want);
  CheckSameMessage(LIBCHAT_VALUE(store.GetMessage(group.id, stored.id)), want);
  std::vector<Message> history = History(store, group.id);
  REQUIRE(history.size() == 2);
  CheckSameMessage(history[0], want);

  // Metadata only: the text stays.
  MessageRevision meta = edit;
  meta.text.reset();
  meta.metadata_json = R"({"k":2})";
  meta.at = RecordFactory::At(3100);
  want.metadata_json = R"({"k":2})";
  want.edited_at = RecordFactory::At(3100);
  CheckSameMessage(LIBCHAT_VALUE(store.ReviseMessage(meta)), want);
  CheckSameMessage(LIBCHAT_VALUE(store.GetMessage(group.id, stored.id)), want);

  // Editing the last message shows in the conversation's last_message; nothing else about it moves.
  Conversation before = LIBCHAT_VALUE(store.GetConversation(group.id, ""));
  MessageRevision edit_last = edit;
  edit_last.message_id = last.id;
  edit_last.text = "last, edited";
  edit_last.at = RecordFactory::At(3200);
  LIBCHAT_REQUIRE_OK(store.ReviseMessage(edit_last));
  Conversation after = LIBCHAT_VALUE(store.GetConversation(group.id, ""));
  CHECK(after.last_seq == 2);
  CHECK(Ms(after.last_activity_at) == Ms(before.last_activity_at));
  REQUIRE(after.last_message.has_value());
  CHECK(after.last_message->text == "last, edited");
  CHECK(after.last_message->seq == 2);

  // A revision naming another conversation changes nothing.
  MessageRevision wrong = edit;
  wrong.conversation_id = other.id;
  wrong.text = "hijacked";
  LIBCHAT_REQUIRE_CODE(store.ReviseMessage(wrong), StatusCode::kNotFound);
  wrong.conversation_id = group.id;
  wrong.message_id = MessageId("msg_missing");
  LIBCHAT_REQUIRE_CODE(store.ReviseMessage(wrong), StatusCode::kNotFound);
  CheckSameMessage(LIBCHAT_VALUE(store.GetMessage(group.id, stored.id)), want);
  CHECK(History(store, other.id).empty());
}

STORE_TEST("messages: a delete clears text and metadata, keeps seq, and leaves unread counts", "[messages]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const std::string a = w.a.id.str();
  const std::string b = w.b.id.str();
  Conversation group = NewRoom(store, f, w.app.app.id, ConversationType::kGroup,
                               {MakeMember(a, MemberRole::kOwner), MakeMember(b, MemberRole::kMember)});
  // seq: 1 a, 2 b, 3 b, 4 a
  std::vector<Message> sent;
  for (const std::string& sender : {a, b, b, a}) {
    Message m = f.MakeMessage(group, CustomerSender(sender));
    m.metadata_json = R"({"x":true})";
    sent.push_back(Append(store, m).message);
  }
  auto unread = [&](const std::string& viewer) {
    const std::int64_t got = LIBCHAT_VALUE(store.GetConversation(group.id, viewer)).unread_count;
    ConversationQuery query;
    query.app_id = w.app.app.id;
    query.member_id = viewer;
    query.viewer_id = viewer;
    Page<Conversation> page = LIBCHAT_VALUE(store.ListConversations(query));
    REQUIRE(page.data.size() == 1);
    CHECK(page.data[0].unread_count == got);  // the listing agrees with GetConversation
    return got;
  };
  CHECK(unread(a) == 2);  // 2 3
  CHECK(unread(b) == 2);  // 1 4

  MessageRevision del;
  del.conversation_id = group.id;
  del.message_id = sent[2].id;
  del.editor_id = b;
  del.deleted = true;
  del.at = RecordFactory::At(4000);
  Message deleted = LIBCHAT_VALUE(store.ReviseMessage(del));
  Message want = sent[2];
  want.deleted = true;
  want.text = "";
  want.metadata_json = "{}";
  want.edited_at = RecordFactory::At(4000);
  CheckSameMessage(deleted, want);
  CheckSameMessage(LIBCHAT_VALUE(store.GetMessage(group.id, sent[2].id)), want);
  std::vector<Message> history = History(store, group.id);
  REQUIRE(history.size() == 4);  // still there, in place
  CheckSameMessage(history[2], want);
  CHECK(history[3].seq == 4);
  CHECK(LIBCHAT_VALUE(store.GetConversation(group.id, "")).last_seq == 4);

  CHECK(unread(a) == 1);  // 2
  CHECK(unread(b) == 2);  // 1 4: b's own deleted message changes nothing for b

  // Deleting the viewer's own message does not change its count; others see one fewer.
  del.message_id = sent[0].id;
  del.editor_id = a;
  LIBCHAT_REQUIRE_OK(store.ReviseMessage(del));
  CHECK(unread(a) == 1);
  CHECK(unread(b) == 1);  // 4
  // Deleting twice keeps the counts.
  LIBCHAT_REQUIRE_OK(store.ReviseMessage(del));
  CHECK(unread(a) == 1);
  CHECK(unread(b) == 1);

  // With receipts: deleted messages after read_seq are not unread.
  LIBCHAT_REQUIRE_OK(store.AdvanceReceipt(group.id, a, 2, 2, RecordFactory::At(5000)));
  CHECK(unread(a) == 0);  // 3 is deleted, 4 is a's own
  LIBCHAT_REQUIRE_OK(store.AdvanceReceipt(group.id, b, 4, 4, RecordFactory::At(5000)));
  CHECK(unread(b) == 0);

  // Deleting the last message shows in last_message.
  del.message_id = sent[3].id;
  LIBCHAT_REQUIRE_OK(store.ReviseMessage(del));
  Conversation now = LIBCHAT_VALUE(store.GetConversation(group.id, b));
  REQUIRE(now.last_message.has_value());
  CHECK(now.last_message->deleted);
  CHECK(now.last_message->text.empty());
  CHECK(now.unread_count == 0);
}

// ---------------------------------------------------------------------------
// app deletion

STORE_TEST("apps: delete removes members, memberships and dms", "[apps]") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World doomed = Seed(store, f);
  World kept = Seed(store, f);
  const std::string owner = doomed.account.account.id.str();
  REQUIRE(kept.account.account.id.str() != owner);
  const std::string a = doomed.a.id.str();
  const std::string b = doomed.b.id.str();

  Conversation dm = NewDm(store, f, doomed.app.app.id, a, b);
  Conversation group = NewRoom(store, f, doomed.app.app.id, ConversationType::kGroup,
                               {MakeMember(owner, MemberRole::kOwner), MakeMember(a, MemberRole::kMember)});
  Append(store, f.MakeMessage(group, CustomerSender(a)));
  // The same member ids in the kept app (as a host's store must not assume ids are per app).
  Conversation kept_group = NewRoom(store, f, kept.app.app.id, ConversationType::kGroup,
                                    {MakeMember(owner, MemberRole::kOwner), MakeMember(a, MemberRole::kMember)});

  LIBCHAT_REQUIRE_OK(store.DeleteApp(doomed.app.app.id));

  LIBCHAT_REQUIRE_CODE(store.FindDirectConversation(doomed.app.app.id, a, b), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.ListMembers(dm.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.ListMembers(group.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.GetMember(group.id, a), StatusCode::kNotFound);
  CHECK(IdSet(LIBCHAT_VALUE(store.ListMemberships(a, 100))) == std::set<std::string>{kept_group.id.str()});
  CHECK(IdSet(LIBCHAT_VALUE(store.ListMemberships(owner, 100))) == std::set<std::string>{kept_group.id.str()});
  CHECK(LIBCHAT_VALUE(store.ListMemberships(b, 100)).empty());
  CHECK(MemberIds(LIBCHAT_VALUE(store.ListMembers(kept_group.id))) == std::vector<std::string>{owner, a});

  // The pair can have a dm in another app, and in the app re-created with the same ids.
  Conversation kept_dm = NewDm(store, f, kept.app.app.id, b, a);
  CHECK(LIBCHAT_VALUE(store.FindDirectConversation(kept.app.app.id, a, b)).id == kept_dm.id);
  LIBCHAT_REQUIRE_OK(store.CreateApp(doomed.app));
  LIBCHAT_REQUIRE_OK(store.CreateCustomer(doomed.a));
  LIBCHAT_REQUIRE_OK(store.CreateCustomer(doomed.b));
  LIBCHAT_REQUIRE_CODE(store.FindDirectConversation(doomed.app.app.id, a, b), StatusCode::kNotFound);
  Conversation again = NewDm(store, f, doomed.app.app.id, a, b);
  CHECK(LIBCHAT_VALUE(store.FindDirectConversation(doomed.app.app.id, b, a)).id == again.id);
  // Even the old dm's id can be used again: nothing of it survived.
  Conversation same_id = MakeRoom(f, doomed.app.app.id, ConversationType::kGroup, {MakeMember(a, MemberRole::kOwner)});
  same_id.id = dm.id;
  LIBCHAT_REQUIRE_OK(store.CreateConversation(same_id));
  CHECK(MemberIds(LIBCHAT_VALUE(store.ListMembers(dm.id))) == std::vector<std::string>{a});
}

}  // namespace
