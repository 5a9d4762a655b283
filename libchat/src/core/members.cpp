// dm, group and channel conversations and their members.
//
// Who may do what (support conversations keep their one customer and are not
// managed here):
// - the app's staff (its owning account, its server, its active operators)
//   creates any of the three types and manages every member;
// - a customer creates dms and groups it belongs to (as owner); owners and
//   admins add and remove members, any member may leave.
// A dm has exactly two members and is unique per pair: the store enforces it,
// so concurrent creations of the same pair end with one conversation.
#include <unordered_set>

#include "core/chat_impl.h"
#include "core/customers.h"
#include "core/validation.h"
#include "util/crypto.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

bool IsManager(const Member* member) {
  return member != nullptr && (member->role == MemberRole::kOwner || member->role == MemberRole::kAdmin);
}

Status NotManaged(const Conversation& conversation) {
  if (conversation.type == ConversationType::kSupport) {
    return InvalidArgumentError("a support conversation's members are fixed");
  }
  if (conversation.type == ConversationType::kDm) return InvalidArgumentError("a dm has exactly two members");
  return Status::Ok();
}

}  // namespace

// The principal id a MemberInput names, checked to be part of `app`. The team,
// and customers the app's server acts for, may name customers by external id
// (created when new); customers with a session may only name existing ones.
Result<std::string> Chat::Impl::ResolveMember(const Principal& principal, const AppId& app, const MemberInput& input) {
  Impl& impl = *this;
  if (!input.id.empty() && !input.external_id.empty()) {
    return InvalidArgumentError("a member is given by id or by external_id, not both");
  }
  if (!input.external_id.empty()) {
    LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("external_id", input.external_id, 1, 255));
    if (principal.type == PrincipalType::kCustomer && !principal.via_secret_key) {
      auto found = impl.store->FindCustomerByExternalId(app, input.external_id);
      if (!found.ok()) {
        if (found.status().code() == StatusCode::kNotFound) return NotFoundError("member not found");
        return found.status();
      }
      return found->id.str();
    }
    CustomerInput customer;
    customer.external_id = input.external_id;
    LIBCHAT_ASSIGN_OR_RETURN(Customer created, internal::FindOrCreateCustomer(*impl.store, impl.Now(), app, customer));
    return created.id.str();
  }
  const std::string& id = input.id;
  if (id.empty()) return InvalidArgumentError("a member needs an id or an external_id");
  if (CustomerId::IsWellFormed(id)) {
    auto customer = impl.store->GetCustomer(CustomerId(id));
    if (!customer.ok() || customer->app_id != app) {
      if (!customer.ok() && customer.status().code() != StatusCode::kNotFound) return customer.status();
      return NotFoundError("member not found");
    }
    return id;
  }
  if (AccountId::IsWellFormed(id)) {
    // The app's owning account; its operators are named by their op_ ids.
    LIBCHAT_ASSIGN_OR_RETURN(AccountId owner, impl.AppOwner(app));
    if (owner.str() != id) return NotFoundError("member not found");
    return id;
  }
  if (OperatorId::IsWellFormed(id)) {
    // An active operator assigned to the app.
    Principal as_operator;
    as_operator.type = PrincipalType::kOperator;
    as_operator.id = id;
    LIBCHAT_ASSIGN_OR_RETURN(bool staff, impl.IsAppStaff(as_operator, app));
    if (!staff) return NotFoundError("member not found");
    return id;
  }
  return InvalidArgumentError("member id must be a customer (cus_…), account (acc_…) or operator (op_…) id");
}

