// NewOpenAiResponder against a FakeHttpServer on 127.0.0.1 playing an OpenAI-compatible endpoint, over the
// real libcurl client: the exact request (path, auth, model, passages, turns), the answer, and every way of
// not answering (HANDOFF, errors, malformed bodies, timeouts, no good passage, a refused private address).
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "libchat/providers/http_client.h"
#include "libchat/providers/responder.h"
#include "store_test_util.h"
#include "support/fake_http_server.h"

namespace {

using namespace libchat;  // NOLINT: test brevity
using libchat::testsupport::FakeHttpServer;
using Json = nlohmann::json;

constexpr char kQuestion[] = "How can I reset my password?";

FakeHttpServer::Response Completion(const std::string& content) {
  FakeHttpServer::Response response;
  response.headers = {{"Content-Type", "application/json"}};
  response.body = Json{{"id", "chatcmpl-1"},
                       {"object", "chat.completion"},
                       {"choices", Json::array({Json{{"index", 0},
                                                     {"message", {{"role", "assistant"}, {"content", content}}},
                                                     {"finish_reason", "stop"}}})}}
                      .dump();
  return response;
}

FakeHttpServer::Response Raw(int status, std::string body) {
  FakeHttpServer::Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

KnowledgeHit Hit(const std::string& id, KnowledgeType type, const std::string& question, const std::string& answer,
                 const std::string& content, double score) {
  KnowledgeHit hit;
  hit.entry.id = KnowledgeId(id);
  hit.entry.app_id = AppId("app_1");
  hit.entry.type = type;
  hit.entry.question = question;
  hit.entry.answer = answer;
  hit.entry.content = content;
  hit.score = score;
  hit.rank = score * 10;
  return hit;
}

Message Said(std::int64_t seq, SenderType type, const std::string& id, const std::string& text) {
  Message m;
  m.id = MessageId("msg_" + std::to_string(seq));
  m.conversation_id = ConversationId("conv_1");
  m.app_id = AppId("app_1");
  m.seq = seq;
  m.sender = Sender{type, id};
  m.text = text;
  return m;
}

// A question with history and three passages: two above min_score 0.6, one below.
ResponderInput SampleInput() {
  ResponderInput input;
  input.app_id = AppId("app_1");
  input.conversation_id = ConversationId("conv_1");
  input.question = kQuestion;
  input.recent_messages = {
      Said(1, SenderType::kCustomer, "cus_1", "Hi!"),
      Said(2, SenderType::kBot, "bot", "Hello, how can I help?"),
      Said(3, SenderType::kAccount, "acc_1", "Our team is here too."),
      Said(4, SenderType::kCustomer, "cus_1", kQuestion),
  };
  input.passages = {
      Hit("kb_pw", KnowledgeType::kQa, "How do I reset my password?", "Open Settings > Security.", "", 1.0),
      Hit("kb_2fa", KnowledgeType::kText, "", "", "Two-factor codes are sent by SMS.", 0.67),
      Hit("kb_low", KnowledgeType::kText, "", "", "Shipping is free over $50.", 0.2),
  };
  input.min_score = 0.6;
  return input;
}

struct Endpoint {
  FakeHttpServer server;
  std::shared_ptr<HttpClient> client = LIBCHAT_VALUE(NewCurlHttpClient());

  std::shared_ptr<Responder> Make(OpenAiResponderOptions options = {}) {
    if (options.base_url.empty()) options.base_url = server.url("/v1");
    if (options.model.empty()) options.model = "gpt-test";
    return LIBCHAT_VALUE(NewOpenAiResponder(options, client));
  }
};

OpenAiResponderOptions WithKey(const std::string& key) {
  OpenAiResponderOptions options;
  options.api_key = key;
  return options;
}

TEST_CASE("openai responder: sends the passages and the conversation and returns the answer", "[openai]") {
  Endpoint endpoint;
  endpoint.server.Enqueue(Completion("\n  Open Settings, then Security.  \n"));
  std::shared_ptr<Responder> responder = endpoint.Make(WithKey("sk-secret"));

  ResponderAnswer answer = LIBCHAT_VALUE(responder->Respond(SampleInput()));
  CHECK(answer.answered);
  CHECK(answer.text == "Open Settings, then Security.");
  std::vector<std::string> sources;
  for (const KnowledgeId& id : answer.sources) sources.push_back(id.str());
  CHECK(sources == std::vector<std::string>{"kb_pw", "kb_2fa"});  // what the model was shown

  const std::vector<FakeHttpServer::Request> requests = endpoint.server.requests();
  REQUIRE(requests.size() == 1);
  const FakeHttpServer::Request& request = requests.front();
  CHECK(request.method == "POST");
  CHECK(request.target == "/v1/chat/completions");
  CHECK(request.Header("authorization") == "Bearer sk-secret");
  CHECK(request.Header("content-type").rfind("application/json", 0) == 0);

  const Json body = Json::parse(request.body);
  CHECK(body["model"] == "gpt-test");
  CHECK(body["temperature"] == 0);
  const Json& messages = body["messages"];
  REQUIRE(messages.is_array());
  REQUIRE(messages.size() >= 3);
  // The instructions first: only the passages, or exactly HANDOFF.
  CHECK(messages[0]["role"] == "system");
  const std::string instructions = messages[0]["content"];
  CHECK(instructions.find("ONLY") != std::string::npos);
  CHECK(instructions.find("HANDOFF") != std::string::npos);
  // The passages at or above min_score, numbered; the poor one left out.
  std::string system_text;
  for (const Json& m : messages) {
    if (m["role"] == "system") system_text += m["content"].get<std::string>() + "\n";
  }
  CHECK(system_text.find("[1]") != std::string::npos);
  CHECK(system_text.find("Open Settings > Security.") != std::string::npos);
  CHECK(system_text.find("How do I reset my password?") != std::string::npos);
  CHECK(system_text.find("[2]") != std::string::npos);
  CHECK(system_text.find("Two-factor codes are sent by SMS.") != std::string::npos);
  CHECK(system_text.find("Shipping") == std::string::npos);
  CHECK(system_text.find("[3]") == std::string::npos);
  // Then the conversation: the customer as user, the bot and the team as assistant, the question last.
  std::vector<std::pair<std::string, std::string>> turns;
  for (const Json& m : messages) {
    if (m["role"] != "system") turns.emplace_back(m["role"].get<std::string>(), m["content"].get<std::string>());
  }
  const std::vector<std::pair<std::string, std::string>> want{
      {"user", "Hi!"},
      {"assistant", "Hello, how can I help?"},
      {"assistant", "Our team is here too."},
      {"user", kQuestion},
  };
  CHECK(turns == want);
}

TEST_CASE("openai responder: no key sends no Authorization header", "[openai]") {
  Endpoint endpoint;
  endpoint.server.Enqueue(Completion("Sure."));
  ResponderAnswer answer = LIBCHAT_VALUE(endpoint.Make()->Respond(SampleInput()));
  CHECK(answer.answered);
  REQUIRE(endpoint.server.requests().size() == 1);
  CHECK(endpoint.server.requests().front().Header("authorization").empty());
}

TEST_CASE("openai responder: a trailing slash in base_url and a missing question turn are handled", "[openai]") {
  Endpoint endpoint;
  endpoint.server.Enqueue(Completion("Yes."));
  OpenAiResponderOptions options;
  options.base_url = endpoint.server.url("/api/v1/");
  ResponderInput input = SampleInput();
  input.recent_messages.clear();
  ResponderAnswer answer = LIBCHAT_VALUE(endpoint.Make(options)->Respond(input));
  CHECK(answer.answered);
  const std::vector<FakeHttpServer::Request> requests = endpoint.server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].target == "/api/v1/chat/completions");
  const Json messages = Json::parse(requests[0].body)["messages"];
  CHECK(messages.back()["role"] == "user");
  CHECK(messages.back()["content"] == kQuestion);
}

