// The Store contract for outbound delivery (libchat/providers/store.h): the outbox (enqueue,
// claim with a lease, compare-and-set updates with attempts, wake, next due time, listing),
// outbox entries written atomically with appends, revisions and conversation changes, webhook
// endpoints, per-app settings, notifications, and DeleteApp's cascade over all of them. Run
// against every backend; each STORE_TEST gets a fresh, empty store per backend. The last test
// is SQLite-only: the outbox survives reopening the database file.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch.h"
#include "libchat/delivery.h"
#include "libchat/providers/store.h"
#include "store_test_util.h"

namespace {

using namespace libchat;        // NOLINT: test brevity
using namespace libchat::test;  // NOLINT

#define STORE_TEST(name, tags) \
  TEMPLATE_TEST_CASE("store contract: " name, "[store][delivery]" tags, MemoryBackend, SqliteBackend)

Timestamp At(std::int64_t ms) { return RecordFactory::At(ms); }

// An account, one app, one customer and a support conversation of that customer.
struct World {
  StoredAccount account;
  StoredApp app;
  Customer customer;
  Conversation conversation;
};

World Seed(Store& store, RecordFactory& f) {
  World w;
  auto [account, app] = SeedAccountWithApp(store, f);
  w.account = std::move(account);
  w.app = std::move(app);
  w.customer = f.MakeCustomer(w.app.app.id, "user-1");
  LIBCHAT_REQUIRE_OK(store.CreateCustomer(w.customer));
  w.conversation = f.MakeConversation(w.app.app.id, w.customer.id);
  LIBCHAT_REQUIRE_OK(store.CreateConversation(w.conversation));
  return w;
}

// A pending webhook delivery of `app`, due at `due_ms`, created at `created_ms`.
Delivery MakeDelivery(const AppId& app, const std::string& id, std::int64_t due_ms = 0,
                      NotificationPriority priority = NotificationPriority::kNormal, std::int64_t created_ms = 0) {
  Delivery d;
  d.id = DeliveryId(id);
  d.app_id = app;
  d.channel = DeliveryChannel::kWebhook;
  d.kind = "message.created";
  d.payload_json = R"({"type":"message.created","id":")" + id + R"("})";
  d.priority = priority;
  d.next_attempt_at = At(due_ms);
  d.created_at = At(created_ms);
  d.updated_at = At(created_ms);
  return d;
}

StoredWebhook MakeWebhook(const AppId& app, const std::string& id, std::int64_t created_ms = 0) {
  StoredWebhook w;
  w.endpoint.id = WebhookId(id);
  w.endpoint.app_id = app;
  w.endpoint.url = "https://example.com/hooks/" + id;
  w.endpoint.events = {"message.created", "conversation.updated"};
  w.endpoint.created_at = At(created_ms);
  w.endpoint.updated_at = At(created_ms);
  w.secret_sealed = "sealed:" + id;
  return w;
}

Notification MakeNotification(const AppId& app, const std::string& id, const CustomerId& customer) {
  Notification n;
  n.id = NotificationId(id);
  n.app_id = app;
  n.customer_ids = {customer};
  n.channels = {DeliveryChannel::kWebSocket, DeliveryChannel::kEmail};
  n.subject = "Your order";
  n.body = "It shipped.";
  n.html = "<p>It shipped.</p>";
  n.priority = NotificationPriority::kHigh;
  n.scheduled_at = At(5000);
  n.fallback = NotificationFallback{std::chrono::seconds(90), DeliveryChannel::kEmail, "fallback@example.com"};
  n.created_at = At(100);
  n.updated_at = At(100);
  return n;
}

// A delivery of notification `n` on `channel` for `recipient`.
Delivery NotificationDelivery(const Notification& n, const std::string& id, DeliveryChannel channel,
                              const std::string& recipient, std::int64_t created_ms = 100) {
  Delivery d = MakeDelivery(n.app_id, id, 5000, n.priority, created_ms);
  d.channel = channel;
  d.kind = "notification";
  d.recipient_id = recipient;
  d.notification_id = n.id;
  return d;
}

std::vector<std::string> Ids(const std::vector<Delivery>& deliveries) {
  std::vector<std::string> ids;
  for (const Delivery& d : deliveries) ids.push_back(d.id.str());
  return ids;
}

std::vector<int> AttemptNumbers(const Delivery& d) {
  std::vector<int> numbers;
  for (const DeliveryAttempt& a : d.attempts) numbers.push_back(a.number);
  return numbers;
}

// Every stored field of a delivery but its status, attempts and due time.
void CheckSameDelivery(const Delivery& got, const Delivery& want) {
  CHECK(got.id.str() == want.id.str());
  CHECK(got.app_id.str() == want.app_id.str());
  CHECK(got.channel == want.channel);
  CHECK(got.kind == want.kind);
  CHECK(got.webhook_id.str() == want.webhook_id.str());
  CHECK(got.recipient_id == want.recipient_id);
  CHECK(got.to_email == want.to_email);
  CHECK(got.conversation_id.str() == want.conversation_id.str());
  CHECK(got.message_id.str() == want.message_id.str());
  CHECK(got.message_seq == want.message_seq);
  CHECK(got.notification_id.str() == want.notification_id.str());
  CHECK(got.payload_json == want.payload_json);
  CHECK(got.priority == want.priority);
  CHECK(got.gated == want.gated);
  CHECK(Ms(got.created_at) == Ms(want.created_at));
}

void CheckSameWebhook(const StoredWebhook& got, const StoredWebhook& want) {
  CHECK(got.endpoint.id.str() == want.endpoint.id.str());
  CHECK(got.endpoint.app_id.str() == want.endpoint.app_id.str());
  CHECK(got.endpoint.url == want.endpoint.url);
  CHECK(got.endpoint.events == want.endpoint.events);
  CHECK(got.endpoint.enabled == want.endpoint.enabled);
  CHECK(got.endpoint.disabled_reason == want.endpoint.disabled_reason);
  CHECK(Ms(got.endpoint.previous_secret_expires_at) == Ms(want.endpoint.previous_secret_expires_at));
  CHECK(Ms(got.endpoint.created_at) == Ms(want.endpoint.created_at));
  CHECK(Ms(got.endpoint.updated_at) == Ms(want.endpoint.updated_at));
  CHECK(got.secret_sealed == want.secret_sealed);
  CHECK(got.previous_secret_sealed == want.previous_secret_sealed);
}

DeliveryUpdate Attempted(const DeliveryId& id, DeliveryStatus from, DeliveryStatus to, int number,
                         std::int64_t at_ms, int status_code, const std::string& error) {
  DeliveryUpdate u;
  u.id = id;
  u.expected_status = from;
  u.status = to;
  u.next_attempt_at = At(at_ms + 1000);
  u.last_error = error;
  u.attempt = DeliveryAttempt{number, At(at_ms), status_code, error, 40 + number};
  u.updated_at = At(at_ms);
  return u;
}

// Every delivery of `app` matching `query`, following next_cursor.
std::vector<std::string> ListAllDeliveryIds(Store& store, DeliveryQuery query) {
  std::vector<std::string> ids;
  int pages = 0;
  for (;;) {
    Page<Delivery> page = LIBCHAT_VALUE(store.ListDeliveries(query));
    REQUIRE(++pages < 100);
    REQUIRE(static_cast<int>(page.data.size()) <= query.limit);
    for (const Delivery& d : page.data) ids.push_back(d.id.str());
    if (page.next_cursor.empty()) break;
    REQUIRE(static_cast<int>(page.data.size()) == query.limit);
    query.cursor = page.next_cursor;
  }
  return ids;
}

DeliveryQuery AllOf(const AppId& app, int limit = 200) {
  DeliveryQuery q;
  q.app_id = app;
  q.limit = limit;
  return q;
}

// ---------------------------------------------------------------------------
// enqueue and claim

STORE_TEST("outbox: enqueued deliveries read back whole and claim by priority, then due time", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const AppId& app = w.app.app.id;

  Delivery full = MakeDelivery(app, "dlv_full", 100, NotificationPriority::kNormal, 7);
  full.channel = DeliveryChannel::kEmail;
  full.kind = "email.fallback";
  full.webhook_id = WebhookId("wh_1");
  full.recipient_id = w.customer.id.str();
  full.to_email = "someone@example.com";
  full.conversation_id = w.conversation.id;
  full.message_id = MessageId("msg_9");
  full.message_seq = 9;
  full.notification_id = NotificationId("ntf_3");
  full.gated = true;
  LIBCHAT_REQUIRE_OK(store.EnqueueDeliveries({
      full,
      MakeDelivery(app, "dlv_urgent", 300, NotificationPriority::kUrgent),
      MakeDelivery(app, "dlv_low", 50, NotificationPriority::kLow),
      MakeDelivery(app, "dlv_normal_early", 50, NotificationPriority::kNormal),
      MakeDelivery(app, "dlv_high_later", 900, NotificationPriority::kHigh),
  }));

  Delivery got = LIBCHAT_VALUE(store.GetDelivery(full.id));
  CheckSameDelivery(got, full);
  CHECK(got.status == DeliveryStatus::kPending);
  CHECK(got.attempt_count == 0);
  CHECK(got.attempts.empty());
  CHECK(Ms(got.next_attempt_at) == Ms(At(100)));
  LIBCHAT_REQUIRE_CODE(store.GetDelivery(DeliveryId("dlv_missing")), StatusCode::kNotFound);

  // At 500 the high-priority one is not due yet; the rest come highest priority first, then earliest due.
  std::vector<Delivery> claimed = LIBCHAT_VALUE(store.ClaimDueDeliveries(At(500), At(60000), 10));
  CHECK(Ids(claimed) == std::vector<std::string>{"dlv_urgent", "dlv_normal_early", "dlv_full", "dlv_low"});
  for (const Delivery& d : claimed) CHECK(Ms(d.next_attempt_at) == Ms(At(60000)));
  CheckSameDelivery(claimed[2], full);

  // The limit is honoured, in the same order.
  LIBCHAT_REQUIRE_OK(store.EnqueueDeliveries({MakeDelivery(app, "dlv_a", 10, NotificationPriority::kLow),
                                              MakeDelivery(app, "dlv_b", 20, NotificationPriority::kUrgent),
                                              MakeDelivery(app, "dlv_c", 5, NotificationPriority::kLow)}));
  CHECK(Ids(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(1000), At(60000), 2))) ==
        std::vector<std::string>{"dlv_b", "dlv_high_later"});
  CHECK(Ids(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(1000), At(60000), 2))) ==
        std::vector<std::string>{"dlv_c", "dlv_a"});
  CHECK(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(1000), At(60000), 2)).empty());
  CHECK(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(1000), At(60000), 0)).empty());
}

