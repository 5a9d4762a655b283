// The libchat facade (libchat::Chat) as an embedding host uses it, against both stores: the in-memory
// test double and SQLite. Each CHAT_TEST runs once per backend with a fresh store, a FakeClock and the
// cheapest password hashing Chat::Open accepts.
//
// Sections: Open · accounts · tokens · apps · SDK · tenant isolation · conversations ·
// read-modify-write races · history and receipts · events.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "auth/jwt.h"
#include <functional>
#include <future>

#include "catch.h"
#include "chat_test_util.h"
#include "libchat/chat.h"
#include "store_test_util.h"

namespace {

using namespace libchat;        // NOLINT: test brevity
using namespace libchat::test;  // NOLINT

#define CHAT_TEST(name, tags) TEMPLATE_TEST_CASE("chat: " name, "[chat]" tags, MemoryBackend, SqliteBackend)

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

// hex(HMAC-SHA256(key, data)), computed independently of libchat's own crypto helpers.
std::string HexHmacSha256(const std::string& key, const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest, &length);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

// A token with the given claims signed with `secret`, as an attacker who guessed the layout would make one.
std::string SignedToken(const std::string& kind, const std::string& subject, const std::string& app_id,
                        Timestamp now, const std::string& secret) {
  internal::TokenClaims claims;
  claims.kind = kind;
  claims.subject = subject;
  claims.app_id = app_id;
  claims.token_id = "forgedtokenid0000000001";
  claims.issued_at = std::chrono::duration_cast<seconds>(now.time_since_epoch()).count();
  claims.expires_at = claims.issued_at + 3600;
  return internal::SignJwt(claims, secret);
}

// ===========================================================================
// Open

CHAT_TEST("Open keeps a generated JWT secret in the store", "[open]") {
  ChatHarness<TestType> h;
  // Empty jwt_secret: the first Open generates one and stores it; the second must load the same one.
  std::unique_ptr<Chat> first = h.Open("");
  AuthSession session = LIBCHAT_VALUE(first->Register(RegisterRequest{"gen@example.com", kChatTestPassword, "G"}));
  LIBCHAT_REQUIRE_OK(first->Authenticate(BearerCredentials(session.token)));

  std::unique_ptr<Chat> second = h.Open("");
  Principal principal = LIBCHAT_VALUE(second->Authenticate(BearerCredentials(session.token)));
  CHECK(principal.type == PrincipalType::kAccount);
  CHECK(principal.account_id == session.account.id);
  // And the other way round.
  AuthSession later = LIBCHAT_VALUE(second->Login("gen@example.com", kChatTestPassword));
  LIBCHAT_REQUIRE_OK(first->Authenticate(BearerCredentials(later.token)));

  // The generated secret is a real secret: a Chat with another one (the harness's) refuses these tokens.
  LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(BearerCredentials(session.token)), StatusCode::kUnauthenticated);
}

CHAT_TEST("Open refuses weak options", "[open]") {
  ChatHarness<TestType> h;
  auto testing_clock = std::make_shared<testing::FakeClock>();
  auto options = [&] { return ChatTestOptions(h.store(), testing_clock); };

  Options short_secret = options();
  short_secret.jwt_secret = std::string(31, 'k');
  LIBCHAT_REQUIRE_CODE(Chat::Open(short_secret), StatusCode::kInvalidArgument);
  Options exact_secret = options();
  exact_secret.jwt_secret = std::string(32, 'k');
  LIBCHAT_REQUIRE_OK(Chat::Open(exact_secret));

  Options low_memory = options();
  low_memory.password_hashing.memory_kib = 8191;
  LIBCHAT_REQUIRE_CODE(Chat::Open(low_memory), StatusCode::kInvalidArgument);
  Options no_iterations = options();
  no_iterations.password_hashing.iterations = 0;
  LIBCHAT_REQUIRE_CODE(Chat::Open(no_iterations), StatusCode::kInvalidArgument);
  Options no_lanes = options();
  no_lanes.password_hashing.parallelism = 0;
  LIBCHAT_REQUIRE_CODE(Chat::Open(no_lanes), StatusCode::kInvalidArgument);
  Options no_ttl = options();
  no_ttl.account_token_ttl = seconds(0);
  LIBCHAT_REQUIRE_CODE(Chat::Open(no_ttl), StatusCode::kInvalidArgument);
}

// ===========================================================================
// Accounts

CHAT_TEST("Register normalizes the email and refuses duplicates and bad input", "[accounts]") {
  ChatHarness<TestType> h;
  AuthSession session =
      LIBCHAT_VALUE(h.chat().Register(RegisterRequest{"  Alice@Example.COM ", kChatTestPassword, "Alice"}));
  CHECK(session.account.email == "alice@example.com");
  CHECK(session.account.name == "Alice");
  CHECK(session.account.id.str().rfind("acc_", 0) == 0);
  CHECK(session.expires_at == h.clock().Now() + hours(24));

  Principal principal = h.Authenticate(BearerCredentials(session.token));
  CHECK(principal.type == PrincipalType::kAccount);
  CHECK(principal.id == session.account.id.str());
  CHECK(principal.account_id == session.account.id);
  Account me = LIBCHAT_VALUE(h.chat().GetMe(principal));
  CHECK(me.email == "alice@example.com");
  CHECK(me.id == session.account.id);

  for (const char* duplicate : {"alice@example.com", "ALICE@EXAMPLE.COM", "Alice@example.com"}) {
    INFO(duplicate);
    LIBCHAT_REQUIRE_CODE(h.chat().Register(RegisterRequest{duplicate, kChatTestPassword, "Again"}),
                         StatusCode::kAlreadyExists);
  }

  for (const char* email : {"", "alice", "alice@", "@example.com", "alice@example", "a b@example.com",
                            "alice@@example.com", "alice@example.com.", "<a>@example.com"}) {
    INFO("email: " << email);
    LIBCHAT_REQUIRE_CODE(h.chat().Register(RegisterRequest{email, kChatTestPassword, "Bad"}),
                         StatusCode::kInvalidArgument);
  }
  LIBCHAT_REQUIRE_CODE(h.chat().Register(RegisterRequest{"short@example.com", "1234567", "Short"}),
                       StatusCode::kInvalidArgument);
  LIBCHAT_REQUIRE_CODE(h.chat().Register(RegisterRequest{"long@example.com", std::string(1025, 'p'), "Long"}),
                       StatusCode::kInvalidArgument);
  LIBCHAT_REQUIRE_CODE(h.chat().Register(RegisterRequest{"utf@example.com", kChatTestPassword, "Bad \xc3\x28"}),
                       StatusCode::kInvalidArgument);
  LIBCHAT_REQUIRE_CODE(h.chat().Register(RegisterRequest{"utf@example.com", kChatTestPassword, "\xff\xfe"}),
                       StatusCode::kInvalidArgument);
  LIBCHAT_REQUIRE_CODE(h.chat().Register(RegisterRequest{"noname@example.com", kChatTestPassword, ""}),
                       StatusCode::kInvalidArgument);
  // None of the refused registrations left an account behind.
  LIBCHAT_REQUIRE_CODE(h.chat().Login("utf@example.com", kChatTestPassword), StatusCode::kUnauthenticated);
  LIBCHAT_REQUIRE_CODE(h.chat().Login("short@example.com", "1234567"), StatusCode::kUnauthenticated);

  // The boundary: 8 bytes is enough.
  LIBCHAT_REQUIRE_OK(h.chat().Register(RegisterRequest{"eight@example.com", "12345678", "Eight"}));
}

CHAT_TEST("Login fails the same way for a wrong password and an unknown email", "[accounts]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");

  AuthSession session = LIBCHAT_VALUE(h.chat().Login("ALICE@example.com", kChatTestPassword));
  CHECK(session.account.id == alice.account.id);
  CHECK(session.token != alice.token);
  CHECK(h.Authenticate(BearerCredentials(session.token)).account_id == alice.account.id);

  auto wrong_password = h.chat().Login("alice@example.com", "not the password");
  auto unknown_email = h.chat().Login("nobody@example.com", kChatTestPassword);
  auto malformed_email = h.chat().Login("not-an-email", kChatTestPassword);
  LIBCHAT_REQUIRE_CODE(wrong_password, StatusCode::kUnauthenticated);
  LIBCHAT_REQUIRE_CODE(unknown_email, StatusCode::kUnauthenticated);
  LIBCHAT_REQUIRE_CODE(malformed_email, StatusCode::kUnauthenticated);
  CHECK(wrong_password.status().message() == unknown_email.status().message());
  CHECK(malformed_email.status().message() == unknown_email.status().message());
}

CHAT_TEST("Logout revokes only that token, and the revocation survives a restart", "[accounts]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  AuthSession one = LIBCHAT_VALUE(h.chat().Login("alice@example.com", kChatTestPassword));
  AuthSession two = LIBCHAT_VALUE(h.chat().Login("alice@example.com", kChatTestPassword));

  Principal by_one = h.Authenticate(BearerCredentials(one.token));
  LIBCHAT_REQUIRE_OK(h.chat().Logout(by_one));

  LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(BearerCredentials(one.token)), StatusCode::kUnauthenticated);
  LIBCHAT_REQUIRE_OK(h.chat().Authenticate(BearerCredentials(two.token)));
  LIBCHAT_REQUIRE_OK(h.chat().Authenticate(BearerCredentials(alice.token)));
  CHECK_FALSE(h.chat().ValidateToken(one.token).valid);
  TokenInfo info = h.chat().ValidateToken(two.token);
  CHECK(info.valid);
  CHECK(info.principal_type == PrincipalType::kAccount);
  CHECK(info.account_id == alice.account.id);

  // A restart (another Chat over the same store) still refuses the revoked token.
  std::unique_ptr<Chat> restarted = h.Open();
  LIBCHAT_REQUIRE_CODE(restarted->Authenticate(BearerCredentials(one.token)), StatusCode::kUnauthenticated);
  LIBCHAT_REQUIRE_OK(restarted->Authenticate(BearerCredentials(two.token)));

  // An API key is not a token: there is nothing to revoke, and the key keeps working.
  TestApp app = h.CreateApp(alice);
  CHECK_FALSE(h.chat().Logout(app.server).ok());
  LIBCHAT_REQUIRE_OK(h.chat().Authenticate(KeyCredentials(app.secret_key)));
}

