// What the HTTP email API providers (Mailgun, SendGrid, Postmark, SES) share
// besides the outcome mapping: reading settings, checking and formatting the
// message's addresses, and JSON that never throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "delivery/mime_message.h"
#include "libchat/providers/email.h"
#include "libchat/providers/send_outcome.h"
#include "libchat/status.h"

namespace libchat::internal {

// Base of the HTTP API providers: Send keeps the "never throws" promise of
// EmailProvider even when a host's HttpClient throws (or memory runs out):
// the exception becomes a kRetry outcome. Subclasses implement SendOnce.
class ApiEmailProvider : public EmailProvider {
 public:
  SendOutcome Send(const EmailMessage& message) final;

 protected:
  explicit ApiEmailProvider(const char* provider_name) : provider_name_(provider_name) {}
  virtual SendOutcome SendOnce(const EmailMessage& message) = 0;

 private:
  const char* const provider_name_;
};

// settings[name], or `fallback` when it is absent or empty.
std::string SettingOr(const EmailProviderConfig& config, const std::string& name, std::string fallback = {});

// The base_url setting without trailing '/', or `default_url` when it is not set.
std::string ApiBaseUrl(const EmailProviderConfig& config, std::string default_url);

// The message's addresses, parsed. `from` falls back to the configured sender
// when the message has none.
struct Envelope {
  MailAddress from;
  MailAddress to;
  std::optional<MailAddress> reply_to;
  std::string subject;  // control characters (CR, LF, ...) replaced by spaces
};

// kInvalidArgument naming the bad field: an address that ParseMailAddress
// refuses, or an empty text part. Such a message can never be sent.
Result<Envelope> PrepareEnvelope(const EmailMessage& message, const EmailProviderConfig& config);

// The kPermanent outcome for a message PrepareEnvelope refused.
SendOutcome InvalidMessageOutcome(std::string_view provider, const Status& status);

// "a@b.c", or "Name <a@b.c>" with the name quoted (\" and \\ escaped) when it
// holds RFC 5322 specials such as ',' or '"'. UTF-8 names are left as they are.
std::string FormatMailAddress(const MailAddress& address);

// As FormatMailAddress with a non-ASCII name as RFC 2047 encoded-words, for
// APIs that take only ASCII addresses (SES).
std::string FormatMailAddressAscii(const MailAddress& address);

// Serializes without ever throwing: invalid UTF-8 becomes U+FFFD.
std::string DumpJson(const nlohmann::json& value);

// The body parsed as a JSON object; an empty object when it is not one.
nlohmann::json ParseJsonObject(const std::string& body);

// object[key] when it is a string, "" otherwise.
std::string JsonString(const nlohmann::json& object, const char* key);

}  // namespace libchat::internal
