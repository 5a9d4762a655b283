/* libchat_c.h: the C ABI of libchat (library libchat_c, CMake target libchat::c).
 *
 * A C99 interface over the C++ facade (libchat/chat.h) for hosts written in C
 * and for foreign-function interfaces (the Python package uses it via ctypes).
 *
 *   chat_error* err = NULL;
 *   chat_engine* engine = chat_engine_open("chat.db", NULL, &err);   // or ":memory:"
 *   if (!engine) { fprintf(stderr, "%s\n", chat_error_message(err)); chat_error_free(err); return 1; }
 *   chat_auth_session* s = chat_register(engine, "ann@example.com", "correct horse", "Ann", &err);
 *   chat_principal* owner = chat_authenticate(engine, s->token, NULL, NULL, &err);
 *   chat_app* app = chat_create_app(engine, owner, "Shop", &err);   // app->secret_key: shown once
 *   ...
 *   chat_app_free(app); chat_principal_free(owner); chat_auth_session_free(s);
 *   chat_engine_close(engine);
 *
 * ERRORS. Every call that can fail takes `chat_error** err` as its last argument.
 * On failure it returns NULL (calls returning a pointer) or a non-zero chat_code
 * (calls returning chat_code) and, when `err` is not NULL, stores a new chat_error
 * in *err that the caller releases with chat_error_free(). *err is overwritten
 * without being freed, so reset it to NULL after handling an error. On success
 * *err is left untouched. `err` may be NULL when the caller does not want the
 * details. The codes mirror libchat::StatusCode one to one. A resource of another
 * tenant is reported exactly like a missing one (CHAT_NOT_FOUND). A required
 * argument passed as NULL gives CHAT_INVALID_ARGUMENT. No C++ exception ever
 * crosses this interface: an unexpected one becomes CHAT_INTERNAL.
 *
 * STRINGS. Every `const char*` argument is a NUL-terminated UTF-8 string; the
 * library copies what it keeps, so the caller's strings may be freed as soon as
 * the call returns. Optional arguments are documented as "NULL or empty".
 *
 * OWNERSHIP. Every object the library returns is owned by the caller and is
 * released with the matching chat_*_free() (each accepts NULL). Freeing a record
 * or list frees everything it points to (strings, nested records, items): never
 * free a member separately, and do not use it after its owner was freed. String
 * members of records are never NULL: an absent value is "". Records are read-only
 * and allocated by the library; later versions may append fields, so never
 * allocate, copy by value or index an array of a record type yourself (lists hold
 * arrays of pointers for that reason).
 *
 * THREADS. An engine may be used from any number of threads at once; principals
 * and records are plain values, safe to read from several threads. Calls that
 * write block until the write is durable. Event callbacks run on a thread owned
 * by their subscription (see chat_subscribe). chat_engine_close must not run
 * concurrently with another call on the same engine.
 *
 * TIME. Times are milliseconds since the Unix epoch (UTC); 0 means "none".
 */
#ifndef LIBCHAT_LIBCHAT_C_H_
#define LIBCHAT_LIBCHAT_C_H_

#include <stddef.h>
#include <stdint.h>

/* LIBCHAT_C_API marks the exported functions; everything else in libchat_c is hidden. */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(LIBCHAT_C_BUILDING)
#    define LIBCHAT_C_API __declspec(dllexport)
#  else
#    define LIBCHAT_C_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define LIBCHAT_C_API __attribute__((visibility("default")))
#else
#  define LIBCHAT_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Errors */

/* The values equal libchat::StatusCode's. */
typedef enum chat_code {
  CHAT_OK = 0,
  CHAT_INVALID_ARGUMENT = 1,     /* malformed or out-of-range input (bad UTF-8, NULL argument, ...) */
  CHAT_UNAUTHENTICATED = 2,      /* missing, unknown, forged, revoked or expired credentials; wrong password */
  CHAT_PERMISSION_DENIED = 3,    /* authenticated, but this principal may not do this */
  CHAT_NOT_FOUND = 4,            /* absent, or belongs to another tenant */
  CHAT_ALREADY_EXISTS = 5,       /* e.g. the email is registered already */
  CHAT_ABORTED = 6,              /* conflicts with the current state; retrying may succeed */
  CHAT_RESOURCE_EXHAUSTED = 7,   /* a limit or quota is reached; out of memory */
  CHAT_FAILED_PRECONDITION = 8,  /* the system is not in a state that allows this */
  CHAT_UNAVAILABLE = 9,          /* the store cannot serve right now */
  CHAT_DEADLINE_EXCEEDED = 10,   /* an outbound call did not answer in time */
  CHAT_INTERNAL = 11             /* a bug inside libchat */
} chat_code;

