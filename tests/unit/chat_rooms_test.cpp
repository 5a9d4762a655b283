// dm, group and channel conversations through the libchat facade, against both stores: who may create
// which type, dm de-duplication (also under concurrency), visibility and tenant isolation, member
// management, channel posting, message edits and deletes, unread counts, presence, and the audiences
// of the events all of these publish. chat_test.cpp covers support conversations.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "catch.h"
#include "chat_test_util.h"
#include "libchat/chat.h"
#include "store_test_util.h"

namespace {

using namespace libchat;        // NOLINT: test brevity
using namespace libchat::test;  // NOLINT

#define ROOMS_TEST(name, tags) \
  TEMPLATE_TEST_CASE("chat rooms: " name, "[chat][rooms]" tags, MemoryBackend, SqliteBackend)

MemberInput ById(std::string id, std::optional<MemberRole> role = std::nullopt) {
  MemberInput input;
  input.id = std::move(id);
  input.role = role;
  return input;
}

MemberInput ByExternalId(std::string external_id, std::optional<MemberRole> role = std::nullopt) {
  MemberInput input;
  input.external_id = std::move(external_id);
  input.role = role;
  return input;
}

ConversationCreate Room(ConversationType type, std::vector<MemberInput> members, std::string name = "") {
  ConversationCreate request;
  request.type = type;
  request.members = std::move(members);
  request.name = std::move(name);
  return request;
}

MessageEdit TextEdit(std::string text) {
  MessageEdit edit;
  edit.text = std::move(text);
  return edit;
}

// (id, role) of each member, in the order given.
std::vector<std::pair<std::string, MemberRole>> Roles(const std::vector<Member>& members) {
  std::vector<std::pair<std::string, MemberRole>> out;
  for (const Member& m : members) out.emplace_back(m.id, m.role);
  return out;
}

std::set<std::string> IdSet(const std::vector<Conversation>& conversations) {
  std::set<std::string> out;
  for (const Conversation& c : conversations) out.insert(c.id.str());
  return out;
}

// Two tenants: alice owns app A, bob owns app B. In app A: customers by external id (through the
// secret key + X-User-Id, as an app's backend acts for its users) and an anonymous SDK customer.
template <typename Backend>
struct Rooms {
  Rooms() : alice(h.Register("alice@example.com")), bob(h.Register("bob@example.com")) {
    app = h.CreateApp(alice, "A");
    other_app = h.CreateApp(bob, "B");
  }

  // A customer of `app` identified by `external_id` (created on first use).
  Principal User(const TestApp& in, const std::string& external_id) {
    return h.Authenticate(KeyCredentials(in.secret_key, "", external_id));
  }
  Principal User(const std::string& external_id) { return User(app, external_id); }

  CreatedConversation Create(const Principal& principal, const ConversationCreate& request) {
    return LIBCHAT_VALUE(h.chat().CreateConversation(principal, app.app.id, request));
  }

  std::int64_t Unread(const Principal& viewer, const ConversationId& id) {
    const std::int64_t got = h.Get(viewer, id).unread_count;
    // The conversation list must agree with GetConversation.
    bool listed = false;
    for (const Conversation& c : h.List(viewer, app.app.id)) {
      if (c.id != id) continue;
      listed = true;
      CHECK(c.unread_count == got);
    }
    CHECK(listed);
    return got;
  }

