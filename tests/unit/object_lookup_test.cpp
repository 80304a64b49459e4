// lookup and valueFromLabel: other cached objects found by key or as a
// resource's one object, the fields the caches keep for them, and what a
// missing object gives.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kv-watch/config_metrics.hpp"
#include "kv-watch/crs_config.hpp"
#include "kv-watch/crs_metrics.hpp"
#include "kv-watch/object_cache.hpp"
#include "kv-watch/object_lookup.hpp"
#include "lookup_test_support.hpp"

namespace kv::watch {
namespace {

const char* config_text = R"(spec:
  resources:
  - groupVersionKind: {group: kubevirt.io, version: v1, kind: VirtualMachine}
    metricNamePrefix: ""
    customResourceLabels: false
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - name: disk_bytes
      forEach: {path: [spec, volumes]}
      each: {type: Info, info: {path: [name], labelsFromPath: {device: []}}}
      lookup:
      - groupVersionKind: {group: "", version: v1, kind: PersistentVolumeClaim}
        name: [[persistentVolumeClaim, claimName], [dataVolume, name]]
        labelsFromPath: {claim: [metadata, name], _size: [spec, resources, requests, storage]}
      valueFromLabel: _size
    - name: strategy
      each: {type: Info, info: {path: [metadata, name], labelsFromPath: {vm: []}}}
      lookup:
      - groupVersionKind: {group: kubevirt.io, version: v1, kind: KubeVirt}
        when: [{path: [status, phase], in: [Deployed]}]
        labelsFromPath: {strategy: [spec, evictionStrategy]}
        optional: true
      labelValues: [{label: strategy, default: None}]
)";

struct Fixture : support::CachedConfig {
  Fixture()
      : CachedConfig(config_text, [](const std::string& kind) -> std::pair<std::string, bool> {
          if (kind == "VirtualMachine") return {"virtualmachines", true};
          if (kind == "KubeVirt") return {"kubevirts", true};
          return {"persistentvolumeclaims", true};
        }) {}
  ObjectCache& cache(const std::string& kind) {
    for (std::size_t i = 0; i < resources.size(); ++i)
      if (resources[i].spec->kind == kind) return *owned[i];
    throw std::runtime_error(kind);
  }
  void add(const std::string& kind, const std::string& json) { cache(kind).upsert(parser.parse(json).value()); }
  const crs::MetricSpec& metric(std::size_t i) { return config.resources.at(0).metrics.at(i); }

  // The series of metric `m` for `vm`, one per line.
  std::string series(const LookupTables& tables, std::size_t m, const std::string& vm,
                     std::vector<std::string>* errors = nullptr) {
    simdjson::dom::parser p;
    auto object = p.parse(vm).value();
    std::vector<crs::Series> out;
    std::vector<std::string> errs;
    crs::object_series(metric(m), object, out, errs, &tables);
    if (errors) *errors = errs;
    std::string text;
    for (const auto& s : out) {
      for (const auto& [k, v] : s.labels) text += k + "=" + v + " ";
      text += crs::go_format_float(s.value) + "\n";
    }
    return text;
  }
};

const char* vm = R"({"metadata":{"name":"db","namespace":"ns1"},"spec":{"volumes":[
  {"name":"root","dataVolume":{"name":"db-root"}},
  {"name":"data","persistentVolumeClaim":{"claimName":"db-data"}},
  {"name":"gone","persistentVolumeClaim":{"claimName":"db-gone"}},
  {"name":"cloudinit","cloudInitNoCloud":{}}]}})";

TEST(ObjectLookup, TheLookedUpResourceIsWatchedAndKeepsWhatLookupsRead) {
  Fixture f;
  ASSERT_EQ(f.config.resources.size(), 3u);
  const auto& pvc = f.config.resources[1];
  EXPECT_EQ(pvc.kind, "PersistentVolumeClaim");
  EXPECT_TRUE(pvc.lookup_only);
  EXPECT_TRUE(pvc.metrics.empty());
  EXPECT_EQ(crs::fields_read(pvc), (std::vector<std::string>{"metadata.name", "spec.resources.requests.storage"}));
  EXPECT_EQ(crs::fields_read(f.config.resources[2]),
            (std::vector<std::string>{"spec.evictionStrategy", "status.phase"}));
  // The VM keeps the key paths of its volumes, and its namespace.
  auto vm_fields = crs::fields_read(f.config.resources[0]);
  for (const char* field : {"metadata.namespace", "spec.volumes.persistentVolumeClaim.claimName",
                            "spec.volumes.dataVolume.name", "spec.volumes.name"})
    EXPECT_NE(std::find(vm_fields.begin(), vm_fields.end(), field), vm_fields.end()) << field;
}

TEST(ObjectLookup, ByKeyInTheObjectsNamespaceAndAbsentObjectsLeaveTheirSeriesOut) {
  Fixture f;
  f.add("PersistentVolumeClaim", R"({"metadata":{"name":"db-root","namespace":"ns1"},"spec":{"resources":{"requests":{"storage":"1Gi"}}}})");
  f.add("PersistentVolumeClaim", R"({"metadata":{"name":"db-data","namespace":"ns1"},"spec":{"resources":{"requests":{"storage":"500M"}}}})");
  f.add("PersistentVolumeClaim", R"({"metadata":{"name":"db-gone","namespace":"other"},"spec":{"resources":{"requests":{"storage":"1"}}}})");
  LookupTables tables;
  tables.build(f.resources, f.caches);
  EXPECT_TRUE(tables.ready(f.metric(0)));
  EXPECT_EQ(f.series(tables, 0, vm),
            "claim=db-root device=root name=db 1.073741824e+09\n"
            "claim=db-data device=data name=db 5e+08\n");
}

