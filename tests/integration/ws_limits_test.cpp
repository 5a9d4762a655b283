// The WebSocket's limits and its newer frames against the real server: single-use tickets for browsers,
// the per-principal connection cap (1008), the frame size limit (1009), the heartbeat that closes silent
// clients, the Origin check, `ack` (delivered_seq), and presence (online on the first connection, offline
// only after the grace period, and only to those who share a conversation).
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <memory>
#include <optional>
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
namespace ws = server::ws;

// A WebSocket client that never answers anything (no pong, no close echo) and records what the server
// sends: the silent client of the heartbeat test, and a reader of close reasons.
class SilentWs {
 public:
  SilentWs() = default;
  ~SilentWs() {
    if (fd_ >= 0) close(fd_);
  }
  SilentWs(const SilentWs&) = delete;
  SilentWs& operator=(const SilentWs&) = delete;

  // The upgrade; true on 101. Frames sent right after it are kept for ReadUntilClosed.
  bool Connect(std::uint16_t port, const std::string& target, const HeaderList& headers = {}) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) return false;
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n" +
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
                          "Sec-WebSocket-Version: 13\r\n";
    for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
    request += "\r\n";
    if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) return false;
    std::string buffer;
    const Clock::time_point deadline = Clock::now() + 10s;
    std::size_t end = std::string::npos;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadSome(buffer, deadline)) return false;
    }
    status_line_ = buffer.substr(0, buffer.find("\r\n"));
    if (status_line_.rfind("HTTP/1.1 101", 0) != 0) return false;
    parser_.Feed(std::string_view(buffer).substr(end + 4));
    Drain();
    return true;
  }

  // Reads (and never answers) until the server's close frame or EOF, at most `timeout`.
  void ReadUntilClosed(std::chrono::milliseconds timeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    while (!close_code_ && !eof_) {
      std::string chunk;
      if (!ReadSome(chunk, deadline)) return;
      parser_.Feed(chunk);
      Drain();
    }
  }

  int pings() const { return pings_; }
  const std::vector<std::string>& texts() const { return texts_; }
  std::optional<std::uint16_t> close_code() const { return close_code_; }
  const std::string& close_reason() const { return close_reason_; }
  std::optional<Clock::time_point> closed_at() const { return closed_at_; }
  const std::string& status_line() const { return status_line_; }

 private:
  // False on timeout or EOF (eof_ set on EOF or error).
  bool ReadSome(std::string& out, Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[16384];
    const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      eof_ = true;
      if (!closed_at_) closed_at_ = Clock::now();
      return false;
    }
    out.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  void Drain() {
    while (auto message = parser_.Next()) {
      if (message->opcode == ws::Opcode::kPing) ++pings_;
      if (message->opcode == ws::Opcode::kText) texts_.push_back(message->payload);
      if (message->opcode == ws::Opcode::kClose) {
        const ws::ClosePayload close = ws::ParseClosePayload(message->payload);
        close_code_ = close.code;
        close_reason_ = std::string(close.reason);
        closed_at_ = Clock::now();
      }
    }
  }

  int fd_ = -1;
  ws::FrameParser parser_{1 << 20, /*require_mask=*/false};
  std::string status_line_;
  int pings_ = 0;
  std::vector<std::string> texts_;
  std::optional<std::uint16_t> close_code_;
  std::string close_reason_;
  std::optional<Clock::time_point> closed_at_;
  bool eof_ = false;
};

// Connects and reads `hello`; returns its principal.
Json ConnectOrFail(WsClient& client, std::uint16_t port, const std::string& target, const HeaderList& headers = {}) {
  INFO(client.handshake_body());
  REQUIRE(client.Connect(port, target, headers));
  auto hello = ReceiveJson(client);
  REQUIRE(hello.has_value());
  INFO("first frame: " << hello->dump());
  REQUIRE(IsType(*hello, "hello"));
  return (*hello)["data"]["principal"];
}

// The refusal of an upgrade: `status` with a JSON error body.
void ExpectRefused(WsClient& client, std::uint16_t port, const std::string& target, int status,
                   const HeaderList& headers = {}) {
  CHECK_FALSE(client.Connect(port, target, headers));
  CHECK(client.handshake_status() == status);
  const Json body = Json::parse(client.handshake_body(), nullptr, false);
  INFO("body: " << client.handshake_body());
  REQUIRE(body.is_object());
  REQUIRE(body["error"].is_object());
  CHECK(body["error"]["code"].is_string());
}

