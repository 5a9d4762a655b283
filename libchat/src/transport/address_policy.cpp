#include "transport/address_policy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>

#include "util/status_macros.h"

namespace libchat::internal {
namespace {

struct Range {
  IpAddress base;
  int prefix_length;
};

bool PrefixMatches(const IpAddress& address, const IpAddress& base, int prefix_length) {
  if (address.v6 != base.v6) return false;
  const int whole_bytes = prefix_length / 8;
  if (std::memcmp(address.bytes.data(), base.bytes.data(), static_cast<std::size_t>(whole_bytes)) != 0) {
    return false;
  }
  const int rest_bits = prefix_length % 8;
  if (rest_bits == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest_bits));
  return (address.bytes[static_cast<std::size_t>(whole_bytes)] & mask) ==
         (base.bytes[static_cast<std::size_t>(whole_bytes)] & mask);
}

Range MakeRange(const char* text, int prefix_length) {
  // The tables below are constants, so Parse cannot fail on them.
  return Range{*IpAddress::Parse(text), prefix_length};
}

// IPv4 ranges that are not publicly routable (IANA special-purpose registry, RFC 6890 and successors).
const std::vector<Range>& NonPublicV4() {
  static const std::vector<Range> ranges = {
      MakeRange("0.0.0.0", 8),        // "this network"
      MakeRange("10.0.0.0", 8),       // private
      MakeRange("100.64.0.0", 10),    // shared address space (carrier-grade NAT)
      MakeRange("127.0.0.0", 8),      // loopback
      MakeRange("169.254.0.0", 16),   // link-local (cloud metadata endpoints live here)
      MakeRange("172.16.0.0", 12),    // private
      MakeRange("192.0.0.0", 24),     // IETF protocol assignments
      MakeRange("192.0.2.0", 24),     // documentation
      MakeRange("192.168.0.0", 16),   // private
      MakeRange("198.18.0.0", 15),    // benchmarking
      MakeRange("198.51.100.0", 24),  // documentation
      MakeRange("203.0.113.0", 24),   // documentation
      MakeRange("224.0.0.0", 4),      // multicast
      MakeRange("240.0.0.0", 4),      // reserved, includes 255.255.255.255 (broadcast)
  };
  return ranges;
}

// IPv6 ranges that are not public. The embedded-IPv4 forms are handled separately.
const std::vector<Range>& NonPublicV6() {
  static const std::vector<Range> ranges = {
      MakeRange("::", 96),          // unspecified, loopback and the deprecated IPv4-compatible addresses
      MakeRange("100::", 64),       // discard-only
      MakeRange("64:ff9b:1::", 48),  // local-use NAT64
      MakeRange("2001:2::", 48),    // benchmarking
      MakeRange("2001:db8::", 32),  // documentation
      MakeRange("fc00::", 7),       // unique local
      MakeRange("fe80::", 10),      // link-local
      MakeRange("fec0::", 10),      // deprecated site-local
      MakeRange("ff00::", 8),       // multicast
  };
  return ranges;
}

IpAddress V4FromBytes(const std::uint8_t* bytes) {
  IpAddress v4;
  std::memcpy(v4.bytes.data(), bytes, 4);
  return v4;
}

IpAddress MappedV6(const IpAddress& v4) {
  IpAddress v6;
  v6.v6 = true;
  v6.bytes[10] = 0xFF;
  v6.bytes[11] = 0xFF;
  std::memcpy(v6.bytes.data() + 12, v4.bytes.data(), 4);
  return v6;
}

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsHostNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

Status CheckPort(std::string_view port) {
  if (port.empty() || port.size() > 5) return InvalidArgumentError("URL has an invalid port");
  int value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return InvalidArgumentError("URL has an invalid port");
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > 65535) return InvalidArgumentError("URL has an invalid port");
  return Status::Ok();
}