Result<CreatedConversation> Chat::CreateConversation(const Principal& principal, const AppId& app,
                                                     const ConversationCreate& request) {
  Impl& impl = *impl_;
  // Authorization first: another tenant's app is "not found" whatever the body says.
  bool team = false;
  if (principal.type == PrincipalType::kCustomer) {
    if (principal.app_id != app) return NotFoundError("app not found");
  } else {
    LIBCHAT_ASSIGN_OR_RETURN(team, impl.IsAppStaff(principal, app));
    if (!team) {
      // Another tenant's account or server, or an operator of other apps: the app is
      // "not found" to it, as everywhere else.
      if (principal.type == PrincipalType::kAccount || principal.type == PrincipalType::kAppServer ||
          principal.type == PrincipalType::kOperator) {
        return NotFoundError("app not found");
      }
      return PermissionDeniedError("this key cannot create conversations");
    }
  }
  if (request.type == ConversationType::kSupport) {
    return InvalidArgumentError("support conversations are started by customers (POST /v1/sdk/sessions)");
  }
  if (request.type == ConversationType::kChannel && !team) {
    return PermissionDeniedError("only the app's team creates channels");
  }
  LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("name", request.name, 0, internal::kMaxConversationNameBytes));
  LIBCHAT_ASSIGN_OR_RETURN(std::string metadata, internal::NormalizeJsonObject("metadata", request.metadata_json,
                                                                              impl.options.max_metadata_bytes));
  if (request.members.size() > impl.options.max_conversation_members) {
    return InvalidArgumentError("too many members");
  }

  Conversation conversation;
  conversation.id = ConversationId(internal::NewId(ConversationId::prefix()));
  conversation.app_id = app;
  conversation.type = request.type;
  conversation.status = ConversationStatus::kOpen;
  conversation.name = request.name;
  conversation.metadata_json = std::move(metadata);
  conversation.created_at = conversation.updated_at = conversation.last_activity_at = impl.Now();

  // The creator belongs to what it creates, as owner (an app server is not a member).
  std::unordered_set<std::string> seen;
  if (principal.type == PrincipalType::kCustomer || principal.type == PrincipalType::kAccount ||
      principal.type == PrincipalType::kOperator) {
    conversation.members.push_back(Member{principal.id, MemberRole::kOwner, conversation.created_at});
    seen.insert(principal.id);
  }
  for (const MemberInput& input : request.members) {
    LIBCHAT_ASSIGN_OR_RETURN(std::string id, impl.ResolveMember(principal, app, input));
    if (!seen.insert(id).second) {
      if (id == principal.id) continue;  // the creator listed itself
      return InvalidArgumentError("member " + id + " is listed twice");
    }
    MemberRole role = input.role.value_or(MemberRole::kMember);
    if (role == MemberRole::kOwner && !team) return PermissionDeniedError("only the app's team names other owners");
    conversation.members.push_back(Member{std::move(id), role, conversation.created_at});
  }
  if (conversation.members.size() > impl.options.max_conversation_members) {
    return InvalidArgumentError("too many members");
  }

  if (conversation.type == ConversationType::kDm) {
    if (conversation.members.size() != 2) return InvalidArgumentError("a dm has exactly two distinct members");
    auto existing = impl.store->FindDirectConversation(app, conversation.members[0].id, conversation.members[1].id);
    if (existing.ok()) return impl.ExistingDirect(principal, existing->id);
    if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  } else if (conversation.members.empty()) {
    return InvalidArgumentError("members must name at least one member");
  }

  Status created = impl.CreateConversationWithWebhooks(conversation);
  if (created.code() == StatusCode::kAlreadyExists && conversation.type == ConversationType::kDm) {
    // A concurrent request created this pair's dm first: answer with that one.
    LIBCHAT_ASSIGN_OR_RETURN(Conversation existing, impl.store->FindDirectConversation(
                                                        app, conversation.members[0].id, conversation.members[1].id));
    return impl.ExistingDirect(principal, existing.id);
  }
  LIBCHAT_RETURN_IF_ERROR(created);

  LIBCHAT_ASSIGN_OR_RETURN(std::vector<std::string> audience, impl.Audience(conversation));
  Event event = Impl::ConversationEvent(EventType::kConversationCreated, conversation, std::move(audience));
  event.conversation = conversation;
  impl.Publish(std::move(event));
  return CreatedConversation{std::move(conversation), true};
}

// The dm a creation found instead, as the caller sees it (its unread count) with its members.
Result<CreatedConversation> Chat::Impl::ExistingDirect(const Principal& principal, const ConversationId& id) {
  LIBCHAT_ASSIGN_OR_RETURN(Conversation existing, store->GetConversation(id, MemberIdOf(principal)));
  LIBCHAT_ASSIGN_OR_RETURN(existing.members, store->ListMembers(id));
  return CreatedConversation{std::move(existing), false};
}

