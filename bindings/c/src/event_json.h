// The JSON text of an event as chat_event::payload_json carries it: the same
// {"type":…,"data":{…}} frame the reference server sends over WebSocket
// (libchat::EventToJson), plus the C API's own events.dropped notice.
#pragma once

#include <cstdint>
#include <string>

#include "libchat/providers/bus.h"

namespace libchat::capi {

// Throws only std::bad_alloc.
std::string EventPayloadJson(const Event& event);

// {"type":"events.dropped","data":{"dropped":N}}
std::string DroppedPayloadJson(std::uint64_t dropped);

}  // namespace libchat::capi