typedef struct chat_error chat_error;

/* The code of `error`; CHAT_OK for NULL. */
LIBCHAT_C_API chat_code chat_error_code(const chat_error* error);
/* Human-readable and safe to show (no SQL, no secrets). Owned by `error`; "" for NULL. */
LIBCHAT_C_API const char* chat_error_message(const chat_error* error);
LIBCHAT_C_API void chat_error_free(chat_error* error);
/* Stable snake_case name of a code: "not_found", "invalid_argument", ...; static storage. */
LIBCHAT_C_API const char* chat_code_name(chat_code code);

/* libchat's version, e.g. "0.1.0"; static storage. */
LIBCHAT_C_API const char* chat_version(void);

/* ------------------------------------------------------------------------- */
/* Engine */

/* Settings for chat_engine_open beyond the store path. Not thread-safe; the
 * engine copies what it needs, so the options may be freed right after opening. */
typedef struct chat_options chat_options;
LIBCHAT_C_API chat_options* chat_options_new(void); /* NULL only when out of memory */
LIBCHAT_C_API void chat_options_free(chat_options* options);
/* HMAC key for tokens, at least 32 bytes. Default (NULL or empty): generated once and kept in the store. */
LIBCHAT_C_API void chat_options_set_jwt_secret(chat_options* options, const char* secret);
/* Argon2id cost of password hashes. Default: 19456 KiB, 2 iterations, 1 lane (memory below 8192 is refused
 * by chat_engine_open). Lower costs make tests faster; keep the default in production. */
LIBCHAT_C_API void chat_options_set_password_hashing(chat_options* options, uint32_t memory_kib,
                                                     uint32_t iterations, uint32_t parallelism);

typedef struct chat_engine chat_engine;

/* Opens an engine on the SQLite database at `path` (created with its schema when
 * absent; credentials at rest are sealed with a key kept in "<path>.key"), or on
 * a fresh in-memory store when `path` is ":memory:" (nothing survives
 * chat_engine_close). `options` may be NULL for the defaults. */
LIBCHAT_C_API chat_engine* chat_engine_open(const char* path, const chat_options* options, chat_error** err);
/* Stops every subscription still active (waiting for running callbacks to
 * return; their handles must still be released with chat_unsubscribe), then
 * closes the store. Accepts NULL. Must not be called from an event callback. */
LIBCHAT_C_API void chat_engine_close(chat_engine* engine);

/* ------------------------------------------------------------------------- */
/* Principals: who is calling. Every call on tenant data takes one; libchat
 * decides from it what the caller may see and do. A principal is a value:
 * independent of the engine's lifetime, released with chat_principal_free. */

typedef struct chat_principal chat_principal;

/* Authenticates credentials the way the HTTP server does; each argument NULL or empty when absent:
 *   bearer_token                    an account token (chat_register/chat_login) -> "account" (or operator token)
 *   api_key "sk_..."                the app's server -> "app_server"; with user_id (an external id) it acts as
 *                                   that customer (found or created) -> "customer"
 *   api_key "pk_..."                an SDK or widget -> "publishable" (may start a support conversation)
 *   api_key "pk_..." + bearer_token the session token of a customer (chat_send_result) -> "customer"
 * CHAT_UNAUTHENTICATED when they are missing, unknown, forged, revoked or expired. */
LIBCHAT_C_API chat_principal* chat_authenticate(chat_engine* engine, const char* bearer_token, const char* api_key,
                                                const char* user_id, chat_error** err);
/* "account", "operator", "app_server", "publishable", "customer" or "admin"; static storage. */
LIBCHAT_C_API const char* chat_principal_type(const chat_principal* principal);
/* The acting identity: "acc_...", "op_...", "cus_..."; the app id for app_server and publishable.
 * Owned by the principal. These accessors return "" for NULL or an absent value. */
LIBCHAT_C_API const char* chat_principal_id(const chat_principal* principal);
LIBCHAT_C_API const char* chat_principal_app_id(const chat_principal* principal);     /* app_server, publishable, customer */
LIBCHAT_C_API const char* chat_principal_account_id(const chat_principal* principal); /* account, operator */
LIBCHAT_C_API void chat_principal_free(chat_principal* principal);

/* ------------------------------------------------------------------------- */
/* Accounts */

typedef struct chat_auth_session {
  const char* account_id; /* "acc_..." */
  const char* email;      /* lower-cased */
  const char* name;
  const char* token;      /* bearer token for chat_authenticate */
  int64_t expires_at_ms;
} chat_auth_session;

/* A new account, signed in. password: 8..1024 bytes. CHAT_ALREADY_EXISTS when the email is taken. */
LIBCHAT_C_API chat_auth_session* chat_register(chat_engine* engine, const char* email, const char* password,
                                               const char* name, chat_error** err);
