// A small method + path router for the HTTP API. Patterns are literal segments and "{name}" parameters
// ("/v1/conversations/{id}/messages"); a parameter matches exactly one non-empty segment. Matching splits the
// request path into string_views once and compares segment by segment: no regex, no allocation on a hit.
//
// Find distinguishes "no such path" (404) from "path exists, not with this method" (405 + Allow), which is
// why routes are grouped by pattern. When several patterns match a path, the most specific one wins whatever
// the registration order: at the leftmost segment where they differ, a literal beats a parameter (so
// "/v1/apps/{app_id}/knowledge/search" is never taken for the entry "/v1/apps/{app_id}/knowledge/{id}").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace libchat::server::api {

// Paths with more segments than this match no route.
inline constexpr std::size_t kMaxPathSegments = 8;
inline constexpr std::size_t kMaxPathParams = 4;

// The parameter values of a match, in pattern order; views into the request path.
struct PathParams {
  std::array<std::string_view, kMaxPathParams> values{};
  std::size_t size = 0;
  std::string_view operator[](std::size_t i) const { return i < size ? values[i] : std::string_view(); }
};

// A path split into segments ("/v1/apps/x" -> "v1","apps","x"). `ok` is false when the path does not start
// with '/' or has more than kMaxPathSegments segments. "/" has no segments; "/a/" has "a" and "".
struct SplitPath {
  std::array<std::string_view, kMaxPathSegments> segments{};
  std::size_t size = 0;
  bool ok = false;
};
SplitPath SplitPathSegments(std::string_view path);

class PathPattern {
 public:
  // `pattern` must start with '/'; "{…}" segments are parameters, at most kMaxPathParams of them.
  explicit PathPattern(std::string_view pattern);

  bool Match(const SplitPath& path, PathParams* params) const;
  const std::string& text() const { return text_; }
  // Orders patterns of the same length: a bit per literal segment, the leftmost segment the highest bit.
  // Two different patterns that match the same path never have the same value.
  std::uint32_t specificity() const { return specificity_; }

 private:
  struct Segment {
    std::string literal;  // empty for a parameter
    bool param = false;
  };
  std::string text_;
  std::vector<Segment> segments_;
  std::uint32_t specificity_ = 0;
};

enum class RouteOutcome { kMatched, kMethodNotAllowed, kNotFound };

template <typename Handler>
class Router {
 public:
  void Add(std::string_view method, std::string_view pattern, Handler handler) {
    for (Resource& resource : resources_) {
      if (resource.pattern.text() == pattern) {
        resource.methods.emplace_back(std::string(method), std::move(handler));
        resource.allow = JoinMethods(resource);
        return;
      }
    }
    resources_.push_back(Resource{PathPattern(pattern), {}, {}});
    resources_.back().methods.emplace_back(std::string(method), std::move(handler));
    resources_.back().allow = JoinMethods(resources_.back());
  }

  struct Match {
    RouteOutcome outcome = RouteOutcome::kNotFound;
    const Handler* handler = nullptr;  // set for kMatched
    PathParams params;
    const std::string* allow = nullptr;  // "GET, PATCH": set for kMatched and kMethodNotAllowed
  };

  Match Find(std::string_view method, std::string_view path) const {
    Match match;
    const SplitPath split = SplitPathSegments(path);
    if (!split.ok) return match;
    const Resource* best = nullptr;
    PathParams params;
    for (const Resource& resource : resources_) {
      if (!resource.pattern.Match(split, &params)) continue;
      if (best == nullptr || resource.pattern.specificity() > best->pattern.specificity()) {
        best = &resource;
        match.params = params;
      }
    }
    if (best == nullptr) return match;
    match.allow = &best->allow;
    for (const auto& [name, handler] : best->methods) {
      if (name == method) {
        match.outcome = RouteOutcome::kMatched;
        match.handler = &handler;
        return match;
      }
    }
    match.outcome = RouteOutcome::kMethodNotAllowed;
    return match;
  }

  // Every registered {method, pattern} pair, e.g. {"GET", "/v1/apps/{app_id}"}, grouped by pattern in
  // registration order. For introspection only: tests/unit/openapi_test.cpp keeps docs/openapi.json
  // equal to it.
  std::vector<std::pair<std::string, std::string>> RouteTable() const {
    std::vector<std::pair<std::string, std::string>> table;
    for (const Resource& resource : resources_) {
      for (const auto& entry : resource.methods) table.emplace_back(entry.first, resource.pattern.text());
    }
    return table;
  }

 private:
  struct Resource {
    PathPattern pattern;
    std::vector<std::pair<std::string, Handler>> methods;
    std::string allow;
  };

  static std::string JoinMethods(const Resource& resource) {
    std::string allow;
    for (const auto& entry : resource.methods) {
      if (!allow.empty()) allow += ", ";
      allow += entry.first;
    }
    return allow;
  }

  std::vector<Resource> resources_;
};

}  // namespace libchat::server::api
