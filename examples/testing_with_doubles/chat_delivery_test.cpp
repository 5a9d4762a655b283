// testing_with_doubles: a host's own Catch2 tests of how it uses libchat, with
// libchat's supported test doubles (docs/testing.md):
//
//   libchat::testing::NewMemoryStore()          no database file, nothing left behind
//   libchat::testing::FakeClock                 minutes of retry backoff in no time
//   libchat::testing::RecordingEmailProvider    the emails libchat would have sent
//   libchat::testing::RecordingWebhookSender    the webhooks libchat would have posted
//
// Nothing here touches the network or sleeps: time moves when the test moves the
// clock, and deliveries run when the test calls Chat::ProcessDueDeliveries, just
// as the host's delivery worker would.
//
// Works with Catch2 v3 (Catch2::Catch2WithMain) and v2 (Debian 12's 2.13, whose
// single header brings its own main).
#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_test_macros.hpp>
#else
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#endif

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "libchat/chat.h"
#include "libchat/providers/webhook.h"
#include "libchat/testing/fake_clock.h"
#include "libchat/testing/memory_store.h"
#include "libchat/testing/recording_email_provider.h"
#include "libchat/testing/recording_webhook_sender.h"

namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// REQUIREs success and returns the value.
template <typename T>
T Ok(libchat::Result<T> result) {
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  return std::move(result).value();
}

// The host's test fixture: a Chat over the doubles, an owner with one app, and
// a customer's SDK holding the app's publishable key.
class ChatFixture {
 public:
  ChatFixture() {
    libchat::Options options;
    options.store = libchat::testing::NewMemoryStore();
    options.clock = clock;
    options.delivery.webhook_sender = webhooks;
    options.delivery.email_provider_factory = libchat::testing::EmailProviderFactoryFor(email);
    // The webhook endpoint below is an address literal, so creating it needs no
    // DNS; it is a documentation address, allowed here because nothing is ever sent to it.
    options.delivery.allowed_private_networks = {"192.0.2.0/24"};
    // A deterministic retry schedule for the test: now, then after 30 s and 10 min (each +-20% jitter).
    options.delivery.retry_schedule = {seconds(0), seconds(30), minutes(10)};
    // Cheap password hashing: the cost is irrelevant in a test.
    options.password_hashing = libchat::PasswordHashingOptions{8192, 1, 1};
    chat = Ok(libchat::Chat::Open(std::move(options)));

    auto session = Ok(chat->Register({"owner@shop.example", "correct horse battery", "Owner"}));
    owner = Ok(chat->Authenticate({session.token, "", "", ""}));
    libchat::AppCreate new_app;
    new_app.name = "Shop";
    app = Ok(chat->CreateApp(owner, new_app)).app;
    sdk = Ok(chat->Authenticate({"", app.publishable_key, "", ""}));
  }

  // A new customer's first message; returns its conversation.
  libchat::Conversation CustomerWrites(const std::string& text) {
    libchat::SdkSendRequest request;
    request.message.text = text;
    request.customer.name = "Grace";
    return Ok(chat->SdkSendMessage(sdk, request)).conversation;
  }

  int ProcessDeliveries() { return Ok(chat->ProcessDueDeliveries()); }

  std::shared_ptr<libchat::testing::FakeClock> clock = std::make_shared<libchat::testing::FakeClock>();
  std::shared_ptr<libchat::testing::RecordingEmailProvider> email =
      std::make_shared<libchat::testing::RecordingEmailProvider>();
  std::shared_ptr<libchat::testing::RecordingWebhookSender> webhooks =
      std::make_shared<libchat::testing::RecordingWebhookSender>();
  std::unique_ptr<libchat::Chat> chat;
  libchat::Principal owner;
  libchat::App app;
  libchat::Principal sdk;
};

