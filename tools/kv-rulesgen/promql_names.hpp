// The metric names a PromQL expression reads, found by a lexer that knows
// where names cannot be: strings, label matchers, label lists of by/on,
// ranges and durations, function and aggregation names, keywords.
// It is no parser: promtool checks the syntax.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kv::rulesgen {

struct MetricReference {
  std::string name;
  std::size_t offset;  // in the expression, for error positions
};

struct MetricScan {
  std::vector<MetricReference> metrics;  // in order of appearance, repeats kept
  std::string error;                     // empty when the expression lexed
  std::size_t error_offset = 0;
};

MetricScan scan_metric_names(std::string_view expr);

}  // namespace kv::rulesgen
