// custom_email_provider: a host's own libchat::EmailProvider, plugged in through
// Options::delivery.email_provider_factory.
//
// The host already has a mail pipeline (its own relay, templates, a suppression
// list of addresses that bounced or unsubscribed) and wants libchat's emails to
// go through it instead of libchat's SMTP or HTTP providers. HostMailer hands
// each email to that pipeline, here a queue the program prints, and refuses
// suppressed addresses permanently, so libchat dead-letters them at once rather
// than retrying.
//
// An app turns on the email fallback through the public API (an email setting
// for the app and a delivery policy with "email"); a customer writes while the
// owner is away; five minutes later the message is still unread, and the
// delivery worker sends the owner an email through HostMailer.
//
// The example runs in-process in a second and leaves nothing behind: the
// in-memory store and a FakeClock (libchat's supported test doubles) stand in
// for the SQLite file and the wall clock. A host keeps the defaults and runs
// Chat::ProcessDueDeliveries on worker threads (see docs/embedding.md).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "libchat/chat.h"
#include "libchat/providers/email.h"
#include "libchat/testing/fake_clock.h"
#include "libchat/testing/memory_store.h"

namespace {

// The host's mail pipeline as libchat sees it. Send is called from delivery
// worker threads, concurrently: everything it touches is under one mutex. It
// must not throw, and reports every failure in the SendOutcome.
class HostMailer : public libchat::EmailProvider {
 public:
  explicit HostMailer(std::set<std::string> suppressed) : suppressed_(std::move(suppressed)) {}

  libchat::SendOutcome Send(const libchat::EmailMessage& message) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (suppressed_.count(message.to) != 0) {
      // Permanent: retrying will not help. libchat marks the delivery failed now.
      return libchat::SendOutcome::Failed(libchat::SendOutcome::Kind::kPermanent, 550, "recipient is suppressed");
    }
    // idempotency_key is the same on every retry of one delivery: a pipeline
    // that deduplicates on it never sends one email twice.
    if (!accepted_keys_.insert(message.idempotency_key).second) return libchat::SendOutcome::Delivered(250);
    queue_.push_back(message);
    libchat::SendOutcome outcome = libchat::SendOutcome::Delivered(250);
    outcome.provider_message_id = "host-" + std::to_string(queue_.size());
    return outcome;
  }

  // What the pipeline accepted, oldest first.
  std::deque<libchat::EmailMessage> queue() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return queue_;
  }

 private:
  mutable std::mutex mutex_;
  const std::set<std::string> suppressed_;
  std::set<std::string> accepted_keys_;
  std::deque<libchat::EmailMessage> queue_;
};

// Prints the status and exits when a call failed; returns the value otherwise.
template <typename T>
T Must(libchat::Result<T> result, const char* what) {
  if (!result.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, result.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(result).value();
}

}  // namespace

