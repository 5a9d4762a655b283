// Delivery beyond the socket (webhooks, email fallback, message.offline, notifications) through the
// libchat::Chat facade, as an embedding host drives it: a FakeClock that only moves when told to and
// Chat::ProcessDueDeliveries called by the test, so no test sleeps through a backoff. Webhooks go over
// real HTTP (libcurl) to a scripted FakeHttpServer on 127.0.0.1 (allowed through
// DeliveryOptions::allowed_private_networks); email goes to a recording provider built by
// DeliveryOptions::email_provider_factory. Every DELIVERY_TEST runs once per store: in-memory and SQLite.
//
// Webhook signatures are checked with an independent Standard Webhooks verifier (OpenSSL HMAC-SHA256 and
// base64 directly), never with libchat's own signing code.
//
// Sections: webhooks (retries, timeouts, 410, Retry-After, dead letter, SSRF, rotation) · secrets at rest ·
// email fallback · message.offline · notifications · restart (SQLite) · host policy steps · tenant isolation.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "chat_test_util.h"
#include "delivery_test_doubles.h"
#include "libchat/chat.h"
#include "libchat/delivery_policy.h"
#include "libchat/providers/email.h"
#include "libchat/testing/fake_clock.h"
#include "store_test_util.h"
#include "support/fake_http_server.h"

namespace {

using namespace libchat;        // NOLINT: test brevity
using namespace libchat::test;  // NOLINT
using libchat::testsupport::FakeHttpServer;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using Json = nlohmann::json;

#define DELIVERY_TEST(name, tags) \
  TEMPLATE_TEST_CASE("delivery: " name, "[delivery]" tags, MemoryBackend, SqliteBackend)

// Exactly 32 bytes: the AES-256-GCM key for secrets at rest.
constexpr char kSecretsKey[] = "delivery-test-secrets-key-32byte";
static_assert(sizeof(kSecretsKey) == 33, "the secrets key must be 32 bytes");

bool Contains(const std::string& haystack, const std::string& needle) {
  return !needle.empty() && haystack.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------
// An independent Standard Webhooks verifier (https://www.standardwebhooks.com): OpenSSL only.

std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(&out[0]),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> Unbase64(std::string text) {
  while (text.size() % 4 != 0) text += '=';
  std::string out(3 * text.size() / 4 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(&out[0]),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the bytes of the padding as zeros.
  std::size_t padding = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

// "v1,<base64 HMAC-SHA256(base64decode(secret after "whsec_"), "{id}.{timestamp}.{body}")>".
std::string ExpectedSignature(const std::string& secret, const std::string& id, const std::string& timestamp,
                              const std::string& body) {
  REQUIRE(secret.rfind("whsec_", 0) == 0);
  const std::optional<std::string> key = Unbase64(secret.substr(6));
  REQUIRE(key.has_value());
  REQUIRE(key->size() >= 16);
  const std::string content = id + "." + timestamp + "." + body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), digest, &length);
  return "v1," + Base64(std::string(reinterpret_cast<const char*>(digest), length));
}

// The space-separated "v1,…" entries of a webhook-signature header.
std::vector<std::string> SignatureEntries(const std::string& header) {
  std::vector<std::string> entries;
  std::istringstream in(header);
  for (std::string entry; in >> entry;) entries.push_back(entry);
  return entries;
}

// True when one of the request's signatures is the one `secret` makes over its id, timestamp and body.
bool SignedWith(const std::string& secret, const FakeHttpServer::Request& request) {
  const std::string expected =
      ExpectedSignature(secret, request.Header("webhook-id"), request.Header("webhook-timestamp"), request.body);
  const std::vector<std::string> entries = SignatureEntries(request.Header("webhook-signature"));
  return std::find(entries.begin(), entries.end(), expected) != entries.end();
}

std::int64_t TimestampHeader(const FakeHttpServer::Request& request) {
  const std::string text = request.Header("webhook-timestamp");
  REQUIRE(!text.empty());
  REQUIRE(text.find_first_not_of("0123456789") == std::string::npos);
  return std::stoll(text);
}

FakeHttpServer::Response Answer(int status, std::string body = "",
                                std::vector<std::pair<std::string, std::string>> headers = {}) {
  FakeHttpServer::Response response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

// ---------------------------------------------------------------------------
// Test doubles and the harness.

using RecordingEmail = RecordingEmailProvider;

// The configurations the email provider factory was asked to build, oldest first.
class ConfigLog {
 public:
  void Add(const EmailProviderConfig& config) {
    std::lock_guard<std::mutex> lock(mutex_);
    configs_.push_back(config);
  }
  std::vector<EmailProviderConfig> all() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return configs_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<EmailProviderConfig> configs_;
};

using ConfigureDelivery = std::function<void(DeliveryOptions&)>;

// Delivery options for tests: the 32-byte secrets key, loopback allowed (unless told otherwise) and
// every app's email provider `email`, each configuration it is built from logged in `configs`.
Options DeliveryTestOptions(std::shared_ptr<Store> store, std::shared_ptr<Clock> clock,
                            std::shared_ptr<RecordingEmail> email, std::shared_ptr<ConfigLog> configs,
                            bool allow_loopback, const ConfigureDelivery& configure) {
  Options options = ChatTestOptions(std::move(store), std::move(clock));
  options.delivery.secrets_key = kSecretsKey;
  if (allow_loopback) options.delivery.allowed_private_networks = {"127.0.0.0/8"};
  options.delivery.email_provider_factory =
      [provider = std::move(email), log = std::move(configs)](
          const EmailProviderConfig& config) -> Result<std::shared_ptr<EmailProvider>> {
    log->Add(config);
    return std::shared_ptr<EmailProvider>(provider);
  };
  if (configure) configure(options.delivery);
  return options;
}

// A customer who started a support conversation through the SDK.
struct Customer {
  CustomerId id;
  Principal principal;  // the publishable key + its session token
  ConversationId conversation;
};

// A Chat over a fresh store of `Backend` with an account, one app, a FakeClock and the recording email
// provider. Every helper REQUIREs success.
template <typename Backend>
class DeliveryHarness {
 public:
  explicit DeliveryHarness(const ConfigureDelivery& configure = nullptr, bool allow_loopback = true)
      : clock_(std::make_shared<testing::FakeClock>()),
        email_(std::make_shared<RecordingEmail>()),
        configs_(std::make_shared<ConfigLog>()) {
    chat_ = LIBCHAT_VALUE(
        Chat::Open(DeliveryTestOptions(backend_.shared(), clock_, email_, configs_, allow_loopback, configure)));
    owner_ = Register("owner@example.com");
    app_ = CreateApp(owner_, "Acme Support");
  }

  Chat& chat() { return *chat_; }
  testing::FakeClock& clock() { return *clock_; }
  Store& store() { return *backend_; }
  RecordingEmail& email() { return *email_; }
  std::vector<EmailProviderConfig> email_configs() const { return configs_->all(); }
  const TestAccount& owner() const { return owner_; }
  const TestApp& app() const { return app_; }
  const AppId& app_id() const { return app_.app.id; }
  Timestamp Now() const { return clock_->Now(); }

  TestAccount Register(const std::string& address) {
    AuthSession session = LIBCHAT_VALUE(chat_->Register(RegisterRequest{address, kChatTestPassword, "Owner"}));
    TestAccount out;
    out.account = session.account;
    out.token = session.token;
    out.principal = LIBCHAT_VALUE(chat_->Authenticate(BearerCredentials(session.token)));
    return out;
  }

  TestApp CreateApp(const TestAccount& account, const std::string& name) {
    AppCreate request;
    request.name = name;
    CreatedApp created = LIBCHAT_VALUE(chat_->CreateApp(account.principal, request));
    TestApp out;
    out.app = created.app;
    out.secret_key = created.secret_key;
    out.identity_secret = created.identity_secret;
    out.server = LIBCHAT_VALUE(chat_->Authenticate(KeyCredentials(created.secret_key)));
    out.publishable = LIBCHAT_VALUE(chat_->Authenticate(KeyCredentials(created.app.publishable_key)));
    return out;
  }

  // A new customer (with `email` when not empty) whose first message opens a support conversation.
  Customer NewCustomer(const std::string& address = "", const std::string& text = "Hello, I need help") {
    return NewCustomerOf(app_, address, text);
  }
  Customer NewCustomerOf(const TestApp& target, const std::string& address, const std::string& text) {
    SdkSendRequest request;
    request.message = TextMessage(text);
    request.customer.name = "Carol";
    request.customer.email = address;
    SendResult sent = LIBCHAT_VALUE(chat_->SdkSendMessage(target.publishable, request));
    REQUIRE_FALSE(sent.session_token.empty());
    Customer out;
    out.id = sent.conversation.customer_id;
    out.conversation = sent.conversation.id;
    out.principal = LIBCHAT_VALUE(
        chat_->Authenticate(KeyCredentials(target.app.publishable_key, sent.session_token)));
    REQUIRE(out.principal.type == PrincipalType::kCustomer);
    return out;
  }

  // The app's owner writes to the customer.
  Message Reply(const Customer& customer, const std::string& text) {
    return LIBCHAT_VALUE(chat_->SendMessage(owner_.principal, customer.conversation, TextMessage(text))).message;
  }

  CreatedWebhook Hook(const std::string& url, std::vector<std::string> events) {
    WebhookCreate request;
    request.url = url;
    request.events = std::move(events);
    CreatedWebhook created = LIBCHAT_VALUE(chat_->CreateWebhook(owner_.principal, app_id(), request));
    REQUIRE(created.secret.rfind("whsec_", 0) == 0);
    REQUIRE(created.webhook.enabled);
    return created;
  }

  void SetPolicy(std::vector<DeliveryChannel> channels, seconds offline_after = seconds(60),
                 seconds email_fallback_after = seconds(300)) {
    DeliveryPolicy policy;
    policy.channels = std::move(channels);
    policy.offline_after = offline_after;
    policy.email_fallback_after = email_fallback_after;
    LIBCHAT_REQUIRE_OK(chat_->PutDeliveryPolicy(owner_.principal, app_id(), policy));
  }

  // An SMTP provider without credentials (the factory replaces it with the recording one anyway).
  void SetEmailProvider(const std::string& from = "Acme Support <support@acme.example>") {
    EmailProviderConfig config;
    config.type = "smtp";
    config.from = from;
    config.settings = {{"host", "smtp.acme.example"}, {"port", "587"}};
    LIBCHAT_REQUIRE_OK(chat_->PutEmailProvider(owner_.principal, app_id(), config));
  }

  int Process(int limit = 16) { return LIBCHAT_VALUE(chat_->ProcessDueDeliveries(limit)); }

  // Every delivery of the app, newest first, with attempts.
  std::vector<Delivery> Deliveries(DeliveryFilter filter = DeliveryFilter{}) {
    filter.limit = 200;
    return LIBCHAT_VALUE(chat_->ListDeliveries(owner_.principal, app_id(), filter)).data;
  }
  std::vector<Delivery> DeliveriesOfKind(const std::string& kind) {
    std::vector<Delivery> out;
    for (Delivery& delivery : Deliveries()) {
      if (delivery.kind == kind) out.push_back(std::move(delivery));
    }
    return out;
  }
  Delivery GetDelivery(const DeliveryId& id) {
    return LIBCHAT_VALUE(chat_->GetDelivery(owner_.principal, app_id(), id));
  }

  // The one delivery of `kind`, REQUIREd to exist once.
  Delivery Only(const std::string& kind) {
    std::vector<Delivery> found = DeliveriesOfKind(kind);
    INFO("deliveries of kind " << kind);
    REQUIRE(found.size() == 1);
    return found.front();
  }

  Notification Notify(const NotificationRequest& request) {
    return LIBCHAT_VALUE(chat_->CreateNotification(owner_.principal, app_id(), request));
  }
  Notification GetNotification(const NotificationId& id) {
    return LIBCHAT_VALUE(chat_->GetNotification(owner_.principal, app_id(), id));
  }

 private:
  Backend backend_;  // declared first: outlives the Chat
  std::shared_ptr<testing::FakeClock> clock_;
  std::shared_ptr<RecordingEmail> email_;
  std::shared_ptr<ConfigLog> configs_;
  std::unique_ptr<Chat> chat_;
  TestAccount owner_;
  TestApp app_;
};

std::vector<int> AttemptNumbers(const Delivery& delivery) {
  std::vector<int> out;
  for (const DeliveryAttempt& attempt : delivery.attempts) out.push_back(attempt.number);
  return out;
}

std::vector<int> AttemptCodes(const Delivery& delivery) {
  std::vector<int> out;
  for (const DeliveryAttempt& attempt : delivery.attempts) out.push_back(attempt.status_code);
  return out;
}

NotificationRequest WebSocketNotification(const CustomerId& customer, const std::string& body) {
  NotificationRequest request;
  request.customer_ids = {customer};
  request.channels = {DeliveryChannel::kWebSocket};
  request.body = body;
  return request;
}

// The notification events recorded so far, oldest first.
std::vector<std::shared_ptr<const Event>> NotificationEvents(const EventRecorder& recorder) {
  std::vector<std::shared_ptr<const Event>> out;
  for (const auto& event : recorder.All()) {
    if (event->type == EventType::kNotification) out.push_back(event);
  }
  return out;
}

// ===========================================================================
// Webhooks

DELIVERY_TEST("a webhook answered 500, 500, then 200 is delivered on the third attempt, signed each time",
              "[webhook]") {
  FakeHttpServer receiver;
  receiver.Enqueue(Answer(500, "upstream exploded"));
  receiver.Enqueue(Answer(500));
  receiver.Enqueue(Answer(200, "{}"));
  DeliveryHarness<TestType> h;
  const CreatedWebhook hook = h.Hook(receiver.url("/hooks/chat"), {"message.created"});
  const Timestamp t0 = h.Now();
  const Customer customer = h.NewCustomer("", "Where is my order?");

  const Delivery queued = h.Only("message.created");
  CHECK(queued.channel == DeliveryChannel::kWebhook);
  CHECK(queued.webhook_id == hook.webhook.id);
  CHECK(queued.status == DeliveryStatus::kPending);
  CHECK(queued.attempt_count == 0);
  CHECK(Ms(queued.next_attempt_at) <= Ms(t0));  // the first attempt is due at once

  // Attempt 1: 500.
  CHECK(h.Process() == 1);
  REQUIRE(receiver.requests().size() == 1);
  const Delivery after1 = h.GetDelivery(queued.id);
  CHECK(after1.status == DeliveryStatus::kPending);
  CHECK(after1.attempt_count == 1);
  REQUIRE(after1.attempts.size() == 1);
  CHECK(after1.attempts[0].number == 1);
  CHECK(after1.attempts[0].status_code == 500);
  CHECK(Contains(after1.attempts[0].error, "500"));
  CHECK(Ms(after1.attempts[0].at) == Ms(t0));
  CHECK_FALSE(after1.last_error.empty());
  // The schedule's second step is 5 s, with +-20% jitter.
  const Timestamp retry1 = after1.next_attempt_at;
  CHECK(Ms(retry1) >= Ms(t0) + 4000);
  CHECK(Ms(retry1) <= Ms(t0) + 6000);

  // Not before the backoff has elapsed.
  h.clock().Set(t0 + milliseconds(3999));
  CHECK(h.Process() == 0);
  h.clock().Set(retry1 - milliseconds(1));
  CHECK(h.Process() == 0);
  CHECK(receiver.requests().size() == 1);

  // Attempt 2: 500 again; the next step is 5 min (+-20%).
  h.clock().Set(retry1);
  CHECK(h.Process() == 1);
  REQUIRE(receiver.requests().size() == 2);
  const Delivery after2 = h.GetDelivery(queued.id);
  CHECK(after2.status == DeliveryStatus::kPending);
  CHECK(AttemptNumbers(after2) == std::vector<int>{1, 2});
  const Timestamp retry2 = after2.next_attempt_at;
  CHECK(Ms(retry2) >= Ms(retry1) + 240000);
  CHECK(Ms(retry2) <= Ms(retry1) + 360000);
  h.clock().Set(retry2 - milliseconds(1));
  CHECK(h.Process() == 0);

  // Attempt 3: 200, delivered.
  h.clock().Set(retry2);
  CHECK(h.Process() == 1);
  const Delivery done = h.GetDelivery(queued.id);
  CHECK(done.status == DeliveryStatus::kDelivered);
  CHECK(done.attempt_count == 3);
  CHECK(AttemptNumbers(done) == std::vector<int>{1, 2, 3});
  CHECK(AttemptCodes(done) == std::vector<int>{500, 500, 200});
  REQUIRE(done.attempts.size() == 3);
  CHECK_FALSE(done.attempts[0].error.empty());
  CHECK_FALSE(done.attempts[1].error.empty());
  CHECK(done.attempts[2].error.empty());
  CHECK(Ms(done.attempts[1].at) == Ms(retry1));
  CHECK(Ms(done.attempts[2].at) == Ms(retry2));

  // The list shows the same history.
  DeliveryFilter by_hook;
  by_hook.webhook_id = hook.webhook.id;
  const std::vector<Delivery> listed = h.Deliveries(by_hook);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].id == queued.id);
  CHECK(listed[0].status == DeliveryStatus::kDelivered);
  CHECK(AttemptNumbers(listed[0]) == std::vector<int>{1, 2, 3});
  CHECK(AttemptCodes(listed[0]) == std::vector<int>{500, 500, 200});

  // What the receiver saw: one event, the same webhook-id and body three times, each validly signed
  // and stamped with the (fake) time of its own attempt.
  const std::vector<FakeHttpServer::Request> requests = receiver.requests();
  REQUIRE(requests.size() == 3);
  const Timestamp attempt_times[] = {t0, retry1, retry2};
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const FakeHttpServer::Request& request = requests[i];
    INFO("request " << i + 1);
    CHECK(request.method == "POST");
    CHECK(request.target == "/hooks/chat");
    CHECK(request.Header("content-type").rfind("application/json", 0) == 0);
    CHECK(request.Header("webhook-id") == queued.id.str());
    CHECK(request.body == requests[0].body);
    CHECK(SignedWith(hook.secret, request));
    CHECK(TimestampHeader(request) == Ms(attempt_times[i]) / 1000);
  }
  const Json body = Json::parse(requests[0].body);
  CHECK(body.at("type") == "message.created");
  CHECK(body.at("data").at("message").at("text") == "Where is my order?");
  CHECK(body.at("data").at("conversation").at("id") == customer.conversation.str());

