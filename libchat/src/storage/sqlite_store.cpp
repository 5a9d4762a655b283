// The SQLite Store: WAL, one group-committing writer thread (sqlite_writer.h),
// a pool of read-only connections, versioned schema (sqlite_schema.cpp). The
// statements of the delivery tables (webhooks, outbox, notifications) are in
// sqlite_delivery.cpp, those of operators and the knowledge base in sqlite_team.cpp;
// this file runs them as writer ops or on read connections.
//
// Every statement text below is a static string: connections cache prepared
// statements keyed by the text's address.
#include <algorithm>
#include <array>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "libchat/providers/store.h"
#include "storage/sqlite_db.h"
#include "storage/sqlite_delivery.h"
#include "storage/sqlite_schema.h"
#include "storage/sqlite_store.h"
#include "storage/sqlite_support.h"
#include "storage/sqlite_team.h"
#include "storage/sqlite_writer.h"
#include "util/status_macros.h"

namespace libchat {
namespace internal {
namespace {

// ---------------------------------------------------------------------------
// Column lists and row readers. The LIBCHAT_SQL_* macros only exist to splice
// column lists into static statement texts.

#define LIBCHAT_SQL_ACCOUNT_COLS "id, email, name, password_hash, created_at, updated_at"
#define LIBCHAT_SQL_APP_COLS                                                                      \
  "id, account_id, name, publishable_key, secret_key_hash, identity_secret, theme_json, prechat_json, " \
  "identity_verification, created_at, updated_at, rate_requests_per_s, rate_burst, customer_sends_per_min"
#define LIBCHAT_SQL_CUSTOMER_COLS "id, app_id, external_id, name, email, metadata_json, created_at, updated_at"
#define LIBCHAT_SQL_CONV_COLS                                                                     \
  "c.id, c.app_id, c.type, c.status, c.assignee_id, c.name, c.metadata_json, c.customer_id, c.last_seq, " \
  "c.snoozed_until, c.created_at, c.updated_at, c.last_activity_at"
#define LIBCHAT_SQL_MSG_COLS                                                                         \
  "m.id, m.conversation_id, m.app_id, m.seq, m.sender_type, m.sender_id, m.text, m.metadata_json, " \
  "m.client_msg_id, m.created_at, m.edited_at, m.deleted"

constexpr int kAppCols = 14;
constexpr int kConvCols = 13;
constexpr int kMsgCols = 12;

// A conversation row for a viewer (?2): its columns, its last message (the one
// with seq = last_seq), the viewer's read_seq and unread count (messages after
// read_seq that are not the viewer's own and not deleted; 0 without a viewer).
#define LIBCHAT_SQL_CONV_VIEW_SELECT                                                                \
  "SELECT " LIBCHAT_SQL_CONV_COLS ", " LIBCHAT_SQL_MSG_COLS                                         \
  ", COALESCE(r.read_seq, 0), CASE WHEN ?2 = '' THEN 0 ELSE ("                                       \
  "SELECT COUNT(*) FROM messages u WHERE u.conversation_id = c.id AND u.seq > COALESCE(r.read_seq, 0)" \
  " AND u.sender_id <> ?2 AND u.deleted = 0) END"                                                   \
  " FROM conversations c"                                                                           \
  " LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq"                        \
  " LEFT JOIN receipts r ON r.conversation_id = c.id AND r.member_id = ?2"

StoredAccount ReadAccount(const SqliteStmt& s) {
  StoredAccount a;
  a.account.id = AccountId(s.Text(0));
  a.account.email = s.Text(1);
  a.account.name = s.Text(2);
  a.password_hash = s.Text(3);
  a.account.created_at = s.Time(4);
  a.account.updated_at = s.Time(5);
  return a;
}

StoredApp ReadApp(const SqliteStmt& s) {
  StoredApp a;
  a.app.id = AppId(s.Text(0));
  a.app.account_id = AccountId(s.Text(1));
  a.app.name = s.Text(2);
  a.app.publishable_key = s.Text(3);
  a.secret_key_hash = s.Text(4);
  a.identity_secret = s.Text(5);
  a.app.theme_json = s.Text(6);
  a.app.prechat_json = s.Text(7);
  a.app.identity_verification = s.Bool(8);
  a.app.created_at = s.Time(9);
  a.app.updated_at = s.Time(10);
  a.app.limits.requests_per_s = s.Double(11);
  a.app.limits.burst = s.Int(12);
  a.app.limits.customer_sends_per_min = s.Double(13);
  return a;
}

Customer ReadCustomer(const SqliteStmt& s) {
  Customer c;
  c.id = CustomerId(s.Text(0));
  c.app_id = AppId(s.Text(1));
  c.external_id = s.Text(2);
  c.name = s.Text(3);
  c.email = s.Text(4);
  c.metadata_json = s.Text(5);
  c.created_at = s.Time(6);
  c.updated_at = s.Time(7);
  return c;
}

// Reads LIBCHAT_SQL_MSG_COLS starting at column `at`.
Result<Message> ReadMessage(const SqliteStmt& s, int at) {
  Message m;
  m.id = MessageId(s.Text(at + 0));
  m.conversation_id = ConversationId(s.Text(at + 1));
  m.app_id = AppId(s.Text(at + 2));
  m.seq = s.Int(at + 3);
  auto sender_type = ParseSenderType(s.TextView(at + 4));
  if (!sender_type) return CorruptRow("message sender type");
  m.sender.type = *sender_type;
  m.sender.id = s.Text(at + 5);
  m.text = s.Text(at + 6);
  m.metadata_json = s.Text(at + 7);
  m.client_msg_id = s.Text(at + 8);
  m.created_at = s.Time(at + 9);
  m.edited_at = s.OptTime(at + 10);
  m.deleted = s.Bool(at + 11);
  return m;
}

// Reads LIBCHAT_SQL_CONV_COLS starting at column 0.
Result<Conversation> ReadConversation(const SqliteStmt& s) {
  Conversation c;
  c.id = ConversationId(s.Text(0));
  c.app_id = AppId(s.Text(1));
  auto type = ParseConversationType(s.TextView(2));
  if (!type) return CorruptRow("conversation type");
  c.type = *type;
  auto status = ParseConversationStatus(s.TextView(3));
  if (!status) return CorruptRow("conversation status");
  c.status = *status;
  c.assignee_id = s.Text(4);
  c.name = s.Text(5);
  c.metadata_json = s.Text(6);
  c.customer_id = CustomerId(s.Text(7));
  c.last_seq = s.Int(8);
  c.snoozed_until = s.OptTime(9);
  c.created_at = s.Time(10);
  c.updated_at = s.Time(11);
  c.last_activity_at = s.Time(12);
  return c;
}

// Reads a LIBCHAT_SQL_CONV_VIEW_SELECT row.
Result<Conversation> ReadConversationView(const SqliteStmt& s) {
  LIBCHAT_ASSIGN_OR_RETURN(Conversation c, ReadConversation(s));
  if (!s.IsNull(kConvCols)) {
    LIBCHAT_ASSIGN_OR_RETURN(Message last, ReadMessage(s, kConvCols));
    c.last_message = std::move(last);
  }
  c.read_seq = s.Int(kConvCols + kMsgCols);
  c.unread_count = s.Int(kConvCols + kMsgCols + 1);
  return c;
}

// ---------------------------------------------------------------------------
// Statements.

constexpr const char kGetSetting[] = "SELECT value FROM settings WHERE key = ?1";
constexpr const char kInsertSettingIfAbsent[] =
    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING";

constexpr const char kInsertAccount[] =
    "INSERT INTO accounts (" LIBCHAT_SQL_ACCOUNT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr const char kGetAccount[] = "SELECT " LIBCHAT_SQL_ACCOUNT_COLS " FROM accounts WHERE id = ?1";
constexpr const char kFindAccountByEmail[] =
    "SELECT " LIBCHAT_SQL_ACCOUNT_COLS " FROM accounts WHERE email = ?1";
constexpr const char kUpdateAccount[] =
    "UPDATE accounts SET name = ?2, email = ?3, password_hash = ?4, updated_at = ?5 WHERE id = ?1";

constexpr const char kRevokeToken[] =
    "INSERT INTO revoked_tokens (token_id, expires_at) VALUES (?1, ?2)"
    " ON CONFLICT (token_id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)";
constexpr const char kIsTokenRevoked[] = "SELECT 1 FROM revoked_tokens WHERE token_id = ?1";

constexpr const char kInsertApp[] =
    "INSERT INTO apps (" LIBCHAT_SQL_APP_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
constexpr const char kGetApp[] = "SELECT " LIBCHAT_SQL_APP_COLS " FROM apps WHERE id = ?1";
constexpr const char kFindAppByPublishableKey[] =
    "SELECT " LIBCHAT_SQL_APP_COLS " FROM apps WHERE publishable_key = ?1";
constexpr const char kFindAppBySecretKeyHash[] =
    "SELECT " LIBCHAT_SQL_APP_COLS " FROM apps WHERE secret_key_hash = ?1";
// Creation order; `pk` (insertion order) breaks created_at ties. ?4 = limit + 1.
constexpr const char kListApps[] =
    "SELECT " LIBCHAT_SQL_APP_COLS ", pk FROM apps WHERE account_id = ?1 ORDER BY created_at, pk LIMIT ?4";
constexpr const char kListAppsAfter[] =
    "SELECT " LIBCHAT_SQL_APP_COLS ", pk FROM apps WHERE account_id = ?1"
    " AND created_at >= ?2 AND (created_at > ?2 OR pk > ?3) ORDER BY created_at, pk LIMIT ?4";
constexpr const char kUpdateApp[] =
    "UPDATE apps SET name = ?2, publishable_key = ?3, secret_key_hash = ?4, identity_secret = ?5,"
    " theme_json = ?6, prechat_json = ?7, identity_verification = ?8, updated_at = ?9,"
    " rate_requests_per_s = ?10, rate_burst = ?11, customer_sends_per_min = ?12 WHERE id = ?1";
constexpr const char kDeleteApp[] = "DELETE FROM apps WHERE id = ?1";

constexpr const char kInsertCustomer[] =
    "INSERT INTO customers (" LIBCHAT_SQL_CUSTOMER_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char kGetCustomer[] = "SELECT " LIBCHAT_SQL_CUSTOMER_COLS " FROM customers WHERE id = ?1";
constexpr const char kFindCustomerByExternalId[] =
    "SELECT " LIBCHAT_SQL_CUSTOMER_COLS
    " FROM customers WHERE app_id = ?1 AND external_id = ?2 AND external_id <> ''";
constexpr const char kUpdateCustomer[] =
    "UPDATE customers SET name = ?2, email = ?3, metadata_json = ?4, updated_at = ?5 WHERE id = ?1";

constexpr const char kInsertConversation[] =
    "INSERT INTO conversations (id, app_id, type, status, assignee_id, name, metadata_json, customer_id,"
    " last_seq, snoozed_until, created_at, updated_at, last_activity_at, dm_key)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, ?11, ?12, ?13)";
constexpr const char kListDueSnoozed[] =
    LIBCHAT_SQL_CONV_VIEW_SELECT " WHERE c.status = 'snoozed' AND c.snoozed_until <= ?1 AND ?2 = ''"
    " ORDER BY c.snoozed_until LIMIT ?3";
constexpr const char kFindDirectConversation[] =
    LIBCHAT_SQL_CONV_VIEW_SELECT " WHERE c.app_id = ?1 AND c.dm_key = ?3 AND c.dm_key <> ''";

constexpr const char kInsertMember[] =
    "INSERT INTO conversation_members (conversation_id, member_id, role, joined_at) VALUES (?1, ?2, ?3, ?4)";
constexpr const char kUpdateMemberRole[] =
    "UPDATE conversation_members SET role = ?3 WHERE conversation_id = ?1 AND member_id = ?2";
constexpr const char kDeleteMember[] =
    "DELETE FROM conversation_members WHERE conversation_id = ?1 AND member_id = ?2";
constexpr const char kGetMember[] =
    "SELECT member_id, role, joined_at FROM conversation_members WHERE conversation_id = ?1 AND member_id = ?2";
constexpr const char kListMembers[] =
    "SELECT member_id, role, joined_at FROM conversation_members WHERE conversation_id = ?1 ORDER BY rowid";
constexpr const char kListMemberships[] =
    "SELECT conversation_id FROM conversation_members WHERE member_id = ?1 LIMIT ?2";

constexpr const char kGetMessageById[] =
    "SELECT " LIBCHAT_SQL_MSG_COLS " FROM messages m WHERE m.id = ?1 AND m.conversation_id = ?2";
constexpr const char kInsertRevision[] =
    "INSERT INTO message_revisions (conversation_id, seq, kind, editor_id, previous_text, previous_metadata_json,"
    " revised_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr const char kReviseMessage[] =
    "UPDATE messages SET text = ?3, metadata_json = ?4, deleted = ?5, edited_at = ?6"
    " WHERE conversation_id = ?1 AND seq = ?2";
constexpr const char kGetConversationRow[] =
    "SELECT " LIBCHAT_SQL_CONV_COLS " FROM conversations c WHERE c.id = ?1";
constexpr const char kGetConversationView[] = LIBCHAT_SQL_CONV_VIEW_SELECT " WHERE c.id = ?1";
constexpr const char kUpdateConversation[] =
    "UPDATE conversations SET status = ?2, assignee_id = ?3, snoozed_until = ?4, name = ?5,"
    " metadata_json = ?6, updated_at = ?7 WHERE id = ?1";
constexpr const char kUpdateConversationOnAppend[] =
    "UPDATE conversations SET last_seq = ?2, last_activity_at = ?3, updated_at = ?4, status = ?5,"
    " snoozed_until = ?6 WHERE id = ?1";

constexpr const char kInsertMessage[] =
    "INSERT INTO messages (conversation_id, seq, sender_id, deleted, sender_type, client_msg_id, id, app_id,"
    " created_at, edited_at, text, metadata_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
constexpr const char kGetMessageBySeq[] =
    "SELECT " LIBCHAT_SQL_MSG_COLS " FROM messages m WHERE m.conversation_id = ?1 AND m.seq = ?2";
constexpr const char kFindMessageByClientId[] =
    "SELECT " LIBCHAT_SQL_MSG_COLS " FROM messages m WHERE m.conversation_id = ?1 AND m.sender_id = ?2"
    " AND m.client_msg_id = ?3 AND m.client_msg_id <> ''";
// Ascending from ?2 + 1, below ?4 (before_seq, or the largest integer).
constexpr const char kListMessagesAfter[] =
    "SELECT " LIBCHAT_SQL_MSG_COLS " FROM messages m WHERE m.conversation_id = ?1 AND m.seq > ?2"
    " AND m.seq < ?4 ORDER BY m.seq LIMIT ?3";
// The `limit` messages just below ?2, newest first (reversed by the caller).
constexpr const char kListMessagesBefore[] =
    "SELECT " LIBCHAT_SQL_MSG_COLS " FROM messages m WHERE m.conversation_id = ?1 AND m.seq < ?2"
    " ORDER BY m.seq DESC LIMIT ?3";
constexpr const char kConversationExists[] = "SELECT 1 FROM conversations WHERE id = ?1";

// Upsert that never moves a sequence number (or updated_at) back.
constexpr const char kAdvanceReceipt[] =
    "INSERT INTO receipts (conversation_id, member_id, delivered_seq, read_seq, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT (conversation_id, member_id) DO UPDATE SET"
    " delivered_seq = MAX(delivered_seq, excluded.delivered_seq),"
    " read_seq = MAX(read_seq, excluded.read_seq),"
    " updated_at = MAX(updated_at, excluded.updated_at)"
    " RETURNING delivered_seq, read_seq, updated_at";
// No row: no such conversation; NULLs: no receipt yet.
constexpr const char kGetReceipt[] =
    "SELECT r.delivered_seq, r.read_seq, r.updated_at FROM conversations c"
    " LEFT JOIN receipts r ON r.conversation_id = c.id AND r.member_id = ?2 WHERE c.id = ?1";

constexpr const char kHeartbeat[] = "UPDATE health SET beats = beats + 1 WHERE id = 1";

// ListConversations filters: one statement text per combination, built once.
enum ListFilter : unsigned {
  kFilterStatus = 1u << 0,
  kFilterAssignee = 1u << 1,
  kFilterType = 1u << 2,
  kFilterMember = 1u << 3,
  kFilterCursor = 1u << 4,
  kFilterCombinations = 1u << 5,
};

// Parameters: ?1 app, ?2 viewer, ?3 status, ?4 assignee, ?5 type, ?6 member,
// ?7/?8 cursor (last_activity_at, id), ?9 limit + 1.
std::string BuildListConversationsSql(unsigned filters) {
  std::string sql = LIBCHAT_SQL_CONV_VIEW_SELECT " WHERE c.app_id = ?1";
  if (filters & kFilterMember) {
    // One member's conversations are few: start from its memberships (CROSS
    // JOIN fixes that loop order) instead of walking the app's activity index.
    static constexpr std::string_view kFrom = " FROM conversations c";
    sql.replace(sql.find(kFrom), kFrom.size(),
                " FROM conversation_members mm CROSS JOIN conversations c ON c.id = mm.conversation_id");
    sql += " AND mm.member_id = ?6";
  }
  if (filters & kFilterStatus) sql += " AND c.status = ?3";
  if (filters & kFilterAssignee) sql += " AND c.assignee_id = ?4";
  if (filters & kFilterType) sql += " AND c.type = ?5";
  // Keyset: rows strictly after (?7, ?8) in (last_activity_at DESC, id DESC)
  // order; the first term is the one an index range can use.
  if (filters & kFilterCursor) {
    sql += " AND c.last_activity_at <= ?7 AND (c.last_activity_at < ?7 OR c.id < ?8)";
  }
  sql += " ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?9";
  return sql;
}

// ---------------------------------------------------------------------------
// Read connections: a fixed pool; a reader waits for a free connection.

class ReadPool {
 public:
  explicit ReadPool(std::vector<std::unique_ptr<SqliteConnection>> conns) : all_(std::move(conns)) {
    for (auto& c : all_) free_.push_back(c.get());
  }