STORE_TEST("outbox: EnqueueDeliveries is all or nothing", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const AppId& app = w.app.app.id;
  LIBCHAT_REQUIRE_OK(store.EnqueueDeliveries({MakeDelivery(app, "dlv_1")}));

  LIBCHAT_REQUIRE_CODE(store.EnqueueDeliveries({MakeDelivery(app, "dlv_2"), MakeDelivery(app, "dlv_1")}),
                       StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store.GetDelivery(DeliveryId("dlv_2")), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.EnqueueDeliveries({MakeDelivery(app, "dlv_3"), MakeDelivery(app, "dlv_3")}),
                       StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store.GetDelivery(DeliveryId("dlv_3")), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(
      store.EnqueueDeliveries({MakeDelivery(app, "dlv_4"), MakeDelivery(AppId("app_missing"), "dlv_5")}),
      StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.GetDelivery(DeliveryId("dlv_4")), StatusCode::kNotFound);
  CHECK(ListAllDeliveryIds(store, AllOf(app)) == std::vector<std::string>{"dlv_1"});
  LIBCHAT_REQUIRE_OK(store.EnqueueDeliveries({}));
}

STORE_TEST("outbox: a claimed delivery is invisible until its lease passes, then claimable again", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  LIBCHAT_REQUIRE_OK(store.EnqueueDeliveries({MakeDelivery(w.app.app.id, "dlv_1", 0)}));

  CHECK(Ids(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(1000), At(5000), 10))) == std::vector<std::string>{"dlv_1"});
  // Leased: a second claimer does not get it, and the worker may sleep until the lease ends.
  CHECK(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(2000), At(6000), 10)).empty());
  CHECK(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(4999), At(6000), 10)).empty());
  CHECK(Ms(LIBCHAT_VALUE(store.NextDeliveryDue())) == Ms(At(5000)));
  const Delivery leased = LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_1")));
  CHECK(leased.status == DeliveryStatus::kPending);

  // The claimer "crashed" (never updated it): at the end of the lease it comes back.
  CHECK(Ids(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(5000), At(9000), 10))) == std::vector<std::string>{"dlv_1"});
  CHECK(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(8000), At(12000), 10)).empty());
}

