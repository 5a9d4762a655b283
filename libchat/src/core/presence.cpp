// Presence: who is told that a principal came online or went offline.
//
// Only those who share a conversation with it: the members of every
// conversation it is a member of, and — for a customer — its app's owning
// account and active operators (they see every conversation of the app; app-server
// connections get the event through its app id). Nobody else in the tenant
// learns anything. The transport decides when (first connection, and the
// last one gone for a grace period); this only computes the audience.
#include <unordered_set>

#include "core/chat_impl.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

// Bounds the work of one presence change for a principal in very many conversations.
constexpr int kMaxPresenceConversations = 1000;

}  // namespace

Status Chat::SetPresence(const Principal& principal, bool online) {
  Impl& impl = *impl_;
  if (principal.type != PrincipalType::kCustomer && principal.type != PrincipalType::kAccount &&
      principal.type != PrincipalType::kOperator) {
    return Status::Ok();  // keys and the admin have no presence
  }
  const Timestamp now = impl.Now();
  // First for the delivery policy: whatever follows may fail, this must not be lost.
  impl.presence.Set(principal.id, online, now);
  if (online) {
    // Notifications queued for it while it was away go out now.
    LIBCHAT_RETURN_IF_ERROR(impl.store->WakeDeliveries(principal.id, DeliveryChannel::kWebSocket, now).status());
  }
  std::unordered_set<std::string> audience;
  if (principal.type == PrincipalType::kCustomer) {
    LIBCHAT_ASSIGN_OR_RETURN(AccountId owner, impl.AppOwner(principal.app_id));
    audience.insert(owner.str());
    LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const std::vector<std::string>> operators,
                             impl.ActiveOperatorIds(principal.app_id));
    audience.insert(operators->begin(), operators->end());
  }
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<ConversationId> conversations,
                           impl.store->ListMemberships(principal.id, kMaxPresenceConversations));
  for (const ConversationId& id : conversations) {
    auto conversation = impl.store->GetConversation(id, "");
    if (!conversation.ok()) {
      if (conversation.status().code() == StatusCode::kNotFound) continue;  // deleted meanwhile
      return conversation.status();
    }
    LIBCHAT_ASSIGN_OR_RETURN(std::vector<std::string> members, impl.Audience(*conversation));
    for (std::string& member : members) audience.insert(std::move(member));
  }
  audience.erase(principal.id);

  Event event;
  event.type = EventType::kPresence;
  event.app_id = principal.app_id;  // empty for accounts: no app-server connection hears of them
  event.audience.assign(audience.begin(), audience.end());
  event.presence = PresenceState{principal.id, online, now};
  impl.Publish(std::move(event));
  return Status::Ok();
}

}  // namespace libchat
