// `libchat-server backup`: the real binary copies the store of a running server that keeps writing, and the
// copy (with its key file) serves the same data from another server.
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "catch.h"
#include "integration/integration_util.h"
#include "integration/server_process.h"

namespace libchat::testing_support {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `libchat-server <arguments>` through the shell (the paths here are mkdtemp's, without quotes or
// spaces), with `environment` ("NAME=value ...") in front.
CommandResult RunServerCommand(const std::string& arguments, const std::string& environment = "") {
  const std::string command = environment + " " + LIBCHAT_SERVER_BINARY + " " + arguments + " 2>&1";
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST_CASE("backup: libchat-server backup copies a running server's store while it is being written") {
  ServerProcess server;
  REQUIRE(server.Start());
  HttpClient http(server.port());
  const Tenant tenant = CreateTenant(http, "backup-owner@example.com");
  const CustomerSession customer = StartConversation(http, tenant, "message 0");

  // A client keeps appending while the backup runs. Threads record; the main thread checks.
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> acked{1};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    HttpClient writer_http(server.port());
    for (int i = 1; !stop.load(); ++i) {
      const HttpResult sent =
          writer_http.Request("POST", "/v1/conversations/" + customer.conversation_id + "/messages",
                              Json{{"text", "message " + std::to_string(i)}}.dump(), Bearer(tenant.token));
      const Json body = BodyJson(sent);
      if (sent.status != 201 || !body.is_object() || !body["message"]["seq"].is_number_integer()) {
        ++failures;
        continue;
      }
      acked.store(body["message"]["seq"].get<std::int64_t>());
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (acked.load() < 30 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(2ms);
  const std::int64_t acked_before = acked.load();

  const std::string destination = server.dir() + "/backup.db";
  const CommandResult backup = RunServerCommand("backup " + destination + " --db " + server.db_path());
  const std::int64_t acked_after = acked.load();
  stop.store(true);
  writer.join();

  INFO("backup output: " << backup.output);
  INFO("server log: " << server.Log());
  REQUIRE(backup.exit_code == 0);
  CHECK(failures.load() == 0);
  CHECK(backup.output.find("backed up " + server.db_path() + " to " + destination) != std::string::npos);
  CHECK(backup.output.find("integrity check ok") != std::string::npos);
  CHECK(backup.output.find(destination + ".key") != std::string::npos);
  CHECK(ReadAll(destination + ".key") == ReadAll(server.db_path() + ".key"));
  // The running server never noticed.
  CHECK(server.running());
  CHECK(http.Request("GET", "/health").status == 200);

  // Running it again refuses to overwrite; CHAT_DB names the database as well as --db does.
  const CommandResult again = RunServerCommand("backup " + destination, "CHAT_DB=" + server.db_path());
  CHECK(again.exit_code == 1);
  CHECK(again.output.find("already exists") != std::string::npos);
  const CommandResult via_env = RunServerCommand("backup --no-key " + server.dir() + "/second.db",
                                                 "CHAT_DB=" + server.db_path());
  INFO("second backup: " << via_env.output);
  CHECK(via_env.exit_code == 0);
  CHECK(fs::exists(server.dir() + "/second.db"));
  CHECK_FALSE(fs::exists(server.dir() + "/second.db.key"));
  CHECK(via_env.output.find("NOT copied") != std::string::npos);

  // Restore: the copy and its key, as another server's database. The same JWT secret (every test server
  // has it), so the tenant's token works there too.
  ServerProcess restored;
  fs::copy_file(destination, restored.db_path());
  fs::copy_file(destination + ".key", restored.db_path() + ".key");
  REQUIRE(restored.Start());
  HttpClient restored_http(restored.port());
  const std::vector<Json> history = History(restored_http, tenant, customer.conversation_id);
  const auto n = static_cast<std::int64_t>(history.size());
  INFO("the copy holds " << n << " messages; acknowledged before the backup " << acked_before << ", after "
                         << acked_after);
  // Everything acknowledged before the backup started is there, as a gapless prefix of the history.
  CHECK(n >= acked_before);
  CHECK(n <= acked_after);
  for (std::int64_t i = 0; i < n; ++i) {
    REQUIRE(history[static_cast<std::size_t>(i)]["seq"] == i + 1);
    CHECK(history[static_cast<std::size_t>(i)]["text"] == "message " + std::to_string(i));
  }
}

TEST_CASE("backup: the subcommand's errors are clear and exit non-zero") {
  ServerProcess server;  // for its temporary directory; not started
  const std::string dir = server.dir();

  const CommandResult missing = RunServerCommand("backup " + dir + "/copy.db --db " + dir + "/missing.db");
  CHECK(missing.exit_code == 1);
  CHECK(missing.output.find("missing.db does not exist") != std::string::npos);
  CHECK_FALSE(fs::exists(dir + "/copy.db"));

  const CommandResult no_destination = RunServerCommand("backup --db " + dir + "/chat.db");
  CHECK(no_destination.exit_code == 2);
  CHECK(no_destination.output.find("DESTINATION") != std::string::npos);

  const CommandResult help = RunServerCommand("--help");
  CHECK(help.exit_code == 0);
  CHECK(help.output.find("libchat-server backup DESTINATION") != std::string::npos);
}

}  // namespace
}  // namespace libchat::testing_support
