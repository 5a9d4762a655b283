// The SMTP EmailProvider: one libcurl easy handle (one connection, one transaction) per Send.
#include "transport/smtp_email_provider.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "delivery/mime_message.h"
#include "util/status_macros.h"

namespace libchat::internal {

namespace {

constexpr long kConnectTimeoutMs = 30'000;
constexpr long kTotalTimeoutMs = 30'000;
constexpr std::size_t kMaxReplyInError = 300;

struct SmtpSettings {
  std::string url;        // smtp://host:port or smtps://host:port (implicit TLS)
  bool starttls = false;  // require STARTTLS on an smtp:// URL
  std::string username;   // AUTH when not empty
  std::string password;
  bool tls_verify = true;
  std::string ca_file;       // extra trust anchors (PEM), optional
  std::string default_from;  // EmailProviderConfig::from, used when a message has no `from`
};

// What the upload read callback walks over.
struct Upload {
  std::string_view data;
  std::size_t offset = 0;
};

// What the open-socket callback checks each address against.
struct ConnectPolicy {
  const NetworkAllowlist* allowlist = nullptr;  // null: any address
  bool refused = false;                         // set when an address was refused
};

curl_socket_t OnOpenSocket(void* userdata, curlsocktype purpose, curl_sockaddr* address) {
  auto* policy = static_cast<ConnectPolicy*>(userdata);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  if (policy->allowlist != nullptr && !AddressAllowed(&address->addr, *policy->allowlist)) {
    policy->refused = true;
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

std::size_t ReadUpload(char* buffer, std::size_t size, std::size_t nitems, void* userdata) {
  auto* upload = static_cast<Upload*>(userdata);
  const std::size_t n = std::min(size * nitems, upload->data.size() - upload->offset);
  std::memcpy(buffer, upload->data.data() + upload->offset, n);
  upload->offset += n;
  return n;
}

// Keeps the server's last error reply line ("550 5.1.1 <x@y>: Recipient address rejected"), which says more
// than curl's own message; the "221 Bye" to the QUIT that follows a failure is not it. Only server lines are
// looked at: what curl sends includes the AUTH credentials.
int OnDebug(CURL* /*handle*/, curl_infotype type, char* data, std::size_t size, void* userdata) {
  if (type != CURLINFO_HEADER_IN) return 0;
  std::string_view line(data, size);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty() || (line.front() != '4' && line.front() != '5')) return 0;
  auto* last_reply = static_cast<std::string*>(userdata);
  last_reply->assign(line.substr(0, kMaxReplyInError));
  return 0;
}

// 5xx replies (including 535 bad credentials and 550 unknown recipient) will fail the same way next time;
// 4xx replies are the server's "try again later"; without a reply code, a failed login is permanent and
// everything else (connection refused, TLS handshake, timeouts, dropped connections) is worth a retry.
SendOutcome::Kind Classify(CURLcode result, long reply_code) {
  if (reply_code >= 500 && reply_code < 600) return SendOutcome::Kind::kPermanent;
  if (reply_code >= 400 && reply_code < 500) return SendOutcome::Kind::kRetry;
  if (result == CURLE_LOGIN_DENIED) return SendOutcome::Kind::kPermanent;
  return SendOutcome::Kind::kRetry;
}

class SmtpEmailProvider final : public EmailProvider {
 public:
  // Precondition: curl_global_init succeeded.
  SmtpEmailProvider(SmtpSettings settings, std::optional<NetworkAllowlist> address_policy)
      : settings_(std::move(settings)), address_policy_(std::move(address_policy)) {}

  SendOutcome Send(const EmailMessage& message) override {
    try {
      return Transact(message);
    } catch (const std::exception& e) {  // allocation failure: report, never throw into the outbox worker
      return SendOutcome::Failed(SendOutcome::Kind::kRetry, 0, std::string("smtp: ") + e.what());
    } catch (...) {
      return SendOutcome::Failed(SendOutcome::Kind::kRetry, 0, "smtp: unknown error");
    }
  }

 private:
  SendOutcome Transact(const EmailMessage& original) {
    EmailMessage message = original;
    if (message.from.empty()) message.from = settings_.default_from;
    const Timestamp now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    Result<MimeMessage> mime = BuildMimeMessage(message, now);
    if (!mime.ok()) {
      // A malformed message will not get better by waiting.
      return SendOutcome::Failed(SendOutcome::Kind::kPermanent, 0, "smtp: " + mime.status().message());
    }
    // Both parse: BuildMimeMessage checked them.
    const std::string mail_from = "<" + EnvelopeAddress(message.from).value() + ">";
    const std::string rcpt_to = "<" + EnvelopeAddress(message.to).value() + ">";

    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
    if (!curl) return SendOutcome::Failed(SendOutcome::Kind::kRetry, 0, "smtp: curl_easy_init failed");
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> recipients(
        curl_slist_append(nullptr, rcpt_to.c_str()), &curl_slist_free_all);
    if (!recipients) return SendOutcome::Failed(SendOutcome::Kind::kRetry, 0, "smtp: out of memory");

    Upload upload{mime->data, 0};
    ConnectPolicy policy{address_policy_ ? &*address_policy_ : nullptr, false};
    std::string last_reply;  // the last 4xx / 5xx line
    char error_buffer[CURL_ERROR_SIZE] = {};
    CURL* h = curl.get();
    curl_easy_setopt(h, CURLOPT_URL, settings_.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM-based DNS timeouts
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, kTotalTimeoutMs);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, &OnOpenSocket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &policy);
    if (settings_.starttls) curl_easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, settings_.tls_verify ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, settings_.tls_verify ? 2L : 0L);
    if (!settings_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, settings_.ca_file.c_str());
    if (!settings_.username.empty()) {
      curl_easy_setopt(h, CURLOPT_USERNAME, settings_.username.c_str());
      curl_easy_setopt(h, CURLOPT_PASSWORD, settings_.password.c_str());
    }
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from.c_str());
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, recipients.get());
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, &ReadUpload);
    curl_easy_setopt(h, CURLOPT_READDATA, &upload);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload.data.size()));
    // VERBOSE only routes the protocol trace to OnDebug (nothing is printed).
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, &OnDebug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, &last_reply);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);

    const CURLcode result = curl_easy_perform(h);
    long reply_code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply_code);
    if (result == CURLE_OK) {
      SendOutcome outcome = SendOutcome::Delivered(reply_code != 0 ? static_cast<int>(reply_code) : 250);
      outcome.provider_message_id = mime->message_id;
      return outcome;
    }
    if (policy.refused) {
      // The configured host is (or resolves to) an address outside the policy: no retry will change that.
      return SendOutcome::Failed(SendOutcome::Kind::kPermanent, 0,
                                 "smtp: the host's address is not public and not in the allowed networks");
    }
    std::string error = std::string("smtp: ") + curl_easy_strerror(result);
    if (error_buffer[0] != '\0') error += std::string(": ") + error_buffer;
    if (reply_code != 0) error += " (SMTP " + std::to_string(reply_code) + ")";
    if (!last_reply.empty()) error += "; server said: " + last_reply;
    return SendOutcome::Failed(Classify(result, reply_code), static_cast<int>(reply_code), std::move(error));
  }

  const SmtpSettings settings_;
  const std::optional<NetworkAllowlist> address_policy_;
};

