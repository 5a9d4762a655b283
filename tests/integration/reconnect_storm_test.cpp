// Reconnect storm: while several senders post over HTTP, fifty WebSocket clients (customers on their own
// support conversation, owners on all of them) keep dropping their connection — with a close frame, with a
// bare FIN, with an RST — and resume with `subscribe {conversation_id, after_seq}`. Delivery guarantee 2 of
// the contract: in the end every client holds every seq of its conversations exactly once after
// de-duplication, 1..last with no gap, matching the store; and on each connection the seqs arrive in order.
//
// The resume point is the highest seq up to which the client holds everything, not the highest seq it has
// seen: a fresh connection receives the live feed before its subscribe takes effect (accounts see their
// apps' conversations, customers their own, without subscribing), so the highest seen may lie beyond a gap
// that only the replay would have filled, had the connection lived long enough.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
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

constexpr int kConversations = 4;
constexpr int kCustomerClientsPerConversation = 10;  // one customer, several tabs
constexpr int kOwnerClients = 10;                     // each sees all the conversations
constexpr int kSenders = 4;
constexpr int kMessagesPerSender = 100;
constexpr int kMinConnections = 5;  // every client reconnects at least this often

// A support conversation created through POST /v1/sdk/sessions, with its customer's session token.
struct SupportConversation {
  std::string id;
  std::string session_token;
};

SupportConversation CreateSession(HttpClient& http, const Tenant& tenant, int index) {
  const Json request = {{"customer", {{"external_id", "storm-" + std::to_string(index)},
                                      {"name", "Customer " + std::to_string(index)}}}};
  HttpResult created = http.Request("POST", "/v1/sdk/sessions", request.dump(), ApiKey(tenant.publishable_key));
  INFO(Describe(created));
  REQUIRE(created.status == 201);
  const Json body = BodyJson(created);
  REQUIRE(body.is_object());
  REQUIRE(body["conversation"].is_object());
  SupportConversation conversation{body["conversation"].value("id", ""), body.value("session_token", "")};
  REQUIRE(conversation.id.rfind("conv_", 0) == 0);
  REQUIRE(!conversation.session_token.empty());
  CHECK(body["conversation"].value("last_seq", -1) == 0);
  return conversation;
}

// --- senders ----------------------------------------------------------------------------------------------

struct Sent {
  int conversation = 0;
  std::int64_t seq = 0;
  std::string id;
  std::string text;
};

struct SenderLog {
  std::vector<Sent> sent;
  std::vector<std::string> failures;
};

// Sender kinds alternate between the owner account (team API), the app server (secret key) and the
// conversation's customer (SDK), so that every write path feeds the same live stream.
void RunSender(std::uint16_t port, const Tenant& tenant, const std::vector<SupportConversation>& conversations,
               int index, SenderLog& log) {
  HttpClient http(port);
  http.set_timeout(20s);
  std::mt19937 rng(static_cast<unsigned>(1000 + index));
  std::uniform_int_distribution<int> pause_ms(0, 8);
  for (int n = 0; n < kMessagesPerSender; ++n) {
    const int c = (index + n) % kConversations;
    const SupportConversation& conversation = conversations[static_cast<std::size_t>(c)];
    const std::string text = "sender " + std::to_string(index) + " message " + std::to_string(n);
    const std::string client_msg_id = "s" + std::to_string(index) + "-" + std::to_string(n);
    HttpResult result;
    switch (index % 3) {
      case 0:
        result = http.Request("POST", "/v1/conversations/" + conversation.id + "/messages",
                              Json{{"text", text}, {"client_msg_id", client_msg_id}}.dump(), Bearer(tenant.token));
        break;
      case 1:
        result = http.Request("POST", "/v1/conversations/" + conversation.id + "/messages",
                              Json{{"text", text}, {"client_msg_id", client_msg_id}}.dump(),
                              ApiKey(tenant.secret_key));
        break;
      default:
        result = http.Request(
            "POST", "/v1/sdk/messages",
            Json{{"text", text}, {"conversation_id", conversation.id}, {"client_msg_id", client_msg_id}}.dump(),
            ApiKey(tenant.publishable_key, conversation.session_token));
        break;
    }
    const Json body = BodyJson(result);
    if (result.status != 201 || !body.is_object() || !body["message"].is_object() ||
        !body["message"]["seq"].is_number_integer()) {
      log.failures.push_back(Describe(result));
      continue;
    }
    log.sent.push_back(Sent{c, body["message"]["seq"].get<std::int64_t>(), body["message"].value("id", ""), text});
    // Pacing only, so that the posting spans many reconnects even on a fast machine; nothing waits on it.
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
  }
}

