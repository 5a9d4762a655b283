// Rate limits in the core: the token buckets themselves (core/rate_limiter.h) and the facade's
// Chat::ChargeRequest / Chat::ChargeSend with Options::rate_limits, per-app overrides (App::limits) and the
// fake clock. Time only moves when a test moves it, so every budget is exact.
#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "catch.h"
#include "chat_test_util.h"
#include "core/rate_limiter.h"
#include "libchat/chat.h"
#include "libchat/testing/fake_clock.h"
#include "store_test_util.h"

namespace libchat::test {
namespace {

using namespace std::chrono_literals;
using internal::BucketPolicy;
using internal::RateLimiter;

const Timestamp kT0 = Timestamp(std::chrono::milliseconds(1767225600000));

// A Chat with rate limits over a fresh store of `Backend`, with helpers that REQUIRE every setup step.
template <typename Backend>
class LimitHarness {
 public:
  explicit LimitHarness(RateLimitOptions limits) : clock_(std::make_shared<testing::FakeClock>()), limits_(limits) {
    chat_ = Open();
    AuthSession session = LIBCHAT_VALUE(chat_->Register(RegisterRequest{"owner@example.com", kChatTestPassword, "O"}));
    owner = LIBCHAT_VALUE(chat_->Authenticate(BearerCredentials(session.token)));
  }

  // Another Chat over the same store and clock, as after a restart (its caches and buckets start empty).
  std::unique_ptr<Chat> Open() {
    Options options = ChatTestOptions(backend_.shared(), clock_);
    options.rate_limits = limits_;
    return LIBCHAT_VALUE(Chat::Open(std::move(options)));
  }

  Chat& chat() { return *chat_; }
  testing::FakeClock& clock() { return *clock_; }

  // An app (optionally with its own limits) and its publishable-key principal.
  std::pair<App, Principal> CreateApp(std::optional<AppLimits> limits = std::nullopt) {
    AppCreate request;
    request.name = "Support";
    request.limits = limits;
    CreatedApp created = LIBCHAT_VALUE(chat_->CreateApp(owner, request));
    return {created.app, LIBCHAT_VALUE(chat_->Authenticate(KeyCredentials(created.app.publishable_key)))};
  }

  // A customer of `app` with a session (created through the SDK, which the limits in this file do not charge:
  // only transports call ChargeRequest / ChargeSend).
  Principal Customer(const App& app) {
    const Principal publishable = LIBCHAT_VALUE(chat_->Authenticate(KeyCredentials(app.publishable_key)));
    SdkSendRequest request;
    request.message = TextMessage("hello");
    SendResult sent = LIBCHAT_VALUE(chat_->SdkSendMessage(publishable, request));
    return LIBCHAT_VALUE(chat_->Authenticate(KeyCredentials(app.publishable_key, sent.session_token)));
  }

  Principal owner;

