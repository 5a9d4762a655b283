// The server's pure HTTP/1.1 pieces: RequestParser (framing, limits, errors) and the request helpers.
#include <cstddef>
#include <string>
#include <vector>

#include "catch.h"
#include "server/http/parser.h"
#include "server/http/request.h"

namespace http = libchat::server::http;
using State = http::RequestParser::State;

namespace {

struct ParseResult {
  State state = State::kNeedMore;
  int error_status = 0;
  std::size_t consumed = 0;
  http::Request request;
};

// Feeds `input` in pieces of `step` bytes (0 = all at once), as a connection would, stopping when the parser
// stops consuming.
ParseResult Parse(const std::string& input, std::size_t step = 0, http::ParserLimits limits = {}) {
  http::RequestParser parser(limits);
  ParseResult result;
  std::size_t pos = 0;
  while (pos < input.size() && parser.state() == State::kNeedMore) {
    std::size_t n = step == 0 ? input.size() - pos : std::min(step, input.size() - pos);
    std::size_t used = parser.Feed(std::string_view(input).substr(pos, n));
    REQUIRE(used <= n);
    pos += used;
    if (used < n) break;  // the parser stopped: complete or error
  }
  result.state = parser.state();
  result.consumed = pos;
  if (result.state == State::kError) result.error_status = parser.error_status();
  if (result.state == State::kComplete) result.request = parser.TakeRequest();
  return result;
}

int ErrorStatus(const std::string& input, http::ParserLimits limits = {}) {
  ParseResult whole = Parse(input, 0, limits);
  ParseResult bytes = Parse(input, 1, limits);
  // Splitting the input must never change the verdict.
  CHECK(whole.state == bytes.state);
  CHECK(whole.error_status == bytes.error_status);
  return whole.state == State::kError ? whole.error_status : 0;
}

const std::string kPost =
    "POST /v1/apps/app_1/messages?x=1&y=a%20b HTTP/1.1\r\n"
    "Host: localhost:8080\r\n"
    "Content-Type: application/json\r\n"
    "Authorization: Bearer tok\r\n"
    "Content-Length: 17\r\n"
    "\r\n"
    "{\"text\":\"hello\"}\n";

}  // namespace

TEST_CASE("http parser: simple GET", "[http]") {
  ParseResult r = Parse("GET /v1/conversations/c%2F1?limit=10&cursor=a+b HTTP/1.1\r\nHost: x\r\n"
                        "X-Empty:\r\nX-Spaces:   padded value \t\r\n\r\n");
  REQUIRE(r.state == State::kComplete);
  CHECK(r.request.method == "GET");
  CHECK(r.request.target == "/v1/conversations/c%2F1?limit=10&cursor=a+b");
  CHECK(r.request.path == "/v1/conversations/c/1");
  CHECK(r.request.query == "limit=10&cursor=a+b");
  CHECK(r.request.version_minor == 1);
  REQUIRE(r.request.headers.size() == 3);
  CHECK(r.request.headers[0].name == "Host");
  CHECK(r.request.headers[0].value == "x");
  CHECK(r.request.headers[1].value.empty());
  CHECK(r.request.headers[2].value == "padded value");
  CHECK(r.request.body.empty());
  CHECK(r.request.KeepAlive());
  CHECK(r.request.QueryParam("limit") == std::optional<std::string>("10"));
  CHECK(r.request.QueryParam("cursor") == std::optional<std::string>("a b"));
  CHECK_FALSE(r.request.QueryParam("missing").has_value());
}

TEST_CASE("http parser: POST whole, byte by byte and in odd splits gives the same request", "[http]") {
  for (std::size_t step : {0, 1, 2, 3, 7, 16, 50}) {
    INFO("step " << step);
    ParseResult r = Parse(kPost, step);
    REQUIRE(r.state == State::kComplete);
    CHECK(r.consumed == kPost.size());
    CHECK(r.request.method == "POST");
    CHECK(r.request.path == "/v1/apps/app_1/messages");
    CHECK(r.request.QueryParam("y") == std::optional<std::string>("a b"));
    CHECK(r.request.body == "{\"text\":\"hello\"}\n");
    REQUIRE(r.request.FindHeader("content-type") != nullptr);
    CHECK(*r.request.FindHeader("CONTENT-TYPE") == "application/json");
  }
}