// --- clients ----------------------------------------------------------------------------------------------

// What one connection received of one conversation.
struct Trace {
  int connection = 0;
  int conversation = 0;
  std::int64_t after_seq = 0;        // the resume point it subscribed with
  std::vector<std::int64_t> seqs;    // message.created seqs in arrival order
};

struct ClientLog {
  std::string name;
  std::vector<int> conversations;
  // conversation -> seq -> (id, text) as first received.
  std::map<int, std::map<std::int64_t, std::pair<std::string, std::string>>> received;
  std::vector<Trace> traces;
  std::vector<std::string> problems;  // anything a correct server never causes
  int connections = 0;
  int clean_closes = 0;
  int fin_drops = 0;
  int reset_drops = 0;
  bool finished = false;
};

// Shared between the main thread and the clients: once `final_phase` is set, `targets` (last seq per
// conversation, from the store) is complete and clients stay connected until they have reached it.
struct Shared {
  std::atomic<bool> final_phase{false};
  std::mutex mutex;
  std::vector<std::int64_t> targets;
};

class StormClient {
 public:
  StormClient(std::uint16_t port, std::string target, HeaderList headers,
              const std::vector<SupportConversation>& conversations, Shared& shared, ClientLog& log, unsigned seed)
      : port_(port),
        target_(std::move(target)),
        headers_(std::move(headers)),
        conversations_(conversations),
        shared_(shared),
        log_(log),
        rng_(seed) {}

  void Run(Clock::time_point deadline) {
    for (int c : log_.conversations) contiguous_[c] = 0;
    int connect_failures = 0;
    while (Clock::now() < deadline) {
      if (!ws_.Connect(port_, target_, headers_)) {
        // A refused or reset handshake under load is retried; only a persistent failure is a problem.
        if (++connect_failures > 50) {
          Problem("cannot connect: HTTP " + std::to_string(ws_.handshake_status()) + " " + ws_.handshake_body());
          return;
        }
        std::this_thread::sleep_for(20ms);
        continue;
      }
      connect_failures = 0;
      const int connection = ++log_.connections;
      if (!RunConnection(connection, deadline)) continue;  // the server ended it (recorded); reconnect
      if (log_.finished) {
        ws_.Close();
        ++log_.clean_closes;
        return;
      }
      switch (connection % 3) {
        case 0:
          ws_.Close();
          ++log_.clean_closes;
          break;
        case 1:
          ws_.Abort(/*reset=*/false);
          ++log_.fin_drops;
          break;
        default:
          ws_.Abort(/*reset=*/true);
          ++log_.reset_drops;
          break;
      }
    }
    if (!log_.finished) Problem("did not catch up before the deadline");
  }

 private:
  void Problem(std::string text) { log_.problems.push_back(log_.name + ": " + std::move(text)); }

