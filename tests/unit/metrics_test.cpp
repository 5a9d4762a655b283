// GET /metrics: the Prometheus text format the server emits (server/metrics.h), the route and its optional
// token (server/api/api.cpp), and the store's commit batch histogram (Store::Metrics, SQLite writer).
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api_test_util.h"
#include "catch.h"
#include "libchat/providers/store.h"
#include "server/metrics.h"
#include "server/server_context.h"
#include "unit/store_test_util.h"

namespace libchat::test {
namespace {

using server::Histogram;
using server::MetricsText;

// One sample line: "name{labels} value".
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped values
  std::string value;
};

// A strict reader of the subset of the text format the server emits: every line is "# HELP name text",
// "# TYPE name type" or a sample; every sample belongs to the family announced by the HELP and TYPE lines just
// before it (histogram samples carry the _bucket/_sum/_count suffixes), and each family appears once.
struct Exposition {
  std::map<std::string, std::string> types;  // family -> counter/gauge/histogram
  std::map<std::string, std::string> helps;  // family -> unescaped help
  std::vector<Sample> samples;
  std::vector<std::string> problems;

  explicit Exposition(const std::string& text) {
    static const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
    if (!text.empty() && text.back() != '\n') problems.push_back("the text does not end with a line feed");
    std::istringstream in(text);
    std::string line;
    std::string family;
    while (std::getline(in, line)) {
      if (line.rfind("# HELP ", 0) == 0) {
        const auto space = line.find(' ', 7);
        family = line.substr(7, space - 7);
        if (!std::regex_match(family, kName)) problems.push_back("bad family name: " + line);
        if (helps.count(family) != 0) problems.push_back("family repeated: " + family);
        helps[family] = Unescape(space == std::string::npos ? "" : line.substr(space + 1));
      } else if (line.rfind("# TYPE ", 0) == 0) {
        const auto space = line.find(' ', 7);
        if (line.substr(7, space - 7) != family) problems.push_back("TYPE without its HELP: " + line);
        types[family] = line.substr(space + 1);
      } else {
        Sample sample;
        if (!ParseSample(line, sample)) {
          problems.push_back("malformed sample: " + line);
          continue;
        }
        if (!std::regex_match(sample.name, kName)) problems.push_back("bad sample name: " + line);
        const std::string& type = types[family];
        bool belongs = sample.name == family;
        if (type == "histogram") {
          belongs = sample.name == family + "_bucket" || sample.name == family + "_sum" ||
                    sample.name == family + "_count";
        }
        if (!belongs || type.empty()) problems.push_back("sample outside its family " + family + ": " + line);
        samples.push_back(std::move(sample));
      }
    }
  }

  static std::string Unescape(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        const char next = text[++i];
        out += next == 'n' ? '\n' : next;  // "\\" -> '\', "\"" -> '"'
      } else {
        out += text[i];
      }
    }
    return out;
  }

  static bool ParseSample(const std::string& line, Sample& sample) {
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    sample.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const auto eq = line.find("=\"", i);
        if (eq == std::string::npos) return false;
        const std::string key = line.substr(i, eq - i);
        std::string raw;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) raw += line[j++];
          raw += line[j];
        }
        if (j >= line.size()) return false;
        sample.labels[key] = Unescape(raw);
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return false;
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') return false;
    sample.value = line.substr(i + 1);
    return !sample.value.empty() && sample.value.find(' ') == std::string::npos;
  }

  // The value of the sample `name` whose labels include `labels`; nullopt when there is none.
  std::optional<double> Value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const Sample& sample : samples) {
      if (sample.name != name) continue;
      bool match = true;
      for (const auto& [key, value] : labels) {
        auto it = sample.labels.find(key);
        match = match && it != sample.labels.end() && it->second == value;
      }
      if (match) return std::stod(sample.value);
    }
    return std::nullopt;
  }

  // The `le` values of a histogram's buckets, in order.
  std::vector<std::string> Bounds(const std::string& family) const {
    std::vector<std::string> out;
    for (const Sample& sample : samples) {
      if (sample.name == family + "_bucket") out.push_back(sample.labels.at("le"));
    }
    return out;
  }
};

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += "\n  " + line;
  return out;
}

