#include "server/util_random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
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

std::string SecureRandomBytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t done = 0;
  while (done < n) {
    const std::size_t chunk = std::min<std::size_t>(n - done, 1 << 20);  // RAND_bytes takes an int
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&out[done]), static_cast<int>(chunk)) != 1) {
      std::fputs("libchat-server: the OS random generator failed\n", stderr);
      std::abort();
    }
    done += chunk;
  }
  return out;
}

}  // namespace libchat::server
