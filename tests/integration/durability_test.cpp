// Durability: a message acknowledged with 201 survives a SIGKILL of the server, and sequence numbers stay
// exactly 1..N (no gap, no duplicate) across the crash and restart.
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

struct Ack {
  std::string client_msg_id;
  std::string text;
  std::string message_id;
  std::int64_t seq = 0;
};

// What one posting thread saw. Catch2 assertions are not thread-safe: threads record, the main thread checks.
struct PosterLog {
  std::vector<Ack> acks;
  std::vector<std::string> failures;  // unexpected answers (status and body)
  int unanswered = 0;                 // requests that got no answer (expected only after the kill)
};

// Posts as `poster` into `conversation_id`: owners (even posters) through the team API with the account token,
// customers (odd posters) through the SDK with their session token, alternating paths on the server.
class Poster {
 public:
  Poster(std::uint16_t port, const Tenant& tenant, const CustomerSession& customer, int index)
      : http_(port), tenant_(tenant), customer_(customer), index_(index) {
    http_.set_timeout(10s);
  }

  // One message; false when the server did not answer (connection refused or reset: it is down).
  bool PostOne(int n, PosterLog& log) {
    Ack ack;
    ack.client_msg_id = "p" + std::to_string(index_) + "-" + std::to_string(n);
    ack.text = "message " + std::to_string(n) + " from poster " + std::to_string(index_);
    HttpResult sent;
    if (index_ % 2 == 0) {
      sent = http_.Request("POST", "/v1/conversations/" + customer_.conversation_id + "/messages",
                           Json{{"text", ack.text}, {"client_msg_id", ack.client_msg_id}}.dump(),
                           Bearer(tenant_.token));
    } else {
      sent = http_.Request("POST", "/v1/sdk/messages",
                           Json{{"text", ack.text},
                                {"conversation_id", customer_.conversation_id},
                                {"client_msg_id", ack.client_msg_id}}
                               .dump(),
                           ApiKey(tenant_.publishable_key, customer_.session_token));
    }
    if (sent.status == 0) {
      ++log.unanswered;
      return false;
    }
    const Json body = BodyJson(sent);
    if (sent.status != 201 || !body.is_object() || !body["message"].is_object() ||
        !body["message"]["seq"].is_number_integer()) {
      log.failures.push_back(Describe(sent));
      return true;
    }
    ack.seq = body["message"]["seq"].get<std::int64_t>();
    ack.message_id = body["message"].value("id", "");
    log.acks.push_back(std::move(ack));
    return true;
  }

 private:
  HttpClient http_;
  const Tenant& tenant_;
  const CustomerSession& customer_;
  int index_;
};

// Every message of the conversation, paged by after_seq.
std::vector<Json> ListAll(HttpClient& http, const Tenant& tenant, const std::string& conversation_id) {
  std::vector<Json> all;
  std::int64_t after = 0;
  for (int page = 0; page < 1000; ++page) {
    HttpResult listed = http.Request("GET",
                                     "/v1/conversations/" + conversation_id + "/messages?limit=200&after_seq=" +
                                         std::to_string(after),
                                     {}, Bearer(tenant.token));
    INFO(Describe(listed));
    REQUIRE(listed.status == 200);
    const Json body = BodyJson(listed);
    REQUIRE(body["data"].is_array());
    for (const Json& message : body["data"]) all.push_back(message);
    if (body["data"].empty()) break;
    after = body["data"].back().value("seq", after);
    if (!body.value("has_more", false)) break;
  }
  return all;
}

// Checks the stored history against the acknowledgements: seqs are exactly 1..size, every ack is there with
// its seq, id and text, and no client_msg_id appears twice.
void CheckHistory(const std::vector<Json>& history, const std::vector<Ack>& acks) {
  std::vector<std::int64_t> seqs;
  std::map<std::int64_t, const Json*> by_seq;
  std::set<std::string> client_ids;
  int duplicate_client_ids = 0;
  for (const Json& message : history) {
    const std::int64_t seq = message.value("seq", -1);
    seqs.push_back(seq);
    by_seq[seq] = &message;
    const Json& client_msg_id = message["client_msg_id"];
    if (client_msg_id.is_string() && !client_ids.insert(client_msg_id.get<std::string>()).second) {
      ++duplicate_client_ids;
    }
  }
  std::vector<std::int64_t> expected;
  for (std::int64_t s = 1; s <= static_cast<std::int64_t>(history.size()); ++s) expected.push_back(s);
  CHECK(seqs == expected);
  CHECK(duplicate_client_ids == 0);

  int missing = 0;
  int mismatched = 0;
  for (const Ack& ack : acks) {
    auto it = by_seq.find(ack.seq);
    if (it == by_seq.end()) {
      ++missing;
      UNSCOPED_INFO("acknowledged seq " << ack.seq << " (" << ack.client_msg_id << ") is missing");
      continue;
    }
    const Json& stored = *it->second;
    if (stored.value("id", "") != ack.message_id || stored.value("text", "") != ack.text ||
        stored.value("client_msg_id", Json()) != ack.client_msg_id) {
      ++mismatched;
      UNSCOPED_INFO("seq " << ack.seq << " acknowledged as " << ack.client_msg_id << " but stored as "
                           << stored.dump());
    }
  }
  CHECK(missing == 0);
  CHECK(mismatched == 0);
}

