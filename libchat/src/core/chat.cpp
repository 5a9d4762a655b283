// Chat::Open, lifetime, and the authorization helpers every service uses.
#include <algorithm>

#include "auth/jwt.h"
#include "auth/password.h"
#include "core/chat_impl.h"
#include "util/crypto.h"
#include "util/status_macros.h"

namespace libchat {

using internal::NewId;

namespace {

constexpr std::size_t kMaxCachedOwners = 100000;
constexpr std::size_t kMaxCachedMemberLists = 10000;
// How long a cached member list is trusted: bounds how late this Chat sees member
// changes made by another Chat (another process) over the same store.
constexpr std::chrono::seconds kMemberCacheTtl(2);
constexpr char kJwtSecretSetting[] = "jwt_secret";

Status ValidateOptions(const Options& options) {
  if (!options.jwt_secret.empty() && options.jwt_secret.size() < 32) {
    return InvalidArgumentError("jwt_secret must be at least 32 bytes");
  }
  if (options.password_hashing.memory_kib < 8192 || options.password_hashing.iterations < 1 ||
      options.password_hashing.parallelism < 1) {
    return InvalidArgumentError("password hashing cost is below the minimum (8192 KiB, 1 iteration)");
  }
  if (options.account_token_ttl.count() <= 0 || options.session_token_ttl.count() <= 0) {
    return InvalidArgumentError("token lifetimes must be positive");
  }
  if (options.max_message_bytes == 0 || options.max_metadata_bytes == 0) {
    return InvalidArgumentError("size limits must be positive");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Chat>> Chat::Open(Options options) {
  LIBCHAT_RETURN_IF_ERROR(ValidateOptions(options));
  LIBCHAT_RETURN_IF_ERROR(Impl::ValidateRateLimitOptions(options.rate_limits));
  auto impl = std::make_unique<Impl>();
  if (!options.store) {
    LIBCHAT_ASSIGN_OR_RETURN(options.store, OpenSqliteStore(options.sqlite));
    impl->store_is_default_sqlite = true;
  }
  if (!options.bus) options.bus = NewInProcessBus();
  if (!options.clock) options.clock = NewSystemClock();
  impl->store = options.store;
  impl->bus = options.bus;
  impl->clock = options.clock;

  if (!options.jwt_secret.empty()) {
    impl->jwt_secret = options.jwt_secret;
  } else {
    // Generated once and kept in the store so that tokens survive restarts; the
    // put-if-absent makes concurrent first opens agree on one secret.
    const std::string candidate = internal::HexEncode(internal::RandomBytes(32));
    LIBCHAT_ASSIGN_OR_RETURN(impl->jwt_secret, impl->store->PutSettingIfAbsent(kJwtSecretSetting, candidate));
  }
  impl->jwt_key = std::make_unique<internal::HmacSha256Key>(impl->jwt_secret);
  LIBCHAT_ASSIGN_OR_RETURN(impl->decoy_password_hash,
                           internal::HashPassword(internal::RandomAlnum(24), options.password_hashing));
  impl->options = std::move(options);
  LIBCHAT_RETURN_IF_ERROR(impl->OpenDelivery());
  impl->responder = impl->options.responder ? impl->options.responder : NewKnowledgeBaseResponder();
  return std::unique_ptr<Chat>(new Chat(std::move(impl)));
}

Chat::Chat(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Chat::~Chat() = default;

const Options& Chat::options() const { return impl_->options; }

SubscriptionId Chat::SubscribeEvents(EventHandler handler) { return impl_->bus->Subscribe(std::move(handler)); }
void Chat::UnsubscribeEvents(SubscriptionId id) { impl_->bus->Unsubscribe(id); }

Status Chat::CheckHealth() { return impl_->store->CheckWritable(); }
StoreMetrics Chat::GetStoreMetrics() const { return impl_->store->Metrics(); }

// ---------------------------------------------------------------------------

Result<AccountId> Chat::Impl::AppOwner(const AppId& app) {
  {
    std::lock_guard lock(owners_mutex_);
    auto it = owners_.find(app.str());
    if (it != owners_.end()) return it->second;
  }
  auto stored = store->GetApp(app);
  if (!stored.ok()) {
    if (stored.status().code() == StatusCode::kNotFound) return NotFoundError("app not found");
    return stored.status();
  }
  std::lock_guard lock(owners_mutex_);
  if (owners_.size() >= kMaxCachedOwners) owners_.clear();  // crude bound; entries are cheap to reload
  owners_.emplace(app.str(), stored->app.account_id);
  return stored->app.account_id;
}

void Chat::Impl::ForgetApp(const AppId& app) {
  std::lock_guard lock(owners_mutex_);
  owners_.erase(app.str());
}

Result<StoredApp> Chat::Impl::OwnedApp(const Principal& principal, const AppId& app) {
  if (principal.type == PrincipalType::kOperator) {
    // An app the operator is not assigned to is "not found" to it, like any other tenant's.
    LIBCHAT_ASSIGN_OR_RETURN(bool staff, IsAppStaff(principal, app));
    if (!staff) return NotFoundError("app not found");
  }
  if (principal.type != PrincipalType::kAccount) return PermissionDeniedError("only the app's owner may do this");
  auto stored = store->GetApp(app);
  if (!stored.ok() || stored->app.account_id != principal.account_id) {
    if (!stored.ok() && stored.status().code() != StatusCode::kNotFound) return stored.status();
    return NotFoundError("app not found");
  }
  return stored;
}

Result<bool> Chat::Impl::IsAppTeam(const Principal& principal, const AppId& app) {
  switch (principal.type) {
    case PrincipalType::kAccount: {
      auto owner = AppOwner(app);
      if (!owner.ok()) {
        if (owner.status().code() == StatusCode::kNotFound) return false;
        return owner.status();
      }
      return *owner == principal.account_id;
    }
    case PrincipalType::kAppServer:
      return principal.app_id == app;
    default:
      return false;
  }
}

Result<bool> Chat::Impl::IsAppStaff(const Principal& principal, const AppId& app) {
  if (principal.type != PrincipalType::kOperator) return IsAppTeam(principal, app);
  if (!AppId::IsWellFormed(app.str())) return false;
  // Through the operator cache, which this Chat's operator changes clear: a deactivation
  // or a removed app applies from the next call on.
  auto op = OperatorById(OperatorId(principal.id));
  if (!op.ok()) {
    if (op.status().code() == StatusCode::kNotFound) return false;
    return op.status();
  }
  if (op->status != OperatorStatus::kActive) return false;
  if (!std::binary_search(op->app_ids.begin(), op->app_ids.end(), app)) return false;
  // app_ids only ever name the operator's own account's apps; checked again, as it is cheap (cached).
  auto owner = AppOwner(app);
  if (!owner.ok()) {
    if (owner.status().code() == StatusCode::kNotFound) return false;
    return owner.status();
  }
  return *owner == op->account_id;
}

Result<Conversation> Chat::Impl::VisibleConversation(const Principal& principal, const ConversationId& id,
                                                     bool with_viewer_state) {
  if (!ConversationId::IsWellFormed(id.str())) return NotFoundError("conversation not found");
  auto conversation = store->GetConversation(id, with_viewer_state ? MemberIdOf(principal) : std::string());
  if (!conversation.ok()) {
    if (conversation.status().code() == StatusCode::kNotFound) return NotFoundError("conversation not found");
    return conversation.status();
  }
  bool visible = false;
  if (principal.type == PrincipalType::kCustomer) {
    if (conversation->app_id != principal.app_id) {
      visible = false;
    } else if (conversation->type == ConversationType::kSupport) {
      visible = conversation->customer_id.str() == principal.id;
    } else {
      LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const MemberList> members, Members(*conversation));
      visible = members->Find(principal.id) != nullptr;
    }
  } else {
    LIBCHAT_ASSIGN_OR_RETURN(visible, IsAppStaff(principal, conversation->app_id));
  }
  if (!visible) return NotFoundError("conversation not found");
  return conversation;
}

Result<std::vector<std::string>> Chat::Impl::Audience(const Conversation& conversation) {
  LIBCHAT_ASSIGN_OR_RETURN(AccountId owner, AppOwner(conversation.app_id));
  // The app's active operators see all of its conversations, as the owner does.
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const std::vector<std::string>> operators,
                           ActiveOperatorIds(conversation.app_id));
  std::vector<std::string> audience{owner.str()};
  if (conversation.type == ConversationType::kSupport) {
    if (!conversation.customer_id.empty()) audience.push_back(conversation.customer_id.str());
    audience.insert(audience.end(), operators->begin(), operators->end());
    return audience;
  }
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const MemberList> members, Members(conversation));
  audience.reserve(members->members.size() + operators->size() + 1);
  for (const Member& member : members->members) {
    if (member.id != audience.front()) audience.push_back(member.id);
  }
  for (const std::string& op : *operators) {
    if (members->Find(op) == nullptr) audience.push_back(op);  // members are in already
  }
  return audience;
}

Result<std::shared_ptr<const MemberList>> Chat::Impl::Members(const Conversation& conversation) {
  if (conversation.type == ConversationType::kSupport) {
    // Fixed membership: the customer; no store read on the hot path of support chats.
    auto list = std::make_shared<MemberList>();
    if (!conversation.customer_id.empty()) {
      list->members.push_back(Member{conversation.customer_id.str(), MemberRole::kMember, conversation.created_at});
      list->index.emplace(conversation.customer_id.str(), 0);
    }
    return std::shared_ptr<const MemberList>(std::move(list));
  }
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(members_mutex_);
    auto it = members_.find(conversation.id.str());
    if (it != members_.end() && std::chrono::steady_clock::now() - it->second.loaded_at < kMemberCacheTtl) {
      return it->second.list;
    }
    generation = members_generation_;
  }
  const auto loaded_at = std::chrono::steady_clock::now();
  auto stored = store->ListMembers(conversation.id);
  if (!stored.ok()) {
    if (stored.status().code() == StatusCode::kNotFound) return NotFoundError("conversation not found");
    return stored.status();
  }
  auto list = std::make_shared<MemberList>();
  list->members = std::move(stored).value();
  for (std::size_t i = 0; i < list->members.size(); ++i) list->index.emplace(list->members[i].id, i);
  std::shared_ptr<const MemberList> shared = std::move(list);
  std::lock_guard lock(members_mutex_);
  // A member change since the read may not be in `stored`: use it, don't cache it.
  if (generation != members_generation_) return shared;
  if (members_.size() >= kMaxCachedMemberLists) members_.clear();  // crude bound; entries reload on demand
  members_[conversation.id.str()] = CachedMembers{shared, loaded_at};
  return shared;
}

void Chat::Impl::ForgetMembers(const ConversationId& id) {
  std::lock_guard lock(members_mutex_);
  members_.erase(id.str());
  ++members_generation_;
}

Sender Chat::Impl::SenderOf(const Principal& principal) {
  switch (principal.type) {
    case PrincipalType::kCustomer: return {SenderType::kCustomer, principal.id};
    case PrincipalType::kAccount: return {SenderType::kAccount, principal.id};
    case PrincipalType::kOperator: return {SenderType::kOperator, principal.id};
    default: return {SenderType::kSystem, principal.id};
  }
}

std::string Chat::Impl::MemberIdOf(const Principal& principal) { return principal.id; }

Event Chat::Impl::ConversationEvent(EventType type, const Conversation& conversation,
                                   std::vector<std::string> audience) {
  Event event;
  event.type = type;
  event.app_id = conversation.app_id;
  event.conversation_id = conversation.id;
  event.audience = std::move(audience);
  return event;
}

void Chat::Impl::Publish(Event event) {
  event.published_at = Now();
  bus->Publish(std::make_shared<const Event>(std::move(event)));
}

std::pair<std::string, Timestamp> Chat::Impl::IssueToken(std::string kind, std::string subject,
                                                          std::string app_id, std::chrono::seconds ttl) {
  const Timestamp now = Now();
  internal::TokenClaims claims;
  claims.subject = std::move(subject);
  claims.kind = std::move(kind);
  claims.app_id = std::move(app_id);
  claims.token_id = internal::RandomAlnum(22);
  claims.issued_at = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  claims.expires_at = claims.issued_at + ttl.count();
  return {internal::SignJwt(claims, *jwt_key), Timestamp(std::chrono::seconds(claims.expires_at))};
}

}  // namespace libchat