  class Lease {
   public:
    Lease(ReadPool* pool, SqliteConnection* conn) : pool_(pool), conn_(conn) {}
    ~Lease() { pool_->Release(conn_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    SqliteConnection& operator*() const { return *conn_; }

   private:
    ReadPool* pool_;
    SqliteConnection* conn_;
  };

  Lease Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !free_.empty(); });
    SqliteConnection* conn = free_.back();
    free_.pop_back();
    return Lease(this, conn);
  }

 private:
  void Release(SqliteConnection* conn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      free_.push_back(conn);
    }
    cv_.notify_one();
  }

  std::vector<std::unique_ptr<SqliteConnection>> all_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<SqliteConnection*> free_;  // guarded by mu_
};

int ClampLimit(int limit) { return std::max(1, limit); }

}  // namespace

// ---------------------------------------------------------------------------

class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<SqliteWriter> writer, std::vector<std::unique_ptr<SqliteConnection>> readers)
      : writer_(std::move(writer)), readers_(std::make_unique<ReadPool>(std::move(readers))) {
    for (unsigned f = 0; f < kFilterCombinations; ++f) {
      list_conversations_sql_[f] = BuildListConversationsSql(f);
    }
  }

  ~SqliteStore() override {
    // Drain and stop the writer, close the readers, then the writer connection
    // last: closing the last connection checkpoints the WAL into the database.
    writer_->Stop();
    readers_.reset();
    writer_.reset();
  }

  SqliteStoreStats stats() const { return writer_->stats(); }
  StoreMetrics Metrics() const override { return writer_->metrics(); }

  // --- settings

  Result<std::optional<std::string>> GetSetting(std::string_view key) override {
    auto lease = readers_->Acquire();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(kGetSetting));
    s.Bind(1, key);
    LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read a setting"));
    if (!found) return std::optional<std::string>();
    return std::optional<std::string>(s.Text(0));
  }

  Result<std::string> PutSettingIfAbsent(std::string_view key, std::string_view value) override {
    std::string stored;
    auto run = [&](SqliteConnection& db) -> Status {
      {
        LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertSettingIfAbsent));
        s.Bind(1, key);
        s.Bind(2, value);
        LIBCHAT_RETURN_IF_ERROR(s.Run("cannot store a setting"));
      }
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kGetSetting));
      s.Bind(1, key);
      LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read a setting"));
      if (!found) return InternalError("setting vanished");
      stored = s.Text(0);
      return Status::Ok();
    };
    LIBCHAT_RETURN_IF_ERROR(writer_->Execute(run));
    return stored;
  }

  // --- accounts

  Status CreateAccount(const StoredAccount& account) override {
    auto run = [&](SqliteConnection& db) -> Status {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertAccount));
      s.Bind(1, account.account.id.str());
      s.Bind(2, account.account.email);
      s.Bind(3, account.account.name);
      s.Bind(4, account.password_hash);
      s.Bind(5, account.account.created_at);
      s.Bind(6, account.account.updated_at);
      return Explain(s.Run("cannot create the account"), "an account with this email or id already exists",
                     nullptr);
    };
    return writer_->Execute(run);
  }

  Result<StoredAccount> GetAccount(const AccountId& id) override {
    return ReadAccountBy(kGetAccount, id.str());
  }

  Result<StoredAccount> FindAccountByEmail(std::string_view email) override {
    return ReadAccountBy(kFindAccountByEmail, email);
  }

  Status UpdateAccount(const StoredAccount& account) override {
    auto run = [&](SqliteConnection& db) -> Status {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kUpdateAccount));
      s.Bind(1, account.account.id.str());
      s.Bind(2, account.account.name);
      s.Bind(3, account.account.email);
      s.Bind(4, account.password_hash);
      s.Bind(5, account.account.updated_at);
      LIBCHAT_RETURN_IF_ERROR(
          Explain(s.Run("cannot update the account"), "an account with this email already exists", nullptr));
      if (db.Changes() == 0) return NotFoundError("account not found");
      return Status::Ok();
    };
    return writer_->Execute(run);
  }

  // --- tokens

  Status RevokeToken(std::string_view token_id, Timestamp expires_at) override {
    auto run = [&](SqliteConnection& db) -> Status {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kRevokeToken));
      s.Bind(1, token_id);
      s.Bind(2, expires_at);
      return s.Run("cannot revoke the token");
    };
    return writer_->Execute(run);
  }

  Result<bool> IsTokenRevoked(std::string_view token_id) override {
    auto lease = readers_->Acquire();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(kIsTokenRevoked));
    s.Bind(1, token_id);
    return StepOne(s, "cannot read token revocations");
  }

  // --- apps

  Status CreateApp(const StoredApp& app) override {
    auto run = [&](SqliteConnection& db) -> Status {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertApp));
      s.Bind(1, app.app.id.str());
      s.Bind(2, app.app.account_id.str());
      BindAppFields(s, app, 3);
      s.Bind(10, app.app.created_at);
      s.Bind(11, app.app.updated_at);
      BindAppLimits(s, app.app.limits, 12);
      return Explain(s.Run("cannot create the app"), "an app with this id or key already exists", nullptr);
    };
    return writer_->Execute(run);
  }

  Result<StoredApp> GetApp(const AppId& id) override { return ReadAppBy(kGetApp, id.str()); }

  Result<Page<App>> ListApps(const AccountId& owner, std::string_view cursor, int limit) override {
    limit = ClampLimit(limit);
    std::optional<Cursor> after;
    std::int64_t after_pk = 0;
    if (!cursor.empty()) {
      LIBCHAT_ASSIGN_OR_RETURN(after, DecodeCursor(cursor));
      auto [ptr, ec] = std::from_chars(after->text.data(), after->text.data() + after->text.size(), after_pk);
      if (ec != std::errc() || ptr != after->text.data() + after->text.size()) {
        return InvalidArgumentError("invalid cursor");
      }
    }
    auto lease = readers_->Acquire();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(after ? kListAppsAfter : kListApps));
    s.Bind(1, owner.str());
    if (after) {
      s.Bind(2, after->number);
      s.Bind(3, after_pk);
    }
    s.Bind(4, limit + 1);
    Page<App> page;
    std::int64_t last_pk = 0;
    for (;;) {
      int rc = s.Step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(rc, "cannot list apps");
      if (static_cast<int>(page.data.size()) == limit) {
        const App& last = page.data.back();
        page.next_cursor = EncodeCursor(ToMillis(last.created_at), std::to_string(last_pk));
        break;
      }
      page.data.push_back(ReadApp(s).app);
      last_pk = s.Int(kAppCols);
    }
    return page;
  }

  Status UpdateApp(const StoredApp& app) override {
    auto run = [&](SqliteConnection& db) -> Status {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kUpdateApp));
      s.Bind(1, app.app.id.str());
      BindAppFields(s, app, 2);
      s.Bind(9, app.app.updated_at);
      BindAppLimits(s, app.app.limits, 10);
      LIBCHAT_RETURN_IF_ERROR(
          Explain(s.Run("cannot update the app"), "an app with this key already exists", nullptr));
      if (db.Changes() == 0) return NotFoundError("app not found");
      return Status::Ok();
    };
    return writer_->Execute(run);
  }

  Status DeleteApp(const AppId& id) override {
    auto run = [&](SqliteConnection& db) -> Status {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kDeleteApp));
      s.Bind(1, id.str());
      // Cascades to everything under it, its operator assignments and its knowledge entries
      // (whose triggers take them out of the full-text index).
      LIBCHAT_RETURN_IF_ERROR(s.Run("cannot delete the app"));
      if (db.Changes() == 0) return NotFoundError("app not found");
      return Status::Ok();
    };
    return writer_->Execute(run);
  }

  Result<StoredApp> FindAppByPublishableKey(std::string_view publishable_key) override {
    return ReadAppBy(kFindAppByPublishableKey, publishable_key);
  }

  Result<StoredApp> FindAppBySecretKeyHash(std::string_view secret_key_hash) override {
    return ReadAppBy(kFindAppBySecretKeyHash, secret_key_hash);
  }

  // --- customers

  Status CreateCustomer(const Customer& customer) override {
    auto run = [&](SqliteConnection& db) -> Status {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertCustomer));
      s.Bind(1, customer.id.str());
      s.Bind(2, customer.app_id.str());
      s.Bind(3, customer.external_id);
      s.Bind(4, customer.name);
      s.Bind(5, customer.email);
      s.Bind(6, customer.metadata_json);
      s.Bind(7, customer.created_at);
      s.Bind(8, customer.updated_at);
      return Explain(s.Run("cannot create the customer"),
                     "a customer with this id or external id already exists", "app not found");
    };
    return writer_->Execute(run);
  }

  Result<Customer> GetCustomer(const CustomerId& id) override {
    auto lease = readers_->Acquire();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(kGetCustomer));
    s.Bind(1, id.str());
    LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the customer"));
    if (!found) return NotFoundError("customer not found");
    return ReadCustomer(s);
  }

  Result<Customer> FindCustomerByExternalId(const AppId& app, std::string_view external_id) override {
    auto lease = readers_->Acquire();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(kFindCustomerByExternalId));
    s.Bind(1, app.str());
    s.Bind(2, external_id);
    LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the customer"));
    if (!found) return NotFoundError("customer not found");
    return ReadCustomer(s);
  }

  Status UpdateCustomer(const Customer& customer) override {
    auto run = [&](SqliteConnection& db) -> Status {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kUpdateCustomer));
      s.Bind(1, customer.id.str());
      s.Bind(2, customer.name);
      s.Bind(3, customer.email);
      s.Bind(4, customer.metadata_json);
      s.Bind(5, customer.updated_at);
      LIBCHAT_RETURN_IF_ERROR(s.Run("cannot update the customer"));
      if (db.Changes() == 0) return NotFoundError("customer not found");
      return Status::Ok();
    };
    return writer_->Execute(run);
  }

  // --- conversations

  Status CreateConversation(const Conversation& conversation) override {
    return CreateConversationAndEnqueue(conversation, {});
  }

  Status CreateConversationAndEnqueue(const Conversation& conversation,
                                      const std::vector<Delivery>& outbox) override {
    const bool direct = conversation.type == ConversationType::kDm && conversation.members.size() == 2;
    const std::string dm_key =
        direct ? DirectKey(conversation.members[0].id, conversation.members[1].id) : std::string();
    auto run = [&](SqliteConnection& db) -> Status {
      LIBCHAT_RETURN_IF_ERROR(InsertConversation(db, conversation, dm_key));
      for (const Member& member : conversation.members) {
        LIBCHAT_RETURN_IF_ERROR(InsertMember(db, conversation.id, member));
      }
      return sqlite_delivery::InsertDeliveries(db, outbox);
    };
    return writer_->Execute(run);
  }

  Result<Conversation> FindDirectConversation(const AppId& app, std::string_view member_a,
                                              std::string_view member_b) override {
    auto lease = readers_->Acquire();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(kFindDirectConversation));
    s.Bind(1, app.str());
    s.Bind(2, std::string_view());
    const std::string key = DirectKey(member_a, member_b);
    s.Bind(3, key);
    LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the conversation"));
    if (!found) return NotFoundError("conversation not found");
    return ReadConversationView(s);
  }

 private:
  static std::string DirectKey(std::string_view a, std::string_view b) {
    if (b < a) std::swap(a, b);
    std::string key(a);
    key += '|';
    key += b;
    return key;
  }

  static Status InsertConversation(SqliteConnection& db, const Conversation& conversation,
                                   const std::string& dm_key) {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertConversation));
    s.Bind(1, conversation.id.str());
    s.Bind(2, conversation.app_id.str());
    s.Bind(3, std::string_view(ConversationTypeName(conversation.type)));
    s.Bind(4, std::string_view(ConversationStatusName(conversation.status)));
    s.Bind(5, conversation.assignee_id);
    s.Bind(6, conversation.name);
    s.Bind(7, conversation.metadata_json);
    s.Bind(8, conversation.customer_id.str());
    s.Bind(9, conversation.snoozed_until);
    s.Bind(10, conversation.created_at);
    s.Bind(11, conversation.updated_at);
    s.Bind(12, conversation.last_activity_at);
    s.Bind(13, dm_key);
    return Explain(s.Run("cannot create the conversation"),
                   "the conversation (or a dm between these members) already exists", "app not found");
  }

  static Status InsertMember(SqliteConnection& db, const ConversationId& conversation, const Member& member) {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertMember));
    s.Bind(1, conversation.str());
    s.Bind(2, member.id);
    s.Bind(3, std::string_view(MemberRoleName(member.role)));
    s.Bind(4, member.joined_at);
    return Explain(s.Run("cannot add the member"), "already a member", "conversation not found");
  }

  static Result<Member> ReadMember(const SqliteStmt& s) {
    Member member;
    member.id = s.Text(0);
    auto role = ParseMemberRole(s.TextView(1));
    if (!role) return CorruptRow("member role");
    member.role = *role;
    member.joined_at = s.Time(2);
    return member;
  }

 public:

  Result<Conversation> GetConversation(const ConversationId& id, std::string_view viewer_id) override {
    auto lease = readers_->Acquire();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(kGetConversationView));
    s.Bind(1, id.str());
    s.Bind(2, viewer_id);
    LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the conversation"));
    if (!found) return NotFoundError("conversation not found");
    return ReadConversationView(s);
  }

  Status UpdateConversation(const Conversation& conversation) override {
    return UpdateConversationAndEnqueue(conversation, {});
  }

  Status UpdateConversationAndEnqueue(const Conversation& conversation,
                                      const std::vector<Delivery>& outbox) override {
    auto run = [&](SqliteConnection& db) -> Status {
      {
        LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kUpdateConversation));
        s.Bind(1, conversation.id.str());
        s.Bind(2, std::string_view(ConversationStatusName(conversation.status)));
        s.Bind(3, conversation.assignee_id);
        s.Bind(4, conversation.snoozed_until);
        s.Bind(5, conversation.name);
        s.Bind(6, conversation.metadata_json);
        s.Bind(7, conversation.updated_at);
        LIBCHAT_RETURN_IF_ERROR(s.Run("cannot update the conversation"));
        if (db.Changes() == 0) return NotFoundError("conversation not found");
      }
      return sqlite_delivery::InsertDeliveries(db, outbox);
    };
    return writer_->Execute(run);
  }

  Result<std::vector<Conversation>> ListDueSnoozed(Timestamp now, int limit) override {
    auto lease = readers_->Acquire();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(kListDueSnoozed));
    s.Bind(1, now);
    s.Bind(2, std::string_view());
    s.Bind(3, std::max(limit, 0));
    std::vector<Conversation> due;
    for (;;) {
      int rc = s.Step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(rc, "cannot list snoozed conversations");
      LIBCHAT_ASSIGN_OR_RETURN(Conversation c, ReadConversationView(s));
      due.push_back(std::move(c));
    }
    return due;
  }

  Result<Page<Conversation>> ListConversations(const ConversationQuery& query) override {
    const int limit = ClampLimit(query.limit);
    std::optional<Cursor> after;
    if (!query.cursor.empty()) {
      LIBCHAT_ASSIGN_OR_RETURN(after, DecodeCursor(query.cursor));
    }
    unsigned filters = 0;
    if (query.status) filters |= kFilterStatus;
    if (query.assignee_id) filters |= kFilterAssignee;
    if (query.type) filters |= kFilterType;
    if (query.member_id) filters |= kFilterMember;
    if (after) filters |= kFilterCursor;

    auto lease = readers_->Acquire();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(list_conversations_sql_[filters].c_str()));
    s.Bind(1, query.app_id.str());
    s.Bind(2, query.viewer_id);
    if (query.status) s.Bind(3, std::string_view(ConversationStatusName(*query.status)));
    if (query.assignee_id) s.Bind(4, *query.assignee_id);
    if (query.type) s.Bind(5, std::string_view(ConversationTypeName(*query.type)));
    if (query.member_id) s.Bind(6, *query.member_id);
    if (after) {
      s.Bind(7, after->number);
      s.Bind(8, after->text);
    }
    s.Bind(9, limit + 1);

    Page<Conversation> page;
    for (;;) {
      int rc = s.Step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(rc, "cannot list conversations");
      if (static_cast<int>(page.data.size()) == limit) {
        const Conversation& last = page.data.back();
        page.next_cursor = EncodeCursor(ToMillis(last.last_activity_at), last.id.str());
        break;
      }
      LIBCHAT_ASSIGN_OR_RETURN(Conversation c, ReadConversationView(s));
      page.data.push_back(std::move(c));
    }
    return page;
  }

  // --- messages

  Result<AppendResult> AppendMessage(const AppendRequest& request, const CommitHook& on_commit) override {
    AppendResult result;
    auto run = [&](SqliteConnection& db) -> Status { return Append(db, request, result); };
    auto after = [&] {
      if (result.created && on_commit) on_commit(result);
    };
    LIBCHAT_RETURN_IF_ERROR(writer_->Execute(run, after));
    return result;
  }

  Result<std::vector<Message>> ListMessages(const MessageQuery& query) override {
    // Contract: at most one of after_seq / before_seq. Given both, this returns
    // ascending from after_seq + 1 and stops below before_seq.
    const int limit = std::max(0, query.limit);
    const bool descending = query.before_seq && !query.after_seq;
    auto lease = readers_->Acquire();
    std::vector<Message> messages;
    {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s,
                               (*lease).Prepare(descending ? kListMessagesBefore : kListMessagesAfter));
      s.Bind(1, query.conversation_id.str());
      s.Bind(2, descending ? *query.before_seq : query.after_seq.value_or(0));
      s.Bind(3, limit);
      if (!descending) s.Bind(4, query.before_seq.value_or(std::numeric_limits<std::int64_t>::max()));
      for (;;) {
        int rc = s.Step();
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return SqliteError(rc, "cannot list messages");
        LIBCHAT_ASSIGN_OR_RETURN(Message m, ReadMessage(s, 0));
        messages.push_back(std::move(m));
      }
    }
    if (messages.empty()) {
      // Only an empty page pays for telling "no such conversation" from "no messages here".
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(kConversationExists));
      s.Bind(1, query.conversation_id.str());
      LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the conversation"));
      if (!found) return NotFoundError("conversation not found");
    }
    if (descending) std::reverse(messages.begin(), messages.end());
    return messages;
  }

  Result<Message> GetMessage(const ConversationId& conversation, const MessageId& id) override {
    auto lease = readers_->Acquire();
    return MessageById(*lease, conversation, id);
  }

  Result<Message> ReviseMessage(const MessageRevision& revision) override {
    Message message;
    auto run = [&](SqliteConnection& db) -> Status {
      LIBCHAT_ASSIGN_OR_RETURN(message, MessageById(db, revision.conversation_id, revision.message_id));
      {
        LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertRevision));
        s.Bind(1, revision.conversation_id.str());
        s.Bind(2, message.seq);
        s.Bind(3, std::string_view(revision.deleted ? "delete" : "edit"));
        s.Bind(4, revision.editor_id);
        s.Bind(5, message.text);
        s.Bind(6, message.metadata_json);
        s.Bind(7, revision.at);
        LIBCHAT_RETURN_IF_ERROR(s.Run("cannot log the message revision"));
      }
      if (revision.deleted) {
        message.deleted = true;
        message.text.clear();
        message.metadata_json = "{}";
      } else {
        if (revision.text) message.text = *revision.text;
        if (revision.metadata_json) message.metadata_json = *revision.metadata_json;
      }
      message.edited_at = revision.at;
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kReviseMessage));
      s.Bind(1, revision.conversation_id.str());
      s.Bind(2, message.seq);
      s.Bind(3, message.text);
      s.Bind(4, message.metadata_json);
      s.Bind(5, message.deleted);
      s.Bind(6, message.edited_at);
      LIBCHAT_RETURN_IF_ERROR(s.Run("cannot revise the message"));
      return sqlite_delivery::InsertDeliveries(db, revision.outbox);
    };
    LIBCHAT_RETURN_IF_ERROR(writer_->Execute(run));
    return message;
  }

  // --- members

  Result<bool> PutMember(const ConversationId& conversation, const Member& member) override {
    bool added = false;
    auto run = [&](SqliteConnection& db) -> Status {
      {
        LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kUpdateMemberRole));
        s.Bind(1, conversation.str());
        s.Bind(2, member.id);
        s.Bind(3, std::string_view(MemberRoleName(member.role)));
        LIBCHAT_RETURN_IF_ERROR(s.Run("cannot change the member"));
        if (db.Changes() > 0) return Status::Ok();
      }
      added = true;
      return InsertMember(db, conversation, member);
    };
    LIBCHAT_RETURN_IF_ERROR(writer_->Execute(run));
    return added;
  }

  Status RemoveMember(const ConversationId& conversation, std::string_view member_id) override {
    auto run = [&](SqliteConnection& db) -> Status {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kDeleteMember));
      s.Bind(1, conversation.str());
      s.Bind(2, member_id);
      LIBCHAT_RETURN_IF_ERROR(s.Run("cannot remove the member"));
      if (db.Changes() == 0) return NotFoundError("member not found");
      return Status::Ok();
    };
    return writer_->Execute(run);
  }

  Result<Member> GetMember(const ConversationId& conversation, std::string_view member_id) override {
    auto lease = readers_->Acquire();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(kGetMember));
    s.Bind(1, conversation.str());
    s.Bind(2, member_id);
    LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the member"));
    if (!found) return NotFoundError("member not found");
    return ReadMember(s);
  }

  Result<std::vector<Member>> ListMembers(const ConversationId& conversation) override {
    auto lease = readers_->Acquire();
    std::vector<Member> members;
    {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(kListMembers));
      s.Bind(1, conversation.str());
      for (;;) {
        int rc = s.Step();
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return SqliteError(rc, "cannot list members");
        LIBCHAT_ASSIGN_OR_RETURN(Member member, ReadMember(s));
        members.push_back(std::move(member));
      }
    }
    if (members.empty()) {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(kConversationExists));
      s.Bind(1, conversation.str());
      LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the conversation"));
      if (!found) return NotFoundError("conversation not found");
    }
    return members;
  }

  Result<std::vector<ConversationId>> ListMemberships(std::string_view member_id, int limit) override {
    auto lease = readers_->Acquire();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(kListMemberships));
    s.Bind(1, member_id);
    s.Bind(2, std::max(limit, 0));
    std::vector<ConversationId> ids;
    for (;;) {
      int rc = s.Step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(rc, "cannot list memberships");
      ids.emplace_back(s.Text(0));
    }
    return ids;
  }

  // --- receipts

  Result<Receipt> AdvanceReceipt(const ConversationId& conversation, std::string_view member_id,
                                 std::int64_t delivered_seq, std::int64_t read_seq, Timestamp now) override {
    Receipt receipt;
    receipt.conversation_id = conversation;
    receipt.member_id = std::string(member_id);
    auto run = [&](SqliteConnection& db) -> Status {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kAdvanceReceipt));
      s.Bind(1, conversation.str());
      s.Bind(2, member_id);
      s.Bind(3, delivered_seq);
      s.Bind(4, read_seq);
      s.Bind(5, now);
      int rc = s.Step();
      if (rc != SQLITE_ROW) {
        return Explain(SqliteError(rc, "cannot store the receipt"), nullptr, "conversation not found");
      }
      receipt.delivered_seq = s.Int(0);
      receipt.read_seq = s.Int(1);
      receipt.updated_at = s.Time(2);
      return Status::Ok();
    };
    LIBCHAT_RETURN_IF_ERROR(writer_->Execute(run));
    return receipt;
  }

  Result<Receipt> GetReceipt(const ConversationId& conversation, std::string_view member_id) override {
    Receipt receipt;
    receipt.conversation_id = conversation;
    receipt.member_id = std::string(member_id);
    auto lease = readers_->Acquire();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(kGetReceipt));
    s.Bind(1, conversation.str());
    s.Bind(2, member_id);
    LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the receipt"));
    if (!found) return NotFoundError("conversation not found");
    if (!s.IsNull(0)) {
      receipt.delivered_seq = s.Int(0);
      receipt.read_seq = s.Int(1);
      receipt.updated_at = s.Time(2);
    }
    return receipt;
  }

  // --- webhook endpoints

  Status CreateWebhook(const StoredWebhook& webhook) override {
    auto run = [&](SqliteConnection& db) { return sqlite_delivery::CreateWebhook(db, webhook); };
    return writer_->Execute(run);
  }

  Result<StoredWebhook> GetWebhook(const WebhookId& id) override {
    auto lease = readers_->Acquire();
    return sqlite_delivery::GetWebhook(*lease, id);
  }

  Result<std::vector<StoredWebhook>> ListWebhooks(const AppId& app) override {
    auto lease = readers_->Acquire();
    return sqlite_delivery::ListWebhooks(*lease, app);
  }

  Status UpdateWebhook(const StoredWebhook& webhook) override {
    auto run = [&](SqliteConnection& db) { return sqlite_delivery::UpdateWebhook(db, webhook); };
    return writer_->Execute(run);
  }

  Status DeleteWebhook(const WebhookId& id) override {
    auto run = [&](SqliteConnection& db) { return sqlite_delivery::DeleteWebhook(db, id); };
    return writer_->Execute(run);
  }

  // --- per-app settings

  Result<std::optional<std::string>> GetAppSetting(const AppId& app, std::string_view key) override {
    auto lease = readers_->Acquire();
    return sqlite_delivery::GetAppSetting(*lease, app, key);
  }

  Status PutAppSetting(const AppId& app, std::string_view key, std::string_view value) override {
    auto run = [&](SqliteConnection& db) { return sqlite_delivery::PutAppSetting(db, app, key, value); };
    return writer_->Execute(run);
  }

  // --- outbox

  Status EnqueueDeliveries(const std::vector<Delivery>& deliveries) override {
    if (deliveries.empty()) return Status::Ok();
    auto run = [&](SqliteConnection& db) { return sqlite_delivery::InsertDeliveries(db, deliveries); };
    return writer_->Execute(run);
  }

  // One write op, so the select and the lease are in one transaction and the
  // single writer serializes claimers: no two get the same delivery.
  Result<std::vector<Delivery>> ClaimDueDeliveries(Timestamp now, Timestamp lease_until, int limit) override {
    std::vector<Delivery> claimed;
    if (limit <= 0) return claimed;
    auto run = [&](SqliteConnection& db) -> Status {
      LIBCHAT_ASSIGN_OR_RETURN(claimed, sqlite_delivery::ClaimDue(db, now, lease_until, limit));
      return Status::Ok();
    };
    LIBCHAT_RETURN_IF_ERROR(writer_->Execute(run));
    return claimed;
  }

  Status UpdateDelivery(const DeliveryUpdate& update) override {
    auto run = [&](SqliteConnection& db) { return sqlite_delivery::UpdateDelivery(db, update); };
    return writer_->Execute(run);
  }

  Result<Delivery> GetDelivery(const DeliveryId& id) override {
    auto lease = readers_->Acquire();
    return sqlite_delivery::GetDelivery(*lease, id);
  }

  Result<Page<Delivery>> ListDeliveries(const DeliveryQuery& query) override {
    auto lease = readers_->Acquire();
    return sqlite_delivery::ListDeliveries(*lease, query);
  }

  Result<int> WakeDeliveries(std::string_view recipient_id, DeliveryChannel channel, Timestamp now) override {
    int woken = 0;
    auto run = [&](SqliteConnection& db) -> Status {
      LIBCHAT_ASSIGN_OR_RETURN(woken, sqlite_delivery::Wake(db, recipient_id, channel, now));
      return Status::Ok();
    };
    LIBCHAT_RETURN_IF_ERROR(writer_->Execute(run));
    return woken;
  }

  Result<std::optional<Timestamp>> NextDeliveryDue() override {
    auto lease = readers_->Acquire();
    return sqlite_delivery::NextDue(*lease);
  }

  // --- notifications

  Status CreateNotification(const Notification& notification, const std::vector<Delivery>& deliveries) override {
    auto run = [&](SqliteConnection& db) {
      return sqlite_delivery::CreateNotification(db, notification, deliveries);
    };
    return writer_->Execute(run);
  }

  Result<Notification> GetNotification(const NotificationId& id) override {
    auto lease = readers_->Acquire();
    return sqlite_delivery::GetNotification(*lease, id);
  }

  Status UpdateNotificationStatus(const NotificationId& id, NotificationStatus expected, NotificationStatus status,
                                  Timestamp at, const std::vector<Delivery>& enqueue) override {
    auto run = [&](SqliteConnection& db) {
      return sqlite_delivery::UpdateNotificationStatus(db, id, expected, status, at, enqueue);
    };
    return writer_->Execute(run);
  }

  Status CancelNotification(const NotificationId& id, Timestamp at) override {
    auto run = [&](SqliteConnection& db) { return sqlite_delivery::CancelNotification(db, id, at); };
    return writer_->Execute(run);
  }

  Status RetryNotification(const NotificationId& id, Timestamp at) override {
    auto run = [&](SqliteConnection& db) { return sqlite_delivery::RetryNotification(db, id, at); };
    return writer_->Execute(run);
  }

  // --- operators

  Status CreateOperators(const std::vector<Operator>& operators) override {
    // One op, so one savepoint: a failing operator undoes the ones before it.
    auto run = [&](SqliteConnection& db) { return sqlite_team::CreateOperators(db, operators); };
    return writer_->Execute(run);
  }

  Result<Operator> GetOperator(const OperatorId& id) override {
    auto lease = readers_->Acquire();
    return sqlite_team::GetOperator(*lease, id);
  }

  Result<Page<Operator>> ListOperators(const OperatorQuery& query) override {
    auto lease = readers_->Acquire();
    return sqlite_team::ListOperators(*lease, query);
  }

  Status UpdateOperator(const Operator& op) override {
    auto run = [&](SqliteConnection& db) { return sqlite_team::UpdateOperator(db, op); };
    return writer_->Execute(run);
  }

  Result<std::vector<Operator>> ListActiveAppOperators(const AppId& app) override {
    auto lease = readers_->Acquire();
    return sqlite_team::ListActiveAppOperators(*lease, app);
  }

  // --- knowledge base

  Status CreateKnowledgeEntry(const KnowledgeEntry& entry) override {
    auto run = [&](SqliteConnection& db) { return sqlite_team::CreateKnowledgeEntry(db, entry); };
    return writer_->Execute(run);
  }

  Result<KnowledgeEntry> GetKnowledgeEntry(const KnowledgeId& id) override {
    auto lease = readers_->Acquire();
    return sqlite_team::GetKnowledgeEntry(*lease, id);
  }

  Result<Page<KnowledgeEntry>> ListKnowledgeEntries(const AppId& app, std::string_view cursor, int limit) override {
    auto lease = readers_->Acquire();
    return sqlite_team::ListKnowledgeEntries(*lease, app, cursor, limit);
  }

  Status UpdateKnowledgeEntry(const KnowledgeEntry& entry) override {
    auto run = [&](SqliteConnection& db) { return sqlite_team::UpdateKnowledgeEntry(db, entry); };
    return writer_->Execute(run);
  }

  Status DeleteKnowledgeEntry(const KnowledgeId& id) override {
    auto run = [&](SqliteConnection& db) { return sqlite_team::DeleteKnowledgeEntry(db, id); };
    return writer_->Execute(run);
  }

  Result<std::vector<KnowledgeMatch>> SearchKnowledge(const KnowledgeQuery& query) override {
    auto lease = readers_->Acquire();
    return sqlite_team::SearchKnowledge(*lease, query);
  }

  // --- health

  Status CheckWritable() override {
    // A real write (not just BEGIN/ROLLBACK), so that the COMMIT has to reach
    // the disk: a read-only or full volume fails here.
    auto run = [](SqliteConnection& db) -> Status {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kHeartbeat));
      return s.Run("cannot write to the database");
    };
    return writer_->Execute(run);
  }

 private:
  // Binds name, publishable_key, secret_key_hash, identity_secret, theme_json,
  // prechat_json, identity_verification to ?first .. ?first+6.
  static void BindAppFields(SqliteStmt& s, const StoredApp& app, int first) {
    s.Bind(first + 0, app.app.name);
    s.Bind(first + 1, app.app.publishable_key);
    s.Bind(first + 2, app.secret_key_hash);
    s.Bind(first + 3, app.identity_secret);
    s.Bind(first + 4, app.app.theme_json);
    s.Bind(first + 5, app.app.prechat_json);
    s.Bind(first + 6, app.app.identity_verification);
  }
  // Binds requests_per_s, burst, customer_sends_per_min to ?first .. ?first+2.
  static void BindAppLimits(SqliteStmt& s, const AppLimits& limits, int first) {
    s.Bind(first + 0, limits.requests_per_s);
    s.Bind(first + 1, limits.burst);
    s.Bind(first + 2, limits.customer_sends_per_min);
  }

  Result<StoredAccount> ReadAccountBy(const char* sql, std::string_view key) {
    auto lease = readers_->Acquire();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(sql));
    s.Bind(1, key);
    LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the account"));
    if (!found) return NotFoundError("account not found");
    return ReadAccount(s);
  }

  Result<StoredApp> ReadAppBy(const char* sql, std::string_view key) {
    auto lease = readers_->Acquire();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, (*lease).Prepare(sql));
    s.Bind(1, key);
    LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the app"));
    if (!found) return NotFoundError("app not found");
    return ReadApp(s);
  }

  static Result<Message> MessageById(SqliteConnection& db, const ConversationId& conversation,
                                     const MessageId& id) {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kGetMessageById));
    s.Bind(1, id.str());
    s.Bind(2, conversation.str());
    LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the message"));
    if (!found) return NotFoundError("message not found");
    return ReadMessage(s, 0);
  }

  static Result<std::optional<Message>> MessageBySeq(SqliteConnection& db, const ConversationId& id,
                                                     std::int64_t seq) {
    if (seq <= 0) return std::optional<Message>();
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kGetMessageBySeq));
    s.Bind(1, id.str());
    s.Bind(2, seq);
    LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read a message"));
    if (!found) return std::optional<Message>();
    LIBCHAT_ASSIGN_OR_RETURN(Message m, ReadMessage(s, 0));
    return std::optional<Message>(std::move(m));
  }

  // The write op of AppendMessage, on the writer thread inside its savepoint.
  // The writer serializes appends, so last_seq + 1 and the dedupe check cannot race;
  // the primary key and the partial unique index are the backstop.
  static Status Append(SqliteConnection& db, const AppendRequest& request, AppendResult& result) {
    const Message& in = request.message;
    Conversation conv;
    {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kGetConversationRow));
      s.Bind(1, in.conversation_id.str());
      LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the conversation"));
      if (!found) return NotFoundError("conversation not found");
      LIBCHAT_ASSIGN_OR_RETURN(conv, ReadConversation(s));
    }

    if (!in.client_msg_id.empty()) {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kFindMessageByClientId));
      s.Bind(1, in.conversation_id.str());
      s.Bind(2, in.sender.id);
      s.Bind(3, in.client_msg_id);
      LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read a message"));
      if (found) {
        LIBCHAT_ASSIGN_OR_RETURN(result.message, ReadMessage(s, 0));
        LIBCHAT_ASSIGN_OR_RETURN(conv.last_message, MessageBySeq(db, conv.id, conv.last_seq));
        result.conversation = std::move(conv);
        result.created = false;
        return Status::Ok();
      }
    }

    Message m = in;
    m.seq = conv.last_seq + 1;
    if (m.app_id.empty()) m.app_id = conv.app_id;
    {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertMessage));
      s.Bind(1, m.conversation_id.str());
      s.Bind(2, m.seq);
      s.Bind(3, m.sender.id);
      s.Bind(4, m.deleted);
      s.Bind(5, std::string_view(SenderTypeName(m.sender.type)));
      s.Bind(6, m.client_msg_id);
      s.Bind(7, m.id.str());
      s.Bind(8, m.app_id.str());
      s.Bind(9, m.created_at);
      s.Bind(10, m.edited_at);
      s.Bind(11, m.text);
      s.Bind(12, m.metadata_json);
      LIBCHAT_RETURN_IF_ERROR(
          Explain(s.Run("cannot store the message"), "a message with this id already exists", nullptr));
    }

    conv.last_seq = m.seq;
    conv.last_activity_at = m.created_at;
    conv.updated_at = m.created_at;
    if (request.reopen &&
        (conv.status == ConversationStatus::kResolved || conv.status == ConversationStatus::kSnoozed)) {
      conv.status = ConversationStatus::kOpen;
      conv.snoozed_until.reset();
    }
    {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kUpdateConversationOnAppend));
      s.Bind(1, conv.id.str());
      s.Bind(2, conv.last_seq);
      s.Bind(3, conv.last_activity_at);
      s.Bind(4, conv.updated_at);
      s.Bind(5, std::string_view(ConversationStatusName(conv.status)));
      s.Bind(6, conv.snoozed_until);
      LIBCHAT_RETURN_IF_ERROR(s.Run("cannot update the conversation"));
    }
    conv.last_message = m;
    result.message = std::move(m);
    result.conversation = std::move(conv);
    result.created = true;
    // Still inside the op's savepoint: a delivery that cannot be enqueued undoes the append.
    if (request.outbox) return sqlite_delivery::InsertDeliveries(db, request.outbox(result));
    return Status::Ok();
  }

  std::unique_ptr<SqliteWriter> writer_;
  std::unique_ptr<ReadPool> readers_;
  // Indexed by a ListFilter bit set; the texts never change after construction,
  // so their addresses are stable statement-cache keys.
  std::array<std::string, kFilterCombinations> list_conversations_sql_;
};

