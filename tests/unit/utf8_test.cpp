// RFC 3629 validation, including the boundaries of the 8-byte ASCII fast path.
#include "util/utf8.h"

#include <string>
#include <vector>

#include "catch.h"

using libchat::internal::IsValidUtf8;

TEST_CASE("IsValidUtf8 accepts well-formed text", "[utf8]") {
  const std::vector<std::string> valid = {
      "",
      "hello",
      std::string("a\0b", 3),                    // NUL is a valid code point
      "h\xc3\xa9llo",                            // U+00E9
      "\xc2\x80",                                // U+0080, smallest 2-byte
      "\xdf\xbf",                                // U+07FF
      "\xe0\xa0\x80",                            // U+0800, smallest 3-byte
      "\xe2\x82\xac",                            // U+20AC euro sign
      "\xed\x9f\xbf",                            // U+D7FF, just below the surrogates
      "\xee\x80\x80",                            // U+E000, just above them
      "\xef\xbf\xbf",                            // U+FFFF
      "\xf0\x90\x80\x80",                        // U+10000, smallest 4-byte
      "\xf0\x9f\x98\x80",                        // U+1F600 emoji
      "\xf4\x8f\xbf\xbf",                        // U+10FFFF, the last code point
      "The quick brown fox \xf0\x9f\xa6\x8a jumps over the lazy dog \xe2\x9c\x93 0123456789",
  };
  for (const auto& s : valid) {
    CAPTURE(s);
    CHECK(IsValidUtf8(s));
  }
}

TEST_CASE("IsValidUtf8 rejects ill-formed sequences", "[utf8]") {
  const std::vector<std::string> invalid = {
      "\xc0\x80",          // overlong NUL
      "\xc1\xbf",          // overlong U+007F
      "\xe0\x80\x80",      // overlong 3-byte
      "\xe0\x9f\xbf",      // overlong U+07FF
      "\xf0\x80\x80\x80",  // overlong 4-byte
      "\xf0\x8f\xbf\xbf",  // overlong U+FFFF
      "\xed\xa0\x80",      // U+D800, high surrogate
      "\xed\xbf\xbf",      // U+DFFF, low surrogate
      "\xf4\x90\x80\x80",  // U+110000
      "\xf5\x80\x80\x80",  // lead byte beyond U+10FFFF
      "\xff",
      "\xfe",
      "\xe2\x82",          // truncated 3-byte
      "\xf0\x9f\x98",      // truncated 4-byte
      "\xc3",              // truncated 2-byte
      "\x80",              // lone continuation byte
      "\xbf",
      "a\x80z",
      "\xc3\xa9\xa9",      // extra continuation after a complete sequence
      "\xc2\x41",          // lead followed by ASCII
      "\xe2\x28\xa1",      // bad second byte
      "\xe2\x82\x28",      // bad third byte
      "\xf0\x9f\x98\x28",  // bad fourth byte
      "hello \xe2\x82 world",
  };
  for (const auto& s : invalid) {
    CAPTURE(s);
    CHECK_FALSE(IsValidUtf8(s));
  }
}

TEST_CASE("IsValidUtf8 finds errors at every offset around the fast path", "[utf8]") {
  for (std::size_t len = 1; len <= 40; ++len) {
    for (std::size_t at = 0; at < len; ++at) {
      std::string s(len, 'a');
      s[at] = '\x80';
      CAPTURE(len, at);
      CHECK_FALSE(IsValidUtf8(s));
    }
  }
  // A valid multi-byte character anywhere in a long ASCII run, and a truncated one at the very end.
  for (std::size_t at = 0; at <= 32; ++at) {
    std::string s(32, 'x');
    s.insert(at, "\xf0\x9f\x98\x80");
    CAPTURE(at);
    CHECK(IsValidUtf8(s));
    CHECK_FALSE(IsValidUtf8(s + "\xf0\x9f\x98"));
  }
  CHECK(IsValidUtf8(std::string(100000, 'z')));
  // Truncation is judged by the view's length, not by what happens to follow it in memory.
  const char euro[] = "\xe2\x82\xac";
  CHECK(IsValidUtf8(std::string_view(euro, 3)));
  CHECK_FALSE(IsValidUtf8(std::string_view(euro, 2)));
  const char emoji[] = "abcdefghij\xf0\x9f\x98\x80";
  CHECK(IsValidUtf8(std::string_view(emoji, 14)));
  CHECK_FALSE(IsValidUtf8(std::string_view(emoji, 13)));
}
