// One published merge as OTLP data points, and the state that OTLP needs
// carried from one snapshot to the next (the metrics data model,
// "Resets and Gaps"):
//
// - a counter is a cumulative Sum whose start time stays the same from one
//   point to the next. A series seen for the first time starts at its own
//   time (a zero-length point: "unknown start", so its value adds no rate).
//   When its value goes down, the counter was reset some time after the
//   previous point: the new run starts at the previous point's time. A
//   histogram is cumulative too, and the same goes for its count.
// - a series that was in the previous merge and is not in this one gets one
//   last point, flagged "no recorded value" (OTLP's staleness marker), and
//   is then forgotten.
//
// Data points keep pointing into the snapshots (names, help, label sets),
// which the batch holds, so building a batch copies no strings.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "exposition.hpp"
#include "snapshot.hpp"

namespace kv::promfmt {

struct OtlpFamily {
  std::string_view name;
  std::string_view help;
  std::string_view unit;
  MetricType type;
};

struct OtlpPoint {
  std::uint32_t family;     // index in OtlpBatch::families()
  std::string_view labels;  // rendered label set, {a="x",...}, or empty
  union {                   // by the family's type, as in Series
    double value;
    const Histogram* histogram;  // null on a stale point
  };
  std::int64_t time_ms;
  std::int64_t start_ms;    // counters and histograms: the start of the cumulative run
  bool stale;               // no recorded value: the series is gone
};

class OtlpBatch {
 public:
  // Families by name; points by family, then by label set.
  const std::vector<OtlpFamily>& families() const { return families_; }
  const std::vector<OtlpPoint>& points() const { return points_; }
  std::size_t stale_points() const { return stale_; }

 private:
  friend class OtlpSeriesTracker;
  std::vector<std::shared_ptr<const Snapshot>> snapshots_;  // what this batch's points point into
  std::vector<std::shared_ptr<const Snapshot>> previous_;   // what its stale points point into
  std::vector<OtlpFamily> families_;
  std::vector<OtlpPoint> points_;
  std::size_t stale_ = 0;
};

// Turns each merge into a batch, in publishing order.
class OtlpSeriesTracker {
 public:
  // `view` is the merge of `snapshots`; samples without a timestamp get
  // `now_ms`, and staleness markers the latest time of the merge.
  std::shared_ptr<const OtlpBatch> next(const MergedView& view,
                                        std::vector<std::shared_ptr<const Snapshot>> snapshots,
                                        std::int64_t now_ms);

 private:
  std::shared_ptr<const OtlpBatch> previous_;
};

// Walks a rendered label set {a="x",b="y"}: each name, and its value still
// escaped as Prometheus escapes it (\\, \" and \n).
class LabelSetCursor {
 public:
  explicit LabelSetCursor(std::string_view rendered);
  bool next(std::string_view& name, std::string_view& escaped_value);

 private:
  std::string_view rest_;
};

// The length of an escaped label value once unescaped, and the unescaping.
std::size_t unescaped_size(std::string_view escaped);
char* write_unescaped(char* out, std::string_view escaped);

}  // namespace kv::promfmt