 private:
  Backend backend_;
  std::shared_ptr<testing::FakeClock> clock_;
  RateLimitOptions limits_;
  std::unique_ptr<Chat> chat_;
};

RateLimitOptions AppLimit(double per_s, std::int64_t burst = 0) {
  RateLimitOptions options;
  options.app_requests_per_s = per_s;
  options.app_burst = burst;
  return options;
}

// Charges until the first refusal (at most `cap` times); returns how many were allowed.
int AllowedBeforeRefusal(Chat& chat, const Principal& principal, int cap = 10000) {
  for (int i = 0; i < cap; ++i) {
    if (!chat.ChargeRequest(principal).allowed) return i;
  }
  return cap;
}

// ---------------------------------------------------------------------------
// The buckets

TEST_CASE("rate limiter: a bucket allows exactly its capacity, then refuses with the wait for one token",
          "[rate_limit]") {
  RateLimiter limiter;
  const BucketPolicy policy{2.0, 5};  // 2 per second, burst 5
  for (int i = 0; i < 5; ++i) {
    const auto d = limiter.Take("k", policy, kT0);
    INFO("charge " << i);
    REQUIRE(d.allowed);
    CHECK(d.limited);
    CHECK(d.limit == 5);
    CHECK(d.remaining == 4 - i);  // one request costs exactly one token
    CHECK(d.retry_after_s == 0);
  }
  const auto refused = limiter.Take("k", policy, kT0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.limit == 5);
  CHECK(refused.remaining == 0);
  CHECK(refused.retry_after_s == 1);  // 0.5 s for one token, rounded up to whole seconds
  CHECK(refused.reset_s == 3);        // 2.5 s to refill 5 tokens
  // A refusal costs nothing: still exactly one token after half a second.
  CHECK(limiter.Take("k", policy, kT0 + 500ms).allowed);
  CHECK_FALSE(limiter.Take("k", policy, kT0 + 500ms).allowed);
}

TEST_CASE("rate limiter: tokens refill with time and never beyond the burst", "[rate_limit]") {
  RateLimiter limiter;
  const BucketPolicy policy{10.0, 3};
  Timestamp now = kT0;
  for (int i = 0; i < 3; ++i) REQUIRE(limiter.Take("k", policy, now).allowed);
  REQUIRE_FALSE(limiter.Take("k", policy, now).allowed);
  now += 99ms;
  CHECK_FALSE(limiter.Take("k", policy, now).allowed);  // not a whole token yet
  now += 1ms;
  CHECK(limiter.Take("k", policy, now).allowed);  // 100 ms = one token at 10/s
  CHECK_FALSE(limiter.Take("k", policy, now).allowed);
  // An hour idle refills to the burst, not to 36000 tokens.
  now += 1h;
  int allowed = 0;
  while (limiter.Take("k", policy, now).allowed) ++allowed;
  CHECK(allowed == 3);
}

TEST_CASE("rate limiter: slow fractional rates give exact budgets", "[rate_limit]") {
  RateLimiter limiter;
  const BucketPolicy policy{0.1, 1};  // one token every 10 s
  REQUIRE(limiter.Take("k", policy, kT0).allowed);
  const auto refused = limiter.Take("k", policy, kT0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_s == 10);
  CHECK_FALSE(limiter.Take("k", policy, kT0 + 9999ms).allowed);
  CHECK(limiter.Take("k", policy, kT0 + 10000ms + 9999ms).allowed);  // 1.9999 tokens accrued, cap 1
}

TEST_CASE("rate limiter: keys have independent buckets and unlimited policies create none", "[rate_limit]") {
  RateLimiter limiter;
  const BucketPolicy one{1.0, 1};
  REQUIRE(limiter.Take("a", one, kT0).allowed);
  CHECK_FALSE(limiter.Take("a", one, kT0).allowed);
  CHECK(limiter.Take("b", one, kT0).allowed);
  for (const double rate : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(),
                            std::numeric_limits<double>::infinity()}) {
    const auto d = limiter.Take("c", BucketPolicy{rate, 1}, kT0);
    CHECK(d.allowed);
    CHECK_FALSE(d.limited);
    CHECK(d.limit == 0);
  }
  CHECK(limiter.size() == 2);
}

TEST_CASE("rate limiter: a changed policy applies at the next charge", "[rate_limit]") {
  RateLimiter limiter;
  for (int i = 0; i < 10; ++i) REQUIRE(limiter.Take("k", BucketPolicy{1.0, 10}, kT0).allowed);
  // The burst shrinks to 2 and the rate grows: the empty bucket refills at the new rate up to the new size.
  CHECK_FALSE(limiter.Take("k", BucketPolicy{100.0, 2}, kT0).allowed);
  const auto after = limiter.Take("k", BucketPolicy{100.0, 2}, kT0 + 1s);
  CHECK(after.allowed);
  CHECK(after.limit == 2);
  CHECK(after.remaining == 1);
}

TEST_CASE("rate limiter: a clock that steps back refills nothing and does not freeze the bucket",
          "[rate_limit]") {
  RateLimiter limiter;
  const BucketPolicy policy{1.0, 1};
  REQUIRE(limiter.Take("k", policy, kT0).allowed);
  CHECK_FALSE(limiter.Take("k", policy, kT0 - 1h).allowed);
  // Counting restarts from the earlier time: one second later there is a token again.
  CHECK(limiter.Take("k", policy, kT0 - 1h + 1s).allowed);
}

TEST_CASE("rate limiter: memory stays bounded however many keys arrive", "[rate_limit]") {
  RateLimiter limiter(/*max_buckets=*/160);
  const BucketPolicy policy{1.0, 5};
  for (int i = 0; i < 20000; ++i) {
    limiter.Take("key-" + std::to_string(i), policy, kT0);  // all drained a little, none idle
    REQUIRE(limiter.size() <= 160);
  }
  CHECK(limiter.size() > 0);
}

TEST_CASE("rate limiter: eviction drops refilled buckets and keeps a drained one", "[rate_limit]") {
  RateLimiter limiter(/*max_buckets=*/160);
  // A drained bucket that refills only every 1000 s.
  const BucketPolicy slow{0.001, 1};
  REQUIRE(limiter.Take("hot", slow, kT0).allowed);
  // Many short-lived keys whose buckets are full again 1 ms after their only charge.
  const BucketPolicy fast{1000.0, 10};
  Timestamp now = kT0;
  for (int i = 0; i < 5000; ++i) {
    now += 1ms;
    limiter.Take("visitor-" + std::to_string(i), fast, now);
  }
  CHECK(limiter.size() <= 160);
  // "hot" was never evicted (an evicted key would start again with a full bucket).
  CHECK_FALSE(limiter.Take("hot", slow, now).allowed);
}

// ---------------------------------------------------------------------------
// Chat::ChargeRequest and Chat::ChargeSend

TEMPLATE_TEST_CASE("rate limits: the app's requests are refused exactly past the configured budget",
                   "[rate_limit]", MemoryBackend, SqliteBackend) {
  LimitHarness<TestType> h(AppLimit(5, 10));
  auto [app, publishable] = h.CreateApp();
  const Principal customer = h.Customer(app);
  // The publishable key and the customer share the app's bucket.
  for (int i = 0; i < 10; ++i) {
    const RateLimitDecision d = h.chat().ChargeRequest(i % 2 == 0 ? publishable : customer);
    INFO("request " << i);
    REQUIRE(d.allowed);
    CHECK(d.limit == 10);
    CHECK(d.remaining == 9 - i);
  }
  const RateLimitDecision refused = h.chat().ChargeRequest(customer);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_s == 1);
  CHECK(refused.remaining == 0);
  // 200 ms is one token at 5/s.
  h.clock().Advance(200ms);
  CHECK(h.chat().ChargeRequest(publishable).allowed);
  CHECK_FALSE(h.chat().ChargeRequest(publishable).allowed);
  // Another app is not affected.
  const Principal other = h.CreateApp().second;
  CHECK(h.chat().ChargeRequest(other).allowed);
}

