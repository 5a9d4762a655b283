#include "storage/sqlite_delivery.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "storage/sqlite_support.h"
#include "util/status_macros.h"

namespace libchat::internal::sqlite_delivery {
namespace {

using Json = nlohmann::json;

// ---------------------------------------------------------------------------
// Column lists (spliced into the static statement texts below) and row readers.

#define LIBCHAT_SQL_WEBHOOK_COLS                                                                  \
  "id, app_id, url, events_json, enabled, disabled_reason, secret_sealed, previous_secret_sealed, " \
  "previous_secret_expires_at, created_at, updated_at"
#define LIBCHAT_SQL_DELIVERY_COLS                                                                       \
  "id, app_id, channel, kind, webhook_id, recipient_id, to_email, conversation_id, message_id, message_seq, " \
  "notification_id, priority, gated, status, attempt_count, next_attempt_at, last_error, created_at, "      \
  "updated_at, payload_json"
#define LIBCHAT_SQL_NOTIFICATION_COLS                                                             \
  "id, app_id, customer_ids_json, conversation_id, email, channels_json, subject, body, html, priority, " \
  "scheduled_at, fallback_json, status, created_at, updated_at"
#define LIBCHAT_SQL_ATTEMPT_COLS "delivery_id, number, at, status_code, error, latency_ms"

// Never throws: text that is not valid UTF-8 (the core validates it) is replaced, not refused.
std::string Dump(const Json& json) { return json.dump(-1, ' ', false, Json::error_handler_t::replace); }

template <typename T, typename Name>
std::string StringsJson(const std::vector<T>& values, Name name) {
  Json array = Json::array();
  for (const T& value : values) array.push_back(name(value));
  return Dump(array);
}

// A JSON array of strings, each passed to `add`; false when the text is anything else.
template <typename Add>
bool ParseStrings(std::string_view text, Add add) {
  Json array = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!array.is_array()) return false;
  for (const Json& item : array) {
    if (!item.is_string() || !add(item.get_ref<const std::string&>())) return false;
  }
  return true;
}

std::string FallbackJson(const std::optional<NotificationFallback>& fallback) {
  if (!fallback) return "";
  Json json = {{"after_s", static_cast<std::int64_t>(fallback->after.count())},
               {"channel", DeliveryChannelName(fallback->channel)},
               {"to_email", fallback->to_email}};
  return Dump(json);
}

bool ParseFallback(std::string_view text, std::optional<NotificationFallback>* out) {
  if (text.empty()) {
    out->reset();
    return true;
  }
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return false;
  auto after = json.find("after_s");
  auto channel = json.find("channel");
  auto to_email = json.find("to_email");
  if (after == json.end() || !after->is_number_integer() || channel == json.end() || !channel->is_string() ||
      to_email == json.end() || !to_email->is_string()) {
    return false;
  }
  auto parsed_channel = ParseDeliveryChannel(channel->get_ref<const std::string&>());
  if (!parsed_channel) return false;
  NotificationFallback fallback;
  fallback.after = std::chrono::seconds(after->get<std::int64_t>());
  fallback.channel = *parsed_channel;
  fallback.to_email = to_email->get_ref<const std::string&>();
  *out = std::move(fallback);
  return true;
}

// Stored as an integer so that claiming orders by it: 0 low .. 3 urgent.
std::int64_t PriorityRank(NotificationPriority priority) { return static_cast<std::int64_t>(priority); }
constexpr std::int64_t kMaxPriorityRank = static_cast<std::int64_t>(NotificationPriority::kUrgent);

Result<StoredWebhook> ReadWebhook(const SqliteStmt& s) {
  StoredWebhook w;
  w.endpoint.id = WebhookId(s.Text(0));
  w.endpoint.app_id = AppId(s.Text(1));
  w.endpoint.url = s.Text(2);
  if (!ParseStrings(s.TextView(3), [&](const std::string& event) {
        w.endpoint.events.push_back(event);
        return true;
      })) {
    return CorruptRow("webhook events");
  }
  w.endpoint.enabled = s.Bool(4);
  w.endpoint.disabled_reason = s.Text(5);
  w.secret_sealed = s.Text(6);
  w.previous_secret_sealed = s.Text(7);
  w.endpoint.previous_secret_expires_at = s.OptTime(8);
  w.endpoint.created_at = s.Time(9);
  w.endpoint.updated_at = s.Time(10);
  return w;
}

Result<Delivery> ReadDelivery(const SqliteStmt& s) {
  Delivery d;
  d.id = DeliveryId(s.Text(0));
  d.app_id = AppId(s.Text(1));
  auto channel = ParseDeliveryChannel(s.TextView(2));
  if (!channel) return CorruptRow("delivery channel");
  d.channel = *channel;
  d.kind = s.Text(3);
  d.webhook_id = WebhookId(s.Text(4));
  d.recipient_id = s.Text(5);
  d.to_email = s.Text(6);
  d.conversation_id = ConversationId(s.Text(7));
  d.message_id = MessageId(s.Text(8));
  d.message_seq = s.Int(9);
  d.notification_id = NotificationId(s.Text(10));
  const std::int64_t rank = s.Int(11);
  if (rank < 0 || rank > kMaxPriorityRank) return CorruptRow("delivery priority");
  d.priority = static_cast<NotificationPriority>(rank);
  d.gated = s.Bool(12);
  auto status = ParseDeliveryStatus(s.TextView(13));
  if (!status) return CorruptRow("delivery status");
  d.status = *status;
  d.attempt_count = static_cast<int>(s.Int(14));
  d.next_attempt_at = s.Time(15);
  d.last_error = s.Text(16);
  d.created_at = s.Time(17);
  d.updated_at = s.Time(18);
  d.payload_json = s.Text(19);
  return d;
}

Result<Notification> ReadNotification(const SqliteStmt& s) {
  Notification n;
  n.id = NotificationId(s.Text(0));
  n.app_id = AppId(s.Text(1));
  if (!ParseStrings(s.TextView(2), [&](const std::string& id) {
        n.customer_ids.emplace_back(id);
        return true;
      })) {
    return CorruptRow("notification recipients");
  }
  n.conversation_id = ConversationId(s.Text(3));
  n.email = s.Text(4);
  if (!ParseStrings(s.TextView(5), [&](const std::string& name) {
        auto channel = ParseDeliveryChannel(name);
        if (channel) n.channels.push_back(*channel);
        return channel.has_value();
      })) {
    return CorruptRow("notification channels");
  }
  n.subject = s.Text(6);
  n.body = s.Text(7);
  n.html = s.Text(8);
  auto priority = ParseNotificationPriority(s.TextView(9));
  if (!priority) return CorruptRow("notification priority");
  n.priority = *priority;
  n.scheduled_at = s.OptTime(10);
  if (!ParseFallback(s.TextView(11), &n.fallback)) return CorruptRow("notification fallback");
  auto status = ParseNotificationStatus(s.TextView(12));
  if (!status) return CorruptRow("notification status");
  n.status = *status;
  n.created_at = s.Time(13);
  n.updated_at = s.Time(14);
  return n;
}

DeliveryAttempt ReadAttempt(const SqliteStmt& s) {
  DeliveryAttempt a;
  a.number = static_cast<int>(s.Int(1));
  a.at = s.Time(2);
  a.status_code = static_cast<int>(s.Int(3));
  a.error = s.Text(4);
  a.latency_ms = s.Int(5);
  return a;
}

// ---------------------------------------------------------------------------
// Statements.

constexpr const char kInsertWebhook[] =
    "INSERT INTO webhooks (" LIBCHAT_SQL_WEBHOOK_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
constexpr const char kGetWebhook[] = "SELECT " LIBCHAT_SQL_WEBHOOK_COLS " FROM webhooks WHERE id = ?1";
constexpr const char kListWebhooks[] =
    "SELECT " LIBCHAT_SQL_WEBHOOK_COLS " FROM webhooks WHERE app_id = ?1 ORDER BY created_at, rowid";
constexpr const char kUpdateWebhook[] =
    "UPDATE webhooks SET url = ?2, events_json = ?3, enabled = ?4, disabled_reason = ?5, secret_sealed = ?6,"
    " previous_secret_sealed = ?7, previous_secret_expires_at = ?8, updated_at = ?9 WHERE id = ?1";
constexpr const char kDeleteWebhook[] = "DELETE FROM webhooks WHERE id = ?1";
constexpr const char kCancelWebhookDeliveries[] =
    "UPDATE deliveries SET status = 'cancelled', leased_until = NULL"
    " WHERE webhook_id = ?1 AND webhook_id <> '' AND status = 'pending'";

constexpr const char kGetAppSetting[] = "SELECT value FROM app_settings WHERE app_id = ?1 AND key = ?2";
constexpr const char kPutAppSetting[] =
    "INSERT INTO app_settings (app_id, key, value) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value";
constexpr const char kDeleteAppSetting[] = "DELETE FROM app_settings WHERE app_id = ?1 AND key = ?2";

constexpr const char kInsertDelivery[] =
    "INSERT INTO deliveries (" LIBCHAT_SQL_DELIVERY_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
    " ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";
constexpr const char kGetDelivery[] = "SELECT " LIBCHAT_SQL_DELIVERY_COLS " FROM deliveries WHERE id = ?1";
constexpr const char kGetDeliveryStatus[] = "SELECT status FROM deliveries WHERE id = ?1";
// One priority at a time (?1), so that the scan of deliveries_due only reads due rows.
constexpr const char kDueAtPriority[] =
    "SELECT " LIBCHAT_SQL_DELIVERY_COLS " FROM deliveries WHERE status = 'pending' AND priority = ?1"
    " AND next_attempt_at <= ?2 ORDER BY next_attempt_at, id LIMIT ?3";
constexpr const char kLeaseDelivery[] =
    "UPDATE deliveries SET next_attempt_at = ?2, leased_until = ?2 WHERE id = ?1";
// Compare-and-set on the status; ?8: whether an attempt comes with it (then attempt_count = ?7).
constexpr const char kUpdateDelivery[] =
    "UPDATE deliveries SET status = ?3, next_attempt_at = ?4, last_error = ?5, updated_at = ?6,"
    " attempt_count = CASE WHEN ?8 THEN ?7 ELSE attempt_count END, leased_until = NULL"
    " WHERE id = ?1 AND status = ?2";
constexpr const char kInsertAttempt[] =
    "INSERT INTO delivery_attempts (" LIBCHAT_SQL_ATTEMPT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr const char kAttemptsOf[] =
    "SELECT " LIBCHAT_SQL_ATTEMPT_COLS " FROM delivery_attempts WHERE delivery_id = ?1 ORDER BY number";
// ?1: a JSON array of delivery ids (one query for a whole page).
constexpr const char kAttemptsOfMany[] =
    "SELECT " LIBCHAT_SQL_ATTEMPT_COLS " FROM delivery_attempts"
    " WHERE delivery_id IN (SELECT value FROM json_each(?1)) ORDER BY delivery_id, number";
// Leased deliveries are in flight: waking them would hand them to a second claimer.
constexpr const char kWake[] =
    "UPDATE deliveries SET next_attempt_at = ?3"
    " WHERE recipient_id = ?1 AND recipient_id <> '' AND channel = ?2 AND status = 'pending'"
    " AND next_attempt_at > ?3 AND (leased_until IS NULL OR leased_until <= ?3)";
// The minimum of per-priority minimums: each one is a single seek of deliveries_due.
constexpr const char kNextDue[] =
    "SELECT MIN(t) FROM ("
    "SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE status = 'pending' AND priority = 0 UNION ALL "
    "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND priority = 1 UNION ALL "
    "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND priority = 2 UNION ALL "
    "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND priority = 3)";

constexpr const char kInsertNotification[] =
    "INSERT INTO notifications (" LIBCHAT_SQL_NOTIFICATION_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
    " ?10, ?11, ?12, ?13, ?14, ?15)";
constexpr const char kGetNotification[] =
    "SELECT " LIBCHAT_SQL_NOTIFICATION_COLS " FROM notifications WHERE id = ?1";
constexpr const char kGetNotificationStatus[] = "SELECT status FROM notifications WHERE id = ?1";
constexpr const char kSetNotificationStatus[] =
    "UPDATE notifications SET status = ?3, updated_at = ?4 WHERE id = ?1 AND status = ?2";
constexpr const char kNotificationDeliveries[] =
    "SELECT " LIBCHAT_SQL_DELIVERY_COLS " FROM deliveries WHERE notification_id = ?1 AND notification_id <> ''"
    " ORDER BY created_at, rowid";
constexpr const char kCancelNotificationDeliveries[] =
    "UPDATE deliveries SET status = 'cancelled', updated_at = ?2, leased_until = NULL"
    " WHERE notification_id = ?1 AND notification_id <> '' AND status = 'pending'";
// Attempts, attempt_count and last_error stay: the retry continues the history.
constexpr const char kRetryNotificationDeliveries[] =
    "UPDATE deliveries SET status = 'pending', next_attempt_at = ?2, updated_at = ?2, leased_until = NULL"
    " WHERE notification_id = ?1 AND notification_id <> '' AND status = 'failed'";

// ListDeliveries: one statement text per filter combination, built once.
enum DeliveryFilter : unsigned {
  kFilterWebhook = 1u << 0,
  kFilterNotification = 1u << 1,
  kFilterStatus = 1u << 2,
  kFilterChannel = 1u << 3,
  kFilterCursor = 1u << 4,
  kFilterCombinations = 1u << 5,
};

// Parameters: ?1 app, ?2 webhook, ?3 notification, ?4 status, ?5 channel,
// ?6/?7 cursor (created_at, id), ?8 limit + 1. The `<> ''` terms let the
// planner use the partial indexes.
std::string BuildListSql(unsigned filters) {
  std::string sql = "SELECT " LIBCHAT_SQL_DELIVERY_COLS " FROM deliveries WHERE app_id = ?1";
  if (filters & kFilterWebhook) sql += " AND webhook_id = ?2 AND webhook_id <> ''";
  if (filters & kFilterNotification) sql += " AND notification_id = ?3 AND notification_id <> ''";
  if (filters & kFilterStatus) sql += " AND status = ?4";
  if (filters & kFilterChannel) sql += " AND channel = ?5";
  if (filters & kFilterCursor) sql += " AND created_at <= ?6 AND (created_at < ?6 OR id < ?7)";
  sql += " ORDER BY created_at DESC, id DESC LIMIT ?8";
  return sql;
}

// The texts never change once built, so their addresses are stable statement-cache keys.
const std::array<std::string, kFilterCombinations>& ListSql() {
  static const std::array<std::string, kFilterCombinations> texts = [] {
    std::array<std::string, kFilterCombinations> built;
    for (unsigned f = 0; f < kFilterCombinations; ++f) built[f] = BuildListSql(f);
    return built;
  }();
  return texts;
}

// ---------------------------------------------------------------------------
// Shared steps.

Status InsertDelivery(SqliteConnection& db, const Delivery& d) {
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertDelivery));
  s.Bind(1, d.id.str());
  s.Bind(2, d.app_id.str());
  s.Bind(3, std::string_view(DeliveryChannelName(d.channel)));
  s.Bind(4, d.kind);
  s.Bind(5, d.webhook_id.str());
  s.Bind(6, d.recipient_id);
  s.Bind(7, d.to_email);
  s.Bind(8, d.conversation_id.str());
  s.Bind(9, d.message_id.str());
  s.Bind(10, d.message_seq);
  s.Bind(11, d.notification_id.str());
  s.Bind(12, PriorityRank(d.priority));
  s.Bind(13, d.gated);
  s.Bind(14, std::string_view(DeliveryStatusName(d.status)));
  s.Bind(15, d.attempt_count);
  s.Bind(16, d.next_attempt_at);
  s.Bind(17, d.last_error);
  s.Bind(18, d.created_at);
  s.Bind(19, d.updated_at);
  s.Bind(20, d.payload_json);
  return Explain(s.Run("cannot enqueue the delivery"), "a delivery with this id already exists",
                 "app not found");
}

