// RFC 6455 framing of the reference server: FrameParser, the encoders, AcceptKey and the UTF-8 checks.
#include <cstdint>
#include <string>
#include <vector>

#include "catch.h"
#include "server/ws/codec.h"

namespace ws = libchat::server::ws;
using ws::Opcode;

namespace {

constexpr std::size_t kMax = 1024 * 1024;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

// Feeds everything (optionally byte by byte) and collects the messages.
std::vector<ws::Message> FeedAll(ws::FrameParser& parser, const std::string& bytes,
                                 bool byte_by_byte = false) {
  std::vector<ws::Message> out;
  if (byte_by_byte) {
    for (char c : bytes) {
      if (parser.Feed(std::string_view(&c, 1)) != 1) break;
      while (auto message = parser.Next()) out.push_back(std::move(*message));
    }
  } else {
    parser.Feed(bytes);
  }
  while (auto message = parser.Next()) out.push_back(std::move(*message));
  return out;
}

// Server side: the close code a stream of client frames fails with (0 if it does not fail).
std::uint16_t ServerFailure(const std::string& bytes, std::size_t max = kMax) {
  ws::FrameParser whole(max, true);
  FeedAll(whole, bytes);
  ws::FrameParser single(max, true);
  FeedAll(single, bytes, true);
  CHECK(whole.failed() == single.failed());
  CHECK(whole.close_code() == single.close_code());
  if (whole.failed()) CHECK_FALSE(whole.error_message().empty());
  return whole.failed() ? whole.close_code() : 0;
}

}  // namespace

