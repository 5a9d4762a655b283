// Metrics of the reference server for GET /metrics: fixed-bucket histograms that hot paths update with a few
// relaxed atomic adds, a builder of the Prometheus text exposition format (version 0.0.4), and the one
// function that lays out every libchat_* family from the server's counters and the store's metrics.
//
// Counters and gauges need no type of their own: they are the std::atomic fields of ServerCounters
// (server/server_context.h), read once per scrape.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace libchat {
struct StoreMetrics;
}  // namespace libchat

namespace libchat::server {

struct ServerCounters;

// The Content-Type of the text exposition format 0.0.4.
inline constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// A histogram of non-negative integer observations (microseconds, batch sizes, ...) with fixed bucket upper
// bounds, exported in base units: observation / `units_per_base` (microseconds with 1e6 are exported as
// seconds; dividing by the exact 1e6 rather than multiplying by the inexact 1e-6 keeps le="0.025" exact).
//
// Thread-safety: Observe is wait-free (a scan of a dozen bounds and two relaxed atomic adds, no lock, no
// allocation) and may run on any number of threads, concurrently with Read. A snapshot's count is the sum of
// its buckets, so _count always equals the +Inf bucket; its sum may miss observations in flight.
class Histogram {
 public:
  struct Snapshot {
    std::vector<double> upper_bounds;   // in base units, ascending, without the implicit +Inf
    std::vector<std::uint64_t> counts;  // per bucket, NOT cumulative; upper_bounds.size() + 1 of them (+Inf last)
    double sum = 0;                     // in base units
  };

  // `upper_bounds` must be strictly ascending; a last +Inf bucket is added.
  Histogram(std::vector<std::uint64_t> upper_bounds, double units_per_base);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counts `value` in the first bucket whose bound is >= value.
  void Observe(std::uint64_t value);
  Snapshot Read() const;

 private:
  const std::vector<std::uint64_t> bounds_;
  const double units_per_base_;
  const std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<std::uint64_t> sum_{0};                            // in observation units
};

// The buckets of libchat_publish_to_socket_seconds, in microseconds: 1 ms, 2.5 ms, 5 ms ... 2.5 s.
std::vector<std::uint64_t> PublishLatencyBucketsMicros();

// Builds a text exposition, one metric family per call, in call order: "# HELP", "# TYPE" and the samples.
// Names are the caller's literals and must match [a-zA-Z_:][a-zA-Z0-9_:]* (counters end in _total); help
// texts and label values are escaped as the format requires (\\, \n, and \" in label values).
class MetricsText {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

  void AddCounter(std::string_view name, std::string_view help, std::uint64_t value, const Labels& labels = {});
  void AddGauge(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  // <name>_bucket{le="…"} cumulative counts (the last one le="+Inf"), then <name>_sum and <name>_count.
  void AddHistogram(std::string_view name, std::string_view help, const Histogram::Snapshot& snapshot,
                    const Labels& labels = {});

  const std::string& text() const { return text_; }

 private:
  void Header(std::string_view name, std::string_view help, std::string_view type);
  void Sample(std::string_view name, std::string_view suffix, const Labels& labels, std::string_view le,
              std::string_view value);

  std::string text_;
};

// A sample value as the format spells it: shortest round-trip decimal, "NaN", "+Inf", "-Inf".
std::string FormatMetricValue(double value);

// The exposition of GET /metrics: every libchat_* family of the server (see the README's Operations section).
// The store's families are left out when the store reports no metrics (StoreMetrics::available false).
std::string RenderServerMetrics(const ServerCounters& counters, const StoreMetrics& store, std::string_view version);

}  // namespace libchat::server
