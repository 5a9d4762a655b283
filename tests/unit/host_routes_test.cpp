// Host routes (libchat/server/host_route.h): a host's own handlers next to libchat's routes, through the Api
// (the rules: server/api/host_routes.h) and through a running Server on a real socket (Server::AddRoute).
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include "catch.h"
#include "libchat/server/host_route.h"
#include "libchat/server/logger.h"
#include "libchat/server/server.h"
#include "libchat/testing/memory_store.h"
#include "server/api/host_routes.h"
#include "unit/api_test_util.h"

namespace libchat::test {
namespace {

using server::HostRequest;
using server::HostResponse;

HostResponse Text(std::string body, int status = 200) {
  HostResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

server::HostHandler Fixed(std::string body) {
  return [body](const HostRequest&) { return Text(body); };
}

TEST_CASE("host routes: answer next to libchat's routes, which still answer") {
  ApiHarness harness;
  REQUIRE(harness.api->AddHostRoute("GET", "/host/health", Fixed("host ok")).ok());
  REQUIRE(harness.api
              ->AddHostRoute("POST", "/host/orders/{order_id}/items/{item}",
                             [](const HostRequest& request) {
                               HostResponse response;
                               response.status = 201;
                               response.content_type = "application/json";
                               response.headers = {{"X-Host", "yes"}};
                               response.body = std::string(request.PathParam("order_id")) + "|" +
                                               std::string(request.PathParam("item")) + "|" +
                                               request.QueryParam("note").value_or("-") + "|" +
                                               (request.Header("x-custom") ? *request.Header("x-custom") : "-") +
                                               "|" + request.body + "|" + request.request_id;
                               return response;
                             })
              .ok());

  Response host = harness.Get("/host/health");
  CHECK(host.status == 200);
  CHECK(host.body == "host ok");
  const std::string* type = ResponseHeader(host, "Content-Type");
  CHECK((type != nullptr && *type == "text/plain; charset=utf-8"));

  Response health = harness.Get("/health");
  CHECK(health.status == 200);
  CHECK(BodyJson(health)["status"] == "ok");
  // libchat's authenticated routes are untouched: still 401 without credentials, 201 with.
  CHECK(harness.Get("/v1/apps").status == 401);
  const auto owner = harness.Register("host-routes@example.com");
  CHECK(harness.Get("/v1/apps", {Bearer(owner.token)}).status == 200);
  // An unknown path is still libchat's 404.
  Response missing = harness.Get("/host/nothing-here");
  CHECK(missing.status == 404);
  CHECK(ErrorCode(missing) == "not_found");

  Response created = harness.Raw("POST", "/host/orders/o%201/items/42?note=hello+world", "the body",
                                 {{"X-Custom", "value"}});
  CHECK(created.status == 201);
  // Path parameters are percent-decoded, as for libchat's routes.
  CHECK(created.body.rfind("o 1|42|hello world|value|the body|req-", 0) == 0);
  const std::string* custom = ResponseHeader(created, "X-Host");
  CHECK((custom != nullptr && *custom == "yes"));
  const std::string* json = ResponseHeader(created, "Content-Type");
  CHECK((json != nullptr && *json == "application/json"));
}

TEST_CASE("host routes: another method is 405 with Allow, a plain OPTIONS 204, CORS as configured") {
  ApiHarness harness;
  REQUIRE(harness.api->AddHostRoute("GET", "/host/items/{id}", Fixed("get")).ok());
  REQUIRE(harness.api->AddHostRoute("DELETE", "/host/items/{item_id}", Fixed("deleted")).ok());

  CHECK(harness.Get("/host/items/7", {}, "DELETE").body == "deleted");
  Response put = harness.Raw("PUT", "/host/items/7", "{}");
  CHECK(put.status == 405);
  CHECK(ErrorCode(put) == "method_not_allowed");
  const std::string* allow = ResponseHeader(put, "Allow");
  CHECK((allow != nullptr && *allow == "GET, DELETE, OPTIONS"));
  Response options = harness.Get("/host/items/7", {}, "OPTIONS");
  CHECK(options.status == 204);

  // CHAT_ALLOWED_ORIGINS applies to host routes as to libchat's.
  Response allowed = harness.Get("/host/items/7", {{"Origin", "https://app.example.com"}});
  const std::string* acao = ResponseHeader(allowed, "Access-Control-Allow-Origin");
  CHECK((acao != nullptr && *acao == "https://app.example.com"));
  Response foreign = harness.Get("/host/items/7", {{"Origin", "https://evil.example"}});
  CHECK(ResponseHeader(foreign, "Access-Control-Allow-Origin") == nullptr);
}

TEST_CASE("host routes: duplicate and conflicting registrations are refused") {
  ApiHarness harness;
  auto add = [&](const char* method, const char* pattern) {
    return harness.api->AddHostRoute(method, pattern, Fixed("x"));
  };
  REQUIRE(add("GET", "/host/items/{id}").ok());

  // The same method and pattern, also under other parameter names.
  CHECK(add("GET", "/host/items/{id}").code() == StatusCode::kAlreadyExists);
  CHECK(add("GET", "/host/items/{other}").code() == StatusCode::kAlreadyExists);
  // Another method on it, and a more specific pattern beside it, are fine.
  CHECK(add("POST", "/host/items/{id}").ok());
  CHECK(add("GET", "/host/items/special").ok());

  // Any overlap with a libchat route, whatever the method.
  const Status health = add("GET", "/health");
  CHECK(health.code() == StatusCode::kAlreadyExists);
  CHECK(health.message().find("GET /health") != std::string::npos);
  CHECK(add("POST", "/health").code() == StatusCode::kAlreadyExists);
  CHECK(add("GET", "/widget.js").code() == StatusCode::kAlreadyExists);
  CHECK(add("GET", "/app/mine.js").code() == StatusCode::kAlreadyExists);  // libchat's /app/{file}
  CHECK(add("GET", "/openapi.json").code() == StatusCode::kAlreadyExists);
  CHECK(add("GET", "/metrics").code() == StatusCode::kAlreadyExists);
  // libchat's namespace and the root.
  CHECK(add("GET", "/v1/host").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "/v1/apps/{id}/mine").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "/").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "/{anything}").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "/{tenant}/dashboard").code() == StatusCode::kInvalidArgument);

  // Malformed input.
  CHECK(add("get", "/host/a").code() == StatusCode::kInvalidArgument);
  CHECK(add("", "/host/a").code() == StatusCode::kInvalidArgument);
  CHECK(add("GE T", "/host/a").code() == StatusCode::kInvalidArgument);
  CHECK(add("OPTIONS", "/host/a").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "host/a").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "/host//a").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "/host/a/").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "/host/a?b=1").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "/host/a%20b").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "/host/{}").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "/host/{a-b}").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "/host/{x}/{x}").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "/host/{a}/{b}/{c}/{d}/{e}").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "/host/1/2/3/4/5/6/7/8").code() == StatusCode::kInvalidArgument);
  CHECK(add("GET", "/host/x{y}").code() == StatusCode::kInvalidArgument);
  CHECK(harness.api->AddHostRoute("GET", "/host/empty", nullptr).code() == StatusCode::kInvalidArgument);

  // The refusals registered nothing: the first pattern still answers, the more specific one wins.
  CHECK(harness.Get("/host/items/1").body == "x");
  CHECK(harness.Get("/health").status == 200);
  CHECK(harness.Get("/v1/host").status == 404);
}

