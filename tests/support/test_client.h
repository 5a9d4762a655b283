// Blocking HTTP/1.1 and WebSocket clients for the integration tests, over plain POSIX sockets (no Asio, so a
// bug in the server's networking cannot hide behind the same bug in the client). Every read has a deadline: a
// silent server makes a test fail, never hang.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/ws/codec.h"

namespace libchat::testing_support {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpResult {
  int status = 0;  // 0: no (complete) response; see error
  HeaderList headers;
  std::string body;  // de-chunked
  std::string error;  // why status is 0 (connect failed, timeout, malformed response, ...)

  std::string Header(std::string_view name) const;  // case-insensitive, "" if absent
};

// One keep-alive connection; reconnects transparently if the server closed it.
class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port, std::string host = "127.0.0.1");
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Adds Host (unless given) and Content-Length (when there is a body, or for POST/PUT/PATCH, unless given).
  // A request on a reused connection that the server had closed meanwhile is retried once on a new one.
  HttpResult Request(std::string_view method, std::string_view target, std::string_view body = {},
                     HeaderList headers = {});
  // Raw request bytes on a fresh connection (closed afterwards); reads one response. status 0 when the
  // server closed without answering.
  HttpResult SendRaw(std::string_view raw_bytes);

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  // Drops the kept-alive connection (the next Request connects again).
  void Disconnect();

 private:
  std::uint16_t port_;
  std::string host_;
  int fd_ = -1;
  std::string buffer_;  // bytes read past the previous response
  std::chrono::milliseconds timeout_{10000};
};

class WsClient {
 public:
  WsClient();
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Performs the upgrade on `target` (e.g. "/v1/ws?token=...") with optional extra headers; returns false
  // (and sets handshake_status, 0 if there was no HTTP answer at all) on refusal. Also false when the
  // server's Sec-WebSocket-Accept is wrong.
  bool Connect(std::uint16_t port, std::string_view target, HeaderList headers = {});
  int handshake_status() const { return handshake_status_; }
  // The refusal's body (e.g. the JSON error) when Connect returned false.
  const std::string& handshake_body() const { return handshake_body_; }

  void SendText(std::string_view text);  // masked
  void SendRaw(std::string_view bytes);

  // Next data message (text or binary payload), or nullopt on timeout / close / protocol error. Pings are
  // answered as soon as they are read; a close from the server is answered and recorded in close_code().
  // Messages that arrived before a close are still returned first.
  std::optional<std::string> ReceiveText(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Set once a close frame was received (1005 for an empty one).
  std::optional<std::uint16_t> close_code() const { return close_code_; }
  // The server ended the connection (close frame or EOF), or the client closed it.
  bool closed() const { return fd_ < 0 || peer_gone_; }
  // Sends a close frame (once) and waits briefly for the server's close before dropping the connection.
  void Close(std::uint16_t code = 1000);
  // Drops the TCP connection without a close frame, as a crashed client or a lost network would: a plain
  // close (FIN), or with `reset` an RST (SO_LINGER 0), which also discards whatever the client had not read.
  void Abort(bool reset = false);

 private:
  void SendCloseOnce(std::uint16_t code);
  void Drop();
  // Drains the frame parser: pings are answered at once (not only when the test next reads), data messages
  // queue in pending_, a close is recorded and answered.
  void Pump();

  int fd_ = -1;
  int handshake_status_ = 0;
  std::string handshake_body_;
  bool close_sent_ = false;
  bool peer_gone_ = false;
  std::optional<std::uint16_t> close_code_;
  server::ws::FrameParser parser_;
  std::deque<std::string> pending_;
  std::mt19937 rng_;
};

}  // namespace libchat::testing_support