  // A tampered body or another secret does not verify: the verifier itself can fail.
  FakeHttpServer::Request tampered = requests[0];
  tampered.body += " ";
  CHECK_FALSE(SignedWith(hook.secret, tampered));
  CHECK_FALSE(SignedWith("whsec_" + Base64(std::string(24, 'x')), requests[0]));

  // Delivered means done: nothing more goes out.
  h.clock().Advance(hours(48));
  CHECK(h.Process() == 0);
  CHECK(receiver.requests().size() == 3);
}

DELIVERY_TEST("a receiver that hangs past webhook_timeout gets a timeout attempt and a later retry",
              "[webhook]") {
  FakeHttpServer receiver;
  FakeHttpServer::Response hang = Answer(200);
  hang.delay = seconds(20);  // cut short when the server goes
  receiver.Enqueue(hang);
  DeliveryHarness<TestType> h([](DeliveryOptions& delivery) { delivery.webhook_timeout = milliseconds(300); });
  const CreatedWebhook hook = h.Hook(receiver.url("/slow"), {"message.created"});
  h.NewCustomer();
  const Timestamp t0 = h.Now();

  const auto started = std::chrono::steady_clock::now();
  CHECK(h.Process() == 1);
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(took >= milliseconds(250));
  CHECK(took < seconds(10));  // the timeout ended the attempt, not the receiver
  CHECK(receiver.requests().size() == 1);

  const Delivery timed_out = h.Only("message.created");
  CHECK(timed_out.status == DeliveryStatus::kPending);
  REQUIRE(timed_out.attempts.size() == 1);
  CHECK(timed_out.attempts[0].number == 1);
  CHECK(timed_out.attempts[0].status_code == 0);
  INFO("error: " << timed_out.attempts[0].error);
  CHECK((Contains(timed_out.attempts[0].error, "timeout") || Contains(timed_out.attempts[0].error, "timed out")));
  CHECK(Ms(timed_out.next_attempt_at) >= Ms(t0) + 4000);

  // The retry reaches a receiver that now answers at once, with the same webhook-id.
  h.clock().Set(timed_out.next_attempt_at);
  CHECK(h.Process() == 1);
  const Delivery done = h.GetDelivery(timed_out.id);
  CHECK(done.status == DeliveryStatus::kDelivered);
  CHECK(AttemptCodes(done) == std::vector<int>{0, 200});
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[1].Header("webhook-id") == requests[0].Header("webhook-id"));
  CHECK(SignedWith(hook.secret, requests[1]));
}

