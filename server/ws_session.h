// WsSession: one WebSocket connection of an authenticated principal.
//
// Everything runs on the socket's strand. Client commands are executed one at a
// time, in arrival order, on the worker pool (they call the blocking core) and
// their replies are posted back. Outgoing frames go through a bounded queue that
// is flushed with gathered writes; a client that lets it fill up is closed with
// 1013 instead of being buffered without bound. A session beyond its principal's
// connection cap (Hub::Add) is closed with 1008 right after the upgrade, without hello.
//
// Resume: `subscribe {conversation_id, after_seq}` replays history page by page
// (the next page is fetched only when the previous one has been written), while
// live events of that conversation are held back; then the held events newer than
// the replay are released and the conversation goes live. Live message.created
// events at or below the last sequence sent are dropped, so the client sees every
// seq > after_seq in order, with no gap.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "libchat/chat.h"
#include "server/fifo.h"
#include "server/hub.h"
#include "server/server_context.h"
#include "server/ws/codec.h"

namespace libchat::server {

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  // `leftover` holds bytes that arrived after the upgrade request.
  WsSession(asio::ip::tcp::socket socket, Principal principal, ServerContext& context, std::string leftover);
  ~WsSession();

  // Registers with the hub, sends `hello`, starts reading and the heartbeat.
  void Start();
  // Thread-safe: queue a live event for this client.
  void Deliver(const OutboundEvent& event);
  // Thread-safe: send `shutdown {reconnect_after_ms}` and close with 1001.
  void Shutdown(int reconnect_after_ms);
  // Thread-safe: close with 1008 "credentials revoked" (the principal may no longer connect).
  void Revoke();

  const Principal& principal() const { return principal_; }

 private:
  using Frame = std::shared_ptr<const std::string>;
  // A frame and, for a live event, its Event::published_at in ms since the epoch (0 otherwise: replies,
  // replays and pings stay out of the publish-to-socket latency histogram).
  struct Queued {
    Queued(Frame f, std::int64_t published = 0) : frame(std::move(f)), published_ms(published) {}  // NOLINT
    Frame frame;
    std::int64_t published_ms;
  };
  struct Subscription {
    std::int64_t last_sent = 0;  // highest message seq sent on this conversation
    bool replaying = true;       // history replay in progress: live events are held
    std::vector<OutboundEvent> held;
    std::size_t held_bytes = 0;  // the frames in `held`
  };
  struct Command {
    nlohmann::json id;  // echoed in the reply; null when the client gave none
    std::string type;
    nlohmann::json data;
  };

  void ReadLoop();
  void OnReadable();
  void HandleText(std::string text);
  void HandleCommand(Command command);
  void RunNextCommand();
  void CommandDone();
  // Runs `work` on the worker pool, then `then` with its result on the strand.
  template <typename T>
  void OffStrand(std::function<T()> work, std::function<void(T)> then);

  void Subscribe(Command command);
  void ReplayPage(const ConversationId& conversation, Command command);
  void FinishReplay(const ConversationId& conversation, Command command);

  void DeliverOnStrand(const OutboundEvent& event);
  void ReplyOk(const nlohmann::json& id, nlohmann::json data);
  void ReplyError(const nlohmann::json& id, const Status& status);
  // error {code:"rate_limited", message, retry_after_s} for a frame the rate limiter refused; counts it.
  void ReplyRateLimited(const nlohmann::json& id, const RateLimitDecision& decision, std::string_view message);
  void SendJson(const nlohmann::json& frame);
  void Enqueue(Frame frame, std::int64_t published_ms = 0);
  void WriteLoop();
  // After in_flight_ was written: records the latency of its live events.
  void ObserveWritten();
  void OnDrained();
  void Close(std::uint16_t code, std::string_view reason);
  void Teardown();
  void Heartbeat();

  asio::ip::tcp::socket socket_;
  // The socket's executor when it is a strand of an io_context, as under Server (Deliver posts to it).
  using Strand = asio::strand<asio::io_context::executor_type>;
  std::optional<Strand> strand_;
  asio::steady_timer heartbeat_;
  Principal principal_;
  ServerContext& context_;
  std::string connection_id_;
  ws::FrameParser parser_;
  std::string leftover_;

  Fifo<Queued> queue_;  // not std::deque: an idle session then holds no queue storage
  std::size_t queued_bytes_ = 0;
  std::vector<Queued> in_flight_;  // frames being written; kept alive until the write completes
  // The gathered buffers of a write of several frames (a single frame needs none): a member, so that
  // writes allocate nothing once it has grown.
  std::vector<asio::const_buffer> write_buffers_;
  bool writing_ = false;
  std::function<void()> on_drained_;  // continues a replay once the queue is empty

  Fifo<Command> commands_;
  bool command_running_ = false;
  std::unordered_map<std::string, Subscription> subscriptions_;

  std::chrono::steady_clock::time_point last_heard_;
  bool closing_ = false;    // a close frame is queued: accept nothing more
  bool torn_down_ = false;
};

}  // namespace libchat::server
