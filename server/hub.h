// Hub: the live WebSocket sessions of one server, indexed by principal.
//
// Routing: it subscribes to the Chat once. For each event it serializes the frame once and hands the shared
// bytes to every session whose principal is in the event's audience (or, for app-server sessions, whose app
// the event belongs to). OnEvent runs on the publishing thread (often the store's commit thread), so it only
// looks up sessions and posts to their strands; it never blocks on a socket.
//
// Limits: a principal may hold at most `max_per_principal` sessions at once (app-server sessions count per
// app); Add refuses the one beyond, which then closes itself with 1008.
//
// Presence: accounts, operators and customers are reported online when their first session arrives and
// offline when their last one has been gone for `presence_grace` (a reconnect within the grace period, e.g.
// a page reload, produces no event at all). Chat::SetPresence reads the store, so it runs on the worker
// pool, never on a network thread and never under the hub's lock. The calls of one principal run in the
// order of its transitions (they go through one of a few strands), so online and offline never overtake
// each other. On shutdown pending grace timers are cancelled and no offline is reported (the receivers
// are being disconnected too); presence is not persisted.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "libchat/chat.h"
#include "libchat/server/logger.h"
#include "server/server_context.h"

namespace libchat::server {

class WsSession;

// An event and its encoded WebSocket frame, shared by all recipients.
struct OutboundEvent {
  std::shared_ptr<const Event> event;
  std::shared_ptr<const std::string> frame;
};

struct HubOptions {
  // Sessions one principal id may hold at once. Default: 32 (CHAT_WS_MAX_CONNECTIONS_PER_PRINCIPAL).
  std::size_t max_per_principal = 32;
  // How long after its last session closed a principal is still online. Default: 5 s (CHAT_PRESENCE_GRACE_MS).
  std::chrono::milliseconds presence_grace{5000};
};

class Hub {
 public:
  // Grace timers run on `io`; SetPresence calls on `workers`. All four must outlive the Hub.
  Hub(Chat& chat, ServerCounters& counters, asio::io_context& io, asio::thread_pool& workers, Logger& log,
      HubOptions options);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  enum class AddResult {
    kAdded,
    kOverLimit,     // the principal already has max_per_principal sessions: close with 1008
    kShuttingDown,  // ShutdownAll has run: close with 1001
  };
  // Registers a session (which then receives events). Not registered unless kAdded.
  AddResult Add(const std::shared_ptr<WsSession>& session);
  // Unregisters a session; a session that was never added is ignored.
  void Remove(const WsSession* session);
  // Sends `shutdown` to every session and closes it; cancels presence grace timers; refuses later Adds.
  void ShutdownAll(int reconnect_after_ms);
  // Closes every session of `principal_id` with 1008 (its credentials were revoked).
  void Disconnect(const std::string& principal_id);
  std::size_t size() const;

 private:
  // A principal that is online: connected, or within the grace period after its last session.
  struct Online {
    Principal principal;                        // whom SetPresence speaks for
    std::shared_ptr<asio::steady_timer> grace;  // set while no session is left
    std::uint64_t generation = 0;               // tells a stale grace timer from the current one
  };
  using PresenceStrand = asio::strand<asio::thread_pool::executor_type>;

  void OnEvent(const std::shared_ptr<const Event>& event);
  // Requires mutex_ (held exclusively): queues SetPresence in transition order.
  void PostPresence(const Principal& principal, bool online);
  void OnGraceOver(const std::string& principal_id, std::uint64_t generation);

  Chat& chat_;
  ServerCounters& counters_;
  asio::io_context& io_;
  Logger& log_;
  const HubOptions options_;
  std::vector<PresenceStrand> presence_strands_;  // a principal always uses the same one
  SubscriptionId subscription_ = 0;

  mutable std::shared_mutex mutex_;
  // Principal id ("acc_…", "cus_…", or the app id for app-server sessions) -> sessions.
  std::unordered_map<std::string, std::vector<std::weak_ptr<WsSession>>> sessions_;
  std::size_t count_ = 0;
  std::unordered_map<std::string, Online> online_;  // principal id -> presence state
  bool shutting_down_ = false;
};

}  // namespace libchat::server
