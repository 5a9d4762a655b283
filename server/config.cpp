#include "libchat/server/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>
#include <thread>

namespace libchat::server {
namespace {

Status Bad(const std::string& what, const std::string& why) { return InvalidArgumentError(what + ": " + why); }

template <typename T>
bool ParseNumber(const std::string& text, T& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::string Trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Standard or URL-safe base64, padding optional; false on any other character or a bad length.
bool DecodeBase64(const std::string& text, std::string& out) {
  out.clear();
  std::uint32_t bits = 0;
  int nbits = 0;
  std::size_t padding = 0;
  for (char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else if (c == '=') {
      ++padding;
      continue;
    }
    if (v < 0 || padding > 0) return false;  // a stray character, or data after padding
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out.push_back(static_cast<char>((bits >> nbits) & 0xFF));
    }
  }
  return padding <= 2 && nbits < 6;
}

// The 32-byte secrets key from 64 hex digits or base64 (the forms `openssl rand -hex 32` and
// `openssl rand -base64 32` print). Never echoes the value in an error.
Status ApplySecretsKey(ServerConfig& c, const std::string& value) {
  const std::string text = Trimmed(value);
  std::string key;
  if (text.size() == 64 && std::all_of(text.begin(), text.end(), [](char ch) { return HexDigit(ch) >= 0; })) {
    for (std::size_t i = 0; i < 64; i += 2) {
      key.push_back(static_cast<char>(HexDigit(text[i]) * 16 + HexDigit(text[i + 1])));
    }
  } else if (!DecodeBase64(text, key) || key.size() != 32) {
    return Bad("secrets-key", "expected 64 hex digits or the base64 of 32 bytes (openssl rand -hex 32)");
  }
  c.secrets_key = std::move(key);
  return Status::Ok();
}

// "10.0.0.0/8", "::1/128"; a bare address is a single host. Stored normalized as address/prefix.
Status ApplyNetworks(ServerConfig& c, const std::string& value) {
  std::vector<std::string> networks;
  for (const std::string& item : SplitList(value)) {
    const auto slash = item.find('/');
    const std::string address = item.substr(0, slash);
    unsigned char bytes[16];
    const bool v4 = inet_pton(AF_INET, address.c_str(), bytes) == 1;
    const bool v6 = !v4 && inet_pton(AF_INET6, address.c_str(), bytes) == 1;
    const int max_prefix = v4 ? 32 : 128;
    int prefix = max_prefix;
    const bool prefix_ok = slash == std::string::npos ||
                           (item.size() - slash - 1 <= 3 && ParseNumber(item.substr(slash + 1), prefix) &&
                            prefix >= 0 && prefix <= max_prefix);
    if ((!v4 && !v6) || !prefix_ok) {
      return Bad("outbound-allow-networks", "\"" + item + "\" is not a CIDR network such as 10.0.0.0/8 or ::1/128");
    }
    networks.push_back(address + "/" + std::to_string(prefix));
  }
  c.outbound_allow_networks = std::move(networks);
  return Status::Ok();
}

// Comma-separated seconds with up to three decimals ("0,5,300", "0,0.25"): 1 to 32 steps of at most 7 days.
Status ApplyRetrySchedule(ServerConfig& c, const std::string& value) {
  constexpr std::int64_t kMaxStepMs = 7LL * 24 * 3600 * 1000;
  const auto bad = [] {
    return Bad("delivery-retry-schedule",
               "expected 1 to 32 comma-separated delays in seconds (e.g. 0,5,300), each at most 604800");
  };
  std::vector<std::int64_t> schedule;
  const std::vector<std::string> items = SplitList(value);
  // SplitList drops empty items; here "0,,5" is a typo to report, not a two-step schedule.
  if (items.size() != static_cast<std::size_t>(std::count(value.begin(), value.end(), ',')) + 1) return bad();
  for (const std::string& item : items) {
    const auto dot = item.find('.');
    const std::string whole = item.substr(0, dot);
    const std::string fraction = dot == std::string::npos ? std::string() : item.substr(dot + 1);
    std::int64_t seconds = 0;
    std::int64_t millis = 0;
    if (whole.empty() || whole.size() > 7 || whole[0] == '-' || !ParseNumber(whole, seconds)) return bad();
    if (dot != std::string::npos) {
      if (fraction.empty() || fraction.size() > 3 || !ParseNumber(fraction, millis) || fraction[0] == '-' ||
          fraction[0] == '+') {
        return bad();
      }
      for (std::size_t i = fraction.size(); i < 3; ++i) millis *= 10;
    }
    const std::int64_t ms = seconds * 1000 + millis;
    if (ms > kMaxStepMs) return bad();
    schedule.push_back(ms);
  }
  if (schedule.empty() || schedule.size() > 32) return bad();
  c.delivery_retry_schedule_ms = std::move(schedule);
  return Status::Ok();
}

// An http(s) URL with a host, optionally a path, no trailing slash, query or fragment, and none of the characters
// that could break out of the HTML attribute the embed snippet puts it in.
Status ApplyPublicUrl(ServerConfig& c, const std::string& v) {
  const auto bad = [] {
    return Bad("public-url",
               "expected an http:// or https:// URL without a trailing slash, e.g. https://chat.example.com");
  };
  const std::size_t scheme = v.rfind("https://", 0) == 0 ? 8 : v.rfind("http://", 0) == 0 ? 7 : 0;
  if (scheme == 0 || v.size() <= scheme || v.size() > 2048 || v.back() == '/' || v[scheme] == '/') return bad();
  for (char ch : v) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    std::string_view("-._~:/[]@!$()*+,;=%").find(ch) != std::string_view::npos;
    if (!ok) return bad();
  }
  c.public_url = v;
  return Status::Ok();
}

Status ApplyTlsVerify(ServerConfig& c, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes" || v == "on") {
    c.tls_verify = true;
  } else if (v == "false" || v == "0" || v == "no" || v == "off") {
    c.tls_verify = false;
  } else {
    return Bad("tls-verify", "expected true or false");
  }
  return Status::Ok();
}

