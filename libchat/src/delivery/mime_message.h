// The RFC 5322 / MIME text of an EmailMessage, as an SMTP transaction sends it.
//
// The output is 7-bit clean with CRLF line endings and lines of at most 78 characters (998 for a header
// holding a single longer address), so it passes any relay without re-encoding: header text that is not
// plain ASCII (subject, display names) becomes RFC 2047 encoded-words (UTF-8, base64), the parts are
// quoted-printable UTF-8. SMTP dot-stuffing is not done here:
// the transport does it (libcurl escapes "\r\n." on upload). Internal to libchat; no I/O, no curl.
#pragma once

#include <string>
#include <string_view>

#include "libchat/providers/email.h"
#include "libchat/status.h"
#include "libchat/types.h"

namespace libchat::internal {

// "Example Support <support@example.com>" split into its parts; `display_name` is unquoted (may be UTF-8).
struct MailAddress {
  std::string display_name;  // empty when none was given
  std::string address;       // addr-spec: "support@example.com"
};

// Parses one address: "a@b.c", "Name <a@b.c>" or "\"Name, Inc.\" <a@b.c>". The addr-spec must be a dot-atom
// local part (at most 64 bytes) and a host name domain (labels of letters, digits and hyphens), ASCII only
// (no SMTPUTF8); surrounding spaces and tabs are ignored. kInvalidArgument for anything else, including CR, LF
// or other control characters (header injection), a list of addresses, or a display name that is not UTF-8.
Result<MailAddress> ParseMailAddress(std::string_view text);

// The bare address of `text` (see ParseMailAddress), for MAIL FROM / RCPT TO.
Result<std::string> EnvelopeAddress(std::string_view text);

struct MimeMessage {
  std::string data;        // the whole message: headers, blank line, body; CRLF line endings
  std::string message_id;  // the Message-ID without angle brackets: "dlv_123@example.com"
};

// Builds the message: Date (`date`, as UTC), From, To, Reply-To (when set), Subject, Message-ID, MIME-Version
// and a text/plain body, or multipart/alternative (text/plain, then text/html) when `message.html` is set.
// The Message-ID is "<idempotency_key@sender domain>" when a key is given (a key that is not a valid id-left
// is replaced by a hash of itself, so it stays stable across retries), random otherwise. Line breaks in the
// text and html ("\n", "\r\n" or a lone "\r") are sent as CRLF. kInvalidArgument when an address is malformed,
// the subject holds CR, LF or another control character, the text is empty, or any field is not valid UTF-8.
Result<MimeMessage> BuildMimeMessage(const EmailMessage& message, Timestamp date);

// Exposed for tests: RFC 2047 "B" encoded-words of UTF-8 `text` separated by single spaces, each at most
// 75 characters and never splitting a UTF-8 sequence. The first word is at most `first_word_limit` (>= 20)
// long so that it fits on the line it starts.
std::string EncodeHeaderWords(std::string_view text, std::size_t first_word_limit = 75);

// Exposed for tests: quoted-printable (RFC 2045 6.7) of `text` with line breaks normalized to CRLF and
// every output line at most 76 characters.
std::string QuotedPrintableEncode(std::string_view text);

}  // namespace libchat::internal
