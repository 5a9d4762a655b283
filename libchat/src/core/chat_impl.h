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
#include "core/presence_book.h"
#include "core/rate_limiter.h"
#include "transport/address_policy.h"
#include "util/crypto.h"
#include "util/secret_box.h"
#include "libchat/chat.h"
#include "libchat/providers/responder.h"

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

// What an app asked for beyond the socket, cached per app (delivery_config.cpp).
struct AppDeliveryConfig {
  std::vector<WebhookEndpoint> webhooks;  // enabled endpoints only
  DeliveryPolicy policy;                  // the default when the app set none
  bool has_email_provider = false;
  BotSettings bot;                        // the default (disabled) when the app set none
  AssignmentSettings assignment;          // the default (manual) when the app set none

  // True when an enabled endpoint subscribes to `event_type`.
  bool Wants(std::string_view event_type) const;
  bool PolicyUses(DeliveryChannel channel) const;
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
  // True when the principal may see and act on the app's conversations: the team,
  // or an active operator assigned to the app. Operators are not team: webhooks,
  // providers, keys and settings stay with IsAppTeam.
  Result<bool> IsAppStaff(const Principal& principal, const AppId& app);
  // The conversation, if the principal may see it. With `with_viewer_state`,
  // read_seq and unread_count are filled for the principal; that costs a count
  // over the unread messages, so only reads that return them to a client ask.
  Result<Conversation> VisibleConversation(const Principal& principal, const ConversationId& id,
                                           bool with_viewer_state = false);
  // Principal ids that see events of this conversation: the app's owner, its
  // active operators and the members (the customer of a support conversation).
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
  // Validates, appends durably and publishes message events from the commit hook. The message is
  // written as SenderOf(principal), or as `as_sender` when given (the bot writes with the team's
  // rights under a sender of its own).
  Result<SendResult> AppendAndPublish(const Principal& principal, const Conversation& conversation,
                                      const SendRequest& request, const Sender* as_sender = nullptr);
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

  // --- delivery beyond the socket (delivery_config.cpp, outbox.cpp, webhooks.cpp, notifications.cpp,
  // delivery_worker.cpp)
  bool store_is_default_sqlite = false;  // Chat::Open opened the store itself (secrets key file next to it)
  std::optional<internal::SecretBox> secret_box;  // seals webhook secrets and provider credentials
  internal::NetworkAllowlist outbound_allowlist;  // private networks webhook targets may reach
  std::vector<std::shared_ptr<const PolicyStep>> policy_steps;  // built-in, then the host's
  internal::PresenceBook presence;
  std::mutex jitter_mutex;
  std::uint64_t jitter_state = 0;  // xorshift state for retry jitter, seeded from the CSPRNG

  Status OpenDelivery();  // Chat::Open's part: secrets key, HTTP client, sender, steps
  Result<std::shared_ptr<const AppDeliveryConfig>> DeliveryConfigOf(const AppId& app);
  void ForgetDeliveryConfig(const AppId& app);
  // The app's email provider, built from its stored (sealed) configuration, with its From
  // address; kNotFound when none.
  struct AppEmail {
    std::shared_ptr<EmailProvider> provider;
    std::string from;
  };
  Result<AppEmail> EmailProviderOf(const AppId& app);
  Result<EmailProviderConfig> LoadEmailProviderConfig(const AppId& app, Timestamp* updated_at);

  // Outbox rows (not yet stored) for an event: one per enabled endpoint subscribed to it.
  static std::vector<Delivery> WebhookDeliveries(const AppDeliveryConfig& config, const AppId& app,
                                                 const std::string& event_type, const std::string& body,
                                                 Timestamp now);
  // The deliveries a new message causes (webhooks, message.offline, email fallback),
  // built inside the append's transaction; empty std::function when nothing can apply.
  std::function<std::vector<Delivery>(const AppendResult&)> MessageOutbox(
      std::shared_ptr<const AppDeliveryConfig> config, const Principal& sender, const Conversation& conversation,
      const std::vector<std::string>& audience, bool may_reopen);
  // conversation.created / conversation.updated webhooks for `conversation`.
  Result<std::vector<Delivery>> ConversationOutbox(const Conversation& conversation, const std::string& event_type);
  // Creates / updates the conversation with its webhooks in the same transaction.
  Status CreateConversationWithWebhooks(const Conversation& conversation);
  Status UpdateConversationWithWebhooks(const Conversation& conversation);