  ChatHarness<Backend> h;
  TestAccount alice;
  TestAccount bob;
  TestApp app;
  TestApp other_app;
};

// ===========================================================================
// creation

ROOMS_TEST("the team creates every type, a creating account is owner, an app server is no member", "[create]") {
  Rooms<TestType> r;
  Principal ann = r.User("ann");
  Principal ben = r.User("ben");

  CreatedConversation group = r.Create(r.alice.principal, Room(ConversationType::kGroup, {ById(ann.id)}, "Team"));
  CHECK(group.created);
  CHECK(group.conversation.type == ConversationType::kGroup);
  CHECK(group.conversation.app_id == r.app.app.id);
  CHECK(group.conversation.name == "Team");
  CHECK(group.conversation.status == ConversationStatus::kOpen);
  CHECK(group.conversation.customer_id.empty());
  CHECK(Roles(group.conversation.members) ==
        std::vector<std::pair<std::string, MemberRole>>{{r.alice.account.id.str(), MemberRole::kOwner},
                                                        {ann.id, MemberRole::kMember}});
  // GetConversation returns the same members.
  CHECK(Roles(r.h.Get(r.alice.principal, group.conversation.id).members) == Roles(group.conversation.members));

  CreatedConversation channel = r.Create(
      r.app.server, Room(ConversationType::kChannel, {ById(ann.id, MemberRole::kAdmin), ById(ben.id)}, "News"));
  CHECK(channel.created);
  CHECK(channel.conversation.type == ConversationType::kChannel);
  CHECK(Roles(channel.conversation.members) ==
        std::vector<std::pair<std::string, MemberRole>>{{ann.id, MemberRole::kAdmin}, {ben.id, MemberRole::kMember}});

  // The team may name owners; a dm by the server is between the two it names.
  CreatedConversation owned =
      r.Create(r.app.server, Room(ConversationType::kGroup, {ById(ann.id, MemberRole::kOwner)}));
  CHECK(Roles(owned.conversation.members) ==
        std::vector<std::pair<std::string, MemberRole>>{{ann.id, MemberRole::kOwner}});
  CreatedConversation dm = r.Create(r.app.server, Room(ConversationType::kDm, {ById(ann.id), ById(ben.id)}));
  CHECK(dm.created);
  CHECK(dm.conversation.members.size() == 2);

  // An account creating a group with no other member is its only member.
  CreatedConversation solo = r.Create(r.alice.principal, Room(ConversationType::kGroup, {}));
  CHECK(Roles(solo.conversation.members) ==
        std::vector<std::pair<std::string, MemberRole>>{{r.alice.account.id.str(), MemberRole::kOwner}});
}

ROOMS_TEST("a customer creates dms and groups as owner, but no channel", "[create]") {
  Rooms<TestType> r;
  Principal ann = r.User("ann");
  Principal ben = r.User("ben");
  TestCustomer sdk = r.h.StartCustomer(r.app);

  CreatedConversation group = r.Create(ann, Room(ConversationType::kGroup, {ById(ben.id), ById(sdk.id.str())}));
  CHECK(Roles(group.conversation.members) ==
        std::vector<std::pair<std::string, MemberRole>>{
            {ann.id, MemberRole::kOwner}, {ben.id, MemberRole::kMember}, {sdk.id.str(), MemberRole::kMember}});
  // A customer listing itself is not a duplicate.
  CreatedConversation with_self = r.Create(ann, Room(ConversationType::kGroup, {ById(ann.id), ById(ben.id)}));
  CHECK(with_self.conversation.members.size() == 2);
  // An SDK-session customer too; an admin may be named.
  CreatedConversation by_sdk =
      r.Create(sdk.principal, Room(ConversationType::kGroup, {ById(ann.id, MemberRole::kAdmin)}));
  CHECK(Roles(by_sdk.conversation.members) ==
        std::vector<std::pair<std::string, MemberRole>>{{sdk.id.str(), MemberRole::kOwner},
                                                        {ann.id, MemberRole::kAdmin}});
  CreatedConversation dm = r.Create(ann, Room(ConversationType::kDm, {ById(ben.id)}));
  CHECK(dm.created);
  CHECK(Roles(dm.conversation.members) ==
        std::vector<std::pair<std::string, MemberRole>>{{ann.id, MemberRole::kOwner}, {ben.id, MemberRole::kMember}});
  // A dm with the app's owner account.
  CreatedConversation with_team = r.Create(ann, Room(ConversationType::kDm, {ById(r.alice.account.id.str())}));
  CHECK(with_team.created);

  LIBCHAT_CHECK_CODE(r.h.chat().CreateConversation(ann, r.app.app.id, Room(ConversationType::kChannel, {ById(ben.id)})),
                     StatusCode::kPermissionDenied);
  // Only the team names owners.
  LIBCHAT_CHECK_CODE(r.h.chat().CreateConversation(
                         ann, r.app.app.id, Room(ConversationType::kGroup, {ById(ben.id, MemberRole::kOwner)})),
                     StatusCode::kPermissionDenied);
  // Nothing of the refused ones was created.
  CHECK(r.h.List(ann, r.app.app.id).size() == 5);
}

ROOMS_TEST("creation refuses bad types and member lists", "[create]") {
  Rooms<TestType> r;
  Principal ann = r.User("ann");
  Principal ben = r.User("ben");
  Principal cid = r.User("cid");
  TestCustomer foreign = r.h.StartCustomer(r.other_app);
  TestCustomer session_customer = r.h.StartCustomer(r.app);
  Chat& chat = r.h.chat();
  const AppId& app = r.app.app.id;
  EventRecorder events(chat);

  struct Case {
    const char* why;
    Principal principal;
    ConversationCreate request;
    StatusCode want;
  };
  std::vector<Case> cases = {
      {"support type", r.alice.principal, Room(ConversationType::kSupport, {ById(ann.id)}),
       StatusCode::kInvalidArgument},
      {"support type by a customer", ann, Room(ConversationType::kSupport, {ById(ben.id)}),
       StatusCode::kInvalidArgument},
      {"dm with one member", ann, Room(ConversationType::kDm, {}), StatusCode::kInvalidArgument},
      {"dm with oneself", ann, Room(ConversationType::kDm, {ById(ann.id)}), StatusCode::kInvalidArgument},
      {"dm with three", ann, Room(ConversationType::kDm, {ById(ben.id), ById(cid.id)}),
       StatusCode::kInvalidArgument},
      {"dm by the server with one", r.app.server, Room(ConversationType::kDm, {ById(ann.id)}),
       StatusCode::kInvalidArgument},
      {"server group without members", r.app.server, Room(ConversationType::kGroup, {}),
       StatusCode::kInvalidArgument},
      {"member listed twice", r.alice.principal, Room(ConversationType::kGroup, {ById(ann.id), ById(ann.id)}),
       StatusCode::kInvalidArgument},
      {"member named by id and external id", ann, Room(ConversationType::kGroup, {[] {
                                                          MemberInput both = ById("cus_x");
                                                          both.external_id = "x";
                                                          return both;
                                                        }()}),
       StatusCode::kInvalidArgument},
      {"member named by nothing", ann, Room(ConversationType::kGroup, {MemberInput{}}), StatusCode::kInvalidArgument},
      {"malformed member id", r.alice.principal, Room(ConversationType::kGroup, {ById("bogus")}),
       StatusCode::kInvalidArgument},
      {"prefix-only member id", r.alice.principal, Room(ConversationType::kGroup, {ById("cus_")}),
       StatusCode::kInvalidArgument},
      {"member id with punctuation", r.alice.principal, Room(ConversationType::kGroup, {ById("cus_a'b")}),
       StatusCode::kInvalidArgument},
      {"unknown customer", r.alice.principal, Room(ConversationType::kGroup, {ById("cus_doesnotexist")}),
       StatusCode::kNotFound},
      {"another app's customer", r.alice.principal, Room(ConversationType::kGroup, {ById(foreign.id.str())}),
       StatusCode::kNotFound},
      {"another app's customer, by a customer", ann, Room(ConversationType::kDm, {ById(foreign.id.str())}),
       StatusCode::kNotFound},
      {"another account", r.alice.principal, Room(ConversationType::kGroup, {ById(r.bob.account.id.str())}),
       StatusCode::kNotFound},
      {"unknown operator", r.alice.principal, Room(ConversationType::kGroup, {ById("op_nobody")}),
       StatusCode::kNotFound},
      {"unknown external id, by a customer with a session", session_customer.principal,
       Room(ConversationType::kGroup, {ByExternalId("nobody")}), StatusCode::kNotFound},
      {"empty external id with role", r.alice.principal, Room(ConversationType::kGroup, {ByExternalId("")}),
       StatusCode::kInvalidArgument},
      {"channel by a customer", ann, Room(ConversationType::kChannel, {ById(ben.id)}), StatusCode::kPermissionDenied},
  };
  {
    ConversationCreate long_name = Room(ConversationType::kGroup, {ById(ann.id)}, std::string(10000, 'n'));
    cases.push_back({"name too long", r.alice.principal, long_name, StatusCode::kInvalidArgument});
    ConversationCreate bad_metadata = Room(ConversationType::kGroup, {ById(ann.id)});
    bad_metadata.metadata_json = "[1,2]";
    cases.push_back({"metadata not an object", r.alice.principal, bad_metadata, StatusCode::kInvalidArgument});
    ConversationCreate too_many = Room(ConversationType::kGroup, {});
    for (std::size_t i = 0; i <= chat.options().max_conversation_members; ++i) {
      too_many.members.push_back(ById("cus_m" + std::to_string(i)));
    }
    cases.push_back({"too many members", r.alice.principal, too_many, StatusCode::kInvalidArgument});
  }
  for (const Case& c : cases) {
    INFO(c.why);
    LIBCHAT_CHECK_CODE(chat.CreateConversation(c.principal, app, c.request), c.want);
  }
  // Nothing was created or announced (but the session customer's own support conversation), and no
  // customer was made up for an unknown external id.
  CHECK(r.h.List(r.alice.principal, app).size() == 1);
  CHECK(events.size() == 0);
  LIBCHAT_CHECK_CODE(r.h.store()->FindCustomerByExternalId(app, "nobody"), StatusCode::kNotFound);
}

ROOMS_TEST("the app server acting as a user names new users by external id", "[create]") {
  Rooms<TestType> r;
  Principal alice_user = r.User("alice-user");
  REQUIRE(alice_user.via_secret_key);
  CreatedConversation dm = r.Create(alice_user, Room(ConversationType::kDm, {ByExternalId("bob-user")}));
  CHECK(dm.created);
  Customer bob = LIBCHAT_VALUE(r.h.store()->FindCustomerByExternalId(r.app.app.id, "bob-user"));
  Principal bob_user = r.User("bob-user");
  CHECK(bob_user.id == bob.id.str());
  // Bob's side, the other way round: the same dm.
  CreatedConversation again = r.Create(bob_user, Room(ConversationType::kDm, {ByExternalId("alice-user")}));
  CHECK_FALSE(again.created);
  CHECK(again.conversation.id == dm.conversation.id);
}

ROOMS_TEST("another tenant cannot create in an app: not found, whatever the body", "[create][isolation]") {
  Rooms<TestType> r;
  Principal ann = r.User("ann");
  TestCustomer foreign = r.h.StartCustomer(r.other_app);
  Principal foreign_user = r.User(r.other_app, "ann");
  Chat& chat = r.h.chat();
  const ConversationCreate request = Room(ConversationType::kGroup, {ById(ann.id)});
  const Status missing = chat.CreateConversation(r.bob.principal, AppId("app_doesnotexist"), request).status();
  REQUIRE(missing.code() == StatusCode::kNotFound);

  for (const Principal* p : {&r.bob.principal, &r.other_app.server, &foreign.principal, &foreign_user}) {
    INFO(PrincipalTypeName(p->type) << " " << p->id);
    for (ConversationType type : {ConversationType::kGroup, ConversationType::kDm, ConversationType::kChannel,
                                  ConversationType::kSupport}) {
      INFO(ConversationTypeName(type));
      Status status = chat.CreateConversation(*p, r.app.app.id, Room(type, {ById(ann.id)})).status();
      CHECK(status.code() == StatusCode::kNotFound);
      CHECK(status.message().find(r.app.app.id.str()) == std::string::npos);
      CHECK(status.message().find(ann.id) == std::string::npos);
    }
  }
  // A publishable key creates nothing.
  LIBCHAT_CHECK_CODE(chat.CreateConversation(r.app.publishable, r.app.app.id, request), StatusCode::kPermissionDenied);
  CHECK(r.h.List(r.alice.principal, r.app.app.id).empty());
}

ROOMS_TEST("members by external id: the team finds or creates the customer, a session customer names existing ones",
           "[create]") {
  Rooms<TestType> r;
  CreatedConversation group =
      r.Create(r.alice.principal, Room(ConversationType::kGroup, {ByExternalId("new-user", MemberRole::kAdmin)}));
  REQUIRE(group.conversation.members.size() == 2);
  const std::string created_id = group.conversation.members[1].id;
  CHECK(created_id.rfind("cus_", 0) == 0);
  CHECK(group.conversation.members[1].role == MemberRole::kAdmin);
  // The same external id later authenticates as that very customer, who sees the group.
  Principal user = r.User("new-user");
  CHECK(user.id == created_id);
  CHECK(r.h.Get(user, group.conversation.id).id == group.conversation.id);

  // The server names an existing one by external id.
  Principal ann = r.User("ann");
  CreatedConversation channel = r.Create(r.app.server, Room(ConversationType::kChannel, {ByExternalId("ann")}));
  CHECK(channel.conversation.members.at(0).id == ann.id);

  // A customer names an existing customer by external id.
  CreatedConversation dm = r.Create(ann, Room(ConversationType::kDm, {ByExternalId("new-user")}));
  CHECK(Roles(dm.conversation.members) ==
        std::vector<std::pair<std::string, MemberRole>>{{ann.id, MemberRole::kOwner},
                                                        {created_id, MemberRole::kMember}});
  // External ids are per app: another app's "ann" is not this one, and a customer with a session of its own
  // (not vouched for by the app's server) cannot make up users: "new-user" does not exist in the other app.
  Principal other_ann = r.User(r.other_app, "ann");
  CHECK(other_ann.id != ann.id);
  TestCustomer other_session = r.h.StartCustomer(r.other_app);
  LIBCHAT_CHECK_CODE(r.h.chat().CreateConversation(other_session.principal, r.other_app.app.id,
                                                   Room(ConversationType::kDm, {ByExternalId("new-user")})),
                     StatusCode::kNotFound);
}

// ===========================================================================
// dm de-duplication

ROOMS_TEST("a dm is unique per pair: creating it again in either order returns the existing one", "[dm]") {
  Rooms<TestType> r;
  Principal ann = r.User("ann");
  Principal ben = r.User("ben");
  EventRecorder events(r.h.chat());

  CreatedConversation first = r.Create(ann, Room(ConversationType::kDm, {ById(ben.id)}));
  REQUIRE(first.created);
  r.h.Send(ann, first.conversation.id, "hi ben");

  struct Attempt {
    const char* who;
    Principal principal;
    ConversationCreate request;
  };
  const std::vector<Attempt> attempts = {
      {"ann again", ann, Room(ConversationType::kDm, {ById(ben.id)})},
      {"ben, the other way round", ben, Room(ConversationType::kDm, {ById(ann.id)})},
      {"ben by external id", ben, Room(ConversationType::kDm, {ByExternalId("ann")})},
      {"the server, in order", r.app.server, Room(ConversationType::kDm, {ById(ann.id), ById(ben.id)})},
      {"the server, reversed", r.app.server, Room(ConversationType::kDm, {ById(ben.id), ByExternalId("ann")})},
  };
  for (const Attempt& attempt : attempts) {
    INFO(attempt.who);
    CreatedConversation again = r.Create(attempt.principal, attempt.request);
    CHECK_FALSE(again.created);
    CHECK(again.conversation.id == first.conversation.id);
    CHECK(again.conversation.last_seq == 1);  // the existing conversation, as it is now
    std::set<std::string> ids;
    for (const Member& m : again.conversation.members) ids.insert(m.id);
    CHECK(ids == std::set<std::string>{ann.id, ben.id});
  }
  // Only the first was announced, and the app has one dm.
  CHECK(events.Of(first.conversation.id, EventType::kConversationCreated).size() == 1);
  ConversationFilter dms;
  dms.type = ConversationType::kDm;
  CHECK(r.h.List(r.alice.principal, r.app.app.id, dms).size() == 1);

  // The owner account and a customer have their own dm, also found in either order.
  CreatedConversation team = r.Create(r.alice.principal, Room(ConversationType::kDm, {ById(ann.id)}));
  CHECK(team.created);
  CHECK(team.conversation.id != first.conversation.id);
  CreatedConversation team_again = r.Create(ann, Room(ConversationType::kDm, {ById(r.alice.account.id.str())}));
  CHECK_FALSE(team_again.created);
  CHECK(team_again.conversation.id == team.conversation.id);
}

ROOMS_TEST("8 threads creating one pair's dm get one conversation", "[dm][concurrency]") {
  Rooms<TestType> r;
  Principal ann = r.User("ann");
  Principal ben = r.User("ben");
  EventRecorder events(r.h.chat());

  constexpr int kThreads = 8;
  std::vector<std::optional<Result<CreatedConversation>>> results(kThreads);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      // Both sides at once, and the server for good measure.
      const Principal& who = i % 3 == 0 ? ann : i % 3 == 1 ? ben : r.app.server;
      ConversationCreate request = i % 3 == 0   ? Room(ConversationType::kDm, {ById(ben.id)})
                                   : i % 3 == 1 ? Room(ConversationType::kDm, {ById(ann.id)})
                                                : Room(ConversationType::kDm, {ById(ben.id), ById(ann.id)});
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      results[static_cast<std::size_t>(i)] = r.h.chat().CreateConversation(who, r.app.app.id, request);
    });
  }
  for (auto& t : threads) t.join();

  std::set<std::string> ids;
  int created = 0;
  for (const auto& result : results) {
    REQUIRE(result.has_value());
    LIBCHAT_REQUIRE_OK(*result);
    ids.insert((*result)->conversation.id.str());
    created += (*result)->created ? 1 : 0;
    CHECK((*result)->conversation.members.size() == 2);
  }
  CHECK(ids.size() == 1);
  CHECK(created == 1);
  ConversationFilter dms;
  dms.type = ConversationType::kDm;
  CHECK(r.h.List(r.alice.principal, r.app.app.id, dms).size() == 1);
  CHECK(r.h.List(ann, r.app.app.id).size() == 1);
  CHECK(events.All().size() == 1);  // one conversation.created
}

