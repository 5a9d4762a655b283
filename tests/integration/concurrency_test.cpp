// Concurrency: many clients write into ONE conversation at the same moment. Every write is acknowledged,
// sequence numbers are handed out exactly once each with no gap, and the conversation's last_seq agrees.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
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

struct Posted {
  std::int64_t seq = 0;
  std::string id;
  std::string text;
};

struct ClientLog {
  std::vector<Posted> posted;
  std::vector<std::string> failures;
};

TEST_CASE("concurrency: 8 clients x 100 messages into one conversation get distinct gapless seqs",
          "[integration]") {
  constexpr int kClients = 8;
  constexpr int kPerClient = 100;
  ServerProcess server;
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "busy@example.com");
  // The conversation exists before the burst; its first message is seq 1, so the burst takes 2..801.
  const CustomerSession customer = StartConversation(http, tenant, "opening message");

  // A live watcher: the owner's socket must see every message (at least once), in seq order.
  WsClient watcher;
  REQUIRE(watcher.Connect(server.port(), "/v1/ws", {{"Authorization", "Bearer " + tenant.token}}));
  auto hello = ReceiveJson(watcher);
  REQUIRE(hello.has_value());
  REQUIRE(IsType(*hello, "hello"));

  // The watcher reads on its own thread during the burst (a socket nobody reads would be a slow consumer).
  std::vector<std::int64_t> live;
  std::thread watcher_thread([&] {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (live.size() < kClients * kPerClient && std::chrono::steady_clock::now() < deadline) {
      auto frame = watcher.ReceiveText(5s);
      if (!frame) break;
      const Json parsed = Json::parse(*frame, nullptr, false);
      if (IsType(parsed, "message.created") && parsed["data"].is_object() &&
          parsed["data"].value("conversation_id", "") == customer.conversation_id) {
        live.push_back(parsed["data"].value("seq", std::int64_t{-1}));
      }
    }
  });

  std::vector<ClientLog> logs(kClients);
  std::mutex mutex;
  std::condition_variable go;
  int ready = 0;
  bool started = false;
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      HttpClient client(server.port());
      client.set_timeout(20s);
      // Connect before the start line so that the burst is really simultaneous.
      client.Request("GET", "/health");
      {
        std::unique_lock lock(mutex);
        ++ready;
        go.notify_all();
        go.wait(lock, [&] { return started; });
      }
      for (int n = 0; n < kPerClient; ++n) {
        const std::string text = "client " + std::to_string(c) + " message " + std::to_string(n);
        HttpResult sent;
        // Half the clients are the owner (team API), half the customer (SDK): both paths contend.
        if (c % 2 == 0) {
          sent = client.Request("POST", "/v1/conversations/" + customer.conversation_id + "/messages",
                                Json{{"text", text}}.dump(), Bearer(tenant.token));
        } else {
          sent = client.Request("POST", "/v1/sdk/messages",
                                Json{{"text", text}, {"conversation_id", customer.conversation_id}}.dump(),
                                ApiKey(tenant.publishable_key, customer.session_token));
        }
        const Json body = BodyJson(sent);
        if (sent.status != 201 || !body.is_object() || !body["message"].is_object() ||
            !body["message"]["seq"].is_number_integer()) {
          logs[c].failures.push_back(Describe(sent));
          continue;
        }
        const Json& message = body["message"];
        logs[c].posted.push_back(Posted{message["seq"].get<std::int64_t>(), message.value("id", ""), text});
      }
    });
  }
  {
    std::unique_lock lock(mutex);
    go.wait_for(lock, 20s, [&] { return ready == kClients; });
    started = true;
    go.notify_all();
  }
  for (std::thread& thread : threads) thread.join();
  watcher_thread.join();

  std::vector<std::int64_t> seqs;
  std::size_t failures = 0;
  for (int c = 0; c < kClients; ++c) {
    for (const std::string& failure : logs[c].failures) UNSCOPED_INFO("client " << c << ": " << failure);
    failures += logs[c].failures.size();
    // Within one client (sequential requests) seqs only grow.
    CHECK(std::is_sorted(logs[c].posted.begin(), logs[c].posted.end(),
                         [](const Posted& a, const Posted& b) { return a.seq < b.seq; }));
    for (const Posted& p : logs[c].posted) seqs.push_back(p.seq);
  }
  CHECK(failures == 0);
  REQUIRE(seqs.size() == kClients * kPerClient);
  std::sort(seqs.begin(), seqs.end());
  CHECK(std::adjacent_find(seqs.begin(), seqs.end()) == seqs.end());  // distinct
  CHECK(seqs.front() == 2);
  CHECK(seqs.back() == kClients * kPerClient + 1);  // distinct and in [2, 801] with 800 of them: gapless

  // The conversation agrees.
  const std::string conversation_path = "/v1/conversations/" + customer.conversation_id;
  HttpResult conversation = http.Request("GET", conversation_path, {}, Bearer(tenant.token));
  INFO(Describe(conversation));
  REQUIRE(conversation.status == 200);
  CHECK(BodyJson(conversation).value("last_seq", -1) == kClients * kPerClient + 1);

  // So does the stored history: every acknowledged (seq, id, text) is there.
  std::vector<Json> history;
  for (std::int64_t after = 0;;) {
    const std::string query = "/messages?limit=200&after_seq=" + std::to_string(after);
    HttpResult page = http.Request("GET", conversation_path + query, {}, Bearer(tenant.token));
    REQUIRE(page.status == 200);
    const Json data = BodyJson(page)["data"];
    REQUIRE(data.is_array());
    if (data.empty()) break;
    for (const Json& message : data) history.push_back(message);
    after = data.back().value("seq", after);
    if (history.size() > 2 * kClients * kPerClient) break;  // runaway guard
  }
  REQUIRE(history.size() == kClients * kPerClient + 1);
  int mismatched = 0;
  for (const ClientLog& log : logs) {
    for (const Posted& p : log.posted) {
      const Json& stored = history[static_cast<std::size_t>(p.seq - 1)];
      if (stored.value("seq", -1) != p.seq || stored.value("id", "") != p.id ||
          stored.value("text", "") != p.text) {
        ++mismatched;
      }
    }
  }
  CHECK(mismatched == 0);

  // The watcher saw every one of 2..801 live, in seq order (the contract allows repeats, not reordering).
  CHECK(std::is_sorted(live.begin(), live.end()));
  std::size_t repeats = live.size();
  live.erase(std::unique(live.begin(), live.end()), live.end());
  repeats -= live.size();
  if (repeats > 0) WARN(repeats << " message.created events were delivered twice");
  std::vector<std::int64_t> expected;
  for (std::int64_t s = 2; s <= kClients * kPerClient + 1; ++s) expected.push_back(s);
  CHECK(live == expected);
  watcher.Close();
}

}  // namespace
}  // namespace libchat::testing_support