  // The next due time after a failed attempt number `attempt` (1-based), or nullopt to dead-letter.
  std::optional<Timestamp> NextRetryAt(int attempt, Timestamp now, std::optional<std::chrono::milliseconds> retry_after);
  // Runs one claimed delivery to its next state (delivery_worker.cpp).
  Status RunDelivery(Delivery delivery);
  // Recomputes a notification's status from its deliveries and announces a change.
  Status SettleNotification(const NotificationId& id);

  // --- operators and assignment (operators.cpp, assignment.cpp)
  // The operator, cached: this Chat's own operator changes invalidate at once;
  // changes made through another Chat over the same store are seen within a
  // couple of seconds. kNotFound when missing.
  Result<Operator> OperatorById(const OperatorId& id);
  // Ids of the app's active operators ("op_…"), cached like OperatorById.
  Result<std::shared_ptr<const std::vector<std::string>>> ActiveOperatorIds(const AppId& app);
  // Drops every cached operator and app operator list (after any operator change).
  void ForgetOperators();
  // The assignee a conversation of `app` handed to the team gets now: "" when the
  // app assigns manually or no active operator of it is online; otherwise the next
  // online operator in turn (round robin per app, in this process).
  Result<std::string> PickAssignee(const AppId& app);

  // --- knowledge base and bot (knowledge.cpp, bot.cpp)
  std::shared_ptr<Responder> responder;  // Options::responder or the knowledge-base one
  // Splits, folds and searches; hits with their 0..1 score and HTML snippet, best first.
  Result<std::vector<KnowledgeHit>> SearchAppKnowledge(const AppId& app, const std::string& query, int limit);
  // Runs one kBot delivery: answers the customer's message or hands the conversation over.
  Status RunBotReply(const Delivery& delivery);

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
  std::mutex delivery_config_mutex_;
  struct CachedDeliveryConfig {
    std::shared_ptr<const AppDeliveryConfig> config;
    std::chrono::steady_clock::time_point loaded_at;
  };
  std::unordered_map<std::string, CachedDeliveryConfig> delivery_configs_;  // app id -> config
  std::uint64_t delivery_config_generation_ = 0;
  std::mutex email_providers_mutex_;
  struct CachedEmailProvider {
    AppEmail email;
    std::chrono::steady_clock::time_point loaded_at;
  };
  std::unordered_map<std::string, CachedEmailProvider> email_providers_;  // app id -> provider
  // Email fallbacks already queued, per "conversation/recipient": due time (at most one pending each).
  std::mutex fallback_mutex_;
  std::unordered_map<std::string, Timestamp> queued_fallbacks_;

 public:
  // Operator caches (operators.cpp).
  struct CachedOperator {
    Operator op;
    std::chrono::steady_clock::time_point loaded_at;
  };
  struct CachedOperatorIds {
    std::shared_ptr<const std::vector<std::string>> ids;
    std::chrono::steady_clock::time_point loaded_at;
  };
  std::mutex operators_mutex;
  std::unordered_map<std::string, CachedOperator> operators_by_id;       // op id -> operator
  std::unordered_map<std::string, CachedOperatorIds> app_operator_ids;  // app id -> active operator ids
  std::uint64_t operators_generation = 0;                              // bumped by ForgetOperators
  // Round-robin position per app (assignment.cpp): the id of the last operator picked.
  std::mutex round_robin_mutex;
  std::unordered_map<std::string, std::string> round_robin_last;

  // True (and remembered until `due`) unless a fallback email for this recipient
  // and conversation is already queued and not yet due.
  bool ReserveFallback(const std::string& key, Timestamp now, Timestamp due);
};

}  // namespace libchat