// One setting: its environment variable, its flag, and how to apply a value.
struct Setting {
  const char* env;
  const char* flag;
  const char* help;
  std::function<Status(ServerConfig&, const std::string&)> apply;
};

Status ApplyListen(ServerConfig& c, const std::string& v) {
  std::string host;
  std::string port;
  if (!v.empty() && v.front() == '[') {
    const auto close = v.find(']');
    if (close == std::string::npos || close + 1 >= v.size() || v[close + 1] != ':') {
      return Bad("listen", "expected [ipv6]:port");
    }
    host = v.substr(1, close - 1);
    port = v.substr(close + 2);
  } else {
    const auto colon = v.rfind(':');
    if (colon == std::string::npos) return Bad("listen", "expected host:port");
    host = v.substr(0, colon);
    port = v.substr(colon + 1);
  }
  std::uint16_t p = 0;
  if (host.empty() || !ParseNumber(port, p)) return Bad("listen", "expected host:port with a port 0-65535");
  c.listen_host = host;
  c.listen_port = p;
  return Status::Ok();
}

template <typename T>
std::function<Status(ServerConfig&, const std::string&)> Number(const char* name, T ServerConfig::*field, T min,
                                                                 T max) {
  return [=](ServerConfig& c, const std::string& v) {
    T n{};
    if (!ParseNumber(v, n) || n < min || n > max) {
      return Bad(name, "expected a number from " + std::to_string(min) + " to " + std::to_string(max));
    }
    c.*field = n;
    return Status::Ok();
  };
}

