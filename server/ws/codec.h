// RFC 6455 WebSocket framing: an incremental frame parser that reassembles fragmented messages, and encoders.
// Pure (no I/O); only AcceptKey touches OpenSSL. No extensions are negotiated, so RSV bits are always errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/fifo.h"

namespace libchat::server::ws {

enum class Opcode : std::uint8_t {
  kContinuation = 0,
  kText = 1,
  kBinary = 2,
  kClose = 8,
  kPing = 9,
  kPong = 10,
};

namespace close_code {
constexpr std::uint16_t kNormal = 1000, kGoingAway = 1001, kProtocolError = 1002, kUnsupported = 1003,
                        kNoStatus = 1005,  // never sent: "the close frame had no payload"
                        kInvalidPayload = 1007, kPolicyViolation = 1008, kTooBig = 1009,
                        kInternalError = 1011, kTryAgainLater = 1013;
}  // namespace close_code

// A whole (de-fragmented) data message (kText/kBinary) or one control frame (kClose/kPing/kPong). A close
// message's payload is the raw close body (2-byte code + reason, or empty); see ParseClosePayload.
struct Message {
  Opcode opcode;
  std::string payload;
};

class FrameParser {
 public:
  // Server side expects masked frames (require_mask=true) and rejects unmasked ones; a client (tests) expects
  // unmasked ones (require_mask=false) and rejects masked ones, as RFC 6455 §5.1 requires of both ends.
  FrameParser(std::size_t max_message_bytes, bool require_mask);

  // Consumes bytes, returns how many were consumed (all of them unless the stream fails). Completed messages
  // queue up; fetch them with Next(). Once failed() nothing more is consumed.
  std::size_t Feed(std::string_view data);
  std::optional<Message> Next();

  bool failed() const { return failed_; }
  // Why it failed, as the close code to send: 1002 protocol, 1007 bad UTF-8 in text or close reason,
  // 1009 too big. 0 while not failed.
  std::uint16_t close_code() const { return close_code_; }
  const std::string& error_message() const { return error_message_; }

 private:
  void Fail(std::uint16_t code, const char* message);
  // Validates the buffered header; prepares payload reception. False once failed.
  bool StartFrame();
  void FinishFrame();

  std::size_t max_message_bytes_;
  bool require_mask_;
  bool failed_ = false;
  std::uint16_t close_code_ = 0;
  std::string error_message_;
  Fifo<Message> ready_;  // owns no memory until a message is ready (one per idle connection)

  // Current frame header.
  unsigned char header_[14] = {};
  std::size_t header_len_ = 0;
  std::size_t header_needed_ = 2;  // grows to the full header length once the first two bytes are known
  bool in_payload_ = false;
  bool fin_ = false;
  Opcode opcode_ = Opcode::kContinuation;
  bool masked_ = false;
  unsigned char mask_[4] = {};
  std::uint64_t payload_remaining_ = 0;
  std::size_t mask_offset_ = 0;  // payload bytes of this frame already unmasked (mask phase)

  // Reassembly: a data message in progress spans frames; a control frame may arrive between its fragments.
  bool in_message_ = false;
  Opcode message_opcode_ = Opcode::kText;
  std::string message_;
  std::string control_;
  // Where the current frame's payload goes: control_ or message_. A flag rather than a pointer so the parser
  // stays safely copyable and movable.
  bool control_frame_ = false;
  std::string& Sink() { return control_frame_ ? control_ : message_; }
};

// Server->client frame, unmasked, FIN set. Build the bytes once and share them among connections.
std::string EncodeFrame(Opcode opcode, std::string_view payload);
// A close frame; the reason is cut (at a UTF-8 character boundary) so the payload fits in 125 bytes.
std::string EncodeClose(std::uint16_t code, std::string_view reason);
// Client->server frame with the given 4-byte mask (big-endian: 0x11223344 masks with 11 22 33 44), for tests
// and test clients. fin=false with kText/kBinary then kContinuation frames builds a fragmented message.
std::string EncodeMaskedFrame(Opcode opcode, std::string_view payload, std::uint32_t mask_key,
                              bool fin = true);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (SHA-1 + base64, via OpenSSL; the only non-pure function).
std::string AcceptKey(std::string_view sec_websocket_key);

// The code and reason of a close payload as delivered by FrameParser (already validated there):
// {1005, ""} for an empty payload.
struct ClosePayload {
  std::uint16_t code = close_code::kNoStatus;
  std::string_view reason;
};
ClosePayload ParseClosePayload(std::string_view payload);

// Well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace libchat::server::ws
