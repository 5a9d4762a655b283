// Ids, timestamps and the records libchat stores and returns.
//
// Records are plain values. JSON-valued fields (metadata, theme, ...) are held
// as serialized JSON text so that no JSON library appears in public headers;
// libchat validates them on the way in.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libchat/export.h"
#include "libchat/status.h"

namespace libchat {

// Milliseconds since the Unix epoch, UTC. Formatted as RFC 3339 with milliseconds.
using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

// "2026-11-21T02:37:10.123Z"
LIBCHAT_API std::string FormatTimestamp(Timestamp t);
// Accepts RFC 3339 with or without fractional seconds, 'Z' or a numeric offset.
LIBCHAT_API Result<Timestamp> ParseTimestamp(std::string_view text);

// An opaque id with a type prefix ("acc_", "conv_", ...). Ids of different
// kinds are different types, so a MessageId cannot be passed as a ConversationId.
template <typename Tag>
class Id {
 public:
  Id() = default;
  explicit Id(std::string value) : value_(std::move(value)) {}

  static constexpr std::string_view prefix() { return Tag::kPrefix; }
  const std::string& str() const { return value_; }
  bool empty() const { return value_.empty(); }
  // True when the text has this kind's prefix and a non-empty body of [0-9A-Za-z].
  static bool IsWellFormed(std::string_view text) {
    if (text.size() <= prefix().size() || text.substr(0, prefix().size()) != prefix()) return false;
    for (char c : text.substr(prefix().size())) {
      bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      if (!alnum) return false;
    }
    return true;
  }

  friend bool operator==(const Id& a, const Id& b) { return a.value_ == b.value_; }
  friend bool operator!=(const Id& a, const Id& b) { return a.value_ != b.value_; }
  friend bool operator<(const Id& a, const Id& b) { return a.value_ < b.value_; }

