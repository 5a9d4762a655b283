// fanout_bench: WebSocket fan-out of a running libchat-server, measured from the outside.
//
// 1. Setup over HTTP: an account, an app (pk_/sk_ keys) and N customers with SDK
//    sessions, created concurrently over keep-alive connections.
// 2. N WebSocket connections (`GET /v1/ws?token=<session token>`), one per
//    customer, each complete once its `hello` frame arrived. Client sockets are
//    bound to K loopback source addresses (127.0.0.1, 127.0.0.2, ...): each has its
//    own ephemeral port range, so more than ~28k connections are possible.
//    With --server-pid, the server's VmRSS before connecting and with the N
//    connections idle gives the resident memory per idle connection.
// 3. A channel whose members are the first M customers
//    (`POST /v1/apps/{app_id}/conversations`, type "channel"). Members receive its
//    message.created events without subscribing. Servers without that route
//    (404/405) get the "account" fallback: M extra connections authenticated as
//    the app's owner account, which receives every conversation of its apps, and
//    messages go into one support conversation nobody else is connected to (the
//    server must then allow M connections per principal, --ws-max-per-principal).
// 4. Messages posted into that conversation with the secret key at R per second
//    for D seconds (after an unreported warm-up), over a few keep-alive
//    connections. Each message carries its index; every member connection
//    records when it arrives. Reported: publish-to-receive latency over all
//    (message, member) deliveries, the share of messages delivered to all M
//    members within 100 ms, losses, duplicates and seq-order violations.
//
// Latency is measured from the moment the POST is written (so it includes the
// durable commit) to the moment the client read the frame from its socket, both
// on this process's steady clock. The client runs on one thread on the same
// machine as the server: its own CPU use is printed so a saturated client can be
// told apart from a slow server. A program that prints figures, not a test; the
// exit status is 1 when a message was lost, duplicated or reordered, or a member
// was disconnected.
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <asio/connect.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using asio::ip::tcp;
using json = nlohmann::json;

// ---------------------------------------------------------------------------
// Flags

struct Flags {
  std::string url = "http://127.0.0.1:8080";
  int connections = 1000;       // N customer WebSocket connections
  int members = 100;            // M of them are channel members
  double rate = 10;             // messages per second
  int duration_s = 10;          // measured publishing time
  int warmup_s = 2;             // unreported publishing before it
  int source_addresses = 1;     // K loopback source addresses
  int server_pid = 0;           // for VmRSS and CPU; 0: not measured
  int http_connections = 32;    // keep-alive connections creating sessions
  int publishers = 8;           // keep-alive connections posting messages
  int handshakes = 256;         // WebSocket handshakes in flight
  int text_bytes = 64;          // message text size
  int settle_ms = 2000;         // idle time before the memory is read
  int drain_s = 10;             // how long to wait for outstanding deliveries
  std::string mode = "auto";    // channel | account | auto
};

void PrintUsage() {
  std::puts(
      "usage: fanout_bench [--url http://127.0.0.1:8080] [--connections N] [--members M]\n"
      "                    [--rate R] [--duration D] [--warmup W] [--source-addresses K]\n"
      "                    [--server-pid P] [--mode channel|account|auto] [more, below]\n"
      "  --url               the server (an IP literal, http only)\n"
      "  --connections       customer WebSocket connections to open (default 1000)\n"
      "  --members           channel members among them, M <= N (default 100)\n"
      "  --rate              messages posted per second (default 10)\n"
      "  --duration          seconds of measured publishing (default 10)\n"
      "  --warmup            seconds of unreported publishing first (default 2; 0 skips)\n"
      "  --source-addresses  bind client sockets to 127.0.0.1 .. 127.0.0.K (default 1);\n"
      "                      each address has its own ephemeral port range (~28k ports)\n"
      "  --server-pid        the server's pid: VmRSS per idle connection and server CPU\n"
      "  --mode              channel: fail unless the channel route exists; account: always\n"
      "                      use the owner-account fallback (M connections of one principal:\n"
      "                      the server needs --ws-max-per-principal >= M); auto (default):\n"
      "                      channel if the route answers, else the fallback\n"
      "  --http-connections  keep-alive connections creating sessions (default 32)\n"
      "  --publishers        keep-alive connections posting messages (default 8)\n"
      "  --handshakes        WebSocket handshakes in flight (default 256)\n"
      "  --text-bytes        message text size (default 64)\n"
      "  --settle-ms         idle time before reading the server's memory (default 2000)\n"
      "  --drain             seconds to wait for deliveries after the last post (default 10)");
}

