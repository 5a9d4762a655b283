// chat_error and the library-wide plain functions (code names, version).
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "c_api_internal.h"
#include "libchat/status.h"
#include "libchat/version.h"

namespace libchat::capi {
namespace {

// chat_code is the C spelling of libchat::StatusCode: the same numbers.
static_assert(CHAT_OK == static_cast<int>(StatusCode::kOk));
static_assert(CHAT_INVALID_ARGUMENT == static_cast<int>(StatusCode::kInvalidArgument));
static_assert(CHAT_UNAUTHENTICATED == static_cast<int>(StatusCode::kUnauthenticated));
static_assert(CHAT_PERMISSION_DENIED == static_cast<int>(StatusCode::kPermissionDenied));
static_assert(CHAT_NOT_FOUND == static_cast<int>(StatusCode::kNotFound));
static_assert(CHAT_ALREADY_EXISTS == static_cast<int>(StatusCode::kAlreadyExists));
static_assert(CHAT_ABORTED == static_cast<int>(StatusCode::kAborted));
static_assert(CHAT_RESOURCE_EXHAUSTED == static_cast<int>(StatusCode::kResourceExhausted));
static_assert(CHAT_FAILED_PRECONDITION == static_cast<int>(StatusCode::kFailedPrecondition));
static_assert(CHAT_UNAVAILABLE == static_cast<int>(StatusCode::kUnavailable));
static_assert(CHAT_DEADLINE_EXCEEDED == static_cast<int>(StatusCode::kDeadlineExceeded));
static_assert(CHAT_INTERNAL == static_cast<int>(StatusCode::kInternal));

// Stored when an error cannot be allocated; chat_error_free leaves it alone.
chat_error kOutOfMemory{CHAT_RESOURCE_EXHAUSTED, "out of memory", true};

}  // namespace

void SetError(chat_error** err, chat_code code, std::string_view message, std::string_view suffix) noexcept {
  if (err == nullptr) return;
  try {
    std::string text(message);
    text.append(suffix);
    *err = new chat_error{code, std::move(text), false};
  } catch (...) {
    *err = &kOutOfMemory;
  }
}

void SetError(chat_error** err, const Status& status) noexcept {
  SetError(err, static_cast<chat_code>(status.code()), status.message());
}

chat_code ReportCurrentException(chat_error** err) noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    SetError(err, CHAT_RESOURCE_EXHAUSTED, "out of memory");
    return CHAT_RESOURCE_EXHAUSTED;
  } catch (...) {
    // what() is not shown: the messages of this interface must be safe to show to anyone.
    SetError(err, CHAT_INTERNAL, "internal error");
  }
  return CHAT_INTERNAL;
}

}  // namespace libchat::capi

extern "C" {

chat_code chat_error_code(const chat_error* error) { return error == nullptr ? CHAT_OK : error->code; }

const char* chat_error_message(const chat_error* error) { return error == nullptr ? "" : error->message.c_str(); }

void chat_error_free(chat_error* error) {
  if (error != nullptr && !error->is_static) delete error;
}

const char* chat_code_name(chat_code code) {
  // Not StatusCodeName: an out-of-range value from C must not reach a C++ enum switch unchecked.
  if (code < CHAT_OK || code > CHAT_INTERNAL) return "unknown";
  return libchat::StatusCodeName(static_cast<libchat::StatusCode>(code));
}

const char* chat_version(void) { return LIBCHAT_VERSION; }

}  // extern "C"
