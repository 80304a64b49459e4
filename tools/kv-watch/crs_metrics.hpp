// The series one object yields for one metric of a Custom Resource State
// config, as kube-state-metrics computes them (Gauge, StateSet, Info).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "kv-watch/crs_config.hpp"

namespace kv::watch::crs {

struct Series {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Appends the object's series to `out`. Values that do not convert are
// left out; each such case appends a message to `errors` (the caller
// counts and logs them).
void object_series(const MetricSpec& metric, simdjson::dom::element object, std::vector<Series>& out,
                   std::vector<std::string>& errors);

// Replaces `series` (all objects' series of one metric) by the groups of
// an aggregate.
void aggregate_series(const Aggregation& a, std::vector<Series>& series);

}  // namespace kv::watch::crs