bool ParseNumber(const char* text, double min, double max, double* out) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(v >= min) || !(v <= max)) return false;
  *out = v;
  return true;
}

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      PrintUsage();
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "fanout_bench: %s needs a value (try --help)\n", arg.c_str());
      return false;
    }
    const char* v = argv[++i];
    auto integer = [&](int min, int max, int* out) {
      double d = 0;
      if (!ParseNumber(v, min, max, &d) || d != std::floor(d)) {
        std::fprintf(stderr, "fanout_bench: %s needs an integer in [%d, %d], not '%s'\n", arg.c_str(), min, max, v);
        return false;
      }
      *out = static_cast<int>(d);
      return true;
    };
    bool ok = true;
    if (arg == "--url") {
      flags->url = v;
    } else if (arg == "--connections") {
      ok = integer(1, 1000000, &flags->connections);
    } else if (arg == "--members") {
      ok = integer(1, 1000000, &flags->members);
    } else if (arg == "--rate") {
      ok = ParseNumber(v, 0.01, 100000, &flags->rate);
      if (!ok) std::fprintf(stderr, "fanout_bench: --rate needs a number in [0.01, 100000]\n");
    } else if (arg == "--duration") {
      ok = integer(1, 86400, &flags->duration_s);
    } else if (arg == "--warmup") {
      ok = integer(0, 3600, &flags->warmup_s);
    } else if (arg == "--source-addresses") {
      ok = integer(1, 250, &flags->source_addresses);
    } else if (arg == "--server-pid") {
      ok = integer(1, 1 << 30, &flags->server_pid);
    } else if (arg == "--http-connections") {
      ok = integer(1, 1024, &flags->http_connections);
    } else if (arg == "--publishers") {
      ok = integer(1, 1024, &flags->publishers);
    } else if (arg == "--handshakes") {
      ok = integer(1, 65536, &flags->handshakes);
    } else if (arg == "--text-bytes") {
      ok = integer(32, 60000, &flags->text_bytes);
    } else if (arg == "--settle-ms") {
      ok = integer(0, 600000, &flags->settle_ms);
    } else if (arg == "--drain") {
      ok = integer(1, 3600, &flags->drain_s);
    } else if (arg == "--mode") {
      flags->mode = v;
      ok = flags->mode == "channel" || flags->mode == "account" || flags->mode == "auto";
      if (!ok) std::fprintf(stderr, "fanout_bench: --mode is channel, account or auto\n");
    } else {
      std::fprintf(stderr, "fanout_bench: unknown flag %s (try --help)\n", arg.c_str());
      return false;
    }
    if (!ok) return false;
  }
  if (flags->members > flags->connections) {
    std::fprintf(stderr, "fanout_bench: --members (%d) must not exceed --connections (%d)\n", flags->members,
                 flags->connections);
    return false;
  }
  return true;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// ---------------------------------------------------------------------------
// Server-side figures from /proc

// VmRSS of `pid` in KiB, or -1.
long ReadVmRssKib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// User + system CPU seconds `pid` has used, or -1.
double ReadCpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
  for (int n = 3; n <= 15 && (fields >> field); ++n) {
    if (n == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (n == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

// ---------------------------------------------------------------------------
// A minimal HTTP/1.1 client: one request at a time over one keep-alive connection.

struct HttpResult {
  int status = 0;  // 0: transport error, see `error`
  std::string body;
  std::string error;
};

std::string BuildRequest(std::string_view method, std::string_view target, std::string_view host,
                         const std::vector<std::string>& headers, std::string_view body) {
  std::string out;
  out.reserve(256 + body.size());
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n");
  for (const std::string& header : headers) out.append(header).append("\r\n");
  if (!body.empty() || method == "POST") {
    out.append("Content-Type: application/json\r\nContent-Length: ").append(std::to_string(body.size()));
    out.append("\r\n");
  }
  out.append("\r\n").append(body);
  return out;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class HttpConn {
 public:
  using Done = std::function<void(HttpResult)>;
  HttpConn(asio::io_context& io, tcp::endpoint server) : socket_(io), server_(server) {}

  bool busy() const { return busy_; }
  // `done` runs on the io thread; it may send the next request on this connection.
  void Send(std::string request, Done done) {
    busy_ = true;
    request_ = std::move(request);
    done_ = std::move(done);
    retried_ = false;
    Begin();
  }

 private:
  void Begin() {
    if (socket_.is_open()) return Write();
    socket_.async_connect(server_, [this](const asio::error_code& ec) {
      if (ec) return Finish({0, {}, "connect: " + ec.message()});
      asio::error_code ignored;
      socket_.set_option(tcp::no_delay(true), ignored);
      reused_ = false;
      Write();
    });
  }

  void Write() {
    in_.clear();
    asio::async_write(socket_, asio::buffer(request_), [this](const asio::error_code& ec, std::size_t) {
      if (ec) return Fail("write: " + ec.message());
      Read();
    });
  }

  void Read() {
    socket_.async_read_some(asio::buffer(chunk_), [this](const asio::error_code& ec, std::size_t n) {
      if (ec) return Fail("read: " + ec.message());
      in_.append(chunk_.data(), n);
      const std::size_t end = in_.find("\r\n\r\n");
      if (end == std::string::npos) return Read();
      const std::string head = Lower(std::string_view(in_).substr(0, end + 2));
      std::size_t length = 0;
      if (const std::size_t at = head.find("\r\ncontent-length:"); at != std::string::npos) {
        length = std::strtoul(head.c_str() + at + 17, nullptr, 10);
      }
      if (in_.size() < end + 4 + length) return Read();
      HttpResult result;
      result.status = in_.size() > 12 ? std::atoi(in_.c_str() + 9) : 0;
      result.body = in_.substr(end + 4, length);
      if (head.find("\r\nconnection: close") != std::string::npos) {
        asio::error_code ignored;
        socket_.close(ignored);
      }
      reused_ = true;
      Finish(std::move(result));
    });
  }

  void Fail(std::string what) {
    asio::error_code ignored;
    socket_.close(ignored);
    // The server closes idle keep-alive connections: retry once on a fresh one when
    // nothing of a response arrived. Requests that create carry idempotency keys.
    if (reused_ && !retried_ && in_.empty()) {
      retried_ = true;
      reused_ = false;
      return Begin();
    }
    Finish({0, {}, std::move(what)});
  }

  void Finish(HttpResult result) {
    busy_ = false;
    Done done = std::move(done_);
    done_ = nullptr;
    done(std::move(result));
  }

  tcp::socket socket_;
  tcp::endpoint server_;
  std::string request_;
  std::string in_;
  std::array<char, 16 * 1024> chunk_{};
  Done done_;
  bool busy_ = false;
  bool reused_ = false;
  bool retried_ = false;
};

// Runs the io_context until `done()` or the timeout; false on timeout.
bool RunUntil(asio::io_context& io, const std::function<bool()>& done, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    const auto now = Clock::now();
    if (now >= deadline) return false;
    io.run_one_for(deadline - now);
  }
  return true;
}

void RunFor(asio::io_context& io, Clock::duration duration) {
  RunUntil(io, [] { return false; }, duration);
}

// ---------------------------------------------------------------------------
// The run's shared state

struct Published {
  Clock::time_point sent{};
  Clock::time_point acked{};
  Clock::time_point last_received{};
  int status = 0;          // HTTP status of the POST; 0 while in flight or on a transport error
  int received = 0;        // member deliveries so far
  bool measured = false;   // false for warm-up messages
};

class WsClient;

struct Run {
  Flags flags;
  std::string host_header;
  tcp::endpoint server;
  std::vector<Published> published;
  // Per member slot: which messages it has received.
  std::vector<std::vector<bool>> seen;
  std::vector<std::uint32_t> latencies_us;  // measured (message, member) deliveries

  // Connection phase.
  int opened = 0;
  int failed = 0;
  std::string first_failure;
  // During the run.
  long long deliveries = 0;  // first deliveries of a message to a member
  long long duplicates = 0;
  long long out_of_order = 0;
  long long non_member_deliveries = 0;
  long long unknown_frames = 0;
  int member_closes = 0;
  int other_closes = 0;
  std::map<int, int> close_codes;
};

std::string MaskedFrame(std::uint8_t opcode, std::string_view payload) {
  static constexpr unsigned char kMask[4] = {0x5a, 0x13, 0xc7, 0x2e};
  std::string out;
  out.push_back(static_cast<char>(0x80 | opcode));
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>((payload.size() >> 8) & 0xff));
    out.push_back(static_cast<char>(payload.size() & 0xff));
  }
  out.append(reinterpret_cast<const char*>(kMask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(static_cast<unsigned char>(payload[i]) ^ kMask[i % 4]));
  }
  return out;
}

// The integer after `key` in `text`, or -1.
long long NumberAfter(std::string_view text, std::string_view key) {
  const std::size_t at = text.find(key);
  if (at == std::string_view::npos) return -1;
  long long value = 0;
  std::size_t i = at + key.size();
  if (i >= text.size() || text[i] < '0' || text[i] > '9') return -1;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) value = value * 10 + (text[i] - '0');
  return value;
}