 private:
  std::string value_;
};

struct AccountIdTag { static constexpr std::string_view kPrefix = "acc_"; };
struct OperatorIdTag { static constexpr std::string_view kPrefix = "op_"; };
struct AppIdTag { static constexpr std::string_view kPrefix = "app_"; };
struct CustomerIdTag { static constexpr std::string_view kPrefix = "cus_"; };
struct ConversationIdTag { static constexpr std::string_view kPrefix = "conv_"; };
struct MessageIdTag { static constexpr std::string_view kPrefix = "msg_"; };

using AccountId = Id<AccountIdTag>;
using OperatorId = Id<OperatorIdTag>;
using AppId = Id<AppIdTag>;
using CustomerId = Id<CustomerIdTag>;
using ConversationId = Id<ConversationIdTag>;
using MessageId = Id<MessageIdTag>;

// ---------------------------------------------------------------------------
// Principals: who is calling. Produced by Chat::Authenticate; every facade call
// takes one, and all authorization and tenant isolation is decided from it.

enum class PrincipalType {
  kAccount,      // a dashboard user, owner of apps
  kOperator,     // an agent under an account
  kAppServer,    // an app's backend, with its secret key (optionally acting as a customer)
  kPublishable,  // an SDK/widget holding only the publishable key: may start sessions
  kCustomer,     // an end user of an app, with a session token
  kAdmin,        // the holder of the configured master key
};
LIBCHAT_API const char* PrincipalTypeName(PrincipalType type);  // "account", "customer", ...

struct Principal {
  PrincipalType type = PrincipalType::kPublishable;
  // The acting identity: "acc_…", "op_…", "cus_…"; for kAppServer/kPublishable the app id.
  std::string id;
  AppId app_id;           // set for kAppServer, kPublishable and kCustomer
  AccountId account_id;   // set for kAccount and kOperator (the owning account)
  std::string token_id;   // the jti of the token that authenticated this call, if any
  // kCustomer only: the app's server vouched for this customer (secret key +
  // X-User-Id) rather than the customer holding a session token of its own.
  bool via_secret_key = false;
  std::optional<Timestamp> token_expires_at;
};

// ---------------------------------------------------------------------------
// Records.

enum class OperatorStatus { kActive, kInactive, kDeleted };
LIBCHAT_API const char* OperatorStatusName(OperatorStatus status);  // "active", "inactive", "deleted"
LIBCHAT_API std::optional<OperatorStatus> ParseOperatorStatus(std::string_view text);

// An agent under an account, assigned to some of its apps. Only an active
// operator authenticates; its tokens stop working the moment it is made
// inactive or deleted. A deleted operator is kept (its messages name it) but
// can no longer be changed.
struct Operator {
  OperatorId id;
  AccountId account_id;
  std::string name;
  std::string email;  // optional, lower-cased
  OperatorStatus status = OperatorStatus::kActive;
  std::vector<AppId> app_ids;  // the apps whose conversations it sees, sorted
  Timestamp created_at;
  Timestamp updated_at;
};

struct Account {
  AccountId id;
  std::string email;  // lower-cased
  std::string name;
  Timestamp created_at;
  Timestamp updated_at;
};

// Per-app overrides of the request limits; 0 means "the host's default"
// (Options::rate_limits).
struct AppLimits {
  double requests_per_s = 0;          // token-bucket refill rate of the app's requests
  std::int64_t burst = 0;             // bucket size
  double customer_sends_per_min = 0;  // messages one customer may send per minute
};

struct App {
  AppId id;
  AccountId account_id;
  std::string name;
  std::string publishable_key;       // "pk_…": embeddable, safe to publish
  std::string theme_json = "{}";     // JSON object, e.g. {"color":"#3b82f6"}
  std::string prechat_json = "[]";   // JSON array of questions shown before the first message
  // When true, an identified customer (external_id) must present
  // user_hash = hex(HMAC-SHA256(identity secret, external_id)).
  bool identity_verification = false;
  AppLimits limits;
  Timestamp created_at;
  Timestamp updated_at;
};

struct Customer {
  CustomerId id;
  AppId app_id;
  std::string external_id;  // empty for anonymous customers
  std::string name;
  std::string email;
  std::string metadata_json = "{}";
  Timestamp created_at;
  Timestamp updated_at;
};

enum class ConversationType { kSupport, kDm, kGroup, kChannel };
enum class ConversationStatus { kOpen, kPending, kResolved, kSnoozed };
LIBCHAT_API const char* ConversationTypeName(ConversationType type);      // "support", ...
LIBCHAT_API const char* ConversationStatusName(ConversationStatus status); // "open", ...
LIBCHAT_API std::optional<ConversationType> ParseConversationType(std::string_view text);
LIBCHAT_API std::optional<ConversationStatus> ParseConversationStatus(std::string_view text);

enum class SenderType { kCustomer, kOperator, kAccount, kBot, kSystem };
LIBCHAT_API const char* SenderTypeName(SenderType type);  // "customer", ...
LIBCHAT_API std::optional<SenderType> ParseSenderType(std::string_view text);

struct Sender {
  SenderType type = SenderType::kSystem;
  std::string id;  // "cus_…", "acc_…", "op_…"; empty for system
};

// A member's role in a dm, group or channel. Owners and admins manage members;
// in a channel only they (and the app's team) post.
enum class MemberRole { kOwner, kAdmin, kMember };
LIBCHAT_API const char* MemberRoleName(MemberRole role);  // "owner", "admin", "member"
LIBCHAT_API std::optional<MemberRole> ParseMemberRole(std::string_view text);

struct Member {
  std::string id;  // principal id: "cus_…", "acc_…", "op_…"
  MemberRole role = MemberRole::kMember;
  Timestamp joined_at;
};

struct Message {
  MessageId id;
  ConversationId conversation_id;
  AppId app_id;
  std::int64_t seq = 0;  // 1, 2, 3 … per conversation, no gaps, no duplicates
  Sender sender;
  std::string text;
  std::string metadata_json = "{}";
  std::string client_msg_id;  // empty when the client gave none
  Timestamp created_at;
  std::optional<Timestamp> edited_at;
  bool deleted = false;
};

struct Conversation {
  ConversationId id;
  AppId app_id;
  ConversationType type = ConversationType::kSupport;
  ConversationStatus status = ConversationStatus::kOpen;
  std::string assignee_id;  // "acc_…"/"op_…" or empty
  std::string name;
  std::string metadata_json = "{}";
  CustomerId customer_id;   // the customer of a support conversation
  // Explicit members (the customer of a support conversation is one). Filled
  // on creation and by Chat::GetConversation; empty in lists and events.
  std::vector<Member> members;
  std::int64_t last_seq = 0;
  std::optional<Message> last_message;
  std::optional<Timestamp> snoozed_until;
  Timestamp created_at;
  Timestamp updated_at;
  Timestamp last_activity_at;  // time of the last message, or creation
  // Relative to the viewer the record was read for (zero in broadcast events).
  std::int64_t read_seq = 0;
  std::int64_t unread_count = 0;
};

// Per member and conversation; both sequence numbers only ever move forward.
struct Receipt {
  ConversationId conversation_id;
  std::string member_id;  // principal id: "cus_…", "acc_…", "op_…"
  std::int64_t delivered_seq = 0;
  std::int64_t read_seq = 0;
  Timestamp updated_at;
};

// One page of a cursor-paginated list. next_cursor is empty on the last page.
template <typename T>
struct Page {
  std::vector<T> data;
  std::string next_cursor;
};

}  // namespace libchat

namespace std {
template <typename Tag>
struct hash<libchat::Id<Tag>> {
  size_t operator()(const libchat::Id<Tag>& id) const noexcept { return hash<string>()(id.str()); }
};
}  // namespace std