// ===========================================================================
// visibility and tenant isolation

ROOMS_TEST("isolation matrix: who may do what on a group", "[isolation]") {
  Rooms<TestType> r;
  Principal member = r.User("member");
  Principal target = r.User("target");      // a member the matrix tries to remove
  Principal candidate = r.User("candidate");  // a customer the matrix tries to add
  TestCustomer outsider = r.h.StartCustomer(r.app);  // a customer of app A, not in the group
  TestCustomer foreign = r.h.StartCustomer(r.other_app);
  Chat& chat = r.h.chat();

  CreatedConversation group =
      r.Create(r.alice.principal, Room(ConversationType::kGroup, {ById(member.id), ById(target.id)}, "Secret plans"));
  const ConversationId id = group.conversation.id;
  const Message by_member = r.h.Send(member, id, "member's message");
  r.h.Send(r.alice.principal, id, "owner's message");
  const auto members_before = Roles(LIBCHAT_VALUE(chat.ListMembers(r.alice.principal, id)));

  enum Want { kOk, kDenied, kHidden };
  struct Actor {
    const char* name;
    Principal principal;
    Want member_ops;  // get, history, send, read, typing, list members
    Want manage;      // add, remove
    Want revise;      // edit, delete (of the member's message)
  };
  const std::vector<Actor> actors = {
      {"owner of app A", r.alice.principal, kOk, kOk, kDenied},
      {"app A server", r.app.server, kOk, kOk, kDenied},
      {"customer member", member, kOk, kDenied, kOk},
      {"customer non-member of app A", outsider.principal, kHidden, kHidden, kHidden},
      {"owner of app B", r.bob.principal, kHidden, kHidden, kHidden},
      {"app B server", r.other_app.server, kHidden, kHidden, kHidden},
      {"customer of app B", foreign.principal, kHidden, kHidden, kHidden},
  };

  struct Op {
    const char* name;
    Want Actor::*want;
    std::function<Status(const Principal&, const ConversationId&)> run;
    std::function<void()> undo;  // restores the state after a success
  };
  const std::vector<Op> ops = {
      {"get conversation", &Actor::member_ops,
       [&](const Principal& p, const ConversationId& c) { return chat.GetConversation(p, c).status(); }, nullptr},
      {"list messages", &Actor::member_ops,
       [&](const Principal& p, const ConversationId& c) { return chat.ListMessages(p, c, HistoryQuery{}).status(); },
       nullptr},
      {"send", &Actor::member_ops,
       [&](const Principal& p, const ConversationId& c) { return chat.SendMessage(p, c, TextMessage("hi")).status(); },
       nullptr},
      {"mark read", &Actor::member_ops,
       [&](const Principal& p, const ConversationId& c) { return chat.MarkRead(p, c, 1).status(); }, nullptr},
      {"typing", &Actor::member_ops,
       [&](const Principal& p, const ConversationId& c) { return chat.SetTyping(p, c, true); }, nullptr},
      {"list members", &Actor::member_ops,
       [&](const Principal& p, const ConversationId& c) { return chat.ListMembers(p, c).status(); }, nullptr},
      {"add member", &Actor::manage,
       [&](const Principal& p, const ConversationId& c) { return chat.AddMember(p, c, ById(candidate.id)).status(); },
       [&] { LIBCHAT_REQUIRE_OK(chat.RemoveMember(r.alice.principal, id, candidate.id)); }},
      {"remove member", &Actor::manage,
       [&](const Principal& p, const ConversationId& c) { return chat.RemoveMember(p, c, target.id); },
       [&] { LIBCHAT_REQUIRE_OK(chat.AddMember(r.alice.principal, id, ById(target.id))); }},
      {"edit", &Actor::revise,
       [&](const Principal& p, const ConversationId& c) {
         return chat.EditMessage(p, c, by_member.id, TextEdit("edited")).status();
       },
       nullptr},
      {"delete", &Actor::revise,
       [&](const Principal& p, const ConversationId& c) { return chat.DeleteMessage(p, c, by_member.id).status(); },
       nullptr},
  };

  // What must not appear in any refusal: the ids and names of the group and its tenant.
  const std::vector<std::string> secrets = {id.str(),           r.app.app.id.str(), r.alice.account.id.str(),
                                            member.id,          target.id,          candidate.id,
                                            by_member.id.str(), "Secret plans",     "alice"};
  for (const Op& op : ops) {
    // The answer for a conversation that does not exist: a hidden one must look exactly like it.
    const Status missing = op.run(r.alice.principal, ConversationId("conv_doesnotexist0000000"));
    REQUIRE(missing.code() == StatusCode::kNotFound);
    for (const Actor& actor : actors) {
      INFO(op.name << " by " << actor.name);
      const Want want = actor.*(op.want);
      const Status status = op.run(actor.principal, id);
      INFO(status.ToString());
      switch (want) {
        case kOk:
          CHECK(status.ok());
          if (status.ok() && op.undo) op.undo();
          break;
        case kDenied:
          CHECK(status.code() == StatusCode::kPermissionDenied);
          break;
        case kHidden:
          CHECK(status.code() == StatusCode::kNotFound);
          CHECK(status.message() == missing.message());
          break;
      }
      if (!status.ok()) {
        for (const std::string& secret : secrets) CHECK(status.message().find(secret) == std::string::npos);
      }
    }
  }
  // The refused calls changed nothing: the members are as before, the member's message was edited
  // and deleted by its sender only.
  CHECK(Roles(LIBCHAT_VALUE(chat.ListMembers(r.alice.principal, id))) == members_before);
  std::vector<Message> history = r.h.History(r.alice.principal, id);
  REQUIRE(history.size() >= 2);
  CHECK(history[0].id == by_member.id);
  CHECK(history[0].deleted);

  // Lists: the team and the member see the group; nobody else does, and other tenants get no list at all.
  CHECK(IdSet(r.h.List(r.alice.principal, r.app.app.id)).count(id.str()) == 1);
  CHECK(IdSet(r.h.List(r.app.server, r.app.app.id)).count(id.str()) == 1);
  CHECK(IdSet(r.h.List(member, r.app.app.id)) == std::set<std::string>{id.str()});
  CHECK(IdSet(r.h.List(outsider.principal, r.app.app.id)) == std::set<std::string>{outsider.conversation.str()});
  for (const Principal* p : {&r.bob.principal, &r.other_app.server, &foreign.principal}) {
    LIBCHAT_CHECK_CODE(chat.ListConversations(*p, r.app.app.id, ConversationFilter{}), StatusCode::kNotFound);
  }
  // A customer cannot see another customer's support conversation.
  LIBCHAT_CHECK_CODE(chat.GetConversation(member, outsider.conversation), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.ListMessages(member, outsider.conversation, HistoryQuery{}), StatusCode::kNotFound);
}

