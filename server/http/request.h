// HTTP/1.1 request and response values of the reference server, and the small pure helpers around them
// (percent-decoding, query parsing, response serialization). No I/O here: see parser.h for the incremental
// request parser and the connection code for the sockets.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace libchat::server::http {

struct Header {
  std::string name;
  std::string value;  // without leading/trailing whitespace
};

struct Request {
  std::string method;  // "GET", upper-case as received (methods are case-sensitive; "get" is not "GET")
  std::string target;  // raw request-target, e.g. "/v1/x?a=1"
  std::string path;    // percent-decoded path part of target (without query); "%2F" decodes to a literal '/'
  std::string query;   // raw query string without '?'
  int version_minor = 1;  // HTTP/1.x
  std::vector<Header> headers;  // in arrival order, duplicates kept
  std::string body;             // de-chunked

  // Case-insensitive lookup; nullptr if absent (first occurrence).
  const std::string* FindHeader(std::string_view name) const;
  // HTTP/1.1 default keep-alive unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive".
  // Connection is a comma-separated token list ("keep-alive, Upgrade"); tokens compare case-insensitively.
  bool KeepAlive() const;
  // The decoded value of a query parameter ('+' is a space), or nullopt. First occurrence wins.
  std::optional<std::string> QueryParam(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;  // Content-Length is added by Serialize, do not include it
  std::string body;
};

// "OK", "Not Found", ...; "Unknown" for codes without a registered phrase. Never nullptr.
const char* ReasonPhrase(int status);

// "HTTP/1.1 <status> <reason>\r\n" + headers + "Content-Length: n\r\n" + (Connection: close if !keep_alive)
// + "\r\n" + body.
// Exceptions, as RFC 9110 requires: 1xx, 204 and 304 get no Content-Length and no body; 101 (the WebSocket
// upgrade) also gets no "Connection: close" — put "Connection: Upgrade" in `headers` yourself.
// CR and LF are dropped from header names and values so a value taken from input cannot inject a header.
std::string Serialize(const Response& response, bool keep_alive);

// Decodes %XX escapes (either hex case); with plus_as_space, '+' becomes ' ' (query strings only).
// nullopt when a '%' is not followed by two hex digits. Decoded bytes are not validated (may be non-UTF-8).
std::optional<std::string> PercentDecode(std::string_view text, bool plus_as_space);

// Splits "a=1&b=x+y&c" into decoded pairs {a,1},{b,"x y"},{c,""}. Empty pieces ("a=1&&b=2") are skipped, and
// so are pieces whose name or value is not validly percent-encoded.
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query);

// ASCII case-insensitive equality (header names, tokens).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// True when the comma-separated list `value` (e.g. a Connection or Upgrade header) contains `token`,
// case-insensitively, ignoring whitespace around elements.
bool HasToken(std::string_view value, std::string_view token);

}  // namespace libchat::server::http
