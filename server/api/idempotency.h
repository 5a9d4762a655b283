// Idempotency-Key for the HTTP API (API.md "Conventions"): a retried POST with the same key and the same request
// gets the original response instead of running again; the same key with another request is 422
// `idempotency_mismatch`; the same key while the first request still runs is 409 `conflict` (it never runs twice).
//
// Scope: keys are per caller. The cache key is (principal type, principal id, app id, Idempotency-Key), so two
// principals using the same key never see each other's responses. Callers holding only a publishable key
// (`pk_…`, embedded in public pages) all share the app's scope: for them the key must be unguessable (a UUID v4),
// as anyone presenting the same key and the same body gets the original response, session token included; keys
// shorter than kMinPublicIdempotencyKeyBytes are refused with 400 for them.
//
// Durability: keys live in this process only. A restart forgets them, and so does eviction: the cache is bounded
// by entry count and by stored bytes (oldest first out) and entries expire after a TTL (24 h by default). A retry
// after that runs again. Messages additionally carry the durable `client_msg_id` dedupe of the store, which
// survives restarts; use it for sends that must never be duplicated.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "libchat/types.h"
#include "server/http/request.h"

namespace libchat::server::api {

// Idempotency-Key values are opaque; these are the only rules (anything else is 400 invalid_argument).
inline constexpr std::size_t kMaxIdempotencyKeyBytes = 255;
// Shortest key accepted from callers holding only a publishable key (a UUID v4 has 36 characters).
inline constexpr std::size_t kMinPublicIdempotencyKeyBytes = 16;

struct IdempotencyOptions {
  std::size_t max_entries = 100'000;        // stored responses
  std::size_t max_bytes = 64 * 1024 * 1024;  // approximate: keys + fingerprints + headers + bodies of stored ones
  std::chrono::seconds ttl = std::chrono::hours(24);  // from when the response was stored
  // The clock for the TTL; empty means std::chrono::steady_clock::now. Tests inject a fake one.
  std::function<std::chrono::steady_clock::time_point()> now;
};

// The stored responses, keyed by an opaque scope key (IdempotencyScopeKey) and guarded by a request
// fingerprint (RequestFingerprint). Thread-safe; one short critical section per call, no I/O under the lock.
//
// Only final responses are stored: a 5xx or a 429 releases the key so that a retry really runs again. While a
// request runs, its key is "in flight": such claims are not counted against the bounds and never evicted (there
// are at most as many as requests being handled), so a request can never run twice at once.
class IdempotencyCache {
 public:
  enum class Outcome {
    kRun,         // the caller holds the key: run the request, then Ticket::Complete
    kReplay,      // a stored response for the same request: Ticket::stored
    kMismatch,    // the key was used with a different request (stored or in flight)
    kInProgress,  // the same request is running right now
  };

  // The result of Begin. For kRun it is a claim on the key: Complete stores the response (or releases the key
  // when the response is not final); destroying the ticket without Complete (a handler that threw) releases it.
  class Ticket {
   public:
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&&) = delete;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket();

    Outcome outcome() const { return outcome_; }
    // kReplay: the stored response (no X-Request-Id, rate-limit or CORS headers; those are per request).
    const http::Response& stored() const { return *stored_; }
    // kRun, at most once: records `response` for replays if it is final, otherwise frees the key.
    void Complete(const http::Response& response);

   private:
    friend class IdempotencyCache;
    Ticket() = default;

    IdempotencyCache* cache_ = nullptr;  // set while this ticket holds an in-flight claim
    Outcome outcome_ = Outcome::kRun;
    std::string key_;
    std::uint64_t claim_ = 0;
    std::shared_ptr<const http::Response> stored_;
  };

  explicit IdempotencyCache(IdempotencyOptions options = {});
  IdempotencyCache(const IdempotencyCache&) = delete;
  IdempotencyCache& operator=(const IdempotencyCache&) = delete;

  // Looks `key` up; when it is unknown (or expired), claims it for the caller (kRun).
  Ticket Begin(std::string key, std::string fingerprint);

  // Stored responses and their accounted bytes (in-flight claims are not counted).
  std::size_t size() const;
  std::size_t bytes() const;

  // 5xx and 429 are not final: the client is told to try again, and the retry must really run.
  static bool IsFinal(int status) { return status < 500 && status != 429; }

 private:
  struct Entry {
    std::string fingerprint;
    std::uint64_t claim = 0;                          // non-zero while in flight
    std::shared_ptr<const http::Response> response;  // set once stored
    std::chrono::steady_clock::time_point expires_at;
    std::size_t bytes = 0;
    std::list<const std::string*>::iterator order;  // position in stored_order_ once stored
  };

  std::chrono::steady_clock::time_point Now() const;
  void Store(std::uint64_t claim, const std::string& key, const http::Response& response);
  void Release(std::uint64_t claim, const std::string& key);
  // Under mu_: drops stored entries that expired, oldest first (stored_order_ is in expiry order).
  void DropExpiredLocked(std::chrono::steady_clock::time_point now);
  void EraseStoredLocked(std::unordered_map<std::string, Entry>::iterator it);

  const IdempotencyOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  // Keys of stored entries, oldest first: points into entries_'s keys, which stay put across rehashing.
  std::list<const std::string*> stored_order_;
  std::size_t bytes_ = 0;
  std::uint64_t next_claim_ = 0;
};

// The cache key of (caller, Idempotency-Key): principal type, id and app id, then the key, NUL-separated.
std::string IdempotencyScopeKey(const Principal& principal, std::string_view idempotency_key);
// SHA-256 over method, path, query and body (length-prefixed, so no two requests frame alike).
std::string RequestFingerprint(const http::Request& request);

struct RequestContext;

// The Api's hook for an authenticated POST carrying Idempotency-Key: validates the key (400), then runs
// `handler` once per (caller, key) and replays its final response to retries, adding "Idempotent-Replayed:
// true" and the retry's own request id (also inside a replayed error body); 422 idempotency_mismatch for the
// key with another request; 409 conflict (with Retry-After: 1) while the first request is running.
http::Response RunIdempotent(IdempotencyCache& cache, RequestContext& ctx, std::string_view idempotency_key,
                             http::Response (*handler)(RequestContext&));

}  // namespace libchat::server::api
