// The app service: an account's tenants and their keys.
#include <algorithm>

#include "core/chat_impl.h"
#include "core/validation.h"
#include "util/crypto.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

constexpr std::size_t kMaxAppName = 200;

std::string NewPublishableKey() { return "pk_" + internal::RandomAlnum(32); }
std::string NewSecretKey() { return "sk_" + internal::RandomAlnum(40); }
std::string HashSecretKey(const std::string& key) { return internal::HexEncode(internal::Sha256(key)); }

}  // namespace

Result<CreatedApp> Chat::CreateApp(const Principal& principal, const AppCreate& request) {
  Impl& impl = *impl_;
  if (principal.type != PrincipalType::kAccount) return PermissionDeniedError("only accounts create apps");
  LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("name", request.name, 1, kMaxAppName));
  StoredApp stored;
  App& app = stored.app;
  if (request.theme_json) {
    LIBCHAT_ASSIGN_OR_RETURN(app.theme_json,
                             internal::NormalizeJsonObject("theme", *request.theme_json, impl.options.max_metadata_bytes));
  }
  if (request.prechat_json) {
    LIBCHAT_ASSIGN_OR_RETURN(app.prechat_json, internal::NormalizeJsonArray("prechat", *request.prechat_json,
                                                                          impl.options.max_metadata_bytes));
  }
  app.id = AppId(internal::NewId(AppId::prefix()));
  app.account_id = principal.account_id;
  app.name = request.name;
  app.publishable_key = NewPublishableKey();
  app.identity_verification = request.identity_verification;
  if (request.limits) {
    LIBCHAT_RETURN_IF_ERROR(Impl::ValidateLimits(*request.limits));
    app.limits = *request.limits;
  }
  app.created_at = app.updated_at = impl.Now();
  CreatedApp created;
  created.secret_key = NewSecretKey();
  created.identity_secret = internal::RandomAlnum(40);
  stored.secret_key_hash = HashSecretKey(created.secret_key);
  stored.identity_secret = created.identity_secret;
  LIBCHAT_RETURN_IF_ERROR(impl.store->CreateApp(stored));
  impl.CacheLimits(app.id, app.limits);
  created.app = app;
  return created;
}

Result<Page<App>> Chat::ListApps(const Principal& principal, const std::string& cursor, int limit) {
  Impl& impl = *impl_;
  if (principal.type != PrincipalType::kAccount && principal.type != PrincipalType::kOperator) {
    return PermissionDeniedError("only accounts and operators list apps");
  }
  LIBCHAT_ASSIGN_OR_RETURN(int checked_limit, internal::ValidateLimit(limit));
  if (principal.type == PrincipalType::kAccount) {
    return impl.store->ListApps(principal.account_id, cursor, checked_limit);
  }

  // An operator: the apps it is assigned to, oldest first like an account's list. It has
  // a bounded number of them, so they are read and ordered here; the cursor is the last
  // returned app's id.
  auto op = impl.OperatorById(OperatorId(principal.id));
  if (!op.ok()) {
    if (op.status().code() == StatusCode::kNotFound) return Page<App>{};
    return op.status();
  }
  std::vector<App> apps;
  for (const AppId& id : op->app_ids) {
    LIBCHAT_ASSIGN_OR_RETURN(bool staff, impl.IsAppStaff(principal, id));
    if (!staff) continue;
    auto stored = impl.store->GetApp(id);
    if (!stored.ok()) {
      if (stored.status().code() == StatusCode::kNotFound) continue;  // deleted meanwhile
      return stored.status();
    }
    apps.push_back(std::move(stored->app));
  }
  auto before = [](const App& a, const App& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
  };
  std::sort(apps.begin(), apps.end(), before);
  std::size_t first = 0;
  if (!cursor.empty()) {
    auto at = std::find_if(apps.begin(), apps.end(), [&cursor](const App& app) { return app.id.str() == cursor; });
    if (at == apps.end()) return InvalidArgumentError("invalid cursor");
    first = static_cast<std::size_t>(at - apps.begin()) + 1;
  }
  Page<App> page;
  for (std::size_t i = first; i < apps.size() && static_cast<int>(page.data.size()) < checked_limit; ++i) {
    page.data.push_back(apps[i]);
  }
  if (first + page.data.size() < apps.size()) page.next_cursor = page.data.back().id.str();
  return page;
}

