#include "server/api/host_routes.h"

#include <algorithm>
#include <exception>

#include "server/api/api.h"

namespace libchat::server {

// ---------------------------------------------------------------------------
// HostRequest (public, libchat/server/host_route.h)

const std::string* HostRequest::Header(std::string_view name) const {
  for (const auto& [header, value] : headers) {
    if (http::EqualsIgnoreCase(header, name)) return &value;
  }
  return nullptr;
}

std::optional<std::string> HostRequest::QueryParam(std::string_view name) const {
  for (auto& [key, value] : http::ParseQuery(query)) {
    if (key == name) return std::move(value);
  }
  return std::nullopt;
}

std::string_view HostRequest::PathParam(std::string_view name) const {
  for (const auto& [key, value] : path_params) {
    if (key == name) return value;
  }
  return {};
}

Credentials CredentialsFromHostRequest(const HostRequest& request) {
  http::Request parsed;
  parsed.method = request.method;
  parsed.path = request.path;
  parsed.query = request.query;
  parsed.headers.reserve(request.headers.size());
  for (const auto& [name, value] : request.headers) parsed.headers.push_back({name, value});
  return CredentialsFrom(parsed);
}

namespace api {
namespace {

bool IsParamSegment(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsHeaderToken(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), IsTokenChar);
}

// Headers the server sets itself: framing (a handler's value would corrupt the connection), the request id
// (one per response) and the upgrade machinery.
bool IsServerOwnedHeader(std::string_view name) {
  for (std::string_view owned : {"Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade",
                                 "X-Request-Id", "Content-Type"}) {
    if (http::EqualsIgnoreCase(name, owned)) return true;
  }
  return false;
}

// A literal segment may use what a path may hold unescaped (RFC 3986 pchar without '%': the router
// compares it with the percent-decoded request path).
bool IsLiteralChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("-._~!$&'()*+,;=:@").find(c) != std::string_view::npos;
}

bool IsParamNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Checks `pattern` and returns its canonical form ("{}" for every parameter) with the parameter names.
Status ParsePattern(std::string_view pattern, std::string& canonical, std::vector<std::string>& names) {
  const std::string shown = "host route pattern \"" + std::string(pattern.substr(0, 200)) + "\"";
  if (pattern.empty() || pattern.front() != '/') return InvalidArgumentError(shown + " must start with '/'");
  if (pattern.size() > 1024) return InvalidArgumentError(shown + " is longer than 1024 characters");
  const SplitPath split = SplitPathSegments(pattern);
  if (!split.ok) {
    return InvalidArgumentError(shown + " has more than " + std::to_string(kMaxPathSegments) + " segments");
  }
  if (split.size == 0 || IsParamSegment(split.segments[0])) {
    return InvalidArgumentError(shown + " must begin with a literal segment (\"/myapp/...\"): libchat serves "
                                "the root and the other top-level paths");
  }
  if (split.segments[0] == "v1") {
    return InvalidArgumentError(shown + " is in /v1, which is reserved for libchat's API");
  }
  canonical.clear();
  names.clear();
  for (std::size_t i = 0; i < split.size; ++i) {
    const std::string_view segment = split.segments[i];
    canonical += '/';
    if (segment.empty()) return InvalidArgumentError(shown + " has an empty segment");
    if (IsParamSegment(segment)) {
      const std::string_view name = segment.substr(1, segment.size() - 2);
      if (name.empty() || !std::all_of(name.begin(), name.end(), IsParamNameChar)) {
        return InvalidArgumentError(shown + ": a parameter is {name} with letters, digits and '_'");
      }
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        return InvalidArgumentError(shown + " names the parameter {" + std::string(name) + "} twice");
      }
      if (names.size() == kMaxPathParams) {
        return InvalidArgumentError(shown + " has more than " + std::to_string(kMaxPathParams) + " parameters");
      }
      names.emplace_back(name);
      canonical += "{}";
    } else {
      if (!std::all_of(segment.begin(), segment.end(), IsLiteralChar)) {
        return InvalidArgumentError(shown + " has a character a route pattern cannot hold (use the decoded "
                                    "form of the path, no '%', '?', '#', '{' or '}')");
      }
      canonical += segment;
    }
  }
  return Status::Ok();
}

Status ParseMethod(std::string_view method) {
  if (method.empty() || method.size() > 32 ||
      !std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return InvalidArgumentError("host route method \"" + std::string(method.substr(0, 40)) +
                                "\" must be an upper-case HTTP method such as GET or POST");
  }
  if (method == "OPTIONS") {
    return InvalidArgumentError("host routes cannot register OPTIONS: the server answers it (Allow, CORS "
                                "preflight) for every path");
  }
  return Status::Ok();
}

}  // namespace

