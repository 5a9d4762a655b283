#include "server/api/router.h"

#include <cassert>

namespace libchat::server::api {

SplitPath SplitPathSegments(std::string_view path) {
  SplitPath split;
  if (path.empty() || path.front() != '/') return split;
  path.remove_prefix(1);
  if (path.empty()) {
    split.ok = true;
    return split;
  }
  while (true) {
    if (split.size == kMaxPathSegments) return split;  // too deep for any route: ok stays false
    const std::size_t slash = path.find('/');
    split.segments[split.size++] = path.substr(0, slash);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  split.ok = true;
  return split;
}

PathPattern::PathPattern(std::string_view pattern) : text_(pattern) {
  const SplitPath split = SplitPathSegments(pattern);
  assert(split.ok);
  std::size_t params = 0;
  for (std::size_t i = 0; i < split.size; ++i) {
    std::string_view s = split.segments[i];
    const bool param = s.size() >= 2 && s.front() == '{' && s.back() == '}';
    if (param) {
      ++params;
    } else {
      specificity_ |= std::uint32_t{1} << (kMaxPathSegments - 1 - i);
    }
    segments_.push_back(Segment{param ? std::string() : std::string(s), param});
  }
  assert(params <= kMaxPathParams);
  (void)params;
}

bool PathPattern::Match(const SplitPath& path, PathParams* params) const {
  if (path.size != segments_.size()) return false;
  std::size_t count = 0;
  for (std::size_t i = 0; i < path.size; ++i) {
    const Segment& segment = segments_[i];
    const std::string_view value = path.segments[i];
    if (segment.param) {
      if (value.empty()) return false;
      params->values[count++] = value;
    } else if (segment.literal != value) {
      return false;
    }
  }
  params->size = count;
  return true;
}

}  // namespace libchat::server::api
