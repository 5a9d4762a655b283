// append_bench: in-process durable appends per second.
//
// Part A measures the ceiling SQLite itself sets on this machine: a fresh file,
// WAL, synchronous=FULL, libchat's own apps/conversations/messages tables and
// indexes, one prepared INSERT, 1,000 rows per transaction, one thread.
// A' spreads the same inserts over many conversations (more pages dirtied per
// commit, as with many concurrent conversations in Part B). A2 adds the rest of
// what libchat's writer runs per message: a savepoint, the conversation read, the
// client_msg_id lookup and the conversation update, so a gap between A and B can
// be split into "more SQL" and "everything else".
//
// Part B goes through the facade: Chat::Open on a fresh file, an account, an
// app, K customer conversations created the way an SDK creates them, then P
// producer threads calling Chat::SendMessage M times each, either all into one
// hot conversation or each into its own. Every call blocks until its message is
// durable, so throughput comes from the store's group commit. Diagnostic
// scenarios call Store::AppendMessage directly, to split the facade's own cost
// from the store's.
//
// This is a program that prints figures, not a test. It is the one place outside
// libchat/src/storage that talks to SQLite directly, because it measures the ceiling.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "libchat/chat.h"
#include "libchat/options.h"
#include "libchat/providers/store.h"
#include "storage/sqlite_store.h"  // GetSqliteStoreStats: commits and batch sizes, for the report only

namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::vector<int> producers{64};
  int messages = 200;          // per producer
  int raw_rows = 100000;       // Part A
  int batch = 1000;            // Part A rows per transaction
  int raw_conversations = 64;  // A' and A2 spread their rows over this many conversations
  int text_bytes = 64;         // message text size, both parts
  bool client_msg_id = true;
  bool webhook = false;        // Part B: a message.created webhook, so each message also writes an outbox row
  bool keep_db = false;
  bool hot = true;             // Part B scenarios to run
  bool spread = true;
  bool store_only = true;
  bool store_hot = false;
  std::string db_dir;       // default: $TMPDIR or /tmp
};

void PrintUsage() {
  std::puts(
      "usage: append_bench [--producers N[,N...]] [--messages M] [--db-dir DIR]\n"
      "                    [--raw-rows R] [--raw-conversations C] [--batch B] [--text-bytes T]\n"
      "                    [--scenarios LIST] [--no-client-msg-id] [--webhook] [--keep-db]\n"
      "  --producers   producer threads of Part B; a list runs each count (default 64)\n"
      "  --messages    messages per producer in Part B (default 200)\n"
      "  --db-dir      where the fresh database files go (default $TMPDIR or /tmp);\n"
      "                put it on the disk you want to measure, not on tmpfs\n"
      "  --raw-rows    rows inserted by each Part A run (default 100000)\n"
      "  --batch       rows per transaction in Part A (default 1000)\n"
      "  --raw-conversations  conversations the A' and A2 rows are spread over (default 64)\n"
      "  --text-bytes  bytes of message text (default 64)\n"
      "  --no-client-msg-id  send without client_msg_id (both parts; default: a unique one per message)\n"
      "  --webhook     Part B: subscribe a message.created webhook first (each message then also writes an outbox row)\n"
      "  --scenarios   Part B scenarios, a list of: hot (one hot conversation), spread (one\n"
      "                conversation per producer), store (diagnostic: Store::AppendMessage, one\n"
      "                conversation per producer), store-hot (diagnostic: Store::AppendMessage, one\n"
      "                hot conversation). Default: hot,spread,store\n"
      "  --keep-db     do not delete the database files afterwards");
}

