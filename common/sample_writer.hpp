// Writes the sample stream (v1): one JSON object per line, flushed at each
// snapshot end so a pipe never stalls on a buffer. Used by every producer.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metric_model.hpp"

namespace kv {

struct SampleOut {
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;
  std::string_view name;  // a histogram's: the family's, without _bucket, _sum, _count
  MetricType type = MetricType::untyped;
  std::string_view help;
  std::string_view unit;
  Labels labels;
  double value = 0;  // a histogram's: the count of observations (its +Inf bucket)
  std::optional<std::int64_t> timestamp_ms;
  // Histograms only: the buckets of finite upper bounds, in increasing
  // order, each with the count of observations <= its bound (cumulative;
  // the +Inf bucket is written from `value`), and the observations' sum.
  std::span<const HistogramBucket> buckets;
  double sum = 0;
};

// Appends `text` as a JSON string; bytes that are not valid UTF-8 become
// U+FFFD so the stream stays valid whatever a source hands us.
void append_json_string(std::string& out, std::string_view text);
// Appends {"k":"v",...} for any range of string pairs (labels, aliases).
template <typename Pairs>
void append_json_string_map(std::string& out, const Pairs& pairs) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : pairs) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, k);
    out += ':';
    append_json_string(out, v);
  }
  out += '}';
}
void append_sample_line(std::string& out, const SampleOut& sample);
void append_end_line(std::string& out, std::string_view producer,
                     std::optional<std::int64_t> timestamp_ms);

class SampleWriter {
 public:
  explicit SampleWriter(int fd) : fd_(fd) {}
  void write(const SampleOut& sample);
  // Writes sample lines rendered with append_sample_line.
  void write_lines(std::string_view lines);
  // Writes the end record and flushes. Throws std::system_error on a write
  // error (EPIPE included: the reader went away).
  void end_snapshot(std::string_view producer, std::optional<std::int64_t> timestamp_ms);
  void flush();

 private:
  int fd_;
  std::string buf_;
};

}  // namespace kv
