// labelsFromMap's merged maps, key lists and KubeVirt naming, and a lookup's
// fieldSelector: what kubevirt_vm_labels is made of.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crs_test_support.hpp"
#include "kv-watch/crs_config.hpp"
#include "kv-watch/map_labels.hpp"
#include "kv-watch/object_lookup.hpp"

namespace kv::watch::crs {
namespace {

using support::config_error_of;
using support::pod_config_with;
using support::series_of;

TEST(KeyList, SplitTrimmedWithoutEmptyItemsAndStarForAll) {
  auto l = parse_key_list(" app , tier,,\tkubevirt.io/domain ,");
  EXPECT_EQ(l.keys, (std::vector<std::string>{"app", "tier", "kubevirt.io/domain"}));
  EXPECT_FALSE(l.all);
  EXPECT_TRUE(parse_key_list("app, * ").all);
  EXPECT_TRUE(parse_key_list("").keys.empty());
  EXPECT_TRUE(parse_key_list(" , ,").keys.empty());
}

TEST(KeyList, IgnoreWinsOverAllowAndAnEmptyAllowlistAllowsNothing) {
  auto allow = parse_key_list("app,env"), star = parse_key_list("*"), none = parse_key_list("");
  auto ignore = parse_key_list("env");
  EXPECT_TRUE(key_kept("app", &allow, &ignore));
  EXPECT_FALSE(key_kept("env", &allow, &ignore));
  EXPECT_FALSE(key_kept("tier", &allow, &ignore));
  EXPECT_TRUE(key_kept("tier", &star, &ignore));
  EXPECT_FALSE(key_kept("env", &star, &ignore));
  EXPECT_FALSE(key_kept("app", &none, nullptr));
  // No lists: KubeVirt's defaults, all allowed and none ignored.
  EXPECT_TRUE(key_kept("anything", nullptr, nullptr));
  EXPECT_FALSE(key_kept("env", nullptr, &ignore));
}

TEST(MapLabelNames, KubeVirtSanitisationKeepsCaseAndGuardsALeadingDigit) {
  EXPECT_EQ(sanitized_map_label_name("label", "app.kubernetes.io/name"), "label_app_kubernetes_io_name");
  EXPECT_EQ(sanitized_map_label_name("label", "example.com/Owner"), "label_example_com_Owner");
  EXPECT_EQ(sanitized_map_label_name("label", "1st-key"), "label__1st_key");
  EXPECT_EQ(sanitized_map_label_name("label", "_x"), "label__x");
  EXPECT_EQ(sanitized_map_label_name("label", "-x"), "label__x");
  EXPECT_EQ(sanitized_map_label_name("label", ""), "label__");
  // A "*" copy of labelsFromPath gives label_1st_key: no guard.
  EXPECT_EQ(sanitize_label_name("label_1st-key"), "label_1st_key");
}

const char* vm_labels_metric = R"(    - name: vm_labels
      commonLabels: {_allow: "app,env,tier,1st-key,a.b,a/b"}
      labelsFromPath: {_ignore: [metadata, annotations, ignore]}
      each: {type: Info, info: {path: [metadata, name], labelsFromPath: {name: []}}}
      labelsFromMap:
        path: [[metadata, labels], [spec, template, metadata, labels]]
        prefix: label
        naming: sanitize
        allowFromLabel: _allow
        ignoreFromLabel: _ignore
        required: true
)";

TEST(LabelsFromMap, MergedMapsTheLaterWinningFilteredAndTheListLabelsDropped) {
  EXPECT_EQ(series_of(vm_labels_metric,
                      R"({"metadata":{"name":"vm1","annotations":{"ignore":"env"},
                          "labels":{"app":"web","env":"prod","tier":"a","other":"x"}},
                          "spec":{"template":{"metadata":{"labels":{"tier":"b","1st-key":"k"}}}}})"),
            "label__1st_key=k label_app=web label_tier=b name=vm1 pod=vm1 1\n");
  // Two keys with one name: the later in key order wins.
  EXPECT_EQ(series_of(vm_labels_metric, R"({"metadata":{"name":"vm2","labels":{"a/b":"slash","a.b":"dot"}}})"),
            "label_a_b=slash name=vm2 pod=vm2 1\n");
}