TEST_CASE("ws: RFC 6455 accept key example", "[ws]") {
  // RFC 6455 §1.3 (the value is "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=": SHA-1 of key + GUID, base64).
  CHECK(ws::AcceptKey("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(ws::AcceptKey("x3JJHMbDL1EzLkh9GBhXDw==") == "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

TEST_CASE("ws: encoders produce the RFC 6455 example bytes", "[ws]") {
  // §5.7: a single-frame unmasked text message and a masked one.
  CHECK(ws::EncodeFrame(Opcode::kText, "Hello") == Bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  CHECK(ws::EncodeMaskedFrame(Opcode::kText, "Hello", 0x37fa213d) ==
        Bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
  CHECK(ws::EncodeFrame(Opcode::kPing, "Hello") == Bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  CHECK(ws::EncodeMaskedFrame(Opcode::kText, "Hel", 0, false).substr(0, 2) == Bytes({0x01, 0x83}));
}

TEST_CASE("ws: 7-bit, 16-bit and 64-bit lengths", "[ws]") {
  for (std::size_t size : {0, 1, 125, 126, 127, 1000, 65535, 65536, 70000}) {
    INFO("size " << size);
    std::string payload(size, 'x');
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + i % 26);

    std::string frame = ws::EncodeFrame(Opcode::kBinary, payload);
    std::size_t header = size < 126 ? 2 : size <= 65535 ? 4 : 10;
    REQUIRE(frame.size() == header + size);
    if (size >= 126 && size <= 65535) {
      CHECK(static_cast<unsigned char>(frame[1]) == 126);
      CHECK(static_cast<unsigned char>(frame[2]) == ((size >> 8) & 0xFF));
      CHECK(static_cast<unsigned char>(frame[3]) == (size & 0xFF));
    } else if (size > 65535) {
      CHECK(static_cast<unsigned char>(frame[1]) == 127);
      CHECK(frame.substr(2, 5) == std::string(5, '\0'));
    }

    ws::FrameParser client(kMax, false);
    auto received = FeedAll(client, frame);
    REQUIRE(received.size() == 1);
    CHECK(received[0].opcode == Opcode::kBinary);
    CHECK(received[0].payload == payload);

    ws::FrameParser server(kMax, true);
    auto masked = FeedAll(server, ws::EncodeMaskedFrame(Opcode::kText, payload, 0xa1b2c3d4));
    REQUIRE(masked.size() == 1);
    CHECK(masked[0].opcode == Opcode::kText);
    CHECK(masked[0].payload == payload);
  }
}

TEST_CASE("ws: non-minimal length encodings are accepted", "[ws]") {
  // "Hi" with a 16-bit length, then with a 64-bit one.
  ws::FrameParser client(kMax, false);
  auto received =
      FeedAll(client, Bytes({0x81, 126, 0, 2, 'H', 'i', 0x81, 127, 0, 0, 0, 0, 0, 0, 0, 2, 'H', 'i'}));
  REQUIRE(received.size() == 2);
  CHECK(received[0].payload == "Hi");
  CHECK(received[1].payload == "Hi");
  CHECK_FALSE(client.failed());
}

TEST_CASE("ws: masking round trip, byte by byte, many frames in one feed", "[ws]") {
  std::string stream;
  std::vector<std::string> texts = {"", "a", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x98\x80",
                                    "{\"type\":\"x\"}"};
  std::uint32_t mask = 0x01020304;
  for (const std::string& text : texts) stream += ws::EncodeMaskedFrame(Opcode::kText, text, mask++);
  stream += ws::EncodeMaskedFrame(Opcode::kPong, "p", 0xdeadbeef);

  for (bool byte_by_byte : {false, true}) {
    ws::FrameParser server(kMax, true);
    auto received = FeedAll(server, stream, byte_by_byte);
    CHECK_FALSE(server.failed());
    REQUIRE(received.size() == texts.size() + 1);
    for (std::size_t i = 0; i < texts.size(); ++i) {
      CHECK(received[i].opcode == Opcode::kText);
      CHECK(received[i].payload == texts[i]);
    }
    CHECK(received.back().opcode == Opcode::kPong);
    CHECK(received.back().payload == "p");
  }
}

TEST_CASE("ws: fragmented message (RFC 6455 example) and interleaved control frames", "[ws]") {
  SECTION("unmasked fragments, client side") {
    ws::FrameParser client(kMax, false);
    auto received = FeedAll(client, Bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f}));
    REQUIRE(received.size() == 1);
    CHECK(received[0].opcode == Opcode::kText);
    CHECK(received[0].payload == "Hello");
  }
  SECTION("ping and pong between fragments are delivered first, in order") {
    std::string stream = ws::EncodeMaskedFrame(Opcode::kBinary, "one,", 1, false) +
                         ws::EncodeMaskedFrame(Opcode::kPing, "ping!", 2) +
                         ws::EncodeMaskedFrame(Opcode::kContinuation, "two,", 3, false) +
                         ws::EncodeMaskedFrame(Opcode::kPong, "", 4) +
                         ws::EncodeMaskedFrame(Opcode::kContinuation, "three", 5, true) +
                         ws::EncodeMaskedFrame(Opcode::kText, "after", 6);
    for (bool byte_by_byte : {false, true}) {
      ws::FrameParser server(kMax, true);
      auto received = FeedAll(server, stream, byte_by_byte);
      CHECK_FALSE(server.failed());
      REQUIRE(received.size() == 4);
      CHECK(received[0].opcode == Opcode::kPing);
      CHECK(received[0].payload == "ping!");
      CHECK(received[1].opcode == Opcode::kPong);
      CHECK(received[1].payload.empty());
      CHECK(received[2].opcode == Opcode::kBinary);
      CHECK(received[2].payload == "one,two,three");
      CHECK(received[3].opcode == Opcode::kText);
      CHECK(received[3].payload == "after");
    }
  }
  SECTION("a close between fragments is delivered") {
    std::string stream = ws::EncodeMaskedFrame(Opcode::kText, "par", 1, false) +
                         ws::EncodeMaskedFrame(Opcode::kClose, Bytes({0x03, 0xe8}) + "bye", 2);
    ws::FrameParser server(kMax, true);
    auto received = FeedAll(server, stream);
    REQUIRE(received.size() == 1);
    CHECK(received[0].opcode == Opcode::kClose);
  }
  SECTION("UTF-8 split across fragments is valid") {
    std::string euro = "\xe2\x82\xac";
    std::string stream = ws::EncodeMaskedFrame(Opcode::kText, euro.substr(0, 1), 1, false) +
                         ws::EncodeMaskedFrame(Opcode::kContinuation, euro.substr(1), 2);
    ws::FrameParser server(kMax, true);
    auto received = FeedAll(server, stream);
    CHECK_FALSE(server.failed());
    REQUIRE(received.size() == 1);
    CHECK(received[0].payload == euro);
  }
}

TEST_CASE("ws: protocol errors give 1002", "[ws]") {
  const std::uint16_t kProtocol = ws::close_code::kProtocolError;
  CHECK(ServerFailure(ws::EncodeFrame(Opcode::kText, "unmasked")) == kProtocol);

  std::string rsv = ws::EncodeMaskedFrame(Opcode::kText, "x", 1);
  for (int bit : {0x40, 0x20, 0x10}) {
    std::string frame = rsv;
    frame[0] = static_cast<char>(frame[0] | bit);
    CHECK(ServerFailure(frame) == kProtocol);
  }
  for (int opcode : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    std::string frame = rsv;
    frame[0] = static_cast<char>(0x80 | opcode);
    CHECK(ServerFailure(frame) == kProtocol);
  }
  // Fragmented control frame, and control frames over 125 bytes.
  CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kPing, "x", 1, false)) == kProtocol);
  CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kPing, std::string(126, 'p'), 1)) == kProtocol);
  CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kPing, std::string(125, 'p'), 1)) == 0);
  // Continuation without a start; a new data frame inside a fragmented message.
  CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kContinuation, "x", 1)) == kProtocol);
  CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kText, "a", 1, false) +
                      ws::EncodeMaskedFrame(Opcode::kText, "b", 1)) == kProtocol);
  CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kText, "a", 1, false) +
                      ws::EncodeMaskedFrame(Opcode::kBinary, "b", 1)) == kProtocol);
  // A completed message ends the fragmentation: a continuation after it is an error.
  CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kText, "a", 1) +
                      ws::EncodeMaskedFrame(Opcode::kContinuation, "b", 1)) == kProtocol);
  // 64-bit length with the most significant bit set.
  CHECK(ServerFailure(Bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4})) == kProtocol);
}