DELIVERY_TEST("a 410 disables the endpoint until it is re-enabled", "[webhook]") {
  FakeHttpServer receiver;
  receiver.Enqueue(Answer(410, "gone"));
  DeliveryHarness<TestType> h;
  const CreatedWebhook hook = h.Hook(receiver.url("/gone"), {"message.created"});
  const Customer customer = h.NewCustomer();

  CHECK(h.Process() == 1);
  const Delivery gone = h.Only("message.created");
  CHECK(gone.status == DeliveryStatus::kFailed);  // no retry after a 410
  CHECK(AttemptCodes(gone) == std::vector<int>{410});
  const WebhookEndpoint disabled = LIBCHAT_VALUE(h.chat().GetWebhook(h.owner().principal, h.app_id(), hook.webhook.id));
  CHECK_FALSE(disabled.enabled);
  CHECK_FALSE(disabled.disabled_reason.empty());
  CHECK(Contains(disabled.disabled_reason, "410"));

  // A later message creates no delivery for the disabled endpoint.
  h.Reply(customer, "Are you still there?");
  CHECK(h.Deliveries().size() == 1);
  h.clock().Advance(hours(1));
  CHECK(h.Process() == 0);
  CHECK(receiver.requests().size() == 1);

  // PATCH enabled=true re-enables it: the next message goes out again.
  WebhookUpdate enable;
  enable.enabled = true;
  const WebhookEndpoint enabled =
      LIBCHAT_VALUE(h.chat().UpdateWebhook(h.owner().principal, h.app_id(), hook.webhook.id, enable));
  CHECK(enabled.enabled);
  CHECK(enabled.disabled_reason.empty());
  CHECK(LIBCHAT_VALUE(h.chat().GetWebhook(h.owner().principal, h.app_id(), hook.webhook.id)).enabled);
  const Message later = h.Reply(customer, "Back again");
  CHECK(h.Process() == 1);
  const std::vector<Delivery> created = h.DeliveriesOfKind("message.created");
  REQUIRE(created.size() == 2);
  CHECK(created[0].status == DeliveryStatus::kDelivered);  // newest first
  CHECK(Json::parse(created[0].payload_json).at("data").at("message").at("id") == later.id.str());
  CHECK(created[1].status == DeliveryStatus::kFailed);
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 2);
  CHECK(Json::parse(requests[1].body).at("data").at("message").at("text") == "Back again");
}

DELIVERY_TEST("a 429 with Retry-After: 120 pushes the next attempt out 120 s", "[webhook]") {
  FakeHttpServer receiver;
  receiver.Enqueue(Answer(429, "slow down", {{"Retry-After", "120"}}));
  DeliveryHarness<TestType> h;
  h.Hook(receiver.url("/busy"), {"message.created"});
  h.NewCustomer();
  const Timestamp t0 = h.Now();

  CHECK(h.Process() == 1);
  const Delivery limited = h.Only("message.created");
  CHECK(limited.status == DeliveryStatus::kPending);
  CHECK(AttemptCodes(limited) == std::vector<int>{429});
  CHECK(Ms(limited.next_attempt_at) >= Ms(t0) + 120000);  // the schedule alone would say ~5 s

  h.clock().Set(t0 + seconds(6));
  CHECK(h.Process() == 0);
  h.clock().Set(t0 + seconds(119));
  CHECK(h.Process() == 0);
  CHECK(receiver.requests().size() == 1);
  h.clock().Set(limited.next_attempt_at);
  CHECK(h.Process() == 1);
  CHECK(h.GetDelivery(limited.id).status == DeliveryStatus::kDelivered);
  CHECK(receiver.requests().size() == 2);
}

DELIVERY_TEST("a webhook failing every attempt of a 3-step schedule is dead-lettered and can be replayed",
              "[webhook]") {
  FakeHttpServer receiver;
  receiver.SetHandler([](const FakeHttpServer::Request&) { return Answer(500, "always broken"); });
  DeliveryHarness<TestType> h([](DeliveryOptions& delivery) {
    delivery.retry_schedule = {milliseconds(0), seconds(10), seconds(20)};
  });
  const CreatedWebhook hook = h.Hook(receiver.url("/broken"), {"message.created"});
  h.NewCustomer();

  CHECK(h.Process() == 1);
  Delivery delivery = h.Only("message.created");
  CHECK(delivery.status == DeliveryStatus::kPending);
  h.clock().Set(delivery.next_attempt_at);
  CHECK(h.Process() == 1);
  delivery = h.GetDelivery(delivery.id);
  CHECK(delivery.status == DeliveryStatus::kPending);
  h.clock().Set(delivery.next_attempt_at);
  CHECK(h.Process() == 1);

  // Exactly three attempts, then the dead letter.
  delivery = h.GetDelivery(delivery.id);
  CHECK(delivery.status == DeliveryStatus::kFailed);
  CHECK(AttemptNumbers(delivery) == std::vector<int>{1, 2, 3});
  CHECK(AttemptCodes(delivery) == std::vector<int>{500, 500, 500});
  CHECK_FALSE(delivery.last_error.empty());
  h.clock().Advance(hours(24 * 7));
  CHECK(h.Process() == 0);
  CHECK(receiver.requests().size() == 3);
  CHECK_FALSE(LIBCHAT_VALUE(h.chat().NextDeliveryDue()).has_value());
  DeliveryFilter failed;
  failed.status = DeliveryStatus::kFailed;
  REQUIRE(h.Deliveries(failed).size() == 1);

  // Replay: same delivery (and webhook-id), attempt 4.
  receiver.SetHandler([](const FakeHttpServer::Request&) { return Answer(204); });
  const Delivery replayed = LIBCHAT_VALUE(h.chat().RetryDelivery(h.owner().principal, h.app_id(), delivery.id));
  CHECK(replayed.id == delivery.id);
  CHECK(replayed.status == DeliveryStatus::kPending);
  CHECK(replayed.attempts.size() == 3);  // the history is kept
  LIBCHAT_CHECK_CODE(h.chat().RetryDelivery(h.owner().principal, h.app_id(), delivery.id),
                     StatusCode::kFailedPrecondition);  // already pending
  CHECK(h.Process() == 1);
  const Delivery done = h.GetDelivery(delivery.id);
  CHECK(done.status == DeliveryStatus::kDelivered);
  CHECK(AttemptNumbers(done) == std::vector<int>{1, 2, 3, 4});
  CHECK(AttemptCodes(done) == std::vector<int>{500, 500, 500, 204});
  CHECK(h.Deliveries().size() == 1);
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 4);
  CHECK(requests[3].Header("webhook-id") == delivery.id.str());
  CHECK(SignedWith(hook.secret, requests[3]));
}

DELIVERY_TEST("webhook URLs aimed at private, loopback or link-local addresses are refused", "[webhook][ssrf]") {
  DeliveryHarness<TestType> h(nullptr, /*allow_loopback=*/false);
  for (const std::string url : {"http://127.0.0.1/", "http://10.0.0.1/", "http://169.254.169.254/",
                                "http://localhost/", "http://[::1]:8080/hook", "http://192.168.1.10/x",
                                "http://100.64.0.1/", "http://0.0.0.0/"}) {
    INFO("url: " << url);
    WebhookCreate request;
    request.url = url;
    request.events = {"message.created"};
    LIBCHAT_CHECK_CODE(h.chat().CreateWebhook(h.owner().principal, h.app_id(), request),
                       StatusCode::kPermissionDenied);
  }
  CHECK(LIBCHAT_VALUE(h.chat().ListWebhooks(h.owner().principal, h.app_id())).empty());
  // Nothing was stored, so a message creates no delivery.
  h.NewCustomer();
  CHECK(h.Deliveries().empty());

  // Not URLs a webhook can use: bad input, not a policy refusal.
  for (const std::string url : {"ftp://example.com/", "http://user:pw@example.com/", "not a url", ""}) {
    INFO("url: " << url);
    WebhookCreate request;
    request.url = url;
    request.events = {"message.created"};
    LIBCHAT_CHECK_CODE(h.chat().CreateWebhook(h.owner().principal, h.app_id(), request),
                       StatusCode::kInvalidArgument);
  }
  CHECK(LIBCHAT_VALUE(h.chat().ListWebhooks(h.owner().principal, h.app_id())).empty());
}

DELIVERY_TEST("an allowlist opens only the networks it names", "[webhook][ssrf]") {
  DeliveryHarness<TestType> h;  // 127.0.0.0/8 allowed
  const CreatedWebhook hook = h.Hook("http://127.0.0.1:9/hook", {"message.created"});
  for (const std::string url : {"http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/"}) {
    INFO("url: " << url);
    WebhookCreate create;
    create.url = url;
    create.events = {"message.created"};
    LIBCHAT_CHECK_CODE(h.chat().CreateWebhook(h.owner().principal, h.app_id(), create),
                       StatusCode::kPermissionDenied);
    WebhookUpdate update;
    update.url = url;
    LIBCHAT_CHECK_CODE(h.chat().UpdateWebhook(h.owner().principal, h.app_id(), hook.webhook.id, update),
                       StatusCode::kPermissionDenied);
  }
  const std::vector<WebhookEndpoint> hooks = LIBCHAT_VALUE(h.chat().ListWebhooks(h.owner().principal, h.app_id()));
  REQUIRE(hooks.size() == 1);
  CHECK(hooks[0].url == "http://127.0.0.1:9/hook");
}

DELIVERY_TEST("after a secret rotation both secrets sign for 24 hours, then only the new one", "[webhook]") {
  FakeHttpServer receiver;
  DeliveryHarness<TestType> h;
  const CreatedWebhook hook = h.Hook(receiver.url("/rotate"), {"message.created"});
  const Customer customer = h.NewCustomer();
  const CreatedWebhook rotated =
      LIBCHAT_VALUE(h.chat().RotateWebhookSecret(h.owner().principal, h.app_id(), hook.webhook.id));
  CHECK(rotated.secret.rfind("whsec_", 0) == 0);
  CHECK(rotated.secret != hook.secret);
  CHECK(h.Process() == 1);
  auto requests = receiver.requests();
  REQUIRE(requests.size() == 1);
  CHECK(SignatureEntries(requests[0].Header("webhook-signature")).size() == 2);
  CHECK(SignedWith(hook.secret, requests[0]));
  CHECK(SignedWith(rotated.secret, requests[0]));

  h.clock().Advance(hours(24) + seconds(1));
  h.Reply(customer, "A day later");
  CHECK(h.Process() == 1);
  requests = receiver.requests();
  REQUIRE(requests.size() == 2);
  CHECK(SignatureEntries(requests[1].Header("webhook-signature")).size() == 1);
  CHECK(SignedWith(rotated.secret, requests[1]));
  CHECK_FALSE(SignedWith(hook.secret, requests[1]));
}

DELIVERY_TEST("deleting an endpoint cancels its pending deliveries", "[webhook]") {
  FakeHttpServer receiver;
  receiver.Enqueue(Answer(500));
  DeliveryHarness<TestType> h;
  const CreatedWebhook hook = h.Hook(receiver.url("/soon-gone"), {"message.created"});
  h.NewCustomer();
  CHECK(h.Process() == 1);
  const Delivery pending = h.Only("message.created");
  CHECK(pending.status == DeliveryStatus::kPending);
  LIBCHAT_REQUIRE_OK(h.chat().DeleteWebhook(h.owner().principal, h.app_id(), hook.webhook.id));
  LIBCHAT_CHECK_CODE(h.chat().GetWebhook(h.owner().principal, h.app_id(), hook.webhook.id), StatusCode::kNotFound);
  h.clock().Advance(hours(1));
  CHECK(h.Process() == 0);
  CHECK(receiver.requests().size() == 1);
  // The history stays listed; the delivery will not go out again.
  const Delivery cancelled = h.GetDelivery(pending.id);
  CHECK(cancelled.status == DeliveryStatus::kCancelled);
  CHECK(AttemptCodes(cancelled) == std::vector<int>{500});
  LIBCHAT_CHECK_CODE(h.chat().RetryDelivery(h.owner().principal, h.app_id(), pending.id),
                     StatusCode::kFailedPrecondition);
}

