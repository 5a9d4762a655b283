// The email providers that send through an HTTP API: Mailgun, SendGrid,
// Postmark and Amazon SES (API v2). Internal: reached through NewEmailProvider,
// which validates the configuration first (ValidateEmailProviderConfig); these
// constructors assume a valid configuration of their type and a non-null client.
#pragma once

#include <memory>

#include "libchat/providers/email.h"
#include "libchat/providers/http_client.h"

namespace libchat::internal {

// POST {base}/v3/{domain}/messages, form-encoded, HTTP Basic "api:<api_key>".
std::shared_ptr<EmailProvider> NewMailgunEmailProvider(const EmailProviderConfig& config,
                                                       std::shared_ptr<HttpClient> http);
// POST {base}/v3/mail/send, JSON, Bearer <api_key>; success is 202.
std::shared_ptr<EmailProvider> NewSendGridEmailProvider(const EmailProviderConfig& config,
                                                        std::shared_ptr<HttpClient> http);
// POST {base}/email, JSON, X-Postmark-Server-Token.
std::shared_ptr<EmailProvider> NewPostmarkEmailProvider(const EmailProviderConfig& config,
                                                        std::shared_ptr<HttpClient> http);
// POST {base}/v2/email/outbound-emails, JSON, AWS Signature Version 4 (service "ses").
std::shared_ptr<EmailProvider> NewSesEmailProvider(const EmailProviderConfig& config,
                                                   std::shared_ptr<HttpClient> http);

}  // namespace libchat::internal
