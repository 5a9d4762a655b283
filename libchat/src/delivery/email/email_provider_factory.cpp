// The public entry points of providers/email.h: which settings each provider
// type takes, how they are checked, and which provider a configuration builds.
#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "delivery/email/http_email_providers.h"
#include "delivery/mime_message.h"
#include "libchat/providers/email.h"
#include "transport/smtp_email_provider.h"
#include "util/utf8.h"

namespace libchat {
namespace {

// Secrets are long (STS session tokens reach a couple of KiB) but not unbounded.
constexpr std::size_t kMaxSettingLength = 8192;
constexpr std::size_t kMaxFromLength = 512;
constexpr std::size_t kMaxBaseUrlLength = 2048;

struct SettingSpec {
  const char* name;
  bool required;
};

struct TypeSpec {
  std::string_view type;
  std::array<SettingSpec, 6> settings;  // unused slots have a null name
};

constexpr std::array<TypeSpec, 5> kTypes{{
    {"smtp",
     {{{"host", true}, {"port", false}, {"security", false}, {"username", false}, {"password", false},
       {"tls_verify", false}}}},
    {"mailgun", {{{"domain", true}, {"api_key", true}, {"region", false}, {"base_url", false}, {nullptr, false}}}},
    {"sendgrid", {{{"api_key", true}, {"base_url", false}, {nullptr, false}, {nullptr, false}, {nullptr, false}}}},
    {"postmark",
     {{{"server_token", true}, {"message_stream", false}, {"base_url", false}, {nullptr, false}, {nullptr, false}}}},
    {"ses",
     {{{"region", true},
       {"access_key_id", true},
       {"secret_access_key", true},
       {"session_token", false},
       {"base_url", false}}}},
}};

const TypeSpec* FindType(std::string_view type) {
  for (const TypeSpec& spec : kTypes) {
    if (spec.type == type) return &spec;
  }
  return nullptr;
}

const SettingSpec* FindSetting(const TypeSpec& type, std::string_view name) {
  for (const SettingSpec& setting : type.settings) {
    if (setting.name != nullptr && name == setting.name) return &setting;
  }
  return nullptr;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsAlnum(char c) { return IsDigit(c) || IsLowerAlpha(c) || (c >= 'A' && c <= 'Z'); }

// Letters, digits and hyphens in dot-separated labels of 1 to 63 characters, no
// hyphen at either end of a label; IPv4 addresses pass too.
bool IsHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = host.find('.', start);
    const std::string_view label = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (const char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// "[2001:db8::1]": an IPv6 literal as it appears in a URL.
bool IsBracketedIpv6(std::string_view host) {
  if (host.size() < 4 || host.front() != '[' || host.back() != ']') return false;
  for (const char c : host.substr(1, host.size() - 2)) {
    if (!IsDigit(c) && !((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) && c != ':' && c != '.') return false;
  }
  return true;
}

bool IsPort(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  int value = 0;
  for (const char c : port) {
    if (!IsDigit(c)) return false;
    value = value * 10 + (c - '0');
  }
  return value >= 1 && value <= 65535;
}

// http(s)://host[:port][/path] with nothing else: no user info, query or fragment.
bool IsBaseUrl(std::string_view url) {
  if (url.size() > kMaxBaseUrlLength) return false;
  std::string_view rest;
  if (url.compare(0, 7, "http://") == 0) {
    rest = url.substr(7);
  } else if (url.compare(0, 8, "https://") == 0) {
    rest = url.substr(8);
  } else {
    return false;
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  for (const char c : path) {
    if (c == '?' || c == '#' || c == ' ' || c == '\\') return false;
  }
  const std::size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    if (!IsPort(authority.substr(colon + 1))) return false;
    authority = authority.substr(0, colon);
  }
  return IsHostName(authority) || IsBracketedIpv6(authority);
}

// An AWS region name: "us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-4".
bool IsAwsRegion(std::string_view region) {
  if (region.size() < 6 || region.size() > 32) return false;
  std::size_t parts = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t dash = region.find('-', start);
    const std::string_view part = region.substr(start, dash == std::string_view::npos ? dash : dash - start);
    if (part.empty()) return false;
    const bool last = dash == std::string_view::npos;
    for (const char c : part) {
      if (last ? !IsDigit(c) : !IsLowerAlpha(c)) return false;
    }
    ++parts;
    if (last) break;
    start = dash + 1;
  }
  return parts >= 3;
}

// AWS access key ids are upper-case letters and digits ("AKIA...", "ASIA...").
bool IsAccessKeyId(std::string_view id) {
  if (id.size() < 16 || id.size() > 128) return false;
  for (const char c : id) {
    if (!IsDigit(c) && !(c >= 'A' && c <= 'Z')) return false;
  }
  return true;
}

// Postmark stream ids: letters, digits, '-' and '_'.
bool IsMessageStream(std::string_view stream) {
  if (stream.empty() || stream.size() > 100) return false;
  for (const char c : stream) {
    if (!IsAlnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

// Every value ends up in a request line or header: control characters (CR/LF
// above all) would let it inject protocol text. Surrounding spaces are refused
// rather than trimmed: they are a paste mistake the user should see.
Status CheckValueShape(const std::string& name, const std::string& value) {
  if (value.size() > kMaxSettingLength) return InvalidArgumentError("setting '" + name + "' is too long");
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      return InvalidArgumentError("setting '" + name + "' contains a control character");
    }
  }
  if (!value.empty() && (value.front() == ' ' || value.back() == ' ')) {
    return InvalidArgumentError("setting '" + name + "' has leading or trailing spaces");
  }
  if (!internal::IsValidUtf8(value)) return InvalidArgumentError("setting '" + name + "' is not valid UTF-8");
  return Status::Ok();
}

// The format of one present, non-empty value. Messages never echo secrets.
Status CheckValueFormat(std::string_view type, const std::string& name, const std::string& value) {
  if (name == "base_url" && !IsBaseUrl(value)) {
    return InvalidArgumentError("base_url must be an http:// or https:// URL with a host and no query");
  }
  if (type == "smtp") {
    if (name == "host" && !IsHostName(value) && !IsBracketedIpv6(value)) {
      return InvalidArgumentError("host must be a host name or IP address");
    }
    if (name == "port" && !IsPort(value)) return InvalidArgumentError("port must be a number from 1 to 65535");
    if (name == "security" && value != "starttls" && value != "tls" && value != "none") {
      return InvalidArgumentError("security must be \"starttls\", \"tls\" or \"none\"");
    }
  } else if (type == "mailgun") {
    if (name == "domain" && (!IsHostName(value) || value.find('.') == std::string::npos)) {
      return InvalidArgumentError("domain must be a domain name such as mg.example.com");
    }
    if (name == "region" && value != "us" && value != "eu") {
      return InvalidArgumentError("region must be \"us\" or \"eu\"");
    }
  } else if (type == "postmark") {
    if (name == "message_stream" && !IsMessageStream(value)) {
      return InvalidArgumentError("message_stream must be a stream id of letters, digits, '-' and '_'");
    }
  } else if (type == "ses") {
    if (name == "region" && !IsAwsRegion(value)) {
      return InvalidArgumentError("region must be an AWS region such as us-east-1");
    }
    if (name == "access_key_id" && !IsAccessKeyId(value)) {
      return InvalidArgumentError("access_key_id must be an AWS access key id (16 or more letters and digits)");
    }
  }
  return Status::Ok();
}

bool HasValue(const EmailProviderConfig& config, const char* name) {
  const auto it = config.settings.find(name);
  return it != config.settings.end() && !it->second.empty();
}

}  // namespace

bool IsSecretEmailSetting(const std::string& name) {
  return name == "password" || name == "api_key" || name == "server_token" || name == "secret_access_key" ||
         name == "session_token";
}

Status ValidateEmailProviderConfig(const EmailProviderConfig& config) {
  const TypeSpec* type = FindType(config.type);
  if (type == nullptr) {
    return InvalidArgumentError("type must be one of \"smtp\", \"mailgun\", \"sendgrid\", \"postmark\", \"ses\"");
  }
  if (config.from.empty()) return InvalidArgumentError("from is required");
  const Result<internal::MailAddress> from =
      config.from.size() > kMaxFromLength ? Result<internal::MailAddress>(InvalidArgumentError("too long"))
                                          : internal::ParseMailAddress(config.from);
  // A sender domain without a dot ("a@localhost") is legal in RFC 5321 but no
  // provider will send from it.
  if (!from.ok() || from->address.find('.', from->address.rfind('@')) == std::string::npos) {
    return InvalidArgumentError("from must be an email address such as a@b.c or Name <a@b.c>");
  }
  for (const auto& [name, value] : config.settings) {
    if (FindSetting(*type, name) == nullptr) {
      // The name is the caller's own input, but bound what is echoed back.
      return InvalidArgumentError("unknown setting '" + name.substr(0, 64) + "' for type " + std::string(type->type));
    }
    if (Status status = CheckValueShape(name, value); !status.ok()) return status;
  }
  for (const SettingSpec& setting : type->settings) {
    if (setting.name == nullptr) continue;
    if (!HasValue(config, setting.name)) {
      if (setting.required) {
        return InvalidArgumentError(std::string(setting.name) + " is required for type " + std::string(type->type));
      }
      continue;
    }
    const std::string& value = config.settings.at(setting.name);
    if (Status status = CheckValueFormat(type->type, setting.name, value); !status.ok()) return status;
  }
  if (type->type == "smtp" && HasValue(config, "password") && !HasValue(config, "username")) {
    return InvalidArgumentError("username is required when a password is set");
  }
  return Status::Ok();
}

Result<std::shared_ptr<EmailProvider>> NewEmailProvider(const EmailProviderConfig& config,
                                                        std::shared_ptr<HttpClient> http,
                                                        const std::vector<std::string>& allowed_private_networks) {
  if (Status status = ValidateEmailProviderConfig(config); !status.ok()) return status;
  if (config.type == "smtp") {
    // The SMTP host is the tenant's choice: the same SSRF policy as webhooks (the HTTP providers get it
    // from the HttpClient).
    internal::SmtpProviderOptions options;
    auto allowlist = internal::NetworkAllowlist::Parse(allowed_private_networks);
    if (!allowlist.ok()) return allowlist.status();
    options.address_policy = std::move(allowlist).value();
    return internal::NewSmtpEmailProvider(config, options);
  }
  if (!http) return InvalidArgumentError("the " + config.type + " email provider needs an HttpClient");
  if (config.type == "mailgun") return internal::NewMailgunEmailProvider(config, std::move(http));
  if (config.type == "sendgrid") return internal::NewSendGridEmailProvider(config, std::move(http));
  if (config.type == "postmark") return internal::NewPostmarkEmailProvider(config, std::move(http));
  return internal::NewSesEmailProvider(config, std::move(http));
}

}  // namespace libchat
