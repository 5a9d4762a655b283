#include "server/metrics.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "libchat/providers/store.h"
#include "server/server_context.h"

namespace libchat::server {

// ---------------------------------------------------------------------------
// Histogram

Histogram::Histogram(std::vector<std::uint64_t> upper_bounds, double units_per_base)
    : bounds_(std::move(upper_bounds)),
      units_per_base_(units_per_base),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(std::uint64_t value) {
  // A dozen bounds: a linear scan beats a binary search and stays branch-predictable.
  std::size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.upper_bounds.reserve(bounds_.size());
  for (const std::uint64_t bound : bounds_) {
    snapshot.upper_bounds.push_back(static_cast<double>(bound) / units_per_base_);
  }
  snapshot.counts.reserve(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    snapshot.counts.push_back(counts_[i].load(std::memory_order_relaxed));
  }
  snapshot.sum = static_cast<double>(sum_.load(std::memory_order_relaxed)) / units_per_base_;
  return snapshot;
}

std::vector<std::uint64_t> PublishLatencyBucketsMicros() {
  return {1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000};
}

// ---------------------------------------------------------------------------
// Text format

namespace {

// HELP text: backslash and line feed. Label values: also the double quote.
void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (const char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '"':
        out += quote ? "\\\"" : "\"";
        break;
      default: out += c;
    }
  }
}

}  // namespace

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);  // shortest round trip: "1", "0.0025", "1e-06"
}

void MetricsText::Header(std::string_view name, std::string_view help, std::string_view type) {
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  AppendEscaped(text_, help, /*quote=*/false);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type;
  text_ += '\n';
}

void MetricsText::Sample(std::string_view name, std::string_view suffix, const Labels& labels, std::string_view le,
                         std::string_view value) {
  text_ += name;
  text_ += suffix;
  if (!labels.empty() || !le.empty()) {
    text_ += '{';
    bool first = true;
    auto label = [&](std::string_view key, std::string_view label_value) {
      if (!first) text_ += ',';
      first = false;
      text_ += key;
      text_ += "=\"";
      AppendEscaped(text_, label_value, /*quote=*/true);
      text_ += '"';
    };
    for (const auto& [key, label_value] : labels) label(key, label_value);
    if (!le.empty()) label("le", le);
    text_ += '}';
  }
  text_ += ' ';
  text_ += value;
  text_ += '\n';
}

void MetricsText::AddCounter(std::string_view name, std::string_view help, std::uint64_t value,
                             const Labels& labels) {
  Header(name, help, "counter");
  Sample(name, "", labels, "", std::to_string(value));
}

void MetricsText::AddGauge(std::string_view name, std::string_view help, double value, const Labels& labels) {
  Header(name, help, "gauge");
  Sample(name, "", labels, "", FormatMetricValue(value));
}

void MetricsText::AddHistogram(std::string_view name, std::string_view help, const Histogram::Snapshot& snapshot,
                               const Labels& labels) {
  Header(name, help, "histogram");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < snapshot.counts.size(); ++i) {
    cumulative += snapshot.counts[i];
    const std::string le = i < snapshot.upper_bounds.size() ? FormatMetricValue(snapshot.upper_bounds[i]) : "+Inf";
    Sample(name, "_bucket", labels, le, std::to_string(cumulative));
  }
  Sample(name, "_sum", labels, "", FormatMetricValue(snapshot.sum));
  Sample(name, "_count", labels, "", std::to_string(cumulative));
}

// ---------------------------------------------------------------------------
// The server's families

std::string RenderServerMetrics(const ServerCounters& counters, const StoreMetrics& store, std::string_view version) {
  auto load = [](const std::atomic<std::uint64_t>& value) { return value.load(std::memory_order_relaxed); };
  MetricsText out;
  out.AddGauge("libchat_build_info", "Build of the running server (value 1).", 1, {{"version", version}});
  out.AddGauge("libchat_http_connections", "Open HTTP connections (not counting upgraded WebSockets).",
               static_cast<double>(load(counters.http_connections)));
  out.AddGauge("libchat_ws_connections", "Open WebSocket connections.",
               static_cast<double>(load(counters.ws_connections)));
  out.AddCounter("libchat_http_requests_total", "HTTP requests received, WebSocket upgrades included.",
                 load(counters.http_requests));
  out.AddCounter("libchat_ws_connections_accepted_total", "WebSocket connections accepted.",
                 load(counters.ws_accepted));
  out.AddCounter("libchat_messages_appended_total", "Messages appended to conversations (message.created events).",
                 load(counters.messages_appended));
  out.AddCounter("libchat_fanout_deliveries_total", "Live event frames handed to WebSocket sessions.",
                 load(counters.events_delivered));
  out.AddHistogram("libchat_publish_to_socket_seconds",
                   "From the core publishing an event to its frame being written to a WebSocket (1 ms resolution).",
                   counters.publish_to_socket_us.Read());
  out.AddCounter("libchat_rate_limited_requests_total",
                 "HTTP requests and WebSocket commands refused by the rate limiter (429 rate_limited).",
                 load(counters.rate_limited));
  out.AddCounter("libchat_ws_slow_consumer_disconnects_total",
                 "WebSocket clients closed with 1013 for not reading fast enough.",
                 load(counters.ws_slow_consumer_closes));
  if (store.available) {
    Histogram::Snapshot batches;
    for (const std::uint64_t bound : StoreMetrics::kBatchBucketBounds) {
      batches.upper_bounds.push_back(static_cast<double>(bound));
    }
    batches.counts.assign(store.commit_batch_sizes.begin(), store.commit_batch_sizes.end());
    batches.sum = static_cast<double>(store.writes);
    out.AddHistogram("libchat_store_commit_batch_size", "Write operations per committed store transaction.", batches);
    out.AddCounter("libchat_store_failed_commits_total", "Store transactions that could not begin or commit.",
                   store.failed_commits);
    out.AddGauge("libchat_store_write_queue", "Store write operations waiting for the writer.",
                 static_cast<double>(store.write_queue));
  }
  return out.text();
}

}  // namespace libchat::server