ROOMS_TEST("customers list exactly the conversations they are members of", "[isolation]") {
  Rooms<TestType> r;
  TestCustomer sdk = r.h.StartCustomer(r.app);  // has a support conversation
  TestCustomer other_sdk = r.h.StartCustomer(r.app);
  Principal ann = r.User("ann");
  Principal ben = r.User("ben");

  const ConversationId group =
      r.Create(r.alice.principal, Room(ConversationType::kGroup, {ById(sdk.id.str()), ById(ann.id)})).conversation.id;
  const ConversationId channel =
      r.Create(r.app.server, Room(ConversationType::kChannel, {ById(sdk.id.str())})).conversation.id;
  const ConversationId dm = r.Create(ann, Room(ConversationType::kDm, {ById(sdk.id.str())})).conversation.id;
  const ConversationId not_mine = r.Create(ann, Room(ConversationType::kGroup, {ById(ben.id)})).conversation.id;
  const ConversationId other_dm =
      r.Create(ben, Room(ConversationType::kDm, {ById(other_sdk.id.str())})).conversation.id;

  CHECK(IdSet(r.h.List(sdk.principal, r.app.app.id)) ==
        std::set<std::string>{sdk.conversation.str(), group.str(), channel.str(), dm.str()});
  CHECK(IdSet(r.h.List(ann, r.app.app.id)) == std::set<std::string>{group.str(), dm.str(), not_mine.str()});
  CHECK(IdSet(r.h.List(other_sdk.principal, r.app.app.id)) ==
        std::set<std::string>{other_sdk.conversation.str(), other_dm.str()});
  ConversationFilter only_dms;
  only_dms.type = ConversationType::kDm;
  CHECK(IdSet(r.h.List(sdk.principal, r.app.app.id, only_dms)) == std::set<std::string>{dm.str()});
  // Paged one at a time, the same set, newest activity first.
  r.h.clock().Advance(std::chrono::seconds(1));
  r.h.Send(ann, group, "bump");
  ConversationFilter one;
  one.limit = 1;
  std::vector<std::string> paged;
  for (int i = 0; i < 10; ++i) {
    Page<Conversation> page = LIBCHAT_VALUE(r.h.chat().ListConversations(sdk.principal, r.app.app.id, one));
    for (const Conversation& c : page.data) paged.push_back(c.id.str());
    if (page.next_cursor.empty()) break;
    one.cursor = page.next_cursor;
  }
  REQUIRE(paged.size() == 4);
  CHECK(paged[0] == group.str());
  CHECK(std::set<std::string>(paged.begin(), paged.end()).size() == 4);

  // Leaving drops the conversation from the list; the team still lists everything.
  LIBCHAT_REQUIRE_OK(r.h.chat().RemoveMember(sdk.principal, group, sdk.id.str()));
  CHECK(IdSet(r.h.List(sdk.principal, r.app.app.id)) ==
        std::set<std::string>{sdk.conversation.str(), channel.str(), dm.str()});
  CHECK(r.h.List(r.alice.principal, r.app.app.id).size() == 7);
  // A customer cannot list another app.
  LIBCHAT_CHECK_CODE(r.h.chat().ListConversations(sdk.principal, r.other_app.app.id, ConversationFilter{}),
                     StatusCode::kNotFound);
}

