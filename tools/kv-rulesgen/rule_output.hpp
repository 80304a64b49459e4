// What kv-rulesgen writes: the rules one KubeVirt release gets, for one
// install namespace, as a PrometheusRule manifest (monitoring.coreos.com/v1)
// or as a plain Prometheus/vmalert rule file; and the --list table.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kv-rulesgen/rule_set.hpp"

namespace kv::rulesgen {

enum class OutputFormat { prometheusrule, rulefile };
enum class Selection { all, alerts, records };

inline constexpr const char* kDefaultNamespace = "kubevirt";
inline constexpr const char* kDefaultRuleName = "prometheus-kubevirt-rules";
// virt-operator's default (its RUNBOOK_URL_TEMPLATE): %s is the alert's name.
inline constexpr const char* kDefaultRunbookUrlTemplate = "https://kubevirt.io/monitoring/runbooks/%s";
inline constexpr const char* kRecordingGroup = "recordingRules.rules";
inline constexpr const char* kAlertGroup = "alerts.rules";

// The PrometheusRule's labels that virt-operator sets, which Prometheus
// Operator rule selectors commonly pick.
std::map<std::string, std::string> default_object_labels();

struct OutputOptions {
  OutputFormat format = OutputFormat::prometheusrule;
  std::string install_namespace = kDefaultNamespace;
  std::string object_name = kDefaultRuleName;
  std::map<std::string, std::string> object_labels = default_object_labels();
  std::string runbook_url_template = kDefaultRunbookUrlTemplate;
  Selection selection = Selection::all;
  bool deprecated = true;  // include deprecated recording rules
};

// A rule as it is written: placeholders filled in, runbook URL added.
struct OutputRule {
  std::size_t source;  // index in RuleSet::rules()
  RuleKind kind;
  std::string name, expr, for_duration;
  std::map<std::string, std::string> labels, annotations;
};

// Empty when the template has exactly one %s (as virt-operator demands),
// else why not.
std::string check_runbook_url_template(std::string_view tmpl);
std::string runbook_url(std::string_view tmpl, std::string_view alert);

// The rules `release` gets (every rule when nullopt), selected, filled in
// and sorted as virt-operator sorts them: each kind by the bytes of
// "name:expr".
std::vector<OutputRule> output_rules(const RuleSet& set, std::optional<std::size_t> release,
                                     const OutputOptions& options);

std::string render(const RuleSet& set, std::size_t release, const OutputOptions& options);

// One line per rule, tab-separated: kind, name, the releases that get it,
// "deprecated" or "-", and file:line in the rules directory.
std::string render_list(const RuleSet& set, std::optional<std::size_t> release,
                        const OutputOptions& options);

}  // namespace kv::rulesgen
