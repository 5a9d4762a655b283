// Mailgun's Messages API: https://documentation.mailgun.com/docs/mailgun/api-reference/openapi-final/tag/Messages/
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "delivery/email/email_api_common.h"
#include "delivery/email/http_email_providers.h"
#include "delivery/email/http_outcome.h"
#include "util/crypto.h"

namespace libchat::internal {
namespace {

constexpr char kProvider[] = "mailgun";

// application/x-www-form-urlencoded: every byte but [A-Za-z0-9*-._] percent-encoded
// (spaces as %20, which every form decoder reads like '+').
std::string FormEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '*') {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

void AddField(std::string& body, std::string_view name, std::string_view value) {
  if (!body.empty()) body.push_back('&');
  body += FormEncode(name);
  body.push_back('=');
  body += FormEncode(value);
}

// Mailgun errors are {"message": "..."}.
std::string ErrorMessage(const HttpResponse& response) { return JsonString(ParseJsonObject(response.body), "message"); }

class MailgunEmailProvider final : public ApiEmailProvider {
 public:
  MailgunEmailProvider(EmailProviderConfig config, std::shared_ptr<HttpClient> http)
      : ApiEmailProvider(kProvider), config_(std::move(config)), http_(std::move(http)) {
    const std::string default_base =
        SettingOr(config_, "region") == "eu" ? "https://api.eu.mailgun.net" : "https://api.mailgun.net";
    url_ = ApiBaseUrl(config_, default_base) + "/v3/" + SettingOr(config_, "domain") + "/messages";
    authorization_ = "Basic " + Base64Encode("api:" + SettingOr(config_, "api_key"));
  }

  SendOutcome SendOnce(const EmailMessage& message) override {
    Result<Envelope> envelope = PrepareEnvelope(message, config_);
    if (!envelope.ok()) return InvalidMessageOutcome(kProvider, envelope.status());

    HttpRequest request;
    request.method = "POST";
    request.url = url_;
    request.headers = {{"Authorization", authorization_},
                       {"Content-Type", "application/x-www-form-urlencoded"},
                       {"Accept", "application/json"}};
    AddField(request.body, "from", FormatMailAddress(envelope->from));
    AddField(request.body, "to", FormatMailAddress(envelope->to));
    AddField(request.body, "subject", envelope->subject);
    AddField(request.body, "text", message.text);
    if (!message.html.empty()) AddField(request.body, "html", message.html);
    if (envelope->reply_to) AddField(request.body, "h:Reply-To", FormatMailAddress(*envelope->reply_to));
    // A custom variable: it comes back in Mailgun's events and webhooks, tying
    // them to the outbox delivery.
    if (!message.idempotency_key.empty()) AddField(request.body, "v:libchat-delivery", message.idempotency_key);

    const Result<HttpResponse> response = http_->Send(request);
    SendOutcome outcome = HttpSendOutcome(kProvider, response, ErrorMessage, std::chrono::system_clock::now());
    if (outcome.kind == SendOutcome::Kind::kDelivered) {
      outcome.provider_message_id = JsonString(ParseJsonObject(response->body), "id");
    }
    return outcome;
  }

 private:
  const EmailProviderConfig config_;
  const std::shared_ptr<HttpClient> http_;
  std::string url_;
  std::string authorization_;
};

}  // namespace

std::shared_ptr<EmailProvider> NewMailgunEmailProvider(const EmailProviderConfig& config,
                                                       std::shared_ptr<HttpClient> http) {
  return std::make_shared<MailgunEmailProvider>(config, std::move(http));
}

}  // namespace libchat::internal
