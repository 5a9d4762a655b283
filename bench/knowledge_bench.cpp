// knowledge_bench: what the knowledge base and its bot cost.
//
// Through the public facade on a fresh SQLite file: one account and app, N
// synthetic knowledge entries (words drawn from a Zipf-distributed vocabulary,
// so a few words are everywhere and most are rare, as in real help articles),
// then
//   1. insert rate of entries (each one a durable write plus its FTS5 index rows),
//   2. search latency (Chat::SearchKnowledge: split, FTS5 BM25 query, scores and
//      snippets) for Q queries of 3..8 words, p50/p99,
//   3. bot throughput: C customers each ask one question in their own support
//      conversation with the bot enabled; the delivery worker (ProcessDueDeliveries
//      on W threads) answers or hands over every one; replies per second.
// Peak RSS is read from /proc/self/status at the end.
//
// This is a program that prints figures, not a test. Usage:
//   knowledge_bench [--entries N] [--queries Q] [--customers C] [--workers W] [--keep-db]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "libchat/chat.h"
#include "libchat/options.h"

namespace {

using SteadyClock = std::chrono::steady_clock;

struct Flags {
  int entries = 10000;
  int queries = 2000;
  int customers = 500;
  int workers = 2;
  bool keep_db = false;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> int {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
    if (arg == "--entries") flags.entries = next();
    else if (arg == "--queries") flags.queries = next();
    else if (arg == "--customers") flags.customers = next();
    else if (arg == "--workers") flags.workers = next();
    else if (arg == "--keep-db") flags.keep_db = true;
    else {
      std::fprintf(stderr, "usage: knowledge_bench [--entries N] [--queries Q] [--customers C] [--workers W] [--keep-db]\n");
      std::exit(2);
    }
  }
  return flags;
}

template <typename T>
T Check(libchat::Result<T> result, const char* what) {
  if (!result.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, result.status().message().c_str());
    std::exit(1);
  }
  return std::move(result).value();
}

// A synthetic vocabulary: "w0", "w1", … drawn with a Zipf(1.1) distribution.
class Words {
 public:
  explicit Words(int size, std::uint32_t seed) : rng_(seed) {
    std::vector<double> weights(size);
    for (int i = 0; i < size; ++i) weights[i] = 1.0 / std::pow(i + 1, 1.1);
    dist_ = std::discrete_distribution<int>(weights.begin(), weights.end());
  }
  std::string Word() { return "term" + std::to_string(dist_(rng_)); }
  std::string Sentence(int words) {
    std::string out;
    for (int i = 0; i < words; ++i) {
      if (i) out += ' ';
      out += Word();
    }
    return out;
  }
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

 private:
  std::mt19937 rng_;
  std::discrete_distribution<int> dist_;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

long PeakRssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  const std::string path = "knowledge_bench_" + std::to_string(::getpid()) + ".db";

  libchat::Options options;
  options.sqlite.path = path;
  options.password_hashing.memory_kib = 8192;
  options.password_hashing.iterations = 1;
  options.delivery.secrets_key = std::string(32, 'k');
  auto chat = Check(libchat::Chat::Open(std::move(options)), "Chat::Open");

  auto session = Check(chat->Register({"bench@example.com", "benchmark-password", "Bench"}), "Register");
  libchat::Principal owner = Check(chat->Authenticate({session.token, "", "", ""}), "Authenticate");
  libchat::AppCreate app_request;
  app_request.name = "Bench";
  auto app = Check(chat->CreateApp(owner, app_request), "CreateApp");
  const libchat::AppId app_id = app.app.id;