TEST_CASE("openai responder: history is capped at max_history messages", "[openai]") {
  Endpoint endpoint;
  endpoint.server.Enqueue(Completion("Ok."));
  OpenAiResponderOptions options;
  options.max_history = 2;
  options.max_passages = 1;
  ResponderAnswer answer = LIBCHAT_VALUE(endpoint.Make(options)->Respond(SampleInput()));
  CHECK(answer.answered);
  REQUIRE(answer.sources.size() == 1);
  CHECK(answer.sources[0].str() == "kb_pw");
  const Json messages = Json::parse(endpoint.server.requests().front().body)["messages"];
  std::vector<std::string> turns;
  std::string system_text;
  for (const Json& m : messages) {
    if (m["role"] == "system") {
      system_text += m["content"].get<std::string>();
    } else {
      turns.push_back(m["content"].get<std::string>());
    }
  }
  CHECK(turns == std::vector<std::string>{"Our team is here too.", kQuestion});
  CHECK(system_text.find("Two-factor") == std::string::npos);
}

TEST_CASE("openai responder: HANDOFF means not answered", "[openai]") {
  for (const std::string reply : {"HANDOFF", "  HANDOFF\n", "HANDOFF.", "handoff"}) {
    INFO("reply: " << reply);
    Endpoint endpoint;
    endpoint.server.Enqueue(Completion(reply));
    ResponderAnswer answer = LIBCHAT_VALUE(endpoint.Make()->Respond(SampleInput()));
    CHECK_FALSE(answer.answered);
    CHECK(answer.text.empty());
    CHECK_FALSE(answer.reason.empty());
  }
}

