#include "server/hub.h"

#include <asio/post.hpp>
#include <algorithm>
#include <functional>

#include "server/json_codec.h"
#include "server/ws/codec.h"
#include "server/ws_session.h"

namespace libchat::server {

namespace {

constexpr std::size_t kPresenceStrands = 8;

// Presence is about people: accounts, operators and customers. An app server's sessions stand for a
// backend, not someone who can be "online".
bool HasPresence(const Principal& principal) {
  return principal.type == PrincipalType::kAccount || principal.type == PrincipalType::kOperator ||
         principal.type == PrincipalType::kCustomer;
}

}  // namespace

Hub::Hub(Chat& chat, ServerCounters& counters, asio::io_context& io, asio::thread_pool& workers, Logger& log,
         HubOptions options)
    : chat_(chat), counters_(counters), io_(io), log_(log), options_(options) {
  presence_strands_.reserve(kPresenceStrands);
  for (std::size_t i = 0; i < kPresenceStrands; ++i) presence_strands_.push_back(asio::make_strand(workers));
  subscription_ = chat_.SubscribeEvents([this](const std::shared_ptr<const Event>& event) { OnEvent(event); });
}

Hub::~Hub() {
  chat_.UnsubscribeEvents(subscription_);
  std::unique_lock lock(mutex_);
  for (auto& [id, online] : online_) {
    if (online.grace) online.grace->cancel();
  }
}

Hub::AddResult Hub::Add(const std::shared_ptr<WsSession>& session) {
  const Principal& principal = session->principal();
  std::unique_lock lock(mutex_);
  if (shutting_down_) return AddResult::kShuttingDown;
  auto& list = sessions_[principal.id];
  if (list.size() >= options_.max_per_principal) return AddResult::kOverLimit;  // never empty here
  list.push_back(session);
  ++count_;
  if (!HasPresence(principal)) return AddResult::kAdded;
  auto [it, first] = online_.try_emplace(principal.id);
  Online& online = it->second;
  if (first) {
    online.principal = principal;
    PostPresence(principal, /*online=*/true);
  } else if (online.grace) {
    // Back within the grace period: it never went offline as far as anyone was told.
    ++online.generation;
    online.grace->cancel();
    online.grace.reset();
  }
  return AddResult::kAdded;
}

void Hub::Remove(const WsSession* session) {
  const std::string& id = session->principal().id;
  std::unique_lock lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  auto& list = it->second;
  const auto before = list.size();
  list.erase(std::remove_if(list.begin(), list.end(),
                            [session](const std::weak_ptr<WsSession>& weak) {
                              auto strong = weak.lock();
                              return !strong || strong.get() == session;
                            }),
             list.end());
  count_ -= std::min(count_, before - list.size());
  if (!list.empty()) return;
  sessions_.erase(it);

  auto online = online_.find(id);
  if (online == online_.end()) return;
  if (shutting_down_) {
    online_.erase(online);
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(io_, options_.presence_grace);
  const std::uint64_t generation = ++online->second.generation;
  online->second.grace = timer;
  timer->async_wait([this, id, generation, timer](const asio::error_code& ec) {
    if (!ec) OnGraceOver(id, generation);
  });
}

void Hub::OnGraceOver(const std::string& principal_id, std::uint64_t generation) {
  std::unique_lock lock(mutex_);
  auto online = online_.find(principal_id);
  // A reconnect (or shutdown) got here first.
  if (online == online_.end() || online->second.generation != generation || !online->second.grace) return;
  if (sessions_.count(principal_id) != 0) return;
  const Principal principal = std::move(online->second.principal);
  online_.erase(online);
  PostPresence(principal, /*online=*/false);
}

void Hub::PostPresence(const Principal& principal, bool online) {
  // Posting under the lock keeps the calls of one principal in transition order on its strand.
  PresenceStrand& strand = presence_strands_[std::hash<std::string>{}(principal.id) % presence_strands_.size()];
  asio::post(strand, [&chat = chat_, &log = log_, principal, online] {
    const Status status = chat.SetPresence(principal, online);
    // kNotFound: the customer or app was deleted meanwhile; nobody is left to tell.
    if (!status.ok() && status.code() != StatusCode::kNotFound) {
      log.Warn("presence of " + principal.id + " not published: " + status.ToString());
    }
  });
}

std::size_t Hub::size() const {
  std::shared_lock lock(mutex_);
  return count_;
}

void Hub::ShutdownAll(int reconnect_after_ms) {
  std::vector<std::shared_ptr<WsSession>> all;
  {
    std::unique_lock lock(mutex_);
    shutting_down_ = true;
    // Pending timers would keep the io_context running past the shutdown.
    for (auto& [id, online] : online_) {
      if (online.grace) online.grace->cancel();
    }
    for (auto it = online_.begin(); it != online_.end();) {
      it = it->second.grace ? online_.erase(it) : std::next(it);
    }
    for (const auto& [id, list] : sessions_) {
      for (const auto& weak : list) {
        if (auto s = weak.lock()) all.push_back(std::move(s));
      }
    }
  }
  for (const auto& session : all) session->Shutdown(reconnect_after_ms);
}

void Hub::Disconnect(const std::string& principal_id) {
  std::vector<std::shared_ptr<WsSession>> sessions;
  {
    std::shared_lock lock(mutex_);
    auto it = sessions_.find(principal_id);
    if (it == sessions_.end()) return;
    for (const auto& weak : it->second) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  for (const auto& session : sessions) session->Revoke();
}

void Hub::OnEvent(const std::shared_ptr<const Event>& event) {
  if (event->type == EventType::kMessageCreated) counters_.messages_appended.fetch_add(1, std::memory_order_relaxed);
  std::vector<std::shared_ptr<WsSession>> targets;
  targets.reserve(event->audience.size() + 1);  // one allocation per event, none per recipient
  {
    std::shared_lock lock(mutex_);
    auto collect = [&](const std::string& key) {
      auto it = sessions_.find(key);
      if (it == sessions_.end()) return;
      for (const auto& weak : it->second) {
        if (auto s = weak.lock()) targets.push_back(std::move(s));
      }
    };
    for (const std::string& id : event->audience) collect(id);
    collect(event->app_id.str());  // app-server sessions see their whole app
  }
  if (targets.empty()) return;
  OutboundEvent out{event, std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, EventFrameText(*event)))};
  for (const auto& session : targets) session->Deliver(out);
  counters_.events_delivered.fetch_add(targets.size(), std::memory_order_relaxed);
}

}  // namespace libchat::server
