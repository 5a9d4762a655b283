#include "delivery/mime_message.h"

#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>

#include "util/crypto.h"
#include "util/status_macros.h"
#include "util/utf8.h"

namespace libchat::internal {

namespace {

constexpr std::size_t kMaxHeaderLine = 78;   // RFC 5322 2.1.1 SHOULD; the MUST is 998
constexpr std::size_t kMaxEncodedWord = 75;  // RFC 2047 2
constexpr std::size_t kMaxPlainWord = 66;    // an ASCII subject word longer than this is encoded instead
constexpr std::size_t kMaxMessageIdLeft = 128;

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7F; }

bool HasCrOrLf(std::string_view text) { return text.find_first_of("\r\n") != std::string_view::npos; }

bool HasControlOtherThanTab(std::string_view text) {
  for (char c : text) {
    if (c != '\t' && IsControl(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

// RFC 5322 atext: the characters of a dot-atom besides '.'.
bool IsAtext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool IsDotAtom(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '.') {
      if (text[i + 1] == '.') return false;  // i + 1 < size: the last character is not '.'
    } else if (!IsAtext(text[i])) {
      return false;
    }
  }
  return true;
}

bool IsHostName(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = domain.find('.', start);
    const std::string_view label = domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

Status CheckAddrSpec(std::string_view address) {
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) return InvalidArgumentError("email address has no '@': " + std::string(address));
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.size() > 64 || address.size() > 254 || !IsDotAtom(local) || !IsHostName(domain)) {
    return InvalidArgumentError("malformed email address: " + std::string(address));
  }
  return Status::Ok();
}

// The content of a quoted-string display name ("\"Doe, Jane\"" -> "Doe, Jane").
Result<std::string> Unquote(std::string_view quoted) {
  std::string out;
  for (std::size_t i = 1; i + 1 < quoted.size(); ++i) {
    if (quoted[i] == '\\') {
      if (i + 2 >= quoted.size()) return InvalidArgumentError("malformed quoted display name");
      out += quoted[++i];
    } else if (quoted[i] == '"') {
      return InvalidArgumentError("malformed quoted display name");
    } else {
      out += quoted[i];
    }
  }
  return out;
}

// Plain printable ASCII that a decoder will not take for an encoded-word.
bool IsPlainAscii(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return text.find("=?") == std::string_view::npos;
}

// Subjects in plain ASCII stay readable; anything a header cannot carry as it is (non-ASCII, tabs, runs of
// spaces or edge spaces that unfolding might not preserve, words too long to fold) is encoded.
bool SubjectCanStayPlain(std::string_view subject) {
  if (!IsPlainAscii(subject)) return false;
  if (!subject.empty() && (subject.front() == ' ' || subject.back() == ' ')) return false;
  if (subject.find("  ") != std::string_view::npos) return false;
  std::size_t word = 0;
  for (char c : subject) {
    word = c == ' ' ? 0 : word + 1;
    if (word > kMaxPlainWord) return false;
  }
  return true;
}

// A display name as a phrase: as it is when it is made of atoms, quoted when it holds specials, encoded-words
// when it is not plain ASCII.
std::string EncodeDisplayName(std::string_view name, std::size_t first_word_limit) {
  if (!IsPlainAscii(name) || name.front() == ' ' || name.back() == ' ') {
    return EncodeHeaderWords(name, first_word_limit);
  }
  bool atoms_only = true;
  for (char c : name) {
    if (c != ' ' && !IsAtext(c)) atoms_only = false;
  }
  if (atoms_only && name.find("  ") == std::string_view::npos) return std::string(name);
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

// "Name: value\r\n", folded before spaces of `value` so that lines stay within 78 characters where the words
// allow it. Unfolding (removing the CRLFs) gives back exactly "Name: value".
std::string Header(std::string_view name, std::string_view value) {
  std::string out(name);
  out += ':';
  std::size_t line = out.size();
  std::size_t start = 0;
  bool first = true;
  while (start <= value.size()) {
    std::size_t end = value.find(' ', start);
    if (end == std::string_view::npos) end = value.size();
    const std::string_view word = value.substr(start, end - start);
    // The space before the word becomes the fold's whitespace; a line of only whitespace is not allowed.
    const bool fold = !first && !word.empty() && line + 1 + word.size() > kMaxHeaderLine;
    if (fold) {
      out += "\r\n";
      line = 0;
    }
    out += ' ';
    out += word;
    line += 1 + word.size();
    first = false;
    start = end + 1;
  }
  out += "\r\n";
  return out;
}

// The value of an address header: "Name <a@b>" or "a@b".
std::string AddressValue(const MailAddress& address, std::size_t header_name_size) {
  if (address.display_name.empty()) return address.address;
  // "Name: " precedes the first word on its line.
  const std::size_t first_limit = std::max<std::size_t>(20, kMaxHeaderLine - header_name_size - 2);
  return EncodeDisplayName(address.display_name, first_limit) + " <" + address.address + ">";
}

std::string FormatDate(Timestamp date) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto seconds = std::chrono::floor<std::chrono::seconds>(date.time_since_epoch()).count();
  const time_t t = static_cast<time_t>(seconds);
  struct tm utc {};
  gmtime_r(&t, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[utc.tm_wday % 7], utc.tm_mday,
                kMonths[utc.tm_mon % 12], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return buffer;
}

std::string MessageIdLeft(std::string_view idempotency_key) {
  if (idempotency_key.empty()) return RandomAlnum(24) + "." + RandomAlnum(8);
  if (idempotency_key.size() <= kMaxMessageIdLeft && IsDotAtom(idempotency_key)) return std::string(idempotency_key);
  // Stable across retries like the key itself, and always a valid id-left.
  return HexEncode(Sha256(idempotency_key)).substr(0, 32);
}

Status CheckHeaderText(std::string_view field, std::string_view text) {
  if (HasCrOrLf(text)) return InvalidArgumentError(std::string(field) + " must not contain CR or LF");
  if (!IsValidUtf8(text)) return InvalidArgumentError(std::string(field) + " is not valid UTF-8");
  if (HasControlOtherThanTab(text)) {
    return InvalidArgumentError(std::string(field) + " must not contain control characters");
  }
  return Status::Ok();
}

Result<MailAddress> ParseField(std::string_view field, std::string_view text) {
  Result<MailAddress> parsed = ParseMailAddress(text);
  if (!parsed.ok()) return InvalidArgumentError(std::string(field) + ": " + parsed.status().message());
  return parsed;
}

std::string TextPart(std::string_view subtype, std::string_view content) {
  std::string part;
  part += "Content-Type: text/";
  part += subtype;
  part += "; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
  part += QuotedPrintableEncode(content);
  return part;
}

}  // namespace

Result<MailAddress> ParseMailAddress(std::string_view text) {
  if (HasCrOrLf(text)) return InvalidArgumentError("email address must not contain CR or LF");
  if (HasControlOtherThanTab(text)) return InvalidArgumentError("email address must not contain control characters");
  if (!IsValidUtf8(text)) return InvalidArgumentError("email address is not valid UTF-8");
  text = Trim(text);
  if (text.empty()) return InvalidArgumentError("email address is empty");
  MailAddress out;
  if (text.back() == '>') {
    const std::size_t open = text.rfind('<');
    if (open == std::string_view::npos) return InvalidArgumentError("malformed email address: no '<'");
    out.address = std::string(text.substr(open + 1, text.size() - open - 2));
    const std::string_view name = Trim(text.substr(0, open));
    if (!name.empty() && name.front() == '"') {
      if (name.size() < 2 || name.back() != '"') return InvalidArgumentError("malformed quoted display name");
      LIBCHAT_ASSIGN_OR_RETURN(out.display_name, Unquote(name));
    } else {
      if (name.find_first_of("\"<>") != std::string_view::npos) {
        return InvalidArgumentError("malformed email address: stray '\"', '<' or '>' in the display name");
      }
      out.display_name = std::string(name);
    }
  } else {
    out.address = std::string(text);
  }
  LIBCHAT_RETURN_IF_ERROR(CheckAddrSpec(out.address));
  return out;
}

Result<std::string> EnvelopeAddress(std::string_view text) {
  LIBCHAT_ASSIGN_OR_RETURN(MailAddress parsed, ParseMailAddress(text));
  return std::move(parsed.address);
}

std::string EncodeHeaderWords(std::string_view text, std::size_t first_word_limit) {
  static constexpr std::string_view kPrefix = "=?UTF-8?B?";
  static constexpr std::string_view kSuffix = "?=";
  std::string out;
  std::size_t limit = std::min(std::max<std::size_t>(first_word_limit, 20), kMaxEncodedWord);
  std::size_t pos = 0;
  while (pos < text.size()) {
    // Base64 turns 3 bytes into 4 characters: this many bytes fit in `limit`.
    const std::size_t max_bytes = (limit - kPrefix.size() - kSuffix.size()) / 4 * 3;
    std::size_t n = std::min(max_bytes, text.size() - pos);
    // Back off to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx); max_bytes >= 6 > 4.
    while (pos + n < text.size() && n > 0 && (static_cast<unsigned char>(text[pos + n]) & 0xC0) == 0x80) --n;
    if (!out.empty()) out += ' ';
    out += kPrefix;
    out += Base64Encode(text.substr(pos, n));
    out += kSuffix;
    pos += n;
    limit = kMaxEncodedWord;
  }
  return out;
}

std::string QuotedPrintableEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  static constexpr std::size_t kMaxContent = 75;  // + the '=' of a soft break = 76
  std::string out;
  out.reserve(text.size() + text.size() / 8 + 16);
  std::size_t line = 0;
  auto emit = [&](std::string_view token) {
    if (line + token.size() > kMaxContent) {
      out += "=\r\n";
      line = 0;
    }
    out += token;
    line += token.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
      line = 0;
      continue;
    }
    const bool at_line_end = i + 1 == text.size() || text[i + 1] == '\r' || text[i + 1] == '\n';
    const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    if (literal) {
      const char ch = static_cast<char>(c);
      emit(std::string_view(&ch, 1));
    } else {
      const char escaped[3] = {'=', kHex[c >> 4], kHex[c & 0x0F]};
      emit(std::string_view(escaped, 3));
    }
  }
  return out;
}

