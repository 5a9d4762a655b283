// The conversation service: SDK sessions, support conversations, messages,
// receipts and typing. Message events are published from the store's commit
// hook, so subscribers see each conversation's messages in seq order.
#include "core/chat_impl.h"
#include "core/customers.h"
#include "core/validation.h"
#include "core/widget_settings.h"
#include "util/crypto.h"
#include "util/status_macros.h"

namespace libchat {

namespace {

// "conv_" + 22 base62 characters of SHA-256(customer id, client_msg_id).
ConversationId DerivedConversationId(const CustomerId& customer, const std::string& client_msg_id) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const std::string digest = internal::Sha256(customer.str() + '\0' + client_msg_id);
  std::string id(ConversationId::prefix());
  for (std::size_t i = 0; i < 22; ++i) id += kAlphabet[static_cast<unsigned char>(digest[i]) % 62];
  return ConversationId(std::move(id));
}

bool MayReopen(ConversationStatus status) {
  return status == ConversationStatus::kResolved || status == ConversationStatus::kSnoozed;
}

}  // namespace

Result<SdkConfig> Chat::GetSdkConfig(const Principal& principal) {
  if (principal.app_id.empty()) return PermissionDeniedError("the SDK config needs an app key");
  LIBCHAT_ASSIGN_OR_RETURN(StoredApp stored, impl_->store->GetApp(principal.app_id));
  SdkConfig config;
  config.app_id = stored.app.id;
  config.app_name = stored.app.name;
  config.theme_json = stored.app.theme_json;
  config.prechat_json = stored.app.prechat_json;
  LIBCHAT_ASSIGN_OR_RETURN(config.widget, internal::LoadWidgetSettings(*impl_->store, stored.app.id));
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const AppDeliveryConfig> delivery, impl_->DeliveryConfigOf(stored.app.id));
  config.bot_enabled = delivery->bot.enabled;
  config.bot_name = delivery->bot.name;
  return config;
}

// Creates a support conversation for `customer` and announces it.
Result<Conversation> Chat::Impl::StartSupportConversation(const AppId& app, const CustomerId& customer,
                                                         const std::string& metadata_json, ConversationId id) {
  Impl& impl = *this;
  Conversation conversation;
  conversation.id = id.empty() ? ConversationId(internal::NewId(ConversationId::prefix())) : std::move(id);
  conversation.app_id = app;
  conversation.type = ConversationType::kSupport;
  conversation.status = ConversationStatus::kOpen;
  conversation.customer_id = customer;
  conversation.members.push_back(Member{customer.str(), MemberRole::kMember, impl.Now()});
  LIBCHAT_ASSIGN_OR_RETURN(conversation.metadata_json,
                           internal::NormalizeJsonObject("metadata", metadata_json, impl.options.max_metadata_bytes));
  conversation.created_at = conversation.updated_at = conversation.last_activity_at =
      conversation.members.front().joined_at;
  // With the bot enabled it handles the conversation first (pending); otherwise the team
  // gets it at once, assigned by the app's mode.
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const AppDeliveryConfig> config, impl.DeliveryConfigOf(app));
  if (config->bot.enabled) {
    conversation.status = ConversationStatus::kPending;
  } else {
    LIBCHAT_ASSIGN_OR_RETURN(conversation.assignee_id, impl.PickAssignee(app));
  }
  LIBCHAT_RETURN_IF_ERROR(impl.CreateConversationWithWebhooks(conversation));
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<std::string> audience, impl.Audience(conversation));
  Event event = ConversationEvent(EventType::kConversationCreated, conversation, std::move(audience));
  event.conversation = conversation;
  impl.Publish(std::move(event));
  return conversation;
}

