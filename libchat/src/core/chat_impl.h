// Chat::Impl: the state behind the facade and the helpers its services share.
// The services themselves (auth, apps, conversations) are the Chat member
// functions defined in accounts.cpp, apps.cpp and conversations.cpp.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/entity_locks.h"
#include "core/rate_limiter.h"
#include "util/crypto.h"
#include "libchat/chat.h"

namespace libchat {

// The members of one conversation with an index by id; shared read-only
// between the callers that asked for it while it was cached.
struct MemberList {
  std::vector<Member> members;
  std::unordered_map<std::string, std::size_t> index;  // member id -> position in members

  const Member* Find(std::string_view id) const {
    auto it = index.find(std::string(id));
    return it == index.end() ? nullptr : &members[it->second];
  }
};

struct Chat::Impl {
  Options options;
  std::shared_ptr<Store> store;
  std::shared_ptr<Bus> bus;
  std::shared_ptr<Clock> clock;
  std::string jwt_secret;
  // jwt_secret prepared for HMAC once, instead of on every token check.
  std::unique_ptr<internal::HmacSha256Key> jwt_key;
  // A PHC hash of a random password, verified against when a login names an
  // unknown email so that the response time does not reveal which emails exist.
  std::string decoy_password_hash;
  // Held across the read and the write of an update of one account, app or conversation.
  internal::EntityLocks entity_locks;

  Timestamp Now() const { return clock->Now(); }

  // --- rate limits (rate_limits.cpp)
  internal::RateLimiter rate_limiter;
  // The app's limit overrides (App::limits), cached; a missing app has none. Reads the store on a miss.
  AppLimits LimitsOf(const AppId& app);
  // Replaces the cached limits of `app` (UpdateApp, CreateApp; DeleteApp with zeros), so that a change
  // applies at the next charge, and keeps a load that raced with the change from caching the old value.
  void CacheLimits(const AppId& app, const AppLimits& limits);
  // kInvalidArgument for negative, non-finite or absurdly large values.
  static Status ValidateLimits(const AppLimits& limits);
  static Status ValidateRateLimitOptions(const RateLimitOptions& options);

  // --- authorization helpers: each returns kNotFound for anything the principal
  // may not see, so other tenants' resources are indistinguishable from missing ones.

  // The owning account of an app (cached: ownership never changes).
  Result<AccountId> AppOwner(const AppId& app);
  void ForgetApp(const AppId& app);
  // The app, if the principal is its owning account.
  Result<StoredApp> OwnedApp(const Principal& principal, const AppId& app);
  // True when the principal may act on conversations of `app` as its team
  // (the owning account, or the app's own server).
  Result<bool> IsAppTeam(const Principal& principal, const AppId& app);
  // The conversation, if the principal may see it. With `with_viewer_state`,
  // read_seq and unread_count are filled for the principal; that costs a count
  // over the unread messages, so only reads that return them to a client ask.
  Result<Conversation> VisibleConversation(const Principal& principal, const ConversationId& id,
                                           bool with_viewer_state = false);
  // Principal ids that see events of this conversation: the app's owner and
  // the members (the customer of a support conversation).
  Result<std::vector<std::string>> Audience(const Conversation& conversation);
  // The members of a dm, group or channel. Cached: this Chat's own member
  // changes invalidate the entry at once; changes made through another Chat
  // over the same store are seen within kMemberCacheTtl. Support
  // conversations: the customer alone, without a store read.
  Result<std::shared_ptr<const MemberList>> Members(const Conversation& conversation);
  void ForgetMembers(const ConversationId& id);

  // Verifies a bearer token (signature, expiry, revocation) and that its subject
  // still exists; with `app`, a session token must belong to that app.
  Result<Principal> PrincipalFromToken(const std::string& token, const AppId* app);

  // Who a principal writes as, and the member id its receipts are kept under.
  static Sender SenderOf(const Principal& principal);
  static std::string MemberIdOf(const Principal& principal);

  // An event about `conversation` for `audience`; the caller sets the payload.
  static Event ConversationEvent(EventType type, const Conversation& conversation,
                                 std::vector<std::string> audience);
  void Publish(Event event);

  // --- conversation service steps (conversations.cpp)
  // Creates a support conversation for `customer` (with `id`, or a new random
  // one when it is empty) and announces it. kAlreadyExists when `id` is taken.
  Result<Conversation> StartSupportConversation(const AppId& app, const CustomerId& customer,
                                                const std::string& metadata_json, ConversationId id = {});
  // The customer an SDK call acts for: the session's, or a new one for a publishable key.
  Result<Customer> SdkCustomer(const Principal& principal, const CustomerInput& input);
  Status ValidateSendRequest(const SendRequest& request) const;
  // Validates, appends durably and publishes message events from the commit hook.
  Result<SendResult> AppendAndPublish(const Principal& principal, const Conversation& conversation,
                                      const SendRequest& request);
  // conversation.updated to the conversation's audience (viewer-relative fields zeroed).
  Status PublishConversationUpdated(const Conversation& conversation);

  // --- member steps (members.cpp)
  // The principal id a MemberInput names, checked to belong to `app`.
  Result<std::string> ResolveMember(const Principal& principal, const AppId& app, const MemberInput& input);
  Result<CreatedConversation> ExistingDirect(const Principal& principal, const ConversationId& id);
  // OK when the principal may add and remove members (the team, owners, admins).
  static Status CheckManager(const Principal& principal, const MemberList& members);
  // conversation.updated with the current members, to them, the team and `also_tell`.
  Status PublishMembersChanged(const Conversation& conversation, std::vector<std::string> also_tell);

  // Applies an edit or delete of the principal's own message and announces it (message_revisions.cpp).
  Result<Message> ReviseOwnMessage(const Principal& principal, const ConversationId& id, const MessageId& message,
                                   MessageRevision revision);

  // Moves the principal's receipt forward and tells the other members.
  Result<Receipt> AdvanceReceipt(const Principal& principal, const ConversationId& id, std::int64_t seq, bool read);

  // Mints an HS256 token of `kind` ("account", "customer") for `subject`; returns it with its expiry.
  std::pair<std::string, Timestamp> IssueToken(std::string kind, std::string subject, std::string app_id,
                                               std::chrono::seconds ttl);

 private:
  std::mutex owners_mutex_;
  std::unordered_map<std::string, AccountId> owners_;  // app id -> owning account
  std::mutex limits_mutex_;
  std::unordered_map<std::string, AppLimits> limits_;  // app id -> App::limits
  std::uint64_t limits_generation_ = 0;                // bumped by CacheLimits
  std::mutex members_mutex_;
  struct CachedMembers {
    std::shared_ptr<const MemberList> list;
    std::chrono::steady_clock::time_point loaded_at;
  };
  std::unordered_map<std::string, CachedMembers> members_;  // conversation id -> members
  std::uint64_t members_generation_ = 0;  // bumped by every ForgetMembers
};

}  // namespace libchat