// POST /v1/ws/ticket with `headers`; the ticket.
std::string IssueTicket(HttpClient& http, const HeaderList& headers) {
  HttpResult issued = http.Request("POST", "/v1/ws/ticket", "", headers);
  INFO(Describe(issued));
  REQUIRE(issued.status == 201);
  const Json body = BodyJson(issued);
  REQUIRE(body.is_object());
  REQUIRE(body["ticket"].is_string());
  REQUIRE(body["expires_at"].is_string());
  return body["ticket"].get<std::string>();
}

// Sends a command frame and returns its reply (ok or error with the same id).
Json Command(WsClient& client, const std::string& type, const std::string& id, const Json& data) {
  client.SendText(Json{{"type", type}, {"id", id}, {"data", data}}.dump());
  auto reply = ReceiveUntil(client, [&](const Json& f) {
    return (IsType(f, "ok") || IsType(f, "error")) && f.value("id", Json()) == id;
  });
  REQUIRE(reply.has_value());
  return *reply;
}

bool IsPresenceOf(const Json& frame, const std::string& principal_id) {
  return IsType(frame, "presence") && frame["data"].is_object() &&
         frame["data"].value("principal_id", "") == principal_id;
}

std::string PresenceStatus(const Json& frame) { return frame["data"].value("status", ""); }

// A customer posts a message over REST (the SDK).
void CustomerSays(HttpClient& http, const Tenant& tenant, const CustomerSession& customer, const std::string& text) {
  HttpResult sent = http.Request("POST", "/v1/sdk/messages",
                                 Json{{"conversation_id", customer.conversation_id}, {"text", text}}.dump(),
                                 ApiKey(tenant.publishable_key, customer.session_token));
  INFO(Describe(sent));
  REQUIRE(sent.status == 201);
}

TEST_CASE("ws limits: a ticket opens one WebSocket as its principal once and not after it expired",
          "[integration]") {
  ServerProcess server({"--ws-ticket-ttl-ms", "1000"});
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "tickets@example.com");
  const CustomerSession customer = StartConversation(http, tenant, "hello");
  const HeaderList browser = {{"Origin", "https://shop.example.com"}};

  // A browser-style upgrade: no Authorization header, only ?ticket= and an Origin.
  const std::string ticket = IssueTicket(http, Bearer(tenant.token));
  CHECK(ticket.rfind("wst_", 0) == 0);
  CHECK(ticket.size() >= 4 + 43);  // at least 32 random bytes
  {
    WsClient owner;
    const Json principal = ConnectOrFail(owner, server.port(), "/v1/ws?ticket=" + ticket, browser);
    CHECK(principal.value("type", "") == "account");
    CHECK(principal.value("id", "") == tenant.account_id);
    // It is a working connection: it receives the app's events.
    CustomerSays(http, tenant, customer, "are you there?");
    CHECK(ReceiveUntil(owner, [](const Json& f) { return IsType(f, "message.created"); }).has_value());

    // Single use: the same ticket again is refused before the upgrade, while the first socket lives on.
    WsClient reuse;
    ExpectRefused(reuse, server.port(), "/v1/ws?ticket=" + ticket, 401, browser);
    owner.SendText(R"({"type":"ping","id":"still-here"})");
    CHECK(ReceiveUntil(owner, [](const Json& f) { return IsType(f, "pong"); }).has_value());
  }

  // A customer session gets one too, and it connects as that customer.
  const std::string customer_ticket = IssueTicket(http, ApiKey(tenant.publishable_key, customer.session_token));
  {
    WsClient client;
    const Json principal = ConnectOrFail(client, server.port(), "/v1/ws?ticket=" + customer_ticket, browser);
    CHECK(principal.value("type", "") == "customer");
    CHECK(principal.value("id", "") == customer.customer_id);
  }

  // Unknown or forged tickets are 401; a bad ticket is not rescued by a valid token next to it.
  {
    WsClient client;
    ExpectRefused(client, server.port(), "/v1/ws?ticket=wst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 401);
    ExpectRefused(client, server.port(), "/v1/ws?ticket=", 401);
    ExpectRefused(client, server.port(), "/v1/ws?ticket=" + ticket, 401, {{"Authorization", "Bearer " + tenant.token}});
  }

  // A publishable key alone may not get one (it may not open a WebSocket either).
  HttpResult publishable = http.Request("POST", "/v1/ws/ticket", "", ApiKey(tenant.publishable_key));
  CheckError(publishable, 403, "permission_denied");
  CheckError(http.Request("POST", "/v1/ws/ticket", "", {}), 401, "unauthenticated");

  // Expiry (the TTL is 1 s here instead of 60 s): waiting is the point of this step.
  const std::string stale = IssueTicket(http, Bearer(tenant.token));
  std::this_thread::sleep_for(1200ms);
  WsClient late;
  ExpectRefused(late, server.port(), "/v1/ws?ticket=" + stale, 401, browser);
}

