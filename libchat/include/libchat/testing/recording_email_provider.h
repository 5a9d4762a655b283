// RecordingEmailProvider: an EmailProvider that sends nothing. It records every
// message it is asked to send and answers with a scripted SendOutcome, so a
// test can assert what libchat would have emailed, and make sends fail to
// exercise retries and dead letters. Supported test double (docs/testing.md).
//
// Wiring it into a Chat (public API only):
//
//   auto email = std::make_shared<libchat::testing::RecordingEmailProvider>();
//   options.delivery.email_provider_factory = libchat::testing::EmailProviderFactoryFor(email);
//
// libchat still sends email only for apps that have an email provider
// configured (Chat::PutEmailProvider), and only what they ask for (the email
// fallback of a delivery policy that includes email, email notifications): the
// factory replaces the provider built from that configuration, not the
// configuration itself (its `from` is still the sender of every email).
//
// Contract:
//  - Send never blocks, never touches the network and never throws. It answers
//    with the current outcome: SendOutcome::Delivered(250) until SetOutcome.
//  - Every call is recorded, whatever outcome it answered with; a delivery that
//    is retried three times is recorded three times (with the same
//    idempotency_key). The message is recorded as libchat built it: nothing is
//    validated, encoded or rendered (no MIME, no address checks).
//  - Thread-safety: every method may be called concurrently (libchat's delivery
//    workers call Send from their own threads while the test reads messages()).
//
// Stability: this header is public API under the same compatibility promise
// as the rest of libchat/include (docs/testing.md). Header-only: LIBCHAT_API
// only gives its type information default visibility, like the other providers.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "libchat/export.h"
#include "libchat/providers/email.h"
#include "libchat/providers/send_outcome.h"
#include "libchat/status.h"

namespace libchat::testing {

class LIBCHAT_API RecordingEmailProvider : public EmailProvider {
 public:
  RecordingEmailProvider() = default;
  // Starts answering with `outcome` instead of Delivered(250).
  explicit RecordingEmailProvider(SendOutcome outcome) : outcome_(std::move(outcome)) {}

  // Records `message` and returns the current outcome.
  SendOutcome Send(const EmailMessage& message) override {
    std::lock_guard<std::mutex> lock(mutex_);
    messages_.push_back(message);
    return outcome_;
  }

  // The outcome of every later Send (e.g. SendOutcome::Failed(SendOutcome::Kind::kRetry, 451, "try later")).
  void SetOutcome(SendOutcome outcome) {
    std::lock_guard<std::mutex> lock(mutex_);
    outcome_ = std::move(outcome);
  }

  // Copies of every message sent so far, oldest first.
  std::vector<EmailMessage> messages() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
  }

  // How many messages were sent so far.
  std::size_t count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_.size();
  }

  // Forgets the recorded messages (the outcome stays).
  void Clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    messages_.clear();
  }

 private:
  mutable std::mutex mutex_;
  SendOutcome outcome_ = SendOutcome::Delivered(250);
  std::vector<EmailMessage> messages_;
};

// A value for DeliveryOptions::email_provider_factory that gives every app
// `provider` (a RecordingEmailProvider, or any other EmailProvider) whatever
// its configuration's type and settings say. libchat caches an app's provider,
// so the factory runs when an app's email is first sent and again after its
// email settings change (or the cache expired).
inline std::function<Result<std::shared_ptr<EmailProvider>>(const EmailProviderConfig&)> EmailProviderFactoryFor(
    std::shared_ptr<EmailProvider> provider) {
  return [provider = std::move(provider)](const EmailProviderConfig&) -> Result<std::shared_ptr<EmailProvider>> {
    return provider;
  };
}

}  // namespace libchat::testing