bool ParseInt(const char* text, int min, int* out) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < min || v > 100000000) return false;
  *out = static_cast<int>(v);
  return true;
}

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char** out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "append_bench: %s needs a value\n", arg.c_str());
        return false;
      }
      *out = argv[++i];
      return true;
    };
    auto number = [&](const char* text, int* out) {
      if (ParseInt(text, 1, out)) return true;
      std::fprintf(stderr, "append_bench: %s needs a positive integer, not '%s'\n", arg.c_str(), text);
      return false;
    };
    const char* v = nullptr;
    if (arg == "-h" || arg == "--help") {
      PrintUsage();
      std::exit(0);
    } else if (arg == "--producers") {
      if (!value(&v)) return false;
      flags->producers.clear();
      std::string list = v;
      std::size_t start = 0;
      while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        int n = 0;
        if (!ParseInt(list.substr(start, comma - start).c_str(), 1, &n) || n > 4096) {
          std::fprintf(stderr, "append_bench: bad --producers %s\n", v);
          return false;
        }
        flags->producers.push_back(n);
        start = comma + 1;
      }
    } else if (arg == "--messages") {
      if (!value(&v) || !number(v, &flags->messages)) return false;
    } else if (arg == "--raw-rows") {
      if (!value(&v) || !number(v, &flags->raw_rows)) return false;
    } else if (arg == "--raw-conversations") {
      if (!value(&v) || !number(v, &flags->raw_conversations)) return false;
    } else if (arg == "--batch") {
      if (!value(&v) || !number(v, &flags->batch)) return false;
    } else if (arg == "--text-bytes") {
      if (!value(&v) || !number(v, &flags->text_bytes)) return false;
    } else if (arg == "--db-dir") {
      if (!value(&v)) return false;
      flags->db_dir = v;
    } else if (arg == "--no-client-msg-id") {
      flags->client_msg_id = false;
    } else if (arg == "--webhook") {
      flags->webhook = true;
    } else if (arg == "--scenarios") {
      if (!value(&v)) return false;
      const std::string list = std::string(",") + v + ",";
      flags->hot = list.find(",hot,") != std::string::npos;
      flags->spread = list.find(",spread,") != std::string::npos;
      flags->store_only = list.find(",store,") != std::string::npos;
      flags->store_hot = list.find(",store-hot,") != std::string::npos;
      if (!flags->hot && !flags->spread && !flags->store_only && !flags->store_hot) {
        std::fprintf(stderr, "append_bench: --scenarios takes a list of hot, spread, store, store-hot\n");
        return false;
      }
    } else if (arg == "--keep-db") {
      flags->keep_db = true;
    } else {
      std::fprintf(stderr, "append_bench: unknown flag %s (try --help)\n", arg.c_str());
      return false;
    }
  }
  if (flags->db_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    flags->db_dir = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  }
  return true;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Distinguishes the files of concurrent runs sharing a --db-dir.
const std::string& RunTag() {
  static const std::string tag = [] {
    std::random_device random;
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(random()));
    return std::string(hex);
  }();
  return tag;
}

// A database file and its WAL/SHM companions, removed on destruction unless kept.
class TempDb {
 public:
  TempDb(const Flags& flags, const std::string& tag) : keep_(flags.keep_db) {
    path_ = flags.db_dir + "/append_bench_" + RunTag() + "_" + tag + ".db";
    Remove();
  }
  ~TempDb() {
    if (keep_) {
      std::printf("  (kept %s)\n", path_.c_str());
    } else {
      Remove();
    }
  }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;
  const std::string& path() const { return path_; }

 private:
  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path_ + suffix).c_str());
  }
  std::string path_;
  bool keep_;
};

// Ids shaped like libchat's: a prefix and 22 random alphanumerics, so the unique
// index on messages.id sees the same random insertion order.
class IdMaker {
 public:
  explicit IdMaker(std::uint64_t seed) : rng_(seed) {}
  std::string Next(const char* prefix) {
    static constexpr char kAlnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::string id(prefix);
    for (int i = 0; i < 22; ++i) id += kAlnum[rng_() % 62];
    return id;
  }

 private:
  std::mt19937_64 rng_;
};

std::string MessageText(int bytes) {
  std::string text = "benchmark message ";
  while (static_cast<int>(text.size()) < bytes) text += static_cast<char>('a' + text.size() % 26);
  text.resize(static_cast<std::size_t>(bytes));
  return text;
}

std::int64_t NowMs() {
  using std::chrono::system_clock;
  return std::chrono::duration_cast<std::chrono::milliseconds>(system_clock::now().time_since_epoch()).count();
}

// ---------------------------------------------------------------------------
// Part A: SQLite alone.


// The per-message statements of libchat's SqliteStore::Append (sqlite_store.cpp).
constexpr const char kRawInsert[] =
    "INSERT INTO messages (conversation_id, seq, sender_id, deleted, sender_type, client_msg_id, id, app_id,"
    " created_at, edited_at, text, metadata_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
constexpr const char kRawGetConversation[] =
    "SELECT id, app_id, type, status, assignee_id, name, metadata_json, customer_id, last_seq, snoozed_until,"
    " created_at, updated_at, last_activity_at FROM conversations WHERE id = ?1";
