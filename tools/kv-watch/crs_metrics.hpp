// The series one object yields for one metric of a Custom Resource State
// config, as kube-state-metrics computes them (Gauge, StateSet, Info).
#pragma once
#include <compare>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kv-watch/crs_config.hpp"

namespace kv::watch::crs {

// A series' labels, sorted by name in one vector: a snapshot makes hundreds
// of thousands of series, and a std::map would cost an allocation per label.
class LabelSet {
 public:
  using value_type = std::pair<std::string, std::string>;
  using const_iterator = std::vector<value_type>::const_iterator;

  LabelSet() = default;
  LabelSet(std::initializer_list<value_type> items);
  explicit LabelSet(const std::map<std::string, std::string>& sorted);

  // Sets `name`, replacing its value.
  void set(std::string_view name, std::string value);
  // Sets `name` unless it has a value already.
  void add(std::string_view name, std::string_view value);
  // add() for each of `other`'s labels, in one merge of the two sorted
  // lists rather than a search and an insertion per label.
  void add_all(const LabelSet& other);
  const std::string* find(std::string_view name) const;
  void erase(std::string_view name);
  // Empties `name`'s value, when it has one; erase_emptied() then removes
  // the labels so emptied in one pass, where an erase each would move the
  // labels after them every time.
  void empty_value(std::string_view name);
  void erase_emptied(std::span<const std::string_view> names);
  // Erases every label named in `names`, in one pass.
  void erase_named(std::span<const std::string> names);

  void reserve(std::size_t n) { items_.reserve(n); }
  void clear() { items_.clear(); }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  friend bool operator==(const LabelSet&, const LabelSet&) = default;
  friend auto operator<=>(const LabelSet& a, const LabelSet& b) { return a.items_ <=> b.items_; }

 private:
  std::vector<value_type>::iterator lower_bound(std::string_view name);
  std::vector<value_type> items_;
};

struct Series {
  LabelSet labels;
  double value = 0;
};

class ObjectLookup;  // object_lookup.hpp

// Appends the object's series to `out`. Values that do not convert are
// left out; each such case appends a message to `errors` (the caller
// counts and logs them). `lookups` finds the other objects of the metric's
// lookups (without it, they are all absent).
void object_series(const MetricSpec& metric, simdjson::dom::element object, std::vector<Series>& out,
                   std::vector<std::string>& errors, const ObjectLookup* lookups = nullptr);

// Whether the object meets the metric's `when` conditions, or these.
bool meets_conditions(const MetricSpec& metric, simdjson::dom::element object);
bool meets_conditions(const std::vector<Condition>& when, simdjson::dom::element object);

// labelsFromPath read from `from` into `labels` (replacing values), as for
// a metric's own.
void add_labels_from_paths(const LabelPaths& paths, simdjson::dom::element from, LabelSet& labels);

// The labels of one observation of a Transition metric: `value` under
// labelName and `previous` under previousLabelName (each left out when
// empty, as Prometheus drops empty labels), over the metric's labels read
// from `object` and its commonLabels; then labelValues.
LabelSet transition_labels(const MetricSpec& metric, simdjson::dom::element object, std::string_view value,
                           std::string_view previous);

// Replaces `series` (all objects' series of one metric) by the groups of
// an aggregate.
void aggregate_series(const Aggregation& a, std::vector<Series>& series);

}  // namespace kv::watch::crs
