// WsTicketStore: single-use, short-lived tickets that let a browser open a WebSocket with
// `GET /v1/ws?ticket=…` instead of putting its long-lived bearer token in a URL (URLs end up in logs and
// browser history; a ticket is worthless once used or a minute later).
//
// `POST /v1/ws/ticket` (the Api) issues a ticket for its authenticated principal; the WebSocket upgrade
// (the transport) redeems it and acts as that principal. A ticket is "wst_" followed by 32 bytes from the OS
// CSPRNG in base64url. Only the SHA-256 of a ticket is kept and looked up, so a lookup's timing says nothing
// useful about the ticket, and the table holds nothing a reader of memory could redeem.
//
// The store is bounded: at most `max_outstanding` tickets at once and `max_per_principal` for one
// principal (issuing more is kResourceExhausted, HTTP 429); expired tickets are purged on every call. The
// principal is captured at issue time: a token revoked after that still opens one socket within the TTL.
//
// Thread-safe. No I/O and no Asio.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "libchat/status.h"
#include "libchat/types.h"

namespace libchat::server {

struct WsTicketOptions {
  // How long a ticket may wait to be redeemed. Default: 60 s (API.md).
  std::chrono::milliseconds ttl{60000};
  // Tickets outstanding at once, over all principals. Default: 100000.
  std::size_t max_outstanding = 100000;
  // Tickets outstanding at once for one principal id. Default: 32.
  std::size_t max_per_principal = 32;
  // The clock that decides expiry. Default (null): std::chrono::steady_clock::now. Tests inject one.
  std::function<std::chrono::steady_clock::time_point()> now;
};

struct WsTicket {
  std::string ticket;    // "wst_" + 43 base64url characters
  Timestamp expires_at;  // wall-clock time after which it is refused
};

class WsTicketStore {
 public:
  explicit WsTicketStore(WsTicketOptions options = {});
  WsTicketStore(const WsTicketStore&) = delete;
  WsTicketStore& operator=(const WsTicketStore&) = delete;

  // A new ticket for `principal`. kResourceExhausted when too many are outstanding.
  Result<WsTicket> Issue(const Principal& principal);
  // The principal the ticket was issued to; the ticket is consumed. kUnauthenticated for an unknown,
  // already used or expired ticket (all three look the same to the caller). With `accept`, a ticket whose
  // principal it refuses is left unused and kPermissionDenied ("origin not allowed") is returned.
  Result<Principal> Redeem(std::string_view ticket, const std::function<bool(const Principal&)>& accept = nullptr);
  // Tickets issued, not yet redeemed and not yet purged.
  std::size_t outstanding() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::string hash;  // SHA-256 of the ticket
    Principal principal;
    Clock::time_point expires;
  };
  // One TTL for all, so issue order is expiry order: the oldest tickets are at the front.
  using Entries = std::list<Entry>;

  Clock::time_point Now() const;
  void PurgeExpired(Clock::time_point now);  // requires mutex_
  void Erase(Entries::iterator entry);       // requires mutex_

  const WsTicketOptions options_;
  mutable std::mutex mutex_;
  Entries entries_;
  std::unordered_map<std::string, Entries::iterator> by_hash_;
  std::unordered_map<std::string, std::size_t> per_principal_;  // principal id -> outstanding tickets
};

}  // namespace libchat::server