int main() {
  auto mailer = std::make_shared<HostMailer>(std::set<std::string>{"grace@example.com"});
  auto clock = std::make_shared<libchat::testing::FakeClock>();

  libchat::Options options;
  options.store = libchat::testing::NewMemoryStore();
  options.clock = clock;
  // Every app's email goes through the host's pipeline, whatever provider type
  // the app configured. The factory could also choose per app (`config.type`,
  // `config.settings`) and fall back to libchat::NewEmailProvider for the rest.
  options.delivery.email_provider_factory =
      [mailer](const libchat::EmailProviderConfig&) -> libchat::Result<std::shared_ptr<libchat::EmailProvider>> {
    return std::shared_ptr<libchat::EmailProvider>(mailer);
  };
  auto chat = Must(libchat::Chat::Open(std::move(options)), "open");

  auto session = Must(chat->Register({"owner@acme.example", "correct horse battery", "Ada"}), "register");
  auto owner = Must(chat->Authenticate({session.token, "", "", ""}), "authenticate owner");
  libchat::AppCreate new_app;
  new_app.name = "Acme Support";
  auto app = Must(chat->CreateApp(owner, new_app), "create app");

  // The app's email settings: libchat emails an app's people only when the app
  // has them, and takes the sender (`from`) from them. The host's factory
  // ignores the rest, so the SMTP host named here is never contacted.
  libchat::EmailProviderConfig email;
  email.type = "smtp";
  email.from = "Acme Support <support@acme.example>";
  email.settings = {{"host", "smtp.acme.example"}, {"port", "587"}};
  Must(chat->PutEmailProvider(owner, app.app.id, email), "email provider");

  // The delivery policy: besides the live socket, email whoever has not read a
  // message five minutes after it was sent.
  libchat::DeliveryPolicy policy;
  policy.channels = {libchat::DeliveryChannel::kWebSocket, libchat::DeliveryChannel::kEmail};
  policy.email_fallback_after = std::chrono::minutes(5);
  Must(chat->PutDeliveryPolicy(owner, app.app.id, policy), "delivery policy");

  // A customer writes while nobody of the team is online. She left her address,
  // but she unsubscribed from the host's emails long ago.
  auto sdk = Must(chat->Authenticate({"", app.app.publishable_key, "", ""}), "authenticate sdk");
  libchat::SdkSendRequest first;
  first.message.text = "Hi! Is the blue kettle back in stock?";
  first.customer.name = "Grace";
  first.customer.email = "grace@example.com";
  auto conversation = Must(chat->SdkSendMessage(sdk, first), "customer message").conversation;

  // Nothing is due before the fallback delay; then the worker emails the owner.
  const int at_once = Must(chat->ProcessDueDeliveries(), "deliveries at once");
  clock->Advance(std::chrono::minutes(4));
  const int after_4 = Must(chat->ProcessDueDeliveries(), "deliveries after 4 minutes");
  clock->Advance(std::chrono::minutes(1));
  const int after_5 = Must(chat->ProcessDueDeliveries(), "deliveries after 5 minutes");
  std::printf("deliveries processed: %d at once, %d after 4 min, %d after 5 min\n", at_once, after_4, after_5);

  // The owner answers; Grace does not read it in time, and her fallback email is refused by the host.
  Must(chat->SendMessage(owner, conversation.id, {"Yes, it is! Shall I reserve one?", "o-1", ""}), "reply");
  clock->Advance(std::chrono::minutes(5));
  Must(chat->ProcessDueDeliveries(), "deliveries of the reply");

  const std::deque<libchat::EmailMessage> queue = mailer->queue();
  for (const libchat::EmailMessage& m : queue) {
    std::printf("--- email (idempotency key %s)\nFrom: %s\nTo: %s\nSubject: %s\n\n%s\n---\n",
                m.idempotency_key.c_str(), m.from.c_str(), m.to.c_str(), m.subject.c_str(), m.text.c_str());
  }

  // What libchat recorded: the outbox as the app's team sees it, newest first.
  libchat::DeliveryFilter filter;
  filter.channel = libchat::DeliveryChannel::kEmail;
  auto deliveries = Must(chat->ListDeliveries(owner, app.app.id, filter), "list deliveries").data;
  for (const libchat::Delivery& d : deliveries) {
    std::printf("delivery %s to %s: %s after %d attempt(s)%s%s\n", d.kind.c_str(), d.recipient_id.c_str(),
                libchat::DeliveryStatusName(d.status), d.attempt_count, d.last_error.empty() ? "" : ": ",
                d.last_error.c_str());
  }

  const bool ok = at_once == 0 && after_4 == 0 && after_5 == 1 && queue.size() == 1 &&
                  queue.front().to == "owner@acme.example" &&
                  queue.front().text.find("blue kettle") != std::string::npos && deliveries.size() == 2 &&
                  deliveries[0].status == libchat::DeliveryStatus::kFailed &&
                  deliveries[1].status == libchat::DeliveryStatus::kDelivered;
  std::printf("%s\n", ok ? "host mailer delivered 1 email to owner@acme.example and refused 1 suppressed address"
                         : "unexpected: see the output above");
  return ok ? 0 : 1;
}
