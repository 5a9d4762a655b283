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

#include "libchat/options.h"
#include "libchat/providers/bus.h"
#include "libchat/status.h"
#include "libchat/types.h"

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
};

struct AppUpdate {
  std::optional<std::string> name;
  std::optional<std::string> theme_json;
  std::optional<std::string> prechat_json;
  std::optional<bool> identity_verification;
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

struct HistoryQuery {
  std::optional<std::int64_t> after_seq;
  std::optional<std::int64_t> before_seq;
  int limit = 50;  // 1..200
};

struct TokenInfo {
  bool valid = false;
  PrincipalType principal_type = PrincipalType::kAccount;
  std::string principal_id;
  AccountId account_id;
  std::optional<Timestamp> expires_at;
  std::string error;  // why it is not valid
};

class Chat {
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
  Result<std::vector<Message>> ListMessages(const Principal& principal, const ConversationId& id,
                                            const HistoryQuery& query);
  Result<SendResult> SendMessage(const Principal& principal, const ConversationId& id,
                                 const SendRequest& request);
  Result<Receipt> MarkRead(const Principal& principal, const ConversationId& id, std::int64_t seq);
  Result<Receipt> MarkDelivered(const Principal& principal, const ConversationId& id, std::int64_t seq);
  Status SetTyping(const Principal& principal, const ConversationId& id, bool typing);

  // --- live events: the handler receives every event; deliver an event to a
  // principal only when EventVisibleTo(event, principal). The handler runs on
  // the publishing thread and must not call back into this Chat (see bus.h).
  SubscriptionId SubscribeEvents(EventHandler handler);
  void UnsubscribeEvents(SubscriptionId id);

  // --- operations
  // OK when the store can commit a write now.
  Status CheckHealth();
  const Options& options() const;

 private:
  struct Impl;
  explicit Chat(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace libchat
