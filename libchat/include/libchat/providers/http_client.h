// HttpClient: how libchat makes outbound HTTP requests (webhooks, email APIs,
// responders). The default is libcurl-backed; a host can supply its own.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "libchat/export.h"
#include "libchat/status.h"

namespace libchat {

struct HttpRequest {
  std::string method = "POST";
  std::string url;  // absolute http:// or https:// URL
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The whole exchange (connect, send, wait, read) must finish within this.
  std::chrono::milliseconds timeout{15000};
  // When true, the connection is refused if the host resolves to a private,
  // loopback, link-local or otherwise non-public address (checked on the
  // address actually connected to, so DNS rebinding cannot bypass it), unless
  // the address is inside one of the client's allowed networks.
  bool public_addresses_only = true;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;  // at most the client's body limit (1 MiB by default); the rest is discarded
  std::chrono::milliseconds elapsed{0};

  // The first header with this lower-case name, or "".
  std::string Header(const std::string& lower_name) const {
    for (const auto& [name, value] : headers) {
      if (name == lower_name) return value;
    }
    return {};
  }
};

// Redirects are never followed: a 3xx is returned as the response.
//
// Thread-safety: Send may be called concurrently from many threads. It blocks
// the calling thread for up to request.timeout, so callers run it on worker
// threads, never on an event loop.
//
// Errors (the request did not produce an HTTP response): kPermissionDenied
// when the target address is refused, kInvalidArgument for a malformed URL (or
// method, header, timeout), kDeadlineExceeded when request.timeout passed,
// kUnavailable for DNS, connection and TLS failures.
class LIBCHAT_API HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

struct CurlHttpClientOptions {
  // CIDR networks ("127.0.0.0/8", "::1/128", "10.1.0.0/16") that requests with
  // public_addresses_only may reach anyway. Default: none.
  std::vector<std::string> allowed_networks;
  // Responses larger than this are truncated. Default: 1 MiB.
  std::size_t max_response_bytes = 1 << 20;
  // Verify TLS certificates against the system store. Default: true.
  bool verify_tls = true;
};

// The libcurl-backed client. curl_global_init runs once, on the first call of
// this function (never from a static initializer). kInvalidArgument for a bad
// network in allowed_networks.
LIBCHAT_API Result<std::shared_ptr<HttpClient>> NewCurlHttpClient(const CurlHttpClientOptions& options = {});

}  // namespace libchat