TEST_CASE("host routes: the most specific host pattern wins whatever the registration order") {
  ApiHarness harness;
  REQUIRE(harness.api->AddHostRoute("GET", "/host/{a}/x", Fixed("param first")).ok());
  REQUIRE(harness.api->AddHostRoute("GET", "/host/y/{b}", Fixed("literal first")).ok());
  REQUIRE(harness.api->AddHostRoute("GET", "/host/items/{id}", Fixed("any item")).ok());
  REQUIRE(harness.api->AddHostRoute("GET", "/host/items/special", Fixed("special")).ok());
  CHECK(harness.Get("/host/y/x").body == "literal first");
  CHECK(harness.Get("/host/z/x").body == "param first");
  CHECK(harness.Get("/host/items/special").body == "special");
  CHECK(harness.Get("/host/items/1").body == "any item");
}

TEST_CASE("host routes: a misbehaving handler or bad input never crashes and never breaks framing") {
  ApiHarness harness;
  REQUIRE(harness.api->AddHostRoute("GET", "/host/throw", [](const HostRequest&) -> HostResponse {
                       throw std::runtime_error("host bug");
                     }).ok());
  REQUIRE(harness.api->AddHostRoute("GET", "/host/status/{code}", [](const HostRequest& request) {
                       return Text("", std::stoi(std::string(request.PathParam("code"))));
                     }).ok());
  REQUIRE(harness.api->AddHostRoute("GET", "/host/headers", [](const HostRequest&) {
                       HostResponse response = Text("body");
                       response.headers = {{"Content-Length", "999"}, {"Connection", "keep-alive"},
                                           {"X-Request-Id", "forged"}, {"Transfer-Encoding", "chunked"},
                                           {"Bad Name", "x"}, {"", "x"}, {"X-Fine", "ok"}};
                       return response;
                     }).ok());
  REQUIRE(harness.api->AddHostRoute("POST", "/host/echo/{value}", [](const HostRequest& request) {
                       return Text(std::string(request.PathParam("value")) + "|" +
                                   request.QueryParam("q").value_or("<none>") + "|" + request.body);
                     }).ok());

  Response thrown = harness.Call(MakeRequest("GET", "/host/throw"), /*allow_5xx=*/true);
  CHECK(thrown.status == 500);
  CHECK(ErrorCode(thrown) == "internal");
  CHECK(thrown.body.find("host bug") == std::string::npos);  // details stay in the process

  // The handler's own statuses pass through (its 4xx bodies are its business, not libchat's error shape).
  CHECK(harness.api->Handle(MakeRequest("GET", "/host/status/404"), "req-404").status == 404);
  CHECK(harness.api->Handle(MakeRequest("GET", "/host/status/599"), "req-599").status == 599);
  for (const char* bad : {"101", "0", "-1", "600", "1000", "nan"}) {
    Response response = harness.Call(MakeRequest("GET", std::string("/host/status/") + bad), true);
    CHECK(response.status == 500);
  }

  Response headers = harness.Get("/host/headers");
  CHECK(headers.status == 200);
  CHECK(CountHeader(headers, "Content-Length") == 0);  // Serialize adds the true one
  CHECK(CountHeader(headers, "Connection") == 0);
  CHECK(CountHeader(headers, "Transfer-Encoding") == 0);
  CHECK(CountHeader(headers, "X-Request-Id") == 1);
  CHECK(*ResponseHeader(headers, "X-Request-Id") != "forged");
  CHECK(CountHeader(headers, "Bad Name") == 0);
  CHECK(CountHeader(headers, "X-Fine") == 1);
  const std::string wire = server::http::Serialize(headers, true);
  CHECK(wire.find("Content-Length: 4\r\n") != std::string::npos);

  // Odd bytes in the path, the query and the body reach the handler as they are.
  Response odd = harness.Raw("POST", "/host/echo/%00%FF%C3%28?q=%zz&q=%E2%82", std::string("\0\xff", 2));
  CHECK(odd.status == 200);
  CHECK(odd.body == std::string("\0\xff\xc3(|", 5) + "\xe2\x82|" + std::string("\0\xff", 2));
  CHECK(harness.Raw("POST", "/host/echo/a?q=" + std::string(10000, 'x'), "").status == 200);
}

