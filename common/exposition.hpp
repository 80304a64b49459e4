// Renders snapshots as Prometheus text 0.0.4 or OpenMetrics 1.0.0.
//
// Several snapshots (one per input) are merged into one exposition: families
// with the same name are joined, series are ordered by label set, and when
// two inputs have the same series the later input wins. The output is sorted
// and byte-identical for identical input.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "snapshot.hpp"

namespace kv {

enum class ExpositionFormat { prometheus_text, openmetrics };

inline constexpr std::string_view kContentTypeText = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kContentTypeOpenMetrics =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

struct MergedFamily {
  std::string_view name;     // as in the samples, and in Prometheus text
  std::string_view om_name;  // OpenMetrics family name (counters lose _total)
  MetricType type;
  std::string_view om_type;  // counter, gauge, histogram or unknown
  std::string_view help;
  std::string_view unit;
  std::vector<std::span<const Series>> parts;  // one per snapshot that has it
};

struct MergedView {
  std::vector<MergedFamily> families;  // sorted by name
  std::vector<std::size_t> om_order;   // indexes of families sorted by om_name
  std::vector<std::string> conflicts;  // families dropped for a type clash, for the log
  // Families dropped because a histogram writes series of their name (a
  // histogram x writes x_bucket, x_sum and x_count), for the log.
  std::vector<std::string> clashes;
};

// The snapshots must outlive the view. Later snapshots win duplicate series
// (when rendered); a family whose type differs from the first input's is
// left out, and so is one whose name is a series name of a histogram.
MergedView merge_snapshots(std::span<const Snapshot* const> snapshots);

// Visits a merged family's series in label order; on equal label sets the
// part of the later input wins. Every output (text, OpenMetrics, OTLP)
// walks families this way, so all carry the same series. One part (the
// common case) is a plain loop.
template <typename Visit>
void for_each_merged_series(const MergedFamily& family, Visit&& visit) {
  if (family.parts.size() == 1) {
    for (const Series& s : family.parts[0]) visit(s);
    return;
  }
  std::vector<std::size_t> pos(family.parts.size(), 0);
  for (;;) {
    const Series* best = nullptr;
    for (std::size_t p = 0; p < family.parts.size(); ++p) {
      if (pos[p] == family.parts[p].size()) continue;
      const Series& s = family.parts[p][pos[p]];
      if (!best || !label_set_less(best->labels, s.labels)) best = &s;
    }
    if (!best) return;
    std::string_view labels = best->labels;
    for (std::size_t p = 0; p < family.parts.size(); ++p)
      if (pos[p] < family.parts[p].size() && family.parts[p][pos[p]].labels == labels) ++pos[p];
    visit(*best);
  }
}

struct RenderOptions {
  ExpositionFormat format = ExpositionFormat::prometheus_text;
  bool timestamps = false;
};

// Output buffer that hands full chunks to a sink (a file descriptor, say),
// or keeps everything when there is no sink.
class RenderBuffer {
 public:
  using Sink = std::function<void(std::string_view)>;
  explicit RenderBuffer(Sink sink = {}, std::size_t chunk = 1 << 18)
      : sink_(std::move(sink)), chunk_(chunk) {}
  std::string& data() { return buf_; }
  void maybe_flush() {
    if (sink_ && buf_.size() >= chunk_) flush();
  }
  void flush() {
    if (sink_ && !buf_.empty()) sink_(buf_);
    if (sink_) buf_.clear();
  }
  std::string take() { return std::move(buf_); }

 private:
  std::string buf_;
  Sink sink_;
  std::size_t chunk_;
};

void render(const MergedView& view, const RenderOptions& options, RenderBuffer& out);
std::string render_to_string(const MergedView& view, const RenderOptions& options);

// Shortest text that reads back as the same double; NaN, +Inf, -Inf.
void append_value(std::string& out, double value);
// HELP text escaping differs between the formats (OpenMetrics also escapes ").
void append_escaped_help(std::string& out, std::string_view help, ExpositionFormat format);

}  // namespace kv
