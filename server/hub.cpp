#include "server/hub.h"

#include <algorithm>

#include "server/json_codec.h"
#include "server/ws/codec.h"
#include "server/ws_session.h"

namespace libchat::server {

Hub::Hub(Chat& chat, ServerCounters& counters) : chat_(chat), counters_(counters) {
  subscription_ = chat_.SubscribeEvents([this](const std::shared_ptr<const Event>& event) { OnEvent(event); });
}

Hub::~Hub() { chat_.UnsubscribeEvents(subscription_); }

void Hub::Add(const std::shared_ptr<WsSession>& session) {
  std::unique_lock lock(mutex_);
  sessions_[session->principal().id].push_back(session);
  ++count_;
}

void Hub::Remove(const WsSession* session) {
  std::unique_lock lock(mutex_);
  auto it = sessions_.find(session->principal().id);
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
  if (list.empty()) sessions_.erase(it);
}

std::size_t Hub::size() const {
  std::shared_lock lock(mutex_);
  return count_;
}

void Hub::ShutdownAll(int reconnect_after_ms) {
  std::vector<std::shared_ptr<WsSession>> all;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [id, list] : sessions_) {
      for (const auto& weak : list) {
        if (auto s = weak.lock()) all.push_back(std::move(s));
      }
    }
  }
  for (const auto& session : all) session->Shutdown(reconnect_after_ms);
}

void Hub::OnEvent(const std::shared_ptr<const Event>& event) {
  std::vector<std::shared_ptr<WsSession>> targets;
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
