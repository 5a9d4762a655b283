// What the C ABI's translation units share: the definitions behind the opaque
// handles, error reporting, and the exception barrier every entry point runs in.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libchat/chat.h"
#include "libchat/libchat_c.h"
#include "libchat/status.h"
#include "libchat/types.h"

namespace libchat::capi {

struct SubscriptionState;

// What an engine shares with its subscriptions. A subscription handle can
// outlive its engine (the caller releases it after chat_engine_close), so this
// part is reference-counted; `chat` is null from the moment the engine closes.
struct EngineShared {
  std::mutex mu;
  Chat* chat = nullptr;                    // guarded by mu
  std::vector<chat_subscription*> active;  // guarded by mu: registered with the bus
};

}  // namespace libchat::capi

struct chat_error {
  chat_code code = CHAT_OK;
  std::string message;
  bool is_static = false;  // the preallocated out-of-memory error; never deleted
};

struct chat_options {
  std::string jwt_secret;
  std::optional<libchat::PasswordHashingOptions> password_hashing;
};

struct chat_engine {
  std::unique_ptr<libchat::Chat> chat;
  std::shared_ptr<libchat::capi::EngineShared> shared;
};

struct chat_principal {
  libchat::Principal value;
};

namespace libchat::capi {

// Stores a new error with the message `message` + `suffix` in *err (when err is
// not null). Never throws: when even the error cannot be allocated, a static
// out-of-memory error is stored.
void SetError(chat_error** err, chat_code code, std::string_view message, std::string_view suffix = {}) noexcept;
void SetError(chat_error** err, const Status& status) noexcept;

// Turns the exception being handled into an error in *err and returns its code:
// CHAT_RESOURCE_EXHAUSTED for std::bad_alloc, CHAT_INTERNAL otherwise. Call only
// from a catch block.
chat_code ReportCurrentException(chat_error** err) noexcept;

// The exception barrier of every entry point: runs `body` and returns its value;
// an exception becomes an error and `on_failure` is returned.
template <typename T, typename Body>
T Guard(chat_error** err, T on_failure, Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    ReportCurrentException(err);
  }
  return on_failure;
}

// The same for calls that return a chat_code: an exception returns its code.
template <typename Body>
chat_code GuardCode(chat_error** err, Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return ReportCurrentException(err);
  }
}

// Reports a NULL required argument as CHAT_INVALID_ARGUMENT; true when present.
template <typename Pointer>
bool Require(Pointer arg, const char* name, chat_error** err) noexcept {
  if (arg != nullptr) return true;
  SetError(err, CHAT_INVALID_ARGUMENT, name, " must not be NULL");
  return false;
}

// An optional C string as std::string: NULL is "".
inline std::string Str(const char* s) { return s == nullptr ? std::string() : std::string(s); }

inline std::int64_t Millis(Timestamp t) { return static_cast<std::int64_t>(t.time_since_epoch().count()); }
inline std::int64_t Millis(const std::optional<Timestamp>& t) { return t ? Millis(*t) : 0; }

// Records: C++ value -> newly allocated C record (freed by the matching chat_*_free).
// They throw std::bad_alloc and free whatever they allocated before.
char* DupString(const std::string& s);
chat_message* NewMessage(const Message& message);
chat_conversation* NewConversation(const Conversation& conversation);
chat_app* NewApp(const App& app, const std::string& secret_key, const std::string& identity_secret);
chat_auth_session* NewAuthSession(const AuthSession& session);
chat_send_result* NewSendResult(const SendResult& result);

// Fills `out` with pointers into `message` (no allocation): for event callbacks.
void ViewMessage(const Message& message, chat_message& out);

// Part of chat_engine_close (events.cpp): unregisters every active subscription
// from the bus, marks the engine closed, then waits for running callbacks.
void CloseSubscriptions(EngineShared& shared) noexcept;

}  // namespace libchat::capi
