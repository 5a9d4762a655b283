// Event payloads of the C API (event_json.h).
#include "event_json.h"

#include <string>

#include "libchat/event_json.h"

namespace libchat::capi {

std::string EventPayloadJson(const Event& event) { return EventToJson(event); }

std::string DroppedPayloadJson(std::uint64_t dropped) {
  // Not a core event: the C API's own notice that its queue overflowed. Keys in the order of EventToJson's
  // frames (sorted); digits need no escaping.
  return "{\"data\":{\"dropped\":" + std::to_string(dropped) + "},\"type\":\"events.dropped\"}";
}

}  // namespace libchat::capi
