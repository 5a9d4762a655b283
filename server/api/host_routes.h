// The host's own routes (libchat/server/host_route.h, Server::AddRoute) inside the Api, next to libchat's.
//
// Precedence is made moot rather than chosen: a path is served by libchat or by the host, never both. A host
// pattern is refused (kAlreadyExists) when some path could match it and one of libchat's patterns, whatever
// the methods, and the whole /v1 namespace is libchat's, so that a future libchat route there cannot start
// shadowing a host route (a host pattern must begin with a literal segment other than "v1"). Among the host's
// own patterns the router's rule applies: the most specific pattern wins (at the leftmost differing segment a
// literal beats a parameter), and the same method on the same pattern twice (parameter names aside) is
// kAlreadyExists. The Api asks libchat's router first and this table only for paths libchat has no route for.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libchat/server/host_route.h"
#include "libchat/status.h"
#include "server/api/router.h"
#include "server/http/request.h"

namespace libchat::server::api {

class HostRoutes {
 public:
  // Registers `handler` for `method` on `pattern` ("/host/orders/{id}"). `libchat_routes` are libchat's
  // {method, pattern} pairs (Router::RouteTable), checked for conflicts. Not thread-safe: called before the
  // Api serves requests. kInvalidArgument for a malformed method or pattern, an empty handler, OPTIONS (the
  // Api answers it) or a pattern in libchat's namespace; kAlreadyExists for a duplicate or a conflict.
  Status Add(std::string_view method, std::string_view pattern, HostHandler handler,
             const std::vector<std::pair<std::string, std::string>>& libchat_routes);

  // The response of the host route for this request's path: the handler's answer, a 405 with Allow for
  // another method, or a 204 with Allow for a plain OPTIONS. nullopt when no host route has this path.
  // Thread-safe once registration is over.
  std::optional<http::Response> Dispatch(const http::Request& request, const std::string& request_id) const;

  bool empty() const { return registered_.empty(); }

 private:
  struct Route {
    std::vector<std::string> param_names;  // in pattern order
    HostHandler handler;
  };
  http::Response Invoke(const Route& route, const PathParams& params, const http::Request& request,
                        const std::string& request_id) const;

  Router<Route> router_;  // keyed by the canonical pattern ("{}" for every parameter)
  std::vector<std::pair<std::string, std::string>> registered_;  // {method, canonical pattern}
};

// True when some request path matches both route patterns (the router's syntax: "{…}" is one non-empty
// segment). Exposed for tests.
bool PatternsOverlap(std::string_view a, std::string_view b);

}  // namespace libchat::server::api
