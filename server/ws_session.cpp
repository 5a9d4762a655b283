#include "server/ws_session.h"

#include <asio/buffer.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include <array>

#include "server/api/api.h"
#include "server/json_codec.h"
#include "server/util_random.h"

namespace libchat::server {

namespace {

constexpr std::size_t kMaxPendingCommands = 64;
constexpr std::size_t kMaxSubscriptions = 1000;
constexpr std::size_t kMaxHeldEvents = 4096;
constexpr int kReplayPage = 200;
constexpr std::size_t kMaxGather = 64;

using json = nlohmann::json;

// A view of contiguous buffers as an Asio buffer sequence (copied for free into a write operation).
struct BufferView {
  using value_type = asio::const_buffer;
  using const_iterator = const asio::const_buffer*;
  const_iterator first;
  const_iterator last;
  const_iterator begin() const { return first; }
  const_iterator end() const { return last; }
};

// One read buffer per network thread instead of one per connection: an idle
// connection then holds no read buffer at all.
char* ThreadReadBuffer(std::size_t& size) {
  thread_local std::array<char, 64 * 1024> buffer;
  size = buffer.size();
  return buffer.data();
}

Result<ConversationId> ConversationArg(const json& data) {
  auto it = data.find("conversation_id");
  if (it == data.end() || !it->is_string()) return InvalidArgumentError("data.conversation_id must be a string");
  return ConversationId(it->get<std::string>());
}

Result<std::int64_t> SeqArg(const json& data, const char* name, bool required) {
  auto it = data.find(name);
  if (it == data.end() || it->is_null()) {
    if (required) return InvalidArgumentError(std::string("data.") + name + " is required");
    return std::int64_t{-1};
  }
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0) {
    return InvalidArgumentError(std::string("data.") + name + " must be a non-negative integer");
  }
  return it->get<std::int64_t>();
}

}  // namespace

WsSession::WsSession(asio::ip::tcp::socket socket, Principal principal, ServerContext& context, std::string leftover)
    : socket_(std::move(socket)),
      heartbeat_(socket_.get_executor()),
      principal_(std::move(principal)),
      context_(context),
      connection_id_(RandomConnectionId()),
      parser_(context.config.ws_max_message_bytes, /*require_mask=*/true),
      leftover_(std::move(leftover)),
      last_heard_(std::chrono::steady_clock::now()) {
  const auto executor = socket_.get_executor();  // get_executor() returns a copy: keep it while reading it
  if (const auto* strand = executor.target<Strand>()) strand_ = *strand;
  context_.counters.ws_connections.fetch_add(1, std::memory_order_relaxed);
  context_.counters.ws_accepted.fetch_add(1, std::memory_order_relaxed);
}

WsSession::~WsSession() { context_.counters.ws_connections.fetch_sub(1, std::memory_order_relaxed); }

void WsSession::Start() {
  switch (context_.hub.Add(shared_from_this())) {
    case Hub::AddResult::kAdded:
      break;
    case Hub::AddResult::kOverLimit:
      // Accepted and then refused, so that a browser sees why (a refused upgrade is opaque to it).
      return Close(ws::close_code::kPolicyViolation, "too many connections for this principal");
    case Hub::AddResult::kShuttingDown:
      return Close(ws::close_code::kGoingAway, "server shutting down");
  }
  SendJson({{"type", "hello"},
            {"data",
             {{"connection_id", connection_id_},
              {"heartbeat_ms", context_.config.heartbeat_ms},
              {"principal", ToJson(principal_)}}}});
  if (!leftover_.empty()) {
    std::string bytes = std::move(leftover_);
    leftover_.clear();
    std::size_t offset = 0;
    while (offset < bytes.size() && !parser_.failed()) {
      offset += parser_.Feed(std::string_view(bytes).substr(offset));
      while (auto message = parser_.Next()) {
        if (message->opcode == ws::Opcode::kText) HandleText(std::move(message->payload));
      }
    }
    // An oversized or malformed first frame closes like one that arrives later.
    if (parser_.failed()) return Close(parser_.close_code(), parser_.error_message());
  }
  Heartbeat();
  ReadLoop();
}

