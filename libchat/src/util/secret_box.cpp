#include "util/secret_box.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "util/crypto.h"

namespace libchat::internal {
namespace {

constexpr std::string_view kPrefix = "v1.";
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;
// A key file is 64 hex characters and a newline; anything much longer is not one.
constexpr std::size_t kMaxKeyFileSize = 256;

[[noreturn]] void FatalCryptoError(const char* what) {
  // Seal cannot fail with a valid key; if OpenSSL does, storing the secret in
  // clear or unsealed would be worse than stopping.
  std::fprintf(stderr, "libchat: fatal: %s failed\n", what);
  std::abort();
}

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const unsigned char* Bytes(std::string_view s) {
  static constexpr unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

unsigned char* MutableBytes(std::string& s, std::size_t offset) {
  return reinterpret_cast<unsigned char*>(s.data()) + offset;
}

// EVP_*Update take int lengths; feed larger inputs in slices. With GCM the output
// of each update is exactly as long as its input.
template <typename UpdateFn>
bool UpdateInSlices(UpdateFn update, EVP_CIPHER_CTX* ctx, unsigned char* out, std::string_view in) {
  std::size_t done = 0;
  while (done < in.size()) {
    const std::size_t slice = std::min<std::size_t>(in.size() - done, INT_MAX / 2);
    int written = 0;
    if (update(ctx, out + done, &written, Bytes(in.substr(done, slice)), static_cast<int>(slice)) != 1 ||
        static_cast<std::size_t>(written) != slice) {
      return false;
    }
    done += slice;
  }
  return true;
}

// Associated data goes through the same update call with a null output buffer.
template <typename UpdateFn>
bool AddAssociatedData(UpdateFn update, EVP_CIPHER_CTX* ctx, std::string_view aad) {
  std::size_t done = 0;
  while (done < aad.size()) {
    const std::size_t slice = std::min<std::size_t>(aad.size() - done, INT_MAX / 2);
    int written = 0;
    if (update(ctx, nullptr, &written, Bytes(aad.substr(done, slice)), static_cast<int>(slice)) != 1) return false;
    done += slice;
  }
  return true;
}

Status CannotOpen() {
  return InvalidArgumentError("sealed value cannot be opened: altered, or sealed under another key or context");
}

std::string_view TrimWhitespace(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// 64 hex characters -> 32 bytes.
std::optional<std::string> DecodeHexKey(std::string_view text) {
  if (text.size() != 2 * SecretBox::kKeySize) return std::nullopt;
  return HexDecode(text);
}

Status ErrnoStatus(const std::string& what, const std::string& path, int error) {
  return UnavailableError(what + " " + path + ": " + std::strerror(error));
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads and validates an existing key file. kNotFound when it does not exist.
Result<std::string> ReadKeyFile(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ENOENT) return NotFoundError("key file " + path + " does not exist");
    return ErrnoStatus("cannot open key file", path, error);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    const int error = errno;
    return ErrnoStatus("cannot stat key file", path, error);
  }
  if (!S_ISREG(st.st_mode)) return FailedPreconditionError("key file " + path + " is not a regular file");
  // Like ssh with private keys: a key others can read is not secret any more, and
  // one they can write could be swapped; refuse rather than use it.
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return FailedPreconditionError("key file " + path + " has mode " + mode +
                                   ", which gives group or others access; chmod 600 it");
  }
  std::string content;
  char buffer[kMaxKeyFileSize + 1];
  while (content.size() <= kMaxKeyFileSize) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      return ErrnoStatus("cannot read key file", path, error);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
  }
  std::string_view text = content;
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::optional<std::string> key = DecodeHexKey(text);
  OPENSSL_cleanse(content.data(), content.size());
  if (!key) {
    return InvalidArgumentError("key file " + path +
                                " is malformed: expected 64 hex characters and an optional newline");
  }
  return std::move(*key);
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string DirectoryOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Writes a new key to a private temporary file next to `path`, makes it durable,
// then hard-links it to `path`: link() never replaces an existing file, so the
// first of several concurrent creators wins and nobody ever sees a partial file.
// kAlreadyExists when another process created `path` first.
Status CreateKeyFile(const std::string& path) {
  const std::string temp = path + ".tmp-" + RandomAlnum(12);
  std::string text = HexEncode(RandomBytes(SecretBox::kKeySize)) + "\n";
  Status status;
  {
    FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600));
    if (fd.get() < 0) {
      const int error = errno;
      OPENSSL_cleanse(text.data(), text.size());
      return ErrnoStatus("cannot create key file", temp, error);
    }
    // The mode argument is filtered by the umask, which can only remove bits; set
    // it explicitly anyway so the file is exactly 0600.
    if (::fchmod(fd.get(), 0600) != 0 || !WriteAll(fd.get(), text) || ::fsync(fd.get()) != 0) {
      const int error = errno;
      status = ErrnoStatus("cannot write key file", temp, error);
    }
  }
  OPENSSL_cleanse(text.data(), text.size());
  if (status.ok() && ::link(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    status = error == EEXIST ? AlreadyExistsError("key file " + path + " already exists")
                             : ErrnoStatus("cannot create key file", path, error);
  }
  ::unlink(temp.c_str());
  if (!status.ok()) return status;
  // Data sealed under the key must never outlive the key: make the new directory
  // entry durable before anyone uses it.
  FileDescriptor dir(::open(DirectoryOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0) {
    const int error = errno;
    return ErrnoStatus("cannot sync the directory of key file", path, error);
  }
  return Status::Ok();
}

}  // namespace

SecretBox::SecretBox(std::string_view key) { std::copy(key.begin(), key.end(), key_.begin()); }

SecretBox::~SecretBox() { OPENSSL_cleanse(key_.data(), key_.size()); }

Result<SecretBox> SecretBox::Create(std::string_view key) {
  if (key.size() != kKeySize) {
    return InvalidArgumentError("a SecretBox key must be exactly 32 bytes, got " + std::to_string(key.size()));
  }
  return SecretBox(key);
}

std::string SecretBox::Seal(std::string_view plaintext, std::string_view associated_data) const {
  std::string raw(kNonceSize + plaintext.size() + kTagSize, '\0');
  const std::string nonce = RandomBytes(kNonceSize);
  std::copy(nonce.begin(), nonce.end(), raw.begin());

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int final_len = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), Bytes(nonce)) != 1 ||
      !AddAssociatedData(EVP_EncryptUpdate, ctx.get(), associated_data) ||
      !UpdateInSlices(EVP_EncryptUpdate, ctx.get(), MutableBytes(raw, kNonceSize), plaintext) ||
      EVP_EncryptFinal_ex(ctx.get(), MutableBytes(raw, kNonceSize + plaintext.size()), &final_len) != 1 ||
      final_len != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                          MutableBytes(raw, kNonceSize + plaintext.size())) != 1) {
    FatalCryptoError("AES-256-GCM seal");
  }
  std::string sealed(kPrefix);
  sealed += Base64Encode(raw);
  return sealed;
}

