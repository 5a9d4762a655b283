// Known-answer and property tests for util/crypto.
#include "util/crypto.h"

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch.h"

using namespace libchat::internal;

namespace {

std::string Hex(const std::string& bytes) { return HexEncode(bytes); }

}  // namespace

TEST_CASE("Sha256 matches FIPS 180-2 vectors", "[crypto]") {
  CHECK(Hex(Sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Hex(Sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256("abc").size() == 32);
}

TEST_CASE("Sha1 matches known vectors and the RFC 6455 handshake example", "[crypto]") {
  CHECK(Hex(Sha1("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  // RFC 6455 section 1.3: Sec-WebSocket-Accept for "dGhlIHNhbXBsZSBub25jZQ==".
  CHECK(Base64Encode(Sha1("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) ==
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("HmacSha256 matches RFC 4231", "[crypto]") {
  // Test case 2: short key.
  CHECK(Hex(HmacSha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block size is hashed first.
  CHECK(Hex(HmacSha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  // Empty key and message.
  CHECK(Hex(HmacSha256("", "")) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_CASE("HmacSha256Key gives the same MACs as HmacSha256, for any key length, from many threads", "[crypto]") {
  for (const std::string& key : {std::string("Jefe"), std::string(64, 'k'), std::string(131, '\xaa'), std::string()}) {
    const HmacSha256Key prepared(key);
    for (const std::string& data : {std::string("what do ya want for nothing?"), std::string(), std::string(5000, 'x')}) {
      CHECK(prepared.Mac(data) == HmacSha256(key, data));
      CHECK(prepared.Mac(data) == prepared.Mac(data));  // the prepared context is not consumed
    }
  }
  // RFC 4231 test case 2 through the prepared key.
  CHECK(HexEncode(HmacSha256Key("Jefe").Mac("what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const HmacSha256Key shared("shared-secret-of-at-least-32-bytes!!");
  const std::string expected = HmacSha256("shared-secret-of-at-least-32-bytes!!", "payload");
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (shared.Mac("payload") != expected) ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(mismatches.load() == 0);
}

TEST_CASE("Base64 encodes and decodes the RFC 4648 vectors", "[crypto]") {
  const std::map<std::string, std::string> vectors = {
      {"", ""},          {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CAPTURE(plain);
    CHECK(Base64Encode(plain) == encoded);
    const auto decoded = Base64Decode(encoded);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == plain);
  }
  CHECK(Base64Encode(std::string("\xfb\xff", 2)) == "+/8=");
  CHECK(Base64Decode("+/8=") == std::string("\xfb\xff", 2));
}

TEST_CASE("Base64Decode is strict", "[crypto]") {
  CHECK_FALSE(Base64Decode("Zg").has_value());      // missing padding
  CHECK_FALSE(Base64Decode("Zg=").has_value());     // short padding
  CHECK_FALSE(Base64Decode("Zg===").has_value());   // too much padding
  CHECK_FALSE(Base64Decode("Z===").has_value());
  CHECK_FALSE(Base64Decode("====").has_value());
  CHECK_FALSE(Base64Decode("Zm=v").has_value());    // padding inside
  CHECK_FALSE(Base64Decode("Zh==").has_value());    // non-zero unused bits
  CHECK_FALSE(Base64Decode("Zm9=").has_value());
  CHECK_FALSE(Base64Decode("Zm9v\n").has_value());  // whitespace
  CHECK_FALSE(Base64Decode("Zm 9").has_value());
  CHECK_FALSE(Base64Decode("-_8=").has_value());    // URL alphabet
  CHECK_FALSE(Base64Decode(std::string("Zm9\0", 4)).has_value());
}

TEST_CASE("Base64Url uses the URL alphabet without padding", "[crypto]") {
  CHECK(Base64UrlEncode(std::string("\xfb\xff", 2)) == "-_8");
  CHECK(Base64UrlEncode("f") == "Zg");
  CHECK(Base64UrlEncode("fo") == "Zm8");
  CHECK(Base64UrlEncode("foobar") == "Zm9vYmFy");
  CHECK(Base64UrlDecode("-_8") == std::string("\xfb\xff", 2));
  CHECK(Base64UrlDecode("Zg") == std::string("f"));
  CHECK(Base64UrlDecode("") == std::string());

  CHECK_FALSE(Base64UrlDecode("Zg==").has_value());  // any padding
  CHECK_FALSE(Base64UrlDecode("Zm8=").has_value());
  CHECK_FALSE(Base64UrlDecode("+/8").has_value());   // standard alphabet
  CHECK_FALSE(Base64UrlDecode("Z").has_value());     // impossible length
  CHECK_FALSE(Base64UrlDecode("A").has_value());     // ... even when its bits are all zero
  CHECK_FALSE(Base64UrlDecode("AAAAA").has_value());
  CHECK_FALSE(Base64UrlDecode("Zh").has_value());    // non-zero unused bits
  CHECK_FALSE(Base64UrlDecode("Zm.v").has_value());

  // Round trip over every byte value and every tail length.
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t len = 0; len <= 9; ++len) {
    const std::string piece = all.substr(100, len);
    CHECK(Base64UrlDecode(Base64UrlEncode(piece)) == piece);
    CHECK(Base64Decode(Base64Encode(piece)) == piece);
  }
  CHECK(Base64UrlDecode(Base64UrlEncode(all)) == all);
  CHECK(Base64Decode(Base64Encode(all)) == all);
}

TEST_CASE("Hex encodes lower-case and decodes strictly", "[crypto]") {
  CHECK(HexEncode(std::string("\x00\x01\xab\xff", 4)) == "0001abff");
  CHECK(HexDecode("0001abff") == std::string("\x00\x01\xab\xff", 4));
  CHECK(HexDecode("ABCD") == std::string("\xab\xcd"));
  CHECK(HexDecode("") == std::string());
  CHECK_FALSE(HexDecode("abc").has_value());  // odd length
  CHECK_FALSE(HexDecode(std::string_view("abcd", 3)).has_value());  // never reads past the view
  CHECK_FALSE(HexDecode("0g").has_value());
  CHECK_FALSE(HexDecode("zz").has_value());
  CHECK_FALSE(HexDecode(" 0").has_value());
}

TEST_CASE("RandomBytes returns the requested number of distinct-looking bytes", "[crypto]") {
  CHECK(RandomBytes(0).empty());
  CHECK(RandomBytes(1).size() == 1);
  const std::string a = RandomBytes(32);
  const std::string b = RandomBytes(32);
  CHECK(a.size() == 32);
  CHECK(a != b);
}

TEST_CASE("RandomAlnum draws from [0-9A-Za-z] without bias", "[crypto]") {
  CHECK(RandomAlnum(0).empty());
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string s = RandomAlnum(22);
    REQUIRE(s.size() == 22);
    for (const char c : s) {
      const bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
      REQUIRE(alnum);
    }
    seen.insert(s);
  }
  CHECK(seen.size() == 200);

  // 62 * 10000 draws: each character is expected 10000 times (sd ~100). A plain
  // `byte % 62` would give '0'..'7' about 12100 and the rest about 9700.
  const std::string big = RandomAlnum(62 * 10000);
  REQUIRE(big.size() == 62 * 10000);
  std::map<char, int> counts;
  for (const char c : big) ++counts[c];
  CHECK(counts.size() == 62);
  for (const auto& [c, n] : counts) {
    CAPTURE(c, n);
    CHECK(n > 9400);
    CHECK(n < 10600);
  }
}

TEST_CASE("NewId is the prefix plus 22 alphanumerics", "[crypto]") {
  const std::string id = NewId("conv_");
  REQUIRE(id.size() == 5 + 22);
  CHECK(id.rfind("conv_", 0) == 0);
  for (const char c : id.substr(5)) {
    CHECK(((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')));
  }
  CHECK(NewId("conv_") != id);
}

TEST_CASE("ConstantTimeEquals compares whole strings", "[crypto]") {
  CHECK(ConstantTimeEquals("", ""));
  CHECK(ConstantTimeEquals("secret", "secret"));
  CHECK_FALSE(ConstantTimeEquals("secret", "secreT"));
  CHECK_FALSE(ConstantTimeEquals("secret", "Secret"));
  CHECK_FALSE(ConstantTimeEquals("secret", "secret1"));  // prefix, different length
  CHECK_FALSE(ConstantTimeEquals("", "x"));
  CHECK(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  CHECK_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
  CHECK_FALSE(ConstantTimeEquals(std::string("a\0b", 3), "a"));  // not C-string compared
}
