// The libcurl-backed HttpClient (NewCurlHttpClient). One easy handle per Send, taken from a small pool so
// that consecutive requests to the same receiver reuse their keep-alive connection. The SSRF policy of
// address_policy.h is enforced in CURLOPT_OPENSOCKETFUNCTION, on the address curl is about to connect to.
#include <curl/curl.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libchat/providers/http_client.h"
#include "transport/address_policy.h"
#include "util/status_macros.h"

namespace libchat {
namespace {

// Idle easy handles kept per pool; more concurrent Sends than this create (and then free) extra handles.
constexpr std::size_t kMaxIdleHandles = 8;

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 9110 token characters: what a method and a header name may consist of.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool HasHttpScheme(std::string_view url) {
  std::string prefix(url.substr(0, 8));
  for (char& c : prefix) c = ToLower(c);
  return prefix.rfind("http://", 0) == 0 || prefix.rfind("https://", 0) == 0;
}

Status ValidateRequest(const HttpRequest& request) {
  if (!IsToken(request.method)) return InvalidArgumentError("invalid HTTP method");
  if (!HasHttpScheme(request.url)) return InvalidArgumentError("URL must start with http:// or https://");
  for (char c : request.url) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F) return InvalidArgumentError("URL must not contain spaces or control characters");
  }
  for (const auto& [name, value] : request.headers) {
    if (!IsToken(name)) return InvalidArgumentError("invalid HTTP header name \"" + name + "\"");
    // CR or LF would let a value start a header (or a request) of its own.
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return InvalidArgumentError("HTTP header " + name + " has a line break in its value");
    }
  }
  if (request.timeout.count() <= 0) return InvalidArgumentError("HTTP request timeout must be positive");
  return Status::Ok();
}

bool HasHeader(const HttpRequest& request, std::string_view lower_name) {
  for (const auto& header : request.headers) {
    if (header.first.size() != lower_name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < lower_name.size() && same; ++i) same = ToLower(header.first[i]) == lower_name[i];
    if (same) return true;
  }
  return false;
}

// What the callbacks of one transfer share with Send.
struct Transfer {
  const internal::NetworkAllowlist* allowlist = nullptr;
  bool public_addresses_only = true;
  bool refused = false;  // the open-socket callback refused an address
  std::size_t max_body = 0;
  bool truncated = false;  // the body reached max_body; the transfer was cut short on purpose
  HttpResponse response;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t length = size * count;
  std::string& body = transfer->response.body;
  const std::size_t room = transfer->max_body - body.size();
  if (length <= room) {
    body.append(data, length);
    return length;
  }
  body.append(data, room);
  transfer->truncated = true;
  // Ends the transfer (CURLE_WRITE_ERROR): reading the rest of a huge body would only waste time.
  return 0;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t length = size * count;
  std::string_view line(data, length);
  auto& headers = transfer->response.headers;
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line: an interim (1xx) response's headers are not the final response's.
    headers.clear();
  } else if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    // Obsolete line folding: continues the previous value.
    if (!headers.empty()) {
      std::string_view more = Trim(line);
      if (!more.empty()) headers.back().second.append(" ").append(more);
    }
  } else {
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos && colon > 0) {
      std::string name(line.substr(0, colon));
      for (char& c : name) c = ToLower(c);
      headers.emplace_back(std::move(name), std::string(Trim(line.substr(colon + 1))));
    }
  }
  return length;
}

// Checks the address of every connection curl is about to make (after DNS, so a name that resolved to a
// public address at registration and rebinds to a private one later is still refused).
curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  if (transfer->public_addresses_only && !internal::AddressAllowed(&address->addr, *transfer->allowlist)) {
    transfer->refused = true;
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistFree>;

struct EasyFree {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
using EasyPtr = std::unique_ptr<CURL, EasyFree>;

// Idle easy handles; each keeps its live connections across curl_easy_reset.
class EasyPool {
 public:
  EasyPtr Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        EasyPtr easy = std::move(idle_.back());
        idle_.pop_back();
        return easy;
      }
    }
    return EasyPtr(curl_easy_init());
  }

  void Release(EasyPtr easy) {
    curl_easy_reset(easy.get());
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(easy));
  }

 private:
  std::mutex mu_;
  std::vector<EasyPtr> idle_;
};