TEST_CASE("openai responder: failures of the endpoint mean not answered", "[openai]") {
  const std::vector<FakeHttpServer::Response> failures{
      Raw(500, R"({"error":{"message":"boom"}})"),
      Raw(429, R"({"error":{"message":"slow down"}})"),
      Raw(401, R"({"error":{"message":"bad key"}})"),
      Raw(302, ""),
      Raw(200, "not json at all"),
      Raw(200, "{}"),
      Raw(200, R"({"choices":[]})"),
      Raw(200, R"({"choices":[{"message":{"role":"assistant"}}]})"),
      Raw(200, R"({"choices":[{"message":{"role":"assistant","content":42}}]})"),
      Raw(200, R"({"choices":[{"message":null}]})"),
      Raw(200, R"([1,2,3])"),
      Completion(""),
      Completion("   \n\t "),
  };
  for (std::size_t i = 0; i < failures.size(); ++i) {
    INFO("failure #" << i << ": " << failures[i].status << " " << failures[i].body);
    Endpoint endpoint;
    endpoint.server.Enqueue(failures[i]);
    auto answer = endpoint.Make()->Respond(SampleInput());
    REQUIRE(answer.ok());  // a failure is an unanswered question, not an error
    CHECK_FALSE(answer->answered);
    CHECK_FALSE(answer->reason.empty());
    CHECK(endpoint.server.requests().size() == 1);
  }
}

TEST_CASE("openai responder: a 500 names the status in the reason", "[openai]") {
  Endpoint endpoint;
  endpoint.server.Enqueue(Raw(500, "oops"));
  ResponderAnswer answer = LIBCHAT_VALUE(endpoint.Make()->Respond(SampleInput()));
  CHECK_FALSE(answer.answered);
  CHECK(answer.reason.find("500") != std::string::npos);
}

TEST_CASE("openai responder: a timeout means not answered, in time", "[openai]") {
  Endpoint endpoint;
  FakeHttpServer::Response slow = Completion("Too late.");
  slow.delay = std::chrono::milliseconds(5000);
  endpoint.server.Enqueue(slow);
  OpenAiResponderOptions options;
  options.timeout = std::chrono::milliseconds(300);
  const auto started = std::chrono::steady_clock::now();
  ResponderAnswer answer = LIBCHAT_VALUE(endpoint.Make(options)->Respond(SampleInput()));
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK_FALSE(answer.answered);
  CHECK_FALSE(answer.reason.empty());
  CHECK(took < std::chrono::milliseconds(3000));
}