// A rate limit: a finite number from 0 (off) to 10^6.
std::function<Status(ServerConfig&, const std::string&)> Rate(const char* name, double ServerConfig::*field) {
  return [=](ServerConfig& c, const std::string& v) {
    double r = 0;
    if (!ParseNumber(v, r) || !std::isfinite(r) || r < 0 || r > 1e6) {
      return Bad(name, "expected a number from 0 (unlimited) to 1000000");
    }
    c.*field = r;
    return Status::Ok();
  };
}

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> settings = {
      {"CHAT_LISTEN", "--listen", "host:port to listen on (default 127.0.0.1:8080)", ApplyListen},
      {"CHAT_DB", "--db", "SQLite database file (default ./libchat.db)",
       [](ServerConfig& c, const std::string& v) {
         if (v.empty()) return Bad("db", "must not be empty");
         c.database_path = v;
         return Status::Ok();
       }},
      {"CHAT_DB_SYNC", "--db-sync", "full (default: every commit survives power loss) or normal",
       [](ServerConfig& c, const std::string& v) {
         if (v != "full" && v != "normal") return Bad("db-sync", "expected full or normal");
         c.database_sync_full = v == "full";
         return Status::Ok();
       }},
      {"CHAT_JWT_SECRET", "--jwt-secret", "HS256 key, >= 32 bytes (default: generated and kept in the store)",
       [](ServerConfig& c, const std::string& v) {
         if (!v.empty() && v.size() < 32) return Bad("jwt-secret", "must be at least 32 bytes");
         c.jwt_secret = v;
         return Status::Ok();
       }},
      {"CHAT_MASTER_KEY", "--master-key", "admin key for X-Master-Key (default: none, admin disabled)",
       [](ServerConfig& c, const std::string& v) {
         c.master_key = v;
         return Status::Ok();
       }},
      {"CHAT_LOG_LEVEL", "--log-level", "error, warn, info (default) or debug",
       [](ServerConfig& c, const std::string& v) {
         if (v == "error") c.log_level = LogLevel::kError;
         else if (v == "warn") c.log_level = LogLevel::kWarn;
         else if (v == "info") c.log_level = LogLevel::kInfo;
         else if (v == "debug") c.log_level = LogLevel::kDebug;
         else return Bad("log-level", "expected error, warn, info or debug");
         return Status::Ok();
       }},
      {"CHAT_ALLOWED_ORIGINS", "--allowed-origins",
       "comma-separated origins allowed for CORS and WebSocket ('*' = any; default: none for CORS, any for WebSocket)",
       [](ServerConfig& c, const std::string& v) {
         c.allowed_origins = SplitList(v);
         return Status::Ok();
       }},
      {"CHAT_PUBLIC_URL", "--public-url",
       "the server's URL as browsers reach it, for the widget embed snippet (default: from the Host header)",
       ApplyPublicUrl},
      {"CHAT_METRICS_TOKEN", "--metrics-token", "bearer token required by GET /metrics (default: none, open)",
       [](ServerConfig& c, const std::string& v) {
         c.metrics_token = v;
         return Status::Ok();
       }},
      {"CHAT_RATE_LIMIT", "--rate-limit", "requests per second per app (default 0 = unlimited)",
       Rate("rate-limit", &ServerConfig::rate_limit)},
      {"CHAT_RATE_BURST", "--rate-burst", "requests an app may make at once (default 0 = one second's worth)",
       Number<std::int64_t>("rate-burst", &ServerConfig::rate_burst, 0, 1000000000)},
      {"CHAT_CUSTOMER_SEND_LIMIT", "--customer-send-limit",
       "messages per minute per customer (default 0 = unlimited)",
       Rate("customer-send-limit", &ServerConfig::customer_send_limit)},
      {"CHAT_MAX_BODY", "--max-body", "largest request body in bytes (default 1048576)",
       Number<std::size_t>("max-body", &ServerConfig::max_body_bytes, 1024, 64u * 1024 * 1024)},
      {"CHAT_IO_THREADS", "--io-threads", "network threads (default: number of cores)",
       Number<int>("io-threads", &ServerConfig::io_threads, 0, 256)},
      {"CHAT_WORKERS", "--workers", "threads for blocking store calls (default 64)",
       Number<int>("workers", &ServerConfig::worker_threads, 1, 1024)},
      {"CHAT_WS_HEARTBEAT_MS", "--ws-heartbeat-ms", "WebSocket ping interval in ms (default 25000)",
       Number<int>("ws-heartbeat-ms", &ServerConfig::heartbeat_ms, 100, 600000)},
      {"CHAT_WS_MAX_FRAME", "--ws-max-frame", "largest WebSocket message from a client in bytes (default 65536)",
       Number<std::size_t>("ws-max-frame", &ServerConfig::ws_max_message_bytes, 1024, 16u * 1024 * 1024)},
      {"CHAT_WS_MAX_CONNECTIONS_PER_PRINCIPAL", "--ws-max-per-principal",
       "WebSockets one principal may hold open; the next is closed with 1008 (default 32)",
       Number<int>("ws-max-per-principal", &ServerConfig::ws_max_per_principal, 1, 100000)},
      {"CHAT_WS_TICKET_TTL_MS", "--ws-ticket-ttl-ms", "lifetime of a WebSocket ticket in ms (default 60000)",
       Number<int>("ws-ticket-ttl-ms", &ServerConfig::ws_ticket_ttl_ms, 100, 3600000)},
      {"CHAT_PRESENCE_GRACE_MS", "--presence-grace-ms",
       "ms after a principal's last WebSocket closes before it is reported offline (default 5000)",
       Number<int>("presence-grace-ms", &ServerConfig::presence_grace_ms, 0, 3600000)},
      {"CHAT_PASSWORD_MEMORY_KIB", "--password-memory-kib", "Argon2id memory cost in KiB (default 19456)",
       Number<int>("password-memory-kib", &ServerConfig::password_memory_kib, 8192, 4 * 1024 * 1024)},
      {"CHAT_SECRETS_KEY", "--secrets-key",
       "key sealing provider credentials and webhook secrets: 64 hex digits or base64 of 32 bytes "
       "(default: the key file)",
       ApplySecretsKey},
      {"CHAT_SECRETS_KEY_FILE", "--secrets-key-file",
       "file holding the secrets key, created with a random key when absent (default: <db>.key)",
       [](ServerConfig& c, const std::string& v) {
         if (v.empty()) return Bad("secrets-key-file", "must not be empty");
         c.secrets_key_file = v;
         return Status::Ok();
       }},
      {"CHAT_LLM_BASE_URL", "--llm-base-url",
       "OpenAI-compatible endpoint the bot phrases answers with, e.g. https://api.openai.com/v1 (default: none, "
       "the bot answers with the knowledge-base entry)",
       [](ServerConfig& c, const std::string& v) {
         const bool http = v.rfind("http://", 0) == 0 || v.rfind("https://", 0) == 0;
         if (!http || v.size() > 2048 || v.find_first_of(" \t\r\n") != std::string::npos) {
           return Bad("llm-base-url", "expected an http:// or https:// URL");
         }
         c.llm_base_url = v;
         return Status::Ok();
       }},
      {"CHAT_LLM_MODEL", "--llm-model", "model name for CHAT_LLM_BASE_URL, e.g. gpt-4o-mini",
       [](ServerConfig& c, const std::string& v) {
         if (v.empty() || v.size() > 200) return Bad("llm-model", "must be 1..200 characters");
         c.llm_model = v;
         return Status::Ok();
       }},
      {"CHAT_LLM_TIMEOUT_MS", "--llm-timeout-ms", "timeout of one model request in ms (default 20000)",
       Number<int>("llm-timeout-ms", &ServerConfig::llm_timeout_ms, 100, 120000)},
      {"CHAT_OUTBOUND_ALLOW_NETWORKS", "--outbound-allow-networks",
       "comma-separated CIDRs that webhook and email targets may reach although private (default: none)",
       ApplyNetworks},
      // At most a minute: a claimed delivery's lease (2 min) must outlast the request.
      {"CHAT_WEBHOOK_TIMEOUT_MS", "--webhook-timeout-ms", "webhook request timeout in ms, up to 60000 (default 15000)",
       Number<int>("webhook-timeout-ms", &ServerConfig::webhook_timeout_ms, 100, 60000)},
      {"CHAT_DELIVERY_RETRY_SCHEDULE", "--delivery-retry-schedule",
       "seconds before each delivery attempt, e.g. 0,5,300 (default 0,5,300,1800,7200,18000,36000,36000)",
       ApplyRetrySchedule},
      {"CHAT_DELIVERY_LEASE_MS", "--delivery-lease-ms",
       "how long a claimed delivery is reserved for its worker; after a crash it is retried once this passed "
       "(default 120000; must exceed the webhook timeout)",
       Number<int>("delivery-lease-ms", &ServerConfig::delivery_lease_ms, 1000, 3600000)},
      {"CHAT_DELIVERY_WORKERS", "--delivery-workers", "threads sending webhooks and email; 0 = none (default 2)",
       Number<int>("delivery-workers", &ServerConfig::delivery_workers, 0, 64)},
      {"CHAT_TLS_VERIFY", "--tls-verify", "verify TLS certificates of webhook and email targets (default true)",
       ApplyTlsVerify},
  };
  return settings;
}

}  // namespace

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "info";
}

