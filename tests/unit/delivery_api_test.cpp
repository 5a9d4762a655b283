// The HTTP routes of external delivery (server/api/delivery_routes.cpp): webhooks, the outbox, the email
// provider, the delivery policy and notifications, driven with hand-built requests over a real Chat on the
// in-memory store whose webhook sender and email provider are recording doubles (no network). Also the
// server's delivery settings (server/config.cpp) and the delivery worker threads (server/delivery_runner.h).
// ApiHarness::Call checks every response's request id and error shape, and that nothing answered 5xx.
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api_test_util.h"
#include "catch.h"
#include "delivery_test_doubles.h"
#include "libchat/server/config.h"
#include "server/delivery_runner.h"
#include "libchat/server/logger.h"
#include "unit/forwarding_store.h"

namespace libchat::test {
namespace {

std::string Str(const Json& j) { return j.is_string() ? j.get<std::string>() : std::string("<not a string>"); }

constexpr char kHookUrl[] = "https://93.184.215.14/hooks/libchat";  // public: accepted, never contacted
constexpr char kSmtpPassword[] = "smtp-password-do-not-echo-7781";

// Two tenants; app A with an SDK customer. Every response body is kept, to check that no secret leaks.
struct DeliveryApi {
  DeliveryApi()
      : h(ApiHarness::DefaultApiOptions(), [this](Options& options) { UseRecordingDelivery(options, doubles); }) {
    owner = h.Register("owner@example.com");
    other = h.Register("other@example.com");
    app = h.CreateApp(owner, "A");
    other_app = h.CreateApp(other, "B");
    sdk = h.FirstMessage(app);
    foreign_sdk = h.FirstMessage(other_app);
  }

  std::string Base() const { return "/v1/apps/" + app.id; }
  std::string OtherBase() const { return "/v1/apps/" + other_app.id; }
  std::vector<Header> Owner() const { return {Bearer(owner.token)}; }
  std::vector<Header> Other() const { return {Bearer(other.token)}; }
  std::vector<Header> Server() const { return {ApiKey(app.secret_key)}; }
  std::vector<Header> Publishable() const { return {ApiKey(app.publishable_key)}; }
  std::vector<Header> Sdk() const { return {ApiKey(app.publishable_key), Bearer(sdk.session_token)}; }

  Response Send(const std::string& method, const std::string& target, const Json& body,
                const std::vector<Header>& headers) {
    Response response = h.Send(method, target, body, headers);
    bodies.push_back(response.body);
    return response;
  }
  Response Raw(const std::string& method, const std::string& target, const std::string& body,
               const std::vector<Header>& headers) {
    Response response = h.Raw(method, target, body, headers);
    bodies.push_back(response.body);
    return response;
  }
  Response Get(const std::string& target, const std::vector<Header>& headers, const std::string& method = "GET") {
    Response response = h.Get(target, headers, method);
    bodies.push_back(response.body);
    return response;
  }

  // POST /webhooks; REQUIREs 201. The body is kept apart: it is the one place the secret may appear.
  Json CreateWebhook(const Json& events = Json::array({"message.created"}), const std::string& url = kHookUrl) {
    Response response = h.Send("POST", Base() + "/webhooks", Json{{"url", url}, {"events", events}}, Owner());
    INFO(response.body);
    REQUIRE(response.status == 201);
    Json body = BodyJson(response);
    secrets.insert(Str(body["secret"]));
    return body;
  }

  // Expects a 400 invalid_argument.
  void ExpectBadRequest(const Response& response) {
    INFO(response.body);
    CHECK(response.status == 400);
    CHECK(ErrorCode(response) == "invalid_argument");
  }

  // No response kept so far carries any of the secrets.
  void CheckNoSecretLeaked() const {
    for (const std::string& body : bodies) {
      for (const std::string& secret : secrets) {
        INFO(body);
        CHECK(body.find(secret) == std::string::npos);
      }
    }
  }

  // Runs the outbox worker once over everything due.
  int Process() {
    auto processed = h.chat->ProcessDueDeliveries(100);
    INFO(processed.status().ToString());
    REQUIRE(processed.ok());
    return *processed;
  }

