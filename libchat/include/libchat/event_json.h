// The wire text of a live event, for hosts and bindings that forward the core's events themselves.
#pragma once

#include <string>

#include "libchat/export.h"
#include "libchat/providers/bus.h"

namespace libchat {

// The event as the JSON text of the WebSocket frame the reference server sends for it:
// {"type":"message.created","data":{…}}, with type EventTypeName(event.type) and data the affected record in
// the API.md shapes (the message for message.*, the conversation for conversation.*, the receipt, the typing
// state, the presence state or the notification), or {} when the event lacks the record its type calls for.
// Compact, UTF-8; never throws but std::bad_alloc.
LIBCHAT_API std::string EventToJson(const Event& event);

}  // namespace libchat
