// kube-state-metrics' CustomResourceStateMetrics configuration, parsed and
// compiled: which objects to read and which series to make of them.
#pragma once
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kv-watch/crs_value.hpp"

namespace kv::watch::crs {

// A config that cannot be used; the message names the file, the line and
// the entry.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// labelsFromPath: label name → path; plain names are sanitised when the
// config is loaded, "*" names keep their configured form.
using LabelPaths = std::vector<std::pair<std::string, ValuePath>>;

// transition is kv-watch's extension: a histogram of the durations between
// an object's changes of one value (kv-watch-config(5)).
enum class EachType { gauge, state_set, info, transition };

// resourceUnits (an extension): a map of Kubernetes resource names to
// quantities, read as kube-state-metrics reads a container's requests and
// limits (container) or a node's capacity and allocatable (node).
enum class ResourceUnits { none, container, node };

// Transition (an extension): when the value at EachSpec::path changes
// between two versions of an object (the informer's update), the seconds
// from a reference time to the time the object entered its new value are
// observed into a histogram.
struct TransitionSpec {
  // Where the time of entering a value is read: the first element of the
  // list at `list` whose `key` equals the value (as a label shows it), its
  // `time` (RFC 3339).
  ValuePath list, key, time;
  // The reference: the previous value's entry in the same list, or a
  // timestamp at `from` ...
  bool from_previous = false;
  ValuePath from;
  // ... or, when the previous value is unset (absent or ""), the one at
  // `from_unset` if given (else a change from unset is not observed).
  ValuePath from_unset;
  std::string previous_label;  // the label of the previous value; optional
  std::vector<double> buckets;  // finite upper bounds, increasing
};

struct EachSpec {
  EachType type = EachType::gauge;
  ValuePath path;
  LabelPaths labels;
  ValuePath value_from;
  std::string label_from_key;
  bool nil_is_zero = false;
  std::string label_name;         // StateSet; Transition: the label of the new value
  std::vector<std::string> list;  // StateSet
  TransitionSpec transition;      // Transition
  // Extensions, for a map with labelFromKey: only keys with this prefix,
  // which the label then goes without (Gauge, Info) ...
  std::string key_prefix;
  // ... and kube-state-metrics' units and quantity conversion (Gauge).
  ResourceUnits resource_units = ResourceUnits::none;
};

// kv-watch's extensions (kv-watch-config(5)), which kube-state-metrics
// would ignore.

// when: the object counts only if the value at `path` (as a label would
// show it) is in / not in the list, or exists / is absent.
struct Condition {
  enum class Op { in, not_in, exists, absent };
  ValuePath path;
  Op op = Op::in;
  std::vector<std::string> values;
  bool ignore_case = false;  // ignoreCase: in/notIn compare as strings.EqualFold (ASCII)
};

// labelValues: a label's value rewritten, in order: from another label,
// lower-cased, mapped (with a default), or chosen by presence.
struct LabelRule {
  std::string label;
  std::string from;  // the label to read; default `label`
  bool lowercase = false;
  bool sanitize = false;  // as a label name: [^a-zA-Z0-9_] -> _
  std::map<std::string, std::string, std::less<>> map;
  std::optional<std::string> default_value;
  std::optional<std::string> if_present, if_absent;
};

// aggregate: the series of all objects grouped by `by` (the other labels
// dropped) and counted or summed; with no `by`, a 0 when there is nothing.
struct Aggregation {
  enum class Op { count, sum, max, min };
  Op op = Op::count;
  std::vector<std::string> by;
};

// forEach.join: each element of the forEach list paired with the first
// element of the list at `path` (from the object) whose `key` equals the
// element's `on` (as labels show them); `when` is then tested on that
// element, and `labels` are read from it. No match, no series.
struct ListJoin {
  ValuePath path, key, on;
  std::vector<Condition> when;
  LabelPaths labels;
  bool optional = false;  // an element without a partner still makes its series
};

// forEach: `each` applied to every element of the list at `path` as if
// that element were the object; `labels` are read from the element, and
// elements that do not meet `when` are skipped.
struct ForEach {
  ValuePath path;
  LabelPaths labels;
  std::vector<Condition> when;
  std::optional<ListJoin> join;
};

// reduce: the series one object yields, combined into one per distinct set
// of the `by` labels (the others dropped) before the metric's own labels
// are added; an object with none gives `empty` (without `by`).
struct Reduction {
  enum class Op { count, sum, max, min };
  Op op = Op::max;
  std::vector<std::string> by;
  std::optional<double> empty;  // `default`; count and sum: 0
};

// sampleType: how the series are typed in the sample stream.
enum class SampleType { gauge, counter };

// labelsFromMap: every key of the map at `paths` (several: merged, a later
// map's key winning) as a label named <prefix>_<key>, the way
// kube-state-metrics names the labels of its *_labels families (sanitised,
// snake_case, lower case, _conflictN) or, with `sanitize`, as KubeVirt names
// those of kubevirt_vm_labels (map_labels.hpp).
struct MapLabels {
  enum class Naming { kube_state, sanitize };
  std::vector<ValuePath> paths;
  std::string prefix;
  Naming naming = Naming::kube_state;
  // Labels of the series holding comma-separated lists of the keys to keep
  // and to leave out (allowFromLabel, ignoreFromLabel); read, then dropped.
  std::string allow_from_label, ignore_from_label;
  bool required = false;  // a series that keeps no key is left out
  // kube-state-metrics' *_labels: made once per object, not per series.
  bool plain() const {
    return paths.size() == 1 && naming == Naming::kube_state && allow_from_label.empty() &&
           ignore_from_label.empty() && !required;
  }
};

// One term of a Kubernetes field selector: field=value (==) or field!=value;
// an absent field is "", as the API server has it.
struct FieldTerm {
  ValuePath path;  // the dotted field, split
  std::string value;
  bool equal = true;
};

// lookup: another cached object a metric reads (a join), found by key in
// an index of its resource, or the one object of a resource that meets
// `when` (a singleton such as the KubeVirt CR); object_lookup.hpp.
struct LookupSpec {
  std::string group, version, kind;  // the other resource
  std::string plural;                // resourcePlural, may be empty
  ValuePath namespace_path;          // from the object; default [metadata, namespace]
  std::vector<ValuePath> name;       // alternatives, the first found wins; empty: a singleton
  // if: the object (or forEach element) must meet these for the lookup to
  // be made, so that a field of it can choose between lookups.
  std::vector<Condition> only_if;
  std::vector<Condition> when;       // the other object counts only if it meets these
  // fieldSelector: sent to the server when the resource is watched for
  // lookups alone, and always tested on the cached objects.
  std::string field_selector;
  std::vector<FieldTerm> selector;
  LabelPaths labels;                 // read from the other object
  bool optional = false;             // absent: the series without these labels, or (default) none
  std::string where;                 // "FILE:LINE: metric NAME lookup", for messages
};

// variants: each series a metric makes becomes one series per variant,
// with the variant's commonLabels set (replacing), its labelValues applied
// and its value from its valueFromLabel, so that work shared by several
// series of an object (lookups, long runs of rules) is done once.
struct Variant {
  std::map<std::string, std::string> common_labels;
  std::vector<LabelRule> label_rules;
  std::string value_from_label;
  std::vector<std::string> value_factors;
};

struct MetricSpec {
  std::string name;  // with the prefix
  std::string help;
  std::map<std::string, std::string> common_labels;  // resource, reserved, metric: merged
  LabelPaths labels;                                 // resource and metric labelsFromPath, merged
  EachSpec each;
  std::optional<ForEach> for_each;
  std::optional<MapLabels> map_labels;
  std::vector<Condition> when;
  std::vector<LabelRule> label_rules;
  std::optional<Aggregation> aggregate;
  std::vector<LookupSpec> lookups;
  std::string value_from_label;  // valueFromLabel: the value is this label's, which is then dropped
  // valueFromLabel as a list: the product of these labels' values, those
  // absent or 0 left out (all of them dropped).
  std::vector<std::string> value_factors;
  std::vector<Variant> variants;
  std::vector<std::string> drop_labels;  // dropLabels: left out of every series, last
  std::optional<Reduction> reduce;
  // otherwise: an object that does not meet `when` still makes its series,
  // with this value.
  std::optional<double> otherwise;
  SampleType sample_type = SampleType::gauge;
  std::string where;  // "FILE:LINE: metric NAME", for messages
};

struct ResourceSpec {
  std::string group, version, kind;
  std::string plural;  // resourcePlural, may be empty
  bool custom_resource_labels = true;  // customresource_group/version/kind
  std::vector<MetricSpec> metrics;
  std::string where;
  // Paths other resources' lookups read in these objects, kept by the cache.
  std::vector<ValuePath> looked_up_paths;
  bool lookup_only = false;  // named only by lookups: watched, no metrics of its own
  // Lookup only, and every lookup of it has this fieldSelector: the
  // informer sends it, so that the cache holds only those objects.
  std::string field_selector;
};

struct MetricsConfig {
  std::vector<ResourceSpec> resources;
  std::vector<std::string> warnings;  // unknown keys, ignored as kube-state-metrics ignores them
};

// Throws ConfigError.
MetricsConfig parse_metrics_config(const std::string& text, const std::string& path);

// The dotted field paths a resource's metrics read, for the cache's
// FieldSelection: each path up to its first filter or index, kept whole.
std::vector<std::string> fields_read(const ResourceSpec& resource);

}  // namespace kv::watch::crs
