#include "server/util_random.h"

#include <random>

namespace libchat::server {

std::string RandomConnectionId() {
  static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id(16, '0');
  std::uint64_t bits = rng();
  for (int i = 0; i < 16; ++i) {
    if (i == 8) bits = rng();
    id[static_cast<std::size_t>(i)] = kAlphabet[bits % 62];
    bits /= 62;
  }
  return id;
}

}  // namespace libchat::server
