#include "support/test_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace libchat::testing_support {
namespace {

using Clock = std::chrono::steady_clock;
namespace ws = server::ws;

constexpr std::size_t kMaxClientMessage = 64 * 1024 * 1024;

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool HasToken(std::string_view value, std::string_view token) {
  while (true) {
    std::size_t comma = value.find(',');
    if (EqualsIgnoreCase(Trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) return false;
    value.remove_prefix(comma + 1);
  }
}

bool HasHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& header : headers) {
    if (EqualsIgnoreCase(header.first, name)) return true;
  }
  return false;
}

std::string Base64(const unsigned char* data, std::size_t size) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < size; i += 3) {
    std::uint32_t chunk = static_cast<std::uint32_t>(data[i]) << 16;
    if (i + 1 < size) chunk |= static_cast<std::uint32_t>(data[i + 1]) << 8;
    if (i + 2 < size) chunk |= data[i + 2];
    out.push_back(kAlphabet[(chunk >> 18) & 63]);
    out.push_back(kAlphabet[(chunk >> 12) & 63]);
    out.push_back(i + 1 < size ? kAlphabet[(chunk >> 6) & 63] : '=');
    out.push_back(i + 2 < size ? kAlphabet[chunk & 63] : '=');
  }
  return out;
}

int ConnectTcp(const std::string& host, std::uint16_t port, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &addresses);
  if (rc != 0) {
    *error = std::string("getaddrinfo: ") + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    *error = std::string("connect: ") + std::strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(addresses);
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

enum class ReadStatus { kData, kEof, kTimeout, kError };

// Appends what one recv() returns, waiting at most until `deadline`.
ReadStatus ReadSome(int fd, std::string& buffer, Clock::time_point deadline) {
  while (true) {
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (remaining < 0) remaining = 0;
    pollfd pfd{fd, POLLIN, 0};
    int ready = poll(&pfd, 1, static_cast<int>(remaining));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return ReadStatus::kError;
    }
    if (ready == 0) return ReadStatus::kTimeout;
    char chunk[16384];
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return ReadStatus::kError;
    }
    if (n == 0) return ReadStatus::kEof;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return ReadStatus::kData;
  }
}

const char* Describe(ReadStatus status) {
  switch (status) {
    case ReadStatus::kEof: return "connection closed by the server";
    case ReadStatus::kTimeout: return "timed out waiting for the server";
    case ReadStatus::kError: return "socket error";
    case ReadStatus::kData: break;
  }
  return "unexpected";
}

// Reads from the socket until `buffer` holds at least `size` bytes.
bool EnsureSize(int fd, std::string& buffer, std::size_t size, Clock::time_point deadline,
                std::string* error) {
  while (buffer.size() < size) {
    ReadStatus status = ReadSome(fd, buffer, deadline);
    if (status != ReadStatus::kData) {
      *error = Describe(status);
      return false;
    }
  }
  return true;
}

// Takes one line (without its CRLF/LF) off the front of `buffer`, reading as needed.
bool TakeLine(int fd, std::string& buffer, Clock::time_point deadline, std::string& line,
              std::string* error) {
  std::size_t nl;
  while ((nl = buffer.find('\n')) == std::string::npos) {
    ReadStatus status = ReadSome(fd, buffer, deadline);
    if (status != ReadStatus::kData) {
      *error = Describe(status);
      return false;
    }
  }
  line.assign(buffer, 0, nl);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  buffer.erase(0, nl + 1);
  return true;
}

struct ReadOutcome {
  bool ok = false;
  bool nothing_received = false;  // failed before any byte of a response arrived (retry-safe on keep-alive)
  bool close_after = false;       // the connection cannot be reused
};