CHAT_TEST("UpdateMe changes the name, and the email or password only with the current password", "[accounts]") {
  ChatHarness<TestType> h;
  const std::string old_password = "password-one";
  const std::string new_password = "password-two";
  TestAccount alice = h.Register("alice@example.com", old_password, "Alice");
  h.Register("bob@example.com");

  SECTION("name") {
    AccountUpdate update;
    update.name = "Alice Smith";
    CHECK(LIBCHAT_VALUE(h.chat().UpdateMe(alice.principal, update)).name == "Alice Smith");
    CHECK(LIBCHAT_VALUE(h.chat().GetMe(alice.principal)).name == "Alice Smith");
    update.name = "";
    LIBCHAT_REQUIRE_CODE(h.chat().UpdateMe(alice.principal, update), StatusCode::kInvalidArgument);
    update.name = "bad \xff";
    LIBCHAT_REQUIRE_CODE(h.chat().UpdateMe(alice.principal, update), StatusCode::kInvalidArgument);
    CHECK(LIBCHAT_VALUE(h.chat().GetMe(alice.principal)).name == "Alice Smith");
  }

  SECTION("email") {
    AccountUpdate update;
    update.email = "Alice2@Example.com";
    LIBCHAT_REQUIRE_CODE(h.chat().UpdateMe(alice.principal, update), StatusCode::kInvalidArgument);
    update.current_password = "wrong-password";
    LIBCHAT_REQUIRE_CODE(h.chat().UpdateMe(alice.principal, update), StatusCode::kPermissionDenied);
    CHECK(LIBCHAT_VALUE(h.chat().GetMe(alice.principal)).email == "alice@example.com");
    LIBCHAT_REQUIRE_CODE(h.chat().Login("alice2@example.com", old_password), StatusCode::kUnauthenticated);

    // Re-stating one's own address (in another case) is not a conflict with oneself.
    AccountUpdate same;
    same.email = "ALICE@example.com";
    same.current_password = old_password;
    CHECK(LIBCHAT_VALUE(h.chat().UpdateMe(alice.principal, same)).email == "alice@example.com");

    AccountUpdate taken;
    taken.email = "BOB@example.com";
    taken.current_password = old_password;
    LIBCHAT_REQUIRE_CODE(h.chat().UpdateMe(alice.principal, taken), StatusCode::kAlreadyExists);

    update.current_password = old_password;
    CHECK(LIBCHAT_VALUE(h.chat().UpdateMe(alice.principal, update)).email == "alice2@example.com");
    CHECK(LIBCHAT_VALUE(h.chat().Login("alice2@example.com", old_password)).account.id == alice.account.id);
    LIBCHAT_REQUIRE_CODE(h.chat().Login("alice@example.com", old_password), StatusCode::kUnauthenticated);
    // The old address is free again.
    LIBCHAT_REQUIRE_OK(h.chat().Register(RegisterRequest{"alice@example.com", old_password, "New Alice"}));
  }

  SECTION("password") {
    AccountUpdate update;
    update.new_password = new_password;
    LIBCHAT_REQUIRE_CODE(h.chat().UpdateMe(alice.principal, update), StatusCode::kInvalidArgument);
    update.current_password = "wrong-password";
    LIBCHAT_REQUIRE_CODE(h.chat().UpdateMe(alice.principal, update), StatusCode::kPermissionDenied);
    AccountUpdate too_short;
    too_short.new_password = "short";
    too_short.current_password = old_password;
    LIBCHAT_REQUIRE_CODE(h.chat().UpdateMe(alice.principal, too_short), StatusCode::kInvalidArgument);
    LIBCHAT_REQUIRE_OK(h.chat().Login("alice@example.com", old_password));

    update.current_password = old_password;
    LIBCHAT_REQUIRE_OK(h.chat().UpdateMe(alice.principal, update));
    LIBCHAT_REQUIRE_OK(h.chat().Login("alice@example.com", new_password));
    LIBCHAT_REQUIRE_CODE(h.chat().Login("alice@example.com", old_password), StatusCode::kUnauthenticated);
  }

  SECTION("only accounts have a profile") {
    TestApp app = h.CreateApp(alice);
    AccountUpdate update;
    update.name = "App";
    CHECK_FALSE(h.chat().UpdateMe(app.server, update).ok());
    CHECK_FALSE(h.chat().GetMe(app.server).ok());
  }
}

// ===========================================================================
// Tokens and credentials

CHAT_TEST("tokens expire with the clock, and forged or garbage credentials are refused", "[tokens]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);
  TestCustomer customer = h.StartCustomer(app);

  SECTION("forged and garbage") {
    const Timestamp now = h.clock().Now();
    const std::string other_secret = "another-secret-of-at-least-32-bytes-long";
    // Control: the same claims signed with the real secret are accepted, so the refusals below are
    // about the signature and nothing else.
    LIBCHAT_REQUIRE_OK(h.chat().Authenticate(
        BearerCredentials(SignedToken("account", alice.account.id.str(), "", now, kChatTestJwtSecret))));
    LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(BearerCredentials(
                             SignedToken("account", alice.account.id.str(), "", now, other_secret))),
                         StatusCode::kUnauthenticated);
    LIBCHAT_REQUIRE_CODE(
        h.chat().Authenticate(BearerCredentials(
            SignedToken("customer", customer.id.str(), app.app.id.str(), now, other_secret))),
        StatusCode::kUnauthenticated);
    const std::string forged = SignedToken("account", alice.account.id.str(), "", now, other_secret);
    CHECK_FALSE(h.chat().ValidateToken(forged).valid);

    std::string tampered = alice.token;
    char& c = tampered[tampered.size() - 10];  // inside the signature, away from its padding bits
    c = c == 'A' ? 'B' : 'A';
    for (const std::string& garbage : {std::string("garbage"), std::string("a.b.c"), std::string("..."),
                                       alice.token + "x", tampered, std::string("Bearer ") + alice.token}) {
      INFO("token: " << garbage);
      LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(BearerCredentials(garbage)), StatusCode::kUnauthenticated);
      TokenInfo info = h.chat().ValidateToken(garbage);
      CHECK_FALSE(info.valid);
      CHECK_FALSE(info.error.empty());
    }
    for (const std::string& key : {std::string("sk_unknown"), std::string("pk_unknown"), std::string("xx_abc"),
                                   app.secret_key + "0", std::string("sk_")}) {
      INFO("key: " << key);
      LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(KeyCredentials(key)), StatusCode::kUnauthenticated);
    }
    LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(Credentials{}), StatusCode::kUnauthenticated);
    Credentials master;
    master.master_key = "anything";  // no master key configured: no admin can authenticate
    LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(master), StatusCode::kUnauthenticated);
  }

  SECTION("a session token is bound to its app") {
    TestAccount bob = h.Register("bob@example.com");
    TestApp other = h.CreateApp(bob);
    LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(KeyCredentials(other.app.publishable_key, customer.session_token)),
                         StatusCode::kUnauthenticated);
    LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(KeyCredentials(other.secret_key, customer.session_token)),
                         StatusCode::kUnauthenticated);
  }

  SECTION("expiry") {
    // Account tokens live account_token_ttl (24 h), session tokens session_token_ttl (30 days).
    h.clock().Advance(hours(24) - seconds(1));
    LIBCHAT_REQUIRE_OK(h.chat().Authenticate(BearerCredentials(alice.token)));
    CHECK(h.chat().ValidateToken(alice.token).valid);
    h.clock().Advance(seconds(2));
    LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(BearerCredentials(alice.token)), StatusCode::kUnauthenticated);
    TokenInfo info = h.chat().ValidateToken(alice.token);
    CHECK_FALSE(info.valid);
    CHECK_FALSE(info.error.empty());

    LIBCHAT_REQUIRE_OK(h.chat().Authenticate(KeyCredentials(app.app.publishable_key, customer.session_token)));
    h.clock().Advance(hours(24 * 29));
    LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(KeyCredentials(app.app.publishable_key, customer.session_token)),
                         StatusCode::kUnauthenticated);
    // Keys do not expire.
    LIBCHAT_REQUIRE_OK(h.chat().Authenticate(KeyCredentials(app.secret_key)));
  }
}

// ===========================================================================
// Apps

