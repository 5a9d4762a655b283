// The JSON text of an event as chat_event::payload_json carries it: the same
// {"type":…,"data":{…}} frame the reference server sends over WebSocket, with
// the objects in the API.md shapes. Written here from the public records because
// the server's codec is not part of the public API.
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
