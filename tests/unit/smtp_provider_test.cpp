// The SMTP provider (transport/smtp_email_provider.h) against a real SMTP server on loopback:
// tests/support/smtp_server.py (Python's aiosmtpd) records every message it accepts as JSON, parsed by
// Python's email package, so these tests check what a real MIME parser makes of what libcurl sent.
//
// python3 with aiosmtpd (Debian: python3-aiosmtpd) and the openssl CLI are required: scripts/setup.sh
// installs them. When they are missing the tests fail, saying so; they do not skip.
#include "transport/smtp_email_provider.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.h"

namespace libchat::internal {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using Kind = SendOutcome::Kind;

const std::string kSender = "Example Support <support@example.com>";
const std::string kRecipient = "customer@example.org";
const std::string kUser = "mailer";
const std::string kPassword = "s3cret pass";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A loopback port that nothing listens on: bound to port 0, then released.
int PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "libchat-smtp-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A child process (argv[0] looked up on PATH when it has no '/'), stdin from /dev/null, stderr appended to
// a log file, stdout to that log too or to a pipe. The destructor SIGKILLs and reaps it.
class Child {
 public:
  Child() = default;
  ~Child() { Kill(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // False with `error` set when the process could not be started.
  bool Start(std::vector<std::string> args, const fs::path& log, bool pipe_stdout, std::string* error) {
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    // Everything is prepared before fork(): the test process may have other threads.
    const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int pipe_fds[2] = {-1, -1};
    if (log_fd < 0 || null_fd < 0 || (pipe_stdout && pipe2(pipe_fds, O_CLOEXEC) != 0)) {
      *error = std::string("cannot set up the child's files: ") + std::strerror(errno);
      for (int fd : {log_fd, null_fd, pipe_fds[0], pipe_fds[1]}) {
        if (fd >= 0) close(fd);
      }
      return false;
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the test binary
      if (getppid() != parent) _exit(127);
      dup2(null_fd, STDIN_FILENO);
      dup2(pipe_stdout ? pipe_fds[1] : log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
      close_range(3, ~0U, 0);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    const int fork_errno = errno;
    close(log_fd);
    close(null_fd);
    if (pipe_stdout) close(pipe_fds[1]);
    if (pid < 0) {
      if (pipe_stdout) close(pipe_fds[0]);
      *error = std::string("fork: ") + std::strerror(fork_errno);
      return false;
    }
    pid_ = pid;
    out_fd_ = pipe_fds[0];
    return true;
  }

  // The exit code (128 + signal for a signal), or nullopt when it is still running at the deadline.
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    while (pid_ > 0) {
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || r < 0) {
        pid_ = -1;
        if (r < 0) return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return -1;
  }

  void Kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);  // SIGKILL cannot be caught: this returns promptly
      pid_ = -1;
    }
    if (out_fd_ >= 0) close(out_fd_);
    out_fd_ = -1;
  }

  int stdout_fd() const { return out_fd_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
};

// Runs a command to completion (bounded); its exit code, or -1 when it could not run or took too long.
int Run(const std::vector<std::string>& args, const fs::path& log) {
  Child child;
  std::string error;
  if (!child.Start(args, log, false, &error)) return -1;
  return child.Wait(std::chrono::seconds(60)).value_or(-1);
}

struct PythonLookup {
  std::string path;   // a python3 that can import aiosmtpd; empty when none was found
  std::string error;  // why, when `path` is empty
};

// The first python3 on PATH that has aiosmtpd (a pyenv or venv python3 may shadow the system one that has
// the Debian package).
const PythonLookup& FindPython() {
  static const PythonLookup lookup = [] {
    PythonLookup result;
    const char* path_env = std::getenv("PATH");
    std::stringstream dirs(path_env != nullptr ? path_env : "");
    std::vector<std::string> tried;
    TempDir scratch;
    for (std::string dir; std::getline(dirs, dir, ':');) {
      const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/python3";
      if (access(candidate.c_str(), X_OK) != 0) continue;
      tried.push_back(candidate);
      if (Run({candidate, "-c", "import aiosmtpd"}, scratch.path() / "probe.log") == 0) {
        result.path = candidate;
        return result;
      }
    }
    result.error = tried.empty()
                       ? "the SMTP tests need python3 on PATH, with aiosmtpd (Debian: apt-get install python3 "
                         "python3-aiosmtpd; scripts/setup.sh installs them)"
                       : "no python3 on PATH can import aiosmtpd (tried:";
    for (const std::string& t : tried) result.error += " " + t;
    if (!tried.empty()) result.error += "); install it: apt-get install python3-aiosmtpd (scripts/setup.sh does)";
    return result;
  }();
  return lookup;
}

fs::path ServerScript() {
  // This file is tests/unit/smtp_provider_test.cpp; the script is tests/support/smtp_server.py.
  return fs::path(__FILE__).parent_path().parent_path() / "support" / "smtp_server.py";
}

// A self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI.
struct Certificate {
  TempDir dir;
  fs::path cert;
  fs::path key;
};

std::unique_ptr<Certificate> MakeCertificate() {
  auto certificate = std::make_unique<Certificate>();
  REQUIRE(!certificate->dir.path().empty());
  certificate->cert = certificate->dir.path() / "cert.pem";
  certificate->key = certificate->dir.path() / "key.pem";
  const fs::path log = certificate->dir.path() / "openssl.log";
  const int code = Run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", certificate->key.string(), "-out", certificate->cert.string(), "-days",
                        "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"},
                       log);
  INFO("openssl output: " << ReadFile(log));
  if (code != 0) {
    FAIL("the openssl CLI could not make a test certificate (exit " << code
                                                                    << "); install openssl (scripts/setup.sh does)");
  }
  return certificate;
}

// tests/support/smtp_server.py running on 127.0.0.1; REQUIREs that it comes up.
class SmtpServer {
 public:
  explicit SmtpServer(const std::vector<std::string>& options = {}) {
    const PythonLookup& python = FindPython();
    if (python.path.empty()) FAIL(python.error);
    REQUIRE(!dir_.path().empty());
    REQUIRE(fs::exists(ServerScript()));
    fs::create_directory(out_dir());
    std::vector<std::string> args = {python.path, ServerScript().string(), "--out", out_dir().string()};
    args.insert(args.end(), options.begin(), options.end());
    std::string error;
    if (!child_.Start(args, log_path(), true, &error)) FAIL(error);
    // The first stdout line is the port.
    std::string line;
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(20);
    while (line.find('\n') == std::string::npos && Clock::now() < deadline) {
      pollfd p{child_.stdout_fd(), POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buffer[64];
      const ssize_t n = read(child_.stdout_fd(), buffer, sizeof(buffer));
      if (n <= 0) break;  // exited
      line.append(buffer, static_cast<std::size_t>(n));
    }
    INFO("smtp_server.py log: " << Log());
    REQUIRE(line.find('\n') != std::string::npos);
    port_ = std::stoi(line);
    REQUIRE(port_ > 0);
  }

  int port() const { return port_; }
  std::string Log() const { return ReadFile(log_path()); }

  // The messages accepted so far, in order.
  std::vector<Json> Messages() const {
    std::vector<std::pair<int, fs::path>> files;
    for (const auto& entry : fs::directory_iterator(out_dir())) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("msg-", 0) == 0 && entry.path().extension() == ".json") {
        files.emplace_back(std::stoi(name.substr(4)), entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    std::vector<Json> messages;
    for (const auto& [n, path] : files) messages.push_back(Json::parse(ReadFile(path)));
    return messages;
  }

  // The only message accepted so far.
  Json OnlyMessage() const {
    std::vector<Json> messages = Messages();
    INFO("smtp_server.py log: " << Log());
    REQUIRE(messages.size() == 1);
    return messages[0];
  }

 private:
  fs::path out_dir() const { return dir_.path() / "out"; }
  fs::path log_path() const { return dir_.path() / "server.log"; }

  TempDir dir_;
  Child child_;  // declared after dir_: killed before the directory is removed
  int port_ = 0;
};

std::shared_ptr<EmailProvider> MakeProvider(int port, std::map<std::string, std::string> settings,
                                            const SmtpProviderOptions& options = {}) {
  EmailProviderConfig config;
  config.type = "smtp";
  config.from = kSender;
  config.settings = std::move(settings);
  config.settings["host"] = "127.0.0.1";
  config.settings["port"] = std::to_string(port);
  Result<std::shared_ptr<EmailProvider>> provider = NewSmtpEmailProvider(config, options);
  INFO(provider.status().ToString());
  REQUIRE(provider.ok());
  return *provider;
}

EmailMessage Message(const std::string& key = "dlv_1") {
  EmailMessage m;
  m.from = kSender;
  m.to = kRecipient;
  m.subject = "Your conversation has a reply";
  // Lines that start with '.' need SMTP dot-stuffing (libcurl's job); no final line break.
  m.text = "Hello,\nan agent replied.\n.\n..two dots\n.leading dot\nno final newline";
  m.idempotency_key = key;
  return m;
}

std::string Describe(const SendOutcome& outcome) {
  const char* kind = outcome.kind == Kind::kDelivered   ? "delivered"
                     : outcome.kind == Kind::kRetry     ? "retry"
                     : outcome.kind == Kind::kPermanent ? "permanent"
                                                        : "gone";
  return std::string(kind) + " " + std::to_string(outcome.status_code) + " [" + outcome.error + "]";
}

std::string Str(const Json& value) { return value.is_string() ? value.get<std::string>() : "<" + value.dump() + ">"; }

// The raw message is 7-bit, CRLF-only, and no line exceeds 78 characters.
void CheckWireFormat(const std::string& raw) {
  std::size_t start = 0;
  while (start < raw.size()) {
    std::size_t end = raw.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    const std::string line = raw.substr(start, end - start);
    INFO("line: " << line);
    CHECK(line.size() <= 78);
    CHECK(line.find_first_of("\r\n") == std::string::npos);
    for (char c : line) CHECK(static_cast<unsigned char>(c) < 0x80);
    start = end + 2;
  }
}

TEST_CASE("smtp: a plain transaction authenticates with AUTH PLAIN or LOGIN and delivers the message", "[smtp]") {
  for (const std::string mechanism : {"PLAIN", "LOGIN"}) {
    INFO("mechanism " << mechanism);
    SmtpServer server({"--auth", kUser + ":" + kPassword, "--auth-mechanisms", mechanism});
    auto provider = MakeProvider(server.port(), {{"security", "none"}, {"username", kUser}, {"password", kPassword}});
    const SendOutcome outcome = provider->Send(Message());
    INFO(Describe(outcome) << "\nserver log: " << server.Log());
    REQUIRE(outcome.kind == Kind::kDelivered);
    CHECK(outcome.status_code == 250);
    CHECK(outcome.error.empty());
    CHECK(outcome.provider_message_id == "dlv_1@example.com");

    const Json m = server.OnlyMessage();
    CHECK(Str(m["mail_from"]) == "support@example.com");
    CHECK(m["rcpt_tos"] == Json::array({kRecipient}));
    CHECK(Str(m["auth_mechanism"]) == mechanism);
    CHECK(Str(m["login"]) == kUser);
    CHECK(m["tls"] == false);
    CHECK(Str(m["subject"]) == "Your conversation has a reply");
    CHECK(Str(m["from"]) == kSender);
    CHECK(Str(m["to"]) == kRecipient);
    CHECK(m["reply_to"].is_null());
    CHECK(Str(m["message_id"]) == "<dlv_1@example.com>");
    CHECK(!Str(m["date"]).empty());
    CHECK(Str(m["content_type"]) == "text/plain");
    CHECK(Str(m["text"]) == Message().text);
    CHECK(m["html"].is_null());
    CHECK(m["defects"] == Json::array());
    CheckWireFormat(Str(m["raw"]));
  }
}

TEST_CASE("smtp: STARTTLS then AUTH; tls_verify false accepts a self-signed certificate, ca_file trusts it",
          "[smtp]") {
  auto certificate = MakeCertificate();
  SmtpServer server({"--tls-cert", certificate->cert.string(), "--tls-key", certificate->key.string(),
                     "--require-starttls", "--auth", kUser + ":" + kPassword, "--auth-require-tls"});
  const std::map<std::string, std::string> settings = {
      {"security", "starttls"}, {"username", kUser}, {"password", kPassword}};

  auto unverified = settings;
  unverified["tls_verify"] = "false";
  SendOutcome outcome = MakeProvider(server.port(), unverified)->Send(Message("dlv_a"));
  INFO(Describe(outcome) << "\nserver log: " << server.Log());
  REQUIRE(outcome.kind == Kind::kDelivered);
  Json m = server.OnlyMessage();
  CHECK(m["tls"] == true);
  CHECK(Str(m["login"]) == kUser);
  CHECK(Str(m["text"]) == Message().text);

  // Verified against the system trust store (the default), the self-signed certificate is refused: a
  // TLS failure, retried.
  outcome = MakeProvider(server.port(), settings)->Send(Message("dlv_b"));
  CHECK(outcome.kind == Kind::kRetry);
  CHECK_FALSE(outcome.error.empty());

  // With the certificate as trust anchor it verifies (name and address included).
  auto trusted = settings;
  trusted["ca_file"] = certificate->cert.string();
  outcome = MakeProvider(server.port(), trusted)->Send(Message("dlv_c"));
  INFO(Describe(outcome));
  CHECK(outcome.kind == Kind::kDelivered);
  const std::vector<Json> messages = server.Messages();
  REQUIRE(messages.size() == 2);
  CHECK(Str(messages[1]["message_id"]) == "<dlv_c@example.com>");
}

TEST_CASE("smtp: security tls speaks implicit TLS (smtps)", "[smtp]") {
  auto certificate = MakeCertificate();
  SmtpServer server({"--tls-cert", certificate->cert.string(), "--tls-key", certificate->key.string(),
                     "--implicit-tls", "--auth", kUser + ":" + kPassword});
  auto provider = MakeProvider(server.port(), {{"security", "tls"},
                                               {"tls_verify", "false"},
                                               {"username", kUser},
                                               {"password", kPassword}});
  const SendOutcome outcome = provider->Send(Message());
  INFO(Describe(outcome) << "\nserver log: " << server.Log());
  REQUIRE(outcome.kind == Kind::kDelivered);
  const Json m = server.OnlyMessage();
  CHECK(m["tls"] == true);
  CHECK(Str(m["login"]) == kUser);
}

TEST_CASE("smtp: non-ASCII subject, names and text with an HTML part arrive exactly as sent", "[smtp]") {
  SmtpServer server;
  auto provider = MakeProvider(server.port(), {{"security", "none"}});
  EmailMessage message = Message();
  message.from = "Jürgen Müller <support@example.com>";
  message.to = "\"Doe, Jane\" <" + kRecipient + ">";
  message.reply_to = "Équipe Support <help@example.com>";
  message.subject = "Grüße — 你好 🎉";
  message.text = "Grüße — 你好 🎉\n\nSee the thread: " + std::string(150, '-') + " " + std::string(80, 'x') +
                 "\ntrailing spaces   \n= equals =3D\n.\n" + std::string(40, ' ') + "indented\nFrom the team";
  for (int i = 0; i < 30; ++i) message.text += " 日本語のテキスト";
  message.html = "<p>Grüße — 你好 🎉</p>\n<p style=\"color: red\">" + std::string(200, 'y') + "</p>";
  const SendOutcome outcome = provider->Send(message);
  INFO(Describe(outcome) << "\nserver log: " << server.Log());
  REQUIRE(outcome.kind == Kind::kDelivered);

  const Json m = server.OnlyMessage();
  INFO("raw: " << Str(m["raw"]));
  CHECK(Str(m["subject"]) == message.subject);
  CHECK(Str(m["from"]) == message.from);
  CHECK(Str(m["to"]) == message.to);
  CHECK(Str(m["reply_to"]) == message.reply_to);
  CHECK(Str(m["content_type"]) == "multipart/alternative");
  CHECK(Str(m["text"]) == message.text);
  CHECK(Str(m["html"]) == message.html);
  CHECK(m["defects"] == Json::array());
  CheckWireFormat(Str(m["raw"]));
}

TEST_CASE("smtp: a wrong password is a permanent failure carrying the server's 535", "[smtp]") {
  SmtpServer server({"--auth", kUser + ":" + kPassword});
  auto provider = MakeProvider(server.port(), {{"security", "none"}, {"username", kUser}, {"password", "wrong"}});
  const SendOutcome outcome = provider->Send(Message());
  INFO(Describe(outcome));
  CHECK(outcome.kind == Kind::kPermanent);
  CHECK(outcome.status_code == 535);
  CHECK(outcome.error.find("535") != std::string::npos);
  CHECK(outcome.error.find("wrong") == std::string::npos);  // the password is not echoed
  CHECK(server.Messages().empty());
}

TEST_CASE("smtp: a rejected recipient is permanent, a deferred one is retried", "[smtp]") {
  SmtpServer server({"--reject-rcpt", "nobody@example.org", "--defer-rcpt", "later@example.org"});
  auto provider = MakeProvider(server.port(), {{"security", "none"}});
  EmailMessage message = Message();
  message.to = "nobody@example.org";
  SendOutcome outcome = provider->Send(message);
  INFO(Describe(outcome));
  CHECK(outcome.kind == Kind::kPermanent);
  CHECK(outcome.status_code == 550);
  CHECK(outcome.error.find("User unknown") != std::string::npos);  // the server's own words

  message.to = "later@example.org";
  outcome = provider->Send(message);
  INFO(Describe(outcome));
  CHECK(outcome.kind == Kind::kRetry);
  CHECK(outcome.status_code == 451);
  CHECK(server.Messages().empty());
}

TEST_CASE("smtp: a closed port is retried", "[smtp]") {
  const int port = PickFreePort();
  REQUIRE(port > 0);
  auto provider = MakeProvider(port, {{"security", "none"}});
  const SendOutcome outcome = provider->Send(Message());
  INFO(Describe(outcome));
  CHECK(outcome.kind == Kind::kRetry);
  CHECK(outcome.status_code == 0);
  CHECK_FALSE(outcome.error.empty());
}

TEST_CASE("smtp: a malformed message fails permanently without connecting", "[smtp]") {
  // Connecting to the closed port would be a retry: permanent shows the message was refused first.
  const int port = PickFreePort();
  auto provider = MakeProvider(port, {{"security", "none"}});
  EmailMessage message = Message();
  message.to = "customer@example.org\r\nBcc: victim@example.net";
  SendOutcome outcome = provider->Send(message);
  INFO(Describe(outcome));
  CHECK(outcome.kind == Kind::kPermanent);
  CHECK(outcome.error.find("CR or LF") != std::string::npos);

  // A message without `from` is sent from the configured sender.
  SmtpServer server;
  message = Message();
  message.from.clear();
  outcome = MakeProvider(server.port(), {{"security", "none"}})->Send(message);
  INFO(Describe(outcome));
  REQUIRE(outcome.kind == Kind::kDelivered);
  CHECK(Str(server.OnlyMessage()["from"]) == kSender);
}

TEST_CASE("smtp: with an address policy, a private host is refused unless allowlisted", "[smtp]") {
  SmtpServer server;
  SmtpProviderOptions closed;
  closed.address_policy = NetworkAllowlist();
  SendOutcome outcome = MakeProvider(server.port(), {{"security", "none"}}, closed)->Send(Message());
  INFO(Describe(outcome));
  CHECK(outcome.kind == Kind::kPermanent);
  CHECK(server.Messages().empty());

  Result<NetworkAllowlist> loopback = NetworkAllowlist::Parse({"127.0.0.0/8"});
  REQUIRE(loopback.ok());
  SmtpProviderOptions allowed;
  allowed.address_policy = *loopback;
  outcome = MakeProvider(server.port(), {{"security", "none"}}, allowed)->Send(Message());
  INFO(Describe(outcome));
  CHECK(outcome.kind == Kind::kDelivered);
  CHECK(server.Messages().size() == 1);
}

TEST_CASE("smtp: Send may be called from several threads at once", "[smtp]") {
  SmtpServer server;
  auto provider = MakeProvider(server.port(), {{"security", "none"}});
  constexpr int kThreads = 4;
  std::vector<SendOutcome> outcomes(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { outcomes[i] = provider->Send(Message("dlv_t" + std::to_string(i))); });
  }
  for (std::thread& t : threads) t.join();
  for (const SendOutcome& outcome : outcomes) {
    INFO(Describe(outcome));
    CHECK(outcome.kind == Kind::kDelivered);
  }
  std::vector<std::string> ids;
  for (const Json& m : server.Messages()) ids.push_back(Str(m["message_id"]));
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<std::string>{"<dlv_t0@example.com>", "<dlv_t1@example.com>", "<dlv_t2@example.com>",
                                        "<dlv_t3@example.com>"});
}

TEST_CASE("smtp: the provider settings are validated", "[smtp]") {
  auto check = [](std::map<std::string, std::string> settings, bool valid, std::string type = "smtp") {
    EmailProviderConfig config;
    config.type = std::move(type);
    config.from = kSender;
    config.settings = std::move(settings);
    Result<std::shared_ptr<EmailProvider>> provider = NewSmtpEmailProvider(config);
    INFO(config.type << " " << Json(config.settings).dump() << ": " << provider.status().ToString());
    CHECK(provider.ok() == valid);
    if (!provider.ok()) CHECK(provider.status().code() == StatusCode::kInvalidArgument);
  };
  check({{"host", "smtp.example.com"}}, true);
  check({{"host", "smtp.example.com"}, {"port", "587"}, {"security", "starttls"}, {"username", "u"}, {"password", "p"}},
        true);
  check({{"host", "10.0.0.1"}, {"port", "465"}, {"security", "tls"}, {"tls_verify", "false"}}, true);
  check({{"host", "::1"}, {"port", "25"}, {"security", "none"}}, true);
  check({{"host", "[2001:db8::1]"}, {"port", "65535"}}, true);
  check({}, false);
  check({{"host", ""}}, false);
  check({{"host", "smtp.example.com/path"}}, false);
  check({{"host", "user@smtp.example.com"}}, false);
  check({{"host", "smtp example.com"}}, false);
  check({{"host", "smtp.example.com"}, {"port", "0"}}, false);
  check({{"host", "smtp.example.com"}, {"port", "65536"}}, false);
  check({{"host", "smtp.example.com"}, {"port", "25a"}}, false);
  check({{"host", "smtp.example.com"}, {"port", "-25"}}, false);
  check({{"host", "smtp.example.com"}, {"port", "9999999999"}}, false);
  check({{"host", "smtp.example.com"}, {"security", "ssl"}}, false);
  check({{"host", "smtp.example.com"}, {"tls_verify", "yes"}}, false);
  check({{"host", "smtp.example.com"}, {"password", "p"}}, false);  // a password without a user
  check({{"host", "smtp.example.com"}}, false, "mailgun");

  EmailProviderConfig config;
  config.type = "smtp";
  config.from = "not an address";
  config.settings = {{"host", "smtp.example.com"}};
  CHECK(NewSmtpEmailProvider(config).status().code() == StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace libchat::internal