CHAT_TEST("CreateApp returns keys that authenticate as the app", "[apps]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  AppCreate request;
  request.name = "Support";
  CreatedApp created = LIBCHAT_VALUE(h.chat().CreateApp(alice.principal, request));
  CHECK(created.app.id.str().rfind("app_", 0) == 0);
  CHECK(created.app.account_id == alice.account.id);
  CHECK(created.app.name == "Support");
  CHECK(created.app.publishable_key.rfind("pk_", 0) == 0);
  CHECK(created.secret_key.rfind("sk_", 0) == 0);
  CHECK(created.secret_key.size() > 20);
  CHECK(created.identity_secret.size() >= 16);
  CHECK(created.app.theme_json == "{}");
  CHECK(created.app.prechat_json == "[]");
  CHECK_FALSE(created.app.identity_verification);

  Principal server = h.Authenticate(KeyCredentials(created.secret_key));
  CHECK(server.type == PrincipalType::kAppServer);
  CHECK(server.app_id == created.app.id);
  CHECK(server.id == created.app.id.str());
  Principal publishable = h.Authenticate(KeyCredentials(created.app.publishable_key));
  CHECK(publishable.type == PrincipalType::kPublishable);
  CHECK(publishable.app_id == created.app.id);
  // A publishable key cannot claim to be a customer: X-User-Id is honoured only with the secret key.
  Principal claimed = h.Authenticate(KeyCredentials(created.app.publishable_key, "", "user-1"));
  CHECK(claimed.type == PrincipalType::kPublishable);

  AppCreate styled;
  styled.name = "Styled";
  styled.theme_json = R"({ "color" : "#3b82f6" })";
  styled.prechat_json = R"([ {"q":"Name?"} ])";
  CreatedApp with_style = LIBCHAT_VALUE(h.chat().CreateApp(alice.principal, styled));
  CHECK(with_style.app.theme_json == R"({"color":"#3b82f6"})");
  CHECK(with_style.app.prechat_json == R"([{"q":"Name?"}])");
  CHECK(with_style.secret_key != created.secret_key);
  CHECK(with_style.app.publishable_key != created.app.publishable_key);

  AppCreate bad = request;
  bad.name = "";
  LIBCHAT_REQUIRE_CODE(h.chat().CreateApp(alice.principal, bad), StatusCode::kInvalidArgument);
  bad = request;
  bad.theme_json = "[]";
  LIBCHAT_REQUIRE_CODE(h.chat().CreateApp(alice.principal, bad), StatusCode::kInvalidArgument);
  bad = request;
  bad.prechat_json = "{}";
  LIBCHAT_REQUIRE_CODE(h.chat().CreateApp(alice.principal, bad), StatusCode::kInvalidArgument);

  LIBCHAT_REQUIRE_CODE(h.chat().CreateApp(server, request), StatusCode::kPermissionDenied);
  LIBCHAT_REQUIRE_CODE(h.chat().CreateApp(publishable, request), StatusCode::kPermissionDenied);
  CHECK(LIBCHAT_VALUE(h.chat().ListApps(alice.principal, "", 0)).data.size() == 2);
}

CHAT_TEST("GetApp, ListApps pagination and UpdateApp validation", "[apps]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestAccount bob = h.Register("bob@example.com");
  std::set<std::string> created;
  std::vector<TestApp> apps;
  for (const char* name : {"One", "Two", "Three"}) {
    apps.push_back(h.CreateApp(alice, name));
    created.insert(apps.back().app.id.str());
    h.clock().Advance(milliseconds(10));
  }
  h.CreateApp(bob, "Bob's");

  App got = LIBCHAT_VALUE(h.chat().GetApp(alice.principal, apps[1].app.id));
  CHECK(got.name == "Two");
  CHECK(got.publishable_key == apps[1].app.publishable_key);
  // The app's own server may read it too.
  CHECK(LIBCHAT_VALUE(h.chat().GetApp(apps[1].server, apps[1].app.id)).name == "Two");

  std::set<std::string> listed;
  std::string cursor;
  int pages = 0;
  do {
    Page<App> page = LIBCHAT_VALUE(h.chat().ListApps(alice.principal, cursor, 1));
    REQUIRE(page.data.size() <= 1);
    for (const App& app : page.data) {
      CHECK(app.account_id == alice.account.id);
      CHECK(listed.insert(app.id.str()).second);  // no app twice
    }
    cursor = page.next_cursor;
    REQUIRE(++pages <= 4);
  } while (!cursor.empty());
  CHECK(listed == created);
  CHECK(LIBCHAT_VALUE(h.chat().ListApps(bob.principal, "", 50)).data.size() == 1);
  LIBCHAT_REQUIRE_CODE(h.chat().ListApps(alice.principal, "", 201), StatusCode::kInvalidArgument);
  LIBCHAT_REQUIRE_CODE(h.chat().ListApps(alice.principal, "", -1), StatusCode::kInvalidArgument);
  for (const char* garbage : {"garbage", "a1.x.y", "!!!", "AAAA"}) {
    INFO("cursor: " << garbage);
    LIBCHAT_REQUIRE_CODE(h.chat().ListApps(alice.principal, garbage, 1), StatusCode::kInvalidArgument);
    ConversationFilter filter;
    filter.cursor = garbage;
    LIBCHAT_REQUIRE_CODE(h.chat().ListConversations(alice.principal, apps[0].app.id, filter),
                         StatusCode::kInvalidArgument);
  }

  const AppId id = apps[0].app.id;
  AppUpdate bad;
  bad.theme_json = "[]";
  LIBCHAT_REQUIRE_CODE(h.chat().UpdateApp(alice.principal, id, bad), StatusCode::kInvalidArgument);
  bad.theme_json = "{";
  LIBCHAT_REQUIRE_CODE(h.chat().UpdateApp(alice.principal, id, bad), StatusCode::kInvalidArgument);
  bad.theme_json = "\"red\"";
  LIBCHAT_REQUIRE_CODE(h.chat().UpdateApp(alice.principal, id, bad), StatusCode::kInvalidArgument);
  bad = AppUpdate{};
  bad.prechat_json = "{}";
  LIBCHAT_REQUIRE_CODE(h.chat().UpdateApp(alice.principal, id, bad), StatusCode::kInvalidArgument);
  bad = AppUpdate{};
  bad.name = "";
  LIBCHAT_REQUIRE_CODE(h.chat().UpdateApp(alice.principal, id, bad), StatusCode::kInvalidArgument);
  // A valid field next to an invalid one is not applied either.
  bad = AppUpdate{};
  bad.name = "Half";
  bad.theme_json = "[1]";
  LIBCHAT_REQUIRE_CODE(h.chat().UpdateApp(alice.principal, id, bad), StatusCode::kInvalidArgument);
  App unchanged = LIBCHAT_VALUE(h.chat().GetApp(alice.principal, id));
  CHECK(unchanged.name == "One");
  CHECK(unchanged.theme_json == "{}");
  CHECK(unchanged.prechat_json == "[]");

  AppUpdate good;
  good.name = "Renamed";
  good.theme_json = R"({"color":"#000000"})";
  good.prechat_json = R"(["Your name?"])";
  good.identity_verification = true;
  App updated = LIBCHAT_VALUE(h.chat().UpdateApp(alice.principal, id, good));
  CHECK(updated.name == "Renamed");
  App reread = LIBCHAT_VALUE(h.chat().GetApp(alice.principal, id));
  CHECK(reread.name == "Renamed");
  CHECK(reread.theme_json == R"({"color":"#000000"})");
  CHECK(reread.prechat_json == R"(["Your name?"])");
  CHECK(reread.identity_verification);
  CHECK(reread.publishable_key == apps[0].app.publishable_key);
  SdkConfig config = LIBCHAT_VALUE(h.chat().GetSdkConfig(apps[0].publishable));
  CHECK(config.app_id == id);
  CHECK(config.app_name == "Renamed");
  CHECK(config.theme_json == R"({"color":"#000000"})");
  CHECK(config.prechat_json == R"(["Your name?"])");
}

CHAT_TEST("RotateKey: the old key stops working at once, the new one works", "[apps]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);

  RotatedKey secret = LIBCHAT_VALUE(h.chat().RotateKey(alice.principal, app.app.id, KeyKind::kSecret));
  CHECK(secret.kind == KeyKind::kSecret);
  CHECK(secret.key.rfind("sk_", 0) == 0);
  CHECK(secret.key != app.secret_key);
  LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(KeyCredentials(app.secret_key)), StatusCode::kUnauthenticated);
  Principal server = h.Authenticate(KeyCredentials(secret.key));
  CHECK(server.type == PrincipalType::kAppServer);
  CHECK(server.app_id == app.app.id);
  // Rotating the secret key leaves the publishable one alone.
  CHECK(secret.app.publishable_key == app.app.publishable_key);
  LIBCHAT_REQUIRE_OK(h.chat().Authenticate(KeyCredentials(app.app.publishable_key)));

  RotatedKey publishable = LIBCHAT_VALUE(h.chat().RotateKey(alice.principal, app.app.id, KeyKind::kPublishable));
  CHECK(publishable.kind == KeyKind::kPublishable);
  CHECK(publishable.key.rfind("pk_", 0) == 0);
  CHECK(publishable.key != app.app.publishable_key);
  CHECK(publishable.app.publishable_key == publishable.key);
  LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(KeyCredentials(app.app.publishable_key)),
                       StatusCode::kUnauthenticated);
  CHECK(h.Authenticate(KeyCredentials(publishable.key)).type == PrincipalType::kPublishable);
  CHECK(LIBCHAT_VALUE(h.chat().GetApp(alice.principal, app.app.id)).publishable_key == publishable.key);
  LIBCHAT_REQUIRE_OK(h.chat().Authenticate(KeyCredentials(secret.key)));

  // The rotation survives a restart.
  std::unique_ptr<Chat> restarted = h.Open();
  LIBCHAT_REQUIRE_CODE(restarted->Authenticate(KeyCredentials(app.secret_key)), StatusCode::kUnauthenticated);
  LIBCHAT_REQUIRE_OK(restarted->Authenticate(KeyCredentials(secret.key)));
  LIBCHAT_REQUIRE_OK(restarted->Authenticate(KeyCredentials(publishable.key)));
}

CHAT_TEST("DeleteApp removes its conversations and customers, and its keys stop authenticating", "[apps]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp doomed = h.CreateApp(alice, "Doomed");
  TestApp kept = h.CreateApp(alice, "Kept");
  TestCustomer doomed_customer = h.StartCustomer(doomed);
  TestCustomer kept_customer = h.StartCustomer(kept);
  h.Send(alice.principal, doomed_customer.conversation, "reply");

  LIBCHAT_REQUIRE_OK(h.chat().DeleteApp(alice.principal, doomed.app.id));

  LIBCHAT_REQUIRE_CODE(h.chat().GetConversation(alice.principal, doomed_customer.conversation),
                       StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(h.chat().ListMessages(alice.principal, doomed_customer.conversation, HistoryQuery{}),
                       StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(h.chat().SendMessage(alice.principal, doomed_customer.conversation, TextMessage("x")),
                       StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(h.chat().GetApp(alice.principal, doomed.app.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(h.chat().ListConversations(alice.principal, doomed.app.id, ConversationFilter{}),
                       StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(h.chat().DeleteApp(alice.principal, doomed.app.id), StatusCode::kNotFound);
  LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(KeyCredentials(doomed.secret_key)), StatusCode::kUnauthenticated);
  LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(KeyCredentials(doomed.app.publishable_key)),
                       StatusCode::kUnauthenticated);
  // Its customers went with it, so their sessions end too.
  LIBCHAT_REQUIRE_CODE(h.chat().Authenticate(BearerCredentials(doomed_customer.session_token)),
                       StatusCode::kUnauthenticated);
  LIBCHAT_REQUIRE_CODE(h.store()->GetCustomer(doomed_customer.id), StatusCode::kNotFound);
  // ValidateToken must agree with Authenticate: a session whose customer is gone is not valid.
  CHECK_FALSE(h.chat().ValidateToken(doomed_customer.session_token).valid);

  // The owner's other app is untouched.
  Page<App> remaining = LIBCHAT_VALUE(h.chat().ListApps(alice.principal, "", 0));
  REQUIRE(remaining.data.size() == 1);
  CHECK(remaining.data[0].id == kept.app.id);
  CHECK(h.Get(alice.principal, kept_customer.conversation).last_seq == 1);
  LIBCHAT_REQUIRE_OK(h.chat().Authenticate(KeyCredentials(kept.secret_key)));
}

// ===========================================================================
// SDK

CHAT_TEST("the first SDK message creates a customer, a support conversation and a session", "[sdk]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);

  SdkSendRequest first;
  first.message = TextMessage("Hello, I need help", "c-1");
  SendResult sent = LIBCHAT_VALUE(h.chat().SdkSendMessage(app.publishable, first));
  CHECK(sent.created);
  CHECK(sent.message.seq == 1);
  CHECK(sent.message.text == "Hello, I need help");
  CHECK(sent.message.client_msg_id == "c-1");
  CHECK(sent.message.sender.type == SenderType::kCustomer);
  CHECK(sent.message.app_id == app.app.id);
  CHECK(sent.conversation.id == sent.message.conversation_id);
  CHECK(sent.conversation.type == ConversationType::kSupport);
  CHECK(sent.conversation.status == ConversationStatus::kOpen);
  CHECK(sent.conversation.app_id == app.app.id);
  CHECK(sent.conversation.last_seq == 1);
  CHECK(sent.message.sender.id == sent.conversation.customer_id.str());
  CHECK(sent.conversation.customer_id.str().rfind("cus_", 0) == 0);
  REQUIRE_FALSE(sent.session_token.empty());
  REQUIRE(sent.session_expires_at.has_value());
  CHECK(*sent.session_expires_at == h.clock().Now() + hours(24 * 30));

  Principal customer = h.Authenticate(KeyCredentials(app.app.publishable_key, sent.session_token));
  CHECK(customer.type == PrincipalType::kCustomer);
  CHECK(customer.id == sent.conversation.customer_id.str());
  CHECK(customer.app_id == app.app.id);
  TokenInfo info = h.chat().ValidateToken(sent.session_token);
  CHECK(info.valid);
  CHECK(info.principal_type == PrincipalType::kCustomer);
  CHECK(info.principal_id == customer.id);

  SdkSendRequest second;
  second.conversation_id = sent.conversation.id;
  second.message = TextMessage("Are you there?", "c-2");
  SendResult again = LIBCHAT_VALUE(h.chat().SdkSendMessage(customer, second));
  CHECK(again.created);
  CHECK(again.message.seq == 2);
  CHECK(again.message.conversation_id == sent.conversation.id);
  CHECK(again.message.sender.id == customer.id);
  CHECK(again.session_token.empty());  // no new customer, no new session

  // Posting into a conversation takes a session: the publishable key alone may only start one.
  LIBCHAT_REQUIRE_CODE(h.chat().SdkSendMessage(app.publishable, second), StatusCode::kUnauthenticated);

  // The owner sees one conversation with both messages.
  std::vector<Conversation> inbox = h.List(alice.principal, app.app.id);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0].id == sent.conversation.id);
  CHECK(inbox[0].last_seq == 2);
  CHECK(SeqsOf(h.History(alice.principal, sent.conversation.id)) == SeqRange(1, 2));
  CHECK(SeqsOf(h.History(customer, sent.conversation.id)) == SeqRange(1, 2));
}

CHAT_TEST("a repeated client_msg_id returns the original message and adds nothing", "[sdk]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);
  TestCustomer customer = h.StartCustomer(app);
  EventRecorder events(h.chat());

  SdkSendRequest request;
  request.conversation_id = customer.conversation;
  request.message = TextMessage("only once", "retry-me");
  SendResult original = LIBCHAT_VALUE(h.chat().SdkSendMessage(customer.principal, request));
  CHECK(original.created);
  CHECK(original.message.seq == 2);

  request.message.text = "only once";
  SendResult retried = LIBCHAT_VALUE(h.chat().SdkSendMessage(customer.principal, request));
  CHECK_FALSE(retried.created);
  CHECK(retried.message.id == original.message.id);
  CHECK(retried.message.seq == 2);
  CHECK(retried.message.text == "only once");
  // Also through SendMessage, the same key from the same sender.
  SendResult via_send = LIBCHAT_VALUE(h.chat().SendMessage(customer.principal, customer.conversation,
                                                          TextMessage("only once", "retry-me")));
  CHECK_FALSE(via_send.created);
  CHECK(via_send.message.id == original.message.id);

  CHECK(h.Get(alice.principal, customer.conversation).last_seq == 2);
  CHECK(SeqsOf(h.History(alice.principal, customer.conversation)) == SeqRange(1, 2));
  // Only the original was announced.
  CHECK(events.Of(customer.conversation, EventType::kMessageCreated).size() == 1);

  // The key is scoped to its sender: the owner using the same key writes a new message.
  SendResult owner = LIBCHAT_VALUE(h.chat().SendMessage(alice.principal, customer.conversation,
                                                       TextMessage("owner", "retry-me")));
  CHECK(owner.created);
  CHECK(owner.message.seq == 3);
}

CHAT_TEST("a customer's retried first message (same client_msg_id, no conversation_id) is not duplicated",
          "[sdk]") {
  // A customer with a session (e.g. from CreateSession) starts a second conversation with its first
  // message; the SDK retries after a lost response. The retry must return the original message, as a
  // retried message into a known conversation does (API.md: "a repeated client_msg_id returns the
  // original message").
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);
  TestCustomer customer = h.StartCustomer(app);

  SdkSendRequest request;
  request.message = TextMessage("new topic", "first-of-topic");
  SendResult original = LIBCHAT_VALUE(h.chat().SdkSendMessage(customer.principal, request));
  CHECK(original.created);
  CHECK(original.conversation.id != customer.conversation);
  SendResult retried = LIBCHAT_VALUE(h.chat().SdkSendMessage(customer.principal, request));
  CHECK_FALSE(retried.created);
  CHECK(retried.message.id == original.message.id);
  CHECK(retried.conversation.id == original.conversation.id);
  CHECK(h.List(customer.principal, app.app.id).size() == 2);
}

CHAT_TEST("a bad first SDK message creates nothing", "[sdk]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);
  EventRecorder events(h.chat());
  const std::size_t max_bytes = h.chat().options().max_message_bytes;

  std::vector<std::pair<std::string, SdkSendRequest>> bad;
  auto add = [&bad](std::string why, std::string text, std::string client_msg_id = "", std::string metadata = "") {
    SdkSendRequest request;
    request.message.text = std::move(text);
    request.message.client_msg_id = std::move(client_msg_id);
    request.message.metadata_json = std::move(metadata);
    bad.emplace_back(std::move(why), std::move(request));
  };
  add("empty text", "");
  add("invalid UTF-8", "caf\xc3");
  add("overlong UTF-8", "\xc0\xaf");
  add("NUL in text", std::string("a\0b", 3));
  add("too long", std::string(max_bytes + 1, 'x'));
  add("metadata an array", "hi", "", "[]");
  add("metadata a string", "hi", "", "\"x\"");
  add("metadata not JSON", "hi", "", "{nope");
  add("metadata too large", "hi", "",
      "{\"k\":\"" + std::string(h.chat().options().max_metadata_bytes, 'm') + "\"}");
  add("client_msg_id too long", "hi", std::string(129, 'k'));
  add("client_msg_id with a space", "hi", "a b");
  SdkSendRequest bad_customer;
  bad_customer.message = TextMessage("hi");
  bad_customer.customer.email = "not an email";
  bad.emplace_back("bad customer email", bad_customer);

  for (const auto& [why, request] : bad) {
    INFO(why);
    LIBCHAT_REQUIRE_CODE(h.chat().SdkSendMessage(app.publishable, request), StatusCode::kInvalidArgument);
  }
  CHECK(h.List(alice.principal, app.app.id).empty());
  CHECK(events.size() == 0);

  // The boundary is inclusive: exactly max_message_bytes is accepted.
  SdkSendRequest largest;
  largest.message = TextMessage(std::string(max_bytes, 'x'));
  LIBCHAT_REQUIRE_OK(h.chat().SdkSendMessage(app.publishable, largest));
  CHECK(h.List(alice.principal, app.app.id).size() == 1);

  // A customer's bad message into its conversation adds nothing either.
  TestCustomer customer = h.StartCustomer(app);
  for (const auto& [why, request] : bad) {
    INFO(why);
    if (request.customer.email.size()) continue;  // customer input is not used when posting into a conversation
    SdkSendRequest into = request;
    into.conversation_id = customer.conversation;
    into.customer = CustomerInput{};
    LIBCHAT_REQUIRE_CODE(h.chat().SdkSendMessage(customer.principal, into), StatusCode::kInvalidArgument);
    LIBCHAT_REQUIRE_CODE(h.chat().SendMessage(customer.principal, customer.conversation, into.message),
                         StatusCode::kInvalidArgument);
  }
  CHECK(h.Get(alice.principal, customer.conversation).last_seq == 1);
  CHECK(h.List(alice.principal, app.app.id).size() == 2);
}

CHAT_TEST("CreateSession and GetSdkConfig", "[sdk]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice, "Acme Support");

  SdkConfig config = LIBCHAT_VALUE(h.chat().GetSdkConfig(app.publishable));
  CHECK(config.app_id == app.app.id);
  CHECK(config.app_name == "Acme Support");
  CHECK(config.theme_json == "{}");
  CHECK(config.prechat_json == "[]");

  SessionRequest request;
  request.customer.external_id = "user-1";
  request.customer.name = "Ann";
  request.customer.email = "ANN@Example.com";
  request.metadata_json = R"({"plan": "pro"})";
  SdkSession session = LIBCHAT_VALUE(h.chat().CreateSession(app.publishable, request));
  CHECK(session.customer.external_id == "user-1");
  CHECK(session.customer.name == "Ann");
  CHECK(session.customer.email == "ann@example.com");
  CHECK(session.customer.app_id == app.app.id);
  CHECK(session.conversation.customer_id == session.customer.id);
  CHECK(session.conversation.type == ConversationType::kSupport);
  CHECK(session.conversation.last_seq == 0);
  CHECK(session.conversation.metadata_json == R"({"plan":"pro"})");
  CHECK(session.expires_at == h.clock().Now() + hours(24 * 30));
  Principal customer = h.Authenticate(KeyCredentials(app.app.publishable_key, session.session_token));
  CHECK(customer.type == PrincipalType::kCustomer);
  CHECK(customer.id == session.customer.id.str());
  CHECK(h.Get(customer, session.conversation.id).id == session.conversation.id);

  // The same external id is the same customer, in a new conversation.
  SdkSession again = LIBCHAT_VALUE(h.chat().CreateSession(app.publishable, request));
  CHECK(again.customer.id == session.customer.id);
  CHECK(again.conversation.id != session.conversation.id);
  // Anonymous sessions are new customers each time.
  SdkSession anonymous_one = LIBCHAT_VALUE(h.chat().CreateSession(app.publishable, SessionRequest{}));
  SdkSession anonymous_two = LIBCHAT_VALUE(h.chat().CreateSession(app.publishable, SessionRequest{}));
  CHECK(anonymous_one.customer.id != anonymous_two.customer.id);
  CHECK(anonymous_one.customer.external_id.empty());
  CHECK(anonymous_one.conversation.metadata_json == "{}");
  CHECK(h.List(alice.principal, app.app.id).size() == 4);

  SessionRequest bad = request;
  bad.metadata_json = "[]";
  LIBCHAT_REQUIRE_CODE(h.chat().CreateSession(app.publishable, bad), StatusCode::kInvalidArgument);
  bad = request;
  bad.customer.external_id = "other-user";
  bad.customer.name = "\xff";
  LIBCHAT_REQUIRE_CODE(h.chat().CreateSession(app.publishable, bad), StatusCode::kInvalidArgument);
  CHECK(h.List(alice.principal, app.app.id).size() == 4);

  // Sessions are for SDK principals, not for the dashboard account.
  CHECK_FALSE(h.chat().CreateSession(alice.principal, request).ok());
}

CHAT_TEST("identity verification requires the right user_hash", "[sdk]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice, "Verified", /*identity_verification=*/true);
  REQUIRE(app.app.identity_verification);
  const std::string right_hash = HexHmacSha256(app.identity_secret, "user-42");

  SessionRequest request;
  request.customer.external_id = "user-42";
  LIBCHAT_REQUIRE_CODE(h.chat().CreateSession(app.publishable, request), StatusCode::kUnauthenticated);
  request.customer.user_hash = HexHmacSha256(app.identity_secret, "user-43");
  LIBCHAT_REQUIRE_CODE(h.chat().CreateSession(app.publishable, request), StatusCode::kUnauthenticated);
  request.customer.user_hash = HexHmacSha256("some other secret", "user-42");
  LIBCHAT_REQUIRE_CODE(h.chat().CreateSession(app.publishable, request), StatusCode::kUnauthenticated);
  SdkSendRequest send;
  send.message = TextMessage("hi");
  send.customer.external_id = "user-42";
  LIBCHAT_REQUIRE_CODE(h.chat().SdkSendMessage(app.publishable, send), StatusCode::kUnauthenticated);
  CHECK(h.List(alice.principal, app.app.id).empty());

  request.customer.user_hash = right_hash;
  SdkSession session = LIBCHAT_VALUE(h.chat().CreateSession(app.publishable, request));
  CHECK(session.customer.external_id == "user-42");
  send.customer.user_hash = right_hash;
  SendResult sent = LIBCHAT_VALUE(h.chat().SdkSendMessage(app.publishable, send));
  CHECK(sent.conversation.customer_id == session.customer.id);
  SdkSession again = LIBCHAT_VALUE(h.chat().CreateSession(app.publishable, request));
  CHECK(again.customer.id == session.customer.id);

  // Without verification the same app would not have needed the hash: turning it off lets it through.
  AppUpdate off;
  off.identity_verification = false;
  LIBCHAT_REQUIRE_OK(h.chat().UpdateApp(alice.principal, app.app.id, off));
  SessionRequest unverified;
  unverified.customer.external_id = "user-99";
  LIBCHAT_REQUIRE_OK(h.chat().CreateSession(app.publishable, unverified));
}

CHAT_TEST("an app server with a user id acts as that customer", "[sdk]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);
  TestAccount bob = h.Register("bob@example.com");
  TestApp other = h.CreateApp(bob);

  Principal as_user = h.Authenticate(KeyCredentials(app.secret_key, "", "ext-7"));
  CHECK(as_user.type == PrincipalType::kCustomer);
  CHECK(as_user.app_id == app.app.id);
  CHECK(as_user.id.rfind("cus_", 0) == 0);
  Principal again = h.Authenticate(KeyCredentials(app.secret_key, "", "ext-7"));
  CHECK(again.id == as_user.id);
  Principal someone_else = h.Authenticate(KeyCredentials(app.secret_key, "", "ext-8"));
  CHECK(someone_else.id != as_user.id);
  // External ids are scoped to their app.
  Principal same_id_other_app = h.Authenticate(KeyCredentials(other.secret_key, "", "ext-7"));
  CHECK(same_id_other_app.id != as_user.id);
  CHECK(same_id_other_app.app_id == other.app.id);
  Customer stored = LIBCHAT_VALUE(h.store()->GetCustomer(CustomerId(as_user.id)));
  CHECK(stored.external_id == "ext-7");

  SdkSendRequest request;
  request.message = TextMessage("from the app's backend");
  SendResult sent = LIBCHAT_VALUE(h.chat().SdkSendMessage(as_user, request));
  CHECK(sent.conversation.customer_id.str() == as_user.id);
  CHECK(sent.message.sender.type == SenderType::kCustomer);
  CHECK(sent.message.sender.id == as_user.id);
  CHECK(sent.session_token.empty());  // the app server has its key; no session is minted

  // It sees that customer's conversation and nobody else's.
  CHECK(h.Get(again, sent.conversation.id).id == sent.conversation.id);
  LIBCHAT_REQUIRE_CODE(h.chat().GetConversation(someone_else, sent.conversation.id), StatusCode::kNotFound);
  std::vector<Conversation> own = h.List(again, app.app.id);
  REQUIRE(own.size() == 1);
  CHECK(own[0].id == sent.conversation.id);

  // Without a user id the app server is not a customer: it cannot start an SDK conversation.
  LIBCHAT_REQUIRE_CODE(h.chat().SdkSendMessage(app.server, request), StatusCode::kPermissionDenied);

  // Concurrent first requests for one new user id agree on one customer.
  constexpr int kThreads = 6;
  std::vector<std::string> ids(kThreads);
  std::vector<Status> errors(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto principal = h.chat().Authenticate(KeyCredentials(app.secret_key, "", "ext-race"));
      if (principal.ok()) {
        ids[static_cast<std::size_t>(i)] = principal->id;
      } else {
        errors[static_cast<std::size_t>(i)] = principal.status();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Status& error : errors) CHECK(error.ToString() == Status().ToString());
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 1);
}

// ===========================================================================
// Tenant isolation
//
// Account A owns app A with customers A1 (a conversation with a customer message and an owner reply)
// and A2; account B owns app B with customer B1. The intruders below may not see or touch anything of
// A1's: whatever they try answers kNotFound (exactly like a missing id), except where the contract
// makes the principal type itself insufficient (kPermissionDenied, which says nothing about the id),
// and nothing changes.

template <typename Backend>
struct TwoTenants {
  ChatHarness<Backend> h;
  TestAccount owner_a, owner_b;
  TestApp app_a, app_b;
  TestCustomer a1, a2, b1;

  TwoTenants() {
    owner_a = h.Register("a@example.com");
    owner_b = h.Register("b@example.com");
    app_a = h.CreateApp(owner_a, "A");
    app_b = h.CreateApp(owner_b, "B");
    a1 = h.StartCustomer(app_a, "A1 needs help");
    h.Send(owner_a.principal, a1.conversation, "A replies");
    a2 = h.StartCustomer(app_a, "A2 needs help");
    b1 = h.StartCustomer(app_b, "B1 needs help");
  }

  std::vector<std::pair<std::string, Principal>> Intruders() const {
    return {{"account B", owner_b.principal},
            {"app B's server", app_b.server},
            {"app B's customer", b1.principal},
            {"app A's other customer", a2.principal}};
  }
};

// True for the answers that reveal nothing about a resource of another tenant.
bool Hidden(const Status& status) {
  return status.code() == StatusCode::kNotFound || status.code() == StatusCode::kPermissionDenied;
}

CHAT_TEST("tenant isolation: app calls", "[isolation]") {
  TwoTenants<TestType> t;
  auto& h = t.h;
  Chat& chat = h.chat();
  const AppId missing("app_doesnotexist0000000000");
  const App before = LIBCHAT_VALUE(chat.GetApp(t.owner_a.principal, t.app_a.app.id));

  for (const auto& [who, p] : t.Intruders()) {
    INFO("intruder: " << who);
    AppUpdate update;
    update.name = "pwned";
    update.identity_verification = true;
    const std::vector<std::pair<std::string, std::pair<Status, Status>>> calls = {
        {"GetApp", {chat.GetApp(p, t.app_a.app.id).status(), chat.GetApp(p, missing).status()}},
        {"UpdateApp",
         {chat.UpdateApp(p, t.app_a.app.id, update).status(), chat.UpdateApp(p, missing, update).status()}},
        {"RotateKey secret",
         {chat.RotateKey(p, t.app_a.app.id, KeyKind::kSecret).status(),
          chat.RotateKey(p, missing, KeyKind::kSecret).status()}},
        {"RotateKey publishable",
         {chat.RotateKey(p, t.app_a.app.id, KeyKind::kPublishable).status(),
          chat.RotateKey(p, missing, KeyKind::kPublishable).status()}},
        {"DeleteApp", {chat.DeleteApp(p, t.app_a.app.id), chat.DeleteApp(p, missing)}},
    };
    for (const auto& [name, result] : calls) {
      INFO(name << ": foreign -> " << result.first.ToString() << ", missing -> " << result.second.ToString());
      CHECK(Hidden(result.first));
      CHECK(result.first.code() == result.second.code());  // indistinguishable from a missing app
      if (p.type == PrincipalType::kAccount) CHECK(result.first.code() == StatusCode::kNotFound);
    }
    if (p.id == t.a2.principal.id) {
      // A2 may list app A's conversations, but only its own.
      std::vector<Conversation> own = h.List(p, t.app_a.app.id);
      CHECK(IdsOf(own) == std::vector<std::string>{t.a2.conversation.str()});
    } else {
      LIBCHAT_REQUIRE_CODE(chat.ListConversations(p, t.app_a.app.id, ConversationFilter{}), StatusCode::kNotFound);
    }
  }

  // Nothing changed: same app, same keys, same conversations.
  const App after = LIBCHAT_VALUE(chat.GetApp(t.owner_a.principal, t.app_a.app.id));
  CHECK(after.name == before.name);
  CHECK(after.identity_verification == before.identity_verification);
  CHECK(after.publishable_key == before.publishable_key);
  CHECK(Millis(after.updated_at) == Millis(before.updated_at));
  LIBCHAT_REQUIRE_OK(chat.Authenticate(KeyCredentials(t.app_a.secret_key)));
  LIBCHAT_REQUIRE_OK(chat.Authenticate(KeyCredentials(t.app_a.app.publishable_key)));
  CHECK(h.List(t.owner_a.principal, t.app_a.app.id).size() == 2);
  // B's own calls on B's app work (the refusals above were about the tenant, not the call).
  CHECK(LIBCHAT_VALUE(chat.GetApp(t.owner_b.principal, t.app_b.app.id)).name == "B");
  CHECK(LIBCHAT_VALUE(chat.GetApp(t.app_b.server, t.app_b.app.id)).name == "B");
  CHECK(IdsOf(h.List(t.app_b.server, t.app_b.app.id)) == std::vector<std::string>{t.b1.conversation.str()});
}

CHAT_TEST("tenant isolation: conversation calls", "[isolation]") {
  TwoTenants<TestType> t;
  auto& h = t.h;
  Chat& chat = h.chat();
  const ConversationId target = t.a1.conversation;
  LIBCHAT_REQUIRE_OK(chat.MarkRead(t.owner_a.principal, target, 1));
  const Conversation before = h.Get(t.owner_a.principal, target);
  REQUIRE(before.last_seq == 2);
  EventRecorder events(chat);

  for (const auto& [who, p] : t.Intruders()) {
    INFO("intruder: " << who);
    ConversationUpdate update;
    update.status = ConversationStatus::kResolved;
    update.name = "pwned";
    update.metadata_json = R"({"pwned":true})";
    LIBCHAT_REQUIRE_CODE(chat.GetConversation(p, target), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.UpdateConversation(p, target, update), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.ListMessages(p, target, HistoryQuery{}), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.SendMessage(p, target, TextMessage("intrusion", "intr-1")), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.MarkRead(p, target, 2), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.MarkDelivered(p, target, 2), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.SetTyping(p, target, true), StatusCode::kNotFound);
    SdkSendRequest sdk;
    sdk.conversation_id = target;
    sdk.message = TextMessage("intrusion", "intr-2");
    auto sdk_sent = chat.SdkSendMessage(p, sdk);
    INFO("SdkSendMessage -> " << sdk_sent.status().ToString());
    CHECK_FALSE(sdk_sent.ok());
    if (p.type == PrincipalType::kCustomer) CHECK(sdk_sent.status().code() == StatusCode::kNotFound);
    // No receipt was recorded for the intruder either.
    Conversation as_seen = LIBCHAT_VALUE(h.store()->GetConversation(target, p.id));
    CHECK(as_seen.read_seq == 0);
  }
  // A customer may see its own conversation but not change it.
  ConversationUpdate own_update;
  own_update.status = ConversationStatus::kResolved;
  LIBCHAT_REQUIRE_CODE(chat.UpdateConversation(t.a1.principal, target, own_update), StatusCode::kPermissionDenied);

  // Nothing changed and nothing was announced.
  CHECK(events.size() == 0);
  const Conversation after = h.Get(t.owner_a.principal, target);
  CHECK(after.last_seq == 2);
  CHECK(after.status == ConversationStatus::kOpen);
  CHECK(after.name == before.name);
  CHECK(after.metadata_json == before.metadata_json);
  CHECK(after.assignee_id.empty());
  CHECK(after.read_seq == 1);
  CHECK(after.unread_count == before.unread_count);
  CHECK(Millis(after.updated_at) == Millis(before.updated_at));
  std::vector<Message> history = h.History(t.owner_a.principal, target);
  CHECK(SeqsOf(history) == SeqRange(1, 2));
  for (const Message& m : history) CHECK(m.text != "intrusion");
  CHECK(h.Get(t.a1.principal, target).read_seq == 0);
  // The others' own conversations are untouched too.
  CHECK(h.Get(t.owner_b.principal, t.b1.conversation).last_seq == 1);
  CHECK(h.Get(t.owner_a.principal, t.a2.conversation).last_seq == 1);

  // Control: the same calls by the legitimate principals succeed.
  CHECK(h.Get(t.a1.principal, target).id == target);
  CHECK(h.Get(t.app_a.server, target).id == target);
  LIBCHAT_REQUIRE_OK(chat.SetTyping(t.a1.principal, target, true));
  LIBCHAT_REQUIRE_OK(chat.MarkRead(t.app_a.server, target, 2));
}

CHAT_TEST("ill-formed and unknown ids are not found", "[isolation]") {
  TwoTenants<TestType> t;
  Chat& chat = t.h.chat();
  const Principal& owner = t.owner_a.principal;
  for (const std::string& raw : {std::string(""), std::string("conv_"), std::string("x"), std::string("conv_../x"),
                                 std::string("conv_a b"), std::string("conv_%00"), std::string("app_x"),
                                 std::string("conv_doesnotexist0000000000"), t.b1.conversation.str() + "x"}) {
    INFO("conversation id: '" << raw << "'");
    const ConversationId id(raw);
    ConversationUpdate update;
    update.status = ConversationStatus::kResolved;
    LIBCHAT_REQUIRE_CODE(chat.GetConversation(owner, id), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.UpdateConversation(owner, id, update), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.ListMessages(owner, id, HistoryQuery{}), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.SendMessage(owner, id, TextMessage("x")), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.MarkRead(owner, id, 0), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.MarkDelivered(owner, id, 0), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.SetTyping(owner, id, true), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.GetConversation(t.a1.principal, id), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.GetConversation(t.app_a.server, id), StatusCode::kNotFound);
    if (!raw.empty()) {  // an empty id asks for a new conversation
      SdkSendRequest sdk;
      sdk.conversation_id = id;
      sdk.message = TextMessage("x");
      LIBCHAT_REQUIRE_CODE(chat.SdkSendMessage(t.a1.principal, sdk), StatusCode::kNotFound);
    }
  }
  for (const std::string& raw : {std::string(""), std::string("app_"), std::string("x"), std::string("app_../x"),
                                 std::string("app_doesnotexist0000000000"), t.app_b.app.id.str() + "x"}) {
    INFO("app id: '" << raw << "'");
    const AppId id(raw);
    AppUpdate update;
    update.name = "x";
    LIBCHAT_REQUIRE_CODE(chat.GetApp(owner, id), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.UpdateApp(owner, id, update), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.DeleteApp(owner, id), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.RotateKey(owner, id, KeyKind::kSecret), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.ListConversations(owner, id, ConversationFilter{}), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.ListConversations(t.app_a.server, id, ConversationFilter{}), StatusCode::kNotFound);
    LIBCHAT_REQUIRE_CODE(chat.ListConversations(t.a1.principal, id, ConversationFilter{}), StatusCode::kNotFound);
  }
  // Everything is still in place.
  CHECK(t.h.List(owner, t.app_a.app.id).size() == 2);
  CHECK(t.h.Get(owner, t.a1.conversation).status == ConversationStatus::kOpen);
}

// ===========================================================================
// Conversations

CHAT_TEST("conversations list newest activity first, with the last message and per-viewer unread counts",
          "[conversations]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);

  SECTION("order and last message") {
    TestCustomer c1 = h.StartCustomer(app, "first");
    h.clock().Advance(seconds(1));
    TestCustomer c2 = h.StartCustomer(app, "second");
    h.clock().Advance(seconds(1));
    TestCustomer c3 = h.StartCustomer(app, "third");
    h.clock().Advance(seconds(1));
    using Ids = std::vector<std::string>;
    CHECK(IdsOf(h.List(alice.principal, app.app.id)) ==
          Ids{c3.conversation.str(), c2.conversation.str(), c1.conversation.str()});

    h.Send(c1.principal, c1.conversation, "first again");
    h.clock().Advance(seconds(1));
    std::vector<Conversation> inbox = h.List(alice.principal, app.app.id);
    CHECK(IdsOf(inbox) == Ids{c1.conversation.str(), c3.conversation.str(), c2.conversation.str()});
    REQUIRE(inbox[0].last_message.has_value());
    CHECK(inbox[0].last_message->text == "first again");
    CHECK(inbox[0].last_message->seq == 2);
    REQUIRE(inbox[1].last_message.has_value());
    CHECK(inbox[1].last_message->text == "third");

    // An owner's reply is activity too.
    h.Send(alice.principal, c2.conversation, "reply to second");
    inbox = h.List(alice.principal, app.app.id);
    CHECK(IdsOf(inbox) == Ids{c2.conversation.str(), c1.conversation.str(), c3.conversation.str()});
    CHECK(inbox[0].last_message->sender.type == SenderType::kAccount);

    // Paging with limit 1 walks the same order.
    Ids paged;
    ConversationFilter filter;
    filter.limit = 1;
    for (int pages = 0; pages < 5; ++pages) {
      Page<Conversation> page = LIBCHAT_VALUE(h.chat().ListConversations(alice.principal, app.app.id, filter));
      for (const Conversation& c : page.data) paged.push_back(c.id.str());
      if (page.next_cursor.empty()) break;
      filter.cursor = page.next_cursor;
    }
    CHECK(paged == IdsOf(inbox));
    filter = ConversationFilter{};
    filter.limit = 201;
    LIBCHAT_REQUIRE_CODE(h.chat().ListConversations(alice.principal, app.app.id, filter),
                         StatusCode::kInvalidArgument);
  }

  SECTION("unread counts") {
    TestCustomer customer = h.StartCustomer(app, "one");
    h.Send(customer.principal, customer.conversation, "two");

    std::vector<Conversation> inbox = h.List(alice.principal, app.app.id);
    REQUIRE(inbox.size() == 1);
    CHECK(inbox[0].unread_count == 2);
    CHECK(inbox[0].read_seq == 0);
    CHECK(h.Get(alice.principal, customer.conversation).unread_count == 2);
    // The customer's own messages are not unread for the customer.
    CHECK(h.Get(customer.principal, customer.conversation).unread_count == 0);

    Receipt receipt = LIBCHAT_VALUE(h.chat().MarkRead(alice.principal, customer.conversation, 2));
    CHECK(receipt.read_seq == 2);
    CHECK(receipt.member_id == alice.account.id.str());
    CHECK(h.List(alice.principal, app.app.id)[0].unread_count == 0);
    CHECK(h.Get(alice.principal, customer.conversation).read_seq == 2);

    Message reply = h.Send(alice.principal, customer.conversation, "three");
    CHECK(reply.seq == 3);
    CHECK(reply.sender.type == SenderType::kAccount);
    CHECK(reply.sender.id == alice.account.id.str());
    CHECK(h.List(alice.principal, app.app.id)[0].unread_count == 0);
    CHECK(h.Get(alice.principal, customer.conversation).unread_count == 0);
    Conversation for_customer = h.Get(customer.principal, customer.conversation);
    CHECK(for_customer.unread_count == 1);
    std::vector<Conversation> customer_list = h.List(customer.principal, app.app.id);
    REQUIRE(customer_list.size() == 1);
    CHECK(customer_list[0].unread_count == 1);
    REQUIRE(customer_list[0].last_message.has_value());
    CHECK(customer_list[0].last_message->text == "three");

    LIBCHAT_REQUIRE_OK(h.chat().MarkRead(customer.principal, customer.conversation, 3));
    CHECK(h.Get(customer.principal, customer.conversation).unread_count == 0);
    // Receipts are per viewer: the owner's did not move.
    CHECK(h.Get(alice.principal, customer.conversation).read_seq == 2);

    h.Send(customer.principal, customer.conversation, "four");
    CHECK(h.Get(alice.principal, customer.conversation).unread_count == 1);
  }
}

CHAT_TEST("ListConversations filters by status, assignee and type", "[conversations]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);
  TestCustomer c1 = h.StartCustomer(app);
  TestCustomer c2 = h.StartCustomer(app);
  TestCustomer c3 = h.StartCustomer(app);

  ConversationUpdate resolve;
  resolve.status = ConversationStatus::kResolved;
  LIBCHAT_REQUIRE_OK(h.chat().UpdateConversation(alice.principal, c1.conversation, resolve));
  ConversationUpdate assign;
  assign.assignee_id = alice.account.id.str();
  LIBCHAT_REQUIRE_OK(h.chat().UpdateConversation(alice.principal, c2.conversation, assign));

  auto list = [&](ConversationFilter filter) {
    return Sorted(IdsOf(h.List(alice.principal, app.app.id, filter)));
  };
  ConversationFilter filter;
  filter.status = ConversationStatus::kResolved;
  CHECK(list(filter) == std::vector<std::string>{c1.conversation.str()});
  filter.status = ConversationStatus::kOpen;
  CHECK(list(filter) == Sorted({c2.conversation.str(), c3.conversation.str()}));
  filter.status = ConversationStatus::kSnoozed;
  CHECK(list(filter).empty());

  filter = ConversationFilter{};
  filter.assignee_id = alice.account.id.str();
  CHECK(list(filter) == std::vector<std::string>{c2.conversation.str()});
  filter.assignee_id = "";
  CHECK(list(filter) == Sorted({c1.conversation.str(), c3.conversation.str()}));
  filter.status = ConversationStatus::kOpen;  // filters combine
  CHECK(list(filter) == std::vector<std::string>{c3.conversation.str()});

  filter = ConversationFilter{};
  filter.type = ConversationType::kSupport;
  CHECK(list(filter).size() == 3);
  filter.type = ConversationType::kDm;
  CHECK(list(filter).empty());

  // A customer's filtered list stays within its own conversations.
  filter = ConversationFilter{};
  filter.status = ConversationStatus::kOpen;
  CHECK(IdsOf(h.List(c3.principal, app.app.id, filter)) == std::vector<std::string>{c3.conversation.str()});
  CHECK(h.List(c1.principal, app.app.id, filter).empty());
}

CHAT_TEST("UpdateConversation: status, snooze and assignee rules", "[conversations]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestAccount bob = h.Register("bob@example.com");
  TestApp app = h.CreateApp(alice);
  TestCustomer customer = h.StartCustomer(app);
  const ConversationId id = customer.conversation;
  auto update = [&](const Principal& p, ConversationUpdate u) { return h.chat().UpdateConversation(p, id, u); };
  auto status_update = [](ConversationStatus s) {
    ConversationUpdate u;
    u.status = s;
    return u;
  };

  for (ConversationStatus s : {ConversationStatus::kPending, ConversationStatus::kResolved,
                               ConversationStatus::kOpen, ConversationStatus::kResolved,
                               ConversationStatus::kPending}) {
    INFO(ConversationStatusName(s));
    CHECK(LIBCHAT_VALUE(update(alice.principal, status_update(s))).status == s);
    CHECK(h.Get(alice.principal, id).status == s);
  }

  // snoozed_until only with status snoozed.
  const Timestamp wake = h.clock().Now() + hours(2);
  ConversationUpdate snooze_open;
  snooze_open.snoozed_until = std::optional<Timestamp>(wake);
  LIBCHAT_REQUIRE_CODE(update(alice.principal, snooze_open), StatusCode::kInvalidArgument);
  ConversationUpdate snooze_bad = snooze_open;
  snooze_bad.status = ConversationStatus::kOpen;
  LIBCHAT_REQUIRE_CODE(update(alice.principal, snooze_bad), StatusCode::kInvalidArgument);
  CHECK(h.Get(alice.principal, id).status == ConversationStatus::kPending);
  CHECK_FALSE(h.Get(alice.principal, id).snoozed_until.has_value());

  ConversationUpdate snooze = snooze_open;
  snooze.status = ConversationStatus::kSnoozed;
  Conversation snoozed = LIBCHAT_VALUE(update(alice.principal, snooze));
  CHECK(snoozed.status == ConversationStatus::kSnoozed);
  REQUIRE(snoozed.snoozed_until.has_value());
  CHECK(Millis(*snoozed.snoozed_until) == Millis(wake));
  Conversation reread = h.Get(alice.principal, id);
  REQUIRE(reread.snoozed_until.has_value());
  CHECK(Millis(*reread.snoozed_until) == Millis(wake));
  // Leaving snoozed clears snoozed_until.
  CHECK_FALSE(LIBCHAT_VALUE(update(alice.principal, status_update(ConversationStatus::kOpen))).snoozed_until);
  CHECK_FALSE(h.Get(alice.principal, id).snoozed_until.has_value());
  // While snoozed, snoozed_until may be cleared on its own.
  LIBCHAT_REQUIRE_OK(update(alice.principal, snooze));
  ConversationUpdate clear;
  clear.snoozed_until = std::optional<Timestamp>();
  Conversation cleared = LIBCHAT_VALUE(update(alice.principal, clear));
  CHECK(cleared.status == ConversationStatus::kSnoozed);
  CHECK_FALSE(cleared.snoozed_until.has_value());
  LIBCHAT_REQUIRE_OK(update(alice.principal, status_update(ConversationStatus::kOpen)));

  // The assignee must be on the app's team (its owner, or one of its operators: chat_operators_test.cpp);
  // another account is not found, an id of another kind is malformed.
  for (const std::string& assignee : {bob.account.id.str(), std::string("acc_nobody0000000000000000")}) {
    INFO("assignee: " << assignee);
    ConversationUpdate assign;
    assign.assignee_id = assignee;
    LIBCHAT_REQUIRE_CODE(update(alice.principal, assign), StatusCode::kNotFound);
  }
  for (const std::string& assignee : {customer.id.str(), app.app.id.str(), std::string("x")}) {
    INFO("assignee: " << assignee);
    ConversationUpdate assign;
    assign.assignee_id = assignee;
    LIBCHAT_REQUIRE_CODE(update(alice.principal, assign), StatusCode::kInvalidArgument);
  }
  CHECK(h.Get(alice.principal, id).assignee_id.empty());
  ConversationUpdate assign;
  assign.assignee_id = alice.account.id.str();
  EventRecorder events(h.chat());
  CHECK(LIBCHAT_VALUE(update(alice.principal, assign)).assignee_id == alice.account.id.str());
  CHECK(h.Get(alice.principal, id).assignee_id == alice.account.id.str());
  {
    auto seen = events.Of(id);
    REQUIRE(seen.size() == 1);
    CHECK(seen[0]->type == EventType::kConversationUpdated);
    REQUIRE(seen[0]->conversation.has_value());
    CHECK(seen[0]->conversation->assignee_id == alice.account.id.str());
    CHECK(seen[0]->conversation->unread_count == 0);  // viewer-relative fields are not broadcast
    CHECK(SortedAudience(*seen[0]) == Sorted({alice.account.id.str(), customer.id.str()}));
  }
  assign.assignee_id = "";
  CHECK(LIBCHAT_VALUE(update(alice.principal, assign)).assignee_id.empty());
  CHECK(h.Get(alice.principal, id).assignee_id.empty());

  // Name and metadata.
  ConversationUpdate details;
  details.name = "VIP";
  details.metadata_json = R"({ "tier" : 1 })";
  Conversation detailed = LIBCHAT_VALUE(update(alice.principal, details));
  CHECK(detailed.name == "VIP");
  CHECK(detailed.metadata_json == R"({"tier":1})");
  ConversationUpdate bad_metadata;
  bad_metadata.metadata_json = "[1]";
  LIBCHAT_REQUIRE_CODE(update(alice.principal, bad_metadata), StatusCode::kInvalidArgument);
  ConversationUpdate bad_name;
  bad_name.name = "\xff";
  LIBCHAT_REQUIRE_CODE(update(alice.principal, bad_name), StatusCode::kInvalidArgument);
  CHECK(h.Get(alice.principal, id).name == "VIP");
  CHECK(h.Get(alice.principal, id).metadata_json == R"({"tier":1})");

  // The app's server is on the team; the customer is not.
  CHECK(LIBCHAT_VALUE(update(app.server, status_update(ConversationStatus::kResolved))).status ==
        ConversationStatus::kResolved);
  LIBCHAT_REQUIRE_CODE(update(customer.principal, status_update(ConversationStatus::kOpen)),
                       StatusCode::kPermissionDenied);
  CHECK(h.Get(alice.principal, id).status == ConversationStatus::kResolved);
}

CHAT_TEST("a customer message reopens a resolved or snoozed conversation, a team message does not",
          "[conversations]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);
  TestCustomer customer = h.StartCustomer(app);
  const ConversationId id = customer.conversation;
  EventRecorder events(h.chat());
  auto set = [&](ConversationStatus s, std::optional<Timestamp> until = std::nullopt) {
    ConversationUpdate u;
    u.status = s;
    if (until) u.snoozed_until = until;
    LIBCHAT_REQUIRE_OK(h.chat().UpdateConversation(alice.principal, id, u));
  };

  set(ConversationStatus::kResolved);
  h.Send(alice.principal, id, "owner follow-up");
  CHECK(h.Get(alice.principal, id).status == ConversationStatus::kResolved);
  h.Send(app.server, id, "server follow-up");
  CHECK(h.Get(alice.principal, id).status == ConversationStatus::kResolved);
  SendResult reopened = LIBCHAT_VALUE(h.chat().SendMessage(customer.principal, id, TextMessage("still broken")));
  CHECK(reopened.conversation.status == ConversationStatus::kOpen);
  CHECK(h.Get(alice.principal, id).status == ConversationStatus::kOpen);
  // The reopening is announced after the message that caused it.
  auto seen = events.Of(id);
  REQUIRE(seen.size() >= 2);
  CHECK(seen[seen.size() - 2]->type == EventType::kMessageCreated);
  CHECK(seen[seen.size() - 2]->message->seq == reopened.message.seq);
  CHECK(seen.back()->type == EventType::kConversationUpdated);
  REQUIRE(seen.back()->conversation.has_value());
  CHECK(seen.back()->conversation->status == ConversationStatus::kOpen);

  set(ConversationStatus::kSnoozed, h.clock().Now() + hours(1));
  h.Send(alice.principal, id, "owner while snoozed");
  CHECK(h.Get(alice.principal, id).status == ConversationStatus::kSnoozed);
  SdkSendRequest sdk;
  sdk.conversation_id = id;
  sdk.message = TextMessage("hello?");
  LIBCHAT_REQUIRE_OK(h.chat().SdkSendMessage(customer.principal, sdk));
  Conversation woken = h.Get(alice.principal, id);
  CHECK(woken.status == ConversationStatus::kOpen);
  CHECK_FALSE(woken.snoozed_until.has_value());

  // Pending is not reopened: it is not closed.
  set(ConversationStatus::kPending);
  h.Send(customer.principal, id, "more");
  CHECK(h.Get(alice.principal, id).status == ConversationStatus::kPending);
}

// ===========================================================================
// Read-modify-write races
//
// Update calls read a record, change some fields and write the whole record back. Another request that
// lands between that read and that write must not be undone. The InterposingStore runs the other
// request exactly there. The competing request runs on its own thread: a correct core makes it wait
// for the update in progress (it gets a short grace period, then the update goes on), a broken one
// lets it complete inside the window and the update then writes stale fields over it.

namespace {
// Starts `competitor` on another thread and gives it a moment to finish inside the window.
std::future<void> RunInWindow(std::function<void()> competitor) {
  auto pending = std::async(std::launch::async, std::move(competitor));
  pending.wait_for(std::chrono::milliseconds(200));
  return pending;
}
}  // namespace

CHAT_TEST("an UpdateApp racing a RotateKey does not bring the old secret key back", "[races][apps]") {
  ChatHarness<TestType> h(/*interpose=*/true);
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);
  std::string rotated_key;
  std::future<void> competitor;
  h.interposer().BeforeNextUpdateApp([&] {
    competitor = RunInWindow([&] {
      auto rotated = h.chat().RotateKey(alice.principal, app.app.id, KeyKind::kSecret);
      if (rotated.ok()) rotated_key = rotated->key;
    });
  });
  AppUpdate rename;
  rename.name = "Renamed";
  LIBCHAT_REQUIRE_OK(h.chat().UpdateApp(alice.principal, app.app.id, rename));
  competitor.get();
  REQUIRE_FALSE(rotated_key.empty());

  CHECK(LIBCHAT_VALUE(h.chat().GetApp(alice.principal, app.app.id)).name == "Renamed");
  // RotateKey promised that the old key stopped working at once, and returned the new one.
  LIBCHAT_CHECK_CODE(h.chat().Authenticate(KeyCredentials(app.secret_key)), StatusCode::kUnauthenticated);
  LIBCHAT_CHECK_OK(h.chat().Authenticate(KeyCredentials(rotated_key)));
}

CHAT_TEST("an UpdateConversation racing a customer message does not undo the reopen", "[races][conversations]") {
  ChatHarness<TestType> h(/*interpose=*/true);
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);
  TestCustomer customer = h.StartCustomer(app);
  ConversationUpdate resolve;
  resolve.status = ConversationStatus::kResolved;
  LIBCHAT_REQUIRE_OK(h.chat().UpdateConversation(alice.principal, customer.conversation, resolve));

  bool sent = false;
  std::future<void> competitor;
  h.interposer().BeforeNextUpdateConversation([&] {
    competitor = RunInWindow([&] {
      sent = h.chat().SendMessage(customer.principal, customer.conversation, TextMessage("it broke again")).ok();
    });
  });
  ConversationUpdate rename;
  rename.name = "VIP";
  LIBCHAT_REQUIRE_OK(h.chat().UpdateConversation(alice.principal, customer.conversation, rename));
  competitor.get();
  REQUIRE(sent);

  Conversation after = h.Get(alice.principal, customer.conversation);
  CHECK(after.name == "VIP");
  CHECK(after.last_seq == 2);
  // The owner only renamed it; the customer's later message reopened it.
  CHECK(after.status == ConversationStatus::kOpen);
}

