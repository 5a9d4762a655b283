#include "delivery/email/email_api_common.h"

#include <exception>

#include "delivery/email/http_outcome.h"
#include "util/status_macros.h"

namespace libchat::internal {
namespace {

bool IsAtext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '/':
    case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

bool IsAscii(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string QuoteIfNeeded(const std::string& name) {
  bool needs_quotes = false;
  for (const char c : name) {
    if (static_cast<unsigned char>(c) >= 0x80 || c == ' ' || IsAtext(c)) continue;
    needs_quotes = true;
  }
  if (!needs_quotes) return name;
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

Result<MailAddress> ParseField(const char* field, const std::string& text) {
  Result<MailAddress> parsed = ParseMailAddress(text);
  if (!parsed.ok()) {
    return InvalidArgumentError(std::string(field) + " is not a valid email address (a@b.c or Name <a@b.c>)");
  }
  return parsed;
}

}  // namespace

SendOutcome ApiEmailProvider::Send(const EmailMessage& message) {
  try {
    return SendOnce(message);
  } catch (const std::exception& e) {
    return SendOutcome::Failed(SendOutcome::Kind::kRetry, 0,
                               std::string(provider_name_) + ": send failed: " + SanitizeProviderMessage(e.what()));
  } catch (...) {
    return SendOutcome::Failed(SendOutcome::Kind::kRetry, 0, std::string(provider_name_) + ": send failed");
  }
}

std::string SettingOr(const EmailProviderConfig& config, const std::string& name, std::string fallback) {
  const auto it = config.settings.find(name);
  if (it == config.settings.end() || it->second.empty()) return fallback;
  return it->second;
}

std::string ApiBaseUrl(const EmailProviderConfig& config, std::string default_url) {
  std::string url = SettingOr(config, "base_url", std::move(default_url));
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

Result<Envelope> PrepareEnvelope(const EmailMessage& message, const EmailProviderConfig& config) {
  Envelope envelope;
  LIBCHAT_ASSIGN_OR_RETURN(envelope.from, ParseField("from", message.from.empty() ? config.from : message.from));
  LIBCHAT_ASSIGN_OR_RETURN(envelope.to, ParseField("to", message.to));
  if (!message.reply_to.empty()) {
    LIBCHAT_ASSIGN_OR_RETURN(MailAddress reply_to, ParseField("reply_to", message.reply_to));
    envelope.reply_to = std::move(reply_to);
  }
  if (message.text.empty()) return InvalidArgumentError("the email has no text part");
  envelope.subject = message.subject;
  for (char& c : envelope.subject) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = ' ';
  }
  return envelope;
}

SendOutcome InvalidMessageOutcome(std::string_view provider, const Status& status) {
  return SendOutcome::Failed(SendOutcome::Kind::kPermanent, 0, std::string(provider) + ": " + status.message());
}

std::string FormatMailAddress(const MailAddress& address) {
  if (address.display_name.empty()) return address.address;
  return QuoteIfNeeded(address.display_name) + " <" + address.address + ">";
}

std::string FormatMailAddressAscii(const MailAddress& address) {
  if (IsAscii(address.display_name)) return FormatMailAddress(address);
  return EncodeHeaderWords(address.display_name) + " <" + address.address + ">";
}

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json ParseJsonObject(const std::string& body) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return nlohmann::json::object();
  return parsed;
}

std::string JsonString(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace libchat::internal
