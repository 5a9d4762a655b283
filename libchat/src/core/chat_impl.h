// Chat::Impl: the state behind the facade and the helpers its services share.
// The services themselves (auth, apps, conversations) are the Chat member
// functions defined in accounts.cpp, apps.cpp and conversations.cpp.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/entity_locks.h"
#include "util/crypto.h"
#include "libchat/chat.h"

namespace libchat {

struct Chat::Impl {
  Options options;
  std::shared_ptr<Store> store;
  std::shared_ptr<Bus> bus;
  std::shared_ptr<Clock> clock;
  std::string jwt_secret;
  // jwt_secret prepared for HMAC once, instead of on every token check.
  std::unique_ptr<internal::HmacSha256Key> jwt_key;
  // A PHC hash of a random password, verified against when a login names an
  // unknown email so that the response time does not reveal which emails exist.
  std::string decoy_password_hash;
  // Held across the read and the write of an update of one account, app or conversation.
  internal::EntityLocks entity_locks;

  Timestamp Now() const { return clock->Now(); }

  // --- authorization helpers: each returns kNotFound for anything the principal
  // may not see, so other tenants' resources are indistinguishable from missing ones.

  // The owning account of an app (cached: ownership never changes).
  Result<AccountId> AppOwner(const AppId& app);
  void ForgetApp(const AppId& app);
  // The app, if the principal is its owning account.
  Result<StoredApp> OwnedApp(const Principal& principal, const AppId& app);
  // True when the principal may act on conversations of `app` as its team
  // (the owning account, or the app's own server).
  Result<bool> IsAppTeam(const Principal& principal, const AppId& app);
  // The conversation, if the principal may see it. With `with_viewer_state`,
  // read_seq and unread_count are filled for the principal; that costs a count
  // over the unread messages, so only reads that return them to a client ask.
  Result<Conversation> VisibleConversation(const Principal& principal, const ConversationId& id,
                                           bool with_viewer_state = false);
  // Principal ids that see events of this conversation.
  Result<std::vector<std::string>> Audience(const Conversation& conversation);

  // Verifies a bearer token (signature, expiry, revocation) and that its subject
  // still exists; with `app`, a session token must belong to that app.
  Result<Principal> PrincipalFromToken(const std::string& token, const AppId* app);

  // Who a principal writes as, and the member id its receipts are kept under.
  static Sender SenderOf(const Principal& principal);
  static std::string MemberIdOf(const Principal& principal);

  // An event about `conversation` for `audience`; the caller sets the payload.
  static Event ConversationEvent(EventType type, const Conversation& conversation,
                                 std::vector<std::string> audience);
  void Publish(Event event);

  // --- conversation service steps (conversations.cpp)
  // Creates a support conversation for `customer` (with `id`, or a new random
  // one when it is empty) and announces it. kAlreadyExists when `id` is taken.
  Result<Conversation> StartSupportConversation(const AppId& app, const CustomerId& customer,
                                                const std::string& metadata_json, ConversationId id = {});
  // The customer an SDK call acts for: the session's, or a new one for a publishable key.
  Result<Customer> SdkCustomer(const Principal& principal, const CustomerInput& input);
  Status ValidateSendRequest(const SendRequest& request) const;
  // Validates, appends durably and publishes message events from the commit hook.
  Result<SendResult> AppendAndPublish(const Principal& principal, const Conversation& conversation,
                                      const SendRequest& request);
  // Moves the principal's receipt forward and tells the other members.
  Result<Receipt> AdvanceReceipt(const Principal& principal, const ConversationId& id, std::int64_t seq, bool read);

  // Mints an HS256 token of `kind` ("account", "customer") for `subject`; returns it with its expiry.
  std::pair<std::string, Timestamp> IssueToken(std::string kind, std::string subject, std::string app_id,
                                               std::chrono::seconds ttl);

 private:
  std::mutex owners_mutex_;
  std::unordered_map<std::string, AccountId> owners_;  // app id -> owning account
};

}  // namespace libchat
