// SecretBox: authenticated encryption of small secrets at rest (provider
// credentials, webhook secrets) under the server key, and loading that key.
// Internal to libchat.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "libchat/status.h"

namespace libchat::internal {

// AES-256-GCM with a fresh random 96-bit nonce per Seal and a 128-bit tag.
// Sealed values are text, "v1." + base64(nonce | ciphertext | tag), so they fit
// TEXT columns and JSON; the version prefix leaves room for another algorithm
// or key later.
//
// Associated data binds a sealed value to its context (e.g. "webhook:<id>"):
// it is authenticated, not stored, and Open must be given the same bytes, so a
// value copied into another row does not open there.
//
// Random nonces stay safe for up to ~2^32 Seals under one key (NIST SP 800-38D),
// far beyond the number of stored credentials.
//
// Copyable and movable (copies hold the same key). Thread-safe: Seal and Open
// may run concurrently on one SecretBox; each call uses its own cipher context.
class SecretBox {
 public:
  static constexpr std::size_t kKeySize = 32;

  // kInvalidArgument unless `key` is exactly kKeySize raw bytes.
  static Result<SecretBox> Create(std::string_view key);

  ~SecretBox();
  SecretBox(const SecretBox&) = default;
  SecretBox& operator=(const SecretBox&) = default;
  SecretBox(SecretBox&&) = default;
  SecretBox& operator=(SecretBox&&) = default;

  std::string Seal(std::string_view plaintext, std::string_view associated_data = {}) const;

  // The plaintext, or kInvalidArgument when `sealed` is not a "v1." value, is
  // truncated, was altered in any byte, was sealed under another key or with other
  // associated data. (StatusCode has no data-loss code; whichever the cause, the
  // value cannot be used, and the cases that involve the key are deliberately not
  // told apart.)
  Result<std::string> Open(std::string_view sealed, std::string_view associated_data = {}) const;

 private:
  explicit SecretBox(std::string_view key);

  std::array<unsigned char, kKeySize> key_{};
};

// The 32-byte server key from a key file holding 64 hex characters, optionally
// followed by a newline. When the file does not exist it is created with a new
// random key, mode 0600, atomically: it appears complete or not at all, and when
// another process creates it at the same time both end up with the same key.
// Errors: kInvalidArgument for a malformed file; kFailedPrecondition when the file
// grants any access to group or others (chmod 600 it) or is not a regular file;
// kUnavailable when it cannot be read or created.
Result<std::string> LoadOrCreateKeyFile(const std::string& path);

// A 32-byte key given in configuration: 64 hex characters or the standard base64
// of 32 bytes; surrounding whitespace is ignored. kInvalidArgument otherwise (the
// message never repeats the text).
Result<std::string> ParseKeyText(std::string_view text);

}  // namespace libchat::internal