CHAT_TEST("an UpdateMe racing a password change does not restore the old password", "[races][accounts]") {
  ChatHarness<TestType> h(/*interpose=*/true);
  const std::string old_password = "password-one";
  const std::string new_password = "password-two";
  TestAccount alice = h.Register("alice@example.com", old_password, "Alice");
  bool changed = false;
  std::future<void> competitor;
  h.interposer().BeforeNextUpdateAccount([&] {
    competitor = RunInWindow([&] {
      AccountUpdate change;
      change.current_password = old_password;
      change.new_password = new_password;
      changed = h.chat().UpdateMe(alice.principal, change).ok();
    });
  });
  AccountUpdate rename;
  rename.name = "Alice Smith";
  LIBCHAT_REQUIRE_OK(h.chat().UpdateMe(alice.principal, rename));
  competitor.get();
  REQUIRE(changed);

  CHECK(LIBCHAT_VALUE(h.chat().GetMe(alice.principal)).name == "Alice Smith");
  LIBCHAT_CHECK_OK(h.chat().Login("alice@example.com", new_password));
  LIBCHAT_CHECK_CODE(h.chat().Login("alice@example.com", old_password), StatusCode::kUnauthenticated);
}

// ===========================================================================
// History and receipts

CHAT_TEST("ListMessages: after_seq, before_seq and limit", "[history]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);
  TestCustomer customer = h.StartCustomer(app, "m1");
  for (int i = 2; i <= 60; ++i) h.Send(i % 2 ? customer.principal : alice.principal, customer.conversation,
                                       "m" + std::to_string(i));
  const ConversationId id = customer.conversation;
  auto query = [](std::optional<std::int64_t> after, std::optional<std::int64_t> before, int limit) {
    HistoryQuery q;
    q.after_seq = after;
    q.before_seq = before;
    q.limit = limit;
    return q;
  };
  auto seqs = [&](HistoryQuery q) { return SeqsOf(h.History(alice.principal, id, q)); };

  CHECK(seqs(query(std::nullopt, std::nullopt, 3)) == SeqRange(1, 3));
  CHECK(seqs(query(3, std::nullopt, 4)) == SeqRange(4, 7));
  CHECK(seqs(query(0, std::nullopt, 2)) == SeqRange(1, 2));
  CHECK(seqs(query(58, std::nullopt, 10)) == SeqRange(59, 60));
  CHECK(seqs(query(60, std::nullopt, 10)).empty());
  CHECK(seqs(query(1000, std::nullopt, 10)).empty());
  CHECK(seqs(query(std::nullopt, 5, 2)) == SeqRange(3, 4));
  CHECK(seqs(query(std::nullopt, 3, 10)) == SeqRange(1, 2));
  CHECK(seqs(query(std::nullopt, 1, 10)).empty());
  CHECK(seqs(query(std::nullopt, 1000, 3)) == SeqRange(58, 60));
  std::vector<Message> page = h.History(alice.principal, id, query(9, std::nullopt, 1));
  REQUIRE(page.size() == 1);
  CHECK(page[0].text == "m10");
  CHECK(page[0].conversation_id == id);

  // limit 0 means the default of 50; 200 is the most.
  CHECK(seqs(query(std::nullopt, std::nullopt, 0)) == SeqRange(1, 50));
  CHECK(seqs(query(std::nullopt, std::nullopt, 200)) == SeqRange(1, 60));
  // The customer reads the same history.
  CHECK(SeqsOf(h.History(customer.principal, id, query(55, std::nullopt, 0))) == SeqRange(56, 60));

  LIBCHAT_REQUIRE_CODE(h.chat().ListMessages(alice.principal, id, query(1, 5, 10)), StatusCode::kInvalidArgument);
  LIBCHAT_REQUIRE_CODE(h.chat().ListMessages(alice.principal, id, query(-1, std::nullopt, 10)),
                       StatusCode::kInvalidArgument);
  LIBCHAT_REQUIRE_CODE(h.chat().ListMessages(alice.principal, id, query(std::nullopt, -1, 10)),
                       StatusCode::kInvalidArgument);
  LIBCHAT_REQUIRE_CODE(h.chat().ListMessages(alice.principal, id, query(std::nullopt, std::nullopt, 201)),
                       StatusCode::kInvalidArgument);
  LIBCHAT_REQUIRE_CODE(h.chat().ListMessages(alice.principal, id, query(std::nullopt, std::nullopt, -1)),
                       StatusCode::kInvalidArgument);
}