Result<std::vector<Delivery>> ReadDeliveries(SqliteStmt& s, std::string_view context) {
  std::vector<Delivery> out;
  for (;;) {
    int rc = s.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(rc, context);
    LIBCHAT_ASSIGN_OR_RETURN(Delivery d, ReadDelivery(s));
    out.push_back(std::move(d));
  }
  return out;
}

// Fills the attempts of `deliveries` (oldest first) with one query.
Status FillAttempts(SqliteConnection& db, std::vector<Delivery>& deliveries) {
  if (deliveries.empty()) return Status::Ok();
  std::unordered_map<std::string, Delivery*> by_id;
  Json ids = Json::array();
  for (Delivery& d : deliveries) {
    by_id.emplace(d.id.str(), &d);
    ids.push_back(d.id.str());
  }
  const std::string ids_json = Dump(ids);
  const bool one = deliveries.size() == 1;
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(one ? kAttemptsOf : kAttemptsOfMany));
  if (one) {
    s.Bind(1, deliveries.front().id.str());
  } else {
    s.Bind(1, ids_json);
  }
  for (;;) {
    int rc = s.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(rc, "cannot read delivery attempts");
    auto owner = by_id.find(std::string(s.TextView(0)));
    if (owner != by_id.end()) owner->second->attempts.push_back(ReadAttempt(s));
  }
  return Status::Ok();
}

