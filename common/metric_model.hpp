// The sample model of the stream contract (v1): metric types and the
// name rules every producer and consumer checks the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace kv {

enum class MetricType : std::uint8_t { untyped, counter, gauge };

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

}  // namespace kv