DELIVERY_TEST("concurrent workers send each delivery exactly once", "[webhook][concurrency]") {
  FakeHttpServer receiver;
  DeliveryHarness<TestType> h;
  const CreatedWebhook hook = h.Hook(receiver.url("/many"), {"message.created"});
  const Customer customer = h.NewCustomer();
  constexpr int kReplies = 23;
  for (int i = 0; i < kReplies; ++i) h.Reply(customer, "reply " + std::to_string(i));
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&h] {
      for (int round = 0; round < 100; ++round) {
        auto processed = h.chat().ProcessDueDeliveries(2);
        if (!processed.ok() || *processed == 0) break;
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  const std::vector<FakeHttpServer::Request> requests = receiver.requests();
  std::set<std::string> ids;
  for (const auto& request : requests) {
    ids.insert(request.Header("webhook-id"));
    CHECK(SignedWith(hook.secret, request));
  }
  CHECK(requests.size() == kReplies + 1);
  CHECK(ids.size() == kReplies + 1);
  DeliveryFilter delivered;
  delivered.status = DeliveryStatus::kDelivered;
  CHECK(h.Deliveries(delivered).size() == kReplies + 1);
  for (const Delivery& delivery : h.Deliveries()) CHECK(delivery.attempts.size() == 1);
}

DELIVERY_TEST("the outbox lists page by cursor and filter by status and channel", "[webhook]") {
  FakeHttpServer receiver;
  receiver.SetHandler([](const FakeHttpServer::Request& request) {
    return Answer(Contains(request.body, "fail me") ? 500 : 200);
  });
  DeliveryHarness<TestType> h;
  h.Hook(receiver.url("/list"), {"message.created"});
  const Customer customer = h.NewCustomer();
  for (int i = 0; i < 4; ++i) {
    h.clock().Advance(seconds(1));
    h.Reply(customer, i == 2 ? "fail me" : "fine " + std::to_string(i));
  }
  h.Process();
  std::set<std::string> seen;
  DeliveryFilter filter;
  filter.limit = 2;
  int pages = 0;
  while (true) {
    REQUIRE(++pages < 10);
    const Page<Delivery> page = LIBCHAT_VALUE(h.chat().ListDeliveries(h.owner().principal, h.app_id(), filter));
    CHECK(page.data.size() <= 2);
    for (const Delivery& delivery : page.data) CHECK(seen.insert(delivery.id.str()).second);
    if (page.next_cursor.empty()) break;
    filter.cursor = page.next_cursor;
  }
  CHECK(seen.size() == 5);
  DeliveryFilter pending;
  pending.status = DeliveryStatus::kPending;
  const std::vector<Delivery> retrying = h.Deliveries(pending);
  REQUIRE(retrying.size() == 1);
  CHECK(Json::parse(retrying[0].payload_json).at("data").at("message").at("text") == "fail me");
  DeliveryFilter email;
  email.channel = DeliveryChannel::kEmail;
  CHECK(h.Deliveries(email).empty());
  for (int limit : {-1, 201}) {
    DeliveryFilter bad_limit;
    bad_limit.limit = limit;
    LIBCHAT_CHECK_CODE(h.chat().ListDeliveries(h.owner().principal, h.app_id(), bad_limit),
                       StatusCode::kInvalidArgument);
  }
  LIBCHAT_CHECK_CODE(h.chat().GetDelivery(h.owner().principal, h.app_id(), DeliveryId("dlv_nope")),
                     StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().GetDelivery(h.owner().principal, h.app_id(), DeliveryId("not-an-id")),
                     StatusCode::kNotFound);
}

// ===========================================================================
// Secrets at rest

DELIVERY_TEST("webhook secrets and email credentials are sealed in the store and never returned", "[secrets]") {
  DeliveryHarness<TestType> h;
  const CreatedWebhook hook = h.Hook("http://127.0.0.1:9/hook", {"message.created"});
  const std::string key_bytes = *Unbase64(hook.secret.substr(6));
  const StoredWebhook stored = LIBCHAT_VALUE(h.store().GetWebhook(hook.webhook.id));
  CHECK_FALSE(stored.secret_sealed.empty());
  for (const std::string& field : {stored.secret_sealed, stored.previous_secret_sealed, stored.endpoint.url,
                                   stored.endpoint.disabled_reason}) {
    CHECK_FALSE(Contains(field, hook.secret));
    CHECK_FALSE(Contains(field, hook.secret.substr(6)));
    CHECK_FALSE(Contains(field, key_bytes));
  }
  // After a rotation, neither secret is in clear.
  const CreatedWebhook rotated =
      LIBCHAT_VALUE(h.chat().RotateWebhookSecret(h.owner().principal, h.app_id(), hook.webhook.id));
  const StoredWebhook after = LIBCHAT_VALUE(h.store().GetWebhook(hook.webhook.id));
  for (const std::string& secret : {hook.secret, rotated.secret}) {
    for (const std::string& field : {after.secret_sealed, after.previous_secret_sealed}) {
      CHECK_FALSE(Contains(field, secret.substr(6)));
      CHECK_FALSE(Contains(field, *Unbase64(secret.substr(6))));
    }
  }

  // Email: an SMTP password.
  const std::string password = "S3cret-SMTP-Passw0rd!";
  EmailProviderConfig smtp;
  smtp.type = "smtp";
  smtp.from = "Acme <support@acme.example>";
  smtp.settings = {{"host", "smtp.acme.example"}, {"port", "587"}, {"security", "starttls"},
                   {"username", "mailer"},         {"password", password}};
  const EmailProviderSettings put = LIBCHAT_VALUE(h.chat().PutEmailProvider(h.owner().principal, h.app_id(), smtp));
  CHECK(put.config.settings.count("password") == 0);
  CHECK(put.secrets_set == std::vector<std::string>{"password"});
  std::optional<std::string> setting = LIBCHAT_VALUE(h.store().GetAppSetting(h.app_id(), "email_provider"));
  REQUIRE(setting.has_value());
  CHECK(Contains(*setting, "smtp.acme.example"));  // the document is there ...
  CHECK_FALSE(Contains(*setting, password));       // ... without the password
  const EmailProviderSettings shown = LIBCHAT_VALUE(h.chat().GetEmailProvider(h.owner().principal, h.app_id()));
  CHECK(shown.config.type == "smtp");
  CHECK(shown.config.from == smtp.from);
  CHECK(shown.config.settings.count("password") == 0);
  CHECK(shown.config.settings.at("username") == "mailer");
  CHECK(shown.secrets_set == std::vector<std::string>{"password"});
  for (const auto& [name, value] : shown.config.settings) CHECK_FALSE(Contains(value, password));

  // A PUT that leaves the password out (as a client that never saw it would) keeps it.
  EmailProviderConfig edited = smtp;
  edited.from = "Acme Help <help@acme.example>";
  edited.settings.erase("password");
  const EmailProviderSettings kept =
      LIBCHAT_VALUE(h.chat().PutEmailProvider(h.owner().principal, h.app_id(), edited));
  CHECK(kept.secrets_set == std::vector<std::string>{"password"});
  setting = LIBCHAT_VALUE(h.store().GetAppSetting(h.app_id(), "email_provider"));
  REQUIRE(setting.has_value());
  CHECK_FALSE(Contains(*setting, password));

  // The provider is built with the kept password (the factory sees the full configuration).
  NotificationRequest mail;
  mail.email = "someone@example.com";
  mail.channels = {DeliveryChannel::kEmail};
  mail.subject = "Hello";
  mail.body = "Body";
  h.Notify(mail);
  CHECK(h.Process() == 1);
  std::vector<EmailProviderConfig> built = h.email_configs();
  REQUIRE_FALSE(built.empty());
  CHECK(built.back().from == "Acme Help <help@acme.example>");
  CHECK(built.back().settings.at("password") == password);
  REQUIRE(h.email().messages().size() == 1);
  CHECK(h.email().messages()[0].from == "Acme Help <help@acme.example>");

  // Another type does not inherit the SMTP password; its API key is sealed too.
  const std::string api_key = "SG.abcdefghijklmnop.qrstuvwxyz0123456789";
  EmailProviderConfig sendgrid;
  sendgrid.type = "sendgrid";
  sendgrid.from = "support@acme.example";
  sendgrid.settings = {{"api_key", api_key}};
  const EmailProviderSettings switched =
      LIBCHAT_VALUE(h.chat().PutEmailProvider(h.owner().principal, h.app_id(), sendgrid));
  CHECK(switched.secrets_set == std::vector<std::string>{"api_key"});
  CHECK(switched.config.settings.empty());
  setting = LIBCHAT_VALUE(h.store().GetAppSetting(h.app_id(), "email_provider"));
  REQUIRE(setting.has_value());
  CHECK_FALSE(Contains(*setting, api_key));
  CHECK_FALSE(Contains(*setting, password));
  h.Notify(mail);
  CHECK(h.Process() == 1);
  built = h.email_configs();
  CHECK(built.back().type == "sendgrid");
  CHECK(built.back().settings.at("api_key") == api_key);
  CHECK(built.back().settings.count("password") == 0);
}

// ===========================================================================
// Email fallback

DELIVERY_TEST("an unread reply is emailed to the customer after email_fallback_after", "[email]") {
  DeliveryHarness<TestType> h;
  const Customer customer = h.NewCustomer("carol@example.com", "My parcel never arrived");
  h.SetEmailProvider("Acme Support <support@acme.example>");
  h.SetPolicy({DeliveryChannel::kWebSocket, DeliveryChannel::kEmail}, seconds(60), seconds(300));
  const Timestamp t0 = h.Now();
  const Message reply = h.Reply(customer, "We are resending it today");

  const Delivery queued = h.Only("email.fallback");
  CHECK(queued.channel == DeliveryChannel::kEmail);
  CHECK(queued.recipient_id == customer.id.str());
  CHECK(queued.message_id == reply.id);
  CHECK(Ms(queued.next_attempt_at) == Ms(t0) + 300000);

  SECTION("unread: one email to the customer's address") {
    h.clock().Advance(seconds(10));
    const Message second = h.Reply(customer, "Tracking number: AB123");  // covered by the same email
    CHECK(h.DeliveriesOfKind("email.fallback").size() == 1);
    h.clock().Set(t0 + seconds(299));
    CHECK(h.Process() == 0);
    CHECK(h.email().messages().empty());
    h.clock().Set(t0 + seconds(300));
    CHECK(h.Process() == 1);
    const std::vector<EmailMessage> sent = h.email().messages();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == "carol@example.com");
    CHECK(sent[0].from == "Acme Support <support@acme.example>");
    CHECK_FALSE(sent[0].subject.empty());
    CHECK(Contains(sent[0].text, reply.text));
    CHECK(Contains(sent[0].text, second.text));
    CHECK_FALSE(Contains(sent[0].text, "My parcel never arrived"));  // the customer's own message is not news
    CHECK(sent[0].idempotency_key == queued.id.str());
    const Delivery done = h.GetDelivery(queued.id);
    CHECK(done.status == DeliveryStatus::kDelivered);
    CHECK(AttemptCodes(done) == std::vector<int>{250});
    h.clock().Advance(hours(24));
    CHECK(h.Process() == 0);
    CHECK(h.email().messages().size() == 1);
  }

  SECTION("read in time: skipped, no email") {
    h.clock().Set(t0 + seconds(120));
    LIBCHAT_REQUIRE_OK(h.chat().MarkRead(customer.principal, customer.conversation, reply.seq));
    h.clock().Set(t0 + seconds(300));
    CHECK(h.Process() == 1);
    const Delivery skipped = h.GetDelivery(queued.id);
    CHECK(skipped.status == DeliveryStatus::kSkipped);
    CHECK_FALSE(skipped.last_error.empty());
    CHECK(skipped.attempts.empty());
    CHECK(h.email().messages().empty());
    h.clock().Advance(hours(24));
    CHECK(h.Process() == 0);
    CHECK(h.email().messages().empty());
  }

  SECTION("a customer without an address gets no email") {
    // (The anonymous customer's own message queues one for the app's owner: the team is told too.)
    const Customer anonymous = h.NewCustomer("", "No email here");
    const Message to_anonymous = h.Reply(anonymous, "Hi anonymous");
    h.clock().Set(t0 + seconds(400));
    h.Process();
    std::multiset<std::string> recipients;
    for (const EmailMessage& sent : h.email().messages()) recipients.insert(sent.to);
    CHECK(recipients == std::multiset<std::string>{"carol@example.com", "owner@example.com"});
    for (const Delivery& delivery : h.DeliveriesOfKind("email.fallback")) {
      if (delivery.message_id == to_anonymous.id) CHECK(delivery.status == DeliveryStatus::kSkipped);
    }
  }
}