// --- reading --------------------------------------------------------------

void WsSession::ReadLoop() {
  socket_.async_wait(asio::ip::tcp::socket::wait_read,
                     [self = shared_from_this()](const asio::error_code& ec) {
                       if (ec) return self->Teardown();
                       self->OnReadable();
                     });
}

void WsSession::OnReadable() {
  std::size_t capacity = 0;
  char* buffer = ThreadReadBuffer(capacity);
  asio::error_code ec;
  const std::size_t n = socket_.read_some(asio::buffer(buffer, capacity), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) return ReadLoop();
  if (ec) return Teardown();
  last_heard_ = std::chrono::steady_clock::now();

  std::string_view data(buffer, n);
  while (!data.empty()) {
    const std::size_t used = parser_.Feed(data);
    data.remove_prefix(used);
    while (auto message = parser_.Next()) {
      switch (message->opcode) {
        case ws::Opcode::kText:
          if (!closing_) HandleText(std::move(message->payload));
          break;
        case ws::Opcode::kBinary:
          return Close(ws::close_code::kUnsupported, "binary frames are not supported");
        case ws::Opcode::kPing:
          if (!closing_) Enqueue(std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kPong, message->payload)));
          break;
        case ws::Opcode::kPong:
          break;
        case ws::Opcode::kClose: {
          const auto close = ws::ParseClosePayload(message->payload);
          const std::uint16_t code = close.code == ws::close_code::kNoStatus ? ws::close_code::kNormal : close.code;
          return Close(code, "");
        }
        default:
          break;
      }
    }
    if (parser_.failed()) return Close(parser_.close_code(), parser_.error_message());
    if (used == 0) break;
  }
  if (!torn_down_) ReadLoop();
}

void WsSession::HandleText(std::string text) {
  json frame = json::parse(text, nullptr, /*allow_exceptions=*/false);
  // Every client frame is a request of the principal and costs one token, malformed ones included. The charge
  // is an in-memory bucket (the app's limits were cached when the upgrade was charged), so it runs here on
  // the strand; a refused frame gets its one reply, an error carrying retry_after_s.
  if (const RateLimitDecision limit = context_.chat.ChargeRequest(principal_); !limit.allowed) {
    const auto id = frame.is_object() ? frame.find("id") : frame.end();
    return ReplyRateLimited(id != frame.end() ? *id : json(nullptr), limit, "too many requests");
  }
  if (frame.is_discarded() || !frame.is_object()) {
    return ReplyError(nullptr, InvalidArgumentError("a frame is a JSON object {type, id?, data?}"));
  }
  Command command;
  if (auto id = frame.find("id"); id != frame.end()) command.id = *id;
  auto type = frame.find("type");
  if (type == frame.end() || !type->is_string()) {
    return ReplyError(command.id, InvalidArgumentError("type must be a string"));
  }
  command.type = type->get<std::string>();
  if (auto data = frame.find("data"); data != frame.end()) {
    if (!data->is_object()) return ReplyError(command.id, InvalidArgumentError("data must be an object"));
    command.data = std::move(*data);
  } else {
    command.data = json::object();
  }
  if (command.type == "ping") {
    SendJson({{"type", "pong"}, {"id", command.id}, {"data", json::object()}});
    return;
  }
  if (command.type == "send") {
    // A customer's message also costs a token of its own send bucket (charged on arrival, like over HTTP).
    if (const RateLimitDecision limit = context_.chat.ChargeSend(principal_); !limit.allowed) {
      return ReplyRateLimited(command.id, limit, "too many messages from this customer");
    }
  }
  if (commands_.size() >= kMaxPendingCommands) {
    return ReplyError(command.id, ResourceExhaustedError("too many commands in flight"));
  }
  commands_.push_back(std::move(command));
  if (!command_running_) RunNextCommand();
}

// --- commands -------------------------------------------------------------