  RecordingDelivery doubles;
  ApiHarness h;
  ApiHarness::AccountHandle owner;
  ApiHarness::AccountHandle other;
  ApiHarness::AppHandle app;
  ApiHarness::AppHandle other_app;
  ApiHarness::SdkHandle sdk;
  ApiHarness::SdkHandle foreign_sdk;
  std::vector<std::string> bodies;
  std::set<std::string> secrets{kSmtpPassword};
};

// Exactly the documented members of a webhook, none of them a secret.
void CheckWebhookShape(const Json& webhook) {
  INFO(webhook.dump());
  REQUIRE(webhook.is_object());
  std::set<std::string> keys;
  for (const auto& [key, value] : webhook.items()) keys.insert(key);
  CHECK(keys == std::set<std::string>{"id", "app_id", "url", "events", "enabled", "disabled_reason",
                                      "previous_secret_expires_at", "created_at", "updated_at"});
  CHECK(Str(webhook["id"]).rfind("wh_", 0) == 0);
}

TEST_CASE("delivery api: a webhook is created, listed, read, changed, rotated and deleted", "[delivery_api]") {
  DeliveryApi t;
  const Json created = t.CreateWebhook(Json::array({"message.created", "conversation.updated"}));
  CheckWebhookShape(created["webhook"]);
  const std::string id = Str(created["webhook"]["id"]);
  const std::string secret = Str(created["secret"]);
  CHECK(secret.rfind("whsec_", 0) == 0);
  CHECK(created["webhook"]["app_id"] == t.app.id);
  CHECK(created["webhook"]["url"] == kHookUrl);
  CHECK(created["webhook"]["events"] == Json::array({"message.created", "conversation.updated"}));
  CHECK(created["webhook"]["enabled"] == true);
  const std::string hook = t.Base() + "/webhooks/" + id;

  Response list = t.Get(t.Base() + "/webhooks", t.Owner());
  REQUIRE(list.status == 200);
  Json listed = BodyJson(list);
  REQUIRE(listed["data"].size() == 1);
  CHECK(listed["data"][0]["id"] == id);
  CHECK(listed["next_cursor"].is_null());
  CheckWebhookShape(listed["data"][0]);

  Response got = t.Get(hook, t.Owner());
  REQUIRE(got.status == 200);
  CHECK(BodyJson(got) == created["webhook"]);

  // The app's server key manages its webhooks too.
  Response patched = t.Send("PATCH", hook,
                            Json{{"url", "https://93.184.215.14/v2"}, {"events", Json::array({"message.deleted"})},
                                 {"enabled", false}},
                            t.Server());
  REQUIRE(patched.status == 200);
  Json webhook = BodyJson(patched);
  CheckWebhookShape(webhook);
  CHECK(webhook["url"] == "https://93.184.215.14/v2");
  CHECK(webhook["events"] == Json::array({"message.deleted"}));
  CHECK(webhook["enabled"] == false);
  Response enabled = t.Send("PATCH", hook, Json{{"enabled", true}}, t.Owner());
  REQUIRE(enabled.status == 200);
  CHECK(BodyJson(enabled)["enabled"] == true);
  CHECK(BodyJson(enabled)["url"] == "https://93.184.215.14/v2");  // untouched by a partial PATCH

  Response rotated = t.h.Send("POST", hook + "/rotate-secret", Json(), t.Owner());
  REQUIRE(rotated.status == 200);
  const Json rotation = BodyJson(rotated);
  CheckWebhookShape(rotation["webhook"]);
  CHECK(Str(rotation["secret"]).rfind("whsec_", 0) == 0);
  CHECK(rotation["secret"] != secret);
  CHECK(rotation["webhook"]["previous_secret_expires_at"].is_string());  // the old secret signs for a while
  t.secrets.insert(Str(rotation["secret"]));

  CHECK(t.Get(hook, t.Owner(), "DELETE").status == 204);
  CHECK(t.Get(hook, t.Owner()).status == 404);
  CHECK(t.Get(hook, t.Owner(), "DELETE").status == 404);
  CHECK(BodyJson(t.Get(t.Base() + "/webhooks", t.Owner()))["data"].empty());
  t.CheckNoSecretLeaked();
}

TEST_CASE("delivery api: webhook bodies are checked and private targets are refused with 400",
          "[delivery_api]") {
  DeliveryApi t;
  const std::string hooks = t.Base() + "/webhooks";
  const Json events = Json::array({"message.created"});
  t.ExpectBadRequest(t.Raw("POST", hooks, "{\"url\":", t.Owner()));
  t.ExpectBadRequest(t.Raw("POST", hooks, "[1,2]", t.Owner()));
  t.ExpectBadRequest(t.Send("POST", hooks, Json{{"events", events}}, t.Owner()));
  t.ExpectBadRequest(t.Send("POST", hooks, Json{{"url", 5}, {"events", events}}, t.Owner()));
  t.ExpectBadRequest(t.Send("POST", hooks, Json{{"url", kHookUrl}}, t.Owner()));
  t.ExpectBadRequest(t.Send("POST", hooks, Json{{"url", kHookUrl}, {"events", "message.created"}}, t.Owner()));
  t.ExpectBadRequest(t.Send("POST", hooks, Json{{"url", kHookUrl}, {"events", Json::array({1})}}, t.Owner()));
  t.ExpectBadRequest(t.Send("POST", hooks, Json{{"url", kHookUrl}, {"events", Json::array()}}, t.Owner()));
  Response unknown =
      t.Send("POST", hooks, Json{{"url", kHookUrl}, {"events", Json::array({"message.exploded"})}}, t.Owner());
  t.ExpectBadRequest(unknown);
  CHECK(BodyJson(unknown)["error"]["message"].get<std::string>().find("events[0]") != std::string::npos);
  for (const char* url : {"ftp://93.184.215.14/x", "93.184.215.14/hook", "https://user:pw@93.184.215.14/",
                          "https://93.184.215.14:99999/", "https://93.184.215.14/a b", ""}) {
    INFO(url);
    t.ExpectBadRequest(t.Send("POST", hooks, Json{{"url", url}, {"events", events}}, t.Owner()));
  }
  // SSRF: loopback, private, link-local (cloud metadata) and IPv6 loopback targets.
  for (const char* url : {"http://127.0.0.1/hook", "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data",
                          "http://[::1]:8080/hook", "http://192.168.1.10/", "http://[::ffff:127.0.0.1]/"}) {
    INFO(url);
    Response refused = t.Send("POST", hooks, Json{{"url", url}, {"events", events}}, t.Owner());
    t.ExpectBadRequest(refused);
    CHECK(BodyJson(refused)["error"]["message"].get<std::string>().find("private") != std::string::npos);
  }

  const std::string hook = hooks + "/" + Str(t.CreateWebhook()["webhook"]["id"]);
  t.ExpectBadRequest(t.Send("PATCH", hook, Json{{"url", "http://127.0.0.1:9/"}}, t.Owner()));
  t.ExpectBadRequest(t.Send("PATCH", hook, Json{{"enabled", "yes"}}, t.Owner()));
  t.ExpectBadRequest(t.Send("PATCH", hook, Json{{"events", Json::array({"typing"})}}, t.Owner()));
  t.ExpectBadRequest(t.Send("PATCH", hook, Json{{"url", Json::array()}}, t.Owner()));
  t.ExpectBadRequest(t.Raw("PATCH", hook, "nope", t.Owner()));
  // Nothing changed.
  Json webhook = BodyJson(t.Get(hook, t.Owner()));
  CHECK(webhook["url"] == kHookUrl);
  CHECK(webhook["enabled"] == true);
  t.CheckNoSecretLeaked();
}

TEST_CASE("delivery api: the outbox lists, shows and replays deliveries", "[delivery_api]") {
  DeliveryApi t;
  const Json created = t.CreateWebhook();
  const std::string webhook_id = Str(created["webhook"]["id"]);
  // A reply in the SDK customer's conversation queues one message.created webhook.
  Response reply = t.Send("POST", "/v1/conversations/" + t.sdk.conversation_id + "/messages",
                          Json{{"text", "We are on it"}}, t.Owner());
  REQUIRE(reply.status == 201);
  CHECK(t.Process() == 1);
  const std::vector<WebhookRequest> sent = t.doubles.webhooks->requests();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].url == kHookUrl);

  Response page = t.Get(t.Base() + "/deliveries", t.Owner());
  REQUIRE(page.status == 200);
  Json deliveries = BodyJson(page);
  REQUIRE(deliveries["data"].size() == 1);
  CHECK(deliveries["next_cursor"].is_null());
  const Json delivery = deliveries["data"][0];
  const std::string id = Str(delivery["id"]);
  CHECK(id == sent[0].id);  // the webhook-id header is the delivery id
  CHECK(delivery["channel"] == "webhook");
  CHECK(delivery["kind"] == "message.created");
  CHECK(delivery["status"] == "delivered");
  CHECK(delivery["webhook_id"] == webhook_id);
  CHECK(delivery["attempt_count"] == 1);
  CHECK(delivery["next_attempt_at"].is_null());

