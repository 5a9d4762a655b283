#include "support/fake_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace libchat::testsupport {
namespace {

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLower(c);
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool HasToken(std::string_view value, std::string_view token) {
  while (true) {
    std::size_t comma = value.find(',');
    if (Lower(Trim(value.substr(0, comma))) == token) return true;
    if (comma == std::string_view::npos) return false;
    value.remove_prefix(comma + 1);
  }
}

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "FakeHttpServer: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Buffered reads from one connection. Every failure (peer closed, server stopping, error) is just "false":
// the connection is then dropped.
class Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}

  // Reads until `buffer_` holds `delimiter`; returns the bytes before it and consumes both.
  bool ReadUntil(std::string_view delimiter, std::size_t limit, std::string* out) {
    std::size_t searched = 0;
    while (true) {
      std::size_t pos = buffer_.find(delimiter, searched);
      if (pos != std::string::npos) {
        out->assign(buffer_, 0, pos);
        buffer_.erase(0, pos + delimiter.size());
        return true;
      }
      if (buffer_.size() > limit) return false;
      searched = buffer_.size() >= delimiter.size() ? buffer_.size() - delimiter.size() + 1 : 0;
      if (!Fill()) return false;
    }
  }

  bool ReadExactly(std::size_t n, std::string* out) {
    while (buffer_.size() < n) {
      if (!Fill()) return false;
    }
    out->append(buffer_, 0, n);
    buffer_.erase(0, n);
    return true;
  }

  bool empty() const { return buffer_.empty(); }

 private:
  bool Fill() {
    char chunk[16 * 1024];
    while (true) {
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
  }

  int fd_;
  std::string buffer_;
};

bool ReadChunkedBody(Reader& reader, std::string* body) {
  while (true) {
    std::string line;
    if (!reader.ReadUntil("\r\n", kMaxHeaderBytes, &line)) return false;
    std::string_view size_text = Trim(std::string_view(line).substr(0, line.find(';')));
    if (size_text.empty()) return false;
    std::size_t size = 0;
    for (char c : size_text) {
      int digit;
      if (c >= '0' && c <= '9') digit = c - '0';
      else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
      else return false;
      if (size > (std::size_t{1} << 40)) return false;
      size = size * 16 + static_cast<std::size_t>(digit);
    }
    if (size == 0) break;
    if (!reader.ReadExactly(size, body)) return false;
    std::string crlf;
    if (!reader.ReadExactly(2, &crlf) || crlf != "\r\n") return false;
  }
  // Trailers, up to the empty line.
  while (true) {
    std::string line;
    if (!reader.ReadUntil("\r\n", kMaxHeaderBytes, &line)) return false;
    if (line.empty()) return true;
  }
}

enum class ReadOutcome { kRequest, kClosed, kMalformed };

// Reads one request; answers "100 Continue" itself when the client asks for it.
ReadOutcome ReadRequest(int fd, Reader& reader, FakeHttpServer::Request* request, bool* keep_alive) {
  std::string head;
  if (!reader.ReadUntil("\r\n\r\n", kMaxHeaderBytes, &head)) {
    return reader.empty() ? ReadOutcome::kClosed : ReadOutcome::kMalformed;
  }
  std::string_view rest(head);
  std::size_t eol = rest.find("\r\n");
  std::string_view request_line = rest.substr(0, eol);
  rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);

  std::size_t sp1 = request_line.find(' ');
  std::size_t sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return ReadOutcome::kMalformed;
  request->method = std::string(request_line.substr(0, sp1));
  request->target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
  std::string_view version = request_line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return ReadOutcome::kMalformed;

  while (!rest.empty()) {
    eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return ReadOutcome::kMalformed;
    request->headers.emplace_back(Lower(line.substr(0, colon)), std::string(Trim(line.substr(colon + 1))));
  }

  const std::string connection = request->Header("connection");
  *keep_alive = version == "HTTP/1.1" ? !HasToken(connection, "close") : HasToken(connection, "keep-alive");

  if (HasToken(request->Header("expect"), "100-continue") && version == "HTTP/1.1") {
    if (!SendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n")) return ReadOutcome::kClosed;
  }

  if (HasToken(request->Header("transfer-encoding"), "chunked")) {
    return ReadChunkedBody(reader, &request->body) ? ReadOutcome::kRequest : ReadOutcome::kMalformed;
  }
  const std::string length_text = request->Header("content-length");
  if (!length_text.empty()) {
    char* end = nullptr;
    errno = 0;
    unsigned long long length = std::strtoull(length_text.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || length > (1ULL << 32)) return ReadOutcome::kMalformed;
    if (!reader.ReadExactly(static_cast<std::size_t>(length), &request->body)) return ReadOutcome::kMalformed;
  }
  return ReadOutcome::kRequest;
}