template <typename T>
void WsSession::OffStrand(std::function<T()> work, std::function<void(T)> then) {
  asio::post(context_.workers, [self = shared_from_this(), work = std::move(work), then = std::move(then)]() mutable {
    auto result = std::make_shared<T>(work());
    asio::post(self->socket_.get_executor(),
               [self, result, then = std::move(then)]() mutable { then(std::move(*result)); });
  });
}

void WsSession::RunNextCommand() {
  if (commands_.empty() || closing_) {
    command_running_ = false;
    return;
  }
  command_running_ = true;
  Command command = std::move(commands_.front());
  commands_.pop_front();
  HandleCommand(std::move(command));
}

void WsSession::CommandDone() { RunNextCommand(); }

void WsSession::HandleCommand(Command command) {
  const std::string& type = command.type;
  if (type == "subscribe") return Subscribe(std::move(command));

  if (type == "unsubscribe") {
    auto conversation = ConversationArg(command.data);
    if (!conversation.ok()) {
      ReplyError(command.id, conversation.status());
    } else {
      subscriptions_.erase(conversation->str());
      ReplyOk(command.id, {{"conversation_id", conversation->str()}});
    }
    return CommandDone();
  }

  if (type == "send") {
    auto conversation = ConversationArg(command.data);
    SendRequest request;
    Status invalid;
    const json& data = command.data;
    auto text = data.find("text");
    auto client_msg_id = data.find("client_msg_id");
    auto metadata = data.find("metadata");
    if (!conversation.ok()) {
      invalid = conversation.status();
    } else if (text == data.end() || !text->is_string()) {
      invalid = InvalidArgumentError("data.text must be a string");
    } else if (client_msg_id != data.end() && !client_msg_id->is_null() && !client_msg_id->is_string()) {
      invalid = InvalidArgumentError("data.client_msg_id must be a string");
    } else if (metadata != data.end() && !metadata->is_null() && !metadata->is_object()) {
      invalid = InvalidArgumentError("data.metadata must be an object");
    } else {
      request.text = text->get<std::string>();
      if (client_msg_id != data.end() && client_msg_id->is_string()) request.client_msg_id = client_msg_id->get<std::string>();
      if (metadata != data.end() && metadata->is_object()) request.metadata_json = metadata->dump();
    }
    if (!invalid.ok()) {
      ReplyError(command.id, invalid);
      return CommandDone();
    }
    OffStrand<Result<SendResult>>(
        [this, id = *conversation, request = std::move(request)] {
          return context_.chat.SendMessage(principal_, id, request);
        },
        [this, reply_id = command.id](Result<SendResult> result) {
          if (result.ok()) ReplyOk(reply_id, {{"message", ToJson(result->message)}, {"created", result->created}});
          else ReplyError(reply_id, result.status());
          CommandDone();
        });
    return;
  }

  if (type == "read" || type == "ack") {
    // read: the user has seen messages up to seq (read_seq); ack: the client has received them
    // (delivered_seq). Both receipts only ever move forward; the reply carries the receipt as stored.
    const bool read = type == "read";
    auto conversation = ConversationArg(command.data);
    auto seq = SeqArg(command.data, "seq", /*required=*/true);
    if (!conversation.ok() || !seq.ok()) {
      ReplyError(command.id, !conversation.ok() ? conversation.status() : seq.status());
      return CommandDone();
    }
    OffStrand<Result<Receipt>>(
        [this, id = *conversation, n = *seq, read] {
          return read ? context_.chat.MarkRead(principal_, id, n) : context_.chat.MarkDelivered(principal_, id, n);
        },
        [this, reply_id = command.id](Result<Receipt> result) {
          if (result.ok()) ReplyOk(reply_id, {{"receipt", ToJson(*result)}});
          else ReplyError(reply_id, result.status());
          CommandDone();
        });
    return;
  }

  if (type == "typing") {
    auto conversation = ConversationArg(command.data);
    auto state = command.data.find("state");
    if (!conversation.ok() || state == command.data.end() || !state->is_string() ||
        (*state != "start" && *state != "stop")) {
      ReplyError(command.id, !conversation.ok() ? conversation.status()
                                                : InvalidArgumentError("data.state must be \"start\" or \"stop\""));
      return CommandDone();
    }
    const bool typing = *state == "start";
    OffStrand<Status>(
        [this, id = *conversation, typing] { return context_.chat.SetTyping(principal_, id, typing); },
        [this, reply_id = command.id](Status status) {
          if (status.ok()) ReplyOk(reply_id, json::object());
          else ReplyError(reply_id, status);
          CommandDone();
        });
    return;
  }

  ReplyError(command.id, InvalidArgumentError("unknown frame type \"" + type + "\""));
  CommandDone();
}