  CHECK(BodyJson(t.Get(t.Base() + "/deliveries?status=delivered&channel=webhook&limit=10", t.Owner()))["data"]
            .size() == 1);
  CHECK(BodyJson(t.Get(t.Base() + "/deliveries?status=failed", t.Owner()))["data"].empty());
  CHECK(BodyJson(t.Get(t.Base() + "/deliveries?channel=email&status=", t.Owner()))["data"].empty());
  CHECK(BodyJson(t.Get(t.Base() + "/deliveries?webhook_id=" + webhook_id, t.Owner()))["data"].size() == 1);
  Response by_hook = t.Get(t.Base() + "/webhooks/" + webhook_id + "/deliveries", t.Server());
  REQUIRE(by_hook.status == 200);
  CHECK(BodyJson(by_hook)["data"].size() == 1);
  CHECK(BodyJson(t.Get(t.Base() + "/webhooks/" + webhook_id + "/deliveries?status=pending", t.Owner()))["data"]
            .empty());

  Response one = t.Get(t.Base() + "/deliveries/" + id, t.Owner());
  REQUIRE(one.status == 200);
  const Json shown = BodyJson(one);
  CHECK(shown["id"] == id);
  REQUIRE(shown["attempts"].size() == 1);
  CHECK(shown["attempts"][0]["number"] == 1);
  CHECK(shown["attempts"][0]["status_code"] == 200);

  // A delivered delivery is sent again on request: 202, pending, same id; a second retry while pending is 409.
  t.doubles.webhooks->SetOutcome(SendOutcome::Failed(SendOutcome::Kind::kPermanent, 400, "bad payload"));
  Response retried = t.Send("POST", t.Base() + "/deliveries/" + id + "/retry", Json(), t.Owner());
  REQUIRE(retried.status == 202);
  CHECK(BodyJson(retried)["id"] == id);
  CHECK(BodyJson(retried)["status"] == "pending");
  Response again = t.Send("POST", t.Base() + "/deliveries/" + id + "/retry", Json(), t.Owner());
  CHECK(again.status == 409);
  CHECK(t.Process() == 1);
  const Json failed = BodyJson(t.Get(t.Base() + "/deliveries/" + id, t.Owner()));
  CHECK(failed["status"] == "failed");
  CHECK(failed["attempts"].size() == 2);
  CHECK(failed["last_error"] == "bad payload");
  CHECK(t.doubles.webhooks->requests().size() == 2);
  CHECK(t.doubles.webhooks->requests()[1].id == id);  // stable across retries

  // Bad filters and ids.
  for (const char* query : {"?status=lost", "?channel=fax", "?limit=0", "?limit=201", "?limit=-1", "?limit=x"}) {
    INFO(query);
    t.ExpectBadRequest(t.Get(t.Base() + "/deliveries" + query, t.Owner()));
  }
  t.ExpectBadRequest(t.Get(t.Base() + "/webhooks/" + webhook_id + "/deliveries?status=nope", t.Owner()));
  CHECK(t.Get(t.Base() + "/deliveries/dlv_doesnotexist", t.Owner()).status == 404);
  CHECK(t.Get(t.Base() + "/deliveries/not-an-id", t.Owner()).status == 404);
  CHECK(t.Send("POST", t.Base() + "/deliveries/dlv_doesnotexist/retry", Json(), t.Owner()).status == 404);
  CHECK(t.Get(t.Base() + "/webhooks/wh_doesnotexist/deliveries", t.Owner()).status == 404);
  CHECK(t.Get(t.Base() + "/deliveries?webhook_id=wh_doesnotexist", t.Owner()).status == 404);
  t.CheckNoSecretLeaked();
  for (const std::string& body : t.bodies) CHECK(body.find(Str(created["secret"])) == std::string::npos);
}

TEST_CASE("delivery api: the email provider is set, shown without secrets, replaced and removed",
          "[delivery_api]") {
  DeliveryApi t;
  const std::string path = t.Base() + "/email-provider";
  Response none = t.Get(path, t.Owner());
  CHECK(none.status == 404);
  CHECK(ErrorCode(none) == "not_found");

  const Json smtp = {{"type", "smtp"},     {"from", "Acme Support <support@acme.example>"},
                     {"host", "smtp.acme.example"}, {"port", 587},
                     {"security", "starttls"}, {"username", "mailer"},
                     {"password", kSmtpPassword}};
  Response put = t.Send("PUT", path, smtp, t.Owner());
  REQUIRE(put.status == 200);
  Json shown = BodyJson(put);
  std::set<std::string> keys;
  for (const auto& [key, value] : shown.items()) keys.insert(key);
  CHECK(keys == std::set<std::string>{"type", "from", "settings", "secrets_set", "updated_at"});
  CHECK(shown["type"] == "smtp");
  CHECK(shown["from"] == "Acme Support <support@acme.example>");
  CHECK(shown["settings"] == Json{{"host", "smtp.acme.example"}, {"port", "587"}, {"security", "starttls"},
                                  {"username", "mailer"}});
  CHECK(shown["secrets_set"] == Json::array({"password"}));
  CHECK(shown["updated_at"].is_string());

  Response got = t.Get(path, t.Server());
  REQUIRE(got.status == 200);
  CHECK(BodyJson(got) == shown);

  // The GET body, edited and PUT back: the password (never shown) is kept because the type is unchanged.
  Json edited = shown;
  edited["from"] = "help@acme.example";
  Response replaced = t.Send("PUT", path, edited, t.Owner());
  REQUIRE(replaced.status == 200);
  CHECK(BodyJson(replaced)["from"] == "help@acme.example");
  CHECK(BodyJson(replaced)["secrets_set"] == Json::array({"password"}));
  CHECK(BodyJson(replaced)["settings"]["port"] == "587");

  // The provider the worker builds gets the secret in clear.
  const Json notification = {{"to", {{"email", "grace@example.com"}}}, {"channels", Json::array({"email"})},
                             {"subject", "Hi"}, {"body", "Your order shipped"}};
  REQUIRE(t.Send("POST", t.Base() + "/notifications", notification, t.Owner()).status == 202);
  CHECK(t.Process() == 1);
  REQUIRE_FALSE(t.doubles.email_configs->empty());
  CHECK(t.doubles.email_configs->back().settings["password"] == kSmtpPassword);
  REQUIRE(t.doubles.email->messages().size() == 1);
  CHECK(t.doubles.email->messages()[0].to == "grace@example.com");
  CHECK(t.doubles.email->messages()[0].from == "help@acme.example");

  // Bad bodies.
  t.ExpectBadRequest(t.Raw("PUT", path, "{", t.Owner()));
  t.ExpectBadRequest(t.Send("PUT", path, Json{{"type", "carrier-pigeon"}, {"from", "a@b.example"}}, t.Owner()));
  t.ExpectBadRequest(t.Send("PUT", path, Json{{"type", "smtp"}, {"host", "smtp.acme.example"}}, t.Owner()));
  t.ExpectBadRequest(t.Send("PUT", path, Json{{"type", 1}, {"from", "a@b.example"}}, t.Owner()));
  t.ExpectBadRequest(
      t.Send("PUT", path, Json{{"type", "smtp"}, {"from", "a@b.example"}, {"host", true}}, t.Owner()));
  t.ExpectBadRequest(
      t.Send("PUT", path, Json{{"type", "smtp"}, {"from", "a@b.example"}, {"host", Json::array()}}, t.Owner()));
  t.ExpectBadRequest(t.Send("PUT", path, Json{{"type", "smtp"}, {"from", "not an address"}, {"host", "h.example"}},
                            t.Owner()));
  t.ExpectBadRequest(t.Send("PUT", path, Json{{"type", "smtp"}, {"from", "a@b.example"}, {"host", "h.example"},
                                              {"settings", {{"host", "other.example"}}}},
                            t.Owner()));
  t.ExpectBadRequest(t.Send("PUT", path, Json{{"type", "smtp"}, {"from", "a@b.example"}, {"settings", 5}}, t.Owner()));
  t.ExpectBadRequest(t.Send("PUT", path, Json{{"type", "sendgrid"}, {"from", "a@b.example"}}, t.Owner()));
  t.ExpectBadRequest(
      t.Send("PUT", path, Json{{"type", "smtp"}, {"from", "a@b.example"}, {"host", "h.example"}, {"port", -1}},
             t.Owner()));
  // Still the last good one.
  CHECK(BodyJson(t.Get(path, t.Owner()))["from"] == "help@acme.example");

  CHECK(t.Get(path, t.Owner(), "DELETE").status == 204);
  CHECK(t.Get(path, t.Owner()).status == 404);
  CHECK(t.Get(path, t.Owner(), "DELETE").status == 404);
  t.CheckNoSecretLeaked();
}