TEST_CASE("metrics: a histogram counts each observation in the first bucket whose bound holds it", "[metrics]") {
  Histogram histogram({1, 5, 10}, 2);
  for (const std::uint64_t value : {0, 1, 2, 5, 6, 10, 11, 1000}) histogram.Observe(value);
  const Histogram::Snapshot snapshot = histogram.Read();
  CHECK(snapshot.upper_bounds == std::vector<double>{0.5, 2.5, 5.0});
  CHECK(snapshot.counts == std::vector<std::uint64_t>{2, 2, 2, 2});  // <=1, <=5, <=10, +Inf
  CHECK(snapshot.sum == (0 + 1 + 2 + 5 + 6 + 10 + 11 + 1000) / 2.0);
}

TEST_CASE("metrics: concurrent observations are all counted", "[metrics]") {
  Histogram histogram(server::PublishLatencyBucketsMicros(), 1e6);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&histogram, t] {
      for (int i = 0; i < 10000; ++i) histogram.Observe(static_cast<std::uint64_t>((i * 7919 + t) % 3000000));
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::uint64_t total = 0;
  for (const std::uint64_t count : histogram.Read().counts) total += count;
  CHECK(total == 40000);
}

TEST_CASE("metrics: text format of counters, gauges and histograms", "[metrics]") {
  MetricsText text;
  text.AddCounter("demo_requests_total", "Requests.", 7);
  text.AddGauge("demo_temperature", "Degrees.", 21.5);
  Histogram histogram({1000, 2500, 1000000}, 1e6);
  histogram.Observe(500);
  histogram.Observe(2000);
  histogram.Observe(2000);
  histogram.Observe(5000000);
  text.AddHistogram("demo_latency_seconds", "Latency.", histogram.Read());

  CHECK(text.text() ==
        "# HELP demo_requests_total Requests.\n"
        "# TYPE demo_requests_total counter\n"
        "demo_requests_total 7\n"
        "# HELP demo_temperature Degrees.\n"
        "# TYPE demo_temperature gauge\n"
        "demo_temperature 21.5\n"
        "# HELP demo_latency_seconds Latency.\n"
        "# TYPE demo_latency_seconds histogram\n"
        "demo_latency_seconds_bucket{le=\"0.001\"} 1\n"
        "demo_latency_seconds_bucket{le=\"0.0025\"} 3\n"
        "demo_latency_seconds_bucket{le=\"1\"} 3\n"
        "demo_latency_seconds_bucket{le=\"+Inf\"} 4\n"
        "demo_latency_seconds_sum 5.0045\n"
        "demo_latency_seconds_count 4\n");
  const Exposition parsed(text.text());
  INFO(Join(parsed.problems));
  CHECK(parsed.problems.empty());
}

