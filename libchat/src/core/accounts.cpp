// Authentication and the account service: register, login, logout, me.
#include "auth/jwt.h"
#include "auth/password.h"
#include "core/chat_impl.h"
#include "core/customers.h"
#include "core/validation.h"
#include "util/crypto.h"
#include "util/status_macros.h"

namespace libchat {

using internal::ConstantTimeEquals;

namespace {

constexpr std::size_t kMinPassword = 8;
constexpr std::size_t kMaxPassword = 1024;  // bounds the hashing work an attacker can request
constexpr std::size_t kMaxName = 200;

Status Unauthenticated(std::string why) { return UnauthenticatedError(std::move(why)); }

}  // namespace

Result<Principal> Chat::Authenticate(const Credentials& credentials) {
  Impl& impl = *impl_;
  if (!credentials.master_key.empty()) {
    if (impl.options.master_key.empty() || !ConstantTimeEquals(credentials.master_key, impl.options.master_key)) {
      return Unauthenticated("invalid master key");
    }
    Principal admin;
    admin.type = PrincipalType::kAdmin;
    admin.id = "admin";
    return admin;
  }

  // The API key names the app: "sk_…" for its server, "pk_…" for SDKs and widgets.
  std::optional<StoredApp> app;
  bool secret = false;
  if (!credentials.api_key.empty()) {
    const std::string& key = credentials.api_key;
    Result<StoredApp> found = InternalError("unreachable");
    if (key.rfind("sk_", 0) == 0) {
      secret = true;
      const std::string hash = internal::HexEncode(internal::Sha256(key));
      found = impl.store->FindAppBySecretKeyHash(hash);
      if (found.ok() && !ConstantTimeEquals(found->secret_key_hash, hash)) return Unauthenticated("invalid API key");
    } else if (key.rfind("pk_", 0) == 0) {
      found = impl.store->FindAppByPublishableKey(key);
      if (found.ok() && !ConstantTimeEquals(found->app.publishable_key, key)) return Unauthenticated("invalid API key");
    } else {
      return Unauthenticated("invalid API key");
    }
    if (!found.ok()) {
      if (found.status().code() == StatusCode::kNotFound) return Unauthenticated("invalid API key");
      return found.status();
    }
    app = std::move(found).value();
  }

  if (!credentials.bearer_token.empty()) {
    return impl.PrincipalFromToken(credentials.bearer_token, app ? &app->app.id : nullptr);
  }

  if (!app) return Unauthenticated("missing credentials");
  Principal principal;
  principal.app_id = app->app.id;
  if (!secret) {
    principal.type = PrincipalType::kPublishable;
    principal.id = app->app.id.str();
    return principal;
  }
  if (credentials.user_id.empty()) {
    principal.type = PrincipalType::kAppServer;
    principal.id = app->app.id.str();
    return principal;
  }
  // The app's server vouches for this customer: find or create it by external id.
  CustomerInput input;
  input.external_id = credentials.user_id;
  LIBCHAT_ASSIGN_OR_RETURN(Customer customer, internal::FindOrCreateCustomer(*impl.store, impl.Now(), app->app.id, input));
  principal.type = PrincipalType::kCustomer;
  principal.id = customer.id.str();
  principal.via_secret_key = true;
  return principal;
}

Result<Principal> Chat::Impl::PrincipalFromToken(const std::string& token, const AppId* app) {
  LIBCHAT_ASSIGN_OR_RETURN(internal::TokenClaims claims, internal::VerifyJwt(token, *jwt_key, Now()));
  LIBCHAT_ASSIGN_OR_RETURN(bool revoked, store->IsTokenRevoked(claims.token_id));
  if (revoked) return Unauthenticated("token revoked");
  Principal principal;
  principal.token_id = claims.token_id;
  principal.token_expires_at = Timestamp(std::chrono::seconds(claims.expires_at));
  if (claims.kind == "account") {
    const AccountId id(claims.subject);
    auto account = store->GetAccount(id);
    if (!account.ok()) {
      if (account.status().code() == StatusCode::kNotFound) return Unauthenticated("account no longer exists");
      return account.status();
    }
    principal.type = PrincipalType::kAccount;
    principal.id = id.str();
    principal.account_id = id;
    return principal;
  }
  if (claims.kind == "operator") {
    // Read through the operator cache, which this Chat's own operator changes clear: a
    // deactivated or deleted operator's tokens stop working as soon as the change returns.
    auto op = OperatorById(OperatorId(claims.subject));
    if (!op.ok()) {
      if (op.status().code() == StatusCode::kNotFound) return Unauthenticated("operator no longer exists");
      return op.status();
    }
    if (op->status == OperatorStatus::kDeleted) return Unauthenticated("operator deleted");
    if (op->status != OperatorStatus::kActive) return Unauthenticated("operator is inactive");
    principal.type = PrincipalType::kOperator;
    principal.id = op->id.str();
    principal.account_id = op->account_id;
    return principal;
  }
  if (claims.kind == "customer") {
    if (app != nullptr && app->str() != claims.app_id) return Unauthenticated("session token belongs to another app");
    auto customer = store->GetCustomer(CustomerId(claims.subject));
    if (!customer.ok() || customer->app_id.str() != claims.app_id) {
      if (!customer.ok() && customer.status().code() != StatusCode::kNotFound) return customer.status();
      return Unauthenticated("session no longer exists");
    }
    principal.type = PrincipalType::kCustomer;
    principal.id = claims.subject;
    principal.app_id = customer->app_id;
    return principal;
  }
  return Unauthenticated("unsupported token kind");
}

TokenInfo Chat::ValidateToken(const std::string& token) {
  TokenInfo info;
  auto principal = impl_->PrincipalFromToken(token, nullptr);
  if (!principal.ok()) {
    info.error = principal.status().message();
    return info;
  }
  info.valid = true;
  info.principal_type = principal->type;
  info.principal_id = principal->id;
  info.account_id = principal->account_id;
  info.expires_at = principal->token_expires_at;
  return info;
}

Result<AuthSession> Chat::Register(const RegisterRequest& request) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(std::string email, internal::NormalizeEmail(request.email));
  LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("password", request.password, kMinPassword, kMaxPassword));
  LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("name", request.name, 1, kMaxName));
  LIBCHAT_ASSIGN_OR_RETURN(std::string hash,
                           internal::HashPassword(request.password, impl.options.password_hashing));
  StoredAccount stored;
  stored.account.id = AccountId(internal::NewId(AccountId::prefix()));
  stored.account.email = std::move(email);
  stored.account.name = request.name;
  stored.account.created_at = stored.account.updated_at = impl.Now();
  stored.password_hash = std::move(hash);
  if (Status s = impl.store->CreateAccount(stored); !s.ok()) {
    if (s.code() == StatusCode::kAlreadyExists) return AlreadyExistsError("an account with this email exists");
    return s;
  }
  auto [token, expires] =
      impl.IssueToken("account", stored.account.id.str(), "", impl.options.account_token_ttl);
  return AuthSession{stored.account, std::move(token), expires};
}

