// The SQL of the SQLite store's delivery tables (schema migration 3): webhook
// endpoints, per-app settings, the outbox (deliveries and their attempts) and
// notifications. SqliteStore runs the write functions as (parts of) writer ops,
// inside the op's savepoint, and the read functions on a pooled read connection;
// each function is one piece of the Store contract of libchat/providers/store.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libchat/delivery.h"
#include "libchat/providers/store.h"
#include "libchat/status.h"
#include "storage/sqlite_db.h"

namespace libchat::internal::sqlite_delivery {

// --- writes (writer connection, inside a transaction)

// Inserts the deliveries as given (their attempts are not stored).
// kAlreadyExists for a taken id, kNotFound when an app does not exist.
Status InsertDeliveries(SqliteConnection& db, const std::vector<Delivery>& deliveries);
Result<std::vector<Delivery>> ClaimDue(SqliteConnection& db, Timestamp now, Timestamp lease_until, int limit);
Status UpdateDelivery(SqliteConnection& db, const DeliveryUpdate& update);
Result<int> Wake(SqliteConnection& db, std::string_view recipient_id, DeliveryChannel channel, Timestamp now);

Status CreateWebhook(SqliteConnection& db, const StoredWebhook& webhook);
Status UpdateWebhook(SqliteConnection& db, const StoredWebhook& webhook);
Status DeleteWebhook(SqliteConnection& db, const WebhookId& id);

Status PutAppSetting(SqliteConnection& db, const AppId& app, std::string_view key, std::string_view value);

Status CreateNotification(SqliteConnection& db, const Notification& notification,
                          const std::vector<Delivery>& deliveries);
Status UpdateNotificationStatus(SqliteConnection& db, const NotificationId& id, NotificationStatus expected,
                                NotificationStatus status, Timestamp at, const std::vector<Delivery>& enqueue);
Status CancelNotification(SqliteConnection& db, const NotificationId& id, Timestamp at);
Status RetryNotification(SqliteConnection& db, const NotificationId& id, Timestamp at);

// --- reads (any connection)

Result<StoredWebhook> GetWebhook(SqliteConnection& db, const WebhookId& id);
Result<std::vector<StoredWebhook>> ListWebhooks(SqliteConnection& db, const AppId& app);
Result<std::optional<std::string>> GetAppSetting(SqliteConnection& db, const AppId& app, std::string_view key);
Result<Delivery> GetDelivery(SqliteConnection& db, const DeliveryId& id);
Result<Page<Delivery>> ListDeliveries(SqliteConnection& db, const DeliveryQuery& query);
Result<std::optional<Timestamp>> NextDue(SqliteConnection& db);
Result<Notification> GetNotification(SqliteConnection& db, const NotificationId& id);

}  // namespace libchat::internal::sqlite_delivery