std::string ConfigHelpText() {
  std::string text =
      "Usage: libchat-server [serve] [options]\n"
      "       libchat-server backup DESTINATION [--force] [--no-key] [options]\n"
      "       libchat-server --help | --version\n\n"
      "serve (the default) runs the server. backup copies the database (--db / CHAT_DB) to the new file\n"
      "DESTINATION while a server may be running on it: one consistent snapshot, verified with\n"
      "PRAGMA integrity_check, then renamed into place. It also copies the secrets key file (--secrets-key-file,\n"
      "default <db>.key) to DESTINATION.key, without which the backup's sealed provider credentials and webhook\n"
      "secrets cannot be read; --no-key skips that (back the key up separately). --force replaces an existing\n"
      "DESTINATION (and DESTINATION.key). To restore, stop the server and put both files back in place.\n\n"
      "Every option may also be set with its environment variable; a flag wins over the variable.\n"
      "CHAT_LLM_API_KEY (environment only) is the bearer key sent to CHAT_LLM_BASE_URL.\n\n";
  for (const Setting& s : Settings()) {
    const std::string flag = std::string(s.flag) + " VALUE";
    text += "  " + flag + std::string(flag.size() < 28 ? 28 - flag.size() : 1, ' ') + s.help + "  [" + s.env + "]\n";
  }
  return text;
}

