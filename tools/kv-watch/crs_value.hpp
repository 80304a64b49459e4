// Paths into objects and the value conversions of kube-state-metrics'
// Custom Resource State configs, so that an existing config gives the same
// series here as there: [k=v] list filters, "k=v" map filters, negative
// indexes, Go's %v for label values, and the gauge conversion (booleans,
// RFC 3339 times, Kubernetes quantities, integer percentages, floats).
#pragma once
#include <simdjson.h>

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

// A Kubernetes quantity ("250m", "5Gi", "1.5e3") as apimachinery's
// AsApproximateFloat64 gives it; nullopt when it is not one.
std::optional<double> parse_quantity(std::string_view s);

// Go's strconv.FormatFloat(v, 'g', -1, 64): "1e+06", "0.0001", "43.21".
std::string go_format_float(double v);

// Go's fmt "%v" of a JSON value: strings verbatim, integers in decimal,
// floats as go_format_float, maps as map[k:v ...] with sorted keys, lists as
// [a b], null as <nil>.
std::string go_format_value(simdjson::dom::element value);

// Label names from labelsFromPath keys: every character outside
// [a-zA-Z0-9_] becomes "_" (one per UTF-8 character).
std::string sanitize_label_name(std::string_view key);

}  // namespace kv::watch::crs
