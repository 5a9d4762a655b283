#include "storage/sqlite_schema.h"

#include <chrono>
#include <string>

#include "util/status_macros.h"

namespace libchat::internal {
namespace {

// Conventions of the schema:
// - timestamps are INTEGER unix milliseconds; enums are their wire names ("open");
//   JSON is TEXT exactly as given by the core.
// - everything under an app is removed by ON DELETE CASCADE when the app is:
//   apps -> customers, apps -> conversations -> messages, conversations -> receipts.
// - a conversation's last message is the message with seq = last_seq (messages are
//   immutable in the Store), so it is not denormalized.
// - partial UNIQUE indexes leave empty values (anonymous customers, messages
//   without client_msg_id) out of the uniqueness; queries that should use them
//   repeat the index's WHERE term so the planner can.
constexpr const char kMigration1[] = R"sql(
CREATE TABLE schema_migrations (
  version INTEGER PRIMARY KEY,
  applied_at INTEGER NOT NULL
);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- One row that CheckWritable() updates so that a health probe really writes.
CREATE TABLE health (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  beats INTEGER NOT NULL
);
INSERT INTO health (id, beats) VALUES (1, 0);

CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE revoked_tokens (
  token_id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);

CREATE TABLE apps (
  pk INTEGER PRIMARY KEY,  -- insertion order: breaks created_at ties in ListApps
  id TEXT NOT NULL UNIQUE,
  account_id TEXT NOT NULL,
  name TEXT NOT NULL,
  publishable_key TEXT NOT NULL UNIQUE,
  secret_key_hash TEXT NOT NULL UNIQUE,
  identity_secret TEXT NOT NULL,
  theme_json TEXT NOT NULL,
  prechat_json TEXT NOT NULL,
  identity_verification INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX apps_by_account ON apps (account_id, created_at, pk);

CREATE TABLE customers (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  external_id TEXT NOT NULL,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  metadata_json TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX customers_by_app ON customers (app_id);
CREATE UNIQUE INDEX customers_by_external_id ON customers (app_id, external_id) WHERE external_id <> '';

CREATE TABLE conversations (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  assignee_id TEXT NOT NULL,
  name TEXT NOT NULL,
  metadata_json TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  last_seq INTEGER NOT NULL,
  snoozed_until INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_activity_at INTEGER NOT NULL
);
-- ListConversations walks one of these in (last_activity_at DESC, id DESC) order.
CREATE INDEX conversations_by_activity ON conversations (app_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_by_status ON conversations (app_id, status, last_activity_at DESC, id DESC);
CREATE INDEX conversations_by_customer ON conversations (app_id, customer_id, last_activity_at DESC, id DESC)
  WHERE customer_id <> '';

-- Clustered by (conversation_id, seq): history pages and unread counts are range
-- scans of the table itself. Small columns first so that counting never reads
-- the text's overflow pages.
CREATE TABLE messages (
  conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  sender_id TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  sender_type TEXT NOT NULL,
  client_msg_id TEXT NOT NULL,
  id TEXT NOT NULL,
  app_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  edited_at INTEGER,
  text TEXT NOT NULL,
  metadata_json TEXT NOT NULL,
  PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX messages_by_id ON messages (id);
CREATE UNIQUE INDEX messages_by_client_msg_id ON messages (conversation_id, sender_id, client_msg_id)
  WHERE client_msg_id <> '';

CREATE TABLE receipts (
  conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  member_id TEXT NOT NULL,
  delivered_seq INTEGER NOT NULL,
  read_seq INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, member_id)
) WITHOUT ROWID;
)sql";

// Members of conversations, dm de-duplication, the message revision log and
// per-app rate limits.
// - the customer of a support conversation becomes its member (backfilled).
// - dm_key is "<smaller member id>|<larger member id>" for dms, '' otherwise;
//   the partial unique index makes one dm per pair and app.
// - conversation_members is a rowid table: rowid order is joining order.
constexpr const char kMigration2[] = R"sql(
ALTER TABLE apps ADD COLUMN rate_requests_per_s REAL NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN rate_burst INTEGER NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN customer_sends_per_min REAL NOT NULL DEFAULT 0;

ALTER TABLE conversations ADD COLUMN dm_key TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX conversations_by_dm_key ON conversations (app_id, dm_key) WHERE dm_key <> '';
CREATE INDEX conversations_by_snooze ON conversations (snoozed_until) WHERE status = 'snoozed';

CREATE TABLE conversation_members (
  conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  member_id TEXT NOT NULL,
  role TEXT NOT NULL,
  joined_at INTEGER NOT NULL,
  UNIQUE (conversation_id, member_id)
);
CREATE INDEX conversation_members_by_member ON conversation_members (member_id, conversation_id);
INSERT INTO conversation_members (conversation_id, member_id, role, joined_at)
  SELECT id, customer_id, 'member', created_at FROM conversations WHERE customer_id <> '' ORDER BY created_at;

-- Append-only: what a message said before each edit or delete.
CREATE TABLE message_revisions (
  conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  editor_id TEXT NOT NULL,
  previous_text TEXT NOT NULL,
  previous_metadata_json TEXT NOT NULL,
  revised_at INTEGER NOT NULL
);
CREATE INDEX message_revisions_by_message ON message_revisions (conversation_id, seq);
)sql";

// Outbound delivery: webhook endpoints, per-app settings, the outbox (deliveries
// and their attempts) and notifications.
// - lists (events, customer_ids, channels) and the notification fallback are JSON
//   text; fallback_json is '' when there is none.
// - deliveries.priority is the NotificationPriority as an integer (0 low .. 3
//   urgent) so that claiming can order by it; the rest of the enums are names.
// - a delivery's webhook_id, notification_id, conversation_id are plain values,
//   not foreign keys: a deleted endpoint's past deliveries stay listed, and
//   everything goes with its app (ON DELETE CASCADE) anyway.
// - leased_until is set by a claim and cleared by the next update: a woken
//   recipient must not make a delivery that is in flight due again.
// - rowid order is insertion order: it breaks created_at ties for "oldest first".
constexpr const char kMigration3[] = R"sql(
CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  url TEXT NOT NULL,
  events_json TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  disabled_reason TEXT NOT NULL,
  secret_sealed TEXT NOT NULL,
  previous_secret_sealed TEXT NOT NULL,
  previous_secret_expires_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX webhooks_by_app ON webhooks (app_id, created_at);

CREATE TABLE app_settings (
  app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (app_id, key)
) WITHOUT ROWID;

CREATE TABLE notifications (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  customer_ids_json TEXT NOT NULL,
  conversation_id TEXT NOT NULL,
  email TEXT NOT NULL,
  channels_json TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  html TEXT NOT NULL,
  priority TEXT NOT NULL,
  scheduled_at INTEGER,
  fallback_json TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX notifications_by_app ON notifications (app_id);

CREATE TABLE deliveries (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  channel TEXT NOT NULL,
  kind TEXT NOT NULL,
  webhook_id TEXT NOT NULL,
  recipient_id TEXT NOT NULL,
  to_email TEXT NOT NULL,
  conversation_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  message_seq INTEGER NOT NULL,
  notification_id TEXT NOT NULL,
  priority INTEGER NOT NULL,
  gated INTEGER NOT NULL,
  status TEXT NOT NULL,
  attempt_count INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  leased_until INTEGER,
  last_error TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  payload_json TEXT NOT NULL
);
-- Claiming seeks one priority at a time along this index, so it only ever reads due rows;
-- partial: delivered / failed rows (the bulk of the table over time) are not in it.
CREATE INDEX deliveries_due ON deliveries (priority, next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_by_app ON deliveries (app_id, created_at DESC, id DESC);
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, created_at DESC, id DESC) WHERE webhook_id <> '';
CREATE INDEX deliveries_by_notification ON deliveries (notification_id) WHERE notification_id <> '';
CREATE INDEX deliveries_by_recipient ON deliveries (recipient_id, channel)
  WHERE status = 'pending' AND recipient_id <> '';

CREATE TABLE delivery_attempts (
  delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  at INTEGER NOT NULL,
  status_code INTEGER NOT NULL,
  error TEXT NOT NULL,
  latency_ms INTEGER NOT NULL,
  PRIMARY KEY (delivery_id, number)
) WITHOUT ROWID;
)sql";

// Operators and the knowledge base.
// - an operator's apps are rows of operator_apps (keyed by app first, so that an app's
//   operators are one range); they go with the app or the operator (ON DELETE CASCADE).
// - operators.account_id is a plain value like apps.account_id (accounts are never deleted).
// - knowledge_entries.pk is the full-text index's rowid: an INTEGER PRIMARY KEY, so that
//   VACUUM cannot renumber it under the index.
// - knowledge_fts is an external-content FTS5 index of the entries (it stores no text of its
//   own), kept in step by the triggers, which also run for the cascade of a deleted app. Its
//   app_id column is indexed so that a search can restrict itself to one app inside the index
//   (the app id's words match as a phrase); bm25() gives that column weight 0.
constexpr const char kMigration4[] = R"sql(
CREATE TABLE operators (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX operators_by_account ON operators (account_id, created_at, id);

CREATE TABLE operator_apps (
  app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  operator_id TEXT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
  PRIMARY KEY (app_id, operator_id)
) WITHOUT ROWID;
CREATE INDEX operator_apps_by_operator ON operator_apps (operator_id, app_id);

CREATE TABLE knowledge_entries (
  pk INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  question TEXT NOT NULL,
  answer TEXT NOT NULL,
  content TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX knowledge_by_app ON knowledge_entries (app_id, created_at DESC, id DESC);

CREATE VIRTUAL TABLE knowledge_fts USING fts5 (
  question, answer, content, app_id,
  content = 'knowledge_entries', content_rowid = 'pk',
  tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER knowledge_fts_insert AFTER INSERT ON knowledge_entries BEGIN
  INSERT INTO knowledge_fts (rowid, question, answer, content, app_id)
    VALUES (new.pk, new.question, new.answer, new.content, new.app_id);
END;
CREATE TRIGGER knowledge_fts_delete AFTER DELETE ON knowledge_entries BEGIN
  INSERT INTO knowledge_fts (knowledge_fts, rowid, question, answer, content, app_id)
    VALUES ('delete', old.pk, old.question, old.answer, old.content, old.app_id);
END;
CREATE TRIGGER knowledge_fts_update AFTER UPDATE OF question, answer, content, app_id ON knowledge_entries BEGIN
  INSERT INTO knowledge_fts (knowledge_fts, rowid, question, answer, content, app_id)
    VALUES ('delete', old.pk, old.question, old.answer, old.content, old.app_id);
  INSERT INTO knowledge_fts (rowid, question, answer, content, app_id)
    VALUES (new.pk, new.question, new.answer, new.content, new.app_id);
END;
)sql";

// Ordered: kSteps[i] takes the database from version i to version i + 1.
constexpr const char* kSteps[] = {kMigration1, kMigration2, kMigration3, kMigration4};
constexpr int kLatestVersion = static_cast<int>(sizeof(kSteps) / sizeof(kSteps[0]));

constexpr const char kInsertMigration[] =
    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)";

// Applies the steps after `from` up to `to` (inside the caller's transaction).
Status ApplySteps(SqliteConnection& db, int from, int to) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  for (int version = from + 1; version <= to; ++version) {
    LIBCHAT_RETURN_IF_ERROR(db.Exec(kSteps[version - 1], "cannot apply a schema migration"));
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt insert, db.Prepare(kInsertMigration));
    insert.Bind(1, version);
    insert.Bind(2, now);
    LIBCHAT_RETURN_IF_ERROR(insert.Run("cannot record a schema migration"));
  }
  // PRAGMA takes no parameters; the value is our own integer.
  std::string set_version = "PRAGMA user_version = " + std::to_string(to);
  return db.Exec(set_version.c_str(), "cannot record the schema version");
}

}  // namespace

int SqliteSchemaLatestVersion() { return kLatestVersion; }

Result<int> MigrateSqliteSchema(SqliteConnection& db) {
  // IMMEDIATE: two processes opening a fresh file at once serialize here, and
  // the second one sees the first one's schema.
  LIBCHAT_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE", "cannot start the schema migration"));
  auto rollback = [&db] { db.Exec("ROLLBACK", "rollback").IgnoreError(); };

  auto current = db.QueryInt("PRAGMA user_version", "cannot read the schema version");
  if (!current.ok()) {
    rollback();
    return current.status();
  }
  const int found = static_cast<int>(*current);
  if (found > kLatestVersion) {
    rollback();
    return FailedPreconditionError("database schema version " + std::to_string(found) +
                                   " is newer than this build of libchat supports (" +
                                   std::to_string(kLatestVersion) + "); upgrade libchat");
  }
  if (found < 0) {
    rollback();
    return FailedPreconditionError("database has an invalid schema version " + std::to_string(found));
  }
  if (found < kLatestVersion) {
    Status applied = ApplySteps(db, found, kLatestVersion);
    if (!applied.ok()) {
      rollback();
      return applied;
    }
  }
  Status committed = db.Exec("COMMIT", "cannot commit the schema migration");
  if (!committed.ok()) {
    rollback();
    return committed;
  }
  return found;
}

Status MigrateSqliteSchemaToForTesting(SqliteConnection& db, int version) {
  if (version < 1 || version > kLatestVersion) return InvalidArgumentError("no such schema version");
  LIBCHAT_ASSIGN_OR_RETURN(std::int64_t found, db.QueryInt("PRAGMA user_version", "cannot read the schema version"));
  if (found > version) return FailedPreconditionError("the database is past that version");
  LIBCHAT_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE", "cannot start the schema migration"));
  Status applied = ApplySteps(db, static_cast<int>(found), version);
  if (!applied.ok()) {
    db.Exec("ROLLBACK", "rollback").IgnoreError();
    return applied;
  }
  return db.Exec("COMMIT", "cannot commit the schema migration");
}

}  // namespace libchat::internal