// One client WebSocket. Reads with a readiness wait and a shared buffer, so an idle
// connection holds no read buffer; writes only pongs (and the handshake).
class WsClient {
 public:
  WsClient(asio::io_context& io, Run& run, int member) : socket_(io), run_(run), member_(member) {}

  // Connects from `source`, upgrades `target`, waits for `hello`; then calls `opened(ok)`.
  void Open(const asio::ip::address& source, const std::string& target, std::function<void(bool)> opened) {
    opened_ = std::move(opened);
    asio::error_code ec;
    socket_.open(tcp::v4(), ec);
    if (!ec && !source.is_unspecified()) {
      // Choose the port at connect() time, per (source, destination) pair, not at bind().
      const int one = 1;
      ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      socket_.bind(tcp::endpoint(source, 0), ec);
    }
    if (ec) return Failed("socket/bind: " + ec.message());
    out_ = BuildRequest("GET", target, run_.host_header,
                        {"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="},
                        "");
    socket_.async_connect(run_.server, [this](const asio::error_code& error) {
      if (error) return Failed("connect: " + error.message());
      asio::error_code ignored;
      socket_.non_blocking(true, ignored);
      Flush();
      ReadLoop();
    });
  }

  bool open() const { return state_ == State::kOpen; }
  void set_member(int slot) { member_ = slot; }

 private:
  enum class State : std::uint8_t { kHandshake, kHello, kOpen, kClosed };

  static char* ReadBuffer(std::size_t* size) {
    static std::array<char, 256 * 1024> buffer;
    *size = buffer.size();
    return buffer.data();
  }

  void Failed(const std::string& why) {
    if (state_ == State::kClosed) return;
    const bool was_open = state_ == State::kOpen;
    state_ = State::kClosed;
    asio::error_code ignored;
    socket_.close(ignored);
    if (!was_open && opened_) {
      auto opened = std::move(opened_);
      opened_ = nullptr;
      if (run_.first_failure.empty()) run_.first_failure = why;
      opened(false);
    }
  }

  void Closed(int code) {
    if (state_ == State::kClosed) return;
    if (state_ != State::kOpen) return Failed("closed during the handshake, code " + std::to_string(code));
    state_ = State::kClosed;
    asio::error_code ignored;
    socket_.close(ignored);
    ++run_.close_codes[code];
    if (member_ >= 0) {
      ++run_.member_closes;
    } else {
      ++run_.other_closes;
    }
  }

  void Send(std::string bytes) {
    out_ += bytes;
    if (!writing_) Flush();
  }

  void Flush() {
    if (out_.empty() || state_ == State::kClosed) return;
    writing_ = true;
    in_flight_.swap(out_);
    out_.clear();
    asio::async_write(socket_, asio::buffer(in_flight_), [this](const asio::error_code& ec, std::size_t) {
      writing_ = false;
      in_flight_.clear();
      in_flight_.shrink_to_fit();
      if (ec) return state_ == State::kOpen ? Closed(1006) : Failed("write: " + ec.message());
      Flush();
    });
  }

