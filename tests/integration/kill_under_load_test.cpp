// SIGKILL under load: clients post concurrently into a few support conversations over HTTP (owner account,
// app server, customer SDK) and over the WebSocket (`send` with client_msg_id) when the server is killed.
// After a restart on the same database (delivery guarantee 1 and the idempotency contract):
// every acknowledged message is stored with its seq, id and text; each conversation's seqs are exactly
// 1..last; retrying a client_msg_id returns the original (200, or `ok` with created false) and never a copy;
// a request that got no answer, retried, ends up stored exactly once.
#include <atomic>
#include <csignal>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch.h"
#include "integration/integration_util.h"
#include "integration/server_process.h"

namespace libchat::testing_support {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kConversations = 3;
constexpr int kKillAfter = 300;  // acknowledgements (all posters together) before the kill

struct SupportConversation {
  std::string id;
  std::string session_token;
};

SupportConversation CreateSession(HttpClient& http, const Tenant& tenant, int index) {
  const Json request = {{"customer", {{"external_id", "crash-" + std::to_string(index)}}}};
  HttpResult created = http.Request("POST", "/v1/sdk/sessions", request.dump(), ApiKey(tenant.publishable_key));
  INFO(Describe(created));
  REQUIRE(created.status == 201);
  const Json body = BodyJson(created);
  REQUIRE(body["conversation"].is_object());
  SupportConversation conversation{body["conversation"].value("id", ""), body.value("session_token", "")};
  REQUIRE(conversation.id.rfind("conv_", 0) == 0);
  REQUIRE(!conversation.session_token.empty());
  return conversation;
}

// How a poster reaches the server, and as whom.
enum class Channel { kAccountHttp, kAppServerHttp, kCustomerHttp, kAccountWs, kCustomerWs };

bool IsWs(Channel channel) { return channel == Channel::kAccountWs || channel == Channel::kCustomerWs; }

// One message a poster tried to send.
struct Attempt {
  Channel channel = Channel::kAccountHttp;
  int conversation = 0;
  std::string client_msg_id;
  std::string text;
  // Filled from the acknowledgement (201 or `ok`); seq 0 when there was none.
  std::string message_id;
  std::int64_t seq = 0;
};

struct PosterLog {
  std::vector<Attempt> acked;
  std::vector<Attempt> unanswered;    // the server went away before answering
  std::vector<std::string> failures;  // answers a correct server never gives
};

// The request body of an attempt, the same for the first try and every retry.
Json SendBody(const Attempt& attempt, const std::string& conversation_id) {
  Json body = {{"text", attempt.text}, {"client_msg_id", attempt.client_msg_id}};
  if (attempt.channel == Channel::kCustomerHttp) body["conversation_id"] = conversation_id;
  return body;
}

// Posts `attempt` over HTTP as its channel's principal (WebSocket channels use the same principal's route).
HttpResult PostHttp(HttpClient& http, const Tenant& tenant, const std::vector<SupportConversation>& conversations,
                    const Attempt& attempt) {
  const SupportConversation& conversation = conversations[static_cast<std::size_t>(attempt.conversation)];
  switch (attempt.channel) {
    case Channel::kAccountHttp:
    case Channel::kAccountWs:
      return http.Request("POST", "/v1/conversations/" + conversation.id + "/messages",
                          SendBody(attempt, conversation.id).dump(), Bearer(tenant.token));
    case Channel::kAppServerHttp:
      return http.Request("POST", "/v1/conversations/" + conversation.id + "/messages",
                          SendBody(attempt, conversation.id).dump(), ApiKey(tenant.secret_key));
    case Channel::kCustomerHttp:
    case Channel::kCustomerWs: {
      Attempt as_sdk = attempt;
      as_sdk.channel = Channel::kCustomerHttp;
      return http.Request("POST", "/v1/sdk/messages", SendBody(as_sdk, conversation.id).dump(),
                          ApiKey(tenant.publishable_key, conversation.session_token));
    }
  }
  return {};
}

// A WebSocket connection of the channel's principal, after its hello; false when the server refused.
bool ConnectWs(WsClient& ws, std::uint16_t port, const Tenant& tenant, const SupportConversation& own,
               Channel channel) {
  const bool ok = channel == Channel::kAccountWs
                      ? ws.Connect(port, "/v1/ws", {{"Authorization", "Bearer " + tenant.token}})
                      : ws.Connect(port, "/v1/ws?token=" + own.session_token);
  if (!ok) return false;
  std::optional<std::string> hello = ws.ReceiveText(10s);
  return hello && IsType(Json::parse(*hello, nullptr, false), "hello");
}

// Sends `attempt` as a `send` frame with id `frame_id` and waits for its reply (skipping feed events).
// nullopt when the connection ended or no reply came within the timeout.
std::optional<Json> SendWs(WsClient& ws, const std::vector<SupportConversation>& conversations,
                           const Attempt& attempt, const std::string& frame_id) {
  const std::string& conversation_id = conversations[static_cast<std::size_t>(attempt.conversation)].id;
  Json data = {{"conversation_id", conversation_id}, {"text", attempt.text}, {"client_msg_id", attempt.client_msg_id}};
  ws.SendText(Json{{"type", "send"}, {"id", frame_id}, {"data", std::move(data)}}.dump());
  const Clock::time_point deadline = Clock::now() + 20s;
  while (true) {
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) return std::nullopt;
    std::optional<std::string> text = ws.ReceiveText(remaining);
    if (!text) return std::nullopt;
    Json frame = Json::parse(*text, nullptr, false);
    if (frame.is_object() && frame.value("id", Json()) == frame_id) return frame;
  }
}

