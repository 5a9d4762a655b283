// The default WebhookSender: one signed Standard Webhooks POST through an
// HttpClient, its response turned into a SendOutcome for the outbox.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "delivery/retry_after.h"
#include "libchat/providers/webhook.h"

namespace libchat {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

// Longest excerpt of a receiver's body or Location kept in an attempt's error.
constexpr std::size_t kMaxExcerpt = 200;

// Something from the receiver made safe for an attempt log (and the JSON it is
// served in): printable ASCII only, whitespace runs collapsed, bounded.
std::string Excerpt(std::string_view text) {
  std::string out;
  bool space = false;
  for (const char c : text) {
    if (out.size() >= kMaxExcerpt) {
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte == ' ' || byte == '\t' || byte == '\r' || byte == '\n') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += (byte > 0x20 && byte < 0x7F) ? c : '?';
  }
  return out;
}

// No HTTP response came back: why, in a form that reads well in an attempt log.
SendOutcome TransportFailure(const Status& status, const WebhookRequest& request) {
  switch (status.code()) {
    case StatusCode::kPermissionDenied:  // a private / non-public target: policy, not luck
      return SendOutcome::Failed(SendOutcome::Kind::kPermanent, 0, "target address refused: " + status.message());
    case StatusCode::kInvalidArgument:  // a malformed URL will not become valid by waiting
      return SendOutcome::Failed(SendOutcome::Kind::kPermanent, 0, "invalid request: " + status.message());
    case StatusCode::kDeadlineExceeded:
      return SendOutcome::Failed(SendOutcome::Kind::kRetry, 0,
                                 "timeout after " + std::to_string(request.timeout.count()) + " ms");
    default:
      return SendOutcome::Failed(SendOutcome::Kind::kRetry, 0,
                                 status.message().empty() ? status.ToString() : status.message());
  }
}

SendOutcome FromResponse(const HttpResponse& response) {
  const int code = response.status;
  if (code >= 200 && code <= 299) return SendOutcome::Delivered(code);
  const std::string prefix = "HTTP " + std::to_string(code);
  if (code == 410) return SendOutcome::Failed(SendOutcome::Kind::kGone, code, prefix + ": the endpoint is gone");

  std::string error = prefix;
  if (code >= 300 && code <= 399) {
    const std::string location = response.Header("location");
    error += location.empty() ? ": redirect not followed" : ": redirect to " + Excerpt(location) + " not followed";
  } else if (std::string body = Excerpt(response.body); !body.empty()) {
    error += ": " + body;
  }
  SendOutcome outcome = SendOutcome::Failed(SendOutcome::Kind::kRetry, code, std::move(error));
  outcome.retry_after = internal::ParseRetryAfter(response.Header("retry-after"), system_clock::now());
  return outcome;
}

class HttpWebhookSender final : public WebhookSender {
 public:
  explicit HttpWebhookSender(std::shared_ptr<HttpClient> http) : http_(std::move(http)) {}

  SendOutcome Send(const WebhookRequest& request) override {
    // The outbox worker calls this; an exception escaping (a host's HttpClient,
    // bad_alloc) must not take the worker down.
    try {
      return SendOnce(request);
    } catch (const std::exception& e) {
      return SendOutcome::Failed(SendOutcome::Kind::kRetry, 0, std::string("webhook send failed: ") + e.what());
    } catch (...) {
      return SendOutcome::Failed(SendOutcome::Kind::kRetry, 0, "webhook send failed: unknown exception");
    }
  }

 private:
  SendOutcome SendOnce(const WebhookRequest& request) const {
    if (http_ == nullptr) return SendOutcome::Failed(SendOutcome::Kind::kPermanent, 0, "no HTTP client configured");
    // Receivers reject unsigned webhooks, so there is no point sending one.
    if (request.secrets.empty()) return SendOutcome::Failed(SendOutcome::Kind::kPermanent, 0, "no webhook secret");

    const std::int64_t timestamp_s = std::chrono::floor<seconds>(request.timestamp).time_since_epoch().count();
    std::string signatures;
    for (const std::string& secret : request.secrets) {
      Result<std::string> signature = SignWebhook(secret, request.id, timestamp_s, request.body);
      if (!signature.ok()) {
        return SendOutcome::Failed(SendOutcome::Kind::kPermanent, 0, signature.status().message());
      }
      if (!signatures.empty()) signatures += ' ';
      signatures += *signature;
    }

    HttpRequest http_request;
    http_request.method = "POST";
    http_request.url = request.url;
    http_request.headers = {
        {"Content-Type", "application/json"},
        {"User-Agent", "libchat"},
        {"webhook-id", request.id},
        {"webhook-timestamp", std::to_string(timestamp_s)},
        {"webhook-signature", std::move(signatures)},
    };
    http_request.body = request.body;
    http_request.timeout = request.timeout;
    http_request.public_addresses_only = request.public_addresses_only;

    Result<HttpResponse> response = http_->Send(http_request);
    if (!response.ok()) return TransportFailure(response.status(), request);
    return FromResponse(*response);
  }

  const std::shared_ptr<HttpClient> http_;
};

}  // namespace

std::shared_ptr<WebhookSender> NewHttpWebhookSender(std::shared_ptr<HttpClient> http) {
  return std::make_shared<HttpWebhookSender>(std::move(http));
}

}  // namespace libchat
