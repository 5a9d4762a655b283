// Responder: what answers a customer before a human does. libchat ships the
// knowledge-base responder (the default) and one for OpenAI-compatible
// chat-completion endpoints; a host may supply its own (Options::responder).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "libchat/export.h"
#include "libchat/knowledge.h"
#include "libchat/providers/http_client.h"
#include "libchat/status.h"
#include "libchat/types.h"

namespace libchat {

struct ResponderInput {
  AppId app_id;
  ConversationId conversation_id;
  std::string question;                  // the customer's message that asks
  std::vector<Message> recent_messages;  // the conversation's last messages, oldest first, the question last
  // The best knowledge-base passages for the question, best first (at most 5);
  // possibly empty. Each carries its 0..1 score.
  std::vector<KnowledgeHit> passages;
  double min_score = 0.6;  // the app's BotSettings::min_score
};

struct ResponderAnswer {
  bool answered = false;  // false: hand the conversation to humans
  std::string text;       // the reply when answered (valid UTF-8, non-empty)
  std::vector<KnowledgeId> sources;  // entries the answer came from
  std::string reason;     // why not answered ("no passage above 0.6", "endpoint failed: ..."), for logs
};

// Thread-safety: Respond may be called concurrently; it may block on the network,
// so libchat calls it from the delivery workers, never from an event loop.
// An error is treated like an unanswered question (the conversation is handed over).
class LIBCHAT_API Responder {
 public:
  virtual ~Responder() = default;
  virtual Result<ResponderAnswer> Respond(const ResponderInput& input) = 0;
};

// Answers with the best passage when its score reaches min_score: a qa entry's
// answer, a text entry's content. Never makes anything up.
LIBCHAT_API std::shared_ptr<Responder> NewKnowledgeBaseResponder();

struct OpenAiResponderOptions {
  // e.g. "https://api.openai.com/v1" or "http://127.0.0.1:11434/v1"; POST {base_url}/chat/completions.
  std::string base_url;
  std::string model;    // e.g. "gpt-4o-mini"
  std::string api_key;  // sent as "Authorization: Bearer …"; empty sends none (local servers)
  std::chrono::milliseconds timeout{20000};
  // The endpoint is the host's own configuration, not a tenant's: it may be a
  // private or loopback address (a model served next to the host).
  bool allow_private_address = true;
  int max_passages = 3;
  int max_history = 10;  // recent messages sent along
};

// Asks the model to answer only from the passages given, or to reply exactly
// "HANDOFF". No passage at or above min_score, a "HANDOFF" reply, a non-2xx
// status, a timeout or a malformed response all mean "not answered".
// kInvalidArgument for a missing base_url or model, or a null client.
LIBCHAT_API Result<std::shared_ptr<Responder>> NewOpenAiResponder(OpenAiResponderOptions options,
                                                      std::shared_ptr<HttpClient> http_client);

}  // namespace libchat