  std::optional<Json> Next(Clock::time_point until) {
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (remaining.count() <= 0) return std::nullopt;
    std::optional<std::string> text = ws_.ReceiveText(remaining);
    if (!text) return std::nullopt;
    Json frame = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!frame.is_object()) {
      Problem("a frame that is not a JSON object: " + text->substr(0, 200));
      return Json::object();
    }
    return frame;
  }

  int ConversationIndex(const std::string& id) const {
    for (int c : log_.conversations) {
      if (conversations_[static_cast<std::size_t>(c)].id == id) return c;
    }
    return -1;
  }

  bool CaughtUp() {
    if (!shared_.final_phase.load(std::memory_order_acquire)) return false;
    std::lock_guard lock(shared_.mutex);
    for (int c : log_.conversations) {
      if (contiguous_[c] < shared_.targets[static_cast<std::size_t>(c)]) return false;
    }
    return true;
  }

  // One connection's life: hello, a subscribe per conversation, then reading until its (random) lifetime is
  // over or, in the final phase, until everything has arrived. False when the server ended the connection.
  bool RunConnection(int connection, Clock::time_point deadline) {
    std::optional<Json> hello = Next(std::min(deadline, Clock::now() + 20s));
    if (!hello || !IsType(*hello, "hello")) {
      Problem("no hello on connection " + std::to_string(connection) + (ws_.closed() ? " (closed)" : ""));
      return false;
    }
    std::map<int, std::size_t> trace_of;  // conversation -> index in log_.traces
    std::set<std::string> pending;        // subscribe ids not answered yet
    for (int c : log_.conversations) {
      trace_of[c] = log_.traces.size();
      log_.traces.push_back(Trace{connection, c, contiguous_[c], {}});
      const std::string id = "sub-" + std::to_string(connection) + "-" + std::to_string(c);
      pending.insert(id);
      ws_.SendText(Json{{"type", "subscribe"},
                        {"id", id},
                        {"data", {{"conversation_id", conversations_[static_cast<std::size_t>(c)].id},
                                  {"after_seq", contiguous_[c]}}}}
                       .dump());
    }
    const bool final_phase = connection > kMinConnections && shared_.final_phase.load(std::memory_order_acquire);
    std::uniform_int_distribution<int> lifetime_ms(20, 250);
    const Clock::time_point until =
        final_phase ? deadline : std::min(deadline, Clock::now() + std::chrono::milliseconds(lifetime_ms(rng_)));
    while (true) {
      if (final_phase && pending.empty() && CaughtUp()) {
        log_.finished = true;
        return true;
      }
      // In the final phase wake up now and then to re-check the targets; otherwise read until `until`.
      std::optional<Json> frame = Next(final_phase ? std::min(until, Clock::now() + 200ms) : until);
      if (!frame) {
        if (ws_.closed()) {
          Problem("the server ended connection " + std::to_string(connection) +
                  (ws_.close_code() ? " with close code " + std::to_string(*ws_.close_code()) : " without a close"));
          return false;
        }
        if (Clock::now() >= until) {
          if (final_phase) {
            std::string state = "stuck on its last connection " + std::to_string(connection) + ": " +
                                std::to_string(pending.size()) + " subscribe replies missing;";
            std::lock_guard lock(shared_.mutex);
            for (int c : log_.conversations) {
              state += " conversation " + std::to_string(c) + " holds 1.." + std::to_string(contiguous_[c]) + " of " +
                       std::to_string(shared_.targets[static_cast<std::size_t>(c)]) + ", got " +
                       std::to_string(log_.traces[trace_of[c]].seqs.size()) + " here;";
            }
            Problem(state);
          }
          return true;
        }
        continue;
      }
      if (IsType(*frame, "message.created")) {
        const Json& data = (*frame)["data"];
        if (!data.is_object() || !data["seq"].is_number_integer()) {
          Problem("malformed message.created: " + frame->dump().substr(0, 200));
          continue;
        }
        const int c = ConversationIndex(data.value("conversation_id", ""));
        if (c < 0) continue;  // another conversation of the app (none in this test)
        const std::int64_t seq = data["seq"].get<std::int64_t>();
        log_.traces[trace_of[c]].seqs.push_back(seq);
        const std::pair<std::string, std::string> content{data.value("id", ""), data.value("text", "")};
        auto [it, inserted] = log_.received[c].emplace(seq, content);
        if (!inserted && it->second != content) {
          Problem("seq " + std::to_string(seq) + " arrived twice with different content: " + it->second.first +
                  " then " + content.first);
        }
        const auto& held = log_.received[c];
        while (held.count(contiguous_[c] + 1) != 0) ++contiguous_[c];
      } else if (IsType(*frame, "ok") && (*frame)["id"].is_string() &&
                 pending.erase((*frame)["id"].get<std::string>()) != 0) {
        // The replay (and the live events held during it) precede the `ok`, whose last_seq is the last seq
        // sent on this connection for that conversation.
        const Json& data = (*frame)["data"];
        const int c = ConversationIndex(data.value("conversation_id", ""));
        if (c < 0) {
          Problem("subscribe ok without a known conversation: " + frame->dump());
          continue;
        }
        const Trace& trace = log_.traces[trace_of[c]];
        const std::int64_t last = trace.seqs.empty() ? trace.after_seq : trace.seqs.back();
        if (data.value("last_seq", std::int64_t{-1}) != last) {
          Problem("subscribe ok says last_seq " + data.value("last_seq", Json()).dump() +
                  " but the last seq sent was " + std::to_string(last));
        }
      } else if (IsType(*frame, "error")) {
        Problem("error frame: " + frame->dump().substr(0, 300));
      }
    }
  }

  std::uint16_t port_;
  std::string target_;
  HeaderList headers_;
  const std::vector<SupportConversation>& conversations_;
  Shared& shared_;
  ClientLog& log_;
  std::mt19937 rng_;
  WsClient ws_;
  // Per conversation, the n such that the client holds 1..n: its resume point. Not the highest seq seen,
  // which may lie beyond a gap (see CheckTraceOrder): resuming after it would skip the gap for good.
  std::map<int, std::int64_t> contiguous_;
};

