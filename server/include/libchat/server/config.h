// ServerConfig: the reference server's settings, from the environment variables
// of the contract (CHAT_*) and command-line flags (flags win).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "libchat/export.h"
#include "libchat/status.h"

namespace libchat::server {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

struct ServerConfig {
  std::string listen_host = "127.0.0.1";  // CHAT_LISTEN / --listen host:port ("[::1]:8080" for IPv6)
  std::uint16_t listen_port = 8080;       // 0 picks a free port (tests)
  std::string database_path = "./libchat.db";  // CHAT_DB / --db
  bool database_sync_full = true;         // CHAT_DB_SYNC / --db-sync full|normal
  std::string jwt_secret;                 // CHAT_JWT_SECRET / --jwt-secret; empty: generated, kept in the store
  std::string master_key;                 // CHAT_MASTER_KEY / --master-key; empty: no admin principal
  LogLevel log_level = LogLevel::kInfo;   // CHAT_LOG_LEVEL / --log-level error|warn|info|debug
  std::vector<std::string> allowed_origins;  // CHAT_ALLOWED_ORIGINS / --allowed-origins a,b ("*" = any)
  // CHAT_PUBLIC_URL / --public-url: the server's base URL as browsers reach it ("https://chat.example.com", an
  // http(s) URL without a trailing slash, query or fragment), used in the widget embed snippet. Empty: the URL
  // is built from the request's Host header.
  std::string public_url;
  std::string metrics_token;              // CHAT_METRICS_TOKEN / --metrics-token; empty: GET /metrics is open
  double rate_limit = 0;                  // CHAT_RATE_LIMIT / --rate-limit requests/s per app; 0 = off
  std::int64_t rate_burst = 0;            // CHAT_RATE_BURST / --rate-burst; 0 = max(1, ceil(rate_limit))
  double customer_send_limit = 0;         // CHAT_CUSTOMER_SEND_LIMIT / --customer-send-limit msgs/min; 0 = off
  std::size_t max_body_bytes = 1024 * 1024;  // CHAT_MAX_BODY / --max-body
  int io_threads = 0;                     // CHAT_IO_THREADS / --io-threads; 0 = number of cores
  int worker_threads = 64;                // CHAT_WORKERS / --workers: threads that run blocking core calls
  int heartbeat_ms = 25000;               // CHAT_WS_HEARTBEAT_MS: ping interval; 2x silence closes
  std::size_t ws_max_message_bytes = 64 * 1024;  // CHAT_WS_MAX_FRAME: larger client frames close with 1009
  std::size_t ws_max_queued_frames = 1024;       // per connection; beyond it the client is closed with 1013
  std::size_t ws_max_queued_bytes = 4 * 1024 * 1024;
  // CHAT_WS_MAX_CONNECTIONS_PER_PRINCIPAL / --ws-max-per-principal: live WebSockets of one principal (an
  // app server counts as one principal per app); the one beyond is accepted, then closed with 1008.
  int ws_max_per_principal = 32;
  int ws_ticket_ttl_ms = 60000;           // CHAT_WS_TICKET_TTL_MS / --ws-ticket-ttl-ms: POST /v1/ws/ticket lifetime
  // CHAT_PRESENCE_GRACE_MS / --presence-grace-ms: how long after its last WebSocket closed a principal is
  // still reported online (a reconnect within it produces no presence event at all).
  int presence_grace_ms = 5000;
  int password_memory_kib = 19456;        // CHAT_PASSWORD_MEMORY_KIB: Argon2id memory cost

  // External delivery (webhooks, email): Options::delivery.
  // CHAT_SECRETS_KEY / --secrets-key: 64 hex digits or base64 of 32 bytes; held here as the raw 32 bytes. It
  // seals provider credentials and webhook secrets at rest. Empty: the key file below.
  std::string secrets_key;
  // CHAT_SECRETS_KEY_FILE / --secrets-key-file: a file holding the key (created with a random key when absent).
  // Empty: "<db>.key". Setting both this and secrets_key is an error.
  std::string secrets_key_file;
  // CHAT_OUTBOUND_ALLOW_NETWORKS / --outbound-allow-networks: CIDRs ("10.0.0.0/8,::1/128") that webhook and
  // email targets may resolve to although they are private or loopback. Default: none.
  std::vector<std::string> outbound_allow_networks;

  // The bot's optional model (an OpenAI-compatible chat-completions endpoint), used instead of answering with
  // the best knowledge-base entry verbatim. CHAT_LLM_BASE_URL / --llm-base-url ("https://api.openai.com/v1");
  // empty: no model. CHAT_LLM_MODEL / --llm-model is then required. The key is read from the environment only
  // (CHAT_LLM_API_KEY), never from the command line, so it does not show in the process list.
  std::string llm_base_url;
  std::string llm_model;
  std::string llm_api_key;
  int llm_timeout_ms = 20000;  // CHAT_LLM_TIMEOUT_MS / --llm-timeout-ms
  int webhook_timeout_ms = 15000;  // CHAT_WEBHOOK_TIMEOUT_MS / --webhook-timeout-ms
  // CHAT_DELIVERY_RETRY_SCHEDULE / --delivery-retry-schedule: seconds before each attempt ("0,5,300"; fractions
  // allowed, ms precision). Empty: the library's default schedule.
  std::vector<std::int64_t> delivery_retry_schedule_ms;
  int delivery_lease_ms = 120000;  // CHAT_DELIVERY_LEASE_MS / --delivery-lease-ms: claim lease of a delivery
  int delivery_workers = 2;        // CHAT_DELIVERY_WORKERS / --delivery-workers: outbox threads; 0 = none
  bool tls_verify = true;          // CHAT_TLS_VERIFY / --tls-verify true|false: webhook and email TLS

  bool show_help = false;
  bool show_version = false;

  // What the command line asks for: `libchat-server [serve]` (the default) or
  // `libchat-server backup DESTINATION [--force] [--no-key]` (an online copy of database_path; see
  // libchat/server/backup_command.h). The other settings apply to both (backup reads --db, the secrets key).
  enum class Command { kServe, kBackup };
  Command command = Command::kServe;
  std::string backup_destination;  // backup DESTINATION: the file to create
  bool backup_force = false;       // --force: replace an existing DESTINATION (and DESTINATION.key)
  bool backup_copy_key = true;     // --no-key: do not copy the secrets key file to DESTINATION.key
};

// Reads `env` (a getenv-like lookup) and then `args` (argv without the program name).
// kInvalidArgument names the offending variable or flag.
LIBCHAT_SERVER_API Result<ServerConfig> LoadConfig(const std::vector<std::string>& args,
                                const std::function<const char*(const char*)>& env);

LIBCHAT_SERVER_API std::string ConfigHelpText();
LIBCHAT_SERVER_API const char* LogLevelName(LogLevel level);

}  // namespace libchat::server
