// kv-watch's extensions of the Custom Resource State format (forEach,
// labelsFromMap, keyPrefix, resourceUnits): the series they make, the fields
// they keep in the cache, and the errors a config that misuses them gets.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kv-watch/crs_config.hpp"
#include "kv-watch/crs_metrics.hpp"
#include "crs_test_support.hpp"

namespace kv::watch::crs {
namespace {

using support::series_of;
using support::text_of;

std::string config_error(const std::string& metrics) {
  return support::config_error_of(support::pod_config_with(metrics));
}

const char* pod = R"({"metadata":{"name":"p1","labels":{"app":"db","kubevirt.io/schedulable":"true"}},
  "spec":{"nodeName":"n1","containers":[
    {"name":"compute","resources":{"requests":{"cpu":"700m","memory":"1.5","devices.kubevirt.io/kvm":"1","pods":"1"}}},
    {"name":"sidecar"},
    null,
    {"name":"bad","resources":{"requests":{"cpu":"lots"}}}],
   "volumes":[{"name":"disk","persistentVolumeClaim":{"claimName":"p1-disk","readOnly":true}},{"name":"tmp","emptyDir":{}}]}})";

TEST(CrsLabelSet, SortedByNameSetReplacesAddKeeps) {
  LabelSet l;
  l.set("pod", "a");
  l.set("container", "c");
  l.add("pod", "b");  // there already: kept
  l.set("unit", "byte");
  l.set("unit", "core");  // replaced
  l.erase("missing");
  std::string text;
  for (const auto& [k, v] : l) text += k + "=" + v + " ";
  EXPECT_EQ(text, "container=c pod=a unit=core ");
  ASSERT_TRUE(l.find("pod"));
  EXPECT_EQ(*l.find("pod"), "a");
  EXPECT_FALSE(l.find("po"));
  l.erase("pod");
  EXPECT_EQ(l.size(), 2u);
  EXPECT_LT((LabelSet{{"a", "1"}}), (LabelSet{{"a", "2"}}));
  EXPECT_EQ((LabelSet{{"b", "1"}, {"a", "2"}}), (LabelSet{{"a", "2"}, {"b", "1"}}));
}

TEST(CrsLabelSet, AddAllMergesInOrderAndKeepsItsOwnValues) {
  LabelSet l{{"b", "own"}, {"d", "own"}};
  l.add_all(LabelSet{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"e", "5"}});
  EXPECT_EQ(l, (LabelSet{{"a", "1"}, {"b", "own"}, {"c", "3"}, {"d", "own"}, {"e", "5"}}));
  LabelSet empty;
  empty.add_all(l);
  EXPECT_EQ(empty, l);
  l.add_all(LabelSet{});
  EXPECT_EQ(l.size(), 5u);
  // Byte order, as the sample stream sorts: "_x" after "Z", before "a".
  LabelSet m{{"a", "1"}};
  m.add_all(LabelSet{{"Z", "2"}, {"_x", "3"}, {"ab", "4"}});
  std::string text;
  for (const auto& [k, v] : m) text += k + " ";
  EXPECT_EQ(text, "Z _x a ab ");
}

TEST(CrsLabelSet, EraseNamedRemovesThoseNamesWhateverTheirValues) {
  LabelSet l{{"_a", "1"}, {"_b", ""}, {"name", "vm"}};
  std::vector<std::string> names{"_b", "_a", "missing"};
  l.erase_named(names);
  EXPECT_EQ(l, (LabelSet{{"name", "vm"}}));
}

TEST(CrsLabelSet, EraseEmptiedRemovesOnlyTheLabelsNamedThatWereEmptied) {
  LabelSet l{{"_helper", "x"}, {"kept_empty", ""}, {"name", "vm"}, {"refilled", "y"}};
  l.empty_value("_helper");
  l.empty_value("refilled");
  l.set("refilled", "z");
  l.empty_value("missing");
  std::vector<std::string_view> emptied{"_helper", "refilled", "missing", "kept_empty_not"};
  l.erase_emptied(emptied);
  EXPECT_EQ(l, (LabelSet{{"kept_empty", ""}, {"name", "vm"}, {"refilled", "z"}}));
}