constexpr const char kRawFindByClientId[] =
    "SELECT id FROM messages WHERE conversation_id = ?1 AND sender_id = ?2 AND client_msg_id = ?3"
    " AND client_msg_id <> ''";
constexpr const char kRawUpdateConversation[] =
    "UPDATE conversations SET last_seq = ?2, last_activity_at = ?3, updated_at = ?4, status = ?5,"
    " snoozed_until = ?6 WHERE id = ?1";

class RawDb {
 public:
  ~RawDb() {
    for (sqlite3_stmt* s : stmts_) sqlite3_finalize(s);
    if (db_ != nullptr) sqlite3_close(db_);
  }
  bool Open(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
      return Fail("open");
    }
    // The writer configuration of libchat's ConfigureWriter().
    return Exec("PRAGMA journal_mode = WAL") && Exec("PRAGMA synchronous = FULL") &&
           Exec("PRAGMA foreign_keys = ON") && Exec("PRAGMA temp_store = MEMORY") &&
           Exec("PRAGMA cache_size = -16384") && Exec("PRAGMA journal_size_limit = 67108864");
  }
  bool Exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      std::fprintf(stderr, "append_bench: SQLite: %s (%s)\n", error != nullptr ? error : "?", sql);
      sqlite3_free(error);
      return false;
    }
    return true;
  }
  sqlite3_stmt* Prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
      Fail("prepare");
      return nullptr;
    }
    stmts_.push_back(s);
    return s;
  }
  // Steps `s` to completion (SQLITE_DONE), then resets it.
  bool Run(sqlite3_stmt* s) {
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE || Fail("step");
  }
  bool Fail(const char* what) {
    std::fprintf(stderr, "append_bench: SQLite %s: %s\n", what, db_ != nullptr ? sqlite3_errmsg(db_) : "?");
    return false;
  }

 private:
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> stmts_;
};

