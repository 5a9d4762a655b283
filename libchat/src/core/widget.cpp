// The widget service: per-app widget settings (the team reads and replaces them) and the public
// configuration a page embedding the widget loads by publishable key, with no principal at all.
#include <set>

#include <nlohmann/json.hpp>

#include "core/chat_impl.h"
#include "core/validation.h"
#include "core/widget_settings.h"
#include "util/crypto.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

using Json = nlohmann::json;

constexpr char kWidgetSetting[] = "widget";
constexpr std::size_t kMaxTitleChars = 100;
constexpr std::size_t kMaxWelcomeChars = 1000;
constexpr std::size_t kMaxLogoUrlBytes = 2048;
constexpr std::size_t kMaxPrechatQuestions = 10;
constexpr std::size_t kMaxQuestionIdBytes = 40;
constexpr std::size_t kMaxLabelChars = 200;

bool IsHexDigit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::size_t CodePoints(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// Valid UTF-8 without NUL, [min_chars, max_chars] code points (what a person counts, and what the
// OpenAPI minLength/maxLength mean).
Status ValidateChars(std::string_view field, std::string_view text, std::size_t min_chars, std::size_t max_chars) {
  LIBCHAT_RETURN_IF_ERROR(internal::ValidateText(field, text, 0, 4 * max_chars));
  const std::size_t chars = CodePoints(text);
  if (chars < min_chars) {
    return InvalidArgumentError(std::string(field) + (min_chars == 1 ? " must not be empty" : " is too short"));
  }
  if (chars > max_chars) {
    return InvalidArgumentError(std::string(field) + " is longer than " + std::to_string(max_chars) + " characters");
  }
  return Status::Ok();
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(text[i]) != prefix[i]) return false;
  }
  return true;
}