  void ReadLoop() {
    socket_.async_wait(tcp::socket::wait_read, [this](const asio::error_code& ec) {
      if (ec) return state_ == State::kOpen ? Closed(1006) : Failed("wait: " + ec.message());
      if (state_ == State::kClosed) return;
      std::size_t capacity = 0;
      char* buffer = ReadBuffer(&capacity);
      asio::error_code error;
      const std::size_t n = socket_.read_some(asio::buffer(buffer, capacity), error);
      if (error == asio::error::would_block || error == asio::error::try_again) return ReadLoop();
      if (error) return state_ == State::kOpen ? Closed(1006) : Failed("read: " + error.message());
      OnBytes(std::string_view(buffer, n), Clock::now());
      if (state_ != State::kClosed) ReadLoop();
    });
  }

  void OnBytes(std::string_view data, Clock::time_point now) {
    std::string_view view = data;
    if (!pending_.empty()) {
      pending_.append(data);
      view = pending_;
    }
    std::size_t used = 0;
    if (state_ == State::kHandshake) {
      const std::size_t end = view.find("\r\n\r\n");
      if (end == std::string_view::npos) {
        if (pending_.empty()) pending_.assign(data);
        return;
      }
      if (view.substr(0, 12) != "HTTP/1.1 101") {
        return Failed("upgrade refused: " + std::string(view.substr(0, view.find("\r\n"))));
      }
      used = end + 4;
      state_ = State::kHello;
    }
    used += ParseFrames(view.substr(used), now);
    if (state_ == State::kClosed) return;
    if (pending_.empty()) {
      pending_.assign(view.substr(used));
    } else {
      pending_.erase(0, used);
    }
    if (pending_.empty()) pending_.shrink_to_fit();
  }

  // Parses whole frames from `bytes`; returns how many bytes they took.
  std::size_t ParseFrames(std::string_view bytes, Clock::time_point now) {
    std::size_t offset = 0;
    while (state_ != State::kClosed && bytes.size() - offset >= 2) {
      const auto b0 = static_cast<unsigned char>(bytes[offset]);
      const auto b1 = static_cast<unsigned char>(bytes[offset + 1]);
      std::uint64_t length = b1 & 0x7f;
      std::size_t header = 2;
      if (length == 126) header = 4;
      if (length == 127) header = 10;
      if (bytes.size() - offset < header) break;
      if (length >= 126) {
        length = 0;
        for (std::size_t i = 2; i < header; ++i) length = (length << 8) | static_cast<unsigned char>(bytes[offset + i]);
      }
      if ((b1 & 0x80) != 0 || (b0 & 0x80) == 0) {
        Failed("a masked or fragmented server frame");
        return offset;
      }
      if (bytes.size() - offset - header < length) break;
      const std::string_view payload = bytes.substr(offset + header, length);
      offset += header + length;
      OnFrame(b0 & 0x0f, payload, now);
    }
    return offset;
  }

  void OnFrame(int opcode, std::string_view payload, Clock::time_point now) {
    switch (opcode) {
      case 1:  // text
        if (state_ == State::kHello) {
          if (payload.find("\"type\":\"hello\"") == std::string_view::npos) {
            return Failed("the first frame is not hello: " + std::string(payload.substr(0, 120)));
          }
          state_ = State::kOpen;
          auto opened = std::move(opened_);
          opened_ = nullptr;
          if (opened) opened(true);
          return;
        }
        return OnText(payload, now);
      case 8: {  // close
        const int code = payload.size() >= 2
                             ? (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1])
                             : 1005;
        Send(MaskedFrame(8, payload.substr(0, 2)));
        return Closed(code);
      }
      case 9:  // ping: the server closes connections that stay silent
        return Send(MaskedFrame(10, payload));
      case 10:
        return;
      default:
        return Failed("unexpected opcode " + std::to_string(opcode));
    }
  }

  void OnText(std::string_view payload, Clock::time_point now) {
    if (payload.rfind("{\"type\":\"message.created\"", 0) != 0) {
      ++run_.unknown_frames;
      return;
    }
    const long long index = NumberAfter(payload, "\"text\":\"fanout:");
    if (index < 0 || index >= static_cast<long long>(run_.published.size())) {
      ++run_.unknown_frames;
      return;
    }
    if (member_ < 0) {
      ++run_.non_member_deliveries;
      return;
    }
    const long long seq = NumberAfter(payload, "\"seq\":");
    if (seq <= last_seq_) ++run_.out_of_order;
    last_seq_ = std::max(last_seq_, seq);
    auto& seen = run_.seen[static_cast<std::size_t>(member_)];
    const auto i = static_cast<std::size_t>(index);
    if (seen[i]) {
      ++run_.duplicates;
      return;
    }
    seen[i] = true;
    Published& message = run_.published[i];
    ++message.received;
    ++run_.deliveries;
    message.last_received = std::max(message.last_received, now);
    if (message.measured && message.sent != Clock::time_point{}) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - message.sent).count();
      run_.latencies_us.push_back(static_cast<std::uint32_t>(std::max<long long>(0, us)));
    }
  }

  tcp::socket socket_;
  Run& run_;
  int member_;  // slot among the members, -1 when not a member
  State state_ = State::kHandshake;
  bool writing_ = false;
  long long last_seq_ = 0;
  std::string pending_;    // bytes of an incomplete response head or frame
  std::string out_;        // bytes waiting for the write in flight
  std::string in_flight_;  // bytes being written
  std::function<void(bool)> opened_;
};

// ---------------------------------------------------------------------------
// Phases

