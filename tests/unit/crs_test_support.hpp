// What the unit tests of kv-watch's config share: a config of one resource
// (Pods) around some metrics, the series of its first metric for an
// object as text, and the error a config gets.
#pragma once
#include <simdjson.h>

#include <string>
#include <vector>

#include "kv-watch/crs_config.hpp"
#include "kv-watch/crs_metrics.hpp"

namespace kv::watch::crs::support {

inline std::string pod_config_with(const std::string& metrics) {
  return "spec:\n"
         "  resources:\n"
         "  - groupVersionKind: {group: \"\", version: v1, kind: Pod}\n"
         "    metricNamePrefix: \"\"\n"
         "    customResourceLabels: false\n"
         "    labelsFromPath: {pod: [metadata, name]}\n"
         "    metrics:\n" +
         metrics;
}

// One series a line: labels as k=v in name order, then the value.
inline std::string text_of(const std::vector<Series>& series) {
  std::string text;
  for (const auto& s : series) {
    for (const auto& [k, v] : s.labels) text += k + "=" + v + " ";
    text += go_format_float(s.value) + "\n";
  }
  return text;
}

// The series of the first metric of pod_config_with(metrics) for `object`.
inline std::string series_of(const std::string& metrics, const std::string& object,
                             std::vector<std::string>* errors_out = nullptr) {
  auto config = parse_metrics_config(pod_config_with(metrics), "test.yaml");
  simdjson::dom::parser parser;
  auto doc = parser.parse(object).value();
  std::vector<Series> out;
  std::vector<std::string> errors;
  object_series(config.resources.at(0).metrics.at(0), doc, out, errors);
  if (errors_out) *errors_out = errors;
  return text_of(out);
}

// The ConfigError `config` gets, or "no error".
inline std::string config_error_of(const std::string& config) {
  try {
    parse_metrics_config(config, "test.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace kv::watch::crs::support
