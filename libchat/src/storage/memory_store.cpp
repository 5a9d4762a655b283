// The in-memory Store: a supported test double with the SQLite store's contract, minus durability.
//
// One mutex guards all state and every method holds it for its whole duration, so each call is
// one serializable "transaction". AppendMessage calls the commit hook while still holding the
// lock: that makes hook order equal to commit order across all callers without a ticket scheme
// (the price is that a hook calling back into the store deadlocks, which the contract forbids).
//
// Lookups go through indexes, not scans over all data: records live in hash maps by id, unique
// keys have their own maps, each app keeps its conversations in a (last_activity_at desc, id desc)
// set (a filtered listing walks it past non-matching rows), each conversation keeps its messages
// in a vector indexed by seq - 1, and unread counts come from per-sender seq lists by binary search.
// The outbox keeps its pending deliveries in claiming order (priority desc, due time, id), each app
// its deliveries newest first, and deliveries are indexed by endpoint, notification and recipient.
// Operators are indexed by account (oldest first) and by app; each app keeps its knowledge entries
// newest first with an inverted index of their terms, searched with BM25 (memory_search.h).
//
// A write that also enqueues deliveries checks them before it changes anything, so it applies
// completely or not at all, like the SQLite store's transactions.
#include "libchat/testing/memory_store.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "storage/memory_search.h"
#include "util/status_macros.h"

