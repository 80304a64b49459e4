// The sample model of the stream contract (v1): metric types and the
// name rules every producer and consumer checks the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace kv {

enum class MetricType : std::uint8_t { untyped, counter, gauge, histogram };

std::string_view to_string(MetricType type);
std::optional<MetricType> parse_metric_type(std::string_view text);

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*  (the "__" prefix is checked separately)
bool is_valid_label_name(std::string_view name);
// Names starting with "__" belong to Prometheus itself.
inline bool is_reserved_label_name(std::string_view name) {
  return name.size() >= 2 && name[0] == '_' && name[1] == '_';
}

// One bucket of a histogram: the observations less than or equal to
// `upper_bound`, counted cumulatively (each bucket includes the ones below).
// The +Inf bucket is not stored as one: its count is the histogram's count.
struct HistogramBucket {
  double upper_bound;  // finite
  std::uint64_t count;
};

// Whether a histogram's sum is a counter, as OpenMetrics and OTLP want one
// to be: not negative, not NaN, and no bucket below zero (negative
// observations would let it go down). When it is not, those formats leave
// the sum out (and OpenMetrics the count, which it only allows with a sum).
inline bool histogram_sum_is_counter(double sum, std::span<const HistogramBucket> buckets) {
  return sum >= 0 && (buckets.empty() || buckets.front().upper_bound >= 0);
}

}  // namespace kv