TEST_CASE("delivery api: the delivery policy is read, replaced and checked", "[delivery_api]") {
  DeliveryApi t;
  const std::string path = t.Base() + "/delivery-policy";
  Response defaults = t.Get(path, t.Owner());
  REQUIRE(defaults.status == 200);
  CHECK(BodyJson(defaults) ==
        Json{{"channels", Json::array({"websocket"})}, {"offline_after_s", 60}, {"email_fallback_after_s", 300}});

  Response put = t.Send("PUT", path,
                        Json{{"channels", Json::array({"webhook", "email"})}, {"offline_after_s", 30},
                             {"email_fallback_after_s", 900}},
                        t.Owner());
  REQUIRE(put.status == 200);
  const Json expected = {{"channels", Json::array({"websocket", "webhook", "email"})},
                         {"offline_after_s", 30},
                         {"email_fallback_after_s", 900}};
  CHECK(BodyJson(put) == expected);
  CHECK(BodyJson(t.Get(path, t.Server())) == expected);

  // Members left out take their defaults.
  Response partial = t.Send("PUT", path, Json{{"offline_after_s", 5}}, t.Owner());
  REQUIRE(partial.status == 200);
  CHECK(BodyJson(partial) ==
        Json{{"channels", Json::array({"websocket"})}, {"offline_after_s", 5}, {"email_fallback_after_s", 300}});

  for (const Json& bad : {Json{{"channels", "email"}}, Json{{"channels", Json::array({"fax"})}},
                          Json{{"channels", Json::array({7})}}, Json{{"channels", Json::array({"push"})}},
                          Json{{"offline_after_s", -1}}, Json{{"offline_after_s", 1.5}},
                          Json{{"offline_after_s", "60"}}, Json{{"offline_after_s", 1e30}},
                          Json{{"email_fallback_after_s", 18446744073709551615ULL}},
                          Json{{"email_fallback_after_s", 31 * 24 * 3600}}}) {
    INFO(bad.dump());
    t.ExpectBadRequest(t.Send("PUT", path, bad, t.Owner()));
  }
  t.ExpectBadRequest(t.Raw("PUT", path, "\"policy\"", t.Owner()));
  CHECK(BodyJson(t.Get(path, t.Owner()))["offline_after_s"] == 5);
}

