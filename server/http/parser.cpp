#include "server/http/parser.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

namespace libchat::server::http {
namespace {

// A chunk-size line with its extensions; extensions are ignored, so there is no reason to accept long ones.
constexpr std::size_t kMaxChunkLineBytes = 4096;
// Body capacity reserved up front: a Content-Length alone must not turn a small head into a 1 MiB allocation.
constexpr std::size_t kMaxBodyReserve = 64 * 1024;

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), IsTokenChar);
}

// field-value characters: HTAB, SP, VCHAR, obs-text. Everything else (NUL, CR, LF, DEL, ...) is rejected.
bool IsFieldValueChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

// request-target characters: visible ASCII only.
bool IsTargetChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(element) for each non-empty, trimmed element of a comma-separated list.
template <typename Fn>
void ForEachListElement(std::string_view value, Fn&& fn) {
  while (true) {
    std::size_t comma = value.find(',');
    std::string_view element = TrimOws(value.substr(0, comma));
    if (!element.empty()) fn(element);
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

// Checks "name: value" syntax. On success fills name/value (value trimmed).
bool SplitFieldLine(std::string_view line, std::string_view& name, std::string_view& value) {
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  name = line.substr(0, colon);
  // Also rejects whitespace between name and colon (RFC 9112 §5.1 requires a 400 for it).
  if (!IsToken(name)) return false;
  value = TrimOws(line.substr(colon + 1));
  return std::all_of(value.begin(), value.end(), IsFieldValueChar);
}

}  // namespace

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {}

void RequestParser::Reset() {
  state_ = State::kNeedMore;
  phase_ = Phase::kHead;
  headers_complete_ = false;
  error_status_ = 0;
  error_message_.clear();
  request_ = Request{};
  head_.clear();
  scan_pos_ = 0;
  line_.clear();
  trailer_bytes_ = 0;
  remaining_ = 0;
}

Request RequestParser::TakeRequest() { return std::move(request_); }

void RequestParser::Complete() {
  state_ = State::kComplete;
  phase_ = Phase::kDone;
}

void RequestParser::Fail(int status, const char* message) {
  state_ = State::kError;
  phase_ = Phase::kDone;
  error_status_ = status;
  error_message_ = message;
}

std::size_t RequestParser::Feed(std::string_view data) {
  std::size_t consumed = 0;
  while (state_ == State::kNeedMore && consumed < data.size()) {
    std::string_view rest = data.substr(consumed);
    switch (phase_) {
      case Phase::kHead:
        consumed += FeedHead(rest);
        break;
      case Phase::kFixedBody:
      case Phase::kChunkData: {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
        request_.body.append(rest.data(), n);
        remaining_ -= n;
        consumed += n;
        if (remaining_ == 0) {
          if (phase_ == Phase::kFixedBody) {
            Complete();
          } else {
            phase_ = Phase::kChunkDataCR;
          }
        }
        break;
      }
      case Phase::kChunkDataCR:
        ++consumed;
        if (rest[0] == '\r') {
          phase_ = Phase::kChunkDataLF;
        } else if (rest[0] == '\n') {
          phase_ = Phase::kChunkSize;
        } else {
          Fail(400, "malformed chunked body");
        }
        break;
      case Phase::kChunkDataLF:
        ++consumed;
        if (rest[0] == '\n') {
          phase_ = Phase::kChunkSize;
        } else {
          Fail(400, "malformed chunked body");
        }
        break;
      case Phase::kChunkSize:
      case Phase::kTrailers:
        consumed += FeedChunkLine(rest);
        break;
      case Phase::kDone:
        return consumed;
    }
  }
  return consumed;
}

std::size_t RequestParser::FeedHead(std::string_view data) {
  std::size_t consumed = 0;
  if (head_.empty()) {
    // Robustness (RFC 9112 §2.2): ignore empty lines before the request line, e.g. a CRLF a client sent
    // after a previous body.
    while (consumed < data.size() && (data[consumed] == '\r' || data[consumed] == '\n')) ++consumed;
    if (consumed == data.size()) return consumed;
    // Fail fast on bytes that cannot start a request (a TLS ClientHello on the plain port, binary garbage)
    // rather than waiting for the header limit or a timeout.
    if (!IsTokenChar(data[consumed])) {
      Fail(400, "malformed request line");
      return consumed;
    }
  }

  const std::size_t old_size = head_.size();
  const std::size_t room = limits_.max_header_bytes - old_size;
  const std::size_t take = std::min(room, data.size() - consumed);
  head_.append(data.data() + consumed, take);

  // Look for the blank line ending the head: "\n\n" or "\n\r\n" (CRLF and bare LF endings, even mixed).
  // scan_pos_ keeps byte-by-byte input linear: a '\n' is re-examined only while its next bytes are missing.
  std::size_t head_end = std::string::npos;
  std::size_t p = scan_pos_;
  while (true) {
    p = head_.find('\n', p);
    if (p == std::string::npos) {
      scan_pos_ = head_.size();
      break;
    }
    if (p + 1 >= head_.size()) {
      scan_pos_ = p;
      break;
    }
    if (head_[p + 1] == '\n') {
      head_end = p + 2;
      break;
    }
    if (head_[p + 1] == '\r') {
      if (p + 2 >= head_.size()) {
        scan_pos_ = p;
        break;
      }
      if (head_[p + 2] == '\n') {
        head_end = p + 3;
        break;
      }
    }
    ++p;
  }

  if (head_end == std::string::npos) {
    if (head_.size() >= limits_.max_header_bytes) {
      Fail(431, "request header section too large");
    }
    return consumed + take;
  }
  // The blank line was not complete before this call, so it ends inside the bytes just appended.
  consumed += head_end - old_size;
  ParseHead(head_end);
  return consumed;
}

void RequestParser::ParseHead(std::size_t head_end) {
  std::string_view head(head_.data(), head_end);
  request_.headers.reserve(16);
  std::size_t pos = 0;
  bool first = true;
  while (pos < head.size()) {
    std::size_t nl = head.find('\n', pos);  // never npos: the head ends with '\n'
    std::string_view line = head.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      if (!ParseRequestLine(line)) return;
      first = false;
      continue;
    }
    if (line.empty()) break;
    if (!ParseHeaderLine(line)) return;
  }
  headers_complete_ = true;
  DecideBodyFraming();
}