TEST_CASE("ws limits: the connection beyond the per-principal cap is closed with 1008 while the others work",
          "[integration]") {
  ServerProcess server({"--ws-max-per-principal", "3"});
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "capped@example.com");
  const CustomerSession customer = StartConversation(http, tenant, "hello");
  const HeaderList owner_auth = {{"Authorization", "Bearer " + tenant.token}};

  std::vector<std::unique_ptr<WsClient>> owners;
  for (int i = 0; i < 3; ++i) {
    owners.push_back(std::make_unique<WsClient>());
    ConnectOrFail(*owners.back(), server.port(), "/v1/ws", owner_auth);
  }

  // The fourth is upgraded, then closed with 1008 and a reason, without a hello.
  SilentWs extra;
  REQUIRE(extra.Connect(server.port(), "/v1/ws", owner_auth));
  extra.ReadUntilClosed(5s);
  REQUIRE(extra.close_code().has_value());
  CHECK(*extra.close_code() == ws::close_code::kPolicyViolation);
  CHECK_FALSE(extra.close_reason().empty());
  CHECK(extra.texts().empty());

  // Another principal is not affected by the owner's cap.
  WsClient customer_ws;
  ConnectOrFail(customer_ws, server.port(), "/v1/ws?token=" + customer.session_token);

  // The three keep working: each gets the next message.
  CustomerSays(http, tenant, customer, "message for all three");
  for (auto& owner : owners) {
    auto created = ReceiveUntil(*owner, [](const Json& f) { return IsType(f, "message.created"); });
    REQUIRE(created.has_value());
    CHECK((*created)["data"].value("text", "") == "message for all three");
    CHECK_FALSE(owner->closed());
  }

  // Closing one makes room for one more.
  owners.front()->Close();
  const Clock::time_point deadline = Clock::now() + 5s;
  bool admitted = false;
  while (!admitted && Clock::now() < deadline) {
    // The server unregisters the closed socket right after its close handshake: poll for the slot.
    WsClient next;
    REQUIRE(next.Connect(server.port(), "/v1/ws", owner_auth));
    auto first = ReceiveJson(next, 2s);
    admitted = first.has_value() && IsType(*first, "hello");
    if (!admitted) std::this_thread::sleep_for(50ms);
  }
  CHECK(admitted);
}

TEST_CASE("ws limits: a client message over CHAT_WS_MAX_FRAME closes with 1009", "[integration]") {
  ServerProcess server({"--ws-max-frame", "2048"});
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "frames@example.com");
  WsClient client;
  ConnectOrFail(client, server.port(), "/v1/ws?token=" + tenant.token);

  // Just under the limit: served.
  client.SendText(Json{{"type", "ping"}, {"id", std::string(1900, 'x')}}.dump());
  auto pong = ReceiveUntil(client, [](const Json& f) { return IsType(f, "pong"); });
  REQUIRE(pong.has_value());

  // Over it: closed with 1009 (message too big); a fragmented message counts as a whole.
  client.SendRaw(ws::EncodeMaskedFrame(ws::Opcode::kText, std::string(1500, ' '), 0x01020304u, /*fin=*/false));
  client.SendRaw(ws::EncodeMaskedFrame(ws::Opcode::kContinuation, std::string(1500, ' '), 0x05060708u));
  DrainFor(client, 5s);
  CHECK(client.closed());
  REQUIRE(client.close_code().has_value());
  CHECK(*client.close_code() == ws::close_code::kTooBig);

  // Also a single frame whose header announces too much, before its payload has arrived.
  WsClient second;
  ConnectOrFail(second, server.port(), "/v1/ws?token=" + tenant.token);
  second.SendText(std::string(4096, ' '));
  DrainFor(second, 5s);
  REQUIRE(second.close_code().has_value());
  CHECK(*second.close_code() == ws::close_code::kTooBig);
}