Status RefusedTarget() {
  return PermissionDeniedError(
      "URL host resolves to a private or loopback address; outbound requests may only reach public addresses "
      "unless the network is allowed in the server configuration");
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpAddress address;
  if (::inet_pton(AF_INET, buffer, address.bytes.data()) == 1) return address;
  if (::inet_pton(AF_INET6, buffer, address.bytes.data()) == 1) {
    address.v6 = true;
    return address;
  }
  return std::nullopt;
}

std::optional<IpAddress> IpAddress::FromSockaddr(const sockaddr* address) {
  if (address == nullptr) return std::nullopt;
  IpAddress result;
  if (address->sa_family == AF_INET) {
    sockaddr_in v4;
    std::memcpy(&v4, address, sizeof(v4));
    std::memcpy(result.bytes.data(), &v4.sin_addr, 4);
    return result;
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 v6;
    std::memcpy(&v6, address, sizeof(v6));
    std::memcpy(result.bytes.data(), &v6.sin6_addr, 16);
    result.v6 = true;
    return result;
  }
  return std::nullopt;
}

std::optional<IpAddress> IpAddress::EmbeddedV4() const {
  if (!v6) return std::nullopt;
  static const Range kEmbedding[] = {
      MakeRange("::ffff:0:0", 96),     // IPv4-mapped
      MakeRange("::ffff:0:0:0", 96),   // IPv4-translated (SIIT)
      MakeRange("64:ff9b::", 96),      // NAT64 well-known prefix
  };
  for (const Range& range : kEmbedding) {
    if (PrefixMatches(*this, range.base, range.prefix_length)) return V4FromBytes(bytes.data() + 12);
  }
  return std::nullopt;
}

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN];
  if (::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buffer, sizeof(buffer)) == nullptr) return {};
  return buffer;
}

bool IsPublicAddress(const IpAddress& address) {
  if (!address.v6) {
    for (const Range& range : NonPublicV4()) {
      if (PrefixMatches(address, range.base, range.prefix_length)) return false;
    }
    return true;
  }
  if (std::optional<IpAddress> v4 = address.EmbeddedV4()) return IsPublicAddress(*v4);
  // 6to4 (2002::/16) carries the IPv4 address of its tunnel end in bytes 2..5.
  static const Range k6to4 = MakeRange("2002::", 16);
  if (PrefixMatches(address, k6to4.base, k6to4.prefix_length)) {
    return IsPublicAddress(V4FromBytes(address.bytes.data() + 2));
  }
  for (const Range& range : NonPublicV6()) {
    if (PrefixMatches(address, range.base, range.prefix_length)) return false;
  }
  return true;
}

Result<NetworkAllowlist> NetworkAllowlist::Parse(const std::vector<std::string>& cidrs) {
  NetworkAllowlist allowlist;
  for (const std::string& entry : cidrs) {
    auto bad = [&entry](const char* why) {
      return InvalidArgumentError("invalid network \"" + entry + "\" in the allowed networks: " + why);
    };
    const std::size_t slash = entry.find('/');
    std::optional<IpAddress> base = IpAddress::Parse(std::string_view(entry).substr(0, slash));
    if (!base) return bad("expected an IPv4 or IPv6 address, optionally followed by /prefix-length");
    const int max_length = base->v6 ? 128 : 32;
    int prefix_length = max_length;
    if (slash != std::string::npos) {
      std::string_view digits = std::string_view(entry).substr(slash + 1);
      if (digits.empty() || digits.size() > 3) return bad("the prefix length must be a number");
      prefix_length = 0;
      for (char c : digits) {
        if (c < '0' || c > '9') return bad("the prefix length must be a number");
        prefix_length = prefix_length * 10 + (c - '0');
      }
      if (prefix_length > max_length) {
        return bad(base->v6 ? "the prefix length is at most 128" : "the prefix length is at most 32");
      }
    }
    // Host bits set ("10.1.2.3/16") usually means a typo in the address or the length.
    IpAddress masked;
    masked.v6 = base->v6;
    for (int bit = 0; bit < prefix_length; ++bit) {
      const auto index = static_cast<std::size_t>(bit / 8);
      const auto mask = static_cast<std::uint8_t>(0x80 >> (bit % 8));
      masked.bytes[index] = static_cast<std::uint8_t>(masked.bytes[index] | (base->bytes[index] & mask));
    }
    if (masked.bytes != base->bytes) return bad("bits are set after the prefix length");
    allowlist.networks_.push_back(Network{*base, prefix_length});
  }
  return allowlist;
}