TEST_CASE("ws: the client side rejects masked frames", "[ws]") {
  ws::FrameParser client(kMax, false);
  FeedAll(client, ws::EncodeMaskedFrame(Opcode::kText, "x", 7));
  CHECK(client.failed());
  CHECK(client.close_code() == ws::close_code::kProtocolError);
}

TEST_CASE("ws: too-big messages fail with 1009 as soon as the header announces it", "[ws]") {
  const std::size_t max = 100;
  SECTION("single frame: only the header is needed") {
    std::string frame = ws::EncodeMaskedFrame(Opcode::kBinary, std::string(200, 'x'), 1);
    ws::FrameParser server(max, true);
    // 2 header bytes + 2 length bytes + 4 mask bytes; none of the payload.
    CHECK(server.Feed(frame.substr(0, 8)) == 8);
    CHECK(server.failed());
    CHECK(server.close_code() == ws::close_code::kTooBig);
    CHECK(server.Feed(frame.substr(8)) == 0);
  }
  SECTION("an announced 64-bit length never allocates it") {
    ws::FrameParser server(max, true);
    server.Feed(Bytes({0x82, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 1, 2, 3, 4}));
    CHECK(server.failed());
    CHECK(server.close_code() == ws::close_code::kTooBig);
  }
  SECTION("7-bit length over the limit") {
    CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kBinary, std::string(101, 'x'), 1), max) ==
          ws::close_code::kTooBig);
  }
  SECTION("exactly at the limit is fine") {
    CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kBinary, std::string(100, 'x'), 1), max) == 0);
  }
  SECTION("the limit applies to the assembled message") {
    std::string stream = ws::EncodeMaskedFrame(Opcode::kText, std::string(60, 'a'), 1, false) +
                         ws::EncodeMaskedFrame(Opcode::kContinuation, std::string(40, 'b'), 2, false) +
                         ws::EncodeMaskedFrame(Opcode::kContinuation, "c", 3);
    CHECK(ServerFailure(stream, max) == ws::close_code::kTooBig);
    std::string fits = ws::EncodeMaskedFrame(Opcode::kText, std::string(60, 'a'), 1, false) +
                       ws::EncodeMaskedFrame(Opcode::kContinuation, std::string(40, 'b'), 2);
    CHECK(ServerFailure(fits, max) == 0);
  }
}

TEST_CASE("ws: invalid UTF-8 in text gives 1007, binary is opaque", "[ws]") {
  const std::string bad = "ok \xff\xfe";
  CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kText, bad, 1)) == ws::close_code::kInvalidPayload);
  CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kBinary, bad, 1)) == 0);
  // Truncated sequence at the end of a fragmented message.
  CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kText, "a", 1, false) +
                      ws::EncodeMaskedFrame(Opcode::kContinuation, "\xe2\x82", 2)) ==
        ws::close_code::kInvalidPayload);
}