// ===========================================================================
// members

ROOMS_TEST("the team, owners and admins manage members, customers never touch owners", "[members]") {
  Rooms<TestType> r;
  Principal owner = r.User("owner");
  Principal admin = r.User("admin");
  Principal plain = r.User("plain");
  Principal x = r.User("x");
  Principal y = r.User("y");
  Chat& chat = r.h.chat();
  const ConversationId id =
      r.Create(owner, Room(ConversationType::kGroup, {ById(admin.id, MemberRole::kAdmin), ById(plain.id)}))
          .conversation.id;

  // Adding: 201-like (added) the first time, a role change (not added) after.
  MemberChange added = LIBCHAT_VALUE(chat.AddMember(owner, id, ById(x.id)));
  CHECK(added.added);
  CHECK(added.member.id == x.id);
  CHECK(added.member.role == MemberRole::kMember);
  MemberChange promoted = LIBCHAT_VALUE(chat.AddMember(admin, id, ById(x.id, MemberRole::kAdmin)));
  CHECK_FALSE(promoted.added);
  CHECK(promoted.member.role == MemberRole::kAdmin);
  CHECK(Millis(promoted.member.joined_at) == Millis(added.member.joined_at));
  CHECK(LIBCHAT_VALUE(chat.AddMember(admin, id, ByExternalId("y"))).member.id == y.id);

  // A plain member manages nothing.
  LIBCHAT_CHECK_CODE(chat.AddMember(plain, id, ById(r.User("z").id)), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.AddMember(plain, id, ById(plain.id, MemberRole::kAdmin)), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.RemoveMember(plain, id, y.id), StatusCode::kPermissionDenied);
  // Customers never make owners nor change or remove one.
  LIBCHAT_CHECK_CODE(chat.AddMember(owner, id, ById(y.id, MemberRole::kOwner)), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.AddMember(admin, id, ById(owner.id, MemberRole::kMember)), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.RemoveMember(admin, id, owner.id), StatusCode::kPermissionDenied);
  // The team may: a second owner, whom the first (a customer) cannot then remove.
  CHECK(LIBCHAT_VALUE(chat.AddMember(r.app.server, id, ById(y.id, MemberRole::kOwner))).member.role ==
        MemberRole::kOwner);
  LIBCHAT_CHECK_CODE(chat.RemoveMember(owner, id, y.id), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.AddMember(owner, id, ById(y.id, MemberRole::kMember)), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_OK(chat.AddMember(r.alice.principal, id, ById(y.id, MemberRole::kMember)));
  // Admins remove plain members and other admins.
  LIBCHAT_CHECK_OK(chat.RemoveMember(admin, id, x.id));
  // Unknown or foreign members: not found; malformed: invalid.
  LIBCHAT_CHECK_CODE(chat.RemoveMember(owner, id, x.id), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.RemoveMember(r.alice.principal, id, "cus_nobody"), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.AddMember(owner, id, ById("cus_nobody")), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.AddMember(r.alice.principal, id, ById(r.bob.account.id.str())), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.AddMember(r.alice.principal, id, ById(r.User(r.other_app, "x").id)), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.AddMember(owner, id, ById("not an id")), StatusCode::kInvalidArgument);
  LIBCHAT_CHECK_CODE(chat.AddMember(owner, id, MemberInput{}), StatusCode::kInvalidArgument);

  CHECK(Roles(LIBCHAT_VALUE(chat.ListMembers(plain, id))) ==
        std::vector<std::pair<std::string, MemberRole>>{{owner.id, MemberRole::kOwner},
                                                        {admin.id, MemberRole::kAdmin},
                                                        {plain.id, MemberRole::kMember},
                                                        {y.id, MemberRole::kMember}});

  // Any member may leave, an owner too; a former member sees nothing any more.
  LIBCHAT_CHECK_OK(chat.RemoveMember(plain, id, plain.id));
  LIBCHAT_CHECK_CODE(chat.GetConversation(plain, id), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.SendMessage(plain, id, TextMessage("still here?")), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.RemoveMember(plain, id, plain.id), StatusCode::kNotFound);
  LIBCHAT_CHECK_OK(chat.RemoveMember(owner, id, owner.id));
  LIBCHAT_CHECK_CODE(chat.ListMembers(owner, id), StatusCode::kNotFound);
  // The team removes anyone, owners included.
  LIBCHAT_CHECK_OK(chat.RemoveMember(r.app.server, id, admin.id));
  CHECK(Roles(LIBCHAT_VALUE(chat.ListMembers(r.alice.principal, id))) ==
        std::vector<std::pair<std::string, MemberRole>>{{y.id, MemberRole::kMember}});
}

ROOMS_TEST("support and dm membership is fixed", "[members]") {
  Rooms<TestType> r;
  TestCustomer sdk = r.h.StartCustomer(r.app);
  Principal ann = r.User("ann");
  Principal ben = r.User("ben");
  Chat& chat = r.h.chat();
  const ConversationId dm = r.Create(ann, Room(ConversationType::kDm, {ById(ben.id)})).conversation.id;

  for (const ConversationId& id : {sdk.conversation, dm}) {
    for (const Principal* p : {&r.alice.principal, &r.app.server}) {
      LIBCHAT_CHECK_CODE(chat.AddMember(*p, id, ById(ann.id)), StatusCode::kInvalidArgument);
      LIBCHAT_CHECK_CODE(chat.RemoveMember(*p, id, ann.id), StatusCode::kInvalidArgument);
    }
  }
  LIBCHAT_CHECK_CODE(chat.AddMember(sdk.principal, sdk.conversation, ById(ann.id)), StatusCode::kInvalidArgument);
  LIBCHAT_CHECK_CODE(chat.RemoveMember(sdk.principal, sdk.conversation, sdk.id.str()), StatusCode::kInvalidArgument);
  LIBCHAT_CHECK_CODE(chat.AddMember(ann, dm, ById(sdk.id.str())), StatusCode::kInvalidArgument);
  LIBCHAT_CHECK_CODE(chat.RemoveMember(ann, dm, ann.id), StatusCode::kInvalidArgument);
  CHECK(LIBCHAT_VALUE(chat.ListMembers(ben, dm)).size() == 2);
  // The support conversation's member is its customer.
  std::vector<Member> support = LIBCHAT_VALUE(chat.ListMembers(sdk.principal, sdk.conversation));
  REQUIRE(support.size() == 1);
  CHECK(support[0].id == sdk.id.str());
  CHECK(LIBCHAT_VALUE(chat.ListMembers(r.alice.principal, sdk.conversation)).size() == 1);
}

ROOMS_TEST("member changes announce conversation.updated with the members to members, owner and the removed",
           "[members][events]") {
  Rooms<TestType> r;
  Principal ann = r.User("ann");
  Principal ben = r.User("ben");
  Principal cid = r.User("cid");
  Principal bystander = r.User("bystander");
  Chat& chat = r.h.chat();
  const ConversationId id = r.Create(ann, Room(ConversationType::kGroup, {ById(ben.id)})).conversation.id;
  r.h.Send(ann, id, "unread for ben");
  EventRecorder events(chat);

  LIBCHAT_REQUIRE_OK(chat.AddMember(ann, id, ById(cid.id)));
  std::vector<std::shared_ptr<const Event>> seen = events.Of(id, EventType::kConversationUpdated);
  REQUIRE(seen.size() == 1);
  REQUIRE(seen[0]->conversation.has_value());
  CHECK(seen[0]->conversation->id == id);
  CHECK(Roles(seen[0]->conversation->members) ==
        std::vector<std::pair<std::string, MemberRole>>{
            {ann.id, MemberRole::kOwner}, {ben.id, MemberRole::kMember}, {cid.id, MemberRole::kMember}});
  CHECK(seen[0]->conversation->unread_count == 0);  // viewer-relative, not broadcast
  CHECK(SortedAudience(*seen[0]) == Sorted({r.alice.account.id.str(), ann.id, ben.id, cid.id}));
  CHECK(EventVisibleTo(*seen[0], r.app.server));
  CHECK_FALSE(EventVisibleTo(*seen[0], bystander));
  CHECK_FALSE(EventVisibleTo(*seen[0], r.bob.principal));
  CHECK_FALSE(EventVisibleTo(*seen[0], r.other_app.server));

  // A role change is announced the same way.
  events.Clear();
  LIBCHAT_REQUIRE_OK(chat.AddMember(r.alice.principal, id, ById(cid.id, MemberRole::kAdmin)));
  seen = events.Of(id, EventType::kConversationUpdated);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0]->conversation->members.at(2).role == MemberRole::kAdmin);

  // Removal: the removed member hears of it too, and is no longer among the members.
  events.Clear();
  LIBCHAT_REQUIRE_OK(chat.RemoveMember(cid, id, ben.id));
  seen = events.Of(id, EventType::kConversationUpdated);
  REQUIRE(seen.size() == 1);
  CHECK(Roles(seen[0]->conversation->members) ==
        std::vector<std::pair<std::string, MemberRole>>{{ann.id, MemberRole::kOwner}, {cid.id, MemberRole::kAdmin}});
  CHECK(SortedAudience(*seen[0]) == Sorted({r.alice.account.id.str(), ann.id, cid.id, ben.id}));
  CHECK(EventVisibleTo(*seen[0], ben));
  CHECK_FALSE(EventVisibleTo(*seen[0], bystander));

  // Refused changes announce nothing; later messages no longer reach the removed member.
  events.Clear();
  LIBCHAT_CHECK_CODE(chat.RemoveMember(cid, id, ann.id), StatusCode::kPermissionDenied);
  CHECK(events.size() == 0);
  r.h.Send(ann, id, "after ben left");
  seen = events.Of(id, EventType::kMessageCreated);
  REQUIRE(seen.size() == 1);
  CHECK(SortedAudience(*seen[0]) == Sorted({r.alice.account.id.str(), ann.id, cid.id}));
  CHECK_FALSE(EventVisibleTo(*seen[0], ben));
}