TEST_CASE("http parser: byte-by-byte feeding consumes exactly one byte per call until complete", "[http]") {
  http::RequestParser parser;
  for (std::size_t i = 0; i < kPost.size(); ++i) {
    REQUIRE(parser.state() == State::kNeedMore);
    REQUIRE(parser.Feed(std::string_view(&kPost[i], 1)) == 1);
  }
  REQUIRE(parser.state() == State::kComplete);
  CHECK(parser.Feed("GET") == 0);  // complete: nothing more is taken until Reset
  CHECK(parser.TakeRequest().body.size() == 17);
}

TEST_CASE("http parser: pipelined requests stay with the caller", "[http]") {
  const std::string input =
      kPost + "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" + "DELETE /b HTTP/1.1\r\nHost: x\r\n\r\nGE";
  http::RequestParser parser;
  std::string_view rest = input;

  std::size_t used = parser.Feed(rest);
  REQUIRE(parser.state() == State::kComplete);
  CHECK(used == kPost.size());
  CHECK(parser.TakeRequest().method == "POST");
  rest.remove_prefix(used);

  parser.Reset();
  used = parser.Feed(rest);
  REQUIRE(parser.state() == State::kComplete);
  CHECK(parser.TakeRequest().path == "/a");
  rest.remove_prefix(used);

  parser.Reset();
  used = parser.Feed(rest);
  REQUIRE(parser.state() == State::kComplete);
  CHECK(parser.TakeRequest().method == "DELETE");
  rest.remove_prefix(used);
  CHECK(rest == "GE");

  parser.Reset();
  CHECK(parser.Feed(rest) == 2);
  CHECK(parser.state() == State::kNeedMore);
  CHECK_FALSE(parser.HeadersComplete());
}

TEST_CASE("http parser: upgrade request leaves the WebSocket bytes unconsumed", "[http]") {
  const std::string head =
      "GET /v1/ws?token=t HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  const std::string input = head + "\x81\x85\x37\xfa";
  http::RequestParser parser;
  CHECK(parser.Feed(input) == head.size());
  REQUIRE(parser.state() == State::kComplete);
  http::Request request = parser.TakeRequest();
  REQUIRE(request.FindHeader("upgrade") != nullptr);
  CHECK(http::HasToken(*request.FindHeader("connection"), "upgrade"));
}

TEST_CASE("http parser: bare LF line endings and leading empty lines are tolerated", "[http]") {
  ParseResult r = Parse("\r\n\nPOST /x HTTP/1.1\nHost: h\nContent-Length: 3\n\nabc", 1);
  REQUIRE(r.state == State::kComplete);
  CHECK(r.request.method == "POST");
  CHECK(r.request.headers.size() == 2);
  CHECK(r.request.body == "abc");

  ParseResult mixed = Parse("GET /m HTTP/1.1\r\nA: 1\nB: 2\r\n\n");
  REQUIRE(mixed.state == State::kComplete);
  CHECK(mixed.request.headers.size() == 2);
  CHECK(*mixed.request.FindHeader("b") == "2");
}

TEST_CASE("http parser: chunked body with extensions and trailers", "[http]") {
  const std::string input =
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n"
      "1 ; ext\r\n \r\n"
      "A\r\n0123456789\r\n"
      "0\r\nX-Trailer: t\r\nX-Other: o\r\n\r\n"
      "NEXT";
  for (std::size_t step : {0, 1, 4}) {
    INFO("step " << step);
    http::RequestParser parser;
    std::size_t used = 0;
    while (parser.state() == State::kNeedMore) {
      REQUIRE(used < input.size());
      std::size_t n = step == 0 ? input.size() - used : std::min(step, input.size() - used);
      used += parser.Feed(std::string_view(input).substr(used, n));
    }
    REQUIRE(parser.state() == State::kComplete);
    CHECK(input.substr(used) == "NEXT");
    http::Request request = parser.TakeRequest();
    CHECK(request.body == "hello 0123456789");
    CHECK(request.FindHeader("x-trailer") == nullptr);  // trailers are dropped, never merged
  }
}

TEST_CASE("http parser: chunked with bare LF and upper-case hex", "[http]") {
  ParseResult r =
      Parse("POST /c HTTP/1.1\nTransfer-Encoding: Chunked\n\n1F\n" + std::string(31, 'z') + "\n0\n\n");
  REQUIRE(r.state == State::kComplete);
  CHECK(r.request.body == std::string(31, 'z'));
}