TEST_CASE("rate limits: the default burst is one second of the rate, at least one", "[rate_limit]") {
  {
    LimitHarness<MemoryBackend> h(AppLimit(2.5));
    const Principal publishable = h.CreateApp().second;
    CHECK(AllowedBeforeRefusal(h.chat(), publishable) == 3);
  }
  {
    LimitHarness<MemoryBackend> h(AppLimit(0.5));
    const Principal publishable = h.CreateApp().second;
    CHECK(AllowedBeforeRefusal(h.chat(), publishable) == 1);
    const RateLimitDecision refused = h.chat().ChargeRequest(publishable);
    CHECK(refused.retry_after_s == 2);
  }
}

TEST_CASE("rate limits: no limits configured means every charge is allowed without headers", "[rate_limit]") {
  LimitHarness<MemoryBackend> h(RateLimitOptions{});
  auto [app, publishable] = h.CreateApp();
  const Principal customer = h.Customer(app);
  for (int i = 0; i < 1000; ++i) {
    const RateLimitDecision d = h.chat().ChargeRequest(i % 2 == 0 ? publishable : customer);
    REQUIRE(d.allowed);
    REQUIRE(d.limit == 0);
    REQUIRE(h.chat().ChargeSend(customer).allowed);
  }
  CHECK(h.chat().ChargeRequest(h.owner).limit == 0);
}

TEST_CASE("rate limits: accounts have their own bucket and admin is never limited", "[rate_limit]") {
  LimitHarness<MemoryBackend> h(AppLimit(1, 3));
  const Principal publishable = h.CreateApp().second;
  CHECK(AllowedBeforeRefusal(h.chat(), h.owner) == 3);
  // The account's requests did not use the app's budget.
  CHECK(AllowedBeforeRefusal(h.chat(), publishable) == 3);
  Principal admin;
  admin.type = PrincipalType::kAdmin;
  admin.id = "admin";
  for (int i = 0; i < 100; ++i) {
    const RateLimitDecision d = h.chat().ChargeRequest(admin);
    REQUIRE(d.allowed);
    REQUIRE(d.limit == 0);
  }
}

TEMPLATE_TEST_CASE("rate limits: an app's own limits win over the defaults and changes apply at once",
                   "[rate_limit]", MemoryBackend, SqliteBackend) {
  LimitHarness<TestType> h(AppLimit(100, 100));
  AppLimits own;
  own.requests_per_s = 1;
  own.burst = 2;
  auto [limited_app, limited] = h.CreateApp(own);
  const Principal plain = h.CreateApp().second;
  CHECK(limited_app.limits.burst == 2);
  CHECK(AllowedBeforeRefusal(h.chat(), limited) == 2);
  CHECK(AllowedBeforeRefusal(h.chat(), plain) == 100);

  // Raising the app's burst and rate applies to the very next request, without a restart.
  AppUpdate update;
  update.limits = AppLimits{50, 5, 0};
  const App updated = LIBCHAT_VALUE(h.chat().UpdateApp(h.owner, limited_app.id, update));
  CHECK(updated.limits.requests_per_s == 50);
  CHECK(updated.limits.burst == 5);
  CHECK(h.chat().ChargeRequest(limited).limit == 5);
  h.clock().Advance(1s);
  CHECK(AllowedBeforeRefusal(h.chat(), limited) == 5);

  // Back to the defaults (0 = the host's), also at once.
  update.limits = AppLimits{};
  LIBCHAT_REQUIRE_OK(h.chat().UpdateApp(h.owner, limited_app.id, update));
  h.clock().Advance(1s);
  CHECK(h.chat().ChargeRequest(limited).limit == 100);

  // An override of the rate alone gets a burst sized for that rate, not the default burst.
  update.limits = AppLimits{3, 0, 0};
  LIBCHAT_REQUIRE_OK(h.chat().UpdateApp(h.owner, limited_app.id, update));
  h.clock().Advance(10s);
  CHECK(AllowedBeforeRefusal(h.chat(), limited) == 3);
}