// The order one connection received one conversation in. Before the subscribe takes effect, the live feed
// (accounts see their apps' conversations and customers their own without subscribing) may already deliver
// newer messages; the subscribe then replays from after_seq + 1. So the seqs are an increasing run of live
// feed, then a run that starts at after_seq + 1 and continues with no gap and no repeat. Empty when fine.
std::string CheckTraceOrder(const Trace& trace) {
  const std::vector<std::int64_t>& seqs = trace.seqs;
  std::size_t resume = seqs.size();
  for (std::size_t i = seqs.size(); i-- > 0;) {
    if (seqs[i] == trace.after_seq + 1) {
      resume = i;
      break;
    }
  }
  std::string error;
  for (std::size_t i = 0; i < resume; ++i) {
    if (seqs[i] <= trace.after_seq || (i > 0 && seqs[i] <= seqs[i - 1])) error = "the live feed before the resume";
  }
  for (std::size_t i = resume; i < seqs.size(); ++i) {
    if (seqs[i] != trace.after_seq + 1 + static_cast<std::int64_t>(i - resume)) error = "the resumed stream";
  }
  if (error.empty()) return error;
  std::string text = "connection " + std::to_string(trace.connection) + ", conversation " +
                     std::to_string(trace.conversation) + ", after_seq " + std::to_string(trace.after_seq) +
                     ": out of order in " + error + ":";
  for (std::int64_t seq : seqs) text += " " + std::to_string(seq);
  return text;
}

