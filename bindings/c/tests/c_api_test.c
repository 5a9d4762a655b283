/* The C ABI from C: the whole loop a host builds on it (register, app, a customer's first message, the owner
 * replies, history in order, live events), the error contract, and a store that survives a reopen.
 *
 * usage: libchat_c_api_test <sqlite-file>   (the file and its companions are deleted first)
 * Exits 0 when every check passed; the first failing check prints where and why and exits 1. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libchat/libchat_c.h"

/* ------------------------------------------------------------------------- */
/* Checks */

static void fail(const char* file, int line, const char* what, const chat_error* err) {
  fprintf(stderr, "%s:%d: CHECK failed: %s", file, line, what);
  if (err != NULL) fprintf(stderr, " [error %s: %s]", chat_code_name(chat_error_code(err)), chat_error_message(err));
  fprintf(stderr, "\n");
  exit(1);
}

#define CHECK(cond)                                     \
  do {                                                  \
    if (!(cond)) fail(__FILE__, __LINE__, #cond, NULL); \
  } while (0)

#define CHECK_STR(actual, expected)                                                                        \
  do {                                                                                                     \
    const char* a_ = (actual);                                                                             \
    const char* e_ = (expected);                                                                           \
    if (a_ == NULL || strcmp(a_, e_) != 0) {                                                               \
      fprintf(stderr, "%s:%d: CHECK_STR failed: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
              #actual, a_ == NULL ? "(null)" : a_, e_);                                                    \
      exit(1);                                                                                             \
    }                                                                                                      \
  } while (0)

/* `ptr` is the result of a call that must succeed; `err` its error out-parameter. */
#define CHECK_OK(ptr, err)                                  \
  do {                                                      \
    if ((ptr) == NULL) fail(__FILE__, __LINE__, #ptr " is NULL", (err)); \
  } while (0)

/* A call that must fail with `code`: `ptr` is its (NULL) result; the error is checked and freed. */
#define CHECK_FAILS(ptr, err, code)                                                                           \
  do {                                                                                                        \
    if ((ptr) != NULL) fail(__FILE__, __LINE__, #ptr " succeeded, expected " #code, NULL);                    \
    if ((err) == NULL) fail(__FILE__, __LINE__, #ptr " failed without an error", NULL);                       \
    if (chat_error_code(err) != (code)) fail(__FILE__, __LINE__, #ptr ": wrong error code, expected " #code, (err)); \
    if (chat_error_message(err)[0] == '\0') fail(__FILE__, __LINE__, #ptr ": empty error message", (err));   \
    chat_error_free(err);                                                                                     \
    (err) = NULL;                                                                                             \
  } while (0)

static int starts_with(const char* s, const char* prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Cheap password hashing: these tests register many accounts. */
static chat_engine* open_engine(const char* path) {
  chat_error* err = NULL;
  chat_options* options = chat_options_new();
  CHECK(options != NULL);
  chat_options_set_password_hashing(options, 8192, 1, 1);
  chat_engine* engine = chat_engine_open(path, options, &err);
  chat_options_free(options);
  CHECK_OK(engine, err);
  return engine;
}

static chat_principal* sign_up(chat_engine* engine, const char* email, chat_auth_session** session_out) {
  chat_error* err = NULL;
  chat_auth_session* session = chat_register(engine, email, "correct horse battery", "Owner", &err);
  CHECK_OK(session, err);
  chat_principal* principal = chat_authenticate(engine, session->token, NULL, NULL, &err);
  CHECK_OK(principal, err);
  CHECK_STR(chat_principal_type(principal), "account");
  CHECK_STR(chat_principal_id(principal), session->account_id);
  if (session_out != NULL) {
    *session_out = session;
  } else {
    chat_auth_session_free(session);
  }
  return principal;
}

/* ------------------------------------------------------------------------- */
/* Event recording: callbacks run on the subscription's thread, the test waits on a condition variable. */

#define MAX_EVENTS 64

typedef struct recorder {
  pthread_mutex_t mu;
  pthread_cond_t changed;
  int count;
  char types[MAX_EVENTS][32];
  char conversation_ids[MAX_EVENTS][64];
  long long seqs[MAX_EVENTS]; /* message.* only, else -1 */
  char texts[MAX_EVENTS][64];
  int payload_ok[MAX_EVENTS]; /* payload_json names the type and is an object */
  /* Optional: call back into the engine from the callback (allowed by the contract). */
  chat_engine* engine;
  const chat_principal* reader;
  int reentrant_reads;    /* successful chat_list_messages calls made from the callback */
  int reentrant_failures; /* ... and failed or wrong ones */
  /* Optional: unsubscribe from inside the callback on the first event. */
  chat_subscription* self;
} recorder;

static void recorder_init(recorder* r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->changed, NULL);
}

static void recorder_destroy(recorder* r) {
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->changed);
}

static void record_event(const chat_event* event, void* user_data) {
  recorder* r = (recorder*)user_data;
  int reads = 0, failures = 0;
  if (r->engine != NULL && event->message != NULL) {
    chat_error* err = NULL;
    chat_message_list* list =
        chat_list_messages(r->engine, r->reader, event->conversation_id, event->message->seq - 1, 1, &err);
    if (list != NULL && list->count == 1 && strcmp(list->items[0]->id, event->message->id) == 0) {
      reads = 1;
    } else {
      failures = 1;
    }
    chat_message_list_free(list);
    chat_error_free(err);
  }
  pthread_mutex_lock(&r->mu);
  r->reentrant_reads += reads;
  r->reentrant_failures += failures;
  if (r->count < MAX_EVENTS) {
    int i = r->count;
    snprintf(r->types[i], sizeof r->types[i], "%s", event->type);
    snprintf(r->conversation_ids[i], sizeof r->conversation_ids[i], "%s", event->conversation_id);
    r->seqs[i] = event->message != NULL ? (long long)event->message->seq : -1;
    snprintf(r->texts[i], sizeof r->texts[i], "%s", event->message != NULL ? event->message->text : "");
    char expected_type[64];
    snprintf(expected_type, sizeof expected_type, "\"type\":\"%s\"", event->type);
    r->payload_ok[i] = event->payload_json[0] == '{' && strstr(event->payload_json, expected_type) != NULL &&
                       strstr(event->payload_json, "\"data\":{") != NULL;
  }
  r->count++;
  pthread_cond_broadcast(&r->changed);
  chat_subscription* self = r->self;
  r->self = NULL;
  pthread_mutex_unlock(&r->mu);
  if (self != NULL) chat_unsubscribe(self); /* returns at once: we are its callback */
}

static int recorder_count(recorder* r) {
  pthread_mutex_lock(&r->mu);
  int n = r->count;
  pthread_mutex_unlock(&r->mu);
  return n;
}

/* Waits (up to 10 s) until `r` counted at least `n` events of `type` (NULL: of any type); returns how many it has. */
static int wait_for_events(recorder* r, const char* type, int n) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 10;
  pthread_mutex_lock(&r->mu);
  for (;;) {
    int matching = 0;
    for (int i = 0; i < r->count && i < MAX_EVENTS; ++i) matching += type == NULL || strcmp(r->types[i], type) == 0;
    if (matching >= n) {
      pthread_mutex_unlock(&r->mu);
      return matching;
    }
    if (pthread_cond_timedwait(&r->changed, &r->mu, &deadline) == ETIMEDOUT) {
      pthread_mutex_unlock(&r->mu);
      return matching;
    }
  }
}

static int wait_for_messages(recorder* r, int n) { return wait_for_events(r, "message.created", n); }

/* ------------------------------------------------------------------------- */
/* The loop */

static void test_full_loop(void) {
  chat_error* err = NULL;
  chat_engine* engine = open_engine(":memory:");
  CHECK(chat_version()[0] != '\0');

  chat_auth_session* session = NULL;
  chat_principal* owner = sign_up(engine, "owner@example.com", &session);
  CHECK(starts_with(session->account_id, "acc_"));
  CHECK_STR(session->email, "owner@example.com");
  CHECK(session->expires_at_ms > 0);

  /* Subscriptions: the owner's feed (with a callback that reads history back through the engine), everything,
   * and one that unsubscribes itself on its first event. */
  recorder owner_feed, all_events, one_shot;
  recorder_init(&owner_feed);
  recorder_init(&all_events);
  recorder_init(&one_shot);
  owner_feed.engine = engine;
  owner_feed.reader = owner;
  chat_subscription* owner_sub = chat_subscribe(engine, owner, record_event, &owner_feed, 0, &err);
  CHECK_OK(owner_sub, err);
  chat_subscription* all_sub = chat_subscribe(engine, NULL, record_event, &all_events, 0, &err);
  CHECK_OK(all_sub, err);
  chat_subscription* one_shot_sub = chat_subscribe(engine, NULL, record_event, &one_shot, 0, &err);
  CHECK_OK(one_shot_sub, err);
  pthread_mutex_lock(&one_shot.mu);
  one_shot.self = one_shot_sub; /* freed by the callback's chat_unsubscribe */
  pthread_mutex_unlock(&one_shot.mu);

  /* An app: both keys, the secret one shown this once. */
  chat_app* app = chat_create_app(engine, owner, "Shop", &err);
  CHECK_OK(app, err);
  CHECK(starts_with(app->id, "app_"));
  CHECK_STR(app->account_id, session->account_id);
  CHECK_STR(app->name, "Shop");
  CHECK(starts_with(app->publishable_key, "pk_"));
  CHECK(starts_with(app->secret_key, "sk_"));
  chat_app_list* apps = chat_list_apps(engine, owner, NULL, 0, &err);
  CHECK_OK(apps, err);
  CHECK(apps->count == 1);
  CHECK_STR(apps->items[0]->id, app->id);
  CHECK_STR(apps->items[0]->secret_key, ""); /* never shown again */
  CHECK_STR(apps->next_cursor, "");
  chat_app_list_free(apps);

  /* The app's server authenticates with the secret key. */
  chat_principal* server = chat_authenticate(engine, NULL, app->secret_key, NULL, &err);
  CHECK_OK(server, err);
  CHECK_STR(chat_principal_type(server), "app_server");
  CHECK_STR(chat_principal_app_id(server), app->id);

  /* A customer's first message through the SDK (publishable key) creates a support conversation and a session. */
  chat_principal* sdk = chat_authenticate(engine, NULL, app->publishable_key, NULL, &err);
  CHECK_OK(sdk, err);
  CHECK_STR(chat_principal_type(sdk), "publishable");
  chat_send_result* first = chat_sdk_send_message(engine, sdk, NULL, "Hello, I need help", NULL, NULL, &err);
  CHECK_OK(first, err);
  CHECK(first->created == 1);
  CHECK(first->session_token[0] != '\0');
  CHECK(first->session_expires_at_ms > 0);
  CHECK(first->message->seq == 1);
  CHECK_STR(first->message->sender_type, "customer");
  CHECK_STR(first->message->text, "Hello, I need help");
  CHECK_STR(first->message->metadata_json, "{}");
  CHECK_STR(first->conversation->type, "support");
  CHECK_STR(first->conversation->status, "open");
  CHECK_STR(first->conversation->app_id, app->id);
  CHECK(starts_with(first->conversation->customer_id, "cus_"));
  char conversation_id[64];
  snprintf(conversation_id, sizeof conversation_id, "%s", first->conversation->id);
  CHECK(starts_with(conversation_id, "conv_"));

  /* The customer comes back with its session token and writes again into the same conversation. */
  chat_principal* customer = chat_authenticate(engine, first->session_token, app->publishable_key, NULL, &err);
  CHECK_OK(customer, err);
  CHECK_STR(chat_principal_type(customer), "customer");
  CHECK_STR(chat_principal_id(customer), first->conversation->customer_id);
  chat_send_result* second = chat_sdk_send_message(engine, customer, conversation_id, "Order 42 is late", NULL,
                                                    "{\"order\":42}", &err);
  CHECK_OK(second, err);
  CHECK(second->message->seq == 2);
  CHECK_STR(second->message->metadata_json, "{\"order\":42}");
  CHECK_STR(second->session_token, "");

  /* The owner sees the conversation with its last message, and replies. */
  chat_conversation_list* conversations = chat_list_conversations(engine, owner, app->id, NULL, NULL, 0, &err);
  CHECK_OK(conversations, err);
  CHECK(conversations->count == 1);
  CHECK_STR(conversations->items[0]->id, conversation_id);
  CHECK(conversations->items[0]->last_seq == 2);
  CHECK(conversations->items[0]->last_message != NULL);
  CHECK_STR(conversations->items[0]->last_message->text, "Order 42 is late");
  chat_conversation_list_free(conversations);
  conversations = chat_list_conversations(engine, owner, app->id, "resolved", NULL, 10, &err);
  CHECK_OK(conversations, err);
  CHECK(conversations->count == 0);
  chat_conversation_list_free(conversations);

  chat_send_result* reply = chat_send_message(engine, owner, conversation_id, "Hi! It ships today.", NULL, NULL, &err);
  CHECK_OK(reply, err);
  CHECK(reply->message->seq == 3);
  CHECK_STR(reply->message->sender_type, "account");
  CHECK_STR(reply->message->sender_id, session->account_id);
  CHECK_STR(reply->conversation->id, conversation_id);

  /* The app's server posts too, once: a retry with the same client_msg_id returns the original. */
  chat_send_result* note = chat_send_message(engine, server, conversation_id, "Tracking: XYZ", "note-1", NULL, &err);
  CHECK_OK(note, err);
  CHECK(note->created == 1);
  CHECK(note->message->seq == 4);
  chat_send_result* retry = chat_send_message(engine, server, conversation_id, "Tracking: XYZ", "note-1", NULL, &err);
  CHECK_OK(retry, err);
  CHECK(retry->created == 0);
  CHECK_STR(retry->message->id, note->message->id);
  CHECK_STR(retry->message->client_msg_id, "note-1");

  /* History in order, for the owner and for the customer; paged with after_seq and limit. */
  const char* texts[] = {"Hello, I need help", "Order 42 is late", "Hi! It ships today.", "Tracking: XYZ"};
  const chat_principal* readers[] = {owner, customer};
  for (int r = 0; r < 2; ++r) {
    chat_message_list* history = chat_list_messages(engine, readers[r], conversation_id, -1, 0, &err);
    CHECK_OK(history, err);
    CHECK(history->count == 4);
    for (size_t i = 0; i < history->count; ++i) {
      CHECK(history->items[i]->seq == (int64_t)i + 1);
      CHECK_STR(history->items[i]->text, texts[i]);
      CHECK_STR(history->items[i]->conversation_id, conversation_id);
      CHECK(history->items[i]->created_at_ms > 0);
    }
    chat_message_list_free(history);
  }
  chat_message_list* page = chat_list_messages(engine, owner, conversation_id, 2, 1, &err);
  CHECK_OK(page, err);
  CHECK(page->count == 1);
  CHECK(page->items[0]->seq == 3);
  chat_message_list_free(page);
  page = chat_list_messages(engine, owner, conversation_id, 4, 0, &err);
  CHECK_OK(page, err);
  CHECK(page->count == 0);
  chat_message_list_free(page);

  /* Events: the owner's feed got the four messages in order, and its callback could read them back. */
  CHECK(wait_for_messages(&owner_feed, 4) == 4);
  pthread_mutex_lock(&owner_feed.mu);
  int seen = 0;
  for (int i = 0; i < owner_feed.count; ++i) {
    CHECK(owner_feed.payload_ok[i]);
    if (strcmp(owner_feed.types[i], "message.created") != 0) continue;
    CHECK_STR(owner_feed.conversation_ids[i], conversation_id);
    CHECK(owner_feed.seqs[i] == seen + 1);
    CHECK_STR(owner_feed.texts[i], texts[seen]);
    ++seen;
  }
  CHECK(owner_feed.reentrant_reads == 4);
  CHECK(owner_feed.reentrant_failures == 0);
  pthread_mutex_unlock(&owner_feed.mu);

  /* Everything: the conversation's creation too. The one-shot subscription saw exactly one event. */
  CHECK(wait_for_messages(&all_events, 4) == 4);
  pthread_mutex_lock(&all_events.mu);
  int conversation_created = 0;
  for (int i = 0; i < all_events.count; ++i) {
    conversation_created += strcmp(all_events.types[i], "conversation.created") == 0;
    CHECK(all_events.payload_ok[i]);
  }
  CHECK(conversation_created == 1);
  pthread_mutex_unlock(&all_events.mu);
  /* Its own thread delivers it, maybe after the others' threads delivered theirs: wait for the first one. */
  CHECK(wait_for_events(&one_shot, NULL, 1) == 1);

  /* After chat_unsubscribe returns, its callback is never called again. */
  chat_unsubscribe(owner_sub);
  int owner_events = recorder_count(&owner_feed);
  chat_send_result* later = chat_send_message(engine, owner, conversation_id, "Anything else?", NULL, NULL, &err);
  CHECK_OK(later, err);
  CHECK(wait_for_messages(&all_events, 5) == 5); /* the event was published and delivered elsewhere */
  CHECK(recorder_count(&owner_feed) == owner_events);
  CHECK(recorder_count(&one_shot) == 1);
  chat_unsubscribe(all_sub);

  chat_send_result_free(later);
  chat_send_result_free(retry);
  chat_send_result_free(note);
  chat_send_result_free(reply);
  chat_send_result_free(second);
  chat_send_result_free(first);
  chat_principal_free(customer);
  chat_principal_free(sdk);
  chat_principal_free(server);
  chat_app_free(app);
  chat_principal_free(owner);
  chat_auth_session_free(session);
  chat_engine_close(engine);
  recorder_destroy(&owner_feed);
  recorder_destroy(&all_events);
  recorder_destroy(&one_shot);
}

/* ------------------------------------------------------------------------- */
/* Errors */

static void test_errors(void) {
  chat_error* err = NULL;
  chat_engine* engine = open_engine(":memory:");
  chat_principal* owner = sign_up(engine, "ann@example.com", NULL);
  chat_app* app = chat_create_app(engine, owner, "Ann's shop", &err);
  CHECK_OK(app, err);
  chat_principal* sdk = chat_authenticate(engine, NULL, app->publishable_key, NULL, &err);
  CHECK_OK(sdk, err);
  chat_send_result* first = chat_sdk_send_message(engine, sdk, NULL, "hi", NULL, NULL, &err);
  CHECK_OK(first, err);
  const char* conversation_id = first->conversation->id;

  /* Accounts: a wrong password and an unknown email look the same; an email registers once. */
  CHECK_FAILS(chat_login(engine, "ann@example.com", "wrong password!", &err), err, CHAT_UNAUTHENTICATED);
  CHECK_FAILS(chat_login(engine, "nobody@example.com", "correct horse battery", &err), err, CHAT_UNAUTHENTICATED);
  CHECK_FAILS(chat_register(engine, "ann@example.com", "another password", "Ann 2", &err), err, CHAT_ALREADY_EXISTS);
  chat_auth_session* login = chat_login(engine, "ann@example.com", "correct horse battery", &err);
  CHECK_OK(login, err);
  CHECK_FAILS(chat_authenticate(engine, "not-a-token", NULL, NULL, &err), err, CHAT_UNAUTHENTICATED);
  CHECK_FAILS(chat_authenticate(engine, NULL, "pk_unknown", NULL, &err), err, CHAT_UNAUTHENTICATED);
  CHECK_FAILS(chat_authenticate(engine, NULL, NULL, NULL, &err), err, CHAT_UNAUTHENTICATED);

  /* Logout revokes exactly that token. */
  chat_principal* second_login = chat_authenticate(engine, login->token, NULL, NULL, &err);
  CHECK_OK(second_login, err);
  CHECK(chat_logout(engine, second_login, &err) == CHAT_OK);
  CHECK(err == NULL);
  CHECK_FAILS(chat_authenticate(engine, login->token, NULL, NULL, &err), err, CHAT_UNAUTHENTICATED);
  chat_principal_free(second_login);
  chat_auth_session_free(login);

  /* Unknown ids, well-formed or not. */
  CHECK_FAILS(chat_get_conversation(engine, owner, "conv_doesnotexist", &err), err, CHAT_NOT_FOUND);
  CHECK_FAILS(chat_get_conversation(engine, owner, "garbage", &err), err, CHAT_NOT_FOUND);
  CHECK_FAILS(chat_list_messages(engine, owner, "conv_doesnotexist", -1, 0, &err), err, CHAT_NOT_FOUND);
  CHECK_FAILS(chat_send_message(engine, owner, "conv_doesnotexist", "hello?", NULL, NULL, &err), err, CHAT_NOT_FOUND);
  CHECK_FAILS(chat_get_app(engine, owner, "app_doesnotexist", &err), err, CHAT_NOT_FOUND);
  CHECK_FAILS(chat_list_conversations(engine, owner, "app_doesnotexist", NULL, NULL, 0, &err), err, CHAT_NOT_FOUND);

  /* Another tenant's resources are indistinguishable from missing ones. */
  chat_principal* other = sign_up(engine, "bob@example.com", NULL);
  CHECK_FAILS(chat_get_app(engine, other, app->id, &err), err, CHAT_NOT_FOUND);
  CHECK_FAILS(chat_list_conversations(engine, other, app->id, NULL, NULL, 0, &err), err, CHAT_NOT_FOUND);
  CHECK_FAILS(chat_get_conversation(engine, other, conversation_id, &err), err, CHAT_NOT_FOUND);
  CHECK_FAILS(chat_list_messages(engine, other, conversation_id, -1, 0, &err), err, CHAT_NOT_FOUND);
  CHECK_FAILS(chat_send_message(engine, other, conversation_id, "hijack", NULL, NULL, &err), err, CHAT_NOT_FOUND);
  /* ... and so are another customer's conversations. */
  chat_send_result* stranger_first = chat_sdk_send_message(engine, sdk, NULL, "me too", NULL, NULL, &err);
  CHECK_OK(stranger_first, err);
  chat_principal* stranger =
      chat_authenticate(engine, stranger_first->session_token, app->publishable_key, NULL, &err);
  CHECK_OK(stranger, err);
  CHECK_FAILS(chat_list_messages(engine, stranger, conversation_id, -1, 0, &err), err, CHAT_NOT_FOUND);
  CHECK_FAILS(chat_sdk_send_message(engine, stranger, conversation_id, "hi", NULL, NULL, &err), err, CHAT_NOT_FOUND);
  /* A customer does not list the app's conversations or create apps. */
  CHECK(chat_list_apps(engine, stranger, NULL, 0, &err) == NULL);
  CHECK(chat_error_code(err) == CHAT_PERMISSION_DENIED);
  chat_error_free(err);
  err = NULL;

  /* NULL where a value is required. */
  CHECK_FAILS(chat_engine_open(NULL, NULL, &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_engine_open("", NULL, &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_register(NULL, "x@example.com", "long enough", "X", &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_register(engine, NULL, "long enough", "X", &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_login(engine, "ann@example.com", NULL, &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_authenticate(NULL, "token", NULL, NULL, &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_create_app(engine, NULL, "App", &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_create_app(engine, owner, NULL, &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_send_message(engine, owner, NULL, "text", NULL, NULL, &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_send_message(engine, owner, conversation_id, NULL, NULL, NULL, &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_list_messages(engine, NULL, conversation_id, -1, 0, &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_list_conversations(engine, owner, NULL, NULL, NULL, 0, &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_subscribe(engine, NULL, NULL, NULL, 0, &err), err, CHAT_INVALID_ARGUMENT);
  CHECK(chat_logout(engine, NULL, &err) == CHAT_INVALID_ARGUMENT);
  CHECK(chat_error_code(err) == CHAT_INVALID_ARGUMENT);
  chat_error_free(err);
  err = NULL;
  /* The error out-parameter is optional; the free functions and accessors accept NULL. */
  CHECK(chat_get_conversation(engine, owner, "conv_doesnotexist", NULL) == NULL);
  CHECK(chat_logout(NULL, NULL, NULL) == CHAT_INVALID_ARGUMENT);
  chat_error_free(NULL);
  chat_app_free(NULL);
  chat_app_list_free(NULL);
  chat_message_list_free(NULL);
  chat_conversation_free(NULL);
  chat_conversation_list_free(NULL);
  chat_send_result_free(NULL);
  chat_auth_session_free(NULL);
  chat_principal_free(NULL);
  chat_unsubscribe(NULL);
  chat_engine_close(NULL);
  CHECK(chat_error_code(NULL) == CHAT_OK);
  CHECK_STR(chat_error_message(NULL), "");
  CHECK_STR(chat_principal_id(NULL), "");

  /* Out-of-range and malformed input. */
  CHECK_FAILS(chat_send_message(engine, owner, conversation_id, "bad \xff\xfe utf-8", NULL, NULL, &err), err,
              CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_send_message(engine, owner, conversation_id, "\xc0\xaf", NULL, NULL, &err), err,
              CHAT_INVALID_ARGUMENT); /* an overlong '/' */
  CHECK_FAILS(chat_sdk_send_message(engine, sdk, NULL, "\xed\xa0\x80", NULL, NULL, &err), err,
              CHAT_INVALID_ARGUMENT); /* a surrogate */
  CHECK_FAILS(chat_send_message(engine, owner, conversation_id, "", NULL, NULL, &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_send_message(engine, owner, conversation_id, "x", NULL, "[1,2]", &err), err,
              CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_register(engine, "not-an-email", "long enough", "X", &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_register(engine, "short@example.com", "short", "X", &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_list_messages(engine, owner, conversation_id, -1, 1000, &err), err, CHAT_INVALID_ARGUMENT);
  CHECK_FAILS(chat_list_conversations(engine, owner, app->id, "closed", NULL, 0, &err), err, CHAT_INVALID_ARGUMENT);
  /* Nothing of the rejected sends was stored. */
  chat_message_list* history = chat_list_messages(engine, owner, conversation_id, -1, 0, &err);
  CHECK_OK(history, err);
  CHECK(history->count == 1);
  chat_message_list_free(history);
  /* A bad password hashing cost is refused when the engine opens. */
  chat_options* options = chat_options_new();
  chat_options_set_password_hashing(options, 1024, 1, 1);
  CHECK_FAILS(chat_engine_open(":memory:", options, &err), err, CHAT_INVALID_ARGUMENT);
  chat_options_free(options);

  CHECK_STR(chat_code_name(CHAT_NOT_FOUND), "not_found");
  CHECK_STR(chat_code_name(CHAT_INVALID_ARGUMENT), "invalid_argument");
  CHECK_STR(chat_code_name((chat_code)99), "unknown");

  chat_principal_free(stranger);
  chat_send_result_free(stranger_first);
  chat_principal_free(other);
  chat_send_result_free(first);
  chat_principal_free(sdk);
  chat_app_free(app);
  chat_principal_free(owner);
  chat_engine_close(engine);
}

/* ------------------------------------------------------------------------- */
/* A SQLite store: what was written is there after a reopen; closing with a live subscription. */

static void remove_store_files(const char* path) {
  const char* suffixes[] = {"", ".key", "-wal", "-shm", "-journal"};
  char name[4096];
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; ++i) {
    snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
    remove(name);
  }
}

static void test_sqlite_store(const char* path) {
  chat_error* err = NULL;
  remove_store_files(path);
  char app_id[64], conversation_id[64];

  chat_engine* engine = open_engine(path);
  chat_principal* owner = sign_up(engine, "carol@example.com", NULL);
  chat_app* app = chat_create_app(engine, owner, "Durable", &err);
  CHECK_OK(app, err);
  snprintf(app_id, sizeof app_id, "%s", app->id);
  chat_principal* sdk = chat_authenticate(engine, NULL, app->publishable_key, NULL, &err);
  CHECK_OK(sdk, err);
  recorder events;
  recorder_init(&events);
  chat_subscription* subscription = chat_subscribe(engine, owner, record_event, &events, 0, &err);
  CHECK_OK(subscription, err);
  chat_send_result* sent = chat_sdk_send_message(engine, sdk, NULL, "kept on disk", NULL, NULL, &err);
  CHECK_OK(sent, err);
  snprintf(conversation_id, sizeof conversation_id, "%s", sent->conversation->id);
  CHECK(wait_for_messages(&events, 1) == 1);
  /* Closing stops the subscription; its handle is released afterwards. */
  chat_engine_close(engine);
  chat_unsubscribe(subscription);
  recorder_destroy(&events);
  chat_send_result_free(sent);
  chat_principal_free(sdk);
  chat_app_free(app);
  chat_principal_free(owner);

  engine = open_engine(path);
  chat_auth_session* login = chat_login(engine, "carol@example.com", "correct horse battery", &err);
  CHECK_OK(login, err);
  owner = chat_authenticate(engine, login->token, NULL, NULL, &err);
  CHECK_OK(owner, err);
  chat_conversation_list* conversations = chat_list_conversations(engine, owner, app_id, NULL, NULL, 0, &err);
  CHECK_OK(conversations, err);
  CHECK(conversations->count == 1);
  CHECK_STR(conversations->items[0]->id, conversation_id);
  CHECK(conversations->items[0]->last_seq == 1);
  chat_conversation_list_free(conversations);
  chat_message_list* history = chat_list_messages(engine, owner, conversation_id, -1, 0, &err);
  CHECK_OK(history, err);
  CHECK(history->count == 1);
  CHECK_STR(history->items[0]->text, "kept on disk");
  chat_message_list_free(history);
  chat_principal_free(owner);
  chat_auth_session_free(login);
  chat_engine_close(engine);
  remove_store_files(path);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <sqlite-file>\n", argv[0]);
    return 2;
  }
  test_full_loop();
  printf("ok: full loop\n");
  test_errors();
  printf("ok: errors\n");
  test_sqlite_store(argv[1]);
  printf("ok: sqlite store\n");
  printf("all C API checks passed\n");
  return 0;
}
