#include "integration/server_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/test_client.h"

#ifndef LIBCHAT_SERVER_BINARY
#error "LIBCHAT_SERVER_BINARY must name the libchat-server executable"
#endif

namespace libchat::testing_support {
namespace {

using Clock = std::chrono::steady_clock;

std::string MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "libchat-integ-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) return {};
  return std::string(buffer.data());
}

}  // namespace

std::uint16_t PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  std::uint16_t port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

ServerProcess::ServerProcess(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)), dir_(MakeTempDir()) {}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill(SIGKILL);
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string ServerProcess::Log() const {
  std::ifstream in(dir_ + "/server.log", std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void ServerProcess::Reap(int status) {
  ExitInfo info;
  if (WIFEXITED(status)) {
    info.exited = true;
    info.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
  }
  last_exit_ = info;
  pid_ = -1;
}

bool ServerProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    Reap(status);
    return false;
  }
  return r == 0;
}

std::optional<ExitInfo> ServerProcess::WaitExit(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    if (!running()) return last_exit_;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void ServerProcess::Kill(int signal) {
  if (pid_ <= 0) return;
  ::kill(pid_, signal);
  if (signal != SIGKILL) return;
  // SIGKILL cannot be caught; the bound only guards against a child stuck in the kernel (D state).
  if (!WaitExit(std::chrono::seconds(10))) {
    error_ = "child " + std::to_string(pid_) + " survived SIGKILL for 10 s";
  }
}

ExitInfo ServerProcess::Terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return last_exit_.value_or(ExitInfo{});
  ::kill(pid_, SIGTERM);
  if (auto info = WaitExit(timeout)) return *info;
  Kill(SIGKILL);
  ExitInfo info = last_exit_.value_or(ExitInfo{});
  info.timed_out = true;
  last_exit_ = info;
  return info;
}

bool ServerProcess::Launch() {
  std::vector<std::string> args = {LIBCHAT_SERVER_BINARY,
                                   "--listen", "127.0.0.1:" + std::to_string(port_),
                                   "--db", db_path(),
                                   "--jwt-secret", kJwtSecret,
                                   "--password-memory-kib", "8192",
                                   "--log-level", "warn"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  // Everything the child needs is prepared before fork(): between fork and exec only async-signal-safe
  // calls are allowed (the test process has other threads).
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int log_fd = open((dir_ + "/server.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    error_ = std::string("cannot open the server log: ") + std::strerror(errno);
    if (log_fd >= 0) close(log_fd);
    if (null_fd >= 0) close(null_fd);
    return false;
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // Dies with the test process (strictly: with the forking thread), whatever happens to it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    // Descriptors the test process (or whatever started it) left inheritable stay out of the server.
    close_range(3, ~0U, 0);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const int fork_errno = errno;
  close(log_fd);
  close(null_fd);
  if (pid < 0) {
    error_ = std::string("fork: ") + std::strerror(fork_errno);
    return false;
  }
  pid_ = pid;
  last_exit_.reset();
  return true;
}

bool ServerProcess::WaitHealthy(Clock::time_point deadline) {
  HttpClient client(port_);
  client.set_timeout(std::chrono::milliseconds(1000));
  HttpResult last;
  while (Clock::now() < deadline) {
    if (!running()) {
      error_ = "the server exited before becoming healthy";
      if (last_exit_) {
        error_ += last_exit_->exited ? " (exit code " + std::to_string(last_exit_->code) + ")"
                                     : " (signal " + std::to_string(last_exit_->signal) + ")";
      }
      return false;
    }
    last = client.Request("GET", "/health");
    if (last.status == 200) return true;
    client.Disconnect();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  error_ = "GET /health did not answer 200 in time (last: " +
           (last.status != 0 ? std::to_string(last.status) + " " + last.body : last.error) + ")";
  Kill(SIGKILL);
  return false;
}

bool ServerProcess::Start(std::chrono::milliseconds timeout) {
  if (dir_.empty()) {
    error_ = "cannot create a temporary directory";
    return false;
  }
  if (pid_ > 0) Kill(SIGKILL);
  const Clock::time_point deadline = Clock::now() + timeout;
  // Another process may take the chosen port before the server binds it: then the server exits at once
  // ("cannot listen"), and another port is tried.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = PickFreePort();
    if (port_ == 0) {
      error_ = "cannot find a free port";
      return false;
    }
    if (!Launch()) return false;
    if (WaitHealthy(deadline)) return true;
    // Running but unhealthy, out of time, or exited for another reason (bad flags...): give up.
    const bool port_taken = Log().find("cannot listen on 127.0.0.1:" + std::to_string(port_)) != std::string::npos;
    if (pid_ > 0 || Clock::now() >= deadline || !port_taken) break;
  }
  error_ += "\n--- server log ---\n" + Log();
  return false;
}

bool ServerProcess::Restart(std::chrono::milliseconds timeout) {
  if (pid_ > 0) Kill(SIGKILL);
  if (port_ == 0) return Start(timeout);
  const Clock::time_point deadline = Clock::now() + timeout;
  // The old process's port may take a moment to become bindable again: retry while the new one exits at once.
  while (true) {
    if (!Launch()) return false;
    if (WaitHealthy(deadline)) return true;
    if (pid_ > 0 || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  error_ += "\n--- server log ---\n" + Log();
  return false;
}

}  // namespace libchat::testing_support