void BindText(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

struct RawResult {
  bool ok = false;
  int rows = 0;
  double seconds = 0;
  double rows_per_s() const { return seconds > 0 ? rows / seconds : 0; }
};

// full_append=false: Part A (one INSERT per row). true: A2, the whole statement
// sequence of libchat's Append, each row in its own savepoint, rows spread
// round-robin over `conversations` conversations.
RawResult RunRaw(const Flags& flags, bool full_append, int conversations) {
  RawResult result;
  TempDb file(flags, (full_append ? "raw_full_" : "raw_insert_") + std::to_string(conversations));
  RawDb db;
  {
    // libchat's own migrations create the schema, so the raw inserts pay for the
    // same keys, indexes and foreign keys as the store's.
    libchat::SqliteStoreOptions schema_only;
    schema_only.path = file.path();
    auto store = libchat::OpenSqliteStore(schema_only);
    if (!store.ok()) {
      std::fprintf(stderr, "append_bench: OpenSqliteStore: %s\n", store.status().ToString().c_str());
      return result;
    }
  }
  if (!db.Open(file.path())) return result;

  const std::int64_t now = NowMs();
  const std::string app_id = "app_bench";
  const std::string sender = "cus_benchcustomer000000000";
  IdMaker ids(42);
  std::vector<std::string> conv_ids;
  for (int i = 0; i < conversations; ++i) conv_ids.push_back(ids.Next("conv_"));
  {
    // Named columns: later migrations add columns with defaults.
    std::string setup =
        "INSERT INTO apps (pk, id, account_id, name, publishable_key, secret_key_hash, identity_secret, theme_json, "
        "prechat_json, identity_verification, created_at, updated_at) VALUES (1, '" +
        app_id + "', 'acc_x', 'bench', 'pk_x', 'skh_x', 'secret', '{}', '[]', 0, 0, 0);";
    for (const std::string& c : conv_ids) {
      setup += "INSERT INTO conversations (id, app_id, type, status, assignee_id, name, metadata_json, customer_id, "
               "last_seq, snoozed_until, created_at, updated_at, last_activity_at) VALUES ('" + c + "', '" + app_id +
               "', 'support', 'open', '', '', '{}', '" + sender + "', 0, NULL, 0, 0, 0);";
    }
    if (!db.Exec(setup.c_str())) return result;
  }

  sqlite3_stmt* insert = db.Prepare(kRawInsert);
  sqlite3_stmt* get_conv = db.Prepare(kRawGetConversation);
  sqlite3_stmt* find = db.Prepare(kRawFindByClientId);
  sqlite3_stmt* update = db.Prepare(kRawUpdateConversation);
  sqlite3_stmt* begin = db.Prepare("BEGIN IMMEDIATE");
  sqlite3_stmt* commit = db.Prepare("COMMIT");
  sqlite3_stmt* savepoint = db.Prepare("SAVEPOINT op");
  sqlite3_stmt* release = db.Prepare("RELEASE op");
  if (insert == nullptr || get_conv == nullptr || find == nullptr || update == nullptr || begin == nullptr ||
      commit == nullptr || savepoint == nullptr || release == nullptr) {
    return result;
  }

  const std::string text = MessageText(flags.text_bytes);
  const std::string sender_type = "customer";
  const std::string metadata = "{}";
  const std::string status = "open";
  std::vector<std::int64_t> last_seq(conv_ids.size(), 0);
  // Precomputed so that Part A times SQLite, not id generation (the facade pays for its own).
  std::vector<std::string> msg_ids;
  std::vector<std::string> client_ids;
  msg_ids.reserve(static_cast<std::size_t>(flags.raw_rows));
  for (int i = 0; i < flags.raw_rows; ++i) {
    msg_ids.push_back(ids.Next("msg_"));
    client_ids.push_back(flags.client_msg_id ? "c" + std::to_string(i) : std::string());
  }

  const auto start = Clock::now();
  int row = 0;
  while (row < flags.raw_rows) {
    if (!db.Run(begin)) return result;
    const int end = std::min(flags.raw_rows, row + flags.batch);
    for (; row < end; ++row) {
      const std::size_t c = static_cast<std::size_t>(row) % conv_ids.size();
      const std::string& conv = conv_ids[c];
      if (full_append) {
        if (!db.Run(savepoint)) return result;
        BindText(get_conv, 1, conv);
        if (sqlite3_step(get_conv) != SQLITE_ROW) {
          db.Fail("read conversation");
          return result;
        }
        last_seq[c] = sqlite3_column_int64(get_conv, 8);
        sqlite3_reset(get_conv);
        if (!client_ids[static_cast<std::size_t>(row)].empty()) {
          BindText(find, 1, conv);
          BindText(find, 2, sender);
          BindText(find, 3, client_ids[static_cast<std::size_t>(row)]);
          if (sqlite3_step(find) != SQLITE_DONE) {
            db.Fail("dedupe lookup");
            return result;
          }
          sqlite3_reset(find);
        }
      }
      const std::int64_t seq = ++last_seq[c];
      BindText(insert, 1, conv);
      sqlite3_bind_int64(insert, 2, seq);
      BindText(insert, 3, sender);
      sqlite3_bind_int(insert, 4, 0);
      BindText(insert, 5, sender_type);
      BindText(insert, 6, client_ids[static_cast<std::size_t>(row)]);
      BindText(insert, 7, msg_ids[static_cast<std::size_t>(row)]);
      BindText(insert, 8, app_id);
      sqlite3_bind_int64(insert, 9, now + row);
      sqlite3_bind_null(insert, 10);
      BindText(insert, 11, text);
      BindText(insert, 12, metadata);
      if (!db.Run(insert)) return result;
      if (full_append) {
        BindText(update, 1, conv);
        sqlite3_bind_int64(update, 2, seq);
        sqlite3_bind_int64(update, 3, now + row);
        sqlite3_bind_int64(update, 4, now + row);
        BindText(update, 5, status);
        sqlite3_bind_null(update, 6);
        if (!db.Run(update) || !db.Run(release)) return result;
      }
    }
    if (!db.Run(commit)) return result;
  }
  result.seconds = Seconds(Clock::now() - start);
  result.rows = flags.raw_rows;
  result.ok = true;
  return result;
}

// ---------------------------------------------------------------------------
// Part B: through libchat::Chat.

struct Latencies {
  std::vector<double> us;  // sorted
  double Percentile(double p) const {
    if (us.empty()) return 0;
    std::size_t i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(us.size() - 1) + 0.5);
    return us[std::min(i, us.size() - 1)];
  }
};

struct FacadeResult {
  bool ok = false;
  int producers = 0;
  std::int64_t sent = 0;    // acknowledged (OK) sends
  std::int64_t failed = 0;
  std::string first_error;
  double seconds = 0;
  Latencies latency;
  std::int64_t stored = 0;  // sum of last_seq over the conversations used, read back afterwards
  libchat::internal::SqliteStoreStats stats;
  double msgs_per_s() const { return seconds > 0 ? static_cast<double>(sent) / seconds : 0; }
};