Result<AuthSession> Chat::Login(const std::string& email, const std::string& password) {
  Impl& impl = *impl_;
  const Status invalid = Unauthenticated("invalid email or password");
  auto normalized = internal::NormalizeEmail(email);
  if (!normalized.ok() || password.size() > kMaxPassword) return invalid;
  auto stored = impl.store->FindAccountByEmail(*normalized);
  if (!stored.ok()) {
    if (stored.status().code() != StatusCode::kNotFound) return stored.status();
    // Spend the same time as a real check so that timing does not reveal which emails exist.
    (void)internal::VerifyPassword(password, impl.decoy_password_hash);
    return invalid;
  }
  if (!internal::VerifyPassword(password, stored->password_hash)) return invalid;
  auto [token, expires] =
      impl.IssueToken("account", stored->account.id.str(), "", impl.options.account_token_ttl);
  return AuthSession{stored->account, std::move(token), expires};
}

Status Chat::Logout(const Principal& principal) {
  if (principal.token_id.empty() || !principal.token_expires_at) {
    return FailedPreconditionError("these credentials are not a token and cannot be logged out");
  }
  return impl_->store->RevokeToken(principal.token_id, *principal.token_expires_at);
}

Result<Account> Chat::GetMe(const Principal& principal) {
  if (principal.type != PrincipalType::kAccount) return PermissionDeniedError("only accounts have a profile");
  auto stored = impl_->store->GetAccount(principal.account_id);
  if (!stored.ok()) return stored.status();
  return stored->account;
}

Result<Account> Chat::UpdateMe(const Principal& principal, const AccountUpdate& update) {
  Impl& impl = *impl_;
  if (principal.type != PrincipalType::kAccount) return PermissionDeniedError("only accounts have a profile");
  std::lock_guard lock(impl.entity_locks.For(principal.account_id.str()));
  LIBCHAT_ASSIGN_OR_RETURN(StoredAccount stored, impl.store->GetAccount(principal.account_id));
  const bool sensitive = update.email.has_value() || update.new_password.has_value();
  if (sensitive) {
    if (!update.current_password) {
      return InvalidArgumentError("current_password is required to change email or password");
    }
    if (update.current_password->size() > kMaxPassword ||
        !internal::VerifyPassword(*update.current_password, stored.password_hash)) {
      return PermissionDeniedError("current_password is wrong");
    }
  }
  if (update.name) {
    LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("name", *update.name, 1, kMaxName));
    stored.account.name = *update.name;
  }
  if (update.email) {
    LIBCHAT_ASSIGN_OR_RETURN(stored.account.email, internal::NormalizeEmail(*update.email));
  }
  if (update.new_password) {
    LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("new_password", *update.new_password, kMinPassword, kMaxPassword));
    LIBCHAT_ASSIGN_OR_RETURN(stored.password_hash,
                             internal::HashPassword(*update.new_password, impl.options.password_hashing));
  }
  stored.account.updated_at = impl.Now();
  if (Status s = impl.store->UpdateAccount(stored); !s.ok()) {
    if (s.code() == StatusCode::kAlreadyExists) return AlreadyExistsError("an account with this email exists");
    return s;
  }
  return stored.account;
}

}  // namespace libchat