// Compare-and-set of a notification's status; kNotFound / kFailedPrecondition.
Status SetNotificationStatus(SqliteConnection& db, const NotificationId& id, NotificationStatus expected,
                             NotificationStatus status, Timestamp at) {
  {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSetNotificationStatus));
    s.Bind(1, id.str());
    s.Bind(2, std::string_view(NotificationStatusName(expected)));
    s.Bind(3, std::string_view(NotificationStatusName(status)));
    s.Bind(4, at);
    LIBCHAT_RETURN_IF_ERROR(s.Run("cannot update the notification"));
    if (db.Changes() > 0) return Status::Ok();
  }
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kGetNotificationStatus));
  s.Bind(1, id.str());
  LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the notification"));
  if (!found) return NotFoundError("notification not found");
  return FailedPreconditionError("the notification is " + s.Text(0) + ", not " +
                                 NotificationStatusName(expected));
}

// Runs a statement whose parameters are a notification id (?1) and a time (?2).
Status RunForNotification(SqliteConnection& db, const char* sql, const NotificationId& id, Timestamp at,
                          std::string_view context) {
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(sql));
  s.Bind(1, id.str());
  s.Bind(2, at);
  return s.Run(context);
}

// Binds url .. updated_at of a webhook to ?first .. ?first+7 (the kUpdateWebhook order).
void BindWebhookFields(SqliteStmt& s, const StoredWebhook& w, const std::string& events_json, int first) {
  s.Bind(first + 0, w.endpoint.url);
  s.Bind(first + 1, events_json);
  s.Bind(first + 2, w.endpoint.enabled);
  s.Bind(first + 3, w.endpoint.disabled_reason);
  s.Bind(first + 4, w.secret_sealed);
  s.Bind(first + 5, w.previous_secret_sealed);
  s.Bind(first + 6, w.endpoint.previous_secret_expires_at);
  s.Bind(first + 7, w.endpoint.updated_at);
}

}  // namespace

