// HttpConnection: one client connection speaking HTTP/1.1 with keep-alive.
//
// Requests are parsed by the pure http::RequestParser on the socket's strand and
// handled one at a time (later pipelined requests wait in the buffer): the Api
// call runs on the worker pool, the response is written back on the strand.
// While a request is being handled the connection does not read, which is the
// backpressure. An upgrade to /v1/ws hands the socket to a WsSession.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "server/http/parser.h"
#include "server/server_context.h"

namespace libchat::server {

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(asio::ip::tcp::socket socket, ServerContext& context);
  ~HttpConnection();

  void Start();
  // Thread-safe: close now when idle, or right after the response in flight.
  void StopGracefully();

 private:
  void ReadLoop();
  void OnReadable();
  void Process();
  void Dispatch(http::Request request);
  void Upgrade(http::Request request, std::string request_id);
  void Write(const http::Response& response, bool keep_alive);
  void ArmIdleTimer();
  void Close();

  asio::ip::tcp::socket socket_;
  asio::steady_timer idle_timer_;
  ServerContext& context_;
  http::RequestParser parser_;
  std::string pending_;   // received bytes the parser has not consumed yet
  std::string out_;       // the response being written
  bool busy_ = false;     // a request is being handled or its response written
  bool reading_ = false;  // an async_wait for readability is outstanding
  bool stop_after_response_ = false;
  bool closed_ = false;
};

}  // namespace libchat::server
