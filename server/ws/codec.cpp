#include "server/ws/codec.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace libchat::server::ws {
namespace {

// Capacity reserved from a frame header's announced length: the length is attacker-chosen, the bytes may
// never come, so grow with what actually arrives beyond this.
constexpr std::size_t kMaxReserve = 64 * 1024;
constexpr std::size_t kMaxControlPayload = 125;

bool IsControl(Opcode opcode) { return (static_cast<std::uint8_t>(opcode) & 0x8) != 0; }

bool IsKnownOpcode(std::uint8_t op) { return op <= 2 || (op >= 8 && op <= 10); }

// Codes a peer may send in a close frame (RFC 6455 §7.4 + the IANA registry); 1004-1006 and 1015 are
// reserved for local use and never appear on the wire.
bool IsValidWireCloseCode(std::uint16_t code) {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

void AppendLength(std::string& out, std::uint8_t first_bits, std::size_t length) {
  if (length < 126) {
    out.push_back(static_cast<char>(first_bits | length));
  } else if (length <= 0xFFFF) {
    out.push_back(static_cast<char>(first_bits | 126));
    out.push_back(static_cast<char>((length >> 8) & 0xFF));
    out.push_back(static_cast<char>(length & 0xFF));
  } else {
    out.push_back(static_cast<char>(first_bits | 127));
    auto value = static_cast<std::uint64_t>(length);
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* end = p + text.size();
  while (p < end) {
    // ASCII fast path, 8 bytes at a time.
    if (end - p >= 8) {
      std::uint64_t chunk;
      std::memcpy(&chunk, p, 8);
      if ((chunk & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t extra;
    unsigned char min_second = 0x80;  // bounds on the second byte rule out overlongs, surrogates, > U+10FFFF
    unsigned char max_second = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      if (c == 0xE0) min_second = 0xA0;
      if (c == 0xED) max_second = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      if (c == 0xF0) min_second = 0x90;
      if (c == 0xF4) max_second = 0x8F;
    } else {
      return false;  // continuation byte as lead, 0xC0/0xC1 overlong leads, 0xF5..0xFF
    }
    if (static_cast<std::size_t>(end - p) <= extra) return false;
    if (p[1] < min_second || p[1] > max_second) return false;
    for (std::size_t i = 2; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
    }
    p += extra + 1;
  }
  return true;
}

FrameParser::FrameParser(std::size_t max_message_bytes, bool require_mask)
    : max_message_bytes_(max_message_bytes), require_mask_(require_mask) {}

void FrameParser::Fail(std::uint16_t code, const char* message) {
  failed_ = true;
  close_code_ = code;
  error_message_ = message;
}

std::optional<Message> FrameParser::Next() {
  if (ready_.empty()) return std::nullopt;
  Message message = std::move(ready_.front());
  ready_.pop_front();
  return message;
}

std::size_t FrameParser::Feed(std::string_view data) {
  std::size_t consumed = 0;
  while (!failed_ && consumed < data.size()) {
    if (!in_payload_) {
      while (header_len_ < header_needed_ && consumed < data.size()) {
        header_[header_len_++] = static_cast<unsigned char>(data[consumed++]);
      }
      if (header_len_ < header_needed_) break;
      if (header_len_ == 2) {
        // Check what the first two bytes can tell before waiting for the extended length and mask.
        const unsigned char b0 = header_[0];
        const unsigned char b1 = header_[1];
        if ((b0 & 0x70) != 0) {
          Fail(close_code::kProtocolError, "reserved bits set");
          break;
        }
        if (!IsKnownOpcode(b0 & 0x0F)) {
          Fail(close_code::kProtocolError, "unknown opcode");
          break;
        }
        const bool masked = (b1 & 0x80) != 0;
        if (masked != require_mask_) {
          Fail(close_code::kProtocolError, require_mask_ ? "unmasked client frame" : "masked server frame");
          break;
        }
        const unsigned len7 = b1 & 0x7F;
        if ((b0 & 0x08) != 0) {
          if ((b0 & 0x80) == 0) {
            Fail(close_code::kProtocolError, "fragmented control frame");
            break;
          }
          if (len7 > kMaxControlPayload) {
            Fail(close_code::kProtocolError, "control frame too long");
            break;
          }
        }
        header_needed_ = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0);
        if (header_len_ < header_needed_) continue;
      }
      if (!StartFrame()) break;
      continue;
    }
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(payload_remaining_, data.size() - consumed));
    std::string& sink = Sink();
    const std::size_t start = sink.size();
    sink.append(data.data() + consumed, n);
    if (masked_) {
      char* out = &sink[start];
      for (std::size_t i = 0; i < n; ++i) {
        out[i] = static_cast<char>(static_cast<unsigned char>(out[i]) ^ mask_[(mask_offset_ + i) & 3]);
      }
      mask_offset_ += n;
    }
    consumed += n;
    payload_remaining_ -= n;
    if (payload_remaining_ == 0) FinishFrame();
  }
  return consumed;
}

bool FrameParser::StartFrame() {
  fin_ = (header_[0] & 0x80) != 0;
  opcode_ = static_cast<Opcode>(header_[0] & 0x0F);
  masked_ = (header_[1] & 0x80) != 0;
  const unsigned len7 = header_[1] & 0x7F;
  std::size_t pos = 2;
  std::uint64_t length = len7;
  if (len7 == 126) {
    length = (static_cast<std::uint64_t>(header_[2]) << 8) | header_[3];
    pos = 4;
  } else if (len7 == 127) {
    length = 0;
    for (std::size_t i = 0; i < 8; ++i) length = (length << 8) | header_[2 + i];
    pos = 10;
    if ((length >> 63) != 0) {
      Fail(close_code::kProtocolError, "invalid 64-bit payload length");
      return false;
    }
  }
  if (masked_) std::memcpy(mask_, header_ + pos, 4);
  mask_offset_ = 0;

  control_frame_ = IsControl(opcode_);
  if (control_frame_) {
    control_.clear();
  } else {
    if (opcode_ == Opcode::kContinuation) {
      if (!in_message_) {
        Fail(close_code::kProtocolError, "continuation frame without a message");
        return false;
      }
    } else if (in_message_) {
      Fail(close_code::kProtocolError, "new data frame inside a fragmented message");
      return false;
    }
    // Fail on the announced size, before any of the payload is read or buffered.
    const std::size_t so_far = in_message_ ? message_.size() : 0;
    if (length > max_message_bytes_ || so_far + length > max_message_bytes_) {
      Fail(close_code::kTooBig, "message too big");
      return false;
    }
    if (!in_message_) {
      in_message_ = true;
      message_opcode_ = opcode_;
      message_.clear();
    }
  }
  std::string& sink = Sink();
  sink.reserve(sink.size() + static_cast<std::size_t>(std::min<std::uint64_t>(length, kMaxReserve)));
  payload_remaining_ = length;
  in_payload_ = true;
  if (length == 0) FinishFrame();
  return !failed_;
}

void FrameParser::FinishFrame() {
  in_payload_ = false;
  header_len_ = 0;
  header_needed_ = 2;

  if (IsControl(opcode_)) {
    if (opcode_ == Opcode::kClose) {
      if (control_.size() == 1) {
        Fail(close_code::kProtocolError, "close payload of one byte");
        return;
      }
      if (control_.size() >= 2) {
        ClosePayload close = ParseClosePayload(control_);
        if (!IsValidWireCloseCode(close.code)) {
          Fail(close_code::kProtocolError, "invalid close code");
          return;
        }
        if (!IsValidUtf8(close.reason)) {
          Fail(close_code::kInvalidPayload, "close reason is not valid UTF-8");
          return;
        }
      }
    }
    ready_.push_back(Message{opcode_, control_});
    return;
  }
  if (!fin_) return;
  if (message_opcode_ == Opcode::kText && !IsValidUtf8(message_)) {
    Fail(close_code::kInvalidPayload, "text message is not valid UTF-8");
    return;
  }
  ready_.push_back(Message{message_opcode_, std::move(message_)});
  message_ = std::string();
  in_message_ = false;
}

std::string EncodeFrame(Opcode opcode, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 10);
  out.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode)));
  AppendLength(out, 0x00, payload.size());
  out.append(payload.data(), payload.size());
  return out;
}

