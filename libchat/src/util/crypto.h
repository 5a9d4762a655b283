// Small cryptographic primitives over OpenSSL: randomness, hashes, encodings,
// constant-time comparison. Internal to libchat.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace libchat::internal {

// `n` bytes from the OS CSPRNG (OpenSSL RAND_bytes). Aborts the process if the
// CSPRNG fails: continuing with predictable keys would be worse.
std::string RandomBytes(std::size_t n);
// `n` characters uniformly drawn from [0-9A-Za-z] (rejection sampling, no bias).
std::string RandomAlnum(std::size_t n);
// prefix + 22 random alphanumerics (~131 bits): "conv_3hF9…".
std::string NewId(std::string_view prefix);

// Raw 32-byte digests.
std::string Sha256(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);

// An HMAC-SHA256 key prepared once — the MAC implementation fetched and the key
// absorbed — for computing many MACs with one key (token signing and checks on
// every request). Same output as HmacSha256(key, data). Thread-safe: Mac() works
// on a copy of the prepared context.
class HmacSha256Key {
 public:
  explicit HmacSha256Key(std::string_view key);
  ~HmacSha256Key();
  HmacSha256Key(const HmacSha256Key&) = delete;
  HmacSha256Key& operator=(const HmacSha256Key&) = delete;

  std::string Mac(std::string_view data) const;

 private:
  struct Context;  // OpenSSL's EVP_MAC_CTX, kept out of this header
  Context* prepared_;
};
// 20-byte SHA-1, only for the WebSocket handshake (RFC 6455 mandates it).
std::string Sha1(std::string_view data);

std::string HexEncode(std::string_view bytes);  // lower-case
std::optional<std::string> HexDecode(std::string_view hex);
std::string Base64Encode(std::string_view bytes);  // standard alphabet, padded
std::optional<std::string> Base64Decode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);  // URL alphabet, no padding (JWT)
std::optional<std::string> Base64UrlDecode(std::string_view text);  // rejects padding and bad chars

// Compares in time that depends only on the lengths, never on the contents.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace libchat::internal
