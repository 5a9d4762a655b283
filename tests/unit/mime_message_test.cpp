// The MIME text of an email (delivery/mime_message.h): structure, header and body encodings, and the
// refusal of header injection and malformed addresses. The end-to-end decoding by a real MIME parser is in
// smtp_provider_test.cpp.
#include "delivery/mime_message.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "catch.h"
#include "util/crypto.h"
#include "util/utf8.h"

namespace libchat::internal {
namespace {

const std::string kSubject = "Grüße — 你好 🎉";

Timestamp At(std::int64_t unix_ms) { return Timestamp(std::chrono::milliseconds(unix_ms)); }

EmailMessage BasicMessage() {
  EmailMessage m;
  m.from = "Example Support <support@example.com>";
  m.to = "customer@example.org";
  m.subject = "Your conversation";
  m.text = "Hello\nthere";
  m.idempotency_key = "dlv_123";
  return m;
}

MimeMessage Build(const EmailMessage& m) {
  Result<MimeMessage> built = BuildMimeMessage(m, At(1709622489000));  // 2024-03-05T07:08:09Z
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  return *built;
}

std::vector<std::string> Lines(const std::string& data) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < data.size()) {
    std::size_t end = data.find("\r\n", start);
    if (end == std::string::npos) end = data.size();
    lines.push_back(data.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

// Every line break is CRLF: no bare CR, no bare LF.
bool OnlyCrlf(const std::string& data) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '\r' && (i + 1 == data.size() || data[i + 1] != '\n')) return false;
    if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) return false;
  }
  return true;
}

std::string HeaderBlock(const std::string& data) { return data.substr(0, data.find("\r\n\r\n") + 2); }

// The unfolded value of header `name` ("" when absent).
std::string HeaderValue(const std::string& data, const std::string& name) {
  std::string unfolded = HeaderBlock(data);
  for (std::size_t pos; (pos = unfolded.find("\r\n ")) != std::string::npos;) unfolded.erase(pos, 2);
  const std::string key = "\r\n" + name + ": ";
  const std::string block = "\r\n" + unfolded;
  const std::size_t at = block.find(key);
  if (at == std::string::npos) return "";
  const std::size_t start = at + key.size();
  return block.substr(start, block.find("\r\n", start) - start);
}

// RFC 2047 words "=?UTF-8?B?...?=" separated by whitespace, decoded and concatenated. nullopt when a word is
// malformed, longer than 75 characters, or not valid UTF-8 on its own (a split sequence).
std::optional<std::string> DecodeWords(const std::string& value) {
  std::string out;
  std::size_t pos = 0;
  while (pos < value.size()) {
    if (value[pos] == ' ') {
      ++pos;
      continue;
    }
    std::size_t end = value.find(' ', pos);
    if (end == std::string::npos) end = value.size();
    const std::string word = value.substr(pos, end - pos);
    if (word.size() > 75 || word.rfind("=?UTF-8?B?", 0) != 0 || word.size() < 12 ||
        word.compare(word.size() - 2, 2, "?=") != 0) {
      return std::nullopt;
    }
    std::optional<std::string> bytes = Base64Decode(word.substr(10, word.size() - 12));
    if (!bytes || !IsValidUtf8(*bytes)) return std::nullopt;
    out += *bytes;
    pos = end;
  }
  return out;
}