// The customer an SDK call acts for: the session's, or a new one for a publishable key.
Result<Customer> Chat::Impl::SdkCustomer(const Principal& principal, const CustomerInput& input) {
  Impl& impl = *this;
  if (principal.type == PrincipalType::kCustomer) {
    return impl.store->GetCustomer(CustomerId(principal.id));
  }
  if (principal.type != PrincipalType::kPublishable) {
    return PermissionDeniedError("SDK routes act for a customer: use a publishable key or a session");
  }
  LIBCHAT_ASSIGN_OR_RETURN(StoredApp app, impl.store->GetApp(principal.app_id));
  LIBCHAT_RETURN_IF_ERROR(internal::VerifyCustomerIdentity(app, input));
  return internal::FindOrCreateCustomer(*impl.store, impl.Now(), principal.app_id, input);
}

Result<SdkSession> Chat::CreateSession(const Principal& principal, const SessionRequest& request) {
  Impl& impl = *impl_;
  LIBCHAT_RETURN_IF_ERROR(
      internal::NormalizeJsonObject("metadata", request.metadata_json, impl.options.max_metadata_bytes).status());
  LIBCHAT_ASSIGN_OR_RETURN(Customer customer, impl.SdkCustomer(principal, request.customer));
  LIBCHAT_ASSIGN_OR_RETURN(Conversation conversation,
                           impl.StartSupportConversation(customer.app_id, customer.id, request.metadata_json));
  auto [token, expires] = impl.IssueToken("customer", customer.id.str(), customer.app_id.str(),
                                          impl.options.session_token_ttl);
  return SdkSession{std::move(conversation), std::move(customer), std::move(token), expires};
}

Status Chat::Impl::ValidateSendRequest(const SendRequest& request) const {
  const Impl& impl = *this;
  LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("text", request.text, 1, impl.options.max_message_bytes));
  if (!request.client_msg_id.empty()) {
    LIBCHAT_RETURN_IF_ERROR(internal::ValidateClientKey("client_msg_id", request.client_msg_id));
  }
  return internal::NormalizeJsonObject("metadata", request.metadata_json, impl.options.max_metadata_bytes).status();
}

Result<SendResult> Chat::SdkSendMessage(const Principal& principal, const SdkSendRequest& request) {
  Impl& impl = *impl_;
  // Validate everything before creating anything, so a bad message leaves nothing behind.
  LIBCHAT_RETURN_IF_ERROR(impl.ValidateSendRequest(request.message));
  if (!request.conversation_id.empty()) {
    if (principal.type != PrincipalType::kCustomer) {
      return UnauthenticatedError("a session token is required to post into a conversation");
    }
    LIBCHAT_ASSIGN_OR_RETURN(Conversation conversation, impl.VisibleConversation(principal, request.conversation_id));
    return impl.AppendAndPublish(principal, conversation, request.message);
  }
  LIBCHAT_ASSIGN_OR_RETURN(Customer customer, impl.SdkCustomer(principal, request.customer));
  // A known customer's first message with a client_msg_id gets a conversation id
  // derived from both, so a retry after a lost response finds the same
  // conversation and the store's dedupe returns the original message.
  ConversationId id;
  if (principal.type == PrincipalType::kCustomer && !request.message.client_msg_id.empty()) {
    id = DerivedConversationId(customer.id, request.message.client_msg_id);
    auto existing = impl.VisibleConversation(principal, id);
    if (existing.ok()) return impl.AppendAndPublish(principal, *existing, request.message);
  }
  auto started = impl.StartSupportConversation(customer.app_id, customer.id, "", id);
  if (!started.ok() && started.status().code() == StatusCode::kAlreadyExists && !id.empty()) {
    started = impl.VisibleConversation(principal, id);  // a concurrent retry created it first
  }
  if (!started.ok()) return started.status();
  Conversation conversation = std::move(started).value();
  Principal as_customer = principal;
  as_customer.type = PrincipalType::kCustomer;
  as_customer.id = customer.id.str();
  as_customer.app_id = customer.app_id;
  LIBCHAT_ASSIGN_OR_RETURN(SendResult result, impl.AppendAndPublish(as_customer, conversation, request.message));
  if (principal.type == PrincipalType::kPublishable) {
    auto [token, expires] = impl.IssueToken("customer", customer.id.str(), customer.app_id.str(),
                                            impl.options.session_token_ttl);
    result.session_token = std::move(token);
    result.session_expires_at = expires;
  }
  return result;
}