CHAT_TEST("receipts stay within last_seq and never move backward", "[receipts]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);
  TestCustomer customer = h.StartCustomer(app);
  const ConversationId id = customer.conversation;
  h.Send(customer.principal, id, "2");
  h.Send(customer.principal, id, "3");

  LIBCHAT_REQUIRE_CODE(h.chat().MarkRead(alice.principal, id, 4), StatusCode::kInvalidArgument);
  LIBCHAT_REQUIRE_CODE(h.chat().MarkDelivered(alice.principal, id, 4), StatusCode::kInvalidArgument);
  LIBCHAT_REQUIRE_CODE(h.chat().MarkRead(alice.principal, id, -1), StatusCode::kInvalidArgument);
  CHECK(h.Get(alice.principal, id).read_seq == 0);

  Receipt delivered = LIBCHAT_VALUE(h.chat().MarkDelivered(alice.principal, id, 2));
  CHECK(delivered.delivered_seq == 2);
  CHECK(delivered.read_seq == 0);
  CHECK(h.Get(alice.principal, id).unread_count == 3);  // delivered is not read

  Receipt read = LIBCHAT_VALUE(h.chat().MarkRead(alice.principal, id, 3));
  CHECK(read.read_seq == 3);
  CHECK(read.delivered_seq >= read.read_seq);  // what was read was delivered
  Receipt back = LIBCHAT_VALUE(h.chat().MarkRead(alice.principal, id, 1));
  CHECK(back.read_seq == 3);
  Receipt back_delivered = LIBCHAT_VALUE(h.chat().MarkDelivered(alice.principal, id, 1));
  CHECK(back_delivered.read_seq == 3);
  CHECK(back_delivered.delivered_seq == 3);
  CHECK(h.Get(alice.principal, id).read_seq == 3);
  CHECK(h.Get(alice.principal, id).unread_count == 0);

  // Another chat over the same store sees the same receipt.
  std::unique_ptr<Chat> restarted = h.Open();
  CHECK(LIBCHAT_VALUE(restarted->GetConversation(alice.principal, id)).read_seq == 3);
  // The customer's receipt is its own.
  CHECK(h.Get(customer.principal, id).read_seq == 0);
  CHECK(LIBCHAT_VALUE(h.chat().MarkRead(customer.principal, id, 0)).read_seq == 0);
}

