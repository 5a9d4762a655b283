// SendOutcome: what one attempt to deliver something outside libchat produced.
// Providers report it; the outbox worker turns it into retry / done / dead letter.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace libchat {

struct SendOutcome {
  enum class Kind {
    kDelivered,   // accepted by the other side (2xx, SMTP 250)
    kRetry,       // failed for now: retried on the schedule (5xx, 429, timeouts, network errors)
    kPermanent,   // will never succeed as it is (bad credentials, rejected address): dead-lettered now
    kGone,        // the target asked never to be called again (webhook 410): endpoint disabled
  };
  Kind kind = Kind::kRetry;
  int status_code = 0;  // HTTP status or SMTP reply code; 0 when none was received
  std::string error;    // empty when delivered
  // The other side asked to wait at least this long (HTTP Retry-After).
  std::optional<std::chrono::milliseconds> retry_after;
  // Provider's id for what it accepted (Mailgun id, SES MessageId ...), if any.
  std::string provider_message_id;

  static SendOutcome Delivered(int status_code) {
    SendOutcome outcome;
    outcome.kind = Kind::kDelivered;
    outcome.status_code = status_code;
    return outcome;
  }
  static SendOutcome Failed(Kind kind, int status_code, std::string error) {
    SendOutcome outcome;
    outcome.kind = kind;
    outcome.status_code = status_code;
    outcome.error = std::move(error);
    return outcome;
  }
};

}  // namespace libchat
