// Host routes: a host's own HTTP handlers served by libchat's Server on the same listener as libchat's
// API (Server::AddRoute). Plain values in and out, so a host handler needs no Asio and no JSON library.
//
//   server.AddRoute("GET", "/host/orders/{id}", [&](const libchat::server::HostRequest& request) {
//     libchat::server::HostResponse response;
//     response.content_type = "application/json";
//     response.body = LoadOrderJson(request.PathParam("id"));
//     return response;
//   });
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libchat/chat.h"
#include "libchat/export.h"

namespace libchat::server {

// One request to a host route, as parsed by the server (HTTP/1.1, body complete and de-chunked, at most
// ServerConfig::max_body_bytes).
struct LIBCHAT_SERVER_API HostRequest {
  std::string method;  // "GET", upper-case as received
  std::string path;    // percent-decoded, without the query
  std::string query;   // raw query string without '?' ("a=1&b=x%20y"), see QueryParam
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order, duplicates kept
  std::string body;
  // The values of the route pattern's "{name}" segments, in pattern order ({"id", "42"}).
  std::vector<std::pair<std::string, std::string>> path_params;
  // The id the server gave this request; it is also the response's X-Request-Id header.
  std::string request_id;

  // The first header called `name` (ASCII case-insensitive), or nullptr.
  const std::string* Header(std::string_view name) const;
  // The percent-decoded value of the first query parameter `name` ('+' is a space), or nullopt.
  std::optional<std::string> QueryParam(std::string_view name) const;
  // The value of the pattern's "{name}" segment ("" when the pattern has none of that name).
  std::string_view PathParam(std::string_view name) const;
};

// What a host handler answers. The server adds Content-Length, Connection, X-Request-Id and (as for
// libchat's routes) the CORS headers CHAT_ALLOWED_ORIGINS allows; it drops those headers, Content-Type
// (set content_type instead) and any header whose name is not an HTTP token from `headers`. A status
// outside 200..599 is a handler bug and answered 500.
struct HostResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";  // the Content-Type header; empty: none
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // not sent for 204 and 304
};

// Runs on the Server's worker pool (ServerConfig::worker_threads), like libchat's own handlers: it may
// block (call the Chat, a database, another service) and it runs concurrently with other requests, so it
// must be thread-safe. An exception escaping it is answered 500 {"error":{"code":"internal",...}}; the
// connection and the server carry on.
using HostHandler = std::function<HostResponse(const HostRequest& request)>;

// The credentials the request carries in libchat's conventions (Authorization: Bearer, X-Authorization-Key,
// X-API-Key, X-User-Id, X-Master-Key), for a host route that authenticates its caller with
// Chat::Authenticate like libchat's routes do.
LIBCHAT_SERVER_API Credentials CredentialsFromHostRequest(const HostRequest& request);

}  // namespace libchat::server
