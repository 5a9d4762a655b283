// The browser side served by the API itself: GET / (the owner dashboard, web/index.html), GET /widget.js
// (the customer widget any site embeds) and GET /app/{file} (the dashboard's other files, web/app/), from
// the copy of web/ compiled into the server (server/static_assets.h).
//
// Every file is revalidated on each use (Cache-Control: no-cache) against its ETag, so a new server build
// is picked up at once while an unchanged file costs a 304.
#include <string>
#include <string_view>

#include "server/api/handler_util.h"
#include "server/static_assets.h"

namespace libchat::server::api {
namespace {

// The dashboard loads only its own scripts and styles, talks only to this server (HTTP and WebSocket), may
// show logos from anywhere over https, and may not be framed (clickjacking).
constexpr char kDashboardCsp[] =
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: https:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'";

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// If-None-Match: "*" or a comma-separated list of entity tags, compared weakly (RFC 9110 13.1.2: a W/
// prefix is ignored).
bool NoneMatchHits(std::string_view header, std::string_view etag) {
  std::size_t start = 0;
  while (start <= header.size()) {
    std::size_t comma = header.find(',', start);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view tag = TrimSpaces(header.substr(start, comma - start));
    if (tag == "*") return true;
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
    start = comma + 1;
  }
  return false;
}

enum class Kind { kDashboard, kWidget, kFile };

http::Response Serve(RequestContext& ctx, std::string_view path, Kind kind) {
  const StaticAsset* asset = FindStaticAsset(path);
  if (asset == nullptr) return ctx.NotFound("file");
  http::Response response;
  response.headers.reserve(8);
  response.headers.push_back({"ETag", std::string(asset->etag)});
  response.headers.push_back({"Cache-Control", "no-cache"});
  if (kind == Kind::kWidget) {
    // Loaded by <script src> from every site that embeds the widget, and fetchable from there too.
    response.headers.push_back({"Access-Control-Allow-Origin", "*"});
  }
  const std::string* if_none_match = ctx.request.FindHeader("If-None-Match");
  if (if_none_match != nullptr && NoneMatchHits(*if_none_match, asset->etag)) {
    response.status = 304;
    return response;
  }
  response.headers.push_back({"Content-Type", std::string(asset->content_type)});
  response.headers.push_back({"X-Content-Type-Options", "nosniff"});
  if (kind == Kind::kDashboard) {
    response.headers.push_back({"Content-Security-Policy", kDashboardCsp});
    response.headers.push_back({"Referrer-Policy", "no-referrer"});
  }
  response.body = std::string(asset->body);
  return response;
}

http::Response Dashboard(RequestContext& ctx) { return Serve(ctx, "index.html", Kind::kDashboard); }

http::Response Widget(RequestContext& ctx) { return Serve(ctx, "widget.js", Kind::kWidget); }

// {file} is one path segment (the router never lets a '/' into it); "." and ".." are refused outright
// although the lookup is in the embedded table only, never on a file system.
http::Response AppFile(RequestContext& ctx) {
  const std::string_view file = ctx.params[0];
  if (file == "." || file == ".." || file.find('/') != std::string_view::npos ||
      file.find('\\') != std::string_view::npos) {
    return ctx.NotFound("file");
  }
  return Serve(ctx, "app/" + std::string(file), Kind::kFile);
}

}  // namespace

void AddStaticRoutes(Routes& routes) {
  routes.router.Add("GET", "/", Route{&Dashboard, Auth::kNone});
  routes.router.Add("GET", "/widget.js", Route{&Widget, Auth::kNone});
  routes.router.Add("GET", "/app/{file}", Route{&AppFile, Auth::kNone});
}

}  // namespace libchat::server::api
