// kv-rulesgen's pure parts: versions, durations, the YAML writer, the
// PromQL name scanner, the checks and release ranges of a rule set, and
// what it renders.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "kv-rulesgen/kubernetes_names.hpp"
#include "kv-rulesgen/kubevirt_version.hpp"
#include "kv-rulesgen/promql_names.hpp"
#include "kv-rulesgen/rule_output.hpp"
#include "kv-rulesgen/rule_set.hpp"
#include "kv-rulesgen/yaml_writer.hpp"

namespace kv::rulesgen {
namespace {

TEST(KubevirtVersion, ReleasesAreVMajorMinor) {
  EXPECT_EQ(parse_release("v1.9"), (KubevirtVersion{1, 9}));
  EXPECT_EQ(parse_release("v1.10"), (KubevirtVersion{1, 10}));
  for (const char* bad : {"1.9", "v1.9.0", "v1", "v1.", "v01.9", "v1.9x", "", "V1.9"})
    EXPECT_FALSE(parse_release(bad)) << bad;
  EXPECT_LT((KubevirtVersion{1, 9}), (KubevirtVersion{1, 10}));
  EXPECT_EQ(to_string(KubevirtVersion{1, 10}), "v1.10");
}

TEST(KubevirtVersion, UsersMayGivePatchesAndPreReleases) {
  for (const char* ok : {"v1.6", "1.6", "v1.6.2", "1.6.0-rc.1", "v1.6.3+build.5"})
    EXPECT_EQ(parse_user_version(ok), (KubevirtVersion{1, 6})) << ok;
  for (const char* bad : {"", "v", "1", "1.6.", "1.6.x", "1.6.2-", "1.6.2 ", "one.six", "1.6.2-rc/1"})
    EXPECT_FALSE(parse_user_version(bad)) << bad;
}

TEST(Duration, PrometheusRuleDurations) {
  for (const char* ok : {"0", "10m", "60m", "24h", "1h30m", "1d12h", "500ms", "1m30s500ms", "2w", "1y"})
    EXPECT_TRUE(is_prometheus_duration(ok)) << ok;
  for (const char* bad : {"", "10", "m", "10 m", "10 minutes", "5m1h", "1h1h", "1.5h", "-5m", "5M", "0s0"})
    EXPECT_FALSE(is_prometheus_duration(bad)) << bad;
}

TEST(YamlWriter, PlainOnlyWhereTheMeaningCannotChange) {
  for (const char* plain : {"kubevirt", "10m", "cluster:kubevirt_virt_api_up:sum", "VirtAPIDown",
                            "https://kubevirt.io/monitoring/runbooks/X", "monitoring.coreos.com/v1",
                            "Not one pod has run for 10 minutes."})
    EXPECT_TRUE(plain_scalar_ok(plain)) << plain;
  for (const char* quoted : {"true", "False", "yes", "no", "on", "null", "~", "", "10", "0.75", "1e3",
                             "-x", "{{ $value }} requests", "a: b", "a #b", "x:", " lead", "trail ",
                             "*alias", "&anchor", "!tag", "%x", "@x", "`x", "'x'", "\"x\"", "2026-11-23",
                             ".inf", "line\nbreak", "tab\there"})
    EXPECT_FALSE(plain_scalar_ok(quoted)) << quoted;
}

TEST(YamlWriter, EveryValueReadsBackAsWritten) {
  const std::vector<std::string> values = {
      "kubevirt", "true", "10", "0.75", "{{ $labels.node }} is down", "a: b # c", "say \"hi\"\\now",
      "sum(rate(x{code=~\"[45][0-9][0-9]\"}[5m]))\n/ sum(rate(x[5m]))\n>= 0.8",
      "  leading spaces\nsecond", "trailing spaces  \nsecond", "ends in a newline\n", "tab\tand\x01control",
      "fuse\\\\..*", "ünïcödé: ≥ 95%", "- dash", "? question", "[not] {a flow}", "|pipe", ">fold", "",
      "first\n\n  indented after an empty line\nlast"};
  YamlWriter w;
  for (std::size_t i = 0; i < values.size(); ++i) w.key_value(0, "k" + std::to_string(i), values[i]);
  YAML::Node doc = YAML::Load(w.str());
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(doc["k" + std::to_string(i)].as<std::string>(), values[i]) << w.str();
}

std::vector<std::string> names(std::string_view expr) {
  MetricScan scan = scan_metric_names(expr);
  EXPECT_EQ(scan.error, "") << expr;
  std::vector<std::string> out;
  for (const auto& m : scan.metrics) out.push_back(m.name);
  return out;
}

TEST(PromqlNames, FindsMetricsAndNothingElse) {
  using V = std::vector<std::string>;
  EXPECT_EQ(names("up"), V{"up"});
  EXPECT_EQ(names("sum by (node, pod) (rate(a_total{job=\"x\", le=~\"1|2\"}[5m] offset -1h)) / on (node) "
                  "group_left (pod) b:rec:sum > bool 0.75"),
            (V{"a_total", "b:rec:sum"}));
  EXPECT_EQ(names("topk by (a) (1, max_over_time(m[1d:5m] @ start())) or vector(0) unless Inf"), V{"m"});
  EXPECT_EQ(names("label_replace(x, \"vm\", \"$1\", \"name\", \"(.+)\") and ignoring (a) y # a comment z"),
            (V{"x", "y"}));
  EXPECT_EQ(names("sum without (instance) (x) by (y)"), V{"x"});
  EXPECT_EQ(names("count_values(\"v\", x) * on () group_right y"), (V{"x", "y"}));
  EXPECT_EQ(names("x{a='}'} + `raw {string}` - 1e-3 - 0x1F - NaN"), V{"x"});
}

TEST(PromqlNames, ReportsWhatItCannotRead) {
  struct Case { const char* expr; const char* error; std::size_t offset; };
  for (const Case& c : std::vector<Case>{{"sum(x", "unclosed '('", 3},
                                         {"x)", "unexpected ')'", 1},
                                         {"x{a=\"b}", "unterminated string", 4},
                                         {"x[5m", "unclosed '['", 1},
                                         {"x offset", "offset without a duration", 2},
                                         {"{__name__=~\"a.*\"}", "selects series by __name__", 1},
                                         {"x ; y", "unexpected character ';'", 2}}) {
    MetricScan scan = scan_metric_names(c.expr);
    EXPECT_NE(scan.error.find(c.error), std::string::npos) << c.expr << ": " << scan.error;
    EXPECT_EQ(scan.error_offset, c.offset) << c.expr;
  }
}

constexpr const char* kReleases = R"(releases:
  - version: v1.0
    metrics: [kubevirt_vmi_memory_available_bytes, kubevirt_vmi_memory_usable_bytes]
  - version: v1.1
  - version: v1.2
    metrics: [kubevirt_vmi_info]
)";
constexpr const char* kExternal = "kube-state-metrics: [kube_pod_info]\nprometheus: [up]\n";

struct Checked {
  RuleSet set;
  std::vector<std::string> problems;
};

Checked check(const std::string& rules) {
  RuleSources sources;
  std::vector<Diagnostic> diagnostics;
  load_releases("releases.yaml", kReleases, sources, diagnostics);
  load_external_metrics("external.yaml", kExternal, sources, diagnostics);
  load_rule_file("x.rules.yaml", rules, sources, diagnostics);
  Checked out{RuleSet::check(std::move(sources), diagnostics), {}};
  for (const auto& d : diagnostics) out.problems.push_back(format(d));
  return out;
}

constexpr const char* kAlertLabels = R"(alert_labels:
  kubernetes_operator_part_of: kubevirt
  kubernetes_operator_component: kubevirt
)";