// ---------------------------------------------------------------------------
// Writes.

Status InsertDeliveries(SqliteConnection& db, const std::vector<Delivery>& deliveries) {
  for (const Delivery& d : deliveries) LIBCHAT_RETURN_IF_ERROR(InsertDelivery(db, d));
  return Status::Ok();
}

Result<std::vector<Delivery>> ClaimDue(SqliteConnection& db, Timestamp now, Timestamp lease_until, int limit) {
  std::vector<Delivery> claimed;
  for (std::int64_t rank = kMaxPriorityRank; rank >= 0 && static_cast<int>(claimed.size()) < limit; --rank) {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kDueAtPriority));
    s.Bind(1, rank);
    s.Bind(2, now);
    s.Bind(3, limit - static_cast<int>(claimed.size()));
    LIBCHAT_ASSIGN_OR_RETURN(std::vector<Delivery> due, ReadDeliveries(s, "cannot claim deliveries"));
    for (Delivery& d : due) claimed.push_back(std::move(d));
  }
  // Updated once the scans are done: changing rows under an open scan of their index is not safe.
  for (Delivery& d : claimed) {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kLeaseDelivery));
    s.Bind(1, d.id.str());
    s.Bind(2, lease_until);
    LIBCHAT_RETURN_IF_ERROR(s.Run("cannot claim deliveries"));
    d.next_attempt_at = lease_until;
  }
  return claimed;
}