Result<std::string> SecretBox::Open(std::string_view sealed, std::string_view associated_data) const {
  if (sealed.substr(0, kPrefix.size()) != kPrefix) {
    return InvalidArgumentError("sealed value cannot be opened: not a v1 sealed value");
  }
  const std::optional<std::string> raw = Base64Decode(sealed.substr(kPrefix.size()));
  if (!raw) return InvalidArgumentError("sealed value cannot be opened: malformed base64");
  if (raw->size() < kNonceSize + kTagSize) return InvalidArgumentError("sealed value cannot be opened: truncated");

  const std::string_view bytes = *raw;
  const std::string_view nonce = bytes.substr(0, kNonceSize);
  const std::string_view ciphertext = bytes.substr(kNonceSize, bytes.size() - kNonceSize - kTagSize);
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer; give it a copy.
  std::string tag(bytes.substr(bytes.size() - kTagSize));

  std::string plaintext(ciphertext.size(), '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) FatalCryptoError("EVP_CIPHER_CTX_new");
  int final_len = 0;
  const bool ok =
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), Bytes(nonce)) == 1 &&
      AddAssociatedData(EVP_DecryptUpdate, ctx.get(), associated_data) &&
      UpdateInSlices(EVP_DecryptUpdate, ctx.get(), MutableBytes(plaintext, 0), ciphertext) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), MutableBytes(tag, 0)) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), MutableBytes(plaintext, plaintext.size()), &final_len) == 1;
  if (!ok) {
    // Unauthenticated plaintext must not linger in memory.
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return CannotOpen();
  }
  return plaintext;
}

Result<std::string> LoadOrCreateKeyFile(const std::string& path) {
  if (path.empty()) return InvalidArgumentError("key file path is empty");
  Result<std::string> key = ReadKeyFile(path);
  if (key.ok() || key.status().code() != StatusCode::kNotFound) return key;

  const Status created = CreateKeyFile(path);
  if (!created.ok() && created.code() != StatusCode::kAlreadyExists) return created;
  // Created by us or, in a race, by another process: either way it is complete
  // now, and reading it back gives every racer the same key.
  key = ReadKeyFile(path);
  if (!key.ok() && key.status().code() == StatusCode::kNotFound) {
    return UnavailableError("key file " + path + " disappeared right after being created");
  }
  return key;
}

Result<std::string> ParseKeyText(std::string_view text) {
  text = TrimWhitespace(text);
  if (std::optional<std::string> key = DecodeHexKey(text)) return std::move(*key);
  if (std::optional<std::string> key = Base64Decode(text); key && key->size() == SecretBox::kKeySize) {
    return std::move(*key);
  }
  return InvalidArgumentError("a key must be 64 hex characters or the base64 of 32 bytes");
}

}  // namespace libchat::internal
