// The knowledge-base bot through the libchat::Chat facade, as an embedding host drives it: a FakeClock
// and Chat::ProcessDueDeliveries called by the test, which runs the bot.reply deliveries that customer
// messages queue. Covers answering from the knowledge base, hand-off to the team (pending -> open),
// min_score, host responders (Options::responder) that fail, idempotent retries, the bot never
// triggering itself, events and webhooks, and an OpenAI-compatible endpoint end to end (a FakeHttpServer
// on 127.0.0.1). Every BOT_TEST runs once per store: in-memory and SQLite.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "chat_test_util.h"
#include "delivery_test_doubles.h"
#include "libchat/chat.h"
#include "libchat/providers/http_client.h"
#include "libchat/providers/responder.h"
#include "libchat/testing/fake_clock.h"
#include "store_test_util.h"
#include "support/fake_http_server.h"
#include "unit/forwarding_store.h"

namespace {

using namespace libchat;        // NOLINT: test brevity
using namespace libchat::test;  // NOLINT
using libchat::testsupport::FakeHttpServer;
using Json = nlohmann::json;

#define BOT_TEST(name, tags) TEMPLATE_TEST_CASE("bot: " name, "[bot]" tags, MemoryBackend, SqliteBackend)

constexpr char kSecretsKey[] = "bot-test-secrets-key-32-bytes-ok";
static_assert(sizeof(kSecretsKey) == 33, "the secrets key must be 32 bytes");
constexpr char kHookUrl[] = "https://93.184.215.14/hooks/bot";  // public: accepted, never contacted

constexpr char kPasswordQuestion[] = "How do I reset my password?";
constexpr char kPasswordAnswer[] = "Open Settings > Security and choose Reset password.";

// A host responder: records every input and answers with the scripted result. Thread-safe.
class ScriptedResponder : public Responder {
 public:
  explicit ScriptedResponder(Result<ResponderAnswer> result) : result_(std::move(result)) {}
  Result<ResponderAnswer> Respond(const ResponderInput& input) override {
    std::lock_guard<std::mutex> lock(mutex_);
    inputs_.push_back(input);
    return result_;
  }
  std::vector<ResponderInput> inputs() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return inputs_;
  }

 private:
  mutable std::mutex mutex_;
  Result<ResponderAnswer> result_;
  std::vector<ResponderInput> inputs_;
};

// Fails the first UpdateDelivery that would mark a delivery delivered, as a worker that dies right after
// the bot posted (and before it recorded that) leaves it: the claim expires and the delivery runs again.
class LosesFirstDeliveredUpdate : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Status UpdateDelivery(const DeliveryUpdate& update) override {
    if (update.status == DeliveryStatus::kDelivered && !failed_.exchange(true)) {
      return UnavailableError("the worker died");
    }
    return ForwardingStore::UpdateDelivery(update);
  }

 private:
  std::atomic<bool> failed_{false};
};

ResponderAnswer Answered(std::string text) {
  ResponderAnswer answer;
  answer.answered = true;
  answer.text = std::move(text);
  return answer;
}

struct BotCustomer {
  Principal principal;
  ConversationId conversation;
  Conversation created;  // the conversation as the first message left it
  Message first;
};

// A Chat over a fresh store of `Backend` with an account and an app, webhooks recorded (never sent).
template <typename Backend>
class BotHarness {
 public:
  // With `wrap`, the Chat reaches the store through the Store it returns (a ForwardingStore around it).
  explicit BotHarness(std::shared_ptr<Responder> responder = nullptr,
                      const std::function<std::shared_ptr<Store>(std::shared_ptr<Store>)>& wrap = nullptr)
      : clock_(std::make_shared<testing::FakeClock>()) {
    Options options = ChatTestOptions(wrap ? wrap(backend_.shared()) : backend_.shared(), clock_);
    options.delivery.secrets_key = kSecretsKey;
    UseRecordingDelivery(options, delivery_);
    options.responder = std::move(responder);
    chat_ = LIBCHAT_VALUE(Chat::Open(std::move(options)));
    AuthSession session = LIBCHAT_VALUE(chat_->Register(RegisterRequest{"owner@example.com", kChatTestPassword, "O"}));
    owner_ = LIBCHAT_VALUE(chat_->Authenticate(BearerCredentials(session.token)));
    AppCreate request;
    request.name = "Acme";
    CreatedApp created = LIBCHAT_VALUE(chat_->CreateApp(owner_, request));
    app_ = created.app;
    publishable_ = LIBCHAT_VALUE(chat_->Authenticate(KeyCredentials(created.app.publishable_key)));
  }