void CheckAcks(const std::vector<PosterLog>& logs, std::vector<Ack>& all_acks) {
  std::set<std::int64_t> seqs;
  int duplicates = 0;
  for (const PosterLog& log : logs) {
    for (const std::string& failure : log.failures) UNSCOPED_INFO("unexpected answer: " << failure);
    CHECK(log.failures.empty());
    for (const Ack& ack : log.acks) {
      if (!seqs.insert(ack.seq).second) ++duplicates;
      all_acks.push_back(ack);
    }
  }
  CHECK(duplicates == 0);  // two 201s never share a seq
}

TEST_CASE("durability: every acknowledged message survives SIGKILL and seqs stay 1..N", "[integration]") {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;  // N = 200 posted, plus the customer's first message (seq 1)
  ServerProcess server;
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "durable@example.com");
  const CustomerSession customer = StartConversation(http, tenant, "first");

  std::vector<PosterLog> logs(kThreads);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Poster poster(server.port(), tenant, customer, t);
        for (int n = 0; n < kPerThread; ++n) {
          if (!poster.PostOne(n, logs[t])) break;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  std::vector<Ack> acks;
  CheckAcks(logs, acks);
  for (const PosterLog& log : logs) CHECK(log.unanswered == 0);
  REQUIRE(acks.size() == kThreads * kPerThread);
  Ack first;
  first.client_msg_id = "";
  first.seq = 1;
  first.text = "first";
  first.message_id = customer.first_message.value("id", "");

  // Right after the last acknowledgement: no graceful anything.
  server.Kill(SIGKILL);
  REQUIRE(server.last_exit().has_value());
  CHECK(server.last_exit()->signal == SIGKILL);
  INFO(server.error());
  REQUIRE(server.Restart());

  HttpClient after(server.port());
  const std::vector<Json> history = ListAll(after, tenant, customer.conversation_id);
  CHECK(history.size() == kThreads * kPerThread + 1);
  CheckHistory(history, acks);
  REQUIRE(!history.empty());
  CHECK(history.front().value("id", "") == first.message_id);
  CHECK(history.front().value("text", "") == "first");

  // The conversation agrees, and the next message continues the sequence.
  HttpResult conversation =
      after.Request("GET", "/v1/conversations/" + customer.conversation_id, {}, Bearer(tenant.token));
  INFO(Describe(conversation));
  REQUIRE(conversation.status == 200);
  CHECK(BodyJson(conversation).value("last_seq", -1) == kThreads * kPerThread + 1);
  HttpResult next = after.Request("POST", "/v1/conversations/" + customer.conversation_id + "/messages",
                                  Json{{"text", "after the crash"}}.dump(), Bearer(tenant.token));
  INFO(Describe(next));
  REQUIRE(next.status == 201);
  CHECK(BodyJson(next)["message"].value("seq", -1) == kThreads * kPerThread + 2);

  // A retry of an acknowledged client_msg_id is still recognised after the restart: the original, with 200.
  const Ack& sample = acks.front();
  HttpResult retry;
  if (sample.client_msg_id.rfind("p0-", 0) == 0 || sample.client_msg_id.rfind("p2-", 0) == 0) {
    retry = after.Request("POST", "/v1/conversations/" + customer.conversation_id + "/messages",
                          Json{{"text", sample.text}, {"client_msg_id", sample.client_msg_id}}.dump(),
                          Bearer(tenant.token));
  } else {
    const Json body = {{"text", sample.text},
                       {"conversation_id", customer.conversation_id},
                       {"client_msg_id", sample.client_msg_id}};
    retry = after.Request("POST", "/v1/sdk/messages", body.dump(),
                          ApiKey(tenant.publishable_key, customer.session_token));
  }
  INFO(Describe(retry));
  CHECK(retry.status == 200);
  CHECK(BodyJson(retry)["message"].value("seq", -1) == sample.seq);
  CHECK(BodyJson(retry)["message"].value("id", "") == sample.message_id);
}

TEST_CASE("durability: SIGKILL in the middle of concurrent writes loses nothing acknowledged", "[integration]") {
  constexpr int kThreads = 4;
  constexpr int kKillAfter = 120;  // acknowledgements before the kill
  ServerProcess server;
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "crash@example.com");
  const CustomerSession customer = StartConversation(http, tenant, "first");

  std::vector<PosterLog> logs(kThreads);
  std::atomic<int> acknowledged{0};
  std::atomic<bool> stop{false};
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Poster poster(server.port(), tenant, customer, t);
        // Posts until the server is gone (bounded, in case the kill never comes).
        for (int n = 0; n < 2000 && !stop.load(); ++n) {
          const std::size_t before = logs[t].acks.size();
          if (!poster.PostOne(n, logs[t])) break;
          if (logs[t].acks.size() > before) acknowledged.fetch_add(1);
        }
      });
    }
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (acknowledged.load() < kKillAfter && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    server.Kill(SIGKILL);  // requests are in flight on every thread
    stop.store(true);
    for (std::thread& thread : threads) thread.join();
  }
  std::vector<Ack> acks;
  CheckAcks(logs, acks);
  REQUIRE(acks.size() >= kKillAfter);

  INFO(server.error());
  REQUIRE(server.Restart());
  HttpClient after(server.port());
  const std::vector<Json> history = ListAll(after, tenant, customer.conversation_id);
  // Unacknowledged requests may or may not have committed, but the sequence has no hole either way.
  CHECK(history.size() >= acks.size() + 1);
  CheckHistory(history, acks);
}

}  // namespace
}  // namespace libchat::testing_support