TEST_CASE("ws limits: the server pings every heartbeat and closes a silent client", "[integration]") {
  constexpr auto kHeartbeat = 200ms;
  ServerProcess server({"--ws-heartbeat-ms", "200"});
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "heartbeat@example.com");

  // A client that answers pings (WsClient does while it reads) stays connected for many heartbeats.
  {
    WsClient lively;
    ConnectOrFail(lively, server.port(), "/v1/ws?token=" + tenant.token);
    const std::vector<Json> frames = DrainFor(lively, 1500ms);  // > 7 heartbeats, answering pings meanwhile
    CHECK(frames.empty());
    CHECK_FALSE(lively.closed());
    lively.SendText(R"({"type":"ping","id":"alive"})");
    CHECK(ReceiveUntil(lively, [](const Json& f) { return IsType(f, "pong"); }).has_value());
    lively.Close();
  }

  // A client that never answers is pinged, then closed once silent for twice the heartbeat.
  SilentWs silent;
  const Clock::time_point connected = Clock::now();
  REQUIRE(silent.Connect(server.port(), "/v1/ws?token=" + tenant.token));
  silent.ReadUntilClosed(10s);
  CHECK(silent.pings() >= 1);
  REQUIRE(silent.close_code().has_value());
  CHECK(*silent.close_code() == ws::close_code::kGoingAway);
  REQUIRE(silent.closed_at().has_value());
  const auto silent_for = std::chrono::duration_cast<std::chrono::milliseconds>(*silent.closed_at() - connected);
  CHECK(silent_for >= 2 * kHeartbeat);
  CHECK(silent_for < 5s);
}

TEST_CASE("ws limits: an Origin not in CHAT_ALLOWED_ORIGINS is refused with 403, except for customer sessions", "[integration]") {
  ServerProcess server({"--allowed-origins", "https://app.example.com,https://admin.example.com"});
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "origins@example.com");
  const std::string target = "/v1/ws?token=" + tenant.token;

  WsClient evil;
  ExpectRefused(evil, server.port(), target, 403, {{"Origin", "https://evil.example.net"}});
  CHECK(Json::parse(evil.handshake_body(), nullptr, false)["error"].value("code", "") == "permission_denied");
  ExpectRefused(evil, server.port(), target, 403, {{"Origin", "https://app.example.com.evil.net"}});
  ExpectRefused(evil, server.port(), target, 403, {{"Origin", "null"}});

  WsClient listed;
  ConnectOrFail(listed, server.port(), target, {{"Origin", "https://admin.example.com"}});
  WsClient no_origin;  // not a browser: nothing to check
  ConnectOrFail(no_origin, server.port(), target);

  // A refused Origin does not use up a ticket: it still works from an allowed one.
  const std::string ticket = IssueTicket(http, Bearer(tenant.token));
  ExpectRefused(evil, server.port(), "/v1/ws?ticket=" + ticket, 403, {{"Origin", "https://evil.example.net"}});
  WsClient browser;
  ConnectOrFail(browser, server.port(), "/v1/ws?ticket=" + ticket, {{"Origin", "https://app.example.com"}});

  // A customer's session is made to be embedded (the widget runs on the app's own sites, on any origin):
  // its upgrade is accepted from any Origin, with a ticket or with its token.
  const CustomerSession customer = StartConversation(http, tenant, "hello from a shop page");
  const std::string customer_ticket = IssueTicket(http, ApiKey(tenant.publishable_key, customer.session_token));
  WsClient widget;
  ConnectOrFail(widget, server.port(), "/v1/ws?ticket=" + customer_ticket, {{"Origin", "https://shop.example.org"}});
  WsClient widget_token;
  ConnectOrFail(widget_token, server.port(), "/v1/ws?token=" + customer.session_token,
                {{"Origin", "https://shop.example.org"}});
}

