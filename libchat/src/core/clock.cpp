#include "libchat/providers/clock.h"

namespace libchat {
namespace {

class SystemClock final : public Clock {
 public:
  Timestamp Now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }
};

}  // namespace

std::shared_ptr<Clock> NewSystemClock() { return std::make_shared<SystemClock>(); }

}  // namespace libchat