TEMPLATE_TEST_CASE("rate limits: a restarted Chat reads the app's stored limits", "[rate_limit]", MemoryBackend,
                   SqliteBackend) {
  LimitHarness<TestType> h(AppLimit(100, 100));
  const Principal publishable = h.CreateApp(AppLimits{1, 2, 0}).second;
  std::unique_ptr<Chat> restarted = h.Open();
  CHECK(AllowedBeforeRefusal(*restarted, publishable) == 2);
}

TEST_CASE("rate limits: invalid app limits and options are refused", "[rate_limit]") {
  LimitHarness<MemoryBackend> h(RateLimitOptions{});
  const App app = h.CreateApp().first;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (const AppLimits& bad : {AppLimits{-1, 0, 0}, AppLimits{nan, 0, 0}, AppLimits{inf, 0, 0}, AppLimits{0, -1, 0},
                               AppLimits{0, 0, -5}, AppLimits{2e6, 0, 0}, AppLimits{0, 0, nan}}) {
    AppUpdate update;
    update.limits = bad;
    LIBCHAT_CHECK_CODE(h.chat().UpdateApp(h.owner, app.id, update), StatusCode::kInvalidArgument);
    AppCreate create;
    create.name = "Bad";
    create.limits = bad;
    LIBCHAT_CHECK_CODE(h.chat().CreateApp(h.owner, create), StatusCode::kInvalidArgument);
  }
  // The refused updates changed nothing.
  CHECK(LIBCHAT_VALUE(h.chat().GetApp(h.owner, app.id)).limits.requests_per_s == 0);

  for (const RateLimitOptions& bad : {AppLimit(-1), AppLimit(nan), AppLimit(1, -2)}) {
    Options options = ChatTestOptions(testing::NewMemoryStore(), std::make_shared<testing::FakeClock>());
    options.rate_limits = bad;
    LIBCHAT_CHECK_CODE(Chat::Open(std::move(options)), StatusCode::kInvalidArgument);
  }
}

TEST_CASE("rate limits: a customer's sends have their own bucket, independent of the app's requests",
          "[rate_limit]") {
  RateLimitOptions options;
  options.app_requests_per_s = 1;
  options.app_burst = 2;
  options.customer_sends_per_min = 3;
  LimitHarness<MemoryBackend> h(options);
  auto [app, publishable] = h.CreateApp();
  const Principal alice = h.Customer(app);
  const Principal bob = h.Customer(app);

  // The app's request bucket runs dry first; the send bucket is untouched by it.
  CHECK(AllowedBeforeRefusal(h.chat(), alice) == 2);
  for (int i = 0; i < 3; ++i) {
    const RateLimitDecision d = h.chat().ChargeSend(alice);
    INFO("send " << i);
    REQUIRE(d.allowed);
    CHECK(d.limit == 3);
    CHECK(d.remaining == 2 - i);
  }
  const RateLimitDecision refused = h.chat().ChargeSend(alice);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_s == 20);  // one message per 20 s at 3/min
  // Each customer has its own send bucket.
  CHECK(h.chat().ChargeSend(bob).allowed);
  // Only customers send under this limit.
  for (int i = 0; i < 10; ++i) {
    REQUIRE(h.chat().ChargeSend(publishable).allowed);
    REQUIRE(h.chat().ChargeSend(h.owner).allowed);
  }
  h.clock().Advance(20s);
  CHECK(h.chat().ChargeSend(alice).allowed);
  CHECK_FALSE(h.chat().ChargeSend(alice).allowed);

  // An app's own send limit wins over the default.
  AppUpdate update;
  update.limits = AppLimits{0, 0, 60};
  LIBCHAT_REQUIRE_OK(h.chat().UpdateApp(h.owner, app.id, update));
  h.clock().Advance(1s);  // one message per second at 60/min
  const RateLimitDecision own = h.chat().ChargeSend(alice);
  CHECK(own.allowed);
  CHECK(own.limit == 60);
}

TEST_CASE("rate limits: concurrent charges never allow more than the budget", "[rate_limit]") {
  LimitHarness<MemoryBackend> h(AppLimit(1, 500));
  const Principal publishable = h.CreateApp().second;
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (h.chat().ChargeRequest(publishable).allowed) allowed.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(allowed.load() == 500);
}

}  // namespace
}  // namespace libchat::test
