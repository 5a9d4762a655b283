#include "server/api/idempotency.h"

#include <openssl/evp.h>

#include <utility>

#include <nlohmann/json.hpp>

#include "server/api/handler_util.h"
#include "server/json_codec.h"

namespace libchat::server::api {
namespace {

// Bookkeeping per stored entry beyond its strings (map node, list node, control blocks), roughly.
constexpr std::size_t kEntryOverheadBytes = 256;

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && http::EqualsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

// Headers that describe this request rather than the result: a replay gets fresh ones.
bool IsPerRequestHeader(std::string_view name) {
  return http::EqualsIgnoreCase(name, "X-Request-Id") || http::EqualsIgnoreCase(name, "Retry-After") ||
         StartsWithIgnoreCase(name, "RateLimit") || StartsWithIgnoreCase(name, "X-RateLimit") ||
         StartsWithIgnoreCase(name, "Access-Control-") || http::EqualsIgnoreCase(name, "Vary");
}

void AppendFramed(std::string& out, std::string_view part) {
  std::uint64_t n = part.size();
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>(n & 0xff));
    n >>= 8;
  }
  out.append(part.data(), part.size());
}

}  // namespace

// ---------------------------------------------------------------------------
// Ticket

IdempotencyCache::Ticket::Ticket(Ticket&& other) noexcept
    : cache_(other.cache_),
      outcome_(other.outcome_),
      key_(std::move(other.key_)),
      claim_(other.claim_),
      stored_(std::move(other.stored_)) {
  other.cache_ = nullptr;
}

IdempotencyCache::Ticket::~Ticket() {
  if (cache_ != nullptr) cache_->Release(claim_, key_);
}

void IdempotencyCache::Ticket::Complete(const http::Response& response) {
  if (cache_ == nullptr) return;
  IdempotencyCache* cache = cache_;
  cache_ = nullptr;
  if (IsFinal(response.status)) {
    cache->Store(claim_, key_, response);
  } else {
    cache->Release(claim_, key_);
  }
}

// ---------------------------------------------------------------------------
// IdempotencyCache

IdempotencyCache::IdempotencyCache(IdempotencyOptions options) : options_(std::move(options)) {}

std::chrono::steady_clock::time_point IdempotencyCache::Now() const {
  return options_.now ? options_.now() : std::chrono::steady_clock::now();
}

IdempotencyCache::Ticket IdempotencyCache::Begin(std::string key, std::string fingerprint) {
  const auto now = Now();
  Ticket ticket;
  std::lock_guard<std::mutex> lock(mu_);
  DropExpiredLocked(now);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.response != nullptr && it->second.expires_at <= now) {
    // Expired but not swept yet (the order is only the expiry order while the clock never goes back).
    EraseStoredLocked(it);
    it = entries_.end();
  }
  if (it != entries_.end()) {
    const Entry& entry = it->second;
    if (entry.fingerprint != fingerprint) {
      ticket.outcome_ = Outcome::kMismatch;
    } else if (entry.response != nullptr) {
      ticket.outcome_ = Outcome::kReplay;
      ticket.stored_ = entry.response;
    } else {
      ticket.outcome_ = Outcome::kInProgress;
    }
    return ticket;
  }
  it = entries_.emplace(std::move(key), Entry()).first;
  Entry& entry = it->second;
  entry.fingerprint = std::move(fingerprint);
  entry.claim = ++next_claim_;
  ticket.outcome_ = Outcome::kRun;
  ticket.cache_ = this;
  ticket.key_ = it->first;
  ticket.claim_ = entry.claim;
  return ticket;
}

void IdempotencyCache::Store(std::uint64_t claim, const std::string& key, const http::Response& response) {
  // Build the stored copy outside the lock.
  auto stored = std::make_shared<http::Response>();
  stored->status = response.status;
  stored->body = response.body;
  std::size_t bytes = kEntryOverheadBytes + 2 * key.size() + response.body.size();
  for (const http::Header& header : response.headers) {
    if (IsPerRequestHeader(header.name)) continue;
    stored->headers.push_back(header);
    bytes += header.name.size() + header.value.size() + sizeof(http::Header);
  }
  const auto now = Now();

  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.claim != claim) return;  // not ours (cannot happen; be safe)
  Entry& entry = it->second;
  bytes += entry.fingerprint.size();
  if (bytes > options_.max_bytes || options_.max_entries == 0) {
    // Larger than the whole budget: not kept, so a retry runs again (as after a restart).
    entries_.erase(it);
    return;
  }
  entry.claim = 0;
  entry.response = std::move(stored);
  entry.expires_at = now + options_.ttl;
  entry.bytes = bytes;
  entry.order = stored_order_.insert(stored_order_.end(), &it->first);
  bytes_ += bytes;
  DropExpiredLocked(now);
  while (!stored_order_.empty() && (stored_order_.size() > options_.max_entries || bytes_ > options_.max_bytes)) {
    EraseStoredLocked(entries_.find(*stored_order_.front()));
  }
}

