// The widget service of the facade: per-app widget settings (defaults, whole replacement, validation,
// tenant isolation) and the public configuration loaded by publishable key, on both stores.
#include <functional>
#include <string>
#include <vector>

#include "catch.h"
#include "unit/chat_test_util.h"

namespace libchat::test {
namespace {

#define WIDGET_TEST(name, tags) TEMPLATE_TEST_CASE("chat: " name, "[chat][widget]" tags, MemoryBackend, SqliteBackend)

PrechatQuestion Question(std::string id, std::string label, std::string type = "text", bool required = false) {
  PrechatQuestion question;
  question.id = std::move(id);
  question.label = std::move(label);
  question.type = std::move(type);
  question.required = required;
  return question;
}

WidgetSettings Custom() {
  WidgetSettings settings;
  settings.color = "#10B981";
  settings.position = "left";
  settings.title = "Talk to Acme";
  settings.welcome_text = "Hallo! Wie können wir helfen?";
  settings.logo_url = "https://cdn.acme.example/logo.png?v=2";
  settings.prechat = {Question("name", "Your name", "text", true), Question("email", "Email", "email", true),
                      Question("order_no", "Order number"), Question("details", "Details", "textarea")};
  return settings;
}

void CheckDefaults(const WidgetSettings& settings) {
  const WidgetSettings defaults;
  CHECK(settings.color == defaults.color);
  CHECK(settings.position == "right");
  CHECK(settings.title == defaults.title);
  CHECK(settings.welcome_text == defaults.welcome_text);
  CHECK(settings.logo_url.empty());
  CHECK(settings.prechat.empty());
}

void CheckSame(const WidgetSettings& got, const WidgetSettings& want) {
  CHECK(got.color == want.color);
  CHECK(got.position == want.position);
  CHECK(got.title == want.title);
  CHECK(got.welcome_text == want.welcome_text);
  CHECK(got.logo_url == want.logo_url);
  REQUIRE(got.prechat.size() == want.prechat.size());
  for (std::size_t i = 0; i < got.prechat.size(); ++i) {
    INFO("question " << i);
    CHECK(got.prechat[i].id == want.prechat[i].id);
    CHECK(got.prechat[i].label == want.prechat[i].label);
    CHECK(got.prechat[i].type == want.prechat[i].type);
    CHECK(got.prechat[i].required == want.prechat[i].required);
  }
}

WIDGET_TEST("a new app has the default widget", "") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  CheckDefaults(LIBCHAT_VALUE(h.chat().GetWidget(owner.principal, app.app.id)));
  CheckDefaults(LIBCHAT_VALUE(h.chat().GetWidget(app.server, app.app.id)));
  PublicWidgetConfig config = LIBCHAT_VALUE(h.chat().GetPublicWidget(app.app.publishable_key));
  CheckDefaults(config.widget);
  CHECK_FALSE(config.bot_enabled);
  CHECK(config.bot_name == BotSettings().name);
}

WIDGET_TEST("widget settings round-trip, survive a restart and are replaced whole", "") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  WidgetSettings stored = LIBCHAT_VALUE(h.chat().PutWidget(owner.principal, app.app.id, Custom()));
  WidgetSettings expected = Custom();
  expected.color = "#10b981";  // one spelling per colour
  CheckSame(stored, expected);
  CheckSame(LIBCHAT_VALUE(h.chat().GetWidget(owner.principal, app.app.id)), expected);
  CheckSame(LIBCHAT_VALUE(h.Open()->GetWidget(owner.principal, app.app.id)), expected);

  // The app's server is team too. A PUT replaces everything: what it leaves at the defaults is reset.
  WidgetSettings minimal;
  minimal.title = "Help";
  LIBCHAT_REQUIRE_OK(h.chat().PutWidget(app.server, app.app.id, minimal));
  WidgetSettings now = LIBCHAT_VALUE(h.chat().GetWidget(owner.principal, app.app.id));
  CHECK(now.title == "Help");
  CHECK(now.color == WidgetSettings().color);
  CHECK(now.position == "right");
  CHECK(now.logo_url.empty());
  CHECK(now.prechat.empty());