DELIVERY_TEST("without email in the policy or without a provider no fallback email is queued", "[email]") {
  DeliveryHarness<TestType> h;
  const Customer customer = h.NewCustomer("carol@example.com");
  SECTION("provider but the policy has only the socket") {
    h.SetEmailProvider();
    h.SetPolicy({DeliveryChannel::kWebSocket});
  }
  SECTION("email in the policy but no provider") {
    h.SetPolicy({DeliveryChannel::kWebSocket, DeliveryChannel::kEmail});
  }
  h.Reply(customer, "Hello?");
  h.clock().Advance(hours(1));
  CHECK(h.Process() == 0);
  CHECK(h.Deliveries().empty());
  CHECK(h.email().messages().empty());
}

// ===========================================================================
// message.offline

DELIVERY_TEST("message.offline in a group goes to its members, not to the app's operators", "[offline]") {
  FakeHttpServer receiver;
  DeliveryHarness<TestType> h;
  h.Hook(receiver.url("/offline"), {"message.offline"});
  h.SetPolicy({DeliveryChannel::kWebSocket, DeliveryChannel::kWebhook}, seconds(60));
  // An active operator of the app follows every conversation of it (it is in the events' audience)…
  OperatorCreate agent;
  agent.name = "Grace";
  agent.app_ids = {h.app_id()};
  const std::vector<Operator> operators = LIBCHAT_VALUE(h.chat().CreateOperators(h.owner().principal, {agent}));
  // …but it is not in the group: the fallbacks are for the group's own people.
  ConversationCreate group;
  group.type = ConversationType::kGroup;
  group.name = "Team";
  group.members = {MemberInput{"", "alice", std::nullopt}, MemberInput{"", "bob", std::nullopt}};
  const Principal alice = LIBCHAT_VALUE(h.chat().Authenticate(KeyCredentials(h.app().secret_key, "", "alice")));
  const CreatedConversation created =
      LIBCHAT_VALUE(h.chat().CreateConversation(h.app().server, h.app_id(), group));
  LIBCHAT_REQUIRE_OK(h.chat().SendMessage(alice, created.conversation.id, TextMessage("lunch?")).status());

  std::set<std::string> recipients;
  for (const Delivery& d : h.DeliveriesOfKind("message.offline")) recipients.insert(d.recipient_id);
  CHECK(recipients.count(operators[0].id.str()) == 0);
  CHECK(recipients.count(alice.id) == 0);  // the sender
  const Principal bob = LIBCHAT_VALUE(h.chat().Authenticate(KeyCredentials(h.app().secret_key, "", "bob")));
  CHECK(recipients.count(bob.id) == 1);
}

DELIVERY_TEST("message.offline goes out once the recipient has been offline for offline_after", "[offline]") {
  FakeHttpServer receiver;
  DeliveryHarness<TestType> h;
  const Customer customer = h.NewCustomer("carol@example.com");
  const CreatedWebhook hook = h.Hook(receiver.url("/offline"), {"message.offline"});
  h.SetPolicy({DeliveryChannel::kWebSocket, DeliveryChannel::kWebhook}, seconds(60));
  LIBCHAT_REQUIRE_OK(h.chat().SetPresence(customer.principal, true));

  SECTION("offline 10 s before the message: sent 60 s after it went offline") {
    const Timestamp went_offline = h.Now();
    LIBCHAT_REQUIRE_OK(h.chat().SetPresence(customer.principal, false));
    h.clock().Advance(seconds(10));
    const Message reply = h.Reply(customer, "Your refund is approved");
    const Delivery queued = h.Only("message.offline");
    CHECK(queued.webhook_id == hook.webhook.id);
    CHECK(queued.recipient_id == customer.id.str());
    CHECK(queued.message_id == reply.id);
    CHECK(Ms(queued.next_attempt_at) == Ms(went_offline) + 60000);

    CHECK(h.Process() == 0);
    h.clock().Set(went_offline + milliseconds(59999));
    CHECK(h.Process() == 0);
    CHECK(receiver.requests().empty());
    h.clock().Set(went_offline + seconds(60));
    CHECK(h.Process() == 1);
    const auto requests = receiver.requests();
    REQUIRE(requests.size() == 1);
    CHECK(SignedWith(hook.secret, requests[0]));
    CHECK(requests[0].Header("webhook-id") == queued.id.str());
    const Json body = Json::parse(requests[0].body);
    CHECK(body.at("type") == "message.offline");
    CHECK(body.at("data").at("recipient").at("id") == customer.id.str());
    CHECK(body.at("data").at("message").at("text") == "Your refund is approved");
    CHECK(h.GetDelivery(queued.id).status == DeliveryStatus::kDelivered);
  }

  SECTION("online when the message is sent: no message.offline") {
    h.Reply(customer, "You are online");
    CHECK(h.DeliveriesOfKind("message.offline").empty());
    h.clock().Advance(hours(1));
    CHECK(h.Process() == 0);
    CHECK(receiver.requests().empty());
  }

  SECTION("back online before it is due: skipped") {
    const Timestamp went_offline = h.Now();
    LIBCHAT_REQUIRE_OK(h.chat().SetPresence(customer.principal, false));
    h.clock().Advance(seconds(10));
    h.Reply(customer, "Ping");
    const Delivery queued = h.Only("message.offline");
    h.clock().Set(went_offline + seconds(30));
    LIBCHAT_REQUIRE_OK(h.chat().SetPresence(customer.principal, true));
    h.clock().Set(went_offline + seconds(60));
    h.Process();
    const Delivery skipped = h.GetDelivery(queued.id);
    CHECK(skipped.status == DeliveryStatus::kSkipped);
    CHECK_FALSE(skipped.last_error.empty());
    CHECK(skipped.attempts.empty());
    h.clock().Advance(hours(1));
    h.Process();
    CHECK(receiver.requests().empty());
  }

  SECTION("the message was deleted before it is due: skipped") {
    LIBCHAT_REQUIRE_OK(h.chat().SetPresence(customer.principal, false));
    const Message reply = h.Reply(customer, "Sent by mistake");
    const Delivery queued = h.Only("message.offline");
    LIBCHAT_REQUIRE_OK(h.chat().DeleteMessage(h.owner().principal, customer.conversation, reply.id));
    h.clock().Advance(seconds(60));
    h.Process();
    const Delivery skipped = h.GetDelivery(queued.id);
    CHECK(skipped.status == DeliveryStatus::kSkipped);
    CHECK(Contains(skipped.last_error, "deleted"));
    CHECK(receiver.requests().empty());
  }
}

// ===========================================================================
// Notifications

DELIVERY_TEST("a websocket notification waits for its recipient and is delivered when it connects",
              "[notification]") {
  DeliveryHarness<TestType> h;
  const Customer customer = h.NewCustomer();
  EventRecorder recorder(h.chat());
  const Notification created = h.Notify(WebSocketNotification(customer.id, "Your invoice is ready"));
  CHECK(created.status == NotificationStatus::kPending);
  REQUIRE(created.deliveries.size() == 1);
  const DeliveryId delivery_id = created.deliveries[0].id;
  CHECK(created.deliveries[0].channel == DeliveryChannel::kWebSocket);
  CHECK(created.deliveries[0].recipient_id == customer.id.str());

  // Offline: attempted, not delivered, still pending.
  CHECK(h.Process() == 1);
  Delivery waiting = h.GetDelivery(delivery_id);
  CHECK(waiting.status == DeliveryStatus::kPending);
  REQUIRE(waiting.attempts.size() == 1);
  CHECK(Contains(waiting.attempts[0].error, "not connected"));
  h.clock().Advance(seconds(6));
  CHECK(h.Process() == 1);
  waiting = h.GetDelivery(delivery_id);
  CHECK(waiting.status == DeliveryStatus::kPending);
  CHECK(waiting.attempts.size() == 2);
  for (const DeliveryAttempt& attempt : waiting.attempts) CHECK(Contains(attempt.error, "not connected"));
  CHECK(h.GetNotification(created.id).status == NotificationStatus::kPending);
  CHECK(NotificationEvents(recorder).empty());

  // Coming online wakes it: due now, not at its next scheduled retry (minutes away).
  CHECK(Ms(waiting.next_attempt_at) > Ms(h.Now()) + 60000);
  LIBCHAT_REQUIRE_OK(h.chat().SetPresence(customer.principal, true));
  CHECK(h.Process() == 1);
  const auto events = NotificationEvents(recorder);
  REQUIRE(events.size() == 1);
  CHECK(events[0]->app_id == h.app_id());
  CHECK(std::find(events[0]->audience.begin(), events[0]->audience.end(), customer.id.str()) !=
        events[0]->audience.end());
  CHECK(EventVisibleTo(*events[0], customer.principal));
  REQUIRE(events[0]->notification.has_value());
  CHECK(events[0]->notification->id == created.id);
  CHECK(events[0]->notification->body == "Your invoice is ready");
  const Notification delivered = h.GetNotification(created.id);
  CHECK(delivered.status == NotificationStatus::kDelivered);
  REQUIRE(delivered.deliveries.size() == 1);
  CHECK(delivered.deliveries[0].status == DeliveryStatus::kDelivered);
  CHECK(delivered.deliveries[0].attempts.size() == 3);
}

