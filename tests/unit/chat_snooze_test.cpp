// Snoozed conversations wake up: Chat::WakeSnoozedConversations reopens those whose snoozed_until has
// passed (and only those), announces each with conversation.updated, and leaves alone any that a PATCH or a
// customer message changed in the meantime.
#include "catch.h"
#include "unit/chat_test_util.h"

namespace libchat::test {
namespace {

#define SNOOZE_TEST(name, tags) TEMPLATE_TEST_CASE("chat: " name, "[chat][snooze]" tags, MemoryBackend, SqliteBackend)

Result<Conversation> Snooze(Chat& chat, const Principal& principal, const ConversationId& id, Timestamp until) {
  ConversationUpdate update;
  update.status = ConversationStatus::kSnoozed;
  update.snoozed_until = std::optional<Timestamp>(until);
  return chat.UpdateConversation(principal, id, update);
}

SNOOZE_TEST("snoozed conversations reopen when their time has come", "") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  TestCustomer early = h.StartCustomer(app);
  TestCustomer late = h.StartCustomer(app);
  TestCustomer resolved = h.StartCustomer(app);
  const Timestamp now = h.clock().Now();
  LIBCHAT_REQUIRE_OK(Snooze(h.chat(), owner.principal, early.conversation, now + std::chrono::minutes(5)));
  LIBCHAT_REQUIRE_OK(Snooze(h.chat(), owner.principal, late.conversation, now + std::chrono::minutes(60)));
  ConversationUpdate resolve;
  resolve.status = ConversationStatus::kResolved;
  LIBCHAT_REQUIRE_OK(h.chat().UpdateConversation(owner.principal, resolved.conversation, resolve));

  EventRecorder events(h.chat());
  CHECK(LIBCHAT_VALUE(h.chat().WakeSnoozedConversations()) == 0);  // nothing is due yet
  CHECK(events.size() == 0);

  h.clock().Advance(std::chrono::minutes(5));
  CHECK(LIBCHAT_VALUE(h.chat().WakeSnoozedConversations()) == 1);
  Conversation woken = h.Get(owner.principal, early.conversation);
  CHECK(woken.status == ConversationStatus::kOpen);
  CHECK_FALSE(woken.snoozed_until.has_value());
  auto updated = events.Of(early.conversation, EventType::kConversationUpdated);
  REQUIRE(updated.size() == 1);
  CHECK(updated[0]->conversation->status == ConversationStatus::kOpen);
  CHECK(Sorted(updated[0]->audience) == Sorted({owner.account.id.str(), early.id.str()}));

  CHECK(h.Get(owner.principal, late.conversation).status == ConversationStatus::kSnoozed);
  CHECK(h.Get(owner.principal, resolved.conversation).status == ConversationStatus::kResolved);
  CHECK(LIBCHAT_VALUE(h.chat().WakeSnoozedConversations()) == 0);  // waking is done once

  h.clock().Advance(std::chrono::hours(2));
  CHECK(LIBCHAT_VALUE(h.chat().WakeSnoozedConversations()) == 1);
  CHECK(h.Get(owner.principal, late.conversation).status == ConversationStatus::kOpen);
}

SNOOZE_TEST("waking honours the limit and a snooze that was moved", "") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  std::vector<TestCustomer> customers;
  const Timestamp now = h.clock().Now();
  for (int i = 0; i < 5; ++i) {
    customers.push_back(h.StartCustomer(app));
    LIBCHAT_REQUIRE_OK(Snooze(h.chat(), owner.principal, customers.back().conversation, now + std::chrono::seconds(10)));
  }
  h.clock().Advance(std::chrono::seconds(10));
  // Re-snoozed for later before the sweep ran: it must stay snoozed.
  LIBCHAT_REQUIRE_OK(Snooze(h.chat(), owner.principal, customers[0].conversation, now + std::chrono::hours(1)));
  CHECK(LIBCHAT_VALUE(h.chat().WakeSnoozedConversations(2)) == 2);
  CHECK(LIBCHAT_VALUE(h.chat().WakeSnoozedConversations(10)) == 2);
  CHECK(h.Get(owner.principal, customers[0].conversation).status == ConversationStatus::kSnoozed);
  for (int i = 1; i < 5; ++i) {
    CHECK(h.Get(owner.principal, customers[static_cast<std::size_t>(i)].conversation).status ==
          ConversationStatus::kOpen);
  }
}

}  // namespace
}  // namespace libchat::test
