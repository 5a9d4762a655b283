// Chat: the libchat facade. Open one from Options and call it from any thread.
//
//   libchat::Options options;
//   options.sqlite.path = "chat.db";
//   auto chat = libchat::Chat::Open(std::move(options));
//   if (!chat.ok()) { ... chat.status() ... }
//
// Every call that acts on tenant data takes the authenticated Principal; the
// core decides what it may see and do, so a host embedding libchat gets tenant
// isolation without re-implementing it. A resource of another tenant is
// reported exactly like a missing one (kNotFound).
//
// Thread-safety: all methods are safe to call concurrently. Calls that write
// block until the write is durable; none of them throws.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libchat/delivery.h"
#include "libchat/export.h"
#include "libchat/knowledge.h"
#include "libchat/options.h"
#include "libchat/providers/bus.h"
#include "libchat/status.h"
#include "libchat/types.h"
#include "libchat/widget.h"

namespace libchat {

// What a transport extracted from a request; Authenticate turns it into a Principal.
struct Credentials {
  std::string bearer_token;  // "Authorization: Bearer …", "X-Authorization-Key", or ?token=
  std::string api_key;       // "X-API-Key: pk_…|sk_…"
  std::string user_id;       // "X-User-Id": with a secret key, act as this customer (external id)
  std::string master_key;    // "X-Master-Key"
};

struct RegisterRequest {
  std::string email;
  std::string password;  // 8..1024 bytes
  std::string name;
};

// A signed-in account with its bearer token.
struct AuthSession {
  Account account;
  std::string token;
  Timestamp expires_at;
};

struct AccountUpdate {
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<std::string> current_password;  // required to change email or password
  std::optional<std::string> new_password;
};

struct AppCreate {
  std::string name;
  std::optional<std::string> theme_json;    // JSON object
  std::optional<std::string> prechat_json;  // JSON array
  bool identity_verification = false;
  std::optional<AppLimits> limits;  // absent: all 0, the host's defaults
};

struct AppUpdate {
  std::optional<std::string> name;
  std::optional<std::string> theme_json;
  std::optional<std::string> prechat_json;
  std::optional<bool> identity_verification;
  std::optional<AppLimits> limits;  // replaces all three fields; 0 = the host's default
};

// The secret key and the identity secret are shown here once and never again.
struct CreatedApp {
  App app;
  std::string secret_key;       // "sk_…"
  std::string identity_secret;  // for user_hash; see App::identity_verification
};

enum class KeyKind { kSecret, kPublishable };

struct RotatedKey {
  App app;
  KeyKind kind = KeyKind::kSecret;
  std::string key;  // the new key; the old one stops working at once
};

struct SdkConfig {
  AppId app_id;
  std::string app_name;
  std::string theme_json;
  std::string prechat_json;
  WidgetSettings widget;
  bool bot_enabled = false;
  std::string bot_name;
};

struct CustomerInput {
  std::string external_id;  // empty: anonymous
  std::string name;
  std::string email;
  std::string user_hash;    // required when the app has identity_verification
};

struct SessionRequest {
  CustomerInput customer;
  std::string metadata_json;  // conversation metadata; empty means {}
};

struct SdkSession {
  Conversation conversation;
  Customer customer;
  std::string session_token;
  Timestamp expires_at;
};

struct SendRequest {
  std::string text;           // valid UTF-8, 1..max_message_bytes
  std::string client_msg_id;  // optional idempotency key, ≤ 128 bytes
  std::string metadata_json;  // empty means {}
};

struct SdkSendRequest {
  SendRequest message;
  // Empty: a new support conversation (and, for a publishable principal, a new
  // anonymous customer with a session token) is created.
  ConversationId conversation_id;
  CustomerInput customer;  // used only when a customer is created
};

struct SendResult {
  Message message;
  Conversation conversation;
  bool created = true;        // false: a repeated client_msg_id returned the original
  std::string session_token;  // set when this call created the customer
  std::optional<Timestamp> session_expires_at;
};

struct ConversationFilter {
  std::optional<ConversationStatus> status;
  std::optional<std::string> assignee_id;  // "" selects unassigned
  std::optional<ConversationType> type;
  std::string cursor;
  int limit = 50;  // 1..200
};

struct ConversationUpdate {
  std::optional<ConversationStatus> status;
  std::optional<std::string> assignee_id;  // "" unassigns
  std::optional<std::optional<Timestamp>> snoozed_until;  // nullopt inside: clear
  std::optional<std::string> name;
  std::optional<std::string> metadata_json;
};

// Who to add to a conversation: a principal id ("cus_…", "acc_…", "op_…") or a
// customer of the app by external_id (found, or created when new).
struct MemberInput {
  std::string id;
  std::string external_id;
  std::optional<MemberRole> role;  // default: member
};

struct ConversationCreate {
  ConversationType type = ConversationType::kGroup;  // dm, group or channel
  // The other members. A customer or account creating it is added as owner;
  // a dm has exactly two members in all.
  std::vector<MemberInput> members;
  std::string name;
  std::string metadata_json;  // empty means {}
};

struct CreatedConversation {
  Conversation conversation;  // with its members
  bool created = true;        // false: the dm between this pair already existed
};

struct MemberChange {
  Member member;      // as stored
  bool added = true;  // false: was a member already; its role was set
};

struct MessageEdit {
  std::optional<std::string> text;
  std::optional<std::string> metadata_json;
};

struct HistoryQuery {
  std::optional<std::int64_t> after_seq;
  std::optional<std::int64_t> before_seq;
  int limit = 50;  // 1..200
};

// The outcome of charging one request or one message send against a token bucket. `limit` is 0 when no
// limit applies (then the other numbers are 0 too and the call is allowed).
struct RateLimitDecision {
  bool allowed = true;
  std::int64_t limit = 0;          // the bucket's size (the burst)
  std::int64_t remaining = 0;      // whole tokens left after this charge
  std::int64_t reset_s = 0;        // seconds until the bucket is full again
  std::int64_t retry_after_s = 0;  // when refused: seconds until the next charge can succeed (>= 1)
};

struct TokenInfo {
  bool valid = false;
  PrincipalType principal_type = PrincipalType::kAccount;
  std::string principal_id;  // "acc_…", "op_…", "cus_…"
  AccountId account_id;
  std::optional<Timestamp> expires_at;
  std::string error;  // why it is not valid
};

struct OperatorCreate {
  std::string name;   // 1..200 bytes
  std::string email;  // optional
  std::vector<AppId> app_ids;  // apps of the same account (others: kNotFound)
};

struct OperatorUpdate {
  std::optional<OperatorStatus> status;  // deleted is final
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<std::vector<AppId>> app_ids;  // replaces the assignment
};

struct OperatorFilter {
  std::optional<AppId> app_id;
  std::optional<OperatorStatus> status;  // absent: active and inactive
  std::string cursor;
  int limit = 50;  // 1..200
};

struct OperatorToken {
  std::string token;
  Timestamp expires_at;
};

// How conversations handed to the team get an assignee.
enum class AssignmentMode { kManual, kRoundRobin };
LIBCHAT_API const char* AssignmentModeName(AssignmentMode mode);  // "manual", "round_robin"
LIBCHAT_API std::optional<AssignmentMode> ParseAssignmentMode(std::string_view text);

struct AssignmentSettings {
  // kRoundRobin: a new support conversation (or one the bot hands over) is
  // assigned in turn to the app's active operators that have a live connection
  // (Chat::SetPresence); with none online it stays unassigned.
  AssignmentMode mode = AssignmentMode::kManual;
};

struct KnowledgeInput {
  KnowledgeType type = KnowledgeType::kText;
  std::string question;
  std::string answer;
  std::string content;
};

struct WebhookCreate {
  std::string url;                  // http(s); must not resolve to a private address (see DeliveryOptions)
  std::vector<std::string> events;  // non-empty subset of WebhookEventTypes()
};

struct WebhookUpdate {
  std::optional<std::string> url;
  std::optional<std::vector<std::string>> events;
  std::optional<bool> enabled;  // true re-enables an endpoint disabled by a 410
};

// The secret is shown here once (on creation and rotation) and never again.
struct CreatedWebhook {
  WebhookEndpoint webhook;
  std::string secret;  // "whsec_…"
};

struct DeliveryFilter {
  std::optional<WebhookId> webhook_id;
  std::optional<DeliveryStatus> status;
  std::optional<DeliveryChannel> channel;
  std::string cursor;
  int limit = 50;  // 1..200
};

// An app's email provider as the API shows it: secret values are never
// returned, only the names of the secret fields that are set.
struct EmailProviderSettings {
  EmailProviderConfig config;  // without secret fields
  std::vector<std::string> secrets_set;
  Timestamp updated_at;
};

struct NotificationRequest {
  // Recipients: exactly one of customer_ids (customers of the app), conversation_id
  // (its customer) or email (an address; email channel only).
  std::vector<CustomerId> customer_ids;
  ConversationId conversation_id;
  std::string email;
  std::vector<DeliveryChannel> channels;  // websocket, webhook, email; at least one
  std::string subject;                    // required for email
  std::string body;                       // required
  std::string html;
  NotificationPriority priority = NotificationPriority::kNormal;
  std::optional<Timestamp> scheduled_at;  // not before: delivered from then on
  std::optional<NotificationFallback> fallback;
};

class LIBCHAT_API Chat {
 public:
  // Opens (and migrates) the store, loads or generates the JWT secret.
  static Result<std::unique_ptr<Chat>> Open(Options options);
  ~Chat();
  Chat(const Chat&) = delete;
  Chat& operator=(const Chat&) = delete;

