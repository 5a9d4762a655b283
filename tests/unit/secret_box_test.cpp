// SecretBox (AES-256-GCM sealing of secrets at rest) and the server key file.
#include "util/secret_box.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch.h"
#include "util/crypto.h"

using libchat::StatusCode;
using libchat::internal::Base64Decode;
using libchat::internal::Base64Encode;
using libchat::internal::HexEncode;
using libchat::internal::LoadOrCreateKeyFile;
using libchat::internal::ParseKeyText;
using libchat::internal::RandomBytes;
using libchat::internal::SecretBox;

namespace {

SecretBox NewBox(const std::string& key) {
  auto box = SecretBox::Create(key);
  REQUIRE(box.ok());
  return *box;
}

// The raw bytes under the "v1." prefix.
std::string RawOf(const std::string& sealed) {
  REQUIRE(sealed.rfind("v1.", 0) == 0);
  auto raw = Base64Decode(sealed.substr(3));
  REQUIRE(raw.has_value());
  return *raw;
}

std::string Reseal(const std::string& raw) { return "v1." + Base64Encode(raw); }

// A fresh directory for key files, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "libchat-secret-box-XXXXXX").string();
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("SecretBox seals and opens plaintexts of any size, including empty and 1 MiB", "[secret_box]") {
  const SecretBox box = NewBox(RandomBytes(32));
  std::string binary;
  for (int i = 0; i < 256; ++i) binary += static_cast<char>(i);
  for (const std::string& plaintext :
       {std::string(), std::string("sk_live_provider_api_key"), binary, RandomBytes(1 << 20)}) {
    const std::string sealed = box.Seal(plaintext);
    CHECK(sealed.rfind("v1.", 0) == 0);
    // nonce (12) + ciphertext (same length) + tag (16)
    CHECK(RawOf(sealed).size() == 12 + plaintext.size() + 16);
    if (!plaintext.empty()) CHECK(sealed.find(Base64Encode(plaintext)) == std::string::npos);
    auto opened = box.Open(sealed);
    REQUIRE(opened.ok());
    CHECK(*opened == plaintext);

    const std::string with_aad = box.Seal(plaintext, "webhook:wh_123");
    auto opened_aad = box.Open(with_aad, "webhook:wh_123");
    REQUIRE(opened_aad.ok());
    CHECK(*opened_aad == plaintext);
  }
}

TEST_CASE("SecretBox uses a fresh nonce for every Seal", "[secret_box]") {
  const SecretBox box = NewBox(RandomBytes(32));
  std::set<std::string> nonces;
  std::set<std::string> sealed_values;
  for (int i = 0; i < 1000; ++i) {
    const std::string sealed = box.Seal("the same plaintext");
    sealed_values.insert(sealed);
    nonces.insert(RawOf(sealed).substr(0, 12));
  }
  CHECK(nonces.size() == 1000);
  CHECK(sealed_values.size() == 1000);
}

TEST_CASE("SecretBox Open rejects any altered byte of nonce, ciphertext or tag", "[secret_box]") {
  const SecretBox box = NewBox(RandomBytes(32));
  const std::string sealed = box.Seal("credential-value", "aad");
  const std::string raw = RawOf(sealed);
  REQUIRE(raw.size() == 12 + 16 + 16);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    for (const unsigned char flip : {0x01, 0x80}) {
      std::string tampered = raw;
      tampered[i] = static_cast<char>(static_cast<unsigned char>(tampered[i]) ^ flip);
      auto opened = box.Open(Reseal(tampered), "aad");
      INFO("byte " << i << " flip " << static_cast<int>(flip));
      CHECK_FALSE(opened.ok());
      CHECK(opened.status().code() == StatusCode::kInvalidArgument);
    }
  }
  // Truncated or extended values.
  CHECK_FALSE(box.Open(Reseal(raw.substr(0, raw.size() - 1)), "aad").ok());
  CHECK_FALSE(box.Open(Reseal(raw + "x"), "aad").ok());
  CHECK_FALSE(box.Open(Reseal(raw.substr(0, 27)), "aad").ok());
  // The untouched value still opens.
  CHECK(box.Open(sealed, "aad").ok());
}