  Chat& chat() { return *chat_; }
  testing::FakeClock& clock() { return *clock_; }
  const Principal& owner() const { return owner_; }
  const AppId& app_id() const { return app_.id; }
  const RecordingDelivery& delivery() const { return delivery_; }

  void SetBot(bool enabled, double min_score = 0.6, const std::string& name = "Ada") {
    BotSettings settings;
    settings.enabled = enabled;
    settings.min_score = min_score;
    settings.name = name;
    LIBCHAT_REQUIRE_OK(chat_->PutBotSettings(owner_, app_id(), settings));
  }

  KnowledgeEntry AddQa(const std::string& question, const std::string& answer) {
    KnowledgeInput input;
    input.type = KnowledgeType::kQa;
    input.question = question;
    input.answer = answer;
    return LIBCHAT_VALUE(chat_->CreateKnowledgeEntry(owner_, app_id(), input));
  }

  KnowledgeEntry AddText(const std::string& content) {
    KnowledgeInput input;
    input.type = KnowledgeType::kText;
    input.content = content;
    return LIBCHAT_VALUE(chat_->CreateKnowledgeEntry(owner_, app_id(), input));
  }

  // A new anonymous customer whose first message opens a support conversation.
  BotCustomer Ask(const std::string& text) {
    SdkSendRequest request;
    request.message = TextMessage(text);
    SendResult sent = LIBCHAT_VALUE(chat_->SdkSendMessage(publishable_, request));
    BotCustomer out;
    out.principal = LIBCHAT_VALUE(chat_->Authenticate(KeyCredentials(app_.publishable_key, sent.session_token)));
    out.conversation = sent.conversation.id;
    out.created = sent.conversation;
    out.first = sent.message;
    return out;
  }

  Message Say(const BotCustomer& customer, const std::string& text) {
    return LIBCHAT_VALUE(chat_->SendMessage(customer.principal, customer.conversation, TextMessage(text))).message;
  }

  int Process() { return LIBCHAT_VALUE(chat_->ProcessDueDeliveries(100)); }

  // An active operator of the app, signed in with a token.
  Principal AddOperator(const std::string& name) {
    OperatorCreate create;
    create.name = name;
    create.app_ids = {app_id()};
    std::vector<Operator> created = LIBCHAT_VALUE(chat_->CreateOperators(owner_, {create}));
    REQUIRE(created.size() == 1);
    OperatorToken token =
        LIBCHAT_VALUE(chat_->CreateOperatorToken(owner_, created[0].id, clock_->Now() + std::chrono::hours(1)));
    return LIBCHAT_VALUE(chat_->Authenticate(BearerCredentials(token.token)));
  }

  std::vector<Message> History(const BotCustomer& customer) {
    HistoryQuery query;
    query.limit = 200;
    return LIBCHAT_VALUE(chat_->ListMessages(owner_, customer.conversation, query));
  }

  Conversation Get(const BotCustomer& customer) {
    return LIBCHAT_VALUE(chat_->GetConversation(owner_, customer.conversation));
  }

  // The app's deliveries of one channel (or of every channel), newest first, with attempts.
  std::vector<Delivery> Deliveries(std::optional<DeliveryChannel> channel = DeliveryChannel::kBot) {
    DeliveryFilter filter;
    filter.channel = channel;
    filter.limit = 200;
    return LIBCHAT_VALUE(chat_->ListDeliveries(owner_, app_id(), filter)).data;
  }

 private:
  Backend backend_;  // declared first: outlives the Chat
  std::shared_ptr<testing::FakeClock> clock_;
  RecordingDelivery delivery_;
  std::unique_ptr<Chat> chat_;
  Principal owner_;
  Principal publishable_;
  App app_;
};