bool RequestParser::ParseRequestLine(std::string_view line) {
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) {
    Fail(400, "malformed request line");
    return false;
  }
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) {
    Fail(400, "malformed request line");
    return false;
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);

  if (!IsToken(method)) {
    Fail(400, "invalid method");
    return false;
  }
  if (target.empty() || !std::all_of(target.begin(), target.end(), IsTargetChar)) {
    Fail(400, "invalid request target");
    return false;
  }
  // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !IsDigit(version[5]) || version[6] != '.' ||
      !IsDigit(version[7])) {
    Fail(400, "malformed request line");
    return false;
  }
  if (version[5] != '1') {
    Fail(505, "only HTTP/1.x is supported");
    return false;
  }

  std::string_view raw_path = target;
  std::string_view query;
  if (target == "*") {
    if (method != "OPTIONS") {
      Fail(400, "invalid request target");
      return false;
    }
  } else if (target.front() != '/') {
    // Absolute-form is for proxies, authority-form for CONNECT: neither is served here.
    Fail(400, "invalid request target");
    return false;
  } else {
    std::size_t question = target.find('?');
    if (question != std::string_view::npos) {
      raw_path = target.substr(0, question);
      query = target.substr(question + 1);
    }
  }
  std::optional<std::string> path = PercentDecode(raw_path, false);
  if (!path) {
    Fail(400, "invalid percent-encoding in request target");
    return false;
  }

  request_.method.assign(method);
  request_.target.assign(target);
  request_.path = std::move(*path);
  request_.query.assign(query);
  request_.version_minor = version[7] - '0';
  return true;
}

bool RequestParser::ParseHeaderLine(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    Fail(400, "obsolete header line folding");
    return false;
  }
  std::string_view name;
  std::string_view value;
  if (!SplitFieldLine(line, name, value)) {
    Fail(400, "malformed header field");
    return false;
  }
  if (request_.headers.size() >= limits_.max_headers) {
    Fail(431, "too many header fields");
    return false;
  }
  request_.headers.push_back(Header{std::string(name), std::string(value)});
  return true;
}