TEST_CASE("ws limits: ack moves delivered_seq forward and never back", "[integration]") {
  ServerProcess server;
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "acks@example.com");
  const CustomerSession customer = StartConversation(http, tenant, "one");
  CustomerSays(http, tenant, customer, "two");
  CustomerSays(http, tenant, customer, "three");

  WsClient owner;
  ConnectOrFail(owner, server.port(), "/v1/ws?token=" + tenant.token);
  WsClient client;
  ConnectOrFail(client, server.port(), "/v1/ws?token=" + customer.session_token);
  const Json conversation = customer.conversation_id;

  auto ack = [&](const std::string& id, std::int64_t seq) {
    return Command(client, "ack", id, {{"conversation_id", conversation}, {"seq", seq}});
  };

  Json reply = ack("a-1", 2);
  INFO("reply: " << reply.dump());
  REQUIRE(IsType(reply, "ok"));
  REQUIRE(reply["data"]["receipt"].is_object());
  CHECK(reply["data"]["receipt"].value("conversation_id", "") == customer.conversation_id);
  CHECK(reply["data"]["receipt"].value("member_id", "") == customer.customer_id);
  CHECK(reply["data"]["receipt"].value("delivered_seq", -1) == 2);
  CHECK(reply["data"]["receipt"].value("read_seq", -1) == 0);  // delivered is not read

  // The team sees the receipt.
  auto receipt = ReceiveUntil(owner, [&](const Json& f) {
    return IsType(f, "receipt") && f["data"].value("member_id", "") == customer.customer_id;
  });
  REQUIRE(receipt.has_value());
  CHECK((*receipt)["data"].value("delivered_seq", -1) == 2);

  // Never back.
  reply = ack("a-2", 1);
  REQUIRE(IsType(reply, "ok"));
  CHECK(reply["data"]["receipt"].value("delivered_seq", -1) == 2);
  reply = ack("a-3", 3);
  REQUIRE(IsType(reply, "ok"));
  CHECK(reply["data"]["receipt"].value("delivered_seq", -1) == 3);

  // Beyond the last message, malformed, or another conversation: errors with the frame's id.
  reply = ack("a-4", 99);
  CHECK(IsType(reply, "error"));
  CHECK(reply["data"].value("code", "") == "invalid_argument");
  reply = Command(client, "ack", "a-5", {{"conversation_id", conversation}});
  CHECK(IsType(reply, "error"));
  reply = Command(client, "ack", "a-6", {{"conversation_id", conversation}, {"seq", -1}});
  CHECK(IsType(reply, "error"));
  reply = Command(client, "ack", "a-7", {{"conversation_id", "conv_nope"}, {"seq", 1}});
  CHECK(IsType(reply, "error"));
  CHECK(reply["data"].value("code", "") == "not_found");

  // read moves read_seq; delivered_seq stays where ack put it.
  reply = Command(client, "read", "r-1", {{"conversation_id", conversation}, {"seq", 1}});
  REQUIRE(IsType(reply, "ok"));
  CHECK(reply["data"]["receipt"].value("read_seq", -1) == 1);
  CHECK(reply["data"]["receipt"].value("delivered_seq", -1) == 3);
}

TEST_CASE("ws presence: a customer's connection is announced to the app owner and dm partners only",
          "[integration]") {
  ServerProcess server;
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "presence@example.com");
  const CustomerSession alice = StartConversation(http, tenant, "alice here");
  const CustomerSession carol = StartConversation(http, tenant, "carol here");
  const CustomerSession bob = StartConversation(http, tenant, "bob here");

  // Alice and Carol share a dm; Bob shares nothing with Alice.
  HttpResult dm = http.Request("POST", "/v1/apps/" + tenant.app_id + "/conversations",
                               Json{{"type", "dm"}, {"members", Json::array({carol.customer_id})}}.dump(),
                               ApiKey(tenant.publishable_key, alice.session_token));
  INFO(Describe(dm));
  REQUIRE(dm.status == 201);

  WsClient owner;
  ConnectOrFail(owner, server.port(), "/v1/ws?token=" + tenant.token);
  WsClient carol_ws;
  ConnectOrFail(carol_ws, server.port(), "/v1/ws?token=" + carol.session_token);
  WsClient bob_ws;
  ConnectOrFail(bob_ws, server.port(), "/v1/ws?token=" + bob.session_token);

  WsClient alice_ws;
  ConnectOrFail(alice_ws, server.port(), "/v1/ws?token=" + alice.session_token);
  const auto is_alice = [&](const Json& f) { return IsPresenceOf(f, alice.customer_id); };
  auto to_owner = ReceiveUntil(owner, is_alice);
  REQUIRE(to_owner.has_value());
  INFO("presence: " << to_owner->dump());
  CHECK(PresenceStatus(*to_owner) == "online");
  CHECK((*to_owner)["data"]["at"].is_string());
  auto to_carol = ReceiveUntil(carol_ws, is_alice);
  REQUIRE(to_carol.has_value());
  CHECK(PresenceStatus(*to_carol) == "online");

  // Bob learns nothing about Alice (and Alice nothing about Bob, who came earlier).
  for (const Json& frame : DrainFor(bob_ws, 1s)) CHECK_FALSE(IsType(frame, "presence"));
  for (const Json& frame : DrainFor(alice_ws, 200ms)) CHECK_FALSE(IsPresenceOf(frame, bob.customer_id));
}

