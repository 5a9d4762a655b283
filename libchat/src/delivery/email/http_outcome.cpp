#include "delivery/email/http_outcome.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace libchat::internal {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::size_t kMaxProviderMessageBytes = 300;

bool IsRetryableStatus(int status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

}  // namespace

std::string SanitizeProviderMessage(std::string_view message) {
  std::string out;
  out.reserve(std::min(message.size(), kMaxProviderMessageBytes));
  for (const char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(byte < 0x20 || byte == 0x7f ? ' ' : c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > kMaxProviderMessageBytes) {
    std::size_t cut = kMaxProviderMessageBytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "...";
  }
  return out;
}

SendOutcome HttpSendOutcome(std::string_view provider, const Result<HttpResponse>& result,
                            ErrorMessageExtractor extract_error, std::chrono::system_clock::time_point now) {
  const std::string prefix = std::string(provider) + ": ";
  if (!result.ok()) {
    const Status& status = result.status();
    const bool permanent =
        status.code() == StatusCode::kPermissionDenied || status.code() == StatusCode::kInvalidArgument;
    return SendOutcome::Failed(permanent ? SendOutcome::Kind::kPermanent : SendOutcome::Kind::kRetry, 0,
                               prefix + "request failed: " + SanitizeProviderMessage(status.message()));
  }
  const HttpResponse& response = *result;
  const int code = response.status;
  if (code >= 200 && code <= 299) return SendOutcome::Delivered(code);

  const std::string detail = extract_error ? SanitizeProviderMessage(extract_error(response)) : std::string();
  std::string error = prefix + "HTTP " + std::to_string(code);
  if (code == 401 || code == 403) error += ": credentials rejected";
  if (!detail.empty()) error += (code == 401 || code == 403 ? " (" + detail + ")" : ": " + detail);

  if (IsRetryableStatus(code)) {
    SendOutcome outcome = SendOutcome::Failed(SendOutcome::Kind::kRetry, code, std::move(error));
    outcome.retry_after = ParseRetryAfter(response.Header("retry-after"), now);
    return outcome;
  }
  return SendOutcome::Failed(SendOutcome::Kind::kPermanent, code, std::move(error));
}

}  // namespace libchat::internal
