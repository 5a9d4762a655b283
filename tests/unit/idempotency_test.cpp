// Idempotency-Key (server/api/idempotency.h): the cache on its own (replay, mismatch, in-flight claims across
// threads, TTL with an injected clock, bounds, non-final responses, scoping), then through Api::Handle.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api_test_util.h"
#include "catch.h"
#include "server/api/idempotency.h"

namespace libchat::test {
namespace {

using server::api::IdempotencyCache;
using server::api::IdempotencyOptions;
using server::api::IdempotencyScopeKey;
using server::api::RequestFingerprint;
using Outcome = IdempotencyCache::Outcome;
using SteadyTime = std::chrono::steady_clock::time_point;

Response MakeResponse(int status, std::string body) {
  Response response;
  response.status = status;
  response.headers = {{"Content-Type", "application/json"},
                      {"X-Request-Id", "req-original"},
                      {"RateLimit-Remaining", "41"},
                      {"Location", "/v1/apps/app_1"}};
  response.body = std::move(body);
  return response;
}

// Runs `status` through a fresh claim of `key` and returns what a retry then sees.
Outcome CompleteAndRetry(IdempotencyCache& cache, const std::string& key, int status) {
  {
    IdempotencyCache::Ticket ticket = cache.Begin(key, "fp");
    REQUIRE(ticket.outcome() == Outcome::kRun);
    ticket.Complete(MakeResponse(status, "{}"));
  }
  return cache.Begin(key, "fp").outcome();
}

// A manually advanced clock for the TTL.
struct TestTime {
  std::shared_ptr<SteadyTime> now = std::make_shared<SteadyTime>(std::chrono::steady_clock::now());
  std::function<SteadyTime()> Clock() const {
    auto shared = now;
    return [shared] { return *shared; };
  }
};

// ---------------------------------------------------------------------------
// The cache

TEST_CASE("idempotency: a retry with the same request replays the stored response", "[idempotency]") {
  IdempotencyCache cache;
  {
    IdempotencyCache::Ticket first = cache.Begin("k1", "fp-a");
    REQUIRE(first.outcome() == Outcome::kRun);
    first.Complete(MakeResponse(201, R"({"id":"app_1"})"));
  }
  CHECK(cache.size() == 1);
  CHECK(cache.bytes() > 0);

  IdempotencyCache::Ticket retry = cache.Begin("k1", "fp-a");
  REQUIRE(retry.outcome() == Outcome::kReplay);
  const Response& stored = retry.stored();
  CHECK(stored.status == 201);
  CHECK(stored.body == R"({"id":"app_1"})");
  CHECK(ResponseHeader(stored, "Content-Type") != nullptr);
  CHECK(ResponseHeader(stored, "Location") != nullptr);
  // Per-request headers are not part of the result.
  CHECK(ResponseHeader(stored, "X-Request-Id") == nullptr);
  CHECK(ResponseHeader(stored, "RateLimit-Remaining") == nullptr);

  // Replays do not use the entry up.
  CHECK(cache.Begin("k1", "fp-a").outcome() == Outcome::kReplay);
  // Another key is another request.
  CHECK(cache.Begin("k2", "fp-a").outcome() == Outcome::kRun);
}

TEST_CASE("idempotency: the same key with another request is a mismatch", "[idempotency]") {
  IdempotencyCache cache;
  IdempotencyCache::Ticket first = cache.Begin("k", "fp-a");
  REQUIRE(first.outcome() == Outcome::kRun);
  CHECK(cache.Begin("k", "fp-b").outcome() == Outcome::kMismatch);  // while in flight
  first.Complete(MakeResponse(201, "{}"));
  CHECK(cache.Begin("k", "fp-b").outcome() == Outcome::kMismatch);  // once stored
  CHECK(cache.Begin("k", "fp-a").outcome() == Outcome::kReplay);    // the original still replays
}

TEST_CASE("idempotency: a key in flight on one thread is refused on another, then replayed", "[idempotency]") {
  IdempotencyCache cache;
  std::mutex mu;
  std::condition_variable cv;
  bool claimed = false;
  bool checked = false;
  Outcome first_outcome = Outcome::kMismatch;

  std::thread first([&] {
    IdempotencyCache::Ticket ticket = cache.Begin("k", "fp");
    first_outcome = ticket.outcome();
    std::unique_lock<std::mutex> lock(mu);
    claimed = true;
    cv.notify_all();
    cv.wait(lock, [&] { return checked; });  // "still running" until the other thread has looked
    ticket.Complete(MakeResponse(201, "done"));
  });
  Outcome second_outcome;
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return claimed; });
    second_outcome = cache.Begin("k", "fp").outcome();
    checked = true;
    cv.notify_all();
  }
  first.join();
  CHECK(first_outcome == Outcome::kRun);
  CHECK(second_outcome == Outcome::kInProgress);
  IdempotencyCache::Ticket after = cache.Begin("k", "fp");
  REQUIRE(after.outcome() == Outcome::kReplay);
  CHECK(after.stored().body == "done");
}