TEST_CASE("metrics: help texts and label values are escaped", "[metrics]") {
  MetricsText text;
  text.AddGauge("demo_info", "A \\ backslash,\na line feed and \"quotes\".", 1,
                {{"path", "C:\\dir\n\"x\""}, {"plain", "ok"}});
  CHECK(text.text() ==
        "# HELP demo_info A \\\\ backslash,\\na line feed and \"quotes\".\n"
        "# TYPE demo_info gauge\n"
        "demo_info{path=\"C:\\\\dir\\n\\\"x\\\"\",plain=\"ok\"} 1\n");
  const Exposition parsed(text.text());
  INFO(Join(parsed.problems));
  CHECK(parsed.problems.empty());
  CHECK(parsed.helps.at("demo_info") == "A \\ backslash,\na line feed and \"quotes\".");
  REQUIRE(parsed.samples.size() == 1);
  CHECK(parsed.samples[0].labels.at("path") == "C:\\dir\n\"x\"");

  // Labels and le together on a histogram; special values.
  MetricsText labelled;
  Histogram histogram({1}, 1);
  labelled.AddHistogram("demo_sizes", "Sizes.", histogram.Read(), {{"store", "sqlite"}});
  CHECK(labelled.text().find("demo_sizes_bucket{store=\"sqlite\",le=\"+Inf\"} 0\n") != std::string::npos);
  CHECK(labelled.text().find("demo_sizes_count{store=\"sqlite\"} 0\n") != std::string::npos);
  CHECK(server::FormatMetricValue(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(server::FormatMetricValue(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(server::FormatMetricValue(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(server::FormatMetricValue(3.0) == "3");
  CHECK(server::FormatMetricValue(0.25) == "0.25");
}

TEST_CASE("metrics: the server's exposition names every required family", "[metrics]") {
  server::ServerCounters counters;
  StoreMetrics store;
  store.available = true;
  store.commits = 3;
  store.writes = 1 + 7 + 1500;
  store.commit_batch_sizes[0] = 1;   // 1
  store.commit_batch_sizes[3] = 1;   // 7 -> le 10
  store.commit_batch_sizes[10] = 1;  // 1500 -> +Inf
  store.write_queue = 2;

  const Exposition parsed(server::RenderServerMetrics(counters, store, "1.2.3"));
  INFO(Join(parsed.problems));
  CHECK(parsed.problems.empty());
  const std::map<std::string, std::string> expected = {
      {"libchat_build_info", "gauge"},
      {"libchat_http_connections", "gauge"},
      {"libchat_ws_connections", "gauge"},
      {"libchat_http_requests_total", "counter"},
      {"libchat_ws_connections_accepted_total", "counter"},
      {"libchat_messages_appended_total", "counter"},
      {"libchat_fanout_deliveries_total", "counter"},
      {"libchat_publish_to_socket_seconds", "histogram"},
      {"libchat_rate_limited_requests_total", "counter"},
      {"libchat_ws_slow_consumer_disconnects_total", "counter"},
      {"libchat_store_commit_batch_size", "histogram"},
      {"libchat_store_failed_commits_total", "counter"},
      {"libchat_store_write_queue", "gauge"},
  };
  CHECK(parsed.types == expected);
  for (const auto& [family, type] : parsed.types) {
    INFO(family);
    CHECK(family.rfind("libchat_", 0) == 0);
    CHECK(!parsed.helps.at(family).empty());
    const bool total = family.size() > 6 && family.compare(family.size() - 6, 6, "_total") == 0;
    CHECK(total == (type == "counter"));
  }
  CHECK(parsed.Value("libchat_build_info", {{"version", "1.2.3"}}) == 1.0);
  CHECK(parsed.Bounds("libchat_publish_to_socket_seconds") ==
        std::vector<std::string>{"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
                                 "2.5", "+Inf"});
  CHECK(parsed.Bounds("libchat_store_commit_batch_size") ==
        std::vector<std::string>{"1", "2", "5", "10", "20", "50", "100", "200", "500", "1000", "+Inf"});
  CHECK(parsed.Value("libchat_store_commit_batch_size_bucket", {{"le", "1"}}) == 1.0);
  CHECK(parsed.Value("libchat_store_commit_batch_size_bucket", {{"le", "5"}}) == 1.0);
  CHECK(parsed.Value("libchat_store_commit_batch_size_bucket", {{"le", "10"}}) == 2.0);
  CHECK(parsed.Value("libchat_store_commit_batch_size_bucket", {{"le", "1000"}}) == 2.0);
  CHECK(parsed.Value("libchat_store_commit_batch_size_bucket", {{"le", "+Inf"}}) == 3.0);
  CHECK(parsed.Value("libchat_store_commit_batch_size_count") == 3.0);
  CHECK(parsed.Value("libchat_store_commit_batch_size_sum") == 1508.0);
  CHECK(parsed.Value("libchat_store_write_queue") == 2.0);

  // A store that reports nothing: no store families rather than made-up zeros.
  const Exposition without_store(server::RenderServerMetrics(counters, StoreMetrics(), "1.2.3"));
  CHECK(without_store.problems.empty());
  CHECK(without_store.types.count("libchat_store_commit_batch_size") == 0);
  CHECK(without_store.types.count("libchat_messages_appended_total") == 1);
}

TEST_CASE("metrics: counters and histogram buckets only grow between scrapes", "[metrics]") {
  server::ServerCounters counters;
  auto scrape = [&counters] { return Exposition(server::RenderServerMetrics(counters, StoreMetrics(), "t")); };
  const Exposition before = scrape();
  counters.http_requests += 3;
  counters.messages_appended += 2;
  counters.events_delivered += 5;
  counters.ws_accepted += 1;
  counters.ws_connections += 1;
  counters.rate_limited += 1;
  counters.ws_slow_consumer_closes += 1;
  counters.publish_to_socket_us.Observe(1200);   // 1.2 ms -> le 0.0025
  counters.publish_to_socket_us.Observe(40000);  // 40 ms -> le 0.05
  const Exposition after = scrape();
  CHECK(after.Value("libchat_http_requests_total") == 3.0);
  CHECK(after.Value("libchat_messages_appended_total") == 2.0);
  CHECK(after.Value("libchat_fanout_deliveries_total") == 5.0);
  CHECK(after.Value("libchat_ws_connections_accepted_total") == 1.0);
  CHECK(after.Value("libchat_ws_connections") == 1.0);
  CHECK(after.Value("libchat_rate_limited_requests_total") == 1.0);
  CHECK(after.Value("libchat_ws_slow_consumer_disconnects_total") == 1.0);
  CHECK(after.Value("libchat_publish_to_socket_seconds_bucket", {{"le", "0.001"}}) == 0.0);
  CHECK(after.Value("libchat_publish_to_socket_seconds_bucket", {{"le", "0.0025"}}) == 1.0);
  CHECK(after.Value("libchat_publish_to_socket_seconds_bucket", {{"le", "0.05"}}) == 2.0);
  CHECK(after.Value("libchat_publish_to_socket_seconds_count") == 2.0);
  CHECK(after.Value("libchat_publish_to_socket_seconds_sum") == 0.0412);
  for (const Sample& sample : before.samples) {
    INFO(sample.name);
    const std::string& family = sample.name;
    const bool monotonic = family.find("_total") != std::string::npos || family.find("_bucket") != std::string::npos ||
                           family.find("_count") != std::string::npos;
    if (!monotonic) continue;
    const auto now = after.Value(sample.name, sample.labels);
    REQUIRE(now.has_value());
    CHECK(*now >= std::stod(sample.value));
  }
  // Cumulative buckets never decrease along le.
  double previous = 0;
  for (const Sample& sample : after.samples) {
    if (sample.name != "libchat_publish_to_socket_seconds_bucket") continue;
    CHECK(std::stod(sample.value) >= previous);
    previous = std::stod(sample.value);
  }
}

TEST_CASE("metrics: GET /metrics serves the text format, 404 when the server renders none", "[metrics]") {
  {
    ApiHarness h;  // no renderer
    CHECK(h.Get("/metrics").status == 404);
  }
  server::ApiOptions options = ApiHarness::DefaultApiOptions();
  int renders = 0;
  options.render_metrics = [&renders] {
    ++renders;
    return std::string("# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n");
  };
  ApiHarness h(options);
  const Response response = h.Get("/metrics");
  CHECK(response.status == 200);
  const std::string* type = ResponseHeader(response, "Content-Type");
  REQUIRE(type != nullptr);
  CHECK(*type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(response.body == "# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n");
  CHECK(renders == 1);
  CHECK(h.Get("/metrics", {}, "POST").status == 405);
}

TEST_CASE("metrics: with a metrics token, GET /metrics requires it as a bearer token", "[metrics]") {
  server::ApiOptions options = ApiHarness::DefaultApiOptions();
  options.render_metrics = [] { return std::string("x 1\n"); };
  options.metrics_token = "scrape-secret-123";
  ApiHarness h(options);
  const auto account = h.Register("ops@example.com");

  for (const std::vector<Header>& headers :
       {std::vector<Header>{}, {Bearer("scrape-secret-12")}, {Bearer("scrape-secret-1234")}, {Bearer("")},
        {Bearer(account.token)}, {Header{"Authorization", "scrape-secret-123"}},
        {Header{"X-Authorization-Key", "scrape-secret-123"}}}) {
    const Response response = h.Get("/metrics", headers);
    INFO((headers.empty() ? std::string("no header") : headers[0].name + ": " + headers[0].value));
    CHECK(response.status == 401);
    CHECK(ErrorCode(response) == "unauthenticated");
    CHECK(response.body.find("scrape-secret") == std::string::npos);
  }
  const Response ok = h.Get("/metrics", {Bearer("scrape-secret-123")});
  CHECK(ok.status == 200);
  CHECK(ok.body == "x 1\n");
  CHECK(h.Get("/metrics", {Header{"Authorization", "bearer   scrape-secret-123 "}}).status == 200);
  // The other operations routes stay open.
  CHECK(h.Get("/health").status == 200);
}

TEST_CASE("metrics: the SQLite store reports its commit batch sizes", "[metrics][sqlite]") {
  SqliteBackend store;
  const StoreMetrics start = store->Metrics();
  CHECK(start.available);

  // One writer at a time: every commit holds exactly one write.
  for (int i = 0; i < 5; ++i) LIBCHAT_REQUIRE_OK(store->PutSettingIfAbsent("seq_" + std::to_string(i), "v"));
  const StoreMetrics sequential = store->Metrics();
  CHECK(sequential.commits == start.commits + 5);
  CHECK(sequential.writes == start.writes + 5);
  CHECK(sequential.commit_batch_sizes[0] == start.commit_batch_sizes[0] + 5);

  // Many at once: grouped into fewer commits; the buckets account for every commit and the sum for every write.
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 25; ++i) {
        (void)store->PutSettingIfAbsent("par_" + std::to_string(t) + "_" + std::to_string(i), "v");
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const StoreMetrics parallel = store->Metrics();
  CHECK(parallel.writes == sequential.writes + 400);
  CHECK(parallel.commits > sequential.commits);
  CHECK(parallel.commits <= sequential.commits + 400);
  std::uint64_t bucketed = 0;
  for (const std::uint64_t count : parallel.commit_batch_sizes) bucketed += count;
  CHECK(bucketed == parallel.commits);
  CHECK(parallel.write_queue == 0);
  CHECK(parallel.failed_commits == 0);
}

TEST_CASE("metrics: stores without metrics report none, and the facade passes the store's through", "[metrics]") {
  CHECK_FALSE(testing::NewMemoryStore()->Metrics().available);

  SqliteBackend store;
  Options options;
  options.store = store.shared();
  options.jwt_secret = kTestJwtSecret;
  options.password_hashing.memory_kib = 8192;
  options.password_hashing.iterations = 1;
  auto chat = LIBCHAT_VALUE(Chat::Open(std::move(options)));
  LIBCHAT_REQUIRE_OK(store->PutSettingIfAbsent("facade", "v"));
  const StoreMetrics through_chat = chat->GetStoreMetrics();
  CHECK(through_chat.available);
  CHECK(through_chat.commits == store->Metrics().commits);
  CHECK(through_chat.commits >= 1);
}

}  // namespace
}  // namespace libchat::test
