// The files under web/ (the owner dashboard and the customer widget), compiled into the server at build
// time by cmake/EmbedWebAssets.cmake, so that the server needs no web/ directory at run time.
#pragma once

#include <cstddef>
#include <string_view>

namespace libchat::server {

struct StaticAsset {
  std::string_view path;          // relative to web/, '/'-separated: "index.html", "app/dashboard.js"
  std::string_view content_type;  // from the extension: "text/html; charset=utf-8", "image/png", ...
  std::string_view body;
  std::string_view etag;          // a strong validator, quoted: "\"<128 bits of SHA-256 of body, hex>\""
};

struct StaticAssetList {
  const StaticAsset* data = nullptr;
  std::size_t size = 0;
  const StaticAsset* begin() const { return data; }
  const StaticAsset* end() const { return data + size; }
};

// Every embedded file (generated).
StaticAssetList StaticAssets();

// The embedded file at `path` (relative to web/), or nullptr.
const StaticAsset* FindStaticAsset(std::string_view path);

}  // namespace libchat::server
