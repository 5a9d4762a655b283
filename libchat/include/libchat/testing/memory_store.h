// An in-memory Store with the same contract as the SQLite one. Supported test
// double: nothing survives the process, every method is thread-safe.
#pragma once

#include <memory>

#include "libchat/providers/store.h"

namespace libchat::testing {

std::shared_ptr<Store> NewMemoryStore();

}  // namespace libchat::testing