std::vector<Message> BotMessages(const std::vector<Message>& messages) {
  std::vector<Message> out;
  for (const Message& m : messages) {
    if (m.sender.type == SenderType::kBot) out.push_back(m);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Answering

BOT_TEST("a question the knowledge base answers gets a bot message and the conversation stays pending",
         "[answer]") {
  BotHarness<TestType> h;
  h.SetBot(true);
  KnowledgeEntry entry = h.AddQa(kPasswordQuestion, kPasswordAnswer);
  EventRecorder events(h.chat());

  BotCustomer customer = h.Ask("how can I reset my password");
  CHECK(customer.created.status == ConversationStatus::kPending);  // the bot handles a new conversation

  // One bot.reply, queued with the message, due at once.
  std::vector<Delivery> queued = h.Deliveries();
  REQUIRE(queued.size() == 1);
  const Delivery& reply = queued.front();
  CHECK(reply.channel == DeliveryChannel::kBot);
  CHECK(reply.kind == "bot.reply");
  CHECK(reply.status == DeliveryStatus::kPending);
  CHECK(reply.conversation_id == customer.conversation);
  CHECK(reply.message_id == customer.first.id);
  CHECK(reply.message_seq == customer.first.seq);
  CHECK(reply.recipient_id == customer.principal.id);
  CHECK(reply.next_attempt_at <= h.clock().Now());

  CHECK(h.Process() == 1);
  std::vector<Message> history = h.History(customer);
  REQUIRE(history.size() == 2);
  const Message& bot = history[1];
  CHECK(bot.seq == 2);
  CHECK(bot.sender.type == SenderType::kBot);
  CHECK(bot.sender.id == "bot");
  CHECK(bot.text == kPasswordAnswer);
  CHECK(bot.client_msg_id == "bot:" + reply.id.str());
  const Json metadata = Json::parse(bot.metadata_json);
  CHECK(metadata["bot"]["sources"] == Json::array({entry.id.str()}));

  Conversation conversation = h.Get(customer);
  CHECK(conversation.status == ConversationStatus::kPending);
  CHECK(conversation.last_seq == 2);

  Delivery done = LIBCHAT_VALUE(h.chat().GetDelivery(h.owner(), h.app_id(), reply.id));
  CHECK(done.status == DeliveryStatus::kDelivered);
  REQUIRE(done.attempts.size() == 1);
  CHECK(done.attempts[0].error.empty());
  CHECK(done.last_error.empty());

  // The bot's message is announced like any other, to the team and the customer.
  std::vector<std::shared_ptr<const Event>> created = events.Of(customer.conversation, EventType::kMessageCreated);
  REQUIRE(created.size() == 2);
  REQUIRE(created[1]->message.has_value());
  CHECK(created[1]->message->id == bot.id);
  CHECK(created[1]->message->sender.type == SenderType::kBot);
  CHECK(EventVisibleTo(*created[1], customer.principal));
  CHECK(EventVisibleTo(*created[1], h.owner()));
  CHECK(events.Of(customer.conversation, EventType::kConversationUpdated).empty());

  // A bot message never triggers the bot: nothing more is queued.
  CHECK(h.Deliveries().size() == 1);
  CHECK(h.Process() == 0);
}

BOT_TEST("each customer message while pending is answered, with the recent messages given to the responder",
         "[answer]") {
  auto responder = std::make_shared<ScriptedResponder>(Answered("Here is how."));
  BotHarness<TestType> h(responder);
  h.SetBot(true, 0.5);
  KnowledgeEntry entry = h.AddQa(kPasswordQuestion, kPasswordAnswer);

  BotCustomer customer = h.Ask("Hello there");
  CHECK(h.Process() == 1);
  Message second = h.Say(customer, "I forgot my password, how do I reset it?");
  CHECK(h.Process() == 1);
  CHECK(BotMessages(h.History(customer)).size() == 2);

  std::vector<ResponderInput> inputs = responder->inputs();
  REQUIRE(inputs.size() == 2);
  CHECK(inputs[0].question == "Hello there");
  CHECK(inputs[0].passages.empty());  // no searchable word in a greeting
  const ResponderInput& input = inputs[1];
  CHECK(input.app_id == h.app_id());
  CHECK(input.conversation_id == customer.conversation);
  CHECK(input.question == second.text);
  CHECK(input.min_score == Approx(0.5));
  // Oldest first, the question last: the greeting, the bot's first answer, the question.
  REQUIRE(input.recent_messages.size() == 3);
  CHECK(input.recent_messages[0].text == "Hello there");
  CHECK(input.recent_messages[1].sender.type == SenderType::kBot);
  CHECK(input.recent_messages[2].id == second.id);
  REQUIRE_FALSE(input.passages.empty());
  CHECK(input.passages.front().entry.id == entry.id);
  CHECK(input.passages.front().score > 0);
  CHECK(input.passages.size() <= 5);
}

BOT_TEST("only the last ten messages go to the responder", "[answer]") {
  auto responder = std::make_shared<ScriptedResponder>(Answered("Noted."));
  BotHarness<TestType> h(responder);
  h.SetBot(true);
  BotCustomer customer = h.Ask("message 0");
  CHECK(h.Process() == 1);
  Message last;
  for (int i = 1; i <= 7; ++i) {
    last = h.Say(customer, "message " + std::to_string(i));
    CHECK(h.Process() == 1);
  }
  std::vector<ResponderInput> inputs = responder->inputs();
  REQUIRE(inputs.size() == 8);
  const std::vector<Message>& recent = inputs.back().recent_messages;
  REQUIRE(recent.size() == 10);  // 15 messages so far: 8 questions, 7 answers
  CHECK(recent.back().id == last.id);
  CHECK(recent.front().seq == last.seq - 9);
}

// ---------------------------------------------------------------------------
// Hand-off

BOT_TEST("an unrelated question hands the conversation to the team and nothing is invented", "[handoff]") {
  BotHarness<TestType> h;
  h.SetBot(true);
  h.AddQa(kPasswordQuestion, kPasswordAnswer);
  h.AddText("Refunds are paid to the original payment method within 5 business days.");
  EventRecorder events(h.chat());

  BotCustomer customer = h.Ask("Do you sell gift cards for birthdays?");
  REQUIRE(customer.created.status == ConversationStatus::kPending);
  CHECK(h.Process() == 1);

  CHECK(BotMessages(h.History(customer)).empty());
  Conversation conversation = h.Get(customer);
  CHECK(conversation.status == ConversationStatus::kOpen);
  CHECK(conversation.assignee_id.empty());  // manual assignment: nobody picked

  std::vector<std::shared_ptr<const Event>> updated =
      events.Of(customer.conversation, EventType::kConversationUpdated);
  REQUIRE(updated.size() == 1);
  REQUIRE(updated[0]->conversation.has_value());
  CHECK(updated[0]->conversation->status == ConversationStatus::kOpen);
  CHECK(EventVisibleTo(*updated[0], h.owner()));

  std::vector<Delivery> bot = h.Deliveries();
  REQUIRE(bot.size() == 1);
  CHECK(bot[0].status == DeliveryStatus::kDelivered);
  CHECK(bot[0].last_error.empty());

  // Handed over: the bot does not answer any more.
  h.Say(customer, "How do I reset my password?");
  CHECK(h.Deliveries().size() == 1);
  CHECK(h.Process() == 0);
  CHECK(BotMessages(h.History(customer)).empty());
  CHECK(h.Get(customer).status == ConversationStatus::kOpen);
}

BOT_TEST("a passage below min_score is not good enough", "[handoff]") {
  BotHarness<TestType> h;
  h.SetBot(true, 0.9);
  h.AddQa(kPasswordQuestion, kPasswordAnswer);
  // "reset", "email" and "password": two of three words match (0.67 < 0.9).
  BotCustomer strict = h.Ask("reset email password");
  CHECK(h.Process() == 1);
  CHECK(BotMessages(h.History(strict)).empty());
  CHECK(h.Get(strict).status == ConversationStatus::kOpen);

  h.SetBot(true, 0.6);
  BotCustomer lenient = h.Ask("reset email password");
  CHECK(h.Process() == 1);
  std::vector<Message> answers = BotMessages(h.History(lenient));
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].text == kPasswordAnswer);
  CHECK(h.Get(lenient).status == ConversationStatus::kPending);
}