TEST_CASE("delivery api: notifications are queued, shown, cancelled and retried", "[delivery_api]") {
  DeliveryApi t;
  const std::string notifications = t.Base() + "/notifications";
  REQUIRE(t.Send("PUT", t.Base() + "/email-provider",
                 Json{{"type", "sendgrid"}, {"from", "noreply@acme.example"}, {"api_key", "SG.secret-key-4411"}},
                 t.Owner())
              .status == 200);
  t.secrets.insert("SG.secret-key-4411");

  // Delivered by email.
  Response queued = t.Send("POST", notifications,
                           Json{{"to", {{"email", "grace@example.com"}}},
                                {"channels", Json::array({"email"})},
                                {"subject", "Order shipped"},
                                {"body", "It is on its way."},
                                {"html", "<p>It is on its way.</p>"},
                                {"priority", "high"}},
                           t.Owner());
  REQUIRE(queued.status == 202);
  Json notification = BodyJson(queued);
  const std::string id = Str(notification["id"]);
  CHECK(id.rfind("ntf_", 0) == 0);
  CHECK(notification["status"] == "pending");
  CHECK(notification["priority"] == "high");
  CHECK(notification["to"] == Json{{"email", "grace@example.com"}});
  CHECK(notification["channels"] == Json::array({"email"}));
  REQUIRE(notification["deliveries"].size() == 1);
  CHECK(notification["deliveries"][0]["status"] == "pending");
  CHECK(t.Process() == 1);
  Response shown = t.Get(notifications + "/" + id, t.Server());
  REQUIRE(shown.status == 200);
  notification = BodyJson(shown);
  CHECK(notification["status"] == "delivered");
  REQUIRE(notification["deliveries"].size() == 1);
  CHECK(notification["deliveries"][0]["attempts"].size() == 1);
  REQUIRE(t.doubles.email->messages().size() == 1);
  CHECK(t.doubles.email->messages()[0].subject == "Order shipped");
  CHECK(t.Get(notifications + "/" + id, t.Owner(), "DELETE").status == 409);  // not pending any more
  CHECK(t.Send("POST", notifications + "/" + id + "/retry", Json(), t.Owner()).status == 409);  // not failed

  // Scheduled for later: cancelled while pending; then neither cancel nor retry applies.
  Response later = t.Send("POST", notifications,
                          Json{{"to", {{"customer_ids", Json::array({t.sdk.customer_id})}}},
                               {"channels", Json::array({"websocket"})},
                               {"subject", "Trial"},
                               {"body", "Your trial ends soon"},
                               {"scheduled_at", "2026-06-01T09:00:00.000Z"},
                               {"fallback", {{"after_s", 3600}, {"channel", "email"}, {"to_email", "g@example.com"}}}},
                          t.Owner());
  INFO(later.body);
  REQUIRE(later.status == 202);
  const Json scheduled = BodyJson(later);
  CHECK(scheduled["scheduled_at"] == "2026-06-01T09:00:00.000Z");
  CHECK(scheduled["fallback"] == Json{{"after_s", 3600}, {"channel", "email"}, {"to_email", "g@example.com"}});
  CHECK(scheduled["to"] == Json{{"customer_ids", Json::array({t.sdk.customer_id})}});
  const std::string later_id = Str(scheduled["id"]);
  CHECK(t.Process() == 0);  // not due
  Response cancelled = t.Get(notifications + "/" + later_id, t.Owner(), "DELETE");
  REQUIRE(cancelled.status == 200);
  CHECK(BodyJson(cancelled)["status"] == "cancelled");
  CHECK(t.Get(notifications + "/" + later_id, t.Owner(), "DELETE").status == 409);
  CHECK(t.Send("POST", notifications + "/" + later_id + "/retry", Json(), t.Owner()).status == 409);

  // Failed (the provider refuses for good), then retried: 202 and pending again, then delivered.
  t.doubles.email->SetOutcome(SendOutcome::Failed(SendOutcome::Kind::kPermanent, 550, "mailbox unavailable"));
  Response doomed = t.Send("POST", notifications,
                           Json{{"to", {{"email", "nobody@example.com"}}}, {"channels", Json::array({"email"})},
                                {"subject", "Hello"}, {"body", "Hello"}},
                           t.Owner());
  REQUIRE(doomed.status == 202);
  const std::string doomed_id = Str(BodyJson(doomed)["id"]);
  CHECK(t.Process() == 1);
  CHECK(BodyJson(t.Get(notifications + "/" + doomed_id, t.Owner()))["status"] == "failed");
  t.doubles.email->SetOutcome(SendOutcome::Delivered(250));
  Response retried = t.Send("POST", notifications + "/" + doomed_id + "/retry", Json(), t.Owner());
  REQUIRE(retried.status == 202);
  CHECK(BodyJson(retried)["status"] == "pending");
  CHECK(t.Process() == 1);
  CHECK(BodyJson(t.Get(notifications + "/" + doomed_id, t.Owner()))["status"] == "delivered");

  // A notification to a conversation's customer.
  Response to_conversation = t.Send("POST", notifications,
                                    Json{{"to", {{"conversation_id", t.sdk.conversation_id}}},
                                         {"channels", Json::array({"websocket"})},
                                         {"body", "An agent replied"},
                                         {"priority", "low"}},
                                    t.Server());
  REQUIRE(to_conversation.status == 202);
  CHECK(BodyJson(to_conversation)["to"] == Json{{"conversation_id", t.sdk.conversation_id}});

  CHECK(t.Get(notifications + "/ntf_doesnotexist", t.Owner()).status == 404);
  CHECK(t.Get(notifications + "/bogus", t.Owner()).status == 404);
  CHECK(t.Get(notifications + "/ntf_doesnotexist", t.Owner(), "DELETE").status == 404);
  CHECK(t.Send("POST", notifications + "/ntf_doesnotexist/retry", Json(), t.Owner()).status == 404);
  t.CheckNoSecretLeaked();
}

TEST_CASE("delivery api: notification bodies are checked field by field", "[delivery_api]") {
  DeliveryApi t;
  const std::string notifications = t.Base() + "/notifications";
  const Json good = {{"to", {{"customer_ids", Json::array({t.sdk.customer_id})}}},
                     {"channels", Json::array({"websocket"})},
                     {"body", "Hello"}};
  REQUIRE(t.Send("POST", notifications, good, t.Owner()).status == 202);

  auto with = [&](const char* field, const Json& value) {
    Json body = good;
    body[field] = value;
    return body;
  };
  auto without = [&](const char* field) {
    Json body = good;
    body.erase(field);
    return body;
  };
  const std::vector<Json> bad = {
      without("to"),
      without("channels"),
      without("body"),
      with("to", "cus_x"),
      with("to", Json::object()),
      with("to", {{"customer_ids", Json::array({t.sdk.customer_id})}, {"email", "a@b.example"}}),
      with("to", {{"customer_ids", t.sdk.customer_id}}),
      with("to", {{"customer_ids", Json::array()}}),
      with("to", {{"customer_ids", Json::array({"someone"})}}),
      with("to", {{"customer_ids", Json::array({42})}}),
      with("to", {{"conversation_id", "c-1"}}),
      with("to", {{"conversation_id", 7}}),
      with("to", {{"email", false}}),
      with("to", {{"email", "not an address"}}),
      with("channels", Json::array()),
      with("channels", "websocket"),
      with("channels", Json::array({"sms"})),
      with("channels", Json::array({"push"})),
      with("body", 5),
      with("body", ""),
      with("subject", Json::array()),
      with("html", 1),
      with("priority", "asap"),
      with("priority", 1),
      with("scheduled_at", "tomorrow"),
      with("scheduled_at", "2026-13-45T99:00:00Z"),
      with("scheduled_at", 1767225600),
      with("scheduled_at", "2099-01-01T00:00:00.000Z"),
      with("fallback", "email"),
      with("fallback", {{"channel", "email"}}),
      with("fallback", {{"after_s", -5}, {"channel", "email"}}),
      with("fallback", {{"after_s", 1.5}, {"channel", "email"}}),
      with("fallback", {{"after_s", 99999999999LL}, {"channel", "email"}}),
      with("fallback", {{"after_s", 60}, {"channel", "sms"}}),
      with("fallback", {{"after_s", 60}, {"channel", "email"}, {"to_email", 3}}),
  };
  for (const Json& body : bad) {
    INFO(body.dump());
    t.ExpectBadRequest(t.Send("POST", notifications, body, t.Owner()));
  }
  t.ExpectBadRequest(t.Raw("POST", notifications, "{\"to\":{", t.Owner()));
  t.ExpectBadRequest(t.Raw("POST", notifications, "null", t.Owner()));

  // Email needs a provider (409 until one is configured) and a subject.
  const Json by_email = {{"to", {{"email", "a@b.example"}}}, {"channels", Json::array({"email"})},
                         {"subject", "S"}, {"body", "B"}};
  Response no_provider = t.Send("POST", notifications, by_email, t.Owner());
  CHECK(no_provider.status == 409);
  CHECK(ErrorCode(no_provider) == "failed_precondition");
  // Ids that are well formed but not this app's.
  CHECK(t.Send("POST", notifications, with("to", {{"customer_ids", Json::array({t.foreign_sdk.customer_id})}}),
               t.Owner())
            .status == 404);
  CHECK(t.Send("POST", notifications, with("to", {{"conversation_id", t.foreign_sdk.conversation_id}}), t.Owner())
            .status == 404);
  CHECK(t.Send("POST", notifications, with("to", {{"customer_ids", Json::array({"cus_nobody"})}}), t.Owner())
            .status == 404);
}