  // --- authentication
  // kUnauthenticated for missing, unknown, forged, revoked or expired credentials.
  Result<Principal> Authenticate(const Credentials& credentials);
  TokenInfo ValidateToken(const std::string& token);

  // --- accounts
  Result<AuthSession> Register(const RegisterRequest& request);
  Result<AuthSession> Login(const std::string& email, const std::string& password);
  // Revokes the token that authenticated `principal`; survives restarts.
  Status Logout(const Principal& principal);
  Result<Account> GetMe(const Principal& principal);
  Result<Account> UpdateMe(const Principal& principal, const AccountUpdate& update);

  // --- apps (accounts only, on their own apps)
  Result<CreatedApp> CreateApp(const Principal& principal, const AppCreate& request);
  Result<Page<App>> ListApps(const Principal& principal, const std::string& cursor, int limit);
  Result<App> GetApp(const Principal& principal, const AppId& app);
  Result<App> UpdateApp(const Principal& principal, const AppId& app, const AppUpdate& update);
  Status DeleteApp(const Principal& principal, const AppId& app);
  Result<RotatedKey> RotateKey(const Principal& principal, const AppId& app, KeyKind kind);

  // --- SDK side (publishable, customer or app-server principals)
  Result<SdkConfig> GetSdkConfig(const Principal& principal);
  Result<SdkSession> CreateSession(const Principal& principal, const SessionRequest& request);
  Result<SendResult> SdkSendMessage(const Principal& principal, const SdkSendRequest& request);

