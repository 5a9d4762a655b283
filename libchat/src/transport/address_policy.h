// Which network addresses outbound requests (webhooks, email APIs) may reach: the SSRF policy.
// A target must be public unless it lies in an allowlist the operator configured. The policy is applied
// twice: when a URL is registered (CheckUrlTarget, a friendly early error) and on the address actually
// being connected to (AddressAllowed, from the HTTP client), which DNS rebinding cannot get around.
// Internal to libchat; no curl here.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libchat/status.h"

namespace libchat::internal {

// An IPv4 or IPv6 address in network byte order (IPv4 uses the first 4 bytes).
struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};

  // A dotted IPv4 or textual IPv6 address (no brackets, no zone id); nullopt otherwise.
  static std::optional<IpAddress> Parse(std::string_view text);
  // AF_INET / AF_INET6 socket addresses; nullopt for any other family.
  static std::optional<IpAddress> FromSockaddr(const sockaddr* address);

  // For ::ffff:a.b.c.d (IPv4-mapped) and 64:ff9b::a.b.c.d (NAT64), the IPv4 address they reach.
  std::optional<IpAddress> EmbeddedV4() const;
  std::string ToString() const;
};

// False for loopback, private (RFC 1918, fc00::/7), shared (100.64/10), link-local, multicast, reserved,
// documentation / benchmarking ranges, unspecified and broadcast addresses. IPv4-mapped and NAT64
// addresses are judged by the IPv4 address inside.
bool IsPublicAddress(const IpAddress& address);

// CIDR networks an operator allows despite not being public ("127.0.0.0/8", "::1/128").
// Default-constructed: empty. Copyable; immutable once parsed, so safe to share between threads.
class NetworkAllowlist {
 public:
  struct Network {
    IpAddress base;  // host bits zero
    int prefix_length = 0;
  };

  NetworkAllowlist() = default;

  // Each entry "address/prefix" ("10.1.0.0/16", "fd00::/8") or a bare address (a single host). Host bits
  // must be zero ("10.1.2.3/16" is refused as a likely typo). kInvalidArgument naming the first bad entry.
  static Result<NetworkAllowlist> Parse(const std::vector<std::string>& cidrs);

  // IPv4 networks also match the IPv4-mapped / NAT64 forms of their addresses.
  bool Contains(const IpAddress& address) const;
  bool empty() const { return networks_.empty(); }
  const std::vector<Network>& networks() const { return networks_; }

 private:
  std::vector<Network> networks_;
};

// True when a connection to `address` may be made: it is public, or inside `allowlist`. False for
// families other than AF_INET / AF_INET6.
bool AddressAllowed(const sockaddr* address, const NetworkAllowlist& allowlist);
bool AddressAllowed(const IpAddress& address, const NetworkAllowlist& allowlist);

// Checks a webhook / API URL when it is registered:
//  - kInvalidArgument: not http:// or https://, no host, userinfo ("user@host"), a bad port, spaces or
//    control characters, or a host name that does not resolve;
//  - kPermissionDenied: the host (an IP literal, [v6] included, or every address the name resolves to)
//    has an address that AddressAllowed refuses;
//  - kUnavailable: DNS failed temporarily.
// Blocks on DNS for names (getaddrinfo): call it off any event loop.
Status CheckUrlTarget(std::string_view url, const NetworkAllowlist& allowlist);

}  // namespace libchat::internal
