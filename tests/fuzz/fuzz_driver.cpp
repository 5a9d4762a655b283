// Without libFuzzer: a bounded, deterministic random smoke run of a fuzz target,
// mutating a few valid seeds, so every build exercises the targets under ctest.
// Usage: <target> [iterations]
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
// A string literal's bytes, embedded NULs included.
template <std::size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}
}  // namespace

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 200000;
  const std::vector<std::string> seeds = {
      "POST /v1/sdk/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
      "GET /v1/x?a=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: v\r\n\r\n",
      Bytes("\x81\x85\x01\x02\x03\x04" "i`ok~"),
      Bytes("\x01\x83\x00\x00\x00\x00" "abc" "\x89\x80\x00\x00\x00\x00" "\x80\x81\x00\x00\x00\x00" "d"),
  };
  std::mt19937_64 rng(20261121);
  for (long i = 0; i < iterations; ++i) {
    std::string input = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits && !input.empty(); ++e) {
      const std::size_t pos = rng() % input.size();
      switch (rng() % 4) {
        case 0: input[pos] = static_cast<char>(rng()); break;
        case 1: input.erase(pos, 1 + rng() % 4); break;
        case 2: input.insert(pos, 1 + rng() % 4, static_cast<char>(rng())); break;
        default: input += input.substr(pos, rng() % 16); break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  }
  std::printf("%ld inputs, no failures\n", iterations);
  return 0;
}