namespace {

Status ConfigureWriter(SqliteConnection& db, const SqliteStoreOptions& options) {
  LIBCHAT_ASSIGN_OR_RETURN(std::string mode, db.QueryText("PRAGMA journal_mode = WAL", "cannot enable WAL"));
  if (mode != "wal") return FailedPreconditionError("the database cannot use WAL mode");
  LIBCHAT_RETURN_IF_ERROR(
      db.Exec(options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
              "cannot configure the database"));
  LIBCHAT_RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = ON", "cannot configure the database"));
  LIBCHAT_ASSIGN_OR_RETURN(std::int64_t fk,
                           db.QueryInt("PRAGMA foreign_keys", "cannot configure the database"));
  if (fk != 1) return FailedPreconditionError("this SQLite build does not enforce foreign keys");
  // Statement journals (savepoints) in memory; a bigger page cache for the writer;
  // keep the WAL file from staying huge after a burst.
  return db.Exec(
      "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16384; PRAGMA journal_size_limit = 67108864",
      "cannot configure the database");
}

}  // namespace

std::optional<SqliteStoreStats> GetSqliteStoreStats(const Store& store) {
  auto* sqlite = dynamic_cast<const SqliteStore*>(&store);
  if (sqlite == nullptr) return std::nullopt;
  return sqlite->stats();
}