Status UpdateDelivery(SqliteConnection& db, const DeliveryUpdate& update) {
  {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kUpdateDelivery));
    s.Bind(1, update.id.str());
    s.Bind(2, std::string_view(DeliveryStatusName(update.expected_status)));
    s.Bind(3, std::string_view(DeliveryStatusName(update.status)));
    s.Bind(4, update.next_attempt_at);
    s.Bind(5, update.last_error);
    s.Bind(6, update.updated_at);
    s.Bind(7, update.attempt ? update.attempt->number : 0);
    s.Bind(8, update.attempt.has_value());
    LIBCHAT_RETURN_IF_ERROR(s.Run("cannot update the delivery"));
    if (db.Changes() == 0) {
      LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt get, db.Prepare(kGetDeliveryStatus));
      get.Bind(1, update.id.str());
      LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(get, "cannot read the delivery"));
      if (!found) return NotFoundError("delivery not found");
      return FailedPreconditionError("the delivery is " + get.Text(0) + ", not " +
                                     DeliveryStatusName(update.expected_status));
    }
  }
  if (update.attempt) {
    const DeliveryAttempt& a = *update.attempt;
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertAttempt));
    s.Bind(1, update.id.str());
    s.Bind(2, a.number);
    s.Bind(3, a.at);
    s.Bind(4, a.status_code);
    s.Bind(5, a.error);
    s.Bind(6, a.latency_ms);
    LIBCHAT_RETURN_IF_ERROR(
        Explain(s.Run("cannot record the delivery attempt"), "this attempt number is already recorded", nullptr));
  }
  return InsertDeliveries(db, update.enqueue);
}