void WsSession::Subscribe(Command command) {
  auto conversation = ConversationArg(command.data);
  auto after = SeqArg(command.data, "after_seq", /*required=*/false);
  if (!conversation.ok() || !after.ok()) {
    ReplyError(command.id, !conversation.ok() ? conversation.status() : after.status());
    return CommandDone();
  }
  if (subscriptions_.size() >= kMaxSubscriptions && subscriptions_.count(conversation->str()) == 0) {
    ReplyError(command.id, ResourceExhaustedError("too many subscriptions on this connection"));
    return CommandDone();
  }
  // Hold live events from now on; everything committed before the first page is
  // read is in the replay, everything after is held.
  Subscription& sub = subscriptions_[conversation->str()];
  sub = Subscription{};
  if (*after < 0) {
    // No resume point: only live messages from the current end of the conversation.
    OffStrand<Result<Conversation>>(
        [this, id = *conversation] { return context_.chat.GetConversation(principal_, id); },
        [this, id = *conversation, command = std::move(command)](Result<Conversation> result) mutable {
          if (!result.ok()) {
            subscriptions_.erase(id.str());
            ReplyError(command.id, result.status());
            return CommandDone();
          }
          auto it = subscriptions_.find(id.str());
          if (it != subscriptions_.end()) it->second.last_sent = result->last_seq;
          FinishReplay(id, std::move(command));
        });
    return;
  }
  sub.last_sent = *after;
  ReplayPage(*conversation, std::move(command));
}

void WsSession::ReplayPage(const ConversationId& conversation, Command command) {
  auto it = subscriptions_.find(conversation.str());
  if (it == subscriptions_.end() || closing_) return CommandDone();
  HistoryQuery query;
  query.after_seq = it->second.last_sent;
  query.limit = kReplayPage;
  OffStrand<Result<std::vector<Message>>>(
      [this, conversation, query] { return context_.chat.ListMessages(principal_, conversation, query); },
      [this, conversation, command = std::move(command)](Result<std::vector<Message>> page) mutable {
        auto sub = subscriptions_.find(conversation.str());
        if (closing_ || sub == subscriptions_.end()) return CommandDone();
        if (!page.ok()) {
          subscriptions_.erase(sub);
          ReplyError(command.id, page.status());
          return CommandDone();
        }
        bool paused = false;
        for (const Message& message : *page) {
          if (message.seq <= sub->second.last_sent) continue;
          sub->second.last_sent = message.seq;
          Enqueue(std::make_shared<const std::string>(ws::EncodeFrame(
              ws::Opcode::kText, json{{"type", "message.created"}, {"data", ToJson(message)}}.dump())));
          if (closing_) return;
          // A page of large messages can be more than the queue's bound: pause at half of it and go on once
          // the client has read that, rather than take a client that reads for a slow one (1013).
          if (2 * queued_bytes_ >= context_.config.ws_max_queued_bytes ||
              2 * queue_.size() >= context_.config.ws_max_queued_frames) {
            paused = true;
            break;
          }
        }
        if (!paused && static_cast<int>(page->size()) < kReplayPage) {
          return FinishReplay(conversation, std::move(command));
        }
        // More history: continue (from last_sent) once what is queued has been written, so a
        // long replay never holds more than one page in memory.
        auto next = [this, conversation, command = std::move(command)]() mutable {
          ReplayPage(conversation, std::move(command));
        };
        if (!writing_ && queue_.empty()) {
          next();
        } else {
          on_drained_ = std::move(next);
        }
      });
}

