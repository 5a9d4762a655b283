// The libcurl HttpClient against FakeHttpServer on 127.0.0.1 (what goes on the wire, what comes back,
// limits, timeouts, the SSRF refusal), and the address policy behind that refusal. No internet needed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch.h"
#include "libchat/providers/http_client.h"
#include "support/fake_http_server.h"
#include "transport/address_policy.h"

namespace libchat::test {
namespace {

using namespace std::chrono_literals;
using internal::CheckUrlTarget;
using internal::IpAddress;
using internal::IsPublicAddress;
using internal::NetworkAllowlist;
using testsupport::FakeHttpServer;

std::shared_ptr<HttpClient> LoopbackClient(std::size_t max_response_bytes = 1 << 20) {
  CurlHttpClientOptions options;
  options.allowed_networks = {"127.0.0.0/8"};
  options.max_response_bytes = max_response_bytes;
  auto client = NewCurlHttpClient(options);
  REQUIRE(client.ok());
  return *client;
}

HttpRequest Request(const std::string& method, const std::string& url, const std::string& body = "") {
  HttpRequest request;
  request.method = method;
  request.url = url;
  request.body = body;
  request.timeout = 10s;
  return request;
}

TEST_CASE("HttpClient sends exactly the request it is given", "[http_client]") {
  FakeHttpServer server;
  auto client = LoopbackClient();
  HttpRequest request = Request("POST", server.url("/hooks/in?tenant=a%20b&x=1"), R"({"type":"message.created"})");
  request.headers = {{"Content-Type", "application/json"},
                     {"Webhook-Id", "msg_1"},
                     {"X-Empty", ""},
                     {"X-Repeated", "one"},
                     {"X-Repeated", "two"}};

  auto response = client->Send(request);
  REQUIRE(response.ok());
  REQUIRE(server.requests().size() == 1);
  const FakeHttpServer::Request seen = server.requests()[0];
  CHECK(seen.method == "POST");
  CHECK(seen.target == "/hooks/in?tenant=a%20b&x=1");
  CHECK(seen.body == R"({"type":"message.created"})");
  CHECK(seen.Header("content-type") == "application/json");
  CHECK(seen.Header("webhook-id") == "msg_1");
  CHECK(seen.Header("content-length") == "26");
  CHECK(seen.Header("host") == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(!seen.Header("user-agent").empty());
  // curl's own "Expect: 100-continue" is not added.
  CHECK(seen.Header("expect").empty());
  bool has_empty = false;
  std::vector<std::string> repeated;
  for (const auto& [name, value] : seen.headers) {
    if (name == "x-empty") has_empty = value.empty();
    if (name == "x-repeated") repeated.push_back(value);
  }
  CHECK(has_empty);
  CHECK(repeated == std::vector<std::string>{"one", "two"});
}

TEST_CASE("HttpClient sends a body with any method and none when there is none", "[http_client]") {
  FakeHttpServer server;
  auto client = LoopbackClient();

  REQUIRE(client->Send(Request("PUT", server.url("/put"), "put-body")).ok());
  REQUIRE(client->Send(Request("DELETE", server.url("/delete"), "delete-body")).ok());
  REQUIRE(client->Send(Request("GET", server.url("/get"))).ok());
  REQUIRE(client->Send(Request("DELETE", server.url("/bare-delete"))).ok());
  REQUIRE(client->Send(Request("POST", server.url("/empty-post"))).ok());
  // A large body (curl would otherwise ask for 100-continue) arrives whole.
  const std::string large(300 * 1024, 'z');
  REQUIRE(client->Send(Request("PATCH", server.url("/large"), large)).ok());

  const auto seen = server.requests();
  REQUIRE(seen.size() == 6);
  CHECK((seen[0].method == "PUT" && seen[0].target == "/put" && seen[0].body == "put-body"));
  CHECK((seen[1].method == "DELETE" && seen[1].body == "delete-body"));
  CHECK((seen[2].method == "GET" && seen[2].body.empty() && seen[2].Header("content-length").empty()));
  CHECK((seen[3].method == "DELETE" && seen[3].body.empty()));
  CHECK((seen[4].method == "POST" && seen[4].body.empty() && seen[4].Header("content-length") == "0"));
  // No form Content-Type invented for a body the caller did not type.
  CHECK(seen[4].Header("content-type").empty());
  CHECK(seen[1].Header("content-type").empty());
  CHECK((seen[5].method == "PATCH" && seen[5].body == large));
}

TEST_CASE("HttpClient returns the status, lower-cased headers and body", "[http_client]") {
  FakeHttpServer server;
  FakeHttpServer::Response scripted;
  scripted.status = 429;
  scripted.headers = {{"Retry-After", "120"}, {"X-Request-ID", "abc"}, {"Content-Type", "text/plain"}};
  scripted.body = "slow down";
  server.Enqueue(scripted);
  auto client = LoopbackClient();

  auto response = client->Send(Request("POST", server.url("/"), "{}"));
  REQUIRE(response.ok());
  CHECK(response->status == 429);
  CHECK(response->Header("retry-after") == "120");
  CHECK(response->Header("x-request-id") == "abc");
  CHECK(response->Header("content-type") == "text/plain");
  CHECK(response->Header("content-length") == "9");
  CHECK(response->body == "slow down");
  CHECK(response->elapsed < 10s);

  // The next request gets the default answer: the script is used once.
  auto second = client->Send(Request("POST", server.url("/"), "{}"));
  REQUIRE(second.ok());
  CHECK(second->status == 200);
  CHECK(second->body == "{}");
}

TEST_CASE("HttpClient returns a redirect instead of following it", "[http_client]") {
  FakeHttpServer server;
  FakeHttpServer::Response redirect;
  redirect.status = 302;
  redirect.headers = {{"Location", server.url("/elsewhere")}};
  server.Enqueue(redirect);
  auto client = LoopbackClient();

  auto response = client->Send(Request("POST", server.url("/hook"), "{}"));
  REQUIRE(response.ok());
  CHECK(response->status == 302);
  CHECK(response->Header("location") == server.url("/elsewhere"));
  CHECK(server.requests().size() == 1);
}

TEST_CASE("HttpClient truncates a response body at max_response_bytes", "[http_client]") {
  FakeHttpServer server;
  std::string big;
  for (int i = 0; big.size() < 200 * 1024; ++i) big += std::to_string(i) + ",";
  server.SetHandler([&big](const FakeHttpServer::Request&) {
    FakeHttpServer::Response response;
    response.body = big;
    return response;
  });

  auto small_client = LoopbackClient(1000);
  auto response = small_client->Send(Request("GET", server.url("/big")));
  REQUIRE(response.ok());
  CHECK(response->status == 200);
  CHECK(response->body == big.substr(0, 1000));

  // A body exactly at the limit is whole.
  auto exact_client = LoopbackClient(big.size());
  auto exact = exact_client->Send(Request("GET", server.url("/big")));
  REQUIRE(exact.ok());
  CHECK(exact->body == big);

  // The client stays usable after cutting a transfer short.
  auto again = small_client->Send(Request("GET", server.url("/big")));
  REQUIRE(again.ok());
  CHECK(again->body.size() == 1000);
}

TEST_CASE("HttpClient gives up at the request timeout when the receiver hangs", "[http_client]") {
  FakeHttpServer server;
  FakeHttpServer::Response hang;
  hang.delay = 20s;
  server.Enqueue(hang);
  auto client = LoopbackClient();

  HttpRequest request = Request("POST", server.url("/slow"), "{}");
  request.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  auto response = client->Send(request);
  const auto took = std::chrono::steady_clock::now() - start;

  REQUIRE(!response.ok());
  CHECK(response.status().code() == StatusCode::kDeadlineExceeded);
  CHECK(response.status().message().find("timed out") != std::string::npos);
  CHECK(took >= 250ms);
  CHECK(took < 5s);
  CHECK(server.requests().size() == 1);
}

TEST_CASE("HttpClient refuses loopback targets unless their network is allowed", "[http_client]") {
  FakeHttpServer server;
  auto default_client = NewCurlHttpClient();
  REQUIRE(default_client.ok());

  SECTION("an IP literal") {
    auto response = (*default_client)->Send(Request("POST", server.url("/hook"), "{}"));
    REQUIRE(!response.ok());
    CHECK(response.status().code() == StatusCode::kPermissionDenied);
  }
  SECTION("a name that resolves to loopback") {
    auto response = (*default_client)->Send(
        Request("POST", "http://localhost:" + std::to_string(server.port()) + "/hook", "{}"));
    REQUIRE(!response.ok());
    CHECK(response.status().code() == StatusCode::kPermissionDenied);
  }
  SECTION("an IPv4-mapped IPv6 literal") {
    auto response = (*default_client)->Send(
        Request("POST", "http://[::ffff:127.0.0.1]:" + std::to_string(server.port()) + "/hook", "{}"));
    REQUIRE(!response.ok());
    CHECK(response.status().code() == StatusCode::kPermissionDenied);
  }
  // Nothing reached the receiver.
  CHECK(server.requests().empty());

  SECTION("allowed by the client's allowed_networks") {
    auto response = LoopbackClient()->Send(Request("POST", server.url("/hook"), "{}"));
    REQUIRE(response.ok());
    CHECK(response->status == 200);
    CHECK(server.requests().size() == 1);
  }
  SECTION("allowed for a request that does not ask for public addresses only") {
    HttpRequest request = Request("POST", server.url("/hook"), "{}");
    request.public_addresses_only = false;
    auto response = (*default_client)->Send(request);
    REQUIRE(response.ok());
    CHECK(response->status == 200);
    // A connection opened without the check is not reused by a request that needs it.
    auto checked = (*default_client)->Send(Request("POST", server.url("/hook"), "{}"));
    REQUIRE(!checked.ok());
    CHECK(checked.status().code() == StatusCode::kPermissionDenied);
    CHECK(server.requests().size() == 1);
  }
}

TEST_CASE("HttpClient rejects malformed requests and bad options", "[http_client]") {
  auto client = LoopbackClient();
  FakeHttpServer server;

  auto check_invalid = [&](const HttpRequest& request) {
    auto response = client->Send(request);
    REQUIRE(!response.ok());
    CHECK(response.status().code() == StatusCode::kInvalidArgument);
  };
  check_invalid(Request("POST", "ftp://127.0.0.1/file"));
  check_invalid(Request("GET", "file:///etc/passwd"));
  check_invalid(Request("POST", "127.0.0.1/no-scheme"));
  check_invalid(Request("POST", "http://"));
  check_invalid(Request("POST", server.url("/a b")));
  check_invalid(Request("GET /x HTTP/1.1\r\nX:", server.url("/")));
  HttpRequest injected = Request("POST", server.url("/"));
  injected.headers = {{"X-A", "1\r\nX-Injected: yes"}};
  check_invalid(injected);
  HttpRequest bad_name = Request("POST", server.url("/"));
  bad_name.headers = {{"X A", "1"}};
  check_invalid(bad_name);
  HttpRequest no_timeout = Request("POST", server.url("/"));
  no_timeout.timeout = 0ms;
  check_invalid(no_timeout);
  CHECK(server.requests().empty());

  CurlHttpClientOptions options;
  options.allowed_networks = {"127.0.0.0/8", "not-a-network"};
  auto bad_client = NewCurlHttpClient(options);
  REQUIRE(!bad_client.ok());
  CHECK(bad_client.status().code() == StatusCode::kInvalidArgument);
  CHECK(bad_client.status().message().find("not-a-network") != std::string::npos);
}

TEST_CASE("HttpClient reports a receiver that is not listening as unavailable", "[http_client]") {
  int port = 0;
  {
    FakeHttpServer gone;
    port = gone.port();
  }
  auto response = LoopbackClient()->Send(Request("POST", "http://127.0.0.1:" + std::to_string(port) + "/", "{}"));
  REQUIRE(!response.ok());
  CHECK(response.status().code() == StatusCode::kUnavailable);
}

TEST_CASE("HttpClient serves concurrent Sends from many threads", "[http_client]") {
  FakeHttpServer server;
  server.SetHandler([](const FakeHttpServer::Request& request) {
    FakeHttpServer::Response response;
    response.body = "echo:" + request.body;
    return response;
  });
  auto client = LoopbackClient();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 15;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string body = std::to_string(t) + "-" + std::to_string(i);
        auto response = client->Send(Request("POST", server.url("/c"), body));
        if (!response.ok() || response->status != 200 || response->body != "echo:" + body) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == 0);
  const auto seen = server.requests();
  REQUIRE(seen.size() == static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::string> bodies;
  for (const auto& request : seen) bodies.insert(request.body);
  CHECK(bodies.size() == seen.size());
}

bool Public(const char* text) {
  auto address = IpAddress::Parse(text);
  REQUIRE(address.has_value());
  return IsPublicAddress(*address);
}

TEST_CASE("IsPublicAddress classifies IPv4 and IPv6 addresses", "[http_client]") {
  const char* non_public[] = {
      "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254", "127.0.0.1",
      "127.255.0.9", "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1",
      "192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9", "224.0.0.1",
      "239.255.255.250", "240.0.0.1", "255.255.255.255",
      "::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "ff02::1", "ff0e::1", "2001:db8::1",
      "2001:db8:ffff::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", "::ffff:0:0",
      "64:ff9b::7f00:1", "64:ff9b::a00:1", "::127.0.0.1", "2002:7f00:1::1", "2002:c0a8:101::1", "fec0::1",
      "100::1", "64:ff9b:1::1", "::ffff:0:a00:1",
  };
  const char* public_ones[] = {
      "1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "93.184.216.34", "100.63.255.255", "100.128.0.0",
      "126.255.255.255", "128.0.0.0", "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0",
      "192.0.1.1", "192.0.3.1", "192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0",
      "198.51.99.1", "203.0.112.1", "223.255.255.255",
      "2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001::1", "2001:db9::1", "fbff::1",
      "::ffff:8.8.8.8", "::ffff:93.184.216.34", "64:ff9b::808:808", "2002:808:808::1",
  };
  for (const char* text : non_public) {
    INFO(text);
    CHECK_FALSE(Public(text));
  }
  for (const char* text : public_ones) {
    INFO(text);
    CHECK(Public(text));
  }
}

TEST_CASE("IpAddress parses only plain IPv4 and IPv6 literals", "[http_client]") {
  CHECK(IpAddress::Parse("127.0.0.1").has_value());
  CHECK(IpAddress::Parse("::1").has_value());
  CHECK(IpAddress::Parse("::ffff:1.2.3.4")->v6);
  CHECK(IpAddress::Parse("::ffff:1.2.3.4")->EmbeddedV4()->ToString() == "1.2.3.4");
  CHECK_FALSE(IpAddress::Parse("").has_value());
  CHECK_FALSE(IpAddress::Parse("localhost").has_value());
  CHECK_FALSE(IpAddress::Parse("127.1").has_value());
  CHECK_FALSE(IpAddress::Parse("[::1]").has_value());
  CHECK_FALSE(IpAddress::Parse("1.2.3.4.5").has_value());
  CHECK_FALSE(IpAddress::Parse("fe80::1%eth0").has_value());
}

TEST_CASE("NetworkAllowlist parses CIDR networks and matches addresses", "[http_client]") {
  auto allowlist = NetworkAllowlist::Parse({"127.0.0.0/8", "::1/128", "10.1.0.0/16", "192.168.5.7", "fd00::/8"});
  REQUIRE(allowlist.ok());
  auto contains = [&](const char* text) { return allowlist->Contains(*IpAddress::Parse(text)); };
  CHECK(contains("127.0.0.1"));
  CHECK(contains("127.200.1.1"));
  CHECK(contains("::ffff:127.0.0.1"));  // the mapped form of an allowed IPv4 address
  CHECK(contains("::1"));
  CHECK(contains("10.1.255.255"));
  CHECK_FALSE(contains("10.2.0.0"));
  CHECK(contains("192.168.5.7"));
  CHECK_FALSE(contains("192.168.5.8"));
  CHECK(contains("fd12::1"));
  CHECK_FALSE(contains("fe80::1"));
  CHECK_FALSE(contains("::2"));

  auto everything = NetworkAllowlist::Parse({"0.0.0.0/0"});
  REQUIRE(everything.ok());
  CHECK(everything->Contains(*IpAddress::Parse("10.0.0.1")));
  CHECK_FALSE(everything->Contains(*IpAddress::Parse("fe80::1")));

  CHECK(NetworkAllowlist::Parse({}).ok());
  CHECK(NetworkAllowlist().empty());

  const char* bad[] = {"", "/8", "10.0.0.0/", "10.0.0.0/33", "::1/129", "10.0.0.0/-1", "10.0.0.0/8x",
                       "10.0.0.0/ 8", " 10.0.0.0/8", "10.0.0/8", "localhost/8", "10.1.2.3/16", "fe80::1/10",
                       "10.0.0.0/8/8", "10.0.0.0/0008"};
  for (const char* entry : bad) {
    INFO(entry);
    auto parsed = NetworkAllowlist::Parse({"127.0.0.0/8", entry});
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("AddressAllowed checks socket addresses against the policy", "[http_client]") {
  auto allowlist = NetworkAllowlist::Parse({"10.0.0.0/8"});
  REQUIRE(allowlist.ok());
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_addr.s_addr = htonl(0x0A000001);  // 10.0.0.1
  CHECK(internal::AddressAllowed(reinterpret_cast<const sockaddr*>(&v4), *allowlist));
  CHECK_FALSE(internal::AddressAllowed(reinterpret_cast<const sockaddr*>(&v4), NetworkAllowlist()));
  v4.sin_addr.s_addr = htonl(0x5DB8D822);  // 93.184.216.34
  CHECK(internal::AddressAllowed(reinterpret_cast<const sockaddr*>(&v4), NetworkAllowlist()));

  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_addr = in6addr_loopback;
  CHECK_FALSE(internal::AddressAllowed(reinterpret_cast<const sockaddr*>(&v6), *allowlist));

  sockaddr other{};
  other.sa_family = AF_UNIX;
  CHECK_FALSE(internal::AddressAllowed(&other, *allowlist));
}

TEST_CASE("CheckUrlTarget refuses URLs that would reach private networks", "[http_client]") {
  const NetworkAllowlist none;
  auto code = [&](const char* url) { return CheckUrlTarget(url, none).code(); };

  CHECK(code("http://127.0.0.1/") == StatusCode::kPermissionDenied);
  CHECK(code("http://10.0.0.1/x") == StatusCode::kPermissionDenied);
  CHECK(code("http://169.254.169.254/latest/meta-data") == StatusCode::kPermissionDenied);
  CHECK(code("http://localhost:8080/") == StatusCode::kPermissionDenied);
  CHECK(code("http://[::1]/") == StatusCode::kPermissionDenied);
  CHECK(code("https://[::ffff:192.168.0.1]:8443/hook") == StatusCode::kPermissionDenied);
  CHECK(code("http://0.0.0.0/") == StatusCode::kPermissionDenied);
  CHECK(code("HTTP://127.0.0.1/") == StatusCode::kPermissionDenied);
  // Legacy numeric forms resolve (getaddrinfo, like curl) to loopback.
  CHECK(code("http://2130706433/") == StatusCode::kPermissionDenied);
  CHECK(code("http://127.1/") == StatusCode::kPermissionDenied);
  const Status refused = CheckUrlTarget("http://10.0.0.1/x", none);
  CHECK(refused.message().find("private or loopback") != std::string::npos);

  CHECK(code("ftp://93.184.216.34/") == StatusCode::kInvalidArgument);
  CHECK(code("file:///etc/passwd") == StatusCode::kInvalidArgument);
  CHECK(code("gopher://93.184.216.34/") == StatusCode::kInvalidArgument);
  CHECK(code("93.184.216.34/hook") == StatusCode::kInvalidArgument);
  CHECK(code("") == StatusCode::kInvalidArgument);
  CHECK(code("http://") == StatusCode::kInvalidArgument);
  CHECK(code("http:///path") == StatusCode::kInvalidArgument);
  CHECK(code("http://:80/") == StatusCode::kInvalidArgument);
  CHECK(code("http://user:pass@93.184.216.34/") == StatusCode::kInvalidArgument);
  CHECK(code("http://93.184.216.34@127.0.0.1/") == StatusCode::kInvalidArgument);
  CHECK(code("http://93.184.216.34:0/") == StatusCode::kInvalidArgument);
  CHECK(code("http://93.184.216.34:65536/") == StatusCode::kInvalidArgument);
  CHECK(code("http://93.184.216.34:80x/") == StatusCode::kInvalidArgument);
  CHECK(code("http://93.184.216.34:/") == StatusCode::kInvalidArgument);
  CHECK(code("http://[::1/") == StatusCode::kInvalidArgument);
  CHECK(code("http://[127.0.0.1]/") == StatusCode::kInvalidArgument);
  CHECK(code("http://[2606:4700::1]x/") == StatusCode::kInvalidArgument);
  CHECK(code("http://93.184.216.34/a b") == StatusCode::kInvalidArgument);
  CHECK(code("http://exa\nmple.com/") == StatusCode::kInvalidArgument);
  CHECK(code("http://ex%61mple.com/") == StatusCode::kInvalidArgument);
}

TEST_CASE("CheckUrlTarget accepts public literals and allowed networks", "[http_client]") {
  const NetworkAllowlist none;
  CHECK(CheckUrlTarget("https://93.184.216.34/", none).ok());
  CHECK(CheckUrlTarget("http://93.184.216.34:8080/hooks?x=1#frag", none).ok());
  CHECK(CheckUrlTarget("https://[2606:4700:4700::1111]:443/hook", none).ok());
  CHECK(CheckUrlTarget("https://93.184.216.34", none).ok());

  auto loopback = NetworkAllowlist::Parse({"127.0.0.0/8", "::1/128"});
  REQUIRE(loopback.ok());
  CHECK(CheckUrlTarget("http://127.0.0.1:8080/hook", *loopback).ok());
  CHECK(CheckUrlTarget("http://[::1]/hook", *loopback).ok());
  CHECK(CheckUrlTarget("http://localhost:9000/hook", *loopback).ok());
  // The allowlist opens only its own networks.
  CHECK(CheckUrlTarget("http://10.0.0.1/x", *loopback).code() == StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace libchat::test
