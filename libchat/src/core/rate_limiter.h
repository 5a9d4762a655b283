// RateLimiter: token buckets keyed by string ("app:app_…", "send:cus_…"), in memory, bounded.
//
// A bucket holds up to `capacity` tokens and gains `rate_per_s` tokens per second; a charge takes one token
// or is refused when less than one is left. The policy is passed with every charge rather than stored, so
// a changed limit applies at the next charge (a bucket larger than its new capacity is cut down to it).
//
// Memory is bounded by max_buckets. A bucket that has refilled completely is indistinguishable from a new
// one, so such buckets are dropped first when room is needed; if that frees too little (many keys drained at
// once), the least recently charged buckets go as well. An evicted key starts again with a full bucket: the
// bound costs leniency towards the oldest keys, never a refusal of a key that did nothing.
//
// Time comes from the caller (the Chat's Clock). A clock that steps backwards refills nothing and never
// blocks a bucket until it catches up.
//
// Thread-safety: all methods may be called concurrently; buckets are spread over independently locked shards.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "libchat/types.h"

namespace libchat::internal {

struct BucketPolicy {
  double rate_per_s = 0;      // tokens added per second; <= 0 (or not finite) means unlimited
  std::int64_t capacity = 0;  // bucket size; < 1 is treated as 1
};

struct BucketDecision {
  bool allowed = true;
  bool limited = false;            // false: the policy is unlimited and the other fields are 0
  std::int64_t limit = 0;          // the capacity
  std::int64_t remaining = 0;      // whole tokens left after this charge
  std::int64_t reset_s = 0;        // seconds until the bucket is full again
  std::int64_t retry_after_s = 0;  // refused: seconds until one token is available (>= 1); else 0
};

class RateLimiter {
 public:
  static constexpr std::size_t kDefaultMaxBuckets = 100000;

  explicit RateLimiter(std::size_t max_buckets = kDefaultMaxBuckets);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes one token from the bucket `key` (created full) under `policy` at `now`.
  BucketDecision Take(const std::string& key, const BucketPolicy& policy, Timestamp now);

  // Number of buckets held (for tests and metrics).
  std::size_t size() const;

 private:
  static constexpr std::size_t kShards = 16;

  struct Bucket {
    double tokens = 0;
    std::int64_t updated_ms = 0;  // time of the last refill
    // The policy of the last charge, to tell whether the bucket has refilled completely by now.
    double rate_per_ms = 0;
    double capacity = 1;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Bucket> buckets;
  };

  // Makes room for one more bucket in a full shard (see the header comment).
  void Evict(Shard& shard, std::int64_t now_ms) const;

  std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace libchat::internal
