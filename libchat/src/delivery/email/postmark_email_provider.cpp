// Postmark's Email API: https://postmarkapp.com/developer/api/email-api
#include <chrono>
#include <string>
#include <utility>

#include "delivery/email/email_api_common.h"
#include "delivery/email/http_email_providers.h"
#include "delivery/email/http_outcome.h"

namespace libchat::internal {
namespace {

using Json = nlohmann::json;

constexpr char kProvider[] = "postmark";
// Postmark caps metadata values at 80 characters.
constexpr std::size_t kMaxMetadataValue = 80;

// "[ErrorCode] Message", e.g. "[406] You tried to send to recipient(s) that have been marked as inactive."
std::string ErrorOf(const Json& body) {
  const std::string message = JsonString(body, "Message");
  const auto code = body.find("ErrorCode");
  if (code != body.end() && code->is_number_integer() && code->get<long long>() != 0) {
    return "[" + std::to_string(code->get<long long>()) + "] " + message;
  }
  return message;
}

std::string ErrorMessage(const HttpResponse& response) { return ErrorOf(ParseJsonObject(response.body)); }

class PostmarkEmailProvider final : public ApiEmailProvider {
 public:
  PostmarkEmailProvider(EmailProviderConfig config, std::shared_ptr<HttpClient> http)
      : ApiEmailProvider(kProvider),
        config_(std::move(config)),
        http_(std::move(http)),
        url_(ApiBaseUrl(config_, "https://api.postmarkapp.com") + "/email"),
        token_(SettingOr(config_, "server_token")),
        stream_(SettingOr(config_, "message_stream", "outbound")) {}

  SendOutcome SendOnce(const EmailMessage& message) override {
    Result<Envelope> envelope = PrepareEnvelope(message, config_);
    if (!envelope.ok()) return InvalidMessageOutcome(kProvider, envelope.status());

    Json body = {
        {"From", FormatMailAddress(envelope->from)},
        {"To", FormatMailAddress(envelope->to)},
        {"Subject", envelope->subject},
        {"TextBody", message.text},
        {"MessageStream", stream_},
    };
    if (!message.html.empty()) body["HtmlBody"] = message.html;
    if (envelope->reply_to) body["ReplyTo"] = FormatMailAddress(*envelope->reply_to);
    if (!message.idempotency_key.empty() && message.idempotency_key.size() <= kMaxMetadataValue) {
      body["Metadata"] = {{"libchat_delivery", message.idempotency_key}};
    }

    HttpRequest request;
    request.method = "POST";
    request.url = url_;
    request.headers = {{"Accept", "application/json"},
                       {"Content-Type", "application/json"},
                       {"X-Postmark-Server-Token", token_}};
    request.body = DumpJson(body);

    const Result<HttpResponse> response = http_->Send(request);
    SendOutcome outcome = HttpSendOutcome(kProvider, response, ErrorMessage, std::chrono::system_clock::now());
    if (outcome.kind != SendOutcome::Kind::kDelivered) return outcome;
    // Postmark reports refusals in ErrorCode; a 2xx that carries one was not sent.
    const Json answer = ParseJsonObject(response->body);
    const auto code = answer.find("ErrorCode");
    if (code != answer.end() && !(code->is_number() && *code == 0)) {
      return SendOutcome::Failed(SendOutcome::Kind::kPermanent, outcome.status_code,
                                 std::string(kProvider) + ": HTTP " + std::to_string(outcome.status_code) + ": " +
                                     SanitizeProviderMessage(ErrorOf(answer)));
    }
    outcome.provider_message_id = JsonString(answer, "MessageID");
    return outcome;
  }

 private:
  const EmailProviderConfig config_;
  const std::shared_ptr<HttpClient> http_;
  const std::string url_;
  const std::string token_;
  const std::string stream_;
};

}  // namespace

std::shared_ptr<EmailProvider> NewPostmarkEmailProvider(const EmailProviderConfig& config,
                                                        std::shared_ptr<HttpClient> http) {
  return std::make_shared<PostmarkEmailProvider>(config, std::move(http));
}

}  // namespace libchat::internal