// ===========================================================================
// Events

CHAT_TEST("a customer's first message publishes conversation.created then message.created to its audience",
          "[events]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestAccount bob = h.Register("bob@example.com");
  TestApp app = h.CreateApp(alice);
  TestApp other_app = h.CreateApp(bob);
  TestCustomer bystander = h.StartCustomer(app);  // same app, another customer
  EventRecorder events(h.chat());

  SdkSendRequest request;
  request.message = TextMessage("hello");
  SendResult sent = LIBCHAT_VALUE(h.chat().SdkSendMessage(app.publishable, request));
  const ConversationId id = sent.conversation.id;
  Principal customer = h.Authenticate(KeyCredentials(app.app.publishable_key, sent.session_token));

  std::vector<std::shared_ptr<const Event>> seen = events.Of(id);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0]->type == EventType::kConversationCreated);
  REQUIRE(seen[0]->conversation.has_value());
  CHECK(seen[0]->conversation->id == id);
  CHECK(seen[1]->type == EventType::kMessageCreated);
  REQUIRE(seen[1]->message.has_value());
  CHECK(seen[1]->message->seq == 1);
  CHECK(seen[1]->message->text == "hello");
  CHECK(seen[1]->message->id == sent.message.id);

  const std::vector<std::string> audience = Sorted({alice.account.id.str(), customer.id});
  for (const auto& event : seen) {
    INFO(EventTypeName(event->type));
    CHECK(event->app_id == app.app.id);
    CHECK(SortedAudience(*event) == audience);
    CHECK(EventVisibleTo(*event, alice.principal));
    CHECK(EventVisibleTo(*event, customer));
    CHECK(EventVisibleTo(*event, app.server));
    CHECK_FALSE(EventVisibleTo(*event, bob.principal));
    CHECK_FALSE(EventVisibleTo(*event, bystander.principal));
    CHECK_FALSE(EventVisibleTo(*event, other_app.server));
  }

  // The owner's reply and the receipt go to the same audience.
  events.Clear();
  h.Send(alice.principal, id, "hi, how can I help?");
  LIBCHAT_REQUIRE_OK(h.chat().MarkRead(customer, id, 2));
  seen = events.Of(id);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0]->type == EventType::kMessageCreated);
  CHECK(seen[0]->message->seq == 2);
  CHECK(seen[0]->message->sender.type == SenderType::kAccount);
  CHECK(seen[1]->type == EventType::kReceipt);
  REQUIRE(seen[1]->receipt.has_value());
  CHECK(seen[1]->receipt->member_id == customer.id);
  CHECK(seen[1]->receipt->read_seq == 2);
  for (const auto& event : seen) CHECK(SortedAudience(*event) == audience);

  // After unsubscribing, nothing more arrives.
  {
    std::size_t count = 0;
    SubscriptionId sub = h.chat().SubscribeEvents([&count](const std::shared_ptr<const Event>&) { ++count; });
    h.Send(alice.principal, id, "counted");
    h.chat().UnsubscribeEvents(sub);
    h.Send(alice.principal, id, "not counted");
    CHECK(count == 1);
  }
}

