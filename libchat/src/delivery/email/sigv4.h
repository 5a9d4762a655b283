// AWS Signature Version 4 for requests signed in the Authorization header, as
// Amazon SES (and every other AWS JSON API) requires. A pure function of its
// inputs, the time included, so it is tested against AWS's published vectors.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libchat/status.h"

namespace libchat::internal {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary (STS) credentials only; empty otherwise
};

struct SigV4Input {
  std::string method;  // "GET", "POST", ...
  std::string url;     // absolute http(s) URL, path and query percent-encoded as sent
  // Headers to sign besides the ones the signer adds (e.g. content-type). Must
  // not hold host, authorization or x-amz-* headers: the signer owns those.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string region;   // "us-east-1"
  std::string service;  // "ses"
  // Also send and sign x-amz-content-sha256 (the body's hash), which SES
  // accepts and S3 requires; off for AWS's plain test-suite vectors.
  bool content_sha256_header = false;
};

struct SigV4Signature {
  // To add to the request as they are: host, x-amz-date, x-amz-content-sha256
  // (when asked), x-amz-security-token (with a session token), authorization.
  std::vector<std::pair<std::string, std::string>> headers;
  // The intermediate values, for tests and debugging.
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "content-type;host;x-amz-date"
  std::string signature;       // lower-case hex
  std::string authorization;   // "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
};

// Signs `input` at time `now` (its UTC second becomes x-amz-date).
//
// Canonical form: the method; the URL path with every byte outside the
// unreserved set and '/' percent-encoded again (so "%" becomes "%25": AWS's rule
// for every service but S3; dot segments are not normalized); the query
// parameters percent-decoded, re-encoded and sorted; the header names
// lower-cased and sorted with values trimmed and inner runs of spaces collapsed
// (a repeated header's values joined by ','); the hex SHA-256 of the body.
// kInvalidArgument when the URL is not an absolute http(s) URL with a host, a
// header is one the signer owns, or a credential, region or service is empty.
Result<SigV4Signature> SignAwsV4(const SigV4Input& input, const AwsCredentials& credentials,
                                 std::chrono::system_clock::time_point now);

// The derived signing key (raw 32 bytes) for a date "YYYYMMDD": HMAC chain of
// "AWS4" + secret over date, region, service and "aws4_request".
std::string AwsV4SigningKey(std::string_view secret_access_key, std::string_view date, std::string_view region,
                            std::string_view service);

}  // namespace libchat::internal