BOT_TEST("a host responder that fails hands the conversation over", "[handoff][responder]") {
  auto responder = std::make_shared<ScriptedResponder>(UnavailableError("the model is down"));
  BotHarness<TestType> h(responder);
  h.SetBot(true);
  h.AddQa(kPasswordQuestion, kPasswordAnswer);
  BotCustomer customer = h.Ask("how can I reset my password");
  CHECK(h.Process() == 1);
  CHECK(responder->inputs().size() == 1);
  CHECK(BotMessages(h.History(customer)).empty());
  CHECK(h.Get(customer).status == ConversationStatus::kOpen);
  std::vector<Delivery> bot = h.Deliveries();
  REQUIRE(bot.size() == 1);
  CHECK(bot[0].status == DeliveryStatus::kDelivered);  // handed over: the delivery did its job
}

BOT_TEST("an unusable answer from a host responder hands the conversation over", "[handoff][responder]") {
  auto responder = std::make_shared<ScriptedResponder>(Answered("bad \xFF utf-8"));
  BotHarness<TestType> h(responder);
  h.SetBot(true);
  BotCustomer customer = h.Ask("anything at all");
  CHECK(h.Process() == 1);
  CHECK(BotMessages(h.History(customer)).empty());
  CHECK(h.Get(customer).status == ConversationStatus::kOpen);
}