Result<SendResult> Chat::Impl::AppendAndPublish(const Principal& principal, const Conversation& conversation,
                                                const SendRequest& request, const Sender* as_sender) {
  Impl& impl = *this;
  LIBCHAT_RETURN_IF_ERROR(impl.ValidateSendRequest(request));
  if (conversation.type == ConversationType::kChannel && principal.type == PrincipalType::kCustomer) {
    // A channel is a broadcast: its owners and admins (and the app's team) post, members read.
    LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const MemberList> members, impl.Members(conversation));
    const Member* self = members->Find(principal.id);
    if (self == nullptr || self->role == MemberRole::kMember) {
      return PermissionDeniedError("only owners and admins post in a channel");
    }
  }
  AppendRequest append;
  Message& message = append.message;
  message.id = MessageId(internal::NewId(MessageId::prefix()));
  message.conversation_id = conversation.id;
  message.app_id = conversation.app_id;
  message.sender = as_sender != nullptr ? *as_sender : Chat::Impl::SenderOf(principal);
  message.text = request.text;
  LIBCHAT_ASSIGN_OR_RETURN(message.metadata_json, internal::NormalizeJsonObject("metadata", request.metadata_json,
                                                                              impl.options.max_metadata_bytes));
  message.client_msg_id = request.client_msg_id;
  message.created_at = impl.Now();
  // A customer writing into a resolved or snoozed conversation reopens it.
  append.reopen = principal.type == PrincipalType::kCustomer;
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<std::string> audience, impl.Audience(conversation));

  const bool may_reopen = append.reopen && MayReopen(conversation.status);
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const AppDeliveryConfig> delivery, impl.DeliveryConfigOf(conversation.app_id));
  append.outbox = impl.MessageOutbox(std::move(delivery), principal, conversation, audience, may_reopen);
  auto on_commit = [&impl, &audience, may_reopen](const AppendResult& appended) {
    Event created = ConversationEvent(EventType::kMessageCreated, appended.conversation, audience);
    created.message = appended.message;
    impl.Publish(std::move(created));
    if (may_reopen && appended.conversation.status == ConversationStatus::kOpen) {
      Event updated = ConversationEvent(EventType::kConversationUpdated, appended.conversation, audience);
      updated.conversation = appended.conversation;
      impl.Publish(std::move(updated));
    }
  };
  // A reopen must not interleave with an UpdateConversation's read and write,
  // which would write the old status back over it. Only messages that can
  // reopen take the lock, so ordinary appends still share group commits.
  std::unique_lock<std::mutex> reopen_lock;
  if (may_reopen) reopen_lock = std::unique_lock<std::mutex>(impl.entity_locks.For(conversation.id.str()));
  auto appended = impl.store->AppendMessage(append, on_commit);
  if (!appended.ok()) {
    if (appended.status().code() == StatusCode::kNotFound) return NotFoundError("conversation not found");
    return appended.status();
  }
  SendResult result;
  result.message = std::move(appended->message);
  result.conversation = std::move(appended->conversation);
  result.created = appended->created;
  return result;
}

Result<Page<Conversation>> Chat::ListConversations(const Principal& principal, const AppId& app,
                                                   const ConversationFilter& filter) {
  Impl& impl = *impl_;
  ConversationQuery query;
  query.app_id = app;
  if (principal.type == PrincipalType::kCustomer) {
    if (principal.app_id != app) return NotFoundError("app not found");
    query.member_id = principal.id;
  } else {
    LIBCHAT_ASSIGN_OR_RETURN(bool staff, impl.IsAppStaff(principal, app));
    if (!staff) return NotFoundError("app not found");
  }
  LIBCHAT_ASSIGN_OR_RETURN(query.limit, internal::ValidateLimit(filter.limit));
  query.status = filter.status;
  query.assignee_id = filter.assignee_id;
  query.type = filter.type;
  query.cursor = filter.cursor;
  query.viewer_id = Impl::MemberIdOf(principal);
  return impl.store->ListConversations(query);
}