TEST(ObjectLookup, ASingletonIsTheFirstObjectThatMeetsWhenAndOptionalFallsBack) {
  Fixture f;
  LookupTables tables;
  tables.build(f.resources, f.caches);
  EXPECT_EQ(f.series(tables, 1, vm), "name=db strategy=None vm=db 1\n");
  f.add("KubeVirt", R"({"metadata":{"name":"a","namespace":"kv"},"spec":{"evictionStrategy":"External"}})");
  f.add("KubeVirt", R"({"metadata":{"name":"c","namespace":"kv"},"spec":{"evictionStrategy":"LiveMigrate"},"status":{"phase":"Deployed"}})");
  f.add("KubeVirt", R"({"metadata":{"name":"b","namespace":"kv"},"spec":{"evictionStrategy":"None"},"status":{"phase":"Deployed"}})");
  tables.build(f.resources, f.caches);
  EXPECT_EQ(f.series(tables, 1, vm), "name=db strategy=None vm=db 1\n");
  f.cache("KubeVirt").erase("kv/b");
  tables.build(f.resources, f.caches);
  EXPECT_EQ(f.series(tables, 1, vm), "name=db strategy=LiveMigrate vm=db 1\n");
}

TEST(ObjectLookup, AMetricWaitsForTheFirstListOfWhatItLooksUp) {
  Fixture f;
  // Only the VMs are synced: neither metric is ready, and without tables
  // every other object is absent.
  LookupTables tables;
  tables.build({f.resources[0]}, {f.caches[0]});
  EXPECT_FALSE(tables.ready(f.metric(0)));
  EXPECT_FALSE(tables.ready(f.metric(1)));
  simdjson::dom::parser p;
  std::vector<crs::Series> out;
  std::vector<std::string> errors;
  crs::object_series(f.metric(0), p.parse(std::string(vm)).value(), out, errors);
  EXPECT_TRUE(out.empty());
}

TEST(ObjectLookup, ValueFromLabelThatDoesNotConvertIsAnError) {
  Fixture f;
  f.add("PersistentVolumeClaim", R"({"metadata":{"name":"db-data","namespace":"ns1"},"spec":{"resources":{"requests":{"storage":"lots"}}}})");
  f.add("PersistentVolumeClaim", R"({"metadata":{"name":"db-root","namespace":"ns1"},"spec":{}})");
  LookupTables tables;
  tables.build(f.resources, f.caches);
  std::vector<std::string> errors;
  // db-root has no request: no _size label, no series.
  EXPECT_EQ(f.series(tables, 0, vm, &errors), "");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("valueFromLabel _size: strconv.ParseFloat: parsing \"lots\""), std::string::npos) << errors[0];
}

TEST(ObjectLookup, KeysOfNamespacedAndClusterScopedResources) {
  auto config = crs::parse_metrics_config(config_text, "test.yaml");
  const auto& lookup = config.resources[0].metrics[0].lookups[0];
  simdjson::dom::parser p1, p2;
  auto object = p1.parse(std::string(R"({"metadata":{"namespace":"ns1"}})")).value();
  auto volume = p2.parse(std::string(R"({"dataVolume":{"name":"dv"},"persistentVolumeClaim":{"claimName":""}})")).value();
  std::string key;
  // An empty name is none: the next path is tried.
  ASSERT_TRUE(crs::lookup_key(lookup, object, volume, true, key));
  EXPECT_EQ(key, "ns1/dv");
  ASSERT_TRUE(crs::lookup_key(lookup, object, volume, false, key));
  EXPECT_EQ(key, "dv");
  EXPECT_FALSE(crs::lookup_key(lookup, object, object, true, key));
}

TEST(ObjectLookup, SelectingAResourceBringsWhatItLooksUp) {
  Fixture f;
  auto picked = select_configured_resources(f.resources, {"vms"}, nullptr, {});
  ASSERT_EQ(picked.size(), 3u);
}

TEST(FieldsRead, AListFilterWithMoreAfterItKeepsTheKeyAndThatOfEachElement) {
  auto config = crs::parse_metrics_config(R"(spec:
  resources:
  - groupVersionKind: {group: "", version: v1, kind: Node}
    metrics:
    - name: ready
      labelsFromPath: {ready: [status, conditions, "[type=Ready]", status]}
      each: {type: Gauge, gauge: {path: [status, conditions, "[type=Ready]"], valueFrom: [lastTransitionTime]}}
)",
                                           "test.yaml");
  // The filter at the end of each's path keeps whole elements (each reads
  // below it); the label's keeps type and status of each.
  EXPECT_EQ(crs::fields_read(config.resources[0]),
            (std::vector<std::string>{"status.conditions", "status.conditions.status", "status.conditions.type"}));
}

}  // namespace
}  // namespace kv::watch