BOT_TEST("webhooks fire for the bot's message and for the hand-off", "[handoff][webhooks]") {
  BotHarness<TestType> h;
  h.SetBot(true);
  h.AddQa(kPasswordQuestion, kPasswordAnswer);
  WebhookCreate hook;
  hook.url = kHookUrl;
  hook.events = {"message.created", "conversation.updated"};
  LIBCHAT_REQUIRE_OK(h.chat().CreateWebhook(h.owner(), h.app_id(), hook));

  BotCustomer answered = h.Ask("how can I reset my password");
  BotCustomer handed = h.Ask("what is the meaning of life");
  h.Process();
  h.Process();  // the webhooks queued by the first run

  std::vector<WebhookRequest> sent = h.delivery().webhooks->requests();
  bool bot_message_hook = false;
  bool handoff_hook = false;
  for (const WebhookRequest& request : sent) {
    const Json body = Json::parse(request.body);
    const std::string type = body["type"];
    if (type == "message.created" && body["data"]["message"]["sender"]["type"] == "bot") {
      bot_message_hook = body["data"]["message"]["conversation_id"] == answered.conversation.str();
    }
    if (type == "conversation.updated" && body["data"]["conversation"]["id"] == handed.conversation.str()) {
      handoff_hook = body["data"]["conversation"]["status"] == "open";
    }
  }
  INFO("webhooks sent: " << sent.size());
  CHECK(bot_message_hook);
  CHECK(handoff_hook);
}

// ---------------------------------------------------------------------------
// Retries, disabling, races

BOT_TEST("running a bot delivery again does not post twice", "[retry]") {
  BotHarness<TestType> h;
  h.SetBot(true);
  h.AddQa(kPasswordQuestion, kPasswordAnswer);
  BotCustomer customer = h.Ask("how can I reset my password");
  CHECK(h.Process() == 1);
  REQUIRE(BotMessages(h.History(customer)).size() == 1);

  const DeliveryId id = h.Deliveries().front().id;
  Delivery again = LIBCHAT_VALUE(h.chat().RetryDelivery(h.owner(), h.app_id(), id));
  CHECK(again.status == DeliveryStatus::kPending);
  CHECK(h.Process() == 1);
  CHECK(BotMessages(h.History(customer)).size() == 1);
  Delivery done = LIBCHAT_VALUE(h.chat().GetDelivery(h.owner(), h.app_id(), id));
  CHECK(done.status == DeliveryStatus::kDelivered);
  CHECK(done.attempts.size() == 2);
}

BOT_TEST("a bot delivery whose worker died after posting runs again without posting twice", "[retry]") {
  BotHarness<TestType> h(nullptr, [](std::shared_ptr<Store> inner) -> std::shared_ptr<Store> {
    return std::make_shared<LosesFirstDeliveredUpdate>(std::move(inner));
  });
  h.SetBot(true);
  h.AddQa(kPasswordQuestion, kPasswordAnswer);
  BotCustomer customer = h.Ask("how can I reset my password");
  CHECK(h.Process() == 1);  // posts, then fails to record it: the claim stays until its lease ends
  REQUIRE(BotMessages(h.History(customer)).size() == 1);
  CHECK(h.Deliveries().front().status == DeliveryStatus::kPending);
  CHECK(h.Process() == 0);  // still claimed

  h.clock().Advance(h.chat().options().delivery.claim_lease + std::chrono::seconds(1));
  CHECK(h.Process() == 1);
  std::vector<Message> answers = BotMessages(h.History(customer));
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].text == kPasswordAnswer);
  CHECK(h.Deliveries().front().status == DeliveryStatus::kDelivered);
  CHECK(h.Get(customer).last_seq == 2);
}

