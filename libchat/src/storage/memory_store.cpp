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
#include "libchat/testing/memory_store.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <iterator>
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

struct AppRow {
  StoredApp stored;
  AppOrderKey order;
  std::unordered_set<CustomerId> customers;
  std::set<ActivityKey, NewestFirst> conversations;
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
    Lock lock(mu_);
    auto app = apps_.find(conversation.app_id);
    if (app == apps_.end()) return NotFoundError("app not found");
    if (conversations_.count(conversation.id)) return AlreadyExistsError("conversation already exists");
    const bool direct = conversation.type == ConversationType::kDm && conversation.members.size() == 2;
    if (direct) {
      auto key = DirectKey(conversation.app_id, conversation.members[0].id, conversation.members[1].id);
      if (!dms_.emplace(std::move(key), conversation.id).second) {
        return AlreadyExistsError("a dm between these members already exists");
      }
    }
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
    Lock lock(mu_);
    auto it = conversations_.find(conversation.id);
    if (it == conversations_.end()) return NotFoundError("conversation not found");
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
    message_ids_.insert(message.id);
    if (idempotent) row.by_client_msg_id.emplace(std::move(dedupe_key), message.seq);
    row.messages.push_back(message);
    if (message.deleted) {
      row.deleted_seqs.push_back(message.seq);
    } else {
      row.live_seqs_by_sender[message.sender.id].push_back(message.seq);
    }

    AppRow& app = apps_.at(conversation.app_id);
    app.conversations.erase(ActivityKey{Millis(conversation.last_activity_at), conversation.id});
    conversation.last_seq = message.seq;
    conversation.last_activity_at = message.created_at;
    conversation.updated_at = message.created_at;
    if (request.reopen && (conversation.status == ConversationStatus::kResolved ||
                           conversation.status == ConversationStatus::kSnoozed)) {
      conversation.status = ConversationStatus::kOpen;
      conversation.snoozed_until.reset();
    }
    app.conversations.insert(ActivityKey{Millis(conversation.last_activity_at), conversation.id});

    result.message = std::move(message);
    result.conversation = View(row, "");
    result.created = true;
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
    ConversationRow& row = conversations_.at(revision.conversation_id);
    // The log keeps what the message said before the change.
    MessageRevision logged = revision;
    logged.text = message->text;
    logged.metadata_json = message->metadata_json;
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

  Status CheckWritable() override { return Status::Ok(); }

 private:
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
};

}  // namespace

std::shared_ptr<Store> NewMemoryStore() { return std::make_shared<MemoryStore>(); }

}  // namespace libchat::testing