DELIVERY_TEST("a notification's email fallback goes out only when the websocket did not deliver",
              "[notification]") {
  DeliveryHarness<TestType> h;
  const Customer customer = h.NewCustomer("dave@example.com");
  h.SetEmailProvider();
  NotificationRequest request = WebSocketNotification(customer.id, "Your plan renews tomorrow");
  request.subject = "Renewal";
  request.fallback = NotificationFallback{seconds(60), DeliveryChannel::kEmail, ""};
  const Timestamp t0 = h.Now();

  SECTION("the customer stays offline: delivered by email") {
    const Notification created = h.Notify(request);
    REQUIRE(created.deliveries.size() == 2);
    h.clock().Set(t0 + seconds(59));
    h.Process();
    CHECK(h.email().messages().empty());
    h.clock().Set(t0 + seconds(60));
    h.Process();
    const std::vector<EmailMessage> sent = h.email().messages();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == "dave@example.com");
    CHECK(sent[0].subject == "Renewal");
    CHECK(Contains(sent[0].text, "Your plan renews tomorrow"));
    Notification done = h.GetNotification(created.id);
    CHECK(done.status == NotificationStatus::kDelivered);
    // The websocket delivery yields once the fallback reached the customer.
    h.clock().Advance(hours(3));
    h.Process();
    done = h.GetNotification(created.id);
    CHECK(done.status == NotificationStatus::kDelivered);
    for (const Delivery& delivery : done.deliveries) {
      INFO(delivery.kind << " " << DeliveryChannelName(delivery.channel));
      if (delivery.channel == DeliveryChannel::kEmail) {
        CHECK(delivery.kind == "notification.fallback");
        CHECK(delivery.status == DeliveryStatus::kDelivered);
      } else {
        CHECK(delivery.status == DeliveryStatus::kSkipped);
      }
    }
    CHECK(h.email().messages().size() == 1);
  }

  SECTION("the websocket delivered first: the fallback is skipped") {
    LIBCHAT_REQUIRE_OK(h.chat().SetPresence(customer.principal, true));
    const Notification created = h.Notify(request);
    CHECK(h.Process() == 1);
    CHECK(h.GetNotification(created.id).status == NotificationStatus::kDelivered);
    h.clock().Set(t0 + seconds(60));
    CHECK(h.Process() == 1);
    const Notification done = h.GetNotification(created.id);
    CHECK(done.status == NotificationStatus::kDelivered);
    for (const Delivery& delivery : done.deliveries) {
      if (delivery.kind == "notification.fallback") {
        CHECK(delivery.status == DeliveryStatus::kSkipped);
        CHECK(delivery.attempts.empty());
      } else {
        CHECK(delivery.status == DeliveryStatus::kDelivered);
      }
    }
    h.clock().Advance(hours(1));
    h.Process();
    CHECK(h.email().messages().empty());
  }
}

DELIVERY_TEST("an urgent notification is claimed before a low one when both are due", "[notification]") {
  DeliveryHarness<TestType> h;
  const Customer customer = h.NewCustomer();
  LIBCHAT_REQUIRE_OK(h.chat().SetPresence(customer.principal, true));
  EventRecorder recorder(h.chat());
  NotificationRequest low = WebSocketNotification(customer.id, "low");
  low.priority = NotificationPriority::kLow;
  const Notification first = h.Notify(low);  // due earlier ...
  h.clock().Advance(seconds(1));
  NotificationRequest urgent = WebSocketNotification(customer.id, "urgent");
  urgent.priority = NotificationPriority::kUrgent;
  const Notification second = h.Notify(urgent);  // ... but less important

  CHECK(h.Process(1) == 1);
  auto events = NotificationEvents(recorder);
  REQUIRE(events.size() == 1);
  CHECK(events[0]->notification->id == second.id);
  CHECK(h.GetNotification(first.id).status == NotificationStatus::kPending);
  CHECK(h.Process(1) == 1);
  events = NotificationEvents(recorder);
  REQUIRE(events.size() == 2);
  CHECK(events[1]->notification->id == first.id);
}

DELIVERY_TEST("a scheduled notification is not sent before scheduled_at", "[notification]") {
  DeliveryHarness<TestType> h;
  const Customer customer = h.NewCustomer();
  LIBCHAT_REQUIRE_OK(h.chat().SetPresence(customer.principal, true));
  EventRecorder recorder(h.chat());
  const Timestamp t0 = h.Now();
  NotificationRequest request = WebSocketNotification(customer.id, "Your webinar starts now");
  request.scheduled_at = t0 + hours(1);
  const Notification created = h.Notify(request);
  REQUIRE(created.scheduled_at.has_value());
  CHECK(Ms(*created.scheduled_at) == Ms(t0 + hours(1)));
  CHECK(h.Process() == 0);
  h.clock().Set(t0 + hours(1) - milliseconds(1));
  CHECK(h.Process() == 0);
  CHECK(NotificationEvents(recorder).empty());
  h.clock().Set(t0 + hours(1));
  CHECK(h.Process() == 1);
  CHECK(NotificationEvents(recorder).size() == 1);
  CHECK(h.GetNotification(created.id).status == NotificationStatus::kDelivered);
}

DELIVERY_TEST("a pending notification can be cancelled, and only then", "[notification]") {
  DeliveryHarness<TestType> h;
  const Customer customer = h.NewCustomer();
  EventRecorder recorder(h.chat());
  const Notification created = h.Notify(WebSocketNotification(customer.id, "Never mind"));
  CHECK(h.Process() == 1);  // offline: still pending
  const Notification cancelled =
      LIBCHAT_VALUE(h.chat().CancelNotification(h.owner().principal, h.app_id(), created.id));
  CHECK(cancelled.status == NotificationStatus::kCancelled);
  REQUIRE(cancelled.deliveries.size() == 1);
  CHECK(cancelled.deliveries[0].status == DeliveryStatus::kCancelled);

  // Coming online does not bring it back.
  LIBCHAT_REQUIRE_OK(h.chat().SetPresence(customer.principal, true));
  h.clock().Advance(hours(1));
  CHECK(h.Process() == 0);
  CHECK(NotificationEvents(recorder).empty());
  CHECK(h.GetNotification(created.id).status == NotificationStatus::kCancelled);

  LIBCHAT_CHECK_CODE(h.chat().CancelNotification(h.owner().principal, h.app_id(), created.id),
                     StatusCode::kFailedPrecondition);
  LIBCHAT_CHECK_CODE(h.chat().RetryNotification(h.owner().principal, h.app_id(), created.id),
                     StatusCode::kFailedPrecondition);
  LIBCHAT_CHECK_CODE(h.chat().RetryDelivery(h.owner().principal, h.app_id(), created.deliveries[0].id),
                     StatusCode::kFailedPrecondition);

  // A delivered one cannot be cancelled either.
  const Notification sent = h.Notify(WebSocketNotification(customer.id, "Hello"));
  CHECK(h.Process() == 1);
  CHECK(h.GetNotification(sent.id).status == NotificationStatus::kDelivered);
  LIBCHAT_CHECK_CODE(h.chat().CancelNotification(h.owner().principal, h.app_id(), sent.id),
                     StatusCode::kFailedPrecondition);
}

DELIVERY_TEST("a failed notification can be retried", "[notification]") {
  DeliveryHarness<TestType> h;
  h.SetEmailProvider();
  h.email().SetOutcome(SendOutcome::Failed(SendOutcome::Kind::kPermanent, 550, "mailbox unavailable"));
  NotificationRequest request;
  request.email = "erin@example.com";
  request.channels = {DeliveryChannel::kEmail};
  request.subject = "Receipt";
  request.body = "Thanks for your order";
  const Notification created = h.Notify(request);
  CHECK(h.Process() == 1);
  Notification failed = h.GetNotification(created.id);
  CHECK(failed.status == NotificationStatus::kFailed);
  REQUIRE(failed.deliveries.size() == 1);
  CHECK(failed.deliveries[0].status == DeliveryStatus::kFailed);
  CHECK(AttemptCodes(failed.deliveries[0]) == std::vector<int>{550});
  CHECK(Contains(failed.deliveries[0].last_error, "mailbox unavailable"));
  LIBCHAT_CHECK_CODE(h.chat().CancelNotification(h.owner().principal, h.app_id(), created.id),
                     StatusCode::kFailedPrecondition);

  h.email().SetOutcome(SendOutcome::Delivered(250));
  const Notification retried = LIBCHAT_VALUE(h.chat().RetryNotification(h.owner().principal, h.app_id(), created.id));
  CHECK(retried.status == NotificationStatus::kPending);
  REQUIRE(retried.deliveries.size() == 1);
  CHECK(retried.deliveries[0].id == failed.deliveries[0].id);
  CHECK(retried.deliveries[0].status == DeliveryStatus::kPending);
  CHECK(h.Process() == 1);
  const Notification done = h.GetNotification(created.id);
  CHECK(done.status == NotificationStatus::kDelivered);
  CHECK(AttemptNumbers(done.deliveries[0]) == std::vector<int>{1, 2});
  CHECK(AttemptCodes(done.deliveries[0]) == std::vector<int>{550, 250});
  const std::vector<EmailMessage> sent = h.email().messages();
  REQUIRE(sent.size() == 2);
  CHECK(sent[1].to == "erin@example.com");
  CHECK(sent[1].subject == "Receipt");
  CHECK(sent[1].text == "Thanks for your order");
  CHECK(sent[0].idempotency_key == sent[1].idempotency_key);  // one delivery, retried
  LIBCHAT_CHECK_CODE(h.chat().RetryNotification(h.owner().principal, h.app_id(), created.id),
                     StatusCode::kFailedPrecondition);
}

DELIVERY_TEST("a settled notification enqueues notification.delivered or notification.failed webhooks",
              "[notification][webhook]") {
  FakeHttpServer receiver;
  DeliveryHarness<TestType> h;
  const CreatedWebhook hook = h.Hook(receiver.url("/notifications"), {"notification.delivered", "notification.failed"});
  const Customer customer = h.NewCustomer();
  LIBCHAT_REQUIRE_OK(h.chat().SetPresence(customer.principal, true));
  const Notification ok = h.Notify(WebSocketNotification(customer.id, "Delivered one"));
  CHECK(h.DeliveriesOfKind("notification.delivered").empty());  // not before it settles
  h.Process();
  CHECK(h.GetNotification(ok.id).status == NotificationStatus::kDelivered);
  const std::vector<Delivery> delivered_hooks = h.DeliveriesOfKind("notification.delivered");
  REQUIRE(delivered_hooks.size() == 1);
  CHECK(delivered_hooks[0].webhook_id == hook.webhook.id);
  h.Process();
  CHECK(h.GetDelivery(delivered_hooks[0].id).status == DeliveryStatus::kDelivered);
  auto requests = receiver.requests();
  REQUIRE(requests.size() == 1);
  CHECK(SignedWith(hook.secret, requests[0]));
  Json body = Json::parse(requests[0].body);
  CHECK(body.at("type") == "notification.delivered");
  CHECK(body.at("data").at("notification").at("id") == ok.id.str());
  CHECK(body.at("data").at("notification").at("status") == "delivered");

  // A failed one: email rejected for good.
  h.SetEmailProvider();
  h.email().SetOutcome(SendOutcome::Failed(SendOutcome::Kind::kPermanent, 550, "no such user"));
  NotificationRequest mail;
  mail.email = "nobody@example.com";
  mail.channels = {DeliveryChannel::kEmail};
  mail.subject = "Hi";
  mail.body = "Bounces";
  const Notification bad = h.Notify(mail);
  h.Process();
  h.Process();
  CHECK(h.GetNotification(bad.id).status == NotificationStatus::kFailed);
  REQUIRE(h.DeliveriesOfKind("notification.failed").size() == 1);
  requests = receiver.requests();
  REQUIRE(requests.size() == 2);
  body = Json::parse(requests[1].body);
  CHECK(body.at("type") == "notification.failed");
  CHECK(body.at("data").at("notification").at("id") == bad.id.str());
}