// A customer and its support conversation, created as an SDK would.
struct Session {
  libchat::Principal principal;
  libchat::ConversationId conversation;
};

libchat::Result<Session> NewSdkSession(libchat::Chat& chat, const std::string& publishable_key) {
  libchat::Credentials pk;
  pk.api_key = publishable_key;
  auto anonymous = chat.Authenticate(pk);
  if (!anonymous.ok()) return anonymous.status();
  libchat::SdkSendRequest first;
  first.message.text = "hello";
  auto sent = chat.SdkSendMessage(*anonymous, first);
  if (!sent.ok()) return sent.status();
  libchat::Credentials session;
  session.api_key = publishable_key;
  session.bearer_token = sent->session_token;
  auto customer = chat.Authenticate(session);
  if (!customer.ok()) return customer.status();
  return Session{*customer, sent->message.conversation_id};
}

enum class Scenario {
  kHot,          // every producer calls Chat::SendMessage on the same conversation
  kPerProducer,  // producer i calls Chat::SendMessage on conversation i
  kStoreOnly,    // producer i calls Store::AppendMessage on conversation i: the facade's
                 // own cost (authorization reads, validation, events) left out
  kStoreHot,     // every producer calls Store::AppendMessage on the same conversation
};

const char* ScenarioName(Scenario s) {
  switch (s) {
    case Scenario::kHot: return "one hot conversation";
    case Scenario::kPerProducer: return "one conversation per producer";
    case Scenario::kStoreOnly: return "(Store::AppendMessage only)";
    case Scenario::kStoreHot: return "(Store::AppendMessage, hot)";
  }
  return "?";
}