Result<ServerConfig> LoadConfig(const std::vector<std::string>& args,
                                const std::function<const char*(const char*)>& env) {
  ServerConfig config;
  for (const Setting& s : Settings()) {
    if (const char* value = env(s.env); value != nullptr && *value != '\0') {
      if (Status st = s.apply(config, value); !st.ok()) return InvalidArgumentError(std::string(s.env) + ": " + st.message());
    }
  }
  // Environment only: a flag would show the key in the process list.
  if (const char* key = env("CHAT_LLM_API_KEY"); key != nullptr) config.llm_api_key = key;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      config.show_help = true;
      continue;
    }
    if (arg == "--version") {
      config.show_version = true;
      continue;
    }
    if (arg == "serve" && i == 0) continue;
    if (arg == "backup" && i == 0) {
      config.command = ServerConfig::Command::kBackup;
      continue;
    }
    if (config.command == ServerConfig::Command::kBackup) {
      if (arg == "--force") {
        config.backup_force = true;
        continue;
      }
      if (arg == "--no-key") {
        config.backup_copy_key = false;
        continue;
      }
      if (!arg.empty() && arg.front() != '-') {
        if (!config.backup_destination.empty()) {
          return InvalidArgumentError("backup takes one DESTINATION file, not also \"" + arg + "\" (see --help)");
        }
        config.backup_destination = arg;
        continue;
      }
    }
    std::string name = arg;
    std::string value;
    bool has_value = false;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    const Setting* match = nullptr;
    for (const Setting& s : Settings()) {
      if (name == s.flag) match = &s;
    }
    if (match == nullptr) return InvalidArgumentError("unknown option " + name + " (see --help)");
    if (!has_value) {
      if (i + 1 >= args.size()) return InvalidArgumentError(name + " needs a value");
      value = args[++i];
    }
    if (Status st = match->apply(config, value); !st.ok()) return st;
  }
  if (config.command == ServerConfig::Command::kBackup && config.backup_destination.empty() && !config.show_help &&
      !config.show_version) {
    return InvalidArgumentError("backup needs the DESTINATION file to create: libchat-server backup DESTINATION");
  }
  if (!config.secrets_key.empty() && !config.secrets_key_file.empty()) {
    return InvalidArgumentError("set CHAT_SECRETS_KEY (--secrets-key) or CHAT_SECRETS_KEY_FILE (--secrets-key-file), "
                                "not both");
  }
  if (!config.llm_base_url.empty() && config.llm_model.empty()) {
    return InvalidArgumentError("CHAT_LLM_BASE_URL (--llm-base-url) needs CHAT_LLM_MODEL (--llm-model)");
  }
  if (config.delivery_lease_ms <= config.webhook_timeout_ms) {
    return InvalidArgumentError("CHAT_DELIVERY_LEASE_MS (--delivery-lease-ms) must exceed CHAT_WEBHOOK_TIMEOUT_MS");
  }
  if (config.io_threads == 0) {
    config.io_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  return config;
}

}  // namespace libchat::server
