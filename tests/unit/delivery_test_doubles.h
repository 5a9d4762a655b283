// Test doubles for external delivery in API tests. The recording webhook sender and email provider are the
// public ones (libchat/testing/); this adds what only libchat's own tests need: an HTTP client that refuses
// everything (so that no test ever reaches the network), a log of the email configurations the provider factory
// was asked to build, and UseRecordingDelivery, which wires them into Options.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "libchat/options.h"
#include "libchat/providers/email.h"
#include "libchat/providers/http_client.h"
#include "libchat/testing/recording_email_provider.h"
#include "libchat/testing/recording_webhook_sender.h"

namespace libchat::test {

using libchat::testing::RecordingEmailProvider;
using libchat::testing::RecordingWebhookSender;

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