TEST(RuleSet, ReleasesGetWhatTheirMetricsAllow) {
  auto c = check(std::string(kAlertLabels) + R"(records:
  - record: a:used:sum
    expr: kubevirt_vmi_memory_available_bytes - kubevirt_vmi_memory_usable_bytes
  - record: a:running:count
    expr: count(kubevirt_vmi_info{phase="running"})
  - record: a:running_used
    expr: a:used:sum and on (name) kubevirt_vmi_info
  - record: a:own
    expr: kv_promfmt_samples + histogram_quantile(0.9, kubevirt_rest_client_request_latency_seconds_bucket)
    until: v1.1
  - record: a:old_name
    expr: a:used:sum
    since: v1.1
    deprecated: true
alerts:
  - alert: A
    expr: a:running_used > 0
    labels: {severity: info, operator_health_impact: none}
    annotations: {summary: s}
)");
  // The histogram series of a catalog row is known, but KubeVirt's metric
  // needs a release that lists it.
  ASSERT_EQ(c.problems.size(), 1u) << c.problems[0];
  EXPECT_NE(c.problems[0].find("reads KubeVirt's kubevirt_rest_client_request_latency_seconds_bucket"),
            std::string::npos);
  const auto& rules = c.set.rules();
  ASSERT_EQ(rules.size(), 6u);
  EXPECT_EQ(c.set.releases_of(0), "v1.0+");
  EXPECT_EQ(c.set.releases_of(1), "v1.2+");
  EXPECT_EQ(c.set.releases_of(2), "v1.2+");  // through kubevirt_vmi_info
  EXPECT_EQ(c.set.releases_of(3), "none");
  EXPECT_EQ(c.set.releases_of(4), "v1.1+");
  EXPECT_EQ(c.set.releases_of(5), "v1.2+");  // through a recording rule
  EXPECT_EQ(c.set.left_out_because(5, 1), "needs a:running_used, which it does not get");
  EXPECT_EQ(c.set.left_out_because(2, 0), "needs kubevirt_vmi_info (v1.2)");
  EXPECT_EQ(c.set.left_out_because(4, 0), "since v1.1");
}

