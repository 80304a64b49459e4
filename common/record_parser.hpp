// Parses one line of the sample stream (v1) into a sample or a snapshot end.
//
// The parser checks everything the contract says about a record (names,
// types, values, labels, timestamps) so that consumers can trust what it
// returns. Views in the returned records point into the line or into the
// parser's own buffer and stay valid until the next call to parse().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metric_model.hpp"

namespace kv {

// Why a line was rejected; the names are the `reason` label of the
// consumers' rejected-lines counters, so they are part of the interface.
#define KV_REJECT_REASONS(X) \
  X(invalid_json)            \
  X(invalid_utf8)            \
  X(not_an_object)           \
  X(not_a_record)            \
  X(invalid_name)            \
  X(invalid_type)            \
  X(invalid_value)           \
  X(invalid_histogram)       \
  X(invalid_labels)          \
  X(invalid_label_name)      \
  X(reserved_label_name)     \
  X(duplicate_label)         \
  X(invalid_help)            \
  X(invalid_unit)            \
  X(invalid_timestamp)       \
  X(invalid_end)             \
  X(line_too_long)           \
  X(type_conflict)

enum class RejectReason {
#define KV_ENUM_ITEM(name) name,
  KV_REJECT_REASONS(KV_ENUM_ITEM)
#undef KV_ENUM_ITEM
};
inline constexpr std::size_t kRejectReasonCount = 0
#define KV_COUNT_ITEM(name) +1
    KV_REJECT_REASONS(KV_COUNT_ITEM)
#undef KV_COUNT_ITEM
    ;
std::string_view to_string(RejectReason reason);

struct Reject {
  RejectReason reason;
  std::string message;  // says what is wrong and what was expected
};

using LabelPair = std::pair<std::string_view, std::string_view>;

struct SampleRecord {
  std::string_view name;
  MetricType type = MetricType::untyped;
  std::string_view help;
  std::string_view unit;
  std::vector<LabelPair> labels;  // sorted by name, names unique
  double value = 0;  // a histogram's: its count of observations
  std::optional<std::int64_t> timestamp_ms;
  // Histograms only: the buckets of finite upper bounds, in increasing
  // order, the +Inf bucket's count (`value`, exactly) and the sum.
  std::vector<HistogramBucket> buckets;
  std::uint64_t count = 0;
  double sum = 0;
};

struct EndRecord {
  std::string_view producer;
  std::optional<std::int64_t> timestamp_ms;
};

enum class RecordKind { sample, end, blank, rejected };

class RecordParser {
 public:
  RecordParser();
  ~RecordParser();
  RecordParser(const RecordParser&) = delete;
  RecordParser& operator=(const RecordParser&) = delete;

  // `capacity` readable bytes start at line.data(); it must be at least
  // line.size() + kLinePadding (LineReader guarantees this).
  RecordKind parse(std::string_view line, std::size_t capacity);
  // Convenience for tests and small inputs: copies into a padded buffer.
  RecordKind parse(std::string_view line);

  const SampleRecord& sample() const { return sample_; }
  const EndRecord& end() const { return end_; }
  const Reject& reject() const { return reject_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  SampleRecord sample_;
  EndRecord end_;
  Reject reject_;
  std::string padded_;  // for the convenience overload
  friend struct Impl;
};

// A short, printable rendition of a piece of input for error messages:
// quoted, control bytes escaped, cut after `max` bytes.
std::string quote_for_message(std::string_view text, std::size_t max = 64);

}  // namespace kv
