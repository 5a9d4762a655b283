// Argon2id password hashing: PHC format, round trips, and refusal of malformed hashes.
#include "auth/password.h"

#include <string>
#include <vector>

#include "catch.h"

using libchat::PasswordHashingOptions;
using libchat::StatusCode;
using libchat::internal::HashPassword;
using libchat::internal::VerifyPassword;

namespace {

// Cheap parameters so that the suite stays fast; one test below uses the defaults.
PasswordHashingOptions FastOptions() {
  PasswordHashingOptions options;
  options.memory_kib = 8192;
  options.iterations = 1;
  options.parallelism = 1;
  return options;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos - start));
    if (pos == std::string::npos) return parts;
    start = pos + 1;
  }
}

}  // namespace

TEST_CASE("HashPassword with the defaults encodes OWASP parameters in the PHC string", "[password]") {
  const auto phc = HashPassword("correct horse battery staple", PasswordHashingOptions{});
  REQUIRE(phc.ok());
  CHECK(phc->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0) == 0);
  // "", "argon2id", "v=19", params, salt, hash; 16-byte salt and 32-byte hash in unpadded base64.
  const auto parts = Split(*phc, '$');
  REQUIRE(parts.size() == 6);
  CHECK(parts[0].empty());
  CHECK(parts[4].size() == 22);
  CHECK(parts[5].size() == 43);
  CHECK(VerifyPassword("correct horse battery staple", *phc));
  CHECK_FALSE(VerifyPassword("correct horse battery stapl", *phc));
}

TEST_CASE("HashPassword and VerifyPassword round trip", "[password]") {
  const auto options = FastOptions();
  const auto phc = HashPassword("s3cret!", options);
  REQUIRE(phc.ok());
  CHECK(phc->rfind("$argon2id$v=19$m=8192,t=1,p=1$", 0) == 0);
  CHECK(VerifyPassword("s3cret!", *phc));
  CHECK_FALSE(VerifyPassword("s3cret", *phc));
  CHECK_FALSE(VerifyPassword("S3cret!", *phc));
  CHECK_FALSE(VerifyPassword("", *phc));

  // Unicode and embedded NULs are hashed as bytes.
  const std::string odd("p\xc3\xa4ss\0word", 10);
  const auto odd_phc = HashPassword(odd, options);
  REQUIRE(odd_phc.ok());
  CHECK(VerifyPassword(odd, *odd_phc));
  CHECK_FALSE(VerifyPassword(std::string("p\xc3\xa4ss"), *odd_phc));

  const auto empty_phc = HashPassword("", options);
  REQUIRE(empty_phc.ok());
  CHECK(VerifyPassword("", *empty_phc));
  CHECK_FALSE(VerifyPassword(" ", *empty_phc));
}

TEST_CASE("HashPassword uses a fresh salt every time", "[password]") {
  const auto a = HashPassword("same password", FastOptions());
  const auto b = HashPassword("same password", FastOptions());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a != *b);
  CHECK(Split(*a, '$')[4] != Split(*b, '$')[4]);
  CHECK(VerifyPassword("same password", *a));
  CHECK(VerifyPassword("same password", *b));
}

TEST_CASE("HashPassword reports argon2 errors as internal", "[password]") {
  PasswordHashingOptions options = FastOptions();
  options.iterations = 0;
  const auto phc = HashPassword("pw", options);
  REQUIRE_FALSE(phc.ok());
  CHECK(phc.status().code() == StatusCode::kInternal);
  CHECK(phc.status().message().find("pw") == std::string::npos);
}

TEST_CASE("VerifyPassword returns false for malformed or foreign PHC strings", "[password]") {
  const auto good = HashPassword("pw", FastOptions());
  REQUIRE(good.ok());
  const std::string& phc = *good;
  REQUIRE(VerifyPassword("pw", phc));

  std::string flipped = phc;
  flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';

  std::string argon2i = phc;
  argon2i.replace(0, 10, "$argon2i$");
  std::string argon2d = phc;
  argon2d.replace(0, 10, "$argon2d$");

  const std::vector<std::string> malformed = {
      "",
      "pw",
      "$argon2id$",
      "$argon2id$v=19$m=8192,t=1,p=1$$",
      "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA",
      "$argon2id$v=19$m=x,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + Split(phc, '$')[5],
      "$2b$12$abcdefghijklmnopqrstuuJ6b5bV6eO4bJ0Wm8Q5R6M0W2Vx9J7K2",  // bcrypt
      phc.substr(0, phc.size() - 1),  // truncated hash
      phc + "A",                      // extended hash
      phc + std::string(1, '\0'),     // embedded NUL
      flipped,
      argon2i,
      argon2d,
      " " + phc,
  };
  for (const auto& candidate : malformed) {
    CAPTURE(candidate);
    CHECK_FALSE(VerifyPassword("pw", candidate));
  }
}
