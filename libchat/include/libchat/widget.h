// The embeddable chat widget's settings, per app.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "libchat/types.h"

namespace libchat {

// A question the widget asks before the first message; the answers become the
// conversation's metadata ("prechat": {id: answer}) and name/email fill the customer.
struct PrechatQuestion {
  std::string id;     // [a-z0-9_]{1,40}, unique within the widget; "name" and "email" fill the customer
  std::string label;  // shown to the customer
  std::string type = "text";  // "text", "email" or "textarea"
  bool required = false;
};

struct WidgetSettings {
  std::string color = "#2563eb";  // "#rrggbb"
  std::string position = "right";  // "right" or "left" (bottom corner)
  std::string title = "Chat with us";
  std::string welcome_text = "Hi! How can we help?";
  std::string logo_url;  // empty, or an https:// (or http://) URL
  std::vector<PrechatQuestion> prechat;  // at most 10
};

// What GET /v1/public/widget/{publishable_key} answers: everything a page needs
// to show the widget, and nothing secret.
struct PublicWidgetConfig {
  AppId app_id;
  std::string app_name;
  std::string publishable_key;
  WidgetSettings widget;
  bool bot_enabled = false;
  std::string bot_name;
};

}  // namespace libchat
