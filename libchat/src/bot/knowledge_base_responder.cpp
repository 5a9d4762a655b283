// The default responder: answers with the knowledge base's own words when one
// passage matches the question well enough, and never composes anything.
#include <cstdio>

#include "libchat/providers/responder.h"

namespace libchat {

namespace {

class KnowledgeBaseResponder : public Responder {
 public:
  Result<ResponderAnswer> Respond(const ResponderInput& input) override {
    // The best-scoring passage; among equal scores the earlier one (better ranked by the index).
    const KnowledgeHit* best = nullptr;
    for (const KnowledgeHit& hit : input.passages) {
      if (best == nullptr || hit.score > best->score) best = &hit;
    }
    ResponderAnswer answer;
    if (best == nullptr) {
      answer.reason = "no knowledge-base passage matches the question";
      return answer;
    }
    if (best->score < input.min_score) {
      char reason[96];
      std::snprintf(reason, sizeof reason, "no passage reaches %.2f (best %.2f)", input.min_score, best->score);
      answer.reason = reason;
      return answer;
    }
    const std::string& text = best->entry.type == KnowledgeType::kQa ? best->entry.answer : best->entry.content;
    if (text.empty()) {
      answer.reason = "the best passage has no text";
      return answer;
    }
    answer.answered = true;
    answer.text = text;
    answer.sources.push_back(best->entry.id);
    return answer;
  }
};

}  // namespace

std::shared_ptr<Responder> NewKnowledgeBaseResponder() { return std::make_shared<KnowledgeBaseResponder>(); }

}  // namespace libchat