Result<SqliteSchemaInfo> InspectSqliteSchema(const std::string& path) {
  SqliteConnection::Options conn_options;
  conn_options.read_only = true;
  LIBCHAT_ASSIGN_OR_RETURN(auto db, SqliteConnection::Open(path, conn_options));
  SqliteSchemaInfo info;
  info.latest_known_version = SqliteSchemaLatestVersion();
  LIBCHAT_ASSIGN_OR_RETURN(std::int64_t version, db->QueryInt("PRAGMA user_version", "cannot read the schema"));
  info.user_version = static_cast<int>(version);
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db->Prepare("SELECT version FROM schema_migrations ORDER BY version"));
  for (;;) {
    int rc = s.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(rc, "cannot read the schema");
    info.applied_versions.push_back(static_cast<int>(s.Int(0)));
  }
  return info;
}

namespace {

class HeldWriteLock final : public SqliteWriteLockForTesting {
 public:
  explicit HeldWriteLock(std::unique_ptr<SqliteConnection> db) : db_(std::move(db)) {}
  ~HeldWriteLock() override { db_->Exec("ROLLBACK", "rollback").IgnoreError(); }

 private:
  std::unique_ptr<SqliteConnection> db_;
};

}  // namespace

Result<std::unique_ptr<SqliteWriteLockForTesting>> LockSqliteForWritingForTesting(const std::string& path) {
  LIBCHAT_ASSIGN_OR_RETURN(auto db, SqliteConnection::Open(path, SqliteConnection::Options()));
  LIBCHAT_RETURN_IF_ERROR(db->Exec("BEGIN IMMEDIATE", "cannot lock the database"));
  return std::unique_ptr<SqliteWriteLockForTesting>(std::make_unique<HeldWriteLock>(std::move(db)));
}

