#include "delivery/email/sigv4.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>

#include "util/crypto.h"

namespace libchat::internal {
namespace {

constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";

struct ParsedUrl {
  std::string host;  // lower-cased, with ":port" unless it is the scheme's default
  std::string path;  // as in the URL; "/" when empty
  std::string query;
};

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerCase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), Lower);
  return out;
}

std::optional<ParsedUrl> ParseUrl(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const std::string scheme = LowerCase(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(scheme_end + 3);
  if (const std::size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const std::size_t authority_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, authority_end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  ParsedUrl out;
  out.host = LowerCase(authority);
  // Drop a default port: HTTP clients leave it out of the Host header they send.
  const std::string default_port = scheme == "https" ? ":443" : ":80";
  if (out.host.size() > default_port.size() &&
      out.host.compare(out.host.size() - default_port.size(), default_port.size(), default_port) == 0 &&
      out.host.back() != ']') {
    out.host.resize(out.host.size() - default_port.size());
  }
  if (authority_end != std::string_view::npos) {
    std::string_view path_and_query = rest.substr(authority_end);
    const std::size_t question = path_and_query.find('?');
    out.path = std::string(path_and_query.substr(0, question));
    if (question != std::string_view::npos) out.query = std::string(path_and_query.substr(question + 1));
  }
  if (out.path.empty()) out.path = "/";
  return out;
}

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

// AWS's UriEncode: every byte but the unreserved ones as %XX (upper-case hex).
std::string UriEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX sequences decoded; a '%' not followed by two hex digits is kept as is.
std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = HexValue(text[i + 1]);
      const int low = HexValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::string CanonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view param = query.substr(start, end - start);
    if (!param.empty()) {
      const std::size_t equals = param.find('=');
      const std::string_view key = param.substr(0, equals);
      const std::string_view value = equals == std::string_view::npos ? std::string_view() : param.substr(equals + 1);
      params.emplace_back(UriEncode(PercentDecode(key), false), UriEncode(PercentDecode(value), false));
    }
    start = end + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out.push_back('&');
    out += key + "=" + value;
  }
  return out;
}

// Trimmed, with each run of spaces and tabs inside collapsed to one space.
std::string CanonicalHeaderValue(std::string_view value) {
  std::string out;
  bool in_space = false;
  for (const char c : value) {
    if (c == ' ' || c == '\t') {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
  return out;
}

bool IsOwnedHeader(const std::string& lower_name) {
  return lower_name == "host" || lower_name == "authorization" || lower_name.compare(0, 6, "x-amz-") == 0;
}

// Howard Hinnant's civil_from_days: the UTC calendar date of a day count since 1970-01-01.
void CivilFromDays(std::int64_t z, int& year, unsigned& month, unsigned& day) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0));
}

// "20150830T123600Z" for the UTC second of `now`.
std::string AmzDate(std::chrono::system_clock::time_point now) {
  const std::int64_t seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::int64_t days = seconds / 86400;
  std::int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    --days;
  }
  int year = 0;
  unsigned month = 0, day = 0;
  CivilFromDays(days, year, month, day);
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%04d%02u%02uT%02d%02d%02dZ", year, month, day,
                static_cast<int>(second_of_day / 3600), static_cast<int>(second_of_day / 60 % 60),
                static_cast<int>(second_of_day % 60));
  return buffer;
}

}  // namespace

std::string AwsV4SigningKey(std::string_view secret_access_key, std::string_view date, std::string_view region,
                            std::string_view service) {
  const std::string date_key = HmacSha256("AWS4" + std::string(secret_access_key), date);
  const std::string region_key = HmacSha256(date_key, region);
  const std::string service_key = HmacSha256(region_key, service);
  return HmacSha256(service_key, "aws4_request");
}

Result<SigV4Signature> SignAwsV4(const SigV4Input& input, const AwsCredentials& credentials,
                                 std::chrono::system_clock::time_point now) {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return InvalidArgumentError("AWS credentials are incomplete");
  }
  if (input.region.empty() || input.service.empty() || input.method.empty()) {
    return InvalidArgumentError("a SigV4 request needs a method, region and service");
  }
  const std::optional<ParsedUrl> url = ParseUrl(input.url);
  if (!url) return InvalidArgumentError("a SigV4 request needs an absolute http(s) URL with a host");

  const std::string amz_date = AmzDate(now);
  const std::string date = amz_date.substr(0, 8);
  const std::string payload_hash = HexEncode(Sha256(input.body));

  SigV4Signature out;
  out.headers.emplace_back("host", url->host);
  out.headers.emplace_back("x-amz-date", amz_date);
  if (input.content_sha256_header) out.headers.emplace_back("x-amz-content-sha256", payload_hash);
  if (!credentials.session_token.empty()) out.headers.emplace_back("x-amz-security-token", credentials.session_token);

  // name -> values in order; a std::vector kept sorted after building is enough for a handful of headers.
  std::vector<std::pair<std::string, std::string>> canonical;
  auto add = [&canonical](const std::string& name, std::string_view value) {
    const std::string text = CanonicalHeaderValue(value);
    for (auto& [existing, joined] : canonical) {
      if (existing == name) {
        joined += "," + text;
        return;
      }
    }
    canonical.emplace_back(name, text);
  };
  for (const auto& [name, value] : input.headers) {
    const std::string lower = LowerCase(name);
    if (IsOwnedHeader(lower)) return InvalidArgumentError("header '" + lower + "' is set by the SigV4 signer");
    add(lower, value);
  }
  for (const auto& [name, value] : out.headers) add(name, value);
  std::sort(canonical.begin(), canonical.end());

  std::string canonical_headers;
  for (const auto& [name, value] : canonical) {
    canonical_headers += name + ":" + value + "\n";
    if (!out.signed_headers.empty()) out.signed_headers.push_back(';');
    out.signed_headers += name;
  }

  out.canonical_request = input.method + "\n" + UriEncode(url->path, /*keep_slash=*/true) + "\n" +
                          CanonicalQuery(url->query) + "\n" + canonical_headers + "\n" + out.signed_headers + "\n" +
                          payload_hash;
  const std::string scope = date + "/" + input.region + "/" + input.service + "/aws4_request";
  out.string_to_sign = std::string(kAlgorithm) + "\n" + amz_date + "\n" + scope + "\n" +
                       HexEncode(Sha256(out.canonical_request));
  out.signature = HexEncode(HmacSha256(
      AwsV4SigningKey(credentials.secret_access_key, date, input.region, input.service), out.string_to_sign));
  out.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" + scope +
                      ", SignedHeaders=" + out.signed_headers + ", Signature=" + out.signature;
  out.headers.emplace_back("authorization", out.authorization);
  return out;
}

}  // namespace libchat::internal