STORE_TEST("outbox: concurrent claimers never get the same delivery", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  constexpr int kDeliveries = 300;
  std::vector<Delivery> batch;
  for (int i = 0; i < kDeliveries; ++i) {
    batch.push_back(MakeDelivery(w.app.app.id, "dlv_" + std::to_string(i), i % 17,
                                 static_cast<NotificationPriority>(i % 4)));
  }
  LIBCHAT_REQUIRE_OK(store.EnqueueDeliveries(batch));

  constexpr int kClaimers = 4;
  std::vector<std::vector<std::string>> got(kClaimers);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClaimers; ++t) {
    threads.emplace_back([&, t] {
      for (;;) {
        auto claimed = store.ClaimDueDeliveries(At(1000), At(600000), 7);
        if (!claimed.ok()) {
          ++failures;
          return;
        }
        if (claimed->empty()) return;
        for (const Delivery& d : *claimed) got[t].push_back(d.id.str());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  REQUIRE(failures.load() == 0);
  std::multiset<std::string> all;
  for (const auto& ids : got) all.insert(ids.begin(), ids.end());
  REQUIRE(all.size() == static_cast<std::size_t>(kDeliveries));
  CHECK(std::set<std::string>(all.begin(), all.end()).size() == all.size());
}

// ---------------------------------------------------------------------------
// updates and attempts

STORE_TEST("outbox: UpdateDelivery is a compare-and-set on the status and appends attempts in order", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const AppId& app = w.app.app.id;
  const DeliveryId id("dlv_1");
  LIBCHAT_REQUIRE_OK(store.EnqueueDeliveries({MakeDelivery(app, id.str(), 0)}));

  // Wrong expected status: refused, nothing changes (not even the attempt or the enqueue).
  DeliveryUpdate wrong = Attempted(id, DeliveryStatus::kFailed, DeliveryStatus::kPending, 1, 100, 500, "boom");
  wrong.enqueue.push_back(MakeDelivery(app, "dlv_side"));
  LIBCHAT_REQUIRE_CODE(store.UpdateDelivery(wrong), StatusCode::kFailedPrecondition);
  Delivery unchanged = LIBCHAT_VALUE(store.GetDelivery(id));
  CHECK(unchanged.status == DeliveryStatus::kPending);
  CHECK(unchanged.attempt_count == 0);
  CHECK(unchanged.attempts.empty());
  CHECK(unchanged.last_error.empty());
  LIBCHAT_REQUIRE_CODE(store.GetDelivery(DeliveryId("dlv_side")), StatusCode::kNotFound);

  // A failed attempt that keeps it pending, due later.
  LIBCHAT_REQUIRE_OK(
      store.UpdateDelivery(Attempted(id, DeliveryStatus::kPending, DeliveryStatus::kPending, 1, 100, 503, "503")));
  Delivery after_one = LIBCHAT_VALUE(store.GetDelivery(id));
  CHECK(after_one.status == DeliveryStatus::kPending);
  CHECK(after_one.attempt_count == 1);
  CHECK(after_one.last_error == "503");
  CHECK(Ms(after_one.next_attempt_at) == Ms(At(1100)));
  CHECK(Ms(after_one.updated_at) == Ms(At(100)));
  CHECK(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(1099), At(9000), 10)).empty());

  // A second, successful attempt, with a delivery enqueued in the same transaction.
  DeliveryUpdate ok = Attempted(id, DeliveryStatus::kPending, DeliveryStatus::kDelivered, 2, 1200, 200, "");
  ok.enqueue.push_back(MakeDelivery(app, "dlv_followup", 0));
  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(ok));
  Delivery done = LIBCHAT_VALUE(store.GetDelivery(id));
  CHECK(done.status == DeliveryStatus::kDelivered);
  CHECK(done.attempt_count == 2);
  CHECK(done.last_error.empty());
  REQUIRE(AttemptNumbers(done) == std::vector<int>{1, 2});
  CHECK(Ms(done.attempts[0].at) == Ms(At(100)));
  CHECK(done.attempts[0].status_code == 503);
  CHECK(done.attempts[0].error == "503");
  CHECK(done.attempts[0].latency_ms == 41);
  CHECK(Ms(done.attempts[1].at) == Ms(At(1200)));
  CHECK(done.attempts[1].status_code == 200);
  CHECK(done.attempts[1].error.empty());
  CHECK(LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_followup"))).status == DeliveryStatus::kPending);
  // Delivered: no longer claimable, and a stale worker's update is refused.
  CHECK(Ids(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(99999), At(199999), 10))) ==
        std::vector<std::string>{"dlv_followup"});
  LIBCHAT_REQUIRE_CODE(
      store.UpdateDelivery(Attempted(id, DeliveryStatus::kPending, DeliveryStatus::kFailed, 3, 1300, 0, "late")),
      StatusCode::kFailedPrecondition);
  CHECK(LIBCHAT_VALUE(store.GetDelivery(id)).attempt_count == 2);

  // A policy decision without an attempt keeps the attempt count.
  DeliveryUpdate skip;
  skip.id = DeliveryId("dlv_followup");
  skip.status = DeliveryStatus::kSkipped;
  skip.updated_at = At(1400);
  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(skip));
  Delivery skipped = LIBCHAT_VALUE(store.GetDelivery(skip.id));
  CHECK(skipped.status == DeliveryStatus::kSkipped);
  CHECK(skipped.attempt_count == 0);
  CHECK(skipped.attempts.empty());

  DeliveryUpdate missing = skip;
  missing.id = DeliveryId("dlv_missing");
  LIBCHAT_REQUIRE_CODE(store.UpdateDelivery(missing), StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// outbox entries written with the change that caused them

STORE_TEST("outbox: an append enqueues its outbox exactly when the message is appended", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const AppId& app = w.app.app.id;
  const Sender sender{SenderType::kCustomer, w.customer.id.str()};

  int built = 0;
  std::int64_t seen_seq = 0;
  std::int64_t seen_last_seq = 0;
  AppendRequest request;
  request.message = f.MakeMessage(w.conversation, sender, "client-1");
  request.outbox = [&](const AppendResult& r) {
    ++built;
    seen_seq = r.message.seq;
    seen_last_seq = r.conversation.last_seq;
    Delivery d = MakeDelivery(r.message.app_id, "dlv_msg_" + std::to_string(built));
    d.message_id = r.message.id;
    d.message_seq = r.message.seq;
    d.conversation_id = r.message.conversation_id;
    return std::vector<Delivery>{d};
  };
  AppendResult first = LIBCHAT_VALUE(store.AppendMessage(request, nullptr));
  REQUIRE(first.created);
  CHECK(built == 1);
  CHECK(seen_seq == 1);
  CHECK(seen_last_seq == 1);
  Delivery d = LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_msg_1")));
  CHECK(d.message_seq == 1);
  CHECK(d.message_id.str() == first.message.id.str());

  // The same client_msg_id again: deduplicated, so the builder is not called and nothing is enqueued.
  request.message = f.MakeMessage(w.conversation, sender, "client-1");
  AppendResult again = LIBCHAT_VALUE(store.AppendMessage(request, nullptr));
  CHECK_FALSE(again.created);
  CHECK(built == 1);
  CHECK(ListAllDeliveryIds(store, AllOf(app)) == std::vector<std::string>{"dlv_msg_1"});

  // A builder whose delivery cannot be enqueued undoes the append (and its hook never runs).
  bool hooked = false;
  AppendRequest clash;
  clash.message = f.MakeMessage(w.conversation, sender, "client-2");
  clash.outbox = [&](const AppendResult& r) {
    return std::vector<Delivery>{MakeDelivery(r.message.app_id, "dlv_msg_1")};
  };
  LIBCHAT_REQUIRE_CODE(store.AppendMessage(clash, [&](const AppendResult&) { hooked = true; }),
                       StatusCode::kAlreadyExists);
  CHECK_FALSE(hooked);
  CHECK(LIBCHAT_VALUE(store.GetConversation(w.conversation.id, "")).last_seq == 1);
  LIBCHAT_REQUIRE_CODE(store.GetMessage(w.conversation.id, clash.message.id), StatusCode::kNotFound);

  // The next real append gets seq 2 and its own delivery.
  request.message = f.MakeMessage(w.conversation, sender, "client-3");
  AppendResult second = LIBCHAT_VALUE(store.AppendMessage(request, nullptr));
  CHECK(second.message.seq == 2);
  CHECK(seen_seq == 2);
  CHECK(LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_msg_2"))).message_seq == 2);
}

STORE_TEST("outbox: a message revision enqueues its outbox with the change", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const AppId& app = w.app.app.id;
  AppendRequest request;
  request.message = f.MakeMessage(w.conversation, Sender{SenderType::kCustomer, w.customer.id.str()});
  AppendResult appended = LIBCHAT_VALUE(store.AppendMessage(request, nullptr));

  MessageRevision edit;
  edit.conversation_id = w.conversation.id;
  edit.message_id = appended.message.id;
  edit.editor_id = w.customer.id.str();
  edit.text = "edited";
  edit.at = At(2000);
  edit.outbox.push_back(MakeDelivery(app, "dlv_updated"));
  CHECK(LIBCHAT_VALUE(store.ReviseMessage(edit)).text == "edited");
  CHECK(LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_updated"))).kind == "message.created");

  // A revision whose outbox cannot be enqueued does not change the message.
  edit.text = "edited twice";
  LIBCHAT_REQUIRE_CODE(store.ReviseMessage(edit), StatusCode::kAlreadyExists);
  CHECK(LIBCHAT_VALUE(store.GetMessage(w.conversation.id, appended.message.id)).text == "edited");
}

STORE_TEST("outbox: CreateConversationAndEnqueue and UpdateConversationAndEnqueue are atomic", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const AppId& app = w.app.app.id;

  auto make_dm = [&] {
    Conversation dm = f.MakeConversation(app, CustomerId());
    dm.type = ConversationType::kDm;
    dm.members = {Member{"cus_x", MemberRole::kOwner, At(0)}, Member{"cus_y", MemberRole::kMember, At(0)}};
    return dm;
  };
  Conversation dm = make_dm();
  LIBCHAT_REQUIRE_OK(store.CreateConversationAndEnqueue(dm, {MakeDelivery(app, "dlv_created")}));
  CHECK(LIBCHAT_VALUE(store.GetConversation(dm.id, "")).type == ConversationType::kDm);
  LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_created")));

  // The same pair again: the dm is refused, and its outbox is not enqueued.
  Conversation duplicate = make_dm();
  LIBCHAT_REQUIRE_CODE(store.CreateConversationAndEnqueue(duplicate, {MakeDelivery(app, "dlv_dup")}),
                       StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store.GetDelivery(DeliveryId("dlv_dup")), StatusCode::kNotFound);
  // An outbox that cannot be enqueued: the conversation is not created either.
  Conversation other = f.MakeConversation(app, w.customer.id);
  LIBCHAT_REQUIRE_CODE(store.CreateConversationAndEnqueue(other, {MakeDelivery(app, "dlv_created")}),
                       StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store.GetConversation(other.id, ""), StatusCode::kNotFound);

  Conversation changed = w.conversation;
  changed.status = ConversationStatus::kResolved;
  changed.updated_at = At(3000);
  LIBCHAT_REQUIRE_OK(store.UpdateConversationAndEnqueue(changed, {MakeDelivery(app, "dlv_updated")}));
  CHECK(LIBCHAT_VALUE(store.GetConversation(changed.id, "")).status == ConversationStatus::kResolved);
  LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_updated")));

  changed.status = ConversationStatus::kOpen;
  LIBCHAT_REQUIRE_CODE(store.UpdateConversationAndEnqueue(changed, {MakeDelivery(app, "dlv_updated")}),
                       StatusCode::kAlreadyExists);
  CHECK(LIBCHAT_VALUE(store.GetConversation(changed.id, "")).status == ConversationStatus::kResolved);

  Conversation missing = changed;
  missing.id = ConversationId("conv_missing");
  LIBCHAT_REQUIRE_CODE(store.UpdateConversationAndEnqueue(missing, {MakeDelivery(app, "dlv_orphan")}),
                       StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.GetDelivery(DeliveryId("dlv_orphan")), StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// webhooks and app settings

STORE_TEST("webhooks: create, get, list oldest first, update", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const AppId& app = w.app.app.id;

  StoredWebhook second = MakeWebhook(app, "wh_b", 200);
  StoredWebhook first = MakeWebhook(app, "wh_a", 100);
  first.endpoint.events = {"message.created"};
  LIBCHAT_REQUIRE_OK(store.CreateWebhook(second));
  LIBCHAT_REQUIRE_OK(store.CreateWebhook(first));
  LIBCHAT_REQUIRE_CODE(store.CreateWebhook(first), StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store.CreateWebhook(MakeWebhook(AppId("app_missing"), "wh_c")), StatusCode::kNotFound);

  CheckSameWebhook(LIBCHAT_VALUE(store.GetWebhook(first.endpoint.id)), first);
  LIBCHAT_REQUIRE_CODE(store.GetWebhook(WebhookId("wh_missing")), StatusCode::kNotFound);
  std::vector<StoredWebhook> listed = LIBCHAT_VALUE(store.ListWebhooks(app));
  REQUIRE(listed.size() == 2);
  CheckSameWebhook(listed[0], first);
  CheckSameWebhook(listed[1], second);
  CHECK(LIBCHAT_VALUE(store.ListWebhooks(AppId("app_missing"))).empty());

  // A rotation and a disable.
  StoredWebhook rotated = second;
  rotated.endpoint.url = "https://example.com/v2";
  rotated.endpoint.events = {"notification.failed"};
  rotated.endpoint.enabled = false;
  rotated.endpoint.disabled_reason = "410 Gone from the receiver";
  rotated.previous_secret_sealed = second.secret_sealed;
  rotated.secret_sealed = "sealed:new";
  rotated.endpoint.previous_secret_expires_at = At(86400000);
  rotated.endpoint.updated_at = At(900);
  LIBCHAT_REQUIRE_OK(store.UpdateWebhook(rotated));
  CheckSameWebhook(LIBCHAT_VALUE(store.GetWebhook(rotated.endpoint.id)), rotated);
  StoredWebhook missing = rotated;
  missing.endpoint.id = WebhookId("wh_missing");
  LIBCHAT_REQUIRE_CODE(store.UpdateWebhook(missing), StatusCode::kNotFound);
}

STORE_TEST("webhooks: DeleteWebhook cancels its pending deliveries and keeps past ones listed", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const AppId& app = w.app.app.id;
  LIBCHAT_REQUIRE_OK(store.CreateWebhook(MakeWebhook(app, "wh_gone")));
  LIBCHAT_REQUIRE_OK(store.CreateWebhook(MakeWebhook(app, "wh_kept")));
  auto for_webhook = [&](const std::string& id, const std::string& webhook) {
    Delivery d = MakeDelivery(app, id, 0);
    d.webhook_id = WebhookId(webhook);
    return d;
  };
  LIBCHAT_REQUIRE_OK(store.EnqueueDeliveries({for_webhook("dlv_pending", "wh_gone"),
                                              for_webhook("dlv_done", "wh_gone"),
                                              for_webhook("dlv_other", "wh_kept")}));
  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(
      Attempted(DeliveryId("dlv_done"), DeliveryStatus::kPending, DeliveryStatus::kDelivered, 1, 10, 200, "")));

  LIBCHAT_REQUIRE_OK(store.DeleteWebhook(WebhookId("wh_gone")));
  LIBCHAT_REQUIRE_CODE(store.GetWebhook(WebhookId("wh_gone")), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.DeleteWebhook(WebhookId("wh_gone")), StatusCode::kNotFound);
  CHECK(LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_pending"))).status == DeliveryStatus::kCancelled);
  CHECK(LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_done"))).status == DeliveryStatus::kDelivered);
  CHECK(LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_other"))).status == DeliveryStatus::kPending);
  DeliveryQuery by_webhook = AllOf(app);
  by_webhook.webhook_id = WebhookId("wh_gone");
  std::vector<std::string> past = ListAllDeliveryIds(store, by_webhook);
  CHECK(std::set<std::string>(past.begin(), past.end()) == std::set<std::string>{"dlv_pending", "dlv_done"});
  CHECK(Ids(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(1000), At(9000), 10))) ==
        std::vector<std::string>{"dlv_other"});
  CHECK(LIBCHAT_VALUE(store.ListWebhooks(app)).size() == 1);
}

STORE_TEST("app settings: put, get, replace, and delete with an empty value", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const AppId& app = w.app.app.id;
  StoredApp other = f.MakeApp(w.account.account.id);
  LIBCHAT_REQUIRE_OK(store.CreateApp(other));

  CHECK_FALSE(LIBCHAT_VALUE(store.GetAppSetting(app, "delivery_policy")).has_value());
  LIBCHAT_REQUIRE_OK(store.PutAppSetting(app, "delivery_policy", R"({"offline_after_s":60})"));
  LIBCHAT_REQUIRE_OK(store.PutAppSetting(app, "email_provider", R"({"kind":"smtp"})"));
  CHECK(LIBCHAT_VALUE(store.GetAppSetting(app, "delivery_policy")) == R"({"offline_after_s":60})");
  CHECK_FALSE(LIBCHAT_VALUE(store.GetAppSetting(other.app.id, "delivery_policy")).has_value());

  LIBCHAT_REQUIRE_OK(store.PutAppSetting(app, "delivery_policy", R"({"offline_after_s":5})"));
  CHECK(LIBCHAT_VALUE(store.GetAppSetting(app, "delivery_policy")) == R"({"offline_after_s":5})");
  LIBCHAT_REQUIRE_OK(store.PutAppSetting(app, "delivery_policy", ""));
  CHECK_FALSE(LIBCHAT_VALUE(store.GetAppSetting(app, "delivery_policy")).has_value());
  LIBCHAT_REQUIRE_OK(store.PutAppSetting(app, "delivery_policy", ""));  // deleting nothing is fine
  CHECK(LIBCHAT_VALUE(store.GetAppSetting(app, "email_provider")) == R"({"kind":"smtp"})");

  LIBCHAT_REQUIRE_CODE(store.PutAppSetting(AppId("app_missing"), "delivery_policy", "{}"), StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// notifications

STORE_TEST("notifications: created with their deliveries and read back with deliveries and attempts", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const AppId& app = w.app.app.id;
  const Notification n = MakeNotification(app, "ntf_1", w.customer.id);
  const std::string customer = w.customer.id.str();
  LIBCHAT_REQUIRE_OK(store.CreateNotification(
      n, {NotificationDelivery(n, "dlv_ws", DeliveryChannel::kWebSocket, customer, 100),
          NotificationDelivery(n, "dlv_email", DeliveryChannel::kEmail, customer, 100)}));
  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(
      Attempted(DeliveryId("dlv_email"), DeliveryStatus::kPending, DeliveryStatus::kPending, 1, 150, 421, "busy")));

  Notification got = LIBCHAT_VALUE(store.GetNotification(n.id));
  CHECK(got.id.str() == n.id.str());
  CHECK(got.app_id.str() == app.str());
  REQUIRE(got.customer_ids.size() == 1);
  CHECK(got.customer_ids[0].str() == customer);
  CHECK(got.conversation_id.empty());
  CHECK(got.email.empty());
  CHECK(got.channels == n.channels);
  CHECK(got.subject == n.subject);
  CHECK(got.body == n.body);
  CHECK(got.html == n.html);
  CHECK(got.priority == NotificationPriority::kHigh);
  CHECK(Ms(got.scheduled_at) == Ms(n.scheduled_at));
  REQUIRE(got.fallback.has_value());
  CHECK(got.fallback->after == std::chrono::seconds(90));
  CHECK(got.fallback->channel == DeliveryChannel::kEmail);
  CHECK(got.fallback->to_email == "fallback@example.com");
  CHECK(got.status == NotificationStatus::kPending);
  CHECK(Ms(got.created_at) == Ms(n.created_at));
  // Oldest first (insertion order breaks the created_at tie), each with its attempts.
  CHECK(Ids(got.deliveries) == std::vector<std::string>{"dlv_ws", "dlv_email"});
  CHECK(got.deliveries[0].attempts.empty());
  CHECK(AttemptNumbers(got.deliveries[1]) == std::vector<int>{1});
  CHECK(got.deliveries[1].attempts[0].error == "busy");

  // Without fallback or schedule, addressed to an email.
  Notification plain = MakeNotification(app, "ntf_2", w.customer.id);
  plain.customer_ids.clear();
  plain.email = "to@example.com";
  plain.fallback.reset();
  plain.scheduled_at.reset();
  plain.priority = NotificationPriority::kLow;
  LIBCHAT_REQUIRE_OK(store.CreateNotification(plain, {}));
  Notification got_plain = LIBCHAT_VALUE(store.GetNotification(plain.id));
  CHECK(got_plain.customer_ids.empty());
  CHECK(got_plain.email == "to@example.com");
  CHECK_FALSE(got_plain.fallback.has_value());
  CHECK_FALSE(got_plain.scheduled_at.has_value());
  CHECK(got_plain.priority == NotificationPriority::kLow);
  CHECK(got_plain.deliveries.empty());

  // Duplicates and failures leave nothing behind.
  LIBCHAT_REQUIRE_CODE(store.CreateNotification(n, {}), StatusCode::kAlreadyExists);
  Notification clash = MakeNotification(app, "ntf_3", w.customer.id);
  LIBCHAT_REQUIRE_CODE(
      store.CreateNotification(clash, {NotificationDelivery(clash, "dlv_ws", DeliveryChannel::kWebSocket, customer)}),
      StatusCode::kAlreadyExists);
  LIBCHAT_REQUIRE_CODE(store.GetNotification(clash.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.CreateNotification(MakeNotification(AppId("app_missing"), "ntf_4", w.customer.id), {}),
                       StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.GetNotification(NotificationId("ntf_missing")), StatusCode::kNotFound);
}

STORE_TEST("notifications: the status is a compare-and-set that enqueues with the change", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const AppId& app = w.app.app.id;
  const Notification n = MakeNotification(app, "ntf_1", w.customer.id);
  LIBCHAT_REQUIRE_OK(store.CreateNotification(n, {}));

  LIBCHAT_REQUIRE_OK(store.UpdateNotificationStatus(n.id, NotificationStatus::kPending,
                                                    NotificationStatus::kDelivered, At(700),
                                                    {MakeDelivery(app, "dlv_notification_delivered")}));
  Notification got = LIBCHAT_VALUE(store.GetNotification(n.id));
  CHECK(got.status == NotificationStatus::kDelivered);
  CHECK(Ms(got.updated_at) == Ms(At(700)));
  LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_notification_delivered")));

  LIBCHAT_REQUIRE_CODE(store.UpdateNotificationStatus(n.id, NotificationStatus::kPending,
                                                      NotificationStatus::kFailed, At(800),
                                                      {MakeDelivery(app, "dlv_notification_failed")}),
                       StatusCode::kFailedPrecondition);
  CHECK(LIBCHAT_VALUE(store.GetNotification(n.id)).status == NotificationStatus::kDelivered);
  LIBCHAT_REQUIRE_CODE(store.GetDelivery(DeliveryId("dlv_notification_failed")), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(store.UpdateNotificationStatus(NotificationId("ntf_missing"), NotificationStatus::kPending,
                                                      NotificationStatus::kFailed, At(800), {}),
                       StatusCode::kNotFound);
}

STORE_TEST("notifications: cancel only while pending, with its pending deliveries", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const Notification n = MakeNotification(w.app.app.id, "ntf_1", w.customer.id);
  const std::string customer = w.customer.id.str();
  LIBCHAT_REQUIRE_OK(store.CreateNotification(
      n, {NotificationDelivery(n, "dlv_ws", DeliveryChannel::kWebSocket, customer),
          NotificationDelivery(n, "dlv_email", DeliveryChannel::kEmail, customer)}));
  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(
      Attempted(DeliveryId("dlv_ws"), DeliveryStatus::kPending, DeliveryStatus::kDelivered, 1, 200, 0, "")));

  LIBCHAT_REQUIRE_OK(store.CancelNotification(n.id, At(300)));
  Notification got = LIBCHAT_VALUE(store.GetNotification(n.id));
  CHECK(got.status == NotificationStatus::kCancelled);
  CHECK(Ms(got.updated_at) == Ms(At(300)));
  REQUIRE(got.deliveries.size() == 2);
  CHECK(got.deliveries[0].status == DeliveryStatus::kDelivered);
  CHECK(got.deliveries[1].status == DeliveryStatus::kCancelled);
  CHECK(Ms(got.deliveries[1].updated_at) == Ms(At(300)));
  CHECK(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(99999), At(199999), 10)).empty());
  CHECK_FALSE(LIBCHAT_VALUE(store.NextDeliveryDue()).has_value());

  LIBCHAT_REQUIRE_CODE(store.CancelNotification(n.id, At(400)), StatusCode::kFailedPrecondition);
  LIBCHAT_REQUIRE_CODE(store.CancelNotification(NotificationId("ntf_missing"), At(400)), StatusCode::kNotFound);
}

STORE_TEST("notifications: retry only when failed, making its failed deliveries due again", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const Notification n = MakeNotification(w.app.app.id, "ntf_1", w.customer.id);
  const std::string customer = w.customer.id.str();
  LIBCHAT_REQUIRE_OK(store.CreateNotification(
      n, {NotificationDelivery(n, "dlv_ws", DeliveryChannel::kWebSocket, customer),
          NotificationDelivery(n, "dlv_email", DeliveryChannel::kEmail, customer)}));
  LIBCHAT_REQUIRE_CODE(store.RetryNotification(n.id, At(1000)), StatusCode::kFailedPrecondition);

  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(
      Attempted(DeliveryId("dlv_ws"), DeliveryStatus::kPending, DeliveryStatus::kDelivered, 1, 200, 0, "")));
  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(Attempted(DeliveryId("dlv_email"), DeliveryStatus::kPending,
                                                    DeliveryStatus::kFailed, 1, 210, 550, "mailbox unavailable")));
  LIBCHAT_REQUIRE_OK(store.UpdateNotificationStatus(n.id, NotificationStatus::kPending, NotificationStatus::kFailed,
                                                    At(220), {}));

  LIBCHAT_REQUIRE_OK(store.RetryNotification(n.id, At(1000)));
  Notification got = LIBCHAT_VALUE(store.GetNotification(n.id));
  CHECK(got.status == NotificationStatus::kPending);
  CHECK(Ms(got.updated_at) == Ms(At(1000)));
  REQUIRE(got.deliveries.size() == 2);
  CHECK(got.deliveries[0].status == DeliveryStatus::kDelivered);
  const Delivery& retried = got.deliveries[1];
  CHECK(retried.status == DeliveryStatus::kPending);
  CHECK(Ms(retried.next_attempt_at) == Ms(At(1000)));
  CHECK(retried.attempt_count == 1);
  CHECK(AttemptNumbers(retried) == std::vector<int>{1});
  CHECK(retried.last_error == "mailbox unavailable");
  CHECK(Ids(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(1000), At(9000), 10))) ==
        std::vector<std::string>{"dlv_email"});

  LIBCHAT_REQUIRE_CODE(store.RetryNotification(n.id, At(2000)), StatusCode::kFailedPrecondition);
  LIBCHAT_REQUIRE_CODE(store.RetryNotification(NotificationId("ntf_missing"), At(2000)), StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// wake, next due, listing

STORE_TEST("outbox: WakeDeliveries makes a recipient's pending deliveries on a channel due now", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const AppId& app = w.app.app.id;
  auto for_recipient = [&](const std::string& id, const std::string& recipient, DeliveryChannel channel,
                           std::int64_t due_ms) {
    Delivery d = MakeDelivery(app, id, due_ms);
    d.recipient_id = recipient;
    d.channel = channel;
    d.gated = true;
    return d;
  };
  LIBCHAT_REQUIRE_OK(store.EnqueueDeliveries({
      for_recipient("dlv_ws_1", "cus_r", DeliveryChannel::kWebSocket, 100000),
      for_recipient("dlv_ws_2", "cus_r", DeliveryChannel::kWebSocket, 200000),
      for_recipient("dlv_ws_due", "cus_r", DeliveryChannel::kWebSocket, 50),
      for_recipient("dlv_ws_inflight", "cus_r", DeliveryChannel::kWebSocket, 0),
      for_recipient("dlv_email", "cus_r", DeliveryChannel::kEmail, 100000),
      for_recipient("dlv_ws_done", "cus_r", DeliveryChannel::kWebSocket, 100000),
      for_recipient("dlv_ws_other", "cus_other", DeliveryChannel::kWebSocket, 100000),
  }));
  DeliveryUpdate done;
  done.id = DeliveryId("dlv_ws_done");
  done.status = DeliveryStatus::kSkipped;
  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(done));
  // Claimed (in flight) before the recipient shows up: waking must not hand it out again.
  CHECK(Ids(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(10), At(500000), 1))) ==
        std::vector<std::string>{"dlv_ws_inflight"});

  CHECK(LIBCHAT_VALUE(store.WakeDeliveries("cus_r", DeliveryChannel::kWebSocket, At(1000))) == 2);
  CHECK(Ms(LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_ws_1"))).next_attempt_at) == Ms(At(1000)));
  // Already due: not moved later.
  CHECK(Ms(LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_ws_due"))).next_attempt_at) == Ms(At(50)));
  std::vector<std::string> claimed = Ids(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(1000), At(500000), 10)));
  CHECK(claimed == std::vector<std::string>{"dlv_ws_due", "dlv_ws_1", "dlv_ws_2"});
  CHECK(LIBCHAT_VALUE(store.WakeDeliveries("cus_r", DeliveryChannel::kWebSocket, At(2000))) == 0);
  CHECK(LIBCHAT_VALUE(store.WakeDeliveries("cus_nobody", DeliveryChannel::kWebSocket, At(2000))) == 0);

  // The in-flight one comes back deferred by its gate ("offline, look again later"): now a wake counts.
  DeliveryUpdate deferred;
  deferred.id = DeliveryId("dlv_ws_inflight");
  deferred.next_attempt_at = At(300000);
  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(deferred));
  CHECK(LIBCHAT_VALUE(store.WakeDeliveries("cus_r", DeliveryChannel::kWebSocket, At(3000))) == 1);
  CHECK(Ids(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(3000), At(500000), 10))) ==
        std::vector<std::string>{"dlv_ws_inflight"});
  CHECK(Ms(LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_email"))).next_attempt_at) == Ms(At(100000)));
}

STORE_TEST("outbox: NextDeliveryDue is the earliest due time of any pending delivery", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const AppId& app = w.app.app.id;
  CHECK_FALSE(LIBCHAT_VALUE(store.NextDeliveryDue()).has_value());

  LIBCHAT_REQUIRE_OK(store.EnqueueDeliveries({MakeDelivery(app, "dlv_urgent", 900, NotificationPriority::kUrgent),
                                              MakeDelivery(app, "dlv_low", 500, NotificationPriority::kLow),
                                              MakeDelivery(app, "dlv_high", 700, NotificationPriority::kHigh)}));
  CHECK(Ms(LIBCHAT_VALUE(store.NextDeliveryDue())) == Ms(At(500)));
  DeliveryUpdate done;
  done.id = DeliveryId("dlv_low");
  done.status = DeliveryStatus::kDelivered;
  done.next_attempt_at = At(1);  // not pending any more: its due time no longer counts
  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(done));
  CHECK(Ms(LIBCHAT_VALUE(store.NextDeliveryDue())) == Ms(At(700)));
  done.id = DeliveryId("dlv_high");
  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(done));
  done.id = DeliveryId("dlv_urgent");
  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(done));
  CHECK_FALSE(LIBCHAT_VALUE(store.NextDeliveryDue()).has_value());
}

