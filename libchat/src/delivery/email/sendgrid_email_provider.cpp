// SendGrid's v3 Mail Send API: https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send
#include <chrono>
#include <string>
#include <utility>

#include "delivery/email/email_api_common.h"
#include "delivery/email/http_email_providers.h"
#include "delivery/email/http_outcome.h"

namespace libchat::internal {
namespace {

using Json = nlohmann::json;

constexpr char kProvider[] = "sendgrid";

Json AddressObject(const MailAddress& address) {
  Json object = {{"email", address.address}};
  if (!address.display_name.empty()) object["name"] = address.display_name;
  return object;
}

// SendGrid errors are {"errors":[{"message":"...","field":"..."}, ...]}.
std::string ErrorMessage(const HttpResponse& response) {
  const Json body = ParseJsonObject(response.body);
  const auto errors = body.find("errors");
  if (errors == body.end() || !errors->is_array()) return {};
  std::string out;
  for (const Json& error : *errors) {
    const std::string message = JsonString(error, "message");
    if (message.empty()) continue;
    if (!out.empty()) out += "; ";
    const std::string field = JsonString(error, "field");
    out += field.empty() ? message : field + ": " + message;
  }
  return out;
}

class SendGridEmailProvider final : public ApiEmailProvider {
 public:
  SendGridEmailProvider(EmailProviderConfig config, std::shared_ptr<HttpClient> http)
      : ApiEmailProvider(kProvider),
        config_(std::move(config)),
        http_(std::move(http)),
        url_(ApiBaseUrl(config_, "https://api.sendgrid.com") + "/v3/mail/send"),
        authorization_("Bearer " + SettingOr(config_, "api_key")) {}

  SendOutcome SendOnce(const EmailMessage& message) override {
    Result<Envelope> envelope = PrepareEnvelope(message, config_);
    if (!envelope.ok()) return InvalidMessageOutcome(kProvider, envelope.status());

    Json content = Json::array({{{"type", "text/plain"}, {"value", message.text}}});
    if (!message.html.empty()) content.push_back({{"type", "text/html"}, {"value", message.html}});
    Json body = {
        {"personalizations", Json::array({{{"to", Json::array({AddressObject(envelope->to)})}}})},
        {"from", AddressObject(envelope->from)},
        {"subject", envelope->subject},
        {"content", std::move(content)},
    };
    if (envelope->reply_to) body["reply_to"] = AddressObject(*envelope->reply_to);
    // Returned in SendGrid's event webhooks, tying them to the outbox delivery.
    if (!message.idempotency_key.empty()) body["custom_args"] = {{"libchat_delivery", message.idempotency_key}};

    HttpRequest request;
    request.method = "POST";
    request.url = url_;
    request.headers = {{"Authorization", authorization_},
                       {"Content-Type", "application/json"},
                       {"Accept", "application/json"}};
    request.body = DumpJson(body);

    const Result<HttpResponse> response = http_->Send(request);
    SendOutcome outcome = HttpSendOutcome(kProvider, response, ErrorMessage, std::chrono::system_clock::now());
    if (outcome.kind == SendOutcome::Kind::kDelivered) outcome.provider_message_id = response->Header("x-message-id");
    return outcome;
  }

 private:
  const EmailProviderConfig config_;
  const std::shared_ptr<HttpClient> http_;
  const std::string url_;
  const std::string authorization_;
};

}  // namespace

std::shared_ptr<EmailProvider> NewSendGridEmailProvider(const EmailProviderConfig& config,
                                                        std::shared_ptr<HttpClient> http) {
  return std::make_shared<SendGridEmailProvider>(config, std::move(http));
}

}  // namespace libchat::internal
