// Store: durable state of libchat, behind an interface a host can implement.
//
// The Store is deliberately "dumb": it persists and queries records and keeps
// the few invariants that must hold inside one transaction (unique emails and
// keys, gapless per-conversation seq, client_msg_id idempotency, receipts that
// only move forward). Authorization and validation live in the core above it;
// a Store may trust its inputs to be well-formed.
//
// Thread-safety: every method may be called concurrently from many threads.
// A write that returned OK is durable (survives a process crash).
//
// Errors: kNotFound for missing rows, kAlreadyExists for unique violations,
// kUnavailable when the backing store cannot be reached or written,
// kInternal for anything else. Messages never contain SQL.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libchat/delivery.h"
#include "libchat/export.h"
#include "libchat/knowledge.h"
#include "libchat/status.h"
#include "libchat/types.h"

namespace libchat {

struct StoredAccount {
  Account account;
  std::string password_hash;  // PHC string ("$argon2id$v=19$…")
};

struct StoredApp {
  App app;
  std::string secret_key_hash;  // hex SHA-256 of the "sk_…" key; the key itself is never stored
  std::string identity_secret;  // HMAC key for customer user_hash verification
};

struct ConversationQuery {
  AppId app_id;
  std::optional<ConversationStatus> status;
  std::optional<std::string> assignee_id;  // "" selects unassigned conversations
  std::optional<ConversationType> type;
  // Only conversations this principal id is a member of (a customer is a
  // member of its support conversations).
  std::optional<std::string> member_id;
  std::string viewer_id;   // read_seq / unread_count are computed for this principal id
  std::string cursor;      // opaque, from a previous Page::next_cursor
  int limit = 50;          // 1..200, validated by the core
};

struct MessageQuery {
  ConversationId conversation_id;
  // At most one of after_seq / before_seq. after_seq: ascending from after_seq+1.
  // before_seq: the `limit` messages just below before_seq, returned ascending.
  // Neither: the first `limit` messages ascending.
  std::optional<std::int64_t> after_seq;
  std::optional<std::int64_t> before_seq;
  int limit = 50;
};


struct AppendResult {
  Message message;            // as stored (the original one when deduplicated)
  Conversation conversation;  // after the append: last_seq, last_message, status, times
  bool created = false;       // false: (conversation, sender, client_msg_id) already existed
};

struct AppendRequest {
  // Fully formed by the core except `seq`, which the store assigns.
  Message message;
  // When true and the conversation is resolved or snoozed, it becomes open again
  // (and snoozed_until is cleared) in the same transaction.
  bool reopen = false;
  // Optional. Called inside the write transaction once the message is appended
  // (not when deduplicated), with the message and conversation as they will be
  // committed; the deliveries it returns are enqueued in the same transaction,
  // so an external delivery exists exactly when its message does. Must not
  // block and must not call back into the Store.
  std::function<std::vector<Delivery>(const AppendResult&)> outbox;
};

// An edit or a delete of a stored message. The message row is changed to its
// new current state and the change is appended to the message's revision log
// (the previous text, who changed it, when), so history is never silently
// rewritten.
struct MessageRevision {
  ConversationId conversation_id;
  MessageId message_id;
  std::string editor_id;  // principal id of who made the change
  bool deleted = false;   // true: text becomes "" and metadata "{}"
  std::optional<std::string> text;           // edits: the new text, or unchanged when absent
  std::optional<std::string> metadata_json;  // edits: the new metadata, or unchanged when absent
  Timestamp at;
  // Enqueued in the same transaction as the change (message.updated webhooks).
  std::vector<Delivery> outbox;
};

// Called once for each newly appended message after its transaction committed,
// before AppendMessage returns, in commit order across all callers. Must not
// block and must not call back into the Store.
using CommitHook = std::function<void(const AppendResult&)>;

// What a Store reports for monitoring (the reference server exports it at
// GET /metrics). Totals since the store was opened, except write_queue.
struct StoreMetrics {
  // Buckets of write operations per committed transaction: a commit of n writes
  // counts in the first bucket whose bound is >= n; the last bucket (+Inf)
  // takes the rest.
  static constexpr std::size_t kBatchBuckets = 11;
  static constexpr std::array<std::uint64_t, kBatchBuckets - 1> kBatchBucketBounds = {1,  2,   5,   10,  20,
                                                                                       50, 100, 200, 500, 1000};