TEST_CASE("delivery api: other tenants, customers and publishable keys see nothing", "[delivery_api]") {
  DeliveryApi t;
  REQUIRE(t.Send("PUT", t.Base() + "/email-provider",
                 Json{{"type", "postmark"}, {"from", "a@acme.example"}, {"server_token", "pm-token-5512"}}, t.Owner())
              .status == 200);
  t.secrets.insert("pm-token-5512");
  const Json created = t.CreateWebhook();
  const std::string webhook_id = Str(created["webhook"]["id"]);
  REQUIRE(t.Send("POST", "/v1/conversations/" + t.sdk.conversation_id + "/messages", Json{{"text", "hi"}}, t.Owner())
              .status == 201);
  REQUIRE(t.Process() == 1);
  const std::string delivery_id = Str(BodyJson(t.Get(t.Base() + "/deliveries", t.Owner()))["data"][0]["id"]);
  Response queued = t.Send("POST", t.Base() + "/notifications",
                           Json{{"to", {{"email", "a@b.example"}}}, {"channels", Json::array({"email"})},
                                {"subject", "S"}, {"body", "B"}, {"scheduled_at", "2026-06-01T00:00:00Z"}},
                           t.Owner());
  REQUIRE(queued.status == 202);
  const std::string notification_id = Str(BodyJson(queued)["id"]);

  struct Call {
    std::string method;
    std::string path;
    Json body;
  };
  auto calls_for = [&](const std::string& base) {
    return std::vector<Call>{
        {"GET", base + "/webhooks", Json()},
        {"POST", base + "/webhooks", Json{{"url", kHookUrl}, {"events", Json::array({"message.created"})}}},
        {"GET", base + "/webhooks/" + webhook_id, Json()},
        {"PATCH", base + "/webhooks/" + webhook_id, Json{{"enabled", false}}},
        {"POST", base + "/webhooks/" + webhook_id + "/rotate-secret", Json()},
        {"GET", base + "/webhooks/" + webhook_id + "/deliveries", Json()},
        {"GET", base + "/deliveries", Json()},
        {"GET", base + "/deliveries/" + delivery_id, Json()},
        {"POST", base + "/deliveries/" + delivery_id + "/retry", Json()},
        {"GET", base + "/email-provider", Json()},
        {"PUT", base + "/email-provider", Json{{"type", "sendgrid"}, {"from", "x@evil.example"}, {"api_key", "k"}}},
        {"GET", base + "/delivery-policy", Json()},
        {"PUT", base + "/delivery-policy", Json{{"offline_after_s", 1}}},
        {"POST", base + "/notifications",
         Json{{"to", {{"email", "a@b.example"}}}, {"channels", Json::array({"email"})}, {"subject", "S"},
              {"body", "B"}}},
        {"GET", base + "/notifications/" + notification_id, Json()},
        {"POST", base + "/notifications/" + notification_id + "/retry", Json()},
        {"DELETE", base + "/notifications/" + notification_id, Json()},
        {"DELETE", base + "/webhooks/" + webhook_id, Json()},
        {"DELETE", base + "/email-provider", Json()},
    };
  };
  struct Outsider {
    const char* name;
    std::vector<Header> headers;
  };
  const std::vector<Outsider> outsiders = {
      {"another account", t.Other()},
      {"another app's server key", {ApiKey(t.other_app.secret_key)}},
      {"a customer session", t.Sdk()},
      {"a customer through the server key", {ApiKey(t.app.secret_key), Header{"X-User-Id", "user-1"}}},
      {"the publishable key", t.Publishable()},
  };
  for (const Outsider& outsider : outsiders) {
    for (const Call& call : calls_for(t.Base())) {
      INFO(outsider.name << ": " << call.method << " " << call.path);
      Response response = call.body.is_null() ? t.Get(call.path, outsider.headers, call.method)
                                              : t.Send(call.method, call.path, call.body, outsider.headers);
      CHECK(response.status == 404);
    }
  }
  // The other tenant's owner naming app A's ids under its own app: 404 too.
  for (const Call& call : calls_for(t.OtherBase())) {
    if (call.path.find(webhook_id) == std::string::npos && call.path.find(delivery_id) == std::string::npos &&
        call.path.find(notification_id) == std::string::npos) {
      continue;
    }
    INFO(call.method << " " << call.path);
    Response response = call.body.is_null() ? t.Get(call.path, t.Other(), call.method)
                                            : t.Send(call.method, call.path, call.body, t.Other());
    CHECK(response.status == 404);
  }
  // Without credentials: 401.
  CHECK(t.Get(t.Base() + "/webhooks", {}).status == 401);
  CHECK(t.Send("POST", t.Base() + "/notifications", Json::object(), {}).status == 401);

  // Nothing changed in app A.
  const Json webhook = BodyJson(t.Get(t.Base() + "/webhooks/" + webhook_id, t.Owner()));
  CHECK(webhook["enabled"] == true);
  CHECK(webhook["previous_secret_expires_at"].is_null());
  CHECK(BodyJson(t.Get(t.Base() + "/email-provider", t.Owner()))["type"] == "postmark");
  CHECK(BodyJson(t.Get(t.Base() + "/delivery-policy", t.Owner()))["offline_after_s"] == 60);
  CHECK(BodyJson(t.Get(t.Base() + "/notifications/" + notification_id, t.Owner()))["status"] == "pending");
  CHECK(BodyJson(t.Get(t.Base() + "/webhooks", t.Owner()))["data"].size() == 1);
  CHECK(BodyJson(t.Get(t.OtherBase() + "/webhooks", t.Other()))["data"].empty());
  t.CheckNoSecretLeaked();
}