bool ParseUrl(const std::string& url, Run* run) {
  const std::string prefix = "http://";
  if (url.rfind(prefix, 0) != 0) return false;
  std::string rest = url.substr(prefix.size());
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  std::string host;
  std::string port = "80";
  if (!rest.empty() && rest[0] == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) return false;
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    host = rest.substr(0, colon);
    if (colon != std::string::npos) port = rest.substr(colon + 1);
  }
  asio::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return false;
  const long p = std::strtol(port.c_str(), nullptr, 10);
  if (p <= 0 || p > 65535) return false;
  run->server = tcp::endpoint(address, static_cast<std::uint16_t>(p));
  run->host_header = rest;
  return true;
}

// Sends one request and waits for its answer.
HttpResult Call(asio::io_context& io, HttpConn& conn, const std::string& request) {
  HttpResult out;
  bool done = false;
  conn.Send(request, [&](HttpResult result) {
    out = std::move(result);
    done = true;
  });
  if (!RunUntil(io, [&] { return done; }, std::chrono::seconds(60))) out.error = "timed out";
  return out;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fanout_bench: %s\n", what.c_str());
  std::exit(2);
}

json ExpectJson(const HttpResult& result, const char* what, std::initializer_list<int> statuses) {
  if (result.status == 0) Die(std::string(what) + ": " + result.error);
  if (std::find(statuses.begin(), statuses.end(), result.status) == statuses.end()) {
    Die(std::string(what) + ": HTTP " + std::to_string(result.status) + ": " + result.body.substr(0, 400));
  }
  json body = json::parse(result.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) Die(std::string(what) + ": the answer is not a JSON object");
  return body;
}

std::string StringAt(const json& body, std::initializer_list<const char*> path, const char* what) {
  const json* at = &body;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) Die(std::string(what) + ": no " + key + " in the answer");
    at = &(*at)[key];
  }
  if (!at->is_string()) Die(std::string(what) + ": a field is not a string");
  return at->get<std::string>();
}

struct Session {
  std::string customer_id;
  std::string conversation_id;
  std::string token;
};

// Creates `count` SDK sessions over `flags.http_connections` keep-alive connections.
std::vector<Session> CreateSessions(asio::io_context& io, Run& run, const std::string& pk, int count) {
  std::vector<Session> sessions(static_cast<std::size_t>(count));
  std::vector<std::unique_ptr<HttpConn>> conns;
  const int width = std::min(run.flags.http_connections, count);
  for (int i = 0; i < width; ++i) conns.push_back(std::make_unique<HttpConn>(io, run.server));
  int next = 0;
  int done = 0;
  std::string error;
  const std::string key_header = "X-API-Key: " + pk;
  std::function<void(HttpConn&)> start = [&](HttpConn& conn) {
    if (next >= count || !error.empty()) return;
    const int index = next++;
    const std::string body = "{\"customer\":{\"external_id\":\"fanout-" + std::to_string(index) + "\"}}";
    conn.Send(BuildRequest("POST", "/v1/sdk/sessions", run.host_header, {key_header}, body),
              [&, index, conn_ptr = &conn](HttpResult result) {
                ++done;
                if (result.status != 201) {
                  if (error.empty()) {
                    error = result.status == 0 ? result.error
                                               : "HTTP " + std::to_string(result.status) + ": " + result.body;
                  }
                  return;
                }
                json reply = json::parse(result.body, nullptr, false);
                Session& s = sessions[static_cast<std::size_t>(index)];
                if (reply.is_object() && reply.contains("customer") && reply.contains("conversation") &&
                    reply["session_token"].is_string()) {
                  s.customer_id = reply["customer"].value("id", "");
                  s.conversation_id = reply["conversation"].value("id", "");
                  s.token = reply["session_token"].get<std::string>();
                }
                if (s.customer_id.empty() || s.token.empty()) {
                  if (error.empty()) error = "unexpected session answer: " + result.body.substr(0, 300);
                  return;
                }
                start(*conn_ptr);
              });
  };
  for (auto& conn : conns) start(*conn);
  if (!RunUntil(io, [&] { return !error.empty() || done == count; }, std::chrono::minutes(10))) {
    Die("creating sessions timed out");
  }
  if (!error.empty()) Die("creating sessions: " + error);
  return sessions;
}

// Opens one WebSocket per token, `flags.handshakes` at a time, from the source addresses.
void OpenConnections(asio::io_context& io, Run& run, const std::vector<std::string>& tokens, int first_member_slot,
                     int members, std::vector<std::unique_ptr<WsClient>>* clients) {
  const auto base = asio::ip::make_address_v4("127.0.0.1").to_uint();
  const bool loopback_v4 = run.server.address().is_v4() && run.server.address().is_loopback();
  const int count = static_cast<int>(tokens.size());
  int next = 0;
  int finished = 0;
  std::function<void()> start = [&] {
    if (next >= count) return;
    const int i = next++;
    const int slot = i < members ? first_member_slot + i : -1;
    clients->push_back(std::make_unique<WsClient>(io, run, slot));
    asio::ip::address source;
    if (loopback_v4 && run.flags.source_addresses > 1) {
      source = asio::ip::address_v4(base + static_cast<std::uint32_t>(i % run.flags.source_addresses));
    }
    clients->back()->Open(source, "/v1/ws?token=" + tokens[static_cast<std::size_t>(i)], [&](bool ok) {
      ++finished;
      if (ok) {
        ++run.opened;
      } else {
        ++run.failed;
      }
      start();
    });
  };
  const int width = std::min(run.flags.handshakes, count);
  for (int i = 0; i < width; ++i) start();
  if (!RunUntil(io, [&] { return finished == count; }, std::chrono::minutes(10))) {
    Die("opening WebSocket connections timed out (" + std::to_string(finished) + " of " + std::to_string(count) +
        " finished)");
  }
}

