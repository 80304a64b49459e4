// Paths into objects and the value conversions of kube-state-metrics'
// Custom Resource State configs, so that an existing config gives the same
// series here as there: [k=v] list filters, "k=v" map filters, negative
// indexes, Go's %v for label values, and the gauge conversion (booleans,
// RFC 3339 times, Kubernetes quantities, integer percentages, floats).
#pragma once
#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kv::watch::crs {

// One segment of a path, compiled.
struct PathStep {
  enum class Kind { key, list_filter };
  Kind kind = Kind::key;
  std::string text;          // the segment as written (a key, or "k=v" for a map filter)
  std::string filter_key;    // list_filter: [filter_key=filter_value]
  std::string filter_value;
  // filter_value as a number (the gauge conversion) and as a Go bool, once
  // at compile time rather than for every element compared.
  std::optional<double> filter_number;
  std::optional<bool> filter_bool;
  // key: where "k=v" splits (one '=' only), else npos; found once, not per object.
  std::size_t map_filter_eq = std::string::npos;
};

class ValuePath {
 public:
  ValuePath() = default;
  // Throws std::invalid_argument for "[...]" without "=".
  static ValuePath compile(const std::vector<std::string>& segments);
  bool empty() const { return steps_.empty(); }
  const std::vector<PathStep>& steps() const { return steps_; }
  // The value at the path, or nullopt where KSM's Get returns nil (a JSON
  // null counts as nil).
  std::optional<simdjson::dom::element> get(simdjson::dom::element from) const;
  // "[status,conditions]" for messages.
  std::string describe() const;

 private:
  std::vector<PathStep> steps_;
};

bool is_null(simdjson::dom::element e);

// The gauge conversion. nullopt when the value does not convert; `error`
// then says why (as a log line would).
std::optional<double> to_float64(simdjson::dom::element value, std::string* error = nullptr);
std::optional<double> string_to_float64(std::string_view s);

// A Kubernetes time (metav1.Time: RFC 3339, as Go's time.Parse reads it):
// seconds since the epoch and nanoseconds; nullopt when it is not one.
struct KubeTime {
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;
};
std::optional<KubeTime> parse_kube_time(std::string_view s);
// to - from in seconds, as Go's to.Sub(from).Seconds() (nanoseconds,
// saturated at about 292 years).
double seconds_between(KubeTime from, KubeTime to);

// A Kubernetes quantity ("250m", "5Gi", "1.5e3") as apimachinery's
// AsApproximateFloat64 gives it; nullopt when it is not one.
std::optional<double> parse_quantity(std::string_view s);

// ceil(q × 10^decimals) of a quantity, exactly, as apimachinery's
// Quantity.ScaledValue(-decimals) gives it: decimals 0 is Value(), 3 is
// MilliValue(). nullopt when it is not a quantity or the result does not
// fit an int64.
std::optional<std::int64_t> quantity_scaled_ceil(std::string_view s, int decimals);

// A resource quantity as kube-state-metrics' built-in families convert it:
// whole (float64(q.Value())) or in thousandths (its convertValueToFloat64:
// float64(q.MilliValue())/1000, or q.Value() beyond MaxMilliValue).
// Falls back to parse_quantity beyond an int64; nullopt when not a quantity.
std::optional<double> resource_quantity(std::string_view s, bool whole);

// kube-state-metrics' unit of a resource name in a container's requests
// and limits (container) or a node's capacity and allocatable (node):
// "core", "byte" or "integer", with whether the value is whole (else in
// thousandths); nullopt for the names kube-state-metrics leaves out.
struct ResourceClass {
  const char* unit;
  bool whole;
};
std::optional<ResourceClass> kube_resource_class(std::string_view name, bool node);

// Go's strconv.FormatFloat(v, 'g', -1, 64): "1e+06", "0.0001", "43.21".
std::string go_format_float(double v);

// Go's fmt "%v" of a JSON value: strings verbatim, integers in decimal,
// floats as go_format_float, maps as map[k:v ...] with sorted keys, lists as
// [a b], null as <nil>.
std::string go_format_value(simdjson::dom::element value);

// Label names from labelsFromPath keys: every character outside
// [a-zA-Z0-9_] becomes "_" (one per UTF-8 character), a leading digit gets
// a "_" before it, and a leading "__" (Prometheus' own) becomes "_".
std::string sanitize_label_name(std::string_view key);

// The label names kube-state-metrics gives a map's keys in its *_labels and
// *_annotations families: <prefix>_<key sanitised, then snake_case and lower
// case>; keys (in sorted order) that end up with one name get _conflict1,
// _conflict2, ... instead. `keys` must be sorted; returns one name per key.
std::vector<std::string> kube_map_label_names(std::string_view prefix, const std::vector<std::string_view>& keys);

}  // namespace kv::watch::crs
