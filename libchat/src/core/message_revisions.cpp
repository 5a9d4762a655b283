// Edits and deletes of messages. Only the sender may change a message. The
// store keeps every previous version in the message's revision log and the
// message itself shows its current state; the change is announced as
// message.updated / message.deleted carrying the message (and so its seq).
#include "core/chat_impl.h"
#include "core/validation.h"
#include "delivery/webhook_payloads.h"
#include "util/status_macros.h"

namespace libchat {

Result<Message> Chat::Impl::ReviseOwnMessage(const Principal& principal, const ConversationId& id,
                                             const MessageId& message_id, MessageRevision revision) {
  Impl& impl = *this;
  LIBCHAT_ASSIGN_OR_RETURN(Conversation conversation, impl.VisibleConversation(principal, id));
  if (!MessageId::IsWellFormed(message_id.str())) return NotFoundError("message not found");
  // One revision of a message at a time, so that "is it deleted?" and the write agree.
  std::lock_guard lock(impl.entity_locks.For(message_id.str()));
  auto current = impl.store->GetMessage(id, message_id);
  if (!current.ok()) {
    if (current.status().code() == StatusCode::kNotFound) return NotFoundError("message not found");
    return current.status();
  }
  if (current->sender.id != principal.id) return PermissionDeniedError("only the sender changes a message");
  if (current->deleted) {
    if (revision.deleted) return std::move(current).value();  // deleting twice changes nothing
    return AbortedError("the message is deleted");
  }
  revision.conversation_id = id;
  revision.message_id = message_id;
  revision.editor_id = principal.id;
  revision.at = impl.Now();
  // The webhook carries the message as the revision leaves it, written with it.
  const char* event_type = revision.deleted ? "message.deleted" : "message.updated";
  LIBCHAT_ASSIGN_OR_RETURN(std::shared_ptr<const AppDeliveryConfig> delivery, impl.DeliveryConfigOf(conversation.app_id));
  if (delivery->Wants(event_type)) {
    Message after = *current;
    after.edited_at = revision.at;
    if (revision.deleted) {
      after.deleted = true;
      after.text.clear();
      after.metadata_json = "{}";
    } else {
      if (revision.text) after.text = *revision.text;
      if (revision.metadata_json) after.metadata_json = *revision.metadata_json;
    }
    revision.outbox = WebhookDeliveries(*delivery, conversation.app_id, event_type,
                                        internal::MessageWebhookBody(event_type, revision.at, after, conversation),
                                        revision.at);
  }
  auto revised = impl.store->ReviseMessage(revision);
  if (!revised.ok()) {
    if (revised.status().code() == StatusCode::kNotFound) return NotFoundError("message not found");
    return revised.status();
  }
  LIBCHAT_ASSIGN_OR_RETURN(std::vector<std::string> audience, impl.Audience(conversation));
  Event event = ConversationEvent(revision.deleted ? EventType::kMessageDeleted : EventType::kMessageUpdated,
                                  conversation, std::move(audience));
  event.message = *revised;
  impl.Publish(std::move(event));
  return revised;
}

Result<Message> Chat::EditMessage(const Principal& principal, const ConversationId& id, const MessageId& message,
                                  const MessageEdit& edit) {
  Impl& impl = *impl_;
  if (!edit.text && !edit.metadata_json) return InvalidArgumentError("give text or metadata to change");
  MessageRevision revision;
  if (edit.text) {
    LIBCHAT_RETURN_IF_ERROR(internal::ValidateText("text", *edit.text, 1, impl.options.max_message_bytes));
    revision.text = *edit.text;
  }
  if (edit.metadata_json) {
    LIBCHAT_ASSIGN_OR_RETURN(revision.metadata_json, internal::NormalizeJsonObject("metadata", *edit.metadata_json,
                                                                                 impl.options.max_metadata_bytes));
  }
  return impl.ReviseOwnMessage(principal, id, message, std::move(revision));
}

Result<Message> Chat::DeleteMessage(const Principal& principal, const ConversationId& id, const MessageId& message) {
  MessageRevision revision;
  revision.deleted = true;
  return impl_->ReviseOwnMessage(principal, id, message, std::move(revision));
}

}  // namespace libchat