CHAT_TEST("typing events reach the conversation's audience", "[events]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestAccount bob = h.Register("bob@example.com");
  TestApp app = h.CreateApp(alice);
  TestCustomer customer = h.StartCustomer(app);
  TestCustomer bystander = h.StartCustomer(app);
  EventRecorder events(h.chat());

  LIBCHAT_REQUIRE_OK(h.chat().SetTyping(customer.principal, customer.conversation, true));
  LIBCHAT_REQUIRE_OK(h.chat().SetTyping(alice.principal, customer.conversation, false));
  std::vector<std::shared_ptr<const Event>> seen = events.Of(customer.conversation, EventType::kTyping);
  REQUIRE(seen.size() == 2);
  REQUIRE(seen[0]->typing.has_value());
  CHECK(seen[0]->typing->conversation_id == customer.conversation);
  CHECK(seen[0]->typing->typing);
  CHECK(seen[0]->typing->sender.type == SenderType::kCustomer);
  CHECK(seen[0]->typing->sender.id == customer.id.str());
  REQUIRE(seen[1]->typing.has_value());
  CHECK_FALSE(seen[1]->typing->typing);
  CHECK(seen[1]->typing->sender.type == SenderType::kAccount);
  CHECK(seen[1]->typing->sender.id == alice.account.id.str());
  for (const auto& event : seen) {
    CHECK(SortedAudience(*event) == Sorted({alice.account.id.str(), customer.id.str()}));
    CHECK(EventVisibleTo(*event, alice.principal));
    CHECK(EventVisibleTo(*event, customer.principal));
    CHECK_FALSE(EventVisibleTo(*event, bystander.principal));
    CHECK_FALSE(EventVisibleTo(*event, bob.principal));
  }
  // Typing is not stored: no message, no seq.
  CHECK(h.Get(alice.principal, customer.conversation).last_seq == 1);
}