// The message of an acknowledgement: an HTTP body {message} or a WebSocket `ok {message, created}`.
const Json* AckMessage(const Json& reply) {
  const Json* holder = &reply;
  if (IsType(reply, "ok")) holder = &reply["data"];
  if (!holder->is_object()) return nullptr;
  auto it = holder->find("message");
  if (it == holder->end() || !it->is_object() || !(*it)["seq"].is_number_integer() || !(*it)["id"].is_string()) {
    return nullptr;
  }
  return &*it;
}

class Poster {
 public:
  Poster(std::uint16_t port, const Tenant& tenant, const std::vector<SupportConversation>& conversations, int index,
         Channel channel)
      : port_(port), tenant_(tenant), conversations_(conversations), index_(index), channel_(channel), http_(port) {
    http_.set_timeout(20s);
  }

  // Posts until told to stop or until the server stops answering.
  void Run(std::atomic<bool>& stop, std::atomic<int>& acknowledged, PosterLog& log) {
    if (IsWs(channel_) && !ConnectWs(ws_, port_, tenant_, conversations_[0], channel_)) {
      log.failures.push_back("poster " + std::to_string(index_) + " cannot open its WebSocket");
      return;
    }
    for (int n = 0; n < 5000 && !stop.load(); ++n) {
      Attempt attempt;
      attempt.channel = channel_;
      // The customer over the WebSocket writes into its own conversation; the others spread over all.
      attempt.conversation = channel_ == Channel::kCustomerWs ? 0 : (index_ + n) % kConversations;
      attempt.client_msg_id = "p" + std::to_string(index_) + "-" + std::to_string(n);
      attempt.text = "poster " + std::to_string(index_) + " message " + std::to_string(n);
      Json reply;
      if (IsWs(channel_)) {
        std::optional<Json> frame = SendWs(ws_, conversations_, attempt, "f" + std::to_string(n));
        if (!frame) {
          log.unanswered.push_back(attempt);
          return;
        }
        reply = std::move(*frame);
        if (!IsType(reply, "ok") || !reply["data"].is_object() || reply["data"].value("created", false) != true) {
          log.failures.push_back("poster " + std::to_string(index_) + ": " + reply.dump().substr(0, 300));
          continue;
        }
      } else {
        HttpResult sent = PostHttp(http_, tenant_, conversations_, attempt);
        if (sent.status == 0) {
          log.unanswered.push_back(attempt);
          return;
        }
        if (sent.status != 201) {
          log.failures.push_back("poster " + std::to_string(index_) + ": " + Describe(sent));
          continue;
        }
        reply = BodyJson(sent);
      }
      const Json* message = AckMessage(reply);
      if (message == nullptr || message->value("text", "") != attempt.text ||
          message->value("client_msg_id", "") != attempt.client_msg_id) {
        log.failures.push_back("poster " + std::to_string(index_) + " acknowledged as " + reply.dump().substr(0, 300));
        continue;
      }
      attempt.seq = (*message)["seq"].get<std::int64_t>();
      attempt.message_id = (*message)["id"].get<std::string>();
      log.acked.push_back(std::move(attempt));
      acknowledged.fetch_add(1);
    }
  }