void IdempotencyCache::Release(std::uint64_t claim, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.claim == claim && it->second.response == nullptr) entries_.erase(it);
}

void IdempotencyCache::DropExpiredLocked(std::chrono::steady_clock::time_point now) {
  while (!stored_order_.empty()) {
    auto it = entries_.find(*stored_order_.front());
    if (it->second.expires_at > now) break;
    EraseStoredLocked(it);
  }
}

void IdempotencyCache::EraseStoredLocked(std::unordered_map<std::string, Entry>::iterator it) {
  bytes_ -= it->second.bytes;
  stored_order_.erase(it->second.order);
  entries_.erase(it);
}

std::size_t IdempotencyCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stored_order_.size();
}

std::size_t IdempotencyCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

// ---------------------------------------------------------------------------
// Keys and fingerprints

std::string IdempotencyScopeKey(const Principal& principal, std::string_view idempotency_key) {
  // Principal parts never contain NUL and the key comes last, so the concatenation is unambiguous.
  std::string key;
  const char* type = PrincipalTypeName(principal.type);
  key.reserve(std::char_traits<char>::length(type) + principal.id.size() + principal.app_id.str().size() +
              idempotency_key.size() + 3);
  key += type;
  key += '\0';
  key += principal.id;
  key += '\0';
  key += principal.app_id.str();
  key += '\0';
  key.append(idempotency_key.data(), idempotency_key.size());
  return key;
}

std::string RequestFingerprint(const http::Request& request) {
  std::string framed;
  framed.reserve(32 + request.method.size() + request.path.size() + request.query.size() + request.body.size());
  AppendFramed(framed, request.method);
  AppendFramed(framed, request.path);
  AppendFramed(framed, request.query);
  AppendFramed(framed, request.body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(framed.data(), framed.size(), digest, &digest_len, EVP_sha256(), nullptr) != 1) {
    return framed;  // never expected; the framed request itself compares just as exactly
  }
  return std::string(reinterpret_cast<const char*>(digest), digest_len);
}

// ---------------------------------------------------------------------------
// The Api hook

namespace {

http::Response Replay(const http::Response& stored, const std::string& request_id) {
  http::Response response = stored;
  if (response.status >= 400) {
    // Error bodies name the request they answer: this one.
    Json body = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_object() && body.contains("error") && body["error"].is_object()) {
      body["error"]["request_id"] = request_id;
      response.body = DumpJson(body);
    }
  }
  response.headers.push_back({"Idempotent-Replayed", "true"});
  response.headers.push_back({"X-Request-Id", request_id});
  return response;
}

}  // namespace

http::Response RunIdempotent(IdempotencyCache& cache, RequestContext& ctx, std::string_view idempotency_key,
                             http::Response (*handler)(RequestContext&)) {
  if (idempotency_key.empty() || idempotency_key.size() > kMaxIdempotencyKeyBytes) {
    return ctx.Fail("Idempotency-Key must be 1 to " + std::to_string(kMaxIdempotencyKeyBytes) + " bytes");
  }
  if (ctx.principal.type == PrincipalType::kPublishable && idempotency_key.size() < kMinPublicIdempotencyKeyBytes) {
    // Everyone holding the public key shares one scope: a short key could be guessed and its response
    // (a new customer's session token) replayed to someone else.
    return ctx.Fail("with a publishable key, Idempotency-Key must be at least " +
                    std::to_string(kMinPublicIdempotencyKeyBytes) + " bytes (use a UUID v4)");
  }
  IdempotencyCache::Ticket ticket =
      cache.Begin(IdempotencyScopeKey(ctx.principal, idempotency_key), RequestFingerprint(ctx.request));
  switch (ticket.outcome()) {
    case IdempotencyCache::Outcome::kRun: {
      http::Response response = handler(ctx);  // if it throws, the ticket releases the key
      ticket.Complete(response);
      return response;
    }
    case IdempotencyCache::Outcome::kReplay:
      return Replay(ticket.stored(), ctx.request_id);
    case IdempotencyCache::Outcome::kMismatch:
      return ErrorResponse(422, "idempotency_mismatch",
                           "this Idempotency-Key was already used with a different request", ctx.request_id);
    case IdempotencyCache::Outcome::kInProgress:
      break;
  }
  http::Response response =
      ErrorResponse(409, "conflict", "a request with this Idempotency-Key is in progress", ctx.request_id);
  response.headers.push_back({"Retry-After", "1"});
  return response;
}

}  // namespace libchat::server::api
