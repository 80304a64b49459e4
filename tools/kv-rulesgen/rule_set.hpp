// The checked rule set: every rule of the sources, each with the KubeVirt
// releases that get it. A release gets a rule when the rule's declared
// range (since/until) holds it and every metric the rule reads is there:
// a KubeVirt metric from the release that added it, an external series or
// one of the toolkit's own metrics always, a recording rule when the
// release gets a rule that records it.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kv-rulesgen/rule_source.hpp"

namespace kv::rulesgen {

class RuleSet {
 public:
  // Checks the sources and works out the releases of every rule. Problems
  // are appended to `problems`; the set is meant to be used only when
  // there are none.
  static RuleSet check(RuleSources sources, std::vector<Diagnostic>& problems);

  const std::vector<Release>& releases() const { return releases_; }
  const std::vector<RuleSource>& rules() const { return rules_; }
  std::optional<std::size_t> release_index(KubevirtVersion v) const;
  bool included(std::size_t rule, std::size_t release) const { return included_[rule][release]; }
  // Why a release does not get a rule, e.g. "needs kubevirt_vm_info (v1.4)".
  std::string left_out_because(std::size_t rule, std::size_t release) const;
  // The releases that get a rule, as ranges: "v1.0+", "v1.1-v1.6", "v1.7".
  std::string releases_of(std::size_t rule) const;

 private:
  // Whether a metric that no rule records is there in a release.
  bool source_metric_there(const std::string& metric, std::size_t release) const;

  std::vector<Release> releases_;
  std::vector<RuleSource> rules_;
  std::vector<std::vector<std::string>> reads_;  // per rule: the metric names, sorted, unique
  std::vector<std::vector<bool>> included_;      // [rule][release]
  std::map<std::string, std::size_t> kubevirt_since_;  // metric -> release index
  std::map<std::string, std::vector<std::size_t>> producers_;  // record name -> rules
  friend class Availability;
};

// Prometheus durations as the PrometheusRule CRD accepts them: 0, or units
// from y down to ms, each at most once and in that order (1h30m, 10m, 24h).
bool is_prometheus_duration(std::string_view s);

}  // namespace kv::rulesgen