/* CHAT_UNAUTHENTICATED for an unknown email or a wrong password (indistinguishable). */
LIBCHAT_C_API chat_auth_session* chat_login(chat_engine* engine, const char* email, const char* password,
                                            chat_error** err);
/* Revokes the token that authenticated `principal` (an account or operator); survives restarts. */
LIBCHAT_C_API chat_code chat_logout(chat_engine* engine, const chat_principal* principal, chat_error** err);
LIBCHAT_C_API void chat_auth_session_free(chat_auth_session* session);

/* ------------------------------------------------------------------------- */
/* Apps: the tenants. Created and listed by their account. */

typedef struct chat_app {
  const char* id;              /* "app_..." */
  const char* account_id;
  const char* name;
  const char* publishable_key; /* "pk_...": embeddable, safe to publish */
  /* Set only by chat_create_app, shown this once and never again (the store keeps a hash): "" otherwise. */
  const char* secret_key;      /* "sk_...": server-to-server */
  const char* identity_secret; /* HMAC key for customers' user_hash */
  int identity_verification;   /* 1 when identified customers must present user_hash */
  int64_t created_at_ms;
  int64_t updated_at_ms;
} chat_app;

typedef struct chat_app_list {
  size_t count;
  chat_app** items;        /* count pointers, oldest first */
  const char* next_cursor; /* pass to the next call; "" on the last page */
} chat_app_list;

LIBCHAT_C_API chat_app* chat_create_app(chat_engine* engine, const chat_principal* principal, const char* name,
                                        chat_error** err);
LIBCHAT_C_API chat_app* chat_get_app(chat_engine* engine, const chat_principal* principal, const char* app_id,
                                     chat_error** err);
/* cursor: NULL or empty for the first page. limit: 1..200, or 0 for 50. */
LIBCHAT_C_API chat_app_list* chat_list_apps(chat_engine* engine, const chat_principal* principal, const char* cursor,
                                            int limit, chat_error** err);
LIBCHAT_C_API void chat_app_free(chat_app* app);
LIBCHAT_C_API void chat_app_list_free(chat_app_list* list);

/* ------------------------------------------------------------------------- */
/* Messages and conversations */

typedef struct chat_message {
  const char* id;              /* "msg_..." */
  const char* conversation_id; /* "conv_..." */
  const char* app_id;
  int64_t seq;                 /* 1, 2, 3 ... per conversation, no gaps, no duplicates */
  const char* sender_type;     /* "customer", "operator", "account", "bot" or "system" */
  const char* sender_id;       /* "cus_...", "acc_...", "op_..."; "" for system */
  const char* text;
  const char* metadata_json;   /* a JSON object, "{}" when none */
  const char* client_msg_id;   /* the sender's idempotency key, "" when none */
  int64_t created_at_ms;
  int64_t edited_at_ms;        /* 0 when never edited */
  int deleted;                 /* 1 when deleted (text is then empty) */
} chat_message;

typedef struct chat_message_list {
  size_t count;
  chat_message** items; /* count pointers, in seq order */
} chat_message_list;

typedef struct chat_conversation {
  const char* id;            /* "conv_..." */
  const char* app_id;
  const char* type;          /* "support", "dm", "group" or "channel" */
  const char* status;        /* "open", "pending", "resolved" or "snoozed" */
  const char* assignee_id;   /* "acc_..."/"op_..." or "" */
  const char* name;
  const char* metadata_json; /* a JSON object */
  const char* customer_id;   /* the customer of a support conversation, else "" */
  int64_t last_seq;
  chat_message* last_message; /* NULL when the conversation has no message */
  int64_t unread_count;       /* for the principal it was read for */
  int64_t read_seq;           /* the same principal's read position */
  int64_t created_at_ms;
  int64_t updated_at_ms;
  int64_t last_activity_at_ms;
} chat_conversation;

typedef struct chat_conversation_list {
  size_t count;
  chat_conversation** items; /* newest activity first */
  const char* next_cursor;   /* "" on the last page */
} chat_conversation_list;

typedef struct chat_send_result {
  chat_message* message;
  chat_conversation* conversation; /* as it is after the message */
  int created;                     /* 0: a repeated client_msg_id returned the original message */
  /* Set when this call created the customer (chat_sdk_send_message with a publishable principal and no
   * conversation): the customer's session token, for chat_authenticate with the publishable key. "" else. */
  const char* session_token;
  int64_t session_expires_at_ms;
} chat_send_result;

