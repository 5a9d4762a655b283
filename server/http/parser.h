// Incremental HTTP/1.1 request parser: a pure state machine over bytes, no I/O.
//
// The connection feeds whatever it read; the parser consumes up to the end of one request and leaves the
// rest (a pipelined request, or WebSocket frames after an upgrade) with the caller. Memory is bounded by the
// limits whatever the input: the head is buffered up to max_header_bytes, the body up to max_body_bytes.
//
// Deliberately strict, because a lenient parser in front of (or behind) another one is how requests get
// smuggled: obs-fold, whitespace before the colon, Content-Length together with Transfer-Encoding,
// conflicting Content-Lengths, transfer-codings other than a single "chunked", and Transfer-Encoding in
// HTTP/1.0 are all errors. Tolerated: bare LF line endings, empty lines before the request line (RFC 9112
// §2.2), repeated identical Content-Length values, chunk extensions (ignored) and trailers (validated, then
// discarded). A missing Host header is not an error here (a duplicate one is).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/http/request.h"

namespace libchat::server::http {

struct ParserLimits {
  std::size_t max_header_bytes = 16 * 1024;  // request line + headers -> 431 when exceeded (trailers too)
  std::size_t max_headers = 100;             // -> 431
  std::size_t max_body_bytes = 1024 * 1024;  // Content-Length or de-chunked size -> 413
};

class RequestParser {
 public:
  enum class State { kNeedMore, kComplete, kError };

  explicit RequestParser(ParserLimits limits = {});

  // Consumes bytes from `data`, returns how many were consumed. Stops consuming at the end of one complete
  // request (the rest stays with the caller: pipelining). Call again with more bytes while kNeedMore.
  // Consumes nothing once kComplete or kError.
  std::size_t Feed(std::string_view data);
  State state() const { return state_; }

  // When kError: the HTTP status to answer with (400 malformed, 413 body too large, 431 headers too large,
  // 501 unsupported transfer-coding, 505 bad version) and a short message that is safe to send back (it never
  // quotes the input). The connection should be closed after answering: the framing is lost.
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

  // When kComplete: moves the request out. Then call Reset() before parsing the next request.
  Request TakeRequest();
  // Ready for the next request; keeps buffer capacity so keep-alive connections do not reallocate.
  void Reset();

  // True once the head (request line + headers) of the current request was parsed, until Reset(). With
  // kNeedMore this means the body is still being received; a Content-Length over the limit moves to kError
  // (413) right after the headers, with this already true.
  bool HeadersComplete() const { return headers_complete_; }
  // The request as parsed so far: method, target, headers are valid once HeadersComplete() (e.g. to answer
  // "Expect: 100-continue" or to reject early); body is partial until kComplete.
  const Request& request() const { return request_; }

 private:
  enum class Phase {
    kHead,           // buffering the request line + headers into head_
    kFixedBody,      // Content-Length body
    kChunkSize,      // buffering a chunk-size line (with extensions) into line_
    kChunkData,      // chunk payload
    kChunkDataCR,    // the CRLF (or LF) that ends a chunk's data
    kChunkDataLF,
    kTrailers,       // buffering trailer lines into line_ until an empty line
    kDone,
  };

  std::size_t FeedHead(std::string_view data);
  std::size_t FeedChunkLine(std::string_view data);
  // Parses head_[0, head_end) into request_ and decides the body framing.
  void ParseHead(std::size_t head_end);
  bool ParseRequestLine(std::string_view line);
  bool ParseHeaderLine(std::string_view line);
  void DecideBodyFraming();
  bool HandleChunkSizeLine(std::string_view line);
  bool HandleTrailerLine(std::string_view line);
  void Complete();
  void Fail(int status, const char* message);

  ParserLimits limits_;
  State state_ = State::kNeedMore;
  Phase phase_ = Phase::kHead;
  bool headers_complete_ = false;
  int error_status_ = 0;
  std::string error_message_;

  Request request_;
  std::string head_;            // raw head bytes, capped at max_header_bytes
  std::size_t scan_pos_ = 0;    // where the search for the blank line resumes in head_
  std::string line_;            // a chunk-size or trailer line being assembled (bounded)
  std::size_t trailer_bytes_ = 0;
  std::uint64_t remaining_ = 0;  // bytes left in the fixed body or the current chunk
};

}  // namespace libchat::server::http