ROOMS_TEST("a group's conversation.created reaches its members and the owner only", "[events]") {
  Rooms<TestType> r;
  Principal ann = r.User("ann");
  Principal ben = r.User("ben");
  Principal bystander = r.User("bystander");
  EventRecorder events(r.h.chat());
  const ConversationId id =
      r.Create(r.app.server, Room(ConversationType::kChannel, {ById(ann.id, MemberRole::kAdmin), ById(ben.id)}))
          .conversation.id;
  std::vector<std::shared_ptr<const Event>> seen = events.Of(id, EventType::kConversationCreated);
  REQUIRE(seen.size() == 1);
  REQUIRE(seen[0]->conversation.has_value());
  CHECK(seen[0]->conversation->members.size() == 2);
  CHECK(SortedAudience(*seen[0]) == Sorted({r.alice.account.id.str(), ann.id, ben.id}));
  CHECK(EventVisibleTo(*seen[0], r.app.server));
  CHECK_FALSE(EventVisibleTo(*seen[0], bystander));
  CHECK_FALSE(EventVisibleTo(*seen[0], r.other_app.server));

  // Messages, receipts and typing go to the same audience.
  events.Clear();
  r.h.Send(ann, id, "news");
  LIBCHAT_REQUIRE_OK(r.h.chat().MarkRead(ben, id, 1));
  LIBCHAT_REQUIRE_OK(r.h.chat().SetTyping(ann, id, true));
  seen = events.Of(id);
  REQUIRE(seen.size() == 3);
  for (const auto& event : seen) {
    INFO(EventTypeName(event->type));
    CHECK(SortedAudience(*event) == Sorted({r.alice.account.id.str(), ann.id, ben.id}));
  }
}

// ===========================================================================
// channels

ROOMS_TEST("in a channel only owners, admins and the team post; members read", "[channel]") {
  Rooms<TestType> r;
  Principal admin = r.User("admin");
  Principal reader = r.User("reader");
  Chat& chat = r.h.chat();
  const ConversationId id =
      r.Create(r.alice.principal,
               Room(ConversationType::kChannel, {ById(admin.id, MemberRole::kAdmin), ById(reader.id)}))
          .conversation.id;

  r.h.Send(r.alice.principal, id, "from the owner account");
  r.h.Send(r.app.server, id, "from the server");
  r.h.Send(admin, id, "from an admin");
  LIBCHAT_CHECK_CODE(chat.SendMessage(reader, id, TextMessage("may I?")), StatusCode::kPermissionDenied);
  CHECK(r.h.Get(reader, id).last_seq == 3);
  // The reader reads, marks read, types and lists members.
  CHECK(SeqsOf(r.h.History(reader, id)) == SeqRange(1, 3));
  LIBCHAT_CHECK_OK(chat.MarkRead(reader, id, 3));
  LIBCHAT_CHECK_OK(chat.SetTyping(reader, id, true));
  LIBCHAT_CHECK_OK(chat.ListMembers(reader, id));
  // Promoted, the reader posts; demoted again, it cannot.
  LIBCHAT_REQUIRE_OK(chat.AddMember(admin, id, ById(reader.id, MemberRole::kAdmin)));
  CHECK(r.h.Send(reader, id, "now I may").seq == 4);
  LIBCHAT_REQUIRE_OK(chat.AddMember(r.app.server, id, ById(reader.id, MemberRole::kMember)));
  LIBCHAT_CHECK_CODE(chat.SendMessage(reader, id, TextMessage("again?")), StatusCode::kPermissionDenied);
  // In a group, plain members post.
  const ConversationId group =
      r.Create(r.alice.principal, Room(ConversationType::kGroup, {ById(reader.id)})).conversation.id;
  CHECK(r.h.Send(reader, group, "groups are open").seq == 1);
}

// SdkSendMessage into an existing conversation applies the same channel rule as SendMessage.
ROOMS_TEST("a plain channel member cannot post through the SDK send either", "[channel]") {
  Rooms<TestType> r;
  Principal reader = r.User("reader");
  const ConversationId id =
      r.Create(r.alice.principal, Room(ConversationType::kChannel, {ById(reader.id)})).conversation.id;
  SdkSendRequest request;
  request.conversation_id = id;
  request.message = TextMessage("via POST /v1/sdk/messages");
  LIBCHAT_CHECK_CODE(r.h.chat().SdkSendMessage(reader, request), StatusCode::kPermissionDenied);
  CHECK(r.h.Get(r.alice.principal, id).last_seq == 0);
}