// Reads one final response (skipping 1xx interim ones other than 101) into `result`. 101 has no body: what
// follows it stays in `buffer` (WebSocket frames).
ReadOutcome ReadHttpResponse(int fd, std::string& buffer, Clock::time_point deadline, bool head_request,
                             HttpResult& result) {
  ReadOutcome outcome;
  std::string* error = &result.error;
  while (true) {
    result = HttpResult{};
    // Status line, then headers, up to the blank line.
    std::string line;
    const bool had_bytes = !buffer.empty();
    if (!TakeLine(fd, buffer, deadline, line, error)) {
      outcome.nothing_received = !had_bytes && buffer.empty();
      outcome.close_after = true;
      return outcome;
    }
    // "HTTP/1.1 200 OK"
    if (line.size() < 12 || line.compare(0, 7, "HTTP/1.") != 0 || line[8] != ' ') {
      *error = "malformed status line: " + line.substr(0, 100);
      outcome.close_after = true;
      return outcome;
    }
    const bool http10 = line[7] == '0';
    result.status = std::atoi(line.c_str() + 9);
    while (true) {
      if (!TakeLine(fd, buffer, deadline, line, error)) {
        result.status = 0;
        outcome.close_after = true;
        return outcome;
      }
      if (line.empty()) break;
      std::size_t colon = line.find(':');
      if (colon == std::string::npos) {
        result.status = 0;
        *error = "malformed header line: " + line.substr(0, 100);
        outcome.close_after = true;
        return outcome;
      }
      std::string_view value = Trim(std::string_view(line).substr(colon + 1));
      result.headers.emplace_back(line.substr(0, colon), std::string(value));
    }
    if (result.status >= 100 && result.status < 200 && result.status != 101) continue;  // interim

    const std::string connection = result.Header("connection");
    outcome.close_after = HasToken(connection, "close") || (http10 && !HasToken(connection, "keep-alive"));

    const bool no_body = head_request || (result.status >= 100 && result.status < 200) ||
                         result.status == 204 || result.status == 304;
    if (no_body) break;

    if (HasToken(result.Header("transfer-encoding"), "chunked")) {
      while (true) {
        if (!TakeLine(fd, buffer, deadline, line, error)) {
          result.status = 0;
          outcome.close_after = true;
          return outcome;
        }
        const std::size_t size = std::strtoull(line.c_str(), nullptr, 16);
        if (size == 0) {
          // Trailers up to the blank line.
          do {
            if (!TakeLine(fd, buffer, deadline, line, error)) {
              result.status = 0;
              outcome.close_after = true;
              return outcome;
            }
          } while (!line.empty());
          break;
        }
        if (!EnsureSize(fd, buffer, size + 2, deadline, error)) {
          result.status = 0;
          outcome.close_after = true;
          return outcome;
        }
        result.body.append(buffer, 0, size);
        buffer.erase(0, size + 2);
      }
    } else if (!result.Header("content-length").empty()) {
      const std::size_t size = std::strtoull(result.Header("content-length").c_str(), nullptr, 10);
      if (!EnsureSize(fd, buffer, size, deadline, error)) {
        result.status = 0;
        outcome.close_after = true;
        return outcome;
      }
      result.body.assign(buffer, 0, size);
      buffer.erase(0, size);
    } else {
      // Delimited by the end of the connection.
      outcome.close_after = true;
      while (true) {
        ReadStatus status = ReadSome(fd, buffer, deadline);
        if (status == ReadStatus::kEof) break;
        if (status != ReadStatus::kData) {
          *error = Describe(status);
          result.status = 0;
          return outcome;
        }
      }
      result.body = std::move(buffer);
      buffer.clear();
    }
    break;
  }
  outcome.ok = true;
  return outcome;
}

// True when an idle kept-alive connection was closed (or reset) by the server.
bool PeerClosed(int fd) {
  pollfd pfd{fd, POLLIN, 0};
  if (poll(&pfd, 1, 0) <= 0) return false;
  char byte;
  ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n <= 0;
}

}  // namespace