  // --- conversations (accounts, app servers; customers for their own)
  Result<Page<Conversation>> ListConversations(const Principal& principal, const AppId& app,
                                               const ConversationFilter& filter);
  Result<Conversation> GetConversation(const Principal& principal, const ConversationId& id);
  Result<Conversation> UpdateConversation(const Principal& principal, const ConversationId& id,
                                          const ConversationUpdate& update);
  // Reopens up to `limit` snoozed conversations whose snoozed_until has passed
  // (each announced with conversation.updated); returns how many. Not tied to a
  // principal: the host calls it periodically (the reference server every second).
  Result<int> WakeSnoozedConversations(int limit = 100);
  Result<std::vector<Message>> ListMessages(const Principal& principal, const ConversationId& id,
                                            const HistoryQuery& query);
  Result<SendResult> SendMessage(const Principal& principal, const ConversationId& id,
                                 const SendRequest& request);
  Result<Receipt> MarkRead(const Principal& principal, const ConversationId& id, std::int64_t seq);
  Result<Receipt> MarkDelivered(const Principal& principal, const ConversationId& id, std::int64_t seq);
  Status SetTyping(const Principal& principal, const ConversationId& id, bool typing);

  // --- dm, group and channel conversations and their members
  // The team of the app (its account, its server) may create any type; a
  // customer creates dms and groups it is a member of. kInvalidArgument for a
  // bad type or member list, kNotFound for unknown member ids.
  Result<CreatedConversation> CreateConversation(const Principal& principal, const AppId& app,
                                                 const ConversationCreate& request);
  Result<std::vector<Member>> ListMembers(const Principal& principal, const ConversationId& id);
  // The team, owners and admins add members and change roles (a customer may
  // not make anyone owner). Returns the member as stored.
  Result<MemberChange> AddMember(const Principal& principal, const ConversationId& id, const MemberInput& member);
  // The team, owners and admins remove members; any member may leave.
  Status RemoveMember(const Principal& principal, const ConversationId& id, const std::string& member_id);