std::string Setting(const EmailProviderConfig& config, const std::string& name) {
  auto it = config.settings.find(name);
  return it == config.settings.end() ? std::string() : it->second;
}

// A host name, an IPv4 address or an IPv6 address (bare or in brackets), as it goes into the URL.
Result<std::string> UrlHost(std::string host) {
  if (host.empty()) return InvalidArgumentError("smtp: host is required");
  if (host.size() > 255) return InvalidArgumentError("smtp: host is too long");
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const bool ipv6 = host.find(':') != std::string::npos;
  for (char c : host) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    const bool ok = ipv6 ? (alnum || c == ':' || c == '.') : (alnum || c == '-' || c == '.' || c == '_');
    if (!ok) return InvalidArgumentError("smtp: host is not a host name or IP address");
  }
  return ipv6 ? "[" + host + "]" : host;
}

Result<SmtpSettings> ParseSettings(const EmailProviderConfig& config) {
  if (config.type != "smtp") return InvalidArgumentError("smtp: config type is not \"smtp\"");
  SmtpSettings settings;
  std::string security = Setting(config, "security");
  if (security.empty()) security = "starttls";
  if (security != "starttls" && security != "tls" && security != "none") {
    return InvalidArgumentError("smtp: security must be \"starttls\", \"tls\" or \"none\"");
  }
  LIBCHAT_ASSIGN_OR_RETURN(const std::string host, UrlHost(Setting(config, "host")));
  std::string port = Setting(config, "port");
  if (port.empty()) port = security == "tls" ? "465" : security == "starttls" ? "587" : "25";
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stol(port) < 1 ||
      std::stol(port) > 65535) {
    return InvalidArgumentError("smtp: port must be a number from 1 to 65535");
  }
  settings.url = (security == "tls" ? "smtps://" : "smtp://") + host + ":" + std::to_string(std::stol(port));
  settings.starttls = security == "starttls";

  settings.username = Setting(config, "username");
  settings.password = Setting(config, "password");
  settings.ca_file = Setting(config, "ca_file");
  // curl takes C strings: an embedded NUL would silently cut the value short.
  for (const std::string* value : {&settings.username, &settings.password, &settings.ca_file}) {
    if (value->find('\0') != std::string::npos) return InvalidArgumentError("smtp: settings must not contain NUL");
  }
  if (settings.username.empty() && !settings.password.empty()) {
    return InvalidArgumentError("smtp: password is set but username is empty");
  }
  const std::string tls_verify = Setting(config, "tls_verify");
  if (!tls_verify.empty() && tls_verify != "true" && tls_verify != "false") {
    return InvalidArgumentError("smtp: tls_verify must be \"true\" or \"false\"");
  }
  settings.tls_verify = tls_verify != "false";
  if (!config.from.empty()) {
    Result<MailAddress> from = ParseMailAddress(config.from);
    if (!from.ok()) return InvalidArgumentError("smtp: from: " + from.status().message());
  }
  settings.default_from = config.from;
  return settings;
}

}  // namespace

Result<std::shared_ptr<EmailProvider>> NewSmtpEmailProvider(const EmailProviderConfig& config,
                                                            const SmtpProviderOptions& options) {
  LIBCHAT_ASSIGN_OR_RETURN(SmtpSettings settings, ParseSettings(config));
  // As in curl_http_client.cpp: once, on first use (never before main), never undone since the host may
  // use curl itself. libcurl counts the calls, so the two call sites do not interfere.
  static std::once_flag init_once;
  static CURLcode init_result = CURLE_OK;
  std::call_once(init_once, [] { init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init_result != CURLE_OK) {
    return UnavailableError(std::string("smtp: could not initialise libcurl: ") + curl_easy_strerror(init_result));
  }
  return std::shared_ptr<EmailProvider>(
      std::make_shared<SmtpEmailProvider>(std::move(settings), options.address_policy));
}

}  // namespace libchat::internal