  // Limits are inclusive; labels and titles count characters, not bytes.
  WidgetSettings full;
  full.title = std::string(100, 'T');
  full.welcome_text.clear();
  for (int i = 0; i < 10; ++i) full.prechat.push_back(Question("q" + std::to_string(i), std::string(200, 'L')));
  full.prechat[0].id = std::string(40, 'a');
  full.prechat[1].label.clear();
  for (int i = 0; i < 200; ++i) full.prechat[1].label += "ü";
  full.logo_url = "http://x.example/" + std::string(2048 - 17, 'a');
  LIBCHAT_REQUIRE_OK(h.chat().PutWidget(owner.principal, app.app.id, full));
  CheckSame(LIBCHAT_VALUE(h.chat().GetWidget(owner.principal, app.app.id)), full);
}

WIDGET_TEST("invalid widget settings are refused and change nothing", "") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  LIBCHAT_REQUIRE_OK(h.chat().PutWidget(owner.principal, app.app.id, Custom()));

  struct Case {
    const char* what;
    std::function<void(WidgetSettings&)> spoil;
  };
  const std::vector<Case> cases = {
      {"colour name", [](WidgetSettings& s) { s.color = "blue"; }},
      {"short colour", [](WidgetSettings& s) { s.color = "#fff"; }},
      {"colour without #", [](WidgetSettings& s) { s.color = "2563eb1"; }},
      {"non-hex colour", [](WidgetSettings& s) { s.color = "#12345g"; }},
      {"colour with alpha", [](WidgetSettings& s) { s.color = "#2563ebff"; }},
      {"position", [](WidgetSettings& s) { s.position = "top"; }},
      {"empty title", [](WidgetSettings& s) { s.title.clear(); }},
      {"long title", [](WidgetSettings& s) { s.title = std::string(101, 'x'); }},
      {"title with NUL", [](WidgetSettings& s) { s.title = std::string("a\0b", 3); }},
      {"invalid UTF-8", [](WidgetSettings& s) { s.welcome_text = "\xff\xfe"; }},
      {"long welcome", [](WidgetSettings& s) { s.welcome_text = std::string(1001, 'w'); }},
      {"logo scheme", [](WidgetSettings& s) { s.logo_url = "javascript:alert(1)"; }},
      {"logo data URL", [](WidgetSettings& s) { s.logo_url = "data:image/png;base64,AAAA"; }},
      {"logo without host", [](WidgetSettings& s) { s.logo_url = "https:///logo.png"; }},
      {"logo with space", [](WidgetSettings& s) { s.logo_url = "https://a.example/my logo.png"; }},
      {"logo with quote", [](WidgetSettings& s) { s.logo_url = "https://a.example/\"onerror=\"x"; }},
      {"logo with angle", [](WidgetSettings& s) { s.logo_url = "https://a.example/<script>"; }},
      {"logo too long", [](WidgetSettings& s) { s.logo_url = "https://a.example/" + std::string(2048, 'a'); }},
      {"11 questions",
       [](WidgetSettings& s) {
         s.prechat.clear();
         for (int i = 0; i < 11; ++i) s.prechat.push_back(Question("q" + std::to_string(i), "Q"));
       }},
      {"upper-case id", [](WidgetSettings& s) { s.prechat[2].id = "Order"; }},
      {"empty id", [](WidgetSettings& s) { s.prechat[2].id.clear(); }},
      {"long id", [](WidgetSettings& s) { s.prechat[2].id = std::string(41, 'a'); }},
      {"id with dash", [](WidgetSettings& s) { s.prechat[2].id = "order-no"; }},
      {"duplicate id", [](WidgetSettings& s) { s.prechat[3].id = "name"; }},
      {"empty label", [](WidgetSettings& s) { s.prechat[0].label.clear(); }},
      {"long label", [](WidgetSettings& s) { s.prechat[0].label = std::string(201, 'l'); }},
      {"question type", [](WidgetSettings& s) { s.prechat[1].type = "phone"; }},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    WidgetSettings bad = Custom();
    c.spoil(bad);
    LIBCHAT_CHECK_CODE(h.chat().PutWidget(owner.principal, app.app.id, bad), StatusCode::kInvalidArgument);
  }
  WidgetSettings expected = Custom();
  expected.color = "#10b981";
  CheckSame(LIBCHAT_VALUE(h.chat().GetWidget(owner.principal, app.app.id)), expected);
}