// ===========================================================================
// edits and deletes

ROOMS_TEST("the sender edits and deletes its message, history and events show the current state", "[revise]") {
  Rooms<TestType> r;
  Principal ann = r.User("ann");
  Principal ben = r.User("ben");
  Chat& chat = r.h.chat();
  const ConversationId id = r.Create(ann, Room(ConversationType::kGroup, {ById(ben.id)})).conversation.id;
  const ConversationId elsewhere = r.Create(ann, Room(ConversationType::kGroup, {ById(ben.id)})).conversation.id;
  SendRequest with_metadata = TextMessage("first draft");
  with_metadata.metadata_json = R"({"tag":"draft"})";
  const Message original = LIBCHAT_VALUE(chat.SendMessage(ann, id, with_metadata)).message;
  const Message reply = r.h.Send(ben, id, "a reply");
  EventRecorder events(chat);

  r.h.clock().Advance(std::chrono::seconds(5));
  Message edited = LIBCHAT_VALUE(chat.EditMessage(ann, id, original.id, TextEdit("final text")));
  CHECK(edited.id == original.id);
  CHECK(edited.seq == original.seq);
  CHECK(edited.text == "final text");
  CHECK(edited.metadata_json == original.metadata_json);
  REQUIRE(edited.edited_at.has_value());
  CHECK(Millis(*edited.edited_at) == Millis(r.h.clock().Now()));
  CHECK(Millis(edited.created_at) == Millis(original.created_at));
  CHECK_FALSE(edited.deleted);

  MessageEdit metadata_only;
  metadata_only.metadata_json = R"({"tag":"final"})";
  Message retagged = LIBCHAT_VALUE(chat.EditMessage(ann, id, original.id, metadata_only));
  CHECK(retagged.text == "final text");
  CHECK(retagged.metadata_json == R"({"tag":"final"})");

  std::vector<Message> history = r.h.History(ben, id);
  REQUIRE(history.size() == 2);
  CHECK(history[0].text == "final text");
  CHECK(history[0].edited_at.has_value());
  CHECK(history[1].text == "a reply");
  CHECK_FALSE(history[1].edited_at.has_value());

  std::vector<std::shared_ptr<const Event>> updated = events.Of(id, EventType::kMessageUpdated);
  REQUIRE(updated.size() == 2);
  REQUIRE(updated[0]->message.has_value());
  CHECK(updated[0]->message->seq == 1);
  CHECK(updated[0]->message->text == "final text");
  CHECK(updated[1]->message->metadata_json == R"({"tag":"final"})");
  for (const auto& event : updated) {
    CHECK(SortedAudience(*event) == Sorted({r.alice.account.id.str(), ann.id, ben.id}));
  }

  // Bad edits.
  LIBCHAT_CHECK_CODE(chat.EditMessage(ann, id, original.id, MessageEdit{}), StatusCode::kInvalidArgument);
  LIBCHAT_CHECK_CODE(chat.EditMessage(ann, id, original.id, TextEdit("")), StatusCode::kInvalidArgument);
  LIBCHAT_CHECK_CODE(chat.EditMessage(ann, id, original.id, TextEdit("bad \xc3")), StatusCode::kInvalidArgument);
  LIBCHAT_CHECK_CODE(
      chat.EditMessage(ann, id, original.id, TextEdit(std::string(chat.options().max_message_bytes + 1, 'x'))),
      StatusCode::kInvalidArgument);
  MessageEdit bad_metadata;
  bad_metadata.metadata_json = "\"a string\"";
  LIBCHAT_CHECK_CODE(chat.EditMessage(ann, id, original.id, bad_metadata), StatusCode::kInvalidArgument);
  // Only the sender: another member, the owner account and the server are refused.
  LIBCHAT_CHECK_CODE(chat.EditMessage(ben, id, original.id, TextEdit("hijack")), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.DeleteMessage(ben, id, original.id), StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.EditMessage(r.alice.principal, id, original.id, TextEdit("hijack")),
                     StatusCode::kPermissionDenied);
  LIBCHAT_CHECK_CODE(chat.DeleteMessage(r.app.server, id, reply.id), StatusCode::kPermissionDenied);
  // Unknown, malformed or another conversation's message: not found.
  LIBCHAT_CHECK_CODE(chat.EditMessage(ann, id, MessageId("msg_doesnotexist"), TextEdit("x")), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.EditMessage(ann, id, MessageId("garbage"), TextEdit("x")), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.DeleteMessage(ann, elsewhere, original.id), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.EditMessage(ann, elsewhere, original.id, TextEdit("x")), StatusCode::kNotFound);
  CHECK(r.h.History(ann, id)[0].text == "final text");

  // Delete: text cleared, flagged, seq kept; twice is fine; editing a deleted message conflicts.
  events.Clear();
  Message deleted = LIBCHAT_VALUE(chat.DeleteMessage(ann, id, original.id));
  CHECK(deleted.deleted);
  CHECK(deleted.text.empty());
  CHECK(deleted.metadata_json == "{}");
  CHECK(deleted.seq == 1);
  Message again = LIBCHAT_VALUE(chat.DeleteMessage(ann, id, original.id));
  CHECK(again.deleted);
  CHECK(again.seq == 1);
  LIBCHAT_CHECK_CODE(chat.EditMessage(ann, id, original.id, TextEdit("resurrect")), StatusCode::kAborted);
  std::vector<std::shared_ptr<const Event>> deletions = events.Of(id, EventType::kMessageDeleted);
  REQUIRE_FALSE(deletions.empty());
  REQUIRE(deletions[0]->message.has_value());
  CHECK(deletions[0]->message->seq == 1);
  CHECK(deletions[0]->message->deleted);
  CHECK(deletions[0]->message->text.empty());
  CHECK(SortedAudience(*deletions[0]) == Sorted({r.alice.account.id.str(), ann.id, ben.id}));
  CHECK(events.Of(id, EventType::kMessageUpdated).empty());

  history = r.h.History(ben, id);
  REQUIRE(history.size() == 2);
  CHECK(history[0].deleted);
  CHECK(history[0].text.empty());
  CHECK(history[0].seq == 1);
  CHECK(r.h.Get(ann, id).last_seq == 2);

  // The team edits its own messages; deleting the last one shows in last_message.
  const Message by_server = r.h.Send(r.app.server, id, "from the server");
  CHECK(LIBCHAT_VALUE(chat.EditMessage(r.app.server, id, by_server.id, TextEdit("server, edited"))).text ==
        "server, edited");
  const Message by_owner = r.h.Send(r.alice.principal, id, "from alice");
  LIBCHAT_CHECK_OK(chat.DeleteMessage(r.alice.principal, id, by_owner.id));
  Conversation now = r.h.Get(ben, id);
  REQUIRE(now.last_message.has_value());
  CHECK(now.last_message->id == by_owner.id);
  CHECK(now.last_message->deleted);
  // A former member cannot change its messages any more.
  LIBCHAT_REQUIRE_OK(chat.RemoveMember(ben, id, ben.id));
  LIBCHAT_CHECK_CODE(chat.EditMessage(ben, id, reply.id, TextEdit("gone")), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(chat.DeleteMessage(ben, id, reply.id), StatusCode::kNotFound);
}

ROOMS_TEST("edits racing a delete never bring the message back", "[revise][concurrency]") {
  Rooms<TestType> r;
  Principal ann = r.User("ann");
  Chat& chat = r.h.chat();
  const ConversationId id = r.Create(r.alice.principal, Room(ConversationType::kGroup, {ById(ann.id)})).conversation.id;
  const Message message = r.h.Send(ann, id, "original");
  EventRecorder events(chat);

  constexpr int kEditors = 4;
  constexpr int kEditsEach = 10;
  std::atomic<int> ready{0};
  std::atomic<int> refused_after_delete{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kEditors; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() <= kEditors) std::this_thread::yield();
      for (int i = 0; i < kEditsEach; ++i) {
        Status status = chat.EditMessage(ann, id, message.id, TextEdit("edit " + std::to_string(t * 100 + i))).status();
        if (status.code() == StatusCode::kAborted) {
          refused_after_delete.fetch_add(1);
        } else {
          CHECK(status.ok());
        }
      }
    });
  }
  threads.emplace_back([&] {
    ready.fetch_add(1);
    while (ready.load() <= kEditors) std::this_thread::yield();
    CHECK(chat.DeleteMessage(ann, id, message.id).ok());
  });
  for (auto& thread : threads) thread.join();

  std::vector<Message> history = r.h.History(ann, id);
  REQUIRE(history.size() == 1);
  CHECK(history[0].deleted);
  CHECK(history[0].text.empty());
  // Events: every successful edit, then exactly one delete, and nothing after it.
  std::vector<std::shared_ptr<const Event>> seen = events.Of(id);
  REQUIRE_FALSE(seen.empty());
  CHECK(seen.back()->type == EventType::kMessageDeleted);
  CHECK(events.Of(id, EventType::kMessageDeleted).size() == 1);
  CHECK(static_cast<int>(events.Of(id, EventType::kMessageUpdated).size()) ==
        kEditors * kEditsEach - refused_after_delete.load());
}