Result<std::vector<Member>> Chat::ListMembers(const Principal& principal, const ConversationId& id) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(Conversation conversation, impl.VisibleConversation(principal, id));
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const MemberList> members, impl.Members(conversation));
  return members->members;
}

Status Chat::Impl::CheckManager(const Principal& principal, const MemberList& members) {
  // Non-customers that can see the conversation are the app's team.
  if (principal.type != PrincipalType::kCustomer) return Status::Ok();
  if (!IsManager(members.Find(principal.id))) {
    return PermissionDeniedError("only the conversation's owners and admins manage its members");
  }
  return Status::Ok();
}

Result<MemberChange> Chat::AddMember(const Principal& principal, const ConversationId& id,
                                     const MemberInput& input) {
  Impl& impl = *impl_;
  std::lock_guard lock(impl.entity_locks.For(id.str()));  // one member change at a time per conversation
  LIBCHAT_ASSIGN_OR_RETURN(Conversation conversation, impl.VisibleConversation(principal, id));
  LIBCHAT_RETURN_IF_ERROR(NotManaged(conversation));
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const MemberList> before, impl.Members(conversation));
  LIBCHAT_RETURN_IF_ERROR(impl.CheckManager(principal, *before));
  const MemberRole role = input.role.value_or(MemberRole::kMember);
  if (role == MemberRole::kOwner && principal.type == PrincipalType::kCustomer) {
    return PermissionDeniedError("only the app's team names other owners");
  }
  LIBCHAT_ASSIGN_OR_RETURN(std::string member_id, impl.ResolveMember(principal, conversation.app_id, input));
  const Member* existing = before->Find(member_id);
  if (existing == nullptr && before->members.size() >= impl.options.max_conversation_members) {
    return InvalidArgumentError("the conversation has the most members allowed");
  }
  if (existing != nullptr && existing->role == MemberRole::kOwner && principal.type == PrincipalType::kCustomer) {
    return PermissionDeniedError("only the app's team changes an owner's role");
  }
  Member member{member_id, role, existing != nullptr ? existing->joined_at : impl.Now()};
  LIBCHAT_ASSIGN_OR_RETURN(bool added, impl.store->PutMember(id, member));
  impl.ForgetMembers(id);
  LIBCHAT_RETURN_IF_ERROR(impl.PublishMembersChanged(conversation, {}));
  return MemberChange{std::move(member), added};
}

Status Chat::RemoveMember(const Principal& principal, const ConversationId& id, const std::string& member_id) {
  Impl& impl = *impl_;
  std::lock_guard lock(impl.entity_locks.For(id.str()));
  LIBCHAT_ASSIGN_OR_RETURN(Conversation conversation, impl.VisibleConversation(principal, id));
  LIBCHAT_RETURN_IF_ERROR(NotManaged(conversation));
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const MemberList> before, impl.Members(conversation));
  const Member* target = before->Find(member_id);
  if (target == nullptr) return NotFoundError("member not found");
  const bool leaving = member_id == principal.id;
  if (!leaving) {
    LIBCHAT_RETURN_IF_ERROR(impl.CheckManager(principal, *before));
    if (target->role == MemberRole::kOwner && principal.type == PrincipalType::kCustomer) {
      return PermissionDeniedError("only the app's team removes an owner");
    }
  }
  LIBCHAT_RETURN_IF_ERROR(impl.store->RemoveMember(id, member_id));
  impl.ForgetMembers(id);
  // The removed member hears of it too, so its clients drop the conversation.
  return impl.PublishMembersChanged(conversation, {member_id});
}

Status Chat::Impl::PublishMembersChanged(const Conversation& conversation, std::vector<std::string> also_tell) {
  Impl& impl = *this;
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const MemberList> members, impl.Members(conversation));
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<std::string> audience, impl.Audience(conversation));
  for (std::string& id : also_tell) audience.push_back(std::move(id));
  Event event = ConversationEvent(EventType::kConversationUpdated, conversation, std::move(audience));
  event.conversation = conversation;
  event.conversation->members = members->members;
  event.conversation->read_seq = event.conversation->unread_count = 0;  // viewer-relative: not broadcast
  impl.Publish(std::move(event));
  return Status::Ok();
}

}  // namespace libchat
