// Hub: routes the core's live events to the WebSocket sessions allowed to see them.
//
// It subscribes to the Chat once. For each event it serializes the frame once and
// hands the shared bytes to every session whose principal is in the event's
// audience (or, for app-server sessions, whose app the event belongs to).
// OnEvent runs on the publishing thread (often the store's commit thread), so it
// only looks up sessions and posts to their strands; it never blocks on a socket.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "libchat/chat.h"
#include "server/server_context.h"

namespace libchat::server {

class WsSession;

// An event and its encoded WebSocket frame, shared by all recipients.
struct OutboundEvent {
  std::shared_ptr<const Event> event;
  std::shared_ptr<const std::string> frame;
};

class Hub {
 public:
  Hub(Chat& chat, ServerCounters& counters);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  void Add(const std::shared_ptr<WsSession>& session);
  void Remove(const WsSession* session);
  // Sends `shutdown` to every session and closes it.
  void ShutdownAll(int reconnect_after_ms);
  std::size_t size() const;

 private:
  void OnEvent(const std::shared_ptr<const Event>& event);

  Chat& chat_;
  ServerCounters& counters_;
  SubscriptionId subscription_ = 0;
  mutable std::shared_mutex mutex_;
  // Principal id ("acc_…", "cus_…", or the app id for app-server sessions) -> sessions.
  std::unordered_map<std::string, std::vector<std::weak_ptr<WsSession>>> sessions_;
  std::size_t count_ = 0;
};

}  // namespace libchat::server