std::string HttpResult::Header(std::string_view name) const {
  for (const auto& header : headers) {
    if (EqualsIgnoreCase(header.first, name)) return header.second;
  }
  return {};
}

// -------------------------------------------------------------------------------------------------------
// HttpClient

HttpClient::HttpClient(std::uint16_t port, std::string host) : port_(port), host_(std::move(host)) {}

HttpClient::~HttpClient() { Disconnect(); }

void HttpClient::Disconnect() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buffer_.clear();
}

HttpResult HttpClient::Request(std::string_view method, std::string_view target, std::string_view body,
                               HeaderList headers) {
  std::string request;
  request.reserve(256 + body.size());
  request.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  if (!HasHeader(headers, "host")) request += "Host: " + host_ + ":" + std::to_string(port_) + "\r\n";
  const bool wants_length = !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  if (wants_length && !HasHeader(headers, "content-length") && !HasHeader(headers, "transfer-encoding")) {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  for (const auto& header : headers) request += header.first + ": " + header.second + "\r\n";
  request += "\r\n";
  request.append(body);

  HttpResult result;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fd_ >= 0 && PeerClosed(fd_)) Disconnect();
    const bool reused = fd_ >= 0;
    if (fd_ < 0) {
      result = HttpResult{};
      fd_ = ConnectTcp(host_, port_, &result.error);
      if (fd_ < 0) return result;
    }
    if (!SendAll(fd_, request)) {
      Disconnect();
      result.error = "send failed";
      if (reused) continue;
      return result;
    }
    ReadOutcome outcome = ReadHttpResponse(fd_, buffer_, Clock::now() + timeout_, method == "HEAD", result);
    if (outcome.close_after || !outcome.ok) Disconnect();
    // The server may close an idle keep-alive connection just as the request goes out: retry on a new one.
    if (!outcome.ok && outcome.nothing_received && reused) continue;
    return result;
  }
  return result;
}

HttpResult HttpClient::SendRaw(std::string_view raw_bytes) {
  HttpResult result;
  int fd = ConnectTcp(host_, port_, &result.error);
  if (fd < 0) return result;
  if (!SendAll(fd, raw_bytes)) {
    // The server may already have answered and closed (e.g. an early 413); try to read that answer anyway.
    result.error = "send failed";
  }
  std::string buffer;
  ReadHttpResponse(fd, buffer, Clock::now() + timeout_, false, result);
  close(fd);
  return result;
}

// -------------------------------------------------------------------------------------------------------
// WsClient

WsClient::WsClient() : parser_(kMaxClientMessage, false), rng_(std::random_device{}()) {}

WsClient::~WsClient() {
  // No waiting in a destructor: send the close frame if the connection is still up, then drop it.
  if (fd_ >= 0 && !peer_gone_) SendCloseOnce(ws::close_code::kNormal);
  Drop();
}

void WsClient::Drop() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool WsClient::Connect(std::uint16_t port, std::string_view target, HeaderList headers) {
  Drop();
  handshake_status_ = 0;
  handshake_body_.clear();
  close_sent_ = false;
  peer_gone_ = false;
  close_code_.reset();
  parser_ = ws::FrameParser(kMaxClientMessage, false);
  pending_.clear();

  std::string error;
  fd_ = ConnectTcp("127.0.0.1", port, &error);
  if (fd_ < 0) {
    handshake_body_ = error;
    return false;
  }
  unsigned char nonce[16];
  for (unsigned char& b : nonce) b = static_cast<unsigned char>(rng_());
  const std::string key = Base64(nonce, sizeof(nonce));

  std::string request;
  request.append("GET ").append(target).append(" HTTP/1.1\r\n");
  request += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  request += "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  request += "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n";
  for (const auto& header : headers) request += header.first + ": " + header.second + "\r\n";
  request += "\r\n";
  if (!SendAll(fd_, request)) {
    handshake_body_ = "send failed";
    Drop();
    return false;
  }

  std::string buffer;
  HttpResult response;
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
  ReadOutcome outcome = ReadHttpResponse(fd_, buffer, deadline, false, response);
  handshake_status_ = response.status;
  if (!outcome.ok || response.status != 101) {
    handshake_body_ = outcome.ok ? response.body : response.error;
    Drop();
    return false;
  }
  if (response.Header("sec-websocket-accept") != ws::AcceptKey(key)) {
    handshake_body_ = "wrong Sec-WebSocket-Accept";
    Drop();
    return false;
  }
  parser_.Feed(buffer);  // frames the server sent right after the 101 (e.g. hello)
  Pump();
  return true;
}