  bool available = false;            // false: the store reports nothing (every field is zero)
  std::uint64_t commits = 0;         // write transactions committed
  std::uint64_t writes = 0;          // write operations in them (the sum of the batch sizes)
  std::uint64_t failed_commits = 0;  // transactions that could not begin or commit
  std::uint64_t write_queue = 0;     // write operations waiting right now
  // Commits per bucket of kBatchBucketBounds (+Inf last), NOT cumulative.
  std::array<std::uint64_t, kBatchBuckets> commit_batch_sizes{};
};

// A webhook endpoint with its signing secrets, sealed (AES-256-GCM) by the core:
// the store never sees a secret in clear.
struct StoredWebhook {
  WebhookEndpoint endpoint;
  std::string secret_sealed;
  std::string previous_secret_sealed;  // during a rotation, until endpoint.previous_secret_expires_at
};

struct DeliveryQuery {
  AppId app_id;
  std::optional<WebhookId> webhook_id;
  std::optional<NotificationId> notification_id;
  std::optional<DeliveryStatus> status;
  std::optional<DeliveryChannel> channel;
  std::string cursor;  // opaque, from a previous Page::next_cursor
  int limit = 50;      // 1..200, validated by the core
};

// The outcome of an attempt or of a policy decision, applied to one delivery.
struct DeliveryUpdate {
  DeliveryId id;
  // kFailedPrecondition (and nothing changes) unless the stored status is this.
  DeliveryStatus expected_status = DeliveryStatus::kPending;
  DeliveryStatus status = DeliveryStatus::kPending;
  Timestamp next_attempt_at;  // the due time when status stays kPending
  std::string last_error;
  // When set, appended to the delivery's attempts and attempt_count becomes attempt->number.
  std::optional<DeliveryAttempt> attempt;
  Timestamp updated_at;
  // Enqueued in the same transaction (e.g. notification.failed webhooks).
  std::vector<Delivery> enqueue;
};

struct OperatorQuery {
  AccountId account_id;
  std::optional<AppId> app_id;           // only operators assigned to this app
  std::optional<OperatorStatus> status;  // absent: active and inactive (not deleted)
  std::string cursor;                    // opaque, from a previous Page::next_cursor
  int limit = 50;                        // 1..200, validated by the core
};

// A full-text query over one app's knowledge base. The core has already split
// the question into lower-case words and dropped stop words.
struct KnowledgeQuery {
  AppId app_id;
  std::vector<std::string> terms;  // non-empty; an entry matching any of them is a hit
  int limit = 10;                  // 1..50
};

// What a Store returns for a knowledge search; the core derives the 0..1 score.
struct KnowledgeMatch {
  KnowledgeEntry entry;
  double rank = 0;  // BM25 relevance, positive, higher is better; matches are returned best first
  // An excerpt of about 24 words around the first match, as plain text, each
  // matched word wrapped in the control characters \x02 (start) and \x03 (end).
  std::string snippet;
};

class LIBCHAT_API Store {
 public:
  virtual ~Store() = default;

  // --- settings: small process-wide values (e.g. the generated JWT secret)
  virtual Result<std::optional<std::string>> GetSetting(std::string_view key) = 0;
  // Stores `value` unless the key exists; returns the value now stored.
  virtual Result<std::string> PutSettingIfAbsent(std::string_view key, std::string_view value) = 0;

  // --- accounts (email is unique, compared as given: the core lower-cases it)
  virtual Status CreateAccount(const StoredAccount& account) = 0;
  virtual Result<StoredAccount> GetAccount(const AccountId& id) = 0;
  virtual Result<StoredAccount> FindAccountByEmail(std::string_view email) = 0;
  // Replaces name, email, password_hash and updated_at.
  virtual Status UpdateAccount(const StoredAccount& account) = 0;