std::string EncodeClose(std::uint16_t code, std::string_view reason) {
  constexpr std::size_t kMaxReason = kMaxControlPayload - 2;
  if (reason.size() > kMaxReason) {
    std::size_t cut = kMaxReason;
    // Back up over continuation bytes so a multi-byte character is not split.
    while (cut > 0 && (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80) --cut;
    reason = reason.substr(0, cut);
  }
  std::string payload;
  payload.reserve(2 + reason.size());
  payload.push_back(static_cast<char>((code >> 8) & 0xFF));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason.data(), reason.size());
  return EncodeFrame(Opcode::kClose, payload);
}

std::string EncodeMaskedFrame(Opcode opcode, std::string_view payload, std::uint32_t mask_key, bool fin) {
  const unsigned char mask[4] = {static_cast<unsigned char>((mask_key >> 24) & 0xFF),
                                 static_cast<unsigned char>((mask_key >> 16) & 0xFF),
                                 static_cast<unsigned char>((mask_key >> 8) & 0xFF),
                                 static_cast<unsigned char>(mask_key & 0xFF)};
  std::string out;
  out.reserve(payload.size() + 14);
  out.push_back(static_cast<char>((fin ? 0x80 : 0x00) | static_cast<std::uint8_t>(opcode)));
  AppendLength(out, 0x80, payload.size());
  for (unsigned char b : mask) out.push_back(static_cast<char>(b));
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(static_cast<unsigned char>(payload[i]) ^ mask[i & 3]));
  }
  return out;
}

std::string AcceptKey(std::string_view sec_websocket_key) {
  static constexpr char kGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input;
  input.reserve(sec_websocket_key.size() + sizeof(kGuid));
  input.append(sec_websocket_key.data(), sec_websocket_key.size());
  input.append(kGuid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr) != 1) return {};
  unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int encoded_len = EVP_EncodeBlock(encoded, digest, static_cast<int>(digest_len));
  if (encoded_len <= 0) return {};
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(encoded_len));
}

ClosePayload ParseClosePayload(std::string_view payload) {
  ClosePayload result;
  if (payload.size() < 2) return result;
  result.code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                           static_cast<unsigned char>(payload[1]));
  result.reason = payload.substr(2);
  return result;
}

}  // namespace libchat::server::ws