TEST_CASE("http parser: chunked errors", "[http]") {
  const std::string head = "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(ErrorStatus(head + "x\r\n") == 400);                  // not hex
  CHECK(ErrorStatus(head + "\r\n") == 400);                   // empty size
  CHECK(ErrorStatus(head + " 5\r\nhello\r\n0\r\n\r\n") == 400);  // leading space
  CHECK(ErrorStatus(head + "5x\r\nhello\r\n0\r\n\r\n") == 400);  // junk after size
  CHECK(ErrorStatus(head + "5\r\nhelloXX0\r\n\r\n") == 400);  // data not followed by CRLF
  CHECK(ErrorStatus(head + "5\r\nhello\rX") == 400);
  CHECK(ErrorStatus(head + "0\r\nbad trailer\r\n\r\n") == 400);
  CHECK(ErrorStatus(head + "0\r\n folded: x\r\n\r\n") == 400);
  CHECK(ErrorStatus(head + "5;" + std::string(5000, 'e') + "\r\n") == 400);  // endless extension
}

TEST_CASE("http parser: chunked body limit applies to the decoded size", "[http]") {
  http::ParserLimits limits;
  limits.max_body_bytes = 10;
  const std::string head = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  // Exactly at the limit, over several chunks.
  ParseResult ok = Parse(head + "5\r\n12345\r\n5\r\n67890\r\n0\r\n\r\n", 0, limits);
  REQUIRE(ok.state == State::kComplete);
  CHECK(ok.request.body == "1234567890");
  // One byte over: fails at the chunk header that would exceed it, before its data.
  CHECK(ErrorStatus(head + "5\r\n12345\r\n6\r\n", limits) == 413);
  CHECK(ErrorStatus(head + "B\r\n", limits) == 413);
  // A size that overflows 64 bits is "too large", not a wrap-around.
  CHECK(ErrorStatus(head + "1000000000000000000000000001\r\n", limits) == 413);
  CHECK(ErrorStatus(head + "ffffffffffffffffff\r\n") == 413);
}

TEST_CASE("http parser: trailer section is capped by max_header_bytes", "[http]") {
  http::ParserLimits limits;
  limits.max_header_bytes = 256;
  std::string input = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  for (int i = 0; i < 20; ++i) input += "X-Trailer-Field: some value here\r\n";
  CHECK(ErrorStatus(input, limits) == 431);
}