  // --- token revocation (logout). Entries may be purged after expires_at.
  virtual Status RevokeToken(std::string_view token_id, Timestamp expires_at) = 0;
  virtual Result<bool> IsTokenRevoked(std::string_view token_id) = 0;

  // --- apps (publishable_key and secret_key_hash are unique)
  virtual Status CreateApp(const StoredApp& app) = 0;
  virtual Result<StoredApp> GetApp(const AppId& id) = 0;
  // Ordered by creation, oldest first.
  virtual Result<Page<App>> ListApps(const AccountId& owner, std::string_view cursor, int limit) = 0;
  // Replaces every field but id, account_id and created_at.
  virtual Status UpdateApp(const StoredApp& app) = 0;
  // Deletes the app and everything under it (customers, conversations, messages, receipts,
  // knowledge entries, settings) and removes it from its operators' app_ids.
  virtual Status DeleteApp(const AppId& id) = 0;
  virtual Result<StoredApp> FindAppByPublishableKey(std::string_view publishable_key) = 0;
  virtual Result<StoredApp> FindAppBySecretKeyHash(std::string_view secret_key_hash) = 0;

  // --- customers ((app_id, external_id) is unique when external_id is non-empty)
  virtual Status CreateCustomer(const Customer& customer) = 0;
  virtual Result<Customer> GetCustomer(const CustomerId& id) = 0;
  virtual Result<Customer> FindCustomerByExternalId(const AppId& app, std::string_view external_id) = 0;
  // Replaces name, email, metadata_json and updated_at.
  virtual Status UpdateCustomer(const Customer& customer) = 0;

  // --- conversations
  // Stores the conversation and its `members`. For a dm (exactly two members)
  // kAlreadyExists when the app already has a dm between the same two member
  // ids, in either order; concurrent creations of one pair yield one dm.
  virtual Status CreateConversation(const Conversation& conversation) = 0;
  // The dm of the app between these two member ids (in either order); kNotFound.
  virtual Result<Conversation> FindDirectConversation(const AppId& app, std::string_view member_a,
                                                      std::string_view member_b) = 0;
  // Fills last_message, and read_seq / unread_count for viewer_id (may be empty).
  virtual Result<Conversation> GetConversation(const ConversationId& id, std::string_view viewer_id) = 0;
  // Replaces status, assignee_id, snoozed_until, name, metadata_json and updated_at.
  virtual Status UpdateConversation(const Conversation& conversation) = 0;
  // Up to `limit` snoozed conversations whose snoozed_until is at or before `now`, earliest first.
  virtual Result<std::vector<Conversation>> ListDueSnoozed(Timestamp now, int limit) = 0;
  // Newest activity first (last_activity_at desc, id desc), each with last_message,
  // read_seq and unread_count for query.viewer_id.
  virtual Result<Page<Conversation>> ListConversations(const ConversationQuery& query) = 0;

  // --- members (the conversation's explicit members, oldest first)
  // Adds the member, or changes the role of an existing one; returns true when
  // added. kNotFound when the conversation does not exist.
  virtual Result<bool> PutMember(const ConversationId& conversation, const Member& member) = 0;
  // kNotFound when the id is not a member.
  virtual Status RemoveMember(const ConversationId& conversation, std::string_view member_id) = 0;
  virtual Result<Member> GetMember(const ConversationId& conversation, std::string_view member_id) = 0;
  virtual Result<std::vector<Member>> ListMembers(const ConversationId& conversation) = 0;
  // Ids of up to `limit` conversations `member_id` is a member of.
  virtual Result<std::vector<ConversationId>> ListMemberships(std::string_view member_id, int limit) = 0;