TEST(LabelsFromMap, RequiredLeavesOutASeriesThatKeepsNoKey) {
  EXPECT_EQ(series_of(vm_labels_metric, R"({"metadata":{"name":"vm3","labels":{"other":"x"}}})"), "");
  EXPECT_EQ(series_of(vm_labels_metric, R"({"metadata":{"name":"vm4"}})"), "");
  EXPECT_EQ(series_of(vm_labels_metric,
                      R"({"metadata":{"name":"vm5","annotations":{"ignore":"env"},"labels":{"env":"x"}}})"),
            "");
}

TEST(LabelsFromMap, MapLabelsRankBelowLabelsFromPathAndAboveCommonLabels) {
  const char* metric = R"(    - name: x
      commonLabels: {label_app: common}
      labelsFromPath: {label_env: [metadata, name]}
      each: {type: Info, info: {path: [metadata, name], labelsFromPath: {name: []}}}
      labelsFromMap: {path: [[metadata, labels]], prefix: label, naming: sanitize}
)";
  EXPECT_EQ(series_of(metric, R"({"metadata":{"name":"p","labels":{"app":"web","env":"prod"}}})"),
            "label_app=web label_env=p name=p pod=p 1\n");
}

TEST(LabelsFromMap, PlainKubeStateMapsAreUnchanged) {
  const char* metric = R"(    - name: x
      each: {type: Info, info: {path: [metadata, name], labelsFromPath: {name: []}}}
      labelsFromMap: {path: [metadata, labels], prefix: label}
)";
  EXPECT_EQ(series_of(metric, R"({"metadata":{"name":"p","labels":{"cpu-model.node.kubevirt.io/IvyBridge":"true"}}})"),
            "label_cpu_model_node_kubevirt_io_ivy_bridge=true name=p pod=p 1\n");
  EXPECT_EQ(series_of(metric, R"({"metadata":{"name":"p"}})"), "name=p pod=p 1\n");
}

TEST(LabelsFromMap, ConfigErrorsNameTheEntryAndWhatIsWrong) {
  auto with = [](const std::string& map) {
    return config_error_of(pod_config_with("    - name: x\n"
                                           "      each: {type: Info, info: {labelsFromPath: {name: [metadata, name]}}}\n"
                                           "      labelsFromMap: " + map + "\n"));
  };
  EXPECT_EQ(with("{path: [metadata, labels], prefix: label, naming: snake}"),
            "test.yaml:10: resource 1 (Pod) metric \"x\" labelsFromMap: naming must be kube-state or sanitize, not "
            "\"snake\"");
  EXPECT_EQ(with("{path: [metadata, labels], prefix: label, allowFromLabel: \"data.allowlist\"}"),
            "test.yaml:10: resource 1 (Pod) metric \"x\" labelsFromMap: allowFromLabel must be the name of a label "
            "that holds a comma-separated list of keys, not \"data.allowlist\"");
  EXPECT_EQ(with("{path: [metadata, labels], prefix: label, allowFromLabel: _l, ignoreFromLabel: _l}"),
            "test.yaml:10: resource 1 (Pod) metric \"x\" labelsFromMap: allowFromLabel and ignoreFromLabel are the "
            "same label (_l)");
  EXPECT_EQ(with("{path: [metadata, labels], prefix: label, required: \"true\"}"),
            "test.yaml:10: resource 1 (Pod) metric \"x\" labelsFromMap.required must be true or false");
  EXPECT_EQ(with("{path: [[metadata, labels], labels], prefix: label}"),
            "test.yaml:10: resource 1 (Pod) metric \"x\" labelsFromMap.path: each of several paths must be a path, "
            "like [metadata, labels]");
}

const char* selector_config = R"(spec:
  resources:
  - groupVersionKind: {group: kubevirt.io, version: v1, kind: VirtualMachine}
    metrics:
    - name: a
      each: {type: Info, info: {labelsFromPath: {name: [metadata, name]}}}
      lookup:
      - groupVersionKind: {group: "", version: v1, kind: ConfigMap}
        fieldSelector: metadata.name=vm-labels
        labelsFromPath: {_allow: [data, allowlist]}
        optional: true
    - name: b
      each: {type: Info, info: {labelsFromPath: {name: [metadata, name]}}}
      lookup:
      - groupVersionKind: {group: "", version: v1, kind: ConfigMap}
        fieldSelector: metadata.name=vm-labels
        labelsFromPath: {_ignore: [data, ignorelist]}
        optional: true
)";