void WsSession::FinishReplay(const ConversationId& conversation, Command command) {
  auto it = subscriptions_.find(conversation.str());
  if (it == subscriptions_.end()) return CommandDone();
  Subscription& sub = it->second;
  sub.replaying = false;
  std::vector<OutboundEvent> held = std::move(sub.held);
  sub.held.clear();
  for (const OutboundEvent& event : held) DeliverOnStrand(event);
  auto again = subscriptions_.find(conversation.str());
  const std::int64_t last = again == subscriptions_.end() ? 0 : again->second.last_sent;
  ReplyOk(command.id, {{"conversation_id", conversation.str()}, {"last_seq", last}});
  CommandDone();
}

// --- events ---------------------------------------------------------------

void WsSession::Deliver(const OutboundEvent& event) {
  auto deliver = [self = shared_from_this(), event] { self->DeliverOnStrand(event); };
  // Posting to the strand itself skips copying the socket's any_io_executor and its type erasure: an
  // allocation and several indirect calls per recipient of every event.
  if (strand_) {
    asio::post(*strand_, std::move(deliver));
    return;
  }
  asio::post(socket_.get_executor(), std::move(deliver));
}

void WsSession::DeliverOnStrand(const OutboundEvent& out) {
  if (closing_) return;
  const Event& event = *out.event;
  auto it = subscriptions_.find(event.conversation_id.str());
  if (it != subscriptions_.end() && event.message) {
    Subscription& sub = it->second;
    if (sub.replaying) {
      // Held events keep their frames (and events) alive: they count against the same byte bound as the
      // queue, or a client stalled in a replay would pin every message published meanwhile.
      if (sub.held.size() >= kMaxHeldEvents ||
          sub.held_bytes + out.frame->size() > context_.config.ws_max_queued_bytes) {
        context_.counters.ws_slow_consumer_closes.fetch_add(1, std::memory_order_relaxed);
        return Close(ws::close_code::kTryAgainLater, "too far behind");
      }
      sub.held_bytes += out.frame->size();
      sub.held.push_back(out);
      return;
    }
    if (event.type == EventType::kMessageCreated) {
      if (event.message->seq <= sub.last_sent) return;  // already sent by the replay
      sub.last_sent = event.message->seq;
    }
  }
  Enqueue(out.frame, event.published_at.time_since_epoch().count());
}

// --- writing --------------------------------------------------------------

void WsSession::ReplyOk(const json& id, json data) {
  SendJson({{"type", "ok"}, {"id", id}, {"data", std::move(data)}});
}

void WsSession::ReplyError(const json& id, const Status& status) {
  SendJson({{"type", "error"},
            {"id", id},
            {"data", {{"code", ErrorCodeFor(status.code())}, {"message", status.message()}}}});
}

void WsSession::ReplyRateLimited(const json& id, const RateLimitDecision& decision, std::string_view message) {
  context_.counters.rate_limited.fetch_add(1, std::memory_order_relaxed);
  SendJson({{"type", "error"},
            {"id", id},
            {"data",
             {{"code", "rate_limited"},
              {"message", std::string(message) + "; retry in " + std::to_string(decision.retry_after_s) + " s"},
              {"retry_after_s", decision.retry_after_s}}}});
}

void WsSession::SendJson(const json& frame) {
  if (closing_) return;
  Enqueue(std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, frame.dump())));
}

void WsSession::Enqueue(Frame frame, std::int64_t published_ms) {
  if (closing_ || torn_down_) return;
  if (queue_.size() >= context_.config.ws_max_queued_frames ||
      queued_bytes_ + frame->size() > context_.config.ws_max_queued_bytes) {
    context_.counters.ws_slow_consumer_closes.fetch_add(1, std::memory_order_relaxed);
    return Close(ws::close_code::kTryAgainLater, "slow consumer");
  }
  queued_bytes_ += frame->size();
  queue_.push_back(Queued(std::move(frame), published_ms));
  if (!writing_) WriteLoop();
}