TEST_CASE("ws: close frames", "[ws]") {
  SECTION("empty and coded close frames are delivered") {
    ws::FrameParser server(kMax, true);
    auto received =
        FeedAll(server, ws::EncodeMaskedFrame(Opcode::kClose, "", 1) +
                            ws::EncodeMaskedFrame(Opcode::kClose, Bytes({0x0f, 0xa0}) + "done", 2));
    CHECK_FALSE(server.failed());
    REQUIRE(received.size() == 2);
    CHECK(ws::ParseClosePayload(received[0].payload).code == ws::close_code::kNoStatus);
    ws::ClosePayload close = ws::ParseClosePayload(received[1].payload);
    CHECK(close.code == 4000);
    CHECK(close.reason == "done");
  }
  SECTION("malformed close payloads") {
    CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kClose, "x", 1)) == ws::close_code::kProtocolError);
    for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
      INFO("code " << code);
      std::string payload = Bytes({(code >> 8) & 0xFF, code & 0xFF});
      CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kClose, payload, 1)) ==
            ws::close_code::kProtocolError);
    }
    CHECK(ServerFailure(ws::EncodeMaskedFrame(Opcode::kClose, Bytes({0x03, 0xe8, 0xc0, 0x80}), 1)) ==
          ws::close_code::kInvalidPayload);
  }
  SECTION("EncodeClose round trip and reason truncation at a character boundary") {
    ws::FrameParser client(kMax, false);
    auto received = FeedAll(client, ws::EncodeClose(ws::close_code::kTryAgainLater, "slow consumer"));
    REQUIRE(received.size() == 1);
    CHECK(received[0].opcode == Opcode::kClose);
    CHECK(ws::ParseClosePayload(received[0].payload).code == 1013);
    CHECK(ws::ParseClosePayload(received[0].payload).reason == "slow consumer");

    std::string long_reason;
    for (int i = 0; i < 60; ++i) long_reason += "\xc3\xa9";  // 120 bytes
    long_reason = "abcd" + long_reason + "tail";  // byte 123 is the second half of a two-byte character
    std::string frame = ws::EncodeClose(1000, long_reason);
    REQUIRE(frame.size() <= 2 + 125);
    ws::FrameParser check(kMax, false);
    auto closes = FeedAll(check, frame);
    CHECK_FALSE(check.failed());
    REQUIRE(closes.size() == 1);
    std::string_view reason = ws::ParseClosePayload(closes[0].payload).reason;
    CHECK(reason.size() == 122);
    CHECK(ws::IsValidUtf8(reason));
  }
}

TEST_CASE("ws: a failed parser keeps earlier messages and consumes nothing more", "[ws]") {
  ws::FrameParser server(kMax, true);
  std::string stream =
      ws::EncodeMaskedFrame(Opcode::kText, "first", 1) + ws::EncodeFrame(Opcode::kText, "bad");
  std::size_t used = server.Feed(stream);
  CHECK(server.failed());
  CHECK(used < stream.size());
  CHECK(server.Feed("more") == 0);
  auto message = server.Next();
  REQUIRE(message.has_value());
  CHECK(message->payload == "first");
  CHECK_FALSE(server.Next().has_value());
}

TEST_CASE("ws: UTF-8 validator", "[ws]") {
  CHECK(ws::IsValidUtf8(""));
  CHECK(ws::IsValidUtf8("plain ascii that is longer than eight bytes"));
  CHECK(ws::IsValidUtf8("\xc2\x80"));
  CHECK(ws::IsValidUtf8("\xed\x9f\xbf"));          // U+D7FF
  CHECK(ws::IsValidUtf8("\xee\x80\x80"));          // U+E000
  CHECK(ws::IsValidUtf8("\xf0\x90\x80\x80"));      // U+10000
  CHECK(ws::IsValidUtf8("\xf4\x8f\xbf\xbf"));      // U+10FFFF
  CHECK(ws::IsValidUtf8(std::string("a\0b", 3)));  // NUL is valid UTF-8
  CHECK_FALSE(ws::IsValidUtf8("\x80"));
  CHECK_FALSE(ws::IsValidUtf8("\xc0\x80"));            // overlong NUL
  CHECK_FALSE(ws::IsValidUtf8("\xc1\xbf"));            // overlong
  CHECK_FALSE(ws::IsValidUtf8("\xe0\x9f\xbf"));        // overlong 3-byte
  CHECK_FALSE(ws::IsValidUtf8("\xed\xa0\x80"));        // surrogate U+D800
  CHECK_FALSE(ws::IsValidUtf8("\xf0\x8f\xbf\xbf"));    // overlong 4-byte
  CHECK_FALSE(ws::IsValidUtf8("\xf4\x90\x80\x80"));    // above U+10FFFF
  CHECK_FALSE(ws::IsValidUtf8("\xf5\x80\x80\x80"));
  CHECK_FALSE(ws::IsValidUtf8("\xe2\x82"));            // truncated
  CHECK_FALSE(ws::IsValidUtf8("\xe2\x28\xa1"));        // bad continuation
  CHECK_FALSE(ws::IsValidUtf8("12345678\xff"));        // after the ASCII fast path
}

TEST_CASE("ws: a parser moved mid-frame continues correctly", "[ws]") {
  std::string frame = ws::EncodeMaskedFrame(Opcode::kText, "split across a move", 0x5a5a1234);
  ws::FrameParser original(kMax, true);
  REQUIRE(original.Feed(frame.substr(0, 10)) == 10);
  ws::FrameParser moved = std::move(original);
  REQUIRE(moved.Feed(frame.substr(10)) == frame.size() - 10);
  auto message = moved.Next();
  REQUIRE(message.has_value());
  CHECK(message->payload == "split across a move");
}
