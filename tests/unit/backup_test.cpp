// Online backup of the SQLite store: BackupSqliteDatabase (libchat/backup.h), and the server's
// `backup` subcommand as the library runs it (LoadConfig + RunBackup, libchat/server/backup_command.h).
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "catch.h"
#include "libchat/backup.h"
#include "libchat/chat.h"
#include "libchat/server/backup_command.h"
#include "libchat/server/config.h"

namespace libchat::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr char kJwtSecret[] = "backup-test-jwt-secret-0123456789abcdef";

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "libchat-backup-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }
  // The names of the files in the directory, for checks that nothing was left behind.
  std::vector<std::string> Files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path_)) names.push_back(entry.path().filename().string());
    return names;
  }

 private:
  std::string path_;
};

std::unique_ptr<Chat> OpenChat(const std::string& path) {
  Options options;
  options.sqlite.path = path;
  options.jwt_secret = kJwtSecret;
  options.password_hashing = PasswordHashingOptions{8192, 1, 1};
  auto chat = Chat::Open(std::move(options));
  INFO(path << ": " << chat.status().ToString());
  REQUIRE(chat.ok());
  return std::move(chat).value();
}

// An account with an app and one support conversation started by a customer.
struct Fixture {
  Principal owner;
  std::string owner_token;
  ConversationId conversation;
};

Fixture Populate(Chat& chat) {
  auto session = chat.Register({"owner@example.com", "correct horse battery", "Owner"});
  REQUIRE(session.ok());
  auto owner = chat.Authenticate({session->token, "", "", ""});
  REQUIRE(owner.ok());
  AppCreate create;
  create.name = "Support";
  auto app = chat.CreateApp(*owner, create);
  REQUIRE(app.ok());
  auto sdk = chat.Authenticate({"", app->app.publishable_key, "", ""});
  REQUIRE(sdk.ok());
  SdkSendRequest first;
  first.message.text = "message 1";
  auto sent = chat.SdkSendMessage(*sdk, first);
  REQUIRE(sent.ok());
  return {*owner, session->token, sent->conversation.id};
}

