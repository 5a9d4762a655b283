// PresenceBook: who this process currently sees online, and since when the
// others are offline — what the delivery policy asks before a message.offline
// webhook and what wakes websocket notifications. Fed by Chat::SetPresence.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "libchat/types.h"

namespace libchat::internal {

class PresenceBook {
 public:
  struct State {
    bool online = false;
    std::optional<Timestamp> offline_since;  // unset: never seen by this process
  };

  // Thread-safe. Bounded: past kMaxEntries, offline entries are forgotten first
  // (an unknown principal reads as offline since forever, the safe side for fallbacks).
  void Set(const std::string& principal_id, bool online, Timestamp at) {
    std::lock_guard lock(mu_);
    if (states_.size() >= kMaxEntries && states_.find(principal_id) == states_.end()) ForgetOffline();
    State& state = states_[principal_id];
    state.online = online;
    if (!online) state.offline_since = at;
  }

  State Get(const std::string& principal_id) const {
    std::lock_guard lock(mu_);
    auto it = states_.find(principal_id);
    return it == states_.end() ? State{} : it->second;
  }

 private:
  static constexpr std::size_t kMaxEntries = 200000;

  void ForgetOffline() {
    for (auto it = states_.begin(); it != states_.end();) {
      it = it->second.online ? std::next(it) : states_.erase(it);
    }
  }

  mutable std::mutex mu_;
  std::unordered_map<std::string, State> states_;
};

}  // namespace libchat::internal
