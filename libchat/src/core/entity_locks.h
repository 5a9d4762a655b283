// EntityLocks: serializes read-modify-write of one record within this process.
//
// The facade reads a record, changes some fields and writes it back. Two such
// updates of the same record racing each other would lose one of them (a key
// rotation undone by a concurrent rename, a password change reverted by a name
// change). Holding the record's stripe across the read and the write makes them
// sequential. The Store is shared only by this process's Chat (SQLite has one
// writer), so an in-process lock is enough; a store shared by several nodes
// would need conditional writes instead.
#pragma once

#include <array>
#include <functional>
#include <mutex>
#include <string_view>

namespace libchat::internal {

class EntityLocks {
 public:
  std::mutex& For(std::string_view id) { return stripes_[std::hash<std::string_view>()(id) % stripes_.size()]; }

 private:
  std::array<std::mutex, 64> stripes_;
};

}  // namespace libchat::internal