WIDGET_TEST("only the app's team reads and changes its widget", "") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestAccount stranger = h.Register("stranger@example.com");
  TestApp app = h.CreateApp(owner);
  TestApp other = h.CreateApp(stranger, "Other");
  TestCustomer customer = h.StartCustomer(app);
  LIBCHAT_REQUIRE_OK(h.chat().PutWidget(owner.principal, app.app.id, Custom()));

  for (const Principal& outsider : {stranger.principal, other.server, app.publishable, customer.principal}) {
    INFO(PrincipalTypeName(outsider.type) << " " << outsider.id);
    LIBCHAT_CHECK_CODE(h.chat().GetWidget(outsider, app.app.id), StatusCode::kNotFound);
    LIBCHAT_CHECK_CODE(h.chat().PutWidget(outsider, app.app.id, WidgetSettings()), StatusCode::kNotFound);
  }
  LIBCHAT_CHECK_CODE(h.chat().GetWidget(owner.principal, AppId("app_doesnotexist")), StatusCode::kNotFound);
  LIBCHAT_CHECK_CODE(h.chat().GetWidget(owner.principal, AppId("nonsense")), StatusCode::kNotFound);
  // Nothing changed, and the other app kept its defaults.
  CHECK(LIBCHAT_VALUE(h.chat().GetWidget(owner.principal, app.app.id)).title == "Talk to Acme");
  CheckDefaults(LIBCHAT_VALUE(h.chat().GetWidget(stranger.principal, other.app.id)));
}

WIDGET_TEST("the public widget configuration is found by publishable key", "") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner, "Acme Support");
  TestApp other = h.CreateApp(owner, "Other");
  LIBCHAT_REQUIRE_OK(h.chat().PutWidget(owner.principal, app.app.id, Custom()));

  PublicWidgetConfig config = LIBCHAT_VALUE(h.chat().GetPublicWidget(app.app.publishable_key));
  CHECK(config.app_id == app.app.id);
  CHECK(config.app_name == "Acme Support");
  CHECK(config.publishable_key == app.app.publishable_key);
  CHECK(config.widget.title == "Talk to Acme");
  CHECK(config.widget.prechat.size() == 4);
  CHECK_FALSE(config.bot_enabled);
  CheckDefaults(LIBCHAT_VALUE(h.chat().GetPublicWidget(other.app.publishable_key)).widget);

  // The SDK configuration carries the same widget and bot fields.
  SdkConfig sdk = LIBCHAT_VALUE(h.chat().GetSdkConfig(app.publishable));
  CHECK(sdk.widget.title == "Talk to Acme");
  CHECK(sdk.widget.color == "#10b981");
  CHECK_FALSE(sdk.bot_enabled);
  CHECK(sdk.bot_name == BotSettings().name);

  // The bot's switch and name come with it, as soon as they change.
  BotSettings bot;
  bot.enabled = true;
  bot.name = "Acme Bot";
  LIBCHAT_REQUIRE_OK(h.chat().PutBotSettings(owner.principal, app.app.id, bot));
  config = LIBCHAT_VALUE(h.chat().GetPublicWidget(app.app.publishable_key));
  CHECK(config.bot_enabled);
  CHECK(config.bot_name == "Acme Bot");
  sdk = LIBCHAT_VALUE(h.chat().GetSdkConfig(app.publishable));
  CHECK(sdk.bot_enabled);
  CHECK(sdk.bot_name == "Acme Bot");
  CHECK_FALSE(LIBCHAT_VALUE(h.chat().GetPublicWidget(other.app.publishable_key)).bot_enabled);

  // A rotated key stops naming the app at once.
  RotatedKey rotated = LIBCHAT_VALUE(h.chat().RotateKey(owner.principal, app.app.id, KeyKind::kPublishable));
  LIBCHAT_CHECK_CODE(h.chat().GetPublicWidget(app.app.publishable_key), StatusCode::kNotFound);
  CHECK(LIBCHAT_VALUE(h.chat().GetPublicWidget(rotated.key)).app_id == app.app.id);
}

WIDGET_TEST("unknown and malformed publishable keys are not found", "") {
  ChatHarness<TestType> h;
  TestAccount owner = h.Register("owner@example.com");
  TestApp app = h.CreateApp(owner);
  for (const std::string& key : {std::string("pk_doesnotexist00000000000000000000"), std::string(""),
                                 std::string("pk_"), app.secret_key, app.app.id.str(),
                                 app.app.publishable_key + "x", "pk_" + std::string(500, 'a')}) {
    INFO(key);
    LIBCHAT_CHECK_CODE(h.chat().GetPublicWidget(key), StatusCode::kNotFound);
  }
}

}  // namespace
}  // namespace libchat::test