std::optional<std::string> DecodeQuotedPrintable(const std::string& encoded) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '=') {
      out += encoded[i];
    } else if (encoded.compare(i, 3, "=\r\n") == 0) {
      i += 2;
    } else if (i + 2 < encoded.size() && hex(encoded[i + 1]) >= 0 && hex(encoded[i + 2]) >= 0) {
      out += static_cast<char>(hex(encoded[i + 1]) * 16 + hex(encoded[i + 2]));
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string CrlfOf(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

TEST_CASE("mime: a text-only message has the RFC 5322 headers and one quoted-printable text/plain body",
          "[smtp]") {
  const MimeMessage mime = Build(BasicMessage());
  const std::string& data = mime.data;
  CHECK(OnlyCrlf(data));
  CHECK(HeaderValue(data, "Date") == "Tue, 05 Mar 2024 07:08:09 +0000");
  CHECK(HeaderValue(data, "From") == "Example Support <support@example.com>");
  CHECK(HeaderValue(data, "To") == "customer@example.org");
  CHECK(HeaderValue(data, "Subject") == "Your conversation");
  CHECK(HeaderValue(data, "Message-ID") == "<dlv_123@example.com>");
  CHECK(mime.message_id == "dlv_123@example.com");
  CHECK(HeaderValue(data, "MIME-Version") == "1.0");
  CHECK(HeaderValue(data, "Content-Type") == "text/plain; charset=utf-8");
  CHECK(HeaderValue(data, "Content-Transfer-Encoding") == "quoted-printable");
  CHECK(HeaderValue(data, "Reply-To").empty());
  CHECK(data.find("multipart") == std::string::npos);
  // The body ends with a soft break, so the final CRLF (which SMTP's end of data needs) adds nothing.
  const std::string body = data.substr(data.find("\r\n\r\n") + 4);
  CHECK(body == "Hello\r\nthere=\r\n");
  CHECK(DecodeQuotedPrintable(body) == std::optional<std::string>("Hello\r\nthere"));
}

TEST_CASE("mime: with html the body is multipart/alternative, text then html, under a random boundary", "[smtp]") {
  EmailMessage m = BasicMessage();
  m.reply_to = "Agent Smith <agent@example.com>";
  m.html = "<p>Hello <b>there</b></p>";
  const MimeMessage mime = Build(m);
  const std::string& data = mime.data;
  CHECK(OnlyCrlf(data));
  CHECK(HeaderValue(data, "Reply-To") == "Agent Smith <agent@example.com>");
  const std::string content_type = HeaderValue(data, "Content-Type");
  const std::string prefix = "multipart/alternative; boundary=\"";
  REQUIRE(content_type.rfind(prefix, 0) == 0);
  const std::string boundary = content_type.substr(prefix.size(), content_type.size() - prefix.size() - 1);
  CHECK(boundary.size() >= 20);

  const std::string body = data.substr(data.find("\r\n\r\n") + 4);
  const std::string delimiter = "--" + boundary + "\r\n";
  const std::size_t first = body.find(delimiter);
  const std::size_t second = body.find("\r\n" + delimiter, first + 1);
  const std::size_t close = body.find("\r\n--" + boundary + "--\r\n");
  REQUIRE(first == 0);
  REQUIRE(second != std::string::npos);
  REQUIRE(close != std::string::npos);
  CHECK(close + boundary.size() + 8 == body.size());  // nothing after the close delimiter
  const std::string text_part = body.substr(delimiter.size(), second - delimiter.size());
  const std::string html_part = body.substr(second + 2 + delimiter.size(), close - second - 2 - delimiter.size());
  CHECK(text_part ==
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "Hello\r\nthere");
  CHECK(html_part.rfind("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
                        0) == 0);
  CHECK(DecodeQuotedPrintable(html_part.substr(html_part.find("\r\n\r\n") + 4)) == m.html);

  // Another message gets another boundary.
  const std::string other = HeaderValue(Build(m).data, "Content-Type");
  CHECK(other != content_type);
}

TEST_CASE("mime: a non-ASCII subject becomes UTF-8 encoded-words that decode to the original", "[smtp]") {
  EmailMessage m = BasicMessage();
  m.subject = kSubject;
  const std::string data = Build(m).data;
  const std::string value = HeaderValue(data, "Subject");
  CHECK(value.rfind("=?UTF-8?B?", 0) == 0);
  CHECK(DecodeWords(value) == std::optional<std::string>(kSubject));
  for (const std::string& line : Lines(HeaderBlock(data))) CHECK(line.size() <= 78);
}

TEST_CASE("mime: a long non-ASCII subject is split into short words on UTF-8 boundaries and folded", "[smtp]") {
  EmailMessage m = BasicMessage();
  for (int i = 0; i < 25; ++i) m.subject += "é🎉你 ";
  m.subject += "end";
  const std::string data = Build(m).data;
  const std::string value = HeaderValue(data, "Subject");
  // DecodeWords refuses any word over 75 characters or whose bytes are not valid UTF-8 on their own.
  CHECK(DecodeWords(value) == std::optional<std::string>(m.subject));
  CHECK(std::count(value.begin(), value.end(), '?') / 4 > 5);  // several words
  for (const std::string& line : Lines(HeaderBlock(data))) CHECK(line.size() <= 78);

  // The words themselves, for every split position of a 3- and 4-byte mix.
  for (std::size_t limit = 20; limit <= 75; ++limit) {
    const std::string text = "a" + kSubject + "bc" + kSubject;
    const std::string words = EncodeHeaderWords(text, limit);
    INFO("first word limit " << limit);
    CHECK(DecodeWords(words) == std::optional<std::string>(text));
    CHECK(std::min(words.find(' '), words.size()) <= limit);
  }
}

TEST_CASE("mime: a long ASCII subject is folded at spaces and unfolds to the original", "[smtp]") {
  EmailMessage m = BasicMessage();
  for (int i = 0; i < 30; ++i) m.subject += "word" + std::to_string(i) + " ";
  m.subject += "last";
  const std::string data = Build(m).data;
  CHECK(HeaderValue(data, "Subject") == m.subject);
  CHECK(Lines(HeaderBlock(data)).size() > 8);  // folded: more header lines than headers
  for (const std::string& line : Lines(HeaderBlock(data))) CHECK(line.size() <= 78);

  // What could be mistaken for an encoded-word, or not survive unfolding, is encoded.
  for (const std::string subject : {"=?UTF-8?B?SGk=?=", "two  spaces", " edge", "tab\there"}) {
    m.subject = subject;
    const std::string value = HeaderValue(Build(m).data, "Subject");
    CHECK(value != subject);
    CHECK(DecodeWords(value) == std::optional<std::string>(subject));
  }
}

TEST_CASE("mime: display names are kept, quoted or encoded as they need", "[smtp]") {
  EmailMessage m = BasicMessage();
  m.from = "\"Doe, Jane\" <jane@example.com>";
  m.to = "Jürgen Müller <j@example.de>";
  m.reply_to = "\"Say \\\"hi\\\"\" <hi@example.com>";
  const std::string data = Build(m).data;
  CHECK(HeaderValue(data, "From") == "\"Doe, Jane\" <jane@example.com>");
  CHECK(HeaderValue(data, "Reply-To") == "\"Say \\\"hi\\\"\" <hi@example.com>");
  const std::string to = HeaderValue(data, "To");
  const std::size_t angle = to.find(" <j@example.de>");
  REQUIRE(angle != std::string::npos);
  CHECK(angle + 15 == to.size());
  CHECK(DecodeWords(to.substr(0, angle)) == std::optional<std::string>("Jürgen Müller"));
  CHECK(HeaderValue(data, "Message-ID") == "<dlv_123@example.com>");  // the sender's domain
}

TEST_CASE("mime: quoted-printable keeps lines under 76 characters and decodes to the original", "[smtp]") {
  std::string text = std::string(1000, 'x') + "\n";
  for (int i = 0; i < 60; ++i) text += "Grüße ";  // spaces and multi-byte characters across soft breaks
  text += "\ntrailing space \ntrailing tab\t\nequals = sign\n.\n..dot\nFrom here\n\n";
  text += std::string(200, '=') + "\n" + kSubject;
  const std::string encoded = QuotedPrintableEncode(text);
  CHECK(OnlyCrlf(encoded));
  for (char c : encoded) CHECK(static_cast<unsigned char>(c) < 0x80);
  for (const std::string& line : Lines(encoded)) {
    CHECK(line.size() <= 76);
    // Whitespace at the end of a line could be stripped in transit: it is encoded (or followed by '=').
    if (!line.empty()) CHECK((line.back() != ' ' && line.back() != '\t'));
  }
  CHECK(DecodeQuotedPrintable(encoded) == std::optional<std::string>(CrlfOf(text)));

  // Any line break form is sent as CRLF.
  CHECK(QuotedPrintableEncode("a\nb\r\nc\rd") == "a\r\nb\r\nc\r\nd");
  CHECK(QuotedPrintableEncode("caf\xC3\xA9 = 1 ") == "caf=C3=A9 =3D 1=20");
}

TEST_CASE("mime: the Message-ID comes from the idempotency key, stable across retries, random without one",
          "[smtp]") {
  EmailMessage m = BasicMessage();
  m.idempotency_key = "";
  const std::string a = Build(m).message_id;
  const std::string b = Build(m).message_id;
  CHECK(a != b);
  CHECK(a.size() > std::string("@example.com").size() + 16);
  CHECK(a.compare(a.size() - 12, 12, "@example.com") == 0);

  // A key that is not a valid id-left is replaced by its hash: still the same on every retry.
  m.idempotency_key = "not <valid> id";
  const std::string hashed = Build(m).message_id;
  CHECK(hashed == Build(m).message_id);
  CHECK(hashed.find_first_of(" <>") == std::string::npos);
  CHECK(hashed.compare(hashed.size() - 12, 12, "@example.com") == 0);
}

TEST_CASE("mime: CR or LF in the subject or an address is refused (header injection)", "[smtp]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"subject", "Hello\r\nBcc: victim@example.net"},
      {"subject", "Hello\nBcc: victim@example.net"},
      {"subject", "Hello\rthere"},
      {"from", "support@example.com\r\nBcc: victim@example.net"},
      {"to", "customer@example.org\nBcc: victim@example.net"},
      {"to", "Name\r\n <customer@example.org>"},
      {"reply_to", "agent@example.com\r\n"},
      {"subject", std::string("nul\0byte", 8)},
  };
  for (const auto& [field, value] : cases) {
    EmailMessage m = BasicMessage();
    if (field == "subject") m.subject = value;
    if (field == "from") m.from = value;
    if (field == "to") m.to = value;
    if (field == "reply_to") m.reply_to = value;
    Result<MimeMessage> built = BuildMimeMessage(m, At(0));
    INFO(field << " = " << value);
    REQUIRE_FALSE(built.ok());
    CHECK(built.status().code() == StatusCode::kInvalidArgument);
    CHECK(built.status().message().find(field) != std::string::npos);
  }
}

TEST_CASE("mime: malformed addresses and messages are refused", "[smtp]") {
  for (const std::string bad : {"", "   ", "no-at-sign", "a@", "@example.com", "a..b@example.com", ".a@example.com",
                                "a@example..com", "a@-example.com", "a@example-.com", "a b@example.com",
                                "x@example.com, y@example.com", "Name <a@example.com", "Name a@example.com>",
                                "<>", "Name <>", "é@example.com", "a@exämple.com", "a@b@example.com",
                                "Na\"me <a@example.com>", "\"Name <a@example.com>", "a@[127.0.0.1]",
                                "Name <a@example.com> trailing"}) {
    INFO("address: " << bad);
    Result<MailAddress> parsed = ParseMailAddress(bad);
    CHECK_FALSE(parsed.ok());
    if (!parsed.ok()) CHECK(parsed.status().code() == StatusCode::kInvalidArgument);
    EmailMessage m = BasicMessage();
    m.to = bad;
    CHECK_FALSE(BuildMimeMessage(m, At(0)).ok());
  }

  EmailMessage m = BasicMessage();
  m.text = "";
  CHECK(BuildMimeMessage(m, At(0)).status().code() == StatusCode::kInvalidArgument);
  m = BasicMessage();
  m.subject = "bad \xC3\x28 utf8";
  CHECK(BuildMimeMessage(m, At(0)).status().code() == StatusCode::kInvalidArgument);
  m = BasicMessage();
  m.html = "<p>\xFF</p>";
  CHECK(BuildMimeMessage(m, At(0)).status().code() == StatusCode::kInvalidArgument);
  m = BasicMessage();
  m.from = "";
  CHECK(BuildMimeMessage(m, At(0)).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("mime: the envelope address is the bare addr-spec of any accepted form", "[smtp]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"support@example.com", "support@example.com"},
      {"  support@example.com\t", "support@example.com"},
      {"Example Support <support@example.com>", "support@example.com"},
      {"\"Doe, Jane\" <jane.doe+tag@mail.example.co.uk>", "jane.doe+tag@mail.example.co.uk"},
      {"Jürgen Müller <j@example.de>", "j@example.de"},
      {"<bare@example.com>", "bare@example.com"},
      {"root@localhost", "root@localhost"},
  };
  for (const auto& [text, bare] : cases) {
    INFO(text);
    Result<std::string> address = EnvelopeAddress(text);
    REQUIRE(address.ok());
    CHECK(*address == bare);
  }
  Result<MailAddress> parsed = ParseMailAddress("\"Doe, Jane\" <jane@example.com>");
  REQUIRE(parsed.ok());
  CHECK(parsed->display_name == "Doe, Jane");
}

}  // namespace
}  // namespace libchat::internal