TEST_CASE("ws presence: offline comes only after the grace period and a quick reconnect produces nothing",
          "[integration]") {
  constexpr auto kGrace = 1500ms;
  ServerProcess server({"--presence-grace-ms", "1500"});
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "grace@example.com");
  const CustomerSession alice = StartConversation(http, tenant, "alice here");
  const std::string alice_target = "/v1/ws?token=" + alice.session_token;
  const auto is_alice = [&](const Json& f) { return IsPresenceOf(f, alice.customer_id); };

  WsClient owner;
  ConnectOrFail(owner, server.port(), "/v1/ws?token=" + tenant.token);

  // Online with the first connection; a second one changes nothing.
  auto first = std::make_unique<WsClient>();
  ConnectOrFail(*first, server.port(), alice_target);
  auto online = ReceiveUntil(owner, is_alice);
  REQUIRE(online.has_value());
  CHECK(PresenceStatus(*online) == "online");
  auto second = std::make_unique<WsClient>();
  ConnectOrFail(*second, server.port(), alice_target);
  first->Close();
  first.reset();
  std::vector<Json> quiet = DrainFor(owner, kGrace + 700ms);
  for (const Json& frame : quiet) CHECK_FALSE(is_alice(frame));  // one connection is still open

  // The last one closes and she reconnects within the grace period (a page reload): no event at all.
  second->Close();
  second.reset();
  WsClient reloaded;
  ConnectOrFail(reloaded, server.port(), alice_target);
  quiet = DrainFor(owner, kGrace + 1000ms);
  for (const Json& frame : quiet) CHECK_FALSE(is_alice(frame));

  // Gone for good: offline, but not before the grace period is over.
  reloaded.Close();
  const Clock::time_point closed = Clock::now();
  auto offline = ReceiveUntil(owner, is_alice, 10s);
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - closed);
  REQUIRE(offline.has_value());
  INFO("presence: " << offline->dump());
  CHECK(PresenceStatus(*offline) == "offline");
  CHECK(waited >= kGrace - 200ms);  // the server starts the timer a moment before Close() returns

  // And online again with the next connection.
  WsClient back;
  ConnectOrFail(back, server.port(), alice_target);
  auto again = ReceiveUntil(owner, is_alice);
  REQUIRE(again.has_value());
  CHECK(PresenceStatus(*again) == "online");
}

TEST_CASE("ws presence: SIGTERM does not wait for pending presence grace timers", "[integration]") {
  ServerProcess server({"--presence-grace-ms", "60000"});
  INFO(server.error());
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "shutdown-grace@example.com");
  const CustomerSession customer = StartConversation(http, tenant, "hello");

  WsClient owner;
  ConnectOrFail(owner, server.port(), "/v1/ws?token=" + tenant.token);
  {
    WsClient client;
    ConnectOrFail(client, server.port(), "/v1/ws?token=" + customer.session_token);
    client.Close();  // starts a 60 s grace timer
  }
  // Online, and no offline yet: the grace period is running.
  std::vector<Json> seen = DrainFor(owner, 500ms);
  int online = 0;
  for (const Json& frame : seen) {
    if (!IsPresenceOf(frame, customer.customer_id)) continue;
    CHECK(PresenceStatus(frame) == "online");
    ++online;
  }
  CHECK(online == 1);

  const Clock::time_point start = Clock::now();
  const ExitInfo exit = server.Terminate(20s);
  CHECK_FALSE(exit.timed_out);
  CHECK(exit.exited);
  CHECK(exit.code == 0);
  CHECK(Clock::now() - start < 10s);
}

}  // namespace
}  // namespace libchat::testing_support
