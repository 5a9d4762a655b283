// Apps, conversations and messages: the calls that act on tenant data as a principal.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "c_api_internal.h"
#include "libchat/chat.h"

using libchat::capi::DupString;
using libchat::capi::Guard;
using libchat::capi::NewApp;
using libchat::capi::NewConversation;
using libchat::capi::NewMessage;
using libchat::capi::NewSendResult;
using libchat::capi::Require;
using libchat::capi::SetError;
using libchat::capi::Str;

namespace {

constexpr int kDefaultLimit = 50;

// 0 selects the default page size; anything else is checked by the core (1..200).
int PageLimit(int limit) { return limit == 0 ? kDefaultLimit : limit; }

// The arguments every principal call needs.
bool RequireCaller(const chat_engine* engine, const chat_principal* principal, chat_error** err) {
  return Require(engine, "engine", err) && Require(principal, "principal", err);
}

// Copies a Result's value through `convert`, or reports its status.
template <typename T, typename Convert>
auto Deliver(libchat::Result<T> result, chat_error** err, Convert&& convert) -> decltype(convert(*result)) {
  if (!result.ok()) {
    SetError(err, result.status());
    return nullptr;
  }
  return convert(*result);
}

libchat::SendRequest MakeSendRequest(const char* text, const char* client_msg_id, const char* metadata_json) {
  libchat::SendRequest request;
  request.text = text;
  request.client_msg_id = Str(client_msg_id);
  request.metadata_json = Str(metadata_json);
  return request;
}

}  // namespace