DELIVERY_TEST("a notification to a conversation reaches its customer by email", "[notification]") {
  DeliveryHarness<TestType> h;
  const Customer customer = h.NewCustomer("frank@example.com");
  h.SetEmailProvider();
  NotificationRequest request;
  request.conversation_id = customer.conversation;
  request.channels = {DeliveryChannel::kEmail};
  request.subject = "About your conversation";
  request.body = "We replied in the app";
  request.html = "<p>We replied <b>in the app</b></p>";
  const Notification created = h.Notify(request);
  REQUIRE(created.deliveries.size() == 1);
  CHECK(created.deliveries[0].recipient_id == customer.id.str());
  CHECK(h.Process() == 1);
  const std::vector<EmailMessage> sent = h.email().messages();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].to == "frank@example.com");
  CHECK(sent[0].subject == "About your conversation");
  CHECK(sent[0].text == "We replied in the app");
  CHECK(sent[0].html == "<p>We replied <b>in the app</b></p>");
  CHECK(h.GetNotification(created.id).status == NotificationStatus::kDelivered);
}

DELIVERY_TEST("bad notification requests are refused and store nothing", "[notification]") {
  DeliveryHarness<TestType> h;
  const Customer customer = h.NewCustomer();
  const TestApp other_app = h.CreateApp(h.owner(), "Other");
  const Customer foreign = h.NewCustomerOf(other_app, "", "Hi from the other app");

  NotificationRequest none;
  none.channels = {DeliveryChannel::kWebSocket};
  none.body = "x";
  LIBCHAT_CHECK_CODE(h.chat().CreateNotification(h.owner().principal, h.app_id(), none),
                     StatusCode::kInvalidArgument);

  NotificationRequest two_kinds = WebSocketNotification(customer.id, "x");
  two_kinds.conversation_id = customer.conversation;
  LIBCHAT_CHECK_CODE(h.chat().CreateNotification(h.owner().principal, h.app_id(), two_kinds),
                     StatusCode::kInvalidArgument);
  two_kinds = WebSocketNotification(customer.id, "x");
  two_kinds.email = "x@example.com";
  LIBCHAT_CHECK_CODE(h.chat().CreateNotification(h.owner().principal, h.app_id(), two_kinds),
                     StatusCode::kInvalidArgument);

  LIBCHAT_CHECK_CODE(
      h.chat().CreateNotification(h.owner().principal, h.app_id(), WebSocketNotification(foreign.id, "x")),
      StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().CreateNotification(h.owner().principal, h.app_id(),
                                                 WebSocketNotification(CustomerId("cus_doesnotexist"), "x")),
                     StatusCode::kNotFound);
  NotificationRequest foreign_conversation = WebSocketNotification(CustomerId(), "x");
  foreign_conversation.customer_ids.clear();
  foreign_conversation.conversation_id = foreign.conversation;
  LIBCHAT_CHECK_CODE(h.chat().CreateNotification(h.owner().principal, h.app_id(), foreign_conversation),
                     StatusCode::kNotFound);

  NotificationRequest email = WebSocketNotification(customer.id, "x");
  email.channels = {DeliveryChannel::kEmail};
  email.subject = "No provider";
  LIBCHAT_CHECK_CODE(h.chat().CreateNotification(h.owner().principal, h.app_id(), email),
                     StatusCode::kFailedPrecondition);
  NotificationRequest email_fallback = WebSocketNotification(customer.id, "x");
  email_fallback.subject = "No provider";
  email_fallback.fallback = NotificationFallback{seconds(60), DeliveryChannel::kEmail, ""};
  LIBCHAT_CHECK_CODE(h.chat().CreateNotification(h.owner().principal, h.app_id(), email_fallback),
                     StatusCode::kFailedPrecondition);

  NotificationRequest push = WebSocketNotification(customer.id, "x");
  push.channels = {DeliveryChannel::kPush};
  LIBCHAT_CHECK_CODE(h.chat().CreateNotification(h.owner().principal, h.app_id(), push),
                     StatusCode::kInvalidArgument);
  NotificationRequest no_channels = WebSocketNotification(customer.id, "x");
  no_channels.channels.clear();
  LIBCHAT_CHECK_CODE(h.chat().CreateNotification(h.owner().principal, h.app_id(), no_channels),
                     StatusCode::kInvalidArgument);
  LIBCHAT_CHECK_CODE(
      h.chat().CreateNotification(h.owner().principal, h.app_id(), WebSocketNotification(customer.id, "")),
      StatusCode::kInvalidArgument);
  NotificationRequest address_by_socket;
  address_by_socket.email = "x@example.com";
  address_by_socket.channels = {DeliveryChannel::kWebSocket};
  address_by_socket.body = "x";
  LIBCHAT_CHECK_CODE(h.chat().CreateNotification(h.owner().principal, h.app_id(), address_by_socket),
                     StatusCode::kInvalidArgument);
  // The webhook channel needs an endpoint subscribed to "notification".
  NotificationRequest by_webhook = WebSocketNotification(customer.id, "x");
  by_webhook.channels = {DeliveryChannel::kWebhook};
  LIBCHAT_CHECK_CODE(h.chat().CreateNotification(h.owner().principal, h.app_id(), by_webhook),
                     StatusCode::kFailedPrecondition);

  CHECK(h.Deliveries().empty());
  CHECK(h.Process() == 0);
}

DELIVERY_TEST("a notification on the webhook channel is a signed notification event", "[notification][webhook]") {
  FakeHttpServer receiver;
  DeliveryHarness<TestType> h;
  const CreatedWebhook hook = h.Hook(receiver.url("/n"), {"notification"});
  const Customer customer = h.NewCustomer();
  NotificationRequest request = WebSocketNotification(customer.id, "Sent to your server");
  request.channels = {DeliveryChannel::kWebhook};
  const Notification created = h.Notify(request);
  CHECK(h.Process() == 1);
  CHECK(h.GetNotification(created.id).status == NotificationStatus::kDelivered);
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 1);
  CHECK(SignedWith(hook.secret, requests[0]));
  const Json body = Json::parse(requests[0].body);
  CHECK(body.at("type") == "notification");
  CHECK(body.at("data").at("notification").at("body") == "Sent to your server");
}

// ===========================================================================
// Restart

// A SQLite database and its secrets key file under /tmp, removed afterwards.
struct TempDatabase {
  TempDatabase() {
    std::random_device entropy;
    std::ostringstream name;
    name << "/tmp/libchat_delivery_test_" << ::getpid() << "_" << std::hex << entropy() << entropy() << ".db";
    path = name.str();
  }
  ~TempDatabase() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal", ".key"}) std::remove((path + suffix).c_str());
  }
  std::shared_ptr<Store> Open() const {
    SqliteStoreOptions options;
    options.path = path;
    options.synchronous_full = false;
    return LIBCHAT_VALUE(OpenSqliteStore(options));
  }
  std::string path;
};

TEST_CASE("delivery: after a crash every delivery is delivered or dead-lettered, none lost",
          "[delivery][restart]") {
  TempDatabase database;
  FakeHttpServer good;  // answers 200
  FakeHttpServer bad;
  bad.SetHandler([](const FakeHttpServer::Request&) { return Answer(503, "down"); });
  auto clock = std::make_shared<testing::FakeClock>();
  auto email = std::make_shared<RecordingEmail>();
  auto configs = std::make_shared<ConfigLog>();
  const ConfigureDelivery configure = [&database](DeliveryOptions& delivery) {
    delivery.retry_schedule = {milliseconds(0), seconds(10), seconds(20)};
    delivery.claim_lease = seconds(30);
    delivery.secrets_key.clear();  // the key file next to the database, kept across the restart
    delivery.secrets_key_file = database.path + ".key";
  };
  auto open = [&](std::shared_ptr<Store> store) {
    return LIBCHAT_VALUE(Chat::Open(DeliveryTestOptions(std::move(store), clock, email, configs, true, configure)));
  };

  std::string good_secret;
  std::string bad_secret;
  AppId app;
  std::string owner_token;
  std::string crashed_id;
  {
    std::shared_ptr<Store> store = database.Open();
    std::unique_ptr<Chat> chat = open(store);
    AuthSession session = LIBCHAT_VALUE(chat->Register(RegisterRequest{"own@example.com", kChatTestPassword, "O"}));
    owner_token = session.token;
    const Principal owner = LIBCHAT_VALUE(chat->Authenticate(BearerCredentials(session.token)));
    AppCreate create;
    create.name = "Durable";
    const CreatedApp created = LIBCHAT_VALUE(chat->CreateApp(owner, create));
    app = created.app.id;
    const Principal publishable = LIBCHAT_VALUE(chat->Authenticate(KeyCredentials(created.app.publishable_key)));
    const WebhookCreate to_good{good.url("/ok"), {"message.created"}};
    const WebhookCreate to_bad{bad.url("/down"), {"message.created"}};
    good_secret = LIBCHAT_VALUE(chat->CreateWebhook(owner, app, to_good)).secret;
    bad_secret = LIBCHAT_VALUE(chat->CreateWebhook(owner, app, to_bad)).secret;
    for (int i = 0; i < 3; ++i) {
      SdkSendRequest request;
      request.message = TextMessage("message " + std::to_string(i));
      LIBCHAT_REQUIRE_OK(chat->SdkSendMessage(publishable, request));
    }
    // A worker claims one and dies before finishing it ...
    const std::vector<Delivery> claimed =
        LIBCHAT_VALUE(store->ClaimDueDeliveries(clock->Now(), clock->Now() + seconds(30), 1));
    REQUIRE(claimed.size() == 1);
    crashed_id = claimed[0].id.str();
    // ... while another works through the rest once.
    CHECK(LIBCHAT_VALUE(chat->ProcessDueDeliveries(16)) == 5);
    // Then the process goes: no shutdown step of any kind.
  }

  std::shared_ptr<Store> store = database.Open();
  std::unique_ptr<Chat> chat = open(store);
  const Principal owner = LIBCHAT_VALUE(chat->Authenticate(BearerCredentials(owner_token)));
  int rounds = 0;
  while (LIBCHAT_VALUE(chat->NextDeliveryDue()).has_value()) {
    REQUIRE(++rounds < 100);
    clock->Advance(seconds(5));
    LIBCHAT_REQUIRE_OK(chat->ProcessDueDeliveries(16));
  }

  DeliveryFilter all;
  all.limit = 200;
  const std::vector<Delivery> deliveries = LIBCHAT_VALUE(chat->ListDeliveries(owner, app, all)).data;
  REQUIRE(deliveries.size() == 6);
  std::set<std::string> good_ids;
  std::set<std::string> bad_ids;
  bool saw_crashed = false;
  for (const Delivery& delivery : deliveries) {
    INFO(delivery.id.str() << " " << DeliveryStatusName(delivery.status) << " " << delivery.last_error);
    saw_crashed = saw_crashed || delivery.id.str() == crashed_id;
    const std::string url = LIBCHAT_VALUE(chat->GetWebhook(owner, app, delivery.webhook_id)).url;
    if (url == good.url("/ok")) {
      CHECK(delivery.status == DeliveryStatus::kDelivered);
      CHECK(delivery.attempts.size() == 1);
      good_ids.insert(delivery.id.str());
    } else {
      CHECK(delivery.status == DeliveryStatus::kFailed);
      CHECK(AttemptNumbers(delivery) == std::vector<int>{1, 2, 3});
      bad_ids.insert(delivery.id.str());
    }
  }
  CHECK(saw_crashed);
  CHECK(good_ids.size() == 3);
  CHECK(bad_ids.size() == 3);

  // Each receiver saw each of its deliveries, signed with its secret even after the restart (the
  // webhook secrets were unsealed with the key file).
  std::set<std::string> good_seen;
  for (const auto& request : good.requests()) {
    CHECK(SignedWith(good_secret, request));
    good_seen.insert(request.Header("webhook-id"));
  }
  CHECK(good_seen == good_ids);
  CHECK(good.requests().size() == 3);
  std::set<std::string> bad_seen;
  for (const auto& request : bad.requests()) {
    CHECK(SignedWith(bad_secret, request));
    bad_seen.insert(request.Header("webhook-id"));
  }
  CHECK(bad_seen == bad_ids);
  CHECK(bad.requests().size() == 9);
}

