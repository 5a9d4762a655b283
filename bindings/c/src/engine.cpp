// Engines, their options, principals and accounts.
#include <memory>
#include <string>
#include <utility>

#include "c_api_internal.h"
#include "libchat/chat.h"
#include "libchat/options.h"
#include "libchat/testing/memory_store.h"

using libchat::capi::Guard;
using libchat::capi::GuardCode;
using libchat::capi::Require;
using libchat::capi::SetError;
using libchat::capi::Str;

namespace {

// The path that selects the in-memory store, as in SQLite.
constexpr const char kMemoryPath[] = ":memory:";

}  // namespace

extern "C" {

// --- options

chat_options* chat_options_new(void) {
  return Guard<chat_options*>(nullptr, nullptr, [] { return new chat_options(); });
}

void chat_options_free(chat_options* options) { delete options; }

void chat_options_set_jwt_secret(chat_options* options, const char* secret) {
  Guard<int>(nullptr, 0, [&] {
    if (options != nullptr) options->jwt_secret = Str(secret);
    return 0;
  });
}

void chat_options_set_password_hashing(chat_options* options, uint32_t memory_kib, uint32_t iterations,
                                       uint32_t parallelism) {
  if (options == nullptr) return;
  libchat::PasswordHashingOptions hashing;
  hashing.memory_kib = memory_kib;
  hashing.iterations = iterations;
  hashing.parallelism = parallelism;
  options->password_hashing = hashing;
}

// --- engine

chat_engine* chat_engine_open(const char* path, const chat_options* options, chat_error** err) {
  return Guard<chat_engine*>(err, nullptr, [&]() -> chat_engine* {
    if (!Require(path, "path", err)) return nullptr;
    const std::string store_path(path);
    if (store_path.empty()) {
      SetError(err, CHAT_INVALID_ARGUMENT, "path must not be empty (\":memory:\" selects the in-memory store)");
      return nullptr;
    }
    libchat::Options settings;
    if (store_path == kMemoryPath) {
      settings.store = libchat::testing::NewMemoryStore();
    } else {
      settings.sqlite.path = store_path;
    }
    if (options != nullptr) {
      settings.jwt_secret = options->jwt_secret;
      if (options->password_hashing) settings.password_hashing = *options->password_hashing;
    }
    auto chat = libchat::Chat::Open(std::move(settings));
    if (!chat.ok()) {
      SetError(err, chat.status());
      return nullptr;
    }
    auto engine = std::make_unique<chat_engine>();
    engine->chat = std::move(chat).value();
    engine->shared = std::make_shared<libchat::capi::EngineShared>();
    engine->shared->chat = engine->chat.get();
    return engine.release();
  });
}

void chat_engine_close(chat_engine* engine) {
  if (engine == nullptr) return;
  libchat::capi::CloseSubscriptions(*engine->shared);
  Guard<int>(nullptr, 0, [&] {
    engine->chat.reset();  // closes the store; ~Chat does not throw, but nothing may escape here
    return 0;
  });
  delete engine;
}

// --- principals

chat_principal* chat_authenticate(chat_engine* engine, const char* bearer_token, const char* api_key,
                                  const char* user_id, chat_error** err) {
  return Guard<chat_principal*>(err, nullptr, [&]() -> chat_principal* {
    if (!Require(engine, "engine", err)) return nullptr;
    libchat::Credentials credentials;
    credentials.bearer_token = Str(bearer_token);
    credentials.api_key = Str(api_key);
    credentials.user_id = Str(user_id);
    auto principal = engine->chat->Authenticate(credentials);
    if (!principal.ok()) {
      SetError(err, principal.status());
      return nullptr;
    }
    return new chat_principal{std::move(principal).value()};
  });
}

const char* chat_principal_type(const chat_principal* principal) {
  return principal == nullptr ? "" : libchat::PrincipalTypeName(principal->value.type);
}

const char* chat_principal_id(const chat_principal* principal) {
  return principal == nullptr ? "" : principal->value.id.c_str();
}

const char* chat_principal_app_id(const chat_principal* principal) {
  return principal == nullptr ? "" : principal->value.app_id.str().c_str();
}

const char* chat_principal_account_id(const chat_principal* principal) {
  return principal == nullptr ? "" : principal->value.account_id.str().c_str();
}

void chat_principal_free(chat_principal* principal) { delete principal; }

// --- accounts

chat_auth_session* chat_register(chat_engine* engine, const char* email, const char* password, const char* name,
                                 chat_error** err) {
  return Guard<chat_auth_session*>(err, nullptr, [&]() -> chat_auth_session* {
    if (!Require(engine, "engine", err) || !Require(email, "email", err) || !Require(password, "password", err)) {
      return nullptr;
    }
    libchat::RegisterRequest request;
    request.email = email;
    request.password = password;
    request.name = Str(name);
    auto session = engine->chat->Register(request);
    if (!session.ok()) {
      SetError(err, session.status());
      return nullptr;
    }
    return libchat::capi::NewAuthSession(*session);
  });
}

chat_auth_session* chat_login(chat_engine* engine, const char* email, const char* password, chat_error** err) {
  return Guard<chat_auth_session*>(err, nullptr, [&]() -> chat_auth_session* {
    if (!Require(engine, "engine", err) || !Require(email, "email", err) || !Require(password, "password", err)) {
      return nullptr;
    }
    auto session = engine->chat->Login(email, password);
    if (!session.ok()) {
      SetError(err, session.status());
      return nullptr;
    }
    return libchat::capi::NewAuthSession(*session);
  });
}

chat_code chat_logout(chat_engine* engine, const chat_principal* principal, chat_error** err) {
  return GuardCode(err, [&]() -> chat_code {
    if (!Require(engine, "engine", err) || !Require(principal, "principal", err)) return CHAT_INVALID_ARGUMENT;
    libchat::Status status = engine->chat->Logout(principal->value);
    if (!status.ok()) SetError(err, status);
    return static_cast<chat_code>(status.code());
  });
}

}  // extern "C"