  // --- messages
  // Assigns seq = last_seq + 1 inside the write transaction, updates the
  // conversation (last_seq, last_message, last_activity_at, updated_at, reopen).
  // A message whose (conversation, sender id, client_msg_id) exists is not
  // appended: the stored one is returned with created = false and the hook is
  // not called. kNotFound when the conversation does not exist.
  virtual Result<AppendResult> AppendMessage(const AppendRequest& request, const CommitHook& on_commit) = 0;
  virtual Result<std::vector<Message>> ListMessages(const MessageQuery& query) = 0;
  // kNotFound unless the message belongs to the conversation.
  virtual Result<Message> GetMessage(const ConversationId& conversation, const MessageId& id) = 0;
  // Applies an edit or a delete (see MessageRevision); returns the message as
  // it now is. kNotFound unless the message belongs to the conversation.
  virtual Result<Message> ReviseMessage(const MessageRevision& revision) = 0;

  // --- receipts: stored values become max(stored, given) field by field.
  virtual Result<Receipt> AdvanceReceipt(const ConversationId& conversation, std::string_view member_id,
                                         std::int64_t delivered_seq, std::int64_t read_seq,
                                         Timestamp now) = 0;
  // A zero receipt when the member has none yet.
  virtual Result<Receipt> GetReceipt(const ConversationId& conversation, std::string_view member_id) = 0;

  // --- outbox in the same transaction as the change that caused it
  // CreateConversation / UpdateConversation, plus `outbox` enqueued atomically with it.
  virtual Status CreateConversationAndEnqueue(const Conversation& conversation,
                                              const std::vector<Delivery>& outbox) = 0;
  virtual Status UpdateConversationAndEnqueue(const Conversation& conversation,
                                              const std::vector<Delivery>& outbox) = 0;

  // --- webhook endpoints
  virtual Status CreateWebhook(const StoredWebhook& webhook) = 0;
  virtual Result<StoredWebhook> GetWebhook(const WebhookId& id) = 0;
  // The app's endpoints, oldest first.
  virtual Result<std::vector<StoredWebhook>> ListWebhooks(const AppId& app) = 0;
  // Replaces url, events, enabled, disabled_reason, both secrets,
  // previous_secret_expires_at and updated_at.
  virtual Status UpdateWebhook(const StoredWebhook& webhook) = 0;
  // Deletes the endpoint and cancels its pending deliveries; past deliveries stay listed.
  virtual Status DeleteWebhook(const WebhookId& id) = 0;

  // --- per-app settings: small documents under a key ("delivery_policy", "email_provider")
  virtual Result<std::optional<std::string>> GetAppSetting(const AppId& app, std::string_view key) = 0;
  // Creates or replaces; an empty value deletes the key.
  virtual Status PutAppSetting(const AppId& app, std::string_view key, std::string_view value) = 0;

  // --- outbox: deliveries and their attempts
  // All in one transaction (ids are unique: kAlreadyExists).
  virtual Status EnqueueDeliveries(const std::vector<Delivery>& deliveries) = 0;
  // Atomically takes up to `limit` pending deliveries with next_attempt_at <= now,
  // highest priority first, then earliest due, and moves their next_attempt_at to
  // `lease_until`, so concurrent claimers never get the same one and a claimer
  // that dies lets them come back at lease_until. Attempts are not filled.
  virtual Result<std::vector<Delivery>> ClaimDueDeliveries(Timestamp now, Timestamp lease_until, int limit) = 0;
  // kNotFound; kFailedPrecondition when the stored status is not update.expected_status.
  virtual Status UpdateDelivery(const DeliveryUpdate& update) = 0;
  // With its attempts.
  virtual Result<Delivery> GetDelivery(const DeliveryId& id) = 0;
  // Newest first (created_at desc, id desc), each with its attempts.
  virtual Result<Page<Delivery>> ListDeliveries(const DeliveryQuery& query) = 0;
  // Makes the pending deliveries of `recipient_id` on `channel` due at `now`
  // (a recipient came online); returns how many.
  virtual Result<int> WakeDeliveries(std::string_view recipient_id, DeliveryChannel channel, Timestamp now) = 0;
  // The earliest next_attempt_at of any pending delivery (nullopt: none), so a worker can sleep until then.
  virtual Result<std::optional<Timestamp>> NextDeliveryDue() = 0;

