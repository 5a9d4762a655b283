// Records: libchat's C++ values copied into the C structs of libchat_c.h, and
// the chat_*_free functions that release them. Every string is a new[] copy
// owned by its record; a partly built record is freed before an exception leaves.
#include <cstring>
#include <memory>
#include <string>

#include "c_api_internal.h"

namespace libchat::capi {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, Deleter<T, Free>>;

void FreeString(const char* s) { delete[] s; }

// Messages are freed with the record that holds them (no standalone chat_message is returned).
void FreeMessage(chat_message* message) {
  if (message == nullptr) return;
  FreeString(message->id);
  FreeString(message->conversation_id);
  FreeString(message->app_id);
  FreeString(message->sender_type);
  FreeString(message->sender_id);
  FreeString(message->text);
  FreeString(message->metadata_json);
  FreeString(message->client_msg_id);
  delete message;
}

}  // namespace

char* DupString(const std::string& s) {
  char* out = new char[s.size() + 1];
  std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

chat_message* NewMessage(const Message& message) {
  Owned<chat_message, FreeMessage> out(new chat_message{});
  out->id = DupString(message.id.str());
  out->conversation_id = DupString(message.conversation_id.str());
  out->app_id = DupString(message.app_id.str());
  out->seq = message.seq;
  out->sender_type = DupString(SenderTypeName(message.sender.type));
  out->sender_id = DupString(message.sender.id);
  out->text = DupString(message.text);
  out->metadata_json = DupString(message.metadata_json.empty() ? "{}" : message.metadata_json);
  out->client_msg_id = DupString(message.client_msg_id);
  out->created_at_ms = Millis(message.created_at);
  out->edited_at_ms = Millis(message.edited_at);
  out->deleted = message.deleted ? 1 : 0;
  return out.release();
}

void ViewMessage(const Message& message, chat_message& out) {
  out = chat_message{};
  out.id = message.id.str().c_str();
  out.conversation_id = message.conversation_id.str().c_str();
  out.app_id = message.app_id.str().c_str();
  out.seq = message.seq;
  out.sender_type = SenderTypeName(message.sender.type);
  out.sender_id = message.sender.id.c_str();
  out.text = message.text.c_str();
  out.metadata_json = message.metadata_json.empty() ? "{}" : message.metadata_json.c_str();
  out.client_msg_id = message.client_msg_id.c_str();
  out.created_at_ms = Millis(message.created_at);
  out.edited_at_ms = Millis(message.edited_at);
  out.deleted = message.deleted ? 1 : 0;
}

chat_conversation* NewConversation(const Conversation& conversation) {
  Owned<chat_conversation, chat_conversation_free> out(new chat_conversation{});
  out->id = DupString(conversation.id.str());
  out->app_id = DupString(conversation.app_id.str());
  out->type = DupString(ConversationTypeName(conversation.type));
  out->status = DupString(ConversationStatusName(conversation.status));
  out->assignee_id = DupString(conversation.assignee_id);
  out->name = DupString(conversation.name);
  out->metadata_json = DupString(conversation.metadata_json.empty() ? "{}" : conversation.metadata_json);
  out->customer_id = DupString(conversation.customer_id.str());
  out->last_seq = conversation.last_seq;
  if (conversation.last_message) out->last_message = NewMessage(*conversation.last_message);
  out->unread_count = conversation.unread_count;
  out->read_seq = conversation.read_seq;
  out->created_at_ms = Millis(conversation.created_at);
  out->updated_at_ms = Millis(conversation.updated_at);
  out->last_activity_at_ms = Millis(conversation.last_activity_at);
  return out.release();
}

chat_app* NewApp(const App& app, const std::string& secret_key, const std::string& identity_secret) {
  Owned<chat_app, chat_app_free> out(new chat_app{});
  out->id = DupString(app.id.str());
  out->account_id = DupString(app.account_id.str());
  out->name = DupString(app.name);
  out->publishable_key = DupString(app.publishable_key);
  out->secret_key = DupString(secret_key);
  out->identity_secret = DupString(identity_secret);
  out->identity_verification = app.identity_verification ? 1 : 0;
  out->created_at_ms = Millis(app.created_at);
  out->updated_at_ms = Millis(app.updated_at);
  return out.release();
}

chat_auth_session* NewAuthSession(const AuthSession& session) {
  Owned<chat_auth_session, chat_auth_session_free> out(new chat_auth_session{});
  out->account_id = DupString(session.account.id.str());
  out->email = DupString(session.account.email);
  out->name = DupString(session.account.name);
  out->token = DupString(session.token);
  out->expires_at_ms = Millis(session.expires_at);
  return out.release();
}

chat_send_result* NewSendResult(const SendResult& result) {
  Owned<chat_send_result, chat_send_result_free> out(new chat_send_result{});
  out->message = NewMessage(result.message);
  out->conversation = NewConversation(result.conversation);
  out->created = result.created ? 1 : 0;
  out->session_token = DupString(result.session_token);
  out->session_expires_at_ms = Millis(result.session_expires_at);
  return out.release();
}

}  // namespace libchat::capi

extern "C" {

void chat_conversation_free(chat_conversation* conversation) {
  if (conversation == nullptr) return;
  using libchat::capi::FreeString;
  FreeString(conversation->id);
  FreeString(conversation->app_id);
  FreeString(conversation->type);
  FreeString(conversation->status);
  FreeString(conversation->assignee_id);
  FreeString(conversation->name);
  FreeString(conversation->metadata_json);
  FreeString(conversation->customer_id);
  libchat::capi::FreeMessage(conversation->last_message);
  delete conversation;
}

void chat_app_free(chat_app* app) {
  if (app == nullptr) return;
  using libchat::capi::FreeString;
  FreeString(app->id);
  FreeString(app->account_id);
  FreeString(app->name);
  FreeString(app->publishable_key);
  FreeString(app->secret_key);
  FreeString(app->identity_secret);
  delete app;
}

void chat_auth_session_free(chat_auth_session* session) {
  if (session == nullptr) return;
  using libchat::capi::FreeString;
  FreeString(session->account_id);
  FreeString(session->email);
  FreeString(session->name);
  FreeString(session->token);
  delete session;
}

void chat_send_result_free(chat_send_result* result) {
  if (result == nullptr) return;
  libchat::capi::FreeMessage(result->message);
  chat_conversation_free(result->conversation);
  libchat::capi::FreeString(result->session_token);
  delete result;
}

void chat_app_list_free(chat_app_list* list) {
  if (list == nullptr) return;
  for (size_t i = 0; i < list->count; ++i) chat_app_free(list->items[i]);
  delete[] list->items;
  libchat::capi::FreeString(list->next_cursor);
  delete list;
}

void chat_message_list_free(chat_message_list* list) {
  if (list == nullptr) return;
  for (size_t i = 0; i < list->count; ++i) libchat::capi::FreeMessage(list->items[i]);
  delete[] list->items;
  delete list;
}

void chat_conversation_list_free(chat_conversation_list* list) {
  if (list == nullptr) return;
  for (size_t i = 0; i < list->count; ++i) chat_conversation_free(list->items[i]);
  delete[] list->items;
  libchat::capi::FreeString(list->next_cursor);
  delete list;
}

}  // extern "C"