TEST_CASE("SecretBox Open fails under another key or other associated data", "[secret_box]") {
  const SecretBox box = NewBox(RandomBytes(32));
  const SecretBox other = NewBox(RandomBytes(32));
  const std::string sealed = box.Seal("secret", "webhook:wh_1");
  auto wrong_key = other.Open(sealed, "webhook:wh_1");
  CHECK(wrong_key.status().code() == StatusCode::kInvalidArgument);
  CHECK(wrong_key.status().message().find("secret") == std::string::npos);
  CHECK(box.Open(sealed, "webhook:wh_2").status().code() == StatusCode::kInvalidArgument);
  CHECK(box.Open(sealed).status().code() == StatusCode::kInvalidArgument);
  CHECK(box.Open(box.Seal("secret")).ok());
  CHECK_FALSE(box.Open(box.Seal("secret"), "webhook:wh_1").ok());
  // Copies hold the same key.
  const SecretBox copy = box;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(copy.Open(sealed, "webhook:wh_1").ok());
}

TEST_CASE("SecretBox Open rejects malformed values", "[secret_box]") {
  const SecretBox box = NewBox(RandomBytes(32));
  const std::string valid = box.Seal("x");
  for (const std::string& bad : {std::string(), std::string("v1."), std::string("v1"), std::string("secret"),
                                  std::string("v2.") + valid.substr(3), valid.substr(3), std::string("v1.!!!!"),
                                  std::string("v1.") + valid.substr(3) + "=", std::string("V1.") + valid.substr(3),
                                  valid + "\n", std::string("v1.") + Base64Encode(std::string(27, 'a'))}) {
    INFO(bad);
    auto opened = box.Open(bad);
    CHECK_FALSE(opened.ok());
    CHECK(opened.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("SecretBox Create wants exactly 32 bytes", "[secret_box]") {
  CHECK(SecretBox::Create(std::string(32, '\0')).ok());
  for (const std::size_t size : {0, 16, 31, 33, 64}) {
    auto box = SecretBox::Create(std::string(size, 'k'));
    CHECK(box.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("SecretBox seals and opens concurrently from many threads", "[secret_box]") {
  const SecretBox box = NewBox(RandomBytes(32));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string plaintext = "thread " + std::to_string(t) + " value " + std::to_string(i);
        auto opened = box.Open(box.Seal(plaintext, "ctx"), "ctx");
        if (!opened.ok() || *opened != plaintext) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == 0);
}

TEST_CASE("LoadOrCreateKeyFile creates a private key file once and reuses it", "[secret_box]") {
  TempDir dir;
  const std::string path = dir.File("server.key");
  auto created = LoadOrCreateKeyFile(path);
  REQUIRE(created.ok());
  CHECK(created->size() == 32);
  CHECK(ModeOf(path) == 0600);
  const std::string text = ReadFile(path);
  CHECK(text == HexEncode(*created) + "\n");

  auto reused = LoadOrCreateKeyFile(path);
  REQUIRE(reused.ok());
  CHECK(*reused == *created);
  CHECK(ReadFile(path) == text);
  // No temporary files are left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.File(""))) ++entries;
  CHECK(entries == 1);

  // A sealed value survives a "restart" with the key loaded from the file.
  const std::string sealed = NewBox(*created).Seal("provider password");
  auto opened = NewBox(*reused).Open(sealed);
  REQUIRE(opened.ok());
  CHECK(*opened == "provider password");

  // Another file gets another key.
  auto other = LoadOrCreateKeyFile(dir.File("other.key"));
  REQUIRE(other.ok());
  CHECK(*other != *created);
}

TEST_CASE("LoadOrCreateKeyFile gives concurrent creators the same key", "[secret_box]") {
  TempDir dir;
  const std::string path = dir.File("raced.key");
  std::vector<std::string> keys(8);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (std::size_t i = 0; i < keys.size(); ++i) {
    threads.emplace_back([&, i] {
      auto key = LoadOrCreateKeyFile(path);
      if (key.ok()) keys[i] = *key; else ++failures;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == 0);
  for (const std::string& key : keys) CHECK(key == keys[0]);
  CHECK(keys[0].size() == 32);
}

TEST_CASE("LoadOrCreateKeyFile reads an existing key, with or without a newline", "[secret_box]") {
  TempDir dir;
  const std::string key = RandomBytes(32);
  WriteFile(dir.File("a.key"), HexEncode(key) + "\n", 0600);
  WriteFile(dir.File("b.key"), HexEncode(key), 0400);
  std::string upper = HexEncode(key);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  WriteFile(dir.File("c.key"), upper + "\n", 0600);
  for (const char* name : {"a.key", "b.key", "c.key"}) {
    auto loaded = LoadOrCreateKeyFile(dir.File(name));
    INFO(name);
    REQUIRE(loaded.ok());
    CHECK(*loaded == key);
  }
}

TEST_CASE("LoadOrCreateKeyFile refuses a key file group or others can access", "[secret_box]") {
  TempDir dir;
  const std::string key_text = HexEncode(RandomBytes(32)) + "\n";
  for (const mode_t mode : {0640, 0604, 0644, 0660, 0620, 0601}) {
    const std::string path = dir.File("open.key");
    WriteFile(path, key_text, mode);
    auto loaded = LoadOrCreateKeyFile(path);
    INFO("mode " << std::oct << mode);
    CHECK(loaded.status().code() == StatusCode::kFailedPrecondition);
    CHECK(loaded.status().message().find("chmod 600") != std::string::npos);
    // Refusing never replaces the file.
    CHECK(ReadFile(path) == key_text);
  }
  // A directory where the key file should be.
  REQUIRE(std::filesystem::create_directory(dir.File("dir.key")));
  REQUIRE(::chmod(dir.File("dir.key").c_str(), 0700) == 0);
  CHECK(LoadOrCreateKeyFile(dir.File("dir.key")).status().code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("LoadOrCreateKeyFile rejects a malformed key file without touching it", "[secret_box]") {
  TempDir dir;
  const std::string hex = HexEncode(RandomBytes(32));
  for (const std::string& content :
       {std::string(), std::string("\n"), hex.substr(0, 62) + "\n", hex + "00\n", hex + "\n\n", " " + hex + "\n",
        hex + "\r\n", hex.substr(0, 63) + "g\n", Base64Encode(RandomBytes(32)) + "\n", hex + "\n" + hex + "\n",
        std::string(4096, 'a')}) {
    const std::string path = dir.File("bad.key");
    WriteFile(path, content, 0600);
    auto loaded = LoadOrCreateKeyFile(path);
    INFO(content);
    CHECK(loaded.status().code() == StatusCode::kInvalidArgument);
    CHECK(ReadFile(path) == content);
  }
}

TEST_CASE("LoadOrCreateKeyFile reports a directory it cannot create the key in", "[secret_box]") {
  TempDir dir;
  auto loaded = LoadOrCreateKeyFile(dir.File("missing-dir/server.key"));
  CHECK_FALSE(loaded.ok());
  CHECK(loaded.status().code() == StatusCode::kUnavailable);
  CHECK(LoadOrCreateKeyFile("").status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("ParseKeyText accepts 64 hex characters or base64 of 32 bytes", "[secret_box]") {
  const std::string key = RandomBytes(32);
  const std::string hex = HexEncode(key);
  const std::string b64 = Base64Encode(key);
  for (const std::string& text : {hex, b64, "  " + hex + "\n", b64 + "\n"}) {
    auto parsed = ParseKeyText(text);
    INFO(text);
    REQUIRE(parsed.ok());
    CHECK(*parsed == key);
  }
  for (const std::string& text :
       {std::string(), hex.substr(0, 62), hex + "00", hex.substr(0, 63) + "z", Base64Encode(RandomBytes(31)),
        Base64Encode(RandomBytes(33)), b64.substr(0, 43), std::string("not a key at all"), hex.substr(0, 32)}) {
    auto parsed = ParseKeyText(text);
    INFO(text);
    CHECK(parsed.status().code() == StatusCode::kInvalidArgument);
    if (!text.empty()) CHECK(parsed.status().message().find(text) == std::string::npos);
  }
}
