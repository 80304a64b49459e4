// kv-watch's scoping: --resources against a config.
#include <gtest/gtest.h>

#include "kv-watch/config_metrics.hpp"
#include "kv-watch/crs_config.hpp"
#include "kv-watch/resource_types.hpp"

namespace kv::watch {
namespace {

using Names = std::vector<std::string>;

TEST(ResourceNames, NamesResourceByKubectlNamesAndQualifiedForms) {
  ResourceType vmis = *resolve_resource("vmis", nullptr);
  for (const char* name : {"vmis", "vmi", "VirtualMachineInstance", "virtualmachineinstances",
                           "kubevirt.io/v1/virtualmachineinstances", "virtualmachineinstances.kubevirt.io",
                           "virtualmachineinstances.v1.kubevirt.io"})
    EXPECT_TRUE(names_resource(name, vmis, nullptr)) << name;
  for (const char* name : {"vms", "pods", "kubevirt.io/v2/virtualmachineinstances", "nonsense"})
    EXPECT_FALSE(names_resource(name, vmis, nullptr)) << name;
  // A short name does not pin a version; a custom resource is named by its
  // plural or kind without a server.
  ResourceType old_snapshots{"snapshot.kubevirt.io", "v1alpha1", "virtualmachinesnapshots",
                             "VirtualMachineSnapshot", true};
  EXPECT_TRUE(names_resource("vmsnapshot", old_snapshots, nullptr));
  EXPECT_FALSE(names_resource("snapshot.kubevirt.io/v1beta1/virtualmachinesnapshots", old_snapshots, nullptr));
  ResourceType widgets{"example.com", "v1", "widgets", "Widget", true};
  for (const char* name : {"widgets", "Widget", "widgets.example.com", "example.com/v1/widgets"})
    EXPECT_TRUE(names_resource(name, widgets, nullptr)) << name;
  EXPECT_FALSE(names_resource("wdg", widgets, nullptr));
  // Discovery's short names, when there is a server.
  auto discover = [] {
    return std::vector<DiscoveredResource>{{{"example.com", "v1", "widgets", "Widget", true}, "widget", {"wdg"}}};
  };
  EXPECT_TRUE(names_resource("wdg", widgets, discover));
}

constexpr const char* kConfig = R"(kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: "", version: v1, kind: Pod}
    metricNamePrefix: t_pod
    labelsFromPath: {namespace: [metadata, namespace], name: [metadata, name]}
    metrics:
    - name: up
      each: {type: Gauge, gauge: {path: [status, up]}}
  - groupVersionKind: {group: "", version: v1, kind: Node}
    metricNamePrefix: t_node
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - name: up
      each: {type: Gauge, gauge: {path: [status, up]}}
  - groupVersionKind: {group: example.com, version: v1, kind: Widget}
    metrics:
    - name: t_widget
      each: {type: Gauge, gauge: {path: [status, up]}}
)";

Names ids(const std::vector<ConfiguredResource>& resources) {
  Names out;
  for (const auto& r : resources) out.push_back(r.type.id());
  return out;
}

TEST(ConfiguredResources, AnUnresolvedEntryIsAnErrorUnlessLeftOut) {
  auto config = crs::parse_metrics_config(kConfig, "c.yaml");
  // Widget has no resourcePlural: without a server it names no resource.
  EXPECT_THROW(resolve_configured_resources(config, KindLookup::none), crs::ConfigError);
  std::vector<std::string> unresolved;
  auto all = resolve_configured_resources(config, KindLookup::none, nullptr, &unresolved);
  EXPECT_EQ(ids(all), (Names{"v1/pods", "v1/nodes"}));
  ASSERT_EQ(unresolved.size(), 1u);
  EXPECT_NE(unresolved[0].find("c.yaml:"), std::string::npos) << unresolved[0];
  EXPECT_NE(unresolved[0].find("add resourcePlural"), std::string::npos) << unresolved[0];
  // The config's order, whatever the order of the names.
  EXPECT_EQ(ids(select_configured_resources(all, {"no", "po"}, nullptr, unresolved)),
            (Names{"v1/pods", "v1/nodes"}));
  EXPECT_EQ(ids(select_configured_resources(all, {"v1/nodes", "node"}, nullptr, unresolved)), Names{"v1/nodes"});
  try {
    select_configured_resources(all, {"pods", "vmis"}, nullptr, unresolved);
    ADD_FAILURE();
  } catch (const ResourceSelectionError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--resources: \"vmis\" (kubevirt.io/v1/virtualmachineinstances) is not "
                                          "one of the config's resources (v1/pods, v1/nodes); c.yaml:",
                                          0),
              0u)
        << e.what();
  }
  EXPECT_THROW(select_configured_resources(all, {"widgets"}, nullptr, {}), ResourceSelectionError);
}

}  // namespace
}  // namespace kv::watch
