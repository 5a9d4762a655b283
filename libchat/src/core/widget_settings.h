// The app's widget settings as the core keeps them: the app setting "widget", a JSON document
// {"color","position","title","welcome_text","logo_url","prechat":[{id,label,type,required}]}.
// Shared by the widget service (widget.cpp) and the SDK configuration (conversations.cpp).
#pragma once

#include "libchat/providers/store.h"
#include "libchat/status.h"
#include "libchat/widget.h"

namespace libchat::internal {

// The stored settings, or the WidgetSettings defaults when the app has none. A field missing from
// the stored document (or of the wrong type) takes its default.
Result<WidgetSettings> LoadWidgetSettings(Store& store, const AppId& app);

// kInvalidArgument naming the first bad field: color "#rrggbb", position right|left, title 1..100 and
// welcome_text 0..1000 characters, logo_url empty or an http(s) URL of at most 2048 bytes without
// spaces, quotes or angle brackets, at most 10 prechat questions with unique ids [a-z0-9_]{1,40},
// labels of 1..200 characters and type text|email|textarea.
Status ValidateWidgetSettings(const WidgetSettings& settings);

}  // namespace libchat::internal
