// The knowledge base of an app and the bot that answers from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libchat/export.h"
#include "libchat/types.h"

namespace libchat {

struct KnowledgeIdTag { static constexpr std::string_view kPrefix = "kb_"; };
using KnowledgeId = Id<KnowledgeIdTag>;

// "text": a passage (content). "qa": a question with its answer (content is an
// optional longer explanation).
enum class KnowledgeType { kText, kQa };
LIBCHAT_API const char* KnowledgeTypeName(KnowledgeType type);  // "text", "qa"
LIBCHAT_API std::optional<KnowledgeType> ParseKnowledgeType(std::string_view text);

struct KnowledgeEntry {
  KnowledgeId id;
  AppId app_id;
  KnowledgeType type = KnowledgeType::kText;
  std::string question;  // qa: required; text: empty
  std::string answer;    // qa: required; text: empty
  std::string content;   // text: required; qa: optional
  Timestamp created_at;
  Timestamp updated_at;
};

// One result of a knowledge-base search, best first.
struct KnowledgeHit {
  KnowledgeEntry entry;
  // Okapi BM25 relevance from the full-text index, made positive: higher is
  // better. Orders the hits; its scale depends on the corpus.
  double rank = 0;
  // How well the entry answers the query, 0..1: the share of the query's
  // significant words (stop words left out, simple plural and verb endings
  // folded) that occur in the entry. This is what the bot's min_score compares.
  double score = 0;
  // A short excerpt around the matches, HTML-escaped, matches wrapped in <mark>…</mark>.
  std::string snippet;
};

// Per app. When enabled, each customer message in a support conversation the bot
// is still handling (status pending) is given to the responder: an answer is
// posted as a bot message; no answer (or a failure) hands the conversation to
// the team: pending -> open, assigned by the app's assignment mode.
struct BotSettings {
  bool enabled = false;
  // Least KnowledgeHit::score of the best passage for the bot to answer. Default: 0.6.
  double min_score = 0.6;
  std::string name = "Bot";  // shown with the bot's messages
};

}  // namespace libchat
