// WebSocket tickets: the store's single use, expiry and bounds (with an injected clock), and
// POST /v1/ws/ticket through the Api.
#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "api_test_util.h"
#include "catch.h"
#include "server/ws_tickets.h"

namespace libchat::test {
namespace {

using namespace std::chrono_literals;
using server::WsTicketOptions;
using server::WsTicketStore;

struct ManualClock {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point(1h);
};

WsTicketOptions OptionsWith(ManualClock& clock) {
  WsTicketOptions options;
  options.now = [&clock] { return clock.now; };
  return options;
}

Principal Customer(const std::string& id) {
  Principal principal;
  principal.type = PrincipalType::kCustomer;
  principal.id = id;
  principal.app_id = AppId("app_1");
  return principal;
}

bool IsTicketShaped(const std::string& ticket) {
  if (ticket.size() != 47 || ticket.rfind("wst_", 0) != 0) return false;
  for (std::size_t i = 4; i < ticket.size(); ++i) {
    const char c = ticket[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

TEST_CASE("ws tickets: a ticket redeems once for the principal it was issued to", "[ws_tickets]") {
  ManualClock clock;
  WsTicketStore store(OptionsWith(clock));
  auto ticket = store.Issue(Customer("cus_a"));
  REQUIRE(ticket.ok());
  CHECK(IsTicketShaped(ticket->ticket));
  CHECK(store.outstanding() == 1);

  auto principal = store.Redeem(ticket->ticket);
  REQUIRE(principal.ok());
  CHECK(principal->id == "cus_a");
  CHECK(principal->type == PrincipalType::kCustomer);
  CHECK(principal->app_id.str() == "app_1");
  CHECK(store.outstanding() == 0);

  auto again = store.Redeem(ticket->ticket);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == StatusCode::kUnauthenticated);
}

TEST_CASE("ws tickets: unknown and malformed tickets are refused alike", "[ws_tickets]") {
  ManualClock clock;
  WsTicketStore store(OptionsWith(clock));
  auto issued = store.Issue(Customer("cus_a"));
  REQUIRE(issued.ok());
  std::string forged = issued->ticket;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad : {forged, std::string(), std::string("wst_"), std::string("garbage"),
                                 issued->ticket + "x", issued->ticket.substr(4)}) {
    INFO("ticket: " << bad);
    auto redeemed = store.Redeem(bad);
    REQUIRE_FALSE(redeemed.ok());
    CHECK(redeemed.status().code() == StatusCode::kUnauthenticated);
  }
  CHECK(store.Redeem(issued->ticket).ok());  // the real one was not used up by the attempts
}

TEST_CASE("ws tickets: a ticket expires after the TTL and expired ones are purged", "[ws_tickets]") {
  ManualClock clock;
  WsTicketOptions options = OptionsWith(clock);
  options.ttl = 60s;
  WsTicketStore store(options);

  const auto before = std::chrono::system_clock::now();
  auto early = store.Issue(Customer("cus_a"));
  auto late = store.Issue(Customer("cus_a"));
  REQUIRE(early.ok());
  REQUIRE(late.ok());
  // expires_at is the wall-clock end of validity: about a minute from now.
  CHECK(early->expires_at >= std::chrono::time_point_cast<std::chrono::milliseconds>(before) + 59s);
  CHECK(early->expires_at <= std::chrono::time_point_cast<std::chrono::milliseconds>(before) + 61s);

  clock.now += 59999ms;
  CHECK(store.Redeem(early->ticket).ok());  // just in time
  clock.now += 1ms;
  auto expired = store.Redeem(late->ticket);
  REQUIRE_FALSE(expired.ok());
  CHECK(expired.status().code() == StatusCode::kUnauthenticated);
  CHECK(store.outstanding() == 0);
}

TEST_CASE("ws tickets: outstanding tickets are bounded per principal and in all", "[ws_tickets]") {
  ManualClock clock;
  WsTicketOptions options = OptionsWith(clock);
  options.max_per_principal = 3;
  options.max_outstanding = 5;
  WsTicketStore store(options);

  std::set<std::string> seen;
  std::string first;
  for (int i = 0; i < 3; ++i) {
    auto ticket = store.Issue(Customer("cus_a"));
    REQUIRE(ticket.ok());
    if (i == 0) first = ticket->ticket;
    seen.insert(ticket->ticket);
  }
  CHECK(seen.size() == 3);  // never the same ticket twice
  auto fourth = store.Issue(Customer("cus_a"));
  REQUIRE_FALSE(fourth.ok());
  CHECK(fourth.status().code() == StatusCode::kResourceExhausted);

  // Using one frees a slot for that principal.
  REQUIRE(store.Redeem(first).ok());
  CHECK(store.Issue(Customer("cus_a")).ok());

  // Another principal has its own allowance, up to the global bound.
  CHECK(store.Issue(Customer("cus_b")).ok());
  CHECK(store.Issue(Customer("cus_b")).ok());
  auto over = store.Issue(Customer("cus_c"));
  REQUIRE_FALSE(over.ok());
  CHECK(over.status().code() == StatusCode::kResourceExhausted);
  CHECK(store.outstanding() == 5);

  // Once they expire, they no longer count.
  clock.now += 61s;
  CHECK(store.Issue(Customer("cus_c")).ok());
  CHECK(store.outstanding() == 1);
}

TEST_CASE("ws tickets: POST /v1/ws/ticket issues tickets to principals that may open a WebSocket",
          "[ws_tickets][api]") {
  auto tickets = std::make_shared<WsTicketStore>();
  server::ApiOptions options = ApiHarness::DefaultApiOptions();
  options.ws_tickets = tickets;
  ApiHarness h(options);
  const auto owner = h.Register("ticket-owner@example.com");
  const auto app = h.CreateApp(owner);
  const auto customer = h.FirstMessage(app);

  SECTION("an account") {
    Response response = h.Get("/v1/ws/ticket", {Bearer(owner.token)}, "POST");
    REQUIRE(response.status == 201);
    const Json body = BodyJson(response);
    REQUIRE(body["ticket"].is_string());
    CHECK(IsTicketShaped(body["ticket"].get<std::string>()));
    REQUIRE(body["expires_at"].is_string());
    CHECK(ParseTimestamp(body["expires_at"].get<std::string>()).ok());
    auto principal = tickets->Redeem(body["ticket"].get<std::string>());
    REQUIRE(principal.ok());
    CHECK(principal->type == PrincipalType::kAccount);
    CHECK(principal->id == owner.id);
  }

  SECTION("a customer session and an app server") {
    Response as_customer =
        h.Get("/v1/ws/ticket", {ApiKey(app.publishable_key), Bearer(customer.session_token)}, "POST");
    REQUIRE(as_customer.status == 201);
    auto principal = tickets->Redeem(BodyJson(as_customer)["ticket"].get<std::string>());
    REQUIRE(principal.ok());
    CHECK(principal->type == PrincipalType::kCustomer);
    CHECK(principal->id == customer.customer_id);

    Response as_server = h.Get("/v1/ws/ticket", {ApiKey(app.secret_key)}, "POST");
    REQUIRE(as_server.status == 201);
    principal = tickets->Redeem(BodyJson(as_server)["ticket"].get<std::string>());
    REQUIRE(principal.ok());
    CHECK(principal->type == PrincipalType::kAppServer);
  }

  SECTION("not without credentials, and not for a bare publishable key") {
    CHECK(h.Get("/v1/ws/ticket", {}, "POST").status == 401);
    Response publishable = h.Get("/v1/ws/ticket", {ApiKey(app.publishable_key)}, "POST");
    CHECK(publishable.status == 403);
    CHECK(ErrorCode(publishable) == "permission_denied");
    CHECK(h.Get("/v1/ws/ticket", {Bearer(owner.token)}).status == 405);
    CHECK(tickets->outstanding() == 0);
  }
}

TEST_CASE("ws tickets: an Api without a ticket store still answers POST /v1/ws/ticket", "[ws_tickets][api]") {
  ApiHarness h;  // no store given: the Api keeps its own
  const auto owner = h.Register("ticket-solo@example.com");
  CHECK(h.Get("/v1/ws/ticket", {Bearer(owner.token)}, "POST").status == 201);
}

}  // namespace
}  // namespace libchat::test
