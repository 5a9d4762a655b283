// EventToJson (libchat/event_json.h): the event frame, from the core's record renderer.
#include "libchat/event_json.h"

#include <nlohmann/json.hpp>

#include "core/record_json.h"

namespace libchat {

std::string EventToJson(const Event& event) {
  nlohmann::json frame = nlohmann::json::object();
  frame["type"] = EventTypeName(event.type);
  frame["data"] = internal::EventDataJson(event);
  return internal::JsonText(frame);
}

}  // namespace libchat