TEST_CASE("delivery api: an app has at most 20 webhook endpoints, the 21st is 409", "[delivery_api]") {
  DeliveryApi t;
  for (int i = 0; i < 20; ++i) t.CreateWebhook();
  Response refused = t.Send("POST", t.Base() + "/webhooks",
                            Json{{"url", kHookUrl}, {"events", Json::array({"message.created"})}}, t.Owner());
  CHECK(refused.status == 409);
  CHECK(ResponseHeader(refused, "Retry-After") == nullptr);  // not a rate limit: retrying will not help
}

// ---------------------------------------------------------------------------
// Server configuration

const char* NoEnv(const char*) { return nullptr; }

TEST_CASE("delivery config: secrets key, networks, timeouts, retry schedule, workers and TLS", "[delivery_api]") {
  const auto defaults = server::LoadConfig({}, NoEnv);
  REQUIRE(defaults.ok());
  CHECK(defaults->secrets_key.empty());
  CHECK(defaults->secrets_key_file.empty());
  CHECK(defaults->outbound_allow_networks.empty());
  CHECK(defaults->webhook_timeout_ms == 15000);
  CHECK(defaults->delivery_retry_schedule_ms.empty());
  CHECK(defaults->delivery_workers == 2);
  CHECK(defaults->tls_verify);

  const std::string hex = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";
  std::string raw;
  for (int i = 0; i < 32; ++i) raw.push_back(static_cast<char>(i));
  auto env = [&hex](const char* name) -> const char* {
    const std::string n = name;
    if (n == "CHAT_SECRETS_KEY") return hex.c_str();
    if (n == "CHAT_OUTBOUND_ALLOW_NETWORKS") return "127.0.0.0/8, ::1/128,10.1.2.3";
    if (n == "CHAT_WEBHOOK_TIMEOUT_MS") return "2500";
    if (n == "CHAT_DELIVERY_RETRY_SCHEDULE") return "0,5,300,0.25";
    if (n == "CHAT_DELIVERY_WORKERS") return "0";
    if (n == "CHAT_TLS_VERIFY") return "false";
    return nullptr;
  };
  const auto loaded = server::LoadConfig({}, env);
  INFO(loaded.status().ToString());
  REQUIRE(loaded.ok());
  CHECK(loaded->secrets_key == raw);
  CHECK(loaded->outbound_allow_networks == std::vector<std::string>{"127.0.0.0/8", "::1/128", "10.1.2.3/32"});
  CHECK(loaded->webhook_timeout_ms == 2500);
  CHECK(loaded->delivery_retry_schedule_ms == std::vector<std::int64_t>{0, 5000, 300000, 250});
  CHECK(loaded->delivery_workers == 0);
  CHECK_FALSE(loaded->tls_verify);

  // Base64 (standard, URL-safe, with or without padding) of the same 32 bytes; flags win over the environment.
  for (const char* key :
       {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}) {
    const auto flags = server::LoadConfig({"--secrets-key", key, "--tls-verify=true", "--delivery-workers", "4"}, env);
    INFO(key);
    REQUIRE(flags.ok());
    CHECK(flags->secrets_key == raw);
    CHECK(flags->tls_verify);
    CHECK(flags->delivery_workers == 4);
  }
  const auto file = server::LoadConfig({"--secrets-key-file", "/etc/libchat/key"}, NoEnv);
  REQUIRE(file.ok());
  CHECK(file->secrets_key_file == "/etc/libchat/key");
  const auto both = server::LoadConfig({"--secrets-key-file", "/etc/libchat/key"}, env);
  CHECK(both.status().code() == StatusCode::kInvalidArgument);

  const std::string secret_looking = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeX";
  const auto bad_key = server::LoadConfig({"--secrets-key", secret_looking}, NoEnv);
  REQUIRE(bad_key.status().code() == StatusCode::kInvalidArgument);
  CHECK(bad_key.status().message().find(secret_looking) == std::string::npos);  // never echoed

  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"--secrets-key", "c2hvcnQ="},                 // base64 of 5 bytes
           {"--secrets-key", "00ff"},                     // hex, too short
           {"--secrets-key-file", ""},
           {"--outbound-allow-networks", "10.0.0.0/33"},
           {"--outbound-allow-networks", "intranet"},
           {"--outbound-allow-networks", "::1/129"},
           {"--outbound-allow-networks", "10.0.0.0/x"},
           {"--webhook-timeout-ms", "0"},
           {"--webhook-timeout-ms", "fast"},
           {"--webhook-timeout-ms", "60001"},
           {"--delivery-retry-schedule", ""},
           {"--delivery-retry-schedule", "0,-5"},
           {"--delivery-retry-schedule", "0,5s"},
           {"--delivery-retry-schedule", "1.2345"},
           {"--delivery-retry-schedule", "99999999"},
           {"--delivery-retry-schedule", "0,,"},
           {"--delivery-workers", "-1"},
           {"--delivery-workers", "65"},
           {"--tls-verify", "maybe"},
       }) {
    INFO(bad[0] << " " << bad[1]);
    CHECK(server::LoadConfig(bad, NoEnv).status().code() == StatusCode::kInvalidArgument);
  }
  CHECK(server::ConfigHelpText().find("CHAT_DELIVERY_RETRY_SCHEDULE") != std::string::npos);
}

// ---------------------------------------------------------------------------
// The delivery worker threads