TEST(RuleSet, VariantsWithDisjointRangesAndLabelsAreNoDuplicates) {
  auto c = check(std::string(kAlertLabels) + R"(records:
  - record: r
    expr: count(kube_pod_info)
    until: v1.1
  - record: r
    expr: count(kubevirt_vmi_info)
  - record: m
    expr: kubevirt_vmi_memory_usable_bytes
    labels: {kind: usable}
  - record: m
    expr: kubevirt_vmi_memory_available_bytes
    labels: {kind: available}
  - record: m
    expr: kubevirt_vmi_memory_available_bytes * 2
    labels: {kind: available}
    since: v1.2
)");
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_EQ(c.problems[0],
            "x.rules.yaml:16:5: record m: duplicate of the recording rule at x.rules.yaml:13: same name "
            "and labels, both for v1.2 (tell them apart by a label, or give them since/until ranges that "
            "do not overlap)");
  EXPECT_EQ(c.set.releases_of(0), "v1.0-v1.1");
  EXPECT_EQ(c.set.releases_of(1), "v1.2+");
}

TEST(RuleSet, ReportsEachProblemWithFileLineAndRule) {
  auto c = check(std::string(kAlertLabels) + R"(records:
  - record: loop:a
    expr: loop:b + 1
  - record: loop:b
    expr: loop:a
  - record: 'bad name'
    expr: up
  - record: up
    expr: vector(1)
alerts:
  - alert: NoSummary
    expr: |-
      sum(up)
        + sum(kube_pod_inf)
    for: 5
    labels:
      severity: page
      operator_health_impact: none
      __bad: x
    annotations: {description: d}
    since: v2.0
)");
  std::vector<std::string> want = {
      "x.rules.yaml:9:5: record bad name: a recording rule's name must be a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)",
      "x.rules.yaml:11:5: record up: has the name of an external series (prometheus)",
      "x.rules.yaml:22:14: alert NoSummary: \"__bad\" is not a label name",
      "x.rules.yaml:20:17: alert NoSummary: severity \"page\" is not one of critical, warning, info",
      "x.rules.yaml:14:5: alert NoSummary: no summary annotation",
      "x.rules.yaml:18:10: alert NoSummary: for: \"5\" is not a duration (like 5m, 1h30m, 24h)",
      "x.rules.yaml:24:12: alert NoSummary: since: v2.0 is not in kubevirt-releases.yaml",
      // Line and column inside the literal block.
      "x.rules.yaml:17:15: alert NoSummary: unknown metric kube_pod_inf: not in the metric catalog, not "
      "recorded by a rule, not in external-metrics.yaml",
      "x.rules.yaml:7:5: record loop:b: recording rules read each other in a circle: loop:a -> loop:b -> loop:a",
  };

  for (const auto& w : want)
    EXPECT_NE(std::find(c.problems.begin(), c.problems.end(), w), c.problems.end())
        << w << "\nin:\n" << ::testing::PrintToString(c.problems);
}

TEST(RuleSet, ShapeProblemsOfTheFiles) {
  auto c = check("records:\n  - expr: up\n  - record: x\n    expr: [up]\n    help: h\nalerts: {}\nother: 1\n");
  std::vector<std::string> want = {
      "x.rules.yaml:2:5: a recording rule without \"record:\" (its name)",
      "x.rules.yaml:4:11: record x: expr must be a string",
      "x.rules.yaml:5:5: record x: unknown key \"help\" in a recording rule (known: record, expr, labels, "
      "since, until, deprecated)",
      "x.rules.yaml:6:9: alerts must be a list",
      "x.rules.yaml:7:1: unknown key \"other\" in a rule file (known: alert_labels, records, alerts)",
  };
  for (const auto& w : want)
    EXPECT_NE(std::find(c.problems.begin(), c.problems.end(), w), c.problems.end())
        << w << "\nin:\n" << ::testing::PrintToString(c.problems);
}