TEST_CASE("http parser: Content-Length handling", "[http]") {
  SECTION("identical repeated values are accepted") {
    ParseResult r = Parse("POST /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
    REQUIRE(r.state == State::kComplete);
    CHECK(r.request.body == "abc");
    ParseResult list = Parse("POST /x HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc");
    REQUIRE(list.state == State::kComplete);
    CHECK(list.request.body == "abc");
  }
  SECTION("zero length completes without a body") {
    ParseResult r = Parse("POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(r.state == State::kComplete);
    CHECK(r.request.body.empty());
  }
  SECTION("invalid values") {
    CHECK(ErrorStatus("POST /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n") == 400);
    CHECK(ErrorStatus("POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n") == 400);
    CHECK(ErrorStatus("POST /x HTTP/1.1\r\nContent-Length: +1\r\n\r\n") == 400);
    CHECK(ErrorStatus("POST /x HTTP/1.1\r\nContent-Length: 1.5\r\n\r\n") == 400);
    CHECK(ErrorStatus("POST /x HTTP/1.1\r\nContent-Length:\r\n\r\n") == 400);
    CHECK(ErrorStatus("POST /x HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n") == 400);
    CHECK(ErrorStatus("POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n") == 400);
    CHECK(ErrorStatus("POST /x HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n") == 400);
  }
  SECTION("conflicting values") {
    CHECK(ErrorStatus("POST /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd") == 400);
    CHECK(ErrorStatus("POST /x HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabcd") == 400);
  }
  SECTION("with Transfer-Encoding") {
    CHECK(ErrorStatus("POST /x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
    CHECK(ErrorStatus("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n") == 400);
  }
}

TEST_CASE("http parser: Transfer-Encoding variants", "[http]") {
  CHECK(ErrorStatus("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n") == 501);
  CHECK(ErrorStatus("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == 501);
  CHECK(ErrorStatus("POST /x HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n") == 501);
  CHECK(ErrorStatus("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n") == 400);
  CHECK(ErrorStatus("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        400);
  CHECK(ErrorStatus("POST /x HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n") == 400);
  CHECK(ErrorStatus("POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
}

TEST_CASE("http parser: request line errors", "[http]") {
  CHECK(ErrorStatus("GET /x HTTP/2.0\r\n\r\n") == 505);
  CHECK(ErrorStatus("GET /x HTTP/0.9\r\n\r\n") == 505);
  CHECK(ErrorStatus("GET /x HTTP/1.10\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET /x http/1.1\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET /x\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET  /x HTTP/1.1\r\n\r\n") == 400);   // double space: empty target
  CHECK(ErrorStatus("GET /x  HTTP/1.1\r\n\r\n") == 400);   // trailing space before version
  CHECK(ErrorStatus("GET /x HTTP/1.1 \r\n\r\n") == 400);
  CHECK(ErrorStatus("G(T /x HTTP/1.1\r\n\r\n") == 400);    // not a token
  CHECK(ErrorStatus("\x16\x03\x01\x02\x00\x01\x00") == 400);  // TLS hello: rejected on the first byte
  CHECK(ErrorStatus("GET x HTTP/1.1\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET http://example.com/ HTTP/1.1\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET * HTTP/1.1\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET /a\x01 HTTP/1.1\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET /a\xc3\xa9 HTTP/1.1\r\n\r\n") == 400);  // raw non-ASCII in the target
  CHECK(ErrorStatus("GET /a%zz HTTP/1.1\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET /a%2 HTTP/1.1\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET /a\rb HTTP/1.1\r\n\r\n") == 400);

  ParseResult options = Parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(options.state == State::kComplete);
  CHECK(options.request.target == "*");
  ParseResult one_two = Parse("GET /x HTTP/1.2\r\n\r\n");  // a higher 1.x minor is served as 1.1
  REQUIRE(one_two.state == State::kComplete);
  CHECK(one_two.request.version_minor == 2);
}

TEST_CASE("http parser: header field errors", "[http]") {
  CHECK(ErrorStatus("GET /x HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET /x HTTP/1.1\r\nA: 1\r\n\tfolded\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET /x HTTP/1.1\r\nHost : x\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET /x HTTP/1.1\r\nNo colon here\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET /x HTTP/1.1\r\n: empty name\r\n\r\n") == 400);
  CHECK(ErrorStatus(std::string("GET /x HTTP/1.1\r\nBad\x01Name: v\r\n\r\n")) == 400);
  CHECK(ErrorStatus(std::string("GET /x HTTP/1.1\r\nName: v") + '\0' + "x\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET /x HTTP/1.1\r\nName: a\rb\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET /x HTTP/1.1\r\nName: a\x7f\r\n\r\n") == 400);
  CHECK(ErrorStatus("GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);

  // obs-text in values is allowed (it is opaque to the parser).
  ParseResult r = Parse("GET /x HTTP/1.1\r\nX-Name: caf\xc3\xa9\r\n\r\n");
  REQUIRE(r.state == State::kComplete);
  CHECK(*r.request.FindHeader("x-name") == "caf\xc3\xa9");
}

TEST_CASE("http parser: header size and count limits give 431", "[http]") {
  http::ParserLimits limits;
  limits.max_header_bytes = 200;
  limits.max_headers = 5;

  std::string big = "GET /x HTTP/1.1\r\nX-Big: " + std::string(300, 'a') + "\r\n\r\n";
  CHECK(ErrorStatus(big, limits) == 431);
  CHECK(ErrorStatus("GET /" + std::string(300, 'a') + " HTTP/1.1\r\n\r\n", limits) == 431);

  std::string many = "GET /x HTTP/1.1\r\n";
  for (int i = 0; i < 6; ++i) many += "H" + std::to_string(i) + ": v\r\n";
  CHECK(ErrorStatus(many + "\r\n", limits) == 431);

  std::string five = "GET /x HTTP/1.1\r\n";
  for (int i = 0; i < 5; ++i) five += "H" + std::to_string(i) + ": v\r\n";
  CHECK(ErrorStatus(five + "\r\n", limits) == 0);

  // A head of exactly max_header_bytes (blank line included) is accepted; one more byte is not.
  std::string exact = "GET /x HTTP/1.1\r\nX: ";
  exact += std::string(200 - exact.size() - 4, 'b') + "\r\n\r\n";
  REQUIRE(exact.size() == 200);
  CHECK(ErrorStatus(exact, limits) == 0);
  std::string over = exact;
  over.insert(20, "b");
  CHECK(ErrorStatus(over, limits) == 431);
}

TEST_CASE("http parser: never buffers more than max_header_bytes of an endless head", "[http]") {
  http::ParserLimits limits;
  limits.max_header_bytes = 1024;
  http::RequestParser parser(limits);
  std::size_t total = 0;
  const std::string piece = "X-Header-Line: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  std::string head = "GET /x HTTP/1.1\r\n";
  total += parser.Feed(head);
  for (int i = 0; i < 1000 && parser.state() == State::kNeedMore; ++i) {
    for (char c : piece) {
      if (parser.state() != State::kNeedMore) break;
      total += parser.Feed(std::string_view(&c, 1));
    }
  }
  REQUIRE(parser.state() == State::kError);
  CHECK(parser.error_status() == 431);
  CHECK(total <= limits.max_header_bytes);
  CHECK(parser.Feed("more") == 0);
}

TEST_CASE("http parser: Content-Length over the body limit fails right after the headers", "[http]") {
  http::ParserLimits limits;
  limits.max_body_bytes = 100;
  http::RequestParser parser(limits);
  const std::string head = "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n";
  // The body bytes are not needed (nor consumed) to decide.
  CHECK(parser.Feed(head + "partial body") == head.size());
  REQUIRE(parser.state() == State::kError);
  CHECK(parser.error_status() == 413);
  CHECK(parser.HeadersComplete());
  CHECK_FALSE(parser.error_message().empty());

  ParseResult at_limit =
      Parse("POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'q'), 0, limits);
  REQUIRE(at_limit.state == State::kComplete);
  CHECK(at_limit.request.body.size() == 100);
}

TEST_CASE("http parser: HeadersComplete and request() while the body is pending", "[http]") {
  http::RequestParser parser;
  const std::string head = "PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
  CHECK(parser.Feed(head.substr(0, 10)) == 10);
  CHECK_FALSE(parser.HeadersComplete());
  CHECK(parser.Feed(head.substr(10)) == head.size() - 10);
  CHECK(parser.state() == State::kNeedMore);
  CHECK(parser.HeadersComplete());
  CHECK(parser.request().method == "PUT");
  REQUIRE(parser.request().FindHeader("expect") != nullptr);
  CHECK(parser.Feed("ab") == 2);
  CHECK(parser.Feed("cdEXTRA") == 2);
  REQUIRE(parser.state() == State::kComplete);
  CHECK(parser.TakeRequest().body == "abcd");
  parser.Reset();
  CHECK_FALSE(parser.HeadersComplete());
  CHECK(parser.state() == State::kNeedMore);
}

TEST_CASE("http parser: error state is sticky until Reset", "[http]") {
  http::RequestParser parser;
  parser.Feed("GET /x HTTP/3.0\r\n\r\n");
  REQUIRE(parser.state() == State::kError);
  CHECK(parser.error_status() == 505);
  CHECK(parser.Feed("GET /x HTTP/1.1\r\n\r\n") == 0);
  parser.Reset();
  CHECK(parser.error_status() == 0);
  parser.Feed("GET /x HTTP/1.1\r\n\r\n");
  CHECK(parser.state() == State::kComplete);
}

TEST_CASE("http request: KeepAlive rules", "[http]") {
  auto keep_alive = [](const std::string& input) {
    ParseResult r = Parse(input);
    REQUIRE(r.state == State::kComplete);
    return r.request.KeepAlive();
  };
  CHECK(keep_alive("GET / HTTP/1.1\r\n\r\n"));
  CHECK_FALSE(keep_alive("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  CHECK_FALSE(keep_alive("GET / HTTP/1.1\r\nConnection: Upgrade, Close\r\n\r\n"));
  CHECK_FALSE(keep_alive("GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"));
  CHECK(keep_alive("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n"));
  CHECK_FALSE(keep_alive("GET / HTTP/1.0\r\n\r\n"));
  CHECK(keep_alive("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
}

TEST_CASE("http request: FindHeader returns the first occurrence, case-insensitively", "[http]") {
  http::Request request;
  request.headers = {{"X-A", "1"}, {"x-a", "2"}, {"Other", "3"}};
  REQUIRE(request.FindHeader("x-A") != nullptr);
  CHECK(*request.FindHeader("x-A") == "1");
  CHECK(request.FindHeader("x-b") == nullptr);
  CHECK(request.FindHeader("X-") == nullptr);
}

TEST_CASE("http request: percent-decoding and queries", "[http]") {
  CHECK(http::PercentDecode("a%20b%2Fc%2fd", false) == std::optional<std::string>("a b/c/d"));
  CHECK(http::PercentDecode("a+b", false) == std::optional<std::string>("a+b"));
  CHECK(http::PercentDecode("a+b", true) == std::optional<std::string>("a b"));
  CHECK(http::PercentDecode("%e2%82%AC", true) == std::optional<std::string>("\xe2\x82\xac"));
  CHECK(http::PercentDecode("%00", true) == std::optional<std::string>(std::string(1, '\0')));
  CHECK_FALSE(http::PercentDecode("%", true).has_value());
  CHECK_FALSE(http::PercentDecode("ab%4", true).has_value());
  CHECK_FALSE(http::PercentDecode("%g0", true).has_value());

  auto pairs = http::ParseQuery("a=1&b=x+y&&c&d=%3D%26&bad=%zz&e=");
  REQUIRE(pairs.size() == 5);
  CHECK(pairs[0] == std::make_pair(std::string("a"), std::string("1")));
  CHECK(pairs[1] == std::make_pair(std::string("b"), std::string("x y")));
  CHECK(pairs[2] == std::make_pair(std::string("c"), std::string("")));
  CHECK(pairs[3] == std::make_pair(std::string("d"), std::string("=&")));
  CHECK(pairs[4] == std::make_pair(std::string("e"), std::string("")));
  CHECK(http::ParseQuery("").empty());

  http::Request request;
  request.query = "my%20key=v1&my+key=v2&token=abc%2B1&k=1&k=2";
  CHECK(request.QueryParam("my key") == std::optional<std::string>("v1"));
  CHECK(request.QueryParam("token") == std::optional<std::string>("abc+1"));
  CHECK(request.QueryParam("k") == std::optional<std::string>("1"));
  CHECK_FALSE(request.QueryParam("my").has_value());
}

TEST_CASE("http request: HasToken", "[http]") {
  CHECK(http::HasToken("keep-alive, Upgrade", "upgrade"));
  CHECK(http::HasToken(" upgrade ", "Upgrade"));
  CHECK_FALSE(http::HasToken("upgrades", "upgrade"));
  CHECK_FALSE(http::HasToken("", "upgrade"));
}

TEST_CASE("http response: Serialize", "[http]") {
  http::Response response;
  response.status = 201;
  response.headers = {{"Content-Type", "application/json"}, {"X-Request-Id", "r1"}};
  response.body = "{}";
  CHECK(http::Serialize(response, true) ==
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Request-Id: r1\r\n"
        "Content-Length: 2\r\n\r\n{}");
  CHECK(http::Serialize(response, false) ==
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Request-Id: r1\r\n"
        "Content-Length: 2\r\nConnection: close\r\n\r\n{}");

  http::Response empty;
  empty.status = 404;
  CHECK(http::Serialize(empty, true) == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");

  http::Response no_content;
  no_content.status = 204;
  no_content.body = "ignored";
  CHECK(http::Serialize(no_content, true) == "HTTP/1.1 204 No Content\r\n\r\n");

  http::Response upgrade;
  upgrade.status = 101;
  upgrade.headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}};
  CHECK(http::Serialize(upgrade, false) ==
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");

  http::Response injected;
  injected.headers = {{"X-Echo", "a\r\nSet-Cookie: evil"}};
  CHECK(http::Serialize(injected, true) ==
        "HTTP/1.1 200 OK\r\nX-Echo: aSet-Cookie: evil\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("http response: reason phrases", "[http]") {
  CHECK(std::string(http::ReasonPhrase(200)) == "OK");
  CHECK(std::string(http::ReasonPhrase(413)) == "Payload Too Large");
  CHECK(std::string(http::ReasonPhrase(429)) == "Too Many Requests");
  CHECK(std::string(http::ReasonPhrase(431)) == "Request Header Fields Too Large");
  CHECK(std::string(http::ReasonPhrase(505)) == "HTTP Version Not Supported");
  CHECK(std::string(http::ReasonPhrase(799)) == "Unknown");
}
