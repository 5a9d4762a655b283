// Cheap non-secret identifiers for connections and requests (server-internal).
#pragma once

#include <string>

namespace libchat::server {

// 16 alphanumerics from a per-thread PRNG: unique enough to correlate logs, not a secret.
std::string RandomConnectionId();

}  // namespace libchat::server
