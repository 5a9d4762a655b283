// EmailProvider: how libchat sends an email. Built-in: SMTP, Mailgun, SendGrid,
// Postmark and Amazon SES (see NewEmailProvider); a host can supply its own.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "libchat/export.h"
#include "libchat/providers/http_client.h"
#include "libchat/providers/send_outcome.h"
#include "libchat/status.h"

namespace libchat {

struct EmailMessage {
  std::string from;       // "support@example.com" or "Example Support <support@example.com>"
  std::string to;         // one address, same forms as `from`
  std::string reply_to;   // optional
  std::string subject;    // UTF-8; encoded by the provider as its protocol needs
  std::string text;       // text/plain part (UTF-8), required
  std::string html;       // text/html part (UTF-8), optional
  // Stable across retries of one delivery (the outbox delivery id), for
  // providers that deduplicate and for Message-ID / tracking headers.
  std::string idempotency_key;
};

// Thread-safety: Send may be called concurrently from many threads; it blocks
// (network I/O), so callers run it on worker threads. It never throws: every
// failure is reported in the SendOutcome.
class LIBCHAT_API EmailProvider {
 public:
  virtual ~EmailProvider() = default;
  virtual SendOutcome Send(const EmailMessage& message) = 0;
};

// An app's email provider settings. `type` is "smtp", "mailgun", "sendgrid",
// "postmark" or "ses"; `settings` holds the type's fields (all strings):
//   smtp:     host, port ("587"), security ("starttls" | "tls" | "none"), username, password,
//             tls_verify ("true" | "false": "false" accepts a self-signed server certificate)
//   mailgun:  domain, api_key, region ("us" | "eu", default "us"), base_url (tests only)
//   sendgrid: api_key, base_url (tests only)
//   postmark: server_token, message_stream ("outbound"), base_url (tests only)
//   ses:      region, access_key_id, secret_access_key, session_token (optional), base_url (tests only)
// Secret fields (password, api_key, server_token, secret_access_key,
// session_token) are stored encrypted and never returned by the API.
struct EmailProviderConfig {
  std::string type;
  std::string from;
  std::map<std::string, std::string> settings;
};

// True for the field names above that hold secrets.
LIBCHAT_API bool IsSecretEmailSetting(const std::string& name);

// Checks `config` (type known, required fields present, ports and URLs well
// formed). kInvalidArgument names the first problem.
LIBCHAT_API Status ValidateEmailProviderConfig(const EmailProviderConfig& config);

// Builds the provider `config` describes. HTTP providers send through `http`
// (which applies its own address policy); SMTP uses libcurl directly and
// refuses hosts that resolve to private, loopback or link-local addresses
// unless they are inside `allowed_private_networks` (CIDRs).
LIBCHAT_API Result<std::shared_ptr<EmailProvider>> NewEmailProvider(const EmailProviderConfig& config,
                                                        std::shared_ptr<HttpClient> http,
                                                        const std::vector<std::string>& allowed_private_networks = {});

}  // namespace libchat