TEST_CASE("reconnect storm: 50 clients dropping and resuming with after_seq end with every seq exactly once",
          "[integration]") {
  // Delivery, not durability, is under test here; the per-principal connection cap (ws_limits_test) must not
  // refuse a reconnect while the server is still tearing down the connection it replaces.
  ServerProcess server({"--db-sync", "normal", "--ws-max-per-principal", "100"});
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "storm@example.com");
  std::vector<SupportConversation> conversations;
  for (int c = 0; c < kConversations; ++c) conversations.push_back(CreateSession(http, tenant, c));

  Shared shared;
  std::vector<ClientLog> clients;
  for (int c = 0; c < kConversations; ++c) {
    for (int k = 0; k < kCustomerClientsPerConversation; ++k) {
      ClientLog log;
      log.name = "customer " + std::to_string(c) + " tab " + std::to_string(k);
      log.conversations = {c};
      clients.push_back(std::move(log));
    }
  }
  for (int k = 0; k < kOwnerClients; ++k) {
    ClientLog log;
    log.name = "owner " + std::to_string(k);
    for (int c = 0; c < kConversations; ++c) log.conversations.push_back(c);
    clients.push_back(std::move(log));
  }

  const Clock::time_point deadline = Clock::now() + 60s;
  std::vector<std::thread> client_threads;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    client_threads.emplace_back([&, i] {
      ClientLog& log = clients[i];
      const bool owner = log.conversations.size() > 1;
      const std::string target =
          owner ? "/v1/ws"
                : "/v1/ws?token=" + conversations[static_cast<std::size_t>(log.conversations[0])].session_token;
      HeaderList headers;
      if (owner) headers.emplace_back("Authorization", "Bearer " + tenant.token);
      StormClient client(server.port(), target, headers, conversations, shared, log, static_cast<unsigned>(7 + i));
      client.Run(deadline);
    });
  }

  std::vector<SenderLog> senders(kSenders);
  {
    std::vector<std::thread> sender_threads;
    for (int s = 0; s < kSenders; ++s) {
      sender_threads.emplace_back(
          [&, s] { RunSender(server.port(), tenant, conversations, s, senders[static_cast<std::size_t>(s)]); });
    }
    for (std::thread& thread : sender_threads) thread.join();
  }

  // The store is the reference: every conversation's history, whose last seq the clients must reach.
  std::vector<std::vector<Json>> histories;
  for (const SupportConversation& conversation : conversations) {
    histories.push_back(History(http, tenant, conversation.id));
  }
  {
    std::lock_guard lock(shared.mutex);
    for (const auto& history : histories) shared.targets.push_back(static_cast<std::int64_t>(history.size()));
  }
  shared.final_phase.store(true, std::memory_order_release);
  for (std::thread& thread : client_threads) thread.join();

  // The senders: everything acknowledged, and the store holds exactly that, as 1..N per conversation.
  std::size_t acknowledged = 0;
  for (const SenderLog& log : senders) {
    for (const std::string& failure : log.failures) UNSCOPED_INFO("send failed: " << failure);
    CHECK(log.failures.empty());
    acknowledged += log.sent.size();
  }
  CHECK(acknowledged == kSenders * kMessagesPerSender);
  std::size_t stored = 0;
  for (int c = 0; c < kConversations; ++c) {
    const std::vector<Json>& history = histories[static_cast<std::size_t>(c)];
    stored += history.size();
    for (std::size_t i = 0; i < history.size(); ++i) {
      INFO("conversation " << c << " history[" << i << "] = " << history[i].dump());
      REQUIRE(history[i].value("seq", std::int64_t{-1}) == static_cast<std::int64_t>(i + 1));
    }
  }
  CHECK(stored == acknowledged);
  int mismatched_acks = 0;
  for (const SenderLog& log : senders) {
    for (const Sent& sent : log.sent) {
      const std::vector<Json>& history = histories[static_cast<std::size_t>(sent.conversation)];
      if (sent.seq < 1 || sent.seq > static_cast<std::int64_t>(history.size()) ||
          history[static_cast<std::size_t>(sent.seq - 1)].value("id", "") != sent.id ||
          history[static_cast<std::size_t>(sent.seq - 1)].value("text", "") != sent.text) {
        ++mismatched_acks;
      }
    }
  }
  CHECK(mismatched_acks == 0);

  // The clients. Threads are done: their logs are read here, and the first few findings of each kind are
  // reported with the check they fail.
  int connections = 0;
  int clean = 0;
  int fin = 0;
  int reset = 0;
  int too_few_connections = 0;
  std::vector<std::string> problems;
  std::vector<std::string> disorders;
  std::vector<std::string> incomplete;
  std::vector<std::string> wrong_content;
  for (const ClientLog& log : clients) {
    connections += log.connections;
    clean += log.clean_closes;
    fin += log.fin_drops;
    reset += log.reset_drops;
    if (log.connections < kMinConnections) ++too_few_connections;
    problems.insert(problems.end(), log.problems.begin(), log.problems.end());
    for (const Trace& trace : log.traces) {
      const std::string disorder = CheckTraceOrder(trace);
      if (!disorder.empty()) disorders.push_back(log.name + ": " + disorder);
    }
    for (int c : log.conversations) {
      const std::vector<Json>& history = histories[static_cast<std::size_t>(c)];
      auto found = log.received.find(c);
      const std::size_t got = found == log.received.end() ? 0 : found->second.size();
      // Keys of a map are distinct and sorted: holding exactly 1..N is "size N, first 1, last N".
      const bool complete = got == history.size() &&
                            (got == 0 || (found->second.begin()->first == 1 &&
                                          found->second.rbegin()->first == static_cast<std::int64_t>(got)));
      if (!complete) {
        incomplete.push_back(log.name + " holds " + std::to_string(got) + " distinct seqs of conversation " +
                             std::to_string(c) + " (of " + std::to_string(history.size()) + ")");
        continue;
      }
      for (const auto& [seq, content] : found->second) {
        const Json& stored_message = history[static_cast<std::size_t>(seq - 1)];
        if (content.first != stored_message.value("id", "") || content.second != stored_message.value("text", "")) {
          wrong_content.push_back(log.name + " got seq " + std::to_string(seq) + " as " + content.first);
        }
      }
    }
  }
  const auto first_few = [](const std::vector<std::string>& lines) {
    std::string text;
    for (std::size_t i = 0; i < lines.size() && i < 10; ++i) text += "\n  " + lines[i];
    if (lines.size() > 10) text += "\n  ... and " + std::to_string(lines.size() - 10) + " more";
    return text;
  };
  INFO(connections << " connections: " << clean << " closed cleanly, " << fin << " dropped with a bare FIN, "
                   << reset << " reset");
  CHECK(too_few_connections == 0);
  {
    INFO("problems:" << first_few(problems));
    CHECK(problems.empty());
  }
  {
    INFO("out of order:" << first_few(disorders));
    CHECK(disorders.empty());
  }
  {
    INFO("incomplete:" << first_few(incomplete));
    CHECK(incomplete.empty());
  }
  {
    INFO("not as stored:" << first_few(wrong_content));
    CHECK(wrong_content.empty());
  }
  CHECK(clean > 0);
  CHECK(fin > 0);
  CHECK(reset > 0);

  // The storm left the server healthy.
  HttpResult health = http.Request("GET", "/health");
  CHECK(health.status == 200);
  CHECK(server.running());
}

}  // namespace
}  // namespace libchat::testing_support