TEST_CASE("idempotency: of many threads racing for one key exactly one runs", "[idempotency]") {
  IdempotencyCache cache;
  constexpr int kThreads = 8;
  std::atomic<int> runs{0};
  std::atomic<int> refused{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      IdempotencyCache::Ticket ticket = cache.Begin("k", "fp");
      if (ticket.outcome() == Outcome::kRun) {
        ++runs;
        ticket.Complete(MakeResponse(201, "{}"));
      } else if (ticket.outcome() == Outcome::kInProgress || ticket.outcome() == Outcome::kReplay) {
        ++refused;
      }
    });
  }
  go = true;
  for (std::thread& thread : threads) thread.join();
  CHECK(runs.load() == 1);
  CHECK(refused.load() == kThreads - 1);
}

TEST_CASE("idempotency: stored responses expire after the TTL", "[idempotency]") {
  TestTime time;
  IdempotencyOptions options;
  options.ttl = std::chrono::hours(24);
  options.now = time.Clock();
  IdempotencyCache cache(options);
  {
    IdempotencyCache::Ticket ticket = cache.Begin("k", "fp");
    REQUIRE(ticket.outcome() == Outcome::kRun);
    ticket.Complete(MakeResponse(201, "{}"));
  }
  *time.now += std::chrono::hours(24) - std::chrono::seconds(1);
  CHECK(cache.Begin("k", "fp").outcome() == Outcome::kReplay);
  CHECK(cache.Begin("k", "other").outcome() == Outcome::kMismatch);
  *time.now += std::chrono::seconds(1);
  CHECK(cache.Begin("k", "other").outcome() == Outcome::kRun);  // forgotten: any request may use the key now
  CHECK(cache.size() == 0);
  CHECK(cache.bytes() == 0);
}

TEST_CASE("idempotency: the entry bound evicts the oldest first", "[idempotency]") {
  IdempotencyOptions options;
  options.max_entries = 3;
  IdempotencyCache cache(options);
  for (const char* key : {"a", "b", "c", "d"}) {
    IdempotencyCache::Ticket ticket = cache.Begin(key, "fp");
    REQUIRE(ticket.outcome() == Outcome::kRun);
    ticket.Complete(MakeResponse(201, "{}"));
  }
  CHECK(cache.size() == 3);
  CHECK(cache.Begin("b", "fp").outcome() == Outcome::kReplay);
  CHECK(cache.Begin("c", "fp").outcome() == Outcome::kReplay);
  CHECK(cache.Begin("d", "fp").outcome() == Outcome::kReplay);
  CHECK(cache.Begin("a", "fp").outcome() == Outcome::kRun);  // evicted
}