STORE_TEST("outbox: ListDeliveries pages newest first, filters, and fills attempts", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  const AppId& app = w.app.app.id;
  StoredApp other = f.MakeApp(w.account.account.id);
  LIBCHAT_REQUIRE_OK(store.CreateApp(other));

  auto make = [&](const std::string& id, std::int64_t created_ms, const std::string& webhook,
                  DeliveryChannel channel, const std::string& notification) {
    Delivery d = MakeDelivery(app, id, 0, NotificationPriority::kNormal, created_ms);
    d.webhook_id = WebhookId(webhook);
    d.channel = channel;
    d.notification_id = NotificationId(notification);
    return d;
  };
  LIBCHAT_REQUIRE_OK(store.EnqueueDeliveries({
      make("dlv_1", 100, "wh_1", DeliveryChannel::kWebhook, ""),
      make("dlv_2", 200, "wh_2", DeliveryChannel::kWebhook, ""),
      make("dlv_3", 200, "wh_1", DeliveryChannel::kWebhook, ""),
      make("dlv_4", 300, "", DeliveryChannel::kEmail, "ntf_1"),
      make("dlv_5", 300, "", DeliveryChannel::kWebSocket, "ntf_1"),
      make("dlv_6", 400, "wh_1", DeliveryChannel::kWebhook, ""),
      make("dlv_7", 500, "", DeliveryChannel::kEmail, ""),
      MakeDelivery(other.app.id, "dlv_other", 0, NotificationPriority::kNormal, 450),
  }));
  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(
      Attempted(DeliveryId("dlv_3"), DeliveryStatus::kPending, DeliveryStatus::kPending, 1, 210, 500, "e1")));
  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(
      Attempted(DeliveryId("dlv_3"), DeliveryStatus::kPending, DeliveryStatus::kFailed, 2, 220, 500, "e2")));
  LIBCHAT_REQUIRE_OK(store.UpdateDelivery(
      Attempted(DeliveryId("dlv_6"), DeliveryStatus::kPending, DeliveryStatus::kDelivered, 1, 410, 204, "")));

  // created_at desc, then id desc; pages of every size see every row exactly once.
  const std::vector<std::string> newest_first{"dlv_7", "dlv_6", "dlv_5", "dlv_4", "dlv_3", "dlv_2", "dlv_1"};
  for (int limit : {1, 2, 3, 7, 50}) {
    INFO("limit " << limit);
    CHECK(ListAllDeliveryIds(store, AllOf(app, limit)) == newest_first);
  }
  CHECK(ListAllDeliveryIds(store, AllOf(other.app.id)) == std::vector<std::string>{"dlv_other"});
  CHECK(ListAllDeliveryIds(store, AllOf(AppId("app_missing"))).empty());

  DeliveryQuery q = AllOf(app, 2);
  q.webhook_id = WebhookId("wh_1");
  CHECK(ListAllDeliveryIds(store, q) == std::vector<std::string>{"dlv_6", "dlv_3", "dlv_1"});
  q.status = DeliveryStatus::kFailed;
  CHECK(ListAllDeliveryIds(store, q) == std::vector<std::string>{"dlv_3"});
  q = AllOf(app, 1);
  q.notification_id = NotificationId("ntf_1");
  CHECK(ListAllDeliveryIds(store, q) == std::vector<std::string>{"dlv_5", "dlv_4"});
  q.channel = DeliveryChannel::kEmail;
  CHECK(ListAllDeliveryIds(store, q) == std::vector<std::string>{"dlv_4"});
  q = AllOf(app, 2);
  q.channel = DeliveryChannel::kEmail;
  CHECK(ListAllDeliveryIds(store, q) == std::vector<std::string>{"dlv_7", "dlv_4"});
  q = AllOf(app);
  q.status = DeliveryStatus::kPending;
  CHECK(ListAllDeliveryIds(store, q) == std::vector<std::string>{"dlv_7", "dlv_5", "dlv_4", "dlv_2", "dlv_1"});

  // Listed deliveries carry their attempts, oldest first.
  Page<Delivery> page = LIBCHAT_VALUE(store.ListDeliveries(AllOf(app)));
  REQUIRE(page.data.size() == 7);
  for (const Delivery& d : page.data) {
    INFO(d.id.str());
    if (d.id.str() == "dlv_3") {
      CHECK(AttemptNumbers(d) == std::vector<int>{1, 2});
      CHECK(d.attempts[1].error == "e2");
    } else if (d.id.str() == "dlv_6") {
      CHECK(AttemptNumbers(d) == std::vector<int>{1});
      CHECK(d.attempts[0].status_code == 204);
    } else {
      CHECK(d.attempts.empty());
    }
  }

  DeliveryQuery bad = AllOf(app);
  bad.cursor = "not a cursor";
  LIBCHAT_REQUIRE_CODE(store.ListDeliveries(bad), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// DeleteApp

STORE_TEST("outbox: DeleteApp removes the app's webhooks, deliveries, notifications and settings only", "") {
  TestType db;
  Store& store = *db;
  RecordFactory f;
  World w = Seed(store, f);
  StoredApp kept = f.MakeApp(w.account.account.id);
  LIBCHAT_REQUIRE_OK(store.CreateApp(kept));
  // The account is a recipient in both of its apps.
  const std::string shared_recipient = w.account.account.id.str();

  auto populate = [&](const AppId& app, const std::string& tag) {
    LIBCHAT_REQUIRE_OK(store.CreateWebhook(MakeWebhook(app, "wh_" + tag)));
    LIBCHAT_REQUIRE_OK(store.PutAppSetting(app, "delivery_policy", "{\"tag\":\"" + tag + "\"}"));
    Notification n = MakeNotification(app, "ntf_" + tag, CustomerId());
    n.customer_ids.clear();
    LIBCHAT_REQUIRE_OK(store.CreateNotification(
        n, {NotificationDelivery(n, "dlv_ntf_" + tag, DeliveryChannel::kWebSocket, shared_recipient)}));
    Delivery hook = MakeDelivery(app, "dlv_hook_" + tag, 0);
    hook.webhook_id = WebhookId("wh_" + tag);
    Delivery online = MakeDelivery(app, "dlv_online_" + tag, 100000);
    online.channel = DeliveryChannel::kWebSocket;
    online.recipient_id = shared_recipient;
    LIBCHAT_REQUIRE_OK(store.EnqueueDeliveries({hook, online}));
    LIBCHAT_REQUIRE_OK(store.UpdateDelivery(Attempted(hook.id, DeliveryStatus::kPending, DeliveryStatus::kPending,
                                                      1, 10, 500, "retry")));
  };
  populate(w.app.app.id, "gone");
  populate(kept.app.id, "kept");

  LIBCHAT_REQUIRE_OK(store.DeleteApp(w.app.app.id));

  LIBCHAT_REQUIRE_CODE(store.GetWebhook(WebhookId("wh_gone")), StatusCode::kNotFound);
  CHECK(LIBCHAT_VALUE(store.ListWebhooks(w.app.app.id)).empty());
  CHECK_FALSE(LIBCHAT_VALUE(store.GetAppSetting(w.app.app.id, "delivery_policy")).has_value());
  LIBCHAT_REQUIRE_CODE(store.GetNotification(NotificationId("ntf_gone")), StatusCode::kNotFound);
  for (const char* id : {"dlv_ntf_gone", "dlv_hook_gone", "dlv_online_gone"}) {
    LIBCHAT_REQUIRE_CODE(store.GetDelivery(DeliveryId(id)), StatusCode::kNotFound);
  }
  CHECK(ListAllDeliveryIds(store, AllOf(w.app.app.id)).empty());

  LIBCHAT_VALUE(store.GetWebhook(WebhookId("wh_kept")));
  CHECK(LIBCHAT_VALUE(store.GetAppSetting(kept.app.id, "delivery_policy")) == "{\"tag\":\"kept\"}");
  CHECK(Ids(LIBCHAT_VALUE(store.GetNotification(NotificationId("ntf_kept"))).deliveries) ==
        std::vector<std::string>{"dlv_ntf_kept"});
  CHECK(AttemptNumbers(LIBCHAT_VALUE(store.GetDelivery(DeliveryId("dlv_hook_kept")))) == std::vector<int>{1});
  CHECK(ListAllDeliveryIds(store, AllOf(kept.app.id)).size() == 3);
  // The shared recipient's remaining deliveries are the kept app's.
  CHECK(LIBCHAT_VALUE(store.WakeDeliveries(shared_recipient, DeliveryChannel::kWebSocket, At(50))) == 2);
  std::vector<std::string> claimed = Ids(LIBCHAT_VALUE(store.ClaimDueDeliveries(At(2000), At(9000), 10)));
  CHECK(std::set<std::string>(claimed.begin(), claimed.end()) ==
        std::set<std::string>{"dlv_ntf_kept", "dlv_hook_kept", "dlv_online_kept"});
}

// ---------------------------------------------------------------------------
// SQLite: durability of the outbox

TEST_CASE("sqlite store: the outbox, webhooks, settings and notifications survive reopening",
          "[sqlite][store][delivery]") {
  char dir_template[] = "/tmp/libchat_outbox_test_XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  const std::string path = dir + "/chat.db";
  SqliteStoreOptions options;
  options.path = path;
  options.synchronous_full = false;
  RecordFactory f;
  World w;
  {
    std::shared_ptr<Store> store = LIBCHAT_VALUE(OpenSqliteStore(options));
    w = Seed(*store, f);
    const AppId& app = w.app.app.id;
    LIBCHAT_REQUIRE_OK(store->CreateWebhook(MakeWebhook(app, "wh_1")));
    LIBCHAT_REQUIRE_OK(store->PutAppSetting(app, "delivery_policy", "{}"));
    Notification n = MakeNotification(app, "ntf_1", w.customer.id);
    LIBCHAT_REQUIRE_OK(store->CreateNotification(
        n, {NotificationDelivery(n, "dlv_ntf", DeliveryChannel::kEmail, w.customer.id.str())}));
    LIBCHAT_REQUIRE_OK(store->EnqueueDeliveries({MakeDelivery(app, "dlv_1", 0), MakeDelivery(app, "dlv_2", 0)}));
    LIBCHAT_REQUIRE_OK(store->UpdateDelivery(
        Attempted(DeliveryId("dlv_1"), DeliveryStatus::kPending, DeliveryStatus::kPending, 1, 10, 500, "retry")));
    // Claimed and never finished: after a restart it comes back when its lease ends.
    CHECK(Ids(LIBCHAT_VALUE(store->ClaimDueDeliveries(At(20), At(30000), 1))) ==
          std::vector<std::string>{"dlv_2"});
  }
  {
    std::shared_ptr<Store> store = LIBCHAT_VALUE(OpenSqliteStore(options));
    const AppId& app = w.app.app.id;
    CHECK(LIBCHAT_VALUE(store->GetWebhook(WebhookId("wh_1"))).endpoint.url == "https://example.com/hooks/wh_1");
    CHECK(LIBCHAT_VALUE(store->GetAppSetting(app, "delivery_policy")) == "{}");
    CHECK(Ids(LIBCHAT_VALUE(store->GetNotification(NotificationId("ntf_1"))).deliveries) ==
          std::vector<std::string>{"dlv_ntf"});
    Delivery one = LIBCHAT_VALUE(store->GetDelivery(DeliveryId("dlv_1")));
    CHECK(one.attempt_count == 1);
    CHECK(AttemptNumbers(one) == std::vector<int>{1});
    CHECK(Ms(LIBCHAT_VALUE(store->NextDeliveryDue())) == Ms(At(1010)));
    // The notification's delivery is high priority; dlv_2 is still leased.
    CHECK(Ids(LIBCHAT_VALUE(store->ClaimDueDeliveries(At(20000), At(40000), 10))) ==
          std::vector<std::string>{"dlv_ntf", "dlv_1"});
    CHECK(Ms(LIBCHAT_VALUE(store->NextDeliveryDue())) == Ms(At(30000)));
    CHECK(Ids(LIBCHAT_VALUE(store->ClaimDueDeliveries(At(30000), At(40000), 10))) ==
          std::vector<std::string>{"dlv_2"});
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