Result<Conversation> Chat::GetConversation(const Principal& principal, const ConversationId& id) {
  Impl& impl = *impl_;
  LIBCHAT_ASSIGN_OR_RETURN(Conversation conversation,
                           impl.VisibleConversation(principal, id, /*with_viewer_state=*/true));
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const MemberList> members, impl.Members(conversation));
  conversation.members = members->members;
  return conversation;
}

Result<Conversation> Chat::UpdateConversation(const Principal& principal, const ConversationId& id,
                                              const ConversationUpdate& update) {
  Impl& impl = *impl_;
  std::lock_guard lock(impl.entity_locks.For(id.str()));
  LIBCHAT_ASSIGN_OR_RETURN(Conversation conversation,
                           impl.VisibleConversation(principal, id, /*with_viewer_state=*/true));
  if (principal.type == PrincipalType::kCustomer) {
    return PermissionDeniedError("customers cannot change a conversation");
  }
  if (update.status) {
    conversation.status = *update.status;
    if (conversation.status != ConversationStatus::kSnoozed) conversation.snoozed_until.reset();
  }
  if (update.snoozed_until) {
    if (*update.snoozed_until && conversation.status != ConversationStatus::kSnoozed) {
      return InvalidArgumentError("snoozed_until needs status snoozed");
    }
    conversation.snoozed_until = *update.snoozed_until;
  }
  if (update.assignee_id) {
    const std::string& assignee = *update.assignee_id;
    // The app's owning account or an active operator assigned to the app; "" unassigns.
    if (AccountId::IsWellFormed(assignee)) {
      LIBCHAT_ASSIGN_OR_RETURN(AccountId owner, impl.AppOwner(conversation.app_id));
      if (assignee != owner.str()) return NotFoundError("assignee not found");
    } else if (OperatorId::IsWellFormed(assignee)) {
      Principal as_operator;
      as_operator.type = PrincipalType::kOperator;
      as_operator.id = assignee;
      LIBCHAT_ASSIGN_OR_RETURN(bool staff, impl.IsAppStaff(as_operator, conversation.app_id));
      if (!staff) return NotFoundError("assignee not found");
    } else if (!assignee.empty()) {
      return InvalidArgumentError("assignee_id must be an account (acc_…) or operator (op_…) id");
    }
    conversation.assignee_id = *update.assignee_id;
  }
  if (update.name) {
    LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("name", *update.name, 0, internal::kMaxConversationNameBytes));
    conversation.name = *update.name;
  }
  if (update.metadata_json) {
    LIBCHAT_ASSIGN_OR_RETURN(conversation.metadata_json, internal::NormalizeJsonObject(
                                                             "metadata", *update.metadata_json,
                                                             impl.options.max_metadata_bytes));
  }
  conversation.updated_at = impl.Now();
  LIBCHAT_RETURN_IF_ERROR(impl.UpdateConversationWithWebhooks(conversation));
  LIBCHAT_RETURN_IF_ERROR(impl.PublishConversationUpdated(conversation));
  return conversation;
}

Status Chat::Impl::PublishConversationUpdated(const Conversation& conversation) {
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<std::string> audience, Audience(conversation));
  Event event = ConversationEvent(EventType::kConversationUpdated, conversation, std::move(audience));
  event.conversation = conversation;
  event.conversation->read_seq = event.conversation->unread_count = 0;  // viewer-relative: not broadcast
  Publish(std::move(event));
  return Status::Ok();
}