CHAT_TEST("concurrent senders produce message events in seq order", "[events][concurrency]") {
  ChatHarness<TestType> h;
  TestAccount alice = h.Register("alice@example.com");
  TestApp app = h.CreateApp(alice);
  EventRecorder events(h.chat());
  TestCustomer customer = h.StartCustomer(app);
  const ConversationId id = customer.conversation;

  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  const std::vector<Principal> senders = {alice.principal, customer.principal, app.server};
  // Catch2 assertions are not thread-safe: the threads only record, the checks run after join.
  std::vector<std::vector<Status>> failures(kThreads);
  std::vector<std::vector<std::int64_t>> sent_seqs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const Principal& sender = senders[static_cast<std::size_t>(t) % senders.size()];
      for (int i = 0; i < kPerThread; ++i) {
        const std::string suffix = std::to_string(t) + "-" + std::to_string(i);
        auto sent = h.chat().SendMessage(sender, id, TextMessage("t" + suffix, "k" + suffix));
        if (sent.ok()) {
          sent_seqs[static_cast<std::size_t>(t)].push_back(sent->message.seq);
        } else {
          failures[static_cast<std::size_t>(t)].push_back(sent.status());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  for (const auto& thread_failures : failures) {
    for (const Status& status : thread_failures) FAIL_CHECK(status.ToString());
  }
  constexpr std::int64_t kTotal = 1 + kThreads * kPerThread;
  std::vector<std::int64_t> all;
  for (const auto& seqs : sent_seqs) {
    // Each thread's own messages got increasing seqs.
    CHECK(std::is_sorted(seqs.begin(), seqs.end()));
    all.insert(all.end(), seqs.begin(), seqs.end());
  }
  std::sort(all.begin(), all.end());
  CHECK(all == SeqRange(2, kTotal));

  std::vector<std::int64_t> published;
  for (const auto& event : events.Of(id, EventType::kMessageCreated)) published.push_back(event->message->seq);
  CHECK(published == SeqRange(1, kTotal));  // every message once, in the order of its seq
  CHECK(h.Get(alice.principal, id).last_seq == kTotal);
  CHECK(SeqsOf(h.History(alice.principal, id, HistoryQuery{std::nullopt, std::nullopt, 200})) == SeqRange(1, 200));
  CHECK(SeqsOf(h.History(alice.principal, id, HistoryQuery{200, std::nullopt, 200})) == SeqRange(201, kTotal));
}

}  // namespace