extern "C" {

// --- apps

chat_app* chat_create_app(chat_engine* engine, const chat_principal* principal, const char* name, chat_error** err) {
  return Guard<chat_app*>(err, nullptr, [&]() -> chat_app* {
    if (!RequireCaller(engine, principal, err) || !Require(name, "name", err)) return nullptr;
    libchat::AppCreate request;
    request.name = name;
    return Deliver(engine->chat->CreateApp(principal->value, request), err, [](const libchat::CreatedApp& created) {
      return NewApp(created.app, created.secret_key, created.identity_secret);
    });
  });
}

chat_app* chat_get_app(chat_engine* engine, const chat_principal* principal, const char* app_id, chat_error** err) {
  return Guard<chat_app*>(err, nullptr, [&]() -> chat_app* {
    if (!RequireCaller(engine, principal, err) || !Require(app_id, "app_id", err)) return nullptr;
    return Deliver(engine->chat->GetApp(principal->value, libchat::AppId(app_id)), err,
                   [](const libchat::App& app) { return NewApp(app, "", ""); });
  });
}

chat_app_list* chat_list_apps(chat_engine* engine, const chat_principal* principal, const char* cursor, int limit,
                              chat_error** err) {
  return Guard<chat_app_list*>(err, nullptr, [&]() -> chat_app_list* {
    if (!RequireCaller(engine, principal, err)) return nullptr;
    return Deliver(engine->chat->ListApps(principal->value, Str(cursor), PageLimit(limit)), err,
                   [](const libchat::Page<libchat::App>& page) {
                     std::unique_ptr<chat_app_list, decltype(&chat_app_list_free)> list(new chat_app_list{},
                                                                                        chat_app_list_free);
                     list->items = new chat_app*[page.data.size()]();
                     list->count = page.data.size();
                     for (size_t i = 0; i < page.data.size(); ++i) list->items[i] = NewApp(page.data[i], "", "");
                     list->next_cursor = DupString(page.next_cursor);
                     return list.release();
                   });
  });
}

// --- messages

chat_send_result* chat_send_message(chat_engine* engine, const chat_principal* principal,
                                    const char* conversation_id, const char* text, const char* client_msg_id,
                                    const char* metadata_json, chat_error** err) {
  return Guard<chat_send_result*>(err, nullptr, [&]() -> chat_send_result* {
    if (!RequireCaller(engine, principal, err) || !Require(conversation_id, "conversation_id", err) ||
        !Require(text, "text", err)) {
      return nullptr;
    }
    return Deliver(engine->chat->SendMessage(principal->value, libchat::ConversationId(conversation_id),
                                             MakeSendRequest(text, client_msg_id, metadata_json)),
                   err, NewSendResult);
  });
}

chat_send_result* chat_sdk_send_message(chat_engine* engine, const chat_principal* principal,
                                        const char* conversation_id, const char* text, const char* client_msg_id,
                                        const char* metadata_json, chat_error** err) {
  return Guard<chat_send_result*>(err, nullptr, [&]() -> chat_send_result* {
    if (!RequireCaller(engine, principal, err) || !Require(text, "text", err)) return nullptr;
    libchat::SdkSendRequest request;
    request.message = MakeSendRequest(text, client_msg_id, metadata_json);
    request.conversation_id = libchat::ConversationId(Str(conversation_id));
    return Deliver(engine->chat->SdkSendMessage(principal->value, request), err, NewSendResult);
  });
}

chat_message_list* chat_list_messages(chat_engine* engine, const chat_principal* principal,
                                      const char* conversation_id, int64_t after_seq, int limit, chat_error** err) {
  return Guard<chat_message_list*>(err, nullptr, [&]() -> chat_message_list* {
    if (!RequireCaller(engine, principal, err) || !Require(conversation_id, "conversation_id", err)) return nullptr;
    libchat::HistoryQuery query;
    if (after_seq >= 0) query.after_seq = after_seq;
    query.limit = PageLimit(limit);
    return Deliver(engine->chat->ListMessages(principal->value, libchat::ConversationId(conversation_id), query), err,
                   [](const std::vector<libchat::Message>& messages) {
                     std::unique_ptr<chat_message_list, decltype(&chat_message_list_free)> list(
                         new chat_message_list{}, chat_message_list_free);
                     list->items = new chat_message*[messages.size()]();
                     list->count = messages.size();
                     for (size_t i = 0; i < messages.size(); ++i) list->items[i] = NewMessage(messages[i]);
                     return list.release();
                   });
  });
}

// --- conversations

chat_conversation_list* chat_list_conversations(chat_engine* engine, const chat_principal* principal,
                                                const char* app_id, const char* status, const char* cursor,
                                                int limit, chat_error** err) {
  return Guard<chat_conversation_list*>(err, nullptr, [&]() -> chat_conversation_list* {
    if (!RequireCaller(engine, principal, err) || !Require(app_id, "app_id", err)) return nullptr;
    libchat::ConversationFilter filter;
    const std::string status_name = Str(status);
    if (!status_name.empty()) {
      filter.status = libchat::ParseConversationStatus(status_name);
      if (!filter.status) {
        SetError(err, CHAT_INVALID_ARGUMENT, "status must be open, pending, resolved or snoozed");
        return nullptr;
      }
    }
    filter.cursor = Str(cursor);
    filter.limit = PageLimit(limit);
    return Deliver(engine->chat->ListConversations(principal->value, libchat::AppId(app_id), filter), err,
                   [](const libchat::Page<libchat::Conversation>& page) {
                     std::unique_ptr<chat_conversation_list, decltype(&chat_conversation_list_free)> list(
                         new chat_conversation_list{}, chat_conversation_list_free);
                     list->items = new chat_conversation*[page.data.size()]();
                     list->count = page.data.size();
                     for (size_t i = 0; i < page.data.size(); ++i) list->items[i] = NewConversation(page.data[i]);
                     list->next_cursor = DupString(page.next_cursor);
                     return list.release();
                   });
  });
}

chat_conversation* chat_get_conversation(chat_engine* engine, const chat_principal* principal,
                                         const char* conversation_id, chat_error** err) {
  return Guard<chat_conversation*>(err, nullptr, [&]() -> chat_conversation* {
    if (!RequireCaller(engine, principal, err) || !Require(conversation_id, "conversation_id", err)) return nullptr;
    return Deliver(engine->chat->GetConversation(principal->value, libchat::ConversationId(conversation_id)), err,
                   NewConversation);
  });
}

}  // extern "C"
