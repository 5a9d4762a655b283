// The operator service: an account's agents, their app assignments and their
// short-lived tokens, and the caches the authorization checks read operators from.
//
// Only an active operator authenticates or sees anything. Every change made
// through this Chat drops the caches at once (ForgetOperators), so a
// deactivation stops the operator's tokens before the call returns; another
// Chat over the same store sees it within kOperatorCacheTtl.
#include <algorithm>

#include "core/chat_impl.h"
#include "core/validation.h"
#include "util/crypto.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

constexpr std::size_t kMaxOperatorName = 200;
constexpr std::size_t kMaxBatch = 100;
constexpr std::size_t kMaxOperatorApps = 1000;
constexpr std::chrono::hours kMaxOperatorTokenTtl(24);
// How long a cached operator / app operator list is trusted: bounds how late this Chat sees
// changes made through another Chat (another process) over the same store.
constexpr std::chrono::seconds kOperatorCacheTtl(2);
constexpr std::size_t kMaxCachedOperators = 100000;
constexpr std::size_t kMaxCachedAppOperatorLists = 10000;

Status OnlyAccounts() { return PermissionDeniedError("only the owning account manages operators"); }

}  // namespace

// ---------------------------------------------------------------------------
// Caches

Result<Operator> Chat::Impl::OperatorById(const OperatorId& id) {
  if (!OperatorId::IsWellFormed(id.str())) return NotFoundError("operator not found");
  const auto now = std::chrono::steady_clock::now();
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(operators_mutex);
    auto it = operators_by_id.find(id.str());
    if (it != operators_by_id.end() && now - it->second.loaded_at < kOperatorCacheTtl) return it->second.op;
    generation = operators_generation;
  }
  auto stored = store->GetOperator(id);
  if (!stored.ok()) {
    if (stored.status().code() == StatusCode::kNotFound) return NotFoundError("operator not found");
    return stored.status();
  }
  std::lock_guard lock(operators_mutex);
  // A change of ours since the read may not be in `stored`: use it, don't cache it.
  if (generation == operators_generation) {
    if (operators_by_id.size() >= kMaxCachedOperators) operators_by_id.clear();  // crude bound; reloads on demand
    operators_by_id[id.str()] = CachedOperator{*stored, now};
  }
  return stored;
}

Result<std::shared_ptr<const std::vector<std::string>>> Chat::Impl::ActiveOperatorIds(const AppId& app) {
  const auto now = std::chrono::steady_clock::now();
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(operators_mutex);
    auto it = app_operator_ids.find(app.str());
    if (it != app_operator_ids.end() && now - it->second.loaded_at < kOperatorCacheTtl) return it->second.ids;
    generation = operators_generation;
  }
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<Operator> operators, store->ListActiveAppOperators(app));
  auto ids = std::make_shared<std::vector<std::string>>();
  ids->reserve(operators.size());
  for (const Operator& op : operators) ids->push_back(op.id.str());
  std::shared_ptr<const std::vector<std::string>> shared = std::move(ids);
  std::lock_guard lock(operators_mutex);
  if (generation == operators_generation) {
    if (app_operator_ids.size() >= kMaxCachedAppOperatorLists) app_operator_ids.clear();
    app_operator_ids[app.str()] = CachedOperatorIds{shared, now};
  }
  return shared;
}

void Chat::Impl::ForgetOperators() {
  std::lock_guard lock(operators_mutex);
  operators_by_id.clear();
  app_operator_ids.clear();
  ++operators_generation;
}

// ---------------------------------------------------------------------------
// Validation

namespace {

// The app ids an operator is assigned to: each an app of `account` (kNotFound
// otherwise, like any other tenant's resource), without duplicates, sorted.
template <typename OwnerOf>
Result<std::vector<AppId>> CheckedAppIds(const std::vector<AppId>& requested, const AccountId& account,
                                         OwnerOf&& owner_of) {
  if (requested.size() > kMaxOperatorApps) return InvalidArgumentError("an operator has at most 1000 app_ids");
  std::vector<AppId> ids = requested;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (const AppId& app : ids) {
    if (!AppId::IsWellFormed(app.str())) return NotFoundError("app not found: " + app.str());
    Result<AccountId> owner = owner_of(app);
    if (!owner.ok()) {
      if (owner.status().code() == StatusCode::kNotFound) return NotFoundError("app not found: " + app.str());
      return owner.status();
    }
    if (*owner != account) return NotFoundError("app not found: " + app.str());
  }
  return ids;
}

Result<std::string> CheckedEmail(const std::string& email) {
  if (email.empty()) return std::string();
  return internal::NormalizeEmail(email);
}

}  // namespace

// ---------------------------------------------------------------------------
// The service