Result<MimeMessage> BuildMimeMessage(const EmailMessage& message, Timestamp date) {
  if (message.from.empty()) return InvalidArgumentError("from is required");
  if (message.to.empty()) return InvalidArgumentError("to is required");
  LIBCHAT_ASSIGN_OR_RETURN(MailAddress from, ParseField("from", message.from));
  LIBCHAT_ASSIGN_OR_RETURN(MailAddress to, ParseField("to", message.to));
  MailAddress reply_to;
  if (!message.reply_to.empty()) {
    LIBCHAT_ASSIGN_OR_RETURN(reply_to, ParseField("reply_to", message.reply_to));
  }
  LIBCHAT_RETURN_IF_ERROR(CheckHeaderText("subject", message.subject));
  if (message.text.empty()) return InvalidArgumentError("text is required");
  if (!IsValidUtf8(message.text)) return InvalidArgumentError("text is not valid UTF-8");
  if (!IsValidUtf8(message.html)) return InvalidArgumentError("html is not valid UTF-8");

  MimeMessage out;
  const std::string domain = from.address.substr(from.address.rfind('@') + 1);
  out.message_id = MessageIdLeft(message.idempotency_key) + "@" + domain;

  std::string& data = out.data;
  data += Header("Date", FormatDate(date));
  data += Header("From", AddressValue(from, 4));
  data += Header("To", AddressValue(to, 2));
  if (!reply_to.address.empty()) data += Header("Reply-To", AddressValue(reply_to, 8));
  data += Header("Subject", SubjectCanStayPlain(message.subject)
                                ? message.subject
                                : EncodeHeaderWords(message.subject, kMaxHeaderLine - 9));
  data += Header("Message-ID", "<" + out.message_id + ">");
  data += "MIME-Version: 1.0\r\n";
  if (message.html.empty()) {
    data += TextPart("plain", message.text);
    // The CRLF that ends the last line belongs to the SMTP end of data; a text without a final line break
    // ends with a soft break instead, so that the decoded text is exactly the original.
    if (data.size() < 2 || data.compare(data.size() - 2, 2, "\r\n") != 0) data += "=\r\n";
    return out;
  }
  // "=_" cannot occur in quoted-printable text ('=' is always followed by hex digits or a line break), so
  // the boundary cannot collide with the parts.
  const std::string boundary = "=_" + RandomAlnum(28);
  data += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
  data += "--" + boundary + "\r\n";
  data += TextPart("plain", message.text);
  data += "\r\n--" + boundary + "\r\n";
  data += TextPart("html", message.html);
  data += "\r\n--" + boundary + "--\r\n";
  return out;
}

}  // namespace libchat::internal
