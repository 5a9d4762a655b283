// Random identifiers (server-internal): cheap non-secret ones for connections and requests, and secret
// tokens from the OS CSPRNG.
#pragma once

#include <cstddef>
#include <string>

namespace libchat::server {

// 16 alphanumerics from a per-thread PRNG: unique enough to correlate logs, not a secret.
std::string RandomConnectionId();

// `n` bytes from the OS CSPRNG (OpenSSL RAND_bytes), for secrets such as WebSocket tickets. Aborts the
// process if the CSPRNG fails: handing out a guessable secret would be worse.
std::string SecureRandomBytes(std::size_t n);

}  // namespace libchat::server
