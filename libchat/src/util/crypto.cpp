#include "util/crypto.h"

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace libchat::internal {
namespace {

// A failing CSPRNG or digest means the process can no longer produce secure keys or
// verify tokens; carrying on (e.g. with an empty MAC) would be worse than stopping.
[[noreturn]] void FatalCryptoError(const char* what) {
  std::fprintf(stderr, "libchat: fatal: %s failed\n", what);
  std::abort();
}

const unsigned char* Bytes(std::string_view s) {
  // OpenSSL must never see a null pointer, even for empty inputs.
  static constexpr unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

std::string Digest(std::string_view data, const EVP_MD* md, const char* what) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(Bytes(data), data.size(), out, &len, md, nullptr) != 1) FatalCryptoError(what);
  return std::string(reinterpret_cast<const char*>(out), len);
}

constexpr char kAlnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::size_t kAlnumSize = sizeof(kAlnum) - 1;  // 62
// Largest multiple of 62 that fits in a byte: bytes at or above it are rejected so
// that `byte % 62` is uniform.
constexpr unsigned kAlnumLimit = 256 - 256 % kAlnumSize;  // 248

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

using DecodeTable = std::array<std::int8_t, 256>;

// Maps each byte to its 6-bit value, or -1 when it is not in `alphabet` (including '=').
constexpr DecodeTable MakeDecodeTable(const char (&alphabet)[65]) {
  DecodeTable table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  return table;
}

constexpr DecodeTable kStdTable = MakeDecodeTable(kBase64Std);
constexpr DecodeTable kUrlTable = MakeDecodeTable(kBase64Url);

std::string Base64EncodeWith(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{p[i]} << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

// Strict decoding: only alphabet characters, padding exactly as `padded` demands,
// and the unused low bits of the last character must be zero so that every byte
// string has exactly one accepted encoding (no malleable tokens).
std::optional<std::string> Base64DecodeWith(std::string_view text, const DecodeTable& table, bool padded) {
  if (padded) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::size_t pads = 0;
    while (pads < text.size() && text[text.size() - 1 - pads] == '=') ++pads;
    if (pads > 2) return std::nullopt;
    text.remove_suffix(pads);
  } else if (text.size() % 4 == 1) {
    return std::nullopt;  // one leftover character cannot encode a whole byte
  }

  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const std::int8_t v = table[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // 0, 2 or 4 bits are left over; they must all be zero.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string RandomBytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t done = 0;
  while (done < n) {
    // RAND_bytes takes an int length.
    const std::size_t chunk = std::min<std::size_t>(n - done, INT_MAX);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&out[done]), static_cast<int>(chunk)) != 1) {
      FatalCryptoError("RAND_bytes");
    }
    done += chunk;
  }
  return out;
}

std::string RandomAlnum(std::size_t n) {
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    // ~3% of bytes are rejected; draw a little extra so one batch usually suffices.
    const std::size_t missing = n - out.size();
    const std::string batch = RandomBytes(missing + missing / 16 + 8);
    for (const char c : batch) {
      const unsigned b = static_cast<unsigned char>(c);
      if (b >= kAlnumLimit) continue;
      out += kAlnum[b % kAlnumSize];
      if (out.size() == n) break;
    }
  }
  return out;
}

std::string NewId(std::string_view prefix) {
  std::string id(prefix);
  id += RandomAlnum(22);
  return id;
}

std::string Sha256(std::string_view data) { return Digest(data, EVP_sha256(), "SHA-256"); }

std::string Sha1(std::string_view data) { return Digest(data, EVP_sha1(), "SHA-1"); }

struct HmacSha256Key::Context {
  EVP_MAC_CTX* ctx;
};

HmacSha256Key::HmacSha256Key(std::string_view key) : prepared_(new Context{nullptr}) {
  std::string hashed_key;
  if (key.size() > 64) {  // as in HmacSha256: the same MAC for long keys
    hashed_key = Sha256(key);
    key = hashed_key;
  }
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) FatalCryptoError("HMAC fetch");
  prepared_->ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context keeps its own reference
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
  if (prepared_->ctx == nullptr || EVP_MAC_init(prepared_->ctx, Bytes(key), key.size(), params) != 1) {
    FatalCryptoError("HMAC init");
  }
}

HmacSha256Key::~HmacSha256Key() {
  EVP_MAC_CTX_free(prepared_->ctx);
  delete prepared_;
}

std::string HmacSha256Key::Mac(std::string_view data) const {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(prepared_->ctx);
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  const bool ok = ctx != nullptr && EVP_MAC_update(ctx, Bytes(data), data.size()) == 1 &&
                  EVP_MAC_final(ctx, out, &len, sizeof out) == 1;
  EVP_MAC_CTX_free(ctx);
  if (!ok) FatalCryptoError("HMAC-SHA256");
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  // HMAC hashes keys longer than the 64-byte block itself (RFC 2104); doing it here
  // gives the same MAC and keeps the length within HMAC()'s int parameter.
  std::string hashed_key;
  if (key.size() > 64) {
    hashed_key = Sha256(key);
    key = hashed_key;
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), Bytes(key), static_cast<int>(key.size()), Bytes(data), data.size(), out, &len) ==
      nullptr) {
    FatalCryptoError("HMAC-SHA256");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string HexEncode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const unsigned b = static_cast<unsigned char>(c);
    out += kHexDigits[b >> 4];
    out += kHexDigits[b & 0x0F];
  }
  return out;
}

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexValue(hex[i]);
    const int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) { return Base64EncodeWith(bytes, kBase64Std, true); }

std::optional<std::string> Base64Decode(std::string_view text) {
  return Base64DecodeWith(text, kStdTable, true);
}

std::string Base64UrlEncode(std::string_view bytes) { return Base64EncodeWith(bytes, kBase64Url, false); }

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  return Base64DecodeWith(text, kUrlTable, false);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // The length is not secret (MACs and keys have fixed, public lengths); the
  // contents are compared without a data-dependent early exit.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace libchat::internal
