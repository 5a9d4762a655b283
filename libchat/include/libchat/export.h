// Symbol export macros of libchat's public API.
//
// libchat is built with hidden symbol visibility: only what a public header marks
// LIBCHAT_API (the core) or LIBCHAT_SERVER_API (libchat::server) is exported from
// the shared libraries, so the internals can change without breaking the ABI of
// hosts and the dynamic symbol table stays small. Header-only classes and templates
// need no mark. In a static build the marks only set the visibility of symbols.
//
// The build defines LIBCHAT_BUILDING_LIBRARY / LIBCHAT_BUILDING_SERVER while it
// compiles the libraries and, for a shared build, exports LIBCHAT_SHARED to
// consumers (Windows needs dllimport on the consumer side).
#pragma once

#if defined(_WIN32) || defined(__CYGWIN__)
#  if !defined(LIBCHAT_SHARED)
#    define LIBCHAT_API
#    define LIBCHAT_SERVER_API
#  else
#    if defined(LIBCHAT_BUILDING_LIBRARY)
#      define LIBCHAT_API __declspec(dllexport)
#    else
#      define LIBCHAT_API __declspec(dllimport)
#    endif
#    if defined(LIBCHAT_BUILDING_SERVER)
#      define LIBCHAT_SERVER_API __declspec(dllexport)
#    else
#      define LIBCHAT_SERVER_API __declspec(dllimport)
#    endif
#  endif
#else
#  define LIBCHAT_API [[gnu::visibility("default")]]
#  define LIBCHAT_SERVER_API [[gnu::visibility("default")]]
#endif
