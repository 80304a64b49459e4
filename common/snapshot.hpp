// A snapshot: one complete collection of a producer, as sorted families of
// series, ready to be rendered in any exposition format.
//
// Series keep their label set pre-rendered ({a="x",b="y"}, escaped, names
// sorted) in an arena: label escaping is the same in Prometheus text and
// OpenMetrics, so each label set is escaped once, when it is read, and
// rendering is a copy. This also keeps a snapshot's memory close to the size
// of its exposition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "metric_model.hpp"
#include "record_parser.hpp"

namespace kv {

// Append-only storage for label sets and histograms; views into it stay
// valid while it lives.
class Arena {
 public:
  char* allocate(std::size_t size);  // unaligned: label sets
  // Storage for `n` objects of a trivially destructible type T.
  template <typename T>
  T* allocate_array(std::size_t n) {
    static_assert(std::is_trivially_destructible_v<T> && alignof(T) <= alignof(std::max_align_t));
    return reinterpret_cast<T*>(allocate_aligned(n * sizeof(T), alignof(T)));
  }
  std::size_t bytes_used() const { return used_; }

 private:
  // `align`: a power of two, at most alignof(std::max_align_t) (chunks
  // start aligned for any type).
  char* allocate_aligned(std::size_t size, std::size_t align);
  void new_chunk(std::size_t size);
  std::vector<std::unique_ptr<char[]>> chunks_;
  std::size_t chunk_left_ = 0;
  char* cursor_ = nullptr;
  std::size_t used_ = 0;
};

// A histogram series' data, in the snapshot's arena.
struct Histogram {
  double sum;
  std::uint64_t count;  // the observations: the +Inf bucket
  std::span<const HistogramBucket> buckets;  // finite bounds, increasing, cumulative counts
};

struct Series {
  std::string_view labels;  // rendered "{...}", or empty for no labels
  // The family's type says which: a histogram's data, or any other's value.
  // (A union keeps every series as small as before histograms.)
  union {
    double value;
    const Histogram* histogram;
  };
  std::int64_t timestamp_ms;
  bool has_timestamp;
};

struct Family {
  std::string name;
  MetricType type;
  std::string help;
  std::string unit;
  std::uint32_t begin;  // range in Snapshot::series, sorted by labels
  std::uint32_t end;
};

struct Snapshot {
  std::vector<Family> families;  // sorted by name
  std::vector<Series> series;
  Arena arena;
  std::string producer;      // from the end record, if any
  std::size_t duplicates = 0;  // series dropped because a later one had the same labels
  std::string first_duplicate;  // name{labels} of one of them, for the log
  std::size_t size() const { return series.size(); }
};

class SnapshotBuilder {
 public:
  // Adds a sample; rejects it when its type differs from its family's.
  std::optional<Reject> add(const SampleRecord& sample);
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Sorts, drops duplicate series (the last one wins) and resets the builder.
  std::shared_ptr<Snapshot> finish(std::string producer = {});

 private:
  struct PendingFamily {
    std::string name;
    MetricType type;
    std::string help;
    std::string unit;
    std::uint32_t count = 0;
  };
  struct Entry {
    std::uint32_t family;
    Series series;
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::uint32_t, NameHash, std::equal_to<>> family_index_;
  std::vector<PendingFamily> families_;
  std::vector<Entry> entries_;
  std::unique_ptr<Arena> arena_ = std::make_unique<Arena>();
};

// Escapes a label value for both exposition formats: \\, \" and \n.
void append_escaped_label_value(std::string& out, std::string_view value);
// Renders a sorted label set as {a="x",b="y"} (empty for no labels).
// Labels with an empty value are left out: to Prometheus they are absent.
std::string render_labels(const std::vector<LabelPair>& labels);

// Orders rendered label sets as the label sets themselves: by the first
// label name, then its value, and so on; a set that is a prefix of another
// comes first: {a="x"} < {a="x",b="y"} < {a="x y"} < {aa="x"}.
bool label_set_less(std::string_view a, std::string_view b);

}  // namespace kv