 private:
  std::uint16_t port_;
  const Tenant& tenant_;
  const std::vector<SupportConversation>& conversations_;
  int index_;
  Channel channel_;
  HttpClient http_;
  WsClient ws_;
};

// Seqs exactly 1..size and no client_msg_id twice; returns client_msg_id -> stored message.
std::map<std::string, Json> CheckGapless(const std::vector<Json>& history, int conversation) {
  INFO("conversation " << conversation);
  std::map<std::string, Json> by_client_msg_id;
  int out_of_place = 0;
  int duplicates = 0;
  for (std::size_t i = 0; i < history.size(); ++i) {
    if (history[i].value("seq", std::int64_t{-1}) != static_cast<std::int64_t>(i + 1)) {
      if (++out_of_place <= 5) UNSCOPED_INFO("history[" << i << "] is " << history[i].dump());
    }
    const Json& client_msg_id = history[i]["client_msg_id"];
    if (client_msg_id.is_string() && !client_msg_id.get<std::string>().empty() &&
        !by_client_msg_id.emplace(client_msg_id.get<std::string>(), history[i]).second) {
      if (++duplicates <= 5) UNSCOPED_INFO("client_msg_id stored twice: " << history[i].dump());
    }
  }
  CHECK(out_of_place == 0);
  CHECK(duplicates == 0);
  return by_client_msg_id;
}