TEST_CASE("idempotency: the byte bound evicts the oldest first and refuses what cannot fit", "[idempotency]") {
  IdempotencyOptions options;
  options.max_bytes = 12'000;
  IdempotencyCache cache(options);
  const std::string body(3'000, 'x');
  for (int i = 0; i < 5; ++i) {
    IdempotencyCache::Ticket ticket = cache.Begin("key-" + std::to_string(i), "fp");
    REQUIRE(ticket.outcome() == Outcome::kRun);
    ticket.Complete(MakeResponse(201, body));
    CHECK(cache.bytes() <= options.max_bytes);
  }
  CHECK(cache.size() == 3);  // 3 x (3000 + overhead) fit in 12000; 4 do not
  CHECK(cache.Begin("key-0", "fp").outcome() == Outcome::kRun);
  CHECK(cache.Begin("key-1", "fp").outcome() == Outcome::kRun);
  CHECK(cache.Begin("key-4", "fp").outcome() == Outcome::kReplay);

  // A response larger than the whole budget is not kept (and evicts nothing).
  const std::size_t before = cache.size();
  IdempotencyCache::Ticket huge = cache.Begin("huge", "fp");
  REQUIRE(huge.outcome() == Outcome::kRun);
  huge.Complete(MakeResponse(201, std::string(20'000, 'y')));
  CHECK(cache.size() == before);
  CHECK(cache.Begin("huge", "fp").outcome() == Outcome::kRun);
  CHECK(cache.Begin("key-4", "fp").outcome() == Outcome::kReplay);
}

TEST_CASE("idempotency: 5xx and 429 are not stored, and neither is an abandoned run", "[idempotency]") {
  IdempotencyCache cache;
  CHECK(CompleteAndRetry(cache, "k500", 500) == Outcome::kRun);
  CHECK(CompleteAndRetry(cache, "k503", 503) == Outcome::kRun);
  CHECK(CompleteAndRetry(cache, "k429", 429) == Outcome::kRun);
  // Final outcomes, errors included, are stored.
  CHECK(CompleteAndRetry(cache, "k201", 201) == Outcome::kReplay);
  CHECK(CompleteAndRetry(cache, "k400", 400) == Outcome::kReplay);
  CHECK(CompleteAndRetry(cache, "k404", 404) == Outcome::kReplay);
  // A handler that threw never completes its ticket: the key is free again.
  { IdempotencyCache::Ticket abandoned = cache.Begin("thrown", "fp"); }
  CHECK(cache.Begin("thrown", "other-fp").outcome() == Outcome::kRun);
}

TEST_CASE("idempotency: keys are scoped by principal", "[idempotency]") {
  Principal alice;
  alice.type = PrincipalType::kAccount;
  alice.id = "acc_alice";
  Principal bob = alice;
  bob.id = "acc_bob";
  Principal server;
  server.type = PrincipalType::kAppServer;
  server.id = "app_1";
  server.app_id = AppId("app_1");
  Principal widget = server;
  widget.type = PrincipalType::kPublishable;
  Principal other_app = server;
  other_app.id = "app_2";
  other_app.app_id = AppId("app_2");

  const std::vector<Principal> principals = {alice, bob, server, widget, other_app};
  std::vector<std::string> keys;
  for (const Principal& principal : principals) keys.push_back(IdempotencyScopeKey(principal, "same-key"));
  std::sort(keys.begin(), keys.end());
  CHECK(std::unique(keys.begin(), keys.end()) == keys.end());
  CHECK(IdempotencyScopeKey(alice, "same-key") == IdempotencyScopeKey(alice, "same-key"));
  CHECK(IdempotencyScopeKey(alice, "a") != IdempotencyScopeKey(alice, "b"));

  IdempotencyCache cache;
  {
    IdempotencyCache::Ticket ticket = cache.Begin(IdempotencyScopeKey(alice, "same-key"), "fp");
    REQUIRE(ticket.outcome() == Outcome::kRun);
    ticket.Complete(MakeResponse(201, "alice's"));
  }
  CHECK(cache.Begin(IdempotencyScopeKey(bob, "same-key"), "fp").outcome() == Outcome::kRun);
  CHECK(cache.Begin(IdempotencyScopeKey(alice, "same-key"), "fp").outcome() == Outcome::kReplay);
}

TEST_CASE("idempotency: the fingerprint covers method, path, query and body", "[idempotency]") {
  const Request base = MakeRequest("POST", "/v1/apps?x=1", R"({"name":"A"})");
  const std::string fp = RequestFingerprint(base);
  CHECK(fp.size() == 32);
  CHECK(RequestFingerprint(MakeRequest("POST", "/v1/apps?x=1", R"({"name":"A"})")) == fp);
  CHECK(RequestFingerprint(MakeRequest("PUT", "/v1/apps?x=1", R"({"name":"A"})")) != fp);
  CHECK(RequestFingerprint(MakeRequest("POST", "/v1/appz?x=1", R"({"name":"A"})")) != fp);
  CHECK(RequestFingerprint(MakeRequest("POST", "/v1/apps?x=2", R"({"name":"A"})")) != fp);
  CHECK(RequestFingerprint(MakeRequest("POST", "/v1/apps?x=1", R"({"name":"B"})")) != fp);
  // Parts are framed: moving bytes from one part to the next is another request.
  CHECK(RequestFingerprint(MakeRequest("POST", "/v1/apps?ab", "")) !=
        RequestFingerprint(MakeRequest("POST", "/v1/apps?a", "b")));
}

// ---------------------------------------------------------------------------
// Through the API

Header Key(std::string value) { return {"Idempotency-Key", std::move(value)}; }

std::size_t CountApps(ApiHarness& h, const ApiHarness::AccountHandle& owner) {
  Response list = h.Get("/v1/apps?limit=200", {Bearer(owner.token)});
  REQUIRE(list.status == 200);
  return BodyJson(list)["data"].size();
}

TEST_CASE("api idempotency: POST /v1/apps retried with the same key creates one app", "[api][idempotency]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  const Json body = {{"name", "Acme Support"}};

  Response first = h.Send("POST", "/v1/apps", body, {Bearer(owner.token), Key("create-app-1")});
  REQUIRE(first.status == 201);
  CHECK(ResponseHeader(first, "Idempotent-Replayed") == nullptr);
  Response retry = h.Send("POST", "/v1/apps", body, {Bearer(owner.token), Key("create-app-1")});
  REQUIRE(retry.status == 201);
  const std::string* replayed = ResponseHeader(retry, "Idempotent-Replayed");
  CHECK((replayed != nullptr && *replayed == "true"));
  CHECK(retry.body == first.body);  // the same app, the same (shown-once) keys
  CHECK(BodyJson(retry)["app"]["id"] == BodyJson(first)["app"]["id"]);
  CHECK(*ResponseHeader(retry, "X-Request-Id") != *ResponseHeader(first, "X-Request-Id"));
  CHECK(CountHeader(retry, "Content-Type") == 1);
  CHECK(CountApps(h, owner) == 1);

  SECTION("the same key with another body is 422 idempotency_mismatch") {
    Response other =
        h.Send("POST", "/v1/apps", Json{{"name", "Acme Sales"}}, {Bearer(owner.token), Key("create-app-1")});
    CHECK(other.status == 422);
    CHECK(ErrorCode(other) == "idempotency_mismatch");  // Call checked the rest of the error shape
    CHECK(CountApps(h, owner) == 1);
  }
  SECTION("another principal with the same key gets its own app") {
    auto stranger = h.Register("stranger@example.com");
    Response theirs = h.Send("POST", "/v1/apps", body, {Bearer(stranger.token), Key("create-app-1")});
    REQUIRE(theirs.status == 201);
    CHECK(ResponseHeader(theirs, "Idempotent-Replayed") == nullptr);
    CHECK(BodyJson(theirs)["app"]["id"] != BodyJson(first)["app"]["id"]);
    CHECK(BodyJson(theirs)["app"]["account_id"] == stranger.id);
    CHECK(CountApps(h, stranger) == 1);
    CHECK(CountApps(h, owner) == 1);
  }
  SECTION("without the header nothing is deduplicated") {
    CHECK(h.Send("POST", "/v1/apps", body, {Bearer(owner.token)}).status == 201);
    CHECK(h.Send("POST", "/v1/apps", body, {Bearer(owner.token)}).status == 201);
    CHECK(CountApps(h, owner) == 3);
  }
  SECTION("the replay header is exposed to allowed browser origins") {
    Response cors = h.Send("POST", "/v1/apps", body,
                           {Bearer(owner.token), Key("create-app-1"), {"Origin", "https://app.example.com"}});
    REQUIRE(cors.status == 201);
    const std::string* exposed = ResponseHeader(cors, "Access-Control-Expose-Headers");
    REQUIRE(exposed != nullptr);
    CHECK(exposed->find("Idempotent-Replayed") != std::string::npos);
    CHECK(CountHeader(cors, "Access-Control-Allow-Origin") == 1);
  }
}

TEST_CASE("api idempotency: POST messages with a key appends one message", "[api][idempotency]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  auto app = h.CreateApp(owner);
  auto sdk = h.FirstMessage(app);
  const std::string path = "/v1/conversations/" + sdk.conversation_id + "/messages";
  const Json reply = {{"text", "Hi! Let me check."}};

  Response first = h.Send("POST", path, reply, {Bearer(owner.token), Key("reply-1")});
  REQUIRE(first.status == 201);
  Response retry = h.Send("POST", path, reply, {Bearer(owner.token), Key("reply-1")});
  REQUIRE(retry.status == 201);
  CHECK(ResponseHeader(retry, "Idempotent-Replayed") != nullptr);
  CHECK(BodyJson(retry)["message"]["id"] == BodyJson(first)["message"]["id"]);
  CHECK(retry.body == first.body);

  Response history = h.Get(path, {Bearer(owner.token)});
  REQUIRE(history.status == 200);
  const Json messages = BodyJson(history)["data"];
  REQUIRE(messages.size() == 2);  // the customer's first message and one reply
  CHECK(messages[1]["text"] == "Hi! Let me check.");

  // The app server and the customer are other principals: the same key is theirs to use.
  Response as_server = h.Send("POST", path, reply, {ApiKey(app.secret_key), Key("reply-1")});
  CHECK(as_server.status == 201);
  CHECK(ResponseHeader(as_server, "Idempotent-Replayed") == nullptr);
}

TEST_CASE("api idempotency: a publishable key's first message is deduplicated, and its key must be long",
          "[api][idempotency]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  auto app = h.CreateApp(owner);
  const Json first_message = {{"text", "Where is my order?"}};
  // Everyone holding the public key shares its scope: a guessable key is refused before anything runs.
  Response short_key = h.Send("POST", "/v1/sdk/messages", first_message, {ApiKey(app.publishable_key), Key("k1")});
  CHECK(short_key.status == 400);
  const std::string uuid = "0b8e8f1e-5c1a-4c55-9a53-3f7c2f1d9e21";
  Response first = h.Send("POST", "/v1/sdk/messages", first_message, {ApiKey(app.publishable_key), Key(uuid)});
  REQUIRE(first.status == 201);
  Response retry = h.Send("POST", "/v1/sdk/messages", first_message, {ApiKey(app.publishable_key), Key(uuid)});
  REQUIRE(retry.status == 201);
  CHECK(ResponseHeader(retry, "Idempotent-Replayed") != nullptr);
  CHECK(BodyJson(retry)["conversation_id"] == BodyJson(first)["conversation_id"]);
  Response inbox = h.Get("/v1/apps/" + app.id + "/conversations", {Bearer(owner.token)});
  REQUIRE(inbox.status == 200);
  CHECK(BodyJson(inbox)["data"].size() == 1);  // one customer, one conversation, despite the retry
}

TEST_CASE("api idempotency: key validation, errors replayed with their own request id, scope of the hook",
          "[api][idempotency]") {
  ApiHarness h;
  auto owner = h.Register("owner@example.com");
  const Json body = {{"name", "Acme"}};

  CHECK(ErrorCode(h.Send("POST", "/v1/apps", body, {Bearer(owner.token), Key("")})) == "invalid_argument");
  CHECK(h.Send("POST", "/v1/apps", body, {Bearer(owner.token), Key(std::string(256, 'k'))}).status == 400);
  CHECK(h.Send("POST", "/v1/apps", body, {Bearer(owner.token), Key(std::string(255, 'k'))}).status == 201);
  CHECK(CountApps(h, owner) == 1);

  // A final error is replayed too, naming the retry's request id (ApiHarness::Call checks the body's id).
  Response bad = h.Send("POST", "/v1/apps", Json{{"name", 7}}, {Bearer(owner.token), Key("bad")});
  REQUIRE(bad.status == 400);
  Response bad_again = h.Send("POST", "/v1/apps", Json{{"name", 7}}, {Bearer(owner.token), Key("bad")});
  CHECK(bad_again.status == 400);
  CHECK(ResponseHeader(bad_again, "Idempotent-Replayed") != nullptr);
  CHECK(BodyJson(bad_again)["error"]["message"] == BodyJson(bad)["error"]["message"]);

  // Unauthenticated requests never reach the cache: 401 every time, and the key stays usable.
  CHECK(h.Send("POST", "/v1/apps", body, {Key("k-401")}).status == 401);
  CHECK(h.Send("POST", "/v1/apps", body, {Bearer(owner.token), Key("k-401")}).status == 201);

  // Routes without authentication (register) ignore the header.
  const Json account = {{"email", "new@example.com"}, {"password", "correct horse battery"}, {"name", "N"}};
  CHECK(h.Send("POST", "/v1/auth/register", account, {Key("reg")}).status == 201);
  CHECK(h.Send("POST", "/v1/auth/register", account, {Key("reg")}).status == 409);
}

// A store that can hold the first CreateApp after Close, to keep a request "in flight" while another one
// arrives. Later calls pass, so a second run (the bug under test) shows up as a second app, not a deadlock.
class GatedStore : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  Status CreateApp(const StoredApp& app) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (gate_ && !entered_) {
        entered_ = true;
        cv_.notify_all();
        cv_.wait(lock, [&] { return !gate_; });
      }
    }
    return ForwardingStore::CreateApp(app);
  }

  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    gate_ = true;
  }
  void WaitUntilEntered() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    gate_ = false;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool gate_ = false;
  bool entered_ = false;
};

