#include "auth/password.h"

#include <argon2.h>

#include <cstdint>
#include <cstring>

#include "util/crypto.h"

namespace libchat::internal {
namespace {

constexpr std::uint32_t kSaltBytes = 16;
constexpr std::uint32_t kHashBytes = 32;
constexpr std::string_view kArgon2idPrefix = "$argon2id$";

}  // namespace

Result<std::string> HashPassword(std::string_view password, const PasswordHashingOptions& options) {
  if (password.size() > ARGON2_MAX_PWD_LENGTH) return InternalError("password hashing failed: password too long");

  const std::string salt = RandomBytes(kSaltBytes);
  // argon2_encodedlen counts the terminating NUL.
  std::string encoded(argon2_encodedlen(options.iterations, options.memory_kib, options.parallelism, kSaltBytes,
                                        kHashBytes, Argon2_id),
                      '\0');
  const int rc = argon2id_hash_encoded(options.iterations, options.memory_kib, options.parallelism,
                                       password.data(), password.size(), salt.data(), salt.size(), kHashBytes,
                                       encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    // argon2's messages are static descriptions ("Memory cost is too small"), never
    // the password or the salt, so they are safe to pass on.
    return InternalError(std::string("password hashing failed: ") + argon2_error_message(rc));
  }
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

bool VerifyPassword(std::string_view password, const std::string& phc) {
  // Only argon2id is ever issued; an argon2i/argon2d or foreign string is treated as
  // malformed rather than verified with weaker parameters. An embedded NUL would make
  // libargon2 read a different string than the one we were given.
  if (phc.compare(0, kArgon2idPrefix.size(), kArgon2idPrefix) != 0) return false;
  if (phc.find('\0') != std::string::npos) return false;
  if (password.size() > ARGON2_MAX_PWD_LENGTH) return false;
  // argon2id_verify decodes the parameters from `phc`, recomputes the hash and compares
  // it in constant time; any decoding error is a non-OK code, hence false.
  return argon2id_verify(phc.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace libchat::internal
