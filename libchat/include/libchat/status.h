// Status and Result<T>: how every error crosses libchat's public API.
//
// The codes are the canonical ones (abseil / gRPC style) and map one-to-one to
// the HTTP statuses of the reference server, so an embedding host and the
// server report the same failure the same way. No libchat call throws.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "libchat/export.h"

namespace libchat {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // 400: the caller sent something malformed or out of range
  kUnauthenticated,    // 401: no, unknown, forged, revoked or expired credentials
  kPermissionDenied,   // 403: authenticated, but this principal may not do this
  kNotFound,           // 404: absent, or belongs to another tenant (indistinguishable)
  kAlreadyExists,      // 409: a unique thing (email, dm pair, ...) already exists
  kAborted,            // 409: conflicts with the current state; retrying may succeed
  kResourceExhausted,  // 429: a rate limit, quota or bounded queue is full
  kFailedPrecondition, // 412/422-ish: the system is not in a state that allows this
  kUnavailable,        // 503: the store or a provider cannot serve right now
  kDeadlineExceeded,   // 504: an outbound call (a webhook, an email API) did not answer in time
  kInternal,           // 500: a bug or an invariant broken inside libchat
};

// Stable snake_case name of a code ("invalid_argument", "not_found", ...).
LIBCHAT_API const char* StatusCodeName(StatusCode code);

class [[nodiscard]] LIBCHAT_API Status {
 public:
  // A default-constructed Status is OK.
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // Human-readable, safe to show to the caller: never contains SQL, secrets or stack traces.
  const std::string& message() const { return message_; }
  // "not_found: conversation not found"
  std::string ToString() const;

  // Explicitly drop a status the caller decided not to inspect.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline bool operator==(const Status& a, const Status& b) {
  return a.code() == b.code() && a.message() == b.message();
}
inline bool operator!=(const Status& a, const Status& b) { return !(a == b); }

LIBCHAT_API Status InvalidArgumentError(std::string message);
LIBCHAT_API Status UnauthenticatedError(std::string message);
LIBCHAT_API Status PermissionDeniedError(std::string message);
LIBCHAT_API Status NotFoundError(std::string message);
LIBCHAT_API Status AlreadyExistsError(std::string message);
LIBCHAT_API Status AbortedError(std::string message);
LIBCHAT_API Status ResourceExhaustedError(std::string message);
LIBCHAT_API Status FailedPreconditionError(std::string message);
LIBCHAT_API Status UnavailableError(std::string message);
LIBCHAT_API Status DeadlineExceededError(std::string message);
LIBCHAT_API Status InternalError(std::string message);

// Either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<1>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::in_place_index<0>, std::move(status)) {  // NOLINT
    // An OK status carries no value: that is a bug in the caller.
    if (std::get<0>(v_).ok()) v_ = Status(StatusCode::kInternal, "Result built from OK status");
  }

  bool ok() const { return v_.index() == 1; }
  // OK when a value is held.
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<0>(v_);
  }

  // Precondition: ok().
  T& value() & { assert(ok()); return std::get<1>(v_); }
  const T& value() const& { assert(ok()); return std::get<1>(v_); }
  T&& value() && { assert(ok()); return std::get<1>(std::move(v_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace libchat
