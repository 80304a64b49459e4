#include "metric_model.hpp"

namespace kv {

std::string_view to_string(MetricType type) {
  switch (type) {
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::histogram: return "histogram";
    case MetricType::untyped: break;
  }
  return "untyped";
}

std::optional<MetricType> parse_metric_type(std::string_view text) {
  if (text == "gauge") return MetricType::gauge;
  if (text == "counter") return MetricType::counter;
  if (text == "untyped") return MetricType::untyped;
  if (text == "histogram") return MetricType::histogram;
  return std::nullopt;
}

namespace {
constexpr bool is_alpha_(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool is_valid_metric_name(std::string_view name) {
  if (name.empty() || !(is_alpha_(name[0]) || name[0] == ':')) return false;
  for (char c : name.substr(1))
    if (!(is_alpha_(c) || is_digit(c) || c == ':')) return false;
  return true;
}

bool is_valid_label_name(std::string_view name) {
  if (name.empty() || !is_alpha_(name[0])) return false;
  for (char c : name.substr(1))
    if (!(is_alpha_(c) || is_digit(c))) return false;
  return true;
}

}  // namespace kv
