// Password hashing with Argon2id (libargon2), stored as PHC strings.
#pragma once

#include <string>
#include <string_view>

#include "libchat/options.h"
#include "libchat/status.h"

namespace libchat::internal {

// A PHC string "$argon2id$v=19$m=…,t=…,p=…$salt$hash" with a random 16-byte salt.
Result<std::string> HashPassword(std::string_view password, const PasswordHashingOptions& options);
// True when `password` matches `phc`; the comparison is constant-time. False for malformed `phc`.
bool VerifyPassword(std::string_view password, const std::string& phc);

}  // namespace libchat::internal