TEST_CASE("a customer message to an offline owner is emailed after the fallback delay") {
  ChatFixture f;
  libchat::EmailProviderConfig provider;
  provider.type = "smtp";  // the recording provider replaces it: nothing is contacted
  provider.from = "Shop <help@shop.example>";
  provider.settings = {{"host", "smtp.shop.example"}, {"port", "587"}};
  Ok(f.chat->PutEmailProvider(f.owner, f.app.id, provider));
  libchat::DeliveryPolicy policy;
  policy.channels = {libchat::DeliveryChannel::kWebSocket, libchat::DeliveryChannel::kEmail};
  policy.email_fallback_after = minutes(5);
  Ok(f.chat->PutDeliveryPolicy(f.owner, f.app.id, policy));

  const libchat::Conversation conversation = f.CustomerWrites("Where is my order #1042?");

  SECTION("unread after five minutes: one email to the owner") {
    f.clock->Advance(minutes(5) - seconds(1));
    CHECK(f.ProcessDeliveries() == 0);
    CHECK(f.email->count() == 0);

    f.clock->Advance(seconds(1));
    CHECK(f.ProcessDeliveries() == 1);
    const std::vector<libchat::EmailMessage> sent = f.email->messages();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == "owner@shop.example");
    CHECK(sent[0].from == "Shop <help@shop.example>");
    CHECK(sent[0].text.find("Where is my order #1042?") != std::string::npos);

    f.clock->Advance(std::chrono::hours(24));
    CHECK(f.ProcessDeliveries() == 0);  // sent once, never again
    CHECK(f.email->count() == 1);
  }

  SECTION("read in time: no email") {
    f.clock->Advance(minutes(2));
    Ok(f.chat->MarkRead(f.owner, conversation.id, conversation.last_seq));
    f.clock->Advance(minutes(10));
    f.ProcessDeliveries();
    CHECK(f.email->count() == 0);
  }
}

TEST_CASE("a webhook that fails is retried as the clock advances, with the same id, until delivered") {
  ChatFixture f;
  const libchat::CreatedWebhook hook =
      Ok(f.chat->CreateWebhook(f.owner, f.app.id, {"https://192.0.2.10/hooks/chat", {"message.created"}}));

  f.webhooks->SetOutcome(libchat::SendOutcome::Failed(libchat::SendOutcome::Kind::kRetry, 503, "maintenance"));
  f.CustomerWrites("Do you ship to Norway?");
  CHECK(f.ProcessDeliveries() == 1);  // the first attempt is immediate, and fails
  REQUIRE(f.webhooks->count() == 1);

  f.clock->Advance(seconds(20));  // earlier than the 30 s retry could be due, even with -20% jitter
  CHECK(f.ProcessDeliveries() == 0);

  f.webhooks->SetOutcome(libchat::SendOutcome::Delivered(204));
  f.clock->Advance(seconds(20));  // 40 s in: past 30 s + 20%
  CHECK(f.ProcessDeliveries() == 1);

  const std::vector<libchat::WebhookRequest> requests = f.webhooks->requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].url == "https://192.0.2.10/hooks/chat");
  CHECK(requests[1].id == requests[0].id);  // a receiver deduplicates retries on webhook-id
  CHECK(requests[1].timestamp > requests[0].timestamp);
  CHECK(requests[1].body.find("Do you ship to Norway?") != std::string::npos);
  // Signed with the endpoint's secret (libchat::SignWebhook gives the header a receiver would check).
  CHECK(requests[1].secrets == std::vector<std::string>{hook.secret});

  // The outbox shows both attempts.
  libchat::DeliveryFilter filter;
  filter.webhook_id = hook.webhook.id;
  const std::vector<libchat::Delivery> deliveries = Ok(f.chat->ListDeliveries(f.owner, f.app.id, filter)).data;
  REQUIRE(deliveries.size() == 1);
  CHECK(deliveries[0].status == libchat::DeliveryStatus::kDelivered);
  REQUIRE(deliveries[0].attempts.size() == 2);
  CHECK(deliveries[0].attempts[0].status_code == 503);
  CHECK(deliveries[0].attempts[1].status_code == 204);
}

}  // namespace