TEST_CASE("kill under load: acknowledged messages survive SIGKILL and client_msg_id retries never duplicate",
          "[integration]") {
  ServerProcess server;  // the default --db-sync full: an acknowledgement means on disk
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "killed@example.com");
  std::vector<SupportConversation> conversations;
  for (int c = 0; c < kConversations; ++c) conversations.push_back(CreateSession(http, tenant, c));

  const std::vector<Channel> channels = {Channel::kAccountHttp, Channel::kAppServerHttp, Channel::kCustomerHttp,
                                         Channel::kAccountHttp, Channel::kAccountWs,     Channel::kCustomerWs};
  std::vector<PosterLog> logs(channels.size());
  std::atomic<int> acknowledged{0};
  std::atomic<bool> stop{false};
  {
    std::vector<std::thread> threads;
    for (std::size_t p = 0; p < channels.size(); ++p) {
      threads.emplace_back([&, p] {
        Poster poster(server.port(), tenant, conversations, static_cast<int>(p), channels[p]);
        poster.Run(stop, acknowledged, logs[p]);
      });
    }
    const Clock::time_point deadline = Clock::now() + 60s;
    while (acknowledged.load() < kKillAfter && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
    server.Kill(SIGKILL);  // every poster has a request in flight or about to go
    stop.store(true);
    for (std::thread& thread : threads) thread.join();
  }
  REQUIRE(server.last_exit().has_value());
  CHECK(server.last_exit()->signal == SIGKILL);

  std::vector<Attempt> acked;
  std::vector<Attempt> unanswered;
  for (const PosterLog& log : logs) {
    for (const std::string& failure : log.failures) UNSCOPED_INFO("unexpected answer: " << failure);
    CHECK(log.failures.empty());
    acked.insert(acked.end(), log.acked.begin(), log.acked.end());
    unanswered.insert(unanswered.end(), log.unanswered.begin(), log.unanswered.end());
  }
  INFO(acked.size() << " messages acknowledged before the kill, " << unanswered.size() << " unanswered");
  REQUIRE(acked.size() >= static_cast<std::size_t>(kKillAfter));
  {
    // Two acknowledgements never share a seq of one conversation.
    std::set<std::pair<int, std::int64_t>> seqs;
    int shared_seqs = 0;
    for (const Attempt& attempt : acked) shared_seqs += seqs.emplace(attempt.conversation, attempt.seq).second ? 0 : 1;
    CHECK(shared_seqs == 0);
  }

  INFO(server.error());
  REQUIRE(server.Restart());
  HttpClient after(server.port());
  after.set_timeout(20s);

  // 1. The store after the crash: gapless, and every acknowledgement is there as acknowledged.
  std::vector<std::map<std::string, Json>> stored;
  for (int c = 0; c < kConversations; ++c) {
    stored.push_back(CheckGapless(History(after, tenant, conversations[static_cast<std::size_t>(c)].id), c));
  }
  int missing = 0;
  for (const Attempt& attempt : acked) {
    const auto& in_conversation = stored[static_cast<std::size_t>(attempt.conversation)];
    auto it = in_conversation.find(attempt.client_msg_id);
    if (it == in_conversation.end() || it->second.value("seq", std::int64_t{-1}) != attempt.seq ||
        it->second.value("id", "") != attempt.message_id || it->second.value("text", "") != attempt.text) {
      if (++missing <= 10) {
        UNSCOPED_INFO("acknowledged " << attempt.client_msg_id << " as seq " << attempt.seq << " "
                                      << attempt.message_id << ", stored: "
                                      << (it == in_conversation.end() ? std::string("nothing") : it->second.dump()));
      }
    }
  }
  CHECK(missing == 0);

  // 2. Retries after the restart. Acknowledged ones come back as the original, over the channel they were
  // sent on; unanswered ones (maybe committed, maybe not) are retried over HTTP as the same principal and
  // must either return the stored original (200) or create it now (201) — once.
  WsClient account_ws;
  WsClient customer_ws;
  REQUIRE(ConnectWs(account_ws, server.port(), tenant, conversations[0], Channel::kAccountWs));
  REQUIRE(ConnectWs(customer_ws, server.port(), tenant, conversations[0], Channel::kCustomerWs));
  int wrong_retries = 0;
  int frame = 0;
  for (const Attempt& attempt : acked) {
    Json reply;
    int status = 0;
    if (IsWs(attempt.channel)) {
      WsClient& ws = attempt.channel == Channel::kAccountWs ? account_ws : customer_ws;
      std::optional<Json> answer = SendWs(ws, conversations, attempt, "retry-" + std::to_string(++frame));
      if (answer) reply = std::move(*answer);
      status = answer && IsType(reply, "ok") && reply["data"].value("created", true) == false ? 200 : -1;
    } else {
      HttpResult retried = PostHttp(after, tenant, conversations, attempt);
      status = retried.status;
      reply = BodyJson(retried);
      if (status != 200) reply = Json{{"http", Describe(retried)}};
    }
    const Json* message = AckMessage(reply);
    if (status != 200 || message == nullptr || message->value("id", "") != attempt.message_id ||
        message->value("seq", std::int64_t{-1}) != attempt.seq) {
      if (++wrong_retries <= 10) {
        UNSCOPED_INFO("retry of " << attempt.client_msg_id << " (seq " << attempt.seq << "): "
                                  << reply.dump().substr(0, 300));
      }
    }
  }
  CHECK(wrong_retries == 0);

  int wrong_unanswered = 0;
  for (const Attempt& attempt : unanswered) {
    const auto& in_conversation = stored[static_cast<std::size_t>(attempt.conversation)];
    auto before = in_conversation.find(attempt.client_msg_id);
    HttpResult retried = PostHttp(after, tenant, conversations, attempt);
    const Json body = BodyJson(retried);
    const Json* message = AckMessage(body);
    bool right = message != nullptr && message->value("text", "") == attempt.text;
    if (before != in_conversation.end()) {
      // It had committed before the kill: the retry finds it.
      right = right && retried.status == 200 && message->value("id", "") == before->second.value("id", "") &&
              message->value("seq", std::int64_t{-1}) == before->second.value("seq", std::int64_t{-2});
    } else {
      right = right && retried.status == 201;
    }
    if (!right && ++wrong_unanswered <= 10) {
      UNSCOPED_INFO("retry of unanswered " << attempt.client_msg_id << " (stored before: "
                                           << (before != in_conversation.end()) << "): " << Describe(retried));
    }
  }
  CHECK(wrong_unanswered == 0);
  account_ws.Close();
  customer_ws.Close();

  // 3. After all the retries: still gapless, still no client_msg_id twice, and each attempt stored once.
  std::size_t total = 0;
  for (int c = 0; c < kConversations; ++c) {
    const std::vector<Json> history = History(after, tenant, conversations[static_cast<std::size_t>(c)].id);
    total += history.size();
    const std::map<std::string, Json> final_state = CheckGapless(history, c);
    for (const Attempt& attempt : unanswered) {
      if (attempt.conversation == c) CHECK(final_state.count(attempt.client_msg_id) == 1);
    }
    HttpResult conversation =
        after.Request("GET", "/v1/conversations/" + conversations[static_cast<std::size_t>(c)].id, {},
                      Bearer(tenant.token));
    REQUIRE(conversation.status == 200);
    CHECK(BodyJson(conversation).value("last_seq", std::int64_t{-1}) == static_cast<std::int64_t>(history.size()));
  }
  CHECK(total == acked.size() + unanswered.size());
}

}  // namespace
}  // namespace libchat::testing_support