TEST(CrsExtensions, ForEachAppliesEachToEveryElementWithItsLabels) {
  std::vector<std::string> errors;
  EXPECT_EQ(series_of("    - name: requests\n"
                      "      labelsFromPath: {node: [spec, nodeName]}\n"
                      "      forEach: {path: [spec, containers], labelsFromPath: {container: [name]}}\n"
                      "      each: {type: Gauge, gauge: {path: [resources, requests], labelFromKey: resource,\n"
                      "             resourceUnits: container}}\n",
                      pod, &errors),
            "container=compute node=n1 pod=p1 resource=cpu unit=core 0.7\n"
            "container=compute node=n1 pod=p1 resource=memory unit=byte 2\n"
            "container=compute node=n1 pod=p1 resource=devices_kubevirt_io_kvm unit=integer 1\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "test.yaml:8: resource 1 (Pod) metric \"requests\": [resources,requests]: cpu: "
                       "expected a quantity, got lots");
}

TEST(CrsExtensions, ForEachOverAnInfoOfEachElement) {
  EXPECT_EQ(series_of("    - name: pvcs\n"
                      "      commonLabels: {ephemeral: \"false\"}\n"
                      "      forEach: {path: [spec, volumes], labelsFromPath: {volume: [name]}}\n"
                      "      each: {type: Info, info: {path: [persistentVolumeClaim],\n"
                      "             labelsFromPath: {persistentvolumeclaim: [claimName]}}}\n",
                      pod),
            "ephemeral=false persistentvolumeclaim=p1-disk pod=p1 volume=disk 1\n");
  // Not a list: nothing.
  EXPECT_EQ(series_of("    - name: x\n"
                      "      forEach: {path: [spec, nodeName]}\n"
                      "      each: {type: Info, info: {labelsFromPath: {v: [name]}}}\n",
                      pod),
            "");
}

TEST(CrsExtensions, LabelsFromMapNamesLabelsAsKubeStateMetrics) {
  EXPECT_EQ(series_of("    - name: labels\n"
                      "      labelsFromMap: {path: [metadata, labels], prefix: label}\n"
                      "      each: {type: Info, info: {labelsFromPath: {pod: [metadata, name]}}}\n",
                      pod),
            "label_app=db label_kubevirt_io_schedulable=true pod=p1 1\n");
  // No labels: the series all the same, as kube-state-metrics writes it.
  EXPECT_EQ(series_of("    - name: labels\n"
                      "      labelsFromMap: {path: [metadata, labels], prefix: label}\n"
                      "      each: {type: Info, info: {labelsFromPath: {pod: [metadata, name]}}}\n",
                      R"({"metadata":{"name":"p2"}})"),
            "pod=p2 1\n");
}

TEST(CrsExtensions, KeyPrefixSelectsKeysAndTrimsThem) {
  const char* node = R"({"metadata":{"name":"n1","labels":{"node-role.kubernetes.io/worker":"",
    "node-role.kubernetes.io/control-plane":"","kubernetes.io/os":"linux","x/node-role.kubernetes.io/y":""}}})";
  EXPECT_EQ(series_of("    - name: role\n"
                      "      each: {type: Info, info: {path: [metadata, labels], labelFromKey: role,\n"
                      "             keyPrefix: node-role.kubernetes.io/}}\n",
                      node),
            "pod=n1 role=worker 1\npod=n1 role=control-plane 1\n");
  const char* counts = R"({"metadata":{"name":"n1"},"status":{"a_x":1,"b_y":2,"a_z":"3"}})";
  EXPECT_EQ(series_of("    - name: counts\n"
                      "      each: {type: Gauge, gauge: {path: [status], labelFromKey: k, keyPrefix: a_}}\n",
                      counts),
            "k=x pod=n1 1\nk=z pod=n1 3\n");
}

TEST(CrsExtensions, ResourceUnitsOfANode) {
  const char* node = R"({"metadata":{"name":"n1"},"status":{"allocatable":{"cpu":"1900m","memory":"1.5",
    "pods":"110","hugepages-2Mi":"0","example.com/dev":"2","foo":"1"}}})";
  EXPECT_EQ(series_of("    - name: allocatable\n"
                      "      each: {type: Gauge, gauge: {path: [status, allocatable], labelFromKey: resource,\n"
                      "             resourceUnits: node}}\n",
                      node),
            "pod=n1 resource=cpu unit=core 1.9\n"
            "pod=n1 resource=memory unit=byte 1.5\n"
            "pod=n1 resource=pods unit=integer 110\n"
            "pod=n1 resource=hugepages_2Mi unit=byte 0\n"
            "pod=n1 resource=example_com_dev unit=integer 2\n");
}

