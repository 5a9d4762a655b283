#include "core/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>
#include <vector>

namespace libchat::internal {

namespace {

// Floating-point refill can land a hair below a whole token (0.1 per second for 10 s); count that as whole.
constexpr double kEpsilon = 1e-9;
// Longest wait ever reported: a vanishingly small rate must not overflow the integer seconds.
constexpr double kMaxWaitS = 1e9;

std::int64_t CeilSeconds(double seconds) {
  if (!(seconds > 0)) return 0;
  return static_cast<std::int64_t>(std::ceil(std::min(seconds, kMaxWaitS) - kEpsilon));
}

bool IsFull(double tokens, std::int64_t updated_ms, double rate_per_ms, double capacity, std::int64_t now_ms) {
  const double elapsed = static_cast<double>(std::max<std::int64_t>(0, now_ms - updated_ms));
  return tokens + elapsed * rate_per_ms >= capacity - kEpsilon;
}

}  // namespace

RateLimiter::RateLimiter(std::size_t max_buckets)
    : max_per_shard_(std::max<std::size_t>(1, (max_buckets + kShards - 1) / kShards)) {}

BucketDecision RateLimiter::Take(const std::string& key, const BucketPolicy& policy, Timestamp now) {
  BucketDecision decision;
  if (!(policy.rate_per_s > 0) || !std::isfinite(policy.rate_per_s)) return decision;  // unlimited
  const double capacity = static_cast<double>(std::max<std::int64_t>(1, policy.capacity));
  const double rate_per_ms = policy.rate_per_s / 1000.0;
  const std::int64_t now_ms = now.time_since_epoch().count();

  Shard& shard = shards_[std::hash<std::string>()(key) % kShards];
  std::lock_guard lock(shard.mutex);
  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_per_shard_) Evict(shard, now_ms);
    it = shard.buckets.emplace(key, Bucket{capacity, now_ms, rate_per_ms, capacity}).first;
  }
  Bucket& bucket = it->second;
  // Refill for the time since the last charge; a clock that went backwards refills nothing and restarts the
  // count from `now`, so the bucket is not frozen until the clock catches up.
  const std::int64_t elapsed_ms = std::max<std::int64_t>(0, now_ms - bucket.updated_ms);
  bucket.tokens = std::min(capacity, bucket.tokens + static_cast<double>(elapsed_ms) * rate_per_ms);
  bucket.updated_ms = now_ms;
  bucket.rate_per_ms = rate_per_ms;
  bucket.capacity = capacity;

  decision.limited = true;
  decision.limit = static_cast<std::int64_t>(capacity);
  if (bucket.tokens >= 1.0 - kEpsilon) {
    bucket.tokens = std::max(0.0, bucket.tokens - 1.0);
  } else {
    decision.allowed = false;
    decision.retry_after_s = std::max<std::int64_t>(1, CeilSeconds((1.0 - bucket.tokens) / policy.rate_per_s));
  }
  decision.remaining = static_cast<std::int64_t>(std::floor(bucket.tokens + kEpsilon));
  decision.reset_s = CeilSeconds((capacity - bucket.tokens) / policy.rate_per_s);
  return decision;
}

void RateLimiter::Evict(Shard& shard, std::int64_t now_ms) const {
  // Each eviction frees at least an eighth of the shard, so its linear scan is paid for by that many inserts.
  const std::size_t target = std::max<std::size_t>(1, max_per_shard_ / 8);
  const std::size_t before = shard.buckets.size();
  for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
    const Bucket& b = it->second;
    if (IsFull(b.tokens, b.updated_ms, b.rate_per_ms, b.capacity, now_ms)) {
      it = shard.buckets.erase(it);
    } else {
      ++it;
    }
  }
  const std::size_t freed = before - shard.buckets.size();
  if (freed >= target || shard.buckets.empty()) return;

  // Not enough idle buckets: drop the least recently charged ones.
  const std::size_t need = std::min(target - freed, shard.buckets.size());
  std::vector<std::pair<std::int64_t, const std::string*>> by_age;
  by_age.reserve(shard.buckets.size());
  for (const auto& [key, bucket] : shard.buckets) by_age.emplace_back(bucket.updated_ms, &key);
  std::nth_element(by_age.begin(), by_age.begin() + static_cast<std::ptrdiff_t>(need - 1), by_age.end());
  std::vector<std::string> victims;
  victims.reserve(need);
  for (std::size_t i = 0; i < need; ++i) victims.push_back(*by_age[i].second);
  for (const std::string& key : victims) shard.buckets.erase(key);
}

std::size_t RateLimiter::size() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.buckets.size();
  }
  return n;
}

}  // namespace libchat::internal