TEST_CASE("host routes: PatternsOverlap") {
  using server::api::PatternsOverlap;
  CHECK(PatternsOverlap("/a/{x}", "/a/b"));
  CHECK(PatternsOverlap("/{x}/b", "/a/{y}"));
  CHECK(PatternsOverlap("/a", "/a"));
  CHECK_FALSE(PatternsOverlap("/a/b", "/a/c"));
  CHECK_FALSE(PatternsOverlap("/a/{x}", "/a/{x}/c"));
  CHECK_FALSE(PatternsOverlap("/", "/a"));
  CHECK(PatternsOverlap("/", "/"));
}

// --- through a running Server, on a real socket

// One request over a fresh loopback connection ("Connection: close"); the raw response.
std::string Fetch(std::uint16_t port, const std::string& raw_request) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  asio::error_code ec;
  socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return "connect failed: " + ec.message();
  asio::write(socket, asio::buffer(raw_request), ec);
  if (ec) return "write failed: " + ec.message();
  std::string response;
  char buffer[4096];
  for (;;) {
    const std::size_t n = socket.read_some(asio::buffer(buffer), ec);
    response.append(buffer, n);
    if (ec) break;  // EOF once the server closed
  }
  return response;
}

std::string Get(std::uint16_t port, const std::string& target) {
  return Fetch(port, "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
}

TEST_CASE("host routes: a running Server serves the host's routes and libchat's on one listener") {
  Options options;
  options.store = testing::NewMemoryStore();
  options.jwt_secret = kTestJwtSecret;
  auto chat = Chat::Open(std::move(options));
  REQUIRE(chat.ok());

  asio::io_context io;
  server::ServerConfig config;
  config.listen_port = 0;
  config.worker_threads = 2;
  config.delivery_workers = 0;
  server::Logger log(server::LogLevel::kError);
  server::Server server(io, **chat, config, log);

  std::atomic<int> calls{0};
  REQUIRE(server.AddRoute("GET", "/host/health", [&calls](const HostRequest&) {
                  ++calls;
                  return Text("host is fine");
                }).ok());
  REQUIRE(server.AddRoute("POST", "/host/echo", [](const HostRequest& request) { return Text(request.body); }).ok());
  CHECK(server.AddRoute("GET", "/host/health", Fixed("again")).code() == StatusCode::kAlreadyExists);
  CHECK(server.AddRoute("GET", "/health", Fixed("mine")).code() == StatusCode::kAlreadyExists);
  REQUIRE(server.Start().ok());
  CHECK(server.AddRoute("GET", "/host/late", Fixed("late")).code() == StatusCode::kFailedPrecondition);
  std::thread runner([&io] { io.run(); });

  const std::string host = Get(server.port(), "/host/health");
  CHECK(host.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(host.find("\r\n\r\nhost is fine") != std::string::npos);
  CHECK(host.find("X-Request-Id: req_") != std::string::npos);
  CHECK(calls.load() == 1);

  const std::string health = Get(server.port(), "/health");
  CHECK(health.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(health.find("\"status\":\"ok\"") != std::string::npos);

  // Bad input on the wire: a body over the limit, a malformed escape, garbage. Each gets a 4xx (or a closed
  // connection), and the host route still answers afterwards.
  const std::string big = Fetch(server.port(), "POST /host/echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                                   std::to_string(config.max_body_bytes + 1) + "\r\n\r\n");
  CHECK(big.rfind("HTTP/1.1 413 ", 0) == 0);
  const std::string escape = Get(server.port(), "/host/%zz");
  CHECK(escape.rfind("HTTP/1.1 400 ", 0) == 0);
  Fetch(server.port(), std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  const std::string echo = Fetch(server.port(), "POST /host/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                                "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  CHECK(echo.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(echo.find("\r\n\r\nhello") != std::string::npos);
  CHECK(Get(server.port(), "/host/health").rfind("HTTP/1.1 200 ", 0) == 0);

  server.Shutdown();
  runner.join();
}

}  // namespace
}  // namespace libchat::test