Result<int> Wake(SqliteConnection& db, std::string_view recipient_id, DeliveryChannel channel, Timestamp now) {
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kWake));
  s.Bind(1, recipient_id);
  s.Bind(2, std::string_view(DeliveryChannelName(channel)));
  s.Bind(3, now);
  LIBCHAT_RETURN_IF_ERROR(s.Run("cannot wake deliveries"));
  return db.Changes();
}

Status CreateWebhook(SqliteConnection& db, const StoredWebhook& webhook) {
  const WebhookEndpoint& e = webhook.endpoint;
  const std::string events_json = StringsJson(e.events, [](const std::string& event) { return event; });
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertWebhook));
  s.Bind(1, e.id.str());
  s.Bind(2, e.app_id.str());
  s.Bind(3, e.url);
  s.Bind(4, events_json);
  s.Bind(5, e.enabled);
  s.Bind(6, e.disabled_reason);
  s.Bind(7, webhook.secret_sealed);
  s.Bind(8, webhook.previous_secret_sealed);
  s.Bind(9, e.previous_secret_expires_at);
  s.Bind(10, e.created_at);
  s.Bind(11, e.updated_at);
  return Explain(s.Run("cannot create the webhook"), "a webhook with this id already exists", "app not found");
}

Status UpdateWebhook(SqliteConnection& db, const StoredWebhook& webhook) {
  const std::string events_json =
      StringsJson(webhook.endpoint.events, [](const std::string& event) { return event; });
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kUpdateWebhook));
  s.Bind(1, webhook.endpoint.id.str());
  BindWebhookFields(s, webhook, events_json, 2);
  LIBCHAT_RETURN_IF_ERROR(s.Run("cannot update the webhook"));
  if (db.Changes() == 0) return NotFoundError("webhook not found");
  return Status::Ok();
}

