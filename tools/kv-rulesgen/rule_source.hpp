// The rule sources as data: rules/*.rules.yaml (recording rules and alerts,
// one file per area), rules/kubevirt-releases.yaml (the KubeVirt releases
// and the metrics each one added) and rules/external-metrics.yaml (series
// the rules read from other exporters). Loading checks the shape of each
// file; what the rules mean is checked by rule_set.hpp.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kv-rulesgen/kubevirt_version.hpp"

namespace kv::rulesgen {

// Where something is in a source file: the path as given, 1-based line and
// column.
struct SourcePosition {
  std::string file;
  int line = 0;
  int column = 0;
};

enum class RuleKind { record, alert };

struct RuleSource {
  RuleKind kind = RuleKind::record;
  std::string name;
  std::string expr;
  std::string for_duration;  // alerts only; empty when the alert has no `for`
  std::map<std::string, std::string> labels;       // with the file's alert_labels
  std::map<std::string, std::string> annotations;  // runbook_url is generated
  std::optional<KubevirtVersion> since, until;     // as declared
  bool deprecated = false;

  SourcePosition position;  // the rule's first key
  SourcePosition expr_position;  // where the expression's text starts
  bool expr_literal_block = false;  // written as `|`: its lines are the source's
  bool expr_on_one_line = false;    // all of it on expr_position's line
  SourcePosition for_position;
  std::map<std::string, SourcePosition> label_positions;
  std::optional<SourcePosition> since_position, until_position;
};

struct Release {
  KubevirtVersion version;
  std::vector<std::string> metrics;  // the KubeVirt metrics it added
  SourcePosition position;
  std::map<std::string, SourcePosition> metric_positions;
};

struct ExternalMetric {
  std::string exporter;  // kube-state-metrics, cadvisor, ...
  SourcePosition position;
};

// A problem in the sources, reported as "file:line:col: rule: message".
struct Diagnostic {
  SourcePosition position;
  std::string rule;  // "alert X" or "record y"; empty when not about a rule
  std::string message;
};
std::string format(const Diagnostic& d);

struct RuleSources {
  std::vector<Release> releases;  // as listed (oldest first when valid)
  std::map<std::string, ExternalMetric> external;
  std::vector<RuleSource> rules;  // files in name order, rules in file order
};

inline constexpr const char* kReleasesFile = "kubevirt-releases.yaml";
inline constexpr const char* kExternalMetricsFile = "external-metrics.yaml";
inline constexpr const char* kRuleFileSuffix = ".rules.yaml";

// Reads a rules directory. Positions name files as `dir / file`. Problems
// are appended to `problems`; what could be read is returned either way.
RuleSources load_rule_sources(const std::filesystem::path& dir, std::vector<Diagnostic>& problems);

// One rule file's text, for tests and tools that hold it in memory.
void load_rule_file(const std::string& file, const std::string& text, RuleSources& into,
                    std::vector<Diagnostic>& problems);
void load_releases(const std::string& file, const std::string& text, RuleSources& into,
                   std::vector<Diagnostic>& problems);
void load_external_metrics(const std::string& file, const std::string& text, RuleSources& into,
                           std::vector<Diagnostic>& problems);

std::string describe(const RuleSource& rule);  // "alert X", "record y"

// Where the character at `offset` of a rule's expression is in its file;
// the expression's start when that cannot be told (folded scalars).
SourcePosition position_in_expr(const RuleSource& rule, std::size_t offset);

}  // namespace kv::rulesgen