FacadeResult RunFacade(const Flags& flags, int producers, Scenario scenario) {
  FacadeResult result;
  result.producers = producers;
  const bool hot = scenario == Scenario::kHot || scenario == Scenario::kStoreHot;
  const bool store_only = scenario == Scenario::kStoreOnly || scenario == Scenario::kStoreHot;
  TempDb file(flags, "facade_" + std::to_string(static_cast<int>(scenario)) + "_" + std::to_string(producers));

  libchat::Options options;
  options.sqlite.path = file.path();
  options.sqlite.synchronous_full = true;
  options.password_hashing.memory_kib = 8192;  // setup cost only: one register
  options.password_hashing.iterations = 1;
  auto store = libchat::OpenSqliteStore(options.sqlite);
  if (!store.ok()) {
    std::fprintf(stderr, "append_bench: OpenSqliteStore: %s\n", store.status().ToString().c_str());
    return result;
  }
  std::shared_ptr<libchat::Store> store_ptr = *store;
  options.store = store_ptr;  // what Open would do itself; kept here to read the writer's counters
  auto opened = libchat::Chat::Open(std::move(options));
  if (!opened.ok()) {
    std::fprintf(stderr, "append_bench: Chat::Open: %s\n", opened.status().ToString().c_str());
    return result;
  }
  libchat::Chat& chat = **opened;

  libchat::RegisterRequest reg;
  reg.email = "bench@example.com";
  reg.password = "correct horse battery staple";
  reg.name = "Bench";
  auto account = chat.Register(reg);
  if (!account.ok()) {
    std::fprintf(stderr, "append_bench: Register: %s\n", account.status().ToString().c_str());
    return result;
  }
  libchat::Credentials account_credentials;
  account_credentials.bearer_token = account->token;
  auto owner = chat.Authenticate(account_credentials);
  if (!owner.ok()) return result;
  libchat::AppCreate app_request;
  app_request.name = "bench";
  auto app = chat.CreateApp(*owner, app_request);
  if (!app.ok()) {
    std::fprintf(stderr, "append_bench: CreateApp: %s\n", app.status().ToString().c_str());
    return result;
  }

  if (flags.webhook) {
    // Never contacted (no delivery worker runs here): what is measured is the outbox row each message
    // writes in its own transaction. A public address literal needs no DNS.
    libchat::WebhookCreate hook;
    hook.url = "https://93.184.215.14/bench";
    hook.events = {"message.created"};
    auto created = chat.CreateWebhook(*owner, app->app.id, hook);
    if (!created.ok()) {
      std::fprintf(stderr, "append_bench: CreateWebhook: %s\n", created.status().ToString().c_str());
      return result;
    }
  }

  const int conversations = hot ? 1 : producers;
  std::vector<Session> sessions;
  for (int i = 0; i < conversations; ++i) {
    auto session = NewSdkSession(chat, app->app.publishable_key);
    if (!session.ok()) {
      std::fprintf(stderr, "append_bench: SDK session: %s\n", session.status().ToString().c_str());
      return result;
    }
    sessions.push_back(std::move(session).value());
  }
  using libchat::internal::GetSqliteStoreStats;
  using libchat::internal::SqliteStoreStats;
  const SqliteStoreStats before = GetSqliteStoreStats(*store_ptr).value_or(SqliteStoreStats{});

  const std::string text = MessageText(flags.text_bytes);
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(producers));
  std::vector<std::int64_t> ok_counts(static_cast<std::size_t>(producers), 0);
  std::mutex error_mu;
  std::map<std::string, std::int64_t> errors;

  // Start line: every thread is created and waiting before the clock starts.
  std::mutex start_mu;
  std::condition_variable start_cv;
  bool go = false;
  std::atomic<int> ready{0};

  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      const Session& session = sessions[static_cast<std::size_t>(hot ? 0 : p)];
      std::vector<double>& lat = latencies[static_cast<std::size_t>(p)];
      lat.reserve(static_cast<std::size_t>(flags.messages));
      libchat::SendRequest request;
      request.text = text;
      const std::string client_prefix = "p" + std::to_string(p) + "-";
      // Store scenarios: the message the core would build (see AppendAndPublish in conversations.cpp).
      libchat::AppendRequest append;
      IdMaker ids(static_cast<std::uint64_t>(p) + 1);
      append.message.conversation_id = session.conversation;
      append.message.app_id = app->app.id;
      append.message.sender = libchat::Sender{libchat::SenderType::kCustomer, session.principal.id};
      append.message.text = text;
      append.message.metadata_json = "{}";
      append.reopen = true;
      ++ready;
      {
        std::unique_lock lock(start_mu);
        start_cv.wait(lock, [&] { return go; });
      }
      for (int m = 0; m < flags.messages; ++m) {
        if (flags.client_msg_id) request.client_msg_id = client_prefix + std::to_string(m);
        libchat::Status status;
        const auto t0 = Clock::now();
        if (store_only) {
          append.message.id = libchat::MessageId(ids.Next("msg_"));
          append.message.client_msg_id = request.client_msg_id;
          append.message.created_at = std::chrono::time_point_cast<std::chrono::milliseconds>(
              std::chrono::system_clock::now());
          status = store_ptr->AppendMessage(append, nullptr).status();
        } else {
          status = chat.SendMessage(session.principal, session.conversation, request).status();
        }
        const auto t1 = Clock::now();
        lat.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        if (status.ok()) {
          ++ok_counts[static_cast<std::size_t>(p)];
        } else {
          std::lock_guard lock(error_mu);
          ++errors[status.ToString()];
        }
      }
    });
  }
  while (ready.load() < producers) std::this_thread::yield();
  const auto start = Clock::now();
  {
    std::lock_guard lock(start_mu);
    go = true;
  }
  start_cv.notify_all();
  for (std::thread& t : threads) t.join();
  result.seconds = Seconds(Clock::now() - start);

  for (int p = 0; p < producers; ++p) {
    result.sent += ok_counts[static_cast<std::size_t>(p)];
    auto& lat = latencies[static_cast<std::size_t>(p)];
    result.latency.us.insert(result.latency.us.end(), lat.begin(), lat.end());
  }
  std::sort(result.latency.us.begin(), result.latency.us.end());
  for (const auto& [message, count] : errors) {
    result.failed += count;
    if (result.first_error.empty()) result.first_error = message;
  }
  const SqliteStoreStats after = GetSqliteStoreStats(*store_ptr).value_or(SqliteStoreStats{});
  result.stats.commits = after.commits - before.commits;
  result.stats.ops = after.ops - before.ops;
  result.stats.max_batch = after.max_batch;

  // Durability cross-check: every acknowledged message is in the store. Each
  // conversation started with the SDK's first message (seq 1).
  for (const Session& session : sessions) {
    auto conv = chat.GetConversation(session.principal, session.conversation);
    if (!conv.ok()) {
      std::fprintf(stderr, "append_bench: GetConversation: %s\n", conv.status().ToString().c_str());
      return result;
    }
    result.stored += conv->last_seq - 1;
  }
  result.ok = true;
  return result;
}