Status DeleteWebhook(SqliteConnection& db, const WebhookId& id) {
  {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kDeleteWebhook));
    s.Bind(1, id.str());
    LIBCHAT_RETURN_IF_ERROR(s.Run("cannot delete the webhook"));
    if (db.Changes() == 0) return NotFoundError("webhook not found");
  }
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kCancelWebhookDeliveries));
  s.Bind(1, id.str());
  return s.Run("cannot cancel the webhook's deliveries");
}

Status PutAppSetting(SqliteConnection& db, const AppId& app, std::string_view key, std::string_view value) {
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(value.empty() ? kDeleteAppSetting : kPutAppSetting));
  s.Bind(1, app.str());
  s.Bind(2, key);
  if (!value.empty()) s.Bind(3, value);
  return Explain(s.Run("cannot store the app setting"), nullptr, "app not found");
}

Status CreateNotification(SqliteConnection& db, const Notification& n, const std::vector<Delivery>& deliveries) {
  const std::string customer_ids_json = StringsJson(n.customer_ids, [](const CustomerId& id) { return id.str(); });
  const std::string channels_json =
      StringsJson(n.channels, [](DeliveryChannel channel) { return std::string(DeliveryChannelName(channel)); });
  const std::string fallback_json = FallbackJson(n.fallback);
  {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kInsertNotification));
    s.Bind(1, n.id.str());
    s.Bind(2, n.app_id.str());
    s.Bind(3, customer_ids_json);
    s.Bind(4, n.conversation_id.str());
    s.Bind(5, n.email);
    s.Bind(6, channels_json);
    s.Bind(7, n.subject);
    s.Bind(8, n.body);
    s.Bind(9, n.html);
    s.Bind(10, std::string_view(NotificationPriorityName(n.priority)));
    s.Bind(11, n.scheduled_at);
    s.Bind(12, fallback_json);
    s.Bind(13, std::string_view(NotificationStatusName(n.status)));
    s.Bind(14, n.created_at);
    s.Bind(15, n.updated_at);
    LIBCHAT_RETURN_IF_ERROR(Explain(s.Run("cannot create the notification"),
                                    "a notification with this id already exists", "app not found"));
  }
  return InsertDeliveries(db, deliveries);
}

Status UpdateNotificationStatus(SqliteConnection& db, const NotificationId& id, NotificationStatus expected,
                                NotificationStatus status, Timestamp at, const std::vector<Delivery>& enqueue) {
  LIBCHAT_RETURN_IF_ERROR(SetNotificationStatus(db, id, expected, status, at));
  return InsertDeliveries(db, enqueue);
}

Status CancelNotification(SqliteConnection& db, const NotificationId& id, Timestamp at) {
  LIBCHAT_RETURN_IF_ERROR(
      SetNotificationStatus(db, id, NotificationStatus::kPending, NotificationStatus::kCancelled, at));
  return RunForNotification(db, kCancelNotificationDeliveries, id, at, "cannot cancel the deliveries");
}

Status RetryNotification(SqliteConnection& db, const NotificationId& id, Timestamp at) {
  LIBCHAT_RETURN_IF_ERROR(
      SetNotificationStatus(db, id, NotificationStatus::kFailed, NotificationStatus::kPending, at));
  return RunForNotification(db, kRetryNotificationDeliveries, id, at, "cannot retry the deliveries");
}

// ---------------------------------------------------------------------------
// Reads.

Result<StoredWebhook> GetWebhook(SqliteConnection& db, const WebhookId& id) {
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kGetWebhook));
  s.Bind(1, id.str());
  LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the webhook"));
  if (!found) return NotFoundError("webhook not found");
  return ReadWebhook(s);
}

Result<std::vector<StoredWebhook>> ListWebhooks(SqliteConnection& db, const AppId& app) {
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kListWebhooks));
  s.Bind(1, app.str());
  std::vector<StoredWebhook> out;
  for (;;) {
    int rc = s.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(rc, "cannot list webhooks");
    LIBCHAT_ASSIGN_OR_RETURN(StoredWebhook w, ReadWebhook(s));
    out.push_back(std::move(w));
  }
  return out;
}