namespace libchat::testing {
namespace {

using Lock = std::lock_guard<std::mutex>;

std::int64_t Millis(Timestamp t) { return t.time_since_epoch().count(); }

bool ParseInt64(std::string_view text, std::int64_t* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// Splits "<prefix><a>.<b>" into a and b; false when the shape does not match.
bool SplitCursor(std::string_view cursor, std::string_view prefix, std::string_view* a, std::string_view* b) {
  if (cursor.substr(0, prefix.size()) != prefix) return false;
  cursor.remove_prefix(prefix.size());
  std::size_t dot = cursor.find('.');
  if (dot == std::string_view::npos) return false;
  *a = cursor.substr(0, dot);
  *b = cursor.substr(dot + 1);
  return !a->empty() && !b->empty();
}

Status InvalidCursor() { return InvalidArgumentError("invalid cursor"); }

// Position of a conversation in an app's activity index.
struct ActivityKey {
  std::int64_t last_activity_ms = 0;
  ConversationId id;
};

// Newest activity first, then id descending: the ListConversations order.
struct NewestFirst {
  bool operator()(const ActivityKey& a, const ActivityKey& b) const {
    if (a.last_activity_ms != b.last_activity_ms) return a.last_activity_ms > b.last_activity_ms;
    return b.id < a.id;
  }
};

// Opaque to callers; "c1.<last_activity_ms>.<conversation id>" inside.
std::string EncodeConversationCursor(const ActivityKey& key) {
  return "c1." + std::to_string(key.last_activity_ms) + "." + key.id.str();
}

bool DecodeConversationCursor(std::string_view cursor, ActivityKey* key) {
  std::string_view ms, id;
  if (!SplitCursor(cursor, "c1.", &ms, &id) || !ParseInt64(ms, &key->last_activity_ms)) return false;
  key->id = ConversationId(std::string(id));
  return true;
}

// Apps of one owner in creation order: created_at, then insertion order for equal times.
using AppOrderKey = std::pair<std::int64_t, std::int64_t>;

// Opaque to callers; "a1.<created_at_ms>.<insertion number>" inside.
std::string EncodeAppCursor(const AppOrderKey& key) {
  return "a1." + std::to_string(key.first) + "." + std::to_string(key.second);
}

bool DecodeAppCursor(std::string_view cursor, AppOrderKey* key) {
  std::string_view ms, n;
  return SplitCursor(cursor, "a1.", &ms, &n) && ParseInt64(ms, &key->first) && ParseInt64(n, &key->second);
}

// How many values in an ascending vector are greater than `seq`.
std::int64_t CountAbove(const std::vector<std::int64_t>& ascending, std::int64_t seq) {
  auto first_above = std::upper_bound(ascending.begin(), ascending.end(), seq);
  return static_cast<std::int64_t>(ascending.end() - first_above);
}

// Position of a delivery in its app's listing: newest first (created_at desc, id desc).
struct DeliveryKey {
  std::int64_t created_ms = 0;
  DeliveryId id;
};

struct NewestDeliveryFirst {
  bool operator()(const DeliveryKey& a, const DeliveryKey& b) const {
    if (a.created_ms != b.created_ms) return a.created_ms > b.created_ms;
    return b.id < a.id;
  }
};

// Opaque to callers; "d1.<created_at_ms>.<delivery id>" inside.
std::string EncodeDeliveryCursor(const DeliveryKey& key) {
  return "d1." + std::to_string(key.created_ms) + "." + key.id.str();
}

bool DecodeDeliveryCursor(std::string_view cursor, DeliveryKey* key) {
  std::string_view ms, id;
  if (!SplitCursor(cursor, "d1.", &ms, &id) || !ParseInt64(ms, &key->created_ms)) return false;
  key->id = DeliveryId(std::string(id));
  return true;
}

// A pending delivery's place in claiming order: -priority (highest first), due time, id.
using DueKey = std::tuple<int, std::int64_t, std::string>;

DueKey DueKeyOf(const Delivery& d) {
  return {-static_cast<int>(d.priority), Millis(d.next_attempt_at), d.id.str()};
}

struct DeliveryRow {
  Delivery delivery;  // with its attempts, ordered by number
  std::int64_t insertion = 0;  // breaks created_at ties for "oldest first"
  // Set by a claim, cleared by the next update: a delivery in flight is not woken.
  std::optional<Timestamp> leased_until;
};

struct WebhookRow {
  StoredWebhook stored;
  AppOrderKey order;  // created_at, then insertion order
};

// Position of an operator in its account's listing: oldest first (created_at, then id).
using OperatorKey = std::pair<std::int64_t, std::string>;

OperatorKey OperatorKeyOf(const Operator& op) { return {Millis(op.created_at), op.id.str()}; }

// Opaque to callers; "o1.<created_at_ms>.<operator id>" inside.
std::string EncodeOperatorCursor(const OperatorKey& key) {
  return "o1." + std::to_string(key.first) + "." + key.second;
}

bool DecodeOperatorCursor(std::string_view cursor, OperatorKey* key) {
  std::string_view ms, id;
  if (!SplitCursor(cursor, "o1.", &ms, &id) || !ParseInt64(ms, &key->first)) return false;
  key->second = std::string(id);
  return true;
}

// Sorted and without duplicates, as the Store returns them.
std::vector<AppId> NormalizedAppIds(std::vector<AppId> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// Position of a knowledge entry in its app's listing: newest first (created_at desc, id desc).
struct KnowledgeKey {
  std::int64_t created_ms = 0;
  KnowledgeId id;
};

struct NewestKnowledgeFirst {
  bool operator()(const KnowledgeKey& a, const KnowledgeKey& b) const {
    if (a.created_ms != b.created_ms) return a.created_ms > b.created_ms;
    return b.id < a.id;
  }
};

// Opaque to callers; "k1.<created_at_ms>.<entry id>" inside.
std::string EncodeKnowledgeCursor(const KnowledgeKey& key) {
  return "k1." + std::to_string(key.created_ms) + "." + key.id.str();
}

bool DecodeKnowledgeCursor(std::string_view cursor, KnowledgeKey* key) {
  std::string_view ms, id;
  if (!SplitCursor(cursor, "k1.", &ms, &id) || !ParseInt64(ms, &key->created_ms)) return false;
  key->id = KnowledgeId(std::string(id));
  return true;
}

// Words of a snippet, as the SQLite store's snippet() gives.
constexpr int kSnippetTokens = 24;

// A knowledge entry with its words: the tokens of question, answer and content (in that
// order), each term's frequency weighted by its field (see memory_search.h), and the count
// of all its tokens (the BM25 document length).
struct KnowledgeRow {
  KnowledgeEntry entry;
  std::array<std::vector<internal::memory_search::Token>, 3> fields;
  std::unordered_map<std::string, double> weighted_tf;
  std::int64_t token_count = 0;
};

// An app's knowledge base: its entries in listing order and an inverted index over their terms.
struct KnowledgeIndex {
  std::set<KnowledgeKey, NewestKnowledgeFirst> entries;
  std::unordered_map<std::string, std::unordered_set<KnowledgeId>> postings;  // term -> entries with it
  std::int64_t total_tokens = 0;
};

struct AppRow {
  StoredApp stored;
  AppOrderKey order;
  std::unordered_set<CustomerId> customers;
  std::set<ActivityKey, NewestFirst> conversations;
  std::map<AppOrderKey, WebhookId> webhooks;
  std::set<DeliveryKey, NewestDeliveryFirst> deliveries;
  std::unordered_set<NotificationId> notifications;
  std::map<std::string, std::string, std::less<>> settings;
  std::set<OperatorId> operators;  // assigned to this app (any status)
  KnowledgeIndex knowledge;
};

struct ConversationRow {
  // As stored: last_message unset and read_seq / unread_count zero; those are computed on read.
  Conversation conversation;
  std::vector<Message> messages;  // messages[seq - 1]
  // (sender id, client_msg_id) -> seq, for non-empty client_msg_id only.
  std::map<std::pair<std::string, std::string>, std::int64_t> by_client_msg_id;
  // Seqs of non-deleted messages by sender id, and seqs of deleted messages; both ascending
  // because seqs are appended in order. Together they give unread counts in O(log n).
  std::unordered_map<std::string, std::vector<std::int64_t>> live_seqs_by_sender;
  std::vector<std::int64_t> deleted_seqs;
  std::unordered_map<std::string, Receipt> receipts;  // by member id
  std::vector<Member> members;                         // in joining order
  std::vector<MessageRevision> revisions;              // the edit/delete log, oldest first
};

// A dm's key in its app: the two member ids, smaller first.
std::tuple<AppId, std::string, std::string> DirectKey(const AppId& app, std::string_view a, std::string_view b) {
  if (b < a) std::swap(a, b);
  return {app, std::string(a), std::string(b)};
}

class MemoryStore final : public Store {
 public:
  // --- settings

  Result<std::optional<std::string>> GetSetting(std::string_view key) override {
    Lock lock(mu_);
    auto it = settings_.find(key);
    if (it == settings_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  Result<std::string> PutSettingIfAbsent(std::string_view key, std::string_view value) override {
    Lock lock(mu_);
    auto it = settings_.find(key);
    if (it == settings_.end()) it = settings_.emplace(std::string(key), std::string(value)).first;
    return it->second;
  }

  // --- accounts

  Status CreateAccount(const StoredAccount& account) override {
    Lock lock(mu_);
    if (accounts_.count(account.account.id)) return AlreadyExistsError("account already exists");
    if (account_by_email_.count(account.account.email)) return AlreadyExistsError("email already exists");
    accounts_.emplace(account.account.id, account);
    account_by_email_.emplace(account.account.email, account.account.id);
    return Status::Ok();
  }

  Result<StoredAccount> GetAccount(const AccountId& id) override {
    Lock lock(mu_);
    auto it = accounts_.find(id);
    if (it == accounts_.end()) return NotFoundError("account not found");
    return it->second;
  }

  Result<StoredAccount> FindAccountByEmail(std::string_view email) override {
    Lock lock(mu_);
    auto by_email = account_by_email_.find(std::string(email));
    if (by_email == account_by_email_.end()) return NotFoundError("account not found");
    return accounts_.at(by_email->second);
  }

  Status UpdateAccount(const StoredAccount& account) override {
    Lock lock(mu_);
    auto it = accounts_.find(account.account.id);
    if (it == accounts_.end()) return NotFoundError("account not found");
    StoredAccount& row = it->second;
    if (account.account.email != row.account.email) {
      if (account_by_email_.count(account.account.email)) return AlreadyExistsError("email already exists");
      account_by_email_.erase(row.account.email);
      account_by_email_.emplace(account.account.email, row.account.id);
    }
    row.account.name = account.account.name;
    row.account.email = account.account.email;
    row.password_hash = account.password_hash;
    row.account.updated_at = account.account.updated_at;
    return Status::Ok();
  }

  // --- token revocation. Never purged: a test double does not outlive its tokens by much,
  // and purging would need a clock the Store interface does not have.

  Status RevokeToken(std::string_view token_id, Timestamp expires_at) override {
    Lock lock(mu_);
    auto [it, inserted] = revoked_tokens_.emplace(std::string(token_id), expires_at);
    if (!inserted) it->second = std::max(it->second, expires_at);
    return Status::Ok();
  }

  Result<bool> IsTokenRevoked(std::string_view token_id) override {
    Lock lock(mu_);
    return revoked_tokens_.count(std::string(token_id)) > 0;
  }

  // --- apps

  Status CreateApp(const StoredApp& app) override {
    Lock lock(mu_);
    if (apps_.count(app.app.id)) return AlreadyExistsError("app already exists");
    if (app_by_publishable_key_.count(app.app.publishable_key)) {
      return AlreadyExistsError("publishable key already exists");
    }
    if (app_by_secret_key_hash_.count(app.secret_key_hash)) {
      return AlreadyExistsError("secret key already exists");
    }
    AppRow row;
    row.stored = app;
    row.order = {Millis(app.app.created_at), ++app_insertions_};
    apps_by_owner_[app.app.account_id].emplace(row.order, app.app.id);
    app_by_publishable_key_.emplace(app.app.publishable_key, app.app.id);
    app_by_secret_key_hash_.emplace(app.secret_key_hash, app.app.id);
    apps_.emplace(app.app.id, std::move(row));
    return Status::Ok();
  }

  Result<StoredApp> GetApp(const AppId& id) override {
    Lock lock(mu_);
    auto it = apps_.find(id);
    if (it == apps_.end()) return NotFoundError("app not found");
    return it->second.stored;
  }

  Result<Page<App>> ListApps(const AccountId& owner, std::string_view cursor, int limit) override {
    AppOrderKey after{};
    if (!cursor.empty() && !DecodeAppCursor(cursor, &after)) return InvalidCursor();
    const std::size_t max_items = static_cast<std::size_t>(std::max(limit, 1));
    Lock lock(mu_);
    Page<App> page;
    auto owned = apps_by_owner_.find(owner);
    if (owned == apps_by_owner_.end()) return page;
    auto it = cursor.empty() ? owned->second.begin() : owned->second.upper_bound(after);
    for (; it != owned->second.end(); ++it) {
      if (page.data.size() == max_items) {
        page.next_cursor = EncodeAppCursor(std::prev(it)->first);
        break;
      }
      page.data.push_back(apps_.at(it->second).stored.app);
    }
    return page;
  }

  Status UpdateApp(const StoredApp& app) override {
    Lock lock(mu_);
    auto it = apps_.find(app.app.id);
    if (it == apps_.end()) return NotFoundError("app not found");
    StoredApp& row = it->second.stored;
    const bool new_pk = app.app.publishable_key != row.app.publishable_key;
    const bool new_skh = app.secret_key_hash != row.secret_key_hash;
    if (new_pk && app_by_publishable_key_.count(app.app.publishable_key)) {
      return AlreadyExistsError("publishable key already exists");
    }
    if (new_skh && app_by_secret_key_hash_.count(app.secret_key_hash)) {
      return AlreadyExistsError("secret key already exists");
    }
    if (new_pk) {
      app_by_publishable_key_.erase(row.app.publishable_key);
      app_by_publishable_key_.emplace(app.app.publishable_key, row.app.id);
    }
    if (new_skh) {
      app_by_secret_key_hash_.erase(row.secret_key_hash);
      app_by_secret_key_hash_.emplace(app.secret_key_hash, row.app.id);
    }
    const AccountId account_id = row.app.account_id;
    const Timestamp created_at = row.app.created_at;
    row = app;
    row.app.account_id = account_id;
    row.app.created_at = created_at;
    return Status::Ok();
  }

  Status DeleteApp(const AppId& id) override {
    Lock lock(mu_);
    auto it = apps_.find(id);
    if (it == apps_.end()) return NotFoundError("app not found");
    AppRow& row = it->second;
    for (const CustomerId& customer_id : row.customers) {
      auto customer = customers_.find(customer_id);
      if (!customer->second.external_id.empty()) {
        customer_by_external_id_.erase({id, customer->second.external_id});
      }
      customers_.erase(customer);
    }
    // Messages and receipts live inside their conversation rows.
    for (const ActivityKey& key : row.conversations) {
      auto conversation = conversations_.find(key.id);
      for (const Message& message : conversation->second.messages) message_ids_.erase(message.id);
      for (const Member& member : conversation->second.members) EraseMembership(member.id, key.id);
      conversations_.erase(conversation);
    }
    for (auto dm = dms_.lower_bound({id, "", ""}); dm != dms_.end() && std::get<0>(dm->first) == id;) {
      dm = dms_.erase(dm);
    }
    for (const auto& [order, webhook_id] : row.webhooks) webhooks_.erase(webhook_id);
    for (const OperatorId& operator_id : row.operators) {
      auto& app_ids = operators_.at(operator_id).app_ids;
      app_ids.erase(std::remove(app_ids.begin(), app_ids.end(), id), app_ids.end());
    }
    for (const KnowledgeKey& key : row.knowledge.entries) knowledge_.erase(key.id);
    for (const NotificationId& notification_id : row.notifications) notifications_.erase(notification_id);
    EraseDeliveries(row.deliveries);
    app_by_publishable_key_.erase(row.stored.app.publishable_key);
    app_by_secret_key_hash_.erase(row.stored.secret_key_hash);
    auto owned = apps_by_owner_.find(row.stored.app.account_id);
    owned->second.erase(row.order);
    if (owned->second.empty()) apps_by_owner_.erase(owned);
    apps_.erase(it);
    return Status::Ok();
  }

  Result<StoredApp> FindAppByPublishableKey(std::string_view publishable_key) override {
    Lock lock(mu_);
    auto it = app_by_publishable_key_.find(std::string(publishable_key));
    if (it == app_by_publishable_key_.end()) return NotFoundError("app not found");
    return apps_.at(it->second).stored;
  }

  Result<StoredApp> FindAppBySecretKeyHash(std::string_view secret_key_hash) override {
    Lock lock(mu_);
    auto it = app_by_secret_key_hash_.find(std::string(secret_key_hash));
    if (it == app_by_secret_key_hash_.end()) return NotFoundError("app not found");
    return apps_.at(it->second).stored;
  }

  // --- customers

  Status CreateCustomer(const Customer& customer) override {
    Lock lock(mu_);
    auto app = apps_.find(customer.app_id);
    // A durable store enforces this with a foreign key; without it DeleteApp could not cascade.
    if (app == apps_.end()) return NotFoundError("app not found");
    if (customers_.count(customer.id)) return AlreadyExistsError("customer already exists");
    if (!customer.external_id.empty()) {
      auto [pos, inserted] = customer_by_external_id_.emplace(
          std::make_pair(customer.app_id, customer.external_id), customer.id);
      if (!inserted) return AlreadyExistsError("external id already exists");
    }
    customers_.emplace(customer.id, customer);
    app->second.customers.insert(customer.id);
    return Status::Ok();
  }

  Result<Customer> GetCustomer(const CustomerId& id) override {
    Lock lock(mu_);
    auto it = customers_.find(id);
    if (it == customers_.end()) return NotFoundError("customer not found");
    return it->second;
  }

  Result<Customer> FindCustomerByExternalId(const AppId& app, std::string_view external_id) override {
    Lock lock(mu_);
    auto it = customer_by_external_id_.find({app, std::string(external_id)});
    if (it == customer_by_external_id_.end()) return NotFoundError("customer not found");
    return customers_.at(it->second);
  }

  Status UpdateCustomer(const Customer& customer) override {
    Lock lock(mu_);
    auto it = customers_.find(customer.id);
    if (it == customers_.end()) return NotFoundError("customer not found");
    Customer& row = it->second;
    row.name = customer.name;
    row.email = customer.email;
    row.metadata_json = customer.metadata_json;
    row.updated_at = customer.updated_at;
    return Status::Ok();
  }

  // --- conversations

  Status CreateConversation(const Conversation& conversation) override {
    return CreateConversationAndEnqueue(conversation, {});
  }

  Status CreateConversationAndEnqueue(const Conversation& conversation,
                                      const std::vector<Delivery>& outbox) override {
    Lock lock(mu_);
    auto app = apps_.find(conversation.app_id);
    if (app == apps_.end()) return NotFoundError("app not found");
    if (conversations_.count(conversation.id)) return AlreadyExistsError("conversation already exists");
    const bool direct = conversation.type == ConversationType::kDm && conversation.members.size() == 2;
    std::tuple<AppId, std::string, std::string> dm_key;
    if (direct) {
      dm_key = DirectKey(conversation.app_id, conversation.members[0].id, conversation.members[1].id);
      if (dms_.count(dm_key)) return AlreadyExistsError("a dm between these members already exists");
    }
    LIBCHAT_RETURN_IF_ERROR(CheckEnqueue(outbox));
    if (direct) dms_.emplace(std::move(dm_key), conversation.id);
    Enqueue(outbox);
    ConversationRow row;
    row.conversation = conversation;
    row.members = conversation.members;
    row.conversation.members.clear();  // kept in row.members only
    for (const Member& member : row.members) memberships_[member.id].insert(conversation.id);
    // A new conversation has no messages, and the per-viewer fields are never stored.
    row.conversation.last_seq = 0;
    row.conversation.last_message.reset();
    row.conversation.read_seq = 0;
    row.conversation.unread_count = 0;
    app->second.conversations.insert(ActivityKey{Millis(conversation.last_activity_at), conversation.id});
    conversations_.emplace(conversation.id, std::move(row));
    return Status::Ok();
  }

  Result<Conversation> FindDirectConversation(const AppId& app, std::string_view member_a,
                                              std::string_view member_b) override {
    Lock lock(mu_);
    auto it = dms_.find(DirectKey(app, member_a, member_b));
    if (it == dms_.end()) return NotFoundError("conversation not found");
    return View(conversations_.at(it->second), "");
  }

  Result<Conversation> GetConversation(const ConversationId& id, std::string_view viewer_id) override {
    Lock lock(mu_);
    auto it = conversations_.find(id);
    if (it == conversations_.end()) return NotFoundError("conversation not found");
    return View(it->second, viewer_id);
  }

  Status UpdateConversation(const Conversation& conversation) override {
    return UpdateConversationAndEnqueue(conversation, {});
  }

  Status UpdateConversationAndEnqueue(const Conversation& conversation,
                                      const std::vector<Delivery>& outbox) override {
    Lock lock(mu_);
    auto it = conversations_.find(conversation.id);
    if (it == conversations_.end()) return NotFoundError("conversation not found");
    LIBCHAT_RETURN_IF_ERROR(CheckEnqueue(outbox));
    Enqueue(outbox);
    Conversation& row = it->second.conversation;
    row.status = conversation.status;
    row.assignee_id = conversation.assignee_id;
    row.snoozed_until = conversation.snoozed_until;
    row.name = conversation.name;
    row.metadata_json = conversation.metadata_json;
    row.updated_at = conversation.updated_at;
    return Status::Ok();
  }

  Result<std::vector<Conversation>> ListDueSnoozed(Timestamp now, int limit) override {
    Lock lock(mu_);
    std::vector<const ConversationRow*> due;
    for (const auto& [id, row] : conversations_) {
      const Conversation& c = row.conversation;
      if (c.status == ConversationStatus::kSnoozed && c.snoozed_until && *c.snoozed_until <= now) {
        due.push_back(&row);
      }
    }
    std::sort(due.begin(), due.end(), [](const ConversationRow* a, const ConversationRow* b) {
      return *a->conversation.snoozed_until < *b->conversation.snoozed_until;
    });
    std::vector<Conversation> out;
    for (std::size_t i = 0; i < due.size() && static_cast<int>(i) < limit; ++i) out.push_back(View(*due[i], ""));
    return out;
  }

  Result<Page<Conversation>> ListConversations(const ConversationQuery& query) override {
    ActivityKey after;
    if (!query.cursor.empty() && !DecodeConversationCursor(query.cursor, &after)) return InvalidCursor();
    const std::size_t max_items = static_cast<std::size_t>(std::max(query.limit, 1));
    Lock lock(mu_);
    Page<Conversation> page;
    auto app = apps_.find(query.app_id);
    if (app == apps_.end()) return page;
    if (query.member_id) return ListMemberConversations(query, after, max_items);
    const auto& index = app->second.conversations;
    // upper_bound: the first key strictly after the cursor's, which also works when the
    // conversation the cursor points at has since moved or gone.
    auto it = query.cursor.empty() ? index.begin() : index.upper_bound(after);
    const ActivityKey* last_returned = nullptr;
    for (; it != index.end(); ++it) {
      const ConversationRow& row = conversations_.at(it->id);
      if (!Matches(row.conversation, query)) continue;
      if (page.data.size() == max_items) {
        // Another match exists, so this page is not the last.
        page.next_cursor = EncodeConversationCursor(*last_returned);
        break;
      }
      page.data.push_back(View(row, query.viewer_id));
      last_returned = &*it;
    }
    return page;
  }

  // --- members

  Result<bool> PutMember(const ConversationId& conversation, const Member& member) override {
    Lock lock(mu_);
    auto it = conversations_.find(conversation);
    if (it == conversations_.end()) return NotFoundError("conversation not found");
    auto& members = it->second.members;
    for (Member& existing : members) {
      if (existing.id == member.id) {
        existing.role = member.role;
        return false;
      }
    }
    members.push_back(member);
    memberships_[member.id].insert(conversation);
    return true;
  }

  Status RemoveMember(const ConversationId& conversation, std::string_view member_id) override {
    Lock lock(mu_);
    auto it = conversations_.find(conversation);
    if (it == conversations_.end()) return NotFoundError("conversation not found");
    auto& members = it->second.members;
    auto pos = std::find_if(members.begin(), members.end(), [&](const Member& m) { return m.id == member_id; });
    if (pos == members.end()) return NotFoundError("member not found");
    members.erase(pos);
    EraseMembership(std::string(member_id), conversation);
    return Status::Ok();
  }

  Result<Member> GetMember(const ConversationId& conversation, std::string_view member_id) override {
    Lock lock(mu_);
    auto it = conversations_.find(conversation);
    if (it == conversations_.end()) return NotFoundError("conversation not found");
    for (const Member& member : it->second.members) {
      if (member.id == member_id) return member;
    }
    return NotFoundError("member not found");
  }

  Result<std::vector<Member>> ListMembers(const ConversationId& conversation) override {
    Lock lock(mu_);
    auto it = conversations_.find(conversation);
    if (it == conversations_.end()) return NotFoundError("conversation not found");
    return it->second.members;
  }

  Result<std::vector<ConversationId>> ListMemberships(std::string_view member_id, int limit) override {
    Lock lock(mu_);
    std::vector<ConversationId> out;
    auto it = memberships_.find(std::string(member_id));
    if (it == memberships_.end()) return out;
    for (const ConversationId& id : it->second) {
      if (static_cast<int>(out.size()) >= limit) break;
      out.push_back(id);
    }
    return out;
  }

  // --- messages

  Result<AppendResult> AppendMessage(const AppendRequest& request, const CommitHook& on_commit) override {
    Lock lock(mu_);
    auto it = conversations_.find(request.message.conversation_id);
    if (it == conversations_.end()) return NotFoundError("conversation not found");
    ConversationRow& row = it->second;
    const Message& incoming = request.message;
    AppendResult result;

    const bool idempotent = !incoming.client_msg_id.empty();
    auto dedupe_key = std::make_pair(incoming.sender.id, incoming.client_msg_id);
    if (idempotent) {
      auto existing = row.by_client_msg_id.find(dedupe_key);
      if (existing != row.by_client_msg_id.end()) {
        result.message = row.messages[static_cast<std::size_t>(existing->second - 1)];
        result.conversation = View(row, "");
        result.created = false;
        return result;
      }
    }
    // Message ids are unique across the store, as in a durable one. Checked after the dedupe
    // lookup, because a retry carries a fresh id.
    if (message_ids_.count(incoming.id)) return AlreadyExistsError("a message with this id already exists");

    Conversation& conversation = row.conversation;
    Message message = incoming;
    message.seq = conversation.last_seq + 1;
    if (message.app_id.empty()) message.app_id = conversation.app_id;

    // The conversation as it is once the message is in (stored without last_message).
    Conversation next = conversation;
    next.last_seq = message.seq;
    next.last_activity_at = message.created_at;
    next.updated_at = message.created_at;
    if (request.reopen &&
        (next.status == ConversationStatus::kResolved || next.status == ConversationStatus::kSnoozed)) {
      next.status = ConversationStatus::kOpen;
      next.snoozed_until.reset();
    }
    result.message = message;
    result.conversation = next;
    result.conversation.last_message = message;
    result.created = true;
    // Built and checked before anything changes: a delivery that cannot be enqueued leaves no message.
    std::vector<Delivery> outbox;
    if (request.outbox) {
      outbox = request.outbox(result);
      LIBCHAT_RETURN_IF_ERROR(CheckEnqueue(outbox));
    }

    message_ids_.insert(message.id);
    if (idempotent) row.by_client_msg_id.emplace(std::move(dedupe_key), message.seq);
    if (message.deleted) {
      row.deleted_seqs.push_back(message.seq);
    } else {
      row.live_seqs_by_sender[message.sender.id].push_back(message.seq);
    }
    row.messages.push_back(std::move(message));
    AppRow& app = apps_.at(conversation.app_id);
    app.conversations.erase(ActivityKey{Millis(conversation.last_activity_at), conversation.id});
    conversation = std::move(next);
    app.conversations.insert(ActivityKey{Millis(conversation.last_activity_at), conversation.id});
    Enqueue(outbox);
    // Still under the lock: the next append cannot commit before this hook returns.
    if (on_commit) on_commit(result);
    return result;
  }

  Result<std::vector<Message>> ListMessages(const MessageQuery& query) override {
    Lock lock(mu_);
    auto it = conversations_.find(query.conversation_id);
    if (it == conversations_.end()) return NotFoundError("conversation not found");
    const std::vector<Message>& messages = it->second.messages;
    const std::int64_t last = static_cast<std::int64_t>(messages.size());
    const std::int64_t limit = std::max(query.limit, 0);
    // The window of seqs [first, end) to return, computed without overflow for any input.
    std::int64_t first = 1;
    std::int64_t end = last + 1;
    if (query.after_seq) {
      first = *query.after_seq >= last ? last + 1 : std::max<std::int64_t>(*query.after_seq + 1, 1);
    }
    if (query.before_seq) {
      end = std::max<std::int64_t>(std::min(end, *query.before_seq), 1);
      if (!query.after_seq) first = std::max<std::int64_t>(end - limit, 1);
    }
    end = std::min(end, first + limit);
    std::vector<Message> out;
    if (end > first) out.reserve(static_cast<std::size_t>(end - first));
    for (std::int64_t seq = first; seq < end; ++seq) {
      out.push_back(messages[static_cast<std::size_t>(seq - 1)]);
    }
    return out;
  }

  Result<Message> GetMessage(const ConversationId& conversation, const MessageId& id) override {
    Lock lock(mu_);
    const Message* message = FindMessage(conversation, id);
    if (message == nullptr) return NotFoundError("message not found");
    return *message;
  }

  Result<Message> ReviseMessage(const MessageRevision& revision) override {
    Lock lock(mu_);
    Message* message = FindMessage(revision.conversation_id, revision.message_id);
    if (message == nullptr) return NotFoundError("message not found");
    LIBCHAT_RETURN_IF_ERROR(CheckEnqueue(revision.outbox));
    Enqueue(revision.outbox);
    ConversationRow& row = conversations_.at(revision.conversation_id);
    // The log keeps what the message said before the change.
    MessageRevision logged = revision;
    logged.text = message->text;
    logged.metadata_json = message->metadata_json;
    logged.outbox.clear();
    row.revisions.push_back(std::move(logged));
    if (revision.deleted) {
      if (!message->deleted) {
        auto& live = row.live_seqs_by_sender[message->sender.id];
        live.erase(std::lower_bound(live.begin(), live.end(), message->seq));
        row.deleted_seqs.insert(std::upper_bound(row.deleted_seqs.begin(), row.deleted_seqs.end(), message->seq),
                                message->seq);
      }
      message->deleted = true;
      message->text.clear();
      message->metadata_json = "{}";
    } else {
      if (revision.text) message->text = *revision.text;
      if (revision.metadata_json) message->metadata_json = *revision.metadata_json;
    }
    message->edited_at = revision.at;
    return *message;
  }

  // --- receipts

  Result<Receipt> AdvanceReceipt(const ConversationId& conversation, std::string_view member_id,
                                 std::int64_t delivered_seq, std::int64_t read_seq, Timestamp now) override {
    Lock lock(mu_);
    auto it = conversations_.find(conversation);
    if (it == conversations_.end()) return NotFoundError("conversation not found");
    auto [pos, inserted] = it->second.receipts.try_emplace(std::string(member_id));
    Receipt& receipt = pos->second;
    if (inserted) {
      receipt.conversation_id = conversation;
      receipt.member_id = std::string(member_id);
      receipt.updated_at = now;
    }
    receipt.delivered_seq = std::max(receipt.delivered_seq, delivered_seq);
    receipt.read_seq = std::max(receipt.read_seq, read_seq);
    receipt.updated_at = std::max(receipt.updated_at, now);
    return receipt;
  }

  Result<Receipt> GetReceipt(const ConversationId& conversation, std::string_view member_id) override {
    Lock lock(mu_);
    auto it = conversations_.find(conversation);
    if (it == conversations_.end()) return NotFoundError("conversation not found");
    auto pos = it->second.receipts.find(std::string(member_id));
    if (pos != it->second.receipts.end()) return pos->second;
    Receipt zero;
    zero.conversation_id = conversation;
    zero.member_id = std::string(member_id);
    return zero;
  }

  // --- webhook endpoints

  Status CreateWebhook(const StoredWebhook& webhook) override {
    Lock lock(mu_);
    auto app = apps_.find(webhook.endpoint.app_id);
    if (app == apps_.end()) return NotFoundError("app not found");
    if (webhooks_.count(webhook.endpoint.id)) return AlreadyExistsError("a webhook with this id already exists");
    WebhookRow row{webhook, {Millis(webhook.endpoint.created_at), ++insertions_}};
    app->second.webhooks.emplace(row.order, webhook.endpoint.id);
    webhooks_.emplace(webhook.endpoint.id, std::move(row));
    return Status::Ok();
  }

  Result<StoredWebhook> GetWebhook(const WebhookId& id) override {
    Lock lock(mu_);
    auto it = webhooks_.find(id);
    if (it == webhooks_.end()) return NotFoundError("webhook not found");
    return it->second.stored;
  }

  Result<std::vector<StoredWebhook>> ListWebhooks(const AppId& app) override {
    Lock lock(mu_);
    std::vector<StoredWebhook> out;
    auto it = apps_.find(app);
    if (it == apps_.end()) return out;
    for (const auto& [order, id] : it->second.webhooks) out.push_back(webhooks_.at(id).stored);
    return out;
  }

  Status UpdateWebhook(const StoredWebhook& webhook) override {
    Lock lock(mu_);
    auto it = webhooks_.find(webhook.endpoint.id);
    if (it == webhooks_.end()) return NotFoundError("webhook not found");
    StoredWebhook& row = it->second.stored;
    row.endpoint.url = webhook.endpoint.url;
    row.endpoint.events = webhook.endpoint.events;
    row.endpoint.enabled = webhook.endpoint.enabled;
    row.endpoint.disabled_reason = webhook.endpoint.disabled_reason;
    row.secret_sealed = webhook.secret_sealed;
    row.previous_secret_sealed = webhook.previous_secret_sealed;
    row.endpoint.previous_secret_expires_at = webhook.endpoint.previous_secret_expires_at;
    row.endpoint.updated_at = webhook.endpoint.updated_at;
    return Status::Ok();
  }

  Status DeleteWebhook(const WebhookId& id) override {
    Lock lock(mu_);
    auto it = webhooks_.find(id);
    if (it == webhooks_.end()) return NotFoundError("webhook not found");
    apps_.at(it->second.stored.endpoint.app_id).webhooks.erase(it->second.order);
    webhooks_.erase(it);
    auto deliveries = deliveries_by_webhook_.find(id.str());
    if (deliveries == deliveries_by_webhook_.end()) return Status::Ok();
    for (const DeliveryId& delivery_id : deliveries->second) {
      DeliveryRow& row = deliveries_.at(delivery_id);
      if (row.delivery.status != DeliveryStatus::kPending) continue;
      UnindexDue(row);
      row.delivery.status = DeliveryStatus::kCancelled;
      row.leased_until.reset();
    }
    return Status::Ok();
  }

  // --- per-app settings

  Result<std::optional<std::string>> GetAppSetting(const AppId& app, std::string_view key) override {
    Lock lock(mu_);
    auto it = apps_.find(app);
    if (it == apps_.end()) return std::optional<std::string>();
    auto setting = it->second.settings.find(key);
    if (setting == it->second.settings.end()) return std::optional<std::string>();
    return std::optional<std::string>(setting->second);
  }

  Status PutAppSetting(const AppId& app, std::string_view key, std::string_view value) override {
    Lock lock(mu_);
    auto it = apps_.find(app);
    if (it == apps_.end()) return value.empty() ? Status::Ok() : NotFoundError("app not found");
    auto& settings = it->second.settings;
    auto setting = settings.find(key);
    if (value.empty()) {
      if (setting != settings.end()) settings.erase(setting);
    } else if (setting == settings.end()) {
      settings.emplace(std::string(key), std::string(value));
    } else {
      setting->second = std::string(value);
    }
    return Status::Ok();
  }

  // --- outbox

  Status EnqueueDeliveries(const std::vector<Delivery>& deliveries) override {
    Lock lock(mu_);
    LIBCHAT_RETURN_IF_ERROR(CheckEnqueue(deliveries));
    Enqueue(deliveries);
    return Status::Ok();
  }

  Result<std::vector<Delivery>> ClaimDueDeliveries(Timestamp now, Timestamp lease_until, int limit) override {
    Lock lock(mu_);
    const std::int64_t now_ms = Millis(now);
    // Collected first: leasing re-keys the rows in due_.
    std::vector<DeliveryRow*> claimed;
    for (auto it = due_.begin(); it != due_.end() && static_cast<int>(claimed.size()) < limit;) {
      const int negated_priority = std::get<0>(*it);
      if (std::get<1>(*it) > now_ms) {
        // Nothing else of this priority is due: go on with the next lower one.
        it = due_.lower_bound(DueKey{negated_priority + 1, std::numeric_limits<std::int64_t>::min(), ""});
        continue;
      }
      claimed.push_back(&deliveries_.at(DeliveryId(std::get<2>(*it))));
      ++it;
    }
    std::vector<Delivery> out;
    out.reserve(claimed.size());
    for (DeliveryRow* row : claimed) {
      UnindexDue(*row);
      row->delivery.next_attempt_at = lease_until;
      row->leased_until = lease_until;
      IndexDue(*row);
      out.push_back(row->delivery);
      out.back().attempts.clear();  // claims do not fill attempts
    }
    return out;
  }

  Status UpdateDelivery(const DeliveryUpdate& update) override {
    Lock lock(mu_);
    auto it = deliveries_.find(update.id);
    if (it == deliveries_.end()) return NotFoundError("delivery not found");
    DeliveryRow& row = it->second;
    Delivery& d = row.delivery;
    if (d.status != update.expected_status) {
      return FailedPreconditionError(std::string("the delivery is ") + DeliveryStatusName(d.status) + ", not " +
                                     DeliveryStatusName(update.expected_status));
    }
    if (update.attempt) {
      for (const DeliveryAttempt& attempt : d.attempts) {
        if (attempt.number == update.attempt->number) {
          return AlreadyExistsError("this attempt number is already recorded");
        }
      }
    }
    LIBCHAT_RETURN_IF_ERROR(CheckEnqueue(update.enqueue));
    UnindexDue(row);
    d.status = update.status;
    d.next_attempt_at = update.next_attempt_at;
    d.last_error = update.last_error;
    d.updated_at = update.updated_at;
    if (update.attempt) {
      d.attempt_count = update.attempt->number;
      auto pos = std::upper_bound(
          d.attempts.begin(), d.attempts.end(), update.attempt->number,
          [](int number, const DeliveryAttempt& attempt) { return number < attempt.number; });
      d.attempts.insert(pos, *update.attempt);
    }
    row.leased_until.reset();
    IndexDue(row);
    Enqueue(update.enqueue);
    return Status::Ok();
  }

  Result<Delivery> GetDelivery(const DeliveryId& id) override {
    Lock lock(mu_);
    auto it = deliveries_.find(id);
    if (it == deliveries_.end()) return NotFoundError("delivery not found");
    return it->second.delivery;
  }

  Result<Page<Delivery>> ListDeliveries(const DeliveryQuery& query) override {
    DeliveryKey after;
    if (!query.cursor.empty() && !DecodeDeliveryCursor(query.cursor, &after)) return InvalidCursor();
    const std::size_t max_items = static_cast<std::size_t>(std::max(query.limit, 1));
    Lock lock(mu_);
    Page<Delivery> page;
    auto app = apps_.find(query.app_id);
    if (app == apps_.end()) return page;
    const auto& index = app->second.deliveries;
    auto it = query.cursor.empty() ? index.begin() : index.upper_bound(after);
    const DeliveryKey* last_returned = nullptr;
    for (; it != index.end(); ++it) {
      const Delivery& d = deliveries_.at(it->id).delivery;
      if (!Matches(d, query)) continue;
      if (page.data.size() == max_items) {
        page.next_cursor = EncodeDeliveryCursor(*last_returned);
        break;
      }
      page.data.push_back(d);
      last_returned = &*it;
    }
    return page;
  }

  Result<int> WakeDeliveries(std::string_view recipient_id, DeliveryChannel channel, Timestamp now) override {
    Lock lock(mu_);
    auto it = deliveries_by_recipient_.find({std::string(recipient_id), channel});
    if (it == deliveries_by_recipient_.end()) return 0;
    int woken = 0;
    for (const DeliveryId& id : it->second) {
      DeliveryRow& row = deliveries_.at(id);
      const Delivery& d = row.delivery;
      // A leased delivery is in flight: making it due would hand it to a second claimer.
      if (d.status != DeliveryStatus::kPending || d.next_attempt_at <= now ||
          (row.leased_until && *row.leased_until > now)) {
        continue;
      }
      UnindexDue(row);
      row.delivery.next_attempt_at = now;
      IndexDue(row);
      ++woken;
    }
    return woken;
  }

  Result<std::optional<Timestamp>> NextDeliveryDue() override {
    Lock lock(mu_);
    std::optional<std::int64_t> earliest;
    // due_ is ordered by priority first: the earliest of each priority is the first of its range.
    for (int priority = static_cast<int>(NotificationPriority::kLow);
         priority <= static_cast<int>(NotificationPriority::kUrgent); ++priority) {
      auto it = due_.lower_bound(DueKey{-priority, std::numeric_limits<std::int64_t>::min(), ""});
      if (it == due_.end() || std::get<0>(*it) != -priority) continue;
      if (!earliest || std::get<1>(*it) < *earliest) earliest = std::get<1>(*it);
    }
    if (!earliest) return std::optional<Timestamp>();
    return std::optional<Timestamp>(Timestamp(std::chrono::milliseconds(*earliest)));
  }

  // --- notifications

  Status CreateNotification(const Notification& notification, const std::vector<Delivery>& deliveries) override {
    Lock lock(mu_);
    auto app = apps_.find(notification.app_id);
    if (app == apps_.end()) return NotFoundError("app not found");
    if (notifications_.count(notification.id)) {
      return AlreadyExistsError("a notification with this id already exists");
    }
    LIBCHAT_RETURN_IF_ERROR(CheckEnqueue(deliveries));
    Notification stored = notification;
    stored.deliveries.clear();  // they live in the outbox
    notifications_.emplace(notification.id, std::move(stored));
    app->second.notifications.insert(notification.id);
    Enqueue(deliveries);
    return Status::Ok();
  }

  Result<Notification> GetNotification(const NotificationId& id) override {
    Lock lock(mu_);
    auto it = notifications_.find(id);
    if (it == notifications_.end()) return NotFoundError("notification not found");
    Notification out = it->second;
    auto ids = deliveries_by_notification_.find(id);
    if (ids == deliveries_by_notification_.end()) return out;
    std::vector<const DeliveryRow*> rows;
    for (const DeliveryId& delivery_id : ids->second) rows.push_back(&deliveries_.at(delivery_id));
    std::sort(rows.begin(), rows.end(), [](const DeliveryRow* a, const DeliveryRow* b) {
      if (a->delivery.created_at != b->delivery.created_at) return a->delivery.created_at < b->delivery.created_at;
      return a->insertion < b->insertion;
    });
    for (const DeliveryRow* row : rows) out.deliveries.push_back(row->delivery);
    return out;
  }

  Status UpdateNotificationStatus(const NotificationId& id, NotificationStatus expected, NotificationStatus status,
                                  Timestamp at, const std::vector<Delivery>& enqueue) override {
    Lock lock(mu_);
    LIBCHAT_ASSIGN_OR_RETURN(Notification * notification, NotificationWithStatus(id, expected));
    LIBCHAT_RETURN_IF_ERROR(CheckEnqueue(enqueue));
    notification->status = status;
    notification->updated_at = at;
    Enqueue(enqueue);
    return Status::Ok();
  }

  Status CancelNotification(const NotificationId& id, Timestamp at) override {
    Lock lock(mu_);
    LIBCHAT_ASSIGN_OR_RETURN(Notification * notification, NotificationWithStatus(id, NotificationStatus::kPending));
    notification->status = NotificationStatus::kCancelled;
    notification->updated_at = at;
    ForEachDeliveryOf(id, [&](DeliveryRow& row) {
      if (row.delivery.status != DeliveryStatus::kPending) return;
      UnindexDue(row);
      row.delivery.status = DeliveryStatus::kCancelled;
      row.delivery.updated_at = at;
      row.leased_until.reset();
    });
    return Status::Ok();
  }

  Status RetryNotification(const NotificationId& id, Timestamp at) override {
    Lock lock(mu_);
    LIBCHAT_ASSIGN_OR_RETURN(Notification * notification, NotificationWithStatus(id, NotificationStatus::kFailed));
    notification->status = NotificationStatus::kPending;
    notification->updated_at = at;
    // Attempts, attempt_count and last_error stay: the retry continues the history.
    ForEachDeliveryOf(id, [&](DeliveryRow& row) {
      if (row.delivery.status != DeliveryStatus::kFailed) return;
      row.delivery.status = DeliveryStatus::kPending;
      row.delivery.next_attempt_at = at;
      row.delivery.updated_at = at;
      row.leased_until.reset();
      IndexDue(row);
    });
    return Status::Ok();
  }

  // --- operators

  Status CreateOperators(const std::vector<Operator>& operators) override {
    Lock lock(mu_);
    // Checked before anything changes: the batch is stored completely or not at all.
    std::unordered_set<OperatorId> batch;
    for (const Operator& op : operators) {
      if (operators_.count(op.id) || !batch.insert(op.id).second) {
        return AlreadyExistsError("an operator with this id already exists");
      }
      LIBCHAT_RETURN_IF_ERROR(CheckAppsExist(op.app_ids));
    }
    for (const Operator& op : operators) {
      Operator stored = op;
      stored.app_ids = NormalizedAppIds(op.app_ids);
      for (const AppId& app : stored.app_ids) apps_.at(app).operators.insert(op.id);
      operators_by_account_[op.account_id].insert(OperatorKeyOf(stored));
      operators_.emplace(op.id, std::move(stored));
    }
    return Status::Ok();
  }

  Result<Operator> GetOperator(const OperatorId& id) override {
    Lock lock(mu_);
    auto it = operators_.find(id);
    if (it == operators_.end()) return NotFoundError("operator not found");
    return it->second;
  }

  Result<Page<Operator>> ListOperators(const OperatorQuery& query) override {
    OperatorKey after;
    if (!query.cursor.empty() && !DecodeOperatorCursor(query.cursor, &after)) return InvalidCursor();
    const std::size_t max_items = static_cast<std::size_t>(std::max(query.limit, 1));
    Lock lock(mu_);
    Page<Operator> page;
    // The candidates in listing order: the app's operators of the account, or all of the account's.
    std::set<OperatorKey> of_app;
    const std::set<OperatorKey>* ordered = &of_app;
    if (query.app_id) {
      auto app = apps_.find(*query.app_id);
      if (app == apps_.end()) return page;
      for (const OperatorId& id : app->second.operators) {
        const Operator& op = operators_.at(id);
        if (op.account_id == query.account_id) of_app.insert(OperatorKeyOf(op));
      }
    } else {
      auto owned = operators_by_account_.find(query.account_id);
      if (owned == operators_by_account_.end()) return page;
      ordered = &owned->second;
    }
    auto it = query.cursor.empty() ? ordered->begin() : ordered->upper_bound(after);
    for (; it != ordered->end(); ++it) {
      const Operator& op = operators_.at(OperatorId(it->second));
      const bool wanted = query.status ? op.status == *query.status : op.status != OperatorStatus::kDeleted;
      if (!wanted) continue;
      if (page.data.size() == max_items) {
        page.next_cursor = EncodeOperatorCursor(OperatorKeyOf(page.data.back()));
        break;
      }
      page.data.push_back(op);
    }
    return page;
  }

  Status UpdateOperator(const Operator& op) override {
    Lock lock(mu_);
    auto it = operators_.find(op.id);
    if (it == operators_.end()) return NotFoundError("operator not found");
    LIBCHAT_RETURN_IF_ERROR(CheckAppsExist(op.app_ids));
    Operator& row = it->second;
    for (const AppId& app : row.app_ids) apps_.at(app).operators.erase(row.id);
    row.app_ids = NormalizedAppIds(op.app_ids);
    for (const AppId& app : row.app_ids) apps_.at(app).operators.insert(row.id);
    row.name = op.name;
    row.email = op.email;
    row.status = op.status;
    row.updated_at = op.updated_at;
    return Status::Ok();
  }

  Result<std::vector<Operator>> ListActiveAppOperators(const AppId& app) override {
    Lock lock(mu_);
    std::vector<Operator> out;
    auto it = apps_.find(app);
    if (it == apps_.end()) return out;
    for (const OperatorId& id : it->second.operators) {
      const Operator& op = operators_.at(id);
      if (op.status == OperatorStatus::kActive) out.push_back(op);
    }
    std::sort(out.begin(), out.end(),
              [](const Operator& a, const Operator& b) { return OperatorKeyOf(a) < OperatorKeyOf(b); });
    return out;
  }

  // --- knowledge base

  Status CreateKnowledgeEntry(const KnowledgeEntry& entry) override {
    Lock lock(mu_);
    auto app = apps_.find(entry.app_id);
    if (app == apps_.end()) return NotFoundError("app not found");
    if (knowledge_.count(entry.id)) return AlreadyExistsError("a knowledge entry with this id already exists");
    KnowledgeRow& row = knowledge_[entry.id];
    row.entry = entry;
    app->second.knowledge.entries.insert(KnowledgeKey{Millis(entry.created_at), entry.id});
    IndexKnowledge(row, app->second.knowledge);
    return Status::Ok();
  }

  Result<KnowledgeEntry> GetKnowledgeEntry(const KnowledgeId& id) override {
    Lock lock(mu_);
    auto it = knowledge_.find(id);
    if (it == knowledge_.end()) return NotFoundError("knowledge entry not found");
    return it->second.entry;
  }

  Result<Page<KnowledgeEntry>> ListKnowledgeEntries(const AppId& app, std::string_view cursor,
                                                    int limit) override {
    KnowledgeKey after;
    if (!cursor.empty() && !DecodeKnowledgeCursor(cursor, &after)) return InvalidCursor();
    const std::size_t max_items = static_cast<std::size_t>(std::max(limit, 1));
    Lock lock(mu_);
    Page<KnowledgeEntry> page;
    auto it = apps_.find(app);
    if (it == apps_.end()) return page;
    const auto& entries = it->second.knowledge.entries;
    for (auto key = cursor.empty() ? entries.begin() : entries.upper_bound(after); key != entries.end(); ++key) {
      if (page.data.size() == max_items) {
        const KnowledgeEntry& last = page.data.back();
        page.next_cursor = EncodeKnowledgeCursor(KnowledgeKey{Millis(last.created_at), last.id});
        break;
      }
      page.data.push_back(knowledge_.at(key->id).entry);
    }
    return page;
  }

  Status UpdateKnowledgeEntry(const KnowledgeEntry& entry) override {
    Lock lock(mu_);
    auto it = knowledge_.find(entry.id);
    if (it == knowledge_.end()) return NotFoundError("knowledge entry not found");
    KnowledgeRow& row = it->second;
    KnowledgeIndex& index = apps_.at(row.entry.app_id).knowledge;
    UnindexKnowledge(row, index);
    row.entry.type = entry.type;
    row.entry.question = entry.question;
    row.entry.answer = entry.answer;
    row.entry.content = entry.content;
    row.entry.updated_at = entry.updated_at;
    IndexKnowledge(row, index);
    return Status::Ok();
  }

  Status DeleteKnowledgeEntry(const KnowledgeId& id) override {
    Lock lock(mu_);
    auto it = knowledge_.find(id);
    if (it == knowledge_.end()) return NotFoundError("knowledge entry not found");
    KnowledgeRow& row = it->second;
    KnowledgeIndex& index = apps_.at(row.entry.app_id).knowledge;
    UnindexKnowledge(row, index);
    index.entries.erase(KnowledgeKey{Millis(row.entry.created_at), row.entry.id});
    knowledge_.erase(it);
    return Status::Ok();
  }

  Result<std::vector<KnowledgeMatch>> SearchKnowledge(const KnowledgeQuery& query) override {
    namespace search = internal::memory_search;
    // The query's words go through the same tokenizer as the entries.
    std::unordered_set<std::string> terms;
    for (const std::string& word : query.terms) {
      for (search::Token& token : search::Tokenize(word)) terms.insert(std::move(token.term));
    }
    const std::size_t max_items = static_cast<std::size_t>(std::max(query.limit, 1));
    Lock lock(mu_);
    std::vector<KnowledgeMatch> out;
    auto app = apps_.find(query.app_id);
    if (app == apps_.end()) return out;
    const KnowledgeIndex& index = app->second.knowledge;
    const auto docs = static_cast<std::int64_t>(index.entries.size());
    if (docs == 0) return out;
    const double avg_tokens = static_cast<double>(index.total_tokens) / static_cast<double>(docs);

    std::unordered_map<KnowledgeId, double> ranks;
    for (const std::string& term : terms) {
      auto posting = index.postings.find(term);
      if (posting == index.postings.end()) continue;
      const auto with_term = static_cast<std::int64_t>(posting->second.size());
      for (const KnowledgeId& id : posting->second) {
        const KnowledgeRow& row = knowledge_.at(id);
        ranks[id] += search::Bm25(row.weighted_tf.at(term), static_cast<double>(row.token_count), avg_tokens,
                                  docs, with_term);
      }
    }
    std::vector<std::pair<double, const KnowledgeRow*>> ranked;
    for (const auto& [id, rank] : ranks) ranked.emplace_back(rank, &knowledge_.at(id));
    // Best first; equal ranks oldest first, as the SQLite index returns them.
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return a.first > b.first;
      const KnowledgeEntry& x = a.second->entry;
      const KnowledgeEntry& y = b.second->entry;
      if (x.created_at != y.created_at) return x.created_at < y.created_at;
      return x.id < y.id;
    });
    if (ranked.size() > max_items) ranked.resize(max_items);
    for (const auto& [rank, row] : ranked) {
      KnowledgeMatch match;
      match.entry = row->entry;
      match.rank = rank;
      match.snippet = KnowledgeSnippet(*row, terms);
      out.push_back(std::move(match));
    }
    return out;
  }

  Status CheckWritable() override { return Status::Ok(); }

 private:

  // --- operators and knowledge internals (mu_ held)

  Status CheckAppsExist(const std::vector<AppId>& app_ids) const {
    for (const AppId& app : app_ids) {
      if (!apps_.count(app)) return NotFoundError("app not found");
    }
    return Status::Ok();
  }

  // Tokenizes the entry of `row` into it and adds its terms to the app's index.
  static void IndexKnowledge(KnowledgeRow& row, KnowledgeIndex& index) {
    namespace search = internal::memory_search;
    const KnowledgeEntry& e = row.entry;
    row.fields = {search::Tokenize(e.question), search::Tokenize(e.answer), search::Tokenize(e.content)};
    constexpr std::array<double, 3> kWeights = {search::kQuestionWeight, search::kAnswerWeight,
                                                search::kContentWeight};
    row.weighted_tf.clear();
    row.token_count = 0;
    for (std::size_t f = 0; f < row.fields.size(); ++f) {
      for (const search::Token& token : row.fields[f]) row.weighted_tf[token.term] += kWeights[f];
      row.token_count += static_cast<std::int64_t>(row.fields[f].size());
    }
    for (const auto& [term, tf] : row.weighted_tf) index.postings[term].insert(e.id);
    index.total_tokens += row.token_count;
  }

  static void UnindexKnowledge(const KnowledgeRow& row, KnowledgeIndex& index) {
    for (const auto& [term, tf] : row.weighted_tf) {
      auto posting = index.postings.find(term);
      posting->second.erase(row.entry.id);
      if (posting->second.empty()) index.postings.erase(posting);
    }
    index.total_tokens -= row.token_count;
  }

  // The snippet of the field with the most matching words (question, answer, content on ties),
  // as the SQLite store chooses among its columns' snippets.
  static std::string KnowledgeSnippet(const KnowledgeRow& row, const std::unordered_set<std::string>& terms) {
    const std::array<const std::string*, 3> texts = {&row.entry.question, &row.entry.answer, &row.entry.content};
    std::size_t best = 0;
    while (best + 1 < texts.size() && texts[best]->empty()) ++best;
    std::size_t best_hits = 0;
    for (std::size_t f = 0; f < row.fields.size(); ++f) {
      std::size_t hits = 0;
      for (const auto& token : row.fields[f]) hits += terms.count(token.term);
      if (hits > best_hits) {
        best = f;
        best_hits = hits;
      }
    }
    return internal::memory_search::Snippet(*texts[best], row.fields[best], terms, kSnippetTokens);
  }
  // --- outbox internals (mu_ held)

  // Whether `deliveries` can all be enqueued: their apps exist, their ids are new and distinct.
  Status CheckEnqueue(const std::vector<Delivery>& deliveries) const {
    if (deliveries.empty()) return Status::Ok();
    std::unordered_set<DeliveryId> batch;
    for (const Delivery& d : deliveries) {
      if (!apps_.count(d.app_id)) return NotFoundError("app not found");
      if (deliveries_.count(d.id) || !batch.insert(d.id).second) {
        return AlreadyExistsError("a delivery with this id already exists");
      }
    }
    return Status::Ok();
  }

  // Stores deliveries that passed CheckEnqueue, as given but without attempts.
  void Enqueue(const std::vector<Delivery>& deliveries) {
    for (const Delivery& d : deliveries) {
      DeliveryRow row;
      row.delivery = d;
      row.delivery.attempts.clear();
      row.insertion = ++insertions_;
      apps_.at(d.app_id).deliveries.insert(DeliveryKey{Millis(d.created_at), d.id});
      if (!d.webhook_id.empty()) deliveries_by_webhook_[d.webhook_id.str()].push_back(d.id);
      if (!d.notification_id.empty()) deliveries_by_notification_[d.notification_id].push_back(d.id);
      if (!d.recipient_id.empty()) deliveries_by_recipient_[{d.recipient_id, d.channel}].push_back(d.id);
      IndexDue(row);
      deliveries_.emplace(d.id, std::move(row));
    }
  }

  // due_ holds exactly the pending deliveries, keyed by their current priority and due time:
  // unindex before changing either (or the status), index after.
  void IndexDue(const DeliveryRow& row) {
    if (row.delivery.status == DeliveryStatus::kPending) due_.insert(DueKeyOf(row.delivery));
  }
  void UnindexDue(const DeliveryRow& row) {
    if (row.delivery.status == DeliveryStatus::kPending) due_.erase(DueKeyOf(row.delivery));
  }

  // Removes the deliveries (and their attempts) of a deleted app, with their index entries.
  void EraseDeliveries(const std::set<DeliveryKey, NewestDeliveryFirst>& keys) {
    std::set<std::string> webhooks;
    std::set<NotificationId> notifications;
    std::set<std::pair<std::string, DeliveryChannel>> recipients;
    for (const DeliveryKey& key : keys) {
      auto it = deliveries_.find(key.id);
      const Delivery& d = it->second.delivery;
      UnindexDue(it->second);
      if (!d.webhook_id.empty()) webhooks.insert(d.webhook_id.str());
      if (!d.notification_id.empty()) notifications.insert(d.notification_id);
      if (!d.recipient_id.empty()) recipients.insert({d.recipient_id, d.channel});
      deliveries_.erase(it);
    }
    // An index entry may list deliveries of other apps too (an account is a recipient in each of
    // its apps): keep those.
    auto gone = [this](const DeliveryId& id) { return deliveries_.count(id) == 0; };
    auto prune = [&gone](auto& index, const auto& key) {
      auto entry = index.find(key);
      if (entry == index.end()) return;
      auto& ids = entry->second;
      ids.erase(std::remove_if(ids.begin(), ids.end(), gone), ids.end());
      if (ids.empty()) index.erase(entry);
    };
    for (const std::string& key : webhooks) prune(deliveries_by_webhook_, key);
    for (const NotificationId& key : notifications) prune(deliveries_by_notification_, key);
    for (const auto& key : recipients) prune(deliveries_by_recipient_, key);
  }

  static bool Matches(const Delivery& d, const DeliveryQuery& q) {
    if (q.webhook_id && (d.webhook_id.empty() || d.webhook_id != *q.webhook_id)) return false;
    if (q.notification_id && (d.notification_id.empty() || d.notification_id != *q.notification_id)) return false;
    if (q.status && d.status != *q.status) return false;
    if (q.channel && d.channel != *q.channel) return false;
    return true;
  }

  // The notification, when its status is `expected`; kNotFound / kFailedPrecondition otherwise.
  Result<Notification*> NotificationWithStatus(const NotificationId& id, NotificationStatus expected) {
    auto it = notifications_.find(id);
    if (it == notifications_.end()) return NotFoundError("notification not found");
    if (it->second.status != expected) {
      return FailedPreconditionError(std::string("the notification is ") + NotificationStatusName(it->second.status) +
                                     ", not " + NotificationStatusName(expected));
    }
    return &it->second;
  }

  template <typename Fn>
  void ForEachDeliveryOf(const NotificationId& id, Fn fn) {
    auto ids = deliveries_by_notification_.find(id);
    if (ids == deliveries_by_notification_.end()) return;
    for (const DeliveryId& delivery_id : ids->second) fn(deliveries_.at(delivery_id));
  }

  static bool Matches(const Conversation& c, const ConversationQuery& q) {
    if (q.status && c.status != *q.status) return false;
    if (q.assignee_id && c.assignee_id != *q.assignee_id) return false;
    if (q.type && c.type != *q.type) return false;
    return true;
  }

  Message* FindMessage(const ConversationId& conversation, const MessageId& id) {
    auto it = conversations_.find(conversation);
    if (it == conversations_.end()) return nullptr;
    for (Message& message : it->second.messages) {
      if (message.id == id) return &message;
    }
    return nullptr;
  }

  void EraseMembership(const std::string& member_id, const ConversationId& conversation) {
    auto it = memberships_.find(member_id);
    if (it == memberships_.end()) return;
    it->second.erase(conversation);
    if (it->second.empty()) memberships_.erase(it);
  }

  // ListConversations for one member: its conversations in activity order.
  Result<Page<Conversation>> ListMemberConversations(const ConversationQuery& query, const ActivityKey& after,
                                                     std::size_t max_items) {
    Page<Conversation> page;
    auto mine = memberships_.find(*query.member_id);
    if (mine == memberships_.end()) return page;
    std::set<ActivityKey, NewestFirst> ordered;
    for (const ConversationId& id : mine->second) {
      const ConversationRow& row = conversations_.at(id);
      if (row.conversation.app_id != query.app_id || !Matches(row.conversation, query)) continue;
      ActivityKey key{Millis(row.conversation.last_activity_at), id};
      if (!query.cursor.empty() && !NewestFirst()(after, key)) continue;
      ordered.insert(std::move(key));
    }
    for (const ActivityKey& key : ordered) {
      if (page.data.size() == max_items) {
        page.next_cursor = EncodeConversationCursor(ActivityKey{Millis(page.data.back().last_activity_at),
                                                                page.data.back().id});
        break;
      }
      page.data.push_back(View(conversations_.at(key.id), query.viewer_id));
    }
    return page;
  }

  // The conversation as `viewer_id` sees it. With no viewer, read_seq and unread_count stay zero
  // (the shape of a broadcast event) rather than counting every message as unread.
  static Conversation View(const ConversationRow& row, std::string_view viewer_id) {
    Conversation out = row.conversation;
    if (!row.messages.empty()) out.last_message = row.messages.back();
    if (viewer_id.empty()) return out;
    std::string viewer(viewer_id);
    auto receipt = row.receipts.find(viewer);
    const std::int64_t read_seq = receipt == row.receipts.end() ? 0 : receipt->second.read_seq;
    out.read_seq = read_seq;
    // Unread: seq > read_seq, not deleted, not sent by the viewer.
    std::int64_t unread = std::max<std::int64_t>(out.last_seq - read_seq, 0);
    unread -= CountAbove(row.deleted_seqs, read_seq);
    auto own = row.live_seqs_by_sender.find(viewer);
    if (own != row.live_seqs_by_sender.end()) unread -= CountAbove(own->second, read_seq);
    out.unread_count = unread;
    return out;
  }

  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> settings_;
  std::unordered_map<AccountId, StoredAccount> accounts_;
  std::unordered_map<std::string, AccountId> account_by_email_;
  std::unordered_map<std::string, Timestamp> revoked_tokens_;
  std::unordered_map<AppId, AppRow> apps_;
  std::int64_t app_insertions_ = 0;
  std::unordered_map<AccountId, std::map<AppOrderKey, AppId>> apps_by_owner_;
  std::unordered_map<std::string, AppId> app_by_publishable_key_;
  std::unordered_map<std::string, AppId> app_by_secret_key_hash_;
  std::unordered_map<CustomerId, Customer> customers_;
  std::map<std::pair<AppId, std::string>, CustomerId> customer_by_external_id_;
  std::unordered_map<ConversationId, ConversationRow> conversations_;
  std::unordered_set<MessageId> message_ids_;
  std::map<std::tuple<AppId, std::string, std::string>, ConversationId> dms_;
  std::unordered_map<std::string, std::set<ConversationId>> memberships_;  // member id -> conversations
  std::int64_t insertions_ = 0;  // webhooks and deliveries, in insertion order
  std::unordered_map<WebhookId, WebhookRow> webhooks_;
  std::unordered_map<NotificationId, Notification> notifications_;  // stored without their deliveries
  std::unordered_map<DeliveryId, DeliveryRow> deliveries_;
  std::set<DueKey> due_;  // the pending deliveries, in claiming order
  // Deliveries (any status) by endpoint id, by notification and by (recipient id, channel), in
  // insertion order. Entries go only with their app.
  std::unordered_map<std::string, std::vector<DeliveryId>> deliveries_by_webhook_;
  std::unordered_map<NotificationId, std::vector<DeliveryId>> deliveries_by_notification_;
  std::map<std::pair<std::string, DeliveryChannel>, std::vector<DeliveryId>> deliveries_by_recipient_;
  std::unordered_map<OperatorId, Operator> operators_;  // app_ids sorted; apps index them back
  std::unordered_map<AccountId, std::set<OperatorKey>> operators_by_account_;
  std::unordered_map<KnowledgeId, KnowledgeRow> knowledge_;  // apps index them (KnowledgeIndex)
};

}  // namespace

std::shared_ptr<Store> NewMemoryStore() { return std::make_shared<MemoryStore>(); }

}  // namespace libchat::testing
