// The SMTP email provider over libcurl (STARTTLS or implicit TLS, AUTH), sending
// the MIME message built by delivery/mime_message.h. Internal: reached through
// NewEmailProvider for configurations of type "smtp".
#pragma once

#include <memory>

#include "libchat/providers/email.h"

namespace libchat::internal {

// `config.type` must be "smtp"; see EmailProviderConfig for the settings.
Result<std::shared_ptr<EmailProvider>> NewSmtpEmailProvider(const EmailProviderConfig& config);

}  // namespace libchat::internal