Result<std::optional<std::string>> GetAppSetting(SqliteConnection& db, const AppId& app, std::string_view key) {
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kGetAppSetting));
  s.Bind(1, app.str());
  s.Bind(2, key);
  LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the app setting"));
  if (!found) return std::optional<std::string>();
  return std::optional<std::string>(s.Text(0));
}

Result<Delivery> GetDelivery(SqliteConnection& db, const DeliveryId& id) {
  std::vector<Delivery> one;
  {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kGetDelivery));
    s.Bind(1, id.str());
    LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the delivery"));
    if (!found) return NotFoundError("delivery not found");
    LIBCHAT_ASSIGN_OR_RETURN(Delivery d, ReadDelivery(s));
    one.push_back(std::move(d));
  }
  LIBCHAT_RETURN_IF_ERROR(FillAttempts(db, one));
  return std::move(one.front());
}

Result<Page<Delivery>> ListDeliveries(SqliteConnection& db, const DeliveryQuery& query) {
  const int limit = std::max(1, query.limit);
  std::optional<Cursor> after;
  if (!query.cursor.empty()) {
    LIBCHAT_ASSIGN_OR_RETURN(after, DecodeCursor(query.cursor));
  }
  unsigned filters = 0;
  if (query.webhook_id) filters |= kFilterWebhook;
  if (query.notification_id) filters |= kFilterNotification;
  if (query.status) filters |= kFilterStatus;
  if (query.channel) filters |= kFilterChannel;
  if (after) filters |= kFilterCursor;

  Page<Delivery> page;
  {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(ListSql()[filters].c_str()));
    s.Bind(1, query.app_id.str());
    if (query.webhook_id) s.Bind(2, query.webhook_id->str());
    if (query.notification_id) s.Bind(3, query.notification_id->str());
    if (query.status) s.Bind(4, std::string_view(DeliveryStatusName(*query.status)));
    if (query.channel) s.Bind(5, std::string_view(DeliveryChannelName(*query.channel)));
    if (after) {
      s.Bind(6, after->number);
      s.Bind(7, after->text);
    }
    s.Bind(8, limit + 1);
    for (;;) {
      int rc = s.Step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(rc, "cannot list deliveries");
      if (static_cast<int>(page.data.size()) == limit) {
        const Delivery& last = page.data.back();
        page.next_cursor = EncodeCursor(ToMillis(last.created_at), last.id.str());
        break;
      }
      LIBCHAT_ASSIGN_OR_RETURN(Delivery d, ReadDelivery(s));
      page.data.push_back(std::move(d));
    }
  }
  LIBCHAT_RETURN_IF_ERROR(FillAttempts(db, page.data));
  return page;
}

Result<std::optional<Timestamp>> NextDue(SqliteConnection& db) {
  LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kNextDue));
  LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the outbox"));
  if (!found || s.IsNull(0)) return std::optional<Timestamp>();
  return std::optional<Timestamp>(s.Time(0));
}

Result<Notification> GetNotification(SqliteConnection& db, const NotificationId& id) {
  Notification n;
  {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kGetNotification));
    s.Bind(1, id.str());
    LIBCHAT_ASSIGN_OR_RETURN(bool found, StepOne(s, "cannot read the notification"));
    if (!found) return NotFoundError("notification not found");
    LIBCHAT_ASSIGN_OR_RETURN(n, ReadNotification(s));
  }
  {
    LIBCHAT_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kNotificationDeliveries));
    s.Bind(1, id.str());
    LIBCHAT_ASSIGN_OR_RETURN(n.deliveries, ReadDeliveries(s, "cannot read the notification's deliveries"));
  }
  LIBCHAT_RETURN_IF_ERROR(FillAttempts(db, n.deliveries));
  return n;
}

}  // namespace libchat::internal::sqlite_delivery

#undef LIBCHAT_SQL_WEBHOOK_COLS
#undef LIBCHAT_SQL_DELIVERY_COLS
#undef LIBCHAT_SQL_NOTIFICATION_COLS
#undef LIBCHAT_SQL_ATTEMPT_COLS