TEST_CASE("openai responder: no passage at min_score means not answered without a request", "[openai]") {
  Endpoint endpoint;
  ResponderInput input = SampleInput();
  input.min_score = 0.9;
  input.passages.erase(input.passages.begin());  // only 0.67 and 0.2 are left
  ResponderAnswer answer = LIBCHAT_VALUE(endpoint.Make()->Respond(input));
  CHECK_FALSE(answer.answered);
  CHECK_FALSE(answer.reason.empty());
  input.passages.clear();
  answer = LIBCHAT_VALUE(endpoint.Make()->Respond(input));
  CHECK_FALSE(answer.answered);
  CHECK(endpoint.server.requests().empty());
}

TEST_CASE("openai responder: with allow_private_address false a loopback endpoint is refused", "[openai]") {
  Endpoint endpoint;
  endpoint.server.Enqueue(Completion("Should not be asked."));
  OpenAiResponderOptions options;
  options.allow_private_address = false;
  ResponderAnswer answer = LIBCHAT_VALUE(endpoint.Make(options)->Respond(SampleInput()));
  CHECK_FALSE(answer.answered);
  CHECK_FALSE(answer.reason.empty());
  CHECK(endpoint.server.requests().empty());
}

TEST_CASE("openai responder: bad options are kInvalidArgument", "[openai]") {
  std::shared_ptr<HttpClient> client = LIBCHAT_VALUE(NewCurlHttpClient());
  OpenAiResponderOptions good;
  good.base_url = "http://127.0.0.1:1/v1";
  good.model = "m";
  LIBCHAT_REQUIRE_OK(NewOpenAiResponder(good, client));
  OpenAiResponderOptions no_url = good;
  no_url.base_url = "";
  LIBCHAT_REQUIRE_CODE(NewOpenAiResponder(no_url, client), StatusCode::kInvalidArgument);
  OpenAiResponderOptions bad_url = good;
  bad_url.base_url = "ftp://example.com";
  LIBCHAT_REQUIRE_CODE(NewOpenAiResponder(bad_url, client), StatusCode::kInvalidArgument);
  OpenAiResponderOptions no_model = good;
  no_model.model = "";
  LIBCHAT_REQUIRE_CODE(NewOpenAiResponder(no_model, client), StatusCode::kInvalidArgument);
  LIBCHAT_REQUIRE_CODE(NewOpenAiResponder(good, nullptr), StatusCode::kInvalidArgument);
  OpenAiResponderOptions zero_timeout = good;
  zero_timeout.timeout = std::chrono::milliseconds(0);
  LIBCHAT_REQUIRE_CODE(NewOpenAiResponder(zero_timeout, client), StatusCode::kInvalidArgument);
}

TEST_CASE("knowledge-base responder: answers with the best passage at min_score, else hands off", "[responder]") {
  std::shared_ptr<Responder> responder = NewKnowledgeBaseResponder();
  ResponderInput input = SampleInput();
  ResponderAnswer answer = LIBCHAT_VALUE(responder->Respond(input));
  CHECK(answer.answered);
  CHECK(answer.text == "Open Settings > Security.");  // a qa entry answers with its answer
  REQUIRE(answer.sources.size() == 1);
  CHECK(answer.sources[0].str() == "kb_pw");

  // A text entry answers with its content; the best score wins over the order.
  input.passages = {input.passages[2], input.passages[1]};
  answer = LIBCHAT_VALUE(responder->Respond(input));
  CHECK(answer.answered);
  CHECK(answer.text == "Two-factor codes are sent by SMS.");
  REQUIRE(answer.sources.size() == 1);
  CHECK(answer.sources[0].str() == "kb_2fa");

  input.min_score = 0.7;
  answer = LIBCHAT_VALUE(responder->Respond(input));
  CHECK_FALSE(answer.answered);
  CHECK(answer.text.empty());
  CHECK(answer.sources.empty());
  CHECK_FALSE(answer.reason.empty());

  input.passages.clear();
  answer = LIBCHAT_VALUE(responder->Respond(input));
  CHECK_FALSE(answer.answered);
  CHECK_FALSE(answer.reason.empty());
}

}  // namespace
