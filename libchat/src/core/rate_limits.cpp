// The rate-limit service: which bucket a principal's request or message send is charged to, under which
// policy (Options::rate_limits overridden by App::limits), and the cache of the apps' limits.
#include <algorithm>
#include <cmath>
#include <string>

#include "core/chat_impl.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

constexpr std::size_t kMaxCachedLimits = 100000;
constexpr double kMaxRate = 1e6;            // per second (requests) or per minute (sends)
constexpr std::int64_t kMaxBurst = 1000000000;

// The bucket size for `rate` when no burst is configured: one second's worth, at least one request.
std::int64_t DefaultBurst(double rate) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(std::min(rate, kMaxRate))));
}

internal::BucketPolicy RequestPolicy(const RateLimitOptions& defaults, const AppLimits& app) {
  const bool own_rate = app.requests_per_s > 0;
  internal::BucketPolicy policy;
  policy.rate_per_s = own_rate ? app.requests_per_s : defaults.app_requests_per_s;
  // A default burst is sized for the default rate, so an app with its own rate does not inherit it.
  const std::int64_t burst = app.burst > 0 ? app.burst : own_rate ? 0 : defaults.app_burst;
  policy.capacity = burst > 0 ? burst : DefaultBurst(policy.rate_per_s);
  return policy;
}

internal::BucketPolicy SendPolicy(const RateLimitOptions& defaults, const AppLimits& app) {
  const bool own_rate = app.customer_sends_per_min > 0;
  const double per_min = own_rate ? app.customer_sends_per_min : defaults.customer_sends_per_min;
  const std::int64_t burst = own_rate ? 0 : defaults.customer_send_burst;
  internal::BucketPolicy policy;
  policy.rate_per_s = per_min / 60.0;
  policy.capacity = burst > 0 ? burst : DefaultBurst(per_min);
  return policy;
}

bool Limited(const internal::BucketPolicy& policy) { return policy.rate_per_s > 0; }

RateLimitDecision ToDecision(const internal::BucketDecision& bucket) {
  RateLimitDecision decision;
  decision.allowed = bucket.allowed;
  if (!bucket.limited) return decision;
  decision.limit = bucket.limit;
  decision.remaining = bucket.remaining;
  decision.reset_s = bucket.reset_s;
  decision.retry_after_s = bucket.retry_after_s;
  return decision;
}

Status CheckRate(const char* name, double value) {
  if (!std::isfinite(value) || value < 0 || value > kMaxRate) {
    return InvalidArgumentError(std::string(name) + " must be a number from 0 to 1000000");
  }
  return Status::Ok();
}

Status CheckBurst(const char* name, std::int64_t value) {
  if (value < 0 || value > kMaxBurst) {
    return InvalidArgumentError(std::string(name) + " must be an integer from 0 to 1000000000");
  }
  return Status::Ok();
}

}  // namespace

RateLimitDecision Chat::ChargeRequest(const Principal& principal) {
  Impl& impl = *impl_;
  const RateLimitOptions& defaults = impl.options.rate_limits;
  internal::BucketPolicy policy;
  std::string key;
  switch (principal.type) {
    case PrincipalType::kAdmin:
      return RateLimitDecision();
    case PrincipalType::kAccount:
    case PrincipalType::kOperator:
      // Not tied to one app: a bucket of their own at the default rate.
      policy = RequestPolicy(defaults, AppLimits());
      if (!Limited(policy)) return RateLimitDecision();
      key = principal.type == PrincipalType::kAccount ? "account:" + principal.account_id.str()
                                                       : "operator:" + principal.id;
      break;
    case PrincipalType::kAppServer:
    case PrincipalType::kPublishable:
    case PrincipalType::kCustomer:
      if (principal.app_id.empty()) return RateLimitDecision();
      policy = RequestPolicy(defaults, impl.LimitsOf(principal.app_id));
      if (!Limited(policy)) return RateLimitDecision();
      key = "app:" + principal.app_id.str();
      break;
  }
  return ToDecision(impl.rate_limiter.Take(key, policy, impl.Now()));
}

RateLimitDecision Chat::ChargeSend(const Principal& principal) {
  Impl& impl = *impl_;
  if (principal.type != PrincipalType::kCustomer || principal.app_id.empty()) return RateLimitDecision();
  const internal::BucketPolicy policy = SendPolicy(impl.options.rate_limits, impl.LimitsOf(principal.app_id));
  if (!Limited(policy)) return RateLimitDecision();
  return ToDecision(impl.rate_limiter.Take("send:" + principal.id, policy, impl.Now()));
}

// ---------------------------------------------------------------------------

AppLimits Chat::Impl::LimitsOf(const AppId& app) {
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(limits_mutex_);
    auto it = limits_.find(app.str());
    if (it != limits_.end()) return it->second;
    generation = limits_generation_;
  }
  // A missing app has no overrides (its principals are about to stop authenticating anyway). A store that
  // fails leaves the defaults in force for this charge and is asked again next time: a limiter must not turn
  // a storage hiccup into refused requests.
  AppLimits limits;
  auto stored = store->GetApp(app);
  if (stored.ok()) {
    limits = stored->app.limits;
  } else if (stored.status().code() != StatusCode::kNotFound) {
    return limits;
  }
  std::lock_guard lock(limits_mutex_);
  // A CacheLimits since the read above may have stored a newer value than the one just read.
  if (generation != limits_generation_) return limits;
  if (limits_.size() >= kMaxCachedLimits) limits_.clear();  // crude bound; entries are cheap to reload
  limits_.emplace(app.str(), limits);
  return limits;
}

void Chat::Impl::CacheLimits(const AppId& app, const AppLimits& limits) {
  std::lock_guard lock(limits_mutex_);
  ++limits_generation_;
  if (limits_.size() >= kMaxCachedLimits) limits_.clear();
  limits_[app.str()] = limits;
}

Status Chat::Impl::ValidateLimits(const AppLimits& limits) {
  LIBCHAT_RETURN_IF_ERROR(CheckRate("limits.requests_per_s", limits.requests_per_s));
  LIBCHAT_RETURN_IF_ERROR(CheckBurst("limits.burst", limits.burst));
  return CheckRate("limits.customer_sends_per_min", limits.customer_sends_per_min);
}

Status Chat::Impl::ValidateRateLimitOptions(const RateLimitOptions& options) {
  LIBCHAT_RETURN_IF_ERROR(CheckRate("rate_limits.app_requests_per_s", options.app_requests_per_s));
  LIBCHAT_RETURN_IF_ERROR(CheckBurst("rate_limits.app_burst", options.app_burst));
  LIBCHAT_RETURN_IF_ERROR(CheckRate("rate_limits.customer_sends_per_min", options.customer_sends_per_min));
  return CheckBurst("rate_limits.customer_send_burst", options.customer_send_burst);
}

}  // namespace libchat