// Polls `done` until it holds or `timeout` passes.
template <typename Predicate>
bool Eventually(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

TEST_CASE("delivery runner: sends what is queued, is woken by new messages and stops promptly",
          "[delivery_api]") {
  DeliveryApi t;
  t.CreateWebhook();
  server::Logger log(server::LogLevel::kError, [](std::string_view) {});
  server::DeliveryRunnerOptions options;
  options.workers = 2;
  options.max_idle = std::chrono::seconds(30);  // only a wake (or due work) can make it run again
  options.min_wake_interval = std::chrono::milliseconds(1);
  server::DeliveryRunner runner(*t.h.chat, log, options);
  runner.Start();
  runner.Start();  // idempotent
  // The first passes find nothing and go to sleep for max_idle.
  REQUIRE(Eventually([&] { return runner.passes() >= 2; }));

  // A message queues a message.created webhook and its event wakes a worker.
  REQUIRE(t.Send("POST", "/v1/conversations/" + t.sdk.conversation_id + "/messages", Json{{"text", "one"}},
                 t.Owner())
              .status == 201);
  CHECK(Eventually([&] { return t.doubles.webhooks->requests().size() == 1; }));
  CHECK(Eventually([&] { return runner.claimed() == 1; }));

  // Work that no event announces is picked up after Wake().
  REQUIRE(t.Send("PUT", t.Base() + "/email-provider",
                 Json{{"type", "sendgrid"}, {"from", "a@acme.example"}, {"api_key", "k-1"}}, t.Owner())
              .status == 200);
  REQUIRE(t.Send("POST", t.Base() + "/notifications",
                 Json{{"to", {{"email", "a@b.example"}}}, {"channels", Json::array({"email"})}, {"subject", "S"},
                      {"body", "B"}},
                 t.Owner())
              .status == 202);
  runner.Wake();
  CHECK(Eventually([&] { return t.doubles.email->messages().size() == 1; }));

  const auto stop_started = std::chrono::steady_clock::now();
  runner.Stop();
  CHECK(std::chrono::steady_clock::now() - stop_started < std::chrono::seconds(2));
  runner.Stop();  // idempotent
  const std::uint64_t passes = runner.passes();
  REQUIRE(t.Send("POST", "/v1/conversations/" + t.sdk.conversation_id + "/messages", Json{{"text", "two"}},
                 t.Owner())
              .status == 201);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a stopped runner stays stopped: nothing to poll
  CHECK(runner.passes() == passes);
  CHECK(t.doubles.webhooks->requests().size() == 1);
}

// A store whose outbox claims fail while `fail_claims` is set.
class ClaimFailingStore : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::atomic<bool> fail_claims{false};
  std::atomic<int> claims{0};
  std::atomic<int> good_claims{0};

  Result<std::vector<Delivery>> ClaimDueDeliveries(Timestamp now, Timestamp lease_until, int limit) override {
    claims.fetch_add(1);
    if (fail_claims.load()) return UnavailableError("database is locked");
    auto claimed = ForwardingStore::ClaimDueDeliveries(now, lease_until, limit);
    if (claimed.ok()) good_claims.fetch_add(1);
    return claimed;
  }
};

TEST_CASE("delivery runner: store failures are logged and retried with backoff", "[delivery_api]") {
  auto store = std::make_shared<ClaimFailingStore>(testing::NewMemoryStore());
  Options chat_options;
  chat_options.store = store;
  chat_options.clock = std::make_shared<testing::FakeClock>();
  chat_options.password_hashing.memory_kib = 8192;
  chat_options.password_hashing.iterations = 1;
  RecordingDelivery doubles;
  UseRecordingDelivery(chat_options, doubles);
  auto chat = Chat::Open(std::move(chat_options));
  REQUIRE(chat.ok());

  std::mutex lines_mutex;
  std::vector<std::string> lines;
  server::Logger log(server::LogLevel::kWarn, [&](std::string_view line) {
    std::lock_guard lock(lines_mutex);
    lines.emplace_back(line);
  });
  auto warnings = [&] {
    std::lock_guard lock(lines_mutex);
    return lines.size();
  };
  server::DeliveryRunnerOptions options;
  options.workers = 1;
  options.max_idle = std::chrono::seconds(30);
  options.error_backoff = std::chrono::milliseconds(100);
  options.max_error_backoff = std::chrono::milliseconds(200);
  store->fail_claims = true;
  server::DeliveryRunner runner(**chat, log, options);
  runner.Start();
  // Retried: 100 ms, then 200 ms apart (capped), each failure logged; never a busy loop.
  REQUIRE(Eventually([&] { return warnings() >= 3; }));
  const int claims_before = store->claims.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(store->claims.load() - claims_before <= 3);
  {
    std::lock_guard lock(lines_mutex);
    CHECK(lines.front().find("database is locked") != std::string::npos);
    CHECK(lines.front().find("retrying in 100 ms") != std::string::npos);
    CHECK(lines.back().find("retrying in 200 ms") != std::string::npos);
  }
  // Recovers by itself once the store does, and then sleeps (max_idle) instead of logging.
  CHECK(store->good_claims.load() == 0);
  store->fail_claims = false;
  CHECK(Eventually([&] { return store->good_claims.load() >= 1; }));
  const std::size_t logged = warnings();
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  CHECK(warnings() == logged);
  CHECK(store->good_claims.load() == 1);
  runner.Stop();

  // A runner with no threads does nothing at all.
  server::DeliveryRunnerOptions none;
  none.workers = 0;
  server::DeliveryRunner idle(**chat, log, none);
  idle.Start();
  idle.Wake();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(idle.passes() == 0);
}

}  // namespace
}  // namespace libchat::test

namespace libchat::test {
namespace {

TEST_CASE("delivery api: a notification retried with the same Idempotency-Key is queued once", "[delivery_api]") {
  DeliveryApi t;
  const std::string notifications = t.Base() + "/notifications";
  const Json body{{"to", {{"customer_ids", Json::array({t.sdk.customer_id})}}},
                  {"channels", Json::array({"websocket"})},
                  {"body", "Your order shipped"},
                  {"priority", "urgent"}};
  std::vector<Header> headers = t.Owner();
  headers.push_back({"Idempotency-Key", "notify-order-1234-shipped"});
  Response first = t.Send("POST", notifications, body, headers);
  REQUIRE(first.status == 202);
  Response again = t.Send("POST", notifications, body, headers);
  REQUIRE(again.status == 202);
  CHECK(BodyJson(again)["id"] == BodyJson(first)["id"]);
  // The customer is offline: the one websocket delivery waits, and nothing else was queued.
  Response listed = t.Get(t.Base() + "/deliveries?channel=websocket", t.Owner());
  REQUIRE(listed.status == 200);
  CHECK(BodyJson(listed)["data"].size() == 1);
  // The same key with another request is refused rather than replayed.
  Json other = body;
  other["body"] = "Something else";
  CHECK(t.Send("POST", notifications, other, headers).status == 422);
}

}  // namespace
}  // namespace libchat::test

namespace libchat::test {
namespace {

TEST_CASE("delivery api: an SMTP host on a private or loopback address is refused", "[delivery_api]") {
  DeliveryApi t;
  for (const std::string host : {"127.0.0.1", "10.1.2.3", "169.254.169.254", "localhost", "::1"}) {
    INFO(host);
    Response refused = t.Send("PUT", t.Base() + "/email-provider",
                              Json{{"type", "smtp"}, {"from", "help@acme.example"}, {"host", host}, {"port", "25"},
                                   {"security", "none"}},
                              t.Owner());
    CHECK(refused.status == 400);
  }
  CHECK(t.Get(t.Base() + "/email-provider", t.Owner()).status == 404);  // nothing was stored
}

}  // namespace
}  // namespace libchat::test