  // --- edits and deletes, by the message's sender only (kPermissionDenied otherwise);
  // published as message.updated / message.deleted carrying the affected seq.
  Result<Message> EditMessage(const Principal& principal, const ConversationId& id, const MessageId& message,
                              const MessageEdit& edit);
  Result<Message> DeleteMessage(const Principal& principal, const ConversationId& id, const MessageId& message);

  // --- presence: tells everyone who shares a conversation with `principal`
  // (and its app's team) that it came online or went offline. A transport calls
  // it on the first connection and after the last one has been gone a grace period.
  Status SetPresence(const Principal& principal, bool online);

  // --- live events: the handler receives every event; deliver an event to a
  // principal only when EventVisibleTo(event, principal). The handler runs on
  // the publishing thread and must not call back into this Chat (see bus.h).
  SubscriptionId SubscribeEvents(EventHandler handler);
  void UnsubscribeEvents(SubscriptionId id);

  // --- rate limits (Options::rate_limits, overridden per app by App::limits; time from Options::clock)
  // Charges one request of `principal`: one token from the bucket of its app (customer, publishable and
  // app-server principals), of its account (accounts, at the default rate) or of itself (operators); admin
  // is never limited. A transport calls it once per request (and per WebSocket frame) after authentication
  // and refuses the request when !allowed. An app's rate and burst come from App::limits where non-zero;
  // an app that overrides only the rate gets a burst of max(1, ceil(rate)). Changes made through UpdateApp
  // apply to the next charge. Never blocks on the store once the app's limits are cached: the first charge
  // of an app (per process, and after the cache was flushed) reads the app once.
  RateLimitDecision ChargeRequest(const Principal& principal);
  // Charges one message send of a customer against its own bucket (customer_sends_per_min); independent of
  // the app's request bucket. Always allowed for other principals.
  RateLimitDecision ChargeSend(const Principal& principal);

  // --- operators (the owning account)
  // All or nothing: one invalid operator fails the batch (kInvalidArgument / kNotFound for a foreign app).
  Result<std::vector<Operator>> CreateOperators(const Principal& principal, const std::vector<OperatorCreate>& batch);
  Result<Page<Operator>> ListOperators(const Principal& principal, const OperatorFilter& filter);
  // An account sees its operators; an operator sees itself.
  Result<Operator> GetOperator(const Principal& principal, const OperatorId& id);
  // Making an operator inactive or deleted ends its tokens and connections' rights
  // at once; kFailedPrecondition for a change of a deleted operator.
  Result<Operator> UpdateOperator(const Principal& principal, const OperatorId& id, const OperatorUpdate& update);
  // A token for an active operator, expiring at `expires_at`: in the future and at
  // most 24 hours ahead (kInvalidArgument otherwise).
  Result<OperatorToken> CreateOperatorToken(const Principal& principal, const OperatorId& id, Timestamp expires_at);
  // Operators are team: they see and act on the conversations of the apps they are
  // assigned to, as the account does, and nothing else of the account.

  // --- assignment (the app's team reads; the owning account changes it)
  Result<AssignmentSettings> GetAssignment(const Principal& principal, const AppId& app);
  Result<AssignmentSettings> PutAssignment(const Principal& principal, const AppId& app,
                                           const AssignmentSettings& settings);

  // --- knowledge base (the app's team; operators read and search)
  Result<KnowledgeEntry> CreateKnowledgeEntry(const Principal& principal, const AppId& app,
                                              const KnowledgeInput& input);
  Result<Page<KnowledgeEntry>> ListKnowledge(const Principal& principal, const AppId& app, const std::string& cursor,
                                             int limit);
  Result<KnowledgeEntry> GetKnowledgeEntry(const Principal& principal, const AppId& app, const KnowledgeId& id);
  Result<KnowledgeEntry> UpdateKnowledgeEntry(const Principal& principal, const AppId& app, const KnowledgeId& id,
                                              const KnowledgeInput& input);
  Status DeleteKnowledgeEntry(const Principal& principal, const AppId& app, const KnowledgeId& id);
  // Best first; kInvalidArgument for an empty query or one of stop words only. limit 1..50.
  Result<std::vector<KnowledgeHit>> SearchKnowledge(const Principal& principal, const AppId& app,
                                                    const std::string& query, int limit = 10);
  Result<BotSettings> GetBotSettings(const Principal& principal, const AppId& app);
  Result<BotSettings> PutBotSettings(const Principal& principal, const AppId& app, const BotSettings& settings);

