// Clock: the only source of "now" inside libchat, so tests can control time.
#pragma once

#include <memory>

#include "libchat/export.h"
#include "libchat/types.h"

namespace libchat {

// Thread-safety: Now() may be called from any thread concurrently.
class LIBCHAT_API Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

// Wall-clock time (std::chrono::system_clock), truncated to milliseconds.
LIBCHAT_API std::shared_ptr<Clock> NewSystemClock();

}  // namespace libchat