  // --- notifications
  // The notification and its deliveries, in one transaction.
  virtual Status CreateNotification(const Notification& notification, const std::vector<Delivery>& deliveries) = 0;
  // With its deliveries (oldest first) and their attempts.
  virtual Result<Notification> GetNotification(const NotificationId& id) = 0;
  // Compare-and-set of the status (kFailedPrecondition when it is not `expected`),
  // with `enqueue` in the same transaction.
  virtual Status UpdateNotificationStatus(const NotificationId& id, NotificationStatus expected,
                                          NotificationStatus status, Timestamp at,
                                          const std::vector<Delivery>& enqueue) = 0;
  // A pending notification becomes cancelled and its pending deliveries too;
  // kFailedPrecondition unless it was pending.
  virtual Status CancelNotification(const NotificationId& id, Timestamp at) = 0;
  // A failed notification becomes pending again and its failed deliveries are
  // due at `at` (their attempts are kept); kFailedPrecondition unless it was failed.
  virtual Status RetryNotification(const NotificationId& id, Timestamp at) = 0;

  // --- operators
  // All of them in one transaction (ids are unique: kAlreadyExists, and none is stored).
  virtual Status CreateOperators(const std::vector<Operator>& operators) = 0;
  virtual Result<Operator> GetOperator(const OperatorId& id) = 0;
  // Oldest first, each with its app_ids.
  virtual Result<Page<Operator>> ListOperators(const OperatorQuery& query) = 0;
  // Replaces name, email, status, app_ids and updated_at.
  virtual Status UpdateOperator(const Operator& op) = 0;
  // The active operators assigned to the app, oldest first.
  virtual Result<std::vector<Operator>> ListActiveAppOperators(const AppId& app) = 0;

  // --- knowledge base (entries are deleted with their app)
  virtual Status CreateKnowledgeEntry(const KnowledgeEntry& entry) = 0;
  virtual Result<KnowledgeEntry> GetKnowledgeEntry(const KnowledgeId& id) = 0;
  // Newest first (created_at desc, id desc).
  virtual Result<Page<KnowledgeEntry>> ListKnowledgeEntries(const AppId& app, std::string_view cursor,
                                                            int limit) = 0;
  // Replaces type, question, answer, content and updated_at (and re-indexes the entry).
  virtual Status UpdateKnowledgeEntry(const KnowledgeEntry& entry) = 0;
  virtual Status DeleteKnowledgeEntry(const KnowledgeId& id) = 0;
  // Ranked full-text search over question, answer and content of the app's entries.
  // Words match whole or by stem ("refunds" finds "refund"), case- and accent-insensitively.
  virtual Result<std::vector<KnowledgeMatch>> SearchKnowledge(const KnowledgeQuery& query) = 0;

  // --- health: OK when a write transaction can commit right now.
  virtual Status CheckWritable() = 0;
  // Cheap (no I/O), callable at any time. Default: nothing to report.
  virtual StoreMetrics Metrics() const { return {}; }
};

// The embedded default: SQLite in WAL mode with one writer thread that groups
// concurrent writes into shared transactions, and a pool of read connections.
struct SqliteStoreOptions {
  // Database file; created with its schema when absent. Default: "libchat.db".
  std::string path = "libchat.db";
  // Read connections in the pool. Default: 4.
  int read_connections = 4;
  // Most writes committed in one transaction (group commit). Default: 1000.
  int max_batch_size = 1000;
  // PRAGMA synchronous=FULL when true (every commit survives power loss),
  // NORMAL otherwise (survives a process crash, not power loss). Default: true.
  bool synchronous_full = true;
  // How long a writer waits on a lock held by another process. Default: 5000 ms.
  int busy_timeout_ms = 5000;
};
LIBCHAT_API Result<std::shared_ptr<Store>> OpenSqliteStore(const SqliteStoreOptions& options);

}  // namespace libchat