// ===========================================================================
// Host policy steps

// Quiet hours as a host would write one: gated deliveries wait until the morning, or are dropped.
class QuietHours final : public PolicyStep {
 public:
  QuietHours(bool skip, Timestamp morning) : skip_(skip), morning_(morning) {}
  std::string name() const override { return "quiet-hours"; }
  PolicyDecision Decide(const PolicyContext& context) const override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      seen_.push_back(context.delivery.kind + "/" + context.delivery.recipient_id);
    }
    if (context.now >= morning_) return PolicyDecision::Continue();
    if (skip_) return PolicyDecision::Skip("quiet hours: 22:00-07:00 for this customer");
    return PolicyDecision::Defer(morning_, "quiet hours");
  }
  std::vector<std::string> seen() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  bool skip_;
  Timestamp morning_;
  mutable std::mutex mutex_;
  mutable std::vector<std::string> seen_;
};

DELIVERY_TEST("a host policy step added through DeliveryOptions is honoured", "[policy]") {
  FakeHttpServer receiver;
  const Timestamp morning = testing::FakeClock().Now() + hours(8);
  const bool skip = GENERATE(true, false);
  auto quiet = std::make_shared<QuietHours>(skip, morning);
  DeliveryHarness<TestType> h([quiet](DeliveryOptions& delivery) { delivery.policy_steps = {quiet}; });
  const Customer customer = h.NewCustomer();  // never seen online: message.offline is due at once
  h.Hook(receiver.url("/hooks"), {"message.offline", "message.created"});
  h.SetPolicy({DeliveryChannel::kWebSocket, DeliveryChannel::kWebhook}, seconds(60));
  h.Reply(customer, "Late-night reply");

  h.Process();
  const Delivery offline = h.Only("message.offline");
  const Delivery created = h.Only("message.created");
  // message.created is not gated: the chain does not hold it back.
  CHECK(created.status == DeliveryStatus::kDelivered);
  CHECK(quiet->seen() == std::vector<std::string>{"message.offline/" + customer.id.str()});
  CHECK(offline.attempts.empty());
  if (skip) {
    CHECK(offline.status == DeliveryStatus::kSkipped);
    CHECK(offline.last_error == "quiet hours: 22:00-07:00 for this customer");
    h.clock().Set(morning + hours(1));
    CHECK(h.Process() == 0);
    CHECK(receiver.requests().size() == 1);
  } else {
    CHECK(offline.status == DeliveryStatus::kPending);
    CHECK(Ms(offline.next_attempt_at) == Ms(morning));
    h.clock().Set(morning - milliseconds(1));
    CHECK(h.Process() == 0);
    CHECK(receiver.requests().size() == 1);
    h.clock().Set(morning);
    CHECK(h.Process() == 1);
    CHECK(h.GetDelivery(offline.id).status == DeliveryStatus::kDelivered);
    const auto requests = receiver.requests();
    REQUIRE(requests.size() == 2);
    CHECK(Json::parse(requests[1].body).at("type") == "message.offline");
  }
}

// ===========================================================================
// Tenant isolation

DELIVERY_TEST("another tenant cannot see or touch an app's delivery resources", "[tenant]") {
  FakeHttpServer receiver;
  DeliveryHarness<TestType> h;
  const CreatedWebhook hook = h.Hook(receiver.url("/victim"), {"message.created"});
  const Customer customer = h.NewCustomer("victim-customer@example.com");
  h.SetEmailProvider();
  h.SetPolicy({DeliveryChannel::kWebSocket, DeliveryChannel::kEmail}, seconds(60), seconds(600));
  const Notification notification = h.Notify(WebSocketNotification(customer.id, "Private"));
  const Delivery delivery = h.Only("message.created");

  const TestAccount mallory = h.Register("mallory@example.com");
  const TestApp mallory_app = h.CreateApp(mallory, "Mallory's");
  const AppId victim = h.app_id();

  // Every principal that is not the app's team: another account, another app's server, even the
  // app's own customer.
  const std::vector<std::pair<std::string, Principal>> outsiders = {
      {"another account", mallory.principal},
      {"another app's server", mallory_app.server},
      {"the app's customer", customer.principal},
  };
  for (const auto& [who, principal] : outsiders) {
    INFO(who << " on the victim app");
    LIBCHAT_CHECK_CODE(h.chat().ListWebhooks(principal, victim), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().GetWebhook(principal, victim, hook.webhook.id), StatusCode::kNotFound);
    const WebhookCreate planted{receiver.url("/x"), {"message.created"}};
    LIBCHAT_CHECK_CODE(h.chat().CreateWebhook(principal, victim, planted), StatusCode::kNotFound);
    WebhookUpdate update;
    update.url = receiver.url("/stolen");
    LIBCHAT_CHECK_CODE(h.chat().UpdateWebhook(principal, victim, hook.webhook.id, update), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().RotateWebhookSecret(principal, victim, hook.webhook.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().DeleteWebhook(principal, victim, hook.webhook.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().ListDeliveries(principal, victim, DeliveryFilter{}), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().GetDelivery(principal, victim, delivery.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().RetryDelivery(principal, victim, delivery.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().GetNotification(principal, victim, notification.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().CancelNotification(principal, victim, notification.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().RetryNotification(principal, victim, notification.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().CreateNotification(principal, victim, WebSocketNotification(customer.id, "spam")),
                       StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().GetEmailProvider(principal, victim), StatusCode::kNotFound);
    EmailProviderConfig hijack;
    hijack.type = "smtp";
    hijack.from = "evil@mallory.example";
    hijack.settings = {{"host", "smtp.mallory.example"}, {"port", "25"}};
    LIBCHAT_CHECK_CODE(h.chat().PutEmailProvider(principal, victim, hijack), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().DeleteEmailProvider(principal, victim), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().GetDeliveryPolicy(principal, victim), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().PutDeliveryPolicy(principal, victim, DeliveryPolicy{}), StatusCode::kNotFound);
  }

  // The victim's ids under the attacker's own app: just as missing.
  for (const Principal& principal : {mallory.principal, mallory_app.server}) {
    const AppId own = mallory_app.app.id;
    LIBCHAT_CHECK_CODE(h.chat().GetWebhook(principal, own, hook.webhook.id), StatusCode::kNotFound);
    WebhookUpdate disable;
    disable.enabled = false;
    LIBCHAT_CHECK_CODE(h.chat().UpdateWebhook(principal, own, hook.webhook.id, disable), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().RotateWebhookSecret(principal, own, hook.webhook.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().DeleteWebhook(principal, own, hook.webhook.id), StatusCode::kNotFound);
    DeliveryFilter by_hook;
    by_hook.webhook_id = hook.webhook.id;
    LIBCHAT_CHECK_CODE(h.chat().ListDeliveries(principal, own, by_hook), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().GetDelivery(principal, own, delivery.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().RetryDelivery(principal, own, delivery.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().GetNotification(principal, own, notification.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().CancelNotification(principal, own, notification.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().RetryNotification(principal, own, notification.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().CreateNotification(principal, own, WebSocketNotification(customer.id, "spam")),
                       StatusCode::kNotFound);
    const Page<Delivery> own_deliveries = LIBCHAT_VALUE(h.chat().ListDeliveries(principal, own, DeliveryFilter{}));
    CHECK(own_deliveries.data.empty());
    CHECK(LIBCHAT_VALUE(h.chat().ListWebhooks(principal, own)).empty());
    LIBCHAT_CHECK_CODE(h.chat().GetEmailProvider(principal, own), StatusCode::kNotFound);
  }

  // The app's server is part of its team.
  CHECK(LIBCHAT_VALUE(h.chat().ListWebhooks(h.app().server, victim)).size() == 1);
  LIBCHAT_CHECK_OK(h.chat().GetDelivery(h.app().server, victim, delivery.id));

  // Nothing changed.
  const WebhookEndpoint still = LIBCHAT_VALUE(h.chat().GetWebhook(h.owner().principal, victim, hook.webhook.id));
  CHECK(still.enabled);
  CHECK(still.url == receiver.url("/victim"));
  CHECK(h.GetNotification(notification.id).status == NotificationStatus::kPending);
  CHECK(LIBCHAT_VALUE(h.chat().GetEmailProvider(h.owner().principal, victim)).config.from ==
        "Acme Support <support@acme.example>");
  CHECK(LIBCHAT_VALUE(h.chat().GetDeliveryPolicy(h.owner().principal, victim)).email_fallback_after == seconds(600));
  CHECK(h.GetDelivery(delivery.id).status == DeliveryStatus::kPending);
  CHECK(h.Process() >= 1);
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 1);
  CHECK(SignedWith(hook.secret, requests[0]));  // the secret was not rotated
}

}  // namespace
