// The libchat::Options that libchat-server opens its Chat with, built from a ServerConfig, so that a host
// embedding the Server gets the same store, secrets, limits, delivery settings and bot model from the same
// configuration (CHAT_* variables and flags, LoadConfig) as the reference server.
//
//   auto config = libchat::server::LoadConfig(args, std::getenv);
//   auto options = libchat::server::ChatOptionsFromConfig(*config);
//   auto chat = libchat::Chat::Open(std::move(*options));
#pragma once

#include "libchat/export.h"
#include "libchat/options.h"
#include "libchat/server/config.h"
#include "libchat/status.h"

namespace libchat::server {

// The SQLite store at config.database_path (synchronous per database_sync_full), the JWT secret, master
// key, password hashing cost, rate limits, delivery settings (secrets key or key file, outbound networks,
// timeouts, retry schedule, lease, TLS verification) and, when config.llm_base_url is set, an
// OpenAI-compatible Responder (reaching private addresses too: the model endpoint is the operator's own).
// Errors: the Responder or its HTTP client could not be set up (the message says why). Opening the store is
// left to Chat::Open.
LIBCHAT_SERVER_API Result<Options> ChatOptionsFromConfig(const ServerConfig& config);

}  // namespace libchat::server