/* Sends a message into a conversation as `principal` (the app's account or operators, its server, or a
 * customer member). text: valid UTF-8, 1..32768 bytes (CHAT_INVALID_ARGUMENT otherwise). client_msg_id
 * (NULL or empty, <= 128 bytes): a retry with the same id returns the original message. metadata_json:
 * NULL or empty for {}, else a JSON object. */
LIBCHAT_C_API chat_send_result* chat_send_message(chat_engine* engine, const chat_principal* principal,
                                                  const char* conversation_id, const char* text,
                                                  const char* client_msg_id, const char* metadata_json,
                                                  chat_error** err);
/* The SDK side (a publishable, customer or app-server-as-customer principal). conversation_id NULL or empty:
 * a new support conversation is created, and for a publishable principal a new anonymous customer whose
 * session token the result carries. Otherwise it posts into that conversation of the customer. */
LIBCHAT_C_API chat_send_result* chat_sdk_send_message(chat_engine* engine, const chat_principal* principal,
                                                      const char* conversation_id, const char* text,
                                                      const char* client_msg_id, const char* metadata_json,
                                                      chat_error** err);
LIBCHAT_C_API void chat_send_result_free(chat_send_result* result);

/* History in seq order: the messages with seq > after_seq (after_seq < 0: from the start), at most `limit`
 * (1..200, or 0 for 50). Page on with after_seq = the last seq received. */
LIBCHAT_C_API chat_message_list* chat_list_messages(chat_engine* engine, const chat_principal* principal,
                                                    const char* conversation_id, int64_t after_seq, int limit,
                                                    chat_error** err);
LIBCHAT_C_API void chat_message_list_free(chat_message_list* list);

/* The conversations of an app that the principal may see, newest activity first. status: NULL or empty for all,
 * else "open", "pending", "resolved" or "snoozed". cursor: NULL or empty for the first page. limit: 1..200 or 0. */
LIBCHAT_C_API chat_conversation_list* chat_list_conversations(chat_engine* engine, const chat_principal* principal,
                                                              const char* app_id, const char* status,
                                                              const char* cursor, int limit, chat_error** err);
LIBCHAT_C_API chat_conversation* chat_get_conversation(chat_engine* engine, const chat_principal* principal,
                                                       const char* conversation_id, chat_error** err);
LIBCHAT_C_API void chat_conversation_free(chat_conversation* conversation);
LIBCHAT_C_API void chat_conversation_list_free(chat_conversation_list* list);

/* ------------------------------------------------------------------------- */
/* Live events */

/* Everything in an event, the event included, is owned by the library and valid only while the callback runs:
 * copy what you keep. */
typedef struct chat_event {
  /* "message.created", "message.updated", "message.deleted", "conversation.created", "conversation.updated",
   * "receipt", "typing", "presence", "notification", or "events.dropped" (see chat_subscribe). */
  const char* type;
  const char* app_id;          /* "" when none */
  const char* conversation_id; /* "" when none (presence, some notifications) */
  const chat_message* message; /* for message.* events; NULL otherwise */
  /* The event as the WebSocket API sends it: {"type":"message.created","data":{...}} with the message,
   * conversation, receipt, typing, presence or notification object as data (API.md shapes);
   * for events.dropped: {"type":"events.dropped","data":{"dropped":N}}. */
  const char* payload_json;
  int64_t published_at_ms;
} chat_event;

typedef void (*chat_event_callback)(const chat_event* event, void* user_data);

typedef struct chat_subscription chat_subscription;

/* Calls `callback` with every event committed from now on, or, when `viewer` is not NULL, with the events that
 * principal may see (an account: its apps' conversations; a customer: its own). `viewer` is copied.
 *
 * The callback runs on a thread of the subscription's own, one event at a time, in the order the events were
 * published (per conversation: seq order); never on the thread that made the change. It may call any engine
 * function (except chat_engine_close), and chat_unsubscribe on its own subscription. A slow callback does not
 * slow writers: events wait in a queue of at most `max_queued` events (0 for 10000). When it is full, new events
 * are dropped and, once the callback catches up, one event of type "events.dropped" reports how many; re-read
 * history with chat_list_messages(after_seq = the last seq seen) to close the gap. */
LIBCHAT_C_API chat_subscription* chat_subscribe(chat_engine* engine, const chat_principal* viewer,
                                                chat_event_callback callback, void* user_data, size_t max_queued,
                                                chat_error** err);
/* Stops the subscription and frees the handle; events still queued are discarded. When it returns, the callback
 * is not running and will not be called again, unless it was called from the callback itself: then it returns at
 * once and the callback is not called again after it returns. Also releases handles whose engine was closed.
 * Accepts NULL. */
LIBCHAT_C_API void chat_unsubscribe(chat_subscription* subscription);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LIBCHAT_LIBCHAT_C_H_ */