void WsClient::SendText(std::string_view text) {
  SendRaw(ws::EncodeMaskedFrame(ws::Opcode::kText, text, static_cast<std::uint32_t>(rng_())));
}

void WsClient::SendRaw(std::string_view bytes) {
  if (fd_ < 0) return;
  if (!SendAll(fd_, bytes)) peer_gone_ = true;
}

void WsClient::SendCloseOnce(std::uint16_t code) {
  if (close_sent_ || fd_ < 0) return;
  close_sent_ = true;
  std::string payload;
  if (code != ws::close_code::kNoStatus) {
    payload.push_back(static_cast<char>(code >> 8));
    payload.push_back(static_cast<char>(code & 0xFF));
  }
  SendAll(fd_, ws::EncodeMaskedFrame(ws::Opcode::kClose, payload, static_cast<std::uint32_t>(rng_())));
}

void WsClient::Pump() {
  while (std::optional<ws::Message> message = parser_.Next()) {
    switch (message->opcode) {
      case ws::Opcode::kText:
      case ws::Opcode::kBinary:
        pending_.push_back(std::move(message->payload));
        break;
      case ws::Opcode::kPing:
        if (!close_sent_ && fd_ >= 0) {
          SendAll(fd_, ws::EncodeMaskedFrame(ws::Opcode::kPong, message->payload,
                                             static_cast<std::uint32_t>(rng_())));
        }
        break;
      case ws::Opcode::kClose:
        if (!close_code_) close_code_ = ws::ParseClosePayload(message->payload).code;
        SendCloseOnce(*close_code_);  // echo the code, as RFC 6455 §5.5.1 suggests
        peer_gone_ = true;
        Drop();
        return;  // nothing after a close frame counts
      default:
        break;  // pong
    }
  }
  if (parser_.failed()) {
    SendCloseOnce(parser_.close_code());
    peer_gone_ = true;
    Drop();
  }
}

std::optional<std::string> WsClient::ReceiveText(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    if (!pending_.empty()) {
      std::string text = std::move(pending_.front());
      pending_.pop_front();
      return text;
    }
    if (fd_ < 0 || peer_gone_) return std::nullopt;
    std::string chunk;
    ReadStatus status = ReadSome(fd_, chunk, deadline);
    if (status == ReadStatus::kTimeout) return std::nullopt;
    if (status != ReadStatus::kData) {
      peer_gone_ = true;
      Drop();
      return std::nullopt;
    }
    parser_.Feed(chunk);
    Pump();
  }
}

void WsClient::Abort(bool reset) {
  if (fd_ >= 0 && reset) {
    const linger abortive{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abortive, sizeof(abortive));
  }
  pending_.clear();
  peer_gone_ = true;
  Drop();
}

void WsClient::Close(std::uint16_t code) {
  if (fd_ < 0) return;
  SendCloseOnce(code);
  // Wait (briefly) for the server's close so it sees an orderly shutdown; data still in flight is dropped.
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(2);
  pending_.clear();
  while (fd_ >= 0 && !peer_gone_ && Clock::now() < deadline) {
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (!ReceiveText(remaining) && fd_ >= 0 && !peer_gone_) break;  // timed out
  }
  pending_.clear();
  Drop();
}

}  // namespace libchat::testing_support