Status SetSqliteUserVersionForTesting(const std::string& path, int version) {
  LIBCHAT_ASSIGN_OR_RETURN(auto db, SqliteConnection::Open(path, SqliteConnection::Options()));
  std::string sql = "PRAGMA user_version = " + std::to_string(version);
  return db->Exec(sql.c_str(), "cannot set the schema version");
}

Status CreateSqliteDatabaseAtVersionForTesting(const std::string& path, int version) {
  LIBCHAT_ASSIGN_OR_RETURN(auto db, SqliteConnection::Open(path, SqliteConnection::Options()));
  LIBCHAT_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys = ON", "cannot configure the database"));
  return MigrateSqliteSchemaToForTesting(*db, version);
}

Result<std::shared_ptr<Store>> OpenSqliteStoreWithTuning(const SqliteStoreOptions& options,
                                                         const SqliteStoreTuning& tuning) {
  if (options.path.empty() || options.path == ":memory:" || options.path.rfind("file:", 0) == 0) {
    // Readers and the writer must share one database file.
    return InvalidArgumentError("the SQLite store needs a database file path");
  }
  if (options.read_connections < 1) return InvalidArgumentError("read_connections must be at least 1");
  if (options.max_batch_size < 1) return InvalidArgumentError("max_batch_size must be at least 1");
  if (options.busy_timeout_ms < 0) return InvalidArgumentError("busy_timeout_ms must not be negative");
  if (tuning.max_queue < 1 || tuning.checkpoint_frames < 1) return InvalidArgumentError("invalid store tuning");

  try {
    SqliteConnection::Options write_options;
    write_options.busy_timeout_ms = options.busy_timeout_ms;
    LIBCHAT_ASSIGN_OR_RETURN(auto writer_db, SqliteConnection::Open(options.path, write_options));
    LIBCHAT_RETURN_IF_ERROR(ConfigureWriter(*writer_db, options));
    LIBCHAT_RETURN_IF_ERROR(MigrateSqliteSchema(*writer_db).status());

    // Opened after the migration so that they see the schema (and the WAL files exist).
    std::vector<std::unique_ptr<SqliteConnection>> readers;
    SqliteConnection::Options read_options;
    read_options.read_only = true;
    read_options.busy_timeout_ms = options.busy_timeout_ms;
    for (int i = 0; i < options.read_connections; ++i) {
      LIBCHAT_ASSIGN_OR_RETURN(auto reader, SqliteConnection::Open(options.path, read_options));
      LIBCHAT_RETURN_IF_ERROR(reader->Exec("PRAGMA temp_store = MEMORY; PRAGMA cache_size = -8192",
                                           "cannot configure the database"));
      readers.push_back(std::move(reader));
    }

    // The checkpointer's connection syncs like the writer's: a checkpoint must
    // not make the database file less durable than the WAL it copies.
    LIBCHAT_ASSIGN_OR_RETURN(auto checkpoint_db, SqliteConnection::Open(options.path, write_options));
    LIBCHAT_RETURN_IF_ERROR(checkpoint_db->Exec(
        options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
        "cannot configure the database"));

    SqliteWriter::Options writer_options;
    writer_options.max_batch_size = options.max_batch_size;
    writer_options.max_queue = tuning.max_queue;
    writer_options.checkpoint_frames = tuning.checkpoint_frames;
    LIBCHAT_ASSIGN_OR_RETURN(
        auto writer, SqliteWriter::Start(std::move(writer_db), std::move(checkpoint_db), writer_options));
    return std::shared_ptr<Store>(std::make_shared<SqliteStore>(std::move(writer), std::move(readers)));
  } catch (const std::bad_alloc&) {
    return InternalError("out of memory while opening the store");
  }
}

}  // namespace internal

Result<std::shared_ptr<Store>> OpenSqliteStore(const SqliteStoreOptions& options) {
  return internal::OpenSqliteStoreWithTuning(options, internal::SqliteStoreTuning());
}

}  // namespace libchat

#undef LIBCHAT_SQL_ACCOUNT_COLS
#undef LIBCHAT_SQL_APP_COLS
#undef LIBCHAT_SQL_CUSTOMER_COLS
#undef LIBCHAT_SQL_CONV_COLS
#undef LIBCHAT_SQL_MSG_COLS
#undef LIBCHAT_SQL_CONV_VIEW_SELECT
