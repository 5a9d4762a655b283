// RecordingWebhookSender: a WebhookSender that posts nothing. It records every
// webhook request it is asked to send and answers with a scripted SendOutcome,
// so a test can assert which events an app's endpoints would have received,
// and make receivers fail to exercise retries, 410s and dead letters.
// Supported test double (docs/testing.md).
//
// Wiring it into a Chat (public API only):
//
//   auto webhooks = std::make_shared<libchat::testing::RecordingWebhookSender>();
//   options.delivery.webhook_sender = webhooks;
//
// libchat still decides what to send: only to the endpoints an app created
// (Chat::CreateWebhook), only the event types they subscribed to, with its own
// retry schedule. An endpoint's URL is still validated when it is created, and
// a host name is resolved then (private, loopback and documentation addresses
// are refused unless DeliveryOptions::allowed_private_networks lists them).
// Tests that must not depend on DNS use an address literal and allow it, e.g.
// allowed_private_networks = {"192.0.2.0/24"} with https://192.0.2.10/hooks.
// This double itself never resolves or connects to anything.
//
// Contract:
//  - Send never blocks, never touches the network and never throws. It answers
//    with the current outcome: SendOutcome::Delivered(200) until SetOutcome.
//    Map a receiver's answer the way the HTTP sender does: 2xx Delivered, 410
//    Kind::kGone (disables the endpoint), anything else Kind::kRetry (with
//    retry_after for a Retry-After header), a refused target Kind::kPermanent.
//  - Every call is recorded, whatever outcome it answered with; each retry of a
//    delivery is recorded again with the same `id` and a new `timestamp`.
//  - The request is recorded as libchat built it, unsigned: `secrets` holds the
//    endpoint's "whsec_" secret(s) (two during a rotation), so a test can check
//    the signature a receiver would get with SignWebhook(secret, id,
//    seconds of timestamp, body). `timeout` and `public_addresses_only` are
//    recorded but have no effect here.
//  - Thread-safety: every method may be called concurrently (libchat's delivery
//    workers call Send from their own threads while the test reads requests()).
//
// Stability: this header is public API under the same compatibility promise
// as the rest of libchat/include (docs/testing.md). Header-only: LIBCHAT_API
// only gives its type information default visibility, like the other providers.
#pragma once

#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

#include "libchat/export.h"
#include "libchat/providers/send_outcome.h"
#include "libchat/providers/webhook.h"

namespace libchat::testing {

class LIBCHAT_API RecordingWebhookSender : public WebhookSender {
 public:
  RecordingWebhookSender() = default;
  // Starts answering with `outcome` instead of Delivered(200).
  explicit RecordingWebhookSender(SendOutcome outcome) : outcome_(std::move(outcome)) {}

  // Records `request` and returns the current outcome.
  SendOutcome Send(const WebhookRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(request);
    return outcome_;
  }

  // The outcome of every later Send (e.g. SendOutcome::Failed(SendOutcome::Kind::kRetry, 503, "unavailable")).
  void SetOutcome(SendOutcome outcome) {
    std::lock_guard<std::mutex> lock(mutex_);
    outcome_ = std::move(outcome);
  }

  // Copies of every request sent so far, oldest first.
  std::vector<WebhookRequest> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

  // How many requests were sent so far.
  std::size_t count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_.size();
  }

  // Forgets the recorded requests (the outcome stays).
  void Clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.clear();
  }

 private:
  mutable std::mutex mutex_;
  SendOutcome outcome_ = SendOutcome::Delivered(200);
  std::vector<WebhookRequest> requests_;
};

}  // namespace libchat::testing