TEST(CrsExtensions, FieldsReadBelowEachElement) {
  auto config = parse_metrics_config(
      support::pod_config_with("    - name: requests\n"
                  "      labelsFromMap: {path: [metadata, labels], prefix: label}\n"
                  "      forEach: {path: [spec, containers], labelsFromPath: {container: [name]}}\n"
                  "      each: {type: Gauge, gauge: {path: [resources, requests], labelFromKey: resource,\n"
                  "             resourceUnits: container}}\n"
                  "    - name: volumes\n"
                  "      forEach: {path: [spec, volumes, \"[name=disk]\"]}\n"
                  "      each: {type: Info, info: {path: [persistentVolumeClaim]}}\n"),
      "test.yaml");
  // The list filter keeps the key it compares and what is read below it.
  EXPECT_EQ(fields_read(config.resources.at(0)),
            (std::vector<std::string>{"metadata.labels", "metadata.name", "spec.containers.name",
                                      "spec.containers.resources.requests", "spec.volumes.name",
                                      "spec.volumes.persistentVolumeClaim"}));
}

TEST(CrsExtensions, ConfigErrorsNameTheFileTheEntryAndTheProblem) {
  EXPECT_EQ(config_error("    - name: x\n"
                         "      forEach: [spec, containers]\n"
                         "      each: {type: Info, info: {}}\n"),
            "test.yaml:9: resource 1 (Pod) metric \"x\": forEach must be a mapping with a path");
  EXPECT_EQ(config_error("    - name: x\n"
                         "      forEach: {labelsFromPath: {c: [name]}}\n"
                         "      each: {type: Info, info: {}}\n"),
            "test.yaml:9: resource 1 (Pod) metric \"x\": forEach.path is missing (the path to a list)");
  EXPECT_EQ(config_error("    - name: x\n"
                         "      labelsFromMap: {path: [metadata, labels]}\n"
                         "      each: {type: Info, info: {}}\n"),
            "test.yaml:9: resource 1 (Pod) metric \"x\": labelsFromMap.prefix must be a label name, like label, "
            "not \"\"");
  EXPECT_EQ(config_error("    - name: x\n"
                         "      labelsFromMap: {prefix: label}\n"
                         "      each: {type: Info, info: {}}\n"),
            "test.yaml:9: resource 1 (Pod) metric \"x\": labelsFromMap.path is missing (the path to a map, like "
            "[metadata, labels])");
  EXPECT_EQ(config_error("    - name: x\n"
                         "      each: {type: Info, info: {path: [metadata, labels], keyPrefix: a/}}\n"),
            "test.yaml:9: resource 1 (Pod) metric \"x\" each.info: keyPrefix selects map keys for labelFromKey, "
            "which is missing");
  EXPECT_EQ(config_error("    - name: x\n"
                         "      each: {type: Gauge, gauge: {path: [spec], labelFromKey: r, resourceUnits: pod}}\n"),
            "test.yaml:9: resource 1 (Pod) metric \"x\" each.gauge: resourceUnits must be container or node, not "
            "\"pod\"");
  EXPECT_EQ(config_error("    - name: x\n"
                         "      each: {type: Gauge, gauge: {path: [spec], resourceUnits: node}}\n"),
            "test.yaml:9: resource 1 (Pod) metric \"x\" each.gauge: resourceUnits needs labelFromKey (the label "
            "that names the resource)");
  EXPECT_EQ(config_error("    - name: x\n"
                         "      each: {type: Gauge, gauge: {path: [spec], labelFromKey: r, valueFrom: [v],\n"
                         "             resourceUnits: node}}\n"),
            "test.yaml:10: resource 1 (Pod) metric \"x\" each.gauge: resourceUnits reads the map's values as "
            "quantities; valueFrom cannot be used with it");
}

TEST(CrsExtensions, ExtensionKeysWhereTheyDoNotBelongAreReportedAndIgnored) {
  auto config = parse_metrics_config(
      support::pod_config_with("    - name: x\n"
                  "      each: {type: StateSet, stateSet: {labelName: s, path: [status], keyPrefix: a,\n"
                  "             resourceUnits: node}}\n"),
      "test.yaml");
  ASSERT_EQ(config.warnings.size(), 2u);
  EXPECT_EQ(config.warnings[0], "test.yaml:9: resource 1 (Pod) metric \"x\" each.stateSet: unknown key \"keyPrefix\" ignored");
}

}  // namespace
}  // namespace kv::watch::crs