// Every message of the conversation, oldest first.
std::vector<Message> AllMessages(Chat& chat, const Principal& owner, const ConversationId& conversation) {
  std::vector<Message> all;
  HistoryQuery query;
  query.after_seq = 0;
  query.limit = 200;
  for (;;) {
    auto page = chat.ListMessages(owner, conversation, query);
    REQUIRE(page.ok());
    if (page->empty()) break;
    query.after_seq = page->back().seq;
    all.insert(all.end(), page->begin(), page->end());
  }
  return all;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteAll(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

bool HasTemporaryFiles(const ScratchDir& dir) {
  for (const std::string& name : dir.Files()) {
    if (name.find(".tmp-") != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("backup: the copy of a live store opens with Chat::Open and holds every message") {
  ScratchDir dir;
  auto chat = OpenChat(dir / "chat.db");
  const Fixture fixture = Populate(*chat);
  for (int i = 2; i <= 40; ++i) {
    auto sent = chat->SendMessage(fixture.owner, fixture.conversation, {"message " + std::to_string(i), "", ""});
    REQUIRE(sent.ok());
  }

  // The original stays open (and in WAL mode, with recent commits still in its WAL) while it is copied.
  const Status backed_up = BackupSqliteDatabase(dir / "chat.db", dir / "copy.db");
  INFO(backed_up.ToString());
  REQUIRE(backed_up.ok());
  CHECK_FALSE(HasTemporaryFiles(dir));
  // One self-contained file: no -wal beside it is needed.
  CHECK_FALSE(fs::exists(dir / "copy.db-wal"));
  // Readable by its owner only, whatever the umask: it holds password hashes and every message.
  struct stat info {};
  REQUIRE(::stat((dir / "copy.db").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);

  auto copy = OpenChat(dir / "copy.db");
  // The same JWT secret: the owner's token works against the copy, whose accounts are the original's.
  auto owner = copy->Authenticate({fixture.owner_token, "", "", ""});
  REQUIRE(owner.ok());
  const std::vector<Message> messages = AllMessages(*copy, *owner, fixture.conversation);
  REQUIRE(messages.size() == 40);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    CHECK(messages[i].seq == static_cast<std::int64_t>(i + 1));
    CHECK(messages[i].text == "message " + std::to_string(i + 1));
  }
  // And the original is unharmed and still writable.
  auto later = chat->SendMessage(fixture.owner, fixture.conversation, {"after the backup", "", ""});
  REQUIRE(later.ok());
  CHECK(later->message.seq == 41);
}

TEST_CASE("backup: bad paths are refused with a clear status and leave nothing behind") {
  ScratchDir dir;
  { auto chat = OpenChat(dir / "chat.db"); Populate(*chat); }
  const std::string source = dir / "chat.db";

  SECTION("empty paths") {
    CHECK(BackupSqliteDatabase("", dir / "copy.db").code() == StatusCode::kInvalidArgument);
    CHECK(BackupSqliteDatabase(source, "").code() == StatusCode::kInvalidArgument);
  }
  SECTION("a source that does not exist") {
    const Status st = BackupSqliteDatabase(dir / "missing.db", dir / "copy.db");
    CHECK(st.code() == StatusCode::kNotFound);
    CHECK(st.message().find("missing.db") != std::string::npos);
    // Not created by the attempt either.
    CHECK_FALSE(fs::exists(dir / "missing.db"));
  }
  SECTION("a source that is not a database") {
    WriteAll(dir / "notes.txt", std::string(8192, 'x'));
    const Status st = BackupSqliteDatabase(dir / "notes.txt", dir / "copy.db");
    CHECK(st.code() == StatusCode::kInvalidArgument);
    CHECK(st.message().find("not an SQLite database") != std::string::npos);
    CHECK(ReadAll(dir / "notes.txt") == std::string(8192, 'x'));
  }
  SECTION("an existing destination is kept unless overwriting is asked for") {
    WriteAll(dir / "copy.db", "precious");
    const Status st = BackupSqliteDatabase(source, dir / "copy.db");
    CHECK(st.code() == StatusCode::kAlreadyExists);
    CHECK(st.message().find("copy.db") != std::string::npos);
    CHECK(ReadAll(dir / "copy.db") == "precious");

    BackupOptions overwrite;
    overwrite.overwrite = true;
    const Status replaced = BackupSqliteDatabase(source, dir / "copy.db", overwrite);
    INFO(replaced.ToString());
    REQUIRE(replaced.ok());
    CHECK(ReadAll(dir / "copy.db").rfind("SQLite format 3", 0) == 0);
  }
  SECTION("the destination is the source itself, even with overwrite") {
    BackupOptions overwrite;
    overwrite.overwrite = true;
    CHECK(BackupSqliteDatabase(source, source, overwrite).code() == StatusCode::kInvalidArgument);
    CHECK(BackupSqliteDatabase(source, dir.path() + "/./chat.db", overwrite).code() == StatusCode::kInvalidArgument);
  }
  SECTION("a directory as destination") {
    fs::create_directory(dir / "sub");
    const Status st = BackupSqliteDatabase(source, dir / "sub");
    CHECK(st.code() == StatusCode::kInvalidArgument);
    CHECK(st.message().find("directory") != std::string::npos);
  }
  SECTION("a destination in a directory that does not exist") {
    const Status st = BackupSqliteDatabase(source, dir / "no/such/dir/copy.db");
    CHECK(st.code() == StatusCode::kNotFound);
    CHECK(st.message().find("directory") != std::string::npos);
  }
  CHECK_FALSE(HasTemporaryFiles(dir));
  // The source still opens.
  auto chat = OpenChat(source);
  CHECK(chat->CheckHealth().ok());
}

TEST_CASE("backup: a copy taken while another thread keeps appending is one consistent snapshot") {
  ScratchDir dir;
  auto chat = OpenChat(dir / "chat.db");
  const Fixture fixture = Populate(*chat);
  // Some volume first, so that the copy spans many steps.
  const std::string padding(2000, 'p');
  for (int i = 2; i <= 200; ++i) {
    REQUIRE(chat->SendMessage(fixture.owner, fixture.conversation, {padding + std::to_string(i), "", ""}).ok());
  }

  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> acked{200};  // the highest seq acknowledged so far
  std::mutex texts_mutex;
  std::map<std::int64_t, std::string> texts;  // seq -> text, for everything the writer got acknowledged
  std::atomic<int> failures{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      const std::string text = "concurrent " + std::to_string(i);
      auto sent = chat->SendMessage(fixture.owner, fixture.conversation, {text, "", ""});
      if (!sent.ok()) {
        ++failures;
        continue;
      }
      {
        std::lock_guard lock(texts_mutex);
        texts[sent->message.seq] = text;
      }
      acked.store(sent->message.seq);
    }
  });
  // Let the writer get going, so that commits land before, during and after the copy.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (acked.load() < 210 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  const std::int64_t acked_before = acked.load();

  BackupOptions slow;
  slow.pages_per_step = 4;  // many small steps, each followed by a pause, with commits in between
  slow.pause_ms = 1;
  const Status backed_up = BackupSqliteDatabase(dir / "chat.db", dir / "copy.db", slow);
  const std::int64_t acked_after_copy = acked.load();
  // Keep writing a little after the copy, then stop.
  std::this_thread::sleep_for(20ms);
  stop.store(true);
  writer.join();
  INFO(backed_up.ToString());
  REQUIRE(backed_up.ok());
  CHECK(failures.load() == 0);
  CHECK(acked_after_copy > acked_before);  // the writer did make progress during the copy

  auto copy = OpenChat(dir / "copy.db");
  auto owner = copy->Authenticate({fixture.owner_token, "", "", ""});
  REQUIRE(owner.ok());
  const std::vector<Message> messages = AllMessages(*copy, *owner, fixture.conversation);
  const auto n = static_cast<std::int64_t>(messages.size());
  INFO("copy holds " << n << " messages; acked before the copy " << acked_before << ", after " << acked_after_copy);
  // Everything acknowledged before the copy started is in it, and nothing that did not exist when it ended.
  CHECK(n >= acked_before);
  CHECK(n <= acked_after_copy);
  // A prefix of the history: 1..n without a gap, each message the one written with that seq.
  std::lock_guard lock(texts_mutex);
  for (std::int64_t i = 0; i < n; ++i) {
    const Message& m = messages[static_cast<std::size_t>(i)];
    REQUIRE(m.seq == i + 1);
    if (m.seq == 1) continue;
    if (m.seq <= 200) {
      CHECK(m.text == padding + std::to_string(m.seq));
    } else {
      CHECK(m.text == texts[m.seq]);
    }
  }
  // The conversation row agrees with its messages (both tables from the same snapshot).
  auto conversation = copy->GetConversation(*owner, fixture.conversation);
  REQUIRE(conversation.ok());
  CHECK(conversation->last_seq == n);
}

// --- the subcommand, as the library runs it

Result<server::ServerConfig> Parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return server::LoadConfig(args, [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST_CASE("backup command: parsed from the command line with --db or CHAT_DB") {
  auto flags = Parse({"backup", "/backups/x.db", "--db", "./libchat.db"});
  REQUIRE(flags.ok());
  CHECK(flags->command == server::ServerConfig::Command::kBackup);
  CHECK(flags->backup_destination == "/backups/x.db");
  CHECK(flags->database_path == "./libchat.db");
  CHECK_FALSE(flags->backup_force);
  CHECK(flags->backup_copy_key);

  auto env = Parse({"backup", "--force", "--no-key", "/backups/y.db"}, {{"CHAT_DB", "/var/lib/chat.db"}});
  REQUIRE(env.ok());
  CHECK(env->database_path == "/var/lib/chat.db");
  CHECK(env->backup_destination == "/backups/y.db");
  CHECK(env->backup_force);
  CHECK_FALSE(env->backup_copy_key);

  auto serve = Parse({"--db", "a.db"});
  REQUIRE(serve.ok());
  CHECK(serve->command == server::ServerConfig::Command::kServe);

  CHECK(Parse({"backup"}).status().code() == StatusCode::kInvalidArgument);
  CHECK(Parse({"backup", "a.db", "b.db"}).status().code() == StatusCode::kInvalidArgument);
  // Backup's own flags mean nothing to serve.
  CHECK(Parse({"--force"}).status().code() == StatusCode::kInvalidArgument);
  CHECK(Parse({"serve", "a.db"}).status().code() == StatusCode::kInvalidArgument);
  // `backup --help` is help, not an error.
  auto help = Parse({"backup", "--help"});
  REQUIRE(help.ok());
  CHECK(help->show_help);
  CHECK(server::ConfigHelpText().find("libchat-server backup DESTINATION") != std::string::npos);
}

TEST_CASE("backup command: copies the secrets key file next to the backup, or says it did not") {
  ScratchDir dir;
  { auto chat = OpenChat(dir / "chat.db"); Populate(*chat); }
  REQUIRE(fs::exists(dir / "chat.db.key"));  // created by Chat::Open: "<db>.key"
  server::ServerConfig config;
  config.database_path = dir / "chat.db";
  config.command = server::ServerConfig::Command::kBackup;
  config.backup_destination = dir / "backup.db";

  SECTION("by default, to DESTINATION.key with the original's content and owner-only permissions") {
    auto report = server::RunBackup(config);
    INFO(report.status().ToString());
    REQUIRE(report.ok());
    CHECK(report->destination == dir / "backup.db");
    CHECK(report->bytes == fs::file_size(dir / "backup.db"));
    CHECK(report->key_file == dir / "chat.db.key");
    CHECK(report->key_file_copy == dir / "backup.db.key");
    CHECK(ReadAll(dir / "backup.db.key") == ReadAll(dir / "chat.db.key"));
    struct stat info {};
    REQUIRE(::stat((dir / "backup.db.key").c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    REQUIRE_FALSE(report->notes.empty());
    CHECK(report->notes[0].find("backup.db.key") != std::string::npos);

    // Run again: both files exist now, so it refuses, until --force.
    auto again = server::RunBackup(config);
    CHECK(again.status().code() == StatusCode::kAlreadyExists);
    config.backup_force = true;
    auto forced = server::RunBackup(config);
    INFO(forced.status().ToString());
    CHECK(forced.ok());
  }
  SECTION("an existing DESTINATION.key is refused before the database is copied") {
    WriteAll(dir / "backup.db.key", "someone else's key");
    auto report = server::RunBackup(config);
    CHECK(report.status().code() == StatusCode::kAlreadyExists);
    CHECK_FALSE(fs::exists(dir / "backup.db"));
    CHECK(ReadAll(dir / "backup.db.key") == "someone else's key");
  }
  SECTION("--no-key: not copied, and the report says to back it up separately") {
    config.backup_copy_key = false;
    auto report = server::RunBackup(config);
    REQUIRE(report.ok());
    CHECK_FALSE(fs::exists(dir / "backup.db.key"));
    CHECK(report->key_file_copy.empty());
    REQUIRE(report->notes.size() == 1);
    CHECK(report->notes[0].find("NOT copied") != std::string::npos);
  }
  SECTION("a key given directly is not in any file: the report says to keep it") {
    config.secrets_key = std::string(32, 'k');
    auto report = server::RunBackup(config);
    REQUIRE(report.ok());
    CHECK(report->key_file.empty());
    CHECK_FALSE(fs::exists(dir / "backup.db.key"));
    REQUIRE(report->notes.size() == 1);
    CHECK(report->notes[0].find("CHAT_SECRETS_KEY") != std::string::npos);
  }
}

}  // namespace
}  // namespace libchat::test