TEST_CASE("api idempotency: a retry while the first request runs is 409 and does not run twice",
          "[api][idempotency]") {
  auto store = std::make_shared<GatedStore>(testing::NewMemoryStore());
  Options options;
  options.store = store;
  options.clock = std::make_shared<testing::FakeClock>();
  options.jwt_secret = kTestJwtSecret;
  options.password_hashing.memory_kib = 8192;
  options.password_hashing.iterations = 1;
  auto opened = Chat::Open(std::move(options));
  REQUIRE(opened.ok());
  std::unique_ptr<Chat> chat = std::move(opened).value();
  server::Api api(*chat, ApiHarness::DefaultApiOptions());

  Response registered = api.Handle(
      MakeRequest("POST", "/v1/auth/register",
                  Json{{"email", "o@example.com"}, {"password", "correct horse battery"}, {"name", "O"}}.dump()),
      "req-register");
  REQUIRE(registered.status == 201);
  const Header owner = Bearer(BodyJson(registered)["token"].get<std::string>());
  const Request create = MakeRequest("POST", "/v1/apps", R"({"name":"Acme"})", {owner, Key("slow")});

  store->Close();
  Response first;
  std::thread runner([&] { first = api.Handle(create, "req-first"); });
  store->WaitUntilEntered();
  const Response concurrent = api.Handle(create, "req-concurrent");
  store->Open();
  runner.join();

  CHECK(first.status == 201);
  CHECK(concurrent.status == 409);
  CHECK(ErrorCode(concurrent) == "conflict");
  CHECK(BodyJson(concurrent)["error"]["request_id"] == "req-concurrent");
  CHECK(ResponseHeader(concurrent, "Retry-After") != nullptr);

  const Response after = api.Handle(create, "req-after");
  CHECK(after.status == 201);
  CHECK(after.body == first.body);
  CHECK(ResponseHeader(after, "Idempotent-Replayed") != nullptr);
  const Response list = api.Handle(MakeRequest("GET", "/v1/apps", "", {owner}), "req-list");
  REQUIRE(list.status == 200);
  CHECK(BodyJson(list)["data"].size() == 1);
}

}  // namespace
}  // namespace libchat::test