  // 1. Entries: half qa, half text, 20..120 words each.
  Words words(20000, 42);
  std::vector<std::string> questions;
  const auto insert_start = SteadyClock::now();
  for (int i = 0; i < flags.entries; ++i) {
    libchat::KnowledgeInput input;
    if (i % 2 == 0) {
      input.type = libchat::KnowledgeType::kQa;
      input.question = words.Sentence(words.Uniform(5, 12));
      input.answer = words.Sentence(words.Uniform(20, 60));
      if (questions.size() < 1000) questions.push_back(input.question);
    } else {
      input.type = libchat::KnowledgeType::kText;
      input.content = words.Sentence(words.Uniform(40, 120));
    }
    Check(chat->CreateKnowledgeEntry(owner, app_id, input), "CreateKnowledgeEntry");
  }
  const double insert_s = Seconds(SteadyClock::now() - insert_start);
  std::printf("machine: %u hardware threads\n", std::thread::hardware_concurrency());
  std::printf("entries: %d inserted in %.2f s = %.0f entries/s (one durable write each)\n", flags.entries, insert_s,
              flags.entries / insert_s);

  // 2. Search latency.
  std::vector<double> latencies_ms;
  latencies_ms.reserve(flags.queries);
  std::size_t hits_total = 0;
  const auto search_start = SteadyClock::now();
  for (int i = 0; i < flags.queries; ++i) {
    const std::string query = words.Sentence(words.Uniform(3, 8));
    const auto t0 = SteadyClock::now();
    auto hits = Check(chat->SearchKnowledge(owner, app_id, query, 5), "SearchKnowledge");
    latencies_ms.push_back(Seconds(SteadyClock::now() - t0) * 1000.0);
    hits_total += hits.size();
  }
  const double search_s = Seconds(SteadyClock::now() - search_start);
  std::printf("search: %d queries of 3-8 words, top 5: %.0f queries/s, p50 %.2f ms, p99 %.2f ms, %.1f hits/query\n",
              flags.queries, flags.queries / search_s, Percentile(latencies_ms, 0.50),
              Percentile(latencies_ms, 0.99), static_cast<double>(hits_total) / flags.queries);

  // 3. Bot throughput: half the customers ask a stored question (answered), half ask noise (handed over).
  libchat::BotSettings bot;
  bot.enabled = true;
  bot.min_score = 0.6;
  Check(chat->PutBotSettings(owner, app_id, bot), "PutBotSettings");
  libchat::Principal publishable = Check(chat->Authenticate({"", app.app.publishable_key, "", ""}), "pk");
  for (int i = 0; i < flags.customers; ++i) {
    libchat::SdkSendRequest request;
    request.message.text = (i % 2 == 0 && !questions.empty()) ? questions[static_cast<std::size_t>(i / 2) % questions.size()]
                                                               : "zzqx" + std::to_string(i) + " unrelated words here";
    Check(chat->SdkSendMessage(publishable, request), "SdkSendMessage");
  }
  std::atomic<int> processed{0};
  const auto bot_start = SteadyClock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < flags.workers; ++w) {
    workers.emplace_back([&] {
      while (true) {
        auto claimed = chat->ProcessDueDeliveries(16);
        if (!claimed.ok() || *claimed == 0) break;
        processed += *claimed;
      }
    });
  }
  for (auto& t : workers) t.join();
  const double bot_s = Seconds(SteadyClock::now() - bot_start);
  auto open = Check(chat->ListConversations(owner, app_id, [] {
    libchat::ConversationFilter f;
    f.status = libchat::ConversationStatus::kOpen;
    f.limit = 200;
    return f;
  }()), "ListConversations");
  std::printf("bot: %d questions (half answerable) run by %d workers in %.2f s = %.0f replies/s; "
              "first page of handed-over conversations: %zu\n",
              processed.load(), flags.workers, bot_s, processed.load() / std::max(bot_s, 1e-9), open.data.size());
  std::printf("peak RSS: %ld KiB\n", PeakRssKib());

  chat.reset();
  if (!flags.keep_db) {
    for (const char* suffix : {"", "-wal", "-shm", ".key"}) std::remove((path + suffix).c_str());
  }
  return 0;
}
