#include "server/ws_tickets.h"

#include <openssl/evp.h>

#include <utility>

#include "server/util_random.h"

namespace libchat::server {

namespace {

constexpr std::string_view kPrefix = "wst_";
constexpr std::size_t kTicketBytes = 32;
constexpr std::size_t kTicketLength = 4 + 43;  // prefix + unpadded base64url of 32 bytes

std::string Base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned n = (static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16) |
                       (static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned n = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) n |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    if (rest == 2) out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

// The raw SHA-256 of `text`; empty only if OpenSSL fails, which then matches no ticket.
std::string Sha256(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace

WsTicketStore::WsTicketStore(WsTicketOptions options) : options_(std::move(options)) {}

WsTicketStore::Clock::time_point WsTicketStore::Now() const { return options_.now ? options_.now() : Clock::now(); }

Result<WsTicket> WsTicketStore::Issue(const Principal& principal) {
  WsTicket ticket;
  ticket.ticket = std::string(kPrefix) + Base64Url(SecureRandomBytes(kTicketBytes));
  std::string hash = Sha256(ticket.ticket);
  if (hash.empty()) return UnavailableError("cannot issue a ticket now");
  ticket.expires_at = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()) +
                      options_.ttl;

  std::lock_guard lock(mutex_);
  const Clock::time_point now = Now();
  PurgeExpired(now);
  if (by_hash_.size() >= options_.max_outstanding) {
    return ResourceExhaustedError("too many WebSocket tickets outstanding; retry shortly");
  }
  std::size_t& mine = per_principal_[principal.id];
  if (mine >= options_.max_per_principal) {
    return ResourceExhaustedError("too many unused WebSocket tickets for this principal; use one or wait a minute");
  }
  ++mine;
  entries_.push_back(Entry{hash, principal, now + options_.ttl});
  by_hash_.emplace(std::move(hash), std::prev(entries_.end()));
  return ticket;
}

Result<Principal> WsTicketStore::Redeem(std::string_view ticket, const std::function<bool(const Principal&)>& accept) {
  if (ticket.size() != kTicketLength || ticket.substr(0, kPrefix.size()) != kPrefix) {
    return UnauthenticatedError("unknown, used or expired ticket");
  }
  const std::string hash = Sha256(ticket);
  std::lock_guard lock(mutex_);
  PurgeExpired(Now());
  auto found = by_hash_.find(hash);
  if (hash.empty() || found == by_hash_.end()) return UnauthenticatedError("unknown, used or expired ticket");
  Principal principal = found->second->principal;
  if (accept && !accept(principal)) return PermissionDeniedError("origin not allowed");
  Erase(found->second);
  return principal;
}

std::size_t WsTicketStore::outstanding() const {
  std::lock_guard lock(mutex_);
  return by_hash_.size();
}

void WsTicketStore::PurgeExpired(Clock::time_point now) {
  // A ticket is valid strictly before its expiry.
  while (!entries_.empty() && entries_.front().expires <= now) Erase(entries_.begin());
}

void WsTicketStore::Erase(Entries::iterator entry) {
  auto count = per_principal_.find(entry->principal.id);
  if (count != per_principal_.end() && --count->second == 0) per_principal_.erase(count);
  by_hash_.erase(entry->hash);
  entries_.erase(entry);
}

}  // namespace libchat::server