void WsSession::WriteLoop() {
  if (queue_.empty()) {
    writing_ = false;
    if (closing_) {
      asio::error_code ignored;
      socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      return Teardown();
    }
    return OnDrained();
  }
  writing_ = true;
  in_flight_.clear();
  while (!queue_.empty() && in_flight_.size() < kMaxGather) {
    queued_bytes_ -= queue_.front().frame->size();
    in_flight_.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  auto on_written = [self = shared_from_this()](const asio::error_code& ec, std::size_t) {
    if (!ec) self->ObserveWritten();
    self->in_flight_.clear();
    if (ec) {
      self->writing_ = false;
      return self->Teardown();
    }
    self->WriteLoop();
  };
  // async_write copies its buffer sequence into the operation: one frame (the usual case of a live event)
  // goes as a single buffer, several as a view of write_buffers_, so neither allocates a buffer list.
  if (in_flight_.size() == 1) {
    asio::async_write(socket_, asio::buffer(*in_flight_.front().frame), std::move(on_written));
    return;
  }
  write_buffers_.clear();
  for (const Queued& queued : in_flight_) write_buffers_.push_back(asio::buffer(*queued.frame));
  asio::async_write(socket_, BufferView{write_buffers_.data(), write_buffers_.data() + write_buffers_.size()},
                    std::move(on_written));
}

void WsSession::ObserveWritten() {
  const std::int64_t now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  for (const Queued& queued : in_flight_) {
    if (queued.published_ms <= 0) continue;
    const std::int64_t latency_us = now_us - queued.published_ms * 1000;  // < 0: the clocks disagree
    context_.counters.publish_to_socket_us.Observe(latency_us > 0 ? static_cast<std::uint64_t>(latency_us) : 0);
  }
}

void WsSession::OnDrained() {
  if (!on_drained_) return;
  auto next = std::move(on_drained_);
  on_drained_ = nullptr;
  next();
}

void WsSession::Close(std::uint16_t code, std::string_view reason) {
  if (closing_ || torn_down_) return;
  // Whatever was queued will not be read by a client that is being closed.
  for (const Queued& queued : queue_) queued_bytes_ -= queued.frame->size();
  queue_.clear();
  on_drained_ = nullptr;
  queue_.push_back(std::make_shared<const std::string>(ws::EncodeClose(code, reason.substr(0, 120))));
  closing_ = true;
  // A client that does not read may never let the close frame out: give it a
  // short deadline instead of the heartbeat's.
  heartbeat_.expires_after(std::chrono::seconds(2));
  heartbeat_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (!ec) self->Teardown();
  });
  if (!writing_) WriteLoop();
}

void WsSession::Shutdown(int reconnect_after_ms) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), reconnect_after_ms] {
    self->SendJson({{"type", "shutdown"}, {"data", {{"reconnect_after_ms", reconnect_after_ms}}}});
    self->Close(ws::close_code::kGoingAway, "server shutting down");
  });
}

void WsSession::Revoke() {
  asio::post(socket_.get_executor(),
             [self = shared_from_this()] { self->Close(ws::close_code::kPolicyViolation, "credentials revoked"); });
}

void WsSession::Teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  closing_ = true;
  heartbeat_.cancel();
  asio::error_code ignored;
  socket_.close(ignored);
  context_.hub.Remove(this);
}

void WsSession::Heartbeat() {
  heartbeat_.expires_after(std::chrono::milliseconds(context_.config.heartbeat_ms));
  heartbeat_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec || self->torn_down_) return;
    const auto silent = std::chrono::steady_clock::now() - self->last_heard_;
    if (self->closing_) return;  // Close() re-armed the timer with its own deadline
    if (silent > std::chrono::milliseconds(2 * self->context_.config.heartbeat_ms)) {
      return self->Close(ws::close_code::kGoingAway, "no activity");
    }
    self->Enqueue(std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kPing, "")));
    self->Heartbeat();
  });
}

}  // namespace libchat::server