TEST(RuleOutput, SortedLikeVirtOperatorAndFilledIn) {
  auto c = check(std::string(kAlertLabels) + R"(  namespace: ${namespace}
records:
  - record: b:rec
    expr: up{namespace="${namespace}"}
  - record: a:rec
    expr: count(up)
  - record: a:old
    expr: a:rec
    deprecated: true
alerts:
  - alert: Zeta
    expr: b:rec == 0
    labels: {severity: warning, operator_health_impact: none}
    annotations: {summary: "Down in ${namespace}."}
  - alert: Alpha
    expr: a:rec > 9
    labels: {severity: critical, operator_health_impact: none}
    annotations: {summary: s}
  - alert: Alpha
    expr: a:rec > 10
    labels: {severity: warning, operator_health_impact: none}
    annotations: {summary: s}
)");
  ASSERT_TRUE(c.problems.empty()) << c.problems[0];
  OutputOptions o;
  o.install_namespace = "tenant";
  o.runbook_url_template = "https://runbooks.example/%s.md";
  std::vector<std::string> order;
  for (const auto& r : output_rules(c.set, 2, o)) order.push_back(r.name + ":" + r.expr);
  // "a:rec > 10" before "a:rec > 9": bytes, not numbers; ':' before 'r'.
  EXPECT_EQ(order, (std::vector<std::string>{"a:old:a:rec", "a:rec:count(up)", "b:rec:up{namespace=\"tenant\"}",
                                             "Alpha:a:rec > 10", "Alpha:a:rec > 9", "Zeta:b:rec == 0"}));
  YAML::Node doc = YAML::Load(render(c.set, 2, o));
  EXPECT_EQ(doc["kind"].as<std::string>(), "PrometheusRule");
  EXPECT_EQ(doc["metadata"]["namespace"].as<std::string>(), "tenant");
  EXPECT_EQ(doc["metadata"]["labels"]["prometheus.kubevirt.io"].as<std::string>(), "true");
  YAML::Node alerts = doc["spec"]["groups"][1];
  EXPECT_EQ(alerts["name"].as<std::string>(), "alerts.rules");
  YAML::Node zeta = alerts["rules"][2];
  EXPECT_EQ(zeta["alert"].as<std::string>(), "Zeta");
  EXPECT_EQ(zeta["labels"]["namespace"].as<std::string>(), "tenant");
  EXPECT_EQ(zeta["annotations"]["summary"].as<std::string>(), "Down in tenant.");
  EXPECT_EQ(zeta["annotations"]["runbook_url"].as<std::string>(), "https://runbooks.example/Zeta.md");
  EXPECT_FALSE(zeta["for"]);

  o.format = OutputFormat::rulefile;
  o.selection = Selection::records;
  o.deprecated = false;
  YAML::Node file = YAML::Load(render(c.set, 2, o));
  EXPECT_FALSE(file["kind"]);
  ASSERT_EQ(file["groups"].size(), 1u);
  EXPECT_EQ(file["groups"][0]["rules"].size(), 2u);
  o.selection = Selection::alerts;
  o.deprecated = true;
  EXPECT_EQ(YAML::Load(render(c.set, 2, o))["groups"][0]["name"].as<std::string>(), "alerts.rules");
}

TEST(RuleOutput, RunbookTemplatesHoldOnePlaceholder) {
  EXPECT_EQ(check_runbook_url_template(kDefaultRunbookUrlTemplate), "");
  EXPECT_EQ(runbook_url("https://x/%s.md?a=%20", "A"), "https://x/A.md?a=%20");
  EXPECT_NE(check_runbook_url_template("https://x/"), "");
  EXPECT_NE(check_runbook_url_template("https://x/%s/%s"), "");
}

TEST(KubernetesNames, NamespacesNamesAndLabels) {
  EXPECT_EQ(check_namespace_name("openshift-cnv"), "");
  for (const std::string& bad : std::vector<std::string>{"", "Kube", "-a", "a-", "a.b", std::string(64, 'a')})
    EXPECT_NE(check_namespace_name(bad), "") << bad;
  EXPECT_EQ(check_object_name("prometheus-kubevirt-rules.v1"), "");
  EXPECT_NE(check_object_name("Rules"), "");
  EXPECT_EQ(check_label_key("openshift.io/cluster-monitoring"), "");
  EXPECT_EQ(check_label_key("k8s-app"), "");
  for (const char* bad : {"", "/x", "a b", "Example.COM/x", "x/", "-x"})
    EXPECT_NE(check_label_key(bad), "") << bad;
  EXPECT_EQ(check_label_value(""), "");
  EXPECT_EQ(check_label_value("true"), "");
  EXPECT_NE(check_label_value("a/b"), "");
}

}  // namespace
}  // namespace kv::rulesgen