// Posts message `index` now on a free publisher; returns false when none is free.
class Publisher {
 public:
  Publisher(asio::io_context& io, Run& run, std::string conversation_id, std::string sk)
      : io_(io), run_(run), conversation_(std::move(conversation_id)), key_header_("X-API-Key: " + std::move(sk)) {
    for (int i = 0; i < run.flags.publishers; ++i) conns_.push_back(std::make_unique<HttpConn>(io, run.server));
    std::random_device random;
    char tag[9];
    std::snprintf(tag, sizeof tag, "%08x", static_cast<unsigned>(random()));
    run_tag_ = tag;
  }

  // Opens the keep-alive connections so that the first posts do not pay for a connect.
  void Warm() {
    for (auto& conn : conns_) {
      const HttpResult result = Call(io_, *conn, BuildRequest("GET", "/health", run_.host_header, {}, ""));
      if (result.status != 200) Die("GET /health: " + (result.status ? std::to_string(result.status) : result.error));
    }
  }

  // Publishes messages 0 .. total-1 at the given rate; the first `warmup` are not measured.
  void PublishAll(std::size_t total, std::size_t warmup) {
    total_ = total;
    warmup_ = warmup;
    start_ = Clock::now();
    period_ = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / run_.flags.rate));
    asio::steady_timer timer(io_);
    std::function<void()> tick = [&] {
      const auto now = Clock::now();
      while (scheduled_ < total_ && start_ + period_ * static_cast<long>(scheduled_) <= now) {
        due_.push_back(scheduled_++);
      }
      Pump();
      if (scheduled_ < total_) {
        timer.expires_at(start_ + period_ * static_cast<long>(scheduled_));
        timer.async_wait([&](const asio::error_code& ec) {
          if (!ec) tick();
        });
      }
    };
    tick();
    const auto limit = std::chrono::seconds(run_.flags.duration_s + run_.flags.warmup_s + 120);
    RunUntil(io_, [&] { return acked_ == total_; }, limit);
    end_ = Clock::now();
  }

  Clock::duration elapsed() const { return end_ - start_; }
  long long late_starts() const { return late_starts_; }
  long long errors() const { return errors_; }
  const std::string& first_error() const { return first_error_; }

 private:
  void Pump() {
    for (auto& conn : conns_) {
      if (due_.empty()) return;
      if (conn->busy()) continue;
      const std::size_t index = due_.front();
      due_.pop_front();
      Post(*conn, index);
    }
  }

  void Post(HttpConn& conn, std::size_t index) {
    std::string text = "fanout:" + std::to_string(index) + ":";
    text.resize(static_cast<std::size_t>(run_.flags.text_bytes), 'x');
    const std::string body = "{\"text\":\"" + text + "\",\"client_msg_id\":\"fanout-" + run_tag_ + "-" +
                             std::to_string(index) + "\"}";
    Published& message = run_.published[index];
    message.measured = index >= warmup_;
    message.sent = Clock::now();
    if (message.sent - (start_ + period_ * static_cast<long>(index)) > std::chrono::milliseconds(10)) ++late_starts_;
    conn.Send(BuildRequest("POST", "/v1/conversations/" + conversation_ + "/messages", run_.host_header,
                           {key_header_}, body),
              [this, index](HttpResult result) {
                Published& m = run_.published[index];
                m.acked = Clock::now();
                m.status = result.status;
                if (result.status != 201) {
                  ++errors_;
                  if (first_error_.empty()) {
                    first_error_ = result.status == 0 ? result.error
                                                      : "HTTP " + std::to_string(result.status) + ": " +
                                                            result.body.substr(0, 300);
                  }
                }
                ++acked_;
                Pump();
              });
  }

  asio::io_context& io_;
  Run& run_;
  std::string conversation_;
  std::string key_header_;
  std::string run_tag_;
  std::vector<std::unique_ptr<HttpConn>> conns_;
  std::deque<std::size_t> due_;
  std::size_t total_ = 0, warmup_ = 0, scheduled_ = 0, acked_ = 0;
  Clock::time_point start_, end_;
  Clock::duration period_{};
  long long late_starts_ = 0;
  long long errors_ = 0;
  std::string first_error_;
};

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

void RaiseFileLimit(std::size_t needed) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < needed) {
    Die("needs " + std::to_string(needed) + " file descriptors but the limit is " + std::to_string(limit.rlim_cur) +
        "; raise it (ulimit -n) or open fewer connections");
  }
}

}  // namespace