BOT_TEST("with the bot disabled nothing is queued and conversations start open", "[disabled]") {
  BotHarness<TestType> h;
  h.AddQa(kPasswordQuestion, kPasswordAnswer);
  BotCustomer customer = h.Ask("how can I reset my password");
  CHECK(customer.created.status == ConversationStatus::kOpen);
  CHECK(h.Deliveries().empty());
  CHECK(h.Process() == 0);
  CHECK(BotMessages(h.History(customer)).empty());

  // Enabled later: conversations that are already open stay with the team.
  h.SetBot(true);
  h.Say(customer, "hello? how do I reset my password");
  CHECK(h.Deliveries().empty());
}

BOT_TEST("a bot switched off before its reply ran hands the conversation over", "[disabled]") {
  BotHarness<TestType> h;
  h.SetBot(true);
  h.AddQa(kPasswordQuestion, kPasswordAnswer);
  BotCustomer customer = h.Ask("how can I reset my password");
  REQUIRE(h.Deliveries().size() == 1);
  h.SetBot(false);
  CHECK(h.Process() == 1);
  CHECK(BotMessages(h.History(customer)).empty());
  CHECK(h.Get(customer).status == ConversationStatus::kOpen);
}

BOT_TEST("a conversation the team took over before the reply ran is left alone", "[handoff]") {
  BotHarness<TestType> h;
  h.SetBot(true);
  h.AddQa(kPasswordQuestion, kPasswordAnswer);
  BotCustomer customer = h.Ask("how can I reset my password");
  ConversationUpdate update;
  update.status = ConversationStatus::kOpen;
  update.assignee_id = h.owner().id;
  LIBCHAT_REQUIRE_OK(h.chat().UpdateConversation(h.owner(), customer.conversation, update));
  CHECK(h.Process() == 1);
  CHECK(BotMessages(h.History(customer)).empty());
  std::vector<Delivery> bot = h.Deliveries();
  REQUIRE(bot.size() == 1);
  CHECK(bot[0].status == DeliveryStatus::kSkipped);
  Conversation conversation = h.Get(customer);
  CHECK(conversation.status == ConversationStatus::kOpen);
  CHECK(conversation.assignee_id == h.owner().id);
}

BOT_TEST("a hand-off assigns round robin among the operators online", "[handoff][assignment]") {
  BotHarness<TestType> h;
  h.SetBot(true);
  h.AddQa(kPasswordQuestion, kPasswordAnswer);
  AssignmentSettings round_robin;
  round_robin.mode = AssignmentMode::kRoundRobin;
  LIBCHAT_REQUIRE_OK(h.chat().PutAssignment(h.owner(), h.app_id(), round_robin));
  Principal ann = h.AddOperator("Ann");
  Principal bob = h.AddOperator("Bob");
  Principal cid = h.AddOperator("Cid");  // never online: never picked
  LIBCHAT_REQUIRE_OK(h.chat().SetPresence(ann, true));
  LIBCHAT_REQUIRE_OK(h.chat().SetPresence(bob, true));

  std::vector<std::string> assignees;
  for (int i = 0; i < 4; ++i) {
    BotCustomer customer = h.Ask("Do you sell gift cards? #" + std::to_string(i));
    REQUIRE(customer.created.status == ConversationStatus::kPending);
    CHECK(customer.created.assignee_id.empty());  // the bot has it first
    CHECK(h.Process() == 1);
    Conversation conversation = h.Get(customer);
    CHECK(conversation.status == ConversationStatus::kOpen);
    assignees.push_back(conversation.assignee_id);
  }
  CHECK(assignees[0] != assignees[1]);
  CHECK(assignees[0] == assignees[2]);
  CHECK(assignees[1] == assignees[3]);
  CHECK(Sorted({assignees[0], assignees[1]}) == Sorted({ann.id, bob.id}));

  // A question the bot answers stays with it, unassigned.
  BotCustomer answered = h.Ask("how can I reset my password");
  CHECK(h.Process() == 1);
  Conversation kept = h.Get(answered);
  CHECK(kept.status == ConversationStatus::kPending);
  CHECK(kept.assignee_id.empty());

  // Nobody online: handed over unassigned.
  LIBCHAT_REQUIRE_OK(h.chat().SetPresence(ann, false));
  LIBCHAT_REQUIRE_OK(h.chat().SetPresence(bob, false));
  BotCustomer late = h.Ask("Do you sell gift cards at night?");
  CHECK(h.Process() == 1);
  Conversation unassigned = h.Get(late);
  CHECK(unassigned.status == ConversationStatus::kOpen);
  CHECK(unassigned.assignee_id.empty());
  (void)cid;
}

