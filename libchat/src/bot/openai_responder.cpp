// A responder backed by an OpenAI-compatible chat-completion endpoint
// (POST {base_url}/chat/completions). The model sees only the passages that
// reach the app's min_score and is told to answer from them alone or to reply
// exactly HANDOFF; anything but a usable answer hands the conversation over.
#include <cctype>
#include <string>

#include <nlohmann/json.hpp>

#include "libchat/providers/responder.h"
#include "util/utf8.h"

namespace libchat {

namespace {

using Json = nlohmann::json;

constexpr char kHandoff[] = "HANDOFF";

constexpr char kSystemPrompt[] =
    "You are the customer-support assistant of a company. Answer the customer's last message using ONLY the "
    "numbered knowledge-base passages given below. Reply in the customer's language, briefly (a few sentences at "
    "most), in plain text. Never invent facts, steps, links, prices or promises that are not in the passages. "
    "If the passages do not answer the question, or the customer asks for a person, reply with exactly HANDOFF "
    "and nothing else.";

std::string Trim(std::string text) {
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  std::size_t begin = 0;
  while (begin < text.size() && is_space(text[begin])) ++begin;
  std::size_t end = text.size();
  while (end > begin && is_space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

bool StartsWithHandoff(const std::string& text) {
  const std::size_t n = sizeof(kHandoff) - 1;
  if (text.size() < n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::toupper(static_cast<unsigned char>(text[i])) != kHandoff[i]) return false;
  }
  return true;
}

std::string PassageText(const KnowledgeEntry& entry) {
  if (entry.type == KnowledgeType::kText) return entry.content;
  std::string text = "Q: " + entry.question + "\nA: " + entry.answer;
  if (!entry.content.empty()) text += "\n" + entry.content;
  return text;
}

ResponderAnswer NotAnswered(std::string reason) {
  ResponderAnswer answer;
  answer.reason = std::move(reason);
  return answer;
}

class OpenAiResponder : public Responder {
 public:
  OpenAiResponder(OpenAiResponderOptions options, std::shared_ptr<HttpClient> client)
      : options_(std::move(options)), client_(std::move(client)) {
    while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
  }

  Result<ResponderAnswer> Respond(const ResponderInput& input) override {
    // Only passages good enough for the app are shown: the model cannot answer from a poor match.
    std::vector<const KnowledgeHit*> passages;
    for (const KnowledgeHit& hit : input.passages) {
      if (hit.score >= input.min_score && passages.size() < static_cast<std::size_t>(options_.max_passages)) {
        passages.push_back(&hit);
      }
    }
    if (passages.empty()) return NotAnswered("no knowledge-base passage reaches the minimum score");

    Json messages = Json::array();
    messages.push_back({{"role", "system"}, {"content", kSystemPrompt}});
    std::string context = "Knowledge-base passages:";
    for (std::size_t i = 0; i < passages.size(); ++i) {
      context += "\n\n[" + std::to_string(i + 1) + "] " + PassageText(passages[i]->entry);
    }
    messages.push_back({{"role", "system"}, {"content", context}});
    const std::vector<Message>& recent = input.recent_messages;
    const std::size_t first =
        recent.size() > static_cast<std::size_t>(options_.max_history) ? recent.size() - options_.max_history : 0;
    bool question_last = false;
    for (std::size_t i = first; i < recent.size(); ++i) {
      const Message& m = recent[i];
      if (m.deleted || m.text.empty() || m.sender.type == SenderType::kSystem) continue;
      const bool customer = m.sender.type == SenderType::kCustomer;
      messages.push_back({{"role", customer ? "user" : "assistant"}, {"content", m.text}});
      question_last = customer && m.text == input.question;
    }
    if (!question_last) messages.push_back({{"role", "user"}, {"content", input.question}});

    Json body = {{"model", options_.model}, {"messages", std::move(messages)}, {"temperature", 0}};
    HttpRequest request;
    request.method = "POST";
    request.url = options_.base_url + "/chat/completions";
    request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    if (!options_.api_key.empty()) request.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
    request.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
    request.timeout = options_.timeout;
    request.public_addresses_only = !options_.allow_private_address;

    auto sent = client_->Send(request);
    if (!sent.ok()) return NotAnswered("endpoint failed: " + sent.status().message());
    if (sent->status < 200 || sent->status > 299) {
      return NotAnswered("endpoint failed: HTTP " + std::to_string(sent->status));
    }
    const Json reply = Json::parse(sent->body, nullptr, /*allow_exceptions=*/false);
    if (!reply.is_object() || !reply.contains("choices") || !reply["choices"].is_array() ||
        reply["choices"].empty() || !reply["choices"][0].is_object() || !reply["choices"][0].contains("message") ||
        !reply["choices"][0]["message"].is_object() || !reply["choices"][0]["message"].contains("content") ||
        !reply["choices"][0]["message"]["content"].is_string()) {
      return NotAnswered("endpoint failed: malformed response");
    }
    std::string text = Trim(reply["choices"][0]["message"]["content"].get<std::string>());
    if (text.empty()) return NotAnswered("the model gave an empty answer");
    if (StartsWithHandoff(text)) return NotAnswered("the model handed off");
    if (!internal::IsValidUtf8(text)) return NotAnswered("endpoint failed: the answer is not UTF-8");

    ResponderAnswer answer;
    answer.answered = true;
    answer.text = std::move(text);
    for (const KnowledgeHit* hit : passages) answer.sources.push_back(hit->entry.id);
    return answer;
  }

 private:
  OpenAiResponderOptions options_;
  std::shared_ptr<HttpClient> client_;
};

}  // namespace

Result<std::shared_ptr<Responder>> NewOpenAiResponder(OpenAiResponderOptions options,
                                                      std::shared_ptr<HttpClient> http_client) {
  if (options.base_url.rfind("http://", 0) != 0 && options.base_url.rfind("https://", 0) != 0) {
    return InvalidArgumentError("base_url must be an http(s) URL");
  }
  if (options.model.empty()) return InvalidArgumentError("model is required");
  if (!http_client) return InvalidArgumentError("an HTTP client is required");
  if (options.timeout.count() <= 0) return InvalidArgumentError("timeout must be positive");
  if (options.max_passages < 1) return InvalidArgumentError("max_passages must be at least 1");
  if (options.max_history < 0) return InvalidArgumentError("max_history must not be negative");
  return std::shared_ptr<Responder>(std::make_shared<OpenAiResponder>(std::move(options), std::move(http_client)));
}

}  // namespace libchat
