// The browser side the server serves from its compiled-in copy of web/: GET / (the dashboard, with its
// Content-Security-Policy), GET /widget.js (loadable from any site), GET /app/{file}, revalidation with
// ETag / If-None-Match, and nothing outside web/app for /app/….
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api_test_util.h"
#include "catch.h"
#include "server/static_assets.h"

namespace libchat::test {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return s;
}

std::string HeaderOr(const Response& response, std::string_view name, std::string fallback = "<absent>") {
  const std::string* value = ResponseHeader(response, name);
  return value != nullptr ? *value : fallback;
}

TEST_CASE("static: the dashboard, the widget and the dashboard's files are compiled in", "[api][static]") {
  for (const char* path : {"index.html", "widget.js", "app/dashboard.js"}) {
    INFO(path);
    const server::StaticAsset* asset = server::FindStaticAsset(path);
    REQUIRE(asset != nullptr);
    CHECK_FALSE(asset->body.empty());
  }
  CHECK(server::FindStaticAsset("nothere.js") == nullptr);
  CHECK(server::FindStaticAsset("") == nullptr);

  std::set<std::string_view> etags;
  for (const server::StaticAsset& asset : server::StaticAssets()) {
    INFO(asset.path);
    CHECK(asset.path.front() != '/');
    CHECK(asset.path.find("..") == std::string_view::npos);
    CHECK(asset.path.find("/.") == std::string_view::npos);  // hidden files stay out
    REQUIRE(asset.etag.size() == 34);
    CHECK(asset.etag.front() == '"');
    CHECK(asset.etag.back() == '"');
    etags.insert(asset.etag);
    const std::string_view path = asset.path;
    auto ends_with = [&](std::string_view suffix) {
      return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
    };
    if (ends_with(".html")) CHECK(asset.content_type == "text/html; charset=utf-8");
    if (ends_with(".js")) CHECK(asset.content_type == "text/javascript; charset=utf-8");
    if (ends_with(".css")) CHECK(asset.content_type == "text/css; charset=utf-8");
    if (ends_with(".svg")) CHECK(asset.content_type == "image/svg+xml");
    if (ends_with(".png")) CHECK(asset.content_type == "image/png");
    if (ends_with(".json")) CHECK(asset.content_type == "application/json");
  }
  CHECK(etags.size() >= 3);
}

TEST_CASE("static: GET / serves the dashboard with its security headers", "[api][static]") {
  ApiHarness h;
  Response page = h.Get("/");
  REQUIRE(page.status == 200);
  CHECK(HeaderOr(page, "Content-Type") == "text/html; charset=utf-8");
  CHECK(HeaderOr(page, "Content-Security-Policy") ==
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: https:; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'");
  CHECK(HeaderOr(page, "X-Content-Type-Options") == "nosniff");
  CHECK(HeaderOr(page, "Cache-Control") == "no-cache");
  CHECK(HeaderOr(page, "ETag") == std::string(server::FindStaticAsset("index.html")->etag));
  CHECK(page.body == server::FindStaticAsset("index.html")->body);
  CHECK(Lower(page.body).find("<html") != std::string::npos);
  // No credentials needed, and the dashboard is not for other sites.
  CHECK(ResponseHeader(page, "Access-Control-Allow-Origin") == nullptr);
  CHECK(ResponseHeader(h.Get("/", {{"Origin", "https://shop.example"}}), "Access-Control-Allow-Origin") == nullptr);
  CHECK(h.Raw("POST", "/", "{}").status == 405);
}

TEST_CASE("static: GET /widget.js can be loaded from any site", "[api][static]") {
  ApiHarness h;
  for (const std::vector<Header>& headers : std::vector<std::vector<Header>>{
           {}, {{"Origin", "https://shop.example"}}, {{"Origin", "https://app.example.com"}}}) {
    Response script = h.Get("/widget.js", headers);
    REQUIRE(script.status == 200);
    CHECK(HeaderOr(script, "Content-Type") == "text/javascript; charset=utf-8");
    CHECK(CountHeader(script, "Access-Control-Allow-Origin") == 1);
    CHECK(HeaderOr(script, "Access-Control-Allow-Origin") == "*");
    CHECK(HeaderOr(script, "X-Content-Type-Options") == "nosniff");
    CHECK(HeaderOr(script, "Cache-Control") == "no-cache");
    CHECK(ResponseHeader(script, "Content-Security-Policy") == nullptr);
    CHECK(script.body == server::FindStaticAsset("widget.js")->body);
  }
}

TEST_CASE("static: GET /app/{file} serves the dashboard's files and nothing else", "[api][static]") {
  ApiHarness h;
  Response script = h.Get("/app/dashboard.js");
  REQUIRE(script.status == 200);
  CHECK(HeaderOr(script, "Content-Type") == "text/javascript; charset=utf-8");
  CHECK(HeaderOr(script, "X-Content-Type-Options") == "nosniff");
  CHECK(script.body == server::FindStaticAsset("app/dashboard.js")->body);

  for (const char* target : {"/app/../x", "/app/..", "/app/.", "/app/../widget.js", "/app/%2e%2e/index.html",
                             "/app/..%2Fwidget.js", "/app/%2e%2e%2fwidget.js", "/app/nothere.js", "/app/",
                             "/app", "/app/dashboard.js/", "/index.html", "/nothere.html", "/web/widget.js",
                             "/app/..%5cwidget.js"}) {
    INFO(target);
    Response response = h.Get(target);
    CHECK(response.status == 404);
    CHECK(ErrorCode(response) == "not_found");
  }
}

TEST_CASE("static: If-None-Match with the current ETag answers 304", "[api][static]") {
  ApiHarness h;
  for (const char* target : {"/", "/widget.js", "/app/dashboard.js"}) {
    INFO(target);
    Response first = h.Get(target);
    REQUIRE(first.status == 200);
    const std::string etag = HeaderOr(first, "ETag");
    REQUIRE(etag.size() > 2);

    for (const std::string& condition : {etag, "W/" + etag, "\"stale\", " + etag, std::string("*")}) {
      INFO(condition);
      Response again = h.Get(target, {{"If-None-Match", condition}});
      CHECK(again.status == 304);
      CHECK(again.body.empty());
      CHECK(HeaderOr(again, "ETag") == etag);
      CHECK(HeaderOr(again, "Cache-Control") == "no-cache");
    }
    Response changed = h.Get(target, {{"If-None-Match", "\"stale\""}});
    CHECK(changed.status == 200);
    CHECK(changed.body == first.body);
  }
}

}  // namespace
}  // namespace libchat::test