bool PatternsOverlap(std::string_view a, std::string_view b) {
  const SplitPath sa = SplitPathSegments(a);
  const SplitPath sb = SplitPathSegments(b);
  if (!sa.ok || !sb.ok || sa.size != sb.size) return false;
  for (std::size_t i = 0; i < sa.size; ++i) {
    const bool param_a = IsParamSegment(sa.segments[i]);
    const bool param_b = IsParamSegment(sb.segments[i]);
    if (param_a && param_b) continue;
    // A parameter matches any non-empty segment.
    if (param_a || param_b) {
      if ((param_a ? sb.segments[i] : sa.segments[i]).empty()) return false;
      continue;
    }
    if (sa.segments[i] != sb.segments[i]) return false;
  }
  return true;
}

Status HostRoutes::Add(std::string_view method, std::string_view pattern, HostHandler handler,
                       const std::vector<std::pair<std::string, std::string>>& libchat_routes) {
  if (Status st = ParseMethod(method); !st.ok()) return st;
  std::string canonical;
  std::vector<std::string> names;
  if (Status st = ParsePattern(pattern, canonical, names); !st.ok()) return st;
  if (!handler) return InvalidArgumentError("host route " + std::string(method) + " " + std::string(pattern) +
                                            " has no handler");
  const std::string route = std::string(method) + " " + std::string(pattern);
  for (const auto& [libchat_method, libchat_pattern] : libchat_routes) {
    if (PatternsOverlap(canonical, libchat_pattern)) {
      return AlreadyExistsError("host route " + route + " conflicts with libchat's route " + libchat_method + " " +
                                libchat_pattern + ": a path is served by libchat or by the host, not both");
    }
  }
  for (const auto& [registered_method, registered_pattern] : registered_) {
    if (registered_method == method && registered_pattern == canonical) {
      return AlreadyExistsError("host route " + route + " is already registered");
    }
  }
  router_.Add(method, canonical, Route{std::move(names), std::move(handler)});
  registered_.emplace_back(std::string(method), std::move(canonical));
  return Status::Ok();
}

std::optional<http::Response> HostRoutes::Dispatch(const http::Request& request,
                                                   const std::string& request_id) const {
  if (registered_.empty()) return std::nullopt;
  const auto match = router_.Find(request.method, request.path);
  switch (match.outcome) {
    case RouteOutcome::kNotFound:
      return std::nullopt;
    case RouteOutcome::kMethodNotAllowed: {
      http::Response response;
      if (request.method == "OPTIONS") {
        response.status = 204;
      } else {
        response = ErrorResponse(405, "method_not_allowed", "method " + request.method + " is not allowed here",
                                 request_id);
      }
      response.headers.push_back({"Allow", *match.allow + ", OPTIONS"});
      return response;
    }
    case RouteOutcome::kMatched:
      break;
  }
  return Invoke(*match.handler, match.params, request, request_id);
}

http::Response HostRoutes::Invoke(const Route& route, const PathParams& params, const http::Request& request,
                                  const std::string& request_id) const {
  HostRequest host_request;
  host_request.method = request.method;
  host_request.path = request.path;
  host_request.query = request.query;
  host_request.headers.reserve(request.headers.size());
  for (const http::Header& header : request.headers) host_request.headers.emplace_back(header.name, header.value);
  host_request.body = request.body;
  for (std::size_t i = 0; i < route.param_names.size() && i < params.size; ++i) {
    host_request.path_params.emplace_back(route.param_names[i], std::string(params[i]));
  }
  host_request.request_id = request_id;

  HostResponse answer;
  try {
    answer = route.handler(host_request);
  } catch (...) {
    // The host's bug; the connection and the server carry on.
    return ErrorResponse(500, "internal", "internal error", request_id);
  }
  if (answer.status < 200 || answer.status > 599) {
    return ErrorResponse(500, "internal", "internal error", request_id);
  }
  http::Response response;
  response.status = answer.status;
  response.headers.reserve(answer.headers.size() + 2);
  if (!answer.content_type.empty()) response.headers.push_back({"Content-Type", std::move(answer.content_type)});
  for (auto& [name, value] : answer.headers) {
    if (!IsHeaderToken(name) || IsServerOwnedHeader(name)) continue;
    response.headers.push_back({std::move(name), std::move(value)});
  }
  response.body = std::move(answer.body);
  return response;
}

}  // namespace api
}  // namespace libchat::server
