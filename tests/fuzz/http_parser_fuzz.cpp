// Fuzz target for the HTTP/1.1 request parser. Property: feeding the same bytes
// whole and in two pieces gives the same outcome, and nothing crashes or
// allocates past the limits. Build with clang -fsanitize=fuzzer (LIBCHAT_BUILD_FUZZERS)
// or run through fuzz_driver.cpp's bounded random smoke test.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/http/parser.h"

namespace {

using libchat::server::http::ParserLimits;
using libchat::server::http::RequestParser;

struct Outcome {
  RequestParser::State state;
  int error_status = 0;
  std::size_t consumed = 0;
  std::string body;
};

Outcome Run(std::string_view data, std::size_t split) {
  RequestParser parser(ParserLimits{2048, 32, 4096});
  Outcome out;
  std::string_view first = data.substr(0, split);
  std::string_view rest = data.substr(split);
  out.consumed = parser.Feed(first);
  if (out.consumed == first.size() && parser.state() == RequestParser::State::kNeedMore) {
    out.consumed += parser.Feed(rest);
  }
  out.state = parser.state();
  if (out.state == RequestParser::State::kError) out.error_status = parser.error_status();
  if (out.state == RequestParser::State::kComplete) out.body = parser.TakeRequest().body;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const Outcome whole = Run(input, input.size());
  const Outcome split = Run(input, size / 2);
  if (whole.state != split.state || whole.error_status != split.error_status || whole.body != split.body ||
      whole.consumed != split.consumed) {
    std::abort();
  }
  if (whole.body.size() > 4096) std::abort();
  return 0;
}