Result<std::vector<Operator>> Chat::CreateOperators(const Principal& principal,
                                                    const std::vector<OperatorCreate>& batch) {
  Impl& impl = *impl_;
  if (principal.type != PrincipalType::kAccount) return OnlyAccounts();
  if (batch.empty() || batch.size() > kMaxBatch) {
    return InvalidArgumentError("a batch has 1 to 100 operators");
  }
  auto owner_of = [&impl](const AppId& app) { return impl.AppOwner(app); };
  const Timestamp now = impl.Now();
  std::vector<Operator> operators;
  operators.reserve(batch.size());
  // Everything is checked before anything is stored: one bad entry fails the whole batch.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const OperatorCreate& request = batch[i];
    const std::string where = batch.size() > 1 ? "operators[" + std::to_string(i) + "]: " : "";
    auto with_index = [&where](const Status& s) { return Status(s.code(), where + s.message()); };
    Operator op;
    op.id = OperatorId(internal::NewId(OperatorId::prefix()));
    op.account_id = principal.account_id;
    if (Status s = internal::ValidateText("name", request.name, 1, kMaxOperatorName); !s.ok()) return with_index(s);
    op.name = request.name;
    auto email = CheckedEmail(request.email);
    if (!email.ok()) return with_index(email.status());
    op.email = std::move(email).value();
    auto apps = CheckedAppIds(request.app_ids, principal.account_id, owner_of);
    if (!apps.ok()) return with_index(apps.status());
    op.app_ids = std::move(apps).value();
    op.status = OperatorStatus::kActive;
    op.created_at = op.updated_at = now;
    operators.push_back(std::move(op));
  }
  LIBCHAT_RETURN_IF_ERROR(impl.store->CreateOperators(operators));
  impl.ForgetOperators();  // the apps' operator lists (audiences, round robin) change
  return operators;
}

Result<Page<Operator>> Chat::ListOperators(const Principal& principal, const OperatorFilter& filter) {
  Impl& impl = *impl_;
  if (principal.type != PrincipalType::kAccount) return OnlyAccounts();
  OperatorQuery query;
  query.account_id = principal.account_id;
  if (filter.app_id) {
    // Another tenant's app is "not found", not an empty list.
    if (!AppId::IsWellFormed(filter.app_id->str())) return NotFoundError("app not found");
    auto owner = impl.AppOwner(*filter.app_id);
    if (!owner.ok()) return owner.status();
    if (*owner != principal.account_id) return NotFoundError("app not found");
    query.app_id = filter.app_id;
  }
  query.status = filter.status;
  query.cursor = filter.cursor;
  LIBCHAT_ASSIGN_OR_RETURN(query.limit, internal::ValidateLimit(filter.limit));
  return impl.store->ListOperators(query);
}

Result<Operator> Chat::GetOperator(const Principal& principal, const OperatorId& id) {
  Impl& impl = *impl_;
  if (principal.type == PrincipalType::kOperator) {
    if (principal.id != id.str()) return NotFoundError("operator not found");
  } else if (principal.type != PrincipalType::kAccount) {
    return OnlyAccounts();
  }
  if (!OperatorId::IsWellFormed(id.str())) return NotFoundError("operator not found");
  auto stored = impl.store->GetOperator(id);
  if (!stored.ok() || stored->account_id != principal.account_id) {
    if (!stored.ok() && stored.status().code() != StatusCode::kNotFound) return stored.status();
    return NotFoundError("operator not found");
  }
  return stored;
}

Result<Operator> Chat::UpdateOperator(const Principal& principal, const OperatorId& id,
                                      const OperatorUpdate& update) {
  Impl& impl = *impl_;
  if (principal.type != PrincipalType::kAccount) return OnlyAccounts();
  if (!OperatorId::IsWellFormed(id.str())) return NotFoundError("operator not found");
  std::lock_guard lock(impl.entity_locks.For(id.str()));
  auto stored = impl.store->GetOperator(id);
  if (!stored.ok() || stored->account_id != principal.account_id) {
    if (!stored.ok() && stored.status().code() != StatusCode::kNotFound) return stored.status();
    return NotFoundError("operator not found");
  }
  Operator op = std::move(stored).value();
  if (op.status == OperatorStatus::kDeleted) return FailedPreconditionError("a deleted operator cannot be changed");
  if (update.name) {
    LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("name", *update.name, 1, kMaxOperatorName));
    op.name = *update.name;
  }
  if (update.email) {
    LIBCHAT_ASSIGN_OR_RETURN(op.email, CheckedEmail(*update.email));
  }
  if (update.app_ids) {
    auto owner_of = [&impl](const AppId& app) { return impl.AppOwner(app); };
    LIBCHAT_ASSIGN_OR_RETURN(op.app_ids, CheckedAppIds(*update.app_ids, principal.account_id, owner_of));
  }
  if (update.status) op.status = *update.status;
  op.updated_at = impl.Now();
  LIBCHAT_RETURN_IF_ERROR(impl.store->UpdateOperator(op));
  // Its tokens, audiences and assignments follow the change from the next call on.
  impl.ForgetOperators();
  return op;
}

Result<OperatorToken> Chat::CreateOperatorToken(const Principal& principal, const OperatorId& id,
                                                Timestamp expires_at) {
  Impl& impl = *impl_;
  if (principal.type != PrincipalType::kAccount) return OnlyAccounts();
  LIBCHAT_ASSIGN_OR_RETURN(Operator op, GetOperator(principal, id));
  const Timestamp now = impl.Now();
  if (expires_at <= now) return InvalidArgumentError("expires_at must be in the future");
  if (expires_at > now + kMaxOperatorTokenTtl) return InvalidArgumentError("expires_at must be at most 24 hours ahead");
  if (op.status != OperatorStatus::kActive) return FailedPreconditionError("the operator is not active");
  // The token's exp is in whole seconds: expires_at rounded down, so never later than asked.
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  const seconds ttl =
      duration_cast<seconds>(expires_at.time_since_epoch()) - duration_cast<seconds>(now.time_since_epoch());
  if (ttl.count() < 1) return InvalidArgumentError("expires_at must be at least a second ahead");
  auto [token, expires] = impl.IssueToken("operator", op.id.str(), "", ttl);
  return OperatorToken{std::move(token), expires};
}

}  // namespace libchat
