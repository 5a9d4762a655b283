// Amazon SES API v2 SendEmail: https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html
#include <chrono>
#include <string>
#include <utility>

#include "delivery/email/email_api_common.h"
#include "delivery/email/http_email_providers.h"
#include "delivery/email/http_outcome.h"
#include "delivery/email/sigv4.h"

namespace libchat::internal {
namespace {

using Json = nlohmann::json;

constexpr char kProvider[] = "ses";
// SES message tag values: ASCII letters, digits, '_' and '-', at most 256.
constexpr std::size_t kMaxTagValue = 256;

Json Utf8Data(const std::string& data) { return {{"Data", data}, {"Charset", "UTF-8"}}; }

std::string TagValue(const std::string& key) {
  std::string out = key.substr(0, kMaxTagValue);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

// SES errors: the type in x-amzn-ErrorType ("MessageRejected:http://..."), the
// text in {"message": "..."} (or "Message").
std::string ErrorMessage(const HttpResponse& response) {
  const Json body = ParseJsonObject(response.body);
  std::string message = JsonString(body, "message");
  if (message.empty()) message = JsonString(body, "Message");
  std::string type = response.Header("x-amzn-errortype");
  type = type.substr(0, type.find(':'));
  if (type.empty()) return message;
  return message.empty() ? type : type + ": " + message;
}

class SesEmailProvider final : public ApiEmailProvider {
 public:
  SesEmailProvider(EmailProviderConfig config, std::shared_ptr<HttpClient> http)
      : ApiEmailProvider(kProvider),
        config_(std::move(config)),
        http_(std::move(http)),
        region_(SettingOr(config_, "region")),
        url_(ApiBaseUrl(config_, "https://email." + region_ + ".amazonaws.com") + "/v2/email/outbound-emails"),
        credentials_{SettingOr(config_, "access_key_id"), SettingOr(config_, "secret_access_key"),
                     SettingOr(config_, "session_token")} {}

  SendOutcome SendOnce(const EmailMessage& message) override {
    Result<Envelope> envelope = PrepareEnvelope(message, config_);
    if (!envelope.ok()) return InvalidMessageOutcome(kProvider, envelope.status());

    Json body_parts = {{"Text", Utf8Data(message.text)}};
    if (!message.html.empty()) body_parts["Html"] = Utf8Data(message.html);
    Json body = {
        {"FromEmailAddress", FormatMailAddressAscii(envelope->from)},
        {"Destination", {{"ToAddresses", Json::array({FormatMailAddressAscii(envelope->to)})}}},
        {"Content", {{"Simple", {{"Subject", Utf8Data(envelope->subject)}, {"Body", std::move(body_parts)}}}}},
    };
    if (envelope->reply_to) body["ReplyToAddresses"] = Json::array({FormatMailAddressAscii(*envelope->reply_to)});
    // Reported in SES event publishing, tying events to the outbox delivery.
    if (!message.idempotency_key.empty()) {
      body["EmailTags"] = Json::array({{{"Name", "libchat_delivery"}, {"Value", TagValue(message.idempotency_key)}}});
    }

    SigV4Input input;
    input.method = "POST";
    input.url = url_;
    input.headers = {{"content-type", "application/json"}};
    input.body = DumpJson(body);
    input.region = region_;
    input.service = "ses";
    input.content_sha256_header = true;
    const auto now = std::chrono::system_clock::now();
    Result<SigV4Signature> signature = SignAwsV4(input, credentials_, now);
    if (!signature.ok()) {
      return SendOutcome::Failed(SendOutcome::Kind::kPermanent, 0,
                                 std::string(kProvider) + ": cannot sign the request: " + signature.status().message());
    }

    HttpRequest request;
    request.method = "POST";
    request.url = url_;
    request.headers = std::move(input.headers);
    for (auto& header : signature->headers) request.headers.push_back(std::move(header));
    request.body = std::move(input.body);

    const Result<HttpResponse> response = http_->Send(request);
    SendOutcome outcome = HttpSendOutcome(kProvider, response, ErrorMessage, std::chrono::system_clock::now());
    if (outcome.kind == SendOutcome::Kind::kDelivered) {
      outcome.provider_message_id = JsonString(ParseJsonObject(response->body), "MessageId");
    }
    return outcome;
  }

 private:
  const EmailProviderConfig config_;
  const std::shared_ptr<HttpClient> http_;
  const std::string region_;
  const std::string url_;
  const AwsCredentials credentials_;
};

}  // namespace

std::shared_ptr<EmailProvider> NewSesEmailProvider(const EmailProviderConfig& config,
                                                   std::shared_ptr<HttpClient> http) {
  return std::make_shared<SesEmailProvider>(config, std::move(http));
}

}  // namespace libchat::internal