  // --- widget (the app's team; the public configuration needs no principal)
  Result<WidgetSettings> GetWidget(const Principal& principal, const AppId& app);
  Result<WidgetSettings> PutWidget(const Principal& principal, const AppId& app, const WidgetSettings& settings);
  // kNotFound for an unknown publishable key.
  Result<PublicWidgetConfig> GetPublicWidget(const std::string& publishable_key);

  // --- webhooks (the app's team: its account or its server)
  Result<CreatedWebhook> CreateWebhook(const Principal& principal, const AppId& app, const WebhookCreate& request);
  Result<std::vector<WebhookEndpoint>> ListWebhooks(const Principal& principal, const AppId& app);
  Result<WebhookEndpoint> GetWebhook(const Principal& principal, const AppId& app, const WebhookId& id);
  Result<WebhookEndpoint> UpdateWebhook(const Principal& principal, const AppId& app, const WebhookId& id,
                                        const WebhookUpdate& update);
  // A new secret; the previous one keeps signing (both signatures are sent) for 24 hours.
  Result<CreatedWebhook> RotateWebhookSecret(const Principal& principal, const AppId& app, const WebhookId& id);
  Status DeleteWebhook(const Principal& principal, const AppId& app, const WebhookId& id);

  // --- the outbox as the app's team sees it
  Result<Page<Delivery>> ListDeliveries(const Principal& principal, const AppId& app, const DeliveryFilter& filter);
  Result<Delivery> GetDelivery(const Principal& principal, const AppId& app, const DeliveryId& id);
  // Sends a finished delivery again (failed, delivered, skipped), keeping its id
  // and attempts; kFailedPrecondition while it is pending or when it was cancelled.
  Result<Delivery> RetryDelivery(const Principal& principal, const AppId& app, const DeliveryId& id);

  // --- per-app email provider and delivery policy (the app's team)
  Result<EmailProviderSettings> GetEmailProvider(const Principal& principal, const AppId& app);
  // Replaces the settings; a secret field left out keeps its stored value when
  // the type is unchanged. Secrets are sealed with the secrets key before they are stored.
  Result<EmailProviderSettings> PutEmailProvider(const Principal& principal, const AppId& app,
                                                 const EmailProviderConfig& config);
  Status DeleteEmailProvider(const Principal& principal, const AppId& app);
  Result<DeliveryPolicy> GetDeliveryPolicy(const Principal& principal, const AppId& app);
  Result<DeliveryPolicy> PutDeliveryPolicy(const Principal& principal, const AppId& app,
                                           const DeliveryPolicy& policy);

  // --- notifications (the app's team)
  // Queues the notification: nothing is marked delivered until a channel delivered it.
  Result<Notification> CreateNotification(const Principal& principal, const AppId& app,
                                          const NotificationRequest& request);
  Result<Notification> GetNotification(const Principal& principal, const AppId& app, const NotificationId& id);
  // kFailedPrecondition unless pending.
  Result<Notification> CancelNotification(const Principal& principal, const AppId& app, const NotificationId& id);
  // Sends a failed notification's failed deliveries again; kFailedPrecondition unless failed.
  Result<Notification> RetryNotification(const Principal& principal, const AppId& app, const NotificationId& id);

  // --- the delivery worker
  // Claims up to `limit` due deliveries and runs each on the calling thread:
  // the policy chain for gated ones, then the provider, then the attempt is
  // recorded and the next one scheduled (or the delivery dead-lettered).
  // Returns how many were claimed. Blocks on the network: call it from worker
  // threads (the reference server runs a small pool), never from an event loop.
  Result<int> ProcessDueDeliveries(int limit = 16);
  // When the next pending delivery is due (nullopt: none), so a worker can sleep until then.
  Result<std::optional<Timestamp>> NextDeliveryDue();

  // --- operations
  // OK when the store can commit a write now.
  Status CheckHealth();
  // The store's counters (commit batch sizes, ...); cheap, no I/O.
  StoreMetrics GetStoreMetrics() const;
  const Options& options() const;

 private:
  struct Impl;
  explicit Chat(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace libchat
