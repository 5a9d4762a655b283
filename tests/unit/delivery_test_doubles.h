// Test doubles for external delivery in API tests: a webhook sender and an email provider that record what
// they were asked to send and answer with a scripted outcome, and an HTTP client that refuses everything (so
// that no test ever reaches the network). UseRecordingDelivery wires them into Options.
#pragma once

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "libchat/options.h"
#include "libchat/providers/email.h"
#include "libchat/providers/http_client.h"
#include "libchat/providers/webhook.h"

namespace libchat::test {

// What a provider double was asked to send, and the outcome it answers with. Thread-safe.
template <typename Item>
class SendLog {
 public:
  explicit SendLog(SendOutcome outcome) : outcome_(std::move(outcome)) {}
  SendOutcome Record(const Item& item) {
    std::lock_guard lock(mutex_);
    items_.push_back(item);
    return outcome_;
  }
  void SetOutcome(SendOutcome outcome) {
    std::lock_guard lock(mutex_);
    outcome_ = std::move(outcome);
  }
  std::vector<Item> items() const {
    std::lock_guard lock(mutex_);
    return items_;
  }

 private:
  mutable std::mutex mutex_;
  SendOutcome outcome_;
  std::vector<Item> items_;
};

class RecordingWebhookSender : public WebhookSender {
 public:
  SendOutcome Send(const WebhookRequest& request) override { return log_.Record(request); }
  void SetOutcome(SendOutcome outcome) { log_.SetOutcome(std::move(outcome)); }
  std::vector<WebhookRequest> requests() const { return log_.items(); }

 private:
  SendLog<WebhookRequest> log_{SendOutcome::Delivered(200)};
};

class RecordingEmailProvider : public EmailProvider {
 public:
  SendOutcome Send(const EmailMessage& message) override { return log_.Record(message); }
  void SetOutcome(SendOutcome outcome) { log_.SetOutcome(std::move(outcome)); }
  std::vector<EmailMessage> messages() const { return log_.items(); }

 private:
  SendLog<EmailMessage> log_{SendOutcome::Delivered(250)};
};

class RefusingHttpClient : public HttpClient {
 public:
  Result<HttpResponse> Send(const HttpRequest&) override {
    return UnavailableError("tests make no outbound HTTP requests");
  }
};

struct RecordingDelivery {
  std::shared_ptr<RecordingWebhookSender> webhooks = std::make_shared<RecordingWebhookSender>();
  std::shared_ptr<RecordingEmailProvider> email = std::make_shared<RecordingEmailProvider>();
  // The configurations the email provider factory was asked to build, newest last.
  std::shared_ptr<std::vector<EmailProviderConfig>> email_configs =
      std::make_shared<std::vector<EmailProviderConfig>>();
};

// Points `options` at the doubles of `delivery`; every app's email provider is `delivery.email`.
inline void UseRecordingDelivery(Options& options, const RecordingDelivery& delivery) {
  options.delivery.http_client = std::make_shared<RefusingHttpClient>();
  options.delivery.webhook_sender = delivery.webhooks;
  auto email = delivery.email;
  auto configs = delivery.email_configs;
  auto mutex = std::make_shared<std::mutex>();
  options.delivery.email_provider_factory =
      [email, configs, mutex](const EmailProviderConfig& config) -> Result<std::shared_ptr<EmailProvider>> {
    std::lock_guard lock(*mutex);
    configs->push_back(config);
    return std::shared_ptr<EmailProvider>(email);
  };
}

}  // namespace libchat::test