BOT_TEST("an assignee set while the bot had the conversation is kept on hand-off", "[handoff][assignment]") {
  BotHarness<TestType> h;
  h.SetBot(true);
  AssignmentSettings round_robin;
  round_robin.mode = AssignmentMode::kRoundRobin;
  LIBCHAT_REQUIRE_OK(h.chat().PutAssignment(h.owner(), h.app_id(), round_robin));
  Principal ann = h.AddOperator("Ann");
  LIBCHAT_REQUIRE_OK(h.chat().SetPresence(ann, true));
  BotCustomer customer = h.Ask("Do you sell gift cards?");
  ConversationUpdate update;
  update.assignee_id = h.owner().id;  // still pending: the bot keeps answering until it hands over
  LIBCHAT_REQUIRE_OK(h.chat().UpdateConversation(h.owner(), customer.conversation, update));
  CHECK(h.Process() == 1);
  Conversation conversation = h.Get(customer);
  CHECK(conversation.status == ConversationStatus::kOpen);
  CHECK(conversation.assignee_id == h.owner().id);
}

// ---------------------------------------------------------------------------
// An OpenAI-compatible endpoint end to end

BOT_TEST("an OpenAI-compatible responder answers through Options::responder", "[openai]") {
  FakeHttpServer model;
  FakeHttpServer::Response reply;
  reply.headers = {{"Content-Type", "application/json"}};
  reply.body = Json{{"choices", Json::array({Json{{"index", 0},
                                                  {"message", {{"role", "assistant"},
                                                               {"content", "  Go to Settings, then Security.  "}}}}})}}
                   .dump();
  model.Enqueue(reply);
  OpenAiResponderOptions options;
  options.base_url = model.url("/v1");
  options.model = "test-model";
  options.api_key = "sk-test";
  std::shared_ptr<HttpClient> client = LIBCHAT_VALUE(NewCurlHttpClient());
  std::shared_ptr<Responder> responder = LIBCHAT_VALUE(NewOpenAiResponder(options, client));

  BotHarness<TestType> h(responder);
  h.SetBot(true);
  KnowledgeEntry entry = h.AddQa(kPasswordQuestion, kPasswordAnswer);
  BotCustomer customer = h.Ask("how can I reset my password");
  CHECK(h.Process() == 1);

  const std::vector<FakeHttpServer::Request> requests = model.requests();
  REQUIRE(requests.size() == 1);
  const FakeHttpServer::Request& request = requests.front();
  CHECK(request.target == "/v1/chat/completions");
  CHECK(request.Header("authorization") == "Bearer sk-test");
  const Json body = Json::parse(request.body);
  CHECK(body["model"] == "test-model");
  CHECK(body.dump().find(kPasswordAnswer) != std::string::npos);  // the passage went along

  std::vector<Message> answers = BotMessages(h.History(customer));
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].text == "Go to Settings, then Security.");
  CHECK(Json::parse(answers[0].metadata_json)["bot"]["sources"] == Json::array({entry.id.str()}));
  CHECK(h.Get(customer).status == ConversationStatus::kPending);

  // The model hands off: the team takes over.
  FakeHttpServer::Response handoff = reply;
  handoff.body = Json{{"choices", Json::array({Json{{"message", {{"role", "assistant"}, {"content", "HANDOFF"}}}}})}}
                     .dump();
  model.Enqueue(handoff);
  h.Say(customer, "And how do I reset my password?");
  CHECK(h.Process() == 1);
  CHECK(model.requests().size() == 2);
  CHECK(BotMessages(h.History(customer)).size() == 1);
  CHECK(h.Get(customer).status == ConversationStatus::kOpen);
}

}  // namespace
