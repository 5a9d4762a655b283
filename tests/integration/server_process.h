// ServerProcess: the real libchat-server binary as a child process, for integration tests.
//
// Each instance owns a fresh temporary directory (the SQLite database and the server's log), a port chosen
// up front (so that the test knows it and a restart can reuse it), and the child process. Every wait is
// bounded: a server that does not come up, does not stop or hangs makes the test fail, never hang. The
// destructor SIGKILLs a child that is still running, reaps it and removes the temporary directory, so a
// failing test (Catch2 unwinds on a failed REQUIRE) leaves no process and no files behind. The child also
// gets PR_SET_PDEATHSIG(SIGKILL), so even a crash of the test binary does not leave it running; as that
// signal fires when the *thread* that forked exits, create ServerProcess objects on the test's main thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace libchat::testing_support {

// How a child process ended.
struct ExitInfo {
  bool exited = false;       // normal exit: see code
  int code = -1;             // exit status when exited
  int signal = 0;            // terminating signal when !exited
  bool timed_out = false;    // Terminate() gave up waiting and killed it with SIGKILL
};

class ServerProcess {
 public:
  // The HS256 secret every test server is started with, so that tests can forge tokens with it.
  static constexpr const char* kJwtSecret = "integration-test-secret-0123456789abcdef-0123456789";

  // Does not start anything; call Start(). `extra_args` are appended to the fixed flags (--listen, --db,
  // --jwt-secret, --password-memory-kib 8192, --log-level warn); a later flag wins over an earlier one.
  explicit ServerProcess(std::vector<std::string> extra_args = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Picks a free port, starts the binary and waits (at most `timeout`) until GET /health answers 200.
  // False, with error() explaining why (and the server's log appended), when it does not come up; a
  // port that was taken between the choice and the bind is retried with another one.
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Starts again on the same database and the same port (after Kill or Terminate, or kills first).
  bool Restart(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  // Sends `signal` and, for SIGKILL, reaps the child (bounded). Other signals are just sent.
  void Kill(int signal = 9 /* SIGKILL */);
  // SIGTERM, then waits at most `timeout` for the exit; past it the child is SIGKILLed (timed_out set).
  ExitInfo Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits at most `timeout` for the child to exit by itself; nullopt when it is still running.
  std::optional<ExitInfo> WaitExit(std::chrono::milliseconds timeout);

  bool running();  // reaps the child if it has exited meanwhile
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::string db_path() const { return dir_ + "/chat.db"; }
  // Why Start/Restart failed.
  const std::string& error() const { return error_; }
  // The server's stdout and stderr so far (all its runs), for failure messages.
  std::string Log() const;
  // How the last run ended, once it has been reaped.
  const std::optional<ExitInfo>& last_exit() const { return last_exit_; }

 private:
  bool Launch();  // fork/exec on port_
  bool WaitHealthy(std::chrono::steady_clock::time_point deadline);
  void Reap(int status);

  std::vector<std::string> extra_args_;
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
  std::optional<ExitInfo> last_exit_;
};

// A port that was free on 127.0.0.1 a moment ago (bound to :0, read back, closed); 0 on failure.
std::uint16_t PickFreePort();

}  // namespace libchat::testing_support
