// ForwardingStore: the tests' name for libchat::StoreWrapper (libchat/providers/store_wrapper.h), a Store that
// passes every call to another one. Test decorators (fault injection, interposed hooks) derive from it and override
// only what they change.
#pragma once

#include "libchat/providers/store_wrapper.h"

namespace libchat::test {

using ForwardingStore = StoreWrapper;

}  // namespace libchat::test
