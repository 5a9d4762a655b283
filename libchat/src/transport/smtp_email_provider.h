// The SMTP email provider over libcurl (STARTTLS or implicit TLS, AUTH), sending
// the MIME message built by delivery/mime_message.h. Internal: reached through
// NewEmailProvider for configurations of type "smtp".
#pragma once

#include <memory>
#include <optional>

#include "libchat/providers/email.h"
#include "transport/address_policy.h"

namespace libchat::internal {

struct SmtpProviderOptions {
  // When set, the provider connects only to public addresses or to addresses inside this allowlist (the
  // SSRF policy of address_policy.h, checked on the address actually connected to), and a refused address
  // is a kPermanent outcome. A host configured by a tenant needs it: otherwise the server probes its own
  // network on the tenant's behalf. Default: unset, any address.
  std::optional<NetworkAllowlist> address_policy;
};

// `config.type` must be "smtp"; see EmailProviderConfig for the settings, plus two optional ones:
// "tls_verify" ("true" by default; "false" accepts any certificate, for test servers) and "ca_file" (PEM
// trust anchors to verify the server with). The port defaults to 587 for "starttls", 465 for "tls" and 25
// for "none"; security defaults to "starttls". kInvalidArgument names the first bad setting.
// Each Send opens its own connection; 30 s bound the connect and the whole transaction.
Result<std::shared_ptr<EmailProvider>> NewSmtpEmailProvider(const EmailProviderConfig& config,
                                                            const SmtpProviderOptions& options = {});

}  // namespace libchat::internal