class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient(const CurlHttpClientOptions& options, internal::NetworkAllowlist allowlist)
      : allowlist_(std::move(allowlist)), max_body_(options.max_response_bytes), verify_tls_(options.verify_tls) {}

  Result<HttpResponse> Send(const HttpRequest& request) override {
    LIBCHAT_RETURN_IF_ERROR(ValidateRequest(request));
    // A connection opened without the address check must never serve a request that needs it, so the
    // two kinds of request keep their connections in separate pools.
    EasyPool& pool = request.public_addresses_only ? checked_pool_ : unchecked_pool_;
    EasyPtr easy = pool.Acquire();
    if (!easy) return UnavailableError("HTTP request failed: could not create a curl handle");

    Transfer transfer;
    transfer.allowlist = &allowlist_;
    transfer.public_addresses_only = request.public_addresses_only;
    transfer.max_body = max_body_;
    char error_text[CURL_ERROR_SIZE] = {0};

    SlistPtr headers;
    CURLcode code = Configure(easy.get(), request, &transfer, error_text, &headers);
    if (code == CURLE_OK) code = curl_easy_perform(easy.get());

    Result<HttpResponse> result = Finish(easy.get(), code, request, &transfer, error_text);
    pool.Release(std::move(easy));
    return result;
  }

 private:
  CURLcode Configure(CURL* easy, const HttpRequest& request, Transfer* transfer, char* error_text,
                     SlistPtr* header_list) const {
    CURLcode code = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
      if (code == CURLE_OK) code = curl_easy_setopt(easy, option, value);
    };
    set(CURLOPT_ERRORBUFFER, error_text);
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_URL, request.url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85.0
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    set(CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    set(CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    set(CURLOPT_FOLLOWLOCATION, 0L);
    // Never a proxy from the environment (http_proxy, ...): it would bypass the address check and see
    // the requests.
    set(CURLOPT_PROXY, "");
    set(CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    set(CURLOPT_SSL_VERIFYPEER, verify_tls_ ? 1L : 0L);
    set(CURLOPT_SSL_VERIFYHOST, verify_tls_ ? 2L : 0L);
    set(CURLOPT_OPENSOCKETFUNCTION, &OnOpenSocket);
    set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(transfer));
    set(CURLOPT_HEADERFUNCTION, &OnHeader);
    set(CURLOPT_HEADERDATA, static_cast<void*>(transfer));
    set(CURLOPT_WRITEFUNCTION, &OnBody);
    set(CURLOPT_WRITEDATA, static_cast<void*>(transfer));

    const std::string& method = request.method;
    if (method == "HEAD") {
      set(CURLOPT_NOBODY, 1L);
    } else if (method == "GET" && request.body.empty()) {
      set(CURLOPT_HTTPGET, 1L);
    } else if (!request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      // The body is sent for any method; POSTFIELDS does not copy, and request outlives the transfer.
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      set(CURLOPT_POSTFIELDS, request.body.data());
      if (method != "POST") set(CURLOPT_CUSTOMREQUEST, method.c_str());
    } else {
      set(CURLOPT_CUSTOMREQUEST, method.c_str());
    }

    curl_slist* list = nullptr;
    auto append = [&list](const std::string& line) {
      curl_slist* grown = curl_slist_append(list, line.c_str());
      if (grown != nullptr) list = grown;
      return grown != nullptr;
    };
    bool appended = true;
    for (const auto& [name, value] : request.headers) {
      // "Name:" would make curl drop the header; "Name;" sends it with an empty value.
      appended = appended && append(value.empty() ? name + ";" : name + ": " + value);
    }
    // curl's own additions the caller did not ask for: a form Content-Type on bodies, and
    // "Expect: 100-continue", which costs a round trip (or a 1 s stall with receivers that ignore it).
    if (!HasHeader(request, "content-type")) appended = appended && append("Content-Type:");
    if (!HasHeader(request, "expect")) appended = appended && append("Expect:");
    if (!HasHeader(request, "user-agent")) appended = appended && append("User-Agent: libchat");
    header_list->reset(list);
    if (!appended) return CURLE_OUT_OF_MEMORY;
    set(CURLOPT_HTTPHEADER, list);
    return code;
  }

  static Result<HttpResponse> Finish(CURL* easy, CURLcode code, const HttpRequest& request, Transfer* transfer,
                                     const char* error_text) {
    const bool cut_short_on_purpose = code == CURLE_WRITE_ERROR && transfer->truncated;
    if (code != CURLE_OK && !cut_short_on_purpose) {
      if (transfer->refused) {
        return PermissionDeniedError(
            "refused to connect: the host resolves to a private or loopback address that is not in the allowed "
            "networks");
      }
      if (code == CURLE_OPERATION_TIMEDOUT) {
        return DeadlineExceededError("HTTP request timed out after " + std::to_string(request.timeout.count()) + " ms");
      }
      const std::string detail = error_text[0] != '\0' ? error_text : curl_easy_strerror(code);
      if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
        return InvalidArgumentError("invalid URL: " + detail);
      }
      return UnavailableError("HTTP request failed: " + detail);
    }
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t total_us = 0;
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
    HttpResponse response = std::move(transfer->response);
    response.status = static_cast<int>(status);
    response.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::microseconds(total_us));
    return response;
  }

  const internal::NetworkAllowlist allowlist_;
  const std::size_t max_body_;
  const bool verify_tls_;
  EasyPool checked_pool_;
  EasyPool unchecked_pool_;
};

}  // namespace

Result<std::shared_ptr<HttpClient>> NewCurlHttpClient(const CurlHttpClientOptions& options) {
  LIBCHAT_ASSIGN_OR_RETURN(internal::NetworkAllowlist allowlist,
                           internal::NetworkAllowlist::Parse(options.allowed_networks));
  // curl_global_init is not thread-safe and must not run before main: once, on first use. It is never
  // undone (curl_global_cleanup), since the host may use curl itself.
  static std::once_flag init_once;
  static CURLcode init_result = CURLE_OK;
  std::call_once(init_once, [] { init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init_result != CURLE_OK) {
    return UnavailableError(std::string("could not initialise libcurl: ") + curl_easy_strerror(init_result));
  }
  return std::shared_ptr<HttpClient>(std::make_shared<CurlHttpClient>(options, std::move(allowlist)));
}

}  // namespace libchat