// ===========================================================================
// unread counts

ROOMS_TEST("unread counts are right for every member after reads, edits and deletes", "[unread]") {
  Rooms<TestType> r;
  Principal ann = r.User("ann");
  Principal ben = r.User("ben");
  const Principal& alice = r.alice.principal;
  Chat& chat = r.h.chat();
  const ConversationId id =
      r.Create(alice, Room(ConversationType::kGroup, {ById(ann.id), ById(ben.id)})).conversation.id;

  // seq: 1 ann, 2 ben, 3 alice, 4 ann
  const Message m1 = r.h.Send(ann, id, "one");
  r.h.Send(ben, id, "two");
  r.h.Send(alice, id, "three");
  const Message m4 = r.h.Send(ann, id, "four");
  auto check = [&](std::int64_t want_alice, std::int64_t want_ann, std::int64_t want_ben) {
    CHECK(r.Unread(alice, id) == want_alice);
    CHECK(r.Unread(ann, id) == want_ann);
    CHECK(r.Unread(ben, id) == want_ben);
  };
  check(3, 2, 3);  // alice: 1 2 4, ann: 2 3, ben: 1 3 4

  LIBCHAT_REQUIRE_OK(chat.MarkRead(ben, id, 2));
  check(3, 2, 2);  // ben: 3 4
  CHECK(r.h.Get(ben, id).read_seq == 2);

  // An edit changes no count.
  LIBCHAT_REQUIRE_OK(chat.EditMessage(ann, id, m4.id, TextEdit("four, edited")));
  check(3, 2, 2);

  // A deleted message is not unread for anyone; for its sender nothing changes.
  LIBCHAT_REQUIRE_OK(chat.DeleteMessage(ann, id, m4.id));
  check(2, 2, 1);  // alice: 1 2, ben: 3

  // Receipts never move back.
  Receipt receipt = LIBCHAT_VALUE(chat.MarkRead(ben, id, 1));
  CHECK(receipt.read_seq == 2);
  CHECK(r.h.Get(ben, id).read_seq == 2);
  check(2, 2, 1);

  LIBCHAT_REQUIRE_OK(chat.MarkRead(alice, id, 4));
  LIBCHAT_REQUIRE_OK(chat.DeleteMessage(ann, id, m1.id));  // already read by everyone who counts it
  check(0, 2, 1);
  LIBCHAT_REQUIRE_OK(chat.MarkRead(ann, id, 4));
  LIBCHAT_REQUIRE_OK(chat.MarkRead(ben, id, 4));
  check(0, 0, 0);

  // New messages count again, the viewer's own never.
  r.h.Send(ben, id, "five");
  check(1, 1, 0);
}

// ===========================================================================
// presence

ROOMS_TEST("presence reaches exactly those who share a conversation", "[presence][events]") {
  Rooms<TestType> r;
  Principal ann = r.User("ann");
  Principal ben = r.User("ben");
  Principal cid = r.User("cid");
  Principal stranger = r.User("stranger");  // same app, shares nothing with ann
  TestCustomer sdk = r.h.StartCustomer(r.app);  // only a support conversation
  TestCustomer foreign = r.h.StartCustomer(r.other_app);
  Chat& chat = r.h.chat();
  r.Create(ann, Room(ConversationType::kGroup, {ById(ben.id)}));
  r.Create(cid, Room(ConversationType::kDm, {ById(ann.id)}));
  r.Create(r.alice.principal, Room(ConversationType::kGroup, {ById(stranger.id), ById(sdk.id.str())}));
  EventRecorder events(chat);

  auto presence = [&](const Principal& who, bool online) -> std::shared_ptr<const Event> {
    events.Clear();
    LIBCHAT_REQUIRE_OK(chat.SetPresence(who, online));
    std::vector<std::shared_ptr<const Event>> all = events.All();
    REQUIRE(all.size() == 1);
    REQUIRE(all[0]->type == EventType::kPresence);
    REQUIRE(all[0]->presence.has_value());
    CHECK(all[0]->presence->principal_id == who.id);
    CHECK(all[0]->presence->online == online);
    CHECK(Millis(all[0]->presence->at) == Millis(r.h.clock().Now()));
    CHECK(all[0]->conversation_id.empty());
    return all[0];
  };

  std::shared_ptr<const Event> event = presence(ann, true);
  CHECK(SortedAudience(*event) == Sorted({r.alice.account.id.str(), ben.id, cid.id}));
  CHECK_FALSE(EventVisibleTo(*event, ann));
  CHECK_FALSE(EventVisibleTo(*event, stranger));
  CHECK_FALSE(EventVisibleTo(*event, sdk.principal));
  CHECK_FALSE(EventVisibleTo(*event, r.bob.principal));
  CHECK_FALSE(EventVisibleTo(*event, foreign.principal));
  CHECK_FALSE(EventVisibleTo(*event, r.other_app.server));
  CHECK(presence(ann, false)->audience.size() == 3);

  // A customer with only its support conversation: the team alone.
  event = presence(foreign.principal, true);
  CHECK(SortedAudience(*event) == Sorted({r.bob.account.id.str()}));
  // The owner account: the members of its conversations (its own group with stranger and sdk).
  event = presence(r.alice.principal, true);
  CHECK(SortedAudience(*event) == Sorted({stranger.id, sdk.id.str()}));
  CHECK_FALSE(EventVisibleTo(*event, ann));
  CHECK_FALSE(EventVisibleTo(*event, r.bob.principal));
  CHECK_FALSE(EventVisibleTo(*event, r.other_app.server));
  // sdk shares alice's group with stranger, and its support conversation with the team.
  event = presence(sdk.principal, true);
  CHECK(SortedAudience(*event) == Sorted({r.alice.account.id.str(), stranger.id}));

  // After leaving, a former co-member is no longer told.
  LIBCHAT_REQUIRE_OK(chat.RemoveMember(ben, LIBCHAT_VALUE(chat.ListConversations(ben, r.app.app.id, {})).data.at(0).id,
                                       ben.id));
  event = presence(ann, true);
  CHECK(SortedAudience(*event) == Sorted({r.alice.account.id.str(), cid.id}));

  // Keys have no presence.
  events.Clear();
  LIBCHAT_CHECK_OK(chat.SetPresence(r.app.server, true));
  LIBCHAT_CHECK_OK(chat.SetPresence(r.app.publishable, true));
  CHECK(events.size() == 0);
}

}  // namespace
