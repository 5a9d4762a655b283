// Early-return helpers for Status / Result<T> inside libchat.
#pragma once

#include <utility>

#include "libchat/status.h"

#define LIBCHAT_CONCAT_INNER(a, b) a##b
#define LIBCHAT_CONCAT(a, b) LIBCHAT_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define LIBCHAT_RETURN_IF_ERROR(expr)              \
  do {                                             \
    ::libchat::Status libchat_status_ = (expr);    \
    if (!libchat_status_.ok()) return libchat_status_; \
  } while (0)

// `lhs = value of expr`, or returns its Status from the enclosing function.
#define LIBCHAT_ASSIGN_OR_RETURN(lhs, expr) \
  LIBCHAT_ASSIGN_OR_RETURN_IMPL(LIBCHAT_CONCAT(libchat_result_, __LINE__), lhs, expr)
#define LIBCHAT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
