// kv-watch's scoping: -n/--namespaces/--exclude-namespaces, --resources
// against a config, and the merge of per-namespace caches into one snapshot.
#include <gtest/gtest.h>

#include "kv-watch/config_metrics.hpp"
#include "kv-watch/crs_config.hpp"
#include "kv-watch/namespace_scope.hpp"
#include "kv-watch/resource_types.hpp"

namespace kv::watch {
namespace {

using Names = std::vector<std::string>;

TEST(NamespaceScope, NamespacesAreOneListWithDashN) {
  auto s = namespace_scope("", {}, {});
  EXPECT_TRUE(s.namespaces.empty());
  EXPECT_TRUE(s.excluded.empty());
  EXPECT_EQ(namespace_scope("a", {}, {}).namespaces, Names{"a"});
  // Trimmed, empty entries skipped, repeats dropped, in the given order.
  EXPECT_EQ(namespace_scope("b", {"a", " b", "", "c", "a"}, {}).namespaces, (Names{"b", "a", "c"}));
  EXPECT_TRUE(namespace_scope("", {"", " "}, {}).namespaces.empty());
}

TEST(NamespaceScope, ExclusionsAreAFieldSelectorOnlyWhenAllNamespacesAreWatched) {
  auto all = namespace_scope("", {}, {"x", "y", "x"});
  EXPECT_TRUE(all.namespaces.empty());
  EXPECT_EQ(all.excluded, (Names{"x", "y"}));
  // With a list, as kube-state-metrics: the listed ones the exclusions do not name.
  auto some = namespace_scope("", {"a", "b", "c"}, {"b", "z"});
  EXPECT_EQ(some.namespaces, (Names{"a", "c"}));
  EXPECT_TRUE(some.excluded.empty());
  EXPECT_EQ(namespace_scope("a", {}, {"b"}).namespaces, Names{"a"});
  EXPECT_THROW(namespace_scope("a", {"b"}, {"b", "a"}), std::invalid_argument);
}

TEST(NamespaceScope, NamesThatAreNoNamespaceAreRefusedByOption) {
  for (const char* bad : {"Upper", "-a", "a-", "a_b", "a.b", "../x", "a/b"}) {
    EXPECT_NE(check_namespace_name(bad), "") << bad;
    try {
      namespace_scope("", {"ok", bad}, {});
      ADD_FAILURE() << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind(std::string("--namespaces: \"") + bad + "\": a namespace is", 0), 0u)
          << e.what();
    }
  }
  EXPECT_EQ(check_namespace_name(std::string(63, 'a')), "");
  EXPECT_NE(check_namespace_name(std::string(64, 'a')), "");
  EXPECT_THROW(namespace_scope("A", {}, {}), std::invalid_argument);
  EXPECT_THROW(namespace_scope("", {}, {"x y"}), std::invalid_argument);
}

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

std::string snapshot(const std::vector<ConfiguredResource>& resources,
                     const std::vector<std::vector<const ObjectCache*>>& caches) {
  ConfigMetrics metrics;
  std::string out;
  metrics.write(resources, caches, out);
  return out;
}

TEST(ConfigMetrics, PerNamespaceCachesGiveTheBytesOfOneCache) {
  auto config = crs::parse_metrics_config(kConfig, "c.yaml");
  std::vector<std::string> unresolved;
  auto pods = select_configured_resources(
      resolve_configured_resources(config, KindLookup::none, nullptr, &unresolved), {"pods"}, nullptr, unresolved);
  FieldSelection fields(crs::fields_read(*pods[0].spec));
  ObjectCache one(fields), a(fields), a_b(fields), b(fields);
  simdjson::dom::parser parser;
  int up = 0;
  // "a-b" sorts before "a/..." by key: a merge, not a concatenation.
  for (auto [ns, cache] : {std::pair{"a", &a}, {"a-b", &a_b}, {"b", &b}})
    for (const char* name : {"x", "y"}) {
      std::string json = std::string(R"({"metadata":{"namespace":")") + ns + R"(","name":")" + name +
                         R"(","resourceVersion":"1"},"status":{"up":)" + std::to_string(++up) + "}}";
      one.upsert(parser.parse(json).value());
      cache->upsert(parser.parse(json).value());
    }
  std::string whole = snapshot(pods, {{&one}});
  EXPECT_EQ(std::count(whole.begin(), whole.end(), '\n'), 6) << whole;
  EXPECT_EQ(snapshot(pods, {{&b, &a, &a_b}}), whole);
  EXPECT_EQ(snapshot(pods, {{&a, &a_b, &b}}), whole);
}

}  // namespace
}  // namespace kv::watch