// The logo is put into an <img src> by the widget and the dashboard: only http(s), and nothing that
// could end an attribute or a CSS url() should a page ever interpolate it.
Status ValidateLogoUrl(std::string_view url) {
  if (url.empty()) return Status::Ok();
  if (url.size() > kMaxLogoUrlBytes) {
    return InvalidArgumentError("logo_url is longer than " + std::to_string(kMaxLogoUrlBytes) + " bytes");
  }
  LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("logo_url", url, 1, kMaxLogoUrlBytes));
  std::size_t rest = 0;
  if (StartsWithIgnoreCase(url, "https://")) {
    rest = 8;
  } else if (StartsWithIgnoreCase(url, "http://")) {
    rest = 7;
  } else {
    return InvalidArgumentError("logo_url must be an http:// or https:// URL");
  }
  if (rest >= url.size() || url[rest] == '/' || url[rest] == '?' || url[rest] == '#') {
    return InvalidArgumentError("logo_url must name a host");
  }
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`' || c == '\\') {
      return InvalidArgumentError("logo_url must not contain spaces, quotes, backslashes or angle brackets");
    }
  }
  return Status::Ok();
}

Status ValidateQuestionId(std::string_view field, std::string_view id) {
  bool ok = !id.empty() && id.size() <= kMaxQuestionIdBytes;
  for (char c : id) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok) return InvalidArgumentError(std::string(field) + " must be 1 to 40 of a-z, 0-9 and _");
  return Status::Ok();
}

Json ToStoredJson(const WidgetSettings& settings) {
  Json prechat = Json::array();
  for (const PrechatQuestion& question : settings.prechat) {
    prechat.push_back(Json{{"id", question.id},
                           {"label", question.label},
                           {"type", question.type},
                           {"required", question.required}});
  }
  return Json{{"color", settings.color},       {"position", settings.position},
              {"title", settings.title},       {"welcome_text", settings.welcome_text},
              {"logo_url", settings.logo_url}, {"prechat", std::move(prechat)}};
}

// Reads one string member; keeps `*out` (the default) when absent or not a string.
void ReadString(const Json& object, const char* name, std::string* out) {
  const auto it = object.find(name);
  if (it != object.end() && it->is_string()) *out = it->get<std::string>();
}

WidgetSettings FromStoredJson(const Json& stored) {
  WidgetSettings settings;
  if (!stored.is_object()) return settings;
  ReadString(stored, "color", &settings.color);
  ReadString(stored, "position", &settings.position);
  ReadString(stored, "title", &settings.title);
  ReadString(stored, "welcome_text", &settings.welcome_text);
  ReadString(stored, "logo_url", &settings.logo_url);
  const auto prechat = stored.find("prechat");
  if (prechat != stored.end() && prechat->is_array()) {
    for (const Json& item : *prechat) {
      if (!item.is_object()) continue;
      PrechatQuestion question;
      ReadString(item, "id", &question.id);
      ReadString(item, "label", &question.label);
      ReadString(item, "type", &question.type);
      const auto required = item.find("required");
      question.required = required != item.end() && required->is_boolean() && required->get<bool>();
      settings.prechat.push_back(std::move(question));
    }
  }
  return settings;
}

}  // namespace

namespace internal {

Result<WidgetSettings> LoadWidgetSettings(Store& store, const AppId& app) {
  LIBCHAT_ASSIGN_OR_RETURN(std::optional<std::string> text, store.GetAppSetting(app, kWidgetSetting));
  if (!text || text->empty()) return WidgetSettings();
  // Written only by PutWidget after validation; an unreadable document degrades to the defaults
  // rather than breaking every page that embeds the widget.
  return FromStoredJson(Json::parse(*text, nullptr, /*allow_exceptions=*/false));
}

Status ValidateWidgetSettings(const WidgetSettings& settings) {
  const std::string& color = settings.color;
  bool color_ok = color.size() == 7 && color[0] == '#';
  for (std::size_t i = 1; color_ok && i < color.size(); ++i) color_ok = IsHexDigit(color[i]);
  if (!color_ok) return InvalidArgumentError("color must be a hex colour #rrggbb");
  if (settings.position != "right" && settings.position != "left") {
    return InvalidArgumentError("position must be one of right, left");
  }
  LIBCHAT_RETURN_IF_ERROR(ValidateChars("title", settings.title, 1, kMaxTitleChars));
  LIBCHAT_RETURN_IF_ERROR(ValidateChars("welcome_text", settings.welcome_text, 0, kMaxWelcomeChars));
  LIBCHAT_RETURN_IF_ERROR(ValidateLogoUrl(settings.logo_url));
  if (settings.prechat.size() > kMaxPrechatQuestions) {
    return InvalidArgumentError("prechat has more than " + std::to_string(kMaxPrechatQuestions) + " questions");
  }
  std::set<std::string> ids;
  for (std::size_t i = 0; i < settings.prechat.size(); ++i) {
    const PrechatQuestion& question = settings.prechat[i];
    const std::string where = "prechat[" + std::to_string(i) + "].";
    LIBCHAT_RETURN_IF_ERROR(ValidateQuestionId(where + "id", question.id));
    if (!ids.insert(question.id).second) {
      return InvalidArgumentError(where + "id \"" + question.id + "\" is used by another question");
    }
    LIBCHAT_RETURN_IF_ERROR(ValidateChars(where + "label", question.label, 1, kMaxLabelChars));
    if (question.type != "text" && question.type != "email" && question.type != "textarea") {
      return InvalidArgumentError(where + "type must be one of text, email, textarea");
    }
  }
  return Status::Ok();
}

}  // namespace internal

Result<WidgetSettings> Chat::GetWidget(const Principal& principal, const AppId& app) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  return internal::LoadWidgetSettings(*impl.store, app);
}

Result<WidgetSettings> Chat::PutWidget(const Principal& principal, const AppId& app, const WidgetSettings& settings) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(bool team, impl.IsAppTeam(principal, app));
  if (!team) return NotFoundError("app not found");
  LIBCHAT_RETURN_IF_ERROR(internal::ValidateWidgetSettings(settings));
  WidgetSettings normalized = settings;
  for (char& c : normalized.color) c = Lower(c);  // one spelling per colour
  LIBCHAT_RETURN_IF_ERROR(impl.store->PutAppSetting(app, kWidgetSetting, ToStoredJson(normalized).dump()));
  return normalized;
}

Result<PublicWidgetConfig> Chat::GetPublicWidget(const std::string& publishable_key) {
  Impl& impl = *impl_;
  // Anyone may ask: an unknown or malformed key is a plain 404, like a missing resource.
  if (publishable_key.rfind("pk_", 0) != 0 || publishable_key.size() > 128) return NotFoundError("widget not found");
  auto found = impl.store->FindAppByPublishableKey(publishable_key);
  if (!found.ok()) {
    if (found.status().code() == StatusCode::kNotFound) return NotFoundError("widget not found");
    return found.status();
  }
  if (!internal::ConstantTimeEquals(found->app.publishable_key, publishable_key)) {
    return NotFoundError("widget not found");
  }
  PublicWidgetConfig config;
  config.app_id = found->app.id;
  config.app_name = found->app.name;
  config.publishable_key = found->app.publishable_key;
  LIBCHAT_ASSIGN_OR_RETURN(config.widget, internal::LoadWidgetSettings(*impl.store, config.app_id));
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const AppDeliveryConfig> delivery, impl.DeliveryConfigOf(config.app_id));
  config.bot_enabled = delivery->bot.enabled;
  config.bot_name = delivery->bot.name;
  return config;
}

}  // namespace libchat