TEST(FieldSelector, ALookupOnlyResourceIsListedWithTheSelectorItsLookupsShare) {
  auto config = parse_metrics_config(selector_config, "test.yaml");
  ASSERT_EQ(config.resources.size(), 2u);
  const auto& cm = config.resources[1];
  EXPECT_TRUE(cm.lookup_only);
  EXPECT_EQ(cm.field_selector, "metadata.name=vm-labels");
  // The cache keeps what the selector tests, for the lookup to test it too.
  auto fields = fields_read(cm);
  EXPECT_NE(std::find(fields.begin(), fields.end(), "metadata.name"), fields.end());
  // Lookups that disagree: the resource is listed whole, each selecting.
  std::string other = selector_config;
  other.replace(other.rfind("metadata.name=vm-labels"), 23, "metadata.name=other");
  EXPECT_EQ(parse_metrics_config(other, "test.yaml").resources[1].field_selector, "");
  // So does a resource that has metrics of its own.
  std::string own = std::string(selector_config) +
                    "  - groupVersionKind: {group: \"\", version: v1, kind: ConfigMap}\n"
                    "    metrics:\n"
                    "    - name: c\n"
                    "      each: {type: Info, info: {labelsFromPath: {name: [metadata, name]}}}\n";
  auto with_own = parse_metrics_config(own, "test.yaml");
  ASSERT_EQ(with_own.resources.size(), 2u);
  EXPECT_EQ(with_own.resources[1].field_selector, "");
}

TEST(FieldSelector, TermsAreTestedOnTheObjectAnAbsentFieldBeingEmpty) {
  auto config = parse_metrics_config(
      std::string(selector_config).replace(std::string(selector_config).find("metadata.name=vm-labels"), 23,
                                           "metadata.name==vm-labels, metadata.namespace != kube-system,spec.x="),
      "test.yaml");
  const auto& selector = config.resources[0].metrics[0].lookups[0].selector;
  ASSERT_EQ(selector.size(), 3u);
  simdjson::dom::parser p;
  auto match = [&](const char* json) { return meets_field_selector(selector, p.parse(std::string(json)).value()); };
  EXPECT_TRUE(match(R"({"metadata":{"name":"vm-labels","namespace":"kubevirt"}})"));
  EXPECT_FALSE(match(R"({"metadata":{"name":"vm-labels","namespace":"kube-system"}})"));
  EXPECT_FALSE(match(R"({"metadata":{"name":"other","namespace":"kubevirt"}})"));
  EXPECT_FALSE(match(R"({"metadata":{"name":"vm-labels","namespace":"kubevirt"},"spec":{"x":"1"}})"));
}

TEST(FieldSelector, BadTermsAreConfigErrors) {
  auto with = [](const std::string& selector) {
    std::string text = selector_config;
    return config_error_of(text.replace(text.find("metadata.name=vm-labels"), 23, selector));
  };
  EXPECT_EQ(with("\"metadata.name in (a,b)\""),
            "test.yaml:9: resource 1 (VirtualMachine) metric \"a\" lookup: fieldSelector: \"metadata.name in (a\" has "
            "no =, == or != (want field=value, field==value or field!=value, joined by commas, like "
            "metadata.name=kubevirt-vm-labels-config)");
  EXPECT_EQ(with("\"=x\""),
            "test.yaml:9: resource 1 (VirtualMachine) metric \"a\" lookup: fieldSelector: \"=x\" has no field (want "
            "field=value, field==value or field!=value, joined by commas, like "
            "metadata.name=kubevirt-vm-labels-config)");
  EXPECT_EQ(with("\"metadata.labels[app]=x\""),
            "test.yaml:9: resource 1 (VirtualMachine) metric \"a\" lookup: fieldSelector: \"metadata.labels[app]=x\" "
            "has a field that is not a dotted path like metadata.name (want field=value, field==value or "
            "field!=value, joined by commas, like metadata.name=kubevirt-vm-labels-config)");
  EXPECT_EQ(with("[metadata, name]"),
            "test.yaml:9: resource 1 (VirtualMachine) metric \"a\" lookup fieldSelector must be a string");
}

}  // namespace
}  // namespace kv::watch::crs