void PrintRaw(const std::string& label, const RawResult& r) {
  std::printf("  %-46s %9d rows in %6.2f s = %9.0f rows/s\n", label.c_str(), r.rows, r.seconds, r.rows_per_s());
}

void PrintFacade(const char* scenario, const FacadeResult& r, double ceiling) {
  const double commits = static_cast<double>(r.stats.commits);
  const double batch = commits > 0 ? static_cast<double>(r.stats.ops) / commits : 0;
  const double max_us = r.latency.us.empty() ? 0.0 : r.latency.us.back();
  const double ratio = ceiling > 0 ? 100.0 * r.msgs_per_s() / ceiling : 0;
  std::printf("  %-30s %9d %10" PRId64 " %8.2f %10.0f %9.0f %9.0f %9.0f %8.1f %6.1f%%  %s\n", scenario,
              r.producers, r.sent, r.seconds, r.msgs_per_s(), r.latency.Percentile(50), r.latency.Percentile(99),
              max_us, batch, ratio, r.stored == r.sent && r.failed == 0 ? "ok" : "MISMATCH");
  if (r.failed > 0) {
    std::printf("    %" PRId64 " sends failed; first error: %s\n", r.failed, r.first_error.c_str());
  }
  if (r.stored != r.sent) std::printf("    stored %" PRId64 " != acknowledged %" PRId64 "\n", r.stored, r.sent);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows up even when piped to a file
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;

  std::printf("append_bench: SQLite %s, db dir %s, text %d bytes, client_msg_id %s\n", sqlite3_libversion(),
              flags.db_dir.c_str(), flags.text_bytes, flags.client_msg_id ? "unique per message" : "none");

  std::printf("\nPart A: SQLite alone (WAL, synchronous=FULL, %d rows per transaction, 1 thread)\n",
              flags.batch);
  RawResult raw = RunRaw(flags, /*full_append=*/false, /*conversations=*/1);
  if (!raw.ok) return 1;
  PrintRaw("A   INSERT only, 1 conversation", raw);
  RawResult spread = RunRaw(flags, /*full_append=*/false, flags.raw_conversations);
  if (!spread.ok) return 1;
  const std::string spread_over = std::to_string(flags.raw_conversations) + " conversations";
  PrintRaw("A'  INSERT only, " + spread_over + " round-robin", spread);
  RawResult full = RunRaw(flags, /*full_append=*/true, flags.raw_conversations);
  if (!full.ok) return 1;
  PrintRaw("A2  libchat's append SQL, " + spread_over, full);
  std::printf("      (A2 per message: savepoint, read conversation, dedupe lookup, insert, update"
              " conversation)\n");

  std::printf("\nPart B: Chat::SendMessage, %d messages per producer (SQLite store, synchronous=FULL)\n",
              flags.messages);
  std::printf("  %-30s %9s %10s %8s %10s %9s %9s %9s %8s %7s  %s\n", "scenario", "producers", "acked", "seconds",
              "msgs/s", "p50 us", "p99 us", "max us", "batch", "vs A", "stored");
  bool all_ok = true;
  for (int producers : flags.producers) {
    for (Scenario scenario : {Scenario::kHot, Scenario::kPerProducer, Scenario::kStoreOnly, Scenario::kStoreHot}) {
      const bool wanted = scenario == Scenario::kHot           ? flags.hot
                          : scenario == Scenario::kPerProducer ? flags.spread
                          : scenario == Scenario::kStoreOnly   ? flags.store_only
                                                               : flags.store_hot;
      if (!wanted) continue;
      FacadeResult r = RunFacade(flags, producers, scenario);
      if (!r.ok) return 1;
      PrintFacade(ScenarioName(scenario), r, raw.rows_per_s());
      all_ok = all_ok && r.failed == 0 && r.stored == r.sent;
    }
  }
  std::printf("\n  batch = messages per committed transaction (group commit), from the store's counters.\n"
              "  vs A  = msgs/s divided by Part A's rows/s. stored = sum of last_seq read back equals acked.\n"
              "  (Store::AppendMessage ...) = diagnostic rows: the same appends without the facade (one\n"
              "  conversation per producer, or one hot one); the gap to the facade rows is the facade's cost.\n");
  return all_ok ? 0 : 1;
}