int main(int argc, char** argv) {
  Run run;
  if (!ParseFlags(argc, argv, &run.flags)) return 2;
  const Flags& flags = run.flags;
  if (!ParseUrl(flags.url, &run)) Die("--url must be http://<IP literal>:<port>, not " + flags.url);
  const std::size_t sockets = static_cast<std::size_t>(flags.connections) +
                              (flags.mode == "channel" ? 0 : static_cast<std::size_t>(flags.members));
  RaiseFileLimit(sockets + static_cast<std::size_t>(flags.http_connections + flags.publishers) + 64);

  asio::io_context io(1);
  auto work = asio::make_work_guard(io);

  // --- account, app
  HttpConn setup(io, run.server);
  std::random_device random;
  const std::string email = "fanout-" + std::to_string(random()) + std::to_string(random()) + "@example.com";
  const json account = {{"email", email}, {"password", "correct horse battery staple"}, {"name", "fanout"}};
  json registered =
      ExpectJson(Call(io, setup, BuildRequest("POST", "/v1/auth/register", run.host_header, {}, account.dump())),
                 "POST /v1/auth/register", {201});
  const std::string account_token = StringAt(registered, {"token"}, "register");
  json app = ExpectJson(Call(io, setup,
                             BuildRequest("POST", "/v1/apps", run.host_header,
                                          {"Authorization: Bearer " + account_token}, "{\"name\":\"fanout\"}")),
                        "POST /v1/apps", {201});
  const std::string app_id = StringAt(app, {"app", "id"}, "POST /v1/apps");
  const std::string pk = StringAt(app, {"publishable_key"}, "POST /v1/apps");
  const std::string sk = StringAt(app, {"secret_key"}, "POST /v1/apps");

  // --- sessions (one more than needed: its support conversation carries the
  // fallback's messages, and nobody is connected as that customer)
  auto t0 = Clock::now();
  std::vector<Session> sessions = CreateSessions(io, run, pk, flags.connections + 1);
  const double sessions_s = Seconds(Clock::now() - t0);
  std::printf("setup: %d sessions in %.2f s (%.0f/s)\n", flags.connections + 1, sessions_s,
              (flags.connections + 1) / sessions_s);
  std::fflush(stdout);

  // --- N idle connections, memory before and after
  RunFor(io, std::chrono::milliseconds(flags.settle_ms / 2));
  const long rss_before = flags.server_pid ? ReadVmRssKib(flags.server_pid) : -1;
  std::vector<std::unique_ptr<WsClient>> clients;
  clients.reserve(sockets);
  std::vector<std::string> tokens;
  tokens.reserve(static_cast<std::size_t>(flags.connections));
  for (int i = 0; i < flags.connections; ++i) tokens.push_back(sessions[static_cast<std::size_t>(i)].token);
  const bool account_mode_forced = flags.mode == "account";
  t0 = Clock::now();
  OpenConnections(io, run, tokens, 0, account_mode_forced ? 0 : flags.members, &clients);
  const double connect_s = Seconds(Clock::now() - t0);
  std::printf("setup: %d WebSocket connections opened in %.2f s (%.0f/s), %d failed%s%s\n", run.opened, connect_s,
              run.opened / connect_s, run.failed, run.failed ? ", first: " : "", run.first_failure.c_str());
  std::fflush(stdout);
  if (run.failed > 0) Die("not every connection opened");
  RunFor(io, std::chrono::milliseconds(flags.settle_ms));
  const long rss_after = flags.server_pid ? ReadVmRssKib(flags.server_pid) : -1;

  // --- the channel, or the fallback
  std::string mode = "channel";
  std::string conversation_id;
  if (!account_mode_forced) {
    json members = json::array();
    for (int i = 0; i < flags.members; ++i) {
      members.push_back({{"id", sessions[static_cast<std::size_t>(i)].customer_id}});
    }
    const HttpResult created =
        Call(io, setup,
             BuildRequest("POST", "/v1/apps/" + app_id + "/conversations", run.host_header, {"X-API-Key: " + sk},
                          json{{"type", "channel"}, {"name", "bench"}, {"members", std::move(members)}}.dump()));
    if (created.status == 200 || created.status == 201) {
      json body = ExpectJson(created, "POST /v1/apps/{app_id}/conversations", {200, 201});
      conversation_id = StringAt(body, {"id"}, "POST /v1/apps/{app_id}/conversations");
    } else if ((created.status == 404 || created.status == 405) && flags.mode == "auto") {
      std::printf("channel: POST /v1/apps/{app_id}/conversations answered %d (%s): using the account fallback\n",
                  created.status, created.body.substr(0, 160).c_str());
      mode = "account";
    } else {
      ExpectJson(created, "POST /v1/apps/{app_id}/conversations (type channel)", {201});
    }
  } else {
    mode = "account";
  }
  run.seen.resize(static_cast<std::size_t>(flags.members));
  if (mode == "account") {
    // The members are M connections of the owner account; customer N's support
    // conversation carries the messages.
    conversation_id = sessions.back().conversation_id;
    for (auto& client : clients) client->set_member(-1);
    run.opened = run.failed = 0;
    std::vector<std::string> account_tokens(static_cast<std::size_t>(flags.members), account_token);
    OpenConnections(io, run, account_tokens, 0, flags.members, &clients);
    if (run.failed > 0) {
      Die("opening the account connections: " + run.first_failure +
          " (the server caps connections per principal: start it with --ws-max-per-principal >= --members)");
    }
  }

  // --- publish
  const auto warmup = static_cast<std::size_t>(std::llround(flags.rate * flags.warmup_s));
  const auto measured = std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(flags.rate * flags.duration_s)));
  const std::size_t total = warmup + measured;
  run.published.resize(total);
  for (auto& seen : run.seen) seen.assign(total, false);
  run.latencies_us.reserve(measured * static_cast<std::size_t>(flags.members));
  Publisher publisher(io, run, conversation_id, sk);
  publisher.Warm();
  const double server_cpu_before = flags.server_pid ? ReadCpuSeconds(flags.server_pid) : -1;
  const double own_cpu_before = OwnCpuSeconds();
  publisher.PublishAll(total, warmup);
  // Deliveries still on their way.
  auto expected_for = [&](const Published& m) { return m.status == 201 ? flags.members : 0; };
  long long expected_total = 0;
  for (const Published& m : run.published) expected_total += expected_for(m);
  RunUntil(io,
           [&] {
             // Cheap test first: the scan runs only once enough deliveries arrived.
             if (run.deliveries < expected_total) return false;
             for (const Published& m : run.published) {
               if (m.received < expected_for(m)) return false;
             }
             return true;
           },
           std::chrono::seconds(flags.drain_s));
  const double server_cpu = flags.server_pid ? ReadCpuSeconds(flags.server_pid) - server_cpu_before : -1;
  const double own_cpu = OwnCpuSeconds() - own_cpu_before;
  const double publish_s = Seconds(publisher.elapsed());
  RunFor(io, std::chrono::milliseconds(200));  // late duplicates, if any

  // --- figures
  long long expected = 0, received = 0, full_100ms = 0, full = 0, acked = 0;
  std::vector<double> ack_ms, full_ms;
  for (const Published& m : run.published) {
    if (!m.measured) continue;
    if (m.status == 201) {
      ++acked;
      ack_ms.push_back(Millis(m.acked - m.sent));
    }
    expected += expected_for(m);
    received += std::min(m.received, expected_for(m));
    if (m.status == 201 && m.received >= flags.members) {
      ++full;
      const double ms = Millis(m.last_received - m.sent);
      full_ms.push_back(ms);
      if (ms <= 100.0) ++full_100ms;
    }
  }
  const long long lost = expected - received;
  std::vector<double> latency_ms(run.latencies_us.size());
  std::transform(run.latencies_us.begin(), run.latencies_us.end(), latency_ms.begin(),
                 [](std::uint32_t us) { return us / 1000.0; });
  std::sort(latency_ms.begin(), latency_ms.end());
  std::sort(ack_ms.begin(), ack_ms.end());
  std::sort(full_ms.begin(), full_ms.end());
  int open_members = 0;
  for (const auto& client : clients) open_members += client->open() ? 1 : 0;

  std::printf("\n== fanout_bench %s  mode=%s\n", flags.url.c_str(), mode.c_str());
  std::printf("%-50s %s\n", "parameter / figure", "value");
  auto row = [](const char* name, const std::string& value) { std::printf("%-50s %s\n", name, value.c_str()); };
  auto fmt = [](const char* format, auto... args) {
    char buffer[256];
    std::snprintf(buffer, sizeof buffer, format, args...);
    return std::string(buffer);
  };
  row("connections N (customers, idle except members)", fmt("%d (source addresses: %d)", flags.connections,
                                                           flags.source_addresses));
  row("members M", fmt("%d%s", flags.members, mode == "account" ? " (owner-account connections, extra)" : ""));
  row("rate R, duration D (+ warm-up)", fmt("%.2f msg/s, %d s (+%d s)", flags.rate, flags.duration_s, flags.warmup_s));
  if (rss_before >= 0 && rss_after >= 0) {
    row("server VmRSS before / with N idle connections",
        fmt("%.1f MiB / %.1f MiB", rss_before / 1024.0, rss_after / 1024.0));
    row("server memory per idle connection",
        fmt("%.2f KiB", static_cast<double>(rss_after - rss_before) / flags.connections));
  }
  row("messages posted (measured)", fmt("%lld acked 201, %lld errors%s%s", acked,
                                        static_cast<long long>(measured) - acked,
                                        publisher.first_error().empty() ? "" : ", first: ",
                                        publisher.first_error().substr(0, 120).c_str()));
  row("achieved post rate", fmt("%.2f msg/s (%lld posts started >10 ms late)",
                                total / std::max(publish_s, 1e-9), publisher.late_starts()));
  row("POST -> 201 latency p50 / p99", fmt("%.2f ms / %.2f ms", Percentile(ack_ms, 50), Percentile(ack_ms, 99)));
  row("deliveries expected / received", fmt("%lld / %lld", expected, received));
  row("messages lost (deliveries)", fmt("%lld", lost));
  row("duplicates / seq order violations", fmt("%lld / %lld", run.duplicates, run.out_of_order));
  row("deliveries to non-members / other events", fmt("%lld / %lld", run.non_member_deliveries, run.unknown_frames));
  row("publish -> receive p50", fmt("%.2f ms", Percentile(latency_ms, 50)));
  row("publish -> receive p99", fmt("%.2f ms", Percentile(latency_ms, 99)));
  row("publish -> receive max", fmt("%.2f ms", latency_ms.empty() ? 0.0 : latency_ms.back()));
  row("publish -> last member p50 / p99", fmt("%.2f ms / %.2f ms", Percentile(full_ms, 50), Percentile(full_ms, 99)));
  row("broadcasts fully delivered within 100 ms",
      fmt("%lld / %lld (%.2f%%)", full_100ms, acked, acked ? 100.0 * full_100ms / acked : 0.0));
  row("connections closed by the server",
      fmt("%d members, %d others (of %zu open at the end)", run.member_closes, run.other_closes,
          static_cast<std::size_t>(open_members)));
  for (const auto& [code, count] : run.close_codes) row("  close code", fmt("%d x %d", code, count));
  if (server_cpu >= 0) {
    row("server CPU while publishing", fmt("%.2f s (%.2f cores)", server_cpu, server_cpu / std::max(publish_s, 1e-9)));
  }
  row("client CPU while publishing", fmt("%.2f s (%.2f cores)", own_cpu, own_cpu / std::max(publish_s, 1e-9)));
  std::fflush(stdout);
  const bool ok = lost == 0 && run.duplicates == 0 && run.out_of_order == 0 && run.member_closes == 0 &&
                  run.non_member_deliveries == 0 && acked == static_cast<long long>(measured);
  std::printf("verdict: %s\n", ok ? "OK" : "FAILED (lost, duplicated or reordered deliveries, errors or closes)");
  std::fflush(stdout);
  std::_Exit(ok ? 0 : 1);  // skip tearing down thousands of sockets
}