void RequestParser::DecideBodyFraming() {
  bool has_content_length = false;
  bool bad_content_length = false;
  std::uint64_t content_length = 0;
  bool has_transfer_encoding = false;
  int transfer_codings = 0;
  bool chunked_last = false;
  bool chunked_not_last = false;
  int host_count = 0;

  for (const Header& header : request_.headers) {
    if (EqualsIgnoreCase(header.name, "content-length")) {
      // "Content-Length: 5, 5" or two identical headers are tolerated (RFC 9110 §8.6); anything else is not.
      bool any = false;
      ForEachListElement(header.value, [&](std::string_view element) {
        any = true;
        std::uint64_t value = 0;
        for (char c : element) {
          if (!IsDigit(c)) {
            bad_content_length = true;
            return;
          }
          auto digit = static_cast<std::uint64_t>(c - '0');
          if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            bad_content_length = true;
            return;
          }
          value = value * 10 + digit;
        }
        if (has_content_length && value != content_length) bad_content_length = true;
        has_content_length = true;
        content_length = value;
      });
      if (!any) bad_content_length = true;
    } else if (EqualsIgnoreCase(header.name, "transfer-encoding")) {
      has_transfer_encoding = true;
      ForEachListElement(header.value, [&](std::string_view element) {
        if (chunked_last) chunked_not_last = true;  // something follows "chunked"
        ++transfer_codings;
        chunked_last = EqualsIgnoreCase(element, "chunked");
      });
    } else if (EqualsIgnoreCase(header.name, "host")) {
      ++host_count;
    }
  }

  if (host_count > 1) {
    Fail(400, "multiple Host headers");
    return;
  }
  if (has_transfer_encoding) {
    if (has_content_length || bad_content_length) {
      Fail(400, "both Content-Length and Transfer-Encoding");
      return;
    }
    if (request_.version_minor == 0) {
      // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means the framing is faulty.
      Fail(400, "Transfer-Encoding in an HTTP/1.0 request");
      return;
    }
    if (transfer_codings == 0 || chunked_not_last) {
      Fail(400, "invalid Transfer-Encoding");
      return;
    }
    if (!chunked_last || transfer_codings > 1) {
      Fail(501, "unsupported transfer-coding");
      return;
    }
    phase_ = Phase::kChunkSize;
    return;
  }
  if (bad_content_length) {
    Fail(400, "invalid Content-Length");
    return;
  }
  if (has_content_length && content_length > 0) {
    if (content_length > limits_.max_body_bytes) {
      Fail(413, "request body too large");
      return;
    }
    remaining_ = content_length;
    request_.body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(content_length, kMaxBodyReserve)));
    phase_ = Phase::kFixedBody;
    return;
  }
  Complete();  // no body
}

std::size_t RequestParser::FeedChunkLine(std::string_view data) {
  const std::size_t nl = data.find('\n');
  const std::size_t segment = nl == std::string_view::npos ? data.size() : nl;
  const std::size_t consumed = nl == std::string_view::npos ? data.size() : nl + 1;

  if (phase_ == Phase::kTrailers) {
    trailer_bytes_ += consumed;
    if (trailer_bytes_ > limits_.max_header_bytes) {
      Fail(431, "trailer section too large");
      return consumed;
    }
  } else if (line_.size() + segment > kMaxChunkLineBytes) {
    Fail(400, "chunk header too long");
    return consumed;
  }
  line_.append(data.data(), segment);
  if (nl == std::string_view::npos) return consumed;

  std::string_view line = line_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (phase_ == Phase::kChunkSize) {
    HandleChunkSizeLine(line);
  } else {
    HandleTrailerLine(line);
  }
  line_.clear();
  return consumed;
}

bool RequestParser::HandleChunkSizeLine(std::string_view line) {
  // chunk-size [ BWS ";" chunk-ext ]; the size is hex, at least one digit, no sign or leading space.
  std::size_t i = 0;
  std::uint64_t size = 0;
  const std::uint64_t room = limits_.max_body_bytes - request_.body.size();
  bool too_large = false;
  for (; i < line.size(); ++i) {
    int digit = HexDigit(line[i]);
    if (digit < 0) break;
    // Keep scanning the digits for syntax, but stop accumulating once over the limit (no overflow).
    if (!too_large) {
      size = size * 16 + static_cast<std::uint64_t>(digit);
      if (size > room) too_large = true;
    }
  }
  if (i == 0) {
    Fail(400, "malformed chunk size");
    return false;
  }
  std::string_view extensions = line.substr(i);
  while (!extensions.empty() && (extensions.front() == ' ' || extensions.front() == '\t')) {
    extensions.remove_prefix(1);
  }
  if (!extensions.empty() &&
      (extensions.front() != ';' || !std::all_of(extensions.begin(), extensions.end(), IsFieldValueChar))) {
    Fail(400, "malformed chunk size");
    return false;
  }
  if (too_large) {
    Fail(413, "request body too large");
    return false;
  }
  if (size == 0) {
    phase_ = Phase::kTrailers;
    trailer_bytes_ = 0;
    return true;
  }
  remaining_ = size;
  phase_ = Phase::kChunkData;
  return true;
}

bool RequestParser::HandleTrailerLine(std::string_view line) {
  if (line.empty()) {
    Complete();
    return true;
  }
  // Trailers are checked like headers and then dropped: nothing in the server needs them, and merging them
  // into the headers would let a body-time field override a checked one.
  std::string_view name;
  std::string_view value;
  if (line.front() == ' ' || line.front() == '\t' || !SplitFieldLine(line, name, value)) {
    Fail(400, "malformed trailer field");
    return false;
  }
  return true;
}

}  // namespace libchat::server::http
