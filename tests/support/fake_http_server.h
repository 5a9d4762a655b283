// FakeHttpServer: a tiny HTTP/1.1 server on 127.0.0.1 (ephemeral port) that plays the receiver of outbound
// requests in tests (webhook endpoints, email APIs). Plain POSIX sockets and one thread per connection, so it
// shares no code with what it tests. It records every request and answers from a script of responses, then
// from a handler. Keep-alive, Content-Length and chunked request bodies; responses carry Content-Length.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace libchat::testsupport {

class FakeHttpServer {
 public:
  struct Request {
    std::string method;
    std::string target;  // path + query, as sent
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
    std::string body;  // de-chunked

    // The first header with this lower-case name, or "".
    std::string Header(const std::string& lower_name) const;
  };

  struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;  // Content-Length is added (and replaced)
    std::string body;
    // Wait this long before answering: a receiver that hangs. Cut short when the server is destroyed.
    std::chrono::milliseconds delay{0};
  };

  using Handler = std::function<Response(const Request&)>;

  // Listens at once; aborts the test program if it cannot.
  FakeHttpServer();
  // Stops accepting, closes every connection and joins every thread (including ones waiting in a delay).
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port>" + path.
  std::string url(const std::string& path = "") const;

  // Scripted responses, used in order, one per request.
  void Enqueue(Response r);
  // Answers requests when the script is empty. Default: 200 with body "{}". Called on connection threads,
  // possibly concurrently.
  void SetHandler(Handler h);

  // Every request received so far, in arrival order (recorded before it is answered).
  std::vector<Request> requests() const;
  // True once at least n requests have arrived; false after the timeout.
  bool WaitForRequests(std::size_t n, std::chrono::milliseconds timeout) const;

 private:
  void AcceptLoop();
  void ServeConnection(int fd);
  Response NextResponse(const Request& request);
  // Sleeps for `delay` unless the server stops first; returns false when stopping.
  bool InterruptibleDelay(std::chrono::milliseconds delay);

  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};  // written by the destructor to wake the accept loop
  int port_ = 0;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // a request arrived, or stopping
  bool stopping_ = false;
  std::deque<Response> script_;
  Handler handler_;
  std::vector<Request> requests_;
  std::vector<int> open_fds_;  // connections being served, shut down on destruction
  std::vector<std::thread> connection_threads_;

  std::thread accept_thread_;
};

}  // namespace libchat::testsupport