Result<App> Chat::GetApp(const Principal& principal, const AppId& app) {
  if (principal.type == PrincipalType::kOperator) {
    LIBCHAT_ASSIGN_OR_RETURN(bool staff, impl_->IsAppStaff(principal, app));
    if (!staff) return NotFoundError("app not found");
    LIBCHAT_ASSIGN_OR_RETURN(StoredApp stored, impl_->store->GetApp(app));
    return stored.app;
  }
  if (principal.type == PrincipalType::kAppServer) {
    if (principal.app_id != app) return NotFoundError("app not found");
    LIBCHAT_ASSIGN_OR_RETURN(StoredApp stored, impl_->store->GetApp(app));
    return stored.app;
  }
  LIBCHAT_ASSIGN_OR_RETURN(StoredApp stored, impl_->OwnedApp(principal, app));
  return stored.app;
}

Result<App> Chat::UpdateApp(const Principal& principal, const AppId& app, const AppUpdate& update) {
  Impl& impl = *impl_;
  std::lock_guard lock(impl.entity_locks.For(app.str()));
  LIBCHAT_ASSIGN_OR_RETURN(StoredApp stored, impl.OwnedApp(principal, app));
  if (update.name) {
    LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("name", *update.name, 1, kMaxAppName));
    stored.app.name = *update.name;
  }
  if (update.theme_json) {
    LIBCHAT_ASSIGN_OR_RETURN(stored.app.theme_json,
                             internal::NormalizeJsonObject("theme", *update.theme_json, impl.options.max_metadata_bytes));
  }
  if (update.prechat_json) {
    LIBCHAT_ASSIGN_OR_RETURN(stored.app.prechat_json, internal::NormalizeJsonArray("prechat", *update.prechat_json,
                                                                                 impl.options.max_metadata_bytes));
  }
  if (update.identity_verification) stored.app.identity_verification = *update.identity_verification;
  if (update.limits) {
    LIBCHAT_RETURN_IF_ERROR(Impl::ValidateLimits(*update.limits));
    stored.app.limits = *update.limits;
  }
  stored.app.updated_at = impl.Now();
  LIBCHAT_RETURN_IF_ERROR(impl.store->UpdateApp(stored));
  // The limiter reads limits from a cache: the new ones apply from the next request on.
  if (update.limits) impl.CacheLimits(app, stored.app.limits);
  return stored.app;
}

Status Chat::DeleteApp(const Principal& principal, const AppId& app) {
  std::lock_guard lock(impl_->entity_locks.For(app.str()));
  auto stored = impl_->OwnedApp(principal, app);
  if (!stored.ok()) return stored.status();
  LIBCHAT_RETURN_IF_ERROR(impl_->store->DeleteApp(app));
  impl_->ForgetApp(app);
  impl_->ForgetOperators();  // the store took the app out of its operators' app_ids
  impl_->CacheLimits(app, AppLimits());
  return Status::Ok();
}

Result<RotatedKey> Chat::RotateKey(const Principal& principal, const AppId& app, KeyKind kind) {
  Impl& impl = *impl_;
  std::lock_guard lock(impl.entity_locks.For(app.str()));
  LIBCHAT_ASSIGN_OR_RETURN(StoredApp stored, impl.OwnedApp(principal, app));
  RotatedKey rotated;
  rotated.kind = kind;
  if (kind == KeyKind::kSecret) {
    rotated.key = NewSecretKey();
    stored.secret_key_hash = HashSecretKey(rotated.key);
  } else {
    rotated.key = NewPublishableKey();
    stored.app.publishable_key = rotated.key;
  }
  stored.app.updated_at = impl.Now();
  LIBCHAT_RETURN_IF_ERROR(impl.store->UpdateApp(stored));
  rotated.app = stored.app;
  return rotated;
}

}  // namespace libchat