std::string SerializeResponse(const FakeHttpServer::Response& response, bool head_request, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + Reason(response.status) + "\r\n";
  for (const auto& [name, value] : response.headers) {
    const std::string lower = Lower(name);
    if (lower == "content-length" || lower == "transfer-encoding") continue;
    if (lower == "connection" && !keep_alive) continue;
    out += name + ": " + value + "\r\n";
  }
  const bool bodiless = response.status == 204 || response.status == 304 || response.status < 200;
  if (!bodiless) out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head_request && !bodiless) out += response.body;
  return out;
}

}  // namespace

std::string FakeHttpServer::Request::Header(const std::string& lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

FakeHttpServer::FakeHttpServer() {
  handler_ = [](const Request&) {
    Response response;
    response.headers.emplace_back("Content-Type", "application/json");
    response.body = "{}";
    return response;
  };
  if (::pipe2(wake_pipe_, O_CLOEXEC) != 0) Die("pipe2");
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) Die("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) Die("bind");
  if (::listen(listen_fd_, 128) != 0) Die("listen");
  socklen_t length = sizeof(address);
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) Die("getsockname");
  port_ = ntohs(address.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

FakeHttpServer::~FakeHttpServer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    // Wakes connection threads blocked in recv; each closes its own fd.
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  cv_.notify_all();
  char byte = 'x';
  while (::write(wake_pipe_[1], &byte, 1) < 0 && errno == EINTR) {
  }
  accept_thread_.join();
  // No connection thread is added after the accept loop has ended.
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(connection_threads_);
  }
  for (std::thread& thread : threads) thread.join();
  ::close(listen_fd_);
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

std::string FakeHttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void FakeHttpServer::Enqueue(Response r) {
  std::lock_guard<std::mutex> lock(mu_);
  script_.push_back(std::move(r));
}

void FakeHttpServer::SetHandler(Handler h) {
  std::lock_guard<std::mutex> lock(mu_);
  handler_ = std::move(h);
}

std::vector<FakeHttpServer::Request> FakeHttpServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

bool FakeHttpServer::WaitForRequests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

void FakeHttpServer::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int ready = ::poll(fds, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      Die("poll");
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // EINTR, ECONNABORTED, ...: the next poll tells
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    open_fds_.push_back(fd);
    connection_threads_.emplace_back([this, fd] { ServeConnection(fd); });
  }
}

void FakeHttpServer::ServeConnection(int fd) {
  Reader reader(fd);
  while (true) {
    Request request;
    bool keep_alive = true;
    ReadOutcome outcome = ReadRequest(fd, reader, &request, &keep_alive);
    if (outcome == ReadOutcome::kMalformed) {
      Response bad;
      bad.status = 400;
      bad.body = "malformed request";
      SendAll(fd, SerializeResponse(bad, false, false));
    }
    if (outcome != ReadOutcome::kRequest) break;

    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(request);
    }
    cv_.notify_all();

    Response response = NextResponse(request);
    if (response.delay.count() > 0 && !InterruptibleDelay(response.delay)) break;
    if (!SendAll(fd, SerializeResponse(response, request.method == "HEAD", keep_alive))) break;
    if (!keep_alive) break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t i = 0; i < open_fds_.size(); ++i) {
    if (open_fds_[i] == fd) {
      open_fds_.erase(open_fds_.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  // Closed under the lock so the destructor never shuts down a reused descriptor number.
  ::close(fd);
}

FakeHttpServer::Response FakeHttpServer::NextResponse(const Request& request) {
  Handler handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!script_.empty()) {
      Response response = std::move(script_.front());
      script_.pop_front();
      return response;
    }
    handler = handler_;
  }
  return handler(request);
}

bool FakeHttpServer::InterruptibleDelay(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, delay, [this] { return stopping_; });
}

}  // namespace libchat::testsupport