Result<int> Chat::WakeSnoozedConversations(int limit) {
  Impl& impl = *impl_;
  const Timestamp now = impl.Now();
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<Conversation> due, impl.store->ListDueSnoozed(now, std::max(limit, 0)));
  int woken = 0;
  for (const Conversation& candidate : due) {
    std::lock_guard lock(impl.entity_locks.For(candidate.id.str()));
    // Re-read under the lock: a PATCH or a customer message may have changed it since.
    auto current = impl.store->GetConversation(candidate.id, "");
    if (!current.ok()) {
      if (current.status().code() == StatusCode::kNotFound) continue;
      return current.status();
    }
    Conversation conversation = std::move(current).value();
    if (conversation.status != ConversationStatus::kSnoozed || !conversation.snoozed_until ||
        *conversation.snoozed_until > now) {
      continue;
    }
    conversation.status = ConversationStatus::kOpen;
    conversation.snoozed_until.reset();
    conversation.updated_at = now;
    LIBCHAT_RETURN_IF_ERROR(impl.UpdateConversationWithWebhooks(conversation));
    LIBCHAT_RETURN_IF_ERROR(impl.PublishConversationUpdated(conversation));
    ++woken;
  }
  return woken;
}

Result<std::vector<Message>> Chat::ListMessages(const Principal& principal, const ConversationId& id,
                                                const HistoryQuery& query) {
  Impl& impl = *impl_;
  if (query.after_seq && query.before_seq) return InvalidArgumentError("give after_seq or before_seq, not both");
  if ((query.after_seq && *query.after_seq < 0) || (query.before_seq && *query.before_seq < 0)) {
    return InvalidArgumentError("sequence numbers are not negative");
  }
  LIBCHAT_ASSIGN_OR_RETURN(int limit, internal::ValidateLimit(query.limit));
  LIBCHAT_RETURN_IF_ERROR(impl.VisibleConversation(principal, id).status());
  MessageQuery store_query;
  store_query.conversation_id = id;
  store_query.after_seq = query.after_seq;
  store_query.before_seq = query.before_seq;
  store_query.limit = limit;
  return impl.store->ListMessages(store_query);
}

Result<SendResult> Chat::SendMessage(const Principal& principal, const ConversationId& id,
                                     const SendRequest& request) {
  Impl& impl = *impl_;
  LIBCHAT_RETURN_IF_ERROR(impl.ValidateSendRequest(request));
  LIBCHAT_ASSIGN_OR_RETURN(Conversation conversation, impl.VisibleConversation(principal, id));
  return impl.AppendAndPublish(principal, conversation, request);
}

// Moves the principal's receipt forward and tells the other members.
Result<Receipt> Chat::Impl::AdvanceReceipt(const Principal& principal, const ConversationId& id, std::int64_t seq,
                                           bool read) {
  Impl& impl = *this;
  if (seq < 0) return InvalidArgumentError("seq must not be negative");
  LIBCHAT_ASSIGN_OR_RETURN(Conversation conversation, impl.VisibleConversation(principal, id));
  if (seq > conversation.last_seq) return InvalidArgumentError("seq is beyond the last message");
  LIBCHAT_ASSIGN_OR_RETURN(Receipt receipt,
                           impl.store->AdvanceReceipt(id, Chat::Impl::MemberIdOf(principal), seq, read ? seq : 0,
                                                      impl.Now()));
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<std::string> audience, impl.Audience(conversation));
  Event event = ConversationEvent(EventType::kReceipt, conversation, std::move(audience));
  event.receipt = receipt;
  impl.Publish(std::move(event));
  return receipt;
}

Result<Receipt> Chat::MarkRead(const Principal& principal, const ConversationId& id, std::int64_t seq) {
  return impl_->AdvanceReceipt(principal, id, seq, /*read=*/true);
}

Result<Receipt> Chat::MarkDelivered(const Principal& principal, const ConversationId& id, std::int64_t seq) {
  return impl_->AdvanceReceipt(principal, id, seq, /*read=*/false);
}

Status Chat::SetTyping(const Principal& principal, const ConversationId& id, bool typing) {
  Impl& impl = *impl_;
  auto conversation = impl.VisibleConversation(principal, id);
  if (!conversation.ok()) return conversation.status();
  auto audience = impl.Audience(*conversation);
  if (!audience.ok()) return audience.status();
  Event event = Impl::ConversationEvent(EventType::kTyping, *conversation, std::move(audience).value());
  event.typing = TypingState{id, Chat::Impl::SenderOf(principal), typing};
  impl.Publish(std::move(event));
  return Status::Ok();
}

}  // namespace libchat
