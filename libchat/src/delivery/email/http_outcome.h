// How the HTTP email providers (Mailgun, SendGrid, Postmark, SES) turn what the
// API answered into a SendOutcome, so that all of them retry, give up and report
// errors the same way.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "libchat/providers/http_client.h"
#include "libchat/providers/send_outcome.h"
#include "delivery/retry_after.h"
#include "libchat/status.h"

namespace libchat::internal {


// The provider's human-readable error in an error response (its body, maybe a
// header), "" when there is none. Must not throw (parse with allow_exceptions = false).
using ErrorMessageExtractor = std::string (*)(const HttpResponse& response);

// The mapping shared by the HTTP providers:
//   no response: kRetry, except kPermissionDenied (the client refused the
//     address) and kInvalidArgument (malformed URL), which can never succeed: kPermanent;
//   2xx: kDelivered (the caller reads its provider id from the response);
//   408, 429 and 5xx: kRetry with retry_after from a Retry-After header;
//   401 and 403: kPermanent, "credentials rejected";
//   any other status: kPermanent with the provider's message when the body has one.
// Errors read "<provider>: HTTP 400: <message>" and never hold request data.
SendOutcome HttpSendOutcome(std::string_view provider, const Result<HttpResponse>& result,
                            ErrorMessageExtractor extract_error, std::chrono::system_clock::time_point now);

// A provider message made safe to store and show: control characters become
// spaces and it is cut (on a UTF-8 boundary) to a few hundred bytes.
std::string SanitizeProviderMessage(std::string_view message);

}  // namespace libchat::internal