bool NetworkAllowlist::Contains(const IpAddress& address) const {
  // An address can be written in several families: match each form against the networks.
  IpAddress forms[2] = {address, address};
  std::size_t form_count = 1;
  if (std::optional<IpAddress> v4 = address.EmbeddedV4()) {
    forms[form_count++] = *v4;
  } else if (!address.v6) {
    forms[form_count++] = MappedV6(address);
  }
  for (const Network& network : networks_) {
    for (std::size_t i = 0; i < form_count; ++i) {
      if (PrefixMatches(forms[i], network.base, network.prefix_length)) return true;
    }
  }
  return false;
}

bool AddressAllowed(const IpAddress& address, const NetworkAllowlist& allowlist) {
  return IsPublicAddress(address) || allowlist.Contains(address);
}

bool AddressAllowed(const sockaddr* address, const NetworkAllowlist& allowlist) {
  std::optional<IpAddress> ip = IpAddress::FromSockaddr(address);
  return ip && AddressAllowed(*ip, allowlist);
}

Status CheckUrlTarget(std::string_view url, const NetworkAllowlist& allowlist) {
  for (char c : url) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F) return InvalidArgumentError("URL must not contain spaces or control characters");
  }
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return InvalidArgumentError("URL must start with http:// or https://");
  std::string scheme(url.substr(0, scheme_end));
  for (char& c : scheme) c = ToLower(c);
  if (scheme != "http" && scheme != "https") return InvalidArgumentError("URL scheme must be http or https");

  std::string_view rest = url.substr(scheme_end + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgumentError("URL must not contain credentials (user@host)");
  }

  std::string_view host;
  std::optional<IpAddress> literal;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgumentError("URL has an unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    literal = IpAddress::Parse(host);
    if (!literal || !literal->v6) return InvalidArgumentError("URL has an invalid IPv6 address");
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgumentError("URL has an invalid host");
      LIBCHAT_RETURN_IF_ERROR(CheckPort(after.substr(1)));
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      LIBCHAT_RETURN_IF_ERROR(CheckPort(authority.substr(colon + 1)));
    }
    if (host.empty()) return InvalidArgumentError("URL has no host");
    for (char c : host) {
      if (!IsHostNameChar(c)) {
        return InvalidArgumentError("URL host is not a valid host name (IDNs must be in punycode)");
      }
    }
    literal = IpAddress::Parse(host);
  }

  if (literal) return AddressAllowed(*literal, allowlist) ? Status::Ok() : RefusedTarget();

  // A name: every address it resolves to must be allowed, since the connection may use any of them.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const std::string name(host);
  const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &addresses);
  if (rc != 0) {
    if (rc == EAI_AGAIN || rc == EAI_SYSTEM || rc == EAI_MEMORY) {
      return UnavailableError("could not resolve the URL host right now; try again later");
    }
    return InvalidArgumentError("URL host \"" + name + "\" does not resolve");
  }
  bool allowed = true;
  bool any = false;
  for (const addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    std::optional<IpAddress> ip = IpAddress::FromSockaddr(a->ai_addr);
    if (!ip) continue;
    any = true;
    if (!AddressAllowed(*ip, allowlist)) allowed = false;
  }
  ::freeaddrinfo(addresses);
  if (!any) return InvalidArgumentError("URL host \"" + name + "\" does not resolve");
  return allowed ? Status::Ok() : RefusedTarget();
}

}  // namespace libchat::internal
