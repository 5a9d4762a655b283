// PushProvider: mobile push (APNs, FCM, ...). The interface is fixed now so that
// hosts can implement it; libchat ships no implementation yet and the delivery
// policy does not use push until one is configured.
#pragma once

#include <string>

#include "libchat/export.h"
#include "libchat/providers/send_outcome.h"

namespace libchat {

struct PushMessage {
  std::string device_token;
  std::string title;
  std::string body;
  std::string data_json = "{}";  // JSON object passed to the app
  std::string idempotency_key;   // stable across retries of one delivery
};

// Thread-safety: Send may be called concurrently; it may block (network I/O).
class LIBCHAT_API PushProvider {
 public:
  virtual ~PushProvider() = default;
  virtual SendOutcome Send(const PushMessage& message) = 0;
};

}  // namespace libchat
